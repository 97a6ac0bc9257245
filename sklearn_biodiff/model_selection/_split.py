"""Patient-grouped splitting: no patient in both train and test."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.model_selection import (
    GroupKFold,
    StratifiedGroupKFold,
    check_cv,
    train_test_split,
)
from sklearn.utils.multiclass import type_of_target

__all__ = ["check_groups_disjoint", "grouped_train_test_split", "make_grouped_cv"]


def _group_labels(y, groups):
    """Unique groups and the most common label of each (first one on ties)."""
    groups = np.asarray(groups)
    uniq, inverse = np.unique(groups, return_inverse=True)
    if y is None:
        return uniq, inverse, None
    y = np.asarray(y)
    labels = np.empty(len(uniq), dtype=y.dtype)
    for g in range(len(uniq)):
        vals, counts = np.unique(y[inverse == g], return_counts=True)
        labels[g] = vals[np.argmax(counts)]
    return uniq, inverse, labels


def _check_grouped_cv(cv, y, groups, *, classifier: bool = False):
    """The package's one rule for a ``cv`` argument that comes with ``groups``.

    Every public helper that takes ``cv`` and ``groups`` resolves ``cv`` here.

    - With ``groups``: ``None`` means 5 folds and an integer ``k`` means ``k``
      patient-grouped folds: :func:`make_grouped_cv` (stratified, seed 0) when
      ``y`` is binary or multiclass, ``GroupKFold(k, shuffle=True,
      random_state=0)`` for other targets. (scikit-learn's ``check_cv`` would
      build a ``StratifiedKFold`` that ignores the groups.)
    - Without ``groups``: an integer or splitter goes through
      :func:`sklearn.model_selection.check_cv` as in scikit-learn; ``None`` is an
      error, because the default folds are grouped.
    - A splitter or an iterable of ``(train, test)`` is used as given.

    Returns
    -------
    splitter
        An object with ``split(X, y, groups)``.
    """
    if groups is None:
        if cv is None:
            raise ValueError("pass groups (patient of each record, e.g. Bunch.groups) or "
                             "an explicit cv splitter.")
        return check_cv(cv, y, classifier=classifier)
    if cv is None:
        cv = 5
    if isinstance(cv, Integral) and not isinstance(cv, bool):
        if type_of_target(y) in ("binary", "multiclass"):
            return make_grouped_cv(int(cv))
        return GroupKFold(int(cv), shuffle=True, random_state=0)
    return check_cv(cv, y, classifier=classifier)


def grouped_train_test_split(
    n_samples_or_y,
    *,
    groups,
    test_size: float = 0.3,
    stratify: bool = True,
    random_state=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Split sample indices so that every group lies wholly in train or in test.

    Groups (patients) are split with :func:`sklearn.model_selection.train_test_split`,
    stratified by each group's most common label. When every group holds one
    sample (CinC 2017: one record per patient) this is exactly
    ``train_test_split(np.arange(n), test_size=..., stratify=y, random_state=...)``,
    the split of the shared data README.

    Parameters
    ----------
    n_samples_or_y : int or array-like of shape (n_samples,)
        Labels (used to stratify), or just the number of samples.
    groups : array-like of shape (n_samples,)
        Patient of each sample, e.g. ``Bunch.groups`` of the dataset loaders.
    test_size : float, default=0.3
        Fraction of *groups* in the test part.
    stratify : bool, default=True
        Stratify by the groups' labels (needs labels).
    random_state : int, RandomState or None

    Returns
    -------
    train, test : ndarray of int
        Sample indices, sorted within each part in the order of the groups' split.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    >>> groups = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    >>> tr, te = grouped_train_test_split(y, groups=groups, test_size=0.5, random_state=0)
    >>> sorted(set(groups[tr]) & set(groups[te]))
    []
    """
    groups = np.asarray(groups)
    if np.isscalar(n_samples_or_y):
        y = None
        n = int(n_samples_or_y)
    else:
        y = np.asarray(n_samples_or_y)
        n = len(y)
    if len(groups) != n:
        raise ValueError(f"groups has {len(groups)} entries but there are {n} samples.")
    if stratify and y is None:
        raise ValueError("stratify=True needs labels; pass y or stratify=False.")
    uniq, inverse, labels = _group_labels(y, groups)
    if len(uniq) < 2:
        raise ValueError(f"need at least 2 groups to split, got {len(uniq)}.")
    g_train, g_test = train_test_split(
        np.arange(len(uniq)), test_size=test_size,
        stratify=labels if stratify else None,
        random_state=random_state,
    )
    if np.all(np.bincount(inverse) == 1):  # one sample per group: keep the split's order
        order = np.argsort(inverse)
        return order[g_train], order[g_test]
    in_test = np.isin(inverse, g_test)
    return np.flatnonzero(~in_test), np.flatnonzero(in_test)


def make_grouped_cv(n_splits: int = 5, *, shuffle: bool = True, random_state=0):
    """The package's default patient-grouped CV: :class:`StratifiedGroupKFold`.

    Pass ``groups`` to ``split``/``cross_validate``/``GridSearchCV.fit``; every
    patient's samples then land in one fold only.

    Parameters
    ----------
    n_splits : int, default=5
    shuffle : bool, default=True
    random_state : int or None, default=0
        Seed of the shuffling (ignored when ``shuffle=False``).

    Returns
    -------
    sklearn.model_selection.StratifiedGroupKFold

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_biodiff.model_selection import make_grouped_cv
    >>> y, groups = np.array([0, 1] * 10), np.repeat(np.arange(10), 2)
    >>> folds = list(make_grouped_cv(5).split(np.zeros(20), y, groups))
    >>> all(not set(groups[tr]) & set(groups[te]) for tr, te in folds)
    True
    """
    return StratifiedGroupKFold(n_splits, shuffle=shuffle,
                                random_state=random_state if shuffle else None)


def check_groups_disjoint(train, test, groups) -> None:
    """Raise ``ValueError`` when a group has samples in both ``train`` and ``test``.

    Parameters
    ----------
    train, test : array-like of int
        Sample indices.
    groups : array-like of shape (n_samples,)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_biodiff.model_selection import check_groups_disjoint
    >>> groups = np.array(["p1", "p1", "p2", "p3"])
    >>> check_groups_disjoint([0, 1], [2, 3], groups)
    >>> check_groups_disjoint([0, 2], [1, 3], groups)
    Traceback (most recent call last):
    ...
    ValueError: ...
    """
    groups = np.asarray(groups)
    shared = np.intersect1d(groups[np.asarray(train)], groups[np.asarray(test)])
    if shared.size:
        raise ValueError(f"{shared.size} group(s) are in both train and test, e.g. "
                         f"{shared[:5].tolist()}.")

