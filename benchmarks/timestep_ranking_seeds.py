"""DACL timestep ranges repeated over seeds (issue 18): is any range better?

The README's timestep ranking (Early 1-16, Mid 17-33, Late 34-50, All 1-50; the
paper reports Late as best) rested on one seed of a 5-fold CV
(``bench_model_selection.py``, part A). This repeats that CV over several seeds,
each seed drawing its own folds and seeding the VAE and DACL:

* task: normal vs abnormal (AF + other), noisy records dropped, all records;
* folds: ``make_grouped_cv(5, random_state=seed)`` (``StratifiedGroupKFold``,
  shuffled; a record is a patient);
* per fold: scaler + ``VAELatent(latent_dim=32, max_epochs=100)`` on the fold's
  ST features, then for each range ``DACLEmbedder(t_min, t_max, max_epochs=40,
  lr=1e-3, batch_size=128)`` and a linear probe (scaler + logistic regression,
  C=1) on the frozen embedding; AUROC on the held-out fold.

The ST features of every record are computed once (training-free) and cached in
``~/.cache/sklearn_biodiff/bench``. Output: ``results/timestep_ranking_seeds.json``
with the fold scores per seed and range, the mean and std over all folds, the
ranking per seed, and the paired differences of every range to the best one.

Run: ``python -m benchmarks.timestep_ranking_seeds [--seeds 0 1 2] [--quick]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from joblib import Memory
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from benchmarks._common import find_archive, write_json
from sklearn_biodiff.datasets import (
    binary_task,
    load_cinc2017_sample,
    load_physionet2017,
)
from sklearn_biodiff.feature_extraction import (
    DACLEmbedder,
    ScatteringFeatures,
    VAELatent,
)
from sklearn_biodiff.model_selection import make_grouped_cv

RANGES = {"early": (1, 16), "mid": (17, 33), "late": (34, 50), "all": (1, 50)}


def fold_scores(S, y, train, test, seed, args) -> dict[str, float]:
    """AUROC of each range's DACL probe on one held-out fold."""
    scaler = StandardScaler().fit(S[train])
    vae = VAELatent(latent_dim=32, max_epochs=args.vae_epochs, random_state=seed)
    Z_tr = vae.fit(scaler.transform(S[train])).transform(scaler.transform(S[train]))
    Z_te = vae.transform(scaler.transform(S[test]))
    out = {}
    for name, (lo, hi) in RANGES.items():
        dacl = DACLEmbedder(t_min=lo, t_max=hi, max_epochs=args.epochs, lr=1e-3,
                            batch_size=128, random_state=seed).fit(Z_tr, y[train])
        probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
        probe.fit(dacl.transform(Z_tr), y[train])
        out[name] = float(roc_auc_score(y[test], probe.predict_proba(
            dacl.transform(Z_te))[:, 1]))
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--vae-epochs", type=int, default=100)
    ap.add_argument("--quick", action="store_true", help="bundled sample, tiny budgets")
    args = ap.parse_args(argv)
    archive = None if args.quick else find_archive()
    if archive is None:
        data, source = load_cinc2017_sample(), "bundled sample (280 records)"
        args.epochs, args.vae_epochs, args.folds = 3, 5, 3
    else:
        data, source = load_physionet2017(archive, n_jobs=2), str(archive)
    idx, y = binary_task(data.target, "normal_vs_abnormal")
    memory = Memory(Path.home() / ".cache" / "sklearn_biodiff" / "bench", verbose=0)
    S = ScatteringFeatures(memory=memory).fit_transform(data.signals)[idx]
    groups = np.asarray(data.groups)[idx]
    report = {"source": source, "settings": vars(args), "n_records": len(idx),
              "protocol": f"{args.folds}-fold make_grouped_cv(random_state=seed) over all "
                          "task records (normal vs AF+other, noisy dropped) per seed; VAE "
                          "(latent 32) and DACL seeded with the seed; probe C=1; AUROC",
              "ranges": RANGES, "seeds": {}}
    name = "timestep_ranking_seeds" + ("_quick" if args.quick else "")
    for seed in args.seeds:
        t0 = time.process_time()
        cv = make_grouped_cv(args.folds, random_state=seed)
        folds = [fold_scores(S, y, tr, te, seed, args)
                 for tr, te in cv.split(S, y, groups)]
        per = {r: [f[r] for f in folds] for r in RANGES}
        report["seeds"][str(seed)] = {
            "folds": per, "mean": {r: float(np.mean(v)) for r, v in per.items()},
            "ranking": sorted(RANGES, key=lambda r: -np.mean(per[r])),
            "cpu_seconds": time.process_time() - t0}
        print(seed, report["seeds"][str(seed)]["ranking"],
              {r: round(float(np.mean(v)), 4) for r, v in per.items()}, flush=True)
        # all folds of every seed so far: mean, std, and paired differences to the best
        allf = {r: [x for s in report["seeds"].values() for x in s["folds"][r]]
                for r in RANGES}
        best = max(RANGES, key=lambda r: np.mean(allf[r]))
        report["over_seeds"] = {
            "n_folds": len(allf[best]),
            "mean": {r: float(np.mean(v)) for r, v in allf.items()},
            "std": {r: float(np.std(v)) for r, v in allf.items()},
            "best": best,
            "paired_difference_to_best": {
                r: {"mean": float(np.mean(np.subtract(allf[r], allf[best]))),
                    "std": float(np.std(np.subtract(allf[r], allf[best])))}
                for r in RANGES},
            "rankings": {s: v["ranking"] for s, v in report["seeds"].items()}}
        write_json(name, report, seeds=[int(s) for s in report["seeds"]])
    return report


if __name__ == "__main__":
    main()
