"""Embedders: Scattering Transformer features, VAE latents, DACL, diffusion AE."""

from ._scattering import ScatteringFeatures

__all__ = ["ScatteringFeatures"]
