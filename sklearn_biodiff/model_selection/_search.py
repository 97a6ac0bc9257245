"""Hyperparameter search of the diffusion estimators: grids, Optuna, grouped CV."""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass, replace
from numbers import Integral, Real

import numpy as np
from sklearn import config_context
from sklearn.base import clone, is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import cross_validate
from sklearn.utils import Bunch, _safe_indexing

from ..diffusion import InvalidTimestepRange
from ._scoring import make_patient_scorer, patient_roc_auc_score
from ._split import _check_grouped_cv, check_groups_disjoint
from ._study import (
    create_or_load_study,
    import_optuna,
    is_shared_storage,
    optuna_verbosity,
    storage_errors,
    worker_identity,
)

__all__ = [
    "DACLSearchSpace",
    "grouped_cross_validate",
    "optuna_search",
    "timestep_ablation_grid",
    "timestep_ranges",
]

def timestep_ranges(n_timesteps: int = 50) -> dict[str, tuple[int, int]]:
    """The DACL paper's timestep bins: Early, Mid, Late thirds and All.

    For 50 steps: early 1-16, mid 17-33, late 34-50, all 1-50 (1-based, inclusive).

    Parameters
    ----------
    n_timesteps : int, default=50

    Returns
    -------
    dict of str to (t_min, t_max)

    Examples
    --------
    >>> from sklearn_biodiff.model_selection import timestep_ranges
    >>> timestep_ranges(50)["late"]
    (34, 50)
    """
    if n_timesteps < 3:
        raise ValueError(f"n_timesteps must be >= 3 to form three bins, got {n_timesteps}.")
    base, extra = divmod(n_timesteps, 3)
    sizes = [base + (1 if i >= 3 - extra else 0) for i in range(3)]
    edges = np.cumsum([0] + sizes)
    names = ("early", "mid", "late")
    out = {n: (int(edges[i]) + 1, int(edges[i + 1])) for i, n in enumerate(names)}
    out["all"] = (1, n_timesteps)
    return out


def timestep_ablation_grid(n_timesteps: int = 50, *, prefix: str = "dacl__") -> list[dict]:
    """``param_grid`` for ``GridSearchCV`` reproducing the timestep ablation.

    Parameters
    ----------
    n_timesteps : int, default=50
    prefix : str
        Step name in the pipeline plus ``"__"`` (default ``"dacl__"``; ``""`` for a
        bare DACLEmbedder).

    Returns
    -------
    list of dict
        One single-candidate grid per range of :func:`timestep_ranges`, in the
        order early, mid, late, all.

    Examples
    --------
    >>> timestep_ablation_grid()[0]
    {'dacl__t_min': [1], 'dacl__t_max': [16]}
    """
    return [{f"{prefix}t_min": [lo], f"{prefix}t_max": [hi]}
            for lo, hi in timestep_ranges(n_timesteps).values()]


@dataclass
class DACLSearchSpace:
    """Optuna search space of the DACL pipeline.

    Call it with a trial (define-by-run): ``t_max`` is drawn from
    ``[t_min, t_high]`` so every sampled range is valid. :meth:`distributions`
    gives independent distributions for ``OptunaSearchCV``; there
    ``t_min > t_max`` can be sampled and the estimator rejects it with a clear
    :class:`~sklearn_biodiff.diffusion.InvalidTimestepRange` (scored as
    ``error_score``).

    Parameters
    ----------
    prefix : str, default="auto"
        Parameter prefix of the DACL step. ``"auto"``: found in the estimator
        :func:`optuna_search` is given (its one
        :class:`~sklearn_biodiff.feature_extraction.DACLEmbedder`, e.g.
        ``"keep__embedding__dacl__"`` in ``make_dacl_pipeline()`` and ``"dacl__"``
        with ``keep_features=False``), and ``"dacl__"`` when the space is called on
        its own.
    vae_prefix : str or None, default="auto"
        Prefix of the VAE step whose ``latent_dim`` is searched; ``"auto"`` as for
        ``prefix`` (the one :class:`~sklearn_biodiff.feature_extraction.VAELatent`,
        skipped when there is none; ``"vae__"`` on its own); ``None`` skips it.
    t_low, t_high : int, default=1, 50
        Bounds of the timestep range searched.
    margin : (float, float), default=(0.1, 2.0)
    lr : (float, float), default=(1e-4, 3e-3)
        Log-uniform.
    latent_dims : tuple of int, default=(16, 32, 64)
        Categorical, so that a Pipeline cache reuses VAE fits across trials.

    Examples
    --------
    >>> import optuna
    >>> from sklearn_biodiff.model_selection import DACLSearchSpace
    >>> params = DACLSearchSpace()(optuna.trial.FixedTrial(
    ...     {"dacl__t_min": 10, "dacl__t_max": 30, "dacl__margin": 1.0,
    ...      "dacl__lr": 1e-3, "vae__latent_dim": 32}))
    >>> params["dacl__t_min"] <= params["dacl__t_max"]
    True
    """

    prefix: str = "auto"
    vae_prefix: str | None = "auto"
    t_low: int = 1
    t_high: int = 50
    margin: tuple[float, float] = (0.1, 2.0)
    lr: tuple[float, float] = (1e-4, 3e-3)
    latent_dims: tuple[int, ...] = (16, 32, 64)

    def _check(self):
        if not 1 <= self.t_low <= self.t_high:
            raise InvalidTimestepRange(
                f"search range needs 1 <= t_low <= t_high, got t_low={self.t_low}, "
                f"t_high={self.t_high}.")
        for name in ("margin", "lr"):
            lo, hi = getattr(self, name)
            if not 0 < lo <= hi:
                raise ValueError(f"{name} bounds must satisfy 0 < low <= high, got {(lo, hi)}.")

    def for_estimator(self, estimator) -> DACLSearchSpace:
        """This space with each ``"auto"`` prefix resolved in ``estimator``.

        Parameters
        ----------
        estimator : estimator
            A DACL pipeline, or a :class:`~sklearn_biodiff.feature_extraction.DACLEmbedder`.

        Returns
        -------
        DACLSearchSpace
            A copy whose prefixes are the ``set_params`` paths of the estimator's
            DACL and VAE steps.

        Raises
        ------
        ValueError
            The estimator has no DACL step, or several, so that ``prefix`` must be
            given.
        """
        from ..feature_extraction import DACLEmbedder, VAELatent

        found = {}
        for arg, kind in (("prefix", DACLEmbedder), ("vae_prefix", VAELatent)):
            if getattr(self, arg) != "auto":
                continue
            paths = _paths_of(estimator, kind)
            if len(paths) > 1 or (arg == "prefix" and not paths):
                raise ValueError(
                    f"DACLSearchSpace({arg}='auto') needs exactly one {kind.__name__} in the "
                    f"estimator, found {len(paths)}" + (f" ({paths})" if paths else "")
                    + f"; pass {arg}= the step's parameter prefix.")
            found[arg] = paths[0] if paths else None
        return replace(self, **found)

    def _resolved(self) -> DACLSearchSpace:
        """The prefixes of the paper's pipeline for each ``"auto"`` (standalone use)."""
        return replace(self, prefix="dacl__" if self.prefix == "auto" else self.prefix,
                       vae_prefix="vae__" if self.vae_prefix == "auto" else self.vae_prefix)

    def __call__(self, trial) -> dict:
        """Sample estimator parameters (``set_params`` names) for ``trial``."""
        self._check()
        if "auto" in (self.prefix, self.vae_prefix):
            return self._resolved()(trial)
        p = self.prefix
        t_min = trial.suggest_int(f"{p}t_min", self.t_low, self.t_high)
        params = {
            f"{p}t_min": t_min,
            f"{p}t_max": trial.suggest_int(f"{p}t_max", t_min, self.t_high),
            f"{p}margin": trial.suggest_float(f"{p}margin", *self.margin),
            f"{p}lr": trial.suggest_float(f"{p}lr", *self.lr, log=True),
        }
        if self.vae_prefix is not None and self.latent_dims:
            key = f"{self.vae_prefix}latent_dim"
            params[key] = trial.suggest_categorical(key, list(self.latent_dims))
        return params

    def distributions(self) -> dict:
        """Independent Optuna distributions, for ``OptunaSearchCV``."""
        self._check()
        if "auto" in (self.prefix, self.vae_prefix):
            return self._resolved().distributions()
        optuna = import_optuna()
        d = optuna.distributions
        p = self.prefix
        out = {
            f"{p}t_min": d.IntDistribution(self.t_low, self.t_high),
            f"{p}t_max": d.IntDistribution(self.t_low, self.t_high),
            f"{p}margin": d.FloatDistribution(*self.margin),
            f"{p}lr": d.FloatDistribution(*self.lr, log=True),
        }
        if self.vae_prefix is not None and self.latent_dims:
            out[f"{self.vae_prefix}latent_dim"] = d.CategoricalDistribution(
                list(self.latent_dims))
        return out


def _paths_of(estimator, kind) -> list[str]:
    """``set_params`` prefixes (``"a__b__"``, ``""`` for the estimator itself) of every
    ``kind`` instance in ``estimator``."""
    paths = [""] if isinstance(estimator, kind) else []
    if hasattr(estimator, "get_params"):
        paths += [f"{key}__" for key, value in estimator.get_params(deep=True).items()
                  if isinstance(value, kind)]
    return paths


def _splits(cv, X, y, groups, estimator):
    cv = _check_grouped_cv(cv, y, groups, classifier=is_classifier(estimator))
    splits = list(cv.split(X, y, groups))
    if groups is not None:
        for tr, te in splits:
            check_groups_disjoint(tr, te, groups)
    return splits


def grouped_cross_validate(
    estimator,
    X,
    y,
    *,
    groups,
    cv=None,
    scoring="roc_auc",
    patient_level: str | None = None,
    n_jobs: int | None = None,
    verbose: int = 0,
    return_estimator: bool = False,
    error_score="raise",
) -> dict:
    """``cross_validate`` with patient-grouped folds, optionally scored per patient.

    Parameters
    ----------
    estimator : estimator
        E.g. the pipeline of :func:`~sklearn_biodiff.pipeline.make_dacl_pipeline`.
    X : list of 1-D arrays or array of shape (n_records, n_samples)
    y : array-like of shape (n_records,)
    groups : array-like of shape (n_records,)
        Patient of each record (``Bunch.groups``); no patient crosses folds
        (checked).
    cv : int, splitter, iterable or None, default=None
        ``None`` is 5 folds. An integer ``k`` is ``k`` patient-grouped folds:
        :func:`make_grouped_cv` ``(k)`` (stratified, seed 0) for class labels,
        ``GroupKFold(k, shuffle=True, random_state=0)`` for other targets. A
        splitter is used as given and called with ``groups``.
    scoring : str or callable, default="roc_auc"
        Ignored when ``patient_level`` is given.
    patient_level : {"mean", "median", "max"} or None, default=None
        Score patients instead of records: each patient's scores are aggregated
        with this function first (:func:`patient_roc_auc_score`).
    n_jobs : int or None
        Parallel folds (joblib). The default loky backend caps each worker's
        torch/OpenMP threads at ``n_cores // n_jobs``, so folds do not
        oversubscribe the CPU. Inside ``joblib.parallel_config(backend="dask")``
        the folds run on a Dask cluster, whose nanny-started workers use one
        torch thread each (see the "Scaling out" page); with another backend set
        the estimators' ``n_threads``.
    verbose, return_estimator, error_score
        As in :func:`sklearn.model_selection.cross_validate`.

    Returns
    -------
    dict
        The result of ``cross_validate`` (``test_score`` per fold, times, ...).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_biodiff.model_selection import grouped_cross_validate
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.randn(40, 3), np.array([0, 1] * 20)
    >>> groups = np.arange(40) // 4  # 10 patients, 4 records each
    >>> res = grouped_cross_validate(LogisticRegression(), X, y, groups=groups, cv=5)
    >>> len(res["test_score"])
    5
    """
    splits = _splits(cv, X, y, groups, estimator)
    estimator, wanted = _groups_only_where_requested(estimator)
    if patient_level is None and not wanted:
        return cross_validate(estimator, X, y, groups=groups, cv=splits, scoring=scoring,
                              n_jobs=n_jobs, verbose=verbose, error_score=error_score,
                              return_estimator=return_estimator)
    with config_context(enable_metadata_routing=True):
        scorer = (check_scoring(estimator, scoring) if patient_level is None
                  else make_patient_scorer(patient_level))
        return cross_validate(estimator, X, y, params={"groups": np.asarray(groups)},
                              cv=splits, scoring=scorer,
                              n_jobs=n_jobs, verbose=verbose, error_score=error_score,
                              return_estimator=return_estimator)


def _groups_only_where_requested(estimator):
    """A clone whose steps receive ``groups`` only if they asked for it.

    Steps whose ``fit`` accepts ``groups`` (e.g. ``DACLEmbedder``) but whose
    request is unset are set to not receive them, so that the patient ids reach
    the patient-level scorer (and the steps that called
    ``set_fit_request(groups=True)``) without a routing error, and the window- and
    patient-level scores come from the same fits. Returns ``(clone, wanted)``
    where ``wanted`` tells whether some step requested ``groups``.
    """
    estimator = clone(estimator)
    with config_context(enable_metadata_routing=True):
        return estimator, _unset_groups_requests_off(estimator)


def _unset_groups_requests_off(estimator) -> bool:
    parts = [estimator, *(v for v in estimator.get_params(deep=True).values()
                          if hasattr(v, "get_metadata_routing"))]
    wanted = False
    for part in parts:
        if not hasattr(part, "set_fit_request"):
            continue
        request = getattr(part.get_metadata_routing(), "fit", None)
        state = None if request is None else request.requests.get("groups", "absent")
        if state is None:
            part.set_fit_request(groups=False)
        elif state is True:
            wanted = True
    return wanted


def _fit_routed(estimator, X, y, groups):
    """``estimator.fit(X, y)``, routing ``groups`` to the steps that requested them.

    ``groups=None`` is a plain fit; otherwise the fit runs with scikit-learn's
    metadata routing enabled, so a ``Pipeline`` hands ``groups`` to exactly the
    steps that called ``set_fit_request(groups=True)``.
    """
    if groups is None:
        return estimator.fit(X, y)
    with config_context(enable_metadata_routing=True):
        return estimator.fit(X, y, groups=groups)


def _response(estimator, X):
    for method in ("decision_function", "predict_proba"):
        if hasattr(estimator, method):
            out = np.asarray(getattr(estimator, method)(X))
            return out[:, 1] if out.ndim == 2 else out
    raise TypeError(f"{type(estimator).__name__} has neither decision_function nor "
                    "predict_proba.")


class _FoldFailed(RuntimeError):
    """A fold of a trial raised: that trial fails, the study goes on.

    Errors outside the folds (a broken ``param_space``) still propagate.
    """


class _NonFiniteScore(ValueError):
    """A fold scored NaN or infinity (e.g. ROC AUC of a test fold with one class)."""


def _is_positive_int(value) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool) and value >= 1


def _check_budget(n_trials, timeout, heartbeat_interval) -> None:
    """Refuse a malformed budget, and a call with no budget at all.

    ``n_trials=None, timeout=None`` is Optuna's "until interrupted": refused, so that a
    forgotten budget does not hold a machine (and a CI job) forever, and every call
    returns its result. A long run is a large ``timeout``.
    """
    if n_trials is not None and not _is_positive_int(n_trials):
        raise ValueError(f"n_trials must be a positive integer or None (run until "
                         f"timeout), got {n_trials!r}.")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, Real)
                                or not timeout > 0):
        raise ValueError(f"timeout must be a positive number of seconds or None, "
                         f"got {timeout!r}.")
    if n_trials is None and timeout is None:
        raise ValueError(
            "optuna_search got n_trials=None and timeout=None: the study would run until "
            "the process is killed, and return nothing. Pass n_trials=<number of trials> "
            "or timeout=<seconds> (or both; e.g. timeout=8 * 3600 for a night).")
    if heartbeat_interval is not None and not _is_positive_int(heartbeat_interval):
        raise ValueError(f"heartbeat_interval must be a positive integer (seconds) or None "
                         f"(no heartbeat), got {heartbeat_interval!r}.")


def _make_pruner(optuna, pruner):
    if isinstance(pruner, str) and pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0)
    if pruner is None:
        return optuna.pruners.NopPruner()
    if isinstance(pruner, optuna.pruners.BasePruner):
        return pruner
    raise ValueError(f"pruner must be 'median', None or an optuna.pruners.BasePruner "
                     f"instance, got {pruner!r}.")


def _check_space_prefixes(param_space, estimator) -> None:
    """Refuse, before any trial, a :class:`DACLSearchSpace` naming parameters the
    estimator does not have, and say which prefixes it does have.

    ``make_dacl_pipeline()`` (``keep_features=True``) reaches its DACL step as
    ``keep__embedding__dacl__``, not the space's default ``dacl__``; without this
    check every trial would fail on ``set_params``.
    """
    params = estimator.get_params(deep=True)
    wanted = {"prefix": (param_space.prefix, "t_min")}
    if param_space.vae_prefix is not None and param_space.latent_dims:
        wanted["vae_prefix"] = (param_space.vae_prefix, "latent_dim")
    missing = {arg: (prefix, name) for arg, (prefix, name) in wanted.items()
               if f"{prefix}{name}" not in params}
    if not missing:
        return
    found = {arg: sorted(k[: -len(name)] for k in params
                         if k.endswith(f"__{name}") or k == name)
             for arg, (_, name) in missing.items()}
    fix = ", ".join(f"{arg}={found[arg][0]!r}" for arg in missing if found[arg])
    names = ", ".join(f"{prefix}{name}" for prefix, name in missing.values())
    raise ValueError(
        f"optuna_search: the search space names parameters the estimator does not have "
        f"({names}). "
        + (f"Its DACL/VAE steps are reached with other prefixes: pass DACLSearchSpace({fix}"
           + (", vae_prefix=None" if "vae_prefix" in missing and not found["vae_prefix"]
              else "") + "). " if fix else "")
        + "make_dacl_pipeline() reaches them as 'keep__embedding__dacl__' and "
        "'keep__embedding__vae__'; make_dacl_pipeline(keep_features=False), the paper's "
        "pipeline, as 'dacl__' and 'vae__'.")


def _warn_if_space_exceeds_timesteps(param_space, estimator) -> None:
    """Warn before the study when a :class:`DACLSearchSpace` draws impossible timesteps.

    Trials whose ``t_max`` (or ``t_min``) exceeds the estimator's ``n_timesteps``
    are pruned; with ``t_low > n_timesteps`` no trial can be valid.
    """
    if not isinstance(param_space, DACLSearchSpace):
        return
    param_space._check()  # a clear error for a malformed space, before any trial
    _check_space_prefixes(param_space, estimator)
    n_timesteps = estimator.get_params().get(f"{param_space.prefix}n_timesteps")
    if not isinstance(n_timesteps, Integral) or param_space.t_high <= n_timesteps:
        return
    what = ("no trial can be valid" if param_space.t_low > n_timesteps else
            f"every trial that draws t_max > {n_timesteps} is pruned")
    warnings.warn(
        f"optuna_search: DACLSearchSpace(t_low={param_space.t_low}, "
        f"t_high={param_space.t_high}) exceeds n_timesteps={n_timesteps} of the "
        f"estimator ({param_space.prefix}n_timesteps), so {what}. Pass "
        f"DACLSearchSpace(t_high={n_timesteps}) or a larger n_timesteps.",
        UserWarning, stacklevel=3)


def _raise_if_every_trial_failed(trials, worker_id: str) -> None:
    """Raise, like scikit-learn's searches when all fits fail, if this call's trials all failed.

    Called when the study has no completed trial. Trials of other workers
    (``worker_id`` user attribute) do not count; a pruned trial makes it a
    warning (:func:`_warn_no_complete_trial`) instead.
    """
    optuna = import_optuna()
    mine = [t for t in trials if t.user_attrs.get("worker_id") == worker_id]
    if not mine or any(t.state != optuna.trial.TrialState.FAIL for t in mine):
        return
    counts = Counter(t.user_attrs.get("failed_reason", "no reason recorded") for t in mine)
    shown = "; ".join(f"{n} x {reason}" for reason, n in counts.most_common(3))
    more = f"; and {len(counts) - 3} other reason(s)" if len(counts) > 3 else ""
    raise ValueError(
        f"optuna_search: all {len(mine)} trial(s) failed, so there is no best trial; "
        f"the estimator or the search space is likely misconfigured. Reasons: "
        f"{shown}{more}. Each failed trial keeps its reason in "
        "user_attrs['failed_reason'] (pass storage=... to keep the study).")


def _warn_no_complete_trial(trials) -> None:
    """Warn, with the first reason, when no trial of the study completed."""
    reasons = [t.user_attrs.get("pruned_reason") or t.user_attrs.get("failed_reason")
               for t in trials]
    reasons = [r for r in reasons if r]
    why = f" The first reason: {reasons[0]}" if reasons else ""
    warnings.warn(
        f"optuna_search: none of the {len(trials)} trial(s) of the study completed, so "
        f"there is no best trial (best_params is None).{why} Check that the search space "
        "can produce valid parameters (e.g. DACLSearchSpace(t_high=...) at most the "
        "estimator's n_timesteps) and that one fold fits on its own.",
        UserWarning, stacklevel=3)


def optuna_search(
    estimator,
    X,
    y,
    param_space,
    *,
    groups=None,
    cv=None,
    scoring="roc_auc",
    patient_level: str | None = None,
    n_trials: int | None = 20,
    timeout: float | None = None,
    storage=None,
    study_name: str | None = None,
    load_if_exists: bool = True,
    heartbeat_interval: int | None = 60,
    sampler=None,
    pruner="median",
    refit: bool = False,
    random_state=None,
    verbose: int = 0,
) -> Bunch:
    """Tune ``estimator`` by patient-grouped CV in an Optuna study, pruning bad trials.

    Each trial samples parameters with ``param_space(trial)``, fits a clone on
    the folds one after another and reports the running mean fold score after
    each fold, so the pruner stops a trial that is behind the others after its
    first fold(s). Pruning is per fold rather than per epoch because the
    epoch losses of DACL (a triplet loss) depend on the margin and on the
    noise level of the views, so they do not rank configurations with different
    ``margin`` or ``t_min``/``t_max`` comparably. Invalid timestep ranges
    (:class:`~sklearn_biodiff.diffusion.InvalidTimestepRange`) are pruned with
    the reason stored in the trial's ``user_attrs["pruned_reason"]``. A trial
    whose fit or scoring raises on a fold (e.g. a diverged training,
    :class:`~sklearn_biodiff.exceptions.TrainingDivergedError`) or whose fold
    score is NaN or infinite (e.g. ROC AUC of a test fold with one class) is
    marked failed, with the reason in ``user_attrs["failed_reason"]``, and the
    study goes on.
    When every trial of the call failed, a ``ValueError`` at the end lists the
    reasons (as scikit-learn's searches do when all fits fail); when no trial
    completed otherwise (e.g. all pruned), a ``UserWarning`` gives the first
    reason. A :class:`DACLSearchSpace` whose ``t_high`` exceeds the estimator's
    ``n_timesteps`` is warned about before the first trial.

    Parameters
    ----------
    estimator : estimator
        Typically a pipeline of :func:`~sklearn_biodiff.pipeline.make_dacl_pipeline`
        with ``memory`` set, so ST features and VAE latents are reused.
    X, y
        Records and labels.
    param_space : callable
        ``param_space(trial) -> dict`` of ``set_params`` names, e.g.
        :class:`DACLSearchSpace`.
    groups : array-like or None
        Patient of each record; required unless ``cv`` is given. The training
        part ``groups[train]`` of each fold also reaches the ``fit`` of the steps
        that requested it with ``set_fit_request(groups=True)`` (e.g.
        ``DACLEmbedder(positive="other_patient")``), through scikit-learn's
        metadata routing, as in :func:`grouped_cross_validate`; steps that did not
        request it never receive it.
    cv : int, splitter, iterable or None, default=None
        With ``groups``: ``None`` is 5 folds and an integer ``k`` is ``k``
        patient-grouped folds, :func:`make_grouped_cv` ``(k)`` (stratified, seed
        0) for class labels, ``GroupKFold(k, shuffle=True, random_state=0)`` for
        other targets; no patient crosses folds (checked). Without ``groups``:
        an integer is scikit-learn's ``check_cv`` (``StratifiedKFold`` for a
        classifier) and ``None`` is an error. A splitter is used as given.
    scoring : str or callable, default="roc_auc"
    patient_level : {"mean", "median", "max"} or None, default=None
        Score patients (aggregated scores) instead of records.
    n_trials, timeout
        Budget of this call (added to any trials already in the study): a
        positive integer and a positive number of seconds, or ``None``; at least
        one must be given (both ``None`` would run until the process is killed,
        and is refused).
    storage : None, str or optuna.storages.BaseStorage, default=None
        ``None`` keeps the study in memory. An RDB URL (``"sqlite:///study.db"``,
        ``"postgresql://user:pw@host/db"``) persists it: call again with the same
        ``study_name`` to resume, or run this function in several processes or
        machines on one URL to share the study. Workers may start at the same
        moment on a fresh storage: the one that loses the race to create the
        schema or the study retries and loads it. A bare ``postgresql://`` uses
        the installed driver (psycopg2, from the ``postgres`` extra, or psycopg);
        a PostgreSQL or MySQL server that does not answer within 10 s raises a
        ``TimeoutError`` (``...?connect_timeout=60`` in the URL changes the
        limit), and a read-only storage a ``PermissionError``. A
        ``optuna.storages.JournalStorage`` (a journal file on a shared file
        system) or an ``optuna.storages.RDBStorage`` of your own works as well,
        used as given.
    study_name : str or None
    load_if_exists : bool, default=True
        Resume the study of that name in ``storage``.
    heartbeat_interval : int or None, default=60
        For an RDB URL ``storage``: each running trial records a heartbeat
        every ``heartbeat_interval`` seconds (Optuna's heartbeat). A ``RUNNING``
        trial whose heartbeat is older than twice that, because its worker was
        killed, is marked failed when a worker of the study starts its next
        trial, and queued again with the same parameters (at most 3 times), so
        no trial stays ``RUNNING`` forever. ``None`` turns it off.
    sampler : optuna sampler or None
        ``None`` is TPE seeded from ``random_state``: in memory with
        ``random_state`` alone (reproducible), on a persistent ``storage`` with
        ``random_state`` and a random per-worker nonce, so that workers started
        with the same ``random_state`` do not sample the same parameters. The
        seed is returned as ``sampler_seed``; pass
        ``optuna.samplers.TPESampler(seed=...)`` to replay a worker.
    pruner : "median", None or optuna.pruners.BasePruner, default="median"
        ``"median"`` is ``MedianPruner(n_startup_trials=3, n_warmup_steps=0)``;
        ``None`` disables pruning.
    refit : bool, default=False
        Fit a clone with the best parameters on all of ``X``.
    random_state : int, RandomState or None
    verbose : int, default=0
        Optuna's progress bar and info messages. With ``verbose=0`` Optuna's log
        level is raised to ``WARNING`` during the call and restored after it.

    Returns
    -------
    Bunch
        ``study``, ``best_params`` (``set_params`` names), ``best_score``,
        ``best_estimator`` (``None`` unless ``refit``), ``worker_id``
        (``"host:pid:nonce"``, also stored in the user attributes of the trials
        this call ran) and ``sampler_seed`` (``None`` when ``sampler`` is given).

    Notes
    -----
    To run several workers, start the same script several times, e.g.
    ``for i in 1 2 3; do python tune.py & done; wait``, with the same
    ``storage`` and ``study_name``: each worker adds its ``n_trials``.

    Examples
    --------
    On vectors (for records, use ``make_dacl_pipeline(memory="cache/")`` and the default
    ``DACLSearchSpace()``; ``storage="sqlite:///dacl.db", study_name="dacl"`` makes the
    study resumable and shareable between processes):

    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_biodiff.feature_extraction import DACLEmbedder
    >>> from sklearn_biodiff.model_selection import DACLSearchSpace, optuna_search
    >>> rng = np.random.RandomState(0)
    >>> y = np.repeat([0, 1], 20)
    >>> X = (rng.randn(40, 6) + 1.5 * y[:, None]).astype(np.float32)
    >>> groups = np.arange(40) // 2  # two records per patient
    >>> pipe = make_pipeline(DACLEmbedder(widths=(16, 8), embedding_dim=4, max_epochs=2,
    ...                                   random_state=0), LogisticRegression())
    >>> space = DACLSearchSpace()  # finds the pipeline's daclembedder__ step
    >>> result = optuna_search(pipe, X, y, space, groups=groups, n_trials=2,
    ...                        random_state=0)
    >>> sorted(result.best_params)
    ['daclembedder__lr', 'daclembedder__margin', 'daclembedder__t_max', 'daclembedder__t_min']
    >>> len(result.study.trials)
    2
    """
    optuna = import_optuna()
    if not callable(param_space):
        raise TypeError("param_space must be callable: trial -> dict of parameters.")
    y = np.asarray(y)
    splits = _splits(cv, X, y, groups, estimator)
    scorer = None if patient_level else check_scoring(estimator, scoring)
    if patient_level is not None and groups is None:
        raise ValueError("patient_level scoring needs groups.")
    groups_arr = None if groups is None else np.asarray(groups)
    estimator, wanted = _groups_only_where_requested(estimator)
    if wanted and groups_arr is None:
        raise ValueError("a step of the estimator requested groups "
                         "(set_fit_request(groups=True)) but optuna_search got "
                         "groups=None: pass groups=<patient of each record>.")
    _check_budget(n_trials, timeout, heartbeat_interval)
    worker_id, sampler_seed = worker_identity(random_state,
                                              shared=is_shared_storage(storage))
    if sampler is None:
        sampler = optuna.samplers.TPESampler(seed=sampler_seed)
    else:
        sampler_seed = None
    pruner = _make_pruner(optuna, pruner)
    if isinstance(param_space, DACLSearchSpace):
        param_space = param_space.for_estimator(estimator)
    _warn_if_space_exceeds_timesteps(param_space, estimator)
    objective = _cv_objective(optuna, estimator, X, y, param_space, splits, scorer=scorer,
                              patient_level=patient_level, groups=groups_arr,
                              route_groups=wanted, worker_id=worker_id)

    with optuna_verbosity(verbose), storage_errors(storage):
        study = create_or_load_study(storage=storage, study_name=study_name,
                                     load_if_exists=load_if_exists, direction="maximize",
                                     sampler=sampler, pruner=pruner,
                                     heartbeat_interval=heartbeat_interval)
        study.optimize(objective, n_trials=n_trials, timeout=timeout,
                       show_progress_bar=bool(verbose), catch=(_FoldFailed,))
    return _search_result(optuna, study, estimator, X, y,
                          groups_arr if wanted else None, refit=refit, worker_id=worker_id,
                          sampler_seed=sampler_seed)


def _cv_objective(optuna, estimator, X, y, param_space, splits, *, scorer, patient_level,
                  groups, route_groups: bool, worker_id: str):
    """The objective of :func:`optuna_search`: a trial's parameters fitted and scored
    fold by fold, the running mean reported after each fold so that the pruner can stop
    it; a failing fold fails the trial (with its reason), an invalid timestep range
    prunes it."""

    def objective(trial):
        trial.set_user_attr("worker_id", worker_id)
        params = param_space(trial)
        trial.set_user_attr("estimator_params", params)
        scores = []
        for k, (tr, te) in enumerate(splits):
            try:
                est = clone(estimator).set_params(**params)
                _fit_routed(est, _safe_indexing(X, tr), y[tr],
                            groups[tr] if route_groups else None)
                X_te = _safe_indexing(X, te)
                if patient_level is None:
                    score = float(scorer(est, X_te, y[te]))
                else:
                    score = patient_roc_auc_score(y[te], _response(est, X_te),
                                                  groups=groups[te], aggregate=patient_level)
                if not np.isfinite(score):  # Optuna would fail the trial with no reason
                    raise _NonFiniteScore(f"the score is {score}")
                scores.append(score)
            except InvalidTimestepRange as exc:
                trial.set_user_attr("pruned_reason", str(exc))
                raise optuna.TrialPruned(str(exc)) from exc
            except Exception as exc:  # the trial fails (catch= below), the study goes on
                reason = (f"fold {k}: {exc}" if isinstance(exc, _NonFiniteScore)
                          else f"fold {k}: {type(exc).__name__}: {exc}")
                trial.set_user_attr("failed_reason", reason)
                raise _FoldFailed(reason) from exc
            trial.set_user_attr("fold_scores", scores)
            trial.report(float(np.mean(scores)), step=k)
            if k < len(splits) - 1 and trial.should_prune():
                raise optuna.TrialPruned()
        return float(np.mean(scores))

    return objective


def _search_result(optuna, study, estimator, X, y, fit_groups, *, refit: bool,
                   worker_id: str, sampler_seed) -> Bunch:
    """The Bunch :func:`optuna_search` returns: the best trial's parameters and score,
    refitted on everything if asked; an error or a warning when no trial completed."""
    result = Bunch(study=study, best_params=None, best_score=None, best_estimator=None,
                   worker_id=worker_id, sampler_seed=sampler_seed)
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        _raise_if_every_trial_failed(study.trials, worker_id)
        _warn_no_complete_trial(study.trials)
        return result
    best = study.best_trial
    result.best_params = best.user_attrs.get("estimator_params", best.params)
    result.best_score = best.value
    if refit:
        result.best_estimator = _fit_routed(clone(estimator).set_params(**result.best_params),
                                            X, y, fit_groups)
    return result
