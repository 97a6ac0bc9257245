"""Embedders: Scattering Transformer features, VAE latents, DACL, diffusion AE."""

from ._dacl import DACLEmbedder, DenoisingAEEmbedder
from ._diffae import DiffAEEmbedder
from ._scattering import ScatteringFeatures
from ._vae import VAELatent

__all__ = ["DACLEmbedder", "DenoisingAEEmbedder", "DiffAEEmbedder", "ScatteringFeatures",
           "VAELatent"]
