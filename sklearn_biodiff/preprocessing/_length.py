"""Crop or pad records to one length."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state

from .._sklearn_compat import Interval, StrOptions, check_is_fitted
from .._validation import check_signals, data_fs, has_lead_axis, n_leads, with_fs
from ._base import SignalTransformer


def fix_length(x: np.ndarray, length: int, *, crop="center", pad="center",
               rng=None) -> np.ndarray:
    """Crop (centre or random window) or zero-pad (centre or end) one record.

    Works along the last axis, so the leads of a ``(n_leads, n_samples)`` record
    get the same window and stay aligned.
    """
    n = x.shape[-1]
    if n > length:
        if crop == "center":
            start = (n - length) // 2
        else:
            start = int(rng.randint(0, n - length + 1))
        return x[..., start : start + length]
    if n < length:
        total = length - n
        left = total // 2 if pad == "center" else 0
        return np.pad(x, [(0, 0)] * (x.ndim - 1) + [(left, total - left)])
    return x


class FixedLength(SignalTransformer):
    """Crop or zero-pad every record to ``length`` samples.

    Always returns an array: ``(n_records, length)``, or ``(n_records, n_leads,
    length)`` for input with a lead axis (all leads of a record get the same
    window, so they stay aligned).

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

    def __init__(self, length=9000, *, crop="center", pad="center", random_state=None):
        self.length = length
        self.crop = crop
        self.pad = pad
        self.random_state = random_state

    def transform(self, X):
        """Crop or pad each record to ``length`` samples.

        Parameters
        ----------
        X : array-like of shape (n_records, n_samples) or (n_records, n_leads, \
n_samples), or list of arrays of shape (n_samples_i,) or (n_leads, n_samples_i)
            Signals (the shape rule: :ref:`signal_shapes`).

        Returns
        -------
        Xt : ndarray of shape (n_records, length) or (n_records, n_leads, length), \
float32
            Keeps the input's lead axis, and its sampling rate (``Xt.fs``) when it
            had one.
        """
        fs_out = self._output_fs(X)
        X = self._validate(X)
        rng = check_random_state(self.random_state)
        lead_shape = (n_leads(X),) if has_lead_axis(X) else ()
        out = np.empty((len(X), *lead_shape, self.length), dtype=np.float32)
        for i, x in enumerate(X):
            out[i] = fix_length(x, self.length, crop=self.crop, pad=self.pad, rng=rng)
        return with_fs(out, fs_out)

    def _output_length(self, n):
        return self.length

    def get_feature_names_out(self, input_features=None):
        """Sample names ``sample0 … sample{length-1}``."""
        check_is_fitted(self)
        return np.asarray([f"sample{i}" for i in range(self.length)], dtype=object)


def segment_records(X, window: int, *, step: int | None = None, y=None, groups=None):
    """Cut each record into windows of ``window`` samples.

    Window ``k`` of a record starts at ``k * step``; the tail shorter than a
    window is left out (at most ``step - 1`` samples per record). Each window
    keeps its record's label and group, so patient-grouped CV and
    :func:`~sklearn_biodiff.model_selection.patient_roc_auc_score` can gather the
    windows of one patient again. The leads of a record are cut at the same
    samples, and the sampling rate (``X.fs``) is kept.

    Parameters
    ----------
    X : array-like of shape (n_records, n_samples) or (n_records, n_leads, \
n_samples), or list of arrays of shape (n_samples_i,) or (n_leads, n_samples_i)
        Signals (the shape rule: :ref:`signal_shapes`).
    window : int
        Window length in samples.
    step : int or None, default=None
        Hop in samples; ``None`` is ``window`` (no overlap).
    y, groups : array-like of shape (n_records,) or None
        Label and patient of each record; ``groups=None`` uses the record index.

    Returns
    -------
    windows : ndarray of shape (n_windows, window) or (n_windows, n_leads, window)
        float32, with a lead axis when ``X`` has one.
    y_windows : ndarray of shape (n_windows,) or None
    groups_windows : ndarray of shape (n_windows,)

    Raises
    ------
    ValueError
        When a record is shorter than one window (naming the records): nothing
        is dropped silently.

    Examples
    --------
    >>> import numpy as np
    >>> W, yw, gw = segment_records([np.arange(10.0), np.arange(7.0)], 3, y=[0, 1])
    >>> W.shape, yw.tolist(), gw.tolist()
    ((5, 3), [0, 0, 0, 1, 1], [0, 0, 0, 1, 1])
    """
    if not isinstance(window, Integral) or window < 1:
        raise ValueError(f"window must be a positive integer, got {window!r}.")
    step = window if step is None else step
    if not isinstance(step, Integral) or step < 1:
        raise ValueError(f"step must be a positive integer, got {step!r}.")
    fs = data_fs(X)
    records = list(check_signals(X, what="segment_records"))
    n = len(records)
    groups = np.arange(n) if groups is None else np.asarray(groups)
    if len(groups) != n or (y is not None and len(y) != n):
        raise ValueError(f"y and groups must have one entry per record ({n}).")
    lengths = [r.shape[-1] for r in records]
    short = [i for i, n_i in enumerate(lengths) if n_i < window]
    if short:
        raise ValueError(f"{len(short)} record(s) are shorter than one window of {window} "
                         f"samples, e.g. record {short[0]} ({lengths[short[0]]} samples); "
                         "use a shorter window or pad them first (FixedLength).")
    counts = np.array([(n_i - window) // step + 1 for n_i in lengths])
    # (..., n_windows, window) per record; leads (if any) moved behind the windows
    windows = np.concatenate([
        np.moveaxis(np.lib.stride_tricks.sliding_window_view(r, window, axis=-1)
                    [..., ::step, :][..., :c, :], -2, 0)
        for r, c in zip(records, counts)])
    y_w = None if y is None else np.repeat(np.asarray(y), counts)
    return with_fs(np.ascontiguousarray(windows), fs), y_w, np.repeat(groups, counts)
