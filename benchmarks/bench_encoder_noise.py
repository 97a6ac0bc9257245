"""Where DiffAE's encoder noise is drawn (issue 19): the loader (numpy) vs the device (torch).

``DiffAEEmbedder(encoder_noise=AddNoise(...))`` corrupts every training crop. With
``TorchEngine(noise_device="loader")`` that happens in numpy, crop by crop, in the main process
while the batch is assembled (``CropDataset._noisy``); with ``"device"`` the training
step corrupts the whole batch on the training device (``AddNoise.corrupt_batch``).

Protocol: ``--batches`` batches of 32 crops of 2992 samples (10 s at 300 Hz, the
default crop) cut from the bundled CinC 2017 sample, standardised as ``fit`` does;
``AddNoise("mixture", snr_db=(0, 24))``; the time to corrupt one batch on the CPU in
each mode (median over the batches, after one warm-up batch), and for scale the
time of one training step (forward, backward, optimizer) of the default
``DiffAEEmbedder`` on the CPU with the same batch (median of ``--steps`` steps after
one warm-up step). One torch thread (``torch.set_num_threads(1)``); run it with
``OMP_NUM_THREADS=1 nice -n 19`` on an otherwise idle machine and say so in
``--note``. On a GPU the training step shrinks by orders of magnitude while the
loader's numpy work stays on one CPU thread: the ratio ``loader / step`` printed here
is the share of a CPU step; the device mode's CPU time is an upper bound of its GPU
time (not measured here: no GPU).

``python -m benchmarks.bench_encoder_noise --note "machine idle"`` (about a minute)
writes ``results/bench_encoder_noise.json``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from benchmarks._common import write_json

HERE = Path(__file__).resolve().parent

SEED = 0
BATCH = 32


def _median_time(fn, n: int) -> float:
    fn()  # warm-up (caches, first allocation)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--note", default="")
    ap.add_argument("--name", default="bench_encoder_noise")
    args = ap.parse_args(argv)

    import numpy as np
    import torch

    from sklearn_biodiff.datasets import load_cinc2017_sample
    from sklearn_biodiff.feature_extraction import DiffAEEmbedder
    from sklearn_biodiff.nets.losses import CropDataset
    from sklearn_biodiff.noise import AddNoise

    torch.set_num_threads(1)
    data = load_cinc2017_sample()
    emb = DiffAEEmbedder(device="cpu", random_state=SEED)
    length = emb._snippet_length()
    _, records, _ = emb._prepare(data.signals, min_seconds=length / emb.model_fs,
                                 what="bench")
    noise = AddNoise("mixture", snr_db=(0.0, 24.0), fs=emb.model_fs)
    dataset = CropDataset(records, length, seed=SEED, corrupt=noise.corrupt)
    rng = np.random.RandomState(SEED)

    def crops():
        idx = rng.choice(len(records), BATCH, replace=False)
        return np.stack([dataset._crop(int(i)) for i in idx])

    batches = [crops() for _ in range(args.batches + 1)]
    it = iter(batches)
    loader_s = _median_time(lambda: dataset._noisy(next(it)), args.batches)

    gen = torch.Generator().manual_seed(SEED)
    tensors = [torch.as_tensor(b) for b in batches]
    it = iter(tensors)
    device_s = _median_time(lambda: noise.corrupt_batch(next(it), gen), args.batches)

    emb._init_torch_state()
    emb.n_leads_in_ = 1
    net = emb._build_net(len(records), SEED)
    net.initialize()
    batch = ({"x0": tensors[0], "x_enc": noise.corrupt_batch(tensors[0], gen)},
             torch.zeros(BATCH))
    step_s = _median_time(lambda: net.train_step(batch), args.steps)

    result = {
        "protocol": f"{args.batches} batches of {BATCH} crops x {length} samples (1 lead) "
                    "from the bundled CinC 2017 sample, AddNoise('mixture', snr_db=(0, 24)) "
                    "at 300 Hz; median seconds per batch after one warm-up; training step "
                    f"= DiffAEEmbedder() defaults on CPU, median of {args.steps} train_step "
                    "calls after one warm-up; 1 torch thread",
        "note": args.note,
        "crop_samples": length, "batch_size": BATCH,
        "loader_numpy_seconds_per_batch": loader_s,
        "device_torch_cpu_seconds_per_batch": device_s,
        "train_step_cpu_seconds": step_s,
        "loader_over_device": loader_s / device_s,
        "loader_over_train_step": loader_s / step_s,
        "device_over_train_step": device_s / step_s,
    }
    write_json(args.name, result, seeds=[SEED])
    return result


if __name__ == "__main__":
    main()
