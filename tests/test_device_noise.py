"""Encoder noise drawn on the training device (issue 19): ``AddNoise.corrupt_batch``,
``make_noise_torch`` and ``DiffAEEmbedder(engine=TorchEngine(noise_device=...))``.

The torch noise must be the numpy noise model in distribution (exact per-record SNR,
unit power, the same spectra, shared or independent leads, ``source_span``), and a
device-mode fit must be reproducible and resume exactly. Everything runs on the CPU;
the code paths are those a CUDA or MPS device takes (no numpy, no host sync).
"""

import pickle

import numpy as np
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_biodiff._validation import SignalList
from sklearn_biodiff.engine import TorchEngine
from sklearn_biodiff.feature_extraction import DiffAEEmbedder
from sklearn_biodiff.nets._training import DeviceGenerator, DeviceNoise
from sklearn_biodiff.noise import (
    NOISE_KINDS,
    AddNoise,
    _sources,
    make_noise,
    make_noise_torch,
    measure_snr_db,
)

RNG = np.random.RandomState(0)
N = 3000
#: ECG-like rows with a DC offset (the offset is not signal power)
ROWS = torch.as_tensor(np.stack([np.sin(np.linspace(0, 40 * (1 + k / 7), N))
                                 + 0.3 * RNG.randn(N) + 2.0 for k in range(12)]),
                       dtype=torch.float32)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------ the noise model
@pytest.mark.parametrize("kind", NOISE_KINDS + (("gaussian", "muscle"),))
@pytest.mark.parametrize("snr", [24.0, 12.0, 0.0, -6.0])
def test_corrupt_batch_hits_the_requested_snr_on_every_record(kind, snr):
    noisy = AddNoise(kind, snr_db=snr).corrupt_batch(ROWS, _gen())
    assert noisy.shape == ROWS.shape and noisy.dtype == torch.float32
    for clean, nz in zip(ROWS.numpy(), noisy.numpy()):
        assert abs(measure_snr_db(clean, nz) - snr) < 1e-4


@pytest.mark.parametrize("kind", ["mixture", "gaussian"])
def test_snr_range_each_record_gets_its_drawn_snr(kind):
    noisy = AddNoise(kind, snr_db=(0.0, 24.0)).corrupt_batch(ROWS, _gen(3))
    # the SNRs are the generator's first draws: replay them
    drawn = (24.0 * torch.rand(len(ROWS), generator=_gen(3))).double().numpy()
    got = np.array([measure_snr_db(c, n) for c, n in zip(ROWS.numpy(), noisy.numpy())])
    np.testing.assert_allclose(got, drawn, rtol=0, atol=1e-4)
    assert got.min() >= 0 and got.max() <= 24 and got.std() > 3  # spread over the range


@pytest.mark.parametrize("kind", NOISE_KINDS + (("powerline", "gaussian"),))
def test_each_draw_has_zero_mean_and_unit_power(kind):
    n = make_noise_torch(kind, (6, 3), 2500, 300.0, _gen(1))
    assert n.shape == (6, 3, 2500) and n.dtype == torch.float32
    torch.testing.assert_close(n.mean(-1), torch.zeros(6, 3), rtol=0, atol=1e-5)
    torch.testing.assert_close(n.square().mean(-1), torch.ones(6, 3), rtol=0, atol=1e-5)
    # 18 distinct draws, not one repeated
    flat = n.reshape(18, -1)
    assert torch.cdist(flat, flat).add(torch.eye(18) * 1e9).min() > 1.0


def _band_fractions(draws, fs):
    spec = np.abs(np.fft.rfft(draws, axis=-1)) ** 2
    f = np.fft.rfftfreq(draws.shape[-1], 1 / fs)
    total = spec.sum(-1)
    return np.stack([spec[..., f < 1].sum(-1), spec[..., (f >= 1) & (f < 5)].sum(-1),
                     spec[..., (f >= 5) & (f < 40)].sum(-1), spec[..., f >= 40].sum(-1)],
                    -1) / total[..., None]


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_torch_and_numpy_noise_have_the_same_spectrum(kind):
    fs, n, draws = 300.0, 3000, 300
    rng = np.random.RandomState(0)
    ref = np.stack([make_noise(kind, n, fs, rng) for _ in range(draws)])
    got = make_noise_torch(kind, (draws,), n, fs, _gen(0)).double().numpy()
    # mean share of the power in < 1, 1-5, 5-40, > 40 Hz: the same within sampling error
    np.testing.assert_allclose(_band_fractions(got, fs).mean(0),
                               _band_fractions(ref, fs).mean(0), rtol=0, atol=0.03)


@pytest.mark.parametrize("fs, hz, harmonics", [(500.0, 50.0, [50, 100, 150]),
                                               (300.0, 60.0, [60, 120])])
def test_powerline_peaks_at_the_mains_harmonics_with_uniform_phases(fs, hz, harmonics):
    n = int(fs * 6)
    x = ROWS[:4, :n] if n <= N else ROWS[:4].repeat(1, 2)[:, :n]
    noisy = AddNoise("powerline", snr_db=0.0, fs=fs, powerline_hz=hz).corrupt_batch(
        x, _gen(2))
    added = (noisy - x).double().numpy()
    f = np.fft.rfftfreq(n, 1 / fs)
    for row in added:
        amp = np.abs(np.fft.rfft(row))
        top = sorted(f[np.argsort(amp)[-len(harmonics):]].round(6).tolist())
        assert top == harmonics  # and nothing at harmonics at or above Nyquist
        peaks = amp[[int(np.argmin(abs(f - h))) for h in harmonics]]
        np.testing.assert_allclose(peaks / peaks[0], [1.0, 0.5, 0.25][:len(harmonics)],
                                   rtol=1e-4)
        assert np.sort(amp)[-len(harmonics) - 1] < 1e-3 * peaks.min()
    # phases uniform on the circle (50 Hz is bin 500 of 3000 samples at 300 Hz)
    draws = make_noise_torch("powerline", (800,), 3000, 300.0, _gen(5)).double().numpy()
    phases = np.mod(np.angle(np.fft.rfft(draws, axis=-1)[:, 500]) + np.pi / 2, 2 * np.pi)
    assert np.histogram(phases, bins=4, range=(0, 2 * np.pi))[0].min() > 160
    with pytest.raises(ValueError, match="above the Nyquist"):
        AddNoise("powerline", fs=80.0, powerline_hz=50.0).corrupt_batch(x, _gen())


@pytest.mark.parametrize("leads", ["independent", "shared"])
def test_every_lead_gets_the_records_snr_with_independent_or_shared_noise(leads):
    t = torch.arange(N) / 300.0
    rec = torch.stack([torch.sin(2 * np.pi * 1.1 * t), 0.2 * torch.cos(2 * np.pi * 0.7 * t) + 3])
    X = torch.stack([rec * (1 + k) for k in range(6)])  # (6 records, 2 leads, N)
    noisy = AddNoise("gaussian", snr_db=(3.0, 9.0), leads=leads).corrupt_batch(X, _gen(4))
    assert noisy.shape == X.shape
    for clean, nz in zip(X.numpy(), noisy.numpy()):
        snrs = [measure_snr_db(c, n) for c, n in zip(clean, nz)]
        assert snrs[0] == pytest.approx(snrs[1], abs=1e-4)  # one SNR per record
        assert 3.0 <= snrs[0] <= 9.0
        added = nz.astype(np.float64) - clean
        corr = np.corrcoef(added / added.std(axis=1, keepdims=True))[0, 1]
        if leads == "shared":
            assert corr == pytest.approx(1.0, abs=1e-4)
        else:
            assert abs(corr) < 0.1
    one = [AddNoise(leads=m).corrupt_batch(X[:, :1], _gen(4)) for m in ("independent",
                                                                        "shared")]
    torch.testing.assert_close(one[0], one[1], rtol=0, atol=0)


def test_source_span_draws_real_noise_from_that_part_only(monkeypatch):
    fs, n = 300.0, 60_000
    t = np.arange(n) / fs
    fake = np.where(np.arange(n) < n // 2, np.sin(2 * np.pi * 1.0 * t),
                    np.sin(2 * np.pi * 7.0 * t))
    monkeypatch.setattr(_sources, "_real_noise_at", lambda kind, fs: fake)
    _sources._real_noise_tensor.cache_clear()  # drop the real recordings' tensors
    try:
        def peaks(span):
            x = make_noise_torch("muscle", (40,), 3000, fs, _gen(0), source_span=span)
            return set((np.argmax(np.abs(np.fft.rfft(x.double().numpy(), axis=-1)), -1)
                        * fs / 3000).tolist())

        assert peaks((0.0, 0.5)) == {1.0}
        assert peaks((0.5, 1.0)) == {7.0}
        assert peaks((0.0, 1.0)) >= {1.0, 7.0}
    finally:
        _sources._real_noise_tensor.cache_clear()
    with pytest.raises(ValueError, match="source_span"):
        AddNoise("muscle", source_span=(0.5, 0.5)).corrupt_batch(ROWS, _gen())


def test_real_noise_is_a_wrapped_segment_of_the_recording_as_in_numpy():
    # the construction of make_noise: a segment of the span, wrapping around inside it
    src = _sources._real_noise_at("baseline_wander", 300.0)
    span, n = (0.5, 0.5 + 6000 / len(src)), 3000  # a 6000-sample span: half the draws wrap
    got = make_noise_torch("baseline_wander", (8,), n, 300.0, _gen(7),
                           source_span=span).double().numpy()
    lo, hi = _sources._span_bounds(len(src), span)
    starts = torch.randint(hi - lo, (8,), generator=_gen(7)).numpy()  # the first draws
    assert (starts + n > hi - lo).any() and (starts + n <= hi - lo).any()
    for row, start in zip(got, starts):
        seg = np.take(src[lo:hi], np.arange(start, start + n), mode="wrap")
        seg = (seg - seg.mean()) / (seg - seg.mean()).std()
        np.testing.assert_allclose(row, seg, rtol=0, atol=1e-4)


def test_same_generator_state_same_noise_and_fresh_noise_per_call():
    noise = AddNoise("mixture", snr_db=(0.0, 24.0))
    a, b = noise.corrupt_batch(ROWS, _gen(9)), noise.corrupt_batch(ROWS, _gen(9))
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    g = _gen(9)
    first, second = noise.corrupt_batch(ROWS, g), noise.corrupt_batch(ROWS, g)
    torch.testing.assert_close(first, a, rtol=0, atol=0)
    assert not torch.allclose(first, second)
    assert not torch.allclose(a, noise.corrupt_batch(ROWS, _gen(10)))


def test_a_shard_gets_the_rows_of_the_global_batch_draws():
    noise = AddNoise("mixture", snr_db=(0.0, 24.0))
    full = noise.corrupt_batch(ROWS, _gen(11))
    g = _gen(11)
    part = noise.corrupt_batch(ROWS[3:8], g, rows=slice(3, 8), batch_size=len(ROWS))
    torch.testing.assert_close(part, full[3:8], rtol=0, atol=0)
    idx = torch.tensor([0, 5, 11])
    part = noise.corrupt_batch(ROWS[idx], _gen(11), rows=idx, batch_size=len(ROWS))
    torch.testing.assert_close(part, full[idx], rtol=0, atol=0)
    # the generator advanced as for the whole global batch: the next draws agree too
    g_full = _gen(11)
    noise.corrupt_batch(ROWS, g_full)
    torch.testing.assert_close(noise.corrupt_batch(ROWS, g), noise.corrupt_batch(ROWS, g_full),
                               rtol=0, atol=0)


def test_constant_lead_gets_no_noise_and_bad_input_is_rejected():
    x = ROWS[:3].clone()
    x[1] = 1.5
    out = AddNoise("gaussian", snr_db=6.0).corrupt_batch(x, _gen())
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[1], x[1], rtol=0, atol=0)
    noise = AddNoise()
    for bad in (ROWS[0], ROWS[None, None], ROWS.to(torch.int64), ROWS.numpy()):
        with pytest.raises(ValueError, match=r"corrupt_batch takes a floating tensor"):
            noise.corrupt_batch(bad, _gen())
    with pytest.raises(ValueError, match=r"floating tensor .*, got list\.$"):
        noise.corrupt_batch([[0.0, 1.0]], _gen())  # no shape: the message names the type
    with pytest.raises(ValueError, match="kind must be one of"):
        AddNoise("pink").corrupt_batch(ROWS, _gen())
    with pytest.raises(ValueError, match="snr_db"):
        AddNoise(snr_db=(5, 1)).corrupt_batch(ROWS, _gen())


def test_float64_and_multi_lead_batches_keep_their_dtype_and_shape():
    x = ROWS.double().reshape(4, 3, N)
    out = AddNoise("muscle", snr_db=3.0).corrupt_batch(x, _gen())
    assert out.dtype == torch.float64 and out.shape == x.shape
    for clean, nz in zip(x.reshape(-1, N).numpy(), out.reshape(-1, N).numpy()):
        assert abs(measure_snr_db(clean, nz) - 3.0) < 1e-9  # computed in float64
    half = AddNoise("muscle", snr_db=3.0).corrupt_batch(ROWS.half(), _gen())
    assert half.dtype == torch.float16 and half.shape == ROWS.shape  # computed in float32


# ------------------------------------------------------------------ the device generator
def test_device_generator_pickles_as_bytes_and_continues_exactly():
    gen = DeviceGenerator(5)
    first = torch.rand(3, generator=gen.get("cpu"))
    again = pickle.loads(pickle.dumps(gen))
    assert isinstance(pickle.loads(pickle.dumps(gen)).__getstate__()["saved"][1], bytes)
    torch.testing.assert_close(torch.rand(3, generator=again.get("cpu")),
                               torch.rand(3, generator=gen.get("cpu")), rtol=0, atol=0)
    torch.testing.assert_close(first, torch.rand(3, generator=DeviceGenerator(5).get("cpu")),
                               rtol=0, atol=0)
    # a state saved on another kind of device (CUDA: 16 bytes of seed and offset)
    # restarts reproducibly from its hash on this one
    other = DeviceGenerator(5)
    other.__setstate__({"seed": 5, "saved": ("cuda", bytes(range(16)))})
    twin = pickle.loads(pickle.dumps(other))
    a = torch.rand(3, generator=other.get("cpu"))
    torch.testing.assert_close(a, torch.rand(3, generator=twin.get("cpu")), rtol=0, atol=0)
    assert not torch.allclose(a, first)


def test_device_noise_adds_x_enc_and_keeps_a_shards_rows():
    noise = AddNoise("mixture", snr_db=(0.0, 24.0))
    x = ROWS[:8]
    full = DeviceNoise(noise, 0)({"x0": x, "x_view": x.flip(-1)}, "cpu")
    torch.testing.assert_close(full["x0"], x, rtol=0, atol=0)  # the target stays clean
    assert not torch.allclose(full["x_enc"], x)
    assert not torch.allclose(full["x_view"], x.flip(-1))  # the second view is noisy too
    plain = DeviceNoise(noise, 0)(x, "cpu")  # a plain tensor batch becomes a dict
    torch.testing.assert_close(plain["x_enc"], full["x_enc"], rtol=0, atol=0)
    shard = torch.stack([torch.arange(4, 8), torch.full((4,), 8)], dim=1)
    part = DeviceNoise(noise, 0)({"x0": x[4:], "shard": shard}, "cpu")
    torch.testing.assert_close(part["x_enc"], plain["x_enc"][4:], rtol=0, atol=0)
    assert torch.equal(part["shard"], shard)


# ------------------------------------------------------------------ DiffAEEmbedder
TINY = {"snippet_seconds": 1.0, "embedding_dim": 8, "encoder_layers": 1, "encoder_width": 8,
        "unet_channels": (8, 16), "n_timesteps": 50, "max_epochs": 2, "batch_size": 8,
        "random_state": 0, "device": "cpu"}
NOISE = AddNoise("mixture", snr_db=(0.0, 12.0))
ON_DEVICE = TorchEngine(noise_device="device")
IN_LOADER = TorchEngine(noise_device="loader")


def _records(n=12, seed=0, fs=300):
    rng = np.random.RandomState(seed)
    out = []
    for k in range(n):
        m = int(fs * (1.2 + 0.3 * (k % 4)))
        t = np.arange(m) / fs
        out.append(np.sin(2 * np.pi * (1 + k % 3) * t) + 0.1 * rng.randn(m))
    return SignalList(out, fs=float(fs))


def _weights(emb):
    return {k: v.clone() for k, v in emb.net_.module_.state_dict().items()}


def _assert_same_weights(a, b):
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k


def test_device_mode_fit_is_reproducible_and_corrupts_the_encoders_input():
    X = _records()
    a = DiffAEEmbedder(**TINY, encoder_noise=NOISE, engine=ON_DEVICE).fit(X)
    b = DiffAEEmbedder(**TINY, encoder_noise=NOISE, engine=ON_DEVICE).fit(X)
    _assert_same_weights(a, b)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    assert isinstance(a.net_.device_noise, DeviceNoise)
    loader = DiffAEEmbedder(**TINY, encoder_noise=NOISE, engine=IN_LOADER).fit(X)
    clean = DiffAEEmbedder(**TINY).fit(X)
    assert loader.net_.device_noise is None
    assert not np.allclose(a.transform(X), loader.transform(X))  # other draws
    assert not np.allclose(a.transform(X), clean.transform(X))
    # the training step hands the encoder noisy crops at an SNR of the range
    seen = []
    hook = a.net_.module_.encoder.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    crops = torch.as_tensor(np.stack([r[:, :296] for r in a._prepare(X, min_seconds=1.0,
                                                                      what="t")[1][:8]]))
    a.net_.module_.train()
    a.net_.infer({"x0": crops})
    hook.remove()
    a.net_.module_.eval()
    snrs = [measure_snr_db(c, n) for c, n in zip(crops.numpy(), seen[0].detach().numpy())]
    assert min(snrs) >= -1e-3 and max(snrs) <= 12.0 + 1e-3 and np.std(snrs) > 1


def test_auto_on_cpu_is_bit_identical_to_loader():
    X = _records()
    auto = DiffAEEmbedder(**TINY, encoder_noise=NOISE).fit(X)
    loader = DiffAEEmbedder(**TINY, encoder_noise=NOISE, engine=IN_LOADER).fit(X)
    assert auto.engine is None and auto.net_.device_noise is None
    _assert_same_weights(auto, loader)
    assert [r["train_loss"] for r in auto.history_] == [r["train_loss"]
                                                         for r in loader.history_]
    np.testing.assert_array_equal(auto.transform(X), loader.transform(X))


@pytest.mark.parametrize("extra", [{}, {"ema_decay": 0.9, "contrastive_weight": 0.5}])
def test_device_mode_warm_start_resumes_exactly_after_a_round_trip(extra):
    # the pretraining script's resume: fit a chunk, save, load, fit the next chunk
    X = _records()
    params = {**TINY, "max_epochs": 1, "warm_start": True, "encoder_noise": NOISE,
              "engine": ON_DEVICE, **extra}
    straight = DiffAEEmbedder(**params).fit(X)
    resumed = pickle.loads(pickle.dumps(DiffAEEmbedder(**params).fit(X)))
    state = resumed.net_.device_noise.generator.__getstate__()["saved"]
    assert state[0] == "cpu" and isinstance(state[1], bytes)
    for k in (1, 2):
        straight.set_params(random_state=k).fit(X)
        resumed.set_params(random_state=k).fit(X)
    _assert_same_weights(straight, resumed)
    assert [r["train_loss"] for r in straight.history_] == [r["train_loss"]
                                                             for r in resumed.history_]
    # the noise stream continued: a generator restarted from the seed gives other weights
    restarted = pickle.loads(pickle.dumps(DiffAEEmbedder(**params).fit(X)))
    restarted.net_.device_noise.generator = DeviceGenerator(
        restarted.net_.device_noise.generator.seed)
    for k in (1, 2):
        restarted.set_params(random_state=k).fit(X)
    assert any(not torch.equal(v, _weights(straight)[k])
               for k, v in _weights(restarted).items())


def test_noise_device_is_validated_and_ignored_without_encoder_noise():
    from _doc_defaults import documented_defaults

    assert documented_defaults(TorchEngine)["noise_device"] == "auto"
    assert TorchEngine().noise_device == "auto"
    with pytest.raises(InvalidParameterError, match="noise_device"):
        DiffAEEmbedder(**TINY, engine=TorchEngine(noise_device="gpu")).fit(_records())
    with pytest.raises(InvalidParameterError, match="noise_device"):
        DiffAEEmbedder(**TINY).set_params(engine__noise_device=None).fit(_records())
    a = DiffAEEmbedder(**TINY, engine=ON_DEVICE).fit(_records())
    b = DiffAEEmbedder(**TINY).fit(_records())
    assert a.net_.device_noise is None
    _assert_same_weights(a, b)


def test_two_ranks_draw_together_the_noise_of_one_process():
    # what each torch.distributed process does with its shard of every global batch
    from sklearn_biodiff.nets._distributed import ShardedBatchLoader
    from sklearn_biodiff.nets._training import BatchLoader, SeededGenerator
    from sklearn_biodiff.nets.losses import CropDataset

    records = [r.astype(np.float32)[None] for r in _records(10)]

    def loader(rank=None):
        data = CropDataset(records, 296, seed=0)  # every process crops alike
        if rank is None:
            return BatchLoader(data, batch_size=4, shuffle=True, generator=SeededGenerator(0))
        return ShardedBatchLoader(data, batch_size=4, shuffle=True,
                                  generator=SeededGenerator(0), rank=rank, world_size=2)

    noise = {k: DeviceNoise(NOISE, 0) for k in ("one", 0, 1)}
    batches = 0
    for (x, _), (x0, _), (x1, _) in zip(loader(), loader(0), loader(1)):
        whole = noise["one"](x, "cpu")["x_enc"]
        parts = [noise[r](xr, "cpu")["x_enc"] for r, xr in ((0, x0), (1, x1))]
        assert [len(p) for p in parts] == [len(whole) // 2] * 2
        torch.testing.assert_close(torch.cat(parts), whole, rtol=0, atol=0)
        batches += 1
    assert batches == 3  # 10 records: global batches of 4, 4 and 2
