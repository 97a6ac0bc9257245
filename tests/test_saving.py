"""Every fitted torch estimator saves and loads, at every ``verbose`` level.

Round trips through ``pickle``, ``joblib`` (with and without compression),
``copy.deepcopy`` and a fresh Python process give identical ``transform``
output; no tensor is pickled outside a CPU-mapped blob (so a model trained on
a GPU loads on a CPU-only host); a fit ended by an interrupt or an exception
leaves a saveable estimator; a warm-started fit after a round trip continues
exactly as without it.
"""

import copy
import functools
import io
import pickle
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from skorch.callbacks import Callback

from sklearn_biodiff.engine import TorchEngine
from sklearn_biodiff.feature_extraction import (
    DACLEmbedder,
    DenoisingAEEmbedder,
    DiffAEEmbedder,
    ScatteringFeatures,
    VAELatent,
)
from sklearn_biodiff.nets._training import EpochProgress
from sklearn_biodiff.noise import AddNoise

RNG = np.random.RandomState(0)
X_VEC = RNG.randn(48, 12).astype(np.float32)
Y_VEC = np.repeat([0, 1], 24)
X_SIG = [np.sin(np.linspace(0, 3 * k, 200 + 20 * k)) + 0.1 * RNG.randn(200 + 20 * k)
         for k in range(1, 9)]
Y_SIG = np.tile(["N", "A"], 4)

_DIFFAE = {"snippet_seconds": 0.5, "fs": 100.0, "model_fs": 100.0, "embedding_dim": 4,
           "encoder_layers": 1, "encoder_width": 4, "encoder_stride": 2,
           "unet_channels": (4, 8), "unet_stem_stride": 1, "n_timesteps": 20,
           "max_epochs": 2, "batch_size": 4, "random_state": 0}

@functools.cache
def _tiny_checkpoint() -> str:
    """A tiny DiffAE checkpoint, saved once per test session, to fine-tune from."""
    folder = Path(tempfile.mkdtemp(prefix="biodiff-tiny-ckpt-"))
    return str(DiffAEEmbedder(**_DIFFAE).fit(X_SIG).save_pretrained(folder / "tiny"))


def _fine_tuned_by_default(**kw):
    """The recommended label-aware fine-tuning: a checkpoint, labels, "auto" settings."""
    arch = {k: v for k, v in _DIFFAE.items() if k != "max_epochs"}
    return DiffAEEmbedder(**arch, pretrained=_tiny_checkpoint(), **kw)


#: name -> (factory(**extra), X, y)
CASES = {
    "VAELatent": (lambda **kw: VAELatent(latent_dim=2, hidden_dims=(8,), max_epochs=2,
                                         batch_size=16, random_state=0, **kw), X_VEC, None),
    "VAELatent-valid": (lambda **kw: VAELatent(latent_dim=2, hidden_dims=(8,), max_epochs=3,
                                               batch_size=16, validation_fraction=0.25,
                                               early_stopping_patience=1, random_state=0,
                                               **kw), X_VEC, None),
    "DACLEmbedder": (lambda **kw: DACLEmbedder(embedding_dim=2, widths=(8, 4), time_dim=4,
                                               max_epochs=2, batch_size=16, random_state=0,
                                               **kw), X_VEC, Y_VEC),
    "DenoisingAEEmbedder": (lambda **kw: DenoisingAEEmbedder(
        embedding_dim=2, widths=(8, 4), time_dim=4, decoder_hidden=(8,), max_epochs=2,
        batch_size=16, random_state=0, **kw), X_VEC, None),
    "DiffAE-cosine": (lambda **kw: DiffAEEmbedder(**_DIFFAE, **kw), X_SIG, None),
    "DiffAE-cosine-ema": (lambda **kw: DiffAEEmbedder(**_DIFFAE, ema_decay=0.9, **kw),
                          X_SIG, None),
    "DiffAE-constant-ema-steps": (lambda **kw: DiffAEEmbedder(
        **_DIFFAE, lr_schedule="constant", ema_decay=0.9, max_steps=3, **kw), X_SIG, None),
    # encoder noise drawn in the training step from a generator saved with the model
    "DiffAE-device-noise": (lambda **kw: DiffAEEmbedder(
        **_DIFFAE, encoder_noise=AddNoise("mixture", snr_db=(0, 12), powerline_hz=20.0),
        **{"engine": TorchEngine(noise_device="device"), **kw}), X_SIG, None),
    # transform returns z and the encoder frames' mean and std
    "DiffAE-stats-readout": (lambda **kw: DiffAEEmbedder(
        **_DIFFAE, readout="attention+stats", **kw), X_SIG, None),
    # ... and the same statistics of every encoder block (DEFAULT_READOUT)
    "DiffAE-blocks-readout": (lambda **kw: DiffAEEmbedder(
        **_DIFFAE, readout="attention+stats+blocks", **kw), X_SIG, None),
    # label-aware training: the net keeps the supervised weights and its view maker
    "DiffAE-supervised": (lambda **kw: DiffAEEmbedder(**_DIFFAE, **kw), X_SIG, Y_SIG),
    "DiffAE-supervised-denoised-views": (lambda **kw: DiffAEEmbedder(
        **_DIFFAE, supervised_view="denoised", view_timesteps=(2, 10), classifier_weight=0.5,
        **kw), X_SIG, Y_SIG),
    # DiffAEEmbedder(pretrained=...).fit(X, y): the fine-tuning recipe of "auto"
    "DiffAE-fine-tuned-by-default": (_fine_tuned_by_default, X_SIG, Y_SIG),
}


def _fit(name, **extra):
    factory, X, y = CASES[name]
    return factory(**extra).fit(X, y), X


class _TensorCounter(pickle.Pickler):
    """Counts tensors, storages and modules pickled in the outer stream.

    skorch pickles ``module_``, ``criterion_`` and ``optimizer_`` into a nested
    blob that it loads with a ``map_location``; the package's own blobs are CPU
    ``torch.save`` bytes. Neither shows up here, so every hit is a tensor that a
    CPU-only host would try to rebuild on the device it was saved from.
    """

    def __init__(self, file):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.hits = []

    def reducer_override(self, obj):
        if isinstance(obj, torch.Tensor | torch.nn.Module | torch.UntypedStorage
                      | torch.Generator):
            self.hits.append(type(obj).__name__)
        return NotImplemented


def _outer_tensors(obj) -> list[str]:
    pickler = _TensorCounter(io.BytesIO())
    pickler.dump(obj)
    return pickler.hits


@pytest.mark.parametrize("verbose", [0, 1, 2])
@pytest.mark.parametrize("name", list(CASES))
def test_round_trips_give_identical_transform(name, verbose, tmp_path):
    est, X = _fit(name, verbose=verbose)
    expected = est.transform(X)
    copies = {
        "pickle": pickle.loads(pickle.dumps(est)),
        "deepcopy": copy.deepcopy(est),
    }
    for compress in (0, 3):
        path = tmp_path / f"m{compress}.joblib"
        joblib.dump(est, path, compress=compress)
        copies[f"joblib-{compress}"] = joblib.load(path)
    for how, again in copies.items():
        np.testing.assert_array_equal(again.transform(X), expected, err_msg=how)
    # the original is untouched and still saveable after the copies
    np.testing.assert_array_equal(est.transform(X), expected)


@pytest.mark.parametrize("name", list(CASES))
def test_no_tensor_is_pickled_outside_a_cpu_mapped_blob(name):
    est, _ = _fit(name, verbose=1)
    assert _outer_tensors(est) == []
    # after a warm-started second fit as well (the LR scheduler is rebuilt then)
    est.set_params(warm_start=True).fit(*CASES[name][1:])
    assert _outer_tensors(est) == []


def test_scattering_features_pickle_holds_no_tensor():
    est = ScatteringFeatures(J=2, Q=1).fit(X_SIG)
    assert _outer_tensors(est) == []
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(est)).transform(X_SIG),
                                  est.transform(X_SIG))


def test_progress_bar_is_released_after_fit():
    est, _ = _fit("VAELatent", verbose=1)
    bars = [cb for _, cb in est.net_.callbacks_ if isinstance(cb, EpochProgress)]
    assert len(bars) == 1 and bars[0].bar_ is None
    # an open bar (fit killed by an exception) is dropped from the pickle
    bars[0].on_train_begin(est.net_)
    assert bars[0].bar_ is not None
    assert pickle.loads(pickle.dumps(bars[0])).bar_ is None
    bars[0].close()


def test_a_fresh_process_loads_every_estimator(tmp_path):
    expected = {}
    for i, name in enumerate(CASES):
        for verbose in (0, 1, 2):
            est, X = _fit(name, verbose=verbose)
            key = f"{i}-{verbose}"
            joblib.dump((est, X), tmp_path / f"{key}.joblib")
            expected[key] = est.transform(X)
    script = textwrap.dedent(f"""
        import pathlib, joblib, numpy as np
        folder = pathlib.Path({str(tmp_path)!r})
        for path in sorted(folder.glob("*.joblib")):
            est, X = joblib.load(path)
            np.save(folder / (path.stem + ".npy"), est.transform(X))
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=300)
    for key, value in expected.items():
        np.testing.assert_array_equal(np.load(tmp_path / f"{key}.npy"), value, err_msg=key)


@pytest.mark.parametrize("name", ["VAELatent", "DACLEmbedder", "DenoisingAEEmbedder",
                                  "DiffAE-cosine-ema", "DiffAE-constant-ema-steps",
                                  "DiffAE-device-noise"])
def test_warm_start_after_a_round_trip_continues_exactly(name):
    est, X = _fit(name, warm_start=True)
    y = CASES[name][2]
    again = pickle.loads(pickle.dumps(est))
    est.fit(X, y)
    again.fit(X, y)
    np.testing.assert_array_equal(again.transform(X), est.transform(X))
    assert [r.get("train_loss") for r in again.history_] == [r.get("train_loss")
                                                          for r in est.history_]


class _InterruptAt(Callback):
    """Raises ``exc`` at the given training batch (counted across epochs)."""

    def __init__(self, exc, at_batch=2):
        self.exc = exc
        self.at_batch = at_batch

    def on_batch_end(self, net, training=None, **kwargs):
        if training:
            self.seen_ = getattr(self, "seen_", 0) + 1
            if self.seen_ >= self.at_batch:
                raise self.exc


@pytest.mark.parametrize("name", ["VAELatent", "DiffAE-cosine-ema"])
def test_keyboard_interrupt_leaves_a_fitted_saveable_estimator(name):
    est, X = _fit(name, verbose=1, engine=TorchEngine(
        callbacks=[("stop", _InterruptAt(KeyboardInterrupt()))]))
    # skorch ends training at the interrupt; the estimator is fitted with what it learned
    assert len(est.history_) == 1
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.transform(X), est.transform(X))
    assert _outer_tensors(est) == []


@pytest.mark.parametrize("name", ["VAELatent", "DiffAE-cosine"])
def test_exception_mid_fit_leaves_an_unfitted_saveable_estimator(name):
    factory, X, y = CASES[name]
    stop = _InterruptAt(RuntimeError("disk full"))
    est = factory(verbose=1, engine=TorchEngine(callbacks=[stop]))
    with pytest.raises(RuntimeError, match="disk full"):
        est.fit(X, y)
    assert not hasattr(est, "net_")
    with pytest.raises(NotFittedError):
        est.transform(X)
    pickle.loads(pickle.dumps(est))  # nothing half-built or unpicklable left behind


def test_user_callbacks_are_not_mutated_and_clone():
    from sklearn.base import clone

    cb = _InterruptAt(KeyboardInterrupt(), at_batch=10_000)
    est = VAELatent(latent_dim=2, hidden_dims=(8,), max_epochs=2, batch_size=16,
                    random_state=0, engine=TorchEngine(callbacks=[cb])).fit(X_VEC)
    assert not hasattr(cb, "seen_")  # the net trained with its own copy
    used = [c for _, c in est.net_.callbacks_ if isinstance(c, _InterruptAt)]
    assert used and used[0].seen_ == 6  # 2 epochs x 3 batches
    assert clone(est).engine.callbacks[0] is not cb


class _PickledByAnOlderVersion:
    """Unpickles as its estimator class, without the parameters named in ``drop``."""

    def __init__(self, est, drop):
        self.est, self.drop = est, drop

    def __reduce__(self):
        state = dict(self.est.__getstate__())  # may be the estimator's own __dict__
        for name in self.drop:
            del state[name]
        return (_new_instance, (type(self.est),), state)


def _new_instance(cls):
    return cls.__new__(cls)


@pytest.mark.parametrize("make, drop", [
    # AddNoise gained `leads`, DiffAEEmbedder `on_divergence`, `readout`, `engine`
    # after models were saved
    (lambda: AddNoise("gaussian", snr_db=6.0, random_state=0).fit(X_VEC),
     ["leads"]),
    (lambda: AddNoise("gaussian", snr_db=6.0, random_state=0), ["leads"]),
    (lambda: _fit("DiffAE-cosine")[0], ["on_divergence", "readout", "engine"]),
])
def test_a_model_saved_before_a_parameter_existed_loads_with_its_default(make, drop):
    est = make()
    assert all(name in vars(est) for name in drop)
    old = pickle.loads(pickle.dumps(_PickledByAnOlderVersion(est, drop)))
    assert type(old) is type(est)
    defaults = type(est)().get_params()
    for name in drop:
        assert getattr(old, name) == defaults[name]
    assert old.get_params() == est.get_params()  # the defaults are what est had too
    if hasattr(est, "n_leads_in_") or hasattr(est, "module_"):  # fitted: same output
        X = X_SIG if isinstance(est, DiffAEEmbedder) else X_VEC
        np.testing.assert_array_equal(old.transform(X), est.transform(X))
    clone(old)  # needs every parameter
    old.set_params(random_state=3)


class _PickledWithFlatEngineOptions:
    """Unpickles as its estimator class from the state the release before ``engine``
    wrote: the engine's options as flat attributes (``precision``, ...)."""

    def __init__(self, est, flat):
        self.est, self.flat = est, flat

    def __reduce__(self):
        state = dict(self.est.__getstate__())
        del state["engine"]
        return (_new_instance, (type(self.est),), {**state, **self.flat})


_FLAT_DEFAULTS = {"precision": "32", "compile": False, "pin_memory": False,
                  "noise_device": "auto", "checkpoint_dir": None, "callbacks": None}


@pytest.mark.parametrize("name, flat, engine", [
    # what DiffAEEmbedder stored: all six options; set ones fold into a TorchEngine
    ("DiffAE-cosine", {**_FLAT_DEFAULTS, "precision": "bf16", "pin_memory": True},
     TorchEngine(precision="bf16", pin_memory=True)),
    ("DiffAE-device-noise", {**_FLAT_DEFAULTS, "noise_device": "device"},
     TorchEngine(noise_device="device")),
    # all at their defaults: engine=None, as a new estimator has
    ("DiffAE-cosine", _FLAT_DEFAULTS, None),
    # the estimators on vectors stored checkpoint_dir and callbacks only
    ("VAELatent", {"checkpoint_dir": "ckpt", "callbacks": None},
     TorchEngine(checkpoint_dir="ckpt")),
    ("DACLEmbedder", {"checkpoint_dir": None, "callbacks": None}, None),
])
def test_a_model_saved_with_flat_engine_options_loads_with_an_engine(name, flat, engine,
                                                                     tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # checkpoint_dir="ckpt" writes there
    est, X = _fit(name, engine=engine)
    old = pickle.loads(pickle.dumps(_PickledWithFlatEngineOptions(est, flat)))
    assert not set(flat) & set(vars(old))  # folded, not left beside the engine
    params = old.get_params()
    if engine is None:
        assert params["engine"] is None
    else:
        assert params["engine"].get_params() == engine.get_params()
    # the other parameters are the saved ones (encoder_noise: an unpickled copy)
    assert {k: repr(v) for k, v in params.items() if not k.startswith("engine")} == {
        k: repr(v) for k, v in est.get_params().items() if not k.startswith("engine")}
    np.testing.assert_array_equal(old.transform(X), est.transform(X))
    assert clone(old).set_params(engine__precision="32").engine.precision == "32"
