"""DiffAEEmbedder on the full CinC 2017 archive (issue 8): learning curve vs CPU time.

Protocol: README 70/30 split (random_state=0) over all 8,528 records, 4 classes.
Self-supervised training on the training records only (those at least one
crop long; shorter ones are counted in the JSON and still embedded), in chunks (``warm_start``);
after each chunk whose cumulative training time passes a mark (``--marks`` minutes,
0 = random initialisation) the train and test records are embedded and a
``StandardScaler -> LogisticRegression`` probe is fitted on the training part (C
chosen by 3-fold CV on the training part) and scored once on the test part: 4-class
macro F1, mean F1 of N, A, O, and the normal vs (AF + other) AUROC (noisy dropped;
score = P(A) + P(O)). Also: training throughput (snippets/s) and transform
throughput (records/s). JSON: ``results/bench_diffae.json``.

Run alone on the machine: ``python -m benchmarks.bench_diffae --marks 0 10 30 60``
(``--quick``: bundled sample, marks in seconds).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from benchmarks._common import croppable, find_archive, machine, readme_split, write_json
from sklearn_biodiff.datasets import load_cinc2017_sample, load_physionet2017
from sklearn_biodiff.feature_extraction import DiffAEEmbedder


def probe_scores(Z_tr, y_tr, Z_te, y_te):
    grid = GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000)),
                        {"logisticregression__C": [0.01, 0.1, 1.0]},
                        cv=StratifiedKFold(3, shuffle=True, random_state=0),
                        scoring="f1_macro").fit(Z_tr, y_tr)
    pred = grid.predict(Z_te)
    classes = list(grid.classes_)
    proba = grid.predict_proba(Z_te)
    keep = y_te != "~"
    abnormal = proba[:, classes.index("A")] + proba[:, classes.index("O")]
    f1 = f1_score(y_te, pred, labels=["N", "A", "O", "~"], average=None)
    return {"macro_f1": float(f1.mean()), "mean_f1_NAO": float(f1[:3].mean()),
            "auroc_normal_vs_abnormal": float(roc_auc_score(
                np.isin(y_te[keep], ["A", "O"]).astype(int), abnormal[keep])),
            "probe_C": grid.best_params_["logisticregression__C"]}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--marks", type=float, nargs="*", default=[0, 10, 30, 60],
                    help="training minutes at which to evaluate")
    ap.add_argument("--chunk-epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--save", type=Path, default=None,
                    help="joblib file for the embedder at the last mark (reused by "
                         "bench_robustness.py --diffae)")
    args = ap.parse_args(argv)
    archive = None if args.quick else find_archive()
    unit = 60.0
    if archive is None:
        data, source, unit = load_cinc2017_sample(), "bundled sample (280 records)", 1.0
    else:
        data, source = load_physionet2017(archive, n_jobs=2), str(archive)
    tr, te = readme_split(data.target)
    X_tr = [data.signals[i] for i in tr]
    X_te = [data.signals[i] for i in te]
    y_tr, y_te = data.target[tr], data.target[te]
    emb = DiffAEEmbedder(lr=args.lr, batch_size=args.batch_size, lr_schedule="constant",
                         max_epochs=args.chunk_epochs, warm_start=True, random_state=0)
    # records shorter than one training crop (CinC has 9-s records) cannot be
    # cropped: the embedder trains on the others and still embeds every record
    X_fit = croppable(emb, X_tr)
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    report = {"source": source, "machine": machine(), "settings": settings,
              "protocol": "README 70/30 split (random_state=0), 4 classes; embedder "
                          "trained on the training part only; probe C by 3-fold CV on "
                          "the training part; test scored once per mark",
              "n_train": len(X_tr), "n_test": len(X_te),
              "n_train_used_for_embedder": len(X_fit),
              "n_train_shorter_than_crop": len(X_tr) - len(X_fit),
              "crop_samples": emb._snippet_length(),
              "curve": []}
    name = "bench_diffae" + ("_quick" if args.quick else "")
    train_s, snippets = 0.0, 0
    marks = sorted(args.marks)
    for mark in marks:
        while train_s < mark * unit:
            t0 = time.perf_counter()
            emb.fit(X_fit)
            train_s += time.perf_counter() - t0
            snippets += args.chunk_epochs * len(X_fit)
        model = emb
        if mark == 0:  # random initialisation: the same seed, one step at lr 1e-12
            model = DiffAEEmbedder(max_steps=1, lr=1e-12, lr_schedule="constant",
                                   random_state=0).fit(X_fit[: args.batch_size])
        t0 = time.perf_counter()
        Z_tr, Z_te = model.transform(X_tr), model.transform(X_te)
        tf_s = time.perf_counter() - t0
        row = {"train_minutes": train_s / 60, "snippets_seen": snippets,
               "train_snippets_per_s": snippets / train_s if train_s else None,
               "transform_records_per_s": (len(X_tr) + len(X_te)) / tf_s,
               **probe_scores(Z_tr, y_tr, Z_te, y_te)}
        report["curve"].append(row)
        print(row, flush=True)
        write_json(name, report, seeds=[0])
    if args.save is not None:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(emb, args.save)


if __name__ == "__main__":
    main()
