import json

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from sklearn_biodiff import __main__ as cli
from sklearn_biodiff.pipeline import make_dacl_pipeline


def test_pipeline_fits_signals_and_searches_timesteps(synthetic, tmp_path, tiny_pipeline_params):
    X, y = synthetic
    pipe = make_dacl_pipeline(**tiny_pipeline_params, memory=str(tmp_path), random_state=0)
    pipe.fit(X, y)
    proba = pipe.predict_proba(X)
    assert proba.shape == (len(X), 2)
    emb = pipe[:-1].transform(X)
    assert emb.shape == (len(X), 4)
    grid = GridSearchCV(
        clone(pipe),
        {"dacl__t_min": [1, 34], "dacl__t_max": [50]},
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
        scoring="roc_auc",
    )
    grid.fit(X, y)
    assert set(grid.cv_results_["param_dacl__t_min"]) == {1, 34}
    assert grid.best_estimator_.named_steps["dacl"].t_min in (1, 34)
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()


def test_demo_runs_in_quick_mode(tmp_path, capsys):
    assert cli.main(["demo", "--quick", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "demo.json").read_text())
    for key in ("st_features_linear_probe", "dacl_linear_probe", "dacl_prototype_distance"):
        assert 0.0 <= result[key] <= 1.0
    assert (tmp_path / "roc.png").stat().st_size > 1000
    assert "test AUROC" in capsys.readouterr().out
