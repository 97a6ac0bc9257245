"""Data-parallel featurisation over joblib, so that any joblib backend runs it.

One mechanism: :func:`transform_in_chunks` cuts the records into chunks and
transforms each chunk with a copy of a fitted transformer in a
:class:`joblib.Parallel` task. Which workers run the tasks is joblib's choice:
local processes by default (loky), or a Dask cluster inside
``joblib.parallel_config(backend="dask")`` (see the "Scaling out" page of the
user guide).
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from joblib import Parallel, delayed
from scipy import sparse
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import _num_samples, check_is_fitted

from ._validation import SignalArray, SignalList
from .base import limit_torch_threads

__all__ = ["transform_in_chunks"]


def _transform_chunk(transformer, X, n_threads):
    with limit_torch_threads(n_threads):
        return transformer.transform(X)


def _concatenate(parts):
    first = parts[0]
    if sparse.issparse(first):
        return sparse.vstack(parts, format=first.format)
    if hasattr(first, "iloc"):  # pandas output (set_output)
        import pandas as pd

        return pd.concat(parts, axis=0)
    if isinstance(first, list):
        records = [r for part in parts for r in part]
        return SignalList(records, fs=first.fs) if isinstance(first, SignalList) else records
    out = np.concatenate([np.asarray(p) for p in parts], axis=0)
    return SignalArray(out, fs=first.fs) if isinstance(first, SignalArray) else out


def transform_in_chunks(transformer, X, *, chunk_size: int = 256, n_jobs: int | None = None,
                        n_threads: int | None = None, verbose: int = 0):
    """``transformer.transform(X)`` in chunks of records, run as joblib tasks.

    The result equals ``transformer.transform(X)`` for any transformer that
    transforms each record independently of the others (every transformer of
    this package; e.g. :class:`~sklearn_biodiff.feature_extraction.ScatteringFeatures`
    up to float32 rounding, since its batches differ). Each task gets a pickled
    copy of the fitted ``transformer`` and one chunk, so ``fit`` happens once,
    where you call it.

    Parameters
    ----------
    transformer : fitted transformer
        E.g. ``ScatteringFeatures().fit(X)``.
    X : array-like of shape (n_records, n_samples) or list of 1-D arrays
        What ``transformer.transform`` accepts; a ``SignalList``/``SignalArray``
        keeps its ``fs`` in every chunk.
    chunk_size : int, default=256
        Records per task. Larger chunks amortise the cost of sending the
        transformer; smaller ones balance the load over more workers.
    n_jobs : int or None, default=None
        As in :class:`joblib.Parallel`; inside ``joblib.parallel_config(...)``
        the configured backend and ``n_jobs`` are used (``n_jobs=-1`` with the
        ``"dask"`` backend uses every thread of the cluster).
    n_threads : int or None, default=None
        Torch threads in each task. ``None`` keeps the worker's setting: the
        default loky backend caps its workers at ``n_cores // n_jobs`` threads,
        and Dask workers started by a nanny (``LocalCluster``, ``dask worker``,
        dask-jobqueue) run with ``OMP_NUM_THREADS=1``, i.e. one torch thread.
    verbose : int, default=0
        Passed to :class:`joblib.Parallel`.

    Returns
    -------
    Xt : ndarray of shape (n_records, n_features_out), or the type ``transform`` returns
        The chunks' outputs concatenated in the order of ``X``.

    Notes
    -----
    On a Dask cluster (``pip install "sklearn-biodiff[dask]"``), the same call runs
    its chunks on the cluster's workers:

    .. code-block:: python

        from distributed import Client, LocalCluster
        from joblib import parallel_config

        with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, \\
                Client(cluster), parallel_config(backend="dask"):
            F = transform_in_chunks(st, X, chunk_size=64, n_jobs=-1)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_biodiff.datasets import make_synthetic_ecg
    >>> from sklearn_biodiff.feature_extraction import ScatteringFeatures
    >>> from sklearn_biodiff.parallel import transform_in_chunks
    >>> X, y = make_synthetic_ecg(6, random_state=0)
    >>> st = ScatteringFeatures(J=6, Q=4).fit(X)
    >>> F = transform_in_chunks(st, X, chunk_size=4, n_jobs=1)
    >>> F.shape
    (6, 134)
    >>> bool(np.allclose(F, st.transform(X), rtol=1e-5, atol=1e-5))
    True
    """
    if not hasattr(transformer, "transform"):
        raise TypeError(f"transformer must have a transform method; got "
                        f"{type(transformer).__name__}.")
    check_is_fitted(transformer)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, Integral) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}.")
    if n_threads is not None and (isinstance(n_threads, bool)
                                  or not isinstance(n_threads, Integral) or n_threads < 1):
        raise ValueError(f"n_threads must be a positive integer or None, got {n_threads!r}.")
    n = _num_samples(X)
    if n == 0:
        raise ValueError("X has no records: pass at least one record.")
    chunks = [_safe_indexing(X, slice(s, min(s + chunk_size, n)))
              for s in range(0, n, chunk_size)]
    parts = Parallel(n_jobs=n_jobs, verbose=verbose)(
        delayed(_transform_chunk)(transformer, chunk, n_threads) for chunk in chunks)
    return _concatenate(parts)
