"""Embedders: Scattering Transformer features, VAE latents, DACL, diffusion AE."""

__all__: list[str] = []
