"""Grouped splits, patient-level scores and tuning (GridSearchCV, Optuna)."""

import json
import os
import subprocess
import sys
import textwrap
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import optuna
import pytest
import sklearn
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    StratifiedGroupKFold,
    StratifiedKFold,
    train_test_split,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_biodiff.diffusion import InvalidTimestepRange
from sklearn_biodiff.feature_extraction import DACLEmbedder
from sklearn_biodiff.model_selection import (
    DACLSearchSpace,
    _study,
    check_groups_disjoint,
    grouped_cross_validate,
    grouped_train_test_split,
    make_grouped_cv,
    make_patient_scorer,
    optuna_search,
    patient_roc_auc_score,
    timestep_ablation_grid,
    timestep_ranges,
)
from sklearn_biodiff.model_selection._split import _check_grouped_cv
from sklearn_biodiff.pipeline import make_dacl_pipeline

REPO = Path(__file__).resolve().parents[1]

TINY_DACL = {"embedding_dim": 2, "widths": (8, 4), "time_dim": 4, "max_epochs": 2,
             "batch_size": 16, "random_state": 0}


def _vectors(n=60, seed=0):
    rng = np.random.RandomState(seed)
    y = np.r_[np.zeros(n // 2), np.ones(n - n // 2)].astype(int)
    X = (rng.randn(n, 6) + 1.5 * y[:, None]).astype(np.float32)
    groups = np.repeat(np.arange(n // 2), 2)  # two records per patient, same label
    return X, y, groups


def _patients(n_patients=10, per_patient=6, seed=0):
    """Several records per patient, a patient's records spread over the array."""
    rng = np.random.RandomState(seed)
    groups = np.tile(np.arange(n_patients), per_patient)
    y = groups % 2
    X = rng.randn(len(groups), 3) + y[:, None]
    return X, y, groups


def _vector_pipeline():
    return make_pipeline(StandardScaler(), DACLEmbedder(**TINY_DACL),
                         LogisticRegression())


# ---------------------------------------------------------------- splitting
def test_grouped_split_equals_readme_split_for_one_record_per_patient():
    y = np.random.RandomState(0).choice(list("NAO~"), size=200, p=[0.6, 0.1, 0.25, 0.05])
    tr, te = grouped_train_test_split(y, groups=np.arange(200), test_size=0.3,
                                      random_state=0)
    ref_tr, ref_te = train_test_split(np.arange(200), test_size=0.3, stratify=y,
                                      random_state=0)
    np.testing.assert_array_equal(tr, ref_tr)
    np.testing.assert_array_equal(te, ref_te)


def test_grouped_split_keeps_patients_whole_and_stratifies():
    X, y, groups = _vectors(200)
    tr, te = grouped_train_test_split(y, groups=groups, test_size=0.3, random_state=1)
    check_groups_disjoint(tr, te, groups)
    assert len(tr) + len(te) == 200 and len(np.intersect1d(tr, te)) == 0
    assert abs(y[te].mean() - 0.5) < 0.05


def test_grouped_split_errors():
    with pytest.raises(ValueError, match="groups has 3 entries"):
        grouped_train_test_split([0, 1], groups=[0, 1, 2])
    with pytest.raises(ValueError, match="needs labels"):
        grouped_train_test_split(4, groups=[0, 1, 2, 3])
    with pytest.raises(ValueError, match="at least 2 groups"):
        grouped_train_test_split([0, 1], groups=[5, 5])
    with pytest.raises(ValueError, match="in both train and test"):
        check_groups_disjoint([0, 1], [2], groups=[7, 8, 8])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 12), min_size=30, max_size=80), st.integers(0, 10))
def test_no_group_crosses_folds(group_list, seed):
    groups = np.asarray(group_list)
    y = groups % 2  # one label per group
    if len(np.unique(groups)) < 3 or len(np.unique(y)) < 2:
        return
    for tr, te in make_grouped_cv(3, random_state=seed).split(groups, y, groups):
        assert not set(groups[tr]) & set(groups[te])


def test_check_grouped_cv_integer_with_groups_is_grouped():
    X, y, groups = _patients()
    cv = _check_grouped_cv(5, y, groups, classifier=True)
    assert isinstance(cv, StratifiedGroupKFold) and cv.n_splits == 5
    assert cv.shuffle and cv.random_state == 0
    assert isinstance(_check_grouped_cv(None, y, groups), StratifiedGroupKFold)
    reg = _check_grouped_cv(3, y + 0.5, groups)  # continuous target: not stratified
    assert isinstance(reg, GroupKFold) and reg.n_splits == 3
    for tr, te in reg.split(X, y + 0.5, groups):
        check_groups_disjoint(tr, te, groups)
    # without groups an integer keeps scikit-learn's meaning
    assert isinstance(_check_grouped_cv(4, y, None, classifier=True), StratifiedKFold)
    splitter = GroupKFold(2)
    assert _check_grouped_cv(splitter, y, groups) is splitter
    with pytest.raises(ValueError, match="pass groups"):
        _check_grouped_cv(None, y, None)


def test_grouped_cross_validate_integer_cv_is_grouped_5_fold():
    X, y, groups = _patients()  # 10 patients of 6 records
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "groups parameter is ignored" warning
        res = grouped_cross_validate(LogisticRegression(), X, y, groups=groups, cv=5)
    ref = grouped_cross_validate(LogisticRegression(), X, y, groups=groups,
                                 cv=make_grouped_cv(5))
    np.testing.assert_array_equal(res["test_score"], ref["test_score"])
    assert len(res["test_score"]) == 5


# ---------------------------------------------------------------- scoring
def test_patient_auroc_aggregates_before_scoring():
    y = [0, 0, 1, 1, 1, 1]
    s = [0.1, 0.9, 0.4, 0.6, 0.2, 0.3]
    g = [0, 0, 1, 1, 2, 2]
    # means: patient 0 -> 0.5, 1 -> 0.5, 2 -> 0.25
    assert patient_roc_auc_score(y, s, groups=g) == pytest.approx(0.25)
    assert patient_roc_auc_score(y, s, groups=g, aggregate="max") == pytest.approx(0.0)
    with pytest.raises(ValueError, match="different labels"):
        patient_roc_auc_score([0, 1], [0.1, 0.2], groups=[0, 0])
    with pytest.raises(ValueError, match="aggregate must be one of"):
        patient_roc_auc_score(y, s, groups=g, aggregate="mode")


def test_grouped_cross_validate_patient_level_matches_manual():
    X, y, groups = _vectors(80)
    cv = make_grouped_cv(4, random_state=0)
    est = LogisticRegression()
    res = grouped_cross_validate(est, X, y, groups=groups, cv=cv, patient_level="mean")
    manual = []
    for tr, te in cv.split(X, y, groups):
        m = clone(est).fit(X[tr], y[tr])
        manual.append(patient_roc_auc_score(y[te], m.decision_function(X[te]),
                                            groups=groups[te]))
    np.testing.assert_allclose(res["test_score"], manual)
    rec = grouped_cross_validate(est, X, y, groups=groups, cv=cv)
    assert rec["test_score"].shape == (4,)


def test_patient_scorer_routes_groups():
    import sklearn
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import cross_validate

    X, y, groups = _vectors(40)
    cv = make_grouped_cv(2)
    with sklearn.config_context(enable_metadata_routing=True):
        res = cross_validate(LogisticRegression(), X, y, cv=cv,
                             scoring=make_patient_scorer(), params={"groups": groups},
                             return_estimator=True)
    # each fold's score is the patient-level AUROC of that fold's test groups
    for score, est, (_, te) in zip(res["test_score"], res["estimator"], cv.split(X, y, groups)):
        expected = patient_roc_auc_score(y[te], est.decision_function(X[te]), groups=groups[te])
        assert score == pytest.approx(expected)
        # and not the record-level AUROC that a scorer without groups would give
        assert score != pytest.approx(roc_auc_score(y[te], est.decision_function(X[te])))


class _ThreadProbe(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        import torch

        self.threads_ = torch.get_num_threads()
        self.classes_ = np.unique(y)
        return self

    def decision_function(self, X):
        return np.full(len(X), float(self.threads_)) + np.arange(len(X)) * 1e-3


def test_parallel_folds_do_not_oversubscribe_torch():
    X, y, groups = _vectors(40)
    res = grouped_cross_validate(_ThreadProbe(), X, y, groups=groups, cv=make_grouped_cv(2),
                                 n_jobs=2, return_estimator=True)
    expected = max(1, (os.cpu_count() or 1) // 2)
    assert [e.threads_ for e in res["estimator"]] == [expected, expected]


# ---------------------------------------------------------------- grids
def test_timestep_ranges_match_the_paper():
    assert timestep_ranges(50) == {"early": (1, 16), "mid": (17, 33), "late": (34, 50),
                                   "all": (1, 50)}
    for n in (3, 10, 1000):
        r = timestep_ranges(n)
        assert r["early"][0] == 1 and r["late"][1] == n
        assert r["mid"][0] == r["early"][1] + 1 and r["late"][0] == r["mid"][1] + 1
    with pytest.raises(ValueError, match=">= 3"):
        timestep_ranges(2)


def test_grid_search_ablation_reuses_cached_features(synthetic, tmp_path, tiny_pipeline_params):
    X, y = synthetic
    groups = np.arange(len(X))
    pipe = make_dacl_pipeline(**tiny_pipeline_params, memory=str(tmp_path),
                              keep_features=False, random_state=0)
    grid = GridSearchCV(pipe, timestep_ablation_grid(50), cv=make_grouped_cv(2),
                        scoring="roc_auc")
    grid.fit(X, y, groups=groups)
    assert [(p["dacl__t_min"], p["dacl__t_max"]) for p in grid.cv_results_["params"]] == [
        (1, 16), (17, 33), (34, 50), (1, 50)]
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()
    # the clone is refitted with the best range; the template stays unfitted
    assert grid.best_estimator_ is not pipe and not hasattr(pipe.named_steps["dacl"], "net_")
    assert grid.best_estimator_.named_steps["dacl"].t_min == grid.best_params_["dacl__t_min"]
    # st, scale and vae are fitted once per fold and once for the refit, not per candidate
    fitted = Counter(
        json.loads(m.read_text())["input_args"]["transformer"].split("(")[0]
        for m in Path(tmp_path).rglob("_fit_transform_one*/*/metadata.json"))
    assert fitted == {"ScatteringFeatures": 3, "StandardScaler": 3, "VAELatent": 3,
                      "DACLEmbedder": 4 * 2 + 1}


# ---------------------------------------------------------------- optuna
def test_search_space_samples_valid_ranges_only():
    space = DACLSearchSpace(t_low=1, t_high=10)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(40):
        params = space(study.ask())
        assert 1 <= params["dacl__t_min"] <= params["dacl__t_max"] <= 10
        assert params["vae__latent_dim"] in (16, 32, 64)
    with pytest.raises(InvalidTimestepRange, match="t_low <= t_high"):
        DACLSearchSpace(t_low=20, t_high=10)(study.ask())
    with pytest.raises(ValueError, match="margin bounds"):
        DACLSearchSpace(margin=(0.0, 1.0)).distributions()


def test_optuna_search_grouped_cv_and_refit():
    X, y, groups = _vectors(60)
    space = DACLSearchSpace(prefix="daclembedder__", vae_prefix=None, t_high=50)
    res = optuna_search(_vector_pipeline(), X, y, space, groups=groups,
                        cv=make_grouped_cv(2), n_trials=3, refit=True, random_state=0)
    assert len(res.study.trials) == 3
    p = res.best_params
    assert 1 <= p["daclembedder__t_min"] <= p["daclembedder__t_max"] <= 50
    best = res.study.best_trial
    assert res.best_score == pytest.approx(np.mean(best.user_attrs["fold_scores"]))
    assert res.best_score > 0.75  # classes 1.5 std apart: far above chance (0.5)
    dacl = res.best_estimator.named_steps["daclembedder"]
    assert dacl.t_min == p["daclembedder__t_min"] and hasattr(dacl, "net_")
    for t in res.study.trials:
        assert len(t.user_attrs["fold_scores"]) == 2


def test_optuna_search_prunes_invalid_ranges_with_reason():
    X, y, groups = _vectors(40)

    def bad_space(trial):
        return {"daclembedder__t_min": 30, "daclembedder__t_max": 10}

    res = optuna_search(_vector_pipeline(), X, y, bad_space, groups=groups,
                        cv=make_grouped_cv(2), n_trials=2)
    states = {t.state for t in res.study.trials}
    assert states == {optuna.trial.TrialState.PRUNED}
    assert "must not exceed t_max" in res.study.trials[0].user_attrs["pruned_reason"]
    assert res.best_params is None


def test_median_pruner_stops_a_bad_trial_after_one_fold():
    X, y, groups = _vectors(60)
    calls = []

    def space(trial):
        # four good trials, then one whose probe is useless (heavy regularisation)
        c = 1.0 if trial.number < 4 else 1e-9
        calls.append(c)
        return {"C": c}

    class Probe(LogisticRegression):
        def decision_function(self, X):
            out = super().decision_function(X)
            return -out if self.C < 1e-6 else out  # inverted scores: AUROC < 0.5

    res = optuna_search(Probe(), X, y, space, groups=groups, cv=make_grouped_cv(4),
                        n_trials=5, random_state=0)
    last = res.study.trials[-1]
    assert last.state == optuna.trial.TrialState.PRUNED
    assert len(last.user_attrs["fold_scores"]) == 1


def test_optuna_search_cv_clones_and_refits_pipeline(synthetic, tiny_pipeline_params):
    from optuna_integration import OptunaSearchCV

    X, y = synthetic
    pipe = make_dacl_pipeline(**tiny_pipeline_params, keep_features=False, random_state=0)
    dists = DACLSearchSpace(vae_prefix=None, t_low=1, t_high=50).distributions()
    search = OptunaSearchCV(pipe, dists, cv=make_grouped_cv(2), n_trials=2, random_state=0,
                            scoring="roc_auc", error_score=np.nan)
    search.fit(X, y, groups=np.arange(len(X)))
    assert not hasattr(pipe.named_steps["dacl"], "net_")  # template untouched
    best = search.best_estimator_.named_steps["dacl"]
    assert hasattr(best, "net_")
    assert best.t_min == search.best_params_["dacl__t_min"]
    assert search.predict_proba(X).shape == (len(X), 2)


_WORKER = textwrap.dedent("""
    import sys
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn_biodiff.feature_extraction import DACLEmbedder
    from sklearn_biodiff.model_selection import DACLSearchSpace, make_grouped_cv, optuna_search

    storage, name, n_trials, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    if storage.startswith("journal:"):
        import optuna
        from optuna.storages.journal import JournalFileBackend
        storage = optuna.storages.JournalStorage(JournalFileBackend(storage[8:]))
    rng = np.random.RandomState(0)
    y = np.r_[np.zeros(20), np.ones(20)].astype(int)
    X = (rng.randn(40, 6) + 1.5 * y[:, None]).astype(np.float32)
    pipe = make_pipeline(StandardScaler(), DACLEmbedder(
        embedding_dim=2, widths=(8, 4), time_dim=4, max_epochs=2, batch_size=16,
        random_state=0), LogisticRegression())
    space = DACLSearchSpace(prefix="daclembedder__", vae_prefix=None)
    # no pruning: whether the median pruner stops a trial would depend on how the two
    # workers' trials interleave (a trial that starts after three completed may be pruned)
    optuna_search(pipe, X, y, space, groups=np.arange(40), cv=make_grouped_cv(2),
                  n_trials=n_trials, storage=storage, study_name=name, random_state=seed,
                  pruner=None)
""")


def _run_worker(storage, name, n_trials, seed):
    return subprocess.Popen([sys.executable, "-c", _WORKER, storage, name, str(n_trials),
                             str(seed)], stderr=subprocess.PIPE, text=True)


def _wait(procs):
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err


def test_study_resumes_from_sqlite_after_restart(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    _wait([_run_worker(url, "resume", 2, 0)])  # a first process, then it is gone
    X, y, groups = _vectors(40)
    res = optuna_search(_vector_pipeline(), X, y,
                        DACLSearchSpace(prefix="daclembedder__", vae_prefix=None),
                        groups=groups, cv=make_grouped_cv(2), n_trials=1, storage=url,
                        study_name="resume", random_state=1)
    assert len(res.study.trials) == 3
    assert [t.number for t in res.study.trials] == [0, 1, 2]


def test_two_worker_processes_share_one_fresh_journal_study(tmp_path):
    from optuna.storages.journal import JournalFileBackend

    path = tmp_path / "study.log"  # no study yet: both workers create or load it
    storage = optuna.storages.JournalStorage(JournalFileBackend(str(path)))
    _wait([_run_worker(f"journal:{path}", "shared", 2, seed) for seed in (0, 1)])
    study = optuna.load_study(study_name="shared", storage=storage)
    assert len(study.trials) == 4
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    assert len({t.number for t in study.trials}) == 4


def _c_space(trial):
    return {"C": trial.suggest_float("C", 1e-3, 1e3, log=True)}


def test_optuna_search_integer_cv_with_groups_is_grouped_5_fold():
    X, y, groups = _patients()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = optuna_search(LogisticRegression(), X, y, _c_space, groups=groups, cv=5,
                            n_trials=2, random_state=0)
    assert [len(t.user_attrs["fold_scores"]) for t in res.study.trials] == [5, 5]
    # the folds are make_grouped_cv(5)'s: the same trial scores the same
    ref = optuna_search(LogisticRegression(), X, y, _c_space, groups=groups,
                        cv=make_grouped_cv(5), n_trials=2, random_state=0)
    assert [t.user_attrs["fold_scores"] for t in res.study.trials] == [
        t.user_attrs["fold_scores"] for t in ref.study.trials]


def test_optuna_search_restores_optuna_verbosity():
    X, y, groups = _patients()
    before = optuna.logging.get_verbosity()
    seen = []

    def space(trial):
        seen.append(optuna.logging.get_verbosity())
        return _c_space(trial)

    def broken(trial):
        raise RuntimeError("broken space")

    try:
        optuna.logging.set_verbosity(optuna.logging.INFO)
        optuna_search(LogisticRegression(), X, y, space, groups=groups, n_trials=1)
        assert seen == [optuna.logging.WARNING]  # quiet during the call
        assert optuna.logging.get_verbosity() == optuna.logging.INFO
        with pytest.raises(RuntimeError, match="broken space"):
            optuna_search(LogisticRegression(), X, y, broken, groups=groups, n_trials=1)
        assert optuna.logging.get_verbosity() == optuna.logging.INFO
        optuna.logging.set_verbosity(optuna.logging.ERROR)  # never made louder
        optuna_search(LogisticRegression(), X, y, space, groups=groups, n_trials=1)
        assert seen[-1] == optuna.logging.ERROR
    finally:
        optuna.logging.set_verbosity(before)


def test_workers_with_the_same_random_state_sample_different_parameters(tmp_path):
    X, y, groups = _patients()
    kw = {"groups": groups, "cv": 2, "n_trials": 2, "random_state": 0}
    # in memory a call is reproducible from random_state
    a = optuna_search(LogisticRegression(), X, y, _c_space, **kw)
    b = optuna_search(LogisticRegression(), X, y, _c_space, **kw)
    assert [t.params for t in a.study.trials] == [t.params for t in b.study.trials]
    assert a.sampler_seed == 0
    # two workers (calls) on one persistent study draw their own seeds
    from optuna.storages.journal import JournalFileBackend

    storage = optuna.storages.JournalStorage(JournalFileBackend(str(tmp_path / "s.log")))
    w1 = optuna_search(LogisticRegression(), X, y, _c_space, storage=storage,
                       study_name="s", **kw)
    w2 = optuna_search(LogisticRegression(), X, y, _c_space, storage=storage,
                       study_name="s", **kw)
    assert w1.sampler_seed != w2.sampler_seed and w1.worker_id != w2.worker_id
    trials = w2.study.trials
    assert len(trials) == 4 and len({t.params["C"] for t in trials}) == 4
    assert [t.user_attrs["worker_id"] for t in trials] == [w1.worker_id] * 2 + [
        w2.worker_id] * 2


def test_study_creation_retries_only_races_and_says_why(tmp_path, monkeypatch):
    import sqlite3

    import sqlalchemy

    X, y, groups = _patients()
    # a database that another process keeps locked: retried, then a clear error
    db = tmp_path / "locked.db"
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    monkeypatch.setattr(_study, "_FIRST_DELAY", 0.001)
    try:
        with pytest.raises(RuntimeError, match=r"could not create or load the Optuna study "
                           r"'s' in sqlite:///.*locked.db\?timeout=0.01 after 8 attempts.*"
                           r"database is locked"):
            optuna_search(LogisticRegression(), X, y, _c_space, groups=groups, n_trials=1,
                          storage=f"sqlite:///{db}?timeout=0.01", study_name="s")
    finally:
        holder.close()
    # any other error is raised at once
    start = time.perf_counter()
    with pytest.raises(sqlalchemy.exc.OperationalError, match="unable to open"):
        optuna_search(LogisticRegression(), X, y, _c_space, groups=groups, n_trials=1,
                      storage=f"sqlite:///{tmp_path / 'missing' / 'x.db'}")
    assert time.perf_counter() - start < 1.0


_RACE_WORKER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn_biodiff.model_selection import optuna_search

    storage, name, sync, me = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4]
    rng = np.random.RandomState(0)
    groups = np.tile(np.arange(8), 3)
    y = groups % 2
    X = rng.randn(24, 3) + y[:, None]
    (sync / f"ready-{me}").touch()
    while not (sync / "go").exists():  # all workers start together
        time.sleep(0.002)
    optuna_search(LogisticRegression(), X, y,
                  lambda t: {"C": t.suggest_float("C", 1e-3, 1e3, log=True)},
                  groups=groups, cv=2, n_trials=2, storage=storage, study_name=name,
                  random_state=0, pruner=None)  # no pruning: every trial must complete
""")


def test_workers_started_together_on_a_fresh_sqlite_study_all_run(tmp_path):
    sync = tmp_path / "sync"
    sync.mkdir()
    storage = url = f"sqlite:///{tmp_path / 'fresh.db'}"
    procs = [subprocess.Popen([sys.executable, "-c", _RACE_WORKER, url, "race", str(sync),
                               str(i)], cwd=REPO, stderr=subprocess.PIPE, text=True)
             for i in range(3)]
    deadline = time.monotonic() + 120
    while len(list(sync.glob("ready-*"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    (sync / "go").touch()
    _wait(procs)  # every worker exits 0
    assert optuna.get_all_study_names(storage) == ["race"]
    trials = optuna.load_study(study_name="race", storage=storage).trials
    assert len(trials) == 6
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    assert sorted(Counter(t.user_attrs["worker_id"] for t in trials).values()) == [2, 2, 2]
    # same random_state in every worker, yet no parameter set is tried twice
    assert len({t.params["C"] for t in trials}) == 6


def test_optuna_search_needs_groups_or_cv():
    X, y, _ = _vectors(20)
    with pytest.raises(ValueError, match="pass groups"):
        optuna_search(LogisticRegression(), X, y, lambda t: {})
    with pytest.raises(TypeError, match="param_space must be callable"):
        optuna_search(LogisticRegression(), X, y, {"C": 1}, cv=StratifiedKFold(2))


class _GroupsRecorder(TransformerMixin, BaseEstimator):
    """Identity transformer that records the ``groups`` its ``fit`` received."""

    seen = []

    def fit(self, X, y=None, groups=None):
        type(self).seen.append(None if groups is None else np.unique(groups).tolist())
        return self

    def transform(self, X):
        return X


@pytest.mark.parametrize("patient_level", [None, "mean"])
def test_grouped_cross_validate_routes_groups_only_to_steps_that_ask(patient_level):
    # regression: a step whose fit takes groups (DACLEmbedder) made patient-level
    # scoring raise UnsetMetadataPassedError in the routed call
    rng = np.random.RandomState(0)
    groups = np.arange(60) // 3
    X, y = rng.randn(60, 4), groups % 2
    _GroupsRecorder.seen = []
    pipe = make_pipeline(_GroupsRecorder(), LogisticRegression())
    res = grouped_cross_validate(pipe, X, y, groups=groups, cv=3, patient_level=patient_level)
    assert len(res["test_score"]) == 3 and _GroupsRecorder.seen == [None] * 3
    _GroupsRecorder.seen = []
    with sklearn.config_context(enable_metadata_routing=True):
        asking = make_pipeline(_GroupsRecorder().set_fit_request(groups=True),
                               LogisticRegression())
    grouped_cross_validate(asking, X, y, groups=groups, cv=3, patient_level=patient_level)
    folds = list(make_grouped_cv(3).split(X, y, groups))
    assert _GroupsRecorder.seen == [np.unique(groups[tr]).tolist() for tr, _ in folds]
    assert not sklearn.get_config()["enable_metadata_routing"]


@pytest.mark.parametrize("patient_level", [None, "mean"])
def test_optuna_search_routes_groups_only_to_steps_that_ask(patient_level):
    rng = np.random.RandomState(0)
    groups = np.arange(60) // 3
    X, y = rng.randn(60, 4), groups % 2
    folds = list(make_grouped_cv(3).split(X, y, groups))
    space = lambda trial: {"logisticregression__C": trial.suggest_float("C", 0.1, 1.0)}  # noqa: E731
    kw = {"groups": groups, "cv": folds, "patient_level": patient_level, "n_trials": 2,
          "pruner": None, "refit": True, "random_state": 0}
    _GroupsRecorder.seen = []
    optuna_search(make_pipeline(_GroupsRecorder(), LogisticRegression()), X, y, space, **kw)
    assert _GroupsRecorder.seen == [None] * (2 * 3 + 1)  # 2 trials x 3 folds + refit
    _GroupsRecorder.seen = []
    with sklearn.config_context(enable_metadata_routing=True):
        asking = make_pipeline(_GroupsRecorder().set_fit_request(groups=True),
                               LogisticRegression())
    res = optuna_search(asking, X, y, space, **kw)
    per_fold = [np.unique(groups[tr]).tolist() for tr, _ in folds]
    assert _GroupsRecorder.seen == per_fold * 2 + [np.unique(groups).tolist()]
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in res.study.trials)
    assert not sklearn.get_config()["enable_metadata_routing"]
    with pytest.raises(ValueError, match="requested groups"):
        optuna_search(asking, X, y, space, cv=folds, n_trials=1)


def test_optuna_search_trains_patient_aware_dacl_with_fold_groups():
    # positive="other_patient" raises without groups: every trial completing shows
    # that each fold's DACLEmbedder received the groups of its training rows
    X, y, groups = _vectors(40)
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(DACLEmbedder(**TINY_DACL, positive="other_patient")
                             .set_fit_request(groups=True), LogisticRegression())
    space = lambda trial: {"daclembedder__margin": trial.suggest_float("m", 0.5, 1.0)}  # noqa: E731
    res = optuna_search(pipe, X, y, space, groups=groups, cv=make_grouped_cv(2),
                        n_trials=1, random_state=0)
    assert res.study.trials[0].state == optuna.trial.TrialState.COMPLETE


# --- exact behaviour (written to kill surviving mutants of benchmarks/run_mutation.py;
# see benchmarks/results/mutation.json) ---------------------------------------------


def test_documented_defaults_are_the_defaults():
    from _doc_defaults import assert_documented_defaults

    from sklearn_biodiff.model_selection import aggregate_by_group

    for obj in (aggregate_by_group, patient_roc_auc_score, make_patient_scorer,
                grouped_train_test_split, make_grouped_cv, grouped_cross_validate,
                optuna_search, DACLSearchSpace, timestep_ranges):
        assert assert_documented_defaults(obj) >= 1, obj


def test_grouped_cross_validate_defaults_roc_auc_quiet_no_estimators(capsys):
    X, y, groups = _vectors(60)
    res = grouped_cross_validate(LogisticRegression(), X, y, groups=groups, cv=3)
    manual = []
    for tr, te in make_grouped_cv(3).split(X, y, groups):
        m = LogisticRegression().fit(X[tr], y[tr])
        manual.append(roc_auc_score(y[te], m.decision_function(X[te])))
    np.testing.assert_allclose(res["test_score"], manual)  # roc_auc, not accuracy
    assert "estimator" not in res
    assert capsys.readouterr().err == ""  # verbose=0
    grouped_cross_validate(LogisticRegression(), X, y, groups=groups, cv=3, verbose=2)
    assert "END" in capsys.readouterr().out  # verbose reaches cross_validate


def test_patient_scorer_uses_its_aggregate_and_predict_proba():
    from sklearn.naive_bayes import GaussianNB

    X, y, groups = _patients(12, 5)
    est = GaussianNB().fit(X, y)  # predict_proba only
    proba = est.predict_proba(X)[:, 1]
    with sklearn.config_context(enable_metadata_routing=True):
        for agg in ("max", "median"):
            got = make_patient_scorer(agg)(est, X, y, groups=groups)
            assert got == patient_roc_auc_score(y, proba, groups=groups, aggregate=agg)
    scores = {agg: patient_roc_auc_score(y, proba, groups=groups, aggregate=agg)
              for agg in ("mean", "max")}
    assert scores["mean"] != scores["max"]  # the data tell the aggregates apart


def test_patient_scores_need_matching_shapes():
    with pytest.raises(ValueError, match=r"y_true and groups differ in shape: \(2,\) vs \(3,\)"):
        patient_roc_auc_score([0, 1], [0.1, 0.2], groups=[0, 1, 2])


def test_group_label_is_the_most_common_first_on_ties():
    from sklearn_biodiff.model_selection._split import _group_labels

    uniq, inverse, labels = _group_labels([0, 1, 1, 2, 2, 0, 5],
                                          ["a", "a", "a", "b", "b", "c", "c"])
    assert uniq.tolist() == ["a", "b", "c"] and labels.tolist() == [1, 2, 0]
    assert inverse.tolist() == [0, 0, 0, 1, 1, 2, 2]


def test_storage_passwords_stay_out_of_messages():
    from sklearn_biodiff.model_selection._study import _describe_storage

    text = _describe_storage("postgresql://user:secret@db.example/optuna")
    assert "secret" not in text and "db.example/optuna" in text


def test_optuna_search_short_timeout_pruner_errors_and_patient_level():
    from sklearn.naive_bayes import GaussianNB

    X, y, groups = _patients(12, 5)
    res = optuna_search(LogisticRegression(), X, y, _c_space, groups=groups, cv=3,
                        n_trials=1, timeout=0.5, random_state=0)  # under a second is fine
    assert len(res.study.trials) == 1
    with pytest.raises(ValueError, match="pruner must be 'median', None or an "
                                         "optuna.pruners.BasePruner instance, got 'mean'"):
        optuna_search(LogisticRegression(), X, y, _c_space, groups=groups, n_trials=1,
                      pruner="mean")
    # patient-level scores from decision_function or, failing that, predict_proba
    folds = list(make_grouped_cv(3).split(X, y, groups))
    for est, response in ((LogisticRegression(C=0.5), "decision_function"),
                          (GaussianNB(), "predict_proba")):
        res = optuna_search(est, X, y, lambda t: {}, groups=groups, cv=3, n_trials=1,
                            patient_level="max", random_state=0)
        manual = []
        for tr, te in folds:
            out = getattr(clone(est).fit(X[tr], y[tr]), response)(X[te])
            out = out[:, 1] if out.ndim == 2 else out
            manual.append(patient_roc_auc_score(y[te], out, groups=groups[te],
                                                aggregate="max"))
        assert res.best_score == pytest.approx(np.mean(manual))


class _FailsToFit(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        raise RuntimeError("cannot fit this fold")


def test_every_trial_failing_raises_with_the_reasons():
    # as scikit-learn's searches do when every fit fails (pruned trials only warn)
    X, y, groups = _patients()
    with pytest.raises(ValueError, match=r"all 2 trial\(s\) failed, so there is no best "
                                         r"trial.*Reasons: 2 x fold 0: RuntimeError: "
                                         r"cannot fit this fold\. .*failed_reason"):
        optuna_search(_FailsToFit(), X, y, lambda t: {}, groups=groups, cv=2,
                      n_trials=2, random_state=0)


def test_optuna_search_names_the_prefixes_of_the_default_pipeline(synthetic,
                                                                tiny_pipeline_params):
    # make_dacl_pipeline() reaches DACL as keep__embedding__dacl__: a space given the
    # paper's dacl__ prefix explicitly is refused before any trial, with the prefixes
    X, y = synthetic
    pipe = make_dacl_pipeline(**tiny_pipeline_params, random_state=0)
    with pytest.raises(ValueError, match=r"does not have \(dacl__t_min, vae__latent_dim\)"
                       r".*DACLSearchSpace\(prefix='keep__embedding__dacl__', "
                       r"vae_prefix='keep__embedding__vae__'\)"):
        optuna_search(pipe, X, y, DACLSearchSpace(prefix="dacl__", vae_prefix="vae__"),
                      cv=2, n_trials=1)
    with pytest.raises(ValueError, match=r"\(dacl__t_min\).*DACLSearchSpace\("
                                         r"prefix='keep__embedding__dacl__'\)"):
        optuna_search(pipe, X, y, DACLSearchSpace(prefix="dacl__", vae_prefix=None), cv=2,
                      n_trials=1)


@pytest.mark.parametrize("keep_features, prefix", [(True, "keep__embedding__"), (False, "")])
def test_the_default_search_space_finds_the_steps_of_the_default_pipeline(
        synthetic, tiny_pipeline_params, keep_features, prefix):
    # regression: optuna_search(make_dacl_pipeline(), X, y, DACLSearchSpace()) raised
    # since keep_features=True became the default
    X, y = synthetic
    pipe = make_dacl_pipeline(**tiny_pipeline_params, keep_features=keep_features,
                              random_state=0)
    res = optuna_search(pipe, X, y, DACLSearchSpace(t_high=10), cv=2, n_trials=1,
                        random_state=0)
    assert sorted(res.best_params) == sorted(
        [f"{prefix}dacl__{k}" for k in ("lr", "margin", "t_max", "t_min")]
        + [f"{prefix}vae__latent_dim"])


def test_auto_prefixes_resolve_or_say_what_to_pass():
    from sklearn.pipeline import Pipeline

    from sklearn_biodiff.feature_extraction import DACLEmbedder

    space = DACLSearchSpace()
    alone = space.for_estimator(DACLEmbedder())
    assert (alone.prefix, alone.vae_prefix) == ("", None)
    two = Pipeline([("a", DACLEmbedder()), ("b", DACLEmbedder())])
    with pytest.raises(ValueError, match=r"exactly one DACLEmbedder .* found 2 "
                                         r"\(\['a__', 'b__'\]\); pass prefix="):
        space.for_estimator(two)
    assert DACLSearchSpace(prefix="b__").for_estimator(two).prefix == "b__"
    # called on its own, the paper's pipeline names
    assert set(space.distributions()) == {"dacl__t_min", "dacl__t_max", "dacl__margin",
                                          "dacl__lr", "vae__latent_dim"}


# ------------------------------------------------ edges found by the mutation check
def test_timestep_ablation_grid_default_is_the_papers_50_steps():
    assert timestep_ablation_grid() == [
        {"dacl__t_min": [1], "dacl__t_max": [16]}, {"dacl__t_min": [17], "dacl__t_max": [33]},
        {"dacl__t_min": [34], "dacl__t_max": [50]}, {"dacl__t_min": [1], "dacl__t_max": [50]}]


def test_search_space_samples_what_its_distributions_say():
    space = DACLSearchSpace(prefix="d__", vae_prefix="v__", latent_dims=(4, 8),
                            margin=(0.5, 0.5))  # equal bounds: a fixed value
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    params = space(trial)
    expected = space.distributions()
    for name in ("d__t_min", "d__margin", "d__lr", "v__latent_dim"):
        assert trial.distributions[name] == expected[name], name
    assert expected["d__lr"].log and params["d__margin"] == 0.5
    assert params["v__latent_dim"] in (4, 8)


def _noisy_patients(seed=0):
    """Patients whose records disagree: 'max' and 'mean' aggregation rank them differently."""
    rng = np.random.RandomState(seed)
    groups = np.tile(np.arange(24), 4)
    y = groups % 2
    X = rng.randn(len(groups), 3) + 0.4 * y[:, None]
    return X, y, groups


def test_optuna_search_scores_with_the_given_scoring_and_aggregate():
    X, y, groups = _noisy_patients()
    folds = list(make_grouped_cv(3).split(X, y, groups))
    est = LogisticRegression(C=0.05)
    fitted = [clone(est).fit(X[tr], y[tr]) for tr, _ in folds]
    manual = {
        "roc_auc": np.mean([roc_auc_score(y[te], m.decision_function(X[te]))
                            for m, (_, te) in zip(fitted, folds)]),
        None: np.mean([m.score(X[te], y[te]) for m, (_, te) in zip(fitted, folds)]),
    }
    for scoring, value in manual.items():
        res = optuna_search(est, X, y, lambda t: {}, groups=groups, cv=folds, n_trials=1,
                            scoring=scoring, random_state=0)
        assert res.best_score == pytest.approx(value), scoring
    patient = {agg: np.mean([patient_roc_auc_score(y[te], m.decision_function(X[te]),
                                                   groups=groups[te], aggregate=agg)
                             for m, (_, te) in zip(fitted, folds)]) for agg in ("max", "mean")}
    assert abs(patient["max"] - patient["mean"]) > 0.01  # the data tell them apart
    for agg, value in patient.items():
        res = optuna_search(est, X, y, lambda t: {}, groups=groups, cv=folds, n_trials=1,
                            patient_level=agg, random_state=0)
        assert res.best_score == pytest.approx(value), agg
    with pytest.raises(ValueError, match="patient_level scoring needs groups"):
        optuna_search(est, X, y, lambda t: {}, cv=3, n_trials=1, patient_level="max")


class _AlwaysPrune(optuna.pruners.BasePruner):
    def prune(self, study, trial):
        return True


def test_a_trial_that_scored_every_fold_completes_whatever_the_pruner_says():
    X, y, groups = _patients()
    with pytest.warns(UserWarning, match=r"none of the 2 trial\(s\) of the study completed"):
        res = optuna_search(LogisticRegression(), X, y, _c_space, groups=groups, cv=2,
                            n_trials=2, pruner=_AlwaysPrune(), random_state=0)
    states = [t.state for t in res.study.trials]
    # pruned after the first fold, never after the last: every trial here has 2 folds
    assert states == [optuna.trial.TrialState.PRUNED] * 2
    res = optuna_search(LogisticRegression(), X, y, _c_space, groups=groups,
                        cv=[next(make_grouped_cv(2).split(X, y, groups))], n_trials=2,
                        pruner=_AlwaysPrune(), random_state=0)
    assert [t.state for t in res.study.trials] == [optuna.trial.TrialState.COMPLETE] * 2


def test_optuna_search_verbose_shows_a_progress_bar(capfd):
    X, y, groups = _patients()
    optuna_search(LogisticRegression(), X, y, _c_space, groups=groups, cv=2, n_trials=2,
                  random_state=0, verbose=0)
    assert "2/2" not in capfd.readouterr().err
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # optuna marks its progress bar experimental
        optuna_search(LogisticRegression(), X, y, _c_space, groups=groups, cv=2,
                      n_trials=2, random_state=0, verbose=1)
    assert "2/2" in capfd.readouterr().err


def test_best_params_of_a_trial_added_by_other_code_are_its_params(tmp_path):
    X, y, groups = _patients()
    storage = f"sqlite:///{tmp_path / 's.db'}"
    study = optuna.create_study(storage=storage, study_name="warm", direction="maximize")
    dist = {"C": optuna.distributions.FloatDistribution(1e-3, 1e3, log=True)}
    study.add_trial(optuna.trial.create_trial(params={"C": 7.0}, distributions=dist,
                                              value=2.0))  # above any ROC AUC
    res = optuna_search(LogisticRegression(), X, y, _c_space, groups=groups, cv=2,
                        n_trials=1, storage=storage, study_name="warm", random_state=0)
    assert res.best_params == {"C": 7.0} and res.best_score == 2.0


class _FailsWithItsOwnReason(ClassifierMixin, BaseEstimator):
    def __init__(self, C=1.0):
        self.C = C

    def fit(self, X, y):
        raise RuntimeError(f"cannot fit with C={self.C:.6f}")


def test_every_trial_failing_quotes_three_reasons_and_counts_the_others():
    X, y, groups = _patients()
    with pytest.raises(ValueError, match=r"Reasons: (1 x fold 0: RuntimeError: cannot fit "
                                         r"with C=[0-9.]+(; )?){3}; and 2 other reason\(s\)\."):
        optuna_search(_FailsWithItsOwnReason(), X, y, _c_space, groups=groups, cv=2,
                      n_trials=5, random_state=0)


def test_a_nan_fold_score_fails_its_trial_with_the_reason():
    X, y, groups = _patients()

    def nan_scorer(est, X, y):
        return float("nan")

    with pytest.raises(ValueError, match=r"all 2 trial\(s\) failed.*2 x fold 0: the score "
                                         r"is nan"):
        optuna_search(LogisticRegression(), X, y, _c_space, groups=groups, cv=2,
                      n_trials=2, scoring=nan_scorer, random_state=0)


def test_grouped_train_test_split_is_reproducible_by_random_state():
    y = np.tile([0, 1], 50)
    groups = np.arange(100) // 2
    a = grouped_train_test_split(y, groups=groups, random_state=0)
    b = grouped_train_test_split(y, groups=groups, random_state=0)
    c = grouped_train_test_split(y, groups=groups, random_state=1)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(np.sort(a[0]), np.sort(c[0]))


def test_missing_optuna_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna -> ImportError
    with pytest.raises(ImportError, match=r'pip install "sklearn-biodiff\[tune\]"'):
        _study.import_optuna()


def test_worker_seeds_follow_random_state_and_fit_numpy(monkeypatch):
    import uuid

    assert _study.worker_identity(None, shared=False)[1] is None
    assert _study.worker_identity(3, shared=False)[1] == 3
    a = _study.worker_identity(np.random.RandomState(0), shared=False)[1]
    assert isinstance(a, int) and a == _study.worker_identity(np.random.RandomState(0),
                                                              shared=False)[1]
    seeds = [_study.worker_identity(0, shared=True)[1] for _ in range(50)]
    assert all(0 <= s < 2**31 for s in seeds) and len(set(seeds)) == 50
    fixed = uuid.UUID(int=12345)
    monkeypatch.setattr(_study.uuid, "uuid4", lambda: fixed)  # one nonce for every call
    same = {_study.worker_identity(0, shared=True)[1] for _ in range(3)}
    other = _study.worker_identity(1, shared=True)[1]
    assert len(same) == 1 and other not in same


def test_study_creation_retries_eight_times_with_jittered_doubling_delays(tmp_path,
                                                                          monkeypatch):
    import sqlalchemy

    calls, sleeps = [], []

    def busy(**kwargs):
        calls.append(kwargs)
        raise sqlalchemy.exc.OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(optuna, "create_study", busy)
    monkeypatch.setattr(_study.time, "sleep", sleeps.append)
    with pytest.raises(RuntimeError, match=r"after 8 attempts: other processes kept the "
                                           r"database busy \(OperationalError: "):
        _study.create_or_load_study(storage=f"sqlite:///{tmp_path / 'x.db'}", study_name="s",
                                    load_if_exists=True)
    assert len(calls) == 8 and len(sleeps) == 7
    for k, s in enumerate(sleeps):
        base = _study._FIRST_DELAY * 2**k
        assert 0.5 * base <= s <= 1.5 * base


def test_grouped_cross_validate_scores_with_the_given_scoring():
    X, y, groups = _noisy_patients()
    folds = list(make_grouped_cv(3).split(X, y, groups))
    fitted = [LogisticRegression(C=0.05).fit(X[tr], y[tr]) for tr, _ in folds]
    auc = [roc_auc_score(y[te], m.decision_function(X[te])) for m, (_, te) in zip(fitted, folds)]
    acc = [m.score(X[te], y[te]) for m, (_, te) in zip(fitted, folds)]
    assert not np.allclose(auc, acc)  # the data tell the two scores apart
    with sklearn.config_context(enable_metadata_routing=True):  # the routed call too
        asking = make_pipeline(_GroupsRecorder().set_fit_request(groups=True),
                               LogisticRegression(C=0.05))
    for est in (LogisticRegression(C=0.05), asking):
        for scoring, manual in (("roc_auc", auc), ("accuracy", acc)):
            res = grouped_cross_validate(est, X, y, groups=groups, cv=3, scoring=scoring)
            np.testing.assert_allclose(res["test_score"], manual, err_msg=scoring)


def test_search_space_accepts_one_timestep_and_warns_only_beyond_n_timesteps():
    space = DACLSearchSpace(prefix="daclembedder__", vae_prefix=None, t_low=5, t_high=5)
    trial = optuna.create_study().ask()
    assert space(trial)["daclembedder__t_max"] == 5
    X, y, _ = _vectors()
    pipe = make_pipeline(DACLEmbedder(**{**TINY_DACL, "max_epochs": 1}, n_timesteps=50),
                         LogisticRegression())
    at_limit = DACLSearchSpace(prefix="daclembedder__", vae_prefix=None, t_low=49, t_high=50)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # t_high == n_timesteps is valid
        optuna_search(pipe, X, y, at_limit, groups=np.arange(len(y)), cv=make_grouped_cv(2),
                      n_trials=1, random_state=0)


def test_optuna_search_defaults_to_no_refit_and_no_score_without_a_complete_trial():
    X, y, groups = _patients()
    res = optuna_search(LogisticRegression(), X, y, _c_space, groups=groups, cv=2,
                        n_trials=1, random_state=0)
    assert res.best_estimator is None and res.best_score is not None
    with pytest.warns(UserWarning, match=r"none of the 1 trial\(s\)"):
        res = optuna_search(LogisticRegression(), X, y, _c_space, groups=groups, cv=2,
                            n_trials=1, pruner=_AlwaysPrune(), random_state=0)
    assert res.best_score is None and res.best_params is None


def test_no_complete_trial_warning_quotes_a_failed_trials_reason():
    X, y, groups = _patients()
    calls = []

    def space(trial):
        calls.append(trial.number)
        if trial.number == 0:
            return {"C": -1.0}  # LogisticRegression refuses it: the trial fails
        return {"C": 1.0}

    with pytest.warns(UserWarning, match=r"none of the 2 trial\(s\).*The first reason: fold "
                                         r"0: InvalidParameterError"):
        optuna_search(LogisticRegression(), X, y, space, groups=groups, cv=2, n_trials=2,
                      pruner=_AlwaysPrune(), random_state=0)


def test_integer_cv_stratifies_multiclass_targets_and_seeds_regression_folds():
    X, y, groups = _patients(12, 5)
    y3 = groups % 3  # three classes, constant within a patient
    assert isinstance(_check_grouped_cv(3, y3, groups), StratifiedGroupKFold)
    cont = groups * 0.1
    a = [te.tolist() for _, te in _check_grouped_cv(3, cont, groups).split(X, cont, groups)]
    b = [te.tolist() for _, te in _check_grouped_cv(3, cont, groups).split(X, cont, groups)]
    assert a == b  # seeded, not a new shuffle per call


def test_grouped_split_without_stratify_ignores_the_labels():
    y = np.tile([0, 0, 0, 1], 25)
    groups = np.arange(100)
    a = grouped_train_test_split(y, groups=groups, stratify=False, random_state=0)
    b = grouped_train_test_split(np.roll(y, 1), groups=groups, stratify=False, random_state=0)
    np.testing.assert_array_equal(a[1], b[1])


# ------------------------------------------ hostile storages and budgets (issue 33)
def test_optuna_search_refuses_a_budget_with_neither_n_trials_nor_timeout():
    X, y, groups = _patients()
    calls = []

    def space(trial):  # bounds the test if the call ran on without a budget
        calls.append(trial.number)
        if len(calls) > 3:
            raise RuntimeError("optuna_search ran on without a budget")
        return _c_space(trial)

    with pytest.raises(ValueError, match=r"n_trials=None and timeout=None.*would run until "
                                         r"the process is killed.*n_trials=.*timeout="):
        optuna_search(LogisticRegression(), X, y, space, groups=groups, cv=2,
                      n_trials=None, timeout=None)
    assert calls == []  # refused before the first trial
    start = time.monotonic()
    res = optuna_search(LogisticRegression(), X, y, _c_space, groups=groups, cv=2,
                        n_trials=None, timeout=0.5, random_state=0)  # a timeout alone is fine
    assert len(res.study.trials) >= 1 and time.monotonic() - start < 30


def test_a_read_only_sqlite_study_is_named_read_only(tmp_path):
    X, y, groups = _patients()
    db = tmp_path / "study.db"
    optuna_search(LogisticRegression(), X, y, _c_space, groups=groups, cv=2, n_trials=1,
                  storage=f"sqlite:///{db}", study_name="s", random_state=0)
    # SQLite's read-only mode: what a file without write permission gives a non-root user
    url = f"sqlite:///file:{db}?mode=ro&uri=true"
    with pytest.raises(PermissionError, match=r"Optuna storage sqlite:///file.*study\.db.* "
                                              r"is read-only \(.*readonly database\).*"
                                              r"writable") as info:
        optuna_search(LogisticRegression(), X, y, _c_space, groups=groups, cv=2,
                      n_trials=1, storage=url, study_name="s", random_state=0)
    assert "max length" not in str(info.value)
    assert len(optuna.load_study(study_name="s", storage=f"sqlite:///{db}").trials) == 1
    if os.geteuid() != 0:  # root writes to any file: there, SQLite's mode=ro stands for it
        db.chmod(0o444)
        with pytest.raises(PermissionError, match=r"study\.db is read-only"):
            optuna_search(LogisticRegression(), X, y, _c_space, groups=groups, cv=2,
                          n_trials=1, storage=f"sqlite:///{db}", study_name="s")
