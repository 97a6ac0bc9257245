import json

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from sklearn_biodiff import __main__ as cli
from sklearn_biodiff.pipeline import make_dacl_pipeline
from sklearn_biodiff.pretrained import DEFAULT_PRETRAINED, FEW_LABELS_READOUT, FINE_TUNED_PRETRAINED


def test_pipeline_fits_signals_and_searches_timesteps(synthetic, tmp_path, tiny_pipeline_params):
    X, y = synthetic
    tiny_pipeline_params["vae"]["max_epochs"] = 10
    tiny_pipeline_params["dacl"]["max_epochs"] = 10
    pipe = make_dacl_pipeline(**tiny_pipeline_params, memory=str(tmp_path),
                              keep_features=False, random_state=0)
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
    # the synthetic classes are separable (ST features alone: AUROC 1.0): the whole
    # pipeline must beat chance (0.5) clearly, on held-out folds too (seeded: 0.78)
    assert roc_auc_score(y, proba[:, 1]) > 0.7
    assert np.all(grid.cv_results_["mean_test_score"] > 0.7)


@pytest.mark.filterwarnings("error::FutureWarning")  # the demo is what users run first
def test_demo_runs_in_quick_mode(tmp_path, capsys):
    assert cli.main(["demo", "--quick", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "demo.json").read_text())
    # 74 real test records (the sample's records in the README split's test part),
    # seeded: ST 0.824, DACL probe 0.710, prototype 0.663, pretrained DiffAE (v4,
    # readout FEW_LABELS_READOUT, "attention+rhythm") 0.860, ST and DiffAE side by side
    # 0.851, the checkpoint fine-tuned with the training records' labels (one epoch)
    # 0.857 (DACL probe 0.61-0.71 and prototype 0.58-0.66 over seeds 0-2; the other rows
    # do not depend on the seed). Chance
    # is 0.5 and one AUROC's standard error here is about 0.06: each floor sits about two
    # below its value
    floors = {"st_features_linear_probe": 0.7, "dacl_linear_probe": 0.58,
              "dacl_prototype_distance": 0.53, "pretrained_diffae_linear_probe": 0.74,
              "st_and_pretrained_diffae_linear_probe": 0.73,
              "fine_tuned_diffae_linear_probe": 0.73}
    for key, floor in floors.items():
        assert floor < result[key] <= 1.0, (key, result[key])
    assert result["n_test"] == 74 and result["quick"] is True
    assert result["pretrained"] == DEFAULT_PRETRAINED == "diffae-cinc2017-v4"
    # the shipped label-fine-tuned checkpoint, frozen: its test records are outside the
    # README training part whose labels fine-tuned it
    assert result["label_fine_tuned"] == FINE_TUNED_PRETRAINED
    # (seeded: 0.878; one standard error about 0.06, the floor two below)
    assert 0.75 < result["label_fine_tuned_checkpoint_linear_probe"] <= 1.0
    assert result["readout"] == FEW_LABELS_READOUT == "attention+rhythm"  # a small set
    assert (tmp_path / "roc.png").stat().st_size > 1000
    out = capsys.readouterr().out
    assert "test AUROC" in out
    # the full-data figures it stands for, read from the checkpoint's model card
    full = result["full_data_figures_of_the_checkpoint"]["test"]
    assert set(full) == {"macro_f1", "mean_f1_NAO", "auroc_normal_vs_abnormal",
                         "auroc_af_vs_rest"}
    assert f"mean_f1_NAO {full['mean_f1_NAO']:.3f}" in out


def test_default_pipeline_keeps_the_features_and_false_is_the_papers():
    # the default chosen by CV (bench_dacl_patients, reproduce_dacl --keep-features)
    assert [n for n, _ in make_dacl_pipeline().steps] == ["st", "scale", "keep", "rescale",
                                                          "clf"]
    assert make_dacl_pipeline()["clf"].C == 0.01
    paper = make_dacl_pipeline(keep_features=False)
    assert [n for n, _ in paper.steps] == ["st", "scale", "vae", "dacl", "clf"]
    assert paper["clf"].C == 1.0


def test_keep_features_gives_the_classifier_the_scaled_features_and_the_same_embedding(
        synthetic, tiny_pipeline_params):
    X, y = synthetic
    plain = make_dacl_pipeline(**tiny_pipeline_params, keep_features=False,
                               random_state=0).fit(X, y)
    kept = make_dacl_pipeline(**tiny_pipeline_params, keep_features=True,
                              random_state=0).fit(X, y)
    assert [name for name, _ in kept.steps] == ["st", "scale", "keep", "rescale", "clf"]
    assert kept["clf"].C == 0.01
    features = kept["scale"].transform(kept["st"].transform(X))
    out = kept[:3].transform(X)
    n = features.shape[1]
    assert out.shape == (len(X), n + 4)
    np.testing.assert_array_equal(out[:, :n], features)
    # keep_features changes what the classifier sees, not what is learned: the VAE and
    # DACL fits are those of the paper pipeline with the same seed
    np.testing.assert_allclose(out[:, n:], plain[:4].transform(X), rtol=1e-6, atol=1e-6)
    assert kept.predict_proba(X).shape == (len(X), 2)
    assert list(kept[:3].get_feature_names_out()[:1]) == [
        "features__" + kept["st"].get_feature_names_out()[0]]


def test_keep_features_pipeline_searches_and_routes_groups(synthetic, tmp_path,
                                                          tiny_pipeline_params):
    from sklearn import config_context

    from sklearn_biodiff.model_selection import DACLSearchSpace, timestep_ablation_grid

    X, y = synthetic
    groups = np.arange(len(X)) // 2
    pipe = make_dacl_pipeline(**tiny_pipeline_params, keep_features=True,
                              memory=str(tmp_path), random_state=0)
    grid = timestep_ablation_grid(10, prefix="keep__embedding__dacl__")
    search = GridSearchCV(clone(pipe).set_params(keep__embedding__dacl__n_timesteps=10),
                          grid[:2], cv=StratifiedKFold(2, shuffle=True, random_state=0),
                          scoring="roc_auc").fit(X, y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    import optuna

    space = DACLSearchSpace(prefix="keep__embedding__dacl__",
                            vae_prefix="keep__embedding__vae__", latent_dims=(4,))
    params = space(optuna.trial.FixedTrial(
        {"keep__embedding__dacl__t_min": 3, "keep__embedding__dacl__t_max": 9,
         "keep__embedding__dacl__margin": 1.0, "keep__embedding__dacl__lr": 1e-3,
         "keep__embedding__vae__latent_dim": 4}))
    assert clone(pipe).set_params(**params)["keep"].get_params()["embedding__dacl__t_max"] == 9
    # patient ids reach the DACL step inside the union through metadata routing
    with config_context(enable_metadata_routing=True):
        routed = clone(pipe).set_params(keep__embedding__dacl__positive="other_patient")
        routed["keep"].transformer_list[1][1]["dacl"].set_fit_request(groups=True)
        routed.fit(X, y, groups=groups)
    without = clone(pipe).set_params(keep__embedding__dacl__positive="other_patient")
    with pytest.raises(ValueError, match="groups"):
        without.fit(X, y)
