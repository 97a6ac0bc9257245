import pickle

import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator, TransformerMixin

from sklearn_biodiff.base import (
    TorchEstimatorMixin,
    limit_torch_threads,
    progress,
    resolve_device,
    seed_from_random_state,
    torch_seed_context,
)


class _Toy(TorchEstimatorMixin, TransformerMixin, BaseEstimator):
    def __init__(self, device="auto", random_state=None):
        self.device = device
        self.random_state = random_state

    def fit(self, X, y=None):
        seed = self._init_torch_state()
        with torch_seed_context(seed, self.device_):
            self.layer_ = torch.nn.Linear(3, 2).to(self.device_)
        self.scale_ = torch.ones(2, device=self.device_)
        return self

    def transform(self, X):
        with torch.no_grad():
            x = torch.as_tensor(np.asarray(X, np.float32), device=self.device_)
            return (self.layer_(x) * self.scale_).cpu().numpy()


def test_resolve_device():
    mps = torch.backends.mps.is_available()
    expected = "cuda" if torch.cuda.is_available() else "mps" if mps else "cpu"
    assert resolve_device("auto").type == expected  # CUDA, then MPS, then CPU
    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(ValueError, match="not a valid torch device"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")
    if not mps:
        with pytest.raises(ValueError, match="MPS is not available"):
            resolve_device("mps")


def test_seeding_is_reproducible_and_leaves_global_state_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = _Toy(random_state=0).fit(None)
    after = torch.rand(1)
    assert torch.equal(before, after)  # the global stream was not consumed
    b = _Toy(random_state=0).fit(None)
    assert torch.equal(a.layer_.weight, b.layer_.weight)
    c = _Toy(random_state=1).fit(None)
    assert not torch.equal(a.layer_.weight, c.layer_.weight)
    assert seed_from_random_state(5) == seed_from_random_state(5)
    rs = np.random.RandomState(0)
    assert seed_from_random_state(rs) != seed_from_random_state(rs)


def test_pickle_moves_state_to_cpu_and_gpu_pickles_load_on_cpu():
    est = _Toy(device="cpu", random_state=0).fit(None)
    X = np.ones((2, 3))
    state = est.__getstate__()
    assert state["device_"] == "cpu"
    # fitted torch state travels as one CPU torch.save blob, loaded with map_location
    assert "layer_" not in state and isinstance(state[est._TORCH_BLOB], bytes)
    # a model trained on a GPU stores device_="cuda"; on a CPU-only machine it
    # must come back on the CPU
    state["device_"] = "cuda:0"
    clone = _Toy.__new__(_Toy)
    clone.__setstate__(state)
    if not torch.cuda.is_available():
        assert clone.device_.type == "cpu"
    np.testing.assert_allclose(clone.transform(X), est.transform(X))
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(again.transform(X), est.transform(X))


def test_limit_threads_restores(monkeypatch):
    from sklearn_biodiff import base

    n = torch.get_num_threads()
    with limit_torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == n
    monkeypatch.setattr(base, "_other_runnable_tasks", lambda samples=3: 10**3)
    with limit_torch_threads(None):  # training: torch's setting, whatever the load
        assert torch.get_num_threads() == n
    with limit_torch_threads(None, adapt=True):  # inference: follows the load
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == n
    # on an otherwise idle machine, torch's setting (up to the usable cores)
    monkeypatch.setattr(base, "_other_runnable_tasks", lambda samples=3: 0)
    with limit_torch_threads(None, adapt=True):
        assert torch.get_num_threads() == min(n, base._usable_cores())


def test_progress_is_passthrough_when_quiet():
    it = [1, 2]
    assert progress(it, verbose=0) is it
    assert list(progress(it, verbose=1, desc="x")) == it
