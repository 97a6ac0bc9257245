import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from sklearn_biodiff.engine import TorchEngine
from sklearn_biodiff.feature_extraction import DACLEmbedder, DenoisingAEEmbedder, VAELatent
from sklearn_biodiff.nets.losses import TripletDataset, triplet_loss

SMALL = {"embedding_dim": 8, "widths": (32, 16), "time_dim": 16, "batch_size": 32}


@pytest.fixture(scope="module")
def separable():
    rng = np.random.RandomState(0)
    n = 120
    X = np.r_[rng.randn(n, 10), rng.randn(n, 10) + 1.5].astype(np.float32)
    y = np.r_[np.zeros(n), np.ones(n)].astype(int)
    return X, y


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=4, max_size=60), st.integers(0, 10**6))
def test_triplet_negatives_never_share_the_anchor_class(labels, seed):
    y = np.asarray(labels)
    if len(np.unique(y)) < 2:
        with pytest.raises(ValueError, match="two classes"):
            TripletDataset(np.zeros((len(y), 2)), y)
        return
    ds = TripletDataset(np.arange(len(y))[:, None].repeat(2, 1), y, seed=seed)
    idx = np.arange(len(y))
    for _ in range(3):
        neg = ds.negative_indices(idx)
        assert np.all(y[neg] != y[idx])
        X, codes = ds.batch(idx)
        assert np.all(y[X["negative"][:, 0].numpy().astype(int)] != y[idx])
    assert all(y[ds.negative_index(i)] != y[i] for i in idx)


def test_triplet_loss_values():
    a = torch.zeros(2, 3)
    p = torch.zeros(2, 3)
    n = torch.tensor([[2.0, 0, 0], [0.5, 0, 0]])
    # d_pos = 0; d_neg = 4 and 0.25; margin 1 -> losses 0 and 0.75
    assert triplet_loss(a, p, n, margin=1.0).item() == pytest.approx(0.375)


def test_dacl_loss_decreases_and_separates(separable):
    X, y = separable
    dacl = DACLEmbedder(max_epochs=15, lr=1e-3, random_state=0, **SMALL).fit(X, y)
    losses = [h["train_loss"] for h in dacl.history_]
    assert np.mean(losses[-3:]) < 0.5 * np.mean(losses[:2])
    E = dacl.transform(X)
    assert E.shape == (len(X), 8) and E.dtype == np.float32
    assert roc_auc_score(y, dacl.decision_function(X)) > 0.95
    np.testing.assert_allclose(dacl.score_samples(X), -dacl.decision_function(X))
    assert dacl.normal_label_ == 0
    np.testing.assert_allclose(dacl.prototype_, E[y == 0].mean(0), rtol=1e-4, atol=1e-5)


def test_dacl_is_reproducible(separable):
    X, y = separable
    a = DACLEmbedder(max_epochs=2, random_state=3, **SMALL).fit(X, y).transform(X)
    b = DACLEmbedder(max_epochs=2, random_state=3, **SMALL).fit(X, y).transform(X)
    np.testing.assert_array_equal(a, b)


def test_gaussian_baseline_and_string_labels(separable):
    X, y = separable
    labels = np.where(y == 1, "A", "N")
    dacl = DACLEmbedder(augmentation="gaussian", noise_std=0.2, max_epochs=3,
                        random_state=0, **SMALL).fit(X, labels)
    assert dacl.normal_label_ == "N"
    assert dacl.decision_function(X).shape == (len(X),)


def test_dacl_errors(separable):
    X, y = separable
    with pytest.raises(ValueError, match="t_min=30 must not exceed t_max=10"):
        DACLEmbedder(t_min=30, t_max=10, **SMALL).fit(X, y)
    with pytest.raises(ValueError, match="at least 2 classes"):
        DACLEmbedder(**SMALL).fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="normal_label='X' is not among"):
        DACLEmbedder(normal_label="X", max_epochs=1, **SMALL).fit(X, y)
    with pytest.raises(ValueError, match="requires y"):
        DACLEmbedder(**SMALL).fit(X, None)
    with pytest.raises(ValueError, match="240 records but y has 3"):
        DACLEmbedder(**SMALL).fit(X, y[:3])
    with pytest.raises(ValueError, match="t_max"):
        DACLEmbedder(t_max=60, **SMALL).fit(X, y)


def test_warm_start_continues_training(separable):
    X, y = separable
    dacl = DACLEmbedder(max_epochs=2, warm_start=True, random_state=0, **SMALL)
    dacl.fit(X, y)
    net = dacl.net_
    dacl.fit(X, y)
    assert dacl.net_ is net and len(dacl.history_) == 4


def test_warm_start_uses_max_epochs_and_lr_set_since(separable):
    # bug: a warm-started fit kept the max_epochs and lr the net was built with
    X, y = separable
    dacl = DACLEmbedder(max_epochs=2, warm_start=True, random_state=0, **SMALL).fit(X, y)
    dacl.set_params(max_epochs=3, lr=1e-4).fit(X, y)
    assert len(dacl.history_) == 2 + 3
    assert all(g["lr"] == 1e-4 for g in dacl.net_.optimizer_.param_groups)


def test_checkpoint_and_resume(separable, tmp_path):
    X, y = separable
    DACLEmbedder(max_epochs=2, engine=TorchEngine(checkpoint_dir=str(tmp_path)), random_state=0,
                 **SMALL).fit(X, y)
    assert (tmp_path / "params.pt").exists()
    resumed = DACLEmbedder(max_epochs=2, engine=TorchEngine(checkpoint_dir=str(tmp_path)),
                           warm_start=True,
                           random_state=0, **SMALL).fit(X, y)
    assert len(resumed.history_) == 4  # 2 epochs loaded from the checkpoint + 2 more


def test_dae_learns_to_reconstruct(separable):
    X, _ = separable
    dae = DenoisingAEEmbedder(max_epochs=20, lr=3e-3, random_state=0, **SMALL).fit(X)
    losses = [h["train_loss"] for h in dae.history_]
    assert losses[-1] < 0.6 * losses[0]
    assert dae.transform(X).shape == (len(X), 8)


def test_vae_latent_and_inverse(separable):
    X, _ = separable
    vae = VAELatent(latent_dim=4, hidden_dims=(32,), max_epochs=30, lr=3e-3,
                    random_state=0).fit(X)
    Z = vae.transform(X)
    assert Z.shape == (len(X), 4) and Z.dtype == np.float32
    R = vae.inverse_transform(Z)
    assert R.shape == X.shape
    # reconstructions beat predicting the mean
    assert np.mean((R - X) ** 2) < np.mean((X - X.mean(0)) ** 2)
    assert list(vae.get_feature_names_out()) == [f"vaelatent{i}" for i in range(4)]
    assert "valid_loss" in vae.history_[0]
    with pytest.raises(ValueError, match="latent_dim=4"):
        vae.inverse_transform(np.zeros((2, 3)))
    np.testing.assert_array_equal(vae.transform(X), Z)  # deterministic in eval mode


# ------------------------------------------------------ feature names (issue 33)
_VECTOR_ESTIMATORS = {
    "DACLEmbedder": lambda: DACLEmbedder(max_epochs=2, random_state=0, **SMALL),
    "DenoisingAEEmbedder": lambda: DenoisingAEEmbedder(max_epochs=2, random_state=0,
                                                       **SMALL),
    "VAELatent": lambda: VAELatent(latent_dim=4, hidden_dims=(16,), max_epochs=2,
                                   batch_size=32, random_state=0),
}


@pytest.mark.parametrize("name", sorted(_VECTOR_ESTIMATORS))
def test_vector_estimators_keep_and_check_dataframe_column_names(name, separable):
    pd = pytest.importorskip("pandas")
    X, y = separable
    columns = [f"st_{i}" for i in range(X.shape[1])]
    df = pd.DataFrame(X, columns=columns)
    est = _VECTOR_ESTIMATORS[name]().fit(df, y)
    np.testing.assert_array_equal(est.feature_names_in_, columns)
    assert est.n_features_in_ == X.shape[1]
    Xt = est.transform(df)
    # the same data, columns reordered: scikit-learn's error, not other embeddings
    reordered = df[columns[::-1]]
    with pytest.raises(ValueError, match="The feature names should match those that were "
                                         "passed during fit.\nFeature names must be in the "
                                         "same order"):
        est.transform(reordered)
    renamed = df.rename(columns={"st_0": "qrs_width"})
    with pytest.raises(ValueError, match=r"Feature names unseen at fit time:\n- qrs_width"):
        est.transform(renamed)
    # a plain array after a DataFrame fit: scikit-learn's warning, the same embeddings
    with pytest.warns(UserWarning, match=f"X does not have valid feature names, but {name} "
                                         "was fitted with feature names"):
        np.testing.assert_allclose(est.transform(X), Xt, rtol=1e-6)
    if name == "DACLEmbedder":  # the other public methods check the names too
        with pytest.raises(ValueError, match="must be in the same order"):
            est.decision_function(reordered)


@pytest.mark.parametrize("name", sorted(_VECTOR_ESTIMATORS))
def test_vector_estimators_fitted_on_arrays_warn_on_a_dataframe(name, separable):
    pd = pytest.importorskip("pandas")
    X, y = separable
    est = _VECTOR_ESTIMATORS[name]().fit(X, y)
    assert not hasattr(est, "feature_names_in_")
    with pytest.warns(UserWarning, match=f"X has feature names, but {name} was fitted "
                                         "without feature names"):
        est.transform(pd.DataFrame(X, columns=[f"st_{i}" for i in range(X.shape[1])]))


def test_dacl_fit_on_a_dataframe_does_not_warn_about_its_own_names(separable):
    import warnings

    pd = pytest.importorskip("pandas")
    X, y = separable
    df = pd.DataFrame(X, columns=[f"st_{i}" for i in range(X.shape[1])])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "X does not have valid feature names"
        est = DACLEmbedder(max_epochs=2, random_state=0, **SMALL).fit(df, y)
        est.decision_function(df)
    ref = DACLEmbedder(max_epochs=2, random_state=0, **SMALL).fit(X, y)
    np.testing.assert_allclose(est.prototype_, ref.prototype_, rtol=1e-6)
