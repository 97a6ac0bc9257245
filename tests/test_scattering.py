import numpy as np
import pytest
import torch
from joblib import Memory
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from sklearn_biodiff._validation import SignalList
from sklearn_biodiff.feature_extraction import ScatteringFeatures, _scattering

FAST = {"J": 6, "Q": 4}


@pytest.fixture(scope="module")
def ragged():
    from sklearn_biodiff.datasets import make_synthetic_ecg

    return make_synthetic_ecg(12, min_seconds=3, max_seconds=20, random_state=1)


def test_shapes_dtype_and_names_on_ragged(ragged):
    X, _ = ragged
    st = ScatteringFeatures(**FAST).fit(X)
    F = st.transform(X)
    assert F.shape == (12, st.n_features_out_) and F.dtype == np.float32
    assert np.isfinite(F).all()
    names = st.get_feature_names_out()
    assert len(names) == F.shape[1] and len(set(names)) == len(names)
    assert names[0] == "mean_S0" and names[-1].startswith("std_S2_")
    assert all(n.endswith("Hz") for n in names if "_S0" not in n)
    mean_only = ScatteringFeatures(pooling="mean", **FAST).fit(X)
    assert mean_only.n_features_out_ * 2 == st.n_features_out_


def test_deterministic(ragged):
    X, _ = ragged
    a = ScatteringFeatures(**FAST).fit_transform(X)
    b = ScatteringFeatures(**FAST).fit_transform(X)
    np.testing.assert_array_equal(a, b)


def test_batched_equals_one_record_path(ragged):
    X, _ = ragged
    batched = ScatteringFeatures(batch_size=64, **FAST).fit_transform(X)
    single = np.vstack([ScatteringFeatures(**FAST).fit_transform([x]) for x in X])
    np.testing.assert_allclose(batched, single, rtol=1e-4, atol=1e-4)


def test_uses_the_whole_record(ragged):
    X, _ = ragged
    x = X[0]
    st = ScatteringFeatures(**FAST).fit([x])
    # changing the last quarter of the record changes the features
    y = x.copy()
    y[-len(y) // 4:] = 0
    assert not np.allclose(st.transform([x]), st.transform([y]))


@pytest.mark.parametrize("contextualize", [True, False])
def test_near_invariance_to_small_time_shift(sample, contextualize):
    x = sample.signals[0]
    st = ScatteringFeatures(contextualize=contextualize).fit([x])
    base = st.transform([x[8:-8]])[0]
    shifted = st.transform([x[:-16]])[0]
    other = st.transform([sample.signals[1][: len(x) - 16]])[0]
    d_shift = np.linalg.norm(base - shifted)
    d_other = np.linalg.norm(base - other)
    assert d_shift < 0.1 * d_other


def test_contextualize_changes_features_but_not_shape(ragged):
    X, _ = ragged
    a = ScatteringFeatures(contextualize=True, **FAST).fit_transform(X)
    b = ScatteringFeatures(contextualize=False, **FAST).fit_transform(X)
    assert a.shape == b.shape and not np.allclose(a, b)


def test_too_short_record_names_minimum(ragged):
    X, _ = ragged
    st = ScatteringFeatures(J=8)
    with pytest.raises(ValueError, match=r"record 1 has 100 sample\(s\).*at least 256"):
        st.fit([X[0], X[0][:100]])


def test_wrong_fs_is_detected():
    X = SignalList([np.random.RandomState(0).randn(2000)], fs=360)
    with pytest.raises(ValueError, match="360 Hz but ScatteringFeatures expects fs=300"):
        ScatteringFeatures(**FAST).fit(X)
    ScatteringFeatures(fs=360, **FAST).fit(X)


def test_memory_serves_repeated_calls(ragged, tmp_path, monkeypatch):
    X, y = ragged
    built = []

    class Counting(_scattering.DyadicScattering1D):
        def __init__(self, *a, **k):
            built.append(1)
            super().__init__(*a, **k)

    monkeypatch.setattr(_scattering, "DyadicScattering1D", Counting)
    st = ScatteringFeatures(memory=Memory(tmp_path / "c", verbose=0), **FAST)
    a = st.fit_transform(X)
    n_built = len(built)
    assert n_built > 0
    b = clone(st).fit(X).transform(X)
    assert len(built) == n_built
    np.testing.assert_array_equal(a, b)


def test_pipeline_memory_featurises_once(ragged, tmp_path, monkeypatch):
    X, y = ragged
    calls = []
    real = _scattering._featurise

    def counting(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(_scattering, "_featurise", counting)
    pipe = Pipeline([("st", ScatteringFeatures(**FAST)), ("lr", LogisticRegression())],
                    memory=str(tmp_path / "pipe"))
    pipe.fit(X, y)
    clone(pipe).set_params(lr__C=0.5).fit(X, y)
    assert len(calls) == 1


def test_device_auto_resolves(ragged):
    st = ScatteringFeatures(**FAST).fit(ragged[0][:2])
    assert st.device_.type == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.parametrize("n", [4096, 6144])
def test_features_equal_kymatio_scattering1d_on_one_crop(n):
    """Without attention or standardisation, the features are kymatio's own
    ``Scattering1D`` of the crop, log-compressed (orders 1-2), pooled over its frames.

    For these lengths kymatio's left padding is a multiple of the hop ``2**J``, as ours
    always is (``pad_to_dyadic`` rounds it down so that frames start at the record's
    first sample); for other lengths kymatio's frames are shifted by less than a hop.
    """
    from kymatio.scattering1d.frontend.torch_frontend import ScatteringTorch1D

    from sklearn_biodiff.datasets import make_synthetic_ecg

    J, Q, eps = 6, 4, 1e-3
    crop = make_synthetic_ecg(1, min_seconds=30, max_seconds=30, random_state=3)[0][0][:n]
    assert len(crop) == n
    kym = ScatteringTorch1D(J=J, shape=n, Q=Q, max_order=2)
    with torch.no_grad():
        S = kym(torch.from_numpy(crop.astype(np.float32))[None])[0].double()  # (D, frames)
    order = np.array(kym.meta()["order"])
    S[order > 0] = torch.log(S[order > 0].clamp_min(0) + eps)
    expected = torch.cat([S.mean(1), S.std(1, unbiased=False)]).numpy()
    ours = ScatteringFeatures(J=J, Q=Q, log_eps=eps, contextualize=False, standardize=False,
                              pooling="mean_std").fit_transform([crop])[0]
    assert ours.shape == expected.shape == (2 * len(order),)
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------ multi-lead (issue 20)
def _same_as_the_pure_function(st, records):
    """What ScatteringFeatures computed before multi-lead support: _featurise of the
    standardised records, called directly."""
    from sklearn_biodiff.preprocessing._scale import standardize_records

    params = {k: getattr(st, k) for k in (
        "J", "Q", "T", "max_order", "log_eps", "contextualize", "n_layers",
        "positional_encoding", "temperature", "pooling", "batch_size")}
    recs = [standardize_records(r).astype(np.float32) for r in records]
    return _scattering._featurise(recs, params, "cpu")


def test_single_lead_features_are_bit_identical_to_the_single_lead_path(ragged):
    X, _ = ragged
    rag = [x[: 600 + 150 * i] for i, x in enumerate(X[:4])]
    X2 = np.stack([x[:800] for x in X[:4]]).astype(np.float32)
    for data in (rag, X2, X2[:, None, :], [x[None] for x in rag]):
        st = ScatteringFeatures(**FAST, device="cpu").fit(data)
        records = [np.asarray(r).reshape(-1) for r in data]
        np.testing.assert_array_equal(st.transform(data),
                                      _same_as_the_pure_function(st, records))
        assert st.get_feature_names_out()[0] == "mean_S0"  # no lead prefix for one lead


def test_leads_are_featurised_alone_and_concatenated_with_named_features(ragged):
    X, _ = ragged
    X2 = np.stack([x[:800] for x in X]).astype(np.float32)
    X3 = np.stack([X2, -0.4 * X2[:, ::-1]], axis=1)
    st = ScatteringFeatures(**FAST).fit(X3)
    F = st.transform(X3)
    per_lead = [ScatteringFeatures(**FAST).fit_transform(X3[:, k]) for k in range(2)]
    d = per_lead[0].shape[1]
    assert F.shape == (12, 2 * d) and st.n_features_out_ == 2 * d and st.n_leads_in_ == 2
    for k in range(2):  # the same values up to float32 batch effects
        np.testing.assert_allclose(F[:, k * d : (k + 1) * d], per_lead[k], rtol=1e-5,
                                   atol=1e-5)
    names = st.get_feature_names_out()
    assert len(names) == 2 * d and len(set(names)) == 2 * d
    assert names[0] == "lead0_mean_S0" and names[d] == "lead1_mean_S0"
    named = ScatteringFeatures(**FAST, lead_names=["MLII", "V1"]).fit(X3)
    assert named.get_feature_names_out()[d] == "V1_mean_S0"
    with pytest.raises(ValueError, match=r"lead_names has 1 name\(s\) \(\['MLII'\]\) but X "
                                         r"has 2 lead\(s\)"):
        ScatteringFeatures(**FAST, lead_names=["MLII"]).fit(X3)


@pytest.mark.parametrize("Q", [(), (1, 2, 3), (40,), (0, 1), (8, 1.5)])
def test_bad_tuple_q_is_refused_with_what_to_pass(Q):
    X = np.random.default_rng(0).standard_normal((2, 600))
    with pytest.raises(ValueError, match=r"Q must be an integer in \[1, 32\] or a tuple"):
        ScatteringFeatures(J=4, Q=Q).fit(X)


def test_tuple_q_of_one_or_two_levels_works():
    X = np.random.default_rng(0).standard_normal((2, 600))
    a = ScatteringFeatures(J=4, Q=4).fit_transform(X)
    b = ScatteringFeatures(J=4, Q=(4,)).fit_transform(X)
    np.testing.assert_array_equal(a, b)
    assert np.isfinite(ScatteringFeatures(J=4, Q=(4, 2)).fit_transform(X)).all()
