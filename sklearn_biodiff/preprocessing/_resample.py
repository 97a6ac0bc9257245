"""Polyphase resampling of ragged signals."""

from __future__ import annotations

from fractions import Fraction
from numbers import Real

import numpy as np
from scipy.signal import resample_poly

from .._sklearn_compat import Interval
from ._base import SignalTransformer


def resample_ratio(orig_fs: float, target_fs: float, max_denominator: int = 1000):
    """Integer ``(up, down)`` with ``up / down`` ≈ ``target_fs / orig_fs``."""
    frac = Fraction(target_fs / orig_fs).limit_denominator(max_denominator)
    return frac.numerator, frac.denominator


def resample_signal(x: np.ndarray, orig_fs: float, target_fs: float, axis: int = -1):
    """Resample ``x`` from ``orig_fs`` to ``target_fs`` Hz (polyphase FIR).

    Output length along ``axis`` is ``ceil(n * up / down)``.
    """
    if orig_fs == target_fs:
        return np.asarray(x, dtype=np.float32)
    up, down = resample_ratio(orig_fs, target_fs)
    return resample_poly(x, up, down, axis=axis).astype(np.float32, copy=False)


class Resample(SignalTransformer):
    """Resample each record (each of its leads) from ``orig_fs`` to ``target_fs`` Hz.

    Polyphase filtering (:func:`scipy.signal.resample_poly`) with the rational
    ratio ``up/down`` closest to ``target_fs / orig_fs``.

    Parameters
    ----------
    orig_fs : float, default=300.0
        Sampling rate of the input in Hz.
    target_fs : float, default=300.0
        Sampling rate of the output in Hz.

    Attributes
    ----------
    n_features_in_ : int
        Record length seen in ``fit`` (2-D input only).
    n_leads_in_ : int
        Leads seen in ``fit``; ``transform`` of a fitted instance checks it.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_biodiff.preprocessing import Resample
    >>> Resample(orig_fs=360, target_fs=300).fit_transform(np.zeros((2, 720))).shape
    (2, 600)
    """

    _parameter_constraints = {
        "orig_fs": [Interval(Real, 0, None, closed="neither")],
        "target_fs": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, orig_fs=300.0, target_fs=300.0):
        self.orig_fs = orig_fs
        self.target_fs = target_fs

    def _input_fs(self):
        return self.orig_fs

    def _output_fs(self, X):
        return self.target_fs

    def _transform_2d(self, X):
        return resample_signal(X, self.orig_fs, self.target_fs, axis=1)

    def _transform_one(self, x):
        return resample_signal(x, self.orig_fs, self.target_fs)

    def _output_length(self, n):
        up, down = resample_ratio(self.orig_fs, self.target_fs)
        return -(-n * up // down)
