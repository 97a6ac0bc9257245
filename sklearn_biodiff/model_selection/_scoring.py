"""Patient-level scores: aggregate the records or windows of a patient, then score."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import make_scorer, roc_auc_score

__all__ = ["aggregate_by_group", "make_patient_scorer", "patient_roc_auc_score"]

_AGGREGATES = {"mean": np.mean, "median": np.median, "max": np.max}


def aggregate_by_group(values, groups, aggregate: str = "mean"):
    """One value per group.

    Parameters
    ----------
    values : array-like of shape (n_samples,)
    groups : array-like of shape (n_samples,)
    aggregate : {"mean", "median", "max"}, default="mean"

    Returns
    -------
    unique_groups : ndarray of shape (n_groups,)
    aggregated : ndarray of shape (n_groups,)

    Examples
    --------
    >>> from sklearn_biodiff.model_selection import aggregate_by_group
    >>> groups, values = aggregate_by_group([0.2, 0.4, 0.9], ["a", "a", "b"])
    >>> groups.tolist(), [round(v, 2) for v in values.tolist()]
    (['a', 'b'], [0.3, 0.9])
    """
    if aggregate not in _AGGREGATES:
        raise ValueError(f"aggregate must be one of {sorted(_AGGREGATES)}, got {aggregate!r}.")
    values, groups = np.asarray(values, dtype=float), np.asarray(groups)
    if values.shape != groups.shape:
        raise ValueError(f"values and groups differ in shape: {values.shape} vs {groups.shape}.")
    uniq, inverse = np.unique(groups, return_inverse=True)
    fn = _AGGREGATES[aggregate]
    return uniq, np.array([fn(values[inverse == g]) for g in range(len(uniq))])


def patient_roc_auc_score(y_true, y_score, *, groups, aggregate: str = "mean") -> float:
    """ROC AUC over patients: scores of a patient's samples are aggregated first.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary labels; every sample of a patient must carry the same label.
    y_score : array-like of shape (n_samples,)
        Score of the positive class per sample (record or window).
    groups : array-like of shape (n_samples,)
        Patient of each sample.
    aggregate : {"mean", "median", "max"}, default="mean"

    Returns
    -------
    float

    Examples
    --------
    >>> patient_roc_auc_score([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9], groups=[0, 0, 1, 1])
    1.0
    """
    y_true, groups = np.asarray(y_true), np.asarray(groups)
    if y_true.shape != groups.shape:
        raise ValueError(f"y_true and groups differ in shape: {y_true.shape} vs {groups.shape}.")
    uniq, first = np.unique(groups, return_index=True)
    labels = y_true[first]
    mixed = [g for g, lab in zip(uniq, labels) if np.any(y_true[groups == g] != lab)]
    if mixed:
        raise ValueError(f"{len(mixed)} patient(s) have samples with different labels, e.g. "
                         f"{mixed[:3]}; patient-level scoring needs one label per patient.")
    _, scores = aggregate_by_group(y_score, groups, aggregate)
    return float(roc_auc_score(labels, scores))


def make_patient_scorer(aggregate: str = "mean"):
    """A scorer for ``cross_validate``/``GridSearchCV`` that scores patients.

    It asks for ``groups`` through scikit-learn's metadata routing, so it needs
    ``sklearn.set_config(enable_metadata_routing=True)`` (or a
    ``sklearn.config_context``) and ``groups`` passed as metadata, e.g.
    ``cross_validate(est, X, y, params={"groups": groups}, scoring=scorer)``;
    :func:`grouped_cross_validate` does all of this.

    Parameters
    ----------
    aggregate : {"mean", "median", "max"}, default="mean"

    Returns
    -------
    scorer : callable
        Uses ``decision_function`` or ``predict_proba`` of the estimator.

    Examples
    --------
    >>> import sklearn
    >>> from sklearn_biodiff.model_selection import make_patient_scorer
    >>> with sklearn.config_context(enable_metadata_routing=True):
    ...     scorer = make_patient_scorer("mean")  # cross_validate(..., params={"groups": g})
    """
    if aggregate not in _AGGREGATES:
        raise ValueError(f"aggregate must be one of {sorted(_AGGREGATES)}, got {aggregate!r}.")
    scorer = make_scorer(patient_roc_auc_score, response_method=(
        "decision_function", "predict_proba"), aggregate=aggregate)
    return scorer.set_score_request(groups=True)
