"""Transform throughput on a busy machine: the default thread count against one thread.

torch's threads wait for each other by spinning, so with more threads than free cores
most of their CPU time goes to waiting. ``n_threads=None`` (the default of every torch
estimator) now picks :func:`sklearn_biodiff.base.auto_thread_count`: torch's setting
lowered to the cores no other process is busy on at the moment of the call.

Protocol: ``DiffAEEmbedder.from_pretrained(DEFAULT_PRETRAINED, readout=DEFAULT_READOUT)``
embeds the first ``--n`` test records of the README split (real CinC 2017 records,
9-61 s at 300 Hz; ``--quick``: the bundled sample), with

* ``n_threads=None`` (the default, automatic),
* ``n_threads=1``,
* ``n_threads=<cores>`` (what ``None`` meant before: torch's own setting),

in turn, ``--repeats`` rounds, once on the machine as it is and once with
``--competitors`` other processes each keeping one core busy (a pure-Python loop, so
they do no I/O and hold no lock of ours). The figure is records per CPU-second of this
process (``time.process_time``), which counts the work our threads did, spinning
included, and not the time the competitors held the cores. The load average and the
other runnable tasks at the start of each measurement go into the JSON.

JSON: ``results/bench_busy_threads.json``.
Run: ``python -m benchmarks.bench_busy_threads [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np

from benchmarks import _protocol
from benchmarks._common import write_json
from sklearn_biodiff.base import _other_runnable_tasks, _usable_cores, auto_thread_count
from sklearn_biodiff.feature_extraction import DiffAEEmbedder
from sklearn_biodiff.pretrained import DEFAULT_PRETRAINED, DEFAULT_READOUT

#: the thread settings compared, by label
SETTINGS = {"default (n_threads=None)": None, "n_threads=1": 1}


def _competitors(n: int) -> list[subprocess.Popen]:
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    time.sleep(1.0)  # let them reach their loop
    return procs


def _measure(emb, X, n_threads) -> dict:
    emb.set_params(n_threads=n_threads)
    others = _other_runnable_tasks()
    load = os.getloadavg()[0]
    chosen = auto_thread_count() if n_threads is None else n_threads
    c0, t0 = time.process_time(), time.perf_counter()
    emb.transform(X)
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    return {"records_per_cpu_second": len(X) / cpu, "records_per_second": len(X) / wall,
            "cpu_seconds": cpu, "wall_seconds": wall, "threads": chosen,
            "other_runnable_tasks_before": others, "load_average_1min_before": load}


def run_condition(emb, X, settings: dict, repeats: int) -> dict:
    """Each setting ``repeats`` times, interleaved so that drifting load hits all alike."""
    rows: dict[str, list] = {label: [] for label in settings}
    for _ in range(repeats):
        for label, n_threads in settings.items():
            rows[label].append(_measure(emb, X, n_threads))
            print(f"  {label}: {rows[label][-1]['records_per_cpu_second']:.1f} "
                  f"records/CPU-s ({rows[label][-1]['threads']} thread(s))", flush=True)
    return {label: {"runs": runs,
                    "records_per_cpu_second_median": float(np.median(
                        [r["records_per_cpu_second"] for r in runs])),
                    "records_per_second_median": float(np.median(
                        [r["records_per_second"] for r in runs]))}
            for label, runs in rows.items()}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=300, help="test records embedded per run")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--competitors", type=int, default=None,
                    help="busy processes in the loaded condition (default: the cores)")
    ap.add_argument("--quick", action="store_true", help="bundled sample (tests)")
    args = ap.parse_args(argv)
    cores = _usable_cores()
    n_comp = cores if args.competitors is None else args.competitors
    source, X_tr, _, X_te, _ = _protocol.load_data(args.quick)
    X = X_te[: args.n]
    import torch

    settings = {**SETTINGS, f"n_threads={torch.get_num_threads()} (torch's, the old "
                            "default)": torch.get_num_threads()}
    emb = DiffAEEmbedder.from_pretrained(DEFAULT_PRETRAINED, readout=DEFAULT_READOUT,
                                         n_threads=1).fit(X_tr[:2])
    emb.transform(X[:8])  # warm-up
    report = {"source": source, "n_records": len(X), "repeats": args.repeats,
              "checkpoint": DEFAULT_PRETRAINED, "readout": DEFAULT_READOUT,
              "usable_cores": cores, "torch_threads": torch.get_num_threads(),
              "competitors": n_comp, "conditions": {}}
    print("machine as it is", flush=True)
    report["conditions"]["as is"] = run_condition(emb, X, settings, args.repeats)
    print(f"with {n_comp} busy process(es)", flush=True)
    procs = _competitors(n_comp)
    try:
        report["conditions"]["busy"] = run_condition(emb, X, settings, args.repeats)
    finally:
        for p in procs:
            p.kill()
            p.wait()
    for name, cond in report["conditions"].items():
        default = cond["default (n_threads=None)"]["records_per_cpu_second_median"]
        one = cond["n_threads=1"]["records_per_cpu_second_median"]
        cond["default_over_one_thread"] = default / one
        print(f"{name}: default / one thread = {default / one:.2f} (records per CPU-second)")
    write_json("bench_busy_threads" + ("_quick" if args.quick else ""), report, seeds=[0])
    return report


if __name__ == "__main__":
    main()
