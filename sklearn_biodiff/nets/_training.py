"""Training-loop glue: every torch estimator builds and fits its skorch net here."""

from __future__ import annotations

import copy
import sys
import warnings

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import (
    Callback,
    Checkpoint,
    EarlyStopping,
    GradientNormClipping,
    LRScheduler,
    ProgressBar,
)
from skorch.dataset import ValidSplit

from ..base import torch_seed_context
from ..exceptions import TrainingDivergedError, TrainingDivergedWarning
from ._distributed import process_group, rank_subfolder, use_process_group
from ._precision import release_compiled

__all__ = ["EMA", "BatchLRScheduler", "BatchLoader", "DeviceGenerator", "DeviceNoise",
           "EpochProgress", "GroupValidSplit", "MaxSteps", "SeededGenerator", "StopTraining",
           "WarmupCosine", "apply_warm_start_settings", "build_net", "check_finite_training",
           "fit_net", "predict_batches", "release_training_state"]


def _tensors_to_bytes(tensors: dict) -> bytes:
    """``{name: tensor}`` as CPU tensors in one ``torch.save`` blob."""
    import io

    buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in tensors.items()}, buf)
    return buf.getvalue()


def _tensors_from_bytes(blob: bytes) -> dict:
    import io

    return torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)


class EpochProgress(Callback):
    """One tqdm bar over epochs with the latest losses (``verbose=1``)."""

    def __init__(self, desc: str = "training"):
        self.desc = desc

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        from tqdm.auto import tqdm

        self.close()
        done = len(net.history)
        self.bar_ = tqdm(total=done + net.max_epochs, initial=done, desc=self.desc,
                         leave=False)

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        self.bar_.set_postfix({k: f"{row[k]:.4f}" for k in ("train_loss", "valid_loss")
                               if k in row})
        self.bar_.update(1)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        self.close()

    def close(self) -> None:
        """Close and forget the bar (it holds the terminal's file handle)."""
        bar = getattr(self, "bar_", None)
        if bar is not None:
            bar.close()
        self.bar_ = None

    def __getstate__(self):
        # a bar left open by an exception mid-fit must not make the model unsaveable
        state = dict(self.__dict__)
        state["bar_"] = None
        return state


class BatchLRScheduler(LRScheduler):
    """skorch's :class:`~skorch.callbacks.LRScheduler`, forgetting its scheduler after fit.

    The torch scheduler holds the optimizer, whose state (Adam moments) would
    otherwise be pickled a second time outside skorch's device mapping; skorch
    rebuilds it at the start of every training run anyway.
    """

    def on_train_end(self, net, **kwargs):
        self.lr_scheduler_ = None


class SeededGenerator:
    """A seeded CPU :class:`torch.Generator` for shuffling, pickled as plain bytes.

    The shuffling order of a warm-started or resumed fit continues where the
    saved one stopped; the pickle holds no tensor.
    """

    def __init__(self, seed: int):
        self.torch = torch.Generator().manual_seed(int(seed))

    def __getstate__(self):
        return {"state": self.torch.get_state().numpy().tobytes()}

    def __setstate__(self, state):
        self.torch = torch.Generator()
        self.torch.set_state(torch.frombuffer(bytearray(state["state"]), dtype=torch.uint8))


def _same_device(a: torch.device, b: torch.device) -> bool:
    return a.type == b.type and (a.index or 0) == (b.index or 0)


class DeviceGenerator:
    """A seeded :class:`torch.Generator` on the training device, pickled as CPU bytes.

    Made on the first :meth:`get` for a device (seeded with ``seed``); its state
    is pickled as bytes with the device type, so a warm-started or resumed fit
    continues the stream exactly and the pickle holds no tensor (it loads on a
    CPU-only host). Restored on another kind of device (a CUDA-trained model
    fine-tuned on a CPU), whose generators have another state format, it is
    seeded from a hash of the saved state: reproducible, but a new stream.
    """

    def __init__(self, seed: int):
        self.seed = int(seed)
        self._gen = None
        self._saved = None  # (device type, state bytes) loaded from a pickle

    def get(self, device) -> torch.Generator:
        """The generator on ``device`` (moved there, state kept, if it was elsewhere)."""
        device = torch.device(device)
        if self._gen is not None and _same_device(self._gen.device, device):
            return self._gen
        saved = self._state()
        gen = torch.Generator(device=device)
        if saved is None:
            gen.manual_seed(self.seed)
        elif saved[0] == device.type:
            gen.set_state(torch.frombuffer(bytearray(saved[1]), dtype=torch.uint8))
        else:
            import hashlib

            digest = hashlib.sha256(saved[0].encode() + saved[1]).digest()
            gen.manual_seed(int.from_bytes(digest[:8], "little") >> 1)
        self._gen, self._saved = gen, None
        return gen

    def _state(self):
        if self._gen is None:
            return self._saved
        return self._gen.device.type, self._gen.get_state().numpy().tobytes()

    def __getstate__(self):
        return {"seed": self.seed, "saved": self._state()}

    def __setstate__(self, state):
        self.seed, self._saved, self._gen = state["seed"], state["saved"], None


class DeviceNoise:
    """Encoder-input noise drawn on the training device inside the training step.

    Given to :class:`~sklearn_biodiff.nets.losses.NoisePredictionNet` as
    ``device_noise``: before each forward pass, ``x_enc`` (and a second view
    ``x_view``, if any) become ``noise.corrupt_batch`` of the clean crops, on the
    net's device, from a :class:`DeviceGenerator`. Under ``torch.distributed``
    (a ``"shard"`` entry from
    :class:`~sklearn_biodiff.nets._distributed.ShardedBatchLoader`) the noise is
    drawn for the global batch and the process's rows kept, as the diffusion
    noise is.

    Parameters
    ----------
    noise : AddNoise
        Its ``fs`` is the rate of the crops.
    seed : int
        The fit's seed; the generator gets a seed derived from it (not the seed
        itself, which the CPU shuffling generator already uses).
    """

    def __init__(self, noise, seed: int):
        self.noise = noise
        derived = np.random.SeedSequence([int(seed), 0x6E6F6973]).generate_state(1, np.uint64)
        self.generator = DeviceGenerator(int(derived[0]) >> 1)

    def __call__(self, x, device):
        """``x`` (a tensor of clean crops or a dict with ``"x0"``) with ``"x_enc"`` added."""
        from skorch.utils import to_tensor

        x = dict(x) if isinstance(x, dict) else {"x0": x}
        rows = n = None
        shard = x.get("shard")
        if shard is not None and len(shard):
            # the loader's rows are contiguous; read on the host, where the loader made them
            lo, n = int(shard[0, 0]), int(shard[0, 1])
            rows = slice(lo, lo + len(shard))
        gen = self.generator.get(device)
        x["x0"] = to_tensor(x["x0"], device=device)
        x["x_enc"] = self.noise.corrupt_batch(x["x0"], gen, rows=rows, batch_size=n)
        if "x_view" in x:
            x["x_view"] = self.noise.corrupt_batch(to_tensor(x["x_view"], device=device), gen,
                                                   rows=rows, batch_size=n)
        return x


class GroupValidSplit:
    """skorch ``train_split`` holding out whole patients (groups) for validation.

    The dataset must have ``groups`` (one id per row) and ``subset(indices)``
    returning a dataset of those rows only (so that pairs and negatives of the
    training part never come from validation patients).

    Parameters
    ----------
    fraction : float
        Approximate fraction of the groups held out.
    seed : int
    """

    def __init__(self, fraction: float, seed: int):
        self.fraction = fraction
        self.seed = seed

    def __call__(self, dataset, y=None, **fit_params):
        from sklearn.model_selection import GroupShuffleSplit

        groups = np.asarray(dataset.groups)
        if len(np.unique(groups)) < 2:
            raise ValueError("a grouped validation split needs at least two groups "
                             "(patients); pass more patients or validation_fraction=None.")
        splitter = GroupShuffleSplit(n_splits=1, test_size=self.fraction,
                                     random_state=self.seed)
        train, valid = next(splitter.split(np.zeros(len(groups)), groups=groups))
        return dataset.subset(train), dataset.subset(valid)


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


def apply_warm_start_settings(net: NeuralNet, *, what: str, lr: float, max_epochs: int,
                              batch_size: int, weight_decay: float = 0.0,
                              grad_clip: float | None = None,
                              max_steps: int | None = None,
                              optional_callbacks: dict | None = None) -> None:
    """Give an already trained ``net`` the estimator's current training settings.

    A warm-started ``fit`` trains the existing net; without this, settings changed
    with ``set_params`` since the first fit (``max_epochs``, ``lr``, ``max_steps``,
    ...) would be silently ignored, as the net keeps the values it was built with.
    ``lr`` and ``weight_decay`` update the optimizer in place (its moments are
    kept). A part of the training loop that is switched on or off by a setting
    (gradient clipping; the entries of ``optional_callbacks``, which map a callback
    name to ``(setting shown in errors, attribute to update or None, value)``, a
    false value meaning "absent") cannot appear or disappear between warm-started
    fits: that raises a ``ValueError`` naming the setting.
    """
    callbacks = dict(net.callbacks_)
    parts = {"grad_clip": (f"grad_clip={grad_clip!r}", "gradient_clip_value", grad_clip),
             **(optional_callbacks or {})}
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


_DIVERGED_HINT = ("The usual causes are badly scaled input (standardise it, e.g. with a "
                  "StandardScaler in front) or a learning rate that is too high; lower lr "
                  "or set grad_clip (e.g. grad_clip=1.0).")


#: an epoch's training loss this many times the loss of the first batch (the model as
#: it started) is a divergence, even when it is finite
BLOWUP_RATIO = 1e3


def _first_batch_loss(net: NeuralNet) -> float | None:
    """The training loss of the first batch of the first epoch of this fit, or None."""
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
    raises :class:`~sklearn_biodiff.exceptions.TrainingDivergedError` and leaves
    the estimator unfitted (a warm-started fit trained the net in place, so its
    diverged net is dropped as well); with ``"warn"`` it warns with
    :class:`~sklearn_biodiff.exceptions.TrainingDivergedWarning` and keeps it.
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
    vars(estimator).pop("net_", None)  # the fitted marker of every torch estimator
    raise TrainingDivergedError(
        f"{message} {_DIVERGED_HINT} history_ holds the losses of every epoch; "
        "on_divergence='warn' keeps the diverged model, with a warning.")


def _has_checkpoint(cp) -> bool:
    from pathlib import Path

    return (Path(cp.dirname) / str(cp.f_params)).is_file()


def predict_batches(fn, X: np.ndarray, *, batch_size: int, device) -> np.ndarray:
    """Apply ``fn`` (tensor -> tensor) to ``X`` in batches without gradients.

    Returns a float32 numpy array.
    """
    out = []
    with torch.no_grad():
        for start in range(0, len(X), batch_size):
            xb = torch.as_tensor(X[start : start + batch_size], dtype=torch.float32,
                                 device=device)
            out.append(fn(xb).detach().cpu().numpy().astype(np.float32, copy=False))
    return np.concatenate(out) if out else np.empty((0, 0), np.float32)


class BatchLoader:
    """A DataLoader replacement that indexes whole batches at once.

    skorch's default ``DataLoader`` fetches and collates item by item, which
    dominates the cost of small vector models. This loader slices the
    underlying arrays with one index array per batch. It accepts skorch's
    ``Dataset`` (uses its ``X``/``y``), a :class:`torch.utils.data.Subset` of one
    (validation splits), or any dataset with a ``batch(indices)`` method.
    """

    def __init__(self, dataset, batch_size=128, shuffle=False, generator=None,
                 pin_memory=False, **_):
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        # page-locked batches copy to a CUDA device asynchronously; without CUDA no-op
        self.pin_memory = bool(pin_memory) and torch.cuda.is_available()
        self.generator = getattr(generator, "torch", generator)  # SeededGenerator
        base, idx = dataset, None
        if isinstance(dataset, torch.utils.data.Subset):
            base, idx = dataset.dataset, np.asarray(dataset.indices)
        self._base = base
        self._indices = idx if idx is not None else np.arange(len(base))

    def __len__(self):
        return -(-len(self._indices) // self.batch_size)

    def get_batch(self, idx):
        """``(X, y)`` of the rows ``idx`` of the dataset (one draw of its randomness)."""
        base = self._base
        if hasattr(base, "batch"):
            return base.batch(idx)
        X = base.X[idx] if not isinstance(base.X, dict) else {k: v[idx] for k, v in base.X.items()}
        y = None if base.y is None else base.y[idx]
        return X, (torch.zeros(len(idx)) if y is None else y)

    def batch_indices(self):
        """The dataset rows of each batch of one pass, in order (shuffled if asked)."""
        n = len(self._indices)
        order = (torch.randperm(n, generator=self.generator).numpy() if self.shuffle
                 else np.arange(n))
        for start in range(0, n, self.batch_size):
            yield self._indices[order[start : start + self.batch_size]]

    def __iter__(self):
        for idx in self.batch_indices():
            batch = self.get_batch(idx)
            yield _pinned(batch) if self.pin_memory else batch


def _pinned(value):
    if isinstance(value, torch.Tensor):
        return value.pin_memory()
    if isinstance(value, dict):
        return {k: _pinned(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return type(value)(_pinned(v) for v in value)
    return value


class StopTraining(KeyboardInterrupt):
    """Raised by a callback to end training; skorch's ``partial_fit`` catches it."""


class MaxSteps(Callback):
    """End training after ``max_steps`` optimizer steps of one ``fit`` (``None``: no cap).

    The count restarts at every ``fit``, warm-started ones included.
    """

    def __init__(self, max_steps: int | None):
        self.max_steps = max_steps

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.steps_ = 0

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        if training:
            self.steps_ += 1
            if self.max_steps is not None and self.steps_ >= self.max_steps:
                raise StopTraining


class WarmupCosine:
    """Learning-rate factor: linear warm-up over ``warmup`` steps, then cosine to 0.

    ``start`` is the global step at which this run begins (a warm-started fit
    continues skorch's batch count; its schedule restarts there).
    """

    def __init__(self, total_steps: int, warmup: int = 100, start: int = 0):
        self.total_steps = max(1, int(total_steps))
        self.warmup = min(int(warmup), self.total_steps // 10)
        self.start = int(start)

    def __call__(self, step: int) -> float:
        step = max(0, step - self.start)
        if step < self.warmup:
            return (step + 1) / self.warmup
        frac = min(1.0, (step - self.warmup) / max(1, self.total_steps - self.warmup))
        return 0.5 * (1 + float(np.cos(np.pi * frac)))


class EMA(Callback):
    """Exponential moving average of the module's parameters (``shadow_``)."""

    def __init__(self, decay: float = 0.999):
        self.decay = decay

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        if getattr(self, "shadow_", None) is None:
            self.shadow_ = {k: v.detach().clone() for k, v in net.module_.state_dict().items()}
        else:  # loaded on another device than the module trains on
            self.shadow_ = {k: v.to(net.module_.state_dict()[k].device)
                            for k, v in self.shadow_.items()}

    def __getstate__(self):
        # CPU bytes: the shadow weights load on a machine without the training device
        state = dict(self.__dict__)
        if state.get("shadow_") is not None:
            state["shadow_"] = _tensors_to_bytes(state["shadow_"])
        return state

    def __setstate__(self, state):
        if isinstance(state.get("shadow_"), bytes):
            state["shadow_"] = _tensors_from_bytes(state["shadow_"])
        self.__dict__.update(state)

    def on_batch_end(self, net, training=None, **kwargs):
        if not training:
            return
        with torch.no_grad():
            for k, v in net.module_.state_dict().items():
                if v.dtype.is_floating_point:
                    self.shadow_[k].mul_(self.decay).add_(v.detach(), alpha=1 - self.decay)
                else:
                    self.shadow_[k].copy_(v)
