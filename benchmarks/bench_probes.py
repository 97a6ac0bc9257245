"""Which probe on a frozen embedding: the README's logistic regression or an RBF-kernel
SVM (issue 31).

The README probe (``StandardScaler`` + ``LogisticRegression``, C by 3-fold CV) is linear;
with all the training part's labels a kernel probe may separate the classes better.
Both are fitted the same way (C by 3-fold stratified CV, macro F1;
:func:`benchmarks._protocol.probe_grid` and :func:`benchmarks._protocol.svm_probe`) on
the same frozen embeddings (``DEFAULT_READOUT``). Parts:

* ``choose`` (training part only; what the choice is made on): every fine-tuning fold
  state of ``scripts/finetune_diffae.py`` found for the runs in :data:`RUNS`
  (``pretraining/finetune_<run>-fold<k>.state``: fine-tuned on two folds of the 3-fold
  split of the README training part, seed 0). The whole training part is embedded with
  the fold's encoder, both probes are fitted on the two folds it was fine-tuned on and
  scored on fold ``k``: one paired difference per state.
* ``test`` (scored once per row and probe, and only after ``choose`` picked the SVM by
  the rule of :func:`benchmarks.rendering.probes.svm_ahead`: a probe that was not
  chosen is never scored on the test part): the README split; rows
  ``FINE_TUNED_PRETRAINED`` (the shipped label-fine-tuned checkpoint, frozen; its labels
  were the training part's), ``DEFAULT_PRETRAINED`` (frozen, self-supervised) and
  ``ScatteringFeatures()``; each probe fitted on the training part, the test part
  scored once.

JSON: ``results/bench_probes.json``.
Run: ``OMP_NUM_THREADS=1 python -m benchmarks.bench_probes [--parts choose test]``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import StratifiedKFold

from benchmarks._common import RESULTS, earlier_parts, write_json
from benchmarks._protocol import DEFAULT_RUN, class_scores, load_data, probe_grid, svm_probe
from sklearn_biodiff.feature_extraction import DiffAEEmbedder, ScatteringFeatures
from sklearn_biodiff.pretrained import (
    DEFAULT_PRETRAINED,
    DEFAULT_READOUT,
    FINE_TUNED_PRETRAINED,
)

REPO = Path(__file__).resolve().parents[1]
#: fine-tuning runs whose fold states the choice is made on (the default recipe first)
RUNS = (DEFAULT_RUN, "ce-supcon-diffview-8ep", "ce-supcon-denoised-8ep", "ce-supcon-16ep",
        "ce-supcon-8ep-s1", "ce-supcon-cos-lr1e-3-8ep")
#: the probes compared, by name
PROBE_KINDS = {"logistic": probe_grid, "rbf_svm": svm_probe}

#: how the probes are fitted and scored (a later run with another protocol starts afresh)
PROTOCOL = {
    "probes": "logistic: StandardScaler + LogisticRegression, C in {0.01, "
              "0.1, 1}; rbf_svm: StandardScaler + "
              "CalibratedClassifierCV(SVC(kernel='rbf', random_state=0), "
              "ensemble=False), C in {1, 3, 10}; C by "
              "3-fold stratified CV (macro F1) on the records the probe is "
              "fitted on",
    "choose": "each fine-tuning fold state (3-fold stratified split of the "
              "README training part, seed 0): the training part embedded "
              "with the fold's frozen encoder, both probes fitted on the two "
              "folds it was fine-tuned on and scored on the third; no test "
              "data",
    "test": "README split: each probe fitted on the training part's "
            "embeddings, the test part scored once per row and probe"}


def probe_pair(Z_fit, y_fit, Z_eval, y_eval) -> dict:
    """``{probe: scores on the evaluation records, plus its chosen C}``."""
    out = {}
    for name, make in PROBE_KINDS.items():
        t0 = time.process_time()
        clf = make().fit(Z_fit, y_fit)
        classes = list(clf.classes_)
        out[name] = {**class_scores(y_eval, clf.predict(Z_eval), clf.predict_proba(Z_eval),
                                    classes),
                     "C": float(next(iter(clf.best_params_.values()))),
                     "fit_cpu_seconds": time.process_time() - t0}
    return out


def paired(rows: list[dict], metric: str) -> dict:
    """SVM minus logistic over ``rows`` (one per fold state): mean, sample sd, count,
    how many are above zero."""
    d = np.array([r["rbf_svm"][metric] - r["logistic"][metric] for r in rows])
    return {"mean": float(d.mean()), "sd": float(d.std(ddof=1)) if len(d) > 1 else None,
            "n": len(d), "n_above_zero": int((d > 0).sum()), "values": d.tolist()}


def choose_part(X_tr, y_tr, states: Path, threads: int) -> dict:
    from sklearn_biodiff.utils import load

    splits = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X_tr, y_tr))
    # a state counts once its run finished: scored in the fine-tuning JSON, same epochs
    finished = json.loads((RESULTS / "finetune_diffae.json").read_text())["runs"]
    rows, skipped = [], []
    for run in RUNS:
        for k, (inner, held) in enumerate(splits):
            path = states / f"finetune_{run}-fold{k}.state"
            if not path.is_file():
                continue
            state = load(path)
            entry = finished.get(run, {}).get("folds", {}).get(str(k))
            if entry is None or entry["epochs"] != state["epochs_done"]:
                skipped.append(path.name)  # a run stopped part-way
                continue
            emb = state["emb"].set_params(readout=DEFAULT_READOUT, n_threads=threads)
            t0 = time.process_time()
            Z = np.asarray(emb.transform(X_tr), dtype=np.float64)
            scores = probe_pair(Z[inner], y_tr[inner], Z[held], y_tr[held])
            rows.append({"run": run, "fold": k, **scores,
                         "transform_cpu_seconds": time.process_time() - t0})
            print(run, k, {p: round(s["mean_f1_NAO"], 4) for p, s in scores.items()},
                  flush=True)
    if not rows:
        raise SystemExit(f"no fold state of {RUNS} in {states}: run `python -m "
                         f"scripts.finetune_diffae --name {DEFAULT_RUN} --fold k ...` first")
    metrics = [m for m in rows[0]["logistic"] if m not in ("C", "fit_cpu_seconds")]
    return {"states": rows, "unfinished_states_left_out": skipped,
            "svm_minus_logistic": {m: paired(rows, m) for m in metrics},
            "default_run_svm_minus_logistic": {
                m: paired([r for r in rows if r["run"] == DEFAULT_RUN], m) for m in metrics}}


def test_part(X_tr, y_tr, X_te, y_te, threads: int) -> dict:
    rows = {"fine_tuned": FINE_TUNED_PRETRAINED, "frozen": DEFAULT_PRETRAINED,
            "scattering": None}
    out = {}
    for row, name in rows.items():
        enc = (ScatteringFeatures(n_jobs=1) if name is None else DiffAEEmbedder.from_pretrained(
            name, readout=DEFAULT_READOUT, n_threads=threads))
        t0 = time.process_time()
        enc.fit(X_tr[:2])  # training-free or load only: nothing is learnt here
        Z_tr = np.asarray(enc.transform(X_tr), dtype=np.float64)
        Z_te = np.asarray(enc.transform(X_te), dtype=np.float64)
        out[row] = {"checkpoint": name, **probe_pair(Z_tr, y_tr, Z_te, y_te),
                    "transform_cpu_seconds": time.process_time() - t0}
        print(row, {p: round(out[row][p]["mean_f1_NAO"], 4) for p in PROBE_KINDS}, flush=True)
    return out


def _earlier_choice(protocol: dict) -> dict | None:
    """The ``choose`` part of the last run under the same protocol, if any."""
    return earlier_parts("bench_probes", protocol, ["choose"]).get("choose")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parts", nargs="*", choices=["choose", "test"],
                    default=["choose", "test"])
    ap.add_argument("--states", type=Path, default=REPO / "pretraining",
                    help="where scripts/finetune_diffae.py wrote the fold states")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    source, X_tr, y_tr, X_te, y_te = load_data(False)
    report = {"source": source, "readout": DEFAULT_READOUT, "runs": list(RUNS),
              "protocol": PROTOCOL}
    if "choose" in args.parts:
        report["choose"] = choose_part(X_tr, y_tr, args.states, args.threads)
    if "test" in args.parts:
        from benchmarks.rendering.probes import svm_ahead

        choice = report.get("choose") or _earlier_choice(report["protocol"])
        if choice is None or not svm_ahead(choice["svm_minus_logistic"]["mean_f1_NAO"]):
            raise SystemExit("the choose part has not picked the SVM (run it first, or the "
                             "README probe stays and its test figures are in the headline "
                             "table): the test part is not scored for a probe not chosen")
        report["test"] = test_part(X_tr, y_tr, X_te, y_te, args.threads)
    # a part not rerun keeps its earlier run's scores and record
    report.update(earlier_parts("bench_probes", PROTOCOL,
                                sorted({"choose", "test"} - set(args.parts))))
    write_json("bench_probes", report, seeds=[0])
    return report


if __name__ == "__main__":
    main()
