"""Real and synthetic ECG noise at controlled SNR, and robustness curves."""

from ._add_noise import AddNoise, augment_with_noise, measure_snr_db
from ._robustness import plot_robustness_curve, robustness_curve, summarize_robustness
from ._sources import NOISE_KINDS, load_nstdb_noise, make_noise, make_noise_torch

__all__ = [
    "NOISE_KINDS",
    "AddNoise",
    "augment_with_noise",
    "load_nstdb_noise",
    "make_noise",
    "make_noise_torch",
    "measure_snr_db",
    "plot_robustness_curve",
    "robustness_curve",
    "summarize_robustness",
]
