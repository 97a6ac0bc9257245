"""Build ``sklearn_biodiff/noise/data/nstdb_noise.npz`` from the MIT-BIH NSTDB.

Channel 0 of the noise records ``bw`` (baseline wander) and ``ma`` (muscle
artifact), 360 Hz -> 300 Hz (``scipy.signal.resample_poly(x, 5, 6)``), stored as
int16 in units of 1/200 mV (the records' ADC gain), compressed.

Usage: ``python -m scripts.make_nstdb_noise ../shared/data/nstdb``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import wfdb
from scipy.signal import resample_poly

OUT = Path(__file__).resolve().parents[1] / "sklearn_biodiff/noise/data/nstdb_noise.npz"
GAIN = 200.0  # digital units per mV, as in the NSTDB headers


def main(src: str) -> None:
    arrays = {}
    for name in ("bw", "ma"):
        rec = wfdb.rdrecord(str(Path(src) / name))
        assert rec.fs == 360, rec.fs
        mv = rec.p_signal[:, 0]
        arrays[name] = np.round(resample_poly(mv, 5, 6) * GAIN).astype(np.int16)
    np.savez_compressed(OUT, fs=np.float64(300.0), gain=np.float64(GAIN), **arrays)
    print(OUT, OUT.stat().st_size, "bytes")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/nstdb")
