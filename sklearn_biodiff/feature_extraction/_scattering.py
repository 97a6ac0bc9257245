"""Scattering Transformer features: wavelet scattering, parameter-free attention, pooling."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from joblib import Memory
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_memory

from .._kymatio import DyadicScattering1D, pad_to_dyadic, padded_length, scattering_meta
from .._sklearn_compat import HasMethods, Interval, StrOptions, _fit_context, check_is_fitted
from .._validation import (
    check_data_fs,
    check_n_leads,
    check_signals,
    flatten_leads,
    n_leads,
    n_records,
    set_n_features_in,
)
from ..base import TorchEstimatorMixin, limit_torch_threads, progress, resolve_device
from ..preprocessing._scale import standardize_records

__all__ = ["ScatteringFeatures"]

_POOLING = {"mean": ("mean",), "mean_std": ("mean", "std"), "mean_std_max": ("mean", "std", "max")}


def _batches(lengths: np.ndarray, padded: np.ndarray, batch_size: int):
    """Index batches of records that share a padded length, sorted by length."""
    order = np.lexsort((lengths, padded))
    for n_pad in np.unique(padded):
        idx = order[padded[order] == n_pad]
        for start in range(0, len(idx), batch_size):
            yield int(n_pad), idx[start : start + batch_size]


def _featurise(records, params: dict, device: str, verbose: int = 0) -> np.ndarray:
    """Pure function behind :meth:`ScatteringFeatures.transform` (joblib-cacheable)."""
    import torch

    from ..modules.context import masked_pool, parameter_free_attention, sinusoidal_encoding

    J, Q, T, order = params["J"], params["Q"], params["T"], params["max_order"]
    stats = _POOLING[params["pooling"]]
    device = torch.device(device)
    meta_order = np.asarray(scattering_meta(J, Q, T, order)["order"])
    log_rows = torch.as_tensor(meta_order > 0, device=device)
    lengths = np.fromiter((len(r) for r in records), dtype=np.int64, count=len(records))
    padded = np.array([padded_length(int(n), J, Q, T) for n in lengths])
    n_out = len(stats) * len(meta_order)
    out = np.empty((len(records), n_out), dtype=np.float32)
    modules: dict[int, DyadicScattering1D] = {}
    batches = list(_batches(lengths, padded, params["batch_size"]))
    with torch.no_grad():
        for n_pad, idx in progress(batches, verbose=verbose, desc="scattering"):
            if n_pad not in modules:
                modules[n_pad] = DyadicScattering1D(J, n_pad, Q=Q, T=T, max_order=order).to(device)
            module = modules[n_pad]
            pads = [pad_to_dyadic(records[i], n_pad, module.hop) for i in idx]
            x = torch.from_numpy(np.stack([p[0] for p in pads])).to(device)
            S = module(x).transpose(1, 2)  # (B, frames, D)
            n_frames = max(last - first for _, first, last in pads)
            frames = S.new_zeros((len(idx), n_frames, S.shape[-1]))
            mask = torch.zeros((len(idx), n_frames), dtype=torch.bool, device=device)
            for b, (_, first, last) in enumerate(pads):
                frames[b, : last - first] = S[b, first:last]
                mask[b, : last - first] = True
            frames = torch.where(log_rows, torch.log(frames.clamp_min(0) + params["log_eps"]),
                                 frames)
            if params["contextualize"]:
                pe = None
                if params["positional_encoding"]:
                    pos = torch.arange(n_frames, device=device)
                    pe = sinusoidal_encoding(pos, frames.shape[-1])
                frames = parameter_free_attention(
                    frames, mask, n_layers=params["n_layers"], positional=pe,
                    temperature=params["temperature"],
                )
            out[idx] = masked_pool(frames, mask, stats).cpu().numpy()
    return out


class ScatteringFeatures(TorchEstimatorMixin, TransformerMixin, BaseEstimator):
    """Training-free Scattering Transformer (ST) features of variable-length records.

    Each record is (1) standardised, (2) wavelet-scattered with kymatio (first and
    second order, averaged over ``T = 2**J`` samples, log-compressed), giving a
    sequence of frames of ``n_coefficients`` values every ``2**J`` samples,
    (3) contextualised by ``n_layers`` of parameter-free self-attention in which
    queries, keys and values are the frames themselves (scaled dot product, softmax
    over the record's frames, residual connection, affine-free layer norm), and
    (4) pooled over time into one vector.

    Records of any length keep all their samples: a record is reflect-padded to the
    dyadic length kymatio itself would use, and only the frames that cover the
    record are kept (none of the padding enters the pooled statistics). Records
    that share a dyadic length are batched together.

    Multi-lead records (the shape rule: :ref:`signal_shapes`) are featurised lead
    by lead (each lead standardised on its own) and the leads' feature vectors
    are concatenated, lead 0 first: ``n_leads * n_features`` features, named
    with a lead prefix by :meth:`get_feature_names_out`. One lead, as ``(n, t)``
    or ``(n, 1, t)``, gives the single-lead features.

    Parameters
    ----------
    fs : float, default=300.0
        Sampling rate of the input in Hz. Checked against ``X.fs`` when the
        signals carry one (the package's loaders and resamplers do).
    J : int, default=8
        Averaging scale: frames are ``2**J`` samples apart and average over the same
        span (256 samples = 0.85 s at 300 Hz, about one beat). Second-order
        coefficients then describe amplitude modulations up to that span (beat
        morphology, QRS/T energy, fibrillatory waves) and the frame sequence
        carries the rhythm, which the attention and the std pooling summarise.
    Q : int or tuple of int, default=8
        First-order wavelets per octave (second order uses one per octave):
        8 resolves P, QRS and T-wave bands between 0.6 and 150 Hz.
    max_order : {1, 2}, default=2
    T : int or None, default=None
        Averaging support in samples; ``None`` means ``2**J``.
    log_eps : float, default=1e-3
        Scattering coefficients ``S`` of orders 1 and 2 become ``log(S + log_eps)``
        (records are standardised first, so this is relative to the record scale).
        Order 0 (a low-pass of the signal) stays linear.
    standardize : bool, default=True
        Per-record robust standardisation (median, IQR) before scattering, so
        features do not depend on gain or baseline.
    contextualize : bool, default=True
        Apply the attention stage; ``False`` gives plain pooled log-scattering
        (for ablations).
    n_layers : int, default=1
        Number of attention layers.
    positional_encoding : bool, default=True
        Add a sinusoidal encoding of the frame index to queries and keys (not to
        values, so pooled features carry no length-dependent offset).
    temperature : float, default=1.0
        Softmax temperature of the attention; larger is flatter.
    pooling : {"mean", "mean_std", "mean_std_max"}, default="mean_std"
        Statistics over the record's frames.
    batch_size : int, default=32
        Records per scattering batch.
    device : str, default="auto"
        ``"auto"`` uses CUDA when available.
    n_jobs : int or None, default=None
        Torch threads used while transforming (``None`` keeps torch's setting).
        Inside a parallel CV, joblib's workers already cap it at ``n_cores // n_jobs``.
    memory : str, joblib.Memory or None, default=None
        Cache of computed features: a second call on the same records with the
        same parameters is read from disk.
    verbose : int, default=0
        Show a progress bar.
    lead_names : list of str or None, default=None
        Names of the leads, used as prefixes of the feature names (e.g.
        ``data.lead_names`` of :func:`~sklearn_biodiff.datasets.load_wfdb_database`);
        ``None`` uses ``lead0``, ``lead1``, ... for multi-lead input and no prefix
        for one lead. Its length must match the leads of ``X``.

    Attributes
    ----------
    n_features_out_ : int
        ``n_leads_in_ * len(pooling statistics) * n_coefficients``.
    n_leads_in_ : int
        Leads of the records seen in ``fit``; ``transform`` checks it.
    meta_ : dict
        kymatio's description of each coefficient (``order``, ``xi``, ``j``).
    device_ : torch.device
    n_features_in_ : int
        Record length of 2-D input seen in ``fit`` (absent for ragged input).

    See Also
    --------
    sklearn_biodiff.feature_extraction.VAELatent : the next stage of DACL.

    References
    ----------
    J. Andén, S. Mallat. Deep scattering spectrum. IEEE TSP 62(16), 2014.
    Zewail. Diffusion-Augmented Contrastive Learning: a noise-robust encoder for
    biosignal representations.

    Examples
    --------
    >>> from sklearn_biodiff.datasets import make_synthetic_ecg
    >>> from sklearn_biodiff.feature_extraction import ScatteringFeatures
    >>> X, y = make_synthetic_ecg(4, random_state=0)
    >>> ScatteringFeatures(J=6, Q=4).fit_transform(X).shape
    (4, 134)
    """

    _parameter_constraints = {
        "fs": [Interval(Real, 0, None, closed="neither")],
        "J": [Interval(Integral, 1, 16, closed="both")],
        "Q": [Interval(Integral, 1, 32, closed="both"), tuple],
        "max_order": [Interval(Integral, 1, 2, closed="both")],
        "T": [Interval(Integral, 1, None, closed="left"), None],
        "log_eps": [Interval(Real, 0, None, closed="neither")],
        "standardize": ["boolean"],
        "contextualize": ["boolean"],
        "n_layers": [Interval(Integral, 0, None, closed="left")],
        "positional_encoding": ["boolean"],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "pooling": [StrOptions(set(_POOLING))],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "device": "no_validation",
        "n_jobs": [Interval(Integral, 1, None, closed="left"), None],
        "memory": [None, str, HasMethods(["cache"])],
        "verbose": ["verbose"],
        "lead_names": [list, tuple, None],
    }

    def __init__(
        self,
        fs=300.0,
        *, J=8,
        Q=8,
        max_order=2,
        T=None,
        log_eps=1e-3,
        standardize=True,
        contextualize=True,
        n_layers=1,
        positional_encoding=True,
        temperature=1.0,
        pooling="mean_std",
        batch_size=32,
        device="auto",
        n_jobs=None,
        memory=None,
        verbose=0,
        lead_names=None,
    ):
        self.fs = fs
        self.J = J
        self.Q = Q
        self.max_order = max_order
        self.T = T
        self.log_eps = log_eps
        self.standardize = standardize
        self.contextualize = contextualize
        self.n_layers = n_layers
        self.positional_encoding = positional_encoding
        self.temperature = temperature
        self.pooling = pooling
        self.batch_size = batch_size
        self.device = device
        self.n_jobs = n_jobs
        self.memory = memory
        self.verbose = verbose
        self.lead_names = lead_names

    @property
    def min_length(self) -> int:
        """Shortest record accepted, in samples: one averaging window ``T``."""
        return int(self.T if self.T is not None else 2**self.J)

    def _validate(self, X, reset: bool = False):
        check_data_fs(X, self.fs, type(self).__name__)
        X = check_signals(
            X, min_length=self.min_length,
            what=f"{type(self).__name__}(J={self.J}, T={self.T}) "
                 f"({self.min_length / self.fs:.2f} s at fs={self.fs} Hz)",
        )
        if reset and self.lead_names is not None and len(self.lead_names) != n_leads(X):
            raise ValueError(
                f"lead_names has {len(self.lead_names)} name(s) ({list(self.lead_names)}) "
                f"but X has {n_leads(X)} lead(s); give one name per lead, in the order of X.")
        check_n_leads(self, X, reset=reset)
        return X

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Validate the input and describe the output; nothing is learned.

        Parameters
        ----------
        X : array-like of shape (n_records, n_samples) or (n_records, n_leads, \
n_samples), or list of arrays of shape (n_samples_i,) or (n_leads, n_samples_i)
            Signals sampled at ``fs`` Hz (the shape rule: :ref:`signal_shapes`).
        y : None
            Ignored.

        Returns
        -------
        self : object
        """
        X = self._validate(X, reset=True)
        self._fit_meta(X)
        return self

    def _fit_meta(self, X):
        if isinstance(self.Q, (tuple, list)) and not (
                1 <= len(self.Q) <= 2
                and all(isinstance(q, Integral) and not isinstance(q, bool) and 1 <= q <= 32
                        for q in self.Q)):
            raise ValueError(
                f"Q must be an integer in [1, 32] or a tuple (Q1,) or (Q1, Q2) of such "
                f"integers (wavelets per octave at the first and second order), got "
                f"{self.Q!r}.")
        set_n_features_in(self, X)
        self.device_ = resolve_device(self.device)
        self.meta_ = scattering_meta(self.J, self.Q, self.T, self.max_order)
        self.n_features_out_ = n_leads(X) * len(_POOLING[self.pooling]) * len(self.meta_["order"])

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Fit and transform in one pass (the features are computed once)."""
        X = self._validate(X, reset=True)
        self._fit_meta(X)
        return self._transform(X)

    def transform(self, X):
        """Compute the features of each record.

        Parameters
        ----------
        X : array-like of shape (n_records, n_samples) or (n_records, n_leads, \
n_samples), or list of arrays of shape (n_samples_i,) or (n_leads, n_samples_i)
            Signals sampled at ``fs`` Hz, each at least ``min_length`` samples,
            with the leads seen in ``fit`` (the shape rule: :ref:`signal_shapes`).

        Returns
        -------
        features : ndarray of shape (n_records, n_features), float32
            ``n_features_out_`` features; with several leads the features of lead
            0, then of lead 1, ...
        """
        check_is_fitted(self)
        return self._transform(self._validate(X))

    def _transform(self, X):
        n = n_records(X)
        records = list(flatten_leads(X))  # one single-lead record per (record, lead)
        if self.standardize:
            records = [standardize_records(r).astype(np.float32) for r in records]
        params = {k: getattr(self, k) for k in (
            "J", "Q", "T", "max_order", "log_eps", "contextualize", "n_layers",
            "positional_encoding", "temperature", "pooling", "batch_size")}
        if isinstance(params["Q"], list):
            params["Q"] = tuple(params["Q"])
        func = _featurise
        if self.memory is not None:
            memory = check_memory(self.memory)
            if isinstance(memory, Memory):
                func = memory.cache(_featurise, ignore=["verbose"])
        with limit_torch_threads(self.n_jobs):
            features = func(records, params, str(self.device_), verbose=self.verbose)
        # (n * n_leads, F) record-major -> (n, n_leads * F), lead 0 first
        return features.reshape(n, -1)

    def get_feature_names_out(self, input_features=None):
        """Readable names: lead, statistic, order, and centre frequencies in Hz.

        Example: ``"mean_S2_12.3Hz_1.17Hz"`` is the time-average of the
        second-order coefficient of the 12.3 Hz first-order band modulated at
        1.17 Hz. With several leads (or ``lead_names``) each name starts with
        its lead: ``"lead1_mean_S2_12.3Hz_1.17Hz"``, ``"V1_mean_S0"``.
        """
        check_is_fitted(self)
        names = []
        for order, xi in zip(self.meta_["order"], self.meta_["xi"]):
            freqs = "_".join(f"{f * self.fs:.3g}Hz" for f in np.atleast_1d(xi)[:order])
            names.append(f"S{order}" + (f"_{freqs}" if freqs else ""))
        names = [f"{s}_{n}" for s in _POOLING[self.pooling] for n in names]
        c = getattr(self, "n_leads_in_", 1)
        if self.lead_names is not None:
            prefixes = [f"{lead}_" for lead in self.lead_names]
        else:
            prefixes = [f"lead{k}_" for k in range(c)] if c > 1 else [""]
        return np.asarray([p + n for p in prefixes for n in names], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.non_deterministic = False
        return tags
