"""The README evaluation protocol of the benchmarks and scripts, in one place.

The README split (70/30 of the CinC 2017 training set, stratified, seed 0), the frozen
probe (``StandardScaler`` + ``LogisticRegression``, C by 3-fold CV on the training
part) and the four CinC metrics (4-class macro F1, mean F1 of N, A, O, normal vs
abnormal and AF vs rest AUROC). For the package's general, grouped protocol see
:func:`sklearn_biodiff.evaluation.linear_probe`.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from benchmarks._common import find_archive, readme_split

__all__ = ["DEFAULT_RUN", "WIDEST_READOUT", "class_scores", "evaluate", "load_data",
           "load_records", "PROBES", "probe_grid", "probe_scores", "readout_columns",
           "readout_tag", "svm_probe"]

#: the readout whose columns hold every other readout's: one transform serves them all
WIDEST_READOUT = "attention+stats+blocks+rhythm"
#: the ``scripts/finetune_diffae.py`` run whose recipe the package's fine-tuning defaults
#: are (``FINE_TUNING_SETTINGS``, CE 1 + SupCon 0.5 + diffusion 1, crop views; it ran
#: with 9-s crops, the default is 10 s): its fold states and its rows
DEFAULT_RUN = "ce-supcon-8ep"


def readout_tag(readout: str) -> str:
    """The suffix a readout adds to a benchmark's model key: ``""`` for ``"attention"``,
    ``"_stats"``, ``"_blocks"`` (``attention+stats+blocks``), ``"_rhythm"``,
    ``"_stats_rhythm"``, ``"_blocks_rhythm"``."""
    parts = readout.split("+")[1:]
    if "blocks" in parts:
        parts.remove("stats")
    return "".join(f"_{p}" for p in parts)


def readout_columns(emb) -> dict:
    """``{readout: column indices}`` of each readout inside ``WIDEST_READOUT``'s matrix.

    Read from a fitted ``DiffAEEmbedder``'s feature names (its ``readout`` is put
    back), so that no benchmark hard-codes the column layout.
    """
    from sklearn_biodiff.feature_extraction._diffae import READOUTS

    readout = emb.readout
    try:
        widest = emb.set_params(readout=WIDEST_READOUT).get_feature_names_out().tolist()
        where = {name: i for i, name in enumerate(widest)}
        return {r: np.array([where[n] for n in emb.set_params(readout=r)
                             .get_feature_names_out()], dtype=int) for r in READOUTS}
    finally:
        emb.set_params(readout=readout)


def load_records(quick: bool):
    """``(source, dataset)``: every record of the CinC 2017 training set, or of the
    bundled sample with ``quick``; exits with what to do when the archive is missing."""
    from sklearn_biodiff.datasets import load_cinc2017_sample, load_physionet2017

    if quick:
        return "bundled sample (280 records)", load_cinc2017_sample()
    archive = find_archive()
    if archive is None:
        sys.exit("CinC 2017 archive not found: set SKLEARN_BIODIFF_CINC2017 or put "
                 "cinc2017.tar.xz in ../shared/data (or pass --quick)")
    return str(archive), load_physionet2017(archive, n_jobs=2)


def load_data(quick: bool, *, with_ids: bool = False):
    """(source, X_train, y_train, X_test, y_test) of the README 70/30 split.

    With ``with_ids``, the record names of the training part come last.
    """
    source, data = load_records(quick)
    tr, te = readme_split(data.target)
    out = (source, [data.signals[i] for i in tr], data.target[tr],
           [data.signals[i] for i in te], data.target[te])
    return (*out, [str(r) for r in data.record_ids[tr]]) if with_ids else out


def probe_grid(C_grid=(0.01, 0.1, 1.0), class_weight=None):
    """The README probe, unfitted: scaler + logistic regression, C in {0.01, 0.1, 1} by
    3-fold stratified CV (macro F1).

    ``C_grid`` and ``class_weight`` are the knobs the few-label selection compares
    (``select_label_efficiency.PROBES``); a one-value grid is a fixed C (a plain
    pipeline, nothing to choose). The defaults are the README probe.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pipe = make_pipeline(StandardScaler(),
                         LogisticRegression(max_iter=3000, class_weight=class_weight))
    if len(C_grid) == 1:
        return pipe.set_params(logisticregression__C=C_grid[0])
    return GridSearchCV(pipe, {"logisticregression__C": list(C_grid)},
                        cv=StratifiedKFold(3, shuffle=True, random_state=0),
                        scoring="f1_macro")


def svm_probe(C_grid=(1.0, 3.0, 10.0)):
    """An RBF-kernel probe, unfitted: scaler + ``SVC(kernel="rbf")`` with its scores
    turned into probabilities by ``CalibratedClassifierCV(ensemble=False)`` (sigmoid,
    5-fold; what ``SVC(probability=True)``, deprecated in scikit-learn 1.9, did), C in
    ``C_grid`` by 3-fold stratified CV (macro F1), as :func:`probe_grid` chooses the
    logistic probe's C (``bench_probes`` compares the two)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    svm = CalibratedClassifierCV(SVC(kernel="rbf", random_state=0), ensemble=False)
    return GridSearchCV(make_pipeline(StandardScaler(), svm),
                        {"calibratedclassifiercv__estimator__C": list(C_grid)},
                        cv=StratifiedKFold(3, shuffle=True, random_state=0),
                        scoring="f1_macro")


#: named probes (``probe_grid``'s knobs): the README one, fixed Cs, other C grids and
#: balanced class weights; the few-label selection compares them on the training part
PROBES = {
    "readme": {},
    "C=0.001": {"C_grid": (0.001,)},
    "C=0.01": {"C_grid": (0.01,)},
    "C=0.1": {"C_grid": (0.1,)},
    "balanced C=0.01": {"C_grid": (0.01,), "class_weight": "balanced"},
    "balanced C=0.001": {"C_grid": (0.001,), "class_weight": "balanced"},
    "low-C": {"C_grid": (1e-4, 3e-4, 1e-3, 3e-3, 0.01)},
    "wide-C": {"C_grid": (1e-4, 1e-3, 0.01, 0.1, 1.0, 10.0)},
    "balanced": {"class_weight": "balanced"},
    "balanced wide-C": {"C_grid": (1e-4, 1e-3, 0.01, 0.1, 1.0, 10.0),
                        "class_weight": "balanced"},
}


def class_scores(y, pred, proba, classes) -> dict:
    """4-class macro F1, mean F1 of N, A, O, normal vs abnormal and AF vs rest AUROC."""
    from sklearn.metrics import f1_score, roc_auc_score

    keep = y != "~"
    f1 = f1_score(y, pred, labels=["N", "A", "O", "~"], average=None)
    abnormal = proba[:, classes.index("A")] + proba[:, classes.index("O")]
    return {"macro_f1": float(f1.mean()), "mean_f1_NAO": float(f1[:3].mean()),
            "auroc_normal_vs_abnormal": float(roc_auc_score(
                np.isin(y[keep], ["A", "O"]).astype(int), abnormal[keep])),
            "auroc_af_vs_rest": float(roc_auc_score(
                (y == "A").astype(int), proba[:, classes.index("A")]))}


def probe_scores(Z_tr, y_tr, Z_te, y_te) -> dict:
    """Probe with C by 3-fold CV on the training part; CV and test scores."""
    from sklearn.model_selection import cross_val_predict

    grid = probe_grid().fit(Z_tr, y_tr)
    classes = list(grid.classes_)
    cv_proba = cross_val_predict(grid.best_estimator_, Z_tr, y_tr, cv=grid.cv,
                                 method="predict_proba")
    cv_pred = np.asarray(classes)[cv_proba.argmax(axis=1)]
    return {"probe_C": grid.best_params_["logisticregression__C"],
            "cv_train": class_scores(y_tr, cv_pred, cv_proba, classes),
            "test": class_scores(y_te, grid.predict(Z_te), grid.predict_proba(Z_te),
                                 classes)}


def evaluate(emb, X_tr, y_tr, X_te, y_te) -> dict:
    """Probe scores of ``z``, and of every wider readout under its own key.

    ``"readout_attention_stats"``, ``"readout_attention_stats_blocks"``,
    ``"readout_attention_rhythm"`` ... (the readout's name, ``+`` read as ``_``): one
    transform with ``WIDEST_READOUT`` serves them all (:func:`readout_columns`). The
    embedder's own ``readout`` is left as it was.
    """
    readout = emb.readout
    try:
        emb.set_params(readout=WIDEST_READOUT)
        t0 = time.perf_counter()
        S_tr, S_te = emb.transform(X_tr), emb.transform(X_te)
        seconds = time.perf_counter() - t0
    finally:
        emb.set_params(readout=readout)
    columns = readout_columns(emb)
    out = {"transform_records_per_s": (len(X_tr) + len(X_te)) / seconds,
           "transform_readout": WIDEST_READOUT}
    for name, cols in columns.items():
        scores = probe_scores(S_tr[:, cols], y_tr, S_te[:, cols], y_te)
        if name == "attention":
            out.update(scores)
        else:
            out["readout_" + name.replace("+", "_")] = scores
    return out
