"""Unit-power noise of each kind at any sampling rate: the one noise model.

Two implementations of the same distribution share the constants and helpers of
this module: :func:`make_noise` (numpy, one draw from a ``RandomState``; used by
``AddNoise.transform``/``corrupt``) and :func:`make_noise_torch` (torch, many
draws at once on a tensor's device from a ``torch.Generator``; used by
``AddNoise.corrupt_batch``, the training-device augmentation of DiffAE).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np

from ..preprocessing._resample import resample_signal

__all__ = ["NOISE_KINDS", "load_nstdb_noise", "make_noise", "make_noise_torch", "noise_scale"]

#: real recordings bundled in ``noise/data/nstdb_noise.npz`` (see ``scripts/make_nstdb_noise.py``)
_REAL = {"baseline_wander": "bw", "muscle": "ma"}
#: components of ``kind="mixture"``, summed with equal power
MIXTURE = ("baseline_wander", "muscle", "powerline")
NOISE_KINDS = ("gaussian", "baseline_wander", "muscle", "powerline", "mixture")
#: relative amplitudes of the mains fundamental and its harmonics
_POWERLINE_HARMONICS = (1.0, 0.5, 0.25)


def load_nstdb_noise(kind: str) -> tuple[np.ndarray, float]:
    """The bundled MIT-BIH Noise Stress Test recording of ``kind``, in mV.

    Channel 0 of record ``bw`` (baseline wander) or ``ma`` (muscle artifact),
    30 minutes, resampled from 360 to 300 Hz. As recorded, ``ma`` holds slow
    drift as well as EMG: 86% of its power lies below 1 Hz, 10% above 5 Hz
    (``bw``: 99.5% below 1 Hz). Source: Moody, Muldrow, Mark, "A
    noise stress test for arrhythmia detectors", Computers in Cardiology 11,
    1984; PhysioNet (Goldberger et al., 2000); license ODC-By 1.0.

    Parameters
    ----------
    kind : {"baseline_wander", "muscle"}

    Returns
    -------
    noise : ndarray of shape (541667,), float64
    fs : float
        300.0

    Examples
    --------
    >>> from sklearn_biodiff.noise import load_nstdb_noise
    >>> signal, fs = load_nstdb_noise("baseline_wander")
    >>> fs, signal.ndim
    (300.0, 1)
    """
    if kind not in _REAL:
        raise ValueError(f"real noise kinds are {sorted(_REAL)}, got {kind!r}.")
    with resources.files("sklearn_biodiff.noise").joinpath("data/nstdb_noise.npz").open(
            "rb") as fh, np.load(fh) as npz:
        return npz[_REAL[kind]].astype(np.float64) / float(npz["gain"]), float(npz["fs"])


@lru_cache(maxsize=16)
def _real_noise_at(kind: str, fs: float) -> np.ndarray:
    noise, src_fs = load_nstdb_noise(kind)
    if fs != src_fs:
        noise = resample_signal(noise, src_fs, fs).astype(np.float64)
    noise = noise - noise.mean()
    noise.setflags(write=False)
    return noise


def _span_bounds(n: int, span) -> tuple[int, int]:
    """Sample bounds ``[lo, hi)`` of ``source_span`` in a recording of ``n`` samples."""
    a, b = check_source_span(span)
    return int(round(a * n)), int(round(b * n))


def _powerline_harmonics(powerline_hz: float, fs: float) -> list[tuple[int, float]]:
    """``(harmonic k, amplitude)`` of the mains components below the Nyquist frequency."""
    out = [(k, amp) for k, amp in enumerate(_POWERLINE_HARMONICS, start=1)
           if k * powerline_hz < fs / 2]
    if not out:
        raise ValueError(f"powerline_hz={powerline_hz} is above the Nyquist frequency "
                         f"of fs={fs} Hz.")
    return out


def noise_scale(power, snr_db):
    """Amplitude putting unit-power noise at ``snr_db`` below a signal of ``power``.

    ``sqrt(power / 10**(snr_db / 10))``, for numpy arrays and torch tensors alike.
    """
    ratio = power / 10 ** (snr_db / 10)
    return ratio.sqrt() if hasattr(ratio, "sqrt") else np.sqrt(ratio)


def _unit_power(x: np.ndarray) -> np.ndarray:
    x = x - x.mean()
    p = np.mean(x**2)
    return x / np.sqrt(p) if p > 0 else x


def check_source_span(span) -> tuple[float, float]:
    """``(start, end)`` fractions with ``0 <= start < end <= 1``, or a clear error."""
    try:
        a, b = (float(v) for v in span)
    except (TypeError, ValueError):
        raise ValueError(f"source_span must be (start, end) fractions, got {span!r}.") from None
    if not 0.0 <= a < b <= 1.0:
        raise ValueError(f"source_span must satisfy 0 <= start < end <= 1, got {span!r}.")
    return a, b


def make_noise(kind: str, n_samples: int, fs: float, rng: np.random.RandomState, *,
               powerline_hz: float = 50.0, source_span=(0.0, 1.0)) -> np.ndarray:
    """Zero-mean, unit-power noise of ``kind``.

    Parameters
    ----------
    kind : {"gaussian", "baseline_wander", "muscle", "powerline", "mixture"} or tuple
        A tuple of kinds sums them with equal power (``"mixture"`` is
        baseline wander + muscle + powerline).
    n_samples : int
    fs : float
        Sampling rate in Hz; real noise is resampled to it.
    rng : numpy.random.RandomState
        Draws the Gaussian samples, the start of the real-noise segment (the
        recording wraps around when the record is longer than 30 minutes) and the
        phases of the powerline components.
    powerline_hz : float, default=50.0
        Mains frequency; harmonics 1-3 at amplitudes 1, 0.5, 0.25, those at or
        above the Nyquist frequency left out.
    source_span : (float, float), default=(0.0, 1.0)
        Part of each real noise recording (fractions of its length) that segments
        are drawn from, wrapping around inside it.

    Returns
    -------
    ndarray of shape (n_samples,), float64

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_biodiff.noise import make_noise
    >>> n = make_noise("powerline", 3000, 300.0, np.random.RandomState(0))
    >>> n.shape
    (3000,)
    """
    if isinstance(kind, tuple | list):
        parts = [make_noise(k, n_samples, fs, rng, powerline_hz=powerline_hz,
                            source_span=source_span) for k in kind]
        return _unit_power(np.sum(parts, axis=0))
    if kind == "mixture":
        return make_noise(MIXTURE, n_samples, fs, rng, powerline_hz=powerline_hz,
                          source_span=source_span)
    if kind == "gaussian":
        return _unit_power(rng.standard_normal(n_samples))
    if kind in _REAL:
        src = _real_noise_at(kind, float(fs))
        lo, hi = _span_bounds(len(src), source_span)
        src = src[lo:hi]
        start = int(rng.randint(len(src)))
        return _unit_power(np.take(src, np.arange(start, start + n_samples), mode="wrap"))
    if kind == "powerline":
        t = np.arange(n_samples) / fs
        out = np.zeros(n_samples)
        for k, amp in _powerline_harmonics(powerline_hz, fs):
            out += amp * np.sin(2 * np.pi * k * powerline_hz * t + rng.uniform(0, 2 * np.pi))
        return _unit_power(out)
    raise ValueError(f"unknown noise kind {kind!r}; choose from {NOISE_KINDS} or a tuple.")


# ---------------------------------------------------------------- torch: whole batches
def _on_device(array: np.ndarray, device: str, dtype):
    """A host array as a ``dtype`` tensor on ``device`` (converted on the host: MPS has
    no float64)."""
    import torch

    return torch.tensor(np.asarray(array), dtype=dtype).to(device)


@lru_cache(maxsize=16)
def _real_noise_tensor(kind: str, fs: float, device: str, dtype):
    """:func:`_real_noise_at` as a tensor on ``device``, copied there once."""
    return _on_device(_real_noise_at(kind, fs), device, dtype)


@lru_cache(maxsize=16)
def _powerline_basis(n_samples: int, fs: float, powerline_hz: float, device: str, dtype):
    """``(sin, cos)`` of the mains components below Nyquist, each (n_harmonics, n_samples).

    Scaled by the harmonics' amplitudes and computed in float64 on the host (once
    per length, rate and device), so that a random phase ``phi`` gives
    ``amp * sin(w t + phi) = sin_k * cos(phi) + cos_k * sin(phi)`` exactly as
    :func:`make_noise` does, without float32 phase error on long records.
    """
    t = np.arange(n_samples) / fs
    harmonics = _powerline_harmonics(powerline_hz, fs)
    arg = np.stack([2 * np.pi * k * powerline_hz * t for k, _ in harmonics])
    amp = np.array([a for _, a in harmonics])[:, None]
    return (_on_device(amp * np.sin(arg), device, dtype),
            _on_device(amp * np.cos(arg), device, dtype))


def _unit_power_torch(x):
    """:func:`_unit_power` over the last axis of a tensor (no host synchronisation)."""
    import torch

    x = x - x.mean(dim=-1, keepdim=True)
    p = x.square().mean(dim=-1, keepdim=True)
    return x / p.clamp_min(torch.finfo(x.dtype).tiny).sqrt()  # x == 0 where p == 0


def make_noise_torch(kind, shape: tuple[int, ...], n_samples: int, fs: float, generator, *,
                     dtype=None, powerline_hz: float = 50.0, source_span=(0.0, 1.0)):
    """Independent draws of :func:`make_noise`, as one tensor on ``generator``'s device.

    The same distribution as :func:`make_noise` (same kinds, equal-power sums,
    zero mean and unit power per draw), drawn from a ``torch.Generator``: no
    numpy and no host synchronisation, so it runs on a GPU for a whole batch. The
    real recordings and the powerline waveforms are copied to the device once and
    cached there.

    Parameters
    ----------
    kind : {"gaussian", "baseline_wander", "muscle", "powerline", "mixture"} or tuple
    shape : tuple of int
        Leading shape: ``prod(shape)`` independent draws.
    n_samples : int
    fs : float
    generator : torch.Generator
        Its device is the device of the result.
    dtype : torch.dtype or None, default=None
        Floating dtype of the result (``None``: float32).
    powerline_hz : float, default=50.0
    source_span : (float, float), default=(0.0, 1.0)

    Returns
    -------
    Tensor of shape ``(*shape, n_samples)``

    Examples
    --------
    >>> import torch
    >>> from sklearn_biodiff.noise import make_noise_torch
    >>> n = make_noise_torch("mixture", (4, 2), 3000, 300.0, torch.Generator().manual_seed(0))
    >>> tuple(n.shape), round(float(n.square().mean()), 4)
    ((4, 2, 3000), 1.0)
    """
    import torch

    dtype = torch.float32 if dtype is None else dtype
    device = generator.device
    kw = {"dtype": dtype, "powerline_hz": powerline_hz, "source_span": source_span}
    shape = tuple(int(s) for s in shape)
    if isinstance(kind, tuple | list):
        parts = [make_noise_torch(k, shape, n_samples, fs, generator, **kw) for k in kind]
        return _unit_power_torch(torch.stack(parts).sum(dim=0))
    if kind == "mixture":
        return make_noise_torch(MIXTURE, shape, n_samples, fs, generator, **kw)
    if kind == "gaussian":
        return _unit_power_torch(torch.randn((*shape, n_samples), generator=generator,
                                             device=device, dtype=dtype))
    if kind in _REAL:
        src = _real_noise_tensor(kind, float(fs), str(device), dtype)
        lo, hi = _span_bounds(len(src), source_span)
        start = torch.randint(hi - lo, shape, generator=generator, device=device)
        offsets = torch.arange(n_samples, device=device)
        return _unit_power_torch(src[lo + (start[..., None] + offsets) % (hi - lo)])
    if kind == "powerline":
        sin, cos = _powerline_basis(int(n_samples), float(fs), float(powerline_hz),
                                    str(device), dtype)
        phase = 2 * np.pi * torch.rand((*shape, len(sin)), generator=generator,
                                       device=device, dtype=dtype)
        return _unit_power_torch(phase.cos() @ sin + phase.sin() @ cos)
    raise ValueError(f"unknown noise kind {kind!r}; choose from {NOISE_KINDS} or a tuple.")
