"""How close the DiffAE encoder, its denoiser and ScatteringFeatures run to the compute bound.

Issue 34. One process, ``--n`` records drawn at random (seed 0) from the test part of the
README split of CinC 2017 (real records, 9-61 s at 300 Hz); everything below is measured
in the same run, so the bound and the rates share the machine's state:

* **dense rate**: the best float32 GEMM rate of one core (a 1024^3 ``torch.mm``, and the
  encoder's own shape, 9088 x 64 x 128), GFLOP per CPU-second;
* **FLOPs per record**: counted with ``torch.utils.flop_counter.FlopCounterMode`` on the
  real records (matrix products and convolutions; the in-place ``addmm_``/``baddbmm_`` are
  counted like their out-of-place forms; FFTs of ScatteringFeatures at ``5 n log2 n`` per
  complex and ``2.5 n log2 n`` per real transform; elementwise work is not counted). For the
  encoder the LRU scan's Toeplitz products are split off: the *model* FLOPs are the dense
  layers plus the scan's own arithmetic, 8 real FLOPs per complex state and step (one
  complex multiply-add), which is what any implementation must do; the *executed* FLOPs
  include the zeros of the Toeplitz blocks;
* **bound** = dense rate / model FLOPs per record (records per CPU-second if every FLOP ran
  at the GEMM rate), and the **achieved fraction** = measured rate / bound;
* **transform**: ``DiffAEEmbedder.from_pretrained(DEFAULT_PRETRAINED)`` with the
  estimator's default readout and with ``DEFAULT_READOUT``, the current path ("after")
  and the implementation before issue 34 ("before": ``_encode_reference``, kept in the
  estimator) interleaved ``--repeats`` times in this process, with one and two torch
  threads: records per CPU-second (``time.process_time``) and records per wall-second;
  both paths include validation and standardisation. The outputs of both are compared;
* **training step**: the default ``DiffAEModule`` architecture, batches of 32 crops of
  10 s from the same records (fixed seed), forward + noise-prediction loss + backward +
  Adam, the current encoder and the reference encoder (``forward_reference``) from the
  same initial weights and the same draws, interleaved step by step: crops per
  CPU-second and the two loss curves; a third row runs the current path with the
  forward under bfloat16 autocast (what ``engine=TorchEngine(precision="bf16")`` does;
  fast on CPUs with bfloat16 matrix units such as AMX), with its loss curve's largest
  relative difference from the float32 one and its own bound from the bfloat16 GEMM
  rate measured in the same run;
* ScatteringFeatures(): records per CPU-second with one thread, FFT-counted FLOPs.

The machine may be shared: CPU time is robust to other processes' time slices but not to
their use of caches and memory bandwidth, so before and after are interleaved and the
1-minute load average before each measurement is recorded. Wall-clock rates with two
threads are only meaningful on an otherwise idle machine.

JSON: ``results/bench_compute_bound.json``.
Run: ``OMP_WAIT_POLICY=PASSIVE nice python -m benchmarks.bench_compute_bound [--n 300]
[--quick]`` (without ``OMP_NUM_THREADS=1`` in the environment, which would make the
reference's two-thread runs spin; passive waiting keeps OpenMP threads from spinning on a
shared machine; both are recorded).
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks import _protocol
from benchmarks._common import write_json
from sklearn_biodiff.diffusion import q_sample
from sklearn_biodiff.feature_extraction import DiffAEEmbedder, ScatteringFeatures
from sklearn_biodiff.modules.diffae import DiffAEModule
from sklearn_biodiff.pretrained import DEFAULT_PRETRAINED, DEFAULT_READOUT

ATEN = torch.ops.aten


# ----------------------------------------------------------------------------- FLOPs
def _fft_flops(complex_input: bool, halved: bool):
    """A FlopCounterMode formula for the FFT ops: ``5 n log2 n`` (complex), half for real."""

    def formula(x_shape, dim, *args, out_shape=None, **kwargs):
        shape = out_shape if halved and not complex_input else x_shape
        n = math.prod(x_shape[d] if not halved else max(x_shape[d], out_shape[d])
                      for d in dim)
        batch = math.prod(shape) // max(1, math.prod(shape[d] for d in dim))
        per = 5.0 * n * math.log2(max(n, 2))
        return int(batch * (per / 2 if halved else per))

    return formula


def flop_counter():
    """FlopCounterMode that also counts in-place GEMMs and FFTs."""
    from torch.utils.flop_counter import FlopCounterMode, addmm_flop, baddbmm_flop

    def as_is(formula):  # already shape-wrapped by torch: not to be wrapped again
        def counted(*args, **kwargs):
            return formula(*args, **kwargs)

        counted._get_raw = True
        return counted

    return FlopCounterMode(display=False, custom_mapping={
        ATEN.addmm_: as_is(addmm_flop),
        ATEN.baddbmm_: as_is(baddbmm_flop),
        ATEN._fft_c2c: _fft_flops(True, False),
        ATEN._fft_r2c: _fft_flops(False, True),
        ATEN._fft_c2r: _fft_flops(True, True),
    })


def _split_scan(counts: dict) -> tuple[int, int]:
    """(total, scan) FLOPs of a counter's ``get_flop_counts()``.

    The scan's are the batched products (``bmm``, ``baddbmm``) counted inside the LRU
    layers (the only batched products there), or inside the LRU blocks where the
    layer is not entered through ``__call__`` (the inference path).
    """
    total = sum(counts.get("Global", {}).values())

    def last(name):
        return name.split(".")[-1].lower()

    keys = [k for k in counts if last(k) == "lru"] or [k for k in counts
                                                        if last(k) == "lrublock"]
    scan = sum(v for k in keys for op, v in counts[k].items()
               if str(op).split(".")[-1].rstrip("_") in ("bmm", "baddbmm"))
    return int(total), int(scan)


def encoder_flops(emb: DiffAEEmbedder, records: list, readout: str) -> dict:
    """Counted FLOPs of ``_encode`` and of the reference path, per record."""
    enc = emb._module().encoder
    frames = np.array([-(-r.shape[-1] // enc.stride) for r in records])
    n_layers, width = len(enc.blocks), enc.blocks[0].lru.B_re.shape[0]
    out = {}
    for label, fn in (("after", lambda: emb._encode(records, readout=readout)),
                      ("before", lambda: emb._encode_reference(records, readout=readout))):
        with flop_counter() as fc:
            fn()
        total, scan = _split_scan(fc.get_flop_counts())
        out[label] = {"executed_per_record": total / len(records),
                      "scan_products_per_record": scan / len(records)}
    dense = out["after"]["executed_per_record"] - out["after"]["scan_products_per_record"]
    scan_min = 8.0 * width * n_layers * frames.sum() / len(records)
    return {**out, "dense_layers_per_record": dense, "scan_arithmetic_per_record": scan_min,
            "model_per_record": dense + scan_min, "frames_per_record": float(frames.mean())}


# ----------------------------------------------------------------------------- rates
#: the GEMMs :func:`dense_rate` times: (m, k, n, dtype)
DENSE_GEMMS = {"1024^3": (1024, 1024, 1024, torch.float32),
               "encoder 9088x64x128": (9088, 64, 128, torch.float32),
               "1024^3 bfloat16": (1024, 1024, 1024, torch.bfloat16)}


def dense_rate(threads: int, seconds: float = 1.0) -> dict:
    """Best GEMM rate (GFLOP per CPU-second) of ``threads`` torch threads, per
    :data:`DENSE_GEMMS` entry (float32, and bfloat16 for the mixed-precision row)."""
    torch.set_num_threads(threads)
    out = {}
    for label, (m, k, n, dtype) in DENSE_GEMMS.items():
        a, b = torch.randn(m, k, dtype=dtype), torch.randn(k, n, dtype=dtype)
        c = torch.empty(m, n, dtype=dtype)
        torch.mm(a, b, out=c)
        best = 0.0
        t_end = time.process_time() + seconds
        while time.process_time() < t_end:
            c0 = time.process_time()
            for _ in range(5):
                torch.mm(a, b, out=c)
            best = max(best, 5 * 2 * m * k * n / (time.process_time() - c0) / 1e9)
        out[label] = best
    return out


def _timed(fn) -> tuple[float, float, float]:
    load = os.getloadavg()[0]
    c0, w0 = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - c0, time.perf_counter() - w0, load


def transform_rates(emb: DiffAEEmbedder, X: list, repeats: int, threads: int) -> dict:
    """After/before transform rates, interleaved, with ``threads`` torch threads."""
    emb.set_params(n_threads=threads)

    def after():
        return emb.transform(X)

    def before():
        _, records, _ = emb._check_inference_input(X)
        z, stats = emb._encode_reference(records, readout=emb.readout)
        return z if stats is None else np.hstack([z, stats])

    err = float(np.abs(after() - before()).max())  # also the warm-up
    rows = {"after": [], "before": []}
    for _ in range(repeats):
        for label, fn in (("after", after), ("before", before)):
            rows[label].append(_timed(fn))
    out = {"max_abs_difference": err}
    for label, runs in rows.items():
        cpu = np.array([r[0] for r in runs])
        wall = np.array([r[1] for r in runs])
        out[label] = {"cpu_seconds": cpu.tolist(), "wall_seconds": wall.tolist(),
                      "load_average_1min_before": [r[2] for r in runs],
                      "records_per_cpu_second": float(np.median(len(X) / cpu)),
                      "records_per_second": float(np.median(len(X) / wall))}
    out["speedup_cpu"] = (out["after"]["records_per_cpu_second"]
                          / out["before"]["records_per_cpu_second"])
    return out


# ----------------------------------------------------------------------------- training
def _crops(X: list, n: int, length: int, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    long_enough = [x for x in X if len(x) >= length]
    out = np.empty((n, 1, length), dtype=np.float32)
    for i in range(n):
        x = long_enough[rng.integers(len(long_enough))]
        s = rng.integers(len(x) - length + 1)
        c = x[s : s + length]
        out[i, 0] = (c - c.mean()) / (c.std() + 1e-8)
    return torch.as_tensor(out)


def _step(module, opt, x0, reference: bool, seed: int, bf16: bool = False) -> float:
    """One training step; ``bf16``: the forward under bfloat16 autocast, as
    ``engine=TorchEngine(precision="bf16")`` runs it (loss on float32 outputs)."""
    torch.manual_seed(seed)
    enc = module.encoder.forward_reference if reference else module.encoder
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        z, _ = enc(x0)
        t = torch.randint(1, module.n_timesteps + 1, (x0.shape[0],))
        eps = torch.randn_like(x0)
        eps_hat = module.denoiser(q_sample(x0, t, eps, module.schedule), t, z)
    loss = torch.nn.functional.mse_loss(eps_hat.float(), eps)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return float(loss)


#: the rows of the training measurement: (reference encoder, bfloat16 autocast)
TRAINING_ROWS = {"after": (False, False), "before": (True, False),
                 "after_bf16": (False, True)}


def training_rates(X: list, steps: int, batch: int, threads: int) -> dict:
    """Crops per CPU-second of a training step: current vs reference encoder, and the
    current one under bfloat16 autocast (:data:`TRAINING_ROWS`)."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    base = DiffAEModule()
    models = {k: copy.deepcopy(base) for k in TRAINING_ROWS}
    opts = {k: torch.optim.Adam(m.parameters(), lr=1e-3) for k, m in models.items()}
    batches = [_crops(X, batch, 3000, seed) for seed in range(steps + 1)]
    for k, m in models.items():  # warm-up on a batch of its own, same for all
        reference, bf16 = TRAINING_ROWS[k]
        _step(copy.deepcopy(m), torch.optim.Adam(copy.deepcopy(m).parameters()), batches[-1],
              reference, 0, bf16)
    losses = {k: [] for k in models}
    cpu = {k: [] for k in models}
    for i in range(steps):
        for k in models:
            c0 = time.process_time()
            reference, bf16 = TRAINING_ROWS[k]
            losses[k].append(_step(models[k], opts[k], batches[i], reference, 1000 + i, bf16))
            cpu[k].append(time.process_time() - c0)
    out = {"steps": steps, "batch": batch, "crop_samples": 3000,
           "loss_curves": losses,
           "max_abs_loss_difference": float(np.max(np.abs(
               np.subtract(losses["after"], losses["before"])))),
           "bf16_max_relative_loss_difference": float(np.max(np.abs(
               np.divide(losses["after_bf16"], losses["after"]) - 1)))}
    for k in models:
        c = np.array(cpu[k][1:] if steps > 2 else cpu[k])  # the first step allocates
        out[k] = {"cpu_seconds_per_step": c.tolist(),
                  "crops_per_cpu_second": float(batch / np.median(c))}
    for k in ("after", "after_bf16"):
        out["speedup_cpu" + k[5:]] = out[k]["crops_per_cpu_second"] / out["before"][
            "crops_per_cpu_second"]
    return out


def training_flops(batch: int) -> dict:
    """Counted FLOPs of one training step (forward and backward), by part."""
    torch.manual_seed(0)
    module = DiffAEModule()
    x0 = torch.randn(batch, 1, 3000)
    with flop_counter() as fc:
        eps_hat, eps = module(x0)
        torch.nn.functional.mse_loss(eps_hat, eps).backward()
    counts = fc.get_flop_counts()
    total, scan = _split_scan(counts)
    enc = sum(sum(v.values()) for k, v in counts.items() if k == "DiffAEModule.encoder")
    den = sum(sum(v.values()) for k, v in counts.items() if k == "DiffAEModule.denoiser")
    with flop_counter() as fc:
        with torch.no_grad():
            module.denoiser(x0, torch.ones(batch, dtype=torch.long),
                            torch.zeros(batch, module.encoder.reducer.attn.out_features))
    den_fwd = sum(fc.get_flop_counts()["Global"].values())
    frames = -(-3000 // module.encoder.stride)
    width = module.encoder.blocks[0].lru.B_re.shape[0]
    # the scan's own arithmetic, forward and backward (about twice the forward's)
    scan_min = 3 * 8.0 * width * len(module.encoder.blocks) * frames * batch
    return {"executed_per_crop": total / batch, "encoder_per_crop": enc / batch,
            "denoiser_per_crop": den / batch, "denoiser_forward_per_crop": den_fwd / batch,
            "scan_products_per_crop": scan / batch,
            "model_per_crop": (total - scan + scan_min) / batch}


def scattering(X: list, repeats: int) -> dict:
    torch.set_num_threads(1)
    st = ScatteringFeatures(n_jobs=1).fit(X[:2])
    st.transform(X[:8])
    with flop_counter() as fc:
        st.transform(X)
    flops = sum(fc.get_flop_counts()["Global"].values()) / len(X)
    runs = [_timed(lambda: st.transform(X)) for _ in range(repeats)]
    cpu = np.array([r[0] for r in runs])
    return {"flops_per_record": flops, "cpu_seconds": cpu.tolist(),
            "records_per_cpu_second": float(np.median(len(X) / cpu))}


# ----------------------------------------------------------------------------- main
def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=300, help="records drawn from the test part")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--train-steps", type=int, default=6)
    ap.add_argument("--quick", action="store_true", help="bundled sample (tests)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    pre = _protocol
    source, _, _, X_te, _ = pre.load_data(args.quick)
    rng = np.random.default_rng(0)
    X = [X_te[i] for i in rng.choice(len(X_te), min(args.n, len(X_te)), replace=False)]
    lengths = np.array([len(x) for x in X])
    report = {"source": source, "n_records": len(X), "repeats": args.repeats,
              "record_seconds": {"mean": float(lengths.mean() / 300),
                                 "min": float(lengths.min() / 300),
                                 "max": float(lengths.max() / 300)},
              "cpu": _cpu_name(), "cpu_count": os.cpu_count(),
              "environment": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS",
                                                              "OMP_WAIT_POLICY")},
              "checkpoint": DEFAULT_PRETRAINED}
    print("dense rate", flush=True)
    report["dense_gflops_per_cpu_second"] = {"1 thread": dense_rate(1),
                                             "2 threads": dense_rate(2)}
    torch.set_num_threads(1)
    peak = report["dense_gflops_per_cpu_second"]["1 thread"]["1024^3"]
    report["transform"] = {}
    for readout in dict.fromkeys(["attention", DEFAULT_READOUT]):
        print("transform", readout, flush=True)
        emb = DiffAEEmbedder.from_pretrained(DEFAULT_PRETRAINED, readout=readout,
                                             n_threads=1).fit(X[:2])
        _, records, _ = emb._check_inference_input(X)
        flops = encoder_flops(emb, records, readout)
        rates = {f"{k} thread{'s' if k > 1 else ''}": transform_rates(emb, X, args.repeats, k)
                 for k in (1, 2)}
        bound = peak * 1e9 / flops["model_per_record"]
        one = rates["1 thread"]
        report["transform"][readout] = {
            "flops": flops, "rates": rates, "bound_records_per_cpu_second": bound,
            "achieved_fraction": {k: one[k]["records_per_cpu_second"] / bound
                                  for k in ("after", "before")},
            "two_thread_wall_speedup": {
                k: rates["2 threads"][k]["records_per_second"] / one[k]["records_per_second"]
                for k in ("after", "before")}}
    print("training", flush=True)
    train = training_rates(X, args.train_steps, 32, 1)
    tflops = training_flops(32)
    bound = peak * 1e9 / tflops["model_per_crop"]
    report["training"] = {**train, "flops": tflops, "bound_crops_per_cpu_second": bound,
                          "achieved_fraction": {
                              k: train[k]["crops_per_cpu_second"] / bound
                              for k in ("after", "before")}}
    bf16_peak = report["dense_gflops_per_cpu_second"]["1 thread"]["1024^3 bfloat16"]
    report["training"]["bf16_bound_crops_per_cpu_second"] = (
        bf16_peak * 1e9 / tflops["model_per_crop"])
    print("scattering", flush=True)
    st = scattering(X, args.repeats)
    st["bound_records_per_cpu_second"] = peak * 1e9 / st["flops_per_record"]
    st["achieved_fraction"] = st["records_per_cpu_second"] / st["bound_records_per_cpu_second"]
    report["scattering"] = st
    write_json("bench_compute_bound" + ("_quick" if args.quick else ""), report, seeds=[0])
    return report


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    main()
