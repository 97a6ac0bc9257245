"""DACL across patients: 10-s windows of CinC 2017, patient-grouped CV (issue 17).

Every record of the PhysioNet/CinC 2017 training set is cut into 10-s windows
(``segment_records``, no overlap; the 16 records shorter than 10 s are zero-padded
to one window); the windows of a record share its label and its group (one record
is one patient on this data set). Protocol:

* ``cv``: ``StratifiedGroupKFold`` (groups = records, stratified on the four labels so
  that both tasks share the folds) over the windows of the README training part only
  (the 70/30 split of ../shared/data/README.md), repeated for each seed (the seed
  shuffles the folds and seeds every model). Mean and std over all folds x seeds.
* ``test``: every configuration trained once (seed 0) on all windows of the training
  part and scored once on the windows of the test records.

Per fold: ``ScatteringFeatures`` of every window (computed once, cached under
``--cache``), a ``StandardScaler`` and a ``VAELatent`` fitted on the fold's training
windows (all four labels; no label used), then each embedder on the latents and a
linear probe (``StandardScaler -> LogisticRegression``, C=1; C=0.01 on the ST
features, as in ``reproduce_dacl.py``) on the frozen embedding; AUROC over test
windows (and over test records, mean window probability per record, in the JSON).
The label-free embedders (denoising AE, ``objective="patient"``) are fitted once per
fold on all training windows and probed for each task; the others per task on the
task's windows. ``input_skip="concat"`` appends the input (the VAE latent) to a
trained embedding at ``transform``: its rows are computed from the same fit as the
configuration it extends (checked against ``DACLEmbedder(input_skip="concat")`` on the
first fold).

Defaults are chosen by the CV only (``decision`` in the JSON): a DACLEmbedder option
(patient-aware, mining or ``input_skip``) replaces the paper setting if it beats it by
more than one fold std (the larger of the two configurations' stds) on both tasks.

    nice -n 19 python -m benchmarks.bench_dacl_patients --threads 1   # full archive
    python -m benchmarks.bench_dacl_patients --quick         # bundled sample, minutes

A killed run keeps its finished folds (``folds_*.json`` next to the ST cache of
``--cache``) and resumes from them when started again with the same settings.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from benchmarks._common import RESULTS, find_archive, readme_split, write_json
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
from sklearn_biodiff.model_selection import patient_roc_auc_score
from sklearn_biodiff.preprocessing import FixedLength, segment_records

TASKS = ("normal_vs_abnormal", "af_vs_rest")
#: embedders trained per task on the task's labels (DACLEmbedder parameters)
SUPERVISED = {
    "dacl_paper": {},
    "dacl_supcon_other_patient": {"objective": "supcon", "positive": "other_patient"},
    "dacl_other_patient": {"positive": "other_patient"},
    "dacl_semihard": {"negative_mining": "semihard"},
    "dacl_residual": {"input_skip": "residual"},
    "gaussian": {"augmentation": "gaussian", "noise_std": 0.1},
}
#: trained without labels, once per fold for both tasks
UNSUPERVISED = ("dacl_patient", "dae")
#: input_skip="concat" on top of a trained configuration (same fit)
CONCAT = {"dacl_concat": "dacl_paper",
          "dacl_supcon_other_patient_concat": "dacl_supcon_other_patient",
          "dacl_patient_concat": "dacl_patient"}
#: the fold's scaled ST features beside a trained configuration's embedding (same fit),
#: probed at the ST probe's C: ``make_dacl_pipeline(keep_features=True)``
KEEP = {"dacl_paper_keep": "dacl_paper",
        "dacl_supcon_other_patient_keep": "dacl_supcon_other_patient"}
#: the DACLEmbedder options that may become its defaults (the baselines may not)
CANDIDATES = ("dacl_supcon_other_patient", "dacl_other_patient", "dacl_patient",
              "dacl_supcon_other_patient_concat", "dacl_patient_concat", "dacl_semihard",
              "dacl_residual", "dacl_concat")
DESCRIPTIONS = {
    "st_features": "probe on the ScatteringFeatures (C=0.01)",
    "vae_mu": "probe on the VAE latent (the input of every embedder)",
    "dacl_paper": "DACLEmbedder defaults: triplet, positive='view', random negatives "
                  "(the paper's setting)",
    "dacl_supcon_other_patient": "objective='supcon', positive='other_patient', groups",
    "dacl_other_patient": "triplet, positive='other_patient', groups",
    "dacl_semihard": "triplet, negative_mining='semihard'",
    "dacl_residual": "paper setting + input_skip='residual'",
    "dacl_concat": "paper setting + input_skip='concat'",
    "dacl_supcon_other_patient_concat": "supcon + other_patient + input_skip='concat'",
    "dacl_patient": "objective='patient' (CLOCS-style, no labels), groups",
    "dacl_patient_concat": "objective='patient' + input_skip='concat'",
    "dacl_paper_keep": "paper setting, its embedding beside the scaled ST features "
                       "(make_dacl_pipeline(keep_features=True)); probe C=0.01",
    "dacl_supcon_other_patient_keep": "supcon + other_patient beside the scaled ST "
                                      "features; probe C=0.01",
    "gaussian": "contrastive + Gaussian views (augmentation='gaussian', noise_std=0.1)",
    "dae": "DenoisingAEEmbedder (no labels)",
    "diffae_frozen": "DiffAEEmbedder.from_pretrained(DEFAULT_PRETRAINED, readout="
                     "DEFAULT_READOUT) on the raw windows, frozen, probe C=1; no training "
                     "here, but the checkpoint was pretrained without labels on the README "
                     "training part's records, whose windows the CV folds hold out (the CV "
                     "cells favour it; the test part's records it never saw)",
    "diffae_fine_tuned": "DiffAEEmbedder(pretrained=DEFAULT_PRETRAINED, readout="
                         "DEFAULT_READOUT, random_state=seed).fit(records, labels): the "
                         "package's label-aware fine-tuning (its defaults) on the whole "
                         "records whose windows are the fold's training windows, with their "
                         "4 labels (one fit per fold for both tasks; records shorter than the "
                         "crop left out of the fit), then frozen on the windows, probe C=1",
}
#: configurations on the raw windows instead of the VAE latent (their features are
#: computed once for every window and cached, like the ST features)
RAW = ("diffae_frozen",)
#: configurations fine-tuned per fold on the whole records of the fold's training
#: windows (their window embeddings cached per fold)
FINE_TUNED = ("diffae_fine_tuned",)


def probe(F_tr, y_tr, F_te, C=1.0):
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=3000))
    clf.fit(F_tr, y_tr)
    return clf.predict_proba(F_te)[:, 1]


def windows_of(data, window):
    """Windows, their 4-class labels and records (padded records listed)."""
    short = [i for i, s in enumerate(data.signals) if len(s) < window]
    pad = FixedLength(window)
    padded = set(short)
    signals = [pad.fit_transform([s])[0] if i in padded else s
               for i, s in enumerate(data.signals)]
    W, y4, rec = segment_records(signals, window, y=np.asarray(data.target),
                                 groups=np.arange(len(signals)))
    return W, y4, rec, short


def _cached_matrix(name: str, key: list, cache: Path, compute):
    """``(F, cpu_seconds, path)``: ``compute()`` once, then from ``<name>_<hash>.npy``
    under ``cache`` (``cpu_seconds`` is 0 when read from the cache)."""
    digest = hashlib.sha1(json.dumps(key, default=str).encode()).hexdigest()[:16]
    path = cache / f"{name}_{digest}.npy"
    if path.exists():
        return np.load(path), 0.0, str(path)
    cache.mkdir(parents=True, exist_ok=True)
    t0 = time.process_time()
    F = compute()
    seconds = time.process_time() - t0
    np.save(path, F)
    return F, seconds, str(path)


def cached_features(W, key_parts, cache: Path):
    """``ScatteringFeatures()`` of every window, computed once (``.npy`` cache)."""
    st = ScatteringFeatures(n_jobs=1)
    return _cached_matrix("st_windows", [*key_parts, W.shape, repr(sorted(
        st.get_params().items()))], cache, lambda: st.fit_transform(W))


def cached_diffae_features(W, key_parts, cache: Path, threads: int = 1):
    """The frozen ``DEFAULT_PRETRAINED`` embedding (``DEFAULT_READOUT``) of every window,
    computed once (``.npy`` cache keyed by the windows, checkpoint and readout)."""
    from sklearn_biodiff.feature_extraction import DiffAEEmbedder
    from sklearn_biodiff.pretrained import DEFAULT_PRETRAINED, DEFAULT_READOUT

    def compute():
        return DiffAEEmbedder.from_pretrained(DEFAULT_PRETRAINED, readout=DEFAULT_READOUT,
                                              n_threads=threads).fit(W[:2]).transform(W)

    return _cached_matrix("diffae_windows", [*key_parts, W.shape, DEFAULT_PRETRAINED,
                                             DEFAULT_READOUT], cache, compute)


#: ``--quick`` (the bundled sample): short crops, two epochs, like bench_label_efficiency
QUICK_FINE_TUNING = {"snippet_seconds": 2.0, "max_epochs": 2, "batch_size": 8}


def fine_tuned_features(records, y_records, W, rec, tr, te, seed, key_parts, cache: Path,
                        threads: int = 1, quick: bool = False):
    """``(F_tr, F_te, cpu_seconds)``: the windows ``W[tr]``, ``W[te]`` embedded by
    ``DEFAULT_PRETRAINED`` fine-tuned (the package's defaults, ``DEFAULT_READOUT``) on the
    whole ``records`` of the training windows' records ``rec[tr]``, seeded by ``seed``;
    cached per fold (``.npy`` keyed by the windows, the split, the seed and the recipe).
    """
    from sklearn_biodiff.feature_extraction import DiffAEEmbedder
    from sklearn_biodiff.feature_extraction._diffae import FINE_TUNING_SETTINGS
    from sklearn_biodiff.pretrained import DEFAULT_PRETRAINED, DEFAULT_READOUT

    emb = DiffAEEmbedder(pretrained=DEFAULT_PRETRAINED, readout=DEFAULT_READOUT,
                         random_state=seed, n_threads=threads,
                         **(QUICK_FINE_TUNING if quick else {}))
    recipe = {k: v for k, v in emb.get_params().items() if k != "n_threads"}
    split = hashlib.sha1(np.r_[tr, -1, te].astype(np.int64).tobytes()).hexdigest()

    def compute():
        ids = np.unique(rec[tr])
        keep = [r for r in ids if len(records[r]) >= emb._snippet_length()]
        emb.fit([records[r] for r in keep], np.asarray(y_records)[keep])
        return emb.transform(W[np.r_[tr, te]])

    F, seconds, _ = _cached_matrix("diffae_fine_tuned", [
        *key_parts, W.shape, split, seed, DEFAULT_PRETRAINED, repr(sorted(recipe.items())),
        FINE_TUNING_SETTINGS], cache, compute)
    return F[: len(tr)], F[len(tr):], seconds


class Fold:
    """Every configuration on one (train windows, test windows) split.

    ``raw``: ``{config: features of every window}`` for the configurations of ``RAW``.
    """

    def __init__(self, ST, y4, rec, args, configs, raw=None, fine_tune=None):
        self.ST, self.y4, self.rec, self.args, self.configs = ST, y4, rec, args, configs
        self.raw = raw or {}
        # (tr, te, seed) -> (F_tr, F_te, cpu seconds) for the FINE_TUNED configurations
        self.fine_tune = fine_tune

    def dacl(self, Z, y, seed, groups=None, **params):
        p = {"max_epochs": self.args.epochs, "batch_size": 128, "lr": 1e-3,
             "random_state": seed, "n_threads": self.args.threads, **params}
        return DACLEmbedder(**p).fit(Z, y, groups=groups)

    def run(self, tr, te, seed, check_concat=False):
        """``{task: {config: {"window": auroc, "record": auroc}}}``."""
        args, ST, y4, rec = self.args, self.ST, self.y4, self.rec
        scaler = StandardScaler().fit(ST[tr])
        vae = VAELatent(latent_dim=args.latent_dim, max_epochs=args.vae_epochs,
                        random_state=seed, n_threads=args.threads).fit(
                            scaler.transform(ST[tr]))
        Z_tr, Z_te = (vae.transform(scaler.transform(ST[i])) for i in (tr, te))
        emb = {}  # config -> (train embedding, test embedding) on the fold's rows
        if "dae" in self.configs:
            dae = DenoisingAEEmbedder(max_epochs=args.epochs, batch_size=128,
                                      random_state=seed, n_threads=args.threads).fit(Z_tr)
            emb["dae"] = (dae.transform(Z_tr), dae.transform(Z_te))
        if "dacl_patient" in self.configs:
            d = self.dacl(Z_tr, y4[tr], seed, groups=rec[tr], objective="patient")
            emb["dacl_patient"] = (d.transform(Z_tr), d.transform(Z_te))
        fine = {}  # FINE_TUNED config -> (its window embeddings on tr, on te)
        if "diffae_fine_tuned" in self.configs:
            fine["diffae_fine_tuned"] = self.fine_tune(tr, te, seed)[:2]
        out = {}
        for task in TASKS:
            i_tr, yt_tr = binary_task(y4[tr], task)
            i_te, yt_te = binary_task(y4[te], task)
            g_te = rec[te][i_te]
            scores = {}

            def add(name, score, yt_te=yt_te, g_te=g_te, scores=scores):
                scores[name] = {
                    "window": float(roc_auc_score(yt_te, score)),
                    "record": float(patient_roc_auc_score(yt_te, score, groups=g_te))}

            add("st_features", probe(ST[tr][i_tr], yt_tr, ST[te][i_te], C=0.01))
            for name, F in self.raw.items():
                add(name, probe(F[tr][i_tr], yt_tr, F[te][i_te]))
            for name, (F_tr, F_te) in fine.items():
                add(name, probe(F_tr[i_tr], yt_tr, F_te[i_te]))
            zt, ze = Z_tr[i_tr], Z_te[i_te]
            add("vae_mu", probe(zt, yt_tr, ze))
            task_emb = {k: (a[i_tr], b[i_te]) for k, (a, b) in emb.items()}
            for name, params in SUPERVISED.items():
                if name not in self.configs:
                    continue
                groups = rec[tr][i_tr] if "positive" in params else None
                d = self.dacl(zt, yt_tr, seed, groups=groups, **params)
                task_emb[name] = (d.transform(zt), d.transform(ze))
                if check_concat and name == "dacl_paper":
                    c = self.dacl(zt, yt_tr, seed, input_skip="concat")
                    np.testing.assert_allclose(c.transform(ze), np.c_[task_emb[name][1], ze],
                                               rtol=1e-5, atol=1e-5)
            for name, base in CONCAT.items():
                if name in self.configs and base in task_emb:
                    a, b = task_emb[base]
                    task_emb[name] = (np.c_[a, zt], np.c_[b, ze])
            for name, (a, b) in task_emb.items():
                add(name, probe(a, yt_tr, b))
            for name, base in KEEP.items():
                if name in self.configs and base in task_emb:
                    a, b = task_emb[base]
                    f_tr, f_te = (scaler.transform(ST[i])[j] for i, j in ((tr, i_tr),
                                                                          (te, i_te)))
                    add(name, probe(np.c_[f_tr, a], yt_tr, np.c_[f_te, b], C=0.01))
            out[task] = scores
            print(task, seed, json.dumps({k: round(v["window"], 4) for k, v in scores.items()}),
                  flush=True)
        return out


class Checkpoint:
    """Finished folds of a run, one JSON file per set of settings under ``cache``.

    A fold run with more configurations serves a run with fewer (every model of a fold
    is seeded on its own, so a configuration's scores do not depend on the others).
    """

    def __init__(self, cache: Path, key_parts: list, configs, resume: bool = True):
        key = hashlib.sha1(json.dumps(key_parts, default=str).encode()).hexdigest()[:16]
        self.path = cache / f"folds_{key}.json"
        self.configs = {"st_features", "vae_mu", *configs}
        self.done = (json.loads(self.path.read_text())
                     if resume and self.path.exists() else {})

    def get(self, name: str):
        value = self.done.get(name)
        if value is None or not all(self.configs <= set(v) for v in value["scores"].values()):
            return None
        return {**value, "scores": {t: {k: v for k, v in cells.items() if k in self.configs}
                                    for t, cells in value["scores"].items()}}

    def put(self, name: str, value) -> None:
        self.done[name] = value
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.done, default=float))
        tmp.replace(self.path)


def summarise(folds: list[dict]) -> dict:
    """Per task and configuration: fold scores, mean and std (window and record)."""
    out = {}
    for task in TASKS:
        out[task] = {}
        for name in folds[0][task]:
            cell = {}
            for level in ("window", "record"):
                v = [f[task][name][level] for f in folds]
                cell[level] = {"folds": v, "mean": float(np.mean(v)), "std": float(np.std(v)),
                               "n": len(v)}
            out[task][name] = cell
    return out


def compare(cv: dict) -> dict:
    """Ratios to the ST probe and the paper setting, paired fold differences."""
    out = {}
    for task, cells in cv.items():
        st, paper = cells["st_features"]["window"], cells.get("dacl_paper", {}).get("window")
        out[task] = {}
        for name, cell in cells.items():
            w = cell["window"]
            row = {"ratio_vs_st": w["mean"] / st["mean"],
                   "diff_vs_st": w["mean"] - st["mean"],
                   "paired_diff_vs_st_std": float(np.std(np.subtract(w["folds"], st["folds"])))}
            if paper is not None:
                diffs = np.subtract(w["folds"], paper["folds"])
                row.update({"ratio_vs_paper": w["mean"] / paper["mean"],
                            "diff_vs_paper": float(diffs.mean()),
                            "paired_diff_vs_paper_std": float(np.std(diffs)),
                            "wins_vs_paper": int((diffs > 0).sum()),
                            "beats_paper_by_more_than_fold_std": bool(
                                diffs.mean() > max(w["std"], paper["std"]))})
            out[task][name] = row
    return out


#: largest difference allowed between two runs' scores of one cell (a rerun of a seeded,
#: one-thread fit on the same machine type reproduces it; more means the runs differ)
MERGE_TOLERANCE = 1e-6


def merge_runs(old: dict, new: dict) -> dict:
    """``old`` with ``new``'s configurations added (CV folds and test), re-decided.

    Both runs must share the fold settings, and every cell both computed (the ST
    probe, the VAE latent, shared configurations) must agree within
    ``MERGE_TOLERANCE``: then the added rows are what one run with all
    configurations would have given.
    """
    for key in ("epochs", "vae_epochs", "latent_dim", "folds", "seeds", "threads"):
        if old["settings"][key] != new["settings"][key]:
            raise SystemExit(f"cannot merge: {key} is {new['settings'][key]} here and "
                             f"{old['settings'][key]} in the earlier run")
    worst = 0.0
    for part in ("cv", "test"):
        for task in TASKS:
            for name in set(old[part][task]) & set(new[part][task]):
                a, b = old[part][task][name], new[part][task][name]
                if part == "cv":
                    pairs = zip(a["window"]["folds"] + a["record"]["folds"],
                                b["window"]["folds"] + b["record"]["folds"])
                else:
                    pairs = ((a["window"], b["window"]), (a["record"], b["record"]))
                worst = max([worst, *(abs(x - y) for x, y in pairs)])
    if worst > MERGE_TOLERANCE:
        raise SystemExit(f"cannot merge: the cells both runs computed differ by up to "
                         f"{worst:.2g} (> {MERGE_TOLERANCE:g}); rerun every configuration")
    added = [c for c in new["settings"]["configs"] if c not in old["settings"]["configs"]]
    merged = {**old}
    merged["settings"] = {**old["settings"],
                          "configs": old["settings"]["configs"] + added}
    merged["descriptions"] = {**old["descriptions"],
                              **{c: new["descriptions"][c] for c in added}}
    for part in ("cv", "test"):
        merged[part] = {t: {**old[part][t], **{c: new[part][t][c] for c in added}}
                        for t in TASKS}
    merged["comparisons"] = compare(merged["cv"])
    merged["decision"] = decide(merged["comparisons"])
    merged["merged_runs"] = [*old.get("merged_runs", []), {
        "configs": added, "max_abs_diff_of_shared_cells": worst,
        "earlier_run": old["run"], "cpu_seconds": new["cpu_seconds"],
        "note": new["protocol"]["note"]}]
    return merged


def decide(comparisons: dict) -> dict:
    """The CV-only rule for the defaults (see the module docstring)."""
    winners = [name for name in CANDIDATES
               if all(comparisons[t].get(name, {}).get("beats_paper_by_more_than_fold_std")
                      for t in TASKS)]
    best = max(winners, key=lambda n: min(comparisons[t][n]["diff_vs_paper"] for t in TASKS),
               default=None)
    return {"rule": "a DACLEmbedder option (patient-aware, mining or input_skip) beats the "
                    "paper setting by more than one fold std (the larger of the two) on "
                    "both tasks (window AUROC, CV)",
            "candidates": list(CANDIDATES),
            "winners": winners, "new_default": best,
            "keep_paper_defaults": best is None}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="bundled sample, few epochs")
    ap.add_argument("--epochs", type=int, default=15, help="DACL and DAE epochs")
    ap.add_argument("--vae-epochs", type=int, default=50)
    ap.add_argument("--latent-dim", type=int, default=32)
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--seeds", type=int, nargs="*", default=[0, 1])
    ap.add_argument("--configs", nargs="*",
                    default=[*SUPERVISED, *UNSUPERVISED, *CONCAT, *KEEP, *RAW, *FINE_TUNED])
    ap.add_argument("--merge-into", default=None,
                    help="add this run's configurations to results/<NAME>.json of an earlier "
                         "run with the same settings; the cells both runs computed must "
                         "agree (else nothing is written)")
    ap.add_argument("--no-test", dest="test", action="store_false")
    ap.add_argument("--cache", default="/tmp/sklearn_biodiff_bench/dacl_patients")
    ap.add_argument("--out", default="bench_dacl_patients")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (and n_threads of every model)")
    ap.add_argument("--note", default=None,
                    help="why the run deviates from the defaults (stored in the protocol)")
    ap.add_argument("--no-resume", dest="resume", action="store_false",
                    help="ignore the folds of an interrupted run with the same settings")
    args = ap.parse_args(argv)
    defaults = vars(ap.parse_args([]))
    torch.set_num_threads(args.threads)
    cpu0 = time.process_time()
    archive = None if args.quick else find_archive()
    if archive is None:
        data = load_cinc2017_sample()
        args.epochs, args.vae_epochs, args.folds = min(args.epochs, 3), min(args.vae_epochs,
                                                                             10), 2
        source = "bundled sample (280 records)"
    else:
        data = load_physionet2017(archive, n_jobs=1)
        source = str(archive)
    window = int(10 * data.fs)
    W, y4, rec, short = windows_of(data, window)
    ST, st_cpu, st_cache = cached_features(
        W, [source, list(map(str, data.record_ids)), window], Path(args.cache))
    print(f"{len(W)} windows, ST {ST.shape} ({st_cpu:.0f} CPU s, cache {st_cache})", flush=True)
    tr_rec, te_rec = readme_split(np.asarray(data.target))
    train = np.flatnonzero(np.isin(rec, tr_rec))
    test = np.flatnonzero(np.isin(rec, te_rec))
    raw, raw_cpu = {}, {}
    if "diffae_frozen" in args.configs:
        raw["diffae_frozen"], raw_cpu["diffae_frozen"], path = cached_diffae_features(
            W, [source, list(map(str, data.record_ids)), window], Path(args.cache),
            args.threads)
        print(f"DiffAE {raw['diffae_frozen'].shape} ({raw_cpu['diffae_frozen']:.0f} CPU s, "
              f"cache {path})", flush=True)
    def fine_tune(tr, te, seed):
        return fine_tuned_features(data.signals, data.target, W, rec, tr, te, seed,
                                   [source, list(map(str, data.record_ids)), window],
                                   Path(args.cache), args.threads, args.quick)

    runner = Fold(ST, y4, rec, args, set(args.configs), raw, fine_tune)
    # every finished fold is saved next to the ST cache, so that a killed run resumes
    checkpoint = Checkpoint(Path(args.cache), [
        st_cache, args.epochs, args.vae_epochs, args.latent_dim, args.folds],
        args.configs, resume=args.resume)

    folds, fold_meta = [], []
    for seed in args.seeds:
        sgkf = StratifiedGroupKFold(args.folds, shuffle=True, random_state=seed)
        for k, (a, b) in enumerate(sgkf.split(train, y4[train], groups=rec[train])):
            done = checkpoint.get(f"cv/{seed}/{k}")
            if done is None:
                t0 = time.process_time()
                scores = runner.run(train[a], train[b], seed,
                                    check_concat=not folds and "dacl_paper" in args.configs)
                meta = {"seed": seed, "fold": k, "n_train_windows": len(a),
                        "n_test_windows": len(b), "cpu_seconds": time.process_time() - t0,
                        "resumed": False}
                checkpoint.put(f"cv/{seed}/{k}", {"scores": scores, "meta": meta})
            else:
                scores, meta = done["scores"], {**done["meta"], "resumed": True}
            folds.append(scores)
            fold_meta.append(meta)
            print(f"seed {seed} fold {k}: {meta['cpu_seconds']:.0f} CPU s"
                  + (" (resumed)" if meta["resumed"] else ""), flush=True)
    cv_cpu = sum(m["cpu_seconds"] for m in fold_meta)
    cv = summarise(folds)
    comparisons = compare(cv)
    decision = decide(comparisons)
    print("decision", json.dumps(decision), flush=True)

    report = {
        "source": source,
        "protocol": {
            "windows": f"{window // int(data.fs)}-s windows, no overlap (segment_records); "
                       "records shorter than one window zero-padded (FixedLength, centre)",
            "cv": f"{args.folds}-fold StratifiedGroupKFold (groups = records, stratified on "
                  f"the 4 labels, shuffle, random_state = seed) over the windows of the README "
                  f"training part only, seeds {args.seeds}; mean and std over all "
                  f"{len(folds)} folds",
            "test": "README 70/30 split: trained once (seed 0) on all training windows, "
                    "test windows scored once per configuration",
            "probe": "frozen embedding -> StandardScaler -> LogisticRegression(C=1; C=0.01 "
                     "on ST features), AUROC over windows; 'record' = mean window "
                     "probability per record",
            "training": f"VAELatent(latent_dim={args.latent_dim}, max_epochs="
                        f"{args.vae_epochs}) on the fold's training windows; every DACL "
                        f"variant max_epochs={args.epochs}, batch_size=128, lr=1e-3, "
                        "other parameters at their defaults; DAE the same epochs and batch",
            "threads": f"torch threads = n_threads = {args.threads}",
            "reductions": {k: {"default": defaults[k], "used": getattr(args, k)}
                           for k in ("seeds", "configs", "folds", "epochs", "vae_epochs")
                           if getattr(args, k) != defaults[k]},
            "note": args.note,
        },
        "settings": {k: v for k, v in vars(args).items()},
        "descriptions": {k: DESCRIPTIONS[k] for k in ("st_features", "vae_mu", *args.configs)},
        "data": {"n_records": len(data.signals), "n_windows": len(W),
                 "n_padded_records": len(short), "n_train_records": len(tr_rec),
                 "n_test_records": len(te_rec), "n_train_windows": len(train),
                 "n_test_windows": len(test)},
        "folds": fold_meta,
        "cv": cv,
        "comparisons": comparisons,
        "decision": decision,
        "cpu_seconds": {"st_features": st_cpu, **raw_cpu, "cv": cv_cpu,
                        "resumed_folds": sum(m["resumed"] for m in fold_meta)},
    }
    fresh = sum(m["cpu_seconds"] for m in fold_meta if not m["resumed"])
    if args.test:
        done = checkpoint.get("test")
        if done is None:
            cpu_test = time.process_time()
            done = {"scores": runner.run(train, test, 0),
                    "cpu_seconds": time.process_time() - cpu_test}
            checkpoint.put("test", done)
            fresh += done["cpu_seconds"]
        report["test"] = done["scores"]
        report["cpu_seconds"]["test"] = done["cpu_seconds"]
        for task in TASKS:
            _, yt = binary_task(y4[test], task)
            report["data"][f"{task}_test_windows"] = len(yt)
            report["data"][f"{task}_test_positive_windows"] = int(yt.sum())
    # the folds and test of an interrupted run count with the CPU time they took then;
    # the ST features count only when computed by this process (0 from the cache)
    this_process = time.process_time() - cpu0
    report["cpu_seconds"]["this_process"] = this_process
    report["cpu_seconds"]["total"] = (cv_cpu + report["cpu_seconds"].get("test", 0.0)
                                      + this_process - fresh)
    out = (args.merge_into or args.out) + ("_quick" if args.quick else "")
    if args.merge_into:
        report = merge_runs(json.loads((RESULTS / f"{out}.json").read_text()), report)
    write_json(out, report, seeds=sorted({0, *args.seeds}))


if __name__ == "__main__":
    main()
