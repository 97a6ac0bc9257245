"""Few labels on new patients: the encoder fine-tuned on other patients' labels, frozen,
against the self-supervised checkpoint and ScatteringFeatures (issue 31, item 6).

Whether a fine-tuned encoder is worth shipping: a user with a few labelled records of
new patients embeds them with a frozen encoder and fits a probe. Each part below holds
out patients no encoder saw (one record per patient on CinC 2017); per seed ``s`` the
held-out records are split in half (stratified, ``random_state=s``): a labelled pool
and an evaluation half; ``n`` labels are drawn from the pool (stratified,
``random_state=100 + s``), the probe is fitted on them and the evaluation half is
scored (mean F1 of N, A, O; 4-class macro F1; AF vs rest and normal vs abnormal
AUROC). Rows, all with ``DEFAULT_READOUT``:

* ``scattering``: ``ScatteringFeatures()`` (training-free);
* ``frozen``: ``DEFAULT_PRETRAINED`` (self-supervised, no labels);
* ``fine_tuned``: the same checkpoint fine-tuned with labels by the package's default
  recipe, on records other than the held-out ones.

Parts:

* ``cv``: the 3-fold stratified split (seed 0) of the README training part that
  ``scripts/finetune_diffae.py --fold k`` uses; for fold ``k`` the fine-tuned encoder is
  that script's fold-``k`` state of the default recipe
  (``pretraining/finetune_<DEFAULT_RUN>-fold<k>.state``, fine-tuned on the two other
  folds) and the new patients are fold ``k``. Selection-level evidence: the test part
  is not read.
* ``test``: the README test part (2,559 records no encoder trained on) with the
  shipped ``FINE_TUNED_PRETRAINED`` checkpoint (fine-tuned on the README training
  part's labels), scored once per row, ``n`` and seed.

The probe per ``n`` is the one ``select_label_efficiency`` chose for about that many
labels on the training part (``N_LABELS``): ``class_weight="balanced"`` for tens of
labels, the README probe from a few hundred on; C by 3-fold CV inside the labelled set.

JSON: ``results/bench_new_patients.json``.
Run: ``OMP_NUM_THREADS=1 python -m benchmarks.bench_new_patients [--parts cv test]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import StratifiedKFold, train_test_split

from benchmarks._common import earlier_parts, write_json
from benchmarks._protocol import DEFAULT_RUN, PROBES, class_scores, load_data, probe_grid
from sklearn_biodiff.feature_extraction import DiffAEEmbedder, ScatteringFeatures
from sklearn_biodiff.pretrained import (
    DEFAULT_PRETRAINED,
    DEFAULT_READOUT,
    FINE_TUNED_PRETRAINED,
)

REPO = Path(__file__).resolve().parents[1]
#: labels drawn per seed -> the probe ``select_label_efficiency`` chose for about that
#: many (1 % of the README training part is 59 labels, 3 % is 179)
N_LABELS = {60: "balanced", 200: "readme"}
SEEDS = tuple(range(5))


def _embed(encoders: dict, X: list) -> tuple[dict, dict]:
    """``{row: (n_records, n_features)}`` and ``{row: CPU seconds}`` of its transform."""
    out, seconds = {}, {}
    for name, enc in encoders.items():
        t0 = time.process_time()
        out[name] = np.asarray(enc.transform(X), dtype=np.float64)
        seconds[name] = time.process_time() - t0
    return out, seconds


def few_label_scores(E: dict, y: np.ndarray, seeds=SEEDS, n_labels=N_LABELS) -> dict:
    """``{n: {row: [scores per seed]}}`` of the few-label protocol on one set of new
    patients (``E``: row -> embedding of every held-out record, ``y`` their labels)."""
    out = {n: {row: [] for row in E} for n in n_labels}
    for seed in seeds:
        pool, ev = train_test_split(np.arange(len(y)), test_size=0.5, stratify=y,
                                    random_state=seed)
        for n, probe in n_labels.items():
            lab, _ = train_test_split(pool, train_size=n, stratify=y[pool],
                                      random_state=100 + seed)
            for row, F in E.items():
                clf = probe_grid(**PROBES[probe]).fit(F[lab], y[lab])
                out[n][row].append(class_scores(y[ev], clf.predict(F[ev]),
                                                clf.predict_proba(F[ev]),
                                                list(clf.classes_)))
    return out


def summarise(per_seed: dict) -> dict:
    """Mean, sample sd and the values over seeds, per ``n``, row and metric; and the
    fine-tuned row's paired differences from the frozen one."""
    out = {}
    for n, rows in per_seed.items():
        cell = {}
        for row, runs in rows.items():
            cell[row] = {m: {"mean": float(np.mean([r[m] for r in runs])),
                             "sd": float(np.std([r[m] for r in runs], ddof=1)),
                             "values": [r[m] for r in runs]} for m in runs[0]}
        if {"fine_tuned", "frozen"} <= set(rows):
            cell["fine_tuned_minus_frozen"] = {
                m: {"mean": float(np.mean(d)), "sd": float(np.std(d, ddof=1))}
                for m in rows["frozen"][0]
                for d in [np.subtract([r[m] for r in rows["fine_tuned"]],
                                      [r[m] for r in rows["frozen"]])]}
        out[str(n)] = cell
    return out


def _frozen(name_or_path, X_fit, threads: int):
    return DiffAEEmbedder.from_pretrained(name_or_path, readout=DEFAULT_READOUT,
                                          n_threads=threads).fit(X_fit[:2])


def cv_part(X_tr, y_tr, states: Path, threads: int, seeds=SEEDS) -> dict:
    """The ``cv`` part: each fold of the training part as new patients."""
    from sklearn_biodiff.utils import load

    folds, cpu = [], {}
    frozen = _frozen(DEFAULT_PRETRAINED, X_tr, threads)
    per_seed = None
    splits = StratifiedKFold(3, shuffle=True, random_state=0).split(X_tr, y_tr)
    for k, (_, held) in enumerate(splits):
        path = states / f"finetune_{DEFAULT_RUN}-fold{k}.state"
        if not path.is_file():
            raise SystemExit(f"{path} is missing: run `python -m scripts.finetune_diffae "
                             f"--name {DEFAULT_RUN} --fold {k} ...` first (the recipe of "
                             "the fine-tuning page's default row)")
        run = load(path)
        tuned = run["emb"].set_params(readout=DEFAULT_READOUT, n_threads=threads)
        X_new = [X_tr[i] for i in held]
        E, seconds = _embed({"scattering": ScatteringFeatures(n_jobs=1).fit(X_new[:2]),
                             "frozen": frozen, "fine_tuned": tuned}, X_new)
        for row, s in seconds.items():
            cpu[row] = cpu.get(row, 0.0) + s
        scores = few_label_scores(E, y_tr[held], seeds)
        per_seed = scores if per_seed is None else {
            n: {row: per_seed[n][row] + scores[n][row] for row in scores[n]} for n in scores}
        folds.append({"fold": k, "n_new_patients": len(held), "state": path.name,
                      "fine_tuned_epochs": run["epochs_done"]})
        print(f"fold {k} done", flush=True)
    return {"folds": folds, "n_runs_per_cell": len(folds) * len(seeds),
            "scores": summarise(per_seed), "transform_cpu_seconds": cpu}


def test_part(X_te, y_te, fine_tuned: str, threads: int, seeds=SEEDS) -> dict:
    """The ``test`` part: the README test part as new patients, the shipped
    fine-tuned checkpoint."""
    E, seconds = _embed({"scattering": ScatteringFeatures(n_jobs=1).fit(X_te[:2]),
                         "frozen": _frozen(DEFAULT_PRETRAINED, X_te, threads),
                         "fine_tuned": _frozen(fine_tuned, X_te, threads)}, X_te)
    return {"n_new_patients": len(y_te), "fine_tuned_checkpoint": str(fine_tuned),
            "n_runs_per_cell": len(seeds),
            "scores": summarise(few_label_scores(E, y_te, seeds)),
            "transform_cpu_seconds": seconds}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parts", nargs="*", choices=["cv", "test"], default=["cv", "test"])
    ap.add_argument("--states", type=Path, default=REPO / "pretraining",
                    help="where scripts/finetune_diffae.py wrote the fold states")
    ap.add_argument("--fine-tuned", default=FINE_TUNED_PRETRAINED,
                    help="the fine-tuned checkpoint of the test part (name or folder)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    source, X_tr, y_tr, X_te, y_te = load_data(False)
    report = {"source": source, "readout": DEFAULT_READOUT,
              "checkpoint": DEFAULT_PRETRAINED, "default_run": DEFAULT_RUN,
              "n_labels": {str(n): p for n, p in N_LABELS.items()}, "seeds": list(SEEDS),
              "protocol": {
                  "split": "per seed s: the new patients' records halved (stratified, "
                           "random_state=s) into a labelled pool and an evaluation half; n "
                           "labels drawn from the pool (stratified, random_state=100+s)",
                  "probe": "StandardScaler + LogisticRegression, C in {0.01, 0.1, 1} by "
                           "3-fold CV inside the n labels; class_weight='balanced' for "
                           "n=60, none for n=200 (the probes select_label_efficiency chose "
                           "at 1 % and 3 % of the training part's labels)",
                  "cv": "new patients = fold k of the 3-fold stratified split (seed 0) of "
                        "the README training part; fine-tuned encoder = the default "
                        "recipe's fold-k state (fine-tuned on the other two folds); mean "
                        "and sample sd over 3 folds x 5 seeds",
                  "test": "new patients = the README test part; fine-tuned encoder = the "
                          "shipped checkpoint (fine-tuned on the README training part's "
                          "labels); scored once per row, n and seed; mean and sample sd "
                          "over 5 seeds"}}
    if "cv" in args.parts:
        report["cv"] = cv_part(X_tr, y_tr, args.states, args.threads)
    if "test" in args.parts:
        report["test"] = test_part(X_te, y_te, args.fine_tuned, args.threads)
    # a part not rerun keeps its earlier run's scores and record
    report.update(earlier_parts("bench_new_patients", report["protocol"],
                                sorted({"cv", "test"} - set(args.parts))))
    write_json("bench_new_patients", report, seeds=list(SEEDS))
    return report


if __name__ == "__main__":
    main()
