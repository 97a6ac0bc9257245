"""Scores of fitted estimators on records corrupted at decreasing SNR."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import check_scoring
from sklearn.utils import check_random_state

from .._sklearn_compat import check_is_fitted
from ..base import progress
from ._add_noise import AddNoise, _check_snr

__all__ = ["plot_robustness_curve", "robustness_curve", "summarize_robustness"]


def robustness_curve(
    estimator,
    X,
    y,
    *,
    kinds=("gaussian", "baseline_wander", "muscle", "powerline"),
    snrs_db=(24, 18, 12, 6, 0),
    scoring="roc_auc",
    n_repeats: int = 1,
    fs: float = 300.0,
    source_span=(0.0, 1.0),
    include_clean: bool = True,
    random_state=None,
    as_frame: bool = False,
    verbose: int = 0,
):
    """Score already-fitted estimators on ``X`` corrupted at each SNR.

    Nothing is fitted. For every noise kind, SNR and repeat the records are
    corrupted once with :class:`AddNoise`, and every estimator is scored on the
    same corrupted records.

    Parameters
    ----------
    estimator : estimator or dict of str to estimator
        Fitted pipelines that take raw records (e.g. ``ScatteringFeatures -> ... ->
        classifier``); a dict compares several.
    X : list of 1-D arrays or array of shape (n_records, n_samples)
        Clean test records.
    y : array-like of shape (n_records,)
    kinds : sequence of str or tuple, default=("gaussian", "baseline_wander", "muscle", \
"powerline")
        Noise kinds of :class:`AddNoise`.
    snrs_db : sequence of float, default=(24, 18, 12, 6, 0)
        Each between -200 and 200 dB, as in :class:`AddNoise` (checked before
        anything is scored).
    scoring : str or callable, default="roc_auc"
    n_repeats : int, default=1
        Independent noise draws per (kind, SNR).
    fs : float, default=300.0
        Sampling rate of ``X`` in Hz.
    source_span : (float, float), default=(0.0, 1.0)
        Part of the real noise recordings to draw from (see :class:`AddNoise`);
        use one disjoint from the span of any training-time augmentation.
    include_clean : bool, default=True
        Add one row per estimator with the clean score (``kind="clean"``,
        ``snr_db=inf``).
    random_state : int, RandomState or None
    as_frame : bool, default=False
        Return a pandas DataFrame (needs pandas).
    verbose : int, default=0
        Show a progress bar over the (kind, SNR, repeat) cells.

    Returns
    -------
    dict of str to ndarray or pandas.DataFrame
        Tidy columns ``estimator``, ``kind``, ``snr_db``, ``repeat``, ``score``.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_biodiff.datasets import make_synthetic_ecg
    >>> from sklearn_biodiff.feature_extraction import ScatteringFeatures
    >>> from sklearn_biodiff.noise import robustness_curve
    >>> X, y = make_synthetic_ecg(20, min_seconds=6, max_seconds=8, random_state=0)
    >>> fitted_pipe = make_pipeline(ScatteringFeatures(J=6, Q=4), StandardScaler(),
    ...                             LogisticRegression()).fit(X, y)
    >>> result = robustness_curve({"ST + LR": fitted_pipe}, X, y,
    ...                           kinds=("gaussian", "muscle"), snrs_db=(12, 0),
    ...                           random_state=0)
    >>> sorted(set(result["snr_db"].tolist()))
    [0.0, 12.0, inf]
    >>> result["kind"].tolist()
    ['clean', 'gaussian', 'gaussian', 'muscle', 'muscle']
    """
    estimators = estimator if isinstance(estimator, dict) else {
        type(estimator).__name__: estimator}
    if not estimators:
        raise ValueError("no estimator given.")
    for name, est in estimators.items():
        check_is_fitted(est, msg=f"estimator {name!r} is not fitted; robustness_curve "
                                 "fits nothing, so pass fitted estimators.")
    if n_repeats < 1:
        raise ValueError(f"n_repeats must be >= 1, got {n_repeats}.")
    snrs = [float(s) for s in snrs_db]
    if not snrs or not np.all(np.isfinite(snrs)):
        raise ValueError(f"snrs_db must be finite numbers, got {snrs_db!r}.")
    for snr in snrs:  # AddNoise's limit, checked before any estimator is scored
        _check_snr(snr)
    scorers = {n: check_scoring(e, scoring) for n, e in estimators.items()}
    rng = check_random_state(random_state)
    rows = []
    if include_clean:
        for n, e in estimators.items():
            rows.append((n, "clean", np.inf, 0, float(scorers[n](e, X, y))))
    cells = [(kind, snr, r) for kind in kinds for snr in snrs for r in range(n_repeats)]
    for kind, snr, r in progress(cells, verbose=verbose, desc="noise cells"):
        label = kind if isinstance(kind, str) else "+".join(kind)
        noisy = AddNoise(kind, snr_db=snr, fs=fs, source_span=source_span,
                         random_state=rng.randint(2**31 - 1)).fit_transform(X)
        for n, e in estimators.items():
            rows.append((n, label, snr, r, float(scorers[n](e, noisy, y))))
    cols = ("estimator", "kind", "snr_db", "repeat", "score")
    out = {c: np.array([row[i] for row in rows]) for i, c in enumerate(cols)}
    if as_frame:
        import pandas as pd

        return pd.DataFrame(out)
    return out


def _as_dict(result) -> dict:
    if hasattr(result, "to_dict") and hasattr(result, "columns"):
        return {c: np.asarray(result[c]) for c in result.columns}
    return result


def summarize_robustness(result, *, drop_at_db: float = 6.0) -> list[dict]:
    """Per estimator and kind: mean score per SNR, normalised area, loss at ``drop_at_db``.

    ``area`` is the trapezoidal area under score-vs-SNR divided by the SNR span,
    i.e. the mean score over the range (1.0 for a perfect score everywhere);
    ``drop`` is the clean score minus the score at ``drop_at_db``.

    Parameters
    ----------
    result : dict or DataFrame
        Output of :func:`robustness_curve` (with ``include_clean=True`` for ``drop``).
    drop_at_db : float, default=6.0

    Returns
    -------
    list of dict

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_biodiff.noise import summarize_robustness
    >>> result = {"estimator": np.array(["ST"] * 4),
    ...           "kind": np.array(["clean", "muscle", "muscle", "muscle"]),
    ...           "snr_db": np.array([np.inf, 12.0, 6.0, 0.0]),
    ...           "repeat": np.zeros(4, dtype=int),
    ...           "score": np.array([0.90, 0.85, 0.80, 0.60])}
    >>> for row in summarize_robustness(result):
    ...     print(row["estimator"], row["kind"], f"{row['area']:.4f}", f"{row['drop']:.2f}")
    ST muscle 0.7625 0.10
    """
    res = _as_dict(result)
    out = []
    for est in dict.fromkeys(res["estimator"].tolist()):
        m_est = res["estimator"] == est
        clean = res["score"][m_est & (res["kind"] == "clean")]
        clean = float(clean.mean()) if clean.size else None
        for kind in dict.fromkeys(res["kind"][m_est].tolist()):
            if kind == "clean":
                continue
            m = m_est & (res["kind"] == kind)
            snrs = np.unique(res["snr_db"][m])
            means = np.array([res["score"][m & (res["snr_db"] == s)].mean() for s in snrs])
            span = snrs[-1] - snrs[0]
            area = float(np.trapezoid(means, snrs) / span) if span > 0 else float(means[0])
            at = means[snrs == drop_at_db]
            out.append({"estimator": est, "kind": kind, "clean": clean,
                        "by_snr": dict(zip(snrs.tolist(), means.tolist())), "area": area,
                        "drop": (clean - float(at[0])) if clean is not None and at.size
                        else None})
    return out


def plot_robustness_curve(result, *, ax=None, kinds=None, ylabel="score"):
    """Score vs SNR, one panel per noise kind, one line per estimator.

    A dotted line marks each estimator's clean score.

    Parameters
    ----------
    result : dict or DataFrame
        Output of :func:`robustness_curve`.
    ax : array of matplotlib Axes or None
        One per kind; ``None`` makes a row of panels.
    kinds : sequence of str or None
        Panels to draw (default: every kind in ``result``).
    ylabel : str, default="score"

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_biodiff.noise import plot_robustness_curve
    >>> result = {"estimator": np.array(["ST"] * 3), "kind": np.array(["muscle"] * 3),
    ...           "snr_db": np.array([12.0, 6.0, 0.0]), "repeat": np.zeros(3, dtype=int),
    ...           "score": np.array([0.85, 0.80, 0.60])}
    >>> fig = plot_robustness_curve(result, ylabel="AUROC")
    >>> [ax.get_title() for ax in fig.axes], fig.axes[0].get_ylabel()
    (['muscle'], 'AUROC')
    """
    import matplotlib.pyplot as plt

    res = _as_dict(result)
    kinds = kinds or [k for k in dict.fromkeys(res["kind"].tolist()) if k != "clean"]
    if ax is None:
        fig, ax = plt.subplots(1, len(kinds), figsize=(3.2 * len(kinds), 3.8), sharey=True,
                               squeeze=False, layout="constrained")
        ax = ax[0]
        own_figure = True
    else:
        ax = np.atleast_1d(ax)
        fig = ax[0].figure
        own_figure = False
    for a, kind in zip(ax, kinds):
        for i, est in enumerate(dict.fromkeys(res["estimator"].tolist())):
            m = (res["estimator"] == est) & (res["kind"] == kind)
            snrs = np.unique(res["snr_db"][m])
            means = [res["score"][m & (res["snr_db"] == s)].mean() for s in snrs]
            line, = a.plot(snrs, means, "o", ms=3, ls=("-", "--", "-.")[i // 10 % 3],
                           label=est, color=f"C{i % 10}")
            clean = res["score"][(res["estimator"] == est) & (res["kind"] == "clean")]
            if clean.size:
                a.axhline(clean.mean(), color=line.get_color(), ls=":", lw=0.8)
        a.set(title=kind, xlabel="SNR (dB)")
        a.invert_xaxis()
    ax[0].set_ylabel(ylabel)
    if own_figure:  # one legend under the panels, clear of the curves
        handles, labels = ax[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", fontsize=8,
                   ncol=min(len(labels), 5), frameon=False)
    else:
        ax[-1].legend(fontsize=7, loc="lower left")
    return fig
