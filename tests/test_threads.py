"""The default thread count (``n_threads=None``) leaves cores busy with other work alone."""

import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_limits

from sklearn_biodiff import base
from sklearn_biodiff.base import auto_thread_count, limit_torch_threads
from sklearn_biodiff.feature_extraction import DiffAEEmbedder


@pytest.fixture
def busy_cores():
    """One busy process per usable core, for the duration of the test."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
             for _ in range(base._usable_cores())]
    time.sleep(0.5)
    yield
    for p in procs:
        p.kill()
        p.wait()


@pytest.mark.skipif(not hasattr(__import__("os"), "sched_getaffinity"),
                    reason="the runnable-task count is read from Linux's /proc")
def test_the_default_uses_one_thread_when_every_core_is_busy(busy_cores):
    assert base._other_runnable_tasks() >= base._usable_cores() - 1
    before = torch.get_num_threads()
    with limit_torch_threads(None, adapt=True):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


@pytest.fixture
def machine(monkeypatch):
    """Set the machine's and this process's cores, the others' load and torch's
    setting; torch's setting is restored afterwards."""
    old = torch.get_num_threads()

    def set_machine(*, usable, total, others, torch_threads):
        monkeypatch.setattr(base, "_usable_cores", lambda: usable)
        monkeypatch.setattr(base, "_machine_cores", lambda: total)
        monkeypatch.setattr(base, "_other_runnable_tasks", lambda samples=3: others)
        torch.set_num_threads(torch_threads)

    yield set_machine
    torch.set_num_threads(old)


@pytest.mark.parametrize("usable, total, others, torch_threads, expected", [
    (8, 8, 3, 8, 5),    # the free cores
    (8, 8, 3, 2, 2),    # OMP_NUM_THREADS, set_num_threads: an upper bound
    (8, 8, 20, 8, 1),   # everything busy: one thread
    # a Slurm or Kubernetes job on 2 of 64 cores: others' load is on other cores
    (2, 64, 56, 2, 2),
])
def test_the_default_takes_the_free_cores_up_to_torchs_setting(
        machine, usable, total, others, torch_threads, expected):
    machine(usable=usable, total=total, others=others, torch_threads=torch_threads)
    assert auto_thread_count() == expected


def test_this_processs_own_threads_are_not_counted_as_others(monkeypatch):
    # regression (review): torch's workers still spinning right after an operation
    # were counted as other processes' tasks
    a = torch.randn(600, 600)
    _ = a @ a
    assert base._own_runnable_threads() >= 1  # this thread, at least
    monkeypatch.setattr(base, "_own_runnable_threads", lambda: 10**6)
    assert base._other_runnable_tasks(samples=1) == 0


def test_the_default_honours_threadpoolctl_limits(monkeypatch):
    monkeypatch.setattr(base, "_other_runnable_tasks", lambda samples=3: 0)
    with threadpool_limits(1):
        assert auto_thread_count() == 1


def test_an_explicit_count_is_used_as_given(monkeypatch):
    monkeypatch.setattr(base, "_other_runnable_tasks", lambda samples=3: 50)
    with limit_torch_threads(3):
        assert torch.get_num_threads() == 3


def test_runnable_tasks_are_read_without_error():
    assert base._other_runnable_tasks() >= 0 and base._usable_cores() >= 1


def test_an_estimator_transforms_alike_whatever_thread_count_is_picked(monkeypatch):
    rng = np.random.RandomState(0)
    X = [rng.randn(400) for _ in range(6)]
    emb = DiffAEEmbedder(snippet_seconds=0.5, fs=100.0, model_fs=100.0, embedding_dim=4,
                         encoder_layers=1, encoder_width=4, encoder_stride=2,
                         unet_channels=(4, 8), unet_stem_stride=1, n_timesteps=20,
                         max_epochs=1, batch_size=4, random_state=0).fit(X)
    picked = []
    for free in (0, 50):
        monkeypatch.setattr(base, "_other_runnable_tasks", lambda samples=3, f=free: f)
        picked.append(emb.transform(X))
    np.testing.assert_allclose(picked[0], picked[1], rtol=1e-5, atol=1e-6)


def test_a_seeded_fit_does_not_depend_on_the_machines_load(monkeypatch):
    # regression: with the thread count following the load, a warm-started fit after a
    # pickle round trip differed from the original's by 2e-7 (fresh-clone CI run)
    rng = np.random.RandomState(0)
    X = [rng.randn(400) for _ in range(6)]
    params = dict(snippet_seconds=0.5, fs=100.0, model_fs=100.0, embedding_dim=4,
                  encoder_layers=1, encoder_width=4, encoder_stride=2, unet_channels=(4, 8),
                  unet_stem_stride=1, n_timesteps=20, max_epochs=1, batch_size=4,
                  random_state=0)
    fitted = []
    for busy in (0, 50):
        monkeypatch.setattr(base, "_other_runnable_tasks", lambda samples=3, b=busy: b)
        fitted.append(DiffAEEmbedder(**params).fit(X))
    assert fitted[0].history_[-1]["train_loss"] == fitted[1].history_[-1]["train_loss"]
    for name, w in fitted[0].net_.module_.state_dict().items():
        assert torch.equal(w, fitted[1].net_.module_.state_dict()[name]), name
