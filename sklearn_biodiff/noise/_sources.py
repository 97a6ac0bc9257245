"""Unit-power noise of each kind at any sampling rate."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np

from ..preprocessing._resample import resample_signal

__all__ = ["NOISE_KINDS", "load_nstdb_noise", "make_noise"]

#: real recordings bundled in ``noise/data/nstdb_noise.npz`` (see ``scripts/make_nstdb_noise.py``)
_REAL = {"baseline_wander": "bw", "muscle": "ma"}
#: components of ``kind="mixture"``, summed with equal power
MIXTURE = ("baseline_wander", "muscle", "powerline")
NOISE_KINDS = ("gaussian", "baseline_wander", "muscle", "powerline", "mixture")
#: relative amplitudes of the mains fundamental and its harmonics
_POWERLINE_HARMONICS = (1.0, 0.5, 0.25)


def load_nstdb_noise(kind: str) -> tuple[np.ndarray, float]:
    """The bundled MIT-BIH Noise Stress Test recording of ``kind``, in mV.

    Channel 0 of record ``bw`` (baseline wander) or ``ma`` (muscle artifact),
    30 minutes, resampled from 360 to 300 Hz. As recorded, ``ma`` holds slow
    drift as well as EMG: 86% of its power lies below 1 Hz, 10% above 5 Hz
    (``bw``: 99.5% below 1 Hz). Source: Moody, Muldrow, Mark, "A
    noise stress test for arrhythmia detectors", Computers in Cardiology 11,
    1984; PhysioNet (Goldberger et al., 2000); license ODC-By 1.0.

    Parameters
    ----------
    kind : {"baseline_wander", "muscle"}

    Returns
    -------
    noise : ndarray of shape (541667,), float64
    fs : float
        300.0

    Examples
    --------
    >>> from sklearn_biodiff.noise import load_nstdb_noise
    >>> signal, fs = load_nstdb_noise("baseline_wander")
    >>> fs, signal.ndim
    (300.0, 1)
    """
    if kind not in _REAL:
        raise ValueError(f"real noise kinds are {sorted(_REAL)}, got {kind!r}.")
    with resources.files("sklearn_biodiff.noise").joinpath("data/nstdb_noise.npz").open(
            "rb") as fh, np.load(fh) as npz:
        return npz[_REAL[kind]].astype(np.float64) / float(npz["gain"]), float(npz["fs"])


@lru_cache(maxsize=16)
def _real_noise_at(kind: str, fs: float) -> np.ndarray:
    noise, src_fs = load_nstdb_noise(kind)
    if fs != src_fs:
        noise = resample_signal(noise, src_fs, fs).astype(np.float64)
    noise = noise - noise.mean()
    noise.setflags(write=False)
    return noise


def _unit_power(x: np.ndarray) -> np.ndarray:
    x = x - x.mean()
    p = np.mean(x**2)
    return x / np.sqrt(p) if p > 0 else x


def check_source_span(span) -> tuple[float, float]:
    """``(start, end)`` fractions with ``0 <= start < end <= 1``, or a clear error."""
    try:
        a, b = (float(v) for v in span)
    except (TypeError, ValueError):
        raise ValueError(f"source_span must be (start, end) fractions, got {span!r}.") from None
    if not 0.0 <= a < b <= 1.0:
        raise ValueError(f"source_span must satisfy 0 <= start < end <= 1, got {span!r}.")
    return a, b


def make_noise(kind: str, n_samples: int, fs: float, rng: np.random.RandomState, *,
               powerline_hz: float = 50.0, source_span=(0.0, 1.0)) -> np.ndarray:
    """Zero-mean, unit-power noise of ``kind``.

    Parameters
    ----------
    kind : {"gaussian", "baseline_wander", "muscle", "powerline", "mixture"} or tuple
        A tuple of kinds sums them with equal power (``"mixture"`` is
        baseline wander + muscle + powerline).
    n_samples : int
    fs : float
        Sampling rate in Hz; real noise is resampled to it.
    rng : numpy.random.RandomState
        Draws the Gaussian samples, the start of the real-noise segment (the
        recording wraps around when the record is longer than 30 minutes) and the
        phases of the powerline components.
    powerline_hz : float, default=50.0
        Mains frequency; harmonics 1-3 at amplitudes 1, 0.5, 0.25, those at or
        above the Nyquist frequency left out.
    source_span : (float, float), default=(0.0, 1.0)
        Part of each real noise recording (fractions of its length) that segments
        are drawn from, wrapping around inside it.

    Returns
    -------
    ndarray of shape (n_samples,), float64

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_biodiff.noise import make_noise
    >>> n = make_noise("powerline", 3000, 300.0, np.random.RandomState(0))
    >>> n.shape
    (3000,)
    """
    if isinstance(kind, tuple | list):
        parts = [make_noise(k, n_samples, fs, rng, powerline_hz=powerline_hz,
                            source_span=source_span) for k in kind]
        return _unit_power(np.sum(parts, axis=0))
    if kind == "mixture":
        return make_noise(MIXTURE, n_samples, fs, rng, powerline_hz=powerline_hz,
                          source_span=source_span)
    if kind == "gaussian":
        return _unit_power(rng.standard_normal(n_samples))
    if kind in _REAL:
        src = _real_noise_at(kind, float(fs))
        a, b = check_source_span(source_span)
        src = src[int(round(a * len(src))) : int(round(b * len(src)))]
        start = int(rng.randint(len(src)))
        return _unit_power(np.take(src, np.arange(start, start + n_samples), mode="wrap"))
    if kind == "powerline":
        t = np.arange(n_samples) / fs
        out = np.zeros(n_samples)
        for k, amp in enumerate(_POWERLINE_HARMONICS, start=1):
            if k * powerline_hz < fs / 2:
                out += amp * np.sin(2 * np.pi * k * powerline_hz * t + rng.uniform(0, 2 * np.pi))
        if not out.any():
            raise ValueError(f"powerline_hz={powerline_hz} is above the Nyquist frequency "
                             f"of fs={fs} Hz.")
        return _unit_power(out)
    raise ValueError(f"unknown noise kind {kind!r}; choose from {NOISE_KINDS} or a tuple.")
