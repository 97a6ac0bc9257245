"""ScatteringFeatures on the full CinC 2017 archive: speed, memory and quality.

Speed: all 8,528 records with the defaults (wall seconds, records/s, peak RSS),
against the naive baseline in the same run: kymatio ``Scattering1D`` built once per
distinct record length, one record at a time, same J, Q, order, with the same log
and mean/std pooling (no attention). Ratio = naive seconds / ours.

Quality (protocol of ../shared/data/README.md): 70/30 stratified split over all
records (random_state=0); features -> StandardScaler -> LogisticRegression(C=0.01,
chosen by 5-fold CV on the training part, benchmarks/select_scattering_defaults.py).
Normal vs (AF+other) AUROC with noisy records dropped, 4-class macro F1, mean F1 of
N, A, O. contextualize=True and False side by side; the test part is scored once
per configuration.

    python benchmarks/bench_scattering.py [--skip-naive]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).parent))
from _common import load_full_or_exit, machine, peak_rss_mb, readme_split, write_json  # noqa: E402

from sklearn_biodiff._kymatio import ScatteringTorch1D  # noqa: E402
from sklearn_biodiff.datasets import binary_task  # noqa: E402
from sklearn_biodiff.feature_extraction import ScatteringFeatures  # noqa: E402
from sklearn_biodiff.preprocessing._scale import standardize_records  # noqa: E402


def naive_features(signals, J, Q, max_order, log_eps):
    """The loop a user would write: one kymatio module per length, one record at a time."""
    modules = {}
    out = []
    with torch.no_grad():
        for x in signals:
            n = len(x)
            if n not in modules:
                modules[n] = ScatteringTorch1D(J=J, shape=n, Q=Q, max_order=max_order)
            x = torch.from_numpy(standardize_records(x).astype(np.float32))
            S = modules[n](x[None])[0]  # (D, frames)
            S = torch.cat([S[:1], torch.log(S[1:].clamp_min(0) + log_eps)])
            out.append(torch.cat([S.mean(1), S.std(1, unbiased=False)]).numpy())
    return np.stack(out), len(modules)


def quality(F, target, tr, te):
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.01, max_iter=3000))
    clf.fit(F[tr], target[tr])
    pred = clf.predict(F[te])
    f1 = f1_score(target[te], pred, labels=["N", "A", "O", "~"], average=None)
    itr, ytr = binary_task(target[tr])
    ite, yte = binary_task(target[te])
    clf.fit(F[tr][itr], ytr)
    auc = roc_auc_score(yte, clf.predict_proba(F[te][ite])[:, 1])
    return {"auroc_normal_vs_abnormal": float(auc), "macro_f1_4class": float(f1.mean()),
            "mean_f1_NAO": float(f1[:3].mean())}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-naive", action="store_true")
    args = ap.parse_args(argv)
    data = load_full_or_exit()
    X, target = data.signals, data.target
    report = {"machine": machine(), "n_records": len(X)}
    defaults = ScatteringFeatures()
    t0 = time.perf_counter()
    F = defaults.fit_transform(X)
    ours = time.perf_counter() - t0
    report["ours"] = {"params": {k: v for k, v in defaults.get_params().items()
                                 if k not in ("memory",)},
                      "seconds": ours, "records_per_s": len(X) / ours,
                      "peak_rss_mb_after": peak_rss_mb(), "n_features": F.shape[1]}
    print(report["ours"], flush=True)
    t0 = time.perf_counter()
    F_plain = ScatteringFeatures(contextualize=False).fit_transform(X)
    report["ours_plain_seconds"] = time.perf_counter() - t0
    if not args.skip_naive:
        t0 = time.perf_counter()
        F_naive, n_modules = naive_features(X, defaults.J, defaults.Q, defaults.max_order,
                                            defaults.log_eps)
        naive = time.perf_counter() - t0
        report["naive_kymatio"] = {"seconds": naive, "records_per_s": len(X) / naive,
                                   "distinct_lengths": n_modules}
        report["speedup_vs_naive"] = naive / ours
        report["speedup_plain_vs_naive"] = naive / report["ours_plain_seconds"]
    tr, te = readme_split(target)
    report["quality"] = {
        "protocol": "70/30 stratified split (random_state=0), StandardScaler + "
                    "LogisticRegression(C=0.01); test scored once per row",
        "contextualize_true": quality(F, target, tr, te),
        "contextualize_false": quality(F_plain, target, tr, te),
        "reference_readme": {"log_scattering_J8_Q8": {"auroc": 0.866, "macro_f1": 0.653,
                                                      "mean_f1_NAO": 0.675},
                             "minirocket": {"auroc": 0.820, "macro_f1": 0.615}},
    }
    if not args.skip_naive:
        report["quality"]["naive_plain"] = quality(F_naive, target, tr, te)
    report["peak_rss_mb"] = peak_rss_mb()
    write_json("bench_scattering", report, seeds=[0])


if __name__ == "__main__":
    main()
