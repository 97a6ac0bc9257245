"""Crop or pad records to one length."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state

from .._sklearn_compat import Interval, StrOptions, check_is_fitted
from ._base import SignalTransformer


def fix_length(x: np.ndarray, length: int, *, crop="center", pad="center",
               rng=None) -> np.ndarray:
    """Crop (centre or random window) or zero-pad (centre or end) one record."""
    n = len(x)
    if n > length:
        if crop == "center":
            start = (n - length) // 2
        else:
            start = int(rng.randint(0, n - length + 1))
        return x[start : start + length]
    if n < length:
        total = length - n
        left = total // 2 if pad == "center" else 0
        return np.pad(x, (left, total - left))
    return x


class FixedLength(SignalTransformer):
    """Crop or zero-pad every record to ``length`` samples.

    Always returns a 2-D array ``(n_records, length)``.

    Parameters
    ----------
    length : int, default=9000
        Output length in samples (9,000 = 30 s at 300 Hz, the CinC 2017 median).
    crop : {"center", "random"}, default="center"
        Which window of a longer record is kept. ``"random"`` draws a window per
        record from ``random_state`` (for training-time augmentation).
    pad : {"center", "end"}, default="center"
        Where zeros go for a shorter record: both sides, or after the signal.
    random_state : int, RandomState instance or None, default=None
        Seeds the random crops; an int makes them reproducible.

    Examples
    --------
    >>> from sklearn_biodiff.preprocessing import FixedLength
    >>> FixedLength(length=5).fit_transform([[1.0, 2, 3], list(range(8))])
    array([[0., 1., 2., 3., 0.],
           [1., 2., 3., 4., 5.]], dtype=float32)
    """

    _parameter_constraints = {
        "length": [Interval(Integral, 1, None, closed="left")],
        "crop": [StrOptions({"center", "random"})],
        "pad": [StrOptions({"center", "end"})],
        "random_state": ["random_state"],
    }

    def __init__(self, length=9000, crop="center", pad="center", random_state=None):
        self.length = length
        self.crop = crop
        self.pad = pad
        self.random_state = random_state

    def transform(self, X):
        """Crop or pad each record to ``length`` samples.

        Parameters
        ----------
        X : array-like of shape (n_records, n_samples) or list of 1-D arrays
            Signals.

        Returns
        -------
        Xt : ndarray of shape (n_records, length), float32
        """
        X = self._validate(X)
        rng = check_random_state(self.random_state)
        out = np.empty((len(X), self.length), dtype=np.float32)
        for i, x in enumerate(X):
            out[i] = fix_length(x, self.length, crop=self.crop, pad=self.pad, rng=rng)
        return out

    def _output_length(self, n):
        return self.length

    def get_feature_names_out(self, input_features=None):
        """Sample names ``sample0 … sample{length-1}``."""
        check_is_fitted(self)
        return np.asarray([f"sample{i}" for i in range(self.length)], dtype=object)
