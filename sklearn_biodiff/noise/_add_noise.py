"""AddNoise: corrupt records with noise at an exact signal-to-noise ratio."""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state

from .._sklearn_compat import Interval, StrOptions
from .._validation import (
    SignalList,
    check_signals_and_labels,
    data_fs,
    pack_signals,
    with_fs,
)
from ..preprocessing._base import SignalTransformer
from ._sources import NOISE_KINDS, check_source_span, make_noise, make_noise_torch, noise_scale

__all__ = ["AddNoise", "augment_with_noise", "measure_snr_db"]


def measure_snr_db(clean, noisy) -> float:
    """SNR in dB of ``noisy`` against ``clean``: ``10 log10(var(clean) / mean((noisy - clean)^2))``.

    The signal power is the record's variance (its mean, a DC offset, does not
    count as signal); the noise power is the mean square of the added noise.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_biodiff.noise import AddNoise, measure_snr_db
    >>> x = np.sin(np.arange(3000) / 20.0)
    >>> noisy = AddNoise("gaussian", snr_db=6.0, random_state=0).fit_transform([x])[0]
    >>> round(measure_snr_db(x, noisy), 1)
    6.0
    """
    clean = np.asarray(clean, dtype=np.float64)
    noise = np.asarray(noisy, dtype=np.float64) - clean
    return float(10 * np.log10(np.var(clean) / np.mean(noise**2)))


def _check_kind(kind):
    kinds = kind if isinstance(kind, tuple | list) else (kind,)
    if not kinds or any(k not in NOISE_KINDS for k in kinds):
        raise ValueError(f"kind must be one of {NOISE_KINDS} or a tuple of them, got {kind!r}.")


#: |snr_db| above this is rejected: the noise scale 10**(-snr/20) overflows or
#: vanishes long before, and no ECG use needs more than 200 dB either way
MAX_ABS_SNR_DB = 200.0


def _check_snr(snr_db):
    if isinstance(snr_db, tuple | list):
        if len(snr_db) != 2 or not all(np.isfinite(snr_db)) or snr_db[0] > snr_db[1]:
            raise ValueError(f"snr_db as a range must be (low, high) with finite low <= "
                             f"high, got {snr_db!r}.")
        values = snr_db
    elif not isinstance(snr_db, Real) or not np.isfinite(snr_db):
        raise ValueError(f"snr_db must be a finite number of dB or a (low, high) range, "
                         f"got {snr_db!r}.")
    else:
        values = (snr_db,)
    if any(abs(v) > MAX_ABS_SNR_DB for v in values):
        raise ValueError(
            f"snr_db={snr_db!r} is outside [-{MAX_ABS_SNR_DB:g}, {MAX_ABS_SNR_DB:g}] dB, "
            "where the noise scale 10**(-snr_db/20) overflows or vanishes in floating "
            "point; use an SNR between -200 and 200 dB (ECG stress tests use about -6 "
            "to 24 dB).")


class AddNoise(SignalTransformer):
    """Add noise to each record at a given signal-to-noise ratio.

    For each record ``x`` a zero-mean noise ``n`` of ``kind`` is drawn and scaled
    so that ``10 log10(var(x) / mean(n**2)) == snr_db`` exactly: the signal power
    is the record's own variance (see :func:`measure_snr_db`). Real noise comes
    from the MIT-BIH Noise Stress Test Database (bundled, resampled to ``fs``);
    each record gets its own random segment.

    Multi-lead records (the shape rule: :ref:`signal_shapes`) get the SNR on every
    lead: each lead's noise is scaled to that lead's variance. With
    ``leads="independent"`` every lead gets its own noise draw (own Gaussian
    samples, own segment of real noise, own powerline phases); with
    ``leads="shared"`` one draw is added to every lead (perfectly correlated
    noise, as from a common-mode source), still scaled per lead. A record draws
    one SNR from an ``snr_db`` range for all its leads.

    Use it to corrupt a test set (:func:`robustness_curve`), or as a
    training-time augmentation: noisy copies of the training records
    (:func:`augment_with_noise`), or fresh noise on every training crop of the
    encoder (``DiffAEEmbedder(encoder_noise=AddNoise(...))``). In a ``Pipeline``
    it would corrupt the data at prediction time too.

    Parameters
    ----------
    kind : {"gaussian", "baseline_wander", "muscle", "powerline", "mixture"} or tuple, \
default="gaussian"
        ``"gaussian"``: white noise. ``"baseline_wander"``, ``"muscle"``: NSTDB
        records ``bw`` and ``ma``. ``"powerline"``: ``powerline_hz`` and two
        harmonics with random phases. ``"mixture"``: baseline wander, muscle and
        powerline with equal power. A tuple of kinds mixes those.
    snr_db : float or (float, float), default=12.0
        Target SNR in dB, or a range from which each record's SNR is drawn
        uniformly (for augmentation); within [-200, 200] dB.
    fs : float, default=300.0
        Sampling rate of the records in Hz (checked against ``X.fs`` when the
        records carry it).
    powerline_hz : float, default=50.0
        Mains frequency (50 or 60 Hz).
    source_span : (float, float), default=(0.0, 1.0)
        Part of the real noise recordings (fractions of their 30 minutes) that
        segments are drawn from. Give training augmentation and evaluation
        disjoint spans, e.g. ``(0, 0.5)`` and ``(0.5, 1)``, so that no stretch of
        real noise is seen in both.
    leads : {"independent", "shared"}, default="independent"
        Noise of multi-lead records: a separate draw per lead, or one draw added
        to every lead (each scaled to its lead's SNR). Single-lead records are
        the same either way.
    random_state : int, RandomState or None, default=None
        The same seed gives the same noise for the same records on every call.

    Attributes
    ----------
    n_leads_in_ : int
        Leads of the records seen in ``fit``; ``transform`` of a fitted instance
        checks it.
    n_features_in_ : int
        Only when fitted on a 2-D array.

    See Also
    --------
    robustness_curve : score a fitted estimator on records corrupted at several SNRs.

    References
    ----------
    Moody, Muldrow, Mark. A noise stress test for arrhythmia detectors. Computers
    in Cardiology 11:381-384, 1984.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_biodiff.noise import AddNoise, measure_snr_db
    >>> x = np.sin(np.linspace(0, 60, 3000))[None, :]
    >>> noisy = AddNoise("muscle", snr_db=6, random_state=0).fit_transform(x)
    >>> round(measure_snr_db(x[0], noisy[0]), 3)
    6.0
    """

    _parameter_constraints = {
        "kind": [str, tuple, list],
        "snr_db": [Real, tuple, list],
        "fs": [Interval(Real, 0, None, closed="neither")],
        "powerline_hz": [Interval(Real, 0, None, closed="neither")],
        "source_span": [tuple, list],
        "leads": [StrOptions({"independent", "shared"})],
        "random_state": ["random_state"],
    }

    def __init__(self, kind="gaussian", snr_db=12.0, *, fs=300.0, powerline_hz=50.0,
                 source_span=(0.0, 1.0), leads="independent", random_state=None):
        self.kind = kind
        self.snr_db = snr_db
        self.fs = fs
        self.powerline_hz = powerline_hz
        self.source_span = source_span
        self.leads = leads
        self.random_state = random_state

    def _check_params(self) -> None:
        """Clear errors for an unknown kind, a bad SNR, ``source_span`` or ``leads``."""
        _check_kind(self.kind)
        _check_snr(self.snr_db)
        check_source_span(self.source_span)
        if self.leads not in ("independent", "shared"):
            raise ValueError(f"leads must be 'independent' or 'shared', got {self.leads!r}.")

    def _validate(self, X, reset: bool = False):
        self._check_params()
        return super()._validate(X, reset=reset)

    def _corrupt(self, x: np.ndarray, i: int, rng) -> np.ndarray:
        """``x`` of shape (n_samples,) or (n_leads, n_samples) plus noise, float64."""
        x64 = np.asarray(x, dtype=np.float64)
        leads = x64.reshape(-1, x64.shape[-1])
        power = np.var(leads, axis=-1)
        if not (power > 0).all():
            lead = "" if x64.ndim == 1 else f", lead {int(np.flatnonzero(~(power > 0))[0])},"
            raise ValueError(f"record {i}{lead} is constant (zero power): its SNR is "
                             "undefined.")
        snr = (rng.uniform(*self.snr_db) if isinstance(self.snr_db, tuple | list)
               else float(self.snr_db))
        n_draws = 1 if self.leads == "shared" else len(leads)
        noise = np.stack([make_noise(self.kind, leads.shape[-1], self.fs, rng,
                                     powerline_hz=self.powerline_hz,
                                     source_span=self.source_span) for _ in range(n_draws)])
        scale = noise_scale(power, snr)[:, None]
        return (leads + noise * scale).reshape(x64.shape)

    def corrupt(self, x, random_state=None) -> np.ndarray:
        """One record plus noise at the target SNR, for on-the-fly augmentation.

        Parameters
        ----------
        x : array-like of shape (n_samples,) or (n_leads, n_samples)
            One record at ``fs`` Hz.
        random_state : int, RandomState or None
            Drawn from as it is (pass one ``RandomState`` to get fresh noise on
            every call); ``self.random_state`` is not used.

        Returns
        -------
        noisy : ndarray of the shape of ``x``, float32
        """
        self._check_params()
        x = np.asarray(x)
        if x.ndim not in (1, 2):
            raise ValueError(f"corrupt takes one record of shape (n_samples,) or "
                             f"(n_leads, n_samples), got shape {x.shape}.")
        return self._corrupt(x, 0, check_random_state(random_state)).astype(np.float32)

    def corrupt_batch(self, x, generator, *, rows=None, batch_size=None):
        """A batch of records plus noise at the target SNR, drawn on the batch's device.

        The noise model of :meth:`corrupt` (same kinds, equal-power sums, unit
        power per draw, one SNR per record from an ``snr_db`` range, a draw per
        lead or one shared by the leads, ``source_span``, ``powerline_hz``) in
        torch, for the whole batch at once, from ``generator``
        (:func:`~sklearn_biodiff.noise.make_noise_torch`): no numpy and no host
        synchronisation, so a GPU training step augments its own batch. Same
        distribution as :meth:`corrupt`, not the same draws.

        Parameters
        ----------
        x : Tensor of shape (batch, n_samples) or (batch, n_leads, n_samples)
            Records at ``fs`` Hz, on any device.
        generator : torch.Generator
            On ``x``'s device; every draw comes from it.
        rows : slice, int Tensor or None, default=None
            ``x`` holds these rows of a global batch of ``batch_size`` records
            (one process's shard under ``torch.distributed``): the noise and the
            SNRs are drawn for the whole global batch and these rows kept, so the
            processes together add the noise of one process with the whole batch.
        batch_size : int or None, default=None
            Rows of the global batch (required with ``rows``).

        Returns
        -------
        noisy : Tensor of the shape, dtype and device of ``x``
            A lead of zero power (constant) gets no noise (:meth:`corrupt` raises
            instead; checking would stop a GPU to read the result).

        Examples
        --------
        >>> import torch
        >>> from sklearn_biodiff.noise import AddNoise, measure_snr_db
        >>> x = torch.sin(torch.arange(3000) / 20.0).repeat(4, 1)
        >>> noisy = AddNoise("mixture", snr_db=6).corrupt_batch(x, torch.Generator().manual_seed(0))
        >>> round(measure_snr_db(x[0].numpy(), noisy[0].numpy()), 3)
        6.0
        """
        import torch

        self._check_params()
        if not torch.is_tensor(x) or x.ndim not in (2, 3) or not x.is_floating_point():
            raise ValueError("corrupt_batch takes a floating tensor of shape (batch, n_samples) "
                             "or (batch, n_leads, n_samples), got "
                             f"{getattr(x, 'shape', type(x).__name__)}.")
        leads = x if x.ndim == 3 else x[:, None]
        dtype = torch.promote_types(x.dtype, torch.float32)
        n = len(x) if rows is None else int(batch_size)
        kw = {"dtype": dtype, "powerline_hz": self.powerline_hz,
              "source_span": self.source_span}
        if isinstance(self.snr_db, tuple | list):
            lo, hi = (float(v) for v in self.snr_db)
            snr = lo + (hi - lo) * torch.rand(n, generator=generator, device=x.device,
                                              dtype=dtype)
        else:
            snr = torch.full((n,), float(self.snr_db), device=x.device, dtype=dtype)
        n_draws = 1 if self.leads == "shared" else leads.shape[1]
        noise = make_noise_torch(self.kind, (n, n_draws), leads.shape[-1], self.fs,
                                 generator, **kw)
        if rows is not None:
            noise, snr = noise[rows], snr[rows]
        leads = leads.to(dtype)
        power = leads.var(dim=-1, correction=0, keepdim=True)
        out = leads + noise * noise_scale(power, snr[:, None, None])
        return out.reshape(x.shape).to(x.dtype)

    def transform(self, X):
        """Return noisy copies of the records.

        Parameters
        ----------
        X : array-like of shape (n_records, n_samples) or (n_records, n_leads, \
n_samples), or list of arrays of shape (n_samples_i,) or (n_leads, n_samples_i)
            Signals (the shape rule: :ref:`signal_shapes`).

        Returns
        -------
        Xt : ndarray or list of arrays, float32
            The layout and shapes of ``X``.
        """
        fs_out = self._output_fs(X)
        X = self._validate(X)
        rng = check_random_state(self.random_state)
        out = [self._corrupt(x, i, rng).astype(np.float32) for i, x in enumerate(X)]
        return with_fs(np.stack(out) if isinstance(X, np.ndarray) else pack_signals(out),
                       fs_out)


def augment_with_noise(X, y, noise: AddNoise, *, n_copies: int = 1, groups=None):
    """Training-time augmentation: the clean records plus ``n_copies`` noisy copies.

    Parameters
    ----------
    X : signals
        Any shape the package accepts (:ref:`signal_shapes`).
    y : array-like of shape (n_records,)
    noise : AddNoise
        Typically with an SNR range, e.g. ``AddNoise("mixture", snr_db=(0, 24))``.
        Copy ``k`` uses seed ``random_state + k`` when ``random_state`` is an int
        (else seeds drawn from it).
    n_copies : int, default=1
    groups : array-like of shape (n_records,) or None
        Patient of each record, repeated for the copies (keeps grouped CV valid).

    Returns
    -------
    X_aug : list of float32 records, length ``(n_copies + 1) * n_records``
    y_aug : ndarray
    groups_aug : ndarray or None

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_biodiff.noise import AddNoise, augment_with_noise
    >>> X = [np.sin(np.arange(3000) / 20.0), np.cos(np.arange(2700) / 15.0)]
    >>> X_aug, y_aug, _ = augment_with_noise(X, [0, 1], AddNoise(snr_db=(0, 24), random_state=0),
    ...                                      n_copies=2)
    >>> len(X_aug), y_aug.tolist()
    (6, [0, 1, 0, 1, 0, 1])
    """
    fs = data_fs(X)
    records, y = check_signals_and_labels(X, y)
    if n_copies < 1:
        raise ValueError(f"n_copies must be >= 1, got {n_copies}.")
    records = SignalList(list(records), fs=fs)
    out = list(records)
    base = noise.random_state
    if isinstance(base, int | np.integer):
        seeds = [int(base) + k for k in range(n_copies)]
    else:
        seeds = check_random_state(base).randint(2**31 - 1, size=n_copies).tolist()
    for seed in seeds:
        out.extend(clone(noise).set_params(random_state=seed).transform(records))
    reps = n_copies + 1
    g = None if groups is None else np.tile(np.asarray(groups), reps)
    return SignalList(out, fs=fs), np.tile(y, reps), g
