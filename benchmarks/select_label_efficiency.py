"""Choose what a small labelled set uses well, on the training part only (issue 35).

For each fraction of labels (1 %, 10 %) and selection seed (``100 ...``, apart from
the benchmark's seeds ``0 ...``) a stratified labelled subset of the README training
part is drawn exactly as in ``bench_label_efficiency.py``; the rest of the training
part is the validation pool (disjoint from the subset; the test part is never read,
not even loaded into the selection). Each candidate (columns of the frozen
``DEFAULT_PRETRAINED`` embedding, a projection fitted on unlabelled records, the
probe's C grid and class weights) fits its probe on the subset (C by 3-fold CV inside
the subset) and is scored on the pool: mean F1 of N, A, O and AF vs rest AUROC. At
100 % (no pool left) the candidate is scored by 3-fold out-of-fold predictions on the
whole training part, as the README protocol's ``cv_train`` figures.

Projections (fitted without labels): ``pca<k>``, PCA with ``k`` components fitted on
the embeddings of every training record (the records the checkpoint was pretrained
on; labels unused); ``subset-pca<k>``, the same fitted on the labelled subset only
(what a plain pipeline would do).

Stage 1: columns x projection with the README probe. Stage 2: the best of stage 1 with
other probes (``_protocol.PROBES``: fixed Cs, a wider or lower C grid,
class_weight="balanced"). Stage ``probe``: the probes that choose C by CV
(``CV_PROBES``) on the readout chosen at 1 %, at 1 %, 3 % (about the demo's labelled
set) and 10 %; ``chosen_probe`` is the best per fraction (ties: the README probe).
A candidate keeps the fractions an earlier run scored and is scored only at the
missing ones. JSON: ``results/select_label_efficiency.json``.

Run: ``OMP_NUM_THREADS=1 python -m benchmarks.select_label_efficiency --threads 1``
(after ``bench_label_efficiency.py`` filled the embedding cache).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import time
import warnings

import numpy as np

from benchmarks import _protocol
from benchmarks._common import RESULTS, write_json
from benchmarks.bench_label_efficiency import (
    CACHE,
    _fingerprint,
    _load_matrices,
    labelled_subset,
    load_split,
)
from sklearn_biodiff.feature_extraction._diffae import READOUTS
from sklearn_biodiff.pretrained import DEFAULT_PRETRAINED, FEW_LABELS_READOUT

SELECTION_SEEDS = {0.01: list(range(100, 110)), 0.03: list(range(100, 105)),
                   0.10: list(range(100, 105))}
PROTOCOL = ("training part only (the test part is not read): labelled subset drawn as "
            "in bench_label_efficiency (seeds 100+, apart from the benchmark's), probe "
            "fitted on it (C by 3-fold CV inside it, or fixed), scored on the rest of "
            "the training part; 100 %: 3-fold out-of-fold on the whole training part; "
            "projections fitted on unlabelled embeddings")


def column_sets(columns: dict) -> dict:
    """Candidate column sets: each readout's (``columns``, from the embedding cache),
    the statistics without ``z``, and ``z`` beside one LRU block's statistics."""
    sets = {r: np.asarray(c) for r, c in columns.items()}
    z = sets["attention"]
    extra = np.setdiff1d(sets["attention+stats+blocks"], sets["attention+stats"])
    frame = np.setdiff1d(sets["attention+stats"], z)
    sets["stats"] = frame
    sets["stats+blocks"] = np.r_[frame, extra]
    per_block = len(frame)
    for k in range(len(extra) // per_block):
        sets[f"attention+block{k}"] = np.r_[z, extra[k * per_block:(k + 1) * per_block]]
    return sets


#: stage 1: each readout with and without a projection; other column sets unprojected
STAGE1_COLUMNS = READOUTS
STAGE1_PROJECTIONS = ("none", "pca16", "pca64", "subset-pca16")
STAGE1_OTHER_COLUMNS = ("stats+blocks", "attention+block0", "attention+block3")
#: two candidates closer than this on the selection score are tied (the narrower wins)
TIE = 0.01


STAGE2_COLUMNS = ("attention", "attention+stats", "attention+stats+blocks",
                  "attention+rhythm")


#: the probes that choose C by CV inside the labelled subset (what a user without a
#: validation set can run), in the order that breaks a tie: the README probe first
CV_PROBES = ("readme", "balanced", "low-C", "wide-C", "balanced wide-C")
#: the fractions at which a probe is chosen for the few-label readout (3 %: about the
#: size of the demo's and the quickstart's labelled sets)
PROBE_FRACTIONS = (0.01, 0.03, 0.10)


def project(Z_all, sub, kind, seed=0):
    """Columns of every training record after an unsupervised projection."""
    from sklearn.decomposition import PCA

    if kind == "none":
        return Z_all
    k = int(kind.split("pca")[1])
    fit_on = Z_all[sub] if kind.startswith("subset") else Z_all
    k = min(k, len(fit_on) - 1, Z_all.shape[1])
    return PCA(k, random_state=seed).fit(fit_on).transform(Z_all)


def pool_scores(pre, Z, y, sub, probe_kw):
    """Fit on ``sub``, score the rest of the training part (``sub`` = all: 3-fold OOF)."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        grid = _protocol.probe_grid(**probe_kw)
        if len(sub) == len(y):
            grid.fit(Z, y)
            classes = list(grid.classes_)
            proba = cross_val_predict(getattr(grid, "best_estimator_", grid), Z, y,
                                      cv=StratifiedKFold(3, shuffle=True, random_state=0),
                                      method="predict_proba")
            pool = np.arange(len(y))
        else:
            grid.fit(Z[sub], y[sub])
            classes = list(grid.classes_)
            pool = np.setdiff1d(np.arange(len(y)), sub)
            proba = grid.predict_proba(Z[pool])
    pred = np.asarray(classes)[proba.argmax(axis=1)]
    s = pre.class_scores(y[pool], pred, proba, classes)
    C = (grid.best_params_ if hasattr(grid, "best_params_") else grid.get_params())[
        "logisticregression__C"]
    return s["mean_f1_NAO"], s["auroc_af_vs_rest"], C


def evaluate(pre, Z_full, y, columns, projection, probe, fractions, log):
    out = {}
    for fraction in fractions:
        seeds = SELECTION_SEEDS.get(fraction, [0])
        f1, af, cs = [], [], []
        for seed in seeds:
            sub = labelled_subset(y, fraction, seed)
            Z = project(Z_full[:, columns], sub, projection)
            a, b, c = pool_scores(pre, Z, y, sub, _protocol.PROBES[probe])
            f1.append(a)
            af.append(b)
            cs.append(c)
        out[f"{fraction:g}"] = {
            "mean_f1_NAO": float(np.mean(f1)), "mean_f1_NAO_sd": float(np.std(f1, ddof=1))
            if len(f1) > 1 else 0.0, "auroc_af_vs_rest": float(np.mean(af)),
            "auroc_af_vs_rest_sd": float(np.std(af, ddof=1)) if len(af) > 1 else 0.0,
            "C_chosen": cs, "seeds": seeds}
    log(out)
    return out


def selection_score(scores: dict) -> float:
    """Pool mean F1 of N, A, O plus pool AF vs rest AUROC (the issue's two targets)."""
    return scores["mean_f1_NAO"] + scores["auroc_af_vs_rest"]


def choose(results: dict, widths: dict | None = None) -> dict:
    """Per fraction, the readout (README probe, no projection) with the best score.

    Readouts within ``TIE`` of the best are tied and the narrowest of them (fewest
    columns, ``widths``; READOUTS' order without) is chosen. Reads only the
    validation-pool scores of the training part.
    """
    order = sorted(READOUTS, key=lambda r: (widths or {}).get(r, 0))
    chosen = {}
    for fraction in ("0.01", "0.1", "1"):
        score = {r: selection_score(results[key]["scores"][fraction])
                 for r in READOUTS
                 if (key := f"{r} | none | readme") in results
                 and fraction in results[key]["scores"]}
        if len(score) < len(READOUTS):
            continue
        best = max(score.values())
        tied = [r for r in order if score[r] >= best - TIE]  # narrowest first
        chosen[fraction] = {"readout": tied[0], "tied": tied, "scores": score}
    return chosen


def choose_probes(results: dict, readout: str) -> dict:
    """Per fraction, the probe of ``CV_PROBES`` that suits ``readout`` best.

    The same score as :func:`choose` on the validation pool of the training part;
    probes within ``TIE`` of the best are tied and the first of ``CV_PROBES`` (the
    README probe before the others) is chosen. Fractions where a probe of
    ``CV_PROBES`` is missing are left out.
    """
    chosen = {}
    for fraction in (f"{f:g}" for f in PROBE_FRACTIONS):
        score = {p: selection_score(results[key]["scores"][fraction]) for p in CV_PROBES
                 if (key := f"{readout} | none | {p}") in results
                 and fraction in results[key]["scores"]}
        if len(score) < len(CV_PROBES):
            continue
        best = max(score.values())
        tied = [p for p in CV_PROBES if score[p] >= best - TIE]
        chosen[fraction] = {"readout": readout, "probe": tied[0], "tied": tied,
                            "settings": dict(_protocol.PROBES[tied[0]]), "scores": score}
    return chosen


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--stage", choices=("1", "2", "probe", "both"), default="both",
                    help="probe: CV_PROBES on the few-label readout at PROBE_FRACTIONS "
                         "(both: 1, 2 and probe)")
    ap.add_argument("--projections", nargs="*", default=list(STAGE1_PROJECTIONS),
                    choices=STAGE1_PROJECTIONS, help="stage 1's projections (default: all)")
    ap.add_argument("--with-full", action="store_true",
                    help="also score each candidate at 100 %% (3-fold OOF; slow)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    pre = _protocol
    # the test part's labels only name the cache file; they and its embeddings are
    # dropped here and never passed on
    source, _, y, _, y_te = load_split(pre, quick=False)
    Z_full, _, meta = _load_matrices(CACHE / f"pretrained_{_fingerprint(y, y_te, False)}.npz",
                                     "seconds")
    del y_te, _
    sets = column_sets(meta["columns"])
    widths = {r: len(sets[r]) for r in READOUTS}
    fractions = [0.01, 0.10] + ([1.0] if args.with_full else [])
    out = RESULTS / "select_label_efficiency.json"
    # candidates already scored (an earlier, interrupted run) are kept, not rerun
    results = json.loads(out.read_text())["candidates"] if out.exists() else {}

    def save():
        chosen = choose(results, widths)
        report = {"chosen": chosen,
                  "chosen_probe": choose_probes(
                      results, chosen.get("0.01", {}).get("readout", FEW_LABELS_READOUT)),
                  "tie": TIE, "source": source,
                  "checkpoint": DEFAULT_PRETRAINED, "n_train": len(y),
                  "selection_seeds": {f"{k:g}": v for k, v in SELECTION_SEEDS.items()},
                  "protocol": PROTOCOL, "candidates": results,
                  "seconds_this_run": time.perf_counter() - t0}
        with contextlib.redirect_stdout(io.StringIO()):
            write_json("select_label_efficiency", report, seeds=sorted(
                {s for v in SELECTION_SEEDS.values() for s in v}))
        return report

    def run(name, cols, proj, probe, fractions=fractions):
        key = f"{name} | {proj} | {probe}"
        entry = results.setdefault(key, {"columns": name, "projection": proj,
                                         "probe": probe, "scores": {}})
        missing = [f for f in fractions if f"{f:g}" not in entry["scores"]]
        if not missing:  # scored by an earlier run: kept, not rerun
            return
        entry["scores"].update(evaluate(
            pre, Z_full, y, sets[cols], proj, probe, missing,
            lambda o: print(key, {k: (round(v["mean_f1_NAO"], 3),
                                      round(v["auroc_af_vs_rest"], 3))
                                  for k, v in o.items()}, flush=True)))
        entry["scores"] = dict(sorted(entry["scores"].items(), key=lambda kv: float(kv[0])))
        save()

    if args.stage in ("2", "both"):
        for cols in STAGE2_COLUMNS:
            for probe in _protocol.PROBES:
                if probe != "readme":
                    run(cols, cols, "none", probe)
    if args.stage in ("1", "both"):
        for cols in STAGE1_COLUMNS:
            for proj in args.projections:
                if proj != "none" and int(proj.split("pca")[1]) >= len(sets[cols]):
                    continue
                run(cols, cols, proj, "readme")
        for cols in STAGE1_OTHER_COLUMNS:
            run(cols, cols, "none", "readme")
    if args.stage in ("probe", "both"):
        readout = choose(results, widths).get("0.01", {}).get("readout",
                                                               FEW_LABELS_READOUT)
        for probe in CV_PROBES:
            run(readout, readout, "none", probe, list(PROBE_FRACTIONS))
    return save()


if __name__ == "__main__":
    main()
