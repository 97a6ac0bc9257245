"""Resumable DiffAE pretraining on the README split's training part (issue 16).

Trains :class:`~sklearn_biodiff.feature_extraction.DiffAEEmbedder` in chunks of
one epoch (one random crop of every training record, ``random_state`` = seed +
chunk index) and saves the whole run state (the fitted estimator with its
optimizer, EMA weights and shuffling generator, the chunk count, crops seen,
CPU and wall time, the evaluation log) to ONE file, overwritten after every
chunk (a few minutes). ``--resume`` continues from that file exactly: a run
stopped and resumed ends with the same weights as one that never stopped.

At each mark (crops seen; 0 = the randomly initialised network, always
evaluated as a baseline row) the train and test records are embedded with the
frozen encoder and a ``StandardScaler -> LogisticRegression`` probe is fitted
on the training part, its C chosen by 3-fold CV on the training part only; the
test part is scored once per mark. Rows: 4-class macro F1, mean F1 of N, A, O,
normal vs (AF + other) AUROC (noisy dropped) and AF vs rest AUROC, each for the
train-part CV (for choosing recipes) and the test part (reported once).

Examples
--------
Start (or continue) a run in the background, two threads, checkpoint per epoch::

    nohup python -m scripts.pretrain_diffae --recipe encoder_noise --resume \\
        --threads 2 > pretrain.log 2>&1 &

A variant of a recipe (a wider encoder, bfloat16 training passes) under its own name,
state and JSON (``pretrain_diffae_<name>.json``; its changes are checked on resume)::

    nohup python -m scripts.pretrain_diffae --recipe contrastive --name contrastive-w128-bf16 \\
        --set encoder_width=128 --precision bf16 --threads 1 --resume > w128.log 2>&1 &

Check on the bundled sample in seconds (tiny network)::

    python -m scripts.pretrain_diffae --quick --state /tmp/q.state --marks 0 560

Several processes train one model (same global batch; see the user guide's
"Scaling out" page); rank 0 evaluates and writes the state and the JSON::

    torchrun --standalone --nproc_per_node 2 -m scripts.pretrain_diffae --threads 1 ...
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import joblib

from benchmarks._common import REPO, croppable, run_metadata
from benchmarks._protocol import (  # noqa: F401  (the protocol, for this script's users)
    class_scores,
    evaluate,
    load_data,
    probe_grid,
    probe_scores,
)
from sklearn_biodiff.feature_extraction import DiffAEEmbedder
from sklearn_biodiff.noise import AddNoise

#: recipe name -> DiffAEEmbedder parameters (on top of the shared ones below)
RECIPES = {
    "plain": {},
    "encoder_noise": {"encoder_noise": AddNoise("mixture", snr_db=(0.0, 24.0))},
    # encoder_noise plus InfoNCE between two crops of one record (each with its own noise)
    "contrastive": {"encoder_noise": AddNoise("mixture", snr_db=(0.0, 24.0)),
                    "contrastive_weight": 0.1, "contrastive_temperature": 0.1},
}
#: shared by every recipe: constant lr (the cosine schedule decays to 0 at the end of
#: each chunk), EMA of the weights for the embedding, one epoch per chunk
COMMON = {"lr": 1e-3, "lr_schedule": "constant", "ema_decay": 0.999, "batch_size": 32,
          "max_epochs": 1, "warm_start": True}
#: a network small enough for --quick runs and tests
QUICK = {"snippet_seconds": 2.0, "embedding_dim": 8, "encoder_layers": 1,
         "encoder_width": 8, "unet_channels": (8, 16), "n_timesteps": 50, "batch_size": 8,
         "ema_decay": 0.9}

DEFAULT_MARKS = [0, 50_000, 100_000, 200_000, 400_000, 800_000, 1_600_000, 3_200_000]


def make_embedder(recipe: str, seed: int, quick: bool, n_threads: int | None,
                  overrides: dict | None = None):
    """The recipe's embedder; ``overrides`` (``--set``, ``--precision``) change any
    constructor parameter, e.g. a wider encoder."""
    params = {**COMMON, **RECIPES[recipe], **(QUICK if quick else {}), **(overrides or {})}
    return DiffAEEmbedder(random_state=seed, n_threads=n_threads, **params)


def parse_overrides(items: list[str], precision: str | None) -> dict:
    """``key=value`` strings (values read as Python literals, else strings) and the
    ``--precision`` of the training passes as constructor parameters."""
    import ast

    from sklearn_biodiff.engine import TorchEngine

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            sys.exit(f"--set takes key=value, got {item!r}")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    if precision is not None:
        out["engine"] = TorchEngine(precision=precision)
    return out


def random_init(recipe, seed, quick, n_threads, X_fit, overrides=None):
    """The network at its seeded initialisation (one step at lr 1e-12, no EMA)."""
    emb = make_embedder(recipe, seed, quick, n_threads, overrides)
    return emb.set_params(max_steps=1, lr=1e-12, ema_decay=None).fit(X_fit[: emb.batch_size])


def save_state(path: Path, state: dict) -> None:
    """Overwrite ``path`` atomically (a kill mid-write keeps the previous state)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    joblib.dump(state, tmp, compress=3)
    os.replace(tmp, path)


def write_report(path: Path, state: dict, meta: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    report = {**meta, "recipe": state["recipe"], "seed": state["seed"],
              "overrides": state.get("overrides", {"set": [], "precision": None}),
              "chunks_done": state["chunk"], "crops_seen": state["crops"],
              "train_cpu_minutes": state["cpu_s"] / 60,
              "train_wall_minutes": state["wall_s"] / 60, "curve": state["curve"],
              # provenance of the latest session (wall_seconds: this session only;
              # train_wall_minutes and train_cpu_minutes above sum every session)
              "run": run_metadata([state["seed"]])}
    path.write_text(json.dumps(report, indent=2, default=float) + "\n")


def process_rank() -> int:
    """Join the torch.distributed group when started by torchrun; this process's rank."""
    if "RANK" not in os.environ or int(os.environ.get("WORLD_SIZE", "1")) < 2:
        return 0
    import datetime

    import torch.distributed as dist

    if not dist.is_initialized():  # rank 0 evaluates while the others wait: long timeout
        dist.init_process_group("gloo", timeout=datetime.timedelta(hours=3))
    return dist.get_rank()


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--recipe", choices=sorted(RECIPES), default="encoder_noise")
    ap.add_argument("--name", default=None,
                    help="run name for the default --state and --json paths (default: the "
                         "recipe); a run with --set or --precision needs its own")
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                    help="DiffAEEmbedder parameters on top of the recipe, e.g. "
                         "encoder_width=128")
    ap.add_argument("--precision", choices=["32", "bf16", "16-mixed"], default=None,
                    help="TorchEngine(precision=...) of the training passes")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--state", type=Path, default=None,
                    help="run state file (default: pretraining/diffae_<recipe>.state)")
    ap.add_argument("--json", type=Path, default=None,
                    help="learning-curve JSON (default: benchmarks/results/"
                         "pretrain_diffae_<recipe>.json)")
    ap.add_argument("--resume", action="store_true",
                    help="continue from --state when it exists (else start)")
    ap.add_argument("--marks", type=int, nargs="*", default=DEFAULT_MARKS,
                    help="crops seen at which to evaluate (0 = random init)")
    ap.add_argument("--max-crops", type=int, default=None,
                    help="stop once this many crops were seen (default: the last mark)")
    ap.add_argument("--stop-after-chunks", type=int, default=None,
                    help="stop after this many chunks in this invocation (tests, sessions)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads")
    ap.add_argument("--quick", action="store_true",
                    help="bundled sample and a tiny network (seconds)")
    args = ap.parse_args(argv)
    rank = process_rank()  # 0 in a plain process

    overrides = parse_overrides(args.set, args.precision)
    changes = {"set": sorted(args.set), "precision": args.precision}
    name = args.name or args.recipe
    if overrides and name == args.recipe and not (args.state and args.json):
        sys.exit("--set and --precision change the recipe's network or training: give the "
                 "run its own --name (or --state and --json)")
    state_path = args.state or REPO / "pretraining" / f"diffae_{name}.state"
    json_path = args.json or (REPO / "benchmarks" / "results"
                              / f"pretrain_diffae_{name}{'_quick' if args.quick else ''}"
                                ".json")
    source, X_tr, y_tr, X_te, y_te = load_data(args.quick)
    probe = make_embedder(args.recipe, args.seed, args.quick, args.threads, overrides)
    X_fit = croppable(probe, X_tr)
    max_crops = args.max_crops if args.max_crops is not None else max(args.marks, default=0)

    if args.resume and state_path.exists():
        state = joblib.load(state_path)
        if state["recipe"] != args.recipe or state["seed"] != args.seed:
            sys.exit(f"{state_path} holds recipe={state['recipe']!r} seed={state['seed']}; "
                     f"asked for recipe={args.recipe!r} seed={args.seed}")
        trained = state.get("overrides", {"set": [], "precision": None})  # older: none
        if trained != changes:
            sys.exit(f"{state_path} was trained with {trained}; asked for "
                     f"{changes}: resume with the same --set and --precision")
        state["embedder"].set_params(n_threads=args.threads)
        if rank == 0:
            print(f"resumed {state_path}: chunk {state['chunk']}, {state['crops']} crops, "
                  f"{state['cpu_s'] / 60:.1f} CPU-min", flush=True)
    else:
        state = {"recipe": args.recipe, "seed": args.seed, "overrides": changes,
                 "chunk": 0, "crops": 0,
                 "cpu_s": 0.0, "wall_s": 0.0, "curve": [], "marks_done": [],
                 "embedder": probe}
    meta = {"source": source,
            "protocol": "README 70/30 split (train_test_split(test_size=0.3, stratify=label, "
                        "random_state=0)); the embedder trains on the training part only "
                        "(records at least one crop long); frozen EMA encoder, "
                        "StandardScaler + LogisticRegression, C in {0.01, 0.1, 1} by 3-fold "
                        "stratified CV (macro F1) on the training part; cv_train = 3-fold "
                        "out-of-fold scores on the training part, test = scored once per "
                        "mark",
            "training_threads": args.threads,
            "settings": {k: repr(v) for k, v in state["embedder"].get_params().items()
                         if k not in ("warm_start", "n_threads", "random_state")},
            "n_train": len(X_tr), "n_train_used_for_embedder": len(X_fit),
            "n_test": len(X_te), "crop_samples": probe._snippet_length()}

    chunks_now = 0
    while True:
        due = [m for m in args.marks if m not in state["marks_done"] and m <= state["crops"]]
        evaluated = {row["crops_seen"] for row in state["curve"]}
        if state["crops"] in evaluated:  # a mark added on resume where a row already is
            state["marks_done"].extend(m for m in due if m > 0)
            due = [m for m in due if m == 0]
        rows = []
        if 0 in due:  # every process trains (together); rank 0 evaluates and writes
            model = random_init(args.recipe, args.seed, args.quick, args.threads, X_fit,
                                overrides)
        if 0 in due and rank == 0:
            rows.append({"crops_seen": 0, "chunks": 0, "train_cpu_minutes": 0.0,
                         "train_wall_minutes": 0.0, "random_init": True,
                         **evaluate(model, X_tr, y_tr, X_te, y_te)})
        if any(m > 0 for m in due) and rank == 0:  # marks passed together: one evaluation
            rows.append({"crops_seen": state["crops"], "chunks": state["chunk"],
                         "train_cpu_minutes": state["cpu_s"] / 60,
                         "train_wall_minutes": state["wall_s"] / 60, "random_init": False,
                         **evaluate(state["embedder"], X_tr, y_tr, X_te, y_te)})
        if due:
            state["curve"].extend(rows)
            state["marks_done"].extend(due)
            for row in rows:
                print(json.dumps(row, default=float), flush=True)
            if rank == 0:
                save_state(state_path, state)
                write_report(json_path, state, meta)
        if state["crops"] >= max_crops or (args.stop_after_chunks is not None
                                           and chunks_now >= args.stop_after_chunks):
            break
        emb = state["embedder"].set_params(random_state=args.seed + state["chunk"])
        wall0, cpu0 = time.perf_counter(), time.process_time()
        emb.fit(X_fit)
        state["wall_s"] += time.perf_counter() - wall0
        state["cpu_s"] += time.process_time() - cpu0
        state["chunk"] += 1
        state["crops"] += len(X_fit)
        chunks_now += 1
        if rank > 0:
            continue
        loss = emb.history_[-1].get("train_loss")
        print(f"chunk {state['chunk']}: {state['crops']} crops, loss {loss:.4f}, "
              f"{state['wall_s'] / 60:.1f} wall-min, {state['cpu_s'] / 60:.1f} CPU-min",
              flush=True)
        save_state(state_path, state)
        write_report(json_path, state, meta)
    return state


if __name__ == "__main__":
    main()
