"""Transform throughput of the shipped checkpoints and ScatteringFeatures (issue 16).

Records per second of ``transform`` on the first ``--n`` test records of the README
split (real CinC 2017 records, 9-61 s at 300 Hz), fitted estimators, three ways on the
machine's cores:

* ``1 thread``: one process, ``n_threads=1`` (``n_jobs=1`` for ScatteringFeatures);
* ``2 threads``: one process, ``n_threads=2`` (``n_jobs=2``);
* ``2 processes x 1 thread``: ``sklearn_biodiff.parallel.transform_in_chunks(...,
  n_jobs=2, n_threads=1)`` (loky workers; the workers are started before timing).

Each way is timed ``--repeats`` times (wall clock, median and range) after one warm-up
call, and the process CPU time of the one-thread way is recorded too (records per
CPU-second, which does not depend on what else the machine is doing). The load average
before each measurement goes into the JSON: run it on an otherwise idle machine, or the
wall-clock figures say more about the other work than about ours.

``--readout attention attention+stats`` times each checkpoint with each
``DiffAEEmbedder(readout=...)``; a readout other than ``"attention"`` is keyed
``"NAME, readout=READOUT"``.

JSON: ``results/bench_transform_speed.json``.
Run: ``python -m benchmarks.bench_transform_speed [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from benchmarks import _protocol
from benchmarks._common import write_json
from sklearn_biodiff.feature_extraction import DiffAEEmbedder, ScatteringFeatures
from sklearn_biodiff.feature_extraction._diffae import READOUTS
from sklearn_biodiff.parallel import transform_in_chunks
from sklearn_biodiff.pretrained import list_pretrained


def _timed(fn, repeats: int) -> dict:
    fn()  # warm-up: first-call allocations, worker start-up
    walls, loads = [], []
    for _ in range(repeats):
        loads.append(os.getloadavg()[0])
        t0 = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
    return {"wall_seconds": walls, "load_average_1min_before": loads}


def measure(est, X, repeats: int, set_threads) -> dict:
    n = len(X)
    out = {}
    set_threads(est, 1)
    est.transform(X[:8])  # warm-up: filters, first-call allocations
    c0 = time.process_time()
    t0 = time.perf_counter()
    est.transform(X)
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    out["1 thread, CPU"] = {"records_per_cpu_second": n / cpu, "wall_seconds": wall}
    for label, threads, jobs in (("1 thread", 1, None), ("2 threads", 2, None),
                                 ("2 processes x 1 thread", 1, 2)):
        set_threads(est, threads)
        if jobs is None:
            res = _timed(lambda: est.transform(X), repeats)
        else:
            def chunked(jobs=jobs):
                return transform_in_chunks(est, X, n_jobs=jobs, n_threads=1,
                                           chunk_size=-(-n // (2 * jobs)))

            res = _timed(chunked, repeats)
        rates = [n / w for w in res["wall_seconds"]]
        out[label] = {**res, "records_per_second_median": float(np.median(rates)),
                      "records_per_second_range": [float(min(rates)), float(max(rates))]}
        print(label, round(out[label]["records_per_second_median"], 1), "records/s",
              flush=True)
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1000, help="test records timed")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--name", nargs="*", default=None, help="checkpoints (default: all)")
    ap.add_argument("--readout", nargs="+", default=["attention"],
                    choices=READOUTS)
    ap.add_argument("--quick", action="store_true", help="bundled sample (tests)")
    args = ap.parse_args(argv)
    pre = _protocol
    source, X_tr, _, X_te, _ = pre.load_data(args.quick)
    X = X_te[: args.n]
    lengths = np.array([len(x) for x in X])
    report = {"source": source, "n_records": len(X), "repeats": args.repeats,
              "record_seconds": {"mean": float(lengths.mean() / 300),
                                 "min": float(lengths.min() / 300),
                                 "max": float(lengths.max() / 300)},
              "cpu_count": os.cpu_count(), "estimators": {}}

    def torch_threads(est, k):
        est.set_params(n_threads=k)

    def st_threads(est, k):
        est.set_params(n_jobs=k)

    print("ScatteringFeatures()", flush=True)
    st = ScatteringFeatures().fit(X_tr[:2])
    report["estimators"]["ScatteringFeatures()"] = measure(st, X, args.repeats, st_threads)
    for name in args.name or list_pretrained():
        for readout in args.readout:
            key = name if readout == "attention" else f"{name}, readout={readout}"
            print(key, flush=True)
            emb = DiffAEEmbedder.from_pretrained(name, readout=readout).fit(X_tr[:2])
            report["estimators"][key] = measure(emb, X, args.repeats, torch_threads)
    write_json("bench_transform_speed" + ("_quick" if args.quick else ""), report,
               seeds=[0])
    return report


if __name__ == "__main__":
    main()
