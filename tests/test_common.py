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
    "FixedLength": {"length": 8},
    "ScatteringFeatures": {"J": 1, "Q": 1, "batch_size": 8},
}

_VARIABLE_LENGTH = (
    "records may have any length: a signal transformer accepts a different "
    "number of samples at transform time than at fit time"
)

#: check name -> reason, per estimator
EXPECTED_FAILED: dict[str, dict[str, str]] = {
    name: {"check_n_features_in_after_fitting": _VARIABLE_LENGTH}
    for name in ("Resample", "BandpassFilter", "StandardizeSignal", "FixedLength",
                 "ScatteringFeatures")
}
for _name in ("ScatteringFeatures",):
    EXPECTED_FAILED[_name].update({
        "check_transformer_general": _VARIABLE_LENGTH,
        "check_transformer_general(readonly_memmap=True)": _VARIABLE_LENGTH,
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


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_clone_pickle_joblib_roundtrip(name, tmp_path, synthetic):
    X, y = synthetic
    X = X[:12]
    y = y[:12]
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
    with pytest.raises(ValueError, match="NaN"):
        est.fit([np.ones(4000), np.full(4000, np.nan)], y)
    with pytest.raises(ValueError, match="0 records"):
        est.fit([], [])
    with pytest.raises(ValueError, match="dimension"):
        est.fit(np.zeros((2, 3, 4000)), y)
