"""scikit-learn's estimator checks on every public estimator of the package.

New estimators are found by :func:`sklearn_biodiff.utils.all_estimators`;
``INIT_PARAMS`` gives them cheap settings (tiny widths, few epochs) and
``EXPECTED_FAILED`` lists each check that cannot apply, with the reason.
"""

import pickle

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_biodiff.utils import all_estimators

ESTIMATORS = dict(all_estimators())

#: cheap constructor arguments for tests
INIT_PARAMS: dict[str, dict] = {
    "Resample": {"orig_fs": 2, "target_fs": 1},
    "AddNoise": {"kind": "mixture", "snr_db": 6.0, "fs": 10.0, "powerline_hz": 3.0,
                 "random_state": 0},
    "FixedLength": {"length": 8},
    "ScatteringFeatures": {"J": 1, "Q": 1, "batch_size": 8},
    "VAELatent": {"latent_dim": 2, "hidden_dims": (8,), "max_epochs": 2, "batch_size": 16,
                  "validation_fraction": None, "random_state": 0},
    "DACLEmbedder": {"embedding_dim": 2, "widths": (8, 4), "time_dim": 4, "max_epochs": 2,
                     "batch_size": 16, "random_state": 0},
    "DiffAEEmbedder": {"snippet_seconds": 2 / 300, "embedding_dim": 2, "encoder_layers": 1,
                       "encoder_width": 4, "encoder_stride": 1, "unet_channels": (4, 8),
                       "unet_stem_stride": 1, "n_timesteps": 10, "max_epochs": 1,
                       "batch_size": 16, "random_state": 0},
    "DenoisingAEEmbedder": {"embedding_dim": 2, "widths": (8, 4), "time_dim": 4,
                            "decoder_hidden": (8,), "max_epochs": 2, "batch_size": 16,
                            "random_state": 0},
}

_VARIABLE_LENGTH = (
    "records may have any length: a signal transformer accepts a different "
    "number of samples at transform time than at fit time"
)

#: check name -> reason, per estimator
EXPECTED_FAILED: dict[str, dict[str, str]] = {
    name: {"check_n_features_in_after_fitting": _VARIABLE_LENGTH}
    for name in ("Resample", "BandpassFilter", "StandardizeSignal", "FixedLength",
                 "ScatteringFeatures", "AddNoise")
}
_NOISE_ORDER = ("noise is drawn record by record from one seeded stream, so a record's "
                "noise depends on its position in the batch, as for any random augmentation")
EXPECTED_FAILED["AddNoise"].update({
    "check_methods_sample_order_invariance": _NOISE_ORDER,
    "check_methods_subset_invariance": _NOISE_ORDER,
    "check_estimators_dtypes": "the check's integer data has constant rows; a constant "
                               "record has zero power, so an SNR is undefined and AddNoise "
                               "raises instead of returning it unchanged",
})
_FLOAT32_BATCH = (
    "float32 matrix products of a batch differ in the last bits (~1e-7 relative) "
    "with the position of a row in the batch; the check demands 1e-7 equality. "
    "test_embedders_are_order_and_batch_invariant_to_float32_tolerance checks what holds"
)
_FEATURE_COUNT = (
    "only the check's last step fails: records may have any length, so transform "
    "accepts rows of another length than in fit instead of raising; "
    "test_transformer_general_fails_only_on_the_feature_count shows that the other "
    "steps (fit, fit_transform == fit().transform, repeated fits, n_samples) pass"
)
for _name in ("DACLEmbedder", "DenoisingAEEmbedder"):
    EXPECTED_FAILED[_name] = {
        "check_methods_sample_order_invariance": _FLOAT32_BATCH,
    }
EXPECTED_FAILED["DiffAEEmbedder"] = {
    "check_n_features_in_after_fitting": _VARIABLE_LENGTH,
    "check_transformer_general": _FEATURE_COUNT,
    "check_transformer_general(readonly_memmap=True)": _FEATURE_COUNT,
    "check_methods_sample_order_invariance": _FLOAT32_BATCH,
    "check_estimators_dtypes": "the check's integer data has constant rows; a constant "
                               "record cannot be standardised, so it is rejected",
    "check_fit2d_1sample": "with the test's 2-sample crops the U-Net's coarsest level holds "
                           "one value per GroupNorm group, which torch rejects in training "
                           "(real crops have thousands of samples)",
}
for _name in ("ScatteringFeatures",):
    EXPECTED_FAILED[_name].update({
        "check_transformer_general": _FEATURE_COUNT,
        "check_transformer_general(readonly_memmap=True)": _FEATURE_COUNT,
    })


def make(name):
    return ESTIMATORS[name](**INIT_PARAMS.get(name, {}))


def _expected_failed(estimator):
    return EXPECTED_FAILED.get(type(estimator).__name__, {})


def test_discovery_lists_the_public_estimators():
    assert {"Resample", "BandpassFilter", "StandardizeSignal", "FixedLength"} <= set(
        ESTIMATORS
    )


@parametrize_with_checks([make(n) for n in ESTIMATORS],
                         expected_failed_checks=_expected_failed)
def test_sklearn_compatible(estimator, check):
    check(estimator)


_CHECKS_WITH_FEATURE_COUNT_EXCEPTION = sorted(
    (name, readonly) for name, failed in EXPECTED_FAILED.items()
    for readonly in (False, True)
    if failed.get("check_transformer_general") == _FEATURE_COUNT)


@pytest.mark.parametrize(("name", "readonly"), _CHECKS_WITH_FEATURE_COUNT_EXCEPTION)
def test_transformer_general_fails_only_on_the_feature_count(name, readonly):
    from sklearn.utils.estimator_checks import check_transformer_general

    # sklearn asserts this message only after every other step of the check passed
    with pytest.raises(AssertionError, match="does not raise an error when the number "
                                             "of features in transform is different"):
        check_transformer_general(name, make(name), readonly_memmap=readonly)


@pytest.mark.parametrize("name", ["DACLEmbedder", "DenoisingAEEmbedder"])
def test_embedders_are_order_and_batch_invariant_to_float32_tolerance(name):
    rng = np.random.RandomState(0)
    X = rng.randn(48, 6).astype(np.float32)
    y = (X[:, 0] + 0.3 * rng.randn(48) > 0).astype(int)
    est = make(name).fit(X, y)
    Xt = est.transform(X)
    perm = rng.permutation(len(X))
    tol = {"rtol": 1e-5, "atol": 1e-6}
    np.testing.assert_allclose(est.transform(X[perm]), Xt[perm], **tol)  # row order
    np.testing.assert_allclose(np.vstack([est.transform(X[:5]), est.transform(X[5:])]),
                               Xt, **tol)  # batch composition
    np.testing.assert_allclose(est.transform(X[7:8]), Xt[7:8], **tol)  # one row alone
    np.testing.assert_array_equal(est.transform(X), Xt)  # same input, same bits
    if hasattr(est, "decision_function"):
        np.testing.assert_allclose(est.decision_function(X[perm]),
                                   est.decision_function(X)[perm], **tol)


def _is_vector_estimator(name):
    from sklearn_biodiff.feature_extraction._torch_base import VectorTorchEstimator

    return issubclass(ESTIMATORS[name], VectorTorchEstimator)


def _data(name, synthetic):
    """Signals for signal estimators, a feature matrix for vector estimators."""
    X, y = synthetic
    X, y = X[:12], y[:12]
    if _is_vector_estimator(name):
        rng = np.random.RandomState(0)
        X = (rng.randn(12, 6) + y[:, None]).astype(np.float32)
    return X, y


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_clone_pickle_joblib_roundtrip(name, tmp_path, synthetic):
    X, y = _data(name, synthetic)
    est = make(name)
    est2 = clone(est)
    assert est2.get_params() == est.get_params()
    est.fit(X, y)
    Xt = est.transform(X)
    restored = pickle.loads(pickle.dumps(est))
    joblib.dump(est, tmp_path / "m.joblib")
    loaded = joblib.load(tmp_path / "m.joblib")
    for other in (restored, loaded):
        Xt2 = other.transform(X)
        if isinstance(Xt, list):
            for a, b in zip(Xt, Xt2):
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        else:
            np.testing.assert_allclose(Xt, Xt2, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_bad_input_is_named(name):
    est = make(name)
    y = np.array([0, 1])
    if _is_vector_estimator(name):
        bad_nan = np.array([[1.0, 2.0], [np.nan, 1.0]])
        empty, empty_msg = np.zeros((0, 3)), "0 sample"
        three_d, dim_msg = np.zeros((2, 3, 4)), "dim 3"
    else:
        bad_nan = [np.ones(4000), np.full(4000, np.nan)]
        empty, empty_msg = [], "0 records"
        three_d, dim_msg = np.zeros((2, 3, 2, 4000)), "dimension"  # 4-D
    with pytest.raises(ValueError, match="NaN"):
        est.fit(bad_nan, y)
    with pytest.raises(ValueError, match=empty_msg):
        est.fit(empty, np.array([]))
    with pytest.raises(ValueError, match=dim_msg):
        est.fit(three_d, y)


# ------------------------------------------------------------ multi-lead (issue 20)
_SIGNAL_ESTIMATORS = sorted(n for n in ESTIMATORS if not _is_vector_estimator(n))


def _returns_signals(name):
    from sklearn_biodiff.preprocessing._base import SignalTransformer

    return issubclass(ESTIMATORS[name], SignalTransformer)


def _leads(synthetic, n=8, length=600):
    """Lead I as (n, length) and two leads as (n, 2, length) (lead II: reversed, scaled)."""
    X, y = synthetic
    X2 = np.stack([x[:length] for x in X[:n]]).astype(np.float32)
    return X2, np.stack([X2, 0.5 * X2[:, ::-1] + 0.1], axis=1), y[:n]


def _assert_same_records(a, b):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(np.asarray(u), np.asarray(v))


@pytest.mark.parametrize("name", _SIGNAL_ESTIMATORS)
def test_one_lead_with_a_lead_axis_gives_the_single_lead_result(name, synthetic):
    X2, _, y = _leads(synthetic)
    rag = [x[: 400 + 20 * i] for i, x in enumerate(X2)]
    for flat_X, axis_X in ((X2, X2[:, None, :]), (rag, [r[None] for r in rag])):
        flat = make(name).fit(flat_X, y).transform(flat_X)
        with_axis = make(name).fit(axis_X, y).transform(axis_X)
        if _returns_signals(name):  # the lead axis is kept: (n, 1, t) or (1, t_i)
            assert all(np.shape(r) == (1, *np.shape(f)) for r, f in zip(with_axis, flat))
            with_axis = [r[0] for r in with_axis]
        _assert_same_records(flat, with_axis)


@pytest.mark.parametrize("name", _SIGNAL_ESTIMATORS)
def test_two_leads_fit_transform_and_a_lead_count_change_is_refused(name, synthetic):
    X2, X3, y = _leads(synthetic)
    est = make(name).fit(X3, y)
    assert est.n_leads_in_ == 2
    Xt = np.asarray(est.transform(X3))
    one = np.asarray(make(name).fit(X2, y).transform(X2))
    assert np.isfinite(Xt).all()
    if _returns_signals(name):  # (n, 2, t_out)
        assert Xt.shape == (len(X3), 2, one.shape[1])
    elif name == "ScatteringFeatures":  # one lead's features per lead, concatenated
        assert Xt.shape == (len(X3), 2 * one.shape[1])
    else:  # one embedding of both leads
        assert Xt.shape == one.shape
    rag = [x[:, : 400 + 20 * i] for i, x in enumerate(X3)]  # ragged (2, t_i) records
    assert len(est.transform(rag)) == len(rag)
    for c, X_other in ((1, X2), (3, np.concatenate([X3, X3[:, :1]], axis=1))):
        with pytest.raises(ValueError, match=rf"X has {c} lead\(s\), but {name} was "
                                             r"fitted on 2 lead\(s\)"):
            est.transform(X_other)


@pytest.mark.parametrize("name", sorted(n for n in ESTIMATORS if _is_vector_estimator(n)))
@pytest.mark.parametrize("check", ["check_dataframe_column_names_consistency",
                                   "check_transformer_get_feature_names_out_pandas"])
def test_vector_estimators_pass_the_dataframe_feature_name_checks(name, check):
    # scikit-learn 1.9 does not yield these from parametrize_with_checks: run them here
    pytest.importorskip("pandas")
    from sklearn.utils import estimator_checks

    getattr(estimator_checks, check)(name, make(name))


@pytest.mark.parametrize("name", sorted(n for n in ESTIMATORS if _is_vector_estimator(n)))
def test_vector_estimators_say_how_to_embed_multi_lead_signals(name, synthetic):
    _, X3, y = _leads(synthetic)
    for X in (X3, list(X3)):
        with pytest.raises(ValueError, match=r"takes feature vectors \(n_samples, "
                                             r"n_features\), not multi-lead signals.*"
                                             "ScatteringFeatures"):
            make(name).fit(X, y)
