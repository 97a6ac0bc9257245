"""Build the bundled CinC 2017 sample (``sklearn_biodiff/datasets/data``).

Run once from the repository root with the full archive::

    python -m scripts.make_cinc2017_sample ../shared/data/cinc2017.tar.xz

Draws a fixed number of records per class (seeded), stores them as int16 ADC
counts (gain 1000/mV, as published) concatenated in one compressed ``.npz``, with
whether each lies in the README split's training part.
"""

import sys
from pathlib import Path

import numpy as np

from benchmarks._common import readme_split
from sklearn_biodiff.datasets import load_physionet2017

PER_CLASS = {"N": 100, "A": 60, "O": 80, "~": 40}
OUT = Path(__file__).resolve().parents[1] / "sklearn_biodiff/datasets/data/cinc2017_sample.npz"


def main(path):
    data = load_physionet2017(path)
    rng = np.random.RandomState(2017)
    idx = np.sort(np.concatenate([
        rng.choice(np.flatnonzero(data.target == c), n, replace=False)
        for c, n in PER_CLASS.items()
    ]))
    sigs = [np.round(data.signals[i] * 1000).astype(np.int16) for i in idx]
    # which sample records lie in the README split's training part (the part the shipped
    # checkpoints were pretrained on), so that users can keep them out of evaluations
    train_part, _ = readme_split(data.target)
    lengths = np.array([len(s) for s in sigs], dtype=np.int64)
    np.savez_compressed(
        OUT,
        counts=np.concatenate(sigs),
        lengths=lengths,
        record_ids=data.record_ids[idx],
        target=data.target[idx],
        in_readme_training_part=np.isin(idx, train_part),
        gain=np.float32(1000.0),
    )
    print(OUT, OUT.stat().st_size, "bytes", len(idx), "records")


if __name__ == "__main__":
    main(sys.argv[1])
