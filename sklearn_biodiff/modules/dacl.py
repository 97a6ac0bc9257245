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
                 dropout: float = 0.0, input_skip: str | None = None):
        super().__init__()
        self.encoder = VectorUNet(in_dim, embedding_dim, widths, time_dim, dropout)
        # "residual": a linear projection of the (noisy) input added to the
        # embedding, so what the contrastive objective ignores is not lost
        self.skip = nn.Linear(in_dim, embedding_dim, bias=False) if (
            input_skip == "residual") else None
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

    def encode(self, z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Embed views ``z`` taken at timesteps ``t`` (with the input skip, if any)."""
        e = self.encoder(z, t)
        return e if self.skip is None else e + self.skip(z)

    def embed(self, z0: torch.Tensor) -> torch.Tensor:
        """Deterministic embedding at ``inference_t``, (B, in_dim) -> (B, embedding_dim)."""
        t = torch.full((z0.shape[0],), self.inference_t, device=z0.device, dtype=torch.long)
        if self.augmentation == "diffusion":
            z0 = self.schedule.abar(t, like=z0).sqrt()[:, None] * z0
        return self.encode(z0, t)


class DACLModule(NoisyViewEncoder):
    """Embeds an anchor view, a second view of the same ``z0`` and a negative view.

    ``forward(anchor, negative, partner=None)``: (B, d) each -> three
    (B, embedding_dim) tensors, computed in one batched pass. The positive is a
    view of ``partner`` (another record) when given, else a second view of
    ``anchor``.
    """

    def forward(self, anchor, negative, partner=None):
        za, ta = self.view(anchor)
        zp, tp = self.view(anchor if partner is None else partner)
        zn, tn = self.view(negative)
        e = self.encode(torch.cat([za, zp, zn]), torch.cat([ta, tp, tn]))
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
        return self.decoder(self.encode(z, t)), X
