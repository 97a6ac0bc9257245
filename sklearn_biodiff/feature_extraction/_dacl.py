"""DACLEmbedder and its baselines: encoders trained on noisy views of latents."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils.validation import _num_samples

from .._sklearn_compat import Interval, LayerSizes, StrOptions, _fit_context, check_is_fitted
from .._validation import check_labels
from ..diffusion import SCHEDULES, check_timestep_range
from ..modules.dacl import DACLModule, DenoisingAEModule
from ..nets.losses import DenoisingNet, PairDataset, TripletNet
from ._docstrings import fill_training_parameters
from ._torch_base import TRAINING_CONSTRAINTS, VectorTorchEstimator

__all__ = ["DACLEmbedder", "DenoisingAEEmbedder"]

_VIEW_CONSTRAINTS = {
    "embedding_dim": [Interval(Integral, 1, None, closed="left")],
    "widths": [LayerSizes()],
    "time_dim": [Interval(Integral, 2, None, closed="left")],
    "n_timesteps": [Interval(Integral, 1, None, closed="left")],
    "schedule": [StrOptions(set(SCHEDULES))],
    "t_min": [Interval(Integral, 1, None, closed="left")],
    "t_max": [Interval(Integral, 1, None, closed="left")],
    "inference_t": [Interval(Integral, 0, None, closed="left")],
    "augmentation": [StrOptions({"diffusion", "gaussian"})],
    "noise_std": [Interval(Real, 0, None, closed="left")],
    "dropout": [Interval(Real, 0, 1, closed="left")],
}

_VIEW_PARAMS_DOC = """embedding_dim : int, default=64
        Output size.
    widths : tuple of int, default=(256, 128, 64)
        Down-path widths of the vector U-Net (the up path mirrors them).
    time_dim : int, default=64
        Size of the timestep embedding injected into every block.
    n_timesteps : int, default=50
        Length of the diffusion schedule.
    schedule : {"linear", "cosine"}, default="linear"
        Beta schedule (:mod:`sklearn_biodiff.diffusion`); linear is 1e-4 to 0.02.
    t_min, t_max : int, default=1, 50
        Training views use timesteps drawn uniformly from ``[t_min, t_max]``
        (1-based, inclusive), searchable separately by GridSearchCV or Optuna.
    inference_t : int, default=1
        Timestep of the deterministic embedding used by ``transform``:
        the encoder sees ``sqrt(abar_t) z0`` at that ``t``.
    augmentation : {"diffusion", "gaussian"}, default="diffusion"
        ``"gaussian"`` makes views ``z0 + noise_std * eps`` (the paper's
        baseline 1) at the fixed timestep ``inference_t``.
    noise_std : float, default=0.1
        Noise level of the Gaussian views.
    dropout : float, default=0.0"""


class _ViewEmbedder(VectorTorchEstimator):
    """Shared constructor checks and inference of DACL and the DAE."""

    def _check_view_params(self):
        check_timestep_range(self.t_min, self.t_max, self.n_timesteps,
                             inference_t=self.inference_t)

    def _view_kwargs(self, n_features):
        return {"in_dim": n_features, "embedding_dim": self.embedding_dim,
                "widths": tuple(self.widths), "time_dim": self.time_dim,
                "n_timesteps": self.n_timesteps, "schedule": self.schedule,
                "t_min": self.t_min, "t_max": self.t_max, "inference_t": self.inference_t,
                "augmentation": self.augmentation, "noise_std": self.noise_std,
                "dropout": self.dropout}

    def _out_dim(self):
        return self.embedding_dim

    @staticmethod
    def _embed(module, xb):
        return module.embed(xb)


class DACLEmbedder(_ViewEmbedder):
    """Diffusion-Augmented Contrastive Learning on latent vectors.

    Views of each clean latent ``z0`` come from the diffusion forward process
    ``z_t = sqrt(abar_t) z0 + sqrt(1 - abar_t) eps``. A timestep-conditioned
    vector U-Net embeds them and is trained with a supervised triplet loss on
    squared Euclidean distances (paper eq. 2): the anchor and the positive are two
    views of the same ``z0`` at independent timesteps and noise, the negative is a
    view of a record of another class. ``transform`` gives embeddings at
    ``inference_t``; :meth:`decision_function` the distance to the mean
    embedding of the training records of ``normal_label`` (the anomaly score).

    Parameters
    ----------
    %(view_params)s
    margin : float, default=1.0
        Triplet margin.
    objective : {"triplet", "supcon", "patient"}, default="triplet"
        ``"triplet"``: the paper's triplet margin loss. ``"supcon"``: supervised
        contrastive loss (Khosla et al. 2020) over the batch, several positives
        per anchor; with ``groups`` in ``fit`` it is patient-aware: while an
        anchor has a same-class row from another patient in the batch, the rows
        of its own patient are neither positives nor negatives. ``"patient"``:
        the same loss with patients as classes (CLOCS, Kiyasseh et al. 2021:
        other windows of the anchor's patient are its positives, other patients
        its negatives), which needs ``groups`` and uses no labels for training.
    positive : {"view", "other_patient"}, default="view"
        ``"view"``: the positive is a second noisy view of the anchor (the
        paper). ``"other_patient"``: a view of a record of the same class from
        another patient (``groups``), never from the anchor's own patient while
        another patient has the class. Ignored by ``objective="patient"`` (the
        positive is another record of the anchor's patient).
    negative_mining : {"random", "semihard", "hard"}, default="random"
        Triplet negatives: a random record of another class (the paper), or
        mined among the batch's embeddings of other classes.
    temperature : float, default=0.1
        Of the ``"supcon"`` and ``"patient"`` objectives.
    input_skip : {None, "residual", "concat"}, default=None
        Keep what the input knew: ``"residual"`` adds a learned linear
        projection of the input to the embedding (trained with it);
        ``"concat"`` appends the input itself to the embedding at ``transform``
        (``n_features_out = embedding_dim + n_features_in``).
    normal_label : object or None, default=None
        The class whose prototype defines the anomaly score. ``None`` picks
        ``"N"`` (CinC 2017 labels) when present, else the smallest label (``0``
        for a 0/1 target).
    %(training_parameters)s

    Attributes
    ----------
    net_ : skorch.NeuralNet
    classes_ : ndarray
        Labels seen in ``fit``.
    normal_label_ : object
    prototype_ : ndarray of shape (embedding_dim,)
        Mean training embedding of the normal class.
    history_ : list of dict
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of ``X`` in ``fit``, defined only when ``X`` was a DataFrame
        with string column names. The other methods then check them, as
        scikit-learn does: reordered or other columns raise, a plain array warns.
    device_ : torch.device

    Notes
    -----
    Sign convention: :meth:`decision_function` is a distance, larger means more
    abnormal (use it directly as a score for the abnormal class in
    ``roc_auc_score``); :meth:`score_samples` is its negative, larger means more
    normal, as for scikit-learn's outlier detectors.

    References
    ----------
    Zewail. Diffusion-Augmented Contrastive Learning: a noise-robust encoder for
    biosignal representations.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_biodiff.feature_extraction import DACLEmbedder
    >>> rng = np.random.RandomState(0)
    >>> X = np.r_[rng.randn(30, 8), rng.randn(30, 8) + 2].astype("float32")
    >>> y = np.r_[np.zeros(30), np.ones(30)].astype(int)
    >>> dacl = DACLEmbedder(embedding_dim=4, widths=(16, 8), max_epochs=2,
    ...                     random_state=0).fit(X, y)
    >>> dacl.transform(X).shape, dacl.decision_function(X).shape
    ((60, 4), (60,))
    """

    _parameter_constraints = {
        **_VIEW_CONSTRAINTS,
        "margin": [Interval(Real, 0, None, closed="left")],
        "objective": [StrOptions({"triplet", "supcon", "patient"})],
        "positive": [StrOptions({"view", "other_patient"})],
        "negative_mining": [StrOptions({"random", "semihard", "hard"})],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "input_skip": [StrOptions({"residual", "concat"}), None],
        "normal_label": "no_validation",
        **TRAINING_CONSTRAINTS,
    }
    _net_cls = TripletNet
    _module_cls = DACLModule

    def __init__(self, embedding_dim=64, *, widths=(256, 128, 64), time_dim=64, n_timesteps=50,
                 schedule="linear", t_min=1, t_max=50, inference_t=1,
                 augmentation="diffusion", noise_std=0.1, dropout=0.0, margin=1.0,
                 objective="triplet", positive="view", negative_mining="random",
                 temperature=0.1, input_skip=None, normal_label=None,
                 max_epochs=200, lr=1e-4, weight_decay=0.0,
                 batch_size=64, validation_fraction=None, early_stopping_patience=None,
                 grad_clip=None, warm_start=False, n_threads=None, device="auto",
                 random_state=None, verbose=0, on_divergence="raise", engine=None):
        self.embedding_dim = embedding_dim
        self.widths = widths
        self.time_dim = time_dim
        self.n_timesteps = n_timesteps
        self.schedule = schedule
        self.t_min = t_min
        self.t_max = t_max
        self.inference_t = inference_t
        self.augmentation = augmentation
        self.noise_std = noise_std
        self.dropout = dropout
        self.margin = margin
        self.objective = objective
        self.positive = positive
        self.negative_mining = negative_mining
        self.temperature = temperature
        self.input_skip = input_skip
        self.normal_label = normal_label
        self.max_epochs = max_epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.validation_fraction = validation_fraction
        self.early_stopping_patience = early_stopping_patience
        self.grad_clip = grad_clip
        self.warm_start = warm_start
        self.n_threads = n_threads
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.on_divergence = on_divergence
        self.engine = engine

    def _module_kwargs(self, n_features):
        skip = "residual" if self.input_skip == "residual" else None
        return {**self._view_kwargs(n_features), "input_skip": skip}

    def _net_kwargs(self):
        return {"margin": self.margin, "objective": self.objective,
                "mining": self.negative_mining, "temperature": self.temperature,
                "patient_aware": self._patient_aware}

    def _fit_inputs(self, X, y, seed, groups=None):
        positive = "patient" if self.objective == "patient" else self.positive
        return PairDataset(X, y, groups, positive=positive, seed=seed), None

    def _out_dim(self):
        extra = self.n_features_in_ if self.input_skip == "concat" else 0
        return self.embedding_dim + extra

    def _embed(self, module, xb):
        e = module.embed(xb)
        return torch.cat([e, xb], dim=1) if self.input_skip == "concat" else e

    def _resolve_normal_label(self, classes):
        label = self.normal_label
        if label is None:
            return "N" if "N" in classes.tolist() else classes[0]
        if not any(c == label for c in classes.tolist()):
            raise ValueError(
                f"normal_label={label!r} is not among the classes of y {classes.tolist()}."
            )
        return label

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, groups=None):
        """Train the encoder with the chosen contrastive objective.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Clean latents ``z0`` (e.g. :class:`VAELatent` output).
        y : array-like of shape (n_samples,)
            Class labels, at least two classes.
        groups : array-like of shape (n_samples,) or None, default=None
            Patient of each row. Used by ``positive="other_patient"``, the
            patient-aware ``"supcon"`` and the ``"patient"`` objective, and to
            hold out whole patients when ``validation_fraction`` is set. From a
            ``Pipeline``/``cross_validate``/``GridSearchCV`` with metadata routing
            enabled, request it with ``set_fit_request(groups=True)`` (or pass
            ``dacl__groups=`` to ``Pipeline.fit``).

        Returns
        -------
        self : object
        """
        self._check_view_params()
        X = self._validate_fit_X(X)
        y = check_labels(y, _num_samples(X), min_classes=2)
        if groups is not None:
            groups = np.asarray(groups)
            if groups.shape != (_num_samples(X),):
                raise ValueError(f"groups must have one entry per row of X "
                                 f"({_num_samples(X)}), got shape {groups.shape}.")
        elif self.objective == "patient" or self.positive == "other_patient":
            what = ("objective='patient'" if self.objective == "patient"
                    else "positive='other_patient'")
            raise ValueError(f"{what} needs the patient of each row: pass fit(X, y, "
                             "groups=...) (in a Pipeline: set_fit_request(groups=True) "
                             "with metadata routing, or dacl__groups=...).")
        self.classes_ = np.unique(y)
        self.normal_label_ = self._resolve_normal_label(self.classes_)
        self._patient_aware = groups is not None
        self._fit(X, y, groups=groups)
        normal = X[np.asarray(y) == self.normal_label_]
        self.prototype_ = self._run_module(normal, self._embed).mean(axis=0)
        return self

    def decision_function(self, X):
        """Euclidean distance to the normal prototype (larger = more abnormal).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        E = self.transform(X)
        return np.linalg.norm(E - self.prototype_, axis=1)

    def score_samples(self, X):
        """Negative distance to the normal prototype (larger = more normal)."""
        return -self.decision_function(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


class DenoisingAEEmbedder(_ViewEmbedder):
    """Denoising autoencoder on diffusion views of latents (DACL's baseline 2).

    The encoder (the same timestep-conditioned vector U-Net as DACL) sees a view
    ``z_t`` made by the shared diffusion module and a decoder reconstructs
    ``z0``; the bottleneck is the embedding. Trained without labels.

    Parameters
    ----------
    %(view_params)s
    decoder_hidden : tuple of int, default=(128, 256)
        Hidden widths of the decoder that reconstructs ``z0``.
    %(training_parameters)s

    Attributes
    ----------
    net_ : skorch.NeuralNet
    history_ : list of dict
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of ``X`` in ``fit``, defined only when ``X`` was a DataFrame
        with string column names. The other methods then check them, as
        scikit-learn does: reordered or other columns raise, a plain array warns.
    device_ : torch.device

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_biodiff.feature_extraction import DenoisingAEEmbedder
    >>> X = np.random.RandomState(0).randn(40, 8).astype("float32")
    >>> DenoisingAEEmbedder(embedding_dim=3, widths=(16, 8), max_epochs=2,
    ...                     random_state=0).fit_transform(X).shape
    (40, 3)
    """

    _parameter_constraints = {
        **_VIEW_CONSTRAINTS,
        "decoder_hidden": [LayerSizes(allow_empty=True)],
        **TRAINING_CONSTRAINTS,
    }
    _net_cls = DenoisingNet
    _module_cls = DenoisingAEModule

    def __init__(self, embedding_dim=64, *, widths=(256, 128, 64), time_dim=64, n_timesteps=50,
                 schedule="linear", t_min=1, t_max=50, inference_t=1,
                 augmentation="diffusion", noise_std=0.1, dropout=0.0,
                 decoder_hidden=(128, 256), max_epochs=200, lr=1e-3, weight_decay=0.0,
                 batch_size=64, validation_fraction=None, early_stopping_patience=None,
                 grad_clip=None, warm_start=False, n_threads=None, device="auto",
                 random_state=None, verbose=0, on_divergence="raise", engine=None):
        self.embedding_dim = embedding_dim
        self.widths = widths
        self.time_dim = time_dim
        self.n_timesteps = n_timesteps
        self.schedule = schedule
        self.t_min = t_min
        self.t_max = t_max
        self.inference_t = inference_t
        self.augmentation = augmentation
        self.noise_std = noise_std
        self.dropout = dropout
        self.decoder_hidden = decoder_hidden
        self.max_epochs = max_epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.validation_fraction = validation_fraction
        self.early_stopping_patience = early_stopping_patience
        self.grad_clip = grad_clip
        self.warm_start = warm_start
        self.n_threads = n_threads
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.on_divergence = on_divergence
        self.engine = engine

    def _module_kwargs(self, n_features):
        return {**self._view_kwargs(n_features), "decoder_hidden": tuple(self.decoder_hidden)}

    def _net_kwargs(self):
        return {}

    def _fit_inputs(self, X, y, seed, groups=None):
        return X, None

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train on ``X`` of shape (n_samples, n_features); ``y`` is ignored."""
        self._check_view_params()
        return self._fit(self._validate_fit_X(X), y)


for _cls in (DACLEmbedder, DenoisingAEEmbedder):
    _cls.__doc__ = _cls.__doc__.replace("%(view_params)s", _VIEW_PARAMS_DOC)
    fill_training_parameters(_cls)
