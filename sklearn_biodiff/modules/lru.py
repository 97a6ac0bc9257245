"""Linear Recurrent Unit (Orvieto et al., 2023) with a log-depth parallel scan."""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["LRU", "LRUBlock", "chunked_scan", "chunked_scan_channels_first",
           "linear_scan", "sequential_scan"]


def _autocast_on(x: torch.Tensor) -> bool:
    """Whether autocast (mixed precision) is active for ``x``'s device."""
    try:
        return torch.is_autocast_enabled(x.device.type)
    except TypeError:  # torch < 2.4
        return (torch.is_autocast_cpu_enabled() if x.device.type == "cpu"
                else torch.is_autocast_enabled())


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

    Examples
    --------
    >>> import torch
    >>> from sklearn_biodiff.modules.lru import linear_scan
    >>> linear_scan(torch.tensor([0.5]), torch.ones(1, 4, 1))[0, :, 0].tolist()
    [1.0, 1.5, 1.75, 1.875]
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


def chunked_scan(log_lam: torch.Tensor, b: torch.Tensor, chunk: int = 32) -> torch.Tensor:
    """Same recurrence as :func:`linear_scan`, by chunks: matmuls inside, a scan across.

    Inside each chunk of ``K = chunk`` steps the recurrence is a product with an
    upper-triangular Toeplitz matrix, ``h_i = sum_{j<=i} lam**(i-j) b_j``, done as
    batched real matmuls per channel; the chunks' final states are then combined by
    :func:`linear_scan` with multiplier ``lam**K`` (log-depth over ``L / K``
    chunks) and carried into every position by ``lam**(i+1)``. Work is
    ``O(L K H)`` in dense matmuls instead of ``O(L log L H)`` in elementwise
    passes, which is several times faster on CPU.

    Parameters
    ----------
    log_lam : Tensor of shape (H,)
        ``log(lambda)`` (complex or real); powers are ``exp(k * log_lam)``.
    b : Tensor of shape (B, L, H)
    chunk : int, default=32

    Returns
    -------
    Tensor of shape (B, L, H)

    Examples
    --------
    >>> import torch
    >>> from sklearn_biodiff.modules.lru import chunked_scan, sequential_scan
    >>> log_lam = torch.complex(torch.full((4,), -0.1), torch.full((4,), 0.5))
    >>> b = torch.randn(2, 100, 4, dtype=torch.complex64)
    >>> torch.allclose(chunked_scan(log_lam, b), sequential_scan(torch.exp(log_lam), b), atol=1e-4)
    True
    """
    if b.is_complex():
        h_re, h_im = chunked_scan_channels_first(
            log_lam, b.real.permute(2, 0, 1), b.imag.permute(2, 0, 1), chunk)
        return torch.complex(h_re, h_im).permute(1, 2, 0)
    if log_lam.is_complex():
        raise ValueError("a complex log_lam needs a complex b")
    h_re, _ = chunked_scan_channels_first(log_lam, b.permute(2, 0, 1), None, chunk)
    return h_re.permute(1, 2, 0)


def chunked_scan_channels_first(log_lam: torch.Tensor, b_re: torch.Tensor,
                                b_im: torch.Tensor | None, chunk: int = 32):
    """Core of :func:`chunked_scan` on real and imaginary parts of shape (H, B, L).

    Channels first, time last, so that every chunk product is a plain batched
    matmul over ``H`` without transposing the signal; with ``b_im=None`` the
    recurrence is real (``log_lam`` real). Returns ``(h_re, h_im)`` of shape
    (H, B, L) (``h_im`` is ``None`` for a real recurrence).
    """
    h, n_batch, n = b_re.shape
    k = min(chunk, n)
    n_chunks = -(-n // k)
    pad = n_chunks * k - n
    parts = [b_re] if b_im is None else [b_re, b_im]
    if pad:
        parts = [nn.functional.pad(p, (0, pad)) for p in parts]
    parts = [p.reshape(h, n_batch * n_chunks, k) for p in parts]
    steps = torch.arange(k, device=b_re.device)
    diff = steps[None, :] - steps[:, None]  # [j, i] = i - j
    # M[h, j, i] = lam_h ** (i - j) for i >= j, so that out = x @ M
    M = torch.exp(diff.clamp(min=0).to(log_lam.dtype)[None] * log_lam[:, None, None])
    M = M * (diff >= 0).to(M.dtype)
    if b_im is None:
        out = [torch.bmm(parts[0], M)]
    else:  # (x_re + i x_im)(m_re + i m_im), the additions fused into the GEMMs
        x_re, x_im = parts
        m_re, m_im = M.real, M.imag
        out = [torch.baddbmm(torch.bmm(x_re, m_re), x_im, -m_im),
               torch.baddbmm(torch.bmm(x_re, m_im), x_im, m_re)]
    if n_chunks > 1:
        # state entering each chunk, by a log-depth scan over the chunks' last steps
        last = [o.reshape(h, n_batch, n_chunks, k)[..., -1] for o in out]
        ends = last[0] if b_im is None else torch.complex(last[0], last[1])
        ends = linear_scan(torch.exp(k * log_lam), ends.permute(1, 2, 0)).permute(2, 0, 1)
        carry = torch.cat([torch.zeros_like(ends[..., :1]), ends[..., :-1]], dim=-1)
        lam_pow = torch.exp((steps + 1).to(log_lam.dtype)[None] * log_lam[:, None])  # (H, K)
        # out[h, (b, c), i] += carry[h, b, c] * lam_h ** (i + 1), as a rank-1/2 GEMM
        if b_im is None:
            out = [torch.baddbmm(out[0], carry.reshape(h, -1, 1), lam_pow[:, None, :])]
        else:
            c = torch.stack([carry.real, carry.imag], dim=-1).reshape(h, -1, 2)
            p_re, p_im = lam_pow.real, lam_pow.imag
            out = [torch.baddbmm(out[0], c, torch.stack([p_re, -p_im], dim=1)),
                   torch.baddbmm(out[1], c, torch.stack([p_im, p_re], dim=1))]
    out = [o.reshape(h, n_batch, n_chunks * k)[..., :n] for o in out]
    return (out[0], None) if b_im is None else (out[0], out[1])


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

    Examples
    --------
    >>> import torch
    >>> from sklearn_biodiff.modules.lru import LRU
    >>> LRU(16)(torch.randn(2, 300, 16)).shape
    torch.Size([2, 300, 16])
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

    def log_eigenvalues(self) -> torch.Tensor:
        """``log(lambda) = -exp(nu_log) + i exp(theta_log)`` of shape (d_state,)."""
        return torch.complex(-torch.exp(self.nu_log), torch.exp(self.theta_log))

    def eigenvalues(self) -> torch.Tensor:
        """``lambda`` of shape (d_state,), complex."""
        return torch.exp(self.log_eigenvalues())

    def forward(self, u: torch.Tensor, *, scan: str = "chunked") -> torch.Tensor:
        """``u`` of shape (B, L, d_model) -> (B, L, d_model).

        ``scan``: ``"chunked"`` (:func:`chunked_scan`, default), ``"parallel"``
        (:func:`linear_scan`) or ``"sequential"`` (reference loop).
        """
        if scan not in ("chunked", "parallel", "sequential"):
            raise ValueError(f"scan must be 'chunked', 'parallel' or 'sequential', got {scan!r}")
        if _autocast_on(u):  # the recurrence stays float32 under mixed precision
            with torch.autocast(device_type=u.device.type, enabled=False):
                return self.forward(u.float(), scan=scan)
        n_batch, n, d = u.shape
        g = torch.exp(self.gamma_log)[:, None]
        # complex input projection as one real matmul, channels first: (2H, B*L)
        bu = torch.cat([self.B_re * g, self.B_im * g]) @ u.reshape(-1, d).T
        h = self.B_re.shape[0]
        b_re, b_im = bu[:h].reshape(h, n_batch, n), bu[h:].reshape(h, n_batch, n)
        if scan == "chunked":
            x_re, x_im = chunked_scan_channels_first(self.log_eigenvalues(), b_re, b_im)
        else:
            fn = linear_scan if scan == "parallel" else sequential_scan
            x = fn(self.eigenvalues(), torch.complex(b_re, b_im).permute(1, 2, 0))
            x_re, x_im = x.real.permute(2, 0, 1), x.imag.permute(2, 0, 1)
        # y = Re(C x) = C_re x_re - C_im x_im, back to (B, L, d)
        y = self.C_re @ x_re.reshape(h, -1) - self.C_im @ x_im.reshape(h, -1)
        return y.T.reshape(n_batch, n, d) + self.D * u


class LRUBlock(nn.Module):
    """Pre-norm residual block: LayerNorm -> LRU -> GELU -> Linear (GLU) -> dropout.

    Examples
    --------
    >>> import torch
    >>> LRUBlock(16)(torch.randn(2, 300, 16)).shape
    torch.Size([2, 300, 16])
    """

    def __init__(self, d_model: int, *, dropout: float = 0.0, **lru_kwargs):
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.lru = LRU(d_model, **lru_kwargs)
        self.out = nn.Linear(d_model, 2 * d_model)
        self.drop = nn.Dropout(dropout) if dropout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = nn.functional.gelu(self.lru(self.norm(x)))
        return x + self.drop(nn.functional.glu(self.out(h), dim=-1))
