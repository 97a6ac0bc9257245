"""Are the readouts of a shipped checkpoint resolved apart? Paired repeated CV (issue 16).

``bench_pretrained`` gives one 3-fold out-of-fold macro F1 per readout; a gap of a
few thousandths between two readouts may be noise of that one split. Here the
frozen checkpoint (``DiffAEEmbedder.from_pretrained(NAME)``) embeds the README
training part once with ``readout="attention+stats+blocks"`` (its first
``embedding_dim`` columns are ``z``, its first ``embedding_dim + 2 * encoder_width``
the ``"attention+stats"`` ones), and every readout goes through the same
``StandardScaler -> LogisticRegression`` probe on the same folds of
``RepeatedStratifiedKFold(n_splits=3, n_repeats=--repeats, random_state=0)``; C is
chosen per readout by the README protocol's 3-fold grid on the whole training part
(the same for every fold, so each readout gets the same small optimism).

For each pair of readouts, for macro F1 and normal vs abnormal AUROC: the per-fold
differences, wider minus narrower (mean, standard deviation over folds, how many
folds the wider readout wins). The test part of the README split is not read.

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


def fold_scores(pre, Z, y, folds, C):
    """Macro F1 and normal vs abnormal AUROC of the probe on each (train, test) fold."""
    from sklearn.base import clone

    f1, auroc = [], []
    for tr, te in folds:
        probe = clone(pre.probe_grid().estimator).set_params(logisticregression__C=C)
        probe.fit(Z[tr], y[tr])
        proba = probe.predict_proba(Z[te])
        classes = list(probe.classes_)
        scores = pre.class_scores(y[te], np.asarray(classes)[proba.argmax(axis=1)], proba,
                                  classes)
        f1.append(scores["macro_f1"])
        auroc.append(scores["auroc_normal_vs_abnormal"])
    return f1, auroc


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
                                         readout="attention+stats+blocks").fit(X_tr[:2])
    B = emb.transform(X_tr)
    width = {readout: emb._n_features_out_for(readout) for readout in READOUTS}
    folds = list(RepeatedStratifiedKFold(n_splits=3, n_repeats=args.repeats,
                                         random_state=0).split(B, y))
    per = {}
    for readout in READOUTS:
        Z = B[:, : width[readout]]
        C = float(pre.probe_grid().fit(Z, y).best_params_["logisticregression__C"])
        f1, auroc = fold_scores(pre, Z, y, folds, C)
        per[readout] = {"n_features": width[readout], "probe_C": C, "macro_f1_folds": f1,
                        "macro_f1_mean": float(np.mean(f1)),
                        "macro_f1_std": float(np.std(f1, ddof=1)),
                        "auroc_normal_vs_abnormal_folds": auroc,
                        "auroc_normal_vs_abnormal_mean": float(np.mean(auroc))}
        print(readout, C, round(np.mean(f1), 4), round(np.std(f1, ddof=1), 4), flush=True)
    pairs = {}
    for narrow, wide in combinations(READOUTS, 2):
        pair = {"n_folds": len(folds)}
        for metric in ("macro_f1", "auroc_normal_vs_abnormal"):
            d = (np.asarray(per[wide][f"{metric}_folds"])
                 - np.asarray(per[narrow][f"{metric}_folds"]))
            pair[metric] = {"diff_mean": float(d.mean()), "diff_std": float(d.std(ddof=1)),
                            "wider_wins": int((d > 0).sum())}
        pairs[f"{wide} - {narrow}"] = pair
    report = {"source": source, "checkpoint": args.name, "n_train": len(X_tr),
              "threads": args.threads,
              "protocol": "README 70/30 split, training part only (test part not read); "
                          "frozen checkpoint, one transform with readout="
                          "attention+stats+blocks, each readout its leading columns; "
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
