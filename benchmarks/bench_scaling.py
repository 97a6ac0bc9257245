"""Scaling out on one machine (issue 19): DiffAE training over processes, Optuna workers.

Two measurements, in one run, on the bundled CinC 2017 sample (280 records, 300 Hz):

1. DiffAEEmbedder training throughput (training crops per second, default
   architecture, ``batch_size`` 32, ``--steps`` optimizer steps after ``--warmup``
   steps) for one process with 2 torch threads vs two processes with 1 thread each,
   launched as ``torchrun --standalone --nproc_per_node 2`` (same global batch: the
   two-process run trains the same model). The time is the fit's wall time in the
   (rank 0) process, not counting start-up.
2. Optuna trials per hour of ``optuna_search`` (a DACL pipeline on ST features of the
   sample, grouped 3-fold CV, no pruning) with 1 worker (2 torch threads) vs 2 worker
   processes (1 thread each) on one study on a throwaway PostgreSQL server
   (``benchmarks/_pgserver.py``; needs the Debian ``postgresql`` package and psycopg2), each
   worker for ``--seconds`` (Optuna's ``timeout``); trials per hour count complete
   trials over the study's span (first trial start to last trial end).

The JSON (``results/bench_scaling.json``) records the ratios, the machine's load
average before and after each part, and ``--note`` (say there whether anything else
ran on the machine: a shared machine makes the ratios meaningless). Run alone:
``python -m benchmarks.bench_scaling --note "machine idle"`` (about 15 minutes);
``--quick`` is a smoke run (tiny model, seconds) written to ``bench_scaling_quick``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._common import write_json

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

TINY = {"snippet_seconds": 2.0, "embedding_dim": 8, "encoder_layers": 1, "encoder_width": 8,
        "unet_channels": (8, 16), "n_timesteps": 50}


# ----------------------------------------------------------------- workers (subprocesses)
def diffae_worker(args) -> None:
    """One training run; under torchrun, one rank of it. Rank 0 writes the timing."""
    import torch
    import torch.distributed as dist

    from sklearn_biodiff.datasets import load_cinc2017_sample
    from sklearn_biodiff.feature_extraction import DiffAEEmbedder

    if "RANK" in os.environ:
        dist.init_process_group("gloo")
    rank = dist.get_rank() if dist.is_initialized() else 0
    torch.set_num_threads(args.threads)
    data = load_cinc2017_sample()
    params = {**(TINY if args.quick else {}), "batch_size": 32, "random_state": 0,
              "device": "cpu", "lr_schedule": "constant"}
    emb = DiffAEEmbedder(**params)
    crop = emb._snippet_length()
    X = [x for x in data.signals if len(x) >= crop]
    emb.set_params(max_steps=args.warmup, max_epochs=100).fit(X)  # warm-up, then timed
    emb.set_params(warm_start=True, max_steps=args.steps)
    start = time.perf_counter()
    emb.fit(X)
    seconds = time.perf_counter() - start
    steps = sum(len(row["batches"]) for row in emb.history_) - args.warmup
    if steps != args.steps:  # the timed fit must run exactly the steps asked for
        raise RuntimeError(f"the timed fit ran {steps} steps, not --steps {args.steps}")
    if rank == 0:
        Path(args.out).write_text(json.dumps({
            "seconds": seconds, "steps": steps, "crops_per_second": steps * 32 / seconds,
            "torch_threads": torch.get_num_threads(),
            "processes": dist.get_world_size() if dist.is_initialized() else 1,
            "last_batch_loss": float(emb.history_[-1]["batches"][-1]["train_loss"]),
            "records": len(X), "crop_samples": crop}))
    if dist.is_initialized():
        dist.destroy_process_group()


def optuna_worker(args) -> None:
    """One optuna_search worker for ``args.seconds`` on ``args.url``."""
    import numpy as np
    import torch
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sklearn_biodiff.feature_extraction import DACLEmbedder
    from sklearn_biodiff.model_selection import DACLSearchSpace, optuna_search

    torch.set_num_threads(args.threads)
    with np.load(args.data) as f:
        X, y, groups = f["X"], f["y"], f["groups"]
    epochs = 2 if args.quick else 20
    pipe = make_pipeline(StandardScaler(), DACLEmbedder(max_epochs=epochs, random_state=0),
                         LogisticRegression(max_iter=1000))
    space = DACLSearchSpace(prefix="daclembedder__", vae_prefix=None)
    optuna_search(pipe, X, y, space, groups=groups, cv=3, n_trials=None,
                  timeout=args.seconds, storage=args.url, study_name=args.study,
                  random_state=0, pruner=None)


# ----------------------------------------------------------------- driver
def _load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def _python(*args, env=None):
    proc = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        raise RuntimeError(proc.stdout[-3000:] + proc.stderr[-3000:])


def bench_diffae(args, tmp: Path) -> dict:
    me = ["-m", "benchmarks.bench_scaling"]  # as a module (imports benchmarks), from REPO
    common = ["--steps", str(args.steps), "--warmup", str(args.warmup)]
    common += ["--quick"] if args.quick else []
    load_before = _load()
    one = tmp / "one.json"
    _python(*me, "--worker", "diffae", "--threads", "2", "--out", str(one), *common,
            env={"OMP_NUM_THREADS": "2"})
    two = tmp / "two.json"
    _python("-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", *me,
            "--worker", "diffae", "--threads", "1", "--out", str(two), *common,
            env={"OMP_NUM_THREADS": "1"})
    r1, r2 = json.loads(one.read_text()), json.loads(two.read_text())
    return {"one_process_2_threads": r1, "two_processes_1_thread": r2,
            "speedup_two_processes": r2["crops_per_second"] / r1["crops_per_second"],
            "load_average_before": load_before, "load_average_after": _load()}


def bench_optuna(args, tmp: Path) -> dict:
    import optuna

    from benchmarks._pgserver import PostgresServer, postgres_bindir

    bindir = postgres_bindir()
    if bindir is None:
        return {"skipped": "PostgreSQL binaries not found (apt-get install postgresql)"}
    import numpy as np

    from sklearn_biodiff.datasets import binary_task, load_cinc2017_sample
    from sklearn_biodiff.feature_extraction import ScatteringFeatures

    me = ["-m", "benchmarks.bench_scaling"]
    data = load_cinc2017_sample()  # ST features once, shared by the workers
    idx, y = binary_task(data.target, "normal_vs_abnormal")
    X = ScatteringFeatures(J=6, Q=4).fit_transform([data.signals[i] for i in idx])
    np.savez(tmp / "features.npz", X=X, y=y, groups=np.asarray(data.groups)[idx])
    out = {"load_average_before": _load()}
    with PostgresServer(bindir) as server:
        for workers, threads in ((1, 2), (2, 1)):
            url = server.create_database()
            common = ["--worker", "optuna", "--threads", str(threads), "--url", url,
                      "--study", "bench", "--seconds", str(args.seconds),
                      "--data", str(tmp / "features.npz")]
            common += ["--quick"] if args.quick else []
            env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
            start = time.perf_counter()
            procs = [subprocess.Popen([sys.executable, *me, *common], cwd=REPO, env=env,
                                      stderr=subprocess.PIPE, text=True)
                     for _ in range(workers)]
            for p in procs:
                _, err = p.communicate()
                if p.returncode != 0:
                    raise RuntimeError(err[-3000:])
            elapsed = time.perf_counter() - start
            trials = optuna.load_study(study_name="bench", storage=url).trials
            done = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
            # the study's own clock: first trial start to last trial end (no start-up)
            span = (max(t.datetime_complete for t in done)
                    - min(t.datetime_start for t in trials)).total_seconds() if done else 0
            out[f"{workers}_workers"] = {
                "threads_per_worker": threads, "wall_seconds": elapsed,
                "study_seconds": span,
                "complete_trials": len(done), "all_trials": len(trials),
                "trials_per_hour": len(done) / span * 3600 if span else 0.0,
                "distinct_parameter_sets": len({json.dumps(t.params, sort_keys=True)
                                                for t in trials})}
    out["ratio_2_vs_1_workers"] = (out["2_workers"]["trials_per_hour"]
                                   / max(out["1_workers"]["trials_per_hour"], 1e-9))
    out["load_average_after"] = _load()
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=["diffae", "optuna"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out")
    parser.add_argument("--url")
    parser.add_argument("--study")
    parser.add_argument("--data")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--note", default="", help="what else ran on the machine")
    args = parser.parse_args(argv)
    if args.worker == "diffae":
        return diffae_worker(args)
    if args.worker == "optuna":
        return optuna_worker(args)
    if args.quick:
        args.steps, args.warmup, args.seconds = 4, 1, 20.0
    with tempfile.TemporaryDirectory() as tmp:
        payload = {
            "protocol": " ".join(" ".join(__doc__.split("\n\n")[1:3]).split()),
            "note": args.note, "cpu_count": os.cpu_count(), "quick": args.quick,
            "diffae_training": bench_diffae(args, Path(tmp)),
            "optuna_postgresql": bench_optuna(args, Path(tmp)),
        }
    write_json("bench_scaling_quick" if args.quick else "bench_scaling", payload, seeds=[0])


if __name__ == "__main__":
    main()
