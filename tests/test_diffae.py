"""DiffAEEmbedder: LRU scan, attention reducer, training, decoding, round trips."""

import pickle

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from sklearn_biodiff._validation import SignalList
from sklearn_biodiff.engine import TorchEngine
from sklearn_biodiff.feature_extraction import DiffAEEmbedder
from sklearn_biodiff.modules.diffae import AttentionReducer, SemanticEncoder
from sklearn_biodiff.modules.lru import LRU, chunked_scan, linear_scan, sequential_scan

TINY = {"snippet_seconds": 1.0, "embedding_dim": 8, "encoder_layers": 1, "encoder_width": 8,
        "unet_channels": (8, 16), "n_timesteps": 50, "max_epochs": 2, "batch_size": 8,
        "random_state": 0}


def _records(n=8, seed=0, fs=300):
    rng = np.random.RandomState(seed)
    out = []
    for k in range(n):
        m = int(fs * (1.2 + 0.3 * (k % 4)))
        t = np.arange(m) / fs
        out.append(np.sin(2 * np.pi * (1 + k % 3) * t) + 0.1 * rng.randn(m))
    return SignalList(out, fs=float(fs))


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 300), st.integers(1, 6), st.integers(0, 100))
def test_parallel_scan_equals_sequential_recurrence(length, width, seed):
    g = torch.Generator().manual_seed(seed)
    lam = torch.complex(torch.rand(width, generator=g) * 0.99, torch.zeros(width))
    lam = lam * torch.exp(1j * 2 * np.pi * torch.rand(width, generator=g))
    b = torch.randn(2, length, width, dtype=torch.complex64, generator=g)
    np.testing.assert_allclose(linear_scan(lam, b).numpy(), sequential_scan(lam, b).numpy(),
                               atol=1e-4, rtol=1e-4)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 300), st.integers(1, 6), st.integers(1, 40), st.integers(0, 100))
def test_chunked_scan_equals_sequential_recurrence(length, width, chunk, seed):
    g = torch.Generator().manual_seed(seed)
    log_lam = torch.complex(-torch.rand(width, generator=g) * 0.5 - 1e-3,
                            2 * np.pi * torch.rand(width, generator=g))
    b = torch.randn(2, length, width, dtype=torch.complex64, generator=g)
    got = chunked_scan(log_lam, b, chunk=chunk)
    want = sequential_scan(torch.exp(log_lam), b)
    assert got.shape == want.shape
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-4, rtol=1e-4)


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 200), st.integers(1, 5), st.integers(1, 40), st.integers(0, 100))
def test_chunked_scan_real_recurrence(length, width, chunk, seed):
    g = torch.Generator().manual_seed(seed)
    log_lam = -torch.rand(width, generator=g) * 0.5 - 1e-3
    b = torch.randn(2, length, width, generator=g)
    got = chunked_scan(log_lam, b, chunk=chunk)
    want = sequential_scan(torch.exp(log_lam), b)
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-4, rtol=1e-4)


def test_chunked_scan_gradients_match_sequential():
    torch.manual_seed(0)
    log_lam = torch.complex(-torch.rand(5) * 0.2, torch.rand(5) * 6).requires_grad_()
    b = torch.randn(3, 77, 5, dtype=torch.complex64, requires_grad=True)
    grads = []
    for fn in (lambda: chunked_scan(log_lam, b, chunk=16),
               lambda: sequential_scan(torch.exp(log_lam), b)):
        out = fn()
        (out.real.square().sum() + out.imag.sum()).backward()
        grads.append((log_lam.grad.clone(), b.grad.clone()))
        log_lam.grad, b.grad = None, None
    for got, want in zip(*grads):
        torch.testing.assert_close(got, want, atol=1e-3, rtol=1e-3)


def test_lru_layer_scans_equal_sequential_on_3000_steps():
    torch.manual_seed(0)
    lru = LRU(16, r_min=0.9, r_max=0.999)
    u = torch.randn(2, 3000, 16)
    slow = lru(u, scan="sequential")
    for scan in ("chunked", "parallel"):
        assert torch.allclose(lru(u, scan=scan), slow, atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match="scan must be"):
        lru(u, scan="fft")
    mod = lru.eigenvalues().abs()
    assert torch.all(mod < 1) and torch.all(mod >= 0.9 - 1e-6)
    gamma = torch.exp(lru.gamma_log)
    assert torch.allclose(gamma, torch.sqrt(1 - mod**2), atol=1e-6)


def test_reducer_gives_one_size_for_any_length_and_softmax_over_time():
    torch.manual_seed(0)
    enc = SemanticEncoder(embedding_dim=12, width=8, n_layers=1, stride=4).eval()
    for length in (1000, 3000, 18000):
        z, s = enc(torch.randn(2, length))
        assert z.shape == (2, 12)
        assert s.shape == (2, length // 4, 12)
        assert torch.allclose(s.sum(1), torch.ones(2, 12), atol=1e-5)
    red = AttentionReducer(4, 3)
    x = torch.randn(1, 10, 4)
    mask = torch.arange(10)[None] < 6
    z_masked, s = red(x, mask)
    assert torch.all(s[0, 6:] == 0)
    assert torch.allclose(z_masked, red(x[:, :6])[0], atol=1e-6)


def test_padding_does_not_change_embeddings():
    emb = DiffAEEmbedder(**TINY, transform_batch_size=8).fit(_records())
    X = _records(seed=1)
    together = emb.transform(X)
    alone = np.concatenate([emb.transform(X[i : i + 1]) for i in range(len(X))])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_loss_goes_down_on_synthetic_data():
    X = _records(16)
    emb = DiffAEEmbedder(**{**TINY, "max_epochs": 40, "lr": 3e-3}).fit(X)
    losses = [h["train_loss"] for h in emb.history_]
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:3])


def test_transform_is_deterministic_float32_and_sized():
    X = _records()
    emb = DiffAEEmbedder(**TINY).fit(X)
    Z = emb.transform(X)
    assert Z.shape == (len(X), 8) and Z.dtype == np.float32
    np.testing.assert_array_equal(Z, emb.transform(X))
    assert list(emb.get_feature_names_out()) == [f"diffaeembedder{i}" for i in range(8)]


def test_transform_does_not_keep_attention_weights():
    # bug: transform kept frames x embedding_dim attention floats for every record
    # (5 GB for the CinC archive); only attention_weights asks for them now
    X = _records()
    emb = DiffAEEmbedder(**TINY).fit(X)
    records = emb._check_inference_input(X)[1]
    z, attn, stats = emb._encode(records)
    assert attn is None and stats is None
    z2, attn2, _ = emb._encode(records, keep_attention=True)
    np.testing.assert_array_equal(z, z2)
    assert len(attn2) == len(X) and all(a.base is None for a in attn2)


def test_reconstruct_and_attention_weights_have_input_lengths():
    X = _records()
    emb = DiffAEEmbedder(**TINY).fit(X)
    R = emb.reconstruct(X, n_steps=4, random_state=0)
    assert [len(r) for r in R] == [len(x) for x in X] and R.fs == 300.0
    np.testing.assert_array_equal(R[0], emb.reconstruct(X, n_steps=4, random_state=0)[0])
    W = emb.attention_weights(X, feature=3)
    assert [len(w) for w in W] == [len(x) for x in X]
    assert np.all(np.concatenate(W) >= 0)
    X2 = np.stack([x[:360] for x in X])
    assert emb.reconstruct(X2, n_steps=2).shape == X2.shape
    with pytest.raises(ValueError, match="feature must lie"):
        emb.attention_weights(X, feature=8)


def test_other_sampling_rate_is_resampled():
    X = _records(fs=500)
    emb = DiffAEEmbedder(**{**TINY, "fs": 500.0}).fit(X)
    assert emb.transform(X).shape == (len(X), 8)
    assert [len(r) for r in emb.reconstruct(X, n_steps=2)] == [len(x) for x in X]
    with pytest.raises(ValueError, match="500"):
        emb.transform(_records(fs=300))


def test_pretraining_on_datasets_at_different_rates_continues_one_model():
    # dataset A at 500 Hz, then dataset B at 250 Hz: fs per fit call, same weights
    emb = DiffAEEmbedder(**{**TINY, "fs": 500.0, "warm_start": True, "max_epochs": 1})
    emb.fit(_records(fs=500))
    weights = {k: v.clone() for k, v in emb.net_.module_.state_dict().items()}
    n_epochs = len(emb.history_)
    emb.set_params(fs=250.0).fit(_records(seed=1, fs=250))
    assert len(emb.history_) == n_epochs + 1  # training continued, not restarted
    changed = [not torch.equal(weights[k], v)
               for k, v in emb.net_.module_.state_dict().items()]
    assert any(changed)
    assert emb.transform(_records(seed=2, fs=250)).shape == (8, 8)


def test_warm_started_cosine_run_restarts_its_schedule():
    # bug: the second warm-started fit continued the first run's cosine schedule,
    # already decayed to lr 0, so it did not train at all
    emb = DiffAEEmbedder(**{**TINY, "warm_start": True, "max_epochs": 2}).fit(_records())
    before = {k: v.clone() for k, v in emb.net_.module_.state_dict().items()}
    emb.fit(_records(seed=1))
    after = emb.net_.module_.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    assert len(emb.history_) == 4


def test_warm_start_checkpoint_resume_and_max_steps(tmp_path):
    X = _records()
    a = DiffAEEmbedder(**TINY, engine=TorchEngine(checkpoint_dir=str(tmp_path))).fit(X)
    b = DiffAEEmbedder(**{**TINY, "max_epochs": 1},
                       engine=TorchEngine(checkpoint_dir=str(tmp_path)),
                       warm_start=True).fit(X)
    assert len(b.history_) == len(a.history_) + 1
    c = DiffAEEmbedder(**{**TINY, "max_epochs": 50, "max_steps": 3}).fit(X)
    n_batches = sum(len(h["batches"]) for h in c.history_)
    assert n_batches == 3


def test_warm_started_fit_uses_the_settings_changed_since():
    # bug: a warm-started fit trained the existing net with the settings it was built
    # with, so set_params(max_steps=60) after a 5-step fit ran 5 steps again
    X = _records()
    emb = DiffAEEmbedder(**{**TINY, "max_epochs": 50, "max_steps": 2, "ema_decay": 0.9,
                            "lr_schedule": "constant"}).fit(X)
    emb.set_params(warm_start=True, max_steps=5, lr=3e-4, ema_decay=0.5).fit(X)
    batches = [len(h["batches"]) for h in emb.history_]
    assert sum(batches) == 2 + 5
    assert all(g["lr"] == 3e-4 for g in emb.net_.optimizer_.param_groups)
    assert dict(emb.net_.callbacks_)["ema"].decay == 0.5
    emb.set_params(max_steps=None, max_epochs=1).fit(X)  # no cap: one whole epoch
    assert sum(len(h["batches"]) for h in emb.history_) == 2 + 5 + 1  # 8 records, batch 8


@pytest.mark.parametrize("change, name", [({"ema_decay": None}, "ema_decay=None"),
                                          ({"grad_clip": None}, "grad_clip=None"),
                                          ({"lr_schedule": "cosine"}, "lr_schedule='cosine'")])
def test_warm_start_refuses_to_add_or_remove_a_part_of_the_training_loop(change, name):
    emb = DiffAEEmbedder(**{**TINY, "max_steps": 1, "ema_decay": 0.9,
                            "lr_schedule": "constant", "warm_start": True}).fit(_records())
    with pytest.raises(ValueError, match=rf"{name}.*between warm-started fits.*warm_start=False"):
        emb.set_params(**change).fit(_records())


def test_ema_weights_are_used_for_inference():
    X = _records()
    emb = DiffAEEmbedder(**TINY, ema_decay=0.5).fit(X)
    raw = emb.net_.module_
    assert any(not torch.equal(p, q) for p, q in zip(raw.parameters(),
                                                     emb.ema_module_.parameters()))
    with_ema = emb.transform(X)
    # the same fitted embedder with the EMA weights swapped for the raw ones
    ema_state = {k: v.clone() for k, v in emb.ema_module_.state_dict().items()}
    emb.ema_module_.load_state_dict(raw.state_dict())
    with_raw = emb.transform(X)
    emb.ema_module_.load_state_dict(ema_state)
    np.testing.assert_array_equal(emb.transform(X), with_ema)
    assert np.abs(with_ema - with_raw).max() > 1e-4  # transform reads the EMA weights


def test_pickle_and_clone_round_trip():
    X = _records()
    emb = DiffAEEmbedder(**TINY, ema_decay=0.9).fit(X)
    again = pickle.loads(pickle.dumps(emb))
    np.testing.assert_array_equal(again.transform(X), emb.transform(X))
    assert again.device_.type == "cpu"
    c = clone(emb)
    assert not hasattr(c, "net_") and c.get_params() == emb.get_params()


def test_bad_input_is_rejected_clearly():
    emb = DiffAEEmbedder(**TINY)
    short = [np.random.RandomState(0).randn(200)]
    with pytest.raises(ValueError, match=r"snippet_seconds=1.0.*Lower snippet_seconds"):
        emb.fit(short)
    bad = _records()
    bad[2] = bad[2].copy()
    bad[2][5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        emb.fit(bad)
    with pytest.raises(ValueError, match="constant"):
        emb.fit([np.ones(600), np.ones(600)])
    with pytest.raises(ValueError, match="fewer than"):
        DiffAEEmbedder(snippet_seconds=0.001).fit(_records())
    fitted = DiffAEEmbedder(**TINY).fit(_records())
    with pytest.raises(ValueError, match="n_steps"):
        fitted.reconstruct(_records(), n_steps=0)


def test_crop_dataset_corrupts_the_encoder_view_only_with_fresh_noise():
    from sklearn_biodiff.nets.losses import CropDataset
    from sklearn_biodiff.noise import AddNoise, measure_snr_db

    records = [np.sin(np.arange(900) / 9.0).astype(np.float32) for _ in range(4)]
    noise = AddNoise("muscle", snr_db=3.0)
    ds = CropDataset(records, 600, seed=0, corrupt=noise.corrupt)
    X1, _ = ds.batch(np.arange(4))
    X2, _ = ds.batch(np.arange(4))
    assert set(X1) == {"x0", "x_enc"} and X1["x0"].shape == X1["x_enc"].shape == (4, 600)
    for clean, noisy in zip(X1["x0"].numpy(), X1["x_enc"].numpy()):
        assert measure_snr_db(clean, noisy) == pytest.approx(3.0, abs=0.01)
    n1 = X1["x_enc"] - X1["x0"]
    n2 = X2["x_enc"] - X2["x0"]
    assert not torch.allclose(n1, n2)  # fresh noise on every access
    item, _ = ds[1]
    assert item["x0"].shape == item["x_enc"].shape == (600,)
    again = CropDataset(records, 600, seed=0, corrupt=noise.corrupt).batch(np.arange(4))[0]
    torch.testing.assert_close(again["x_enc"], X1["x_enc"])  # seeded


def test_module_encodes_x_enc_but_denoises_x0():
    from sklearn_biodiff.modules.diffae import DiffAEModule

    torch.manual_seed(0)
    module = DiffAEModule(embedding_dim=8, encoder_width=8, encoder_layers=1,
                          unet_channels=(8, 16), n_timesteps=50)
    seen = []
    module.encoder.register_forward_hook(lambda m, args, out: seen.append(args[0]))
    x0, x_enc = torch.randn(2, 640), torch.randn(2, 640)
    torch.manual_seed(1)
    eps_hat, eps = module(x0, x_enc)
    assert seen[-1] is x_enc
    # the target is built from x0: same seed, same x0, same z -> same output
    z_same = module.encoder(x_enc)[0]
    torch.manual_seed(1)
    t = torch.randint(1, 51, (2,))
    eps_ref = torch.randn_like(x0)
    from sklearn_biodiff.diffusion import q_sample
    ref = module.denoiser(q_sample(x0, t, eps_ref, module.schedule), t, z_same)
    torch.testing.assert_close(eps, eps_ref)
    torch.testing.assert_close(eps_hat, ref)


def test_encoder_noise_augmentation_trains_reproducibly_and_changes_the_model():
    from sklearn_biodiff.noise import AddNoise

    X = _records()
    noisy = {**TINY, "encoder_noise": AddNoise("mixture", snr_db=(0.0, 12.0))}
    a = DiffAEEmbedder(**noisy).fit(X)
    b = DiffAEEmbedder(**noisy).fit(X)
    clean = DiffAEEmbedder(**TINY).fit(X)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    assert not np.allclose(a.transform(X), clean.transform(X))
    # transform adds no noise, and the parameter clones and pickles
    np.testing.assert_array_equal(a.transform(X), a.transform(X))
    c = clone(a)
    assert isinstance(c.encoder_noise, AddNoise) and c.encoder_noise is not a.encoder_noise
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(a)).transform(X), a.transform(X))


def test_encoder_noise_is_validated_before_training():
    from sklearn.utils._param_validation import InvalidParameterError

    from sklearn_biodiff.noise import AddNoise

    with pytest.raises(InvalidParameterError, match="encoder_noise"):
        DiffAEEmbedder(**TINY, encoder_noise="gaussian").fit(_records())
    with pytest.raises(ValueError, match="kind must be one of"):
        DiffAEEmbedder(**TINY, encoder_noise=AddNoise("pink")).fit(_records())


def test_model_pickled_before_a_parameter_existed_gets_its_default():
    emb = DiffAEEmbedder(**TINY).fit(_records())
    state = emb.__getstate__()
    del state["encoder_noise"]  # as pickled by a version without the parameter
    old = DiffAEEmbedder.__new__(DiffAEEmbedder)
    old.__setstate__(state)
    assert old.encoder_noise is None and old.get_params()["max_epochs"] == 2
    clone(old).set_params(max_epochs=1).fit(_records())


# ------------------------------------------------------------ multi-lead (issue 20)
def test_two_leads_set_the_networks_input_channels_and_round_trip():
    one = _records()
    two = SignalList([np.stack([x, 0.5 * x[::-1]]) for x in one], fs=one.fs)
    emb = DiffAEEmbedder(**{**TINY, "max_epochs": 1}).fit(two)
    module = emb.net_.module_
    assert emb.n_leads_in_ == 2 and emb._architecture()["in_channels"] == 2
    assert module.encoder.conv1.in_channels == 2
    assert module.denoiser.stem.in_channels == 2
    assert module.denoiser.head[-1].out_channels == 2
    rec = emb.reconstruct(two[:2], n_steps=2, random_state=0)
    assert [r.shape for r in rec] == [r.shape for r in two[:2]]
    assert emb.transform(two).shape == (len(two), TINY["embedding_dim"])
    # one lead keeps the single-channel network (and loads older checkpoints)
    single = DiffAEEmbedder(**{**TINY, "max_epochs": 1}).fit(one)
    assert single.net_.module_.encoder.conv1.in_channels == 1


# --- readout="attention+stats": z, then each encoder feature's mean and std over time


def test_stats_readout_is_z_then_the_frame_mean_and_std():
    X = _records()
    emb = DiffAEEmbedder(**TINY).fit(X)
    z = emb.transform(X)
    both = emb.set_params(readout="attention+stats").transform(X)  # no refit needed
    width = TINY["encoder_width"]
    assert both.shape == (len(X), TINY["embedding_dim"] + 2 * width)
    assert both.dtype == np.float32
    np.testing.assert_array_equal(both[:, : TINY["embedding_dim"]], z)
    # one record alone, by hand: the encoder's frames, their mean and std over time
    records = emb._check_inference_input(X[3:4])[1]
    module = emb._module().eval()
    with torch.no_grad():
        h, _ = module.encoder.frames(torch.as_tensor(records[0][None], dtype=torch.float32))
    h = h[0].numpy()
    expected = np.concatenate([h.mean(axis=0), h.std(axis=0)])
    np.testing.assert_allclose(both[3, TINY["embedding_dim"]:], expected, rtol=1e-4,
                               atol=1e-5)


@pytest.mark.parametrize("readout", ["attention+stats", "attention+stats+blocks"])
def test_stats_readout_ignores_the_padding_of_longer_records_in_the_batch(readout):
    X = _records()
    emb = DiffAEEmbedder(**{**TINY, "encoder_layers": 2}, readout=readout).fit(X)
    together = emb.transform(X)  # padded to the longest record of each batch
    alone = np.vstack([emb.transform([x]) for x in X])
    np.testing.assert_allclose(together, alone, rtol=1e-4, atol=1e-5)


def test_stats_readout_feature_names():
    X = _records()
    emb = DiffAEEmbedder(**TINY).fit(X)
    assert list(emb.get_feature_names_out()) == [f"diffaeembedder{i}" for i in range(8)]
    names = emb.set_params(readout="attention+stats").get_feature_names_out()
    assert len(names) == emb.transform(X).shape[1] == 8 + 2 * 8
    assert names[8] == "diffaeembedder_frame_mean0" and names[-1] == "diffaeembedder_frame_std7"
    with pytest.raises(NotFittedError):
        DiffAEEmbedder(readout="attention+stats").get_feature_names_out()


def test_blocks_readout_adds_each_lru_block_statistics_in_order():
    X = _records()
    emb = DiffAEEmbedder(**{**TINY, "encoder_layers": 2}).fit(X)
    stats = emb.set_params(readout="attention+stats").transform(X)
    blocks = emb.set_params(readout="attention+stats+blocks").transform(X)
    width = TINY["encoder_width"]
    assert blocks.shape == (len(X), stats.shape[1] + 2 * 2 * width)
    np.testing.assert_array_equal(blocks[:, : stats.shape[1]], stats)
    # one record alone, by hand: each block's output caught by a hook on the encoder's
    # ordinary forward pass (not through block_frames)
    records = emb._check_inference_input(X[2:3])[1]
    module = emb._module().eval()
    outs = []
    hooks = [b.register_forward_hook(lambda m, i, o: outs.append(o[0].numpy()))
             for b in module.encoder.blocks]
    with torch.no_grad():
        module.encoder(torch.as_tensor(records[0][None], dtype=torch.float32))
    for h in hooks:
        h.remove()
    expected = np.concatenate([np.concatenate([h.mean(axis=0), h.std(axis=0)]) for h in outs])
    np.testing.assert_allclose(blocks[2, stats.shape[1]:], expected, rtol=1e-4, atol=1e-5)
    names = emb.get_feature_names_out()
    assert len(names) == blocks.shape[1]
    assert names[stats.shape[1]] == "diffaeembedder_block0_mean0"
    assert names[-1] == f"diffaeembedder_block1_std{width - 1}"


def test_unknown_readout_is_refused_in_fit_and_in_transform():
    X = _records()
    with pytest.raises(ValueError, match="readout"):
        DiffAEEmbedder(**TINY, readout="mean").fit(X)
    emb = DiffAEEmbedder(**TINY).fit(X).set_params(readout="mean")
    with pytest.raises(ValueError, match="readout must be one of"):
        emb.transform(X)
    with pytest.raises(ValueError, match="readout must be one of"):
        emb.get_feature_names_out()
