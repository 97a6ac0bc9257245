"""Deterministic ECG-like records for fast tests."""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["make_synthetic_ecg"]


def _beat(t: np.ndarray) -> np.ndarray:
    """One PQRST complex on time axis ``t`` (s, 0 = R peak): sum of Gaussians."""
    waves = ((-0.2, 0.025, 0.15), (-0.03, 0.01, -0.12), (0.0, 0.012, 1.0),
             (0.03, 0.01, -0.25), (0.25, 0.05, 0.3))  # P, Q, R, S, T: (centre, width, amp)
    return sum(a * np.exp(-0.5 * ((t - c) / w) ** 2) for c, w, a in waves)


def make_synthetic_ecg(
    n_records: int = 100,
    *,
    fs: float = 300.0,
    min_seconds: float = 9.0,
    max_seconds: float = 30.0,
    heart_rate: float = 70.0,
    irregularity: float = 0.25,
    noise_std: float = 0.03,
    weights=(0.5, 0.5),
    random_state=0,
):
    """Generate ECG-like records with a regular (0) or irregular (1) rhythm.

    Each record is a train of PQRST complexes (sums of Gaussians) at
    ``heart_rate`` beats per minute plus baseline wander (a 0.1 mV sinusoid of 0.1 to
    0.4 Hz) and white noise. Class 0
    has nearly constant RR intervals (2% jitter); class 1 draws RR intervals with
    a relative spread of ``irregularity`` and no P wave, like atrial fibrillation.

    Parameters
    ----------
    n_records : int, default=100
    fs : float, default=300.0
        Sampling rate in Hz.
    min_seconds, max_seconds : float, default=9.0, 30.0
        Uniform range of record durations in seconds.
    heart_rate : float, default=70.0
        Mean beats per minute.
    irregularity : float, default=0.25
        Relative standard deviation of RR intervals in class 1.
    noise_std : float, default=0.03
        White noise in mV.
    weights : tuple of float, default=(0.5, 0.5)
        Class proportions.
    random_state : int, RandomState or None, default=0

    Returns
    -------
    signals : list of ndarray of float32
        Ragged records in mV.
    y : ndarray of int, shape (n_records,)
        0 regular, 1 irregular.

    Examples
    --------
    >>> from sklearn_biodiff.datasets import make_synthetic_ecg
    >>> X, y = make_synthetic_ecg(6, random_state=0)
    >>> len(X), sorted(set(y.tolist()))
    (6, [0, 1])
    """
    if n_records < 1:
        raise ValueError(f"n_records must be >= 1, got {n_records}.")
    if not 0 < min_seconds <= max_seconds:
        raise ValueError("need 0 < min_seconds <= max_seconds.")
    rng = check_random_state(random_state)
    p = np.asarray(weights, dtype=float)
    y = rng.choice(len(p), size=n_records, p=p / p.sum())
    signals = []
    rr_mean = 60.0 / heart_rate
    for label in y:
        n = int(round(rng.uniform(min_seconds, max_seconds) * fs))
        t = np.arange(n) / fs
        spread = irregularity if label == 1 else 0.02
        rr = np.abs(rr_mean * (1 + spread * rng.randn(int(n / fs / rr_mean) + 4))) + 0.25
        peaks = np.cumsum(rr) - rng.uniform(0, rr_mean)
        x = np.zeros(n)
        for pk in peaks[peaks < t[-1] + 0.5]:
            lo, hi = np.searchsorted(t, [pk - 0.4, pk + 0.5])
            seg = _beat(t[lo:hi] - pk)
            if label == 1:  # no P wave, fibrillatory baseline instead
                seg -= 0.15 * np.exp(-0.5 * ((t[lo:hi] - pk + 0.2) / 0.025) ** 2)
            x[lo:hi] += seg
        if label == 1:
            x += 0.05 * np.sin(2 * np.pi * rng.uniform(5, 7) * t + rng.uniform(0, 6.3))
        x += 0.1 * np.sin(2 * np.pi * rng.uniform(0.1, 0.4) * t + rng.uniform(0, 6.3))
        x += noise_std * rng.randn(n)
        signals.append(x.astype(np.float32))
    return signals, y.astype(int)
