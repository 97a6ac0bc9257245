"""Fail loudly, never silently: hostile or careless input (issue 22).

One test per finding: diverged training, lost sampling rates, invalid layer
sizes, loader integrity, archive caps and cache races, search and noise edges.
The archive, race and divergence tests together run in well under a minute.
"""

import hashlib
import multiprocessing
import os
import pickle
import sys
import tarfile
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
import optuna
import pytest
from joblib.memory import CacheWarning
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, cross_val_score, train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from test_datasets import _write_fake_training
from test_wfdb import _write as _write_wfdb

from sklearn_biodiff._validation import SignalArray
from sklearn_biodiff.datasets import load_physionet2017, load_wfdb_database
from sklearn_biodiff.datasets._archive import unpack_archive_once
from sklearn_biodiff.exceptions import TrainingDivergedError, TrainingDivergedWarning
from sklearn_biodiff.feature_extraction import (
    DACLEmbedder,
    DenoisingAEEmbedder,
    DiffAEEmbedder,
    ScatteringFeatures,
    VAELatent,
)
from sklearn_biodiff.model_selection import DACLSearchSpace, make_grouped_cv, optuna_search
from sklearn_biodiff.noise import AddNoise, robustness_curve
from sklearn_biodiff.pipeline import make_dacl_pipeline
from sklearn_biodiff.preprocessing import FixedLength, Resample, StandardizeSignal

TINY_VIEW = {"embedding_dim": 3, "widths": (8,), "time_dim": 4, "max_epochs": 2,
             "random_state": 0}
TINY_DIFFAE = {"snippet_seconds": 1.0, "embedding_dim": 4, "encoder_layers": 1,
               "encoder_width": 8, "unet_channels": (8, 16), "n_timesteps": 50,
               "random_state": 0}


def _vectors(n=40, seed=0):
    rng = np.random.RandomState(seed)
    y = np.r_[np.zeros(n // 2), np.ones(n - n // 2)].astype(int)
    return (rng.randn(n, 6) + 1.5 * y[:, None]).astype(np.float32), y


def _ragged(n=6):
    return [np.sin(np.linspace(0, 30 * k, 600 + 100 * k)) for k in range(1, n + 1)]


# ------------------------------------------------------- 1. diverged training
@pytest.mark.parametrize("est", [
    VAELatent(latent_dim=3, hidden_dims=(8,), max_epochs=2, validation_fraction=None,
              random_state=0),
    DACLEmbedder(**TINY_VIEW),
    DenoisingAEEmbedder(**TINY_VIEW),
], ids=lambda e: type(e).__name__)
def test_diverged_training_on_huge_input_raises_named_error(est):
    X, y = _vectors()
    with pytest.raises(TrainingDivergedError,
                       match=rf"{type(est).__name__} training diverged: the train loss is "
                             r"(nan|inf) at epoch 1 of 2 \(lr=.*StandardScaler.*lower lr"):
        clone(est).fit(X * 1e20, y)
    assert issubclass(TrainingDivergedError, FloatingPointError)


def test_diverged_training_on_huge_lr_raises():
    X, _ = _vectors()
    with pytest.raises(TrainingDivergedError, match=r"VAELatent.*lr=1000000\.0"):
        VAELatent(latent_dim=3, hidden_dims=(8,), max_epochs=2, validation_fraction=None,
                  lr=1e6, random_state=0).fit(X)


def test_diffae_non_finite_embedding_raises():
    # lr=100 without clipping: depending on the threads, a NaN loss, NaN weights
    # or finite weights whose embeddings overflow; each raises
    with pytest.raises(TrainingDivergedError, match="DiffAEEmbedder training diverged"):
        DiffAEEmbedder(**TINY_DIFFAE, lr=100, grad_clip=None, max_epochs=3).fit(_ragged())


def test_optuna_search_records_diverged_trial_as_failed_and_goes_on():
    X, y = _vectors()
    pipe = make_pipeline(StandardScaler(), DenoisingAEEmbedder(**TINY_VIEW),
                         LogisticRegression())

    def space(trial):
        return {"denoisingaeembedder__lr": 1e6 if trial.number == 0 else 1e-3}

    res = optuna_search(pipe, X, y, space, groups=np.arange(len(y)), cv=make_grouped_cv(2),
                        n_trials=2, pruner=None, random_state=0)
    first, second = res.study.trials
    assert first.state == optuna.trial.TrialState.FAIL
    assert first.user_attrs["failed_reason"].startswith(
        "fold 0: TrainingDivergedError: DenoisingAEEmbedder training diverged")
    assert second.state == optuna.trial.TrialState.COMPLETE
    assert res.best_params == {"denoisingaeembedder__lr": 1e-3}


def test_on_divergence_warn_keeps_the_diverged_model():
    X, _ = _vectors()
    est = VAELatent(latent_dim=3, hidden_dims=(8,), max_epochs=2, validation_fraction=None,
                    lr=1e6, random_state=0, on_divergence="warn")
    with pytest.warns(TrainingDivergedWarning, match=r"VAELatent training diverged.*"
                                                     r"on_divergence='warn' the fitted"):
        est.fit(X)
    assert not np.isfinite(est.transform(X)).all()  # asked for: kept, not finite
    with pytest.raises(InvalidParameterError, match="'on_divergence' parameter"):
        clone(est).set_params(on_divergence="ignore").fit(X)


def test_diverged_warm_start_leaves_the_estimator_unfitted():
    # the warm-started fit trains the fitted net in place: after the error,
    # transform must not return the diverged net's NaN embeddings
    X, _ = _vectors()
    est = VAELatent(latent_dim=3, hidden_dims=(8,), max_epochs=1, validation_fraction=None,
                    warm_start=True, random_state=0).fit(X)
    with pytest.raises(TrainingDivergedError, match=r"history_ holds the losses"):
        est.set_params(lr=1e6).fit(X * 1e20)
    with pytest.raises(NotFittedError):
        est.transform(X)
    assert np.isfinite(est.set_params(lr=1e-3).fit(X).transform(X)).all()  # a new net


def test_optuna_search_raises_when_every_trial_diverged():
    X, y = _vectors()
    pipe = make_pipeline(DenoisingAEEmbedder(**TINY_VIEW, lr=1e6), LogisticRegression())
    with pytest.raises(ValueError, match=r"all 2 trial\(s\) failed.*Reasons: 2 x fold 0: "
                                         r"TrainingDivergedError: DenoisingAEEmbedder"):
        optuna_search(pipe, X * 1e20, y, lambda t: {}, groups=np.arange(len(y)),
                      cv=make_grouped_cv(2), n_trials=2, pruner=None, random_state=0)


# ------------------------------------------------------- 2. sampling rate
def test_equal_length_resample_keeps_its_rate_in_a_pipeline():
    X = np.random.RandomState(0).randn(3, 3000).astype(np.float32)  # plain array
    pipe = Pipeline([("rs", Resample(300, 250)), ("st", ScatteringFeatures(fs=300))])
    with pytest.raises(ValueError, match="sampled at 250.* expects fs=300"):
        pipe.fit(X)
    Xt = Resample(300, 250).fit_transform(X)
    assert isinstance(Xt, SignalArray) and Xt.fs == 250 and Xt.shape == (3, 2500)
    # the rate survives CV-style indexing and pickling; arithmetic gives plain arrays
    assert Xt[[0, 2]].fs == 250 and Xt[1:].fs == 250
    assert pickle.loads(pickle.dumps(Xt)).fs == 250
    assert type(Xt * 2) is np.ndarray and type(Xt.mean()) is np.float32


def test_fixed_length_and_add_noise_keep_the_rate():
    ragged = Resample(300, 250).fit_transform([np.ones(900), np.ones(1200)])
    assert isinstance(ragged, list) and ragged.fs == 250
    fixed = FixedLength(length=500).fit_transform(ragged)
    assert fixed.fs == 250
    with pytest.raises(ValueError, match="sampled at 250"):
        ScatteringFeatures(fs=300).fit(fixed)
    with pytest.raises(ValueError, match="sampled at 250"):
        AddNoise(fs=300).fit_transform(fixed)
    noisy = AddNoise(fs=250, random_state=0).fit_transform(
        Resample(300, 250).fit_transform(np.random.RandomState(0).randn(2, 900)))
    assert noisy.fs == 250


def test_cv_splits_and_picked_records_of_a_signal_list_keep_the_rate(sample):
    # scikit-learn's splitters index a list record by record into a plain list
    X, y = sample.signals[:12], np.tile([0, 1], 6)
    pipe = make_pipeline(ScatteringFeatures(fs=250, J=4, Q=2), LogisticRegression())
    with pytest.raises(ValueError, match=r"sampled at 300 Hz but ScatteringFeatures "
                                         r"expects fs=250"):
        cross_val_score(pipe, X, y, cv=KFold(2), error_score="raise")
    X_tr, _ = train_test_split(X, random_state=0)
    picked = [sample.signals[i] for i in (0, 3, 5)]  # as the README builds X
    for records in (X_tr, picked):
        assert type(records) is list and isinstance(records[0], SignalArray)
        with pytest.raises(ValueError, match="sampled at 300"):
            ScatteringFeatures(fs=250).fit(records)
        assert StandardizeSignal().fit_transform(records).fs == 300  # passed on
    assert type(picked[0] * 2) is np.ndarray and type(list(sample.signals)[0]) is np.ndarray
    mixed = picked + [Resample(300, 250).fit_transform(sample.signals[:1])[0]]
    with pytest.raises(ValueError, match=r"records are sampled at different rates "
                                         r"\(\[250, 300\] Hz\)"):
        Resample(300, 250).fit_transform(mixed)
    assert pickle.loads(pickle.dumps(picked))[0].fs == 300


def test_wfdb_windows_carry_their_rate(tmp_path):
    _write_wfdb(tmp_path, "100", 250, 5000, ["MLII"])
    data = load_wfdb_database(tmp_path, annotator=None, window_s=4)
    assert isinstance(data.signals, SignalArray) and data.signals.fs == data.fs == 250
    with pytest.raises(ValueError, match="sampled at 250.0 Hz but ScatteringFeatures"):
        ScatteringFeatures(fs=300).fit(data.signals)
    X, _ = load_wfdb_database(tmp_path, annotator=None, window_s=4, leads="MLII", fs=125,
                              return_X_y=True)
    assert X.fs == 125 and X.shape == (5, 500)


def test_plain_arrays_from_users_carry_no_rate():
    X = np.random.RandomState(0).randn(2, 900).astype(np.float32)
    out = FixedLength(length=600).fit_transform(X)
    assert type(out) is np.ndarray  # no rate invented
    ScatteringFeatures(fs=250, J=4, Q=2).fit(out)  # not checked, as before


# ------------------------------------------------------- 3. layer sizes
@pytest.mark.parametrize("est, param, value, kind", [
    (VAELatent(), "hidden_dims", (-4,), "a tuple"),
    (VAELatent(), "hidden_dims", (0,), "a tuple"),
    (VAELatent(), "hidden_dims", (8.5,), "a tuple"),
    (DACLEmbedder(), "widths", (), "a non-empty tuple"),
    (DenoisingAEEmbedder(), "widths", (0,), "a non-empty tuple"),
    (DenoisingAEEmbedder(), "decoder_hidden", (16, -1), "a tuple"),
    (DiffAEEmbedder(), "unet_channels", (), "a non-empty tuple"),
    (DiffAEEmbedder(), "unet_channels", (0, 8), "a non-empty tuple"),
])
def test_layer_sizes_are_validated(est, param, value, kind):
    X, y = _vectors()
    with pytest.raises(InvalidParameterError,
                       match=rf"'{param}' parameter of {type(est).__name__} must be {kind} "
                             r"or list of positive integers \(layer widths\)"):
        clone(est).set_params(**{param: value}).fit(X, y)


def test_empty_hidden_dims_still_allowed():
    X, _ = _vectors()
    assert VAELatent(latent_dim=2, hidden_dims=(), max_epochs=1,
                     random_state=0).fit_transform(X).shape == (40, 2)


# ------------------------------------------------------- 4. loader integrity
@pytest.fixture
def root(tmp_path):
    root = tmp_path / "training2017"
    _write_fake_training(root)
    return root


def test_empty_records_file(root):
    (root / "RECORDS").write_text("\n")
    with pytest.raises(ValueError, match="RECORDS lists no record"):
        load_physionet2017(root)


def test_duplicated_records_entry(root):
    (root / "RECORDS").write_text("A00001\nA00002\nA00001\n")
    with pytest.raises(ValueError, match=r"more than once, first: \['A00001'\].*test fold"):
        load_physionet2017(root)


@pytest.mark.parametrize("second, what", [("N", "a duplicated label line"),
                                          ("A", "conflicting labels")])
def test_duplicated_or_conflicting_label_lines(root, second, what):
    ref = root / "REFERENCE-v3.csv"
    ref.write_text(ref.read_text() + f"A00001,{second}\n")
    with pytest.raises(ValueError, match=rf"REFERENCE-v3.csv:5: {what} for A00001: "
                                         rf"'{second}' here, 'N' at line 1"):
        load_physionet2017(root)


def test_header_naming_another_records_file(root):
    hea = root / "A00002.hea"
    hea.write_text(hea.read_text().replace("A00002.mat", "A00001.mat"))
    with pytest.raises(ValueError, match="A00002.*names the signal file 'A00001.mat'"):
        load_physionet2017(root)


@pytest.fixture
def wfdb_db(tmp_path):
    root = tmp_path / "db"
    root.mkdir()
    for k, name in enumerate(("100", "101")):
        _write_wfdb(root, name, 100, 1000, ["I"], seed=k)
    (root / "RECORDS").write_text("100\n101\n")
    return root


def test_wfdb_empty_or_repeated_records(wfdb_db):
    (wfdb_db / "RECORDS").write_text("\n")
    with pytest.raises(ValueError, match=r"RECORDS lists no record; expected one record "
                                         r"name per line \(remove the empty file"):
        load_wfdb_database(wfdb_db, annotator=None)
    (wfdb_db / "RECORDS").write_text("100\n101\n100\n")
    with pytest.raises(ValueError, match=r"RECORDS lists 1 record\(s\) more than once, "
                                         r"first: \['100'\].*test fold"):
        load_wfdb_database(wfdb_db, annotator=None)
    with pytest.raises(ValueError, match=r"^records lists 1 record\(s\) more than once"):
        load_wfdb_database(wfdb_db, annotator=None, records=["101", "100", "101"])


@pytest.mark.parametrize("how", ["header", "symlink"])
def test_wfdb_header_naming_another_records_file(wfdb_db, how):
    if how == "header":
        hea = wfdb_db / "101.hea"
        hea.write_text(hea.read_text().replace("101.dat", "100.dat"))
        named = "100.dat"
    else:
        (wfdb_db / "101.dat").unlink()
        (wfdb_db / "101.dat").symlink_to("100.dat")
        named = "101.dat"
    with pytest.raises(ValueError, match=rf"record 101: its header 101.hea names the signal "
                                         rf"file {named}, which is record 100's file "
                                         r"\(100.dat\).*twice.*on_error='skip'"):
        load_wfdb_database(wfdb_db, annotator=None)
    with pytest.warns(UserWarning, match="1 record"):
        data = load_wfdb_database(wfdb_db, annotator=None, on_error="skip")
    assert set(data.record) == {"100"} and list(data.skipped) == ["101"]


# ------------------------------------------------------- 5. archives and cache races
def _tar(root, path, mode="w"):
    with tarfile.open(path, mode) as tf:
        tf.add(root, arcname="training2017")
    return path


def test_zip_bomb_is_refused_by_default(tmp_path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", bytes(8 << 20))  # 8 MiB of zeros in ~8 KiB
    home = tmp_path / "home"
    with pytest.raises(ValueError, match="decompression bomb.*max_ratio"):
        unpack_archive_once(bomb, "x", data_home=home)
    assert list((home / "x").iterdir()) == []  # nothing left behind
    with pytest.raises(ValueError, match="more than 1000 bytes.*max_bytes"):
        unpack_archive_once(bomb, "x", data_home=home, max_bytes=1000, max_ratio=1e9)


def test_member_count_is_capped(root, tmp_path):
    archive = _tar(root, tmp_path / "c.tar")  # 1 folder + 11 files
    with pytest.raises(ValueError, match="more than max_members=5 members"):
        unpack_archive_once(archive, "x", data_home=tmp_path / "home", max_members=5)


def test_tar_without_extraction_filters_is_refused(root, tmp_path, monkeypatch):
    # Python 3.10.0-3.10.11 have no tarfile filters: never extract unfiltered
    archive = _tar(root, tmp_path / "c.tar")
    monkeypatch.delattr(tarfile, "data_filter")
    with pytest.raises(RuntimeError, match=r"Python >= 3\.10\.12"):
        unpack_archive_once(archive, "x", data_home=tmp_path / "home")


def test_stale_temporary_folders_are_removed(root, tmp_path):
    archive = _tar(root, tmp_path / "c.tar")
    parent = tmp_path / "home" / "x"
    old, fresh = parent / ".0123456789abcdef-killed", parent / ".0123456789abcdef-running"
    for p in (old, fresh):
        (p / "training2017").mkdir(parents=True)
    day_ago = time.time() - 25 * 3600
    os.utime(old, (day_ago, day_ago))
    unpack_archive_once(archive, "x", data_home=tmp_path / "home")
    assert not old.exists() and fresh.exists()


def test_stale_temporary_folder_is_removed_when_the_cache_is_complete(root, tmp_path):
    # a killed unpack, then a run that completed the cache: later loads unpack
    # nothing, and must still remove the leftover once it is a day old
    archive = _tar(root, tmp_path / "c.tar")
    home = tmp_path / "home"
    target = unpack_archive_once(archive, "x", data_home=home)
    killed = target.parent / f".{target.name}-killed"
    (killed / "training2017").mkdir(parents=True)
    day_ago = time.time() - 25 * 3600
    os.utime(killed, (day_ago, day_ago))
    assert unpack_archive_once(archive, "x", data_home=home) == target
    assert not killed.exists() and (target / ".complete").is_file()


def test_loaders_take_the_extraction_caps(root, wfdb_db, tmp_path):
    home = tmp_path / "home"
    cinc = _tar(root, tmp_path / "c.tar")  # 1 folder + 11 files
    with pytest.raises(ValueError, match=r"c.tar: it has more than max_members=5 members; "
                                         "if the archive is trusted, raise max_members"):
        load_physionet2017(cinc, data_home=home, max_members=5)
    assert len(load_physionet2017(cinc, data_home=home).signals) == 4  # defaults
    with tarfile.open(tmp_path / "w.tar", "w") as tf:
        tf.add(wfdb_db, arcname="db")
    with pytest.raises(ValueError, match=r"expands to more than 1000 bytes \(max_bytes"):
        load_wfdb_database(tmp_path / "w.tar", annotator=None, data_home=home,
                           max_bytes=1000)
    with pytest.raises(ValueError, match="max_ratio must be a positive number, got 0"):
        load_wfdb_database(tmp_path / "w.tar", annotator=None, data_home=home, max_ratio=0)
    assert load_wfdb_database(tmp_path / "w.tar", annotator=None, data_home=home,
                              window_s=5).signals.shape == (4, 1, 500)


def _digest(data) -> str:
    h = hashlib.sha256()
    for s in data.signals:
        h.update(np.ascontiguousarray(s).tobytes())
    h.update("".join(data.target).encode() + "".join(data.record_ids).encode())
    return h.hexdigest()


def _load_in_child(archive, home, barrier, queue):
    try:
        barrier.wait(timeout=10)
        queue.put(_digest(load_physionet2017(archive, data_home=home)))
    except BaseException as exc:  # reported by the parent
        queue.put(f"{type(exc).__name__}: {exc}")


def test_processes_racing_on_a_stale_cache_all_load(root, tmp_path):
    archive = _tar(root, tmp_path / "c.tar")
    home = tmp_path / "home"
    target = unpack_archive_once(archive, "physionet2017", data_home=home)
    expected = _digest(load_physionet2017(root))
    ctx = multiprocessing.get_context("fork")
    n_proc, results = 12, []
    for _ in range(3):  # three rounds, each on a freshly staled cache (no marker)
        (target / ".complete").unlink()
        barrier, queue = ctx.Barrier(n_proc), ctx.Queue()
        procs = [ctx.Process(target=_load_in_child, args=(archive, home, barrier, queue))
                 for _ in range(n_proc)]
        for p in procs:
            p.start()
        results += [queue.get(timeout=30) for _ in procs]
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():  # pragma: no cover - never leave a process behind
                p.kill()
    assert results == [expected] * (3 * n_proc)  # every process, the same records
    assert [p.name for p in (home / "physionet2017").iterdir()] == [target.name]


# ------------------------------------------------------- 6. search and noise edges
@pytest.mark.parametrize("kwargs, match", [
    ({"pruner": "foo"}, "pruner must be 'median', None or an optuna.pruners.BasePruner"),
    ({"n_trials": -3}, "n_trials must be a positive integer or None"),
    ({"n_trials": 0}, "n_trials must be a positive integer or None"),
    ({"n_trials": 2.5}, "n_trials must be a positive integer or None"),
    ({"timeout": -1}, "timeout must be a positive number"),
])
def test_optuna_search_validates_pruner_and_budget(kwargs, match):
    X, y = _vectors()
    with pytest.raises(ValueError, match=match):
        optuna_search(LogisticRegression(), X, y, lambda t: {}, cv=2, **kwargs)


def test_optuna_search_warns_when_no_trial_can_be_valid():
    X, y = _vectors()
    pipe = make_pipeline(StandardScaler(), DACLEmbedder(**TINY_VIEW, n_timesteps=50),
                         LogisticRegression())
    space = DACLSearchSpace(prefix="daclembedder__", vae_prefix=None, t_low=51, t_high=60)
    with pytest.warns(UserWarning) as record:
        res = optuna_search(pipe, X, y, space, groups=np.arange(len(y)),
                            cv=make_grouped_cv(2), n_trials=2, random_state=0)
    assert res.best_params is None
    before, after = (str(w.message) for w in record)
    assert "exceeds n_timesteps=50" in before and "so no trial can be valid" in before
    assert "none of the 2 trial(s)" in after and "n_timesteps=50" in after


def test_a_failing_fold_fails_its_trial_not_the_study():
    X, y = _vectors()

    class FlakyLR(LogisticRegression):
        def fit(self, X, y):
            if self.C < 0.5 and len(X) < 30:
                raise RuntimeError("out of memory on this fold")
            return super().fit(X, y)

    res = optuna_search(FlakyLR(), X, y, lambda t: {"C": 0.1 if t.number == 0 else 1.0},
                        groups=np.arange(len(y)), cv=make_grouped_cv(2), n_trials=2,
                        pruner=None)
    first, second = res.study.trials
    assert first.state == optuna.trial.TrialState.FAIL
    assert first.user_attrs["failed_reason"] == (
        "fold 0: RuntimeError: out of memory on this fold")
    assert second.state == optuna.trial.TrialState.COMPLETE and res.best_params == {"C": 1.0}


def test_optuna_search_warns_before_trials_beyond_n_timesteps():
    X, y = _vectors()
    pipe = make_pipeline(DACLEmbedder(**TINY_VIEW, n_timesteps=50), LogisticRegression())
    space = DACLSearchSpace(prefix="daclembedder__", vae_prefix=None, t_low=1, t_high=60)
    with pytest.warns(UserWarning, match=r"DACLSearchSpace\(t_low=1, t_high=60\) exceeds "
                                         r"n_timesteps=50 .* t_max > 50 is pruned\. Pass "
                                         r"DACLSearchSpace\(t_high=50\)") as caught:
        res = optuna_search(pipe, X, y, space, groups=np.arange(len(y)),
                            cv=make_grouped_cv(2), n_trials=1, random_state=2)
    assert res.best_params["daclembedder__t_max"] <= 50  # the trial drew a valid range
    # the warning names the caller's line (mutmut's copy under mutants/ adds a frame)
    if "mutants" not in Path(sys.modules[optuna_search.__module__].__file__).parts:
        assert [w.filename for w in caught if "exceeds" in str(w.message)] == [__file__]


def test_robustness_curve_checks_snrs_before_scoring():
    X, y = _vectors()
    Xs = np.sin(np.linspace(0, 60, 3000))[None, :] * (1 + np.arange(len(y)))[:, None]
    est = make_pipeline(FixedLength(length=100), LogisticRegression()).fit(Xs, y)
    scored = []

    def scoring(estimator, X, y):
        scored.append(len(X))
        return 0.5

    with pytest.raises(ValueError, match=r"outside \[-200, 200\] dB"):
        robustness_curve(est, Xs, y, snrs_db=(12, 1e308), scoring=scoring)
    assert scored == []  # the bad SNR is found before any (possibly slow) scoring


@pytest.mark.parametrize("snr_db", [1e308, -800, 201, (0, 1e308), (-300, 0)])
def test_add_noise_rejects_absurd_snr(snr_db):
    x = np.sin(np.linspace(0, 60, 3000))[None, :]
    with pytest.raises(ValueError, match=r"outside \[-200, 200\] dB.*between -200 and 200"):
        AddNoise(snr_db=snr_db).fit_transform(x)
    for ok in (-200, 200):
        assert np.isfinite(AddNoise(snr_db=ok, random_state=0).fit_transform(x)).all()


# ------------------------------------------------------- 7. pipeline cache with verbose=1
@pytest.mark.parametrize("verbose", [0, 1])
def test_dacl_pipeline_cache_hit_with_verbose(synthetic, tmp_path, tiny_pipeline_params,
                                              verbose):
    # an output joblib cannot pickle (an open progress bar) is only a CacheWarning,
    # and the next fit silently trains again: make it an error here
    X, y = synthetic
    kw = {**tiny_pipeline_params, "memory": str(tmp_path), "random_state": 0,
          "verbose": verbose, "keep_features": False}
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        first = make_dacl_pipeline(**kw).fit(X, y)
        second = make_dacl_pipeline(**kw).fit(X, y)
    for step in ("vae", "dacl"):
        # loaded from the cache: the same epoch durations, not a second training
        assert second.named_steps[step].history_ == first.named_steps[step].history_
    # one cached output per transformer step (the final classifier is not cached);
    # scikit-learn names the cached function _fit_transform_one[_with_callbacks]
    cached = [p.parent.parent.name for p in Path(tmp_path).rglob("output.pkl")]
    assert len(cached) == len(first.steps) - 1
    assert all(name.startswith("_fit_transform_one") for name in cached)
