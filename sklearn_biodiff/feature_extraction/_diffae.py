"""DiffAEEmbedder: a diffusion autoencoder on raw signals (LRU encoder + 1-D U-Net)."""

from __future__ import annotations

import copy
import os
import threading
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import type_of_target

from .._sklearn_compat import Interval, LayerSizes, StrOptions, _fit_context, check_is_fitted
from .._validation import (
    _too_short,
    check_data_fs,
    check_n_leads,
    check_signals,
    data_fs,
    set_n_features_in,
    with_fs,
)
from ..base import TorchEstimatorMixin, limit_torch_threads, torch_seed_context
from ..diffusion import SCHEDULES
from ..modules.diffae import (
    RHYTHM_PERIODS,
    DiffAEModule,
    autocorrelation_peak,
    centered_frames,
    masked_mean_std,
    rhythm_lags,
)
from ..modules.lru import BLOCK, Workspace
from ..nets.callbacks import EMA, BatchLRScheduler, MaxSteps, WarmupCosine
from ..nets.crops import CropDataset, LabelledCropDataset
from ..nets.engine import Switch, build_net
from ..nets.losses import NoisePredictionNet
from ..nets.randomness import DeviceNoise
from ..nets.supcon import DiffusionView
from ..noise import AddNoise
from ..preprocessing._resample import resample_signal
from ..pretrained._checkpoint import (
    NORMALIZATION,
    CheckpointError,
    load_checkpoint,
    write_checkpoint,
)
from ._docstrings import fill_training_parameters
from ._torch_base import SHARED_TRAINING_PARAMETERS, TRAINING_CONSTRAINTS, TorchTrainer

__all__ = ["DiffAEEmbedder"]


#: what ``DiffAEEmbedder.transform`` returns (the ``readout`` parameter), narrowest first
#: for every architecture (``embedding_dim`` plus 0, 1, 2, 3, ``2 (layers + 1)`` and
#: ``3 (layers + 1)`` times ``encoder_width`` columns)
READOUTS = ("attention", "attention+rhythm", "attention+stats", "attention+stats+rhythm",
            "attention+stats+blocks", "attention+stats+blocks+rhythm")
#: the training settings that ``"auto"`` gives when ``fit`` fine-tunes a ``pretrained``
#: checkpoint with class labels (how they were chosen: the user guide's "Fine-tuning
#: with labels")
FINE_TUNING_SETTINGS = {"max_epochs": 8, "lr": 3e-4, "lr_schedule": "constant",
                        "weight_decay": 1e-4}
#: ... and otherwise (self-supervised training, or training from scratch): the
#: settings of earlier releases
TRAINING_SETTINGS = {"max_epochs": 20, "lr": 1e-3, "lr_schedule": "cosine",
                     "weight_decay": 0.0}


#: encoder frames per batch of ``transform`` (about 8 records of 30 s): measured on one
#: CPU core, larger batches fall out of cache and smaller ones pay per-call overhead
_BATCH_FRAMES = 9216


def _length_batches(lengths: np.ndarray, max_records: int, max_samples: int):
    """Indices of records in batches of similar lengths, shortest first.

    Parameters
    ----------
    lengths : int array of shape (n_records,)
    max_records : int
        Records per batch at most.
    max_samples : int
        A batch holds at most this many padded samples (records x longest), unless
        one record alone is longer.

    Yields
    ------
    idx : int array of shape (n_batch,)
        Consecutive records in the order of their lengths (stable).

    Examples
    --------
    >>> import numpy as np
    >>> [b.tolist() for b in _length_batches(np.array([5, 1, 9, 2]), 3, 10)]
    [[1, 3], [0], [2]]
    """
    order = np.argsort(lengths, kind="stable")
    start = 0
    while start < len(order):
        stop = start + 1
        # sorted ascending, so the last record of a batch is its longest
        while (stop < len(order) and stop - start < max_records
               and (stop - start + 1) * lengths[order[stop]] <= max_samples):
            stop += 1
        yield order[start:stop]
        start = stop


def _run_batches(run, batches: list, n_threads: int, *, on_cpu: bool = True) -> None:
    """``run(batch)`` for every batch: in order, or on ``n_threads`` worker threads.

    On the CPU, batches of a few records keep each torch operation too short to split
    well over intra-op threads; running whole batches side by side on threads of one
    torch thread each (torch releases the GIL inside its operations) scales better.
    Results must go where ``run`` puts them by index, not through the return value.

    Parameters
    ----------
    run : callable
        Takes one batch; must be safe to call from several threads at once.
    batches : list
    n_threads : int
        The torch threads the caller was allowed.
    on_cpu : bool, default=True
        Elsewhere (a GPU) batches run in order with the caller's settings.
    """
    n_workers = min(n_threads, len(batches)) if on_cpu else 1
    if n_workers <= 1:
        for b in batches:
            run(b)
        return
    from concurrent.futures import ThreadPoolExecutor

    before = torch.get_num_threads()

    def one_thread(b):
        torch.set_num_threads(1)
        run(b)

    try:
        with ThreadPoolExecutor(n_workers) as pool:
            list(pool.map(one_thread, batches))  # re-raises a worker's exception
    finally:
        torch.set_num_threads(before)


@fill_training_parameters
class DiffAEEmbedder(TorchTrainer, ClassNamePrefixFeaturesOutMixin, TorchEstimatorMixin,
                     TransformerMixin, BaseEstimator):
    """Diffusion autoencoder embeddings of raw, variable-length signals.

    A semantic encoder (strided convolution stem, Linear Recurrent Units, an
    attention reducer) maps a whole record of any length to one vector ``z``; a
    1-D U-Net conditioned on the timestep and on ``z`` (scale and shift of its
    group-normalised activations) learns to predict the noise added by the
    diffusion forward process (:mod:`sklearn_biodiff.diffusion`). Both train
    together on random ``snippet_seconds`` crops; ``z`` is the embedding.
    Self-supervised: ``y`` is ignored.

    Records are resampled from ``fs`` to ``model_fs`` when the rates differ and
    standardised per record (zero mean, unit variance) before the model sees them.

    Multi-lead records (the shape rule: :ref:`signal_shapes`) are modelled jointly:
    the encoder's first convolution and the U-Net's input and output have one
    channel per lead (``in_channels`` of the architecture, taken from the data in
    ``fit``), each lead is standardised on its own, and the embedding summarises
    all leads. ``transform`` then needs the same number of leads.

    Parameters
    ----------
    fs : float, default=300.0
        Sampling rate of the input records (Hz), checked against ``X.fs``.
    model_fs : float, default=300.0
        Rate the model works at.
    snippet_seconds : float, default=10.0
        Length of the training crops. Training records shorter than a crop are left
        out of training with a warning that counts them (an error when no record is
        long enough); ``transform`` embeds whole records of any length.
    embedding_dim : int, default=128
    encoder_layers : int, default=4
        LRU blocks.
    encoder_width : int, default=64
    encoder_stride : int, default=8
        Downsampling of the encoder's convolution stem (300 Hz -> 37.5 Hz frames,
        about 4 frames per QRS complex). 4 doubles the frame rate at about 1.6x the
        training cost.
    unet_channels : tuple of int, default=(32, 64, 128)
        Width of the denoiser's levels.
    unet_stem_stride : int, default=4
        Downsampling of the denoiser's first convolution (and upsampling of its
        last): its residual blocks run at 75, 37.5 and 18.75 Hz. 2 doubles their
        rate at about 1.8x the cost of the denoiser.
    n_timesteps : int, default=1000
    schedule : {"linear", "cosine"}, default="linear"
    dropout : float, default=0.0
    encoder_noise : AddNoise or None, default=None
        Training-time augmentation for noise-robust embeddings: each training crop
        (standardised, at ``model_fs``) gets fresh noise from this
        :class:`~sklearn_biodiff.noise.AddNoise` (e.g.
        ``AddNoise("mixture", snr_db=(0, 24))``; its ``fs`` is set to ``model_fs``
        and its ``random_state`` is not used: the draws follow ``random_state``)
        before the encoder sees it, while the denoiser still reconstructs the clean
        crop. ``transform`` is unaffected. Where the noise is drawn (numpy in the
        loader, or torch on the training device) is the engine's ``noise_device``.
    contrastive_weight : float, default=0.0
        Weight of an auxiliary contrastive term on the semantic encoder (0: none).
        Each training crop gets a second view, another random crop of the same
        record (with its own ``encoder_noise`` when set); a projection head maps
        both embeddings to ``projection_dim`` and symmetric InfoNCE over the batch
        pulls the two views of a record together and the other records apart.
    contrastive_temperature : float, default=0.1
    projection_dim : int, default=128
        Output size of the projection head (used only with the contrastive term;
        not part of saved checkpoints).
    supervised_weight : float, default=0.5
        Weight of the supervised contrastive term when ``fit`` is given class
        labels ``y`` (label-aware fine-tuning, e.g. of a ``pretrained`` encoder):
        over each batch, the embeddings ``z`` of records of one class (from other
        patients when ``groups`` are given) are pulled together and those of other
        classes pushed apart (:func:`~sklearn_biodiff.nets.supcon.supervised_contrastive_loss`),
        next to the diffusion loss, which stays on as a regulariser. Without
        ``groups`` each record is its own patient, so a record's own second view is a
        positive only when its batch holds no other record of its class. ``0``
        ignores ``y`` (the self-supervised training of earlier releases, also with
        ``y``); targets that are not class labels (a regression pipeline's) are
        ignored with a warning.
    diffusion_weight : float, default=1.0
        Weight of the noise-prediction loss. ``0`` (with labels only) trains the
        encoder on the supervised terms alone and skips the denoiser (about three
        times fewer operations per step), at the risk of forgetting what the generative
        objective taught it.
    supervised_temperature : float, default=0.1
        Temperature of the supervised contrastive term.
    supervised_view : {"crop", "diffusion", "denoised"}, default="crop"
        The second view of each training record that the supervised term compares:
        another random crop (with its own ``encoder_noise`` when set); that crop
        noised to a timestep in ``view_timesteps`` (a diffusion augmentation, as in
        DACL, on the raw signal); or that noisy crop denoised back by the model's
        own decoder conditioned on the crop's ``z`` (DDIM, ``view_denoise_steps``
        steps).
    view_timesteps : tuple of two int, default=(1, 200)
        Range of the diffusion views' timesteps (``1 <= t_min <= t_max <=
        n_timesteps``).
    view_denoise_steps : int, default=2
        DDIM steps of the ``"denoised"`` views.
    balanced : bool, default=True
        With ``y``, draw each training batch class-balanced (rare classes repeat).
    classifier_weight : float, default=1.0
        With ``y``, weight of a cross-entropy term through a linear head on ``z`` (both
        views) trained alongside (0: none). The head only shapes the embedding: it is
        not part of ``transform``'s output nor of saved checkpoints. How the default
        recipe with labels (this term, ``supervised_weight=0.5`` and the ``"auto"``
        training settings) was chosen: :ref:`fine_tuning`.
    max_epochs : int or "auto", default="auto"
        One epoch is one random crop of every training record. ``0`` trains
        nothing: ``fit`` only loads the ``pretrained`` weights. ``"auto"``: 8 when
        ``fit`` fine-tunes a ``pretrained`` checkpoint with class labels, else 20
        (``FINE_TUNING_SETTINGS`` and ``TRAINING_SETTINGS`` of
        ``sklearn_biodiff.feature_extraction._diffae``; what a fit used is in
        ``training_settings_``).
    lr : float or "auto", default="auto"
        Learning rate of the AdamW optimizer. ``"auto"``: 3e-4 when fine-tuning a
        ``pretrained`` checkpoint with labels, else 1e-3.
    weight_decay : float or "auto", default="auto"
        AdamW weight decay. ``"auto"``: 1e-4 when fine-tuning a ``pretrained``
        checkpoint with labels, else 0.
    max_steps : int or None, default=None
        Stop after this many optimizer steps (per ``fit`` call).
    lr_schedule : {"auto", "cosine", "constant"}, default="auto"
        ``"cosine"``: linear warm-up (up to 100 steps), then cosine decay to 0 over
        the run. ``"auto"``: ``"constant"`` when fine-tuning a ``pretrained``
        checkpoint with labels, else ``"cosine"``.
    ema_decay : float or None, default=None
        Keep an exponential moving average of the weights and embed with it.
    transform_batch_size : int, default=16
        Records per batch of ``transform`` at most (batches group records of
        similar lengths); also the training records whose embedding ``fit``
        checks for divergence.
    warm_start : bool, default=False
        ``fit`` continues training the fitted model, with the current
        ``max_epochs``, ``max_steps``, ``lr``, ``batch_size``, ``weight_decay``,
        ``grad_clip`` and ``ema_decay`` (changed with ``set_params`` in between);
        switching gradient clipping, the EMA or the cosine schedule on or off
        between warm-started fits raises a ``ValueError``.
    n_threads : int or None, default=None
        Torch threads used by ``fit``/``transform``. ``None``: torch's setting; in
        ``transform`` lowered at each call to the cores no other process is busy on
        (:func:`~sklearn_biodiff.base.auto_thread_count`), so a busy machine does not
        make the threads spin (the embedding does not depend on the count). ``fit``
        keeps torch's setting, so that a seeded fit gives the same weights whatever
        else the machine is doing.
    pretrained : str, path-like or None, default=None
        Start from these weights instead of a random initialisation: the name of
        a checkpoint shipped with the package
        (:func:`sklearn_biodiff.pretrained.list_pretrained`), a folder written by
        :meth:`save_pretrained`, or a Hugging Face Hub id (``"hf://owner/repo"``,
        needs ``huggingface_hub``). The checksum and the architecture are checked
        on load; :meth:`from_pretrained` builds an estimator whose architecture
        parameters match a checkpoint. With ``max_epochs=0``, ``fit`` only loads
        (``y`` and the record lengths do not matter); with ``max_epochs > 0`` it
        fine-tunes from the checkpoint.
    readout : {"attention", "attention+stats", "attention+stats+blocks", \
"attention+rhythm", "attention+stats+rhythm", "attention+stats+blocks+rhythm"}, \
default="attention"
        What ``transform`` returns. ``"attention"``: ``z``, the Attention
        Reducer's vector (``embedding_dim`` columns), the paper's embedding.
        ``"attention+stats"``: ``z``, then the mean and the standard deviation
        over time of each of the encoder's last features, the ones the reducer
        pools (``embedding_dim + 2 * encoder_width`` columns).
        ``"attention+stats+blocks"``: those, then the same two statistics of
        each LRU block's output in order (``embedding_dim + 2 * encoder_width *
        (encoder_layers + 1)`` columns): earlier blocks keep more of the
        waveform's shape. ``"+rhythm"`` appends, for the same features (the last
        ones only with ``"attention+rhythm"``), how regularly each repeats: the
        peak of its autocorrelation over time at periods of
        :data:`~sklearn_biodiff.modules.diffae.RHYTHM_PERIODS` seconds (30-300
        beats per minute; :func:`~sklearn_biodiff.modules.diffae.autocorrelation_peak`),
        ``encoder_width`` columns per feature set, after the statistics; each
        readout's columns start with those of the readout without ``"+rhythm"``.
        ``sklearn_biodiff.pretrained.DEFAULT_READOUT`` is the readout the demo and
        the quickstart embed the default checkpoint with, and
        ``sklearn_biodiff.pretrained.FEW_LABELS_READOUT`` the one for small
        labelled sets (how both were chosen: :ref:`the user guide's readout
        <pretrained_readout>`). Only ``transform`` reads it (training does not
        depend on it), so it can be changed on a fitted estimator.
    %(training_parameters)s

    Raises
    ------
    TrainingDivergedError
        From ``fit``, when a loss, a weight or the embedding of the first
        ``transform_batch_size`` training records is not finite (a
        :class:`~sklearn_biodiff.exceptions.TrainingDivergedWarning` with
        ``on_divergence="warn"``).

    Attributes
    ----------
    net_ : skorch.NeuralNet
    snippet_length_ : int
        Training crop length in samples at ``model_fs``.
    history_ : list of dict
    n_features_in_ : int
        Only after fitting on a 2-D array.
    n_leads_in_ : int
        Leads of the records seen in ``fit`` (the network's ``in_channels``).
    device_ : torch.device
    pretrained_config_ : dict or None
        The ``config.json`` of the loaded ``pretrained`` checkpoint (model card
        under ``"card"``), or None.
    training_settings_ : dict
        The ``max_epochs``, ``lr``, ``lr_schedule`` and ``weight_decay`` of the last
        ``fit``, ``"auto"`` resolved.

    References
    ----------
    Marcinkowski et al. Towards semantic embeddings of cardiological signals with
    diffusion autoencoders. Orvieto et al. Resurrecting recurrent neural networks
    for long sequences, ICML 2023 (LRU). Preechakul et al. Diffusion autoencoders,
    CVPR 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_biodiff.feature_extraction import DiffAEEmbedder
    >>> X = [np.sin(np.linspace(0, 30 * k, 600 + 100 * k)) for k in range(1, 7)]
    >>> emb = DiffAEEmbedder(snippet_seconds=1.0, embedding_dim=8, encoder_layers=1,
    ...                      encoder_width=8, unet_channels=(8, 16), n_timesteps=50,
    ...                      max_epochs=1, random_state=0).fit(X)
    >>> emb.transform(X).shape
    (6, 8)
    """

    _fitted_attribute = "net_"
    #: a model pickled before label-aware training ignored y: it still does
    _defaults_of_older_pickles = {"supervised_weight": 0.0, "classifier_weight": 0.0}

    _parameter_constraints = {
        # the training options every torch estimator shares, constrained in one place
        **{k: TRAINING_CONSTRAINTS[k] for k in SHARED_TRAINING_PARAMETERS},
        "fs": [Interval(Real, 0, None, closed="neither")],
        "model_fs": [Interval(Real, 0, None, closed="neither")],
        "snippet_seconds": [Interval(Real, 0, None, closed="neither")],
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "encoder_layers": [Interval(Integral, 0, None, closed="left")],
        "encoder_width": [Interval(Integral, 2, None, closed="left")],
        "encoder_stride": [Interval(Integral, 1, None, closed="left")],
        "unet_channels": [LayerSizes()],
        "unet_stem_stride": [Interval(Integral, 1, None, closed="left")],
        "n_timesteps": [Interval(Integral, 2, None, closed="left")],
        "schedule": [StrOptions(set(SCHEDULES))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "encoder_noise": [AddNoise, None],
        "contrastive_weight": [Interval(Real, 0, None, closed="left")],
        "contrastive_temperature": [Interval(Real, 0, None, closed="neither")],
        "supervised_weight": [Interval(Real, 0, None, closed="left")],
        "diffusion_weight": [Interval(Real, 0, None, closed="left")],
        "supervised_temperature": [Interval(Real, 0, None, closed="neither")],
        "supervised_view": [StrOptions({"crop", "diffusion", "denoised"})],
        "view_timesteps": [tuple, list],
        "view_denoise_steps": [Interval(Integral, 1, None, closed="left")],
        "balanced": ["boolean"],
        "classifier_weight": [Interval(Real, 0, None, closed="left")],
        "projection_dim": [Interval(Integral, 1, None, closed="left")],
        # 0 trains nothing: fit only loads the pretrained weights
        "max_epochs": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "lr": [*TRAINING_CONSTRAINTS["lr"], StrOptions({"auto"})],
        "weight_decay": [*TRAINING_CONSTRAINTS["weight_decay"], StrOptions({"auto"})],
        "max_steps": [Interval(Integral, 1, None, closed="left"), None],
        "lr_schedule": [StrOptions({"auto", "cosine", "constant"})],
        "ema_decay": [Interval(Real, 0, 1, closed="neither"), None],
        "transform_batch_size": [Interval(Integral, 1, None, closed="left")],
        "pretrained": [str, os.PathLike, None],
        "readout": [StrOptions(set(READOUTS))],
    }

    def __init__(self, fs=300.0, *, model_fs=300.0, snippet_seconds=10.0, embedding_dim=128,
                 encoder_layers=4, encoder_width=64, encoder_stride=8,
                 unet_channels=(32, 64, 128), unet_stem_stride=4, n_timesteps=1000,
                 schedule="linear", dropout=0.0, encoder_noise=None,
                 contrastive_weight=0.0, contrastive_temperature=0.1, projection_dim=128,
                 max_epochs="auto", max_steps=None, lr="auto", weight_decay="auto",
                 lr_schedule="auto",
                 batch_size=32, grad_clip=1.0, ema_decay=None, transform_batch_size=16,
                 warm_start=False, n_threads=None, device="auto", random_state=None,
                 pretrained=None, verbose=0, on_divergence="raise", engine=None,
                 readout="attention", supervised_weight=0.5, diffusion_weight=1.0,
                 supervised_temperature=0.1, supervised_view="crop",
                 view_timesteps=(1, 200), view_denoise_steps=2, balanced=True,
                 classifier_weight=1.0):
        self.fs = fs
        self.model_fs = model_fs
        self.snippet_seconds = snippet_seconds
        self.embedding_dim = embedding_dim
        self.encoder_layers = encoder_layers
        self.encoder_width = encoder_width
        self.encoder_stride = encoder_stride
        self.unet_channels = unet_channels
        self.unet_stem_stride = unet_stem_stride
        self.n_timesteps = n_timesteps
        self.schedule = schedule
        self.dropout = dropout
        self.encoder_noise = encoder_noise
        self.contrastive_weight = contrastive_weight
        self.contrastive_temperature = contrastive_temperature
        self.supervised_weight = supervised_weight
        self.diffusion_weight = diffusion_weight
        self.supervised_temperature = supervised_temperature
        self.supervised_view = supervised_view
        self.view_timesteps = view_timesteps
        self.view_denoise_steps = view_denoise_steps
        self.balanced = balanced
        self.classifier_weight = classifier_weight
        self.projection_dim = projection_dim
        self.max_epochs = max_epochs
        self.max_steps = max_steps
        self.lr = lr
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.batch_size = batch_size
        self.grad_clip = grad_clip
        self.ema_decay = ema_decay
        self.transform_batch_size = transform_batch_size
        self.warm_start = warm_start
        self.n_threads = n_threads
        self.device = device
        self.random_state = random_state
        self.pretrained = pretrained
        self.verbose = verbose
        self.on_divergence = on_divergence
        self.engine = engine
        self.readout = readout

    # ------------------------------------------------------------------ data
    def _multiple(self) -> int:
        return int(self.unet_stem_stride) * 2 ** (len(self.unet_channels) - 1)

    def _snippet_length(self) -> int:
        m = self._multiple()
        n = int(round(self.snippet_seconds * self.model_fs)) // m * m
        if n < m:
            raise ValueError(f"snippet_seconds={self.snippet_seconds} gives fewer than {m} "
                             f"samples at model_fs={self.model_fs}; the U-Net needs a "
                             f"multiple of {m}.")
        return n

    def _prepare(self, X, *, min_seconds: float, what: str, too_short_hint: str = "",
                 longest_at_least: float = 0.0):
        """Validated records; records ``(n_leads, n)`` at ``model_fs``, standardised per
        lead; and their per-lead (mean, std).

        Every record must be ``min_seconds`` long, and the longest ``longest_at_least``
        (the training crop: shorter records are then left out of training).
        """
        check_data_fs(X, self.fs, type(self).__name__)
        min_len = int(np.ceil(min_seconds * self.fs - 1e-9))
        records = check_signals(X, min_length=max(1, min_len), what=what,
                                too_short_hint=too_short_hint)
        need = int(np.ceil(longest_at_least * self.fs - 1e-9))
        longest = max(r.shape[-1] for r in records)
        if longest < need:
            raise ValueError(_too_short(longest, what, need, too_short_hint,
                                        record="" if isinstance(records, np.ndarray)
                                        else "the longest record"))
        out, stats = [], []
        for i, x in enumerate(records):
            x = np.atleast_2d(np.asarray(x, dtype=np.float64))  # (n_leads, n_samples)
            if self.fs != self.model_fs:
                x = resample_signal(x, self.fs, self.model_fs).astype(np.float64)
            mu, sd = x.mean(axis=-1, keepdims=True), x.std(axis=-1, keepdims=True)
            if not (sd > 0).all():
                lead = ("" if len(x) == 1
                        else f", lead {int(np.flatnonzero(~(sd[:, 0] > 0))[0])},")
                raise ValueError(f"record {i}{lead} is constant; it cannot be standardised.")
            out.append(((x - mu) / sd).astype(np.float32))
            stats.append((mu, sd))
        return records, out, stats

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, groups=None):
        """Train the encoder and denoiser on random crops of ``X``, with labels if given.

        With ``pretrained``, training starts from those weights; with
        ``max_epochs=0`` ``fit`` only loads them (records of any length). With
        class labels ``y`` (and ``supervised_weight > 0``) the training is
        label-aware: a supervised contrastive term on the embedding joins the
        diffusion loss (see ``supervised_weight``).

        Parameters
        ----------
        X : array-like of shape (n_records, n_samples) or (n_records, n_leads, \
n_samples), or list of arrays of shape (n_samples_i,) or (n_leads, n_samples_i)
            Raw signals at ``fs`` Hz, each at least ``snippet_seconds`` long (the
            shape rule: :ref:`signal_shapes`); the number of leads sets the
            network's ``in_channels``.
        y : array-like of shape (n_records,) or None, default=None
            Class labels (binary or multi-class) for label-aware training; None
            (or ``supervised_weight=0``) trains self-supervised. Ignored with
            ``max_epochs=0``.
        groups : array-like of shape (n_records,) or None, default=None
            Patient of each record: the supervised term then takes its positives
            from other patients whenever a batch has one. Needs ``y``. In a
            ``Pipeline`` or a search with metadata routing enabled, request it with
            ``set_fit_request(groups=True)``.

        Returns
        -------
        self : object
        """
        train = self.max_epochs != 0
        if not train and self.pretrained is None:
            raise ValueError("max_epochs=0 trains nothing and only loads weights: pass "
                             "pretrained=<checkpoint name or folder>, or max_epochs >= 1.")
        snippet = self._snippet_length()
        raw, records, _ = self._prepare(
            X, min_seconds=self.encoder_stride / self.model_fs,
            longest_at_least=snippet / self.model_fs if train else 0.0,
            what=f"{type(self).__name__}(snippet_seconds={self.snippet_seconds})",
            too_short_hint="Lower snippet_seconds (transform embeds records of any length).")
        keep = self._croppable(records, snippet) if train else None
        targets = self._supervision(y, groups, len(records), keep) if train else None
        if keep is not None:
            records = [records[i] for i in keep]
        check_n_leads(self, raw, reset=not (self.warm_start and hasattr(self, "net_")))
        self.training_settings_ = self._resolve_settings(
            fine_tuning=self.pretrained is not None and targets is not None)
        return self._train({"raw": raw, "records": records, "snippet": snippet,
                            "targets": targets, "train": train})

    def _croppable(self, records: list, snippet: int) -> np.ndarray | None:
        """Indices of the records a training crop fits in (None: all), or a ValueError.

        The others are left out of training with a warning that counts them.
        """
        lengths = np.array([r.shape[-1] for r in records])
        keep = np.flatnonzero(lengths >= snippet)
        if len(keep) == len(records):
            return None
        what = f"{type(self).__name__}(snippet_seconds={self.snippet_seconds})"
        if len(keep) == 0:
            raise ValueError(
                f"{what} trains on {self.snippet_seconds} s crops, but every record is "
                f"shorter (the longest: {lengths.max() / self.model_fs:.2f} s). Lower "
                "snippet_seconds (transform embeds records of any length).")
        warnings.warn(
            f"{what}: {len(records) - len(keep)} of {len(records)} training records are "
            f"shorter than one {self.snippet_seconds} s crop and are left out of training "
            f"(e.g. record {int(np.flatnonzero(lengths < snippet)[0])}); lower "
            "snippet_seconds to train on them. transform embeds them as any record.",
            UserWarning, stacklevel=3)
        return keep

    def _resolve_settings(self, fine_tuning: bool) -> dict:
        """``max_epochs``, ``lr``, ``lr_schedule`` and ``weight_decay``, ``"auto"``
        resolved for a fine-tuning of a pretrained checkpoint with labels or not."""
        table = FINE_TUNING_SETTINGS if fine_tuning else TRAINING_SETTINGS
        return {k: table[k] if getattr(self, k) == "auto" else getattr(self, k)
                for k in table}

    # ------------------------------------------------------------------ the fit steps
    # (TorchTrainer._train runs them; see its docstring for the order)
    def _training_data(self, seed: int, context: dict):
        """Random crops of the records (with labels and patients when supervised), or
        None with ``max_epochs=0`` (load only)."""
        if not context["train"]:
            return None
        records, snippet, targets = context["records"], context["snippet"], context["targets"]
        corrupt = None if self._noise_on_device() else self._encoder_corruption()
        if targets is None:
            return CropDataset(records, snippet, seed=seed, corrupt=corrupt,
                               second_view=self.contrastive_weight > 0), None
        return LabelledCropDataset(records, snippet, seed=seed, corrupt=corrupt,
                                   second_view=True, labels=targets[0], groups=targets[1],
                                   balanced=self.balanced), None

    def _new_net(self, seed: int, context: dict, data):
        targets = context["targets"]
        n_classes = (len(np.unique(targets[0]))
                     if targets is not None and self.classifier_weight else 0)
        return self._build_net(len(context["records"]), seed, n_classes)

    def _training_settings(self) -> dict:
        return {k: self.training_settings_[k] for k in ("lr", "max_epochs", "weight_decay")}

    def _warm_start_settings(self) -> dict:
        schedule = self.training_settings_["lr_schedule"]
        return {**super()._warm_start_settings(), "max_steps": self.max_steps,
                "switches": {
                    "ema": Switch(f"ema_decay={self.ema_decay!r}", "decay", self.ema_decay),
                    "lr_schedule": Switch(f"lr_schedule={schedule!r}", None,
                                          schedule == "cosine")}}

    def _prepare_net(self, net, *, warm: bool, seed: int, context: dict) -> None:
        """The ``pretrained`` weights (a new net), a new learning-rate schedule over this
        run (a warm start), and this fit's encoder noise and supervision."""
        if not warm and self.pretrained is not None:
            with torch_seed_context(seed, self.device_):
                net.initialize()
            context["config"] = self._load_pretrained(net.module_)
        if warm and self.training_settings_["lr_schedule"] == "cosine":
            net.restart_schedule(self._total_steps(len(context["records"])))
        if context["train"]:
            self._set_device_noise(net, seed, self._noise_on_device())
            self._set_supervision(net, supervised=context["targets"] is not None)

    def _continues_training(self) -> bool:
        return self.warm_start or self.pretrained is not None

    def _after_training(self, context: dict, warm: bool) -> None:
        if not warm:
            self.pretrained_config_ = context.get("config")
        set_n_features_in(self, context["raw"])
        self.snippet_length_ = context["snippet"]
        shadow = self.net_.averaged_weights() if self.ema_decay else None
        if shadow is not None:
            ema = copy.deepcopy(self.net_.module_)
            ema.load_state_dict(shadow)
            self.ema_module_ = ema.eval()
        else:  # no averaged weights (yet): embed with the trained ones, never stale ones
            self.__dict__.pop("ema_module_", None)

    def _training_embedding(self, context: dict):
        # finite weights can still give non-finite embeddings: check a first batch
        return lambda: self._encode(context["records"][: self.transform_batch_size])[0]

    # ------------------------------------------------------------------ supervision
    def _supervision(self, y, groups, n_records: int, keep=None):
        """``(class codes, patient codes)`` of the records for the supervised term, or
        None when it is off (no ``y``, or ``supervised_weight=0``); only those of the
        records ``keep`` (None: all) when some are too short to train on."""
        if y is None or self.supervised_weight == 0:
            if self.diffusion_weight == 0 and self.max_epochs != 0:
                raise ValueError("diffusion_weight=0 leaves nothing to train without the "
                                 "supervised term: pass class labels y (and "
                                 "supervised_weight > 0), or a diffusion_weight > 0.")
            if groups is not None:
                raise ValueError(
                    "groups are used by the supervised term only, which needs class "
                    "labels: pass y too (and supervised_weight > 0), or leave groups out.")
            return None
        y = np.asarray(y)
        if y.shape != (n_records,):
            raise ValueError(f"y must have one label per record ({n_records}), got shape "
                             f"{y.shape}.")
        kind = type_of_target(y, input_name="y", raise_unknown=True)
        if kind not in ("binary", "multiclass"):  # e.g. the target of a regression pipeline
            warnings.warn(
                f"y holds {kind!r} targets, not class labels, so the supervised term is "
                "off and this fit trains self-supervised (groups unused); pass "
                "supervised_weight=0 to say so and silence this warning.",
                UserWarning, stacklevel=3)
            return None
        if groups is not None:
            groups = np.asarray(groups)
            if groups.shape != (n_records,):
                raise ValueError(f"groups must have one entry per record ({n_records}), "
                                 f"got shape {groups.shape}.")
        if keep is not None:
            y = y[keep]
            groups = None if groups is None else groups[keep]
        labels = np.unique(y, return_inverse=True)[1]
        codes = (np.arange(len(y)) if groups is None
                 else np.unique(groups, return_inverse=True)[1])
        t_min, t_max = self._view_range()
        if self.supervised_view != "crop" and not 1 <= t_min <= t_max <= self.n_timesteps:
            raise ValueError(f"view_timesteps={self.view_timesteps!r} must be two "
                             f"timesteps 1 <= t_min <= t_max <= n_timesteps="
                             f"{self.n_timesteps}.")
        return labels, codes

    def _view_range(self) -> tuple[int, int]:
        try:
            t_min, t_max = (int(t) for t in self.view_timesteps)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"view_timesteps must be two integers (t_min, t_max), got "
                             f"{self.view_timesteps!r}.") from exc
        return t_min, t_max

    def _set_supervision(self, net, supervised: bool) -> None:
        """Give ``net`` the loss weights and the view maker of this fit."""
        net.diffusion_weight = self.diffusion_weight
        net.supervised_weight = self.supervised_weight if supervised else 0.0
        net.supervised_temperature = self.supervised_temperature
        net.classifier_weight = self.classifier_weight if supervised else 0.0
        head = getattr(net.module_, "classifier", None) if net.initialized_ else None
        if supervised and self.classifier_weight and net.initialized_ and head is None:
            raise ValueError("classifier_weight > 0 needs the classification head built in "
                             "the first fit: a warm-started fit cannot add it (fit anew, "
                             "or keep classifier_weight=0).")
        net.view_maker = None
        if supervised and self.supervised_view != "crop":
            net.view_maker = DiffusionView(
                *self._view_range(),
                denoise_steps=self.view_denoise_steps if self.supervised_view == "denoised"
                else 0)

    # ------------------------------------------------------------------ checkpoints
    def _architecture(self) -> dict:
        """The constructor arguments of :class:`~sklearn_biodiff.modules.diffae.DiffAEModule`."""
        return {
            "in_channels": int(getattr(self, "n_leads_in_", 1)),
            "embedding_dim": self.embedding_dim, "encoder_width": self.encoder_width,
            "encoder_layers": self.encoder_layers, "encoder_stride": self.encoder_stride,
            "unet_channels": tuple(self.unet_channels),
            "unet_stem_stride": self.unet_stem_stride, "n_timesteps": self.n_timesteps,
            "schedule": self.schedule, "dropout": self.dropout}

    def _load_pretrained(self, module) -> dict:
        """Load the ``pretrained`` checkpoint into ``module``; return its config."""
        config, state = load_checkpoint(self.pretrained)
        ours = {**self._architecture(), "model_fs": float(self.model_fs)}
        # checkpoints written before multi-lead support are single-lead
        theirs = {"in_channels": 1, **config.get("architecture", {}),
                  "model_fs": config.get("model_fs")}
        theirs["unet_channels"] = tuple(theirs.get("unet_channels") or ())
        if ours["in_channels"] != theirs["in_channels"]:
            c = theirs["in_channels"]
            what = ("one lead: X[:, 0] of a (n_records, n_leads, n_samples) array, or "
                    "(n_records, n_samples)" if c == 1 else
                    f"the {c} leads it was trained on, in its order")
            raise CheckpointError(
                f"pretrained={self.pretrained!r} was trained on {c}-lead signals, but X "
                f"has {ours['in_channels']} lead(s). Pass {what}; or train a new model "
                "on these leads (pretrained=None).")
        wrong = [f"{k}={ours[k]!r} here, {theirs.get(k)!r} in the checkpoint"
                 for k in ours if k != "dropout" and ours[k] != theirs.get(k)]
        if wrong:
            raise CheckpointError(
                f"pretrained={self.pretrained!r} does not fit this estimator: "
                + "; ".join(wrong) + f". Use DiffAEEmbedder.from_pretrained({self.pretrained!r}"
                ", ...) to get matching parameters.")
        if config.get("normalization") != NORMALIZATION:
            raise CheckpointError(
                f"pretrained={self.pretrained!r} expects inputs normalised as "
                f"{config.get('normalization')!r}; this estimator feeds {NORMALIZATION!r}.")
        try:
            missing, unexpected = module.load_state_dict(state, strict=False)
            # only a new contrastive projection head may start from scratch
            missing = [k for k in missing if not k.startswith(("projector.", "classifier."))]
            if missing or unexpected:
                raise RuntimeError(f"missing keys {missing}, unexpected keys {unexpected}")
        except RuntimeError as exc:
            raise CheckpointError(
                f"the weights of pretrained={self.pretrained!r} do not fit the network its "
                f"config describes: {exc}") from exc
        return config

    @classmethod
    def from_pretrained(cls, pretrained, **params) -> DiffAEEmbedder:
        """An estimator with the architecture of a checkpoint, set to load it.

        Parameters
        ----------
        pretrained : str or path-like
            Name of a shipped checkpoint, a folder written by :meth:`save_pretrained`,
            or a hub id (see the ``pretrained`` parameter).
        **params
            Other constructor parameters (``fs``, ``max_epochs`` to fine-tune,
            ``device``, ...). ``max_epochs`` defaults to 0 (load only).

        Returns
        -------
        DiffAEEmbedder
            Unfitted; ``fit`` loads the weights.

        Examples
        --------
        >>> from sklearn_biodiff.feature_extraction import DiffAEEmbedder
        >>> from sklearn_biodiff.pretrained import list_pretrained
        >>> emb = DiffAEEmbedder.from_pretrained(list_pretrained()[0], fs=250.0)
        >>> emb.max_epochs, emb.fs
        (0, 250.0)
        """
        config, _ = load_checkpoint(pretrained)
        arch = dict(config["architecture"])
        arch.pop("in_channels", None)  # set by the data in fit, not a parameter
        arch["unet_channels"] = tuple(arch["unet_channels"])
        return cls(**{"max_epochs": 0, **arch, "model_fs": config["model_fs"],
                      **params, "pretrained": pretrained})

    def save_pretrained(self, path, *, dtype: str = "float32", card: dict | None = None):
        """Write the embedding network as ``config.json`` + ``model.safetensors``.

        The weights are those ``transform`` uses (the EMA weights when
        ``ema_decay`` is set), with the architecture, ``model_fs`` and the input
        normalisation in ``config.json``, so that
        ``DiffAEEmbedder(pretrained=path)`` (or :meth:`from_pretrained`) reloads
        the same embedding.

        Parameters
        ----------
        path : str or path-like
            Folder to write (created if missing).
        dtype : {"float32", "float16"}, default="float32"
            Storage precision of the weights.
        card : dict or None, default=None
            Model-card fields (training data, recipe, metrics with protocol,
            licence) stored under ``"card"`` in ``config.json``. None keeps the
            card of the loaded ``pretrained`` checkpoint when ``fit`` did not
            train (``max_epochs=0``: the same weights); after fine-tuning it
            keeps only its licence and attribution, with ``fine_tuned_from``;
            without a ``pretrained`` checkpoint the card is empty.

        Returns
        -------
        pathlib.Path
            The folder.
        """
        check_is_fitted(self)
        from .. import __version__

        config = {"architecture": self._architecture(), "model_fs": float(self.model_fs),
                  "snippet_seconds": float(self.snippet_seconds),
                  "normalization": NORMALIZATION, "library_version": __version__,
                  "card": dict(card) if card is not None else self._inherited_card()}
        weights = {k: v for k, v in self._module().state_dict().items()
                   if not k.startswith(("projector.", "classifier."))}
        return write_checkpoint(path, weights, config, dtype=dtype)

    def _inherited_card(self) -> dict:
        """The loaded checkpoint's card if the weights are its own, else its terms."""
        loaded = getattr(self, "pretrained_config_", None)
        if loaded is None:
            return {}
        card = dict(loaded.get("card", {}))
        if self.max_epochs == 0:
            return card
        return {"fine_tuned_from": os.fspath(self.pretrained),
                **{k: card[k] for k in ("license", "attribution") if k in card}}

    def _encoder_noise_model(self):
        """``encoder_noise`` at ``model_fs``, checked before training, or None."""
        if self.encoder_noise is None:
            return None
        noise = clone(self.encoder_noise).set_params(fs=self.model_fs)
        noise._check_params()  # before training, not at the first crop
        return noise

    def _encoder_corruption(self):
        """``corrupt(crop, rng)`` adding ``encoder_noise`` at ``model_fs``, or None."""
        noise = self._encoder_noise_model()
        return None if noise is None else noise.corrupt

    def _noise_on_device(self) -> bool:
        """Whether ``encoder_noise`` is drawn on the training device (``noise_device``)."""
        if self.encoder_noise is None:
            return False
        where = self._engine().noise_device
        if where == "auto":
            return self.device_.type in ("cuda", "mps")
        return where == "device"

    def _set_device_noise(self, net, seed: int, on_device: bool) -> None:
        """Give ``net`` the device-side noise of this fit (or none), keeping its generator.

        A warm-started fit continues the generator of the previous one (its state
        is pickled with the net); a fit that draws noise in the loader drops it.
        """
        current = getattr(net, "device_noise", None)
        if not on_device:
            net.device_noise = None
            return
        if current is None:
            current = DeviceNoise(None, seed)
        current.noise = self._encoder_noise_model()
        net.device_noise = current

    def _total_steps(self, n_records: int) -> int:
        """Optimizer steps of one ``fit`` call on ``n_records`` records."""
        total = self.training_settings_["max_epochs"] * -(-n_records // self.batch_size)
        return total if self.max_steps is None else min(total, self.max_steps)

    def _build_net(self, n_records: int, seed: int, n_classes: int = 0):
        total = self._total_steps(n_records)
        engine = self._engine()
        settings = self.training_settings_
        callbacks = list(engine.callbacks or ())
        if settings["lr_schedule"] == "cosine":
            callbacks.append(("lr_schedule", BatchLRScheduler(
                policy=torch.optim.lr_scheduler.LambdaLR, lr_lambda=WarmupCosine(total),
                step_every="batch")))
        # always there, so that a warm-started fit can change max_steps
        callbacks.append(("max_steps", MaxSteps(self.max_steps)))
        if self.ema_decay:
            callbacks.append(("ema", EMA(self.ema_decay)))
        module_kwargs = {**self._architecture(),
                         "projection_dim": self.projection_dim if self.contrastive_weight else 0,
                         "n_classes": n_classes}
        return build_net(
            NoisePredictionNet, DiffAEModule, module_kwargs, lr=settings["lr"],
            max_epochs=settings["max_epochs"], batch_size=self.batch_size,
            device=self.device_,
            seed=seed, verbose=self.verbose, checkpoint_dir=engine.checkpoint_dir,
            grad_clip=self.grad_clip, callbacks=callbacks, pin_memory=engine.pin_memory,
            precision=engine.precision, compile_forward=engine.compile,
            optimizer__weight_decay=settings["weight_decay"],
            contrastive_weight=self.contrastive_weight,
            contrastive_temperature=self.contrastive_temperature)

    # ------------------------------------------------------------------ inference
    def _module(self):
        return getattr(self, "ema_module_", None) or self.net_.module_

    def _encode(self, records, keep_attention: bool = False, readout: str = "attention"):
        """z (n, embedding_dim), attention arrays (frames, C) and frame statistics.

        The attention weights are ``frames x embedding_dim`` floats per record
        (about 0.6 MB for a 32-s record), so they are only kept when asked for
        (else None). The statistics are the columns ``readout`` adds after ``z``
        (:meth:`_pooled_columns`): the means and standard deviations over time of the
        encoder's last features (``"attention+stats"``), then of each LRU block's
        output (``"attention+stats+blocks"``), then with ``"+rhythm"`` the
        autocorrelation peaks of the same feature sets, (n, n_features_out -
        embedding_dim); None for ``"attention"``.

        Records run in batches of similar lengths (:func:`_length_batches`: at most
        ``transform_batch_size`` records and about ``_BATCH_FRAMES`` encoder frames,
        so that padding stays small and a batch's activations stay in cache), under
        ``torch.inference_mode``, on frames padded to the LRU block when the batch is
        formed, with one :class:`~sklearn_biodiff.modules.lru.Workspace` per thread.
        With several torch threads on the CPU the batches run on that many threads
        of one torch thread each (:func:`_run_batches`).
        """
        module = self._module().eval()
        encoder = module.encoder
        lengths_all = np.array([r.shape[-1] for r in records])
        z = np.empty((len(records), self.embedding_dim), dtype=np.float32)
        attn = [None] * len(records) if keep_attention else None
        n_extra = self._n_features_out_for(readout) - self.embedding_dim
        stats = np.empty((len(records), n_extra), dtype=np.float32) if n_extra else None
        n_ch = records[0].shape[0]  # records are (n_leads, n_samples)
        multiple = encoder.stride * BLOCK
        local = threading.local()  # one workspace per thread, reused by its batches

        def run(idx):
            if not hasattr(local, "workspace"):
                local.workspace = Workspace()
            lengths = lengths_all[idx]
            # padded to whole LRU blocks of frames here, where it costs nothing
            batch = np.zeros((len(idx), n_ch, -(-lengths.max() // multiple) * multiple),
                             dtype=np.float32)
            for row, i in enumerate(idx):
                batch[row, :, : lengths[row]] = records[i]
            xb = torch.as_tensor(batch, device=self.device_)
            lt = torch.as_tensor(lengths, device=self.device_)
            with torch.inference_mode():  # thread-local: entered in each worker
                hs, mask = encoder.block_frames(xb, lt, padded=True,
                                                workspace=local.workspace)
                h = hs[-1]  # the features the reducer pools
                zb, sb = encoder.reducer(h, mask, workspace=local.workspace)
                if stats is not None:
                    stats[idx] = self._pooled_columns(readout, hs, mask).cpu().numpy()
                z[idx] = zb.cpu().numpy()
                if keep_attention:
                    frames = encoder.n_frames(lt).cpu().numpy()
                    for row, i in enumerate(idx):
                        attn[i] = sb[row, : frames[row]].cpu().numpy().copy()

        batches = list(_length_batches(lengths_all, self.transform_batch_size,
                                       _BATCH_FRAMES * encoder.stride))
        # the batches run on one-thread workers, so the embedding does not depend on how
        # many: the count may follow the machine's load
        with limit_torch_threads(self.n_threads, adapt=True):
            _run_batches(run, batches, torch.get_num_threads(),
                         on_cpu=torch.device(self.device_).type == "cpu")
        return z, attn, stats

    def _encode_reference(self, records, readout: str = "attention"):
        """``_encode`` as it was before issue 34: ``(z, stats)``.

        Batches of ``transform_batch_size`` records sorted by length, ``no_grad``,
        the chunked scan and the reducer's reference forward. Kept for the tests that
        pin the equality of the fast path and for ``bench_compute_bound``'s
        before/after rates in one run.
        """
        module = self._module().eval()
        order = np.argsort([r.shape[-1] for r in records], kind="stable")
        z = np.empty((len(records), self.embedding_dim), dtype=np.float32)
        n_extra = self._n_features_out_for(readout) - self.embedding_dim
        stats = np.empty((len(records), n_extra), dtype=np.float32) if n_extra else None
        bs = self.transform_batch_size
        n_ch = records[0].shape[0]
        with torch.no_grad(), limit_torch_threads(self.n_threads):
            for start in range(0, len(order), bs):
                idx = order[start : start + bs]
                lengths = np.array([records[i].shape[-1] for i in idx])
                batch = np.zeros((len(idx), n_ch, lengths.max()), dtype=np.float32)
                for row, i in enumerate(idx):
                    batch[row, :, : lengths[row]] = records[i]
                xb = torch.as_tensor(batch, device=self.device_)
                lt = torch.as_tensor(lengths, device=self.device_)
                hs, mask = module.encoder.block_frames_reference(xb, lt)
                h = hs[-1]
                zb, _ = module.encoder.reducer.forward_reference(h, mask)
                if stats is not None:
                    stats[idx] = self._pooled_columns(readout, hs, mask).cpu().numpy()
                z[idx] = zb.cpu().numpy()
        return z, stats

    def _check_inference_input(self, X):
        check_is_fitted(self)
        out = self._prepare(X, min_seconds=self.encoder_stride / self.model_fs,
                            what=type(self).__name__)
        check_n_leads(self, out[0], reset=False)
        return out

    def transform(self, X):
        """Embed each whole record in one pass through the encoder.

        Parameters
        ----------
        X : array-like of shape (n_records, n_samples) or (n_records, n_leads, \
n_samples), or list of arrays of shape (n_samples_i,) or (n_leads, n_samples_i)
            Raw signals at ``fs`` Hz, any length, with the leads seen in ``fit``.

        Returns
        -------
        Z : ndarray of shape (n_records, n_features_out), float32
            ``n_features_out`` is ``embedding_dim``, plus ``2 * encoder_width``
            with ``readout="attention+stats"``, plus ``2 * encoder_width *
            (encoder_layers + 1)`` with ``readout="attention+stats+blocks"``;
            ``"+rhythm"`` adds ``encoder_width`` per feature set (one, or
            ``encoder_layers + 1`` with ``"+blocks"``).
        """
        _, records, _ = self._check_inference_input(X)
        z, _, stats = self._encode(records, readout=self.readout)
        return z if stats is None else np.hstack([z, stats])

    @property
    def _n_features_out(self) -> int:
        """Columns of ``transform`` (fitted estimators only, for the feature names)."""
        if not hasattr(self, "net_"):
            raise AttributeError("_n_features_out")  # unfitted: check_is_fitted fails
        return self._n_features_out_for(self.readout)

    def _readout_sets(self, readout: str) -> tuple[list[str], list[str]]:
        """The feature sets ``readout`` pools: ``(with mean and std, with rhythm)``.

        Names in column order: ``"frame"`` (the encoder's last, layer-normalised
        features), then ``"block<k>"`` (LRU block ``k``'s output).
        """
        if readout not in READOUTS:  # set_params after fit is not validated
            raise ValueError(f"readout must be one of {READOUTS}, got {readout!r}.")
        parts = readout.split("+")
        sets = ["frame"] + ([f"block{k}" for k in range(self.encoder_layers)]
                            if "blocks" in parts else [])
        return (sets if "stats" in parts else []), (sets if "rhythm" in parts else [])

    def _pooled_columns(self, readout: str, hs: list, mask) -> torch.Tensor:
        """The columns after ``z``: (B, n_features_out - embedding_dim).

        ``hs`` and ``mask`` as :meth:`SemanticEncoder.block_frames` returns them.
        """
        stat_sets, rhythm_sets = self._readout_sets(readout)
        by_name = {"frame": hs[-1], **{f"block{k}": f for k, f in enumerate(hs[:-1])}}
        # each feature set centred once, for its statistics and its rhythm alike
        centered = {name: centered_frames(by_name[name], mask)
                    for name in dict.fromkeys([*stat_sets, *rhythm_sets])}
        cols = [masked_mean_std(by_name[name], mask, centered=centered[name])
                for name in stat_sets]
        if rhythm_sets:
            lo, hi = rhythm_lags(self.model_fs / self.encoder_stride, RHYTHM_PERIODS)
            cols += [autocorrelation_peak(by_name[name], mask, min_lag=lo, max_lag=hi,
                                          centered=centered[name])
                     for name in rhythm_sets]
        return torch.cat(cols, dim=1)

    def _n_features_out_for(self, readout: str) -> int:
        """Columns of ``transform`` with ``readout``."""
        stat_sets, rhythm_sets = self._readout_sets(readout)
        return self.embedding_dim + self.encoder_width * (2 * len(stat_sets)
                                                          + len(rhythm_sets))

    def get_feature_names_out(self, input_features=None):
        """Names of the ``transform`` columns.

        ``"<prefix>0"`` ... for ``z``; with ``readout="attention+stats"`` then
        ``"<prefix>_frame_mean0"`` ... and ``"<prefix>_frame_std0"`` ... for the
        encoder features' statistics over time (``<prefix>`` is
        ``"diffaeembedder"``); with ``readout="attention+stats+blocks"`` then
        ``"<prefix>_block<k>_mean0"`` ... and ``"<prefix>_block<k>_std0"`` ...
        for LRU block ``k`` (from 0); with ``"+rhythm"`` then
        ``"<prefix>_frame_rhythm0"`` ... (and ``"<prefix>_block<k>_rhythm0"`` ...
        with ``"+blocks"``) for the autocorrelation peaks.

        Returns
        -------
        ndarray of str objects
        """
        names = super().get_feature_names_out(input_features)
        stat_sets, rhythm_sets = self._readout_sets(self.readout)
        prefix = type(self).__name__.lower()
        width = range(self.encoder_width)
        return np.asarray(
            [*names[: self.embedding_dim],
             *(f"{prefix}_{where}_{what}{i}" for where in stat_sets
               for what in ("mean", "std") for i in width),
             *(f"{prefix}_{where}_rhythm{i}" for where in rhythm_sets for i in width)],
            dtype=object)

    def attention_weights(self, X, feature: int | None = None) -> list[np.ndarray]:
        """The attention reducer's weights ``S`` over time, per record.

        Parameters
        ----------
        X : signals at ``fs`` Hz
        feature : int or None, default=None
            Embedding feature whose weights to return; ``None`` averages over
            features.

        Returns
        -------
        list of ndarray
            One 1-D array per record (for all its leads), of the record's length
            in input samples: the
            weight of the encoder frame each sample falls in (frames are
            ``encoder_stride / model_fs`` seconds long; the weights of a record's
            frames sum to 1).
        """
        raw, records, _ = self._check_inference_input(X)
        if feature is not None and not 0 <= feature < self.embedding_dim:
            raise ValueError(f"feature must lie in [0, {self.embedding_dim}), got {feature}.")
        _, attn, _ = self._encode(records, keep_attention=True)
        out = []
        for x, s in zip(raw, attn):
            w = s.mean(axis=1) if feature is None else s[:, feature]
            t = np.arange(x.shape[-1]) / self.fs
            frame = np.minimum((t * self.model_fs / self.encoder_stride).astype(int),
                               len(w) - 1)
            out.append(w[frame].astype(np.float32))
        return out

    def reconstruct(self, X, n_steps: int = 50, random_state=None):
        """Decode each record from noise, conditioned on its embedding (DDIM, eta=0).

        Parameters
        ----------
        X : signals at ``fs`` Hz
        n_steps : int, default=50
            Denoising steps.
        random_state : int, RandomState or None
            Seed of the starting noise.

        Returns
        -------
        X_rec : same kind and shapes as ``X`` (array or list), float32
            Records of the input lengths and leads, in the input's units (the
            per-lead mean and standard deviation are restored).
        """
        raw, records, stats = self._check_inference_input(X)
        if not isinstance(n_steps, Integral) or n_steps < 1:
            raise ValueError(f"n_steps must be a positive integer, got {n_steps!r}.")
        z = self._encode(records)[0]
        module = self._module().eval()
        seed = int(check_random_state(random_state).randint(2**31 - 1))
        gen = torch.Generator().manual_seed(seed)
        out = []
        with torch.no_grad(), limit_torch_threads(self.n_threads):
            for i, (x, r, (mu, sd)) in enumerate(zip(raw, records, stats, strict=True)):
                zt = torch.as_tensor(z[i : i + 1], device=self.device_)
                rec = module.ddim_decode(zt, r.shape[-1], n_steps=n_steps,
                                         generator=gen)[0].cpu().numpy().astype(np.float64)
                rec = rec * sd + mu  # (n_leads, n)
                if self.fs != self.model_fs:
                    rec = resample_signal(rec, self.model_fs, self.fs)
                n = x.shape[-1]
                if rec.shape[-1] != n:
                    rec = np.stack([np.resize(lead, n) for lead in rec])
                out.append(rec.reshape(x.shape).astype(np.float32))
        return with_fs(np.stack(out) if isinstance(raw, np.ndarray) else out,
                       data_fs(X))

    def _restore_device(self):
        if hasattr(self, "net_"):
            self.device_ = torch.device(self.net_.device)
        super()._restore_device()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.input_tags.two_d_array = True
        return tags
