"""Label-aware training of DiffAEEmbedder: the supervised contrastive term and its views."""

import numpy as np
import pytest
import sklearn
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import Pipeline

from sklearn_biodiff.feature_extraction import DiffAEEmbedder
from sklearn_biodiff.modules.diffae import DiffAEModule
from sklearn_biodiff.nets.supcon import DiffusionView

RNG = np.random.RandomState(0)
X = [np.sin(np.linspace(0, 3 * k, 400)) + 0.1 * RNG.randn(400) for k in range(1, 9)]
Y = np.tile([0, 1], 4)
G = np.repeat([0, 1, 2, 3], 2)
TINY = {"snippet_seconds": 0.5, "fs": 100.0, "model_fs": 100.0, "embedding_dim": 4,
        "encoder_layers": 1, "encoder_width": 4, "encoder_stride": 2,
        "unet_channels": (4, 8), "unet_stem_stride": 1, "n_timesteps": 20,
        "max_epochs": 2, "batch_size": 4, "random_state": 0, "n_threads": 1}

#: DiffAEEmbedder(**TINY).fit(X) at a111225 (before label-aware training): the epoch
#: losses and the first embeddings, computed in a checkout of that commit
RELEASE_LOSSES = [1.7719652652740479, 1.6072205305099487]
RELEASE_Z = [[-1.090258, -0.708649, 0.377369, 0.57831],
             [-1.093027, -0.711474, 0.379814, 0.581567],
             [-1.090724, -0.711808, 0.377868, 0.579993]]


def test_without_labels_training_is_the_releases():
    emb = DiffAEEmbedder(**TINY).fit(X)
    assert [row["train_loss"] for row in emb.history_] == RELEASE_LOSSES  # bit for bit
    np.testing.assert_allclose(emb.transform(X[:3]), RELEASE_Z, atol=2e-6)


def test_supervised_weight_zero_ignores_labels_bit_for_bit():
    plain = DiffAEEmbedder(**TINY).fit(X)
    ignored = DiffAEEmbedder(**TINY, supervised_weight=0).fit(X, Y)
    assert ignored.history_[-1]["train_loss"] == plain.history_[-1]["train_loss"]
    np.testing.assert_array_equal(ignored.transform(X), plain.transform(X))


@pytest.mark.parametrize("y", [Y, np.array(list("NANONANO")), np.tile([0, 1, 2, 3], 2)])
def test_labels_change_the_training_binary_and_multiclass(y):
    plain = DiffAEEmbedder(**TINY).fit(X)
    labelled = DiffAEEmbedder(**TINY).fit(X, y)
    assert labelled.history_[-1]["train_loss"] != plain.history_[-1]["train_loss"]
    assert not np.allclose(labelled.transform(X), plain.transform(X))


def test_fine_tuning_a_checkpoint_with_labels_changes_its_encoder(tmp_path):
    path = DiffAEEmbedder(**TINY).fit(X).save_pretrained(tmp_path / "ckpt")
    frozen = DiffAEEmbedder(**{**TINY, "max_epochs": 0}, pretrained=str(path)).fit(X)
    tuned = DiffAEEmbedder(**{**TINY, "max_epochs": 3}, pretrained=str(path)).fit(X, Y, G)
    before = frozen.net_.module_.encoder.state_dict()
    after = tuned.net_.module_.encoder.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    for readout in ("attention", "attention+stats", "attention+stats+blocks"):
        z = tuned.set_params(readout=readout).transform(X)
        assert z.shape[0] == len(X) and np.isfinite(z).all()


@pytest.mark.parametrize("view", ["crop", "diffusion", "denoised"])
def test_each_view_kind_trains(view):
    emb = DiffAEEmbedder(**TINY, supervised_view=view, view_timesteps=(2, 15)).fit(X, Y, G)
    assert all(np.isfinite(row["train_loss"]) for row in emb.history_)


@pytest.mark.parametrize("steps", [0, 1, 3])
def test_views_stay_finite_and_shaped_at_every_timestep(steps):
    torch.manual_seed(0)
    module = DiffAEModule(embedding_dim=4, encoder_width=4, encoder_layers=1,
                          encoder_stride=2, unet_channels=(4, 8), unet_stem_stride=1,
                          n_timesteps=20).eval()
    crops = torch.randn(3, 1, 48)
    for t in range(1, 21):
        view = DiffusionView(t, t, denoise_steps=steps)(module, crops)
        assert view.shape == crops.shape and torch.isfinite(view).all(), t
        assert not view.requires_grad
    with pytest.raises(ValueError, match="must lie in \\[1, n_timesteps=20\\]"):
        DiffusionView(0, 5)(module, crops)


def test_a_denoised_view_of_the_shipped_model_is_closer_to_the_crop_than_the_noisy_one():
    from sklearn_biodiff.datasets import load_cinc2017_sample
    from sklearn_biodiff.pretrained import DEFAULT_PRETRAINED

    sample = load_cinc2017_sample()
    emb = DiffAEEmbedder.from_pretrained(DEFAULT_PRETRAINED, fs=float(sample.fs),
                                         n_threads=1).fit(list(sample.signals[:2]))
    module = emb.net_.module_
    crops = torch.as_tensor(np.stack([np.asarray(x[:3000], np.float32)
                                      for x in sample.signals[:4]]))[:, None]
    crops = (crops - crops.mean(-1, keepdim=True)) / crops.std(-1, keepdim=True)
    torch.manual_seed(1)
    noisy = DiffusionView(150, 150)(module, crops)
    torch.manual_seed(1)
    denoised = DiffusionView(150, 150, denoise_steps=2)(module, crops)
    assert (denoised - crops).pow(2).mean() < 0.5 * (noisy - crops).pow(2).mean()


def test_a_regression_pipeline_trains_self_supervised_with_a_warning():
    # regression (review): a Pipeline passes a continuous y to every step; it raised
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline

    plain = DiffAEEmbedder(**TINY).fit(X)
    pipe = make_pipeline(DiffAEEmbedder(**TINY), Ridge())
    with pytest.warns(UserWarning, match="'continuous' targets, not class labels"):
        pipe.fit(X, np.linspace(0, 1, 8))
    assert pipe[0].history_[-1]["train_loss"] == plain.history_[-1]["train_loss"]


def test_a_model_pickled_before_labels_existed_keeps_ignoring_them():
    import pickle

    emb = DiffAEEmbedder(**TINY).fit(X)
    state = emb.__getstate__()
    for name in ("supervised_weight", "diffusion_weight", "supervised_temperature",
                 "supervised_view", "view_timesteps", "view_denoise_steps", "balanced"):
        del state[name]
    old = DiffAEEmbedder.__new__(DiffAEEmbedder)
    old.__setstate__(state)
    assert old.supervised_weight == 0.0 and old.balanced is True
    refit = pickle.loads(pickle.dumps(old)).fit(X, Y)
    assert refit.history_[-1]["train_loss"] == emb.history_[-1]["train_loss"]


@pytest.mark.parametrize("kwargs, y, groups, match", [
    ({}, Y[:5], None, "one label per record \\(8\\)"),
    ({}, Y, G[:3], "groups must have one entry per record"),
    ({}, None, G, "groups are used by the supervised term only"),
    ({"supervised_view": "diffusion", "view_timesteps": (5, 50)}, Y, None,
     "view_timesteps=\\(5, 50\\) must be two timesteps"),
    ({"supervised_view": "diffusion", "view_timesteps": (1, 2, 3)}, Y, None,
     "view_timesteps must be two integers"),
])
def test_bad_labels_groups_and_view_ranges_are_named(kwargs, y, groups, match):
    with pytest.raises(ValueError, match=match):
        DiffAEEmbedder(**TINY, **kwargs).fit(X, y, groups)


def test_max_epochs_zero_ignores_labels(tmp_path):
    path = DiffAEEmbedder(**TINY).fit(X).save_pretrained(tmp_path / "ckpt")
    a = DiffAEEmbedder(**{**TINY, "max_epochs": 0}, pretrained=str(path)).fit(X, Y)
    b = DiffAEEmbedder(**{**TINY, "max_epochs": 0}, pretrained=str(path)).fit(X)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))


def test_groups_are_routed_through_pipeline_and_grid_search():
    direct = DiffAEEmbedder(**TINY).fit(X, Y, G)
    without = DiffAEEmbedder(**TINY).fit(X, Y)
    assert direct.history_[-1]["train_loss"] != without.history_[-1]["train_loss"]
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = Pipeline([("emb", DiffAEEmbedder(**TINY).set_fit_request(groups=True)),
                         ("clf", LogisticRegression())])
        pipe.fit(X, Y, groups=G)
        assert pipe[0].history_[-1]["train_loss"] == direct.history_[-1]["train_loss"]
        search = GridSearchCV(pipe, {"clf__C": [1.0]}, cv=GroupKFold(2)).fit(X, Y, groups=G)
    refit = search.best_estimator_[0]
    assert refit.history_[-1]["train_loss"] == direct.history_[-1]["train_loss"]


def test_a_classification_head_trains_beside_and_stays_out_of_checkpoints(tmp_path):
    with_head = DiffAEEmbedder(**TINY, classifier_weight=1.0).fit(X, np.tile([0, 1, 2, 3], 2))
    head = with_head.net_.module_.classifier
    assert head is not None and head.out_features == 4
    without = DiffAEEmbedder(**TINY, classifier_weight=0.0).fit(X, np.tile([0, 1, 2, 3], 2))
    assert with_head.history_[-1]["train_loss"] != without.history_[-1]["train_loss"]
    assert with_head.transform(X).shape == without.transform(X).shape  # z only
    path = with_head.save_pretrained(tmp_path / "ckpt")
    from safetensors import safe_open

    with safe_open(str(path / "model.safetensors"), "pt") as f:
        assert not [k for k in f.keys() if k.startswith("classifier.")]
    # fine-tuning that checkpoint with a new head of another size works
    tuned = DiffAEEmbedder(**TINY, pretrained=str(path), classifier_weight=0.5).fit(X, Y)
    assert tuned.net_.module_.classifier.out_features == 2


def test_a_warm_start_cannot_add_a_classification_head():
    emb = DiffAEEmbedder(**TINY, warm_start=True, classifier_weight=0.0).fit(X, Y)
    with pytest.raises(ValueError, match="needs the classification head built in the first"):
        emb.set_params(classifier_weight=1.0).fit(X, Y)


def test_diffusion_weight_zero_trains_the_encoder_alone(tmp_path):
    path = DiffAEEmbedder(**TINY).fit(X).save_pretrained(tmp_path / "ckpt")
    frozen = DiffAEEmbedder(**{**TINY, "max_epochs": 0}, pretrained=str(path)).fit(X)
    tuned = DiffAEEmbedder(**{**TINY, "max_epochs": 2}, pretrained=str(path),
                           diffusion_weight=0.0, classifier_weight=1.0).fit(X, Y)
    before, after = frozen.net_.module_, tuned.net_.module_
    for name, w in before.denoiser.state_dict().items():  # skipped: not trained
        assert torch.equal(w, after.denoiser.state_dict()[name]), name
    assert any(not torch.equal(w, after.encoder.state_dict()[k])
               for k, w in before.encoder.state_dict().items())
    assert all(np.isfinite(row["train_loss"]) for row in tuned.history_)


def test_diffusion_weight_zero_needs_labels():
    with pytest.raises(ValueError, match="diffusion_weight=0 leaves nothing to train"):
        DiffAEEmbedder(**TINY, diffusion_weight=0.0).fit(X)
    module = DiffAEModule(embedding_dim=4, encoder_width=4, encoder_layers=1,
                          encoder_stride=2, unet_channels=(4, 8), unet_stem_stride=1,
                          n_timesteps=20)
    with pytest.raises(ValueError, match="denoise=False leaves only the embeddings"):
        module(torch.randn(2, 1, 48), denoise=False)


# ------------------------------------------------------------ the default recipe ("auto")
AUTO = {k: v for k, v in TINY.items() if k != "max_epochs"}


def test_auto_settings_fine_tune_a_checkpoint_with_labels_and_train_otherwise(tmp_path):
    from sklearn_biodiff.feature_extraction._diffae import (
        FINE_TUNING_SETTINGS,
        TRAINING_SETTINGS,
    )

    path = str(DiffAEEmbedder(**TINY).fit(X).save_pretrained(tmp_path / "ckpt"))
    tuned = DiffAEEmbedder(**AUTO, pretrained=path).fit(X, Y)
    assert tuned.training_settings_ == FINE_TUNING_SETTINGS
    assert len(tuned.history_) == FINE_TUNING_SETTINGS["max_epochs"]
    assert tuned.net_.lr == FINE_TUNING_SETTINGS["lr"]
    assert "lr_schedule" not in dict(tuned.net_.callbacks_)  # constant
    # without labels, or without a checkpoint: the self-supervised settings
    for est, y in ((DiffAEEmbedder(**AUTO, pretrained=path), None),
                   (DiffAEEmbedder(**AUTO), Y), (DiffAEEmbedder(**AUTO), None)):
        est.set_params(max_steps=1).fit(X, y)
        assert est.training_settings_ == TRAINING_SETTINGS
        assert "lr_schedule" in dict(est.net_.callbacks_)
    # an explicit value wins over "auto"
    mixed = DiffAEEmbedder(**AUTO, pretrained=path, lr=1e-2, max_epochs=1).fit(X, Y)
    assert mixed.training_settings_ == {**FINE_TUNING_SETTINGS, "lr": 1e-2, "max_epochs": 1}
    assert mixed.net_.lr == 1e-2 and len(mixed.history_) == 1


def test_the_defaults_with_labels_are_the_cross_validated_recipe():
    params = DiffAEEmbedder().get_params()
    assert {k: params[k] for k in ("max_epochs", "lr", "lr_schedule", "weight_decay")} == \
        dict.fromkeys(("max_epochs", "lr", "lr_schedule", "weight_decay"), "auto")
    assert params["supervised_weight"] == 0.5 and params["classifier_weight"] == 1.0
    assert params["diffusion_weight"] == 1.0 and params["supervised_view"] == "crop"


def test_records_shorter_than_a_crop_are_left_out_of_training_and_counted():
    short = [x[:30] for x in X[:3]]  # 0.3 s, shorter than a 0.5-s crop
    y = np.array([2, 2, 2, *Y])  # class 2 only on the short records
    with pytest.warns(UserWarning, match=r"3 of 11 training records are shorter than one "
                                         r"0.5 s crop.*e.g. record 0"):
        emb = DiffAEEmbedder(**TINY).fit(short + X, y)
    assert emb.net_.module_.classifier.out_features == 2  # the classes trained on
    reference = DiffAEEmbedder(**TINY).fit(X, Y)
    assert emb.history_[-1]["train_loss"] == reference.history_[-1]["train_loss"]
    assert emb.transform(short).shape == (3, 4)  # embedded as any record
    with pytest.raises(ValueError, match="the longest record has 30 sample.*Lower snippet"):
        DiffAEEmbedder(**TINY).fit(short)
