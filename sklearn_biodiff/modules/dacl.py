"""Encoders trained on noisy views of latent vectors: DACL and the denoising AE."""

from __future__ import annotations

import torch
from torch import nn

from ..diffusion import DiffusionSchedule, q_sample, sample_timesteps
from .vector_unet import MLP, VectorUNet

__all__ = ["DACLModule", "DenoisingAEModule", "NoisyViewEncoder"]


class NoisyViewEncoder(nn.Module):
    """A timestep-conditioned :class:`VectorUNet` and the views it is trained on.

    ``augmentation="diffusion"``: a view of ``z0`` is ``z_t = q_sample(z0, t)``
    with ``t`` uniform in ``[t_min, t_max]``. ``augmentation="gaussian"``: a view
    is ``z0 + noise_std * eps`` at the fixed timestep ``inference_t``.

    At inference (:meth:`embed`) the view is deterministic: the mean of
    ``q(z_t | z0)``, i.e. ``sqrt(abar_t) z0`` at ``t = inference_t`` (``z0``
    itself for the Gaussian baseline).
    """

    def __init__(self, in_dim: int, embedding_dim: int = 64, widths=(256, 128, 64),
                 time_dim: int = 64, n_timesteps: int = 50, schedule: str = "linear",
                 t_min: int = 1, t_max: int = 50, inference_t: int = 1,
                 augmentation: str = "diffusion", noise_std: float = 0.1,
                 dropout: float = 0.0):
        super().__init__()
        self.encoder = VectorUNet(in_dim, embedding_dim, widths, time_dim, dropout)
        self.schedule = DiffusionSchedule(schedule, n_timesteps)
        self.t_min, self.t_max, self.inference_t = t_min, t_max, inference_t
        self.augmentation = augmentation
        self.noise_std = noise_std

    def view(self, z0: torch.Tensor):
        """A random noisy view of each row and its timestep."""
        n = z0.shape[0]
        noise = torch.randn_like(z0)
        if self.augmentation == "diffusion":
            t = sample_timesteps(n, self.t_min, self.t_max, device=z0.device)
            return q_sample(z0, t, noise, self.schedule), t
        t = torch.full((n,), self.inference_t, device=z0.device, dtype=torch.long)
        return z0 + self.noise_std * noise, t

    def embed(self, z0: torch.Tensor) -> torch.Tensor:
        """Deterministic embedding at ``inference_t``, (B, in_dim) -> (B, embedding_dim)."""
        t = torch.full((z0.shape[0],), self.inference_t, device=z0.device, dtype=torch.long)
        if self.augmentation == "diffusion":
            z0 = self.schedule.abar(t, like=z0).sqrt()[:, None] * z0
        return self.encoder(z0, t)


class DACLModule(NoisyViewEncoder):
    """Embeds an anchor view, a second view of the same ``z0`` and a negative view.

    ``forward(anchor, negative)``: (B, d), (B, d) -> three (B, embedding_dim)
    tensors, computed in one batched pass.
    """

    def forward(self, anchor, negative):
        za, ta = self.view(anchor)
        zp, tp = self.view(anchor)
        zn, tn = self.view(negative)
        e = self.encoder(torch.cat([za, zp, zn]), torch.cat([ta, tp, tn]))
        return e.chunk(3)


class DenoisingAEModule(NoisyViewEncoder):
    """Encodes a noisy view and decodes the clean ``z0``; the bottleneck embeds.

    ``forward(X)``: (B, d) -> (z0_hat (B, d), z0 (B, d)).
    """

    def __init__(self, in_dim: int, *args, decoder_hidden=(128, 256), **kwargs):
        super().__init__(in_dim, *args, **kwargs)
        emb_dim = self.encoder.out.out_features
        self.decoder = MLP(emb_dim, tuple(decoder_hidden), in_dim)

    def forward(self, X):
        z, t = self.view(X)
        return self.decoder(self.encoder(z, t)), X
