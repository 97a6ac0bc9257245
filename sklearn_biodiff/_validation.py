"""Signals in, errors out: the single validation module for every estimator.

The shape rule (the one place it is defined; the user guide's "Signal shapes"
section and every estimator's docstring refer to it):

========================================  =======================================
input                                     read as
========================================  =======================================
array ``(n_records, n_samples)``          ``n_records`` records of one lead
array ``(n_records, n_leads, n_samples)`` records of ``n_leads`` leads
                                          (``(n, 1, t)`` is one lead, like ``(n, t)``)
sequence of 1-D arrays ``(n_samples_i,)`` ragged records of one lead
sequence of 2-D arrays                    ragged records of ``n_leads`` leads, the
``(n_leads, n_samples_i)``                same ``n_leads`` in every record
========================================  =======================================

Leads come before time (channels first, as in torch, braindecode and aeon); an
array or record with more leads than samples is refused as probably transposed.
A validated 2-D array or list of 1-D records has *no lead axis*; a 3-D array or
list of 2-D records has one, and transformers that return signals keep the
layout they were given (a lead axis in, a lead axis out). Every public estimator
of the package validates its input here, so the error messages are the same
everywhere and name the offending record (and lead).
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
    "check_n_leads",
    "data_fs",
    "flatten_leads",
    "has_lead_axis",
    "n_leads",
    "n_records",
    "record_lengths",
    "unflatten_leads",
    "with_fs",
]

#: An array ``(n_records, n_samples)`` or ``(n_records, n_leads, n_samples)``, or a
#: sequence of records ``(n_samples_i,)`` or ``(n_leads, n_samples_i)``.
Signals = np.ndarray | Sequence[np.ndarray]


class SignalList(list):
    """A list of records (1-D, or 2-D with a lead axis) that knows its rate ``fs`` (Hz).

    Loaders and resamplers return it, so that an estimator built for another
    rate can detect the mismatch instead of silently computing wrong features.
    A slice is a ``SignalList`` with the same ``fs``; one record taken out by
    its index (``X[i]``) is a :class:`SignalArray` view with the same ``fs``, so
    a list built from indexed records, as scikit-learn's cross-validation and
    ``train_test_split`` build it (``[X[i] for i in train]``), still carries the
    rate (see :func:`data_fs`). The records are stored, and iterated, as plain
    arrays: the rate lives on the list alone.
    """

    def __init__(self, records=(), fs: float | None = None):
        super().__init__(r.view(np.ndarray) if isinstance(r, SignalArray) else r
                         for r in records)
        self.fs = fs

    def __getitem__(self, index):
        out = super().__getitem__(index)
        if isinstance(index, slice):
            return SignalList(out, fs=self.fs)
        if self.fs is not None and isinstance(out, np.ndarray):
            return SignalArray(out, fs=self.fs)
        return out

    def __reduce__(self):
        return (type(self), (list(self), self.fs))


class SignalArray(np.ndarray):
    """An array of equal-length records that knows its sampling rate ``fs`` (Hz).

    2-D ``(n_records, n_samples)`` or, with a lead axis, 3-D ``(n_records,
    n_leads, n_samples)``; or one record ``(n_samples,)`` or ``(n_leads,
    n_samples)`` taken out of a :class:`SignalList`.

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

    A list becomes a :class:`SignalList`, an array a :class:`SignalArray`;
    with ``fs=None`` an array stays a plain array.
    """
    if isinstance(X, np.ndarray):
        return X if fs is None else SignalArray(X, fs=fs)
    return SignalList(X, fs=fs)


def data_fs(X) -> float | None:
    """The sampling rate ``X`` carries, or ``None`` (the one place it is read).

    ``X.fs`` of a :class:`SignalList` or :class:`SignalArray`; for a plain list
    or tuple, the rate of its records that carry one (records indexed out of a
    ``SignalList``, e.g. by a cross-validation split). Plain arrays and lists of
    plain arrays carry none.

    Raises
    ------
    ValueError
        When the records of a list carry different rates.
    """
    fs = getattr(X, "fs", None)
    if fs is not None or not isinstance(X, list | tuple):
        return fs
    rates = {r.fs for r in X if isinstance(r, SignalArray) and r.fs is not None}
    if len(rates) > 1:
        raise ValueError(
            f"the records are sampled at different rates ({sorted(rates)} Hz); resample "
            "them to one rate first (Resample(orig_fs=..., target_fs=...) on each group "
            "of records).")
    return rates.pop() if rates else None


def check_data_fs(X, fs: float, what: str) -> None:
    """Raise when ``X`` carries a sampling rate (:func:`data_fs`) other than ``fs``."""
    _reject_non_signals(X)  # a wfdb.Record has an fs too
    rate = data_fs(X)
    if rate is not None and not np.isclose(float(rate), float(fs)):
        raise ValueError(
            f"the signals are sampled at {rate} Hz but {what} expects fs={fs} Hz; "
            f"set fs={rate} or resample first (Resample(orig_fs={rate}, "
            f"target_fs={fs}))."
        )


def set_n_features_in(est, X) -> None:
    """Record ``n_features_in_`` for 2-D input; ragged and 3-D input have none."""
    if isinstance(X, np.ndarray) and X.ndim == 2:
        est.n_features_in_ = X.shape[1]
    elif hasattr(est, "n_features_in_"):
        del est.n_features_in_


def _describe(i: int) -> str:
    return f"record {i}"


_SHAPE_RULE = (
    "signals are (n_records, n_samples) for one lead, (n_records, n_leads, n_samples) "
    "for several, or a list of records (n_samples,) or (n_leads, n_samples)"
)


def _transposed_hint(where: str, shape, lead_axis: int) -> str:
    return (
        f"{where} has shape {tuple(shape)}: {shape[lead_axis]} leads of "
        f"{shape[-1]} sample(s). Leads come before time ({_SHAPE_RULE}); this looks "
        "transposed: swap the last two axes (x.T for one record, "
        "X.transpose(0, 2, 1) for an array)."
    )


def _as_record(x, i: int, dtype) -> np.ndarray:
    """Convert one record to a contiguous ``(n_samples,)`` or ``(n_leads, n_samples)``."""
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
    if arr.ndim not in (1, 2):
        raise ValueError(
            f"{_describe(i)} has shape {arr.shape}; each record must be 1-D "
            f"(n_samples,) for one lead or 2-D (n_leads, n_samples) ({_SHAPE_RULE})."
        )
    if arr.ndim == 2 and arr.shape[0] > arr.shape[1]:
        raise ValueError(_transposed_hint(_describe(i), arr.shape, 0))
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
                "[df.to_numpy().T] for all leads (one record of shape (n_leads, "
                "n_samples)), or cut the recording into windows (sklearn_biodiff."
                "preprocessing.segment_records(df.to_numpy().T[None], window)), or use "
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
    """Validate signals by the package's shape rule and return them as float arrays.

    Parameters
    ----------
    X : array-like of shape (n_records, n_samples) or (n_records, n_leads, n_samples), \
or sequence of arrays of shape (n_samples_i,) or (n_leads, n_samples_i)
        The records (see the shape rule in this module's docstring). An array
        keeps its shape; a sequence (list, tuple, object array) becomes a list of
        records: all 1-D when every record is 1-D, else all ``(n_leads,
        n_samples_i)`` (a 1-D record then counts as one lead).
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
    X : ndarray of shape (n_records, n_samples) or (n_records, n_leads, n_samples), \
or list of ndarray
        Validated records of ``dtype``.

    Raises
    ------
    TypeError
        For a ``wfdb.Record``, a file path or a time-indexed DataFrame (one
        recording): the message says what to pass instead.
    ValueError
        On empty input, 1-D or 4-D arrays, more leads than samples (transposed
        input), records with different numbers of leads, non-numeric or complex
        data, NaN or inf, zero-length or too-short records. The message names
        the record.
    """
    if X is None:
        raise ValueError(f"X is None; expected signals: {_SHAPE_RULE}.")
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
    if isinstance(X, np.ndarray) and X.dtype == object and X.ndim in (2, 3):
        X = X.astype(np.float64)  # TypeError names a non-numeric entry
    if isinstance(X, np.ndarray) and X.dtype != object:
        return _check_signal_array(X, min_length=min_length, dtype=dtype, what=what,
                                   allow_nan=allow_nan, too_short_hint=too_short_hint)
    return _check_signal_sequence(X, min_length=min_length, dtype=dtype, what=what,
                                  allow_nan=allow_nan, too_short_hint=too_short_hint)


def _too_short(n: int, what: str, min_length: int, hint: str, *, record: str = "") -> str:
    head = (f"{record} has {n} sample(s)" if record
            else f"X has records of {n} sample(s) (n_features={n})")
    return (f"{head}, but {what} needs records of at least {min_length} samples."
            f"{hint and ' ' + hint}")


def _check_signal_array(X: np.ndarray, *, min_length, dtype, what, allow_nan,
                        too_short_hint) -> np.ndarray:
    """:func:`check_signals` for a numeric array: shape, leads, values, length."""
    if X.ndim not in (2, 3):
        hint = (" Reshape your data: pass a single record as X[None, :] or [x]."
                if X.ndim == 1 else "")
        raise ValueError(
            f"X has {X.ndim} dimension(s) (shape {X.shape}); expected a 2-D array "
            "(n_records, n_samples), a 3-D array (n_records, n_leads, n_samples) or "
            f"a list of records.{hint}"
        )
    if X.shape[0] == 0:
        raise ValueError("X contains 0 records; at least one is required.")
    if X.ndim == 3 and X.shape[1] == 0:
        raise ValueError(f"X has 0 leads (shape={X.shape}); at least one is required.")
    if X.shape[-1] == 0:
        raise ValueError(
            f"X has records of length 0: 0 feature(s) (shape={X.shape}) while a "
            "minimum of 1 is required."
        )
    if X.ndim == 3 and X.shape[1] > X.shape[2]:
        raise ValueError(_transposed_hint("X", X.shape, 1))
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise ValueError(f"X is not numeric (dtype {X.dtype}).")
    if np.iscomplexobj(X):
        raise ValueError(
            "Complex data not supported: X is complex; signals must be real-valued."
        )
    out = np.ascontiguousarray(X, dtype=dtype)
    if not allow_nan:
        bad = ~np.isfinite(out).all(axis=tuple(range(1, out.ndim)))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"X contains NaN or infinity ({int(bad.sum())} record(s), first "
                f"is {_describe(i)}); clean or impute the signals first."
            )
    if out.shape[-1] < min_length:
        raise ValueError(_too_short(out.shape[-1], what, min_length, too_short_hint))
    return out


def _check_signal_sequence(X, *, min_length, dtype, what, allow_nan,
                           too_short_hint) -> list[np.ndarray]:
    """:func:`check_signals` for a sequence of records: each record, then their leads."""
    if isinstance(X, (str, bytes)) or not isinstance(X, Sequence | np.ndarray):
        try:
            X = list(X)
        except TypeError as exc:
            raise ValueError(
                f"X of type {type(X).__name__} is not an array or a sequence of "
                "records."
            ) from exc
    if len(X) == 0:
        raise ValueError("X contains 0 records; at least one is required.")
    out = []
    for i, x in enumerate(X):
        if isinstance(x, Real | Integral) or np.ndim(x) == 0:
            raise ValueError(
                f"{_describe(i)} is a scalar; expected a 2-D array (n_records, "
                "n_samples), a 3-D array (n_records, n_leads, n_samples) or a "
                "sequence of records."
            )
        arr = _as_record(x, i, dtype)
        if arr.size == 0:
            raise ValueError(f"{_describe(i)} has length 0.")
        if not allow_nan and not np.isfinite(arr).all():
            raise ValueError(
                f"{_describe(i)} contains NaN or infinity; clean or impute the "
                "signals first."
            )
        if arr.shape[-1] < min_length:
            raise ValueError(_too_short(arr.shape[-1], what, min_length, too_short_hint,
                                        record=_describe(i)))
        out.append(arr)
    return _same_leads(out)


def _same_leads(records: list[np.ndarray]) -> list[np.ndarray]:
    """All 1-D records as they are; else every record ``(n_leads, n)``, the same
    ``n_leads`` for all (a 1-D record counts as one lead)."""
    if not any(r.ndim == 2 for r in records):
        return records
    first = next(i for i, r in enumerate(records) if r.ndim == 2)
    c = records[first].shape[0]
    for i, r in enumerate(records):
        c_i = r.shape[0] if r.ndim == 2 else 1
        if c_i != c:
            raise ValueError(
                f"{_describe(i)} has {c_i} lead(s) but {_describe(first)} has {c}; "
                "every record needs the same leads, in the same order "
                f"({_SHAPE_RULE})."
            )
    return [r if r.ndim == 2 else r[None, :] for r in records]


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
        return np.full(X.shape[0], X.shape[-1], dtype=np.int64)
    return np.fromiter((x.shape[-1] for x in X), dtype=np.int64, count=len(X))


def has_lead_axis(X) -> bool:
    """Whether validated signals have a lead axis (3-D array or 2-D records)."""
    return X.ndim == 3 if isinstance(X, np.ndarray) else X[0].ndim == 2


def n_leads(X) -> int:
    """Number of leads of validated signals (1 without a lead axis)."""
    if isinstance(X, np.ndarray):
        return X.shape[1] if X.ndim == 3 else 1
    return X[0].shape[0] if X[0].ndim == 2 else 1


def flatten_leads(X):
    """One single-lead record per (record, lead), record-major.

    A 3-D array ``(n, c, t)`` becomes the 2-D array ``(n * c, t)`` (a view); a
    list of ``(c, t_i)`` records becomes a list of ``n * c`` 1-D records (lead 0
    of record 0, lead 1 of record 0, ...). Signals without a lead axis are
    returned as they are, so single-lead code paths are unchanged.
    :func:`unflatten_leads` is the inverse.
    """
    if not has_lead_axis(X):
        return X
    if isinstance(X, np.ndarray):
        return X.reshape(-1, X.shape[-1])
    return [lead for record in X for lead in record]


def unflatten_leads(flat, n_leads: int, lead_axis: bool):
    """Inverse of :func:`flatten_leads` for per-lead outputs, packed.

    ``flat`` holds ``n * n_leads`` single-lead outputs (a 2-D array or a list of
    1-D arrays). With ``lead_axis`` they are regrouped into records of
    ``n_leads`` leads; outputs of one length are stacked into an array
    (``(n, t)`` or ``(n, n_leads, t)``), ragged ones stay a list.
    """
    if isinstance(flat, np.ndarray):
        return flat.reshape(-1, n_leads, flat.shape[-1]) if lead_axis else flat
    if lead_axis:
        flat = [np.stack(flat[k : k + n_leads]) for k in range(0, len(flat), n_leads)]
    return pack_signals(flat)


def check_n_leads(estimator, X, *, reset: bool) -> None:
    """Record (``reset=True``) or check the number of leads, ``n_leads_in_``.

    With ``reset=False`` an estimator that has no ``n_leads_in_`` (not fitted, or
    pickled before it existed) is not checked.
    """
    c = n_leads(X)
    if reset:
        estimator.n_leads_in_ = c
        return
    fitted = getattr(estimator, "n_leads_in_", None)
    if fitted is not None and c != fitted:
        raise ValueError(
            f"X has {c} lead(s), but {type(estimator).__name__} was fitted on "
            f"{fitted} lead(s); pass the same leads, in the same order, as in fit "
            f"(or refit on {c}-lead data)."
        )


def check_fs(fs, name: str = "fs") -> float:
    """Validate a sampling rate in Hz and return it as a float."""
    if isinstance(fs, bool) or not isinstance(fs, Real) or not np.isfinite(fs) or fs <= 0:
        raise ValueError(f"{name} must be a positive sampling rate in Hz, got {fs!r}.")
    return float(fs)


def pack_signals(records: list[np.ndarray]) -> np.ndarray | list[np.ndarray]:
    """Stack records of one shape into an array; keep ragged ones as a list.

    Transformers return this so that equal-length input (an array or a list of
    rows) gives an array out, as scikit-learn expects, while ragged input stays
    ragged. Records ``(n_leads, n_samples)`` of one length stack into a 3-D array.
    """
    if len({np.shape(r) for r in records}) == 1:
        return np.stack(records)
    return records
