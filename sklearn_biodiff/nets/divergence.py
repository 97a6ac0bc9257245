"""The one divergence check at the end of every torch estimator's ``fit``: non-finite
losses, weights or embeddings, and finite blow-ups of the loss."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import torch
from skorch import NeuralNet

from ..exceptions import TrainingDivergedError, TrainingDivergedWarning

__all__ = ["BLOWUP_RATIO", "check_finite_training"]


_DIVERGED_HINT = ("The usual causes are badly scaled input (standardise it, e.g. with a "
                  "StandardScaler in front) or a learning rate that is too high; lower lr "
                  "or set grad_clip (e.g. grad_clip=1.0).")


#: an epoch's training loss this many times the loss of the first batch (the model as
#: it started) is a divergence, even when it is finite
BLOWUP_RATIO = 1e3


def _first_batch_loss(net: NeuralNet) -> float | None:
    """The training loss of the first batch in ``net.history`` (of the first fit, for
    a net warm-started since), or None."""
    for row in net.history:
        for batch in row.get("batches", ()):
            if "train_loss" in batch:
                return float(batch["train_loss"])
    return None


def _divergence(net: NeuralNet, what: str, embedding) -> str | None:
    """What went non-finite, or blew up, in a fitted ``net``: an error message, or None."""
    lr = getattr(net, "lr", None)
    for epoch, row in enumerate(net.history, 1):
        for key in ("train_loss", "valid_loss"):
            if key in row and not np.isfinite(row[key]):
                return (f"{what} training diverged: the {key.replace('_', ' ')} is "
                        f"{row[key]} at epoch {epoch} of {len(net.history)} (lr={lr}).")
    start = _first_batch_loss(net)
    if start is not None and np.isfinite(start) and start > 0:
        for epoch, row in enumerate(net.history, 1):
            loss = row.get("train_loss")
            if loss is not None and loss > BLOWUP_RATIO * start:
                return (f"{what} training diverged: the train loss is {loss:.3g} at epoch "
                        f"{epoch} of {len(net.history)}, {loss / start:.3g} times its "
                        f"{start:.3g} at the first batch (more than {BLOWUP_RATIO:g} times: "
                        f"a finite blow-up; lr={lr}).")
    for name, param in net.module_.named_parameters():
        if not torch.isfinite(param).all():
            return (f"{what} training diverged: the weights {name!r} hold NaN or "
                    f"infinity after {len(net.history)} epoch(s) (lr={lr}).")
    embedding = embedding() if callable(embedding) else embedding
    if embedding is not None and not np.isfinite(embedding).all():
        bad = int((~np.isfinite(embedding)).any(axis=1).sum())
        return (f"{what} training diverged: the embedding of {bad} of {len(embedding)} "
                f"training rows is NaN or infinite after {len(net.history)} epoch(s) "
                f"(lr={lr}).")
    return None


def _caller_stacklevel() -> int:
    """``stacklevel`` of the first frame outside this package and scikit-learn.

    A warning of the caller of this function then points at the user's ``fit``
    call, however deep the estimator's own frames (``fit`` -> ``_fit``) are.
    """
    level, frame = 1, sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").partition(".")[0] in (
            "sklearn_biodiff", "sklearn"):
        level, frame = level + 1, frame.f_back
    return level


def check_finite_training(estimator, embedding=None) -> None:
    """The one divergence check, at the end of every torch estimator's ``fit``.

    Checked: every epoch's training and validation loss in ``estimator.net_``'s
    history (finite, and the training loss at most ``BLOWUP_RATIO`` times that of
    the first batch, so a finite blow-up counts too), every parameter of its module
    and, when given, ``embedding`` (the
    embedding of (a bounded part of) the training data: an array, or a callable
    returning one, called only when the losses and weights are finite). The
    message names the estimator, the first epoch with a non-finite loss, the
    learning rate and how to fix it.

    With the estimator's ``on_divergence="raise"`` (the default) a divergence
    raises :class:`~sklearn_biodiff.exceptions.TrainingDivergedError` (the
    estimator's fit then drops its net: ``TorchTrainer._train``); with ``"warn"``
    it warns with :class:`~sklearn_biodiff.exceptions.TrainingDivergedWarning`.
    """
    what = type(estimator).__name__
    message = _divergence(estimator.net_, what, embedding)
    if message is None:
        return
    if getattr(estimator, "on_divergence", "raise") == "warn":
        warnings.warn(f"{message} {_DIVERGED_HINT} With on_divergence='warn' the fitted "
                      "model is kept; its embeddings are not finite.",
                      TrainingDivergedWarning, stacklevel=_caller_stacklevel())
        return
    raise TrainingDivergedError(
        f"{message} {_DIVERGED_HINT} history_ holds the losses of every epoch; "
        "on_divergence='warn' keeps the diverged model, with a warning.")
