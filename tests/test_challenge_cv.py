"""The challenge-comparable benchmark's score: the CinC 2017 challenge's own F1 (issue 31)."""

from __future__ import annotations

import numpy as np

from benchmarks import bench_challenge_cv as bench


def _challenge_f1_by_hand(y, pred):
    """The challenge's scoring: F1 of class c is 2 N_cc / (sum of row c + sum of column c)
    of the confusion matrix (rows: reference, columns: answer)."""
    classes = ["N", "A", "O", "~"]
    m = np.array([[np.sum((y == r) & (pred == c)) for c in classes] for r in classes])
    return [2 * m[i, i] / (m[i].sum() + m[:, i].sum()) for i in range(4)]


def test_the_score_is_the_challenges_f1_of_n_a_o():
    rng = np.random.default_rng(0)
    y = rng.choice(list("NAO~"), size=300, p=[0.55, 0.15, 0.25, 0.05])
    pred = np.where(rng.random(300) < 0.7, y, rng.choice(list("NAO~"), size=300))
    proba = rng.dirichlet(np.ones(4), size=300)
    out = bench.challenge_scores(y, pred, proba, ["A", "N", "O", "~"])
    f1 = _challenge_f1_by_hand(y, pred)
    assert np.isclose(out["challenge_f1_NAO"], np.mean(f1[:3]))
    for c, v in zip("NAO~", f1):
        assert np.isclose(out[f"f1_{c}"], v)
    assert {"macro_f1", "auroc_af_vs_rest", "auroc_normal_vs_abnormal"} <= set(out)


def test_the_summary_takes_mean_and_sample_std_over_the_finished_folds():
    folds = {str(k): {"frozen": {"test": {"challenge_f1_NAO": v}}}
             for k, v in enumerate([0.7, 0.8, 0.9])}
    s = bench.summary(folds)["frozen"]["challenge_f1_NAO"]
    assert np.isclose(s["mean"], 0.8) and np.isclose(s["std"], 0.1) and s["n_folds"] == 3
    assert "fine_tuned" not in bench.summary(folds)
