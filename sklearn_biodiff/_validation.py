"""Signals in, errors out: the single validation module for every estimator.

Records arrive either as a 2-D float array ``(n_records, n_samples)`` or as a
sequence of 1-D arrays of different lengths (ragged records). Every public
estimator of the package validates its input here, so the error messages are the
same everywhere and name the offending record.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real
from os import PathLike

import numpy as np
import scipy.sparse as sp

__all__ = [
    "SignalArray",
    "SignalList",
    "Signals",
    "check_fs",
    "check_signals",
    "check_labels",
    "check_signals_and_labels",
    "n_records",
    "record_lengths",
    "with_fs",
]

#: A 2-D array ``(n_records, n_samples)`` or a sequence of 1-D arrays.
Signals = np.ndarray | Sequence[np.ndarray]


class SignalList(list):
    """A list of 1-D records that knows its sampling rate ``fs`` (Hz).

    Loaders and resamplers return it, so that an estimator built for another
    rate can detect the mismatch instead of silently computing wrong features.
    """

    def __init__(self, records=(), fs: float | None = None):
        super().__init__(records)
        self.fs = fs

    def __getitem__(self, index):
        out = super().__getitem__(index)
        return SignalList(out, fs=self.fs) if isinstance(index, slice) else out

    def __reduce__(self):
        return (type(self), (list(self), self.fs))


class SignalArray(np.ndarray):
    """A 2-D array of equal-length records that knows its sampling rate ``fs`` (Hz).

    The equal-length counterpart of :class:`SignalList`: the package's transformers
    return it when their input carried a rate (or when they set one, as
    :class:`~sklearn_biodiff.preprocessing.Resample` does), so the rate reaches the
    next step of a pipeline. Indexing and slicing keep ``fs`` (so do CV splits);
    arithmetic and reductions give plain arrays, and ``np.asarray`` (what
    scikit-learn's validation does) drops it. Plain arrays carry no rate and are
    never checked.
    """

    def __new__(cls, data, fs: float | None = None):
        obj = np.asarray(data).view(cls)
        obj.fs = fs
        return obj

    def __array_finalize__(self, obj):
        self.fs = getattr(obj, "fs", None)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        def plain(a):
            return a.view(np.ndarray) if isinstance(a, SignalArray) else a

        if "out" in kwargs:
            kwargs["out"] = tuple(plain(o) for o in kwargs["out"])
        return getattr(ufunc, method)(*(plain(a) for a in inputs), **kwargs)

    def __reduce__(self):
        return (SignalArray, (np.asarray(self), self.fs))


def with_fs(X, fs: float | None):
    """Attach the sampling rate ``fs`` to transformer output (the one place it is done).

    A list becomes a :class:`SignalList`, a 2-D array a :class:`SignalArray`;
    with ``fs=None`` a 2-D array stays a plain array.
    """
    if isinstance(X, np.ndarray):
        return X if fs is None else SignalArray(X, fs=fs)
    return SignalList(X, fs=fs)


def check_data_fs(X, fs: float, what: str) -> None:
    """Raise when ``X`` carries a sampling rate (``X.fs``) other than ``fs``."""
    _reject_non_signals(X)  # a wfdb.Record has an fs too
    data_fs = getattr(X, "fs", None)
    if data_fs is not None and not np.isclose(float(data_fs), float(fs)):
        raise ValueError(
            f"the signals are sampled at {data_fs} Hz but {what} expects fs={fs} Hz; "
            f"set fs={data_fs} or resample first (Resample(orig_fs={data_fs}, "
            f"target_fs={fs}))."
        )


def set_n_features_in(est, X) -> None:
    """Record ``n_features_in_`` for 2-D input; ragged input has none."""
    if isinstance(X, np.ndarray):
        est.n_features_in_ = X.shape[1]
    elif hasattr(est, "n_features_in_"):
        del est.n_features_in_


def _describe(i: int) -> str:
    return f"record {i}"


def _as_record(x, i: int, dtype) -> np.ndarray:
    """Convert one record to a contiguous 1-D array of ``dtype``."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # torch tensor
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or arr.dtype == bool
    ):
        raise ValueError(
            f"{_describe(i)} is not numeric (dtype {arr.dtype}); signals must be "
            "arrays of real numbers."
        )
    if np.iscomplexobj(arr):
        raise ValueError(
            f"Complex data not supported: {_describe(i)} is complex; signals must "
            "be real-valued."
        )
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise ValueError(
            f"{_describe(i)} has shape {arr.shape}; each record must be a 1-D "
            "single-lead signal."
        )
    return np.ascontiguousarray(arr, dtype=dtype)


_WFDB_HINT = (
    "sklearn_biodiff.datasets.load_wfdb_database(folder).signals (windows of a WFDB "
    "database, with labels and patient groups)"
)


def _reject_non_signals(X) -> None:
    """Raise a TypeError that says what to pass for inputs that are not signals.

    A ``wfdb.Record``, a file path, and a time-indexed DataFrame (one recording,
    rows = time samples, e.g. ``Record.to_dataframe()``) would otherwise be read as
    characters, fail deep inside, or silently become thousands of 2-sample
    "records". A plain DataFrame of shape (n_records, n_samples), which
    ``set_output(transform="pandas")`` produces, stays accepted.
    """
    module = type(X).__module__ or ""
    if module == "wfdb" or module.startswith("wfdb."):
        raise TypeError(
            f"X is a {module.split('.')[0]}.{type(X).__name__}, not signals; pass its "
            "samples as an array of records: [record.p_signal[:, i]] for lead i of one "
            f"record, or windows of many records: {_WFDB_HINT}."
        )
    first = X[0] if isinstance(X, list | tuple) and len(X) else None
    if isinstance(X, str | bytes | PathLike) or isinstance(first, str | bytes | PathLike):
        what = f"a file path ({X!r})" if first is None else (
            f"a list of file paths or record names (first: {first!r})")
        raise TypeError(
            f"X is {what}, not signals; estimators take arrays of "
            f"samples. Read the records first: {_WFDB_HINT}, or one lead of one "
            "record: [wfdb.rdrecord(name).p_signal[:, 0]]."
        )
    if module.split(".")[0] == "pandas" and type(X).__name__ == "DataFrame":
        index_kind = type(X.index).__name__
        if index_kind in ("DatetimeIndex", "TimedeltaIndex"):
            raise TypeError(
                f"X is a pandas DataFrame indexed by time ({index_kind}, {X.shape[0]} "
                f"rows x {X.shape[1]} columns): one recording with time samples in rows, "
                "not records. Pass records in rows: [df[lead].to_numpy()] for one lead, "
                "or cut the recording into windows (sklearn_biodiff.preprocessing."
                "segment_records(df[[lead]].to_numpy().T, window)), or use "
                f"{_WFDB_HINT}."
            )
        if len(X) and any(np.ndim(v) > 0 for v in X.iloc[0]):
            raise TypeError(
                "X is a pandas DataFrame whose cells hold arrays; pass a list of 1-D "
                "records, e.g. list(df[column]), or a numeric DataFrame of shape "
                "(n_records, n_samples) via df.to_numpy()."
            )


def check_signals(
    X,
    *,
    min_length: int = 1,
    dtype=np.float32,
    what: str = "this estimator",
    allow_nan: bool = False,
    too_short_hint: str = "",
) -> np.ndarray | list[np.ndarray]:
    """Validate signals and return them as float arrays.

    Parameters
    ----------
    X : array-like of shape (n_records, n_samples) or sequence of 1-D arrays
        The records. A 2-D array stays a 2-D array; a sequence (list, tuple,
        object array) of 1-D arrays becomes a list of 1-D arrays.
    min_length : int, default=1
        Minimum number of samples per record.
    dtype : numpy dtype, default=np.float32
        Output dtype.
    what : str, default="this estimator"
        Named in the too-short error (e.g. ``"ScatteringFeatures(J=6)"``).
    allow_nan : bool, default=False
        Accept NaN/inf values (never used by estimators; for loaders).
    too_short_hint : str, default=""
        Appended to the too-short error (what the user can do about it).

    Returns
    -------
    X : ndarray of shape (n_records, n_samples) or list of ndarray
        Validated records of ``dtype``.

    Raises
    ------
    TypeError
        For a ``wfdb.Record``, a file path or a time-indexed DataFrame (one
        recording): the message says what to pass instead.
    ValueError
        On empty input, 3-D arrays, non-numeric or complex data, NaN or inf,
        zero-length or too-short records. The message names the record.
    """
    if X is None:
        raise ValueError("X is None; expected signals of shape (n_records, n_samples).")
    _reject_non_signals(X)
    if sp.issparse(X):
        raise TypeError(
            "Sparse data was passed for X, but dense signals are required; sparse "
            "input is not supported (use X.toarray())."
        )
    if hasattr(X, "detach") and hasattr(X, "cpu"):
        X = X.detach().cpu().numpy()
    if not isinstance(X, np.ndarray | list | tuple) and hasattr(X, "__array__"):
        X = np.asarray(X)  # DataFrame, array wrappers
    if isinstance(X, np.ndarray) and X.dtype == object and X.ndim == 2:
        X = X.astype(np.float64)  # TypeError names a non-numeric entry
    if isinstance(X, np.ndarray) and X.dtype != object:
        if X.ndim != 2:
            hint = (
                " Reshape your data: pass a single record as X[None, :] or [x]."
                if X.ndim == 1
                else " Multichannel signals are not supported yet; pass one lead."
            )
            raise ValueError(
                f"X has {X.ndim} dimension(s) (shape {X.shape}); expected a 2-D "
                f"array (n_records, n_samples) or a list of 1-D records.{hint}"
            )
        if X.shape[0] == 0:
            raise ValueError("X contains 0 records; at least one is required.")
        if X.shape[1] == 0:
            raise ValueError(
                f"X has records of length 0: 0 feature(s) (shape={X.shape}) while a "
                "minimum of 1 is required."
            )
        if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
            raise ValueError(f"X is not numeric (dtype {X.dtype}).")
        if np.iscomplexobj(X):
            raise ValueError(
                "Complex data not supported: X is complex; signals must be real-valued."
            )
        out = np.ascontiguousarray(X, dtype=dtype)
        if not allow_nan:
            bad = ~np.isfinite(out).all(axis=1)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ValueError(
                    f"X contains NaN or infinity ({int(bad.sum())} record(s), first "
                    f"is {_describe(i)}); clean or impute the signals first."
                )
        if out.shape[1] < min_length:
            raise ValueError(
                f"X has records of {out.shape[1]} sample(s) (n_features="
                f"{out.shape[1]}), but {what} needs records of at least "
                f"{min_length} samples.{too_short_hint and ' ' + too_short_hint}"
            )
        return out

    if isinstance(X, (str, bytes)) or not isinstance(X, Sequence | np.ndarray):
        try:
            X = list(X)
        except TypeError as exc:
            raise ValueError(
                f"X of type {type(X).__name__} is not a 2-D array or a sequence "
                "of 1-D records."
            ) from exc
    if len(X) == 0:
        raise ValueError("X contains 0 records; at least one is required.")
    out = []
    for i, x in enumerate(X):
        if isinstance(x, Real | Integral) or np.ndim(x) == 0:
            raise ValueError(
                f"{_describe(i)} is a scalar; expected a 2-D array (n_records, "
                "n_samples) or a sequence of 1-D records."
            )
        arr = _as_record(x, i, dtype)
        if arr.size == 0:
            raise ValueError(f"{_describe(i)} has length 0.")
        if not allow_nan and not np.isfinite(arr).all():
            raise ValueError(
                f"{_describe(i)} contains NaN or infinity; clean or impute the "
                "signals first."
            )
        if arr.size < min_length:
            raise ValueError(
                f"{_describe(i)} has {arr.size} sample(s), but {what} needs "
                f"records of at least {min_length} samples."
                f"{too_short_hint and ' ' + too_short_hint}"
            )
        out.append(arr)
    return out


def check_signals_and_labels(X, y, *, min_classes: int = 1, **kwargs):
    """Validate signals and their labels together.

    Parameters
    ----------
    X : signals
        See :func:`check_signals`.
    y : array-like of shape (n_records,)
        One label per record.
    min_classes : int, default=1
        Minimum number of distinct labels (2 for supervised contrastive methods).
    **kwargs
        Passed to :func:`check_signals`.

    Returns
    -------
    X : ndarray or list of ndarray
    y : ndarray of shape (n_records,)
    """
    X = check_signals(X, **kwargs)
    return X, check_labels(y, n_records(X), min_classes=min_classes)


def check_labels(y, n_samples: int, *, min_classes: int = 1) -> np.ndarray:
    """Validate one label per record (or row) and the number of classes.

    Returns
    -------
    y : ndarray of shape (n_samples,)
    """
    if y is None:
        raise ValueError(
            "this estimator requires y to be passed, but the target y is None; "
            "give one label per record."
        )
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        raise ValueError(
            f"y has shape {y.shape}; pass a 1-D array of labels (y.ravel())."
        )
    if y.ndim != 1:
        raise ValueError(f"y has shape {y.shape}; expected a 1-D array of labels.")
    if len(y) != n_samples:
        raise ValueError(
            f"X has {n_samples} records but y has {len(y)} labels; they must "
            "match one to one."
        )
    if y.dtype.kind in "fc" and not np.isfinite(y).all():
        raise ValueError("y contains NaN or infinity.")
    n_cls = len(np.unique(y))
    if n_cls < min_classes:
        raise ValueError(
            f"y contains {n_cls} class; this estimator needs at least "
            f"{min_classes} classes (e.g. normal and abnormal records)."
        )
    return y


def n_records(X) -> int:
    """Number of records in validated signals."""
    return X.shape[0] if isinstance(X, np.ndarray) else len(X)


def record_lengths(X) -> np.ndarray:
    """Lengths in samples of validated signals, shape ``(n_records,)``."""
    if isinstance(X, np.ndarray):
        return np.full(X.shape[0], X.shape[1], dtype=np.int64)
    return np.fromiter((len(x) for x in X), dtype=np.int64, count=len(X))


def check_fs(fs, name: str = "fs") -> float:
    """Validate a sampling rate in Hz and return it as a float."""
    if isinstance(fs, bool) or not isinstance(fs, Real) or not np.isfinite(fs) or fs <= 0:
        raise ValueError(f"{name} must be a positive sampling rate in Hz, got {fs!r}.")
    return float(fs)


def pack_signals(records: list[np.ndarray]) -> np.ndarray | list[np.ndarray]:
    """Stack equal-length records into a 2-D array; keep ragged ones as a list.

    Transformers return this so that equal-length input (a 2-D array or a list of
    rows) gives a 2-D array out, as scikit-learn expects, while ragged input
    stays ragged.
    """
    if len({len(r) for r in records}) == 1:
        return np.stack(records)
    return records
