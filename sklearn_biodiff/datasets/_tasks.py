"""The binary tasks of the DACL papers on CinC 2017 labels."""

from __future__ import annotations

import numpy as np

__all__ = ["TASKS", "binary_task"]

TASKS = {
    # positive = abnormal rhythm; noisy records are dropped
    "normal_vs_abnormal": {"keep": ("N", "A", "O"), "positive": ("A", "O")},
    # positive = atrial fibrillation; every other record (N, O, ~) is negative
    "af_vs_rest": {"keep": ("N", "A", "O", "~"), "positive": ("A",)},
}


def binary_task(target, task: str = "normal_vs_abnormal"):
    """Select records and build the 0/1 target of a binary task.

    Parameters
    ----------
    target : array-like of shape (n_records,)
        CinC 2017 labels ("N", "A", "O", "~").
    task : {"normal_vs_abnormal", "af_vs_rest"}, default="normal_vs_abnormal"
        ``"normal_vs_abnormal"``: N (0) vs A + O (1), noisy records dropped, as in
        the DACL paper. ``"af_vs_rest"``: A (1) vs N, O and ~ (0), as in the
        Manifold-Aware DACL follow-up.

    Returns
    -------
    index : ndarray of int, shape (n_selected,)
        Positions of the kept records.
    y : ndarray of int, shape (n_selected,)
        1 for the positive class.

    Examples
    --------
    >>> binary_task(["N", "A", "~", "O"])
    (array([0, 1, 3]), array([0, 1, 1]))
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {sorted(TASKS)}, got {task!r}.")
    target = np.asarray(target)
    unknown = set(np.unique(target).tolist()) - {"N", "A", "O", "~"}
    if unknown:
        raise ValueError(f"unknown CinC 2017 labels {sorted(unknown)}; expected N, A, O, ~.")
    spec = TASKS[task]
    index = np.flatnonzero(np.isin(target, spec["keep"]))
    y = np.isin(target[index], spec["positive"]).astype(int)
    return index, y
