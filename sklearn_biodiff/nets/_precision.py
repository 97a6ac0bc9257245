"""Faster training passes for the skorch nets: mixed precision and ``torch.compile``.

``precision`` follows the names of Lightning and Accelerate:

- ``"32"``: float32 everywhere (the default);
- ``"bf16"``: forward passes under ``torch.autocast`` with bfloat16 (CPU and recent
  GPUs; no loss scaling needed, bfloat16 has float32's range);
- ``"16-mixed"``: autocast with float16 and a ``torch.amp.GradScaler`` that scales
  the loss before the backward pass and unscales the gradients before the
  callbacks see them (gradient clipping, the multi-process gradient average).

Weights and optimizer state stay float32; outputs of the forward pass are cast to
float32 before the loss. Modules keep numerically delicate parts in float32 under
autocast themselves (the LRU scan, :mod:`sklearn_biodiff.modules.lru`).

``compile`` (``True`` or a dict of ``torch.compile`` arguments) compiles, for the
duration of a fit, the submodules the module names in ``compile_targets`` (the whole
module when it names none) with ``nn.Module.compile``, which keeps the module's class
and ``state_dict`` keys. skorch's own ``compile=True`` replaces ``module_`` by a
wrapper whose ``state_dict`` keys gain an ``_orig_mod.`` prefix and which does not
pickle; here the compiled code is dropped after the fit, so checkpoints, EMA weights,
``save_pretrained`` and pickles are unchanged.
"""

from __future__ import annotations

import contextlib

import torch
from skorch.dataset import unpack_data
from skorch.utils import TeeGenerator

__all__ = ["PRECISIONS", "PrecisionMixin", "release_compiled"]

PRECISIONS = {"32": None, "bf16": torch.bfloat16, "16-mixed": torch.float16}


def _float32(out):
    if isinstance(out, torch.Tensor):
        return out.float() if out.is_floating_point() else out
    if isinstance(out, tuple | list):
        return type(out)(_float32(o) for o in out)
    return out


class PrecisionMixin:
    """skorch ``NeuralNet`` mixin adding ``precision`` (see the module docstring).

    Put it left of ``NeuralNet``. The gradient scaler (``grad_scaler_``) and the
    compiled code (``compiled_modules_``) live during a fit only
    (``release_training_state`` drops them), so pickles hold neither.
    """

    def __init__(self, *args, precision: str = "32", compile_forward=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.precision = precision
        self.compile_forward = compile_forward

    def _device_type(self) -> str:
        return torch.device(self.device or "cpu").type

    def _precision(self) -> str:
        return getattr(self, "precision", "32")  # nets pickled before this option

    def _autocast(self):
        dtype = PRECISIONS[self._precision()]
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self._device_type(), dtype=dtype)

    def _compile_modules(self) -> None:
        """``nn.Module.compile`` the module's ``compile_targets`` once per fit."""
        options = getattr(self, "compile_forward", False)
        if not options or "compiled_modules_" in self.__dict__:
            return
        kwargs = options if isinstance(options, dict) else {}
        names = getattr(self.module_, "compile_targets", None)
        targets = ([self.module_] if names is None
                   else [self.module_.get_submodule(n) for n in names])
        for target in targets:
            target.compile(**kwargs)
        # in __dict__: skorch's __setattr__ would register a list attribute otherwise
        self.__dict__["compiled_modules_"] = targets

    def infer(self, x, **fit_params):
        if self.module_.training:
            self._compile_modules()
        with self._autocast():
            out = super().infer(x, **fit_params)
        return _float32(out) if PRECISIONS[self._precision()] is not None else out

    def _grad_scaler(self):
        if getattr(self, "grad_scaler_", None) is None:
            self.grad_scaler_ = torch.amp.GradScaler(self._device_type())
        return self.grad_scaler_

    def train_step_single(self, batch, **fit_params):
        if self._precision() != "16-mixed":
            return super().train_step_single(batch, **fit_params)
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        y_pred = self.infer(Xi, **fit_params)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        self._grad_scaler().scale(loss).backward()
        return {"loss": loss, "y_pred": y_pred}

    def train_step(self, batch, **fit_params):
        if self._precision() != "16-mixed":
            return super().train_step(batch, **fit_params)
        # skorch's train_step, with the scaler around the optimizer step (no closure)
        scaler = self._grad_scaler()
        self._zero_grad_optimizer()
        step = self.train_step_single(batch, **fit_params)
        scaler.unscale_(self.optimizer_)
        self.notify("on_grad_computed",
                    named_parameters=TeeGenerator(self.get_all_learnable_params()),
                    batch=batch, training=True)
        scaler.step(self.optimizer_)
        scaler.update()
        return step


def release_compiled(net) -> None:
    """Drop the gradient scaler and the compiled code of a fit (see the module docstring)."""
    net.__dict__.pop("grad_scaler_", None)
    for module in net.__dict__.pop("compiled_modules_", ()):
        module._compiled_call_impl = None  # undoes nn.Module.compile
