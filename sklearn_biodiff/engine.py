"""How a torch estimator runs, apart from what it learns: :class:`TorchEngine`.

The torch estimators take one ``engine`` parameter instead of a flat knob per
execution option, so that their signatures read as the model (as skorch routes
``iterator_train__*`` and ``callbacks__*`` instead of flat knobs). The options here
change speed, memory, where random draws happen, what is written to disk and what
is logged, never the model that is specified: arithmetic precision, compilation,
page-locked batches, where encoder noise is drawn, checkpoints and extra callbacks.
``device``, ``n_threads``, ``random_state`` and ``verbose`` stay top-level parameters
of every estimator (like scikit-learn's ``n_jobs``).

The skorch nets that carry these options out are in :mod:`sklearn_biodiff.nets`
(``nets/engine.py`` builds and fits them).
"""

from __future__ import annotations

from sklearn.base import BaseEstimator

from ._sklearn_compat import StrOptions, validate_params

__all__ = ["ENGINE_FIELDS", "TorchEngine"]

#: the options of :class:`TorchEngine`, in the order of its signature
ENGINE_FIELDS = ("precision", "compile", "pin_memory", "noise_device", "checkpoint_dir",
                 "callbacks")


class TorchEngine(BaseEstimator):
    """Execution options of a torch estimator: how it trains, not what it learns.

    Pass one as the ``engine`` parameter of
    :class:`~sklearn_biodiff.feature_extraction.DiffAEEmbedder`,
    :class:`~sklearn_biodiff.feature_extraction.VAELatent`,
    :class:`~sklearn_biodiff.feature_extraction.DACLEmbedder` or
    :class:`~sklearn_biodiff.feature_extraction.DenoisingAEEmbedder`
    (``engine=None`` means ``TorchEngine()``). Its options are reachable by
    ``set_params`` and searches with the ``engine__`` prefix
    (``set_params(engine__precision="bf16")``), and ``clone`` copies it. The
    estimator validates it when it fits.

    Parameters
    ----------
    precision : {"32", "bf16", "16-mixed"}, default="32"
        Arithmetic of the training forward passes: float32, bfloat16 autocast, or
        float16 autocast with a gradient scaler (for GPUs). Weights, optimizer
        state, the LRU recurrence and ``transform`` stay float32.
        ``DiffAEEmbedder`` only: the estimators on feature vectors train in
        float32 and raise a ``ValueError`` for another value.
    compile : bool or dict, default=False
        ``torch.compile`` the denoising U-Net of ``DiffAEEmbedder`` during ``fit``
        (``True``, or a dict of ``torch.compile`` arguments such as
        ``{"mode": "max-autotune"}``); the encoder's complex-valued LRU scan stays
        eager. The compiled code is dropped after ``fit``, so pickles and
        checkpoints do not change. The first steps pay the compilation (minutes
        on a CPU). ``DiffAEEmbedder`` only, like ``precision``.
    pin_memory : bool, default=False
        Page-locked training batches, for faster copies to a CUDA device (ignored
        without CUDA).
    noise_device : {"auto", "loader", "device"}, default="auto"
        Where the encoder noise of ``DiffAEEmbedder(encoder_noise=...)`` is
        drawn. ``"loader"``: in numpy, crop by crop, in the main process while
        batches are assembled. ``"device"``: the loader returns clean crops and the
        training step corrupts the whole batch on the training device
        (:meth:`AddNoise.corrupt_batch
        <sklearn_biodiff.noise.AddNoise.corrupt_batch>`), from a
        ``torch.Generator`` on the device seeded from the first fit's
        ``random_state``, whose state is saved with the estimator (a warm-started
        or unpickled model continues its stream). The same noise model, other
        draws. ``"auto"``: ``"device"`` on CUDA and MPS, where the per-crop numpy
        work would hold the GPU back, ``"loader"`` on the CPU (the results of
        earlier versions). Ignored without encoder noise (and so by the
        estimators on feature vectors).
    checkpoint_dir : str, path-like or None, default=None
        Save a skorch checkpoint there during training (the best validation loss
        when a validation split is held out, else the last epoch); with
        ``warm_start=True`` a new estimator resumes from it.
    callbacks : list of skorch callbacks or (name, callback) pairs, or None, \
default=None
        Extra :mod:`skorch.callbacks` run during training (loggers such as
        ``TensorBoard`` or ``MLflowLogger``, custom stopping rules); copied by
        ``clone`` like any other parameter, and never changed by a fit.

    See Also
    --------
    sklearn_biodiff.feature_extraction.DiffAEEmbedder : The estimator that uses
        every option.

    Examples
    --------
    >>> from sklearn_biodiff.engine import TorchEngine
    >>> from sklearn_biodiff.feature_extraction import DiffAEEmbedder
    >>> emb = DiffAEEmbedder(engine=TorchEngine(precision="bf16"))
    >>> emb.set_params(engine__pin_memory=True).engine
    TorchEngine(pin_memory=True, precision='bf16')
    >>> DiffAEEmbedder().set_params(engine__precision="16-mixed").engine.precision
    '16-mixed'
    """

    _parameter_constraints = {
        "precision": [StrOptions({"32", "bf16", "16-mixed"})],
        "compile": ["boolean", dict],
        "pin_memory": ["boolean"],
        "noise_device": [StrOptions({"auto", "loader", "device"})],
        "checkpoint_dir": "no_validation",
        "callbacks": [list, tuple, None],
    }

    def __init__(self, *, precision="32", compile=False, pin_memory=False,
                 noise_device="auto", checkpoint_dir=None, callbacks=None):
        self.precision = precision
        self.compile = compile
        self.pin_memory = pin_memory
        self.noise_device = noise_device
        self.checkpoint_dir = checkpoint_dir
        self.callbacks = callbacks

    def _check(self, *, what: str, supported=ENGINE_FIELDS) -> TorchEngine:
        """Validate the options for the estimator ``what``, which carries out the
        ``supported`` ones: another option set away from its default raises a
        ``ValueError`` (instead of being silently ignored). Returns ``self``."""
        validate_params(self)
        defaults = type(self)().get_params()
        unsupported = [f"{k}={v!r}" for k, v in self.get_params().items()
                       if k not in supported and v != defaults[k]]
        if unsupported:
            raise ValueError(
                f"{what} does not support TorchEngine({', '.join(unsupported)}): it trains "
                "in float32, without torch.compile. Leave those options at their "
                "defaults (DiffAEEmbedder supports them).")
        return self
