"""Reproduce the DACL paper's Table I and Figs. 2-4 on PhysioNet/CinC 2017, then
try to beat it.

Protocols (every number in the JSON says which one it comes from):

* ``split``: the 70/30 stratified split of ../shared/data/README.md
  (``random_state=0``; one record is one patient). Hyperparameters of the
  "tuned" DACL row are chosen by 3-fold CV on the 70 % training part only; the
  test part is scored once per reported configuration.
* ``cv``: 5-fold StratifiedGroupKFold (groups = patients = records) over all
  records, repeated for each seed; mean +- std over folds x seeds.

Methods: Scattering Transformer (ST) features, VAE mu, DACL (diffusion views),
contrastive + Gaussian noise (baseline 1), denoising AE (baseline 2), each with a
linear probe (StandardScaler + LogisticRegression); prototype-distance AUROC for
DACL and Gaussian; MiniRocket (aeon, 10k kernels) as the peer, split protocol only.

    python -m benchmarks.reproduce_dacl             # full archive, JSON + PNG
    python -m benchmarks.reproduce_dacl --quick     # bundled sample, minutes
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from joblib import Memory
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from benchmarks._common import RESULTS, find_archive, machine, readme_split, write_json
from sklearn_biodiff.datasets import (
    binary_task,
    load_cinc2017_sample,
    load_physionet2017,
)
from sklearn_biodiff.feature_extraction import (
    DACLEmbedder,
    DenoisingAEEmbedder,
    ScatteringFeatures,
    VAELatent,
)

ABLATION = {"early": (1, 16), "mid": (17, 33), "late": (34, 50), "all": (1, 50)}
#: candidates of the tuned DACL row, compared by 3-fold CV on the training part
TUNING = [
    {},
    {"margin": 0.5},
    {"embedding_dim": 32, "widths": (128, 64)},
    {"t_min": 34, "t_max": 50},
    {"lr": 3e-4},
]


def probe(F_tr, y_tr, F_te, C=1.0):
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=3000))
    clf.fit(F_tr, y_tr)
    return clf.predict_proba(F_te)[:, 1]


class Runner:
    def __init__(self, ST, signals, args):
        self.ST = ST
        self.signals = signals
        self.args = args

    def vae(self, tr, seed):
        scaler = StandardScaler().fit(self.ST[tr])
        vae = VAELatent(latent_dim=self.args.latent_dim, max_epochs=self.args.vae_epochs,
                        random_state=seed).fit(scaler.transform(self.ST[tr]))
        return lambda idx: vae.transform(scaler.transform(self.ST[idx]))

    def dacl(self, Z_tr, y_tr, seed, **params):
        p = {"max_epochs": self.args.epochs, "batch_size": 128, "lr": 1e-3,
             "random_state": seed, **params}
        return DACLEmbedder(**p).fit(Z_tr, y_tr)

    def evaluate(self, tr, te, y_tr, y_te, seed, *, dacl_params=None, extras=True):
        """Scores of every method on one train/test split."""
        out, curves = {}, {}

        def add(name, score):
            out[name] = float(roc_auc_score(y_te, score))
            curves[name] = score

        add("st_features", probe(self.ST[tr], y_tr, self.ST[te], C=0.01))
        enc = self.vae(tr, seed)
        Z_tr, Z_te = enc(tr), enc(te)
        add("vae_mu", probe(Z_tr, y_tr, Z_te))
        dacl = self.dacl(Z_tr, y_tr, seed, **(dacl_params or {}))
        add("dacl", probe(dacl.transform(Z_tr), y_tr, dacl.transform(Z_te)))
        add("dacl_prototype", dacl.decision_function(Z_te))
        if extras:
            gauss = self.dacl(Z_tr, y_tr, seed, augmentation="gaussian", noise_std=0.1)
            add("gaussian", probe(gauss.transform(Z_tr), y_tr, gauss.transform(Z_te)))
            add("gaussian_prototype", gauss.decision_function(Z_te))
            dae = DenoisingAEEmbedder(max_epochs=self.args.epochs, batch_size=128,
                                      random_state=seed).fit(Z_tr)
            add("dae", probe(dae.transform(Z_tr), y_tr, dae.transform(Z_te)))
        return out, curves, (dacl, Z_te)


def minirocket_scores(signals, tr, te, y_tr, seed):
    try:
        from aeon.transformations.collection.convolution_based import MiniRocket
    except ImportError:
        return None
    from sklearn_biodiff.preprocessing import FixedLength, StandardizeSignal

    prep = make_pipeline(StandardizeSignal(scale="std", center="mean"), FixedLength(9000))
    X_tr = prep.fit_transform([signals[i] for i in tr])[:, None, :]
    X_te = prep.transform([signals[i] for i in te])[:, None, :]
    mr = MiniRocket(n_kernels=10000, random_state=seed, n_jobs=2).fit(X_tr)
    return probe(np.asarray(mr.transform(X_tr)), y_tr, np.asarray(mr.transform(X_te)), C=0.01)


def run_variants(runner, target, tr, te, y_tr, y_te):
    """Attempts to beat the paper's pipeline (split protocol, seed 0, test once each)."""
    out = {}
    scaler = StandardScaler().fit(runner.ST[tr])
    S_tr, S_te = scaler.transform(runner.ST[tr]), scaler.transform(runner.ST[te])
    d = runner.dacl(S_tr, y_tr, 0)
    out["dacl_on_st_features"] = float(roc_auc_score(
        y_te, probe(d.transform(S_tr), y_tr, d.transform(S_te))))
    enc = runner.vae(tr, 0)
    Z_tr, Z_te = enc(tr), enc(te)
    d = runner.dacl(Z_tr, target[tr], 0)
    out["dacl_trained_on_4_labels"] = float(roc_auc_score(
        y_te, probe(d.transform(Z_tr), y_tr, d.transform(Z_te))))
    E_tr, E_te = d.transform(Z_tr), d.transform(Z_te)
    out["dacl_4_labels_plus_st_probe"] = float(roc_auc_score(
        y_te, probe(np.c_[E_tr, S_tr], y_tr, np.c_[E_te, S_te], C=0.01)))
    return out


def run_keep_features(task, runner, target, args, report):
    """``make_dacl_pipeline(keep_features=True)`` against its parts on the README split.

    3-fold CV on the training part only (seed 0: what a choice may rest on), then the
    split protocol: trained once on the training part, the test part scored once. Rows:
    the ST probe (C=0.01), the paper's DACL probe (C=1), and the scaled ST features
    beside the DACL embedding (probe C=0.01) from the same VAE and DACL fits.
    """
    idx, y = binary_task(target, task)
    tr_all, te_all = readme_split(target)
    tr, te = np.intersect1d(tr_all, idx), np.intersect1d(te_all, idx)
    pos = {i: k for k, i in enumerate(idx)}
    y_tr, y_te = (y[[pos[i] for i in ids]] for ids in (tr, te))

    def scores(a, b, ya, yb, seed):
        scaler = StandardScaler().fit(runner.ST[a])
        S_a, S_b = scaler.transform(runner.ST[a]), scaler.transform(runner.ST[b])
        enc = runner.vae(a, seed)
        Z_a, Z_b = enc(a), enc(b)
        d = runner.dacl(Z_a, ya, seed)
        E_a, E_b = d.transform(Z_a), d.transform(Z_b)
        return {"st_features": float(roc_auc_score(yb, probe(runner.ST[a], ya, runner.ST[b],
                                                             C=0.01))),
                "dacl": float(roc_auc_score(yb, probe(E_a, ya, E_b))),
                "dacl_keep_features": float(roc_auc_score(
                    yb, probe(np.c_[S_a, E_a], ya, np.c_[S_b, E_b], C=0.01)))}

    def on_pretrained(a, b, ya, yb, seed):
        # DACL on the frozen pretrained DiffAE embedding instead of the VAE latent
        scaler = StandardScaler().fit(runner.pretrained[a])
        P_a, P_b = scaler.transform(runner.pretrained[a]), scaler.transform(runner.pretrained[b])
        d = runner.dacl(P_a, ya, seed)
        E_a, E_b = d.transform(P_a), d.transform(P_b)
        S = StandardScaler().fit(runner.ST[a])
        S_a, S_b = S.transform(runner.ST[a]), S.transform(runner.ST[b])
        return {"pretrained": float(roc_auc_score(yb, probe(P_a, ya, P_b))),
                "pretrained_keep_features": float(roc_auc_score(
                    yb, probe(np.c_[S_a, P_a], ya, np.c_[S_b, P_b], C=0.01))),
                "dacl_on_pretrained": float(roc_auc_score(yb, probe(E_a, ya, E_b))),
                "dacl_on_pretrained_keep_features": float(roc_auc_score(
                    yb, probe(np.c_[S_a, E_a], ya, np.c_[S_b, E_b], C=0.01)))}

    if args.on_pretrained:
        scores = on_pretrained  # noqa: F811 (only the pretrained rows in this mode)
    folds = [scores(tr[a], tr[b], y_tr[a], y_tr[b], 0) for a, b in
             StratifiedKFold(3, shuffle=True, random_state=0).split(tr, y_tr)]
    res = {"n_train": len(tr), "n_test": len(te), "positives_test": int(y_te.sum()),
           "cv3_on_train": {k: {"folds": [f[k] for f in folds],
                                "mean": float(np.mean([f[k] for f in folds])),
                                "std": float(np.std([f[k] for f in folds]))}
                            for k in folds[0]},
           "split": scores(tr, te, y_tr, y_te, 0)}
    print(task, "keep_features", json.dumps(res["split"]), flush=True)
    report[task] = res


def run_task(task, runner, target, args, report):
    idx, y = binary_task(target, task)
    tr_all, te_all = readme_split(target)
    tr = np.intersect1d(tr_all, idx)
    te = np.intersect1d(te_all, idx)
    pos = {i: k for k, i in enumerate(idx)}
    y_of = lambda ids: y[[pos[i] for i in ids]]  # noqa: E731
    y_tr, y_te = y_of(tr), y_of(te)
    res = {"n_train": len(tr), "n_test": len(te), "positives_test": int(y_te.sum())}
    if args.variants:
        res["variants_split"] = run_variants(runner, target, tr, te, y_tr, y_te)
        print(task, "variants", res["variants_split"], flush=True)
        if args.variants_only:
            report[task] = res
            return

    # --- tuning of DACL on the training part only (3-fold CV) ---
    tuning = []
    if args.tune:
        skf = StratifiedKFold(3, shuffle=True, random_state=0)
        for cand in TUNING:
            aucs = []
            for a, b in skf.split(tr, y_tr):
                sc, _, _ = runner.evaluate(tr[a], tr[b], y_tr[a], y_tr[b], 0,
                                           dacl_params=cand, extras=False)
                aucs.append(sc["dacl"])
            tuning.append({"params": cand, "cv3_auroc_mean": float(np.mean(aucs)),
                           "cv3_auroc_std": float(np.std(aucs))})
            print(task, "tuning", tuning[-1], flush=True)
        best = max(tuning, key=lambda r: r["cv3_auroc_mean"])["params"]
    else:
        best = {}
    res["tuning_cv_on_train"] = tuning
    res["tuned_params"] = best

    # --- protocol "split": one fit per method, test scored once ---
    t0 = time.perf_counter()
    scores, curves, (dacl, Z_te) = runner.evaluate(tr, te, y_tr, y_te, 0)
    if best:
        tuned, tcurves, _ = runner.evaluate(tr, te, y_tr, y_te, 0, dacl_params=best,
                                            extras=False)
        scores["dacl_tuned"] = tuned["dacl"]
        scores["dacl_tuned_prototype"] = tuned["dacl_prototype"]
        curves["dacl_tuned"] = tcurves["dacl"]
    if args.minirocket:
        mr = minirocket_scores(runner.signals, tr, te, y_tr, 0)
        if mr is not None:
            scores["minirocket"] = float(roc_auc_score(y_te, mr))
            curves["minirocket"] = mr
    res["split"] = {"auroc": scores, "seconds": time.perf_counter() - t0}
    print(task, "split", json.dumps(scores), flush=True)

    # --- timestep ablation (split protocol, DACL probe) ---
    enc = runner.vae(tr, 0)
    Z_tr, Z_te2 = enc(tr), enc(te)
    abl = {}
    for name, (lo, hi) in ABLATION.items():
        d = runner.dacl(Z_tr, y_tr, 0, t_min=lo, t_max=hi)
        abl[name] = float(roc_auc_score(y_te, probe(d.transform(Z_tr), y_tr, d.transform(Z_te2))))
    res["ablation_split"] = abl
    print(task, "ablation", abl, flush=True)

    # --- protocol "cv": 5-fold grouped CV x seeds over all task records ---
    if args.folds:
        per_method: dict[str, list] = {}
        for seed in args.seeds:
            sgkf = StratifiedGroupKFold(args.folds, shuffle=True, random_state=seed)
            for a, b in sgkf.split(idx, y, groups=idx):
                sc, _, _ = runner.evaluate(idx[a], idx[b], y[a], y[b], seed)
                for k, v in sc.items():
                    per_method.setdefault(k, []).append(v)
        res["cv"] = {k: {"mean": float(np.mean(v)), "std": float(np.std(v)), "n": len(v)}
                     for k, v in per_method.items()}
        print(task, "cv", json.dumps(res["cv"]), flush=True)
    report[task] = res
    if args.plots:
        plots(task, y_te, curves, scores, dacl, Z_te, abl,
              suffix="_quick" if args.quick else "")


def plots(task, y_te, curves, scores, dacl, Z_te, abl, suffix=""):
    """The paper's figures 2-4 for ``task``; ``suffix="_quick"`` (a ``--quick`` run)
    keeps them apart from the tracked figures of a full run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE

    fig, ax = plt.subplots(figsize=(5.5, 5))
    for name, s in curves.items():
        fpr, tpr, _ = roc_curve(y_te, s)
        ax.plot(fpr, tpr, lw=1.2, label=f"{name} ({scores[name]:.3f})")
    ax.plot([0, 1], [0, 1], "k:", lw=0.8)
    ax.set(xlabel="false positive rate", ylabel="true positive rate",
           title=f"Fig. 2 - ROC, {task} (70/30 split, test)")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(RESULTS / f"dacl_fig2_roc_{task}{suffix}.png", dpi=120)
    plt.close(fig)

    E = dacl.transform(Z_te)
    P = TSNE(2, random_state=0, init="pca", perplexity=30).fit_transform(E)
    fig, ax = plt.subplots(figsize=(5, 5))
    for c, name in ((0, "negative"), (1, "positive")):
        m = y_te == c
        ax.scatter(P[m, 0], P[m, 1], s=4, alpha=0.6, label=name)
    ax.set(title=f"Fig. 3 - t-SNE of DACL test embeddings, {task}", xticks=[], yticks=[])
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / f"dacl_fig3_tsne_{task}{suffix}.png", dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 3.5))
    names = list(abl)
    ax.bar(names, [abl[n] for n in names], color="tab:blue")
    lo = min(abl.values())
    ax.set(ylim=(max(0.5, lo - 0.05), 1.0), ylabel="test AUROC (linear probe)",
           title=f"Fig. 4 - timestep ablation, {task}")
    for i, n in enumerate(names):
        ax.text(i, abl[n] + 0.003, f"{abl[n]:.3f}", ha="center", fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / f"dacl_fig4_ablation_{task}{suffix}.png", dpi=120)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="bundled sample, few epochs")
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--vae-epochs", type=int, default=100)
    ap.add_argument("--latent-dim", type=int, default=32)
    ap.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--tasks", nargs="*", default=["normal_vs_abnormal", "af_vs_rest"])
    ap.add_argument("--no-tune", dest="tune", action="store_false")
    ap.add_argument("--no-minirocket", dest="minirocket", action="store_false")
    ap.add_argument("--no-plots", dest="plots", action="store_false")
    ap.add_argument("--variants", action="store_true", help="also try to beat the paper")
    ap.add_argument("--variants-only", action="store_true")
    ap.add_argument("--out", default="reproduce_dacl", help="JSON name in results/")
    ap.add_argument("--on-pretrained", default=None, metavar="NAME",
                    help="with --keep-features: instead, DACL on the frozen embedding of "
                         "the shipped checkpoint NAME (trained on the README training part "
                         "only, labels unused) in place of the VAE latent, alone and "
                         "beside the ST features (results/reproduce_dacl_pretrained.json)")
    ap.add_argument("--keep-features", action="store_true",
                    help="only make_dacl_pipeline(keep_features=True) against its parts: "
                         "3-fold CV on the training part, then the split (results/"
                         "reproduce_dacl_keep.json unless --out is given)")
    args = ap.parse_args(argv)
    args.variants = args.variants or args.variants_only
    t0 = time.perf_counter()
    archive = None if args.quick else find_archive()
    if archive is None:
        data = load_cinc2017_sample()
        args.epochs, args.vae_epochs = min(args.epochs, 20), min(args.vae_epochs, 30)
        source = "bundled sample (280 records)"
    else:
        data = load_physionet2017(archive, n_jobs=2)
        source = str(archive)
    memory = Memory(Path.home() / ".cache" / "sklearn_biodiff" / "bench", verbose=0)
    t_feat = time.perf_counter()
    ST = ScatteringFeatures(memory=memory).fit_transform(data.signals)
    feat_s = time.perf_counter() - t_feat
    print(f"ST features {ST.shape} in {feat_s:.0f} s", flush=True)
    runner = Runner(ST, data.signals, args)
    if args.on_pretrained:
        from sklearn_biodiff.feature_extraction import DiffAEEmbedder

        t_emb = time.perf_counter()
        emb = DiffAEEmbedder.from_pretrained(args.on_pretrained, fs=float(data.fs))
        runner.pretrained = emb.fit(data.signals[:2]).transform(data.signals)
        print(f"{args.on_pretrained} embedding {runner.pretrained.shape} in "
              f"{time.perf_counter() - t_emb:.0f} s", flush=True)
    report = {"source": source, "machine": machine(), "st_features_seconds": feat_s,
              "settings": {k: v for k, v in vars(args).items()},
              "protocols": {
                  "split": "70/30 stratified split of ../shared/data/README.md "
                           "(random_state=0), seed 0; test scored once per configuration",
                  "cv": f"{args.folds}-fold StratifiedGroupKFold (groups=records) x seeds "
                        f"{args.seeds}; mean and std over all folds",
                  "tuning": "3-fold StratifiedKFold on the split's training part only"},
              "published": {"dacl": 0.7815, "gaussian": 0.6716, "dae": 0.7532,
                            "manifold_aware_dacl_af": 0.9741}}
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.keep_features and args.out == "reproduce_dacl":
        args.out = "reproduce_dacl_pretrained" if args.on_pretrained else "reproduce_dacl_keep"
    for task in args.tasks:
        if args.keep_features:
            run_keep_features(task, runner, data.target, args, report)
        else:
            run_task(task, runner, data.target, args, report)
        report["total_seconds"] = time.perf_counter() - t0
        write_json(args.out + ("_quick" if args.quick else ""), report,
                   seeds=sorted({0, *args.seeds}))


if __name__ == "__main__":
    main()
