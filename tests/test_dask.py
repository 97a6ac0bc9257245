"""Dask as a joblib backend: grouped CV and chunked featurisation on a LocalCluster.

One local cluster of two worker processes (one thread each) serves the module; each
test compares with the default backend and checks the work ran on the cluster with
torch capped at one thread per worker.
"""

import os

import numpy as np
import pytest
import torch
from joblib import parallel_config
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_biodiff.feature_extraction import DACLEmbedder, ScatteringFeatures
from sklearn_biodiff.model_selection import grouped_cross_validate, make_grouped_cv
from sklearn_biodiff.parallel import transform_in_chunks

distributed = pytest.importorskip("distributed", reason='pip install -e ".[dev]" (dask)')


@pytest.fixture(scope="module")
def dask_client():
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None, memory_limit=0) as cluster, \
            distributed.Client(cluster) as client:
        yield client


def _where():
    """(dask worker address or None, process id, torch threads) of the caller."""
    try:
        address = distributed.get_worker().address
    except ValueError:
        address = None
    return address, os.getpid(), torch.get_num_threads()


class _WhereClassifier(ClassifierMixin, BaseEstimator):
    """Records where its fit ran, then predicts like a logistic regression."""

    def fit(self, X, y):
        self.where_ = _where()
        self.lr_ = LogisticRegression().fit(X, y)
        self.classes_ = self.lr_.classes_
        return self

    def decision_function(self, X):
        return self.lr_.decision_function(X)


class _WhereTransformer(TransformerMixin, BaseEstimator):
    """Identity that appends the torch threads of the process that transformed."""

    def fit(self, X, y=None):
        self.fitted_ = True
        return self

    def transform(self, X):
        address, pid, threads = _where()
        col = np.full((len(X), 1), threads, dtype=float)
        return np.hstack([np.asarray(X, dtype=float), col,
                          np.full((len(X), 1), address is not None, dtype=float)])


def _vectors(n=48, seed=0):
    rng = np.random.RandomState(seed)
    y = np.repeat([0, 1], n // 2)
    X = (rng.randn(n, 6) + 1.2 * y[:, None]).astype(np.float32)
    groups = np.arange(n) // 2
    return X, y, groups


def test_grouped_cross_validate_on_dask_matches_default_backend(dask_client):
    X, y, groups = _vectors()
    pipe = make_pipeline(StandardScaler(), DACLEmbedder(
        embedding_dim=2, widths=(8, 4), time_dim=4, max_epochs=2, batch_size=16,
        random_state=0), LogisticRegression())
    cv = make_grouped_cv(3)
    ref = grouped_cross_validate(pipe, X, y, groups=groups, cv=cv)
    with parallel_config(backend="dask"):
        res = grouped_cross_validate(pipe, X, y, groups=groups, cv=cv, n_jobs=-1)
    np.testing.assert_allclose(res["test_score"], ref["test_score"], rtol=0, atol=1e-6)

    # the folds ran on the cluster's workers, with one torch thread each
    with parallel_config(backend="dask"):
        probe = grouped_cross_validate(_WhereClassifier(), X, y, groups=groups, cv=cv,
                                       n_jobs=-1, return_estimator=True)
    workers = set(dask_client.scheduler_info()["workers"])
    where = [est.where_ for est in probe["estimator"]]
    assert {w[0] for w in where} <= workers and None not in {w[0] for w in where}
    assert {w[1] for w in where}.isdisjoint({os.getpid()})
    assert [w[2] for w in where] == [1, 1, 1]


def test_chunked_scattering_on_dask_matches_default_backend(dask_client, synthetic):
    X = synthetic[0][:24]
    st = ScatteringFeatures(J=6, Q=4, batch_size=8).fit(X)
    ref = st.transform(X)
    # same chunks and one torch thread, as on the workers: identical numbers
    local = transform_in_chunks(st, X, chunk_size=8, n_threads=1)
    with parallel_config(backend="dask"):
        on_dask = transform_in_chunks(st, X, chunk_size=8, n_jobs=-1)
    assert on_dask.shape == ref.shape == local.shape
    np.testing.assert_array_equal(on_dask, local)
    # and the unchunked transform with this process's threads, up to float32 rounding
    np.testing.assert_allclose(on_dask, ref, rtol=1e-5, atol=1e-5)

    # every chunk ran on a worker, with one torch thread (and n_threads is applied)
    probe = _WhereTransformer().fit(X[:4])
    vectors = np.zeros((40, 2))
    with parallel_config(backend="dask"):
        out = transform_in_chunks(probe, vectors, chunk_size=10, n_jobs=-1)
    assert set(out[:, 2]) == {1.0} and set(out[:, 3]) == {1.0}
    out = transform_in_chunks(probe, vectors, chunk_size=10, n_jobs=1, n_threads=1)
    assert set(out[:, 2]) == {1.0} and set(out[:, 3]) == {0.0}  # in this process


def test_transform_in_chunks_keeps_order_rate_and_rejects_bad_arguments(synthetic):
    from sklearn_biodiff._validation import SignalList

    X = synthetic[0]
    X = SignalList(list(X[:5]), fs=300.0)
    st = ScatteringFeatures(J=6, Q=4).fit(X)
    full = st.transform(X)
    for size in (2, 50):
        np.testing.assert_allclose(transform_in_chunks(st, X, chunk_size=size), full,
                                   rtol=1e-5, atol=1e-5)
    rate_checked = ScatteringFeatures(J=6, Q=4, fs=250.0).fit(np.zeros((2, 3000)))
    with pytest.raises(ValueError, match="250"):  # every chunk still carries fs=300
        transform_in_chunks(rate_checked, X, chunk_size=2)
    with pytest.raises(ValueError, match="chunk_size must be a positive integer"):
        transform_in_chunks(st, X, chunk_size=0)
    with pytest.raises(ValueError, match="n_threads must be a positive integer"):
        transform_in_chunks(st, X, n_threads=0)
    with pytest.raises(ValueError, match="X has no records"):
        transform_in_chunks(st, [])
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        transform_in_chunks(ScatteringFeatures(), X)
