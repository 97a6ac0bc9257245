"""The public linear probe (sklearn_biodiff.evaluation.linear_probe)."""

import numpy as np
import pytest

from sklearn_biodiff.datasets import load_cinc2017_sample
from sklearn_biodiff.evaluation import linear_probe
from sklearn_biodiff.feature_extraction import ScatteringFeatures


def test_probe_of_the_bundled_sample_with_a_real_embedder():
    sample = load_cinc2017_sample()
    keep = np.isin(sample.target, ["N", "A"])
    X = [x for x, k in zip(sample.signals, keep) if k]
    y = sample.target[keep]
    res = linear_probe(ScatteringFeatures(fs=float(sample.fs)), X, y, cv=3)
    assert len(res.folds) == 3 and res.classes == ["A", "N"]
    assert 0.7 < res.mean["roc_auc"] <= 1.0  # AF against normal on scattering features
    assert all(fold["C"] in (0.01, 0.1, 1.0) for fold in res.folds)
    assert "| roc_auc |" in res.table and set(res.mean) == set(res.std)


def test_noise_features_score_at_chance_and_signal_above():
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1, 2], 40)
    noise = linear_probe(None, rng.randn(120, 8), y, cv=4)
    signal = linear_probe(None, rng.randn(120, 8) + 2 * np.eye(3)[y] @ rng.randn(3, 8), y,
                          cv=4)
    assert abs(noise.mean["roc_auc"] - 0.5) < 0.12
    assert signal.mean["macro_f1"] > noise.mean["macro_f1"] + 0.3


def test_groups_keep_patients_apart_in_outer_and_inner_folds():
    rng = np.random.RandomState(1)
    groups = np.repeat(np.arange(30), 4)
    y = groups % 2
    # 30 patients in 60 dimensions: any labelling of them is linearly separable, so
    # a probe that sees a patient in training recognises its other records
    X = rng.randn(30, 60)[groups] * 3 + 0.1 * rng.randn(120, 60)
    grouped = linear_probe(None, X, y, groups=groups, cv=5)
    leaky = linear_probe(None, X, y, cv=5)
    assert leaky.mean["accuracy"] > 0.9 and grouped.mean["accuracy"] < 0.75


def test_the_embedder_is_fitted_on_training_folds_only():
    seen = []

    class Recorder(ScatteringFeatures):
        def fit(self, X, y=None):
            seen.append(len(X))
            return super().fit(X, y)

    sample = load_cinc2017_sample()
    X, y = list(sample.signals[:60]), sample.target[:60]
    y = np.where(y == "N", "N", "other")
    linear_probe(Recorder(fs=float(sample.fs)), X, y, cv=3)
    assert seen == [40, 40, 40]


@pytest.mark.parametrize("kwargs, match", [({"Cs": ()}, "Cs must be positive"),
                                           ({"groups": np.arange(3)}, "one entry per record")])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        linear_probe(None, np.zeros((10, 2)), np.repeat([0, 1], 5), **kwargs)


def test_groups_and_per_record_fit_params_reach_the_embedder_by_fold():
    # regression (review): fit_params were passed unsliced, groups never
    seen = []

    class Recorder(ScatteringFeatures):
        def fit(self, X, y=None, groups=None, weights=None):
            seen.append((len(X), None if groups is None else len(groups), len(weights)))
            return super().fit(X, y)

    sample = load_cinc2017_sample()
    X, y = list(sample.signals[:60]), np.where(sample.target[:60] == "N", "N", "other")
    groups = np.arange(60) // 2
    linear_probe(Recorder(fs=float(sample.fs)), X, y, groups=groups, cv=3,
                 fit_params={"weights": np.ones(60)})
    assert len(seen) == 3 and all(a == b == c for a, b, c in seen)
    assert sum(a for a, _, _ in seen) == 2 * 60  # each record trains in two of three folds
