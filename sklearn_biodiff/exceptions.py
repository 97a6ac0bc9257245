"""Exceptions of the package that callers catch by type."""

from __future__ import annotations

__all__ = ["TrainingDivergedError"]


class TrainingDivergedError(FloatingPointError):
    """Training of a torch estimator ended with a non-finite loss, weight or embedding.

    A ``FloatingPointError`` (so an ``ArithmeticError``); raised at the end of
    ``fit`` instead of returning NaN embeddings.
    :func:`~sklearn_biodiff.model_selection.optuna_search` records the trial as
    failed, with this message, and goes on. The usual causes are badly scaled
    input (standardise it, e.g. with a ``StandardScaler``) or a learning rate
    that is too high (lower ``lr`` or set ``grad_clip``).

    Examples
    --------
    >>> from sklearn_biodiff.exceptions import TrainingDivergedError
    >>> issubclass(TrainingDivergedError, FloatingPointError)
    True
    """
