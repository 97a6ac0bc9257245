"""Build, warm-start and fit the skorch net of a torch estimator (the one fit engine)."""

from __future__ import annotations

import copy
from typing import NamedTuple

import torch
from skorch import NeuralNet
from skorch.callbacks import (
    Checkpoint,
    EarlyStopping,
    GradientNormClipping,
    LRScheduler,
    ProgressBar,
)
from skorch.dataset import ValidSplit

from ..base import torch_seed_context
from ._distributed import process_group, rank_subfolder, use_process_group
from ._precision import release_compiled
from .callbacks import EpochProgress
from .loaders import BatchLoader, GroupValidSplit
from .randomness import SeededGenerator

__all__ = ["Switch", "apply_warm_start_settings", "build_net", "fit_net",
           "release_training_state"]


def release_training_state(net: NeuralNet) -> None:
    """Drop what only a running fit needs (progress bars, the torch LR scheduler).

    Called after every fit, also one ended by an exception, so that the fitted
    estimator pickles and holds no terminal handle.
    """
    release_compiled(net)  # gradient scaler, compiled code (nets/_precision.py)
    for _, cb in getattr(net, "callbacks_", ()):
        if isinstance(cb, EpochProgress):
            cb.close()
        elif isinstance(cb, LRScheduler):
            cb.lr_scheduler_ = None

def build_net(
    net_cls: type[NeuralNet],
    module: type[torch.nn.Module],
    module_kwargs: dict,
    *,
    lr: float,
    max_epochs: int,
    batch_size: int,
    device,
    seed: int,
    verbose: int = 0,
    validation_fraction: float | None = None,
    early_stopping_patience: int | None = None,
    checkpoint_dir=None,
    grad_clip: float | None = None,
    grouped_validation: bool = False,
    optimizer=torch.optim.AdamW,
    callbacks=(),
    pin_memory: bool = False,
    **net_kwargs,
) -> NeuralNet:
    """A skorch net with the package's conventions.

    * no silent hold-out: ``train_split`` is ``None`` unless ``validation_fraction``
      is given (then a seeded :class:`skorch.dataset.ValidSplit`, or with
      ``grouped_validation`` a :class:`GroupValidSplit` over the dataset's groups);
    * shuffling uses a seeded ``torch.Generator``;
    * ``verbose=0`` prints nothing, 1 shows one progress bar over epochs, 2
      prints skorch's epoch table and a progress bar per epoch;
    * ``pin_memory`` pins training batches (only when CUDA is available);
    * optional early stopping on the validation loss, gradient-norm clipping, and
      a :class:`skorch.callbacks.Checkpoint` in ``checkpoint_dir`` (best valid loss
      when validating, else the last epoch), which ``fit_net`` can resume from.
    """
    cbs = copy.deepcopy(list(callbacks))  # a user's callback objects stay untouched
    monitor = "train_loss_best"
    train_split = None
    if validation_fraction:
        train_split = (GroupValidSplit(validation_fraction, seed) if grouped_validation
                       else ValidSplit(validation_fraction, stratified=False,
                                       random_state=seed))
        monitor = "valid_loss_best"
        if early_stopping_patience:
            cbs.append(("early_stopping", EarlyStopping(
                patience=early_stopping_patience, load_best=True)))
    if grad_clip:
        cbs.append(("grad_clip", GradientNormClipping(grad_clip)))
    if checkpoint_dir is not None:
        # one checkpoint per torch.distributed process (rank 0's in checkpoint_dir)
        dirname = rank_subfolder(checkpoint_dir, process_group()[0])
        cbs.append(("checkpoint", Checkpoint(dirname=str(dirname), monitor=monitor,
                                             load_best=False)))
    if verbose == 1:
        cbs.append(("progress", EpochProgress(desc=module.__name__)))
    elif verbose and verbose > 1:
        cbs.append(("progress", ProgressBar()))
    generator = SeededGenerator(seed)
    kwargs = {f"module__{k}": v for k, v in module_kwargs.items()}
    return net_cls(
        module=module,
        optimizer=optimizer,
        lr=lr,
        max_epochs=max_epochs,
        batch_size=batch_size,
        train_split=train_split,
        device=str(device),
        callbacks=cbs,
        iterator_train=BatchLoader,
        iterator_valid=BatchLoader,
        iterator_train__shuffle=True,
        iterator_train__pin_memory=pin_memory,
        iterator_train__generator=generator,
        verbose=int(bool(verbose and verbose > 1)),
        torch_load_kwargs={"weights_only": True},
        **kwargs,
        **net_kwargs,
    )


class Switch(NamedTuple):
    """A part of the training loop that a setting switches on or off: the callback
    that is present exactly when ``value`` is true."""

    #: the setting as errors show it, e.g. ``"ema_decay=0.999"``
    setting: str
    #: the callback's attribute that takes ``value`` on a warm start (None: none)
    attribute: str | None
    value: object


def apply_warm_start_settings(net: NeuralNet, *, what: str, lr: float, max_epochs: int,
                              batch_size: int, weight_decay: float = 0.0,
                              grad_clip: float | None = None,
                              max_steps: int | None = None,
                              switches: dict[str, Switch] | None = None) -> None:
    """Give an already trained ``net`` the estimator's current training settings.

    A warm-started ``fit`` trains the existing net; without this, settings changed
    with ``set_params`` since the first fit (``max_epochs``, ``lr``, ``max_steps``,
    ...) would be silently ignored, as the net keeps the values it was built with.
    ``lr`` and ``weight_decay`` update the optimizer in place (its moments are
    kept). A part of the training loop that is switched on or off by a setting
    (gradient clipping, and ``switches``: callback name -> :class:`Switch`) cannot
    appear or disappear between warm-started fits: that raises a ``ValueError``
    naming the setting.
    """
    callbacks = dict(net.callbacks_)
    parts = {"grad_clip": Switch(f"grad_clip={grad_clip!r}", "gradient_clip_value", grad_clip),
             **(switches or {})}
    for name, (shown, attribute, value) in parts.items():
        if (name in callbacks) != bool(value):
            raise ValueError(
                f"{what}: {shown} cannot change between warm-started fits: the network "
                f"was trained {'with' if name in callbacks else 'without'} it. Set "
                "warm_start=False to train a new network, or set it back.")
        if value and attribute is not None:
            setattr(callbacks[name], attribute, value)
    if "max_steps" in callbacks:
        callbacks["max_steps"].max_steps = max_steps
    elif max_steps is not None:  # a net built before every net had the callback
        raise ValueError(f"{what}: this network was built without a step cap, so "
                         f"max_steps={max_steps} cannot apply to a warm-started fit; "
                         "use max_epochs, or warm_start=False.")
    net.set_params(lr=lr, max_epochs=max_epochs, batch_size=batch_size,
                   optimizer__weight_decay=weight_decay)
    for group in net.optimizer_.param_groups:  # a schedule's base lr is the new lr too
        if "initial_lr" in group:
            group["initial_lr"] = lr


def fit_net(net: NeuralNet, X, y=None, *, seed: int, device, warm_start: bool = False,
            checkpoint_dir=None, what: str | None = None):
    """Fit ``net`` under a seeded torch RNG; continue training if ``warm_start``.

    With ``warm_start`` and a ``checkpoint_dir`` holding a skorch checkpoint, the
    parameters, optimizer state and history are loaded before training resumes.
    The estimator then calls :func:`check_finite_training` once its fitted state
    is complete.
    """
    try:
        with torch_seed_context(seed, device):
            if not (warm_start and net.initialized_):
                net.initialize()
                if warm_start and checkpoint_dir is not None:
                    cp = dict(net.callbacks_).get("checkpoint")
                    if cp is not None and _has_checkpoint(cp):
                        net.load_params(checkpoint=cp)
            # several torch.distributed processes: shard each global batch
            use_process_group(net, what=what or net.module_.__class__.__name__)
            net.partial_fit(X, y)
    finally:
        release_training_state(net)
    return net


def _has_checkpoint(cp) -> bool:
    from pathlib import Path

    return (Path(cp.dirname) / str(cp.f_params)).is_file()
