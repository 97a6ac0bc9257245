"""Exceptions and warnings of the package that callers catch or filter by type."""

from __future__ import annotations

__all__ = ["TrainingDivergedError", "TrainingDivergedWarning"]


class TrainingDivergedError(FloatingPointError):
    """Training of a torch estimator ended with a non-finite loss, weight or embedding.

    A ``FloatingPointError`` (so an ``ArithmeticError``); raised at the end of
    ``fit`` instead of returning NaN embeddings, and the estimator is left
    unfitted (``history_`` keeps the losses of every epoch). With
    ``on_divergence="warn"`` the estimator warns with
    :class:`TrainingDivergedWarning` instead and keeps the diverged model.
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


class TrainingDivergedWarning(UserWarning):
    """A torch estimator fitted with ``on_divergence="warn"`` diverged.

    Issued instead of :class:`TrainingDivergedError`, with the same message; the
    fitted estimator is kept, and its embeddings are not finite. Turn it back
    into an error with ``warnings.simplefilter("error", TrainingDivergedWarning)``.

    Examples
    --------
    >>> from sklearn_biodiff.exceptions import TrainingDivergedWarning
    >>> issubclass(TrainingDivergedWarning, UserWarning)
    True
    """
