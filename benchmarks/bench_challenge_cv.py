"""The challenge-comparable figure: five-fold CV over all 8,528 CinC 2017 records (issue 31).

The PhysioNet/CinC 2017 challenge scores the mean F1 of the normal (N), AF (A) and
other-rhythm (O) classes; its entries are compared on a hidden test set we do not
have, so the figure closest to theirs that we can measure is cross-validated over the
whole public training set. Protocol: ``StratifiedKFold(5, shuffle=True,
random_state=0)`` over all records (patient = record: the public set carries no
patient ids); in each fold, on the four training folds only,

- ``fine_tuned``: ``DiffAEEmbedder(pretrained=DEFAULT_PRETRAINED,
  random_state=fold).fit(X, y)`` with the package's defaults (the label-aware
  fine-tuning; records shorter than the training crop are left out of the
  fine-tuning, not of the probe);
- ``frozen``: the same checkpoint without fine-tuning (one transform of every record,
  shared by the folds);
- ``scattering``: ``ScatteringFeatures()`` (training-free, likewise);

each embedded once with ``_protocol.WIDEST_READOUT`` and probed with every readout's
columns (``readouts`` in the JSON; ``test`` holds ``DEFAULT_READOUT``'s), with the
README probe (``StandardScaler`` + ``LogisticRegression``, C in {0.01, 0.1,
1} by 3-fold CV inside the training folds) and the held-out fold scored once: the
challenge's F1 of N, A, O (per-class ``2 TP / (2 TP + FP + FN)``, which is the
challenge's ``2 N_cc / (sum of row c + sum of column c)``), its mean, the noisy
class's F1, 4-class macro F1 and the two AUROCs. Mean and std over the five folds.

Resumable: each finished fold is written to the JSON at once (with ``--resume`` a
rerun skips the folds it holds), so a killed run loses at most the fold in progress;
the fine-tuned embeddings of each fold are cached under ``artifacts/challenge_cv/``, so
a rerun (``--rescore``) probes them again without fine-tuning.

JSON: ``results/bench_challenge_cv.json`` (``_quick`` with ``--quick``: the bundled
sample, one epoch, a 2-s crop).
Run: ``OMP_NUM_THREADS=1 python -m benchmarks.bench_challenge_cv --resume``
(needs the CinC 2017 archive; about 20-30 CPU-minutes per fold on a 2-core machine).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from benchmarks import _protocol
from benchmarks._common import REPO, results_lock, write_json
from sklearn_biodiff.feature_extraction import DiffAEEmbedder, ScatteringFeatures
from sklearn_biodiff.feature_extraction._diffae import READOUTS
from sklearn_biodiff.pretrained import DEFAULT_PRETRAINED, DEFAULT_READOUT

WIDEST = _protocol.WIDEST_READOUT

CACHE = REPO / "artifacts" / "challenge_cv"
N_FOLDS = 5
ROWS = ("fine_tuned", "frozen", "scattering")
CLASSES = ("N", "A", "O", "~")


def load_all(quick: bool):
    """``(source, signals, labels)`` of every record of the public training set."""
    source, data = _protocol.load_records(quick)
    return source, list(data.signals), np.asarray(data.target).astype(str)


def challenge_scores(y, pred, proba, classes) -> dict:
    """The challenge's per-class F1 and their N, A, O mean, beside the README metrics."""
    from sklearn.metrics import f1_score

    f1 = f1_score(y, pred, labels=list(CLASSES), average=None, zero_division=0.0)
    return {"challenge_f1_NAO": float(f1[:3].mean()),
            **{f"f1_{c}": float(v) for c, v in zip(CLASSES, f1)},
            **_protocol.class_scores(y, pred, proba, classes)}


def probe_fold(Z_tr, y_tr, Z_te, y_te) -> dict:
    grid = _protocol.probe_grid().fit(Z_tr, y_tr)
    classes = list(grid.classes_)
    return {"probe_C": grid.best_params_["logisticregression__C"],
            "test": challenge_scores(y_te, grid.predict(Z_te), grid.predict_proba(Z_te),
                                     classes)}


def _cache_path(stem: str):
    return CACHE / f"{stem}.npz"


def _save(path, **arrays) -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)


def frozen_matrix(name: str, X, quick: bool, threads) -> tuple[np.ndarray, dict]:
    """Every record's embedding by a training-free source, cached under artifacts/,
    and ``{readout: columns}`` (empty for ScatteringFeatures)."""
    path = _cache_path(f"{name}_{'quick' if quick else 'full'}_{len(X)}_"
                       f"{WIDEST if name == 'frozen' else 'st'}")
    if path.exists():
        with np.load(path) as f:
            return f["Z"], {r: f[f"columns{i}"] for i, r in enumerate(f["readouts"])}
    if name == "frozen":
        est = DiffAEEmbedder.from_pretrained(DEFAULT_PRETRAINED, readout=WIDEST,
                                             n_threads=threads).fit(X[:2])
    else:
        est = ScatteringFeatures(n_jobs=threads).fit(X)
    Z = est.transform(X)
    columns = _protocol.readout_columns(est) if name == "frozen" else {}
    _save(path, Z=Z, readouts=np.asarray(list(columns), dtype=str),
          **{f"columns{i}": c for i, c in enumerate(columns.values())})
    return Z, columns


def fine_tune_fold(X_tr, y_tr, X_te, fold: int, quick: bool, threads):
    """Fine-tune the default checkpoint on the training folds; embed both sides.

    ``(Z_train, Z_test, columns, cost)``, cached per fold (``artifacts/challenge_cv``).
    """
    path = _cache_path(f"fine_tuned_{'quick' if quick else 'full'}_fold{fold}_{WIDEST}")
    if path.exists():
        with np.load(path, allow_pickle=False) as f:
            columns = {r: f[f"columns{i}"] for i, r in enumerate(f["readouts"])}
            return f["Z_train"], f["Z_test"], columns, json.loads(str(f["cost"]))
    extra = {"snippet_seconds": 2.0, "max_epochs": 1, "batch_size": 8} if quick else {}
    emb = DiffAEEmbedder(pretrained=DEFAULT_PRETRAINED, readout=WIDEST,
                         random_state=fold, n_threads=threads, **extra)
    crop = emb._snippet_length()
    keep = [i for i, x in enumerate(X_tr) if len(x) >= crop]
    c0 = time.process_time()
    emb.fit([X_tr[i] for i in keep], y_tr[keep])
    fit_cpu = time.process_time() - c0
    Z_tr, Z_te = emb.transform(X_tr), emb.transform(X_te)
    cost = {"fine_tune_cpu_minutes": fit_cpu / 60,
            "records_fine_tuned": len(keep),
            "records_left_out_too_short": len(X_tr) - len(keep),
            "crops_per_cpu_second":
                len(keep) * emb.training_settings_["max_epochs"] / fit_cpu,
            "fine_tuning": {**emb.training_settings_, **{
                k: v for k, v in emb.get_params().items()
                if k in ("supervised_weight", "classifier_weight",
                         "diffusion_weight", "supervised_view",
                         "snippet_seconds", "batch_size")}}}
    columns = _protocol.readout_columns(emb)
    _save(path, Z_train=Z_tr, Z_test=Z_te, cost=json.dumps(cost),
          readouts=np.asarray(list(columns), dtype=str),
          **{f"columns{i}": c for i, c in enumerate(columns.values())})
    return Z_tr, Z_te, columns, cost


def probe_readouts(Z_tr, y_tr, Z_te, y_te, columns: dict) -> dict:
    """:func:`probe_fold` of every readout's columns; ``test`` is ``DEFAULT_READOUT``'s."""
    readouts = {r: probe_fold(Z_tr[:, c], y_tr, Z_te[:, c], y_te)
                for r, c in columns.items()}
    return {**readouts[DEFAULT_READOUT], "readout": DEFAULT_READOUT, "readouts": readouts}


def _mean_std(done: list) -> dict:
    return {m: {"mean": float(np.mean([d[m] for d in done])),
                "std": float(np.std([d[m] for d in done], ddof=1))
                if len(done) > 1 else 0.0, "n_folds": len(done)}
            for m in done[0]}


def summary(folds: dict) -> dict:
    """Mean and std over the folds of each row's ``test`` scores; ``readouts``: the same
    per readout (rows embedded with the readouts)."""
    out = {}
    for row in ROWS:
        done = [f[row] for f in folds.values() if row in f]
        if not done:
            continue
        out[row] = _mean_std([d["test"] for d in done])
        readouts = [r for r in READOUTS if all(r in d.get("readouts", {}) for d in done)]
        if readouts:
            out[row]["readouts"] = {r: _mean_std([d["readouts"][r]["test"] for d in done])
                                    for r in readouts}
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="bundled sample, one epoch")
    ap.add_argument("--resume", action="store_true", help="skip the folds already written")
    ap.add_argument("--folds", type=int, nargs="*", default=list(range(N_FOLDS)))
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--rescore", action="store_true",
                    help="probe the cached embeddings of the folds again (with --resume: "
                         "only the folds the JSON lacks)")
    args = ap.parse_args(argv)
    from sklearn.model_selection import StratifiedKFold

    name = "bench_challenge_cv" + ("_quick" if args.quick else "")
    source, X, y = load_all(args.quick)
    splits = list(StratifiedKFold(N_FOLDS, shuffle=True, random_state=0).split(X, y))
    frozen = {row: frozen_matrix(row, X, args.quick, args.threads)
              for row in ("frozen", "scattering")}
    if args.rescore and not args.resume:  # start the JSON over from the cached folds
        with results_lock(name) as path:
            if path.is_file():
                path.unlink()
    report = {}
    for k in args.folds:
        with results_lock(name) as path:
            previous = json.loads(path.read_text()) if path.is_file() else {}
        if args.resume and str(k) in previous.get("folds", {}):
            report = previous
            print(f"fold {k}: in the JSON, skipped", flush=True)
            continue
        tr, te = splits[k]
        X_tr, X_te = [X[i] for i in tr], [X[i] for i in te]
        entry = {"n_train": len(tr), "n_test": len(te)}
        for row, (Z, columns) in frozen.items():
            entry[row] = (probe_readouts(Z[tr], y[tr], Z[te], y[te], columns) if columns
                          else probe_fold(Z[tr], y[tr], Z[te], y[te]))
        Z_tr, Z_te, columns, cost = fine_tune_fold(X_tr, y[tr], X_te, k, args.quick,
                                                   args.threads)
        entry["fine_tuned"] = {**probe_readouts(Z_tr, y[tr], Z_te, y[te], columns), **cost}
        print(f"fold {k}: " + ", ".join(
            f"{row} {entry[row]['test']['challenge_f1_NAO']:.3f}" for row in ROWS),
            flush=True)
        with results_lock(name) as path:  # merge: another fold may have finished
            report = json.loads(path.read_text()) if path.is_file() else {}
            folds = {**report.get("folds", {}), str(k): entry}
            report = {
                "source": source, "n_records": len(X), "checkpoint": DEFAULT_PRETRAINED,
                "readout": DEFAULT_READOUT, "embedded_with": WIDEST,
                "threads": args.threads,
                "protocol": (
                    f"StratifiedKFold({N_FOLDS}, shuffle=True, random_state=0) over every "
                    "record of the public CinC 2017 training set (patient = record); in "
                    "each fold the fine-tuning (random_state = fold) and the probe "
                    "(StandardScaler + LogisticRegression, C in {0.01, 0.1, 1} by 3-fold "
                    "CV inside the training folds) see the training folds only; the "
                    "held-out fold scored once; mean and sample std over folds"),
                "folds": dict(sorted(folds.items())), "summary": summary(folds)}
            write_json(name, report, seeds=[int(f) for f in report["folds"]])
    return report


if __name__ == "__main__":
    main()
