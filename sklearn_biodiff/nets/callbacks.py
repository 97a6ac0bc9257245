"""skorch callbacks of the torch estimators: progress, the per-batch learning-rate
schedule, a step cap, exponential moving averages of the weights."""

from __future__ import annotations

import numpy as np
import torch
from skorch.callbacks import (
    Callback,
    LRScheduler,
)

__all__ = ["BatchLRScheduler", "EMA", "EpochProgress", "MaxSteps", "StopTraining", "WarmupCosine"]


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
