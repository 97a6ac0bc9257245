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

``compile`` (``True`` or a dict of ``torch.compile`` arguments) compiles the module
for the training forward passes only. skorch's own ``compile=True`` replaces
``module_`` by the compiled wrapper, whose ``state_dict`` keys gain an ``_orig_mod.``
prefix and which does not pickle; here ``module_`` stays the plain module (the
compiled wrapper shares its parameters, lives in ``compiled_module_`` during a fit
and is dropped after it), so checkpoints, EMA weights, ``save_pretrained`` and
pickles are unchanged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

import torch
from skorch.dataset import unpack_data
from skorch.utils import TeeGenerator, to_tensor

__all__ = ["PRECISIONS", "PrecisionMixin"]

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
    compiled module (``compiled_module_``) live during a fit only
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

    def _compiled_module(self):
        """The compiled training module, or None (not asked, or not training)."""
        options = getattr(self, "compile_forward", False)
        if not options or not self.module_.training:
            return None
        compiled = self.__dict__.get("compiled_module_")
        if compiled is None:  # skorch's __setattr__ would register it as a module
            kwargs = options if isinstance(options, dict) else {}
            compiled = self.__dict__["compiled_module_"] = torch.compile(self.module_,
                                                                         **kwargs)
        return compiled

    def infer(self, x, **fit_params):
        compiled = self._compiled_module()
        with self._autocast():
            if compiled is None:
                out = super().infer(x, **fit_params)
            else:  # skorch's infer, with the compiled module
                x = to_tensor(x, device=self.device)
                out = (compiled(**x, **fit_params) if isinstance(x, Mapping)
                       else compiled(x, **fit_params))
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
