"""A small Gaussian VAE for feature vectors."""

from __future__ import annotations

import torch
from torch import nn

from .vector_unet import MLP

__all__ = ["VAE", "elbo_loss"]


class VAE(nn.Module):
    """Gaussian encoder ``q(z|x) = N(mu, diag(exp(logvar)))``, Gaussian decoder mean.

    Shapes
    ------
    ``forward(x)``: x (B, n_features) -> (x_hat (B, n_features), mu (B, latent_dim),
    logvar (B, latent_dim)).
    """

    def __init__(self, n_features: int, latent_dim: int = 32, hidden_dims=(256, 128)):
        super().__init__()
        hidden = tuple(int(h) for h in hidden_dims)
        self.encoder = MLP(n_features, hidden, 2 * latent_dim)
        self.decoder = MLP(latent_dim, tuple(reversed(hidden)), n_features)

    def encode(self, x):
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        return mu, logvar.clamp(-20.0, 10.0)

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if self.training else mu
        return self.decode(z), mu, logvar


def elbo_loss(x_hat, mu, logvar, x, beta: float = 1.0):
    """Negative ELBO per sample: squared error (unit-variance Gaussian likelihood,
    halved) plus ``beta`` times the KL divergence to ``N(0, I)``, averaged."""
    recon = 0.5 * ((x_hat - x) ** 2).sum(-1)
    kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(-1)
    return (recon + beta * kl).mean()
