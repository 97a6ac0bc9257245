"""The diffusion forward process, shared by DACL, the denoising AE and DiffAE.

Timesteps are 1-based, as in the DACL paper: ``t = 1`` is the least noisy view
and ``t = n_timesteps`` the noisiest. The forward process is

    z_t = sqrt(abar_t) z_0 + sqrt(1 - abar_t) eps,   eps ~ N(0, I),

with ``abar_t = prod_{s <= t} (1 - beta_s)``.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "DiffusionSchedule",
    "InvalidTimestepRange",
    "check_timestep_range",
    "make_beta_schedule",
    "q_sample",
    "sample_timesteps",
]

SCHEDULES = ("linear", "cosine")


def make_beta_schedule(
    kind: str = "linear",
    n_timesteps: int = 1000,
    *,
    beta_start: float | None = None,
    beta_end: float | None = None,
    cosine_s: float = 0.008,
) -> np.ndarray:
    """Noise variances ``beta_1 … beta_T``, shape ``(n_timesteps,)``, float64.

    Parameters
    ----------
    kind : {"linear", "cosine"}
        ``"linear"``: evenly spaced from ``beta_start`` to ``beta_end`` (Ho et al.
        2020). The endpoints do not depend on ``n_timesteps``: with the DACL
        paper's 50 steps, ``abar_50 ≈ 0.60`` (the noisiest view keeps most of the
        signal); with 1000 steps, ``abar_1000 ≈ 4e-5`` (pure noise).
        ``"cosine"``: ``abar_t = cos²((t/T + s) / (1 + s) · π/2)`` (Nichol &
        Dhariwal 2021), betas clipped at 0.999; always ends in pure noise.
    n_timesteps : int
    beta_start, beta_end : float, optional
        Linear endpoints; default 1e-4 and 0.02.
    cosine_s : float, default=0.008

    Returns
    -------
    betas : ndarray of shape (n_timesteps,)

    Examples
    --------
    >>> from sklearn_biodiff.diffusion import make_beta_schedule
    >>> betas = make_beta_schedule("linear", 50)
    >>> betas.shape, bool((betas[1:] > betas[:-1]).all())
    ((50,), True)
    """
    if kind not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {kind!r}.")
    if int(n_timesteps) < 1:
        raise ValueError(f"n_timesteps must be >= 1, got {n_timesteps}.")
    T = int(n_timesteps)
    if kind == "linear":
        lo = 1e-4 if beta_start is None else beta_start
        hi = 0.02 if beta_end is None else beta_end
        if not 0 < lo <= hi < 1:
            raise ValueError(f"need 0 < beta_start <= beta_end < 1, got {lo}, {hi}.")
        return np.linspace(lo, hi, T, dtype=np.float64)
    steps = np.arange(T + 1, dtype=np.float64) / T
    abar = np.cos((steps + cosine_s) / (1 + cosine_s) * math.pi / 2) ** 2
    abar = abar / abar[0]
    return np.clip(1 - abar[1:] / abar[:-1], 0.0, 0.999)


class DiffusionSchedule:
    """Cumulative quantities of a beta schedule, indexed by 1-based timestep.

    Parameters
    ----------
    kind : {"linear", "cosine"}, default="linear"
    n_timesteps : int, default=1000

    Attributes
    ----------
    betas, alphas, alphas_cumprod : ndarray of shape (n_timesteps,)
        ``alphas_cumprod[t - 1]`` is ``abar_t``.

    Examples
    --------
    >>> from sklearn_biodiff.diffusion import DiffusionSchedule
    >>> schedule = DiffusionSchedule("cosine", 50)
    >>> bool(schedule.abar(1) > schedule.abar(50))
    True
    """

    def __init__(self, kind: str = "linear", n_timesteps: int = 1000, **kwargs):
        self.kind = kind
        self.n_timesteps = int(n_timesteps)
        self.betas = make_beta_schedule(kind, n_timesteps, **kwargs)
        self.alphas = 1.0 - self.betas
        self.alphas_cumprod = np.cumprod(self.alphas)
        self._cache: dict = {}

    def abar(self, t, like=None):
        """``abar_t`` for integer timesteps ``t`` (1-based), as a tensor like ``like``.

        ``t = 0`` gives 1 (no noise).
        """
        import torch

        device = like.device if like is not None else None
        key = str(device)
        if key not in self._cache:
            table = np.concatenate([[1.0], self.alphas_cumprod])
            self._cache[key] = torch.as_tensor(table, dtype=torch.float32, device=device)
        table = self._cache[key]
        return table[t.long()] if torch.is_tensor(t) else table[int(t)]

    def snr_db(self) -> np.ndarray:
        """Signal-to-noise ratio ``abar / (1 - abar)`` in dB per timestep."""
        a = self.alphas_cumprod
        return 10 * np.log10(a / np.maximum(1 - a, 1e-300))

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_cache"] = {}
        return state


def q_sample(z0, t, noise, schedule: DiffusionSchedule):
    """Draw ``z_t`` from ``q(z_t | z_0)``.

    Parameters
    ----------
    z0 : Tensor of shape (B, ...)
        Clean data.
    t : Tensor of int, shape (B,)
        1-based timesteps (0 returns ``z0``).
    noise : Tensor like ``z0``
        Standard normal noise ``eps``.
    schedule : DiffusionSchedule

    Returns
    -------
    z_t : Tensor like ``z0``
        ``sqrt(abar_t) z0 + sqrt(1 - abar_t) noise``.

    Examples
    --------
    >>> import torch
    >>> from sklearn_biodiff.diffusion import DiffusionSchedule, q_sample
    >>> z0, eps = torch.ones(4, 8), torch.randn(4, 8)
    >>> zt = q_sample(z0, torch.tensor([1, 10, 25, 50]), eps, DiffusionSchedule("linear", 50))
    >>> zt.shape
    torch.Size([4, 8])
    """
    abar = schedule.abar(t, like=z0).reshape((-1,) + (1,) * (z0.dim() - 1))
    return abar.sqrt() * z0 + (1.0 - abar).sqrt() * noise


def sample_timesteps(n: int, t_min: int, t_max: int, *, device=None, generator=None):
    """``n`` timesteps drawn uniformly from ``{t_min, …, t_max}`` (inclusive).

    Examples
    --------
    >>> import torch
    >>> t = sample_timesteps(1000, 34, 50, generator=torch.Generator().manual_seed(0))
    >>> int(t.min()) >= 34 and int(t.max()) <= 50
    True
    """
    import torch

    return torch.randint(int(t_min), int(t_max) + 1, (n,), device=device, generator=generator)


class InvalidTimestepRange(ValueError):
    """A timestep range outside ``1 <= t_min <= t_max <= n_timesteps``.

    A ``ValueError``; tuning helpers catch it to prune the trial instead of failing.

    Examples
    --------
    >>> from sklearn_biodiff.diffusion import InvalidTimestepRange, check_timestep_range
    >>> try:
    ...     check_timestep_range(40, 20, 50)
    ... except InvalidTimestepRange as exc:
    ...     print(isinstance(exc, ValueError))
    True
    """


def check_timestep_range(t_min: int, t_max: int, n_timesteps: int, *, inference_t=None):
    """Raise :class:`InvalidTimestepRange` unless ``1 <= t_min <= t_max <= n_timesteps``.

    Examples
    --------
    >>> check_timestep_range(34, 50, 50)
    >>> check_timestep_range(40, 20, 50)
    Traceback (most recent call last):
    ...
    sklearn_biodiff.diffusion.InvalidTimestepRange: ...
    """
    if not 1 <= t_min <= n_timesteps or not 1 <= t_max <= n_timesteps:
        raise InvalidTimestepRange(
            f"t_min={t_min} and t_max={t_max} must lie in [1, n_timesteps={n_timesteps}]."
        )
    if t_min > t_max:
        raise InvalidTimestepRange(f"t_min={t_min} must not exceed t_max={t_max}.")
    if inference_t is not None and not 0 <= inference_t <= n_timesteps:
        raise ValueError(
            f"inference_t={inference_t} must lie in [0, n_timesteps={n_timesteps}]."
        )
