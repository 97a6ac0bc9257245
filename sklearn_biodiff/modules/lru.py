"""Linear Recurrent Unit (Orvieto et al., 2023) with a log-depth parallel scan."""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["LRU", "LRUBlock", "linear_scan", "sequential_scan"]


def linear_scan(lam: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``h_t = lam * h_{t-1} + b_t`` (``h_0 = b_0``) for every ``t``, in log2(L) steps.

    A Hillis-Steele scan: after step ``k`` each ``h_t`` sums ``lam**j b_{t-j}`` for
    ``j < 2**k``; no Python loop over time.

    Parameters
    ----------
    lam : Tensor of shape (H,)
        Diagonal of the recurrence (complex or real).
    b : Tensor of shape (B, L, H)

    Returns
    -------
    Tensor of shape (B, L, H)
    """
    h = b
    a = lam
    d = 1
    n = b.shape[1]
    while d < n:
        h = torch.cat([h[:, :d], h[:, d:] + a * h[:, :-d]], dim=1)
        a = a * a
        d *= 2
    return h


def sequential_scan(lam: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Reference loop for :func:`linear_scan` (tests only)."""
    out = []
    h = torch.zeros_like(b[:, 0])
    for t in range(b.shape[1]):
        h = lam * h + b[:, t]
        out.append(h)
    return torch.stack(out, dim=1)


class LRU(nn.Module):
    """Complex diagonal linear recurrence with stable exponential parameterisation.

    ``x_t = lambda * x_{t-1} + gamma * (B u_t)``, ``y_t = Re(C x_t) + D * u_t`` with
    ``lambda = exp(-exp(nu_log) + i exp(theta_log))`` (so ``|lambda| < 1``),
    eigenvalues initialised uniformly on the ring ``r_min <= |lambda| <= r_max``
    with phases in ``[0, max_phase]``, and ``gamma = sqrt(1 - |lambda|^2)``
    normalising the input.

    Parameters
    ----------
    d_model : int
        Input and output width.
    d_state : int or None
        Number of complex states (default ``d_model``).
    r_min, r_max : float, default=0.0, 0.99
    max_phase : float, default=2*pi
    """

    def __init__(self, d_model: int, d_state: int | None = None, *, r_min: float = 0.0,
                 r_max: float = 0.99, max_phase: float = 2 * math.pi):
        super().__init__()
        h = d_state or d_model
        u1, u2 = torch.rand(h), torch.rand(h)
        nu = -0.5 * torch.log(u1 * (r_max**2 - r_min**2) + r_min**2)
        self.nu_log = nn.Parameter(torch.log(nu))
        self.theta_log = nn.Parameter(torch.log(max_phase * u2))
        mod = torch.exp(-nu)
        self.gamma_log = nn.Parameter(torch.log(torch.sqrt(1 - mod**2)))
        self.B_re = nn.Parameter(torch.randn(h, d_model) / math.sqrt(2 * d_model))
        self.B_im = nn.Parameter(torch.randn(h, d_model) / math.sqrt(2 * d_model))
        self.C_re = nn.Parameter(torch.randn(d_model, h) / math.sqrt(h))
        self.C_im = nn.Parameter(torch.randn(d_model, h) / math.sqrt(h))
        self.D = nn.Parameter(torch.randn(d_model))

    def eigenvalues(self) -> torch.Tensor:
        """``lambda`` of shape (d_state,), complex."""
        return torch.exp(torch.complex(-torch.exp(self.nu_log), torch.exp(self.theta_log)))

    def forward(self, u: torch.Tensor, *, parallel: bool = True) -> torch.Tensor:
        """``u`` of shape (B, L, d_model) -> (B, L, d_model)."""
        B = torch.complex(self.B_re, self.B_im) * torch.exp(self.gamma_log)[:, None]
        bu = torch.einsum("bld,hd->blh", u.to(B.dtype), B)
        scan = linear_scan if parallel else sequential_scan
        x = scan(self.eigenvalues(), bu)
        C = torch.complex(self.C_re, self.C_im)
        return torch.einsum("blh,dh->bld", x, C).real + self.D * u


class LRUBlock(nn.Module):
    """Pre-norm residual block: LayerNorm -> LRU -> GELU -> Linear (GLU) -> dropout."""

    def __init__(self, d_model: int, *, dropout: float = 0.0, **lru_kwargs):
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.lru = LRU(d_model, **lru_kwargs)
        self.out = nn.Linear(d_model, 2 * d_model)
        self.drop = nn.Dropout(dropout) if dropout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = nn.functional.gelu(self.lru(self.norm(x)))
        return x + self.drop(nn.functional.glu(self.out(h), dim=-1))
