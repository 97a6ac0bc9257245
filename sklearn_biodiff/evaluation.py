"""How the package judges an embedding: a linear probe on frozen features, cross-validated.

:func:`linear_probe` is the protocol behind the figures of the README and the user
guide, as a function users can call on their own embedder and data: the embedder is
fitted on each training fold only, a scaler and a logistic regression are fitted on
its output with ``C`` chosen by an inner cross-validation of that training fold
(patient-grouped when ``groups`` are given), and the held-out fold is scored once.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence

import numpy as np
from sklearn.base import clone
from sklearn.utils import Bunch, _safe_indexing

__all__ = ["linear_probe"]


def _folds(cv, y, groups, random_state):
    from sklearn.model_selection import StratifiedKFold, check_cv

    from .model_selection import check_groups_disjoint, make_grouped_cv

    if isinstance(cv, int):
        cv = (make_grouped_cv(cv, random_state=random_state) if groups is not None
              else StratifiedKFold(cv, shuffle=True, random_state=random_state))
    else:
        cv = check_cv(cv, y, classifier=True)
    folds = list(cv.split(np.zeros(len(y)), y, groups))
    if groups is not None:
        for tr, te in folds:
            check_groups_disjoint(tr, te, groups)
    return folds


def _fold_params(fit_params: dict | None, train: np.ndarray, n: int) -> dict:
    """``fit_params`` of one training fold: entries with one value per record are
    indexed by ``train``, the others passed as they are."""
    out = {}
    for key, value in (fit_params or {}).items():
        if hasattr(value, "__len__") and not isinstance(value, str | dict) and len(value) == n:
            value = _safe_indexing(value, train)
        out[key] = value
    return out


def _probe(Cs, inner_cv: int, grouped: bool, random_state):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from .model_selection import make_grouped_cv

    inner = (make_grouped_cv(inner_cv, random_state=random_state) if grouped
             else StratifiedKFold(inner_cv, shuffle=True, random_state=random_state))
    return GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000)),
                        {"logisticregression__C": list(Cs)}, cv=inner, scoring="f1_macro")


def _scores(y, pred, proba, classes) -> dict:
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, roc_auc_score

    out = {"accuracy": accuracy_score(y, pred),
           "balanced_accuracy": balanced_accuracy_score(y, pred),
           "macro_f1": f1_score(y, pred, labels=classes, average="macro")}
    present = np.isin(classes, np.unique(y))
    if len(classes) == 2:
        out["roc_auc"] = roc_auc_score(y == classes[1], proba[:, 1])
    elif present.all():
        out["roc_auc"] = roc_auc_score(y, proba, labels=classes, multi_class="ovr")
    for cls, f1 in zip(classes, f1_score(y, pred, labels=classes, average=None)):
        out[f"f1_{cls}"] = f1
    return {k: float(v) for k, v in out.items()}


def _table(mean: dict, std: dict) -> str:
    lines = ["| metric | mean | fold std |", "| --- | --- | --- |"]
    lines += [f"| {k} | {mean[k]:.4f} | {std[k]:.4f} |" for k in mean]
    return "\n".join(lines)


def linear_probe(embedder, X, y, *, groups=None, cv=5, Cs: Sequence[float] = (0.01, 0.1, 1.0),
                 inner_cv: int = 3, fit_params: dict | None = None,
                 random_state: int | None = 0) -> Bunch:
    """Cross-validated linear probe of an embedding (the package's evaluation protocol).

    In each fold the ``embedder`` (a clone) is fitted on the training records only
    (with their labels, so a label-aware embedder learns from the training fold
    only), both folds are embedded, and a ``StandardScaler`` + ``LogisticRegression``
    is fitted on the training fold with ``C`` chosen among ``Cs`` by an
    ``inner_cv``-fold CV of that fold (macro F1; patient-grouped with ``groups``).
    The held-out fold is scored once.

    Parameters
    ----------
    embedder : transformer or None
        Any scikit-learn transformer that turns ``X`` into a feature matrix, e.g.
        ``DiffAEEmbedder.from_pretrained(DEFAULT_PRETRAINED)`` or
        ``ScatteringFeatures()``; ``None`` probes ``X`` itself (a feature matrix).
    X : array-like or list of arrays
        What ``embedder`` takes: records (signals) or features.
    y : array-like of shape (n_records,)
        Class labels (binary or multi-class).
    groups : array-like of shape (n_records,) or None, default=None
        Patient of each record: the folds (outer and inner) then keep each patient
        in one fold (checked).
    cv : int or splitter, default=5
        Outer folds: an integer is :func:`~sklearn_biodiff.model_selection.make_grouped_cv`
        with ``groups``, else ``StratifiedKFold(cv, shuffle=True)``.
    Cs : sequence of float, default=(0.01, 0.1, 1.0)
        Inverse regularisation strengths searched for the probe.
    inner_cv : int, default=3
        Folds of the search for ``C`` inside each training fold.
    fit_params : dict or None, default=None
        Extra arguments of ``embedder.fit``; one with a value per record is indexed
        by each training fold. ``groups`` is passed to an embedder whose ``fit``
        takes it (a patient-aware one), its training fold's part.
    random_state : int or None, default=0
        Seed of the fold shuffling.

    Returns
    -------
    Bunch
        ``folds``: one dict of metrics per fold (``accuracy``, ``balanced_accuracy``,
        ``macro_f1``, ``roc_auc`` (binary; one-vs-rest macro for several classes
        when every class is in the fold), ``f1_<class>`` per class, and the ``C``
        chosen); ``mean`` and ``std`` (over folds) of each; ``classes``; ``table``,
        the means and fold standard deviations as a Markdown table.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_biodiff.evaluation import linear_probe
    >>> rng = np.random.RandomState(0)
    >>> y = np.repeat([0, 1], 30)
    >>> X = rng.randn(60, 5) + y[:, None]
    >>> result = linear_probe(None, X, y, cv=3)
    >>> sorted(result.mean)[:3]
    ['C', 'accuracy', 'balanced_accuracy']
    >>> bool(result.mean["roc_auc"] > 0.8)
    True
    """
    y = np.asarray(y)
    groups = None if groups is None else np.asarray(groups)
    if groups is not None and groups.shape != y.shape:
        raise ValueError(f"groups must have one entry per record ({len(y)}), got shape "
                         f"{groups.shape}.")
    if not list(Cs) or any(not c > 0 for c in Cs):
        raise ValueError(f"Cs must be positive numbers, got {Cs!r}.")
    classes = list(np.unique(y))
    folds = []
    for tr, te in _folds(cv, y, groups, random_state):
        X_tr, X_te = _safe_indexing(X, tr), _safe_indexing(X, te)
        if embedder is None:
            Z_tr, Z_te = X_tr, X_te
        else:
            params = _fold_params(fit_params, tr, len(y))
            if groups is not None and "groups" in inspect.signature(embedder.fit).parameters:
                params.setdefault("groups", groups[tr])  # e.g. patient-aware fine-tuning
            emb = clone(embedder).fit(X_tr, y[tr], **params)
            Z_tr, Z_te = emb.transform(X_tr), emb.transform(X_te)
        probe = _probe(Cs, inner_cv, groups is not None, random_state)
        probe.fit(Z_tr, y[tr], **({} if groups is None else {"groups": groups[tr]}))
        proba = probe.predict_proba(Z_te)
        order = [list(probe.classes_).index(c) if c in probe.classes_ else None
                 for c in classes]
        full = np.column_stack([proba[:, k] if k is not None else np.zeros(len(te))
                                for k in order])
        pred = np.asarray(classes)[full.argmax(axis=1)]
        folds.append({**_scores(y[te], pred, full, classes),
                      "C": float(probe.best_params_["logisticregression__C"])})
    keys = [k for k in folds[0] if all(k in f for f in folds)]
    mean = {k: float(np.mean([f[k] for f in folds])) for k in sorted(keys)}
    std = {k: float(np.std([f[k] for f in folds])) for k in sorted(keys)}
    return Bunch(folds=folds, mean=mean, std=std, classes=classes, table=_table(mean, std))
