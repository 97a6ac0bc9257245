"""A finite blow-up of the training loss is a divergence, with the on_divergence choice."""

import numpy as np
import pytest

from sklearn_biodiff.exceptions import TrainingDivergedError, TrainingDivergedWarning
from sklearn_biodiff.feature_extraction import DACLEmbedder

X = np.random.RandomState(0).randn(200, 32).astype(np.float32)
Y = np.tile([0, 1], 100)


def test_a_finite_blow_up_raises_by_default():
    # lr=0.3 takes the triplet loss from 0.08 to 6e6 while every number stays finite
    est = DACLEmbedder(lr=0.3, max_epochs=3, random_state=0)
    with pytest.raises(TrainingDivergedError, match=r"times its .* at the first batch .*"
                                                    r"finite blow-up; lr=0.3"):
        est.fit(X, Y)
    assert not hasattr(est, "net_")


def test_a_finite_blow_up_warns_with_on_divergence_warn():
    est = DACLEmbedder(lr=0.3, max_epochs=3, random_state=0, on_divergence="warn")
    with pytest.warns(TrainingDivergedWarning, match="finite blow-up"):
        est.fit(X, Y)
    assert np.isfinite(est.transform(X)).all()  # finite, and meaningless: hence the warning


def test_ordinary_training_is_not_a_blow_up():
    est = DACLEmbedder(max_epochs=3, random_state=0).fit(X, Y)
    first = est.history_[0]["batches"][0]["train_loss"]
    assert max(row["train_loss"] for row in est.history_) < 1e3 * first
