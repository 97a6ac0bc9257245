"""Zero-phase Butterworth band-pass filtering."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from scipy.signal import butter, sosfiltfilt

from .._sklearn_compat import Interval
from ._base import SignalTransformer


class BandpassFilter(SignalTransformer):
    """Zero-phase Butterworth band-pass (or high/low-pass) filter per record and lead.

    Second-order sections run forward and backward
    (:func:`scipy.signal.sosfiltfilt`), so the phase is not shifted and the
    effective order is ``2 * order``. Records shorter than the default edge
    padding are filtered with the longest padding they allow.

    Parameters
    ----------
    low_hz : float or None, default=0.5
        Lower cut-off in Hz (removes baseline wander); ``None`` for low-pass.
    high_hz : float or None, default=40.0
        Upper cut-off in Hz (removes power-line and muscle noise); ``None`` for
        high-pass.
    fs : float, default=300.0
        Sampling rate in Hz.
    order : int, default=4
        Butterworth order of each pass.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_biodiff.preprocessing import BandpassFilter
    >>> BandpassFilter(fs=300).fit_transform(np.zeros((1, 3000))).shape
    (1, 3000)
    """

    _parameter_constraints = {
        "low_hz": [Interval(Real, 0, None, closed="neither"), None],
        "high_hz": [Interval(Real, 0, None, closed="neither"), None],
        "fs": [Interval(Real, 0, None, closed="neither")],
        "order": [Interval(Integral, 1, 16, closed="both")],
    }

    def __init__(self, low_hz=0.5, high_hz=40.0, *, fs=300.0, order=4):
        self.low_hz = low_hz
        self.high_hz = high_hz
        self.fs = fs
        self.order = order

    def _sos(self):
        nyq = self.fs / 2
        lo, hi = self.low_hz, self.high_hz
        if lo is None and hi is None:
            raise ValueError("BandpassFilter needs low_hz, high_hz or both.")
        for name, f in (("low_hz", lo), ("high_hz", hi)):
            if f is not None and f >= nyq:
                raise ValueError(
                    f"{name}={f} Hz must be below the Nyquist frequency {nyq} Hz "
                    f"of fs={self.fs} Hz."
                )
        if lo is not None and hi is not None:
            if lo >= hi:
                raise ValueError(f"low_hz={lo} must be below high_hz={hi}.")
            return butter(self.order, [lo, hi], btype="bandpass", fs=self.fs, output="sos")
        if lo is not None:
            return butter(self.order, lo, btype="highpass", fs=self.fs, output="sos")
        return butter(self.order, hi, btype="lowpass", fs=self.fs, output="sos")

    def _filter(self, x, axis):
        sos = self._sos()
        n = x.shape[axis]
        padlen = min(3 * (2 * len(sos) + 1), n - 1)
        return sosfiltfilt(sos, x.astype(np.float64), axis=axis, padlen=padlen)

    def _transform_2d(self, X):
        return self._filter(X, axis=1)

    def _transform_one(self, x):
        return self._filter(x, axis=0)
