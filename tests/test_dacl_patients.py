"""Patient-aware DACL: groups routing, the pair sampler, SupCon, mining, grouped validation."""

import math

import numpy as np
import pytest
import sklearn
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_biodiff.feature_extraction import DACLEmbedder
from sklearn_biodiff.nets._training import GroupValidSplit
from sklearn_biodiff.nets.losses import PairDataset, mined_triplet_loss, supcon_loss

RNG = np.random.RandomState(0)
N_PAT, PER = 12, 5
GROUPS = np.repeat(np.arange(N_PAT), PER)
Y = np.repeat(np.arange(N_PAT) % 2, PER)  # one class per patient
X = (RNG.randn(N_PAT * PER, 6) + 2.0 * Y[:, None]
     + RNG.randn(N_PAT, 6).repeat(PER, axis=0)).astype(np.float32)  # patient offsets
TINY = {"embedding_dim": 3, "widths": (8, 4), "time_dim": 4, "max_epochs": 2,
        "batch_size": 16, "random_state": 0}


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n_groups=st.integers(1, 6), n_classes=st.integers(2, 3),
       n=st.integers(4, 40))
def test_positive_never_from_the_anchors_patient_when_another_exists(seed, n_groups,
                                                                     n_classes, n):
    rng = np.random.RandomState(seed)
    y = rng.randint(n_classes, size=n)
    y[:n_classes] = np.arange(n_classes)  # every class present
    groups = rng.randint(n_groups, size=n)
    ds = PairDataset(np.zeros((n, 2)), y, groups, positive="other_patient", seed=seed)
    idx = rng.permutation(n)[: rng.randint(1, n + 1)]  # a batch: any subset of the rows
    X_b, yb = ds.batch(idx)
    partner = dict(zip(idx, ds.partner_indices(idx)))
    neg = dict(zip(idx, ds.negative_indices(idx)))
    for i in idx:
        same_class = np.flatnonzero(y == y[i])
        other_patient = same_class[groups[same_class] != groups[i]]
        assert y[partner[i]] == y[i]
        if len(other_patient):
            assert groups[partner[i]] != groups[i]
        elif len(same_class) > 1:
            assert partner[i] != i
        assert y[neg[i]] != y[i]  # a negative never shares the anchor's class
    # the batch's label columns describe what it drew
    assert (yb[:, 0] != yb[:, 4]).all()


def test_patient_positive_is_another_record_of_the_patient():
    ds = PairDataset(X, Y, GROUPS, positive="patient", seed=0)
    partner = ds.partner_indices(np.arange(len(X)))
    assert (GROUPS[partner] == GROUPS).all() and (partner != np.arange(len(X))).all()
    alone = PairDataset(X[:3], [0, 1, 0], [0, 1, 2], positive="patient", seed=0)
    np.testing.assert_array_equal(alone.partner_indices(np.arange(3)), np.arange(3))


def test_supcon_matches_a_hand_computed_value():
    f = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    pos = torch.tensor([[0, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=torch.bool)
    valid = ~torch.eye(3, dtype=torch.bool)
    s = 1 / math.sqrt(2)  # cos(f0, f1) = cos(f1, f2); cos(f0, f2) = 0
    t = 0.5
    l0 = -(s / t - math.log(math.exp(s / t) + math.exp(0.0)))
    l1 = -(s / t - math.log(math.exp(s / t) + math.exp(s / t)))
    expected = (l0 + l1) / 2  # anchor 2 has no positive: left out
    assert supcon_loss(f, pos, valid, temperature=t).item() == pytest.approx(expected, 1e-6)
    # pairs outside ``valid`` do not count at all
    valid2 = valid.clone()
    valid2[1, 2] = False
    l1b = -(s / t - math.log(math.exp(s / t)))
    assert supcon_loss(f, pos, valid2, temperature=t).item() == pytest.approx((l0 + l1b) / 2,
                                                                             1e-6)


def test_mined_negatives_are_the_closest_of_another_class():
    a = torch.tensor([[0.0, 0.0]])
    p = torch.tensor([[1.0, 0.0]])
    n = torch.tensor([[5.0, 0.0]])
    labels = torch.tensor([[0, 0, 1]])
    # only candidate of another class: n at squared distance 25
    assert mined_triplet_loss(a, p, n, labels, margin=1.0).item() == 0.0
    a2 = torch.tensor([[0.0, 0.0], [0.5, 0.0]])
    p2 = torch.tensor([[1.0, 0.0], [0.6, 0.0]])
    n2 = torch.tensor([[5.0, 0.0], [9.0, 0.0]])
    labels2 = torch.tensor([[0, 0, 1], [1, 1, 0]])
    # anchor 0 (class 0): hardest negative is anchor 1 (class 1) at 0.25 -> 1 - 0.25 + 1
    hard = mined_triplet_loss(a2, p2, n2, labels2, margin=1.0, mining="hard")
    d_pos1 = 0.1 ** 2
    hard1 = 0.25  # anchor 1's closest class-0 candidate: anchor 0
    assert hard.item() == pytest.approx(((1 - 0.25 + 1) + (d_pos1 - hard1 + 1)) / 2, 1e-5)


def test_grouped_validation_split_holds_out_whole_patients():
    ds = PairDataset(X, Y, GROUPS, seed=0)
    train, valid = GroupValidSplit(0.25, seed=0)(ds)
    assert set(train.groups).isdisjoint(valid.groups)
    assert len(train.groups) + len(valid.groups) == len(X)
    # partners and negatives of the training part come from the training part only
    assert np.isin(train.partner_indices(np.arange(len(train.groups))),
                   np.arange(len(train.groups))).all()
    est = DACLEmbedder(**TINY, validation_fraction=0.25, early_stopping_patience=5)
    est.fit(X, Y, groups=GROUPS)
    assert all("valid_loss" in row for row in est.history_)


@pytest.mark.parametrize("params", [
    {"objective": "supcon"}, {"objective": "patient"},
    {"positive": "other_patient"}, {"negative_mining": "semihard"},
    {"negative_mining": "hard", "positive": "other_patient"},
    {"input_skip": "residual"}, {"input_skip": "concat"}])
def test_options_train_and_transform(params):
    est = DACLEmbedder(**TINY, **params).fit(X, Y, groups=GROUPS)
    Z = est.transform(X)
    assert np.isfinite(Z).all()
    width = 3 + X.shape[1] if params.get("input_skip") == "concat" else 3
    assert Z.shape == (len(X), width) and len(est.get_feature_names_out()) == width
    assert np.isfinite([r["train_loss"] for r in est.history_]).all()


def test_concat_skip_keeps_the_input():
    est = DACLEmbedder(**TINY, input_skip="concat").fit(X, Y)
    np.testing.assert_array_equal(est.transform(X)[:, 3:], X)


def test_paper_setting_is_unchanged_by_groups_it_does_not_use():
    a = DACLEmbedder(**TINY).fit(X, Y)
    b = DACLEmbedder(**TINY).fit(X, Y, groups=GROUPS)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))


def test_patient_options_need_groups():
    with pytest.raises(ValueError, match="needs the patient of each row.*groups="):
        DACLEmbedder(**TINY, objective="patient").fit(X, Y)
    with pytest.raises(ValueError, match="one entry per row"):
        DACLEmbedder(**TINY).fit(X, Y, groups=GROUPS[:-1])


def test_groups_reach_dacl_through_pipeline_and_metadata_routing():
    def pipe():
        dacl = DACLEmbedder(**TINY, objective="patient")
        return Pipeline([("scale", StandardScaler()), ("dacl", dacl),
                         ("clf", LogisticRegression())])

    # without routing: Pipeline's step-prefixed fit parameter
    pipe().fit(X, Y, dacl__groups=GROUPS)
    with sklearn.config_context(enable_metadata_routing=True):
        p = pipe()
        p.set_params(dacl=p["dacl"].set_fit_request(groups=True))
        p["scale"].set_fit_request(sample_weight=False)
        p["clf"].set_fit_request(sample_weight=False)
        res = cross_validate(p, X, Y, cv=GroupKFold(3), params={"groups": GROUPS})
        assert len(res["test_score"]) == 3
        grid = GridSearchCV(p, {"clf__C": [0.1, 1.0]}, cv=GroupKFold(3))
        grid.fit(X, Y, groups=GROUPS)
        assert grid.best_estimator_["dacl"].classes_.tolist() == [0, 1]
    # without the request, routing refuses to drop groups silently
    with sklearn.config_context(enable_metadata_routing=True):
        with pytest.raises(Exception, match="groups"):
            pipe().fit(X, Y, groups=GROUPS)
