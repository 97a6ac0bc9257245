"""TorchEngine: the execution options of the torch estimators, grouped in one parameter."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_biodiff.engine import ENGINE_FIELDS, TorchEngine
from sklearn_biodiff.feature_extraction import (
    DACLEmbedder,
    DenoisingAEEmbedder,
    DiffAEEmbedder,
    VAELatent,
)
from sklearn_biodiff.feature_extraction._torch_base import (
    SHARED_TRAINING_PARAMETERS,
    TRAINING_CONSTRAINTS,
)

TORCH_ESTIMATORS = [VAELatent, DACLEmbedder, DenoisingAEEmbedder, DiffAEEmbedder]
X_VEC = np.random.RandomState(0).randn(32, 6).astype(np.float32)


@pytest.mark.parametrize("cls", TORCH_ESTIMATORS)
def test_every_torch_estimator_takes_one_engine_and_no_flat_engine_option(cls):
    params = cls().get_params(deep=False)
    assert params["engine"] is None
    assert not set(ENGINE_FIELDS) & set(params)
    assert set(SHARED_TRAINING_PARAMETERS) <= set(params)
    for name in SHARED_TRAINING_PARAMETERS:  # constrained once, in TRAINING_CONSTRAINTS
        # (an estimator may accept more, as DiffAEEmbedder's lr="auto")
        own = cls._parameter_constraints[name]
        assert own[: len(TRAINING_CONSTRAINTS[name])] == TRAINING_CONSTRAINTS[name]
    with pytest.raises(TypeError, match="precision"):
        cls(precision="bf16")


@pytest.mark.parametrize("cls", TORCH_ESTIMATORS)
def test_engine_options_are_reachable_by_prefix_and_survive_clone(cls):
    est = cls().set_params(engine__checkpoint_dir="ckpt", engine__pin_memory=True)
    assert isinstance(est.engine, TorchEngine)
    assert est.get_params()["engine__checkpoint_dir"] == "ckpt"
    copy = clone(est)
    assert copy.engine is not est.engine
    assert copy.engine.get_params() == est.engine.get_params()
    # an engine given as a parameter is set, not replaced, by engine__ options
    engine = TorchEngine(precision="bf16")
    est = cls(engine=engine).set_params(engine__compile=True)
    assert est.engine is engine and engine.compile is True
    est.set_params(engine=None)  # back to the defaults
    assert est.engine is None


def test_a_search_over_an_engine_option():
    search = GridSearchCV(make_pipeline(VAELatent(latent_dim=2, hidden_dims=(4,),
                                                  max_epochs=1, random_state=0)),
                          {"vaelatent__engine__pin_memory": [False, True]},
                          cv=2, scoring=lambda est, X, y=None: 0.0).fit(X_VEC)
    assert [p["vaelatent__engine__pin_memory"] for p in search.cv_results_["params"]] == [
        False, True]
    assert search.best_estimator_[0].engine.pin_memory is False


def test_engine_options_are_validated_when_the_estimator_fits():
    est = VAELatent(latent_dim=2, hidden_dims=(4,), max_epochs=1,
                    engine=TorchEngine(pin_memory="yes"))
    with pytest.raises(InvalidParameterError, match="pin_memory"):
        est.fit(X_VEC)
    with pytest.raises(InvalidParameterError, match="engine"):
        VAELatent(engine={"precision": "bf16"}).fit(X_VEC)


@pytest.mark.parametrize("option", [{"precision": "bf16"}, {"compile": True}])
def test_the_estimators_on_vectors_refuse_what_they_do_not_carry_out(option):
    est = DACLEmbedder(embedding_dim=2, widths=(4,), max_epochs=1, engine=TorchEngine(**option))
    with pytest.raises(ValueError, match="does not support TorchEngine"):
        est.fit(X_VEC, np.repeat([0, 1], 16))
    assert not hasattr(est, "net_")


def test_documented_defaults_are_the_defaults():
    from _doc_defaults import assert_documented_defaults

    assert assert_documented_defaults(TorchEngine) == len(ENGINE_FIELDS)
    for cls in TORCH_ESTIMATORS:  # the shared entries come from one template
        assert assert_documented_defaults(cls) >= len(SHARED_TRAINING_PARAMETERS), cls
        assert "%(" not in cls.__doc__
