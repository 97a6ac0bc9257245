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

    python -m benchmarks.bench_scattering [--skip-naive]

Speed-up with repeats (``--repeats R``, writes ``results/bench_scattering_speedup.json``,
no quality): R repeats on a random subset of ``--subset`` records (seed 0), each
timing ours and the naive loop back to back, alternating which goes first, so that the
load of a shared machine falls on both alike; the ratio is taken per repeat::

    OMP_NUM_THREADS=1 nice -n 19 python -m benchmarks.bench_scattering --repeats 5 \
        --subset 2000
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from benchmarks._common import load_full_or_exit, machine, peak_rss_mb, readme_split, write_json
from sklearn_biodiff._kymatio import ScatteringTorch1D
from sklearn_biodiff.datasets import binary_task
from sklearn_biodiff.feature_extraction import ScatteringFeatures
from sklearn_biodiff.preprocessing._scale import standardize_records


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


def speedup_repeats(X, n_repeats: int, n_subset: int | None, seed: int = 0) -> dict:
    """Ours and the naive loop timed back to back ``n_repeats`` times, order alternating."""
    idx = np.arange(len(X))
    if n_subset is not None and n_subset < len(X):
        idx = np.sort(np.random.RandomState(seed).choice(len(X), n_subset, replace=False))
    records = [X[i] for i in idx]
    defaults = ScatteringFeatures()

    def time_ours():
        t0, c0 = time.perf_counter(), time.process_time()
        ScatteringFeatures(n_jobs=1).fit_transform(records)
        return time.perf_counter() - t0, time.process_time() - c0

    def time_naive():
        t0, c0 = time.perf_counter(), time.process_time()
        _, n_lengths = naive_features(records, defaults.J, defaults.Q, defaults.max_order,
                                      defaults.log_eps)
        return time.perf_counter() - t0, time.process_time() - c0, n_lengths

    rows = []
    for r in range(n_repeats):
        load_before = os.getloadavg()[0]
        if r % 2 == 0:
            ours, ours_cpu = time_ours()
            naive, naive_cpu, n_lengths = time_naive()
        else:
            naive, naive_cpu, n_lengths = time_naive()
            ours, ours_cpu = time_ours()
        rows.append({"repeat": r, "first": "ours" if r % 2 == 0 else "naive",
                     "ours_seconds": ours, "naive_seconds": naive, "ratio": naive / ours,
                     "ours_cpu_seconds": ours_cpu, "naive_cpu_seconds": naive_cpu,
                     "cpu_ratio": naive_cpu / ours_cpu,
                     "load_average_1min_before_after": [load_before, os.getloadavg()[0]]})
        print(rows[-1], flush=True)
    ratios = np.array([row["ratio"] for row in rows])
    cpu_ratios = np.array([row["cpu_ratio"] for row in rows])
    return {
        "protocol": (f"{n_repeats} repeats on {len(records)} records drawn at random "
                     f"(seed {seed}) from the {len(X)}; per repeat ours "
                     "(ScatteringFeatures() fit_transform, a new instance) and the naive "
                     "kymatio loop (a new module per distinct length) run back to back, "
                     "alternating which goes first; ratio = naive / ours per repeat, "
                     "in wall seconds and in CPU seconds of this process (time.process_time:"
                     " one torch thread, so CPU time is the work done, whatever the load)"),
        "n_records": len(records), "n_records_archive": len(X), "subset_seed": seed,
        "distinct_lengths": n_lengths, "repeats": rows,
        "ratio_mean": float(ratios.mean()), "ratio_min": float(ratios.min()),
        "ratio_max": float(ratios.max()), "ratio_std": float(ratios.std(ddof=1))
        if len(ratios) > 1 else None,
        "cpu_ratio_mean": float(cpu_ratios.mean()), "cpu_ratio_min": float(cpu_ratios.min()),
        "cpu_ratio_max": float(cpu_ratios.max()),
        "cpu_ratio_std": float(cpu_ratios.std(ddof=1)) if len(cpu_ratios) > 1 else None,
        "ours_seconds_mean": float(np.mean([row["ours_seconds"] for row in rows])),
        "naive_seconds_mean": float(np.mean([row["naive_seconds"] for row in rows])),
    }


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-naive", action="store_true")
    ap.add_argument("--repeats", type=int, default=None,
                    help="only time ours against the naive loop, this many times")
    ap.add_argument("--subset", type=int, default=None,
                    help="with --repeats: number of records drawn at random (seed 0)")
    ap.add_argument("--machine-note", default="2 cores shared with a pretraining run "
                    "(one core busy throughout) and with other engineers' tests, benchmarks "
                    "and a mutation-testing run (load averages per repeat below); this "
                    "benchmark at nice 19, 1 torch thread")
    args = ap.parse_args(argv)
    if args.repeats is not None:
        torch.set_num_threads(1)
        data = load_full_or_exit()
        report = {"machine": machine(), "machine_note": args.machine_note,
                  **speedup_repeats(data.signals, args.repeats, args.subset)}
        write_json("bench_scattering_speedup", report, seeds=[0])
        return
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
