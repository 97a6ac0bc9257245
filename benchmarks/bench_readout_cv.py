"""Are the readouts of a shipped checkpoint resolved apart? Paired repeated CV (issue 16).

``bench_pretrained`` gives one 3-fold out-of-fold macro F1 per readout; a gap of a
few thousandths between two readouts may be noise of that one split. Here the
frozen checkpoint (``DiffAEEmbedder.from_pretrained(NAME)``) embeds the README
training part once with ``_protocol.WIDEST_READOUT`` (every other readout's columns
are among its columns: ``_protocol.readout_columns``), and every readout goes through
the same
``StandardScaler -> LogisticRegression`` probe on the same folds of
``RepeatedStratifiedKFold(n_splits=3, n_repeats=--repeats, random_state=0)``; C is
chosen per readout by the README protocol's 3-fold grid on the whole training part
(the same for every fold, so each readout gets the same small optimism).

For each pair of readouts, for macro F1, mean F1 of N, A, O, normal vs abnormal and AF
vs rest AUROC: the per-fold differences, wider minus narrower (mean, standard deviation
over folds, how many folds the wider readout wins). The test part of the README split is not read.

JSON: ``results/bench_readout_cv.json``.
Run: ``python -m benchmarks.bench_readout_cv [--name NAME] [--threads 1]``.
"""

from __future__ import annotations

import argparse
import time
from itertools import combinations

import numpy as np

from benchmarks import _protocol
from benchmarks._common import write_json
from sklearn_biodiff.feature_extraction import DiffAEEmbedder
from sklearn_biodiff.feature_extraction._diffae import READOUTS
from sklearn_biodiff.pretrained import DEFAULT_PRETRAINED

METRICS = ("macro_f1", "mean_f1_NAO", "auroc_normal_vs_abnormal", "auroc_af_vs_rest")


def fold_scores(pre, Z, y, folds, C):
    """``{metric: [score on each (train, test) fold]}`` of the probe (``METRICS``)."""
    from sklearn.base import clone

    out = {m: [] for m in METRICS}
    for tr, te in folds:
        probe = clone(pre.probe_grid().estimator).set_params(logisticregression__C=C)
        probe.fit(Z[tr], y[tr])
        proba = probe.predict_proba(Z[te])
        classes = list(probe.classes_)
        scores = pre.class_scores(y[te], np.asarray(classes)[proba.argmax(axis=1)], proba,
                                  classes)
        for m in METRICS:
            out[m].append(scores[m])
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--name", default=DEFAULT_PRETRAINED)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    from sklearn.model_selection import RepeatedStratifiedKFold

    t_start = time.perf_counter()
    pre = _protocol
    source, X_tr, y_tr, _, _ = pre.load_data(quick=False)
    y = np.asarray(y_tr)
    emb = DiffAEEmbedder.from_pretrained(args.name, n_threads=args.threads,
                                         readout=pre.WIDEST_READOUT).fit(X_tr[:2])
    B = emb.transform(X_tr)
    columns = pre.readout_columns(emb)
    folds = list(RepeatedStratifiedKFold(n_splits=3, n_repeats=args.repeats,
                                         random_state=0).split(B, y))
    per = {}
    for readout in READOUTS:
        Z = B[:, columns[readout]]
        C = float(pre.probe_grid().fit(Z, y).best_params_["logisticregression__C"])
        scores = fold_scores(pre, Z, y, folds, C)
        per[readout] = {"n_features": len(columns[readout]), "probe_C": C}
        for m, v in scores.items():
            per[readout].update({f"{m}_folds": v, f"{m}_mean": float(np.mean(v)),
                                 f"{m}_std": float(np.std(v, ddof=1))})
        print(readout, C, {m: round(float(np.mean(v)), 4) for m, v in scores.items()},
              flush=True)
    pairs = {}
    for narrow, wide in combinations(sorted(READOUTS, key=lambda r: len(columns[r])), 2):
        pair = {"n_folds": len(folds)}
        for metric in METRICS:
            d = (np.asarray(per[wide][f"{metric}_folds"])
                 - np.asarray(per[narrow][f"{metric}_folds"]))
            pair[metric] = {"diff_mean": float(d.mean()), "diff_std": float(d.std(ddof=1)),
                            "wider_wins": int((d > 0).sum())}
        pairs[f"{wide} - {narrow}"] = pair
    report = {"source": source, "checkpoint": args.name, "n_train": len(X_tr),
              "threads": args.threads,
              "protocol": "README 70/30 split, training part only (test part not read); "
                          f"frozen checkpoint, one transform with readout="
                          f"{pre.WIDEST_READOUT}, each readout its columns; "
                          "StandardScaler + LogisticRegression, C per readout by 3-fold "
                          "stratified CV (macro F1) on the whole training part, then "
                          f"RepeatedStratifiedKFold(3, {args.repeats}, random_state=0), the "
                          "same folds for every readout; paired differences per fold",
              "folds": {"n_splits": 3, "n_repeats": args.repeats, "random_state": 0},
              "readouts": per, "pairs": pairs,
              "seconds": time.perf_counter() - t_start}
    write_json("bench_readout_cv", report, seeds=[0])
    return report


if __name__ == "__main__":
    main()
