"""Noise robustness on the full CinC 2017 archive (issue 6): AUROC vs SNR.

Protocol: README 70/30 split (random_state=0), normal vs (AF + other), noisy
records dropped. Every model is fitted once on the clean training records; the test
records are corrupted with ``AddNoise`` at SNR 24, 18, 12, 6, 0 dB for each noise
kind (one draw per cell, seed 0, the same corrupted records for every model) and
scored with ``robustness_curve``. Models: ST features + LR, DACL, contrastive +
Gaussian views, DAE (each ST -> scaler -> VAE -> embedder -> scaler + LR), MiniRocket
(aeon, benchmark-only dependency) + LR; and DACL trained on clean + one noisy
copy of each training record (``AddNoise("mixture", snr_db=(0, 24))``).
With ``--diffae FILE`` (an embedder saved by ``bench_diffae.py --save``, trained
self-supervised on the training part only) also two copies of it fine-tuned for the
same number of snippets, one on the clean training records of this task
(``2 * --finetune-epochs`` epochs: "diffae") and one on clean + noisy copies
(``--finetune-epochs`` epochs: "diffae_noise_augmented"), so that the augmentation
is compared at equal cost; each is frozen and followed by scaler + LR
(``LogisticRegressionCV``, C by 3-fold CV on the training part).
Output: ``results/bench_robustness.json`` and ``results/robustness_auroc_vs_snr.png``.

Run alone on the machine: ``python benchmarks/bench_robustness.py [--diffae FILE]``
(``--quick``: bundled sample, tiny budgets).
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from pathlib import Path

import joblib
import numpy as np
from joblib import Memory
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, croppable, find_archive, machine, readme_split, write_json  # noqa: E402

from sklearn_biodiff.datasets import (  # noqa: E402
    binary_task,
    load_cinc2017_sample,
    load_physionet2017,
)
from sklearn_biodiff.feature_extraction import (  # noqa: E402
    DACLEmbedder,
    DenoisingAEEmbedder,
    ScatteringFeatures,
    VAELatent,
)
from sklearn_biodiff.noise import (  # noqa: E402
    AddNoise,
    augment_with_noise,
    plot_robustness_curve,
    robustness_curve,
    summarize_robustness,
)
from sklearn_biodiff.preprocessing import FixedLength, StandardizeSignal  # noqa: E402

KINDS = ("gaussian", "baseline_wander", "muscle", "powerline", "mixture")
SNRS = (24, 18, 12, 6, 0)


def _probe(C=1.0):
    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=3000))


def _embedding_pipeline(embedder, memory, args):
    return Pipeline([
        ("st", ScatteringFeatures(memory=memory)),
        ("scale", StandardScaler()),
        ("vae", VAELatent(max_epochs=args.vae_epochs, random_state=0)),
        ("embed", embedder),
        ("clf", _probe()),
    ], memory=memory)


def _minirocket(args):
    try:
        from aeon.transformations.collection.convolution_based import MiniRocket
    except ImportError:
        return None
    return make_pipeline(
        StandardizeSignal(scale="std", center="mean"), FixedLength(9000),
        FunctionTransformer(lambda X: np.asarray(X)[:, None, :]),
        MiniRocket(n_kernels=args.kernels, random_state=0, n_jobs=2),
        StandardScaler(), LogisticRegression(C=0.01, max_iter=3000))


def _diffae_probe(embedder):
    return make_pipeline(FrozenEstimator(embedder), StandardScaler(),
                         LogisticRegressionCV(Cs=[0.01, 0.1, 1.0], cv=3, max_iter=3000))


def _finetuned(embedder, X, epochs):
    emb = copy.deepcopy(embedder).set_params(warm_start=True, max_epochs=epochs,
                                             lr_schedule="constant", verbose=0)
    return emb.fit(croppable(emb, X))


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--vae-epochs", type=int, default=100)
    ap.add_argument("--kernels", type=int, default=10000)
    ap.add_argument("--diffae", type=Path, default=None,
                    help="fitted DiffAEEmbedder (joblib) from bench_diffae.py --save")
    ap.add_argument("--finetune-epochs", type=int, default=1)
    args = ap.parse_args(argv)
    t_start = time.perf_counter()
    archive = None if args.quick else find_archive()
    if archive is None:
        data = load_cinc2017_sample()
        args.epochs, args.vae_epochs, args.kernels = 4, 6, 500
        source = "bundled sample (280 records)"
    else:
        data = load_physionet2017(archive, n_jobs=2)
        source = str(archive)
    idx, y = binary_task(data.target, "normal_vs_abnormal")
    tr_all, te_all = readme_split(data.target)
    keep = set(idx.tolist())
    pos = {r: k for k, r in enumerate(idx)}
    tr = [pos[i] for i in tr_all if i in keep]
    te = [pos[i] for i in te_all if i in keep]
    X = [data.signals[i] for i in idx]
    X_tr, X_te = [X[i] for i in tr], [X[i] for i in te]
    y_tr, y_te = y[tr], y[te]

    with tempfile.TemporaryDirectory(prefix="bench_rob_") as tmp:
        memory = Memory(tmp, verbose=0)
        dacl_kw = {"max_epochs": args.epochs, "lr": 1e-3, "batch_size": 128,
                   "random_state": 0}
        models = {
            "st_features": make_pipeline(ScatteringFeatures(memory=memory), StandardScaler(),
                                         LogisticRegression(C=0.01, max_iter=3000)),
            "dacl": _embedding_pipeline(DACLEmbedder(**dacl_kw), memory, args),
            "gaussian": _embedding_pipeline(
                DACLEmbedder(augmentation="gaussian", noise_std=0.1, **dacl_kw), memory, args),
            "dae": _embedding_pipeline(DenoisingAEEmbedder(
                max_epochs=args.epochs, batch_size=128, random_state=0), memory, args),
        }
        mr = _minirocket(args)
        if mr is not None:
            models["minirocket"] = mr
        fit_seconds = {}
        for name, model in models.items():
            t0 = time.perf_counter()
            model.fit(X_tr, y_tr)
            fit_seconds[name] = time.perf_counter() - t0
            print("fitted", name, round(fit_seconds[name], 1), "s", flush=True)
        # training-time augmentation: clean + one noisy copy, SNR uniform in 0-24 dB
        X_aug, y_aug, _ = augment_with_noise(
            X_tr, y_tr, AddNoise("mixture", snr_db=(0.0, 24.0), random_state=1))
        t0 = time.perf_counter()
        models["dacl_noise_augmented"] = _embedding_pipeline(
            DACLEmbedder(**dacl_kw), memory, args).fit(X_aug, y_aug)
        fit_seconds["dacl_noise_augmented"] = time.perf_counter() - t0
        print("fitted dacl_noise_augmented", round(fit_seconds["dacl_noise_augmented"]),
              flush=True)

        if args.diffae is not None:
            base = joblib.load(args.diffae)
            X_aug_d, _, _ = augment_with_noise(
                X_tr, y_tr, AddNoise("mixture", snr_db=(0.0, 24.0), random_state=2))
            for name, X_ft, epochs in [
                ("diffae", X_tr, 2 * args.finetune_epochs),
                ("diffae_noise_augmented", X_aug_d, args.finetune_epochs),
            ]:
                t0 = time.perf_counter()
                emb = _finetuned(base, X_ft, epochs)
                models[name] = _diffae_probe(emb).fit(X_tr, y_tr)
                fit_seconds[name] = time.perf_counter() - t0
                print("fitted", name, round(fit_seconds[name]), "s", flush=True)

        t0 = time.perf_counter()
        res = robustness_curve(models, X_te, y_te, kinds=KINDS, snrs_db=SNRS,
                               scoring="roc_auc", random_state=0)
        curve_seconds = time.perf_counter() - t0

    summary = summarize_robustness(res, drop_at_db=6.0)
    by_model = {}
    for row in summary:
        by_model.setdefault(row["estimator"], {"clean": row["clean"], "kinds": {}})
        by_model[row["estimator"]]["kinds"][row["kind"]] = {
            "auroc_by_snr_db": row["by_snr"], "area_normalised": row["area"],
            "drop_clean_to_6db": row["drop"]}
    for m in by_model.values():
        m["mean_area_over_kinds"] = float(np.mean([k["area_normalised"]
                                                   for k in m["kinds"].values()]))
        m["mean_drop_to_6db"] = float(np.mean([k["drop_clean_to_6db"]
                                               for k in m["kinds"].values()]))
    report = {
        "source": source, "machine": machine(),
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "protocol": "README 70/30 split (random_state=0), normal vs (AF+other), noisy "
                    "dropped; fit once on clean training records; test records corrupted "
                    "once per (kind, SNR) with seed 0 and scored once per model",
        "n_train": len(tr), "n_test": len(te),
        "not_run": ({} if args.diffae else
                    {"diffae": "no --diffae model given (see bench_diffae.py --save)"}),
        "fit_seconds": fit_seconds, "curve_seconds": curve_seconds,
        "total_seconds": time.perf_counter() - t_start,
        "models": by_model,
        "rows": {k: v.tolist() for k, v in res.items()},
    }
    name = "bench_robustness" + ("_quick" if args.quick else "")
    write_json(name, report)
    import matplotlib

    matplotlib.use("Agg")
    fig = plot_robustness_curve(res, ylabel="test AUROC")
    fig.savefig(RESULTS / f"robustness_auroc_vs_snr{'_quick' if args.quick else ''}.png",
                dpi=120)


if __name__ == "__main__":
    main()
