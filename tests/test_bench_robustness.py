"""bench_robustness: `--merge` keeps other runs' rows (concurrent runs serialise) and its probe."""

import json
import threading
import time
from pathlib import Path

import numpy as np

from benchmarks import _common
from benchmarks import bench_robustness as bench

REPO = Path(__file__).resolve().parents[1]


def _rows(estimators, score):
    n = len(estimators)
    return {"estimator": list(estimators), "kind": ["gaussian"] * n,
            "snr_db": [24.0] * n, "score": [score] * n}


def test_merge_keeps_other_models_and_replaces_the_rerun_one():
    previous = {"rows": _rows(["a", "a", "b"], 0.5),
                "fit_seconds": {"a": 1.0, "b": 2.0}, "curve_seconds": 10.0}
    res, fit, curve = bench.merge_rows(previous, _rows(["b", "c"], 0.9),
                                       {"b": 3.0, "c": 4.0}, 5.0)
    assert list(res["estimator"]) == ["a", "a", "b", "c"]
    assert np.allclose(res["score"], [0.5, 0.5, 0.9, 0.9])  # b's old row is gone
    assert fit == {"a": 1.0, "b": 3.0, "c": 4.0}
    assert curve == {"earlier run": 10.0, "this run": 5.0}


def test_merge_without_previous_returns_this_run_unchanged():
    res = _rows(["a"], 0.7)
    assert bench.merge_rows({}, res, {"a": 1.0}, 2.0) == (res, {"a": 1.0}, 2.0)


def test_two_runs_merging_at_once_keep_both_rows(tmp_path, monkeypatch):
    """The read-merge-write of one run waits for the other's, so neither row is lost."""
    monkeypatch.setattr(_common, "RESULTS", tmp_path)
    path = tmp_path / "bench_x.json"
    path.write_text('{"models": []}')
    inside = threading.Event()

    def slow_merge(model):
        with _common.results_lock("bench_x") as p:
            inside.set()
            data = json.loads(p.read_text())
            time.sleep(0.3)  # the other run reads in this window without the lock
            p.write_text(json.dumps({"models": data["models"] + [model]}))

    first = threading.Thread(target=slow_merge, args=("first",))
    first.start()
    inside.wait(5)
    slow_merge("second")
    first.join()
    assert sorted(json.loads(path.read_text())["models"]) == ["first", "second"]


def test_merge_refuses_at_start_a_json_it_could_not_merge(tmp_path):
    """Checked before hours of scoring, not after: broken JSON, missing keys."""
    import pytest

    assert bench.mergeable(tmp_path / "none.json") == {}
    broken = tmp_path / "broken.json"
    broken.write_text('{"rows": ')
    with pytest.raises(SystemExit, match="is not valid JSON"):
        bench.mergeable(broken)
    partial = tmp_path / "partial.json"
    partial.write_text('{"rows": {}}')
    with pytest.raises(SystemExit, match=r"lacks \['fit_seconds', 'curve_seconds'\]"):
        bench.mergeable(partial)


def test_the_cv_probe_scores_as_the_published_rows_without_future_warnings():
    """The pinned probe gives the probabilities of scikit-learn's old defaults."""
    import warnings

    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegressionCV

    for n_classes in (2, 3):  # the benchmark's task is binary
        X, y = make_classification(300, 20, n_informative=6, n_classes=n_classes,
                                   random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            old = LogisticRegressionCV(Cs=[0.01, 0.1, 1.0], cv=3, max_iter=3000).fit(X, y)
        with warnings.catch_warnings():
            warnings.simplefilter("error", FutureWarning)
            pinned = bench._cv_probe().fit(X, y)
        np.testing.assert_array_equal(pinned.predict_proba(X), old.predict_proba(X))


def test_a_saved_fitted_embedder_is_scored_frozen_with_the_readout(tmp_path):
    """``--fitted FILE``: the embedder as saved (its weights, not refitted), with the
    asked readout, alone and beside the ST features; anything else in the file is
    refused."""
    from joblib import Memory

    from sklearn_biodiff.feature_extraction import DiffAEEmbedder
    from sklearn_biodiff.utils import dump

    rng = np.random.default_rng(0)
    X = [rng.standard_normal(n).astype(np.float32) for n in rng.integers(900, 1500, 12)]
    y = np.array([0, 1] * 6)
    emb = DiffAEEmbedder(embedding_dim=8, encoder_width=16, encoder_layers=1,
                         unet_channels=(8, 16), max_epochs=1, snippet_seconds=1.0,
                         batch_size=4, random_state=0).fit(X)
    path = dump(emb, tmp_path / "tuned.state")
    builders = bench._fitted_builders(path, Memory(None, verbose=0), X, y,
                                      readout="attention+rhythm")
    assert set(builders) == {"fitted_rhythm:tuned", "st_and_fitted_rhythm:tuned"}
    model = builders["fitted_rhythm:tuned"]()
    frozen = model.steps[0][1].transformer
    assert frozen.readout == "attention+rhythm"
    want = emb.set_params(readout="attention+rhythm").transform(X)
    np.testing.assert_allclose(frozen.transform(X), want, atol=1e-6)  # not refitted
    assert model.predict_proba(X).shape == (12, 2)
    # the fine-tuning script's resume state: a dict with the embedder under "emb"
    state = dump({"emb": emb, "epochs_done": 1}, tmp_path / "run.state")
    run = bench._fitted_builders(state, Memory(None, verbose=0), X, y,
                                 readout="attention+rhythm")["fitted_rhythm:run"]()
    np.testing.assert_allclose(run.steps[0][1].transformer.transform(X), want, atol=1e-6)
    dump(bench.StandardScaler().fit(np.ones((3, 2))), tmp_path / "other.state")
    other = bench._fitted_builders(tmp_path / "other.state", Memory(None, verbose=0), X, y)
    try:
        other["fitted:other"]()
    except SystemExit as err:
        assert "not a fitted DiffAEEmbedder" in str(err)
    else:
        raise AssertionError("a file without a DiffAEEmbedder was accepted")


def test_the_settings_of_a_run_with_fitted_files_serialise():
    """A run with ``--fitted`` once lost its 12-minute curve at the very end: the list of
    paths did not go into the JSON."""
    import argparse

    args = argparse.Namespace(fitted=[Path("a/b.state"), Path("c.state")],
                              diffae=Path("d.joblib"), pretrained=None, readout="attention")
    settings = bench._settings(args)
    assert settings["fitted"] == ["a/b.state", "c.state"] and settings["diffae"] == "d.joblib"
    json.dumps(settings)
