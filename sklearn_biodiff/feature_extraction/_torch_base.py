"""Shared parameters and plumbing of the torch estimators on feature vectors."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin

from .._sklearn_compat import Interval, StrOptions, check_is_fitted, validate_data
from ..base import TorchEstimatorMixin, limit_torch_threads
from ..engine import ENGINE_FIELDS, TorchEngine
from ..exceptions import TrainingDivergedError
from ..nets.divergence import check_finite_training
from ..nets.engine import apply_warm_start_settings, build_net, fit_net
from ..nets.loaders import predict_batches

#: training options of every torch estimator, one constraint each (``validation_fraction``
#: and ``early_stopping_patience`` only where a validation split exists)
TRAINING_CONSTRAINTS = {
    "max_epochs": [Interval(Integral, 1, None, closed="left")],
    "lr": [Interval(Real, 0, None, closed="neither")],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
    "early_stopping_patience": [Interval(Integral, 1, None, closed="left"), None],
    "grad_clip": [Interval(Real, 0, None, closed="neither"), None],
    "warm_start": ["boolean"],
    "n_threads": [Interval(Integral, 1, None, closed="left"), None],
    "device": "no_validation",
    "random_state": ["random_state"],
    "verbose": ["verbose"],
    "on_divergence": [StrOptions({"raise", "warn"})],
    # execution options, validated by TorchEngine itself (TorchTrainer._train)
    "engine": [TorchEngine, None],
}
#: the entries of ``TRAINING_CONSTRAINTS`` that every torch estimator has (documented
#: once: ``_docstrings.py``)
SHARED_TRAINING_PARAMETERS = ("lr", "weight_decay", "batch_size", "grad_clip",
                              "warm_start", "n_threads", "device", "random_state",
                              "verbose", "on_divergence", "engine")


class TorchTrainer:
    """The one ``fit`` sequence of the torch estimators, as a few named steps.

    :meth:`_train` runs them: the training data (``_training_data``); the net, new
    (``_new_net``) or the fitted one with the current training settings
    (``_warm_start_settings``, for ``warm_start``); what this fit adds to it
    (``_prepare_net``: pretrained weights, schedules, noise); training
    (:func:`~sklearn_biodiff.nets.engine.fit_net`, when there is data); then the
    fitted state (``net_``, ``history_``, ``_after_training``) and the divergence
    check on a bounded part of the training data (``_training_embedding``). A new
    net becomes ``net_`` only once trained: an exception mid-fit leaves an unfitted
    estimator, not one with a half-built net.
    """

    #: the :class:`~sklearn_biodiff.engine.TorchEngine` options this estimator carries
    #: out; another option away from its default makes ``fit`` raise
    _engine_options = ENGINE_FIELDS
    #: models pickled when the engine options were flat parameters: fold them into one
    _grouped_parameters_of_older_pickles = {"engine": (TorchEngine, ENGINE_FIELDS)}

    def _engine(self) -> TorchEngine:
        """The ``engine`` parameter, ``TorchEngine()`` for ``None``."""
        return TorchEngine() if self.engine is None else self.engine

    def set_params(self, **params):
        """Set parameters; ``engine__<option>`` also works while ``engine`` is None.

        Parameters
        ----------
        **params : dict
            Estimator parameters, and ``engine__precision``-style options of its
            :class:`~sklearn_biodiff.engine.TorchEngine`.

        Returns
        -------
        self : estimator instance
        """
        if (self.engine is None and "engine" not in params
                and any(key.startswith("engine__") for key in params)):
            self.engine = TorchEngine()
        return super().set_params(**params)

    def _train(self, context: dict):
        self._engine()._check(what=type(self).__name__, supported=self._engine_options)
        warm = self.warm_start and hasattr(self, "net_")
        seed = self._init_torch_state()
        with limit_torch_threads(self.n_threads):
            data = self._training_data(seed, context)
            net = self.net_ if warm else self._new_net(seed, context, data)
            if warm:  # the current max_epochs, lr... (set_params since the first fit)
                apply_warm_start_settings(net, what=type(self).__name__,
                                          **self._warm_start_settings())
            self._prepare_net(net, warm=warm, seed=seed, context=context)
            if data is not None:
                fit_net(net, *data, seed=seed, device=self.device_,
                        warm_start=self._continues_training(), what=type(self).__name__,
                        checkpoint_dir=self._engine().checkpoint_dir)
        self.net_ = net
        self.history_ = [dict(row) for row in net.history]
        self._after_training(context, warm)
        net.module_.eval()
        try:
            check_finite_training(self, embedding=self._training_embedding(context))
        except TrainingDivergedError:
            # unfitted again: a warm-started fit trained the net in place, so its
            # diverged net goes as well
            del self.net_
            raise
        return self

    def _training_settings(self) -> dict:
        """``lr``, ``max_epochs`` and ``weight_decay`` of this fit: the parameters (an
        estimator with ``"auto"`` values returns them resolved)."""
        return {"lr": self.lr, "max_epochs": self.max_epochs,
                "weight_decay": self.weight_decay}

    def _warm_start_settings(self) -> dict:
        """``apply_warm_start_settings`` arguments: the training settings of this fit."""
        return {**self._training_settings(), "batch_size": self.batch_size,
                "grad_clip": self.grad_clip}

    def _prepare_net(self, net, *, warm: bool, seed: int, context: dict) -> None:
        """What this fit adds to the net before training (hook; nothing by default)."""

    def _continues_training(self) -> bool:
        """Whether training continues the net's state (``fit_net(warm_start=...)``)."""
        return self.warm_start


class VectorTorchEstimator(TorchTrainer, ClassNamePrefixFeaturesOutMixin, TorchEstimatorMixin,
                           TransformerMixin, BaseEstimator):
    """Base of VAELatent, DACLEmbedder and DenoisingAEEmbedder.

    Subclasses define ``_net_cls``, ``_module_cls``, ``_module_kwargs(n_features)``,
    ``_net_kwargs()``, ``_fit_inputs(X, y, seed, groups)`` (what ``net.fit`` receives) and
    ``_embed(module, xb)``. A fit whose loss, weights or training embedding end
    non-finite raises :class:`~sklearn_biodiff.exceptions.TrainingDivergedError`
    (or warns, with ``on_divergence="warn"``).
    Fitted state: ``net_`` (the skorch net, whose pickling
    maps CUDA tensors to the CPU when needed), ``device_``, ``n_features_in_``,
    ``_n_features_out``.
    """

    _fitted_attribute = "net_"
    _engine_options = ("pin_memory", "noise_device", "checkpoint_dir", "callbacks")

    def _validate_X(self, X, reset: bool):
        if getattr(X, "ndim", 2) == 3 or (
                isinstance(X, list) and X and getattr(X[0], "ndim", 1) == 2):
            raise ValueError(
                f"Found array with dim 3: {type(self).__name__} takes feature vectors "
                "(n_samples, n_features), not multi-lead signals (n_records, n_leads, "
                "n_samples). Compute features first, e.g. with ScatteringFeatures, which "
                "concatenates the features of every lead (make_dacl_pipeline does).")
        return validate_data(self, X, reset=reset, dtype=[np.float32, np.float64],
                             ensure_min_samples=2 if reset else 1)

    def _validate_fit_X(self, X):
        """``X`` of ``fit``, validated once: ``n_features_in_`` and, for a DataFrame,
        ``feature_names_in_`` are (re)set, except by a warm-started fit, which checks them.

        The validated array is what ``_fit`` and the rest of ``fit`` use: validating it
        again with ``reset=True`` would drop ``feature_names_in_`` (an array has none).
        """
        return self._validate_X(X, reset=not (self.warm_start and hasattr(self, "net_")))

    def _fit(self, X, y=None, groups=None):
        """Train on ``X`` already validated by :meth:`_validate_fit_X`."""
        return self._train({"X": X.astype(np.float32, copy=False), "y": y, "groups": groups})

    # the hooks of TorchTrainer._train
    def _training_data(self, seed: int, context: dict):
        return self._fit_inputs(context["X"], context["y"], seed, context["groups"])

    def _new_net(self, seed: int, context: dict, data):
        engine = self._engine()
        return build_net(
            self._net_cls, self._module_cls, self._module_kwargs(context["X"].shape[1]),
            lr=self.lr, max_epochs=self.max_epochs, batch_size=self.batch_size,
            device=self.device_, seed=seed, verbose=self.verbose,
            validation_fraction=self.validation_fraction,
            early_stopping_patience=self.early_stopping_patience,
            checkpoint_dir=engine.checkpoint_dir, grad_clip=self.grad_clip,
            grouped_validation=context["groups"] is not None and hasattr(data[0], "subset"),
            optimizer__weight_decay=self.weight_decay, callbacks=engine.callbacks or (),
            pin_memory=engine.pin_memory,
            **self._net_kwargs(),
        )

    def _after_training(self, context: dict, warm: bool) -> None:
        self._n_features_out = self._out_dim()

    def _training_embedding(self, context: dict):
        # finite weights can still overflow on badly scaled rows
        return lambda: self._run_module(context["X"], self._embed)

    def _forward_numpy(self, X, fn):
        check_is_fitted(self)
        return self._run_module(self._validate_X(X, reset=False), fn)

    def _run_module(self, X, fn):
        """``fn(module, batch)`` over validated rows, in eval mode, no gradients."""
        module = self.net_.module_
        module.eval()
        with limit_torch_threads(self.n_threads):
            return predict_batches(lambda xb: fn(module, xb), X, batch_size=max(
                self.batch_size, 256), device=self.device_)

    def transform(self, X):
        """Embed each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_features_out), float32
        """
        return self._forward_numpy(X, self._embed)

    def _restore_device(self):
        # skorch maps its own CUDA state to the CPU when CUDA is missing
        if hasattr(self, "net_"):
            self.device_ = torch.device(self.net_.device)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
