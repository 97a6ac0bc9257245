"""Parameter-free, transformer-like contextualisation of feature frames."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["masked_pool", "parameter_free_attention", "sinusoidal_encoding"]


def sinusoidal_encoding(positions: torch.Tensor, dim: int, max_period: float = 10000.0):
    """Transformer sinusoidal encoding, shape ``(*positions.shape, dim)``.

    ``positions`` may be fractional (e.g. time in seconds times a rate).
    """
    half = dim // 2
    freqs = torch.exp(
        -math.log(max_period) * torch.arange(half, device=positions.device, dtype=torch.float32)
        / max(half, 1)
    )
    args = positions.to(torch.float32)[..., None] * freqs
    enc = torch.cat([torch.sin(args), torch.cos(args)], dim=-1)
    if dim % 2:
        enc = F.pad(enc, (0, 1))
    return enc


def _layer_norm(h: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    return F.layer_norm(h, h.shape[-1:], eps=eps)


def parameter_free_attention(
    h: torch.Tensor,
    mask: torch.Tensor,
    *,
    n_layers: int = 1,
    positional: torch.Tensor | None = None,
    temperature: float = 1.0,
) -> torch.Tensor:
    """Self-attention whose queries, keys and values are the frames themselves.

    Each layer (pre-norm, residual)::

        u = LayerNorm(h)                       # affine-free, over features
        q = k = u + positional                 # position only steers the weights
        A = softmax(q k^T / (sqrt(D) * temperature)) over valid frames
        h = h + A u

    Parameters
    ----------
    h : Tensor of shape (B, T, D)
        Frames (time ``T``, features ``D``).
    mask : Tensor of bool, shape (B, T)
        True for frames that belong to the record (others are padding).
    n_layers : int, default=1
    positional : Tensor of shape (B, T, D) or (T, D), optional
        Added to queries and keys only, so pooled values carry no
        length-dependent offset.
    temperature : float, default=1.0
        Softmax temperature; larger is flatter.

    Returns
    -------
    Tensor of shape (B, T, D)
    """
    d = h.shape[-1]
    scale = 1.0 / (math.sqrt(d) * temperature)
    key_mask = mask[:, None, :]
    for _ in range(n_layers):
        u = _layer_norm(h)
        qk = u if positional is None else u + positional
        scores = torch.matmul(qk, qk.transpose(1, 2)) * scale
        scores = scores.masked_fill(~key_mask, float("-inf"))
        attn = torch.softmax(scores, dim=-1)
        h = h + torch.matmul(attn, u)
    return h


def masked_pool(h: torch.Tensor, mask: torch.Tensor, stats=("mean", "std")) -> torch.Tensor:
    """Pool frames over time, ignoring padding.

    Parameters
    ----------
    h : Tensor of shape (B, T, D)
    mask : Tensor of bool, shape (B, T)
    stats : sequence of {"mean", "std", "max"}

    Returns
    -------
    Tensor of shape (B, len(stats) * D), statistics concatenated in order.
    """
    w = mask.to(h.dtype)[..., None]
    n = w.sum(1).clamp_min(1.0)
    mean = (h * w).sum(1) / n
    out = []
    for s in stats:
        if s == "mean":
            out.append(mean)
        elif s == "std":
            var = (((h - mean[:, None]) ** 2) * w).sum(1) / n
            out.append(torch.sqrt(var + 1e-12))
        elif s == "max":
            out.append(h.masked_fill(~mask[..., None], float("-inf")).amax(1))
        else:  # pragma: no cover - validated by the estimator
            raise ValueError(f"unknown pooling statistic {s!r}")
    return torch.cat(out, dim=-1)
