"""Exceptions and warnings of the package that callers catch or filter by type."""

from __future__ import annotations

__all__ = ["CheckpointError", "PackageVersionWarning", "TrainingDivergedError",
           "TrainingDivergedWarning"]


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


class CheckpointError(ValueError):
    """A checkpoint cannot be found, is corrupted, or does not fit the model.

    Raised by ``DiffAEEmbedder(pretrained=...)``, ``DiffAEEmbedder.from_pretrained``,
    :func:`~sklearn_biodiff.pretrained.load_checkpoint` and
    :func:`~sklearn_biodiff.pretrained.model_card` with a message that names the
    file, the field and what to do; also re-exported as
    ``sklearn_biodiff.pretrained.CheckpointError``.

    Examples
    --------
    >>> from sklearn_biodiff.exceptions import CheckpointError
    >>> issubclass(CheckpointError, ValueError)
    True
    """


class PackageVersionWarning(UserWarning):
    """An estimator pickled by another release of sklearn_biodiff was loaded.

    The pickle still loads (parameters added since take their defaults), but
    fitted state may not mean the same thing across releases: refit, or load it
    with the release that saved it. Raise it as an error with
    ``warnings.simplefilter("error", PackageVersionWarning)``.

    Attributes
    ----------
    saved_version : str or None
        The release that wrote the pickle (None: a release before version
        stamps).
    current_version : str
        The release that loads it.

    Examples
    --------
    >>> from sklearn_biodiff.exceptions import PackageVersionWarning
    >>> issubclass(PackageVersionWarning, UserWarning)
    True
    """

    def __init__(self, message: str = "", saved_version: str | None = None,
                 current_version: str = ""):
        super().__init__(message)
        self.saved_version = saved_version
        self.current_version = current_version
