"""Peak memory of load_wfdb_database on a 24-hour, two-lead Holter-sized record.

Writes one synthetic WFDB record (250 Hz, 2 leads, 24 h = 21.6 M samples per lead,
format 16, 86 MB on disk) with a rhythm change every 30 minutes, then loads it in a
fresh process per setting and reports the peak resident memory of that process
(``ru_maxrss``), the memory after ``import sklearn_biodiff`` alone, the size of the
returned windows and the wall time. For comparison, one ``wfdb.rdrecord`` of the
whole record in a fresh process.

    python -m benchmarks.bench_wfdb_memory [--folder /tmp/holter24]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from benchmarks._common import write_json

FS, HOURS, LEADS = 250, 24, ("MLII", "V1")

_CHILD = r"""
import json, resource, sys, time
import numpy as np
import sklearn_biodiff.datasets as ds
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
kwargs = json.loads(sys.argv[2])
t0 = time.perf_counter()
if kwargs.pop("whole_rdrecord", False):
    import wfdb
    out = wfdb.rdrecord(sys.argv[1] + "/holter").p_signal
    nbytes, shape = out.nbytes, out.shape
else:
    d = ds.load_wfdb_database(sys.argv[1], **kwargs)
    nbytes, shape = d.signals.nbytes, d.signals.shape
print(json.dumps({"import_mb": base, "seconds": time.perf_counter() - t0,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "output_mb": nbytes / 2**20, "shape": list(shape)}))
"""


def write_record(folder: Path) -> None:
    import wfdb

    folder.mkdir(parents=True, exist_ok=True)
    n = FS * 3600 * HOURS
    if not (folder / "holter.dat").is_file():
        block = FS * 3600
        t = np.arange(block) / FS
        with open(folder / "holter.dat", "wb") as f:
            for h in range(HOURS):
                x = np.stack([np.sin(2 * np.pi * 1.1 * t + h), np.cos(2 * np.pi * 0.9 * t)], 1)
                (x * 1000).astype("<i2").tofile(f)  # interleaved frames, 1 µV units
    lines = [f"holter {len(LEADS)} {FS} {n}"]
    lines += [f"holter.dat 16 1000/mV 16 0 0 0 0 {name}" for name in LEADS]
    (folder / "holter.hea").write_text("\n".join(lines) + "\n")
    changes = np.arange(0, n, FS * 1800)
    wfdb.wrann("holter", "atr", changes, symbol=["+"] * len(changes),
               aux_note=["(N" if i % 2 == 0 else "(AFIB" for i in range(len(changes))],
               write_dir=str(folder))
    (folder / "RECORDS").write_text("holter\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=Path("/tmp/holter24"))
    args = parser.parse_args()
    write_record(args.folder)
    settings = {
        "both leads, 250 Hz": {},
        "both leads, resampled to 125 Hz": {"fs": 125},
        "MLII only, 250 Hz": {"leads": "MLII"},
        "whole record with wfdb.rdrecord (reference)": {"whole_rdrecord": True},
    }
    results = {}
    for name, kwargs in settings.items():
        out = subprocess.run([sys.executable, "-c", _CHILD, str(args.folder),
                              json.dumps(kwargs)], capture_output=True, text=True, check=True)
        results[name] = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{name}: {results[name]}", flush=True)
    write_json("bench_wfdb_memory", {
        "record": {"fs": FS, "hours": HOURS, "leads": list(LEADS), "format": "16"},
        "settings": results, "deterministic": True}, seeds=[])


if __name__ == "__main__":
    main()
