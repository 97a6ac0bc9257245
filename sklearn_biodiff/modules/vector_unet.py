"""Timestep-conditioned networks for vectors: a U-Net encoder and MLPs."""

from __future__ import annotations

import torch
from torch import nn

from .context import sinusoidal_encoding

__all__ = ["MLP", "TimeEmbedding", "VectorUNet"]


class TimeEmbedding(nn.Module):
    """Sinusoidal encoding of integer timesteps followed by a two-layer MLP."""

    def __init__(self, dim: int = 64):
        super().__init__()
        self.dim = dim
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        """``t`` of shape (B,) -> (B, dim)."""
        return self.mlp(sinusoidal_encoding(t.float(), self.dim))


class FiLMBlock(nn.Module):
    """Linear -> affine-free LayerNorm -> scale and shift from the timestep -> SiLU."""

    def __init__(self, in_dim: int, out_dim: int, cond_dim: int, dropout: float = 0.0):
        super().__init__()
        self.linear = nn.Linear(in_dim, out_dim)
        self.norm = nn.LayerNorm(out_dim, elementwise_affine=False)
        self.film = nn.Linear(cond_dim, 2 * out_dim)
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)
        self.act = nn.SiLU()
        self.drop = nn.Dropout(dropout) if dropout else nn.Identity()

    def forward(self, x, cond):
        scale, shift = self.film(cond).chunk(2, dim=-1)
        return self.drop(self.act(self.norm(self.linear(x)) * (1 + scale) + shift))


class VectorUNet(nn.Module):
    """U-Net for vectors: a down path and an up path with skip connections.

    The timestep embedding conditions every block (FiLM scale and shift).

    Parameters
    ----------
    in_dim : int
        Input size (latent dimension).
    out_dim : int
        Output size (embedding dimension).
    widths : tuple of int, default=(256, 128, 64)
        Widths of the down path, outermost first; the up path mirrors it.
    time_dim : int, default=64
    dropout : float, default=0.0

    Shapes
    ------
    ``forward(x, t)``: x (B, in_dim), t (B,) int -> (B, out_dim).
    """

    def __init__(self, in_dim: int, out_dim: int, widths=(256, 128, 64), time_dim: int = 64,
                 dropout: float = 0.0):
        super().__init__()
        widths = tuple(int(w) for w in widths)
        self.time = TimeEmbedding(time_dim)
        self.inp = FiLMBlock(in_dim, widths[0], time_dim, dropout)
        self.down = nn.ModuleList(
            FiLMBlock(a, b, time_dim, dropout) for a, b in zip(widths[:-1], widths[1:])
        )
        self.mid = FiLMBlock(widths[-1], widths[-1], time_dim, dropout)
        self.up = nn.ModuleList(
            FiLMBlock(2 * b, a, time_dim, dropout)
            for a, b in reversed(list(zip(widths[:-1], widths[1:])))
        )
        self.out = nn.Linear(2 * widths[0], out_dim)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        cond = self.time(t)
        h = self.inp(x, cond)
        skips = [h]
        for block in self.down:
            h = block(h, cond)
            skips.append(h)
        h = self.mid(h, cond)
        for block in self.up:
            h = block(torch.cat([h, skips.pop()], dim=-1), cond)
        return self.out(torch.cat([h, skips.pop()], dim=-1))


class MLP(nn.Sequential):
    """``Linear -> SiLU`` stack with a linear output layer."""

    def __init__(self, in_dim: int, hidden: tuple[int, ...], out_dim: int):
        layers: list[nn.Module] = []
        for h in hidden:
            layers += [nn.Linear(in_dim, h), nn.SiLU()]
            in_dim = h
        layers.append(nn.Linear(in_dim, out_dim))
        super().__init__(*layers)
