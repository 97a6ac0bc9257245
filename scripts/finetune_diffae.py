"""Label-aware fine-tuning of the shipped checkpoint on the README training part (issue 31).

One configuration per run, named by ``--name``: ``DiffAEEmbedder.from_pretrained(
DEFAULT_PRETRAINED)`` is fine-tuned with the training part's labels (the supervised
contrastive term beside the diffusion loss; ``--set key=value`` changes any
constructor parameter) for ``--epochs`` epochs, one epoch per ``fit`` call
(``warm_start``, constant learning rate, a new crop seed each epoch). After every
epoch the estimator is saved with :func:`sklearn_biodiff.utils.dump` to ``--state``,
so a killed run resumes at its last finished epoch with ``--resume``. The fine-tuned
encoder is then frozen and scored by the README protocol (``pretrain_diffae.evaluate``:
scaler + logistic probe, C by 3-fold CV on the training part, ``z`` and the two wider
readouts, the test part scored once).

Records shorter than the crop are left out of the fine-tuning (counted in the JSON),
never out of the evaluation.

``--fold k`` (0, 1 or 2) runs the same on fold ``k`` of a 3-fold stratified split of the
training part instead (seed 0): fine-tuning on the other two folds, the probe fitted
there and scored on fold ``k``; the test part is not touched. Configurations are
chosen by these fold scores, and only the chosen one is scored on the test part.

``--single-fit`` runs all epochs in one ``fit`` call instead (a learning-rate schedule
over the whole fine-tuning, as ``DiffAEEmbedder.fit(X, y)`` runs it; the state is saved
after it). ``--pretrained`` fine-tunes another checkpoint than ``DEFAULT_PRETRAINED``: a
shipped name or a folder written by ``save_pretrained`` (e.g. a wider pretraining run's).

JSON: ``benchmarks/results/finetune_diffae.json`` (``_quick`` with ``--quick``), one
entry per ``--name`` (and per fold under ``"folds"``).
Run: ``OMP_NUM_THREADS=1 python -m scripts.finetune_diffae --name crop-8ep [--resume]``.
"""

from __future__ import annotations

import argparse
import ast
import json
import time
from pathlib import Path

from benchmarks._common import results_lock, run_metadata, write_json
from benchmarks._protocol import evaluate, load_data
from sklearn_biodiff.feature_extraction import DiffAEEmbedder
from sklearn_biodiff.pretrained import DEFAULT_PRETRAINED
from sklearn_biodiff.utils import dump, load

REPO = Path(__file__).resolve().parents[1]

#: the configuration fine-tuned unless --set changes it
BASE = {"snippet_seconds": 9.0, "lr": 3e-4, "weight_decay": 1e-4, "lr_schedule": "constant",
        "batch_size": 32, "grad_clip": 1.0, "supervised_weight": 1.0,
        "diffusion_weight": 1.0, "supervised_view": "crop", "balanced": True}


def _parse_sets(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--name", required=True)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--set", nargs="*", default=[], help="constructor parameters key=value")
    ap.add_argument("--state", type=Path, default=None)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fold", type=int, default=None, choices=[0, 1, 2],
                    help="CV on the training part: fine-tune without this fold, score it")
    ap.add_argument("--init", choices=["pretrained", "random"], default="pretrained",
                    help="random: the checkpoint's architecture, randomly initialised "
                         "(is the pretraining doing the work?)")
    ap.add_argument("--baseline", choices=["dacl", "st"], default=None,
                    help="score a peer instead of fine-tuning: make_dacl_pipeline()'s "
                         "embedding (DACL beside the scattering features) or "
                         "ScatteringFeatures, with the same probe")
    ap.add_argument("--pretrained", default=None,
                    help="the checkpoint fine-tuned: a shipped name or a folder written by "
                         "save_pretrained (e.g. a wider pretraining run's); default "
                         "DEFAULT_PRETRAINED")
    ap.add_argument("--single-fit", action="store_true",
                    help="all --epochs in one fit call (a learning-rate schedule over the "
                         "whole fine-tuning, as DiffAEEmbedder.fit(X, y) runs it); the state "
                         "is saved after it, not after each epoch")
    ap.add_argument("--quick", action="store_true", help="bundled sample (tests)")
    args = ap.parse_args(argv)
    params = {**BASE, **_parse_sets(args.set)}
    tag = args.name if args.fold is None else f"{args.name}-fold{args.fold}"
    state_path = args.state or REPO / "pretraining" / f"finetune_{tag}.state"
    source, X_tr, y_tr, X_te, y_te = load_data(args.quick)
    if args.fold is not None:  # the training part only: its fold k plays the test part
        from sklearn.model_selection import StratifiedKFold

        inner, held = list(StratifiedKFold(3, shuffle=True, random_state=0).split(
            X_tr, y_tr))[args.fold]
        X_te, y_te = [X_tr[i] for i in held], y_tr[held]
        X_tr, y_tr = [X_tr[i] for i in inner], y_tr[inner]
    if args.baseline is not None:
        return _record(args, _baseline(args, X_tr, y_tr, X_te, y_te, source))
    if args.quick:
        params.update(snippet_seconds=2.0, batch_size=8)
    start = args.pretrained or DEFAULT_PRETRAINED
    crop = DiffAEEmbedder.from_pretrained(start, **params)._snippet_length()
    keep = [i for i, x in enumerate(X_tr) if len(x) >= crop]  # records at 300 Hz
    X_fit, y_fit = [X_tr[i] for i in keep], y_tr[keep]
    if args.resume and state_path.is_file():
        run = load(state_path)
        print(f"resuming {args.name} after epoch {run['epochs_done']}", flush=True)
    else:
        emb = DiffAEEmbedder.from_pretrained(start, n_threads=1, **params,
                                             max_epochs=1, warm_start=True)
        if args.init == "random":  # the same architecture, no pretrained weights
            emb.set_params(pretrained=None, random_state=args.seed)
        run = {"emb": emb, "epochs_done": 0, "cpu_seconds": 0.0, "losses": []}
    emb = run["emb"]
    if args.single_fit and run["epochs_done"] < args.epochs:
        # one fit from the checkpoint: earlier per-epoch progress in the state is redone,
        # so neither its time nor its losses count
        run["cpu_seconds"] = 0.0
        c0 = time.process_time()
        emb.set_params(max_epochs=args.epochs, warm_start=False, random_state=args.seed)
        emb.fit(X_fit, y_fit)
        run["cpu_seconds"] += time.process_time() - c0
        run["losses"] = [float(h["train_loss"]) for h in emb.history_]
        run["epochs_done"] = args.epochs
        dump(run, state_path)
    while run["epochs_done"] < args.epochs:
        c0 = time.process_time()
        emb.set_params(random_state=args.seed * 1000 + run["epochs_done"])
        emb.fit(X_fit, y_fit)
        run["cpu_seconds"] += time.process_time() - c0
        run["losses"].append(float(emb.history_[-1]["train_loss"]))
        run["epochs_done"] += 1
        dump(run, state_path)
        print(f"epoch {run['epochs_done']}: loss {run['losses'][-1]:.4f}, "
              f"{run['cpu_seconds'] / 60:.1f} CPU-min", flush=True)
    if args.epochs == 0:  # the frozen checkpoint: load only
        emb.set_params(max_epochs=0, warm_start=False).fit(X_fit[:2])
        run["cpu_seconds"] = float("nan")
    t0 = time.process_time()
    scores = evaluate(emb, X_tr, y_tr, X_te, y_te)
    entry = {"params": params, "epochs": args.epochs, "seed": args.seed, "init": args.init,
             "single_fit": args.single_fit, "pretrained": str(start),
             "records_fine_tuned": len(X_fit), "records_left_out_too_short":
             len(X_tr) - len(X_fit), "train_loss_per_epoch": run["losses"],
             "fine_tune_cpu_minutes": run["cpu_seconds"] / 60,
             "crops_per_cpu_second": args.epochs * len(X_fit) / run["cpu_seconds"]
             if args.epochs else None,
             "evaluation_cpu_minutes": (time.process_time() - t0) / 60,
             "source": source, "scores": scores, "run": run_metadata([args.seed])}
    _record(args, entry)
    for key, s in [("z", scores), *((k, v) for k, v in scores.items()
                                    if k.startswith("readout_"))]:
        print(key, {k: round(v, 4) for k, v in s["test"].items()},
              "cv", round(s["cv_train"]["mean_f1_NAO"], 4))
    return entry


def _baseline(args, X_tr, y_tr, X_te, y_te, source) -> dict:
    """A peer's embedding, fitted on the training records, scored by the same probe."""
    from benchmarks._protocol import probe_scores
    from sklearn_biodiff.feature_extraction import ScatteringFeatures
    from sklearn_biodiff.pipeline import make_dacl_pipeline

    c0 = time.process_time()
    if args.baseline == "dacl":
        peer = make_dacl_pipeline(classifier="passthrough", random_state=args.seed)
    else:
        peer = ScatteringFeatures()
    Z_tr = peer.fit(X_tr, y_tr).transform(X_tr)
    Z_te = peer.transform(X_te)
    return {"baseline": args.baseline, "seed": args.seed, "source": source,
            "fit_transform_cpu_minutes": (time.process_time() - c0) / 60,
            "n_features": int(Z_tr.shape[1]),
            "scores": probe_scores(Z_tr, y_tr, Z_te, y_te),
            "run": run_metadata([args.seed])}


def _record(args, entry: dict) -> dict:
    """Merge one run's entry into the JSON, under its name (and fold)."""
    name = "finetune_diffae" + ("_quick" if args.quick else "")
    with results_lock(name) as previous:  # runs of other configurations may finish now
        runs = json.loads(previous.read_text())["runs"] if previous.is_file() else {}
        if args.fold is None:
            runs[args.name] = {**runs.get(args.name, {}), **entry}
        else:
            entry["protocol"] = ("3-fold stratified CV of the README training part (seed 0):"
                                 " fine-tuned on two folds, scored on this one; no test data")
            runs.setdefault(args.name, {}).setdefault("folds", {})[str(args.fold)] = entry
        write_json(name, {"runs": runs}, seeds=[args.seed])
    print(json.dumps({k: v for k, v in entry.items() if k != "scores"}, default=float))
    return entry


if __name__ == "__main__":
    main()
