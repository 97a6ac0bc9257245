"""Small shared test inputs: ragged synthetic records and a tiny DiffAE configuration."""

import numpy as np

#: a DiffAEEmbedder small enough to fit in a second (100 Hz, 0.5-s crops)
TINY_DIFFAE = {"snippet_seconds": 0.5, "fs": 100.0, "model_fs": 100.0, "embedding_dim": 4,
               "encoder_layers": 1, "encoder_width": 4, "encoder_stride": 2,
               "unet_channels": (4, 8), "unet_stem_stride": 1, "n_timesteps": 20,
               "max_epochs": 1, "batch_size": 4, "random_state": 0}


def ragged_sines(n: int = 8, seed: int = 0, base: int = 200, step: int = 20) -> list:
    """``n`` noisy sines of lengths ``base + step * k`` (k = 1..n), seeded."""
    rng = np.random.RandomState(seed)
    return [np.sin(np.linspace(0, 3 * k, base + step * k)) + 0.1 * rng.randn(base + step * k)
            for k in range(1, n + 1)]
