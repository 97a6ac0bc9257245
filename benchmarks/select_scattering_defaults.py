"""Choose ScatteringFeatures defaults by 5-fold CV on the TRAINING part only.

Protocol: the 70/30 stratified split of ../shared/data/README.md (random_state=0);
only the 70 % training part is used here, with StratifiedKFold(5, shuffle,
random_state=0); features -> StandardScaler -> LogisticRegression(C=0.1). Scores:
normal vs (AF+other) AUROC (noisy dropped) and 4-class macro F1. The test part is
never touched; benchmarks/bench_scattering.py scores it once for the chosen defaults.

    python -m benchmarks.select_scattering_defaults
"""

import json
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from benchmarks._common import load_full_or_exit, readme_split, write_json
from sklearn_biodiff.datasets import binary_task
from sklearn_biodiff.feature_extraction import ScatteringFeatures

CONFIGS = [
    {"contextualize": False},
    {},
    {"J": 9},
    {"J": 9, "contextualize": False},
    {"n_layers": 2},
    {"log_eps": 1e-2},
    {"pooling": "mean_std_max"},
]


def cv_scores(F, target, C=0.1):
    skf = StratifiedKFold(5, shuffle=True, random_state=0)
    aucs, f1s = [], []
    for tr, va in skf.split(F, target):
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=3000))
        clf.fit(F[tr], target[tr])
        f1s.append(f1_score(target[va], clf.predict(F[va]), average="macro"))
        itr, ytr = binary_task(target[tr])
        iva, yva = binary_task(target[va])
        clf.fit(F[tr][itr], ytr)
        aucs.append(roc_auc_score(yva, clf.predict_proba(F[va][iva])[:, 1]))
    return float(np.mean(aucs)), float(np.std(aucs)), float(np.mean(f1s))


def main():
    data = load_full_or_exit()
    train_idx, _ = readme_split(data.target)
    X = [data.signals[i] for i in train_idx]
    y = data.target[train_idx]
    rows = []
    for cfg in CONFIGS:
        t0 = time.perf_counter()
        F = ScatteringFeatures(**cfg).fit_transform(X)
        sec = time.perf_counter() - t0
        for C in (0.01, 0.1):
            auc, auc_sd, f1 = cv_scores(F, y, C)
            row = {"config": cfg, "C": C, "cv_auroc": auc, "cv_auroc_std": auc_sd,
                   "cv_macro_f1": f1, "featurise_s": sec, "n_features": F.shape[1]}
            rows.append(row)
            print(json.dumps(row), flush=True)
    write_json("select_scattering_defaults", {
        "protocol": "5-fold stratified CV (random_state=0) on the 70% training part of "
                    "the README split; StandardScaler + LogisticRegression(C)",
        "rows": rows}, seeds=[0])


if __name__ == "__main__":
    main()
