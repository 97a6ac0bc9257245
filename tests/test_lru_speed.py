"""Issue 34: the fast encoder path equals the implementation it replaced.

The blocked scan, the LRU layer and block, the attention reducer, the encoder and
``DiffAEEmbedder._encode`` are compared with the reference code kept beside them
(``chunked_scan``, ``scan="chunked"``, ``forward_reference``, ``block_frames_reference``,
``_encode_reference``), on random inputs and on real CinC 2017 records of the bundled
sample through the shipped checkpoint, within float32 rounding; gradients too, since
training runs the same path.
"""

import numpy as np
import pytest
import torch

from sklearn_biodiff.feature_extraction import DiffAEEmbedder
from sklearn_biodiff.feature_extraction._diffae import _length_batches
from sklearn_biodiff.modules.diffae import (
    AttentionReducer,
    DiffAEModule,
    SemanticEncoder,
    conv1d_as_gemm,
)
from sklearn_biodiff.modules.lru import (
    BLOCK,
    LRU,
    LRUBlock,
    Workspace,
    blocked_scan_channels_first,
    chunked_scan,
    scan_operators,
    sequential_scan,
)

READOUTS = ("attention", "attention+stats", "attention+stats+blocks")


def _log_lam(h, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.complex(-torch.rand(h, generator=g) * 0.2 - 1e-3,
                         torch.rand(h, generator=g) * 3.0)


@pytest.mark.parametrize("n_blocks", [1, 2, 3, 37])
@pytest.mark.parametrize("block", [4, BLOCK])
def test_blocked_scan_equals_sequential_and_chunked(n_blocks, block):
    h, n_batch, n = 6, 3, n_blocks * block
    log_lam = _log_lam(h, n_blocks)
    b = torch.randn(n_batch, n, h, dtype=torch.complex64,
                    generator=torch.Generator().manual_seed(block))
    x_re, x_im = blocked_scan_channels_first(b.real.permute(2, 0, 1).contiguous(),
                                             b.imag.permute(2, 0, 1).contiguous(),
                                             scan_operators(log_lam, block))
    got = torch.complex(x_re, x_im).permute(1, 2, 0)
    want = sequential_scan(torch.exp(log_lam), b)
    torch.testing.assert_close(got, want, atol=2e-5, rtol=1e-4)
    torch.testing.assert_close(got, chunked_scan(log_lam, b), atol=2e-5, rtol=1e-4)


def test_blocked_scan_into_out_equals_allocating_and_refuses_ragged_length():
    log_lam, b = _log_lam(4, 0), torch.randn(2, 4, 2, 48)
    ops = scan_operators(log_lam, 16)
    x_re, x_im = blocked_scan_channels_first(b[0], b[1], ops)
    out = blocked_scan_channels_first(b[0], b[1], ops, out=torch.empty(2, 4, 96))
    torch.testing.assert_close(out, torch.stack([x_re, x_im]).reshape(2, 4, 96))
    with pytest.raises(ValueError, match="not a multiple of the block"):
        blocked_scan_channels_first(b[0, ..., :47], b[1, ..., :47], ops)


@pytest.mark.parametrize("length", [1, 15, 16, 100, 1125])
def test_lru_layer_blocked_equals_chunked_reference_with_and_without_workspace(length):
    torch.manual_seed(length)
    lru = LRU(16, r_min=0.9, r_max=0.999)
    u = torch.randn(3, length, 16)
    want = lru(u, scan="chunked")
    torch.testing.assert_close(lru(u), want, atol=2e-5, rtol=1e-4)
    with torch.inference_mode():
        y = lru._forward_blocked(u, Workspace())
    torch.testing.assert_close(y, want, atol=2e-5, rtol=1e-4)
    with pytest.raises(ValueError, match="'blocked', 'chunked'"):
        lru(u, scan="fft")


def test_blocked_gradients_equal_chunked_gradients():
    torch.manual_seed(0)
    block = LRUBlock(16)
    u = torch.randn(2, 200, 16, requires_grad=True)
    grads = []
    for fn in (block, block.forward_reference):
        block.zero_grad()
        u.grad = None
        (fn(u) ** 2).sum().backward()
        grads.append([u.grad.clone(), *(p.grad.clone() for p in block.parameters())])
    for got, want in zip(*grads):
        torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)


def test_cached_operators_follow_changed_weights():
    """A stale cache would give the old output after an in-place weight update."""
    torch.manual_seed(0)
    lru = LRU(8).eval()
    u = torch.randn(1, 64, 8)
    with torch.inference_mode():
        before = lru(u)
        assert lru(u).equal(before)  # served from the cache
    with torch.no_grad():
        lru.nu_log.add_(0.5)
        lru.C_im.mul_(-1.0)
    with torch.inference_mode():
        after = lru(u)
    torch.testing.assert_close(after, lru(u, scan="chunked"), atol=2e-5, rtol=1e-4)
    assert not torch.allclose(after, before)


def test_operator_cache_is_not_pickled_and_not_in_the_state_dict():
    import pickle

    lru = LRU(8)
    with torch.no_grad():
        lru(torch.randn(1, 32, 8))
    assert "_operator_cache" in lru.__dict__
    assert "_operator_cache" not in pickle.loads(pickle.dumps(lru)).__dict__
    assert set(lru.state_dict()) == {"nu_log", "theta_log", "gamma_log", "B_re", "B_im",
                                     "C_re", "C_im", "D"}


def test_attention_reducer_equals_reference_with_a_mask():
    torch.manual_seed(0)
    red = AttentionReducer(16, 8)
    x = torch.randn(3, 50, 16)
    mask = torch.arange(50)[None] < torch.tensor([50, 17, 1])[:, None]
    for m in (None, mask):
        z, s = red(x, m)
        z_ref, s_ref = red.forward_reference(x, m)
        torch.testing.assert_close(z, z_ref, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(s, s_ref, atol=1e-6, rtol=1e-5)


def test_attention_reducer_with_a_workspace_equals_reference_and_reuses_its_buffers():
    """The inference path: no attention bias (the softmax over time cancels it), only
    the padded tails masked, logits and weights in the workspace's buffers."""
    torch.manual_seed(1)
    red = AttentionReducer(16, 8)
    with torch.no_grad():
        red.attn.bias.normal_(0, 3.0)  # a large bias: must still cancel
    x = torch.randn(3, 50, 16)
    mask = torch.arange(50)[None] < torch.tensor([50, 17, 1])[:, None]
    ws = Workspace()
    with torch.inference_mode():
        for m in (None, mask):
            z, s = red(x, m, workspace=ws)
            z_ref, s_ref = red.forward_reference(x, m)
            torch.testing.assert_close(z, z_ref, atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(s, s_ref, atol=1e-6, rtol=1e-5)
            if m is not None:
                assert (s[1, 17:] == 0).all() and (s[2, 1:] == 0).all()
        ptr = ws.get("reducer_weights", (1,)).data_ptr()
        _, s2 = red(x[:2, :30], mask[:2, :30], workspace=ws)
        assert s2.data_ptr() == ptr  # the same buffer, no new allocation
    z_grad, _ = red(x, mask, workspace=ws)  # autograd on: the workspace is ignored
    assert z_grad.requires_grad
    torch.testing.assert_close(z_grad.detach(), red.forward_reference(x, mask)[0],
                               atol=1e-5, rtol=1e-5)


def test_the_inference_buffers_step_aside_under_autocast():
    """bf16 autocast without autograd (a user's mixed-precision inference): the
    workspace paths, which hold float32 buffers, are not taken, and the encoder runs."""
    torch.manual_seed(0)
    enc = SemanticEncoder(embedding_dim=8, width=16, n_layers=2).eval()
    x = torch.randn(2, 1, 640)
    lengths = torch.tensor([640, 400])
    with torch.inference_mode():
        hs, mask = enc.block_frames(x, lengths, padded=True)
        z32, _ = enc.reducer(hs[-1], mask, workspace=Workspace())
        with torch.autocast("cpu", dtype=torch.bfloat16):
            hs_bf, mask_bf = enc.block_frames(x, lengths, padded=True)
            z_bf, _ = enc.reducer(hs_bf[-1], mask_bf, workspace=Workspace())
    assert torch.isfinite(z_bf).all() and mask_bf.equal(mask)
    torch.testing.assert_close(z_bf.float(), z32, atol=0.1, rtol=0.1)


@pytest.mark.parametrize("in_ch,kernel,stride,padding,n",
                         [(1, 5, 2, 2, 3000), (1, 5, 2, 2, 7), (12, 9, 4, 4, 301),
                          (3, 3, 1, 0, 64), (2, 4, 3, 1, 50)])
def test_conv1d_as_gemm_equals_the_convolution(in_ch, kernel, stride, padding, n):
    torch.manual_seed(n)
    conv = torch.nn.Conv1d(in_ch, 6, kernel, stride=stride, padding=padding)
    x = torch.randn(3, in_ch, n)
    ws = Workspace()
    with torch.inference_mode():
        got = conv1d_as_gemm(conv, x, ws)
        want = conv(x)
    assert got.shape == want.shape
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    assert got.data_ptr() == ws.get("stem_conv1", (1,)).data_ptr()


def test_conv1d_as_gemm_hands_what_it_does_not_cover_to_the_convolution():
    torch.manual_seed(0)
    x = torch.randn(2, 4, 40)
    for conv in (torch.nn.Conv1d(4, 4, 3, dilation=2), torch.nn.Conv1d(4, 4, 3, groups=2),
                 torch.nn.Conv1d(4, 4, 3, padding=1, padding_mode="reflect"),
                 torch.nn.Conv1d(4, 4, 3, padding="same"),
                 torch.nn.Conv1d(4, 4, 3, bias=False)):
        with torch.inference_mode():
            torch.testing.assert_close(conv1d_as_gemm(conv, x, Workspace()), conv(x),
                                       atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("n_samples", [8, 3000, 9001])
def test_encoder_equals_reference_on_random_ragged_batches(n_samples):
    torch.manual_seed(n_samples)
    enc = SemanticEncoder(embedding_dim=8, width=16, n_layers=2).eval()
    x = torch.randn(3, n_samples)
    lengths = torch.tensor([n_samples, max(1, n_samples // 2), max(1, n_samples - 7)])
    with torch.inference_mode():
        hs, mask = enc.block_frames(x, lengths, padded=True)
        hs_ref, mask_ref = enc.block_frames_reference(x, lengths)
        n = hs_ref[0].shape[1]
        assert hs[0].shape[1] % BLOCK == 0 and mask[:, :n].equal(mask_ref)
        assert not mask[:, n:].any()
        for got, want in zip(hs, hs_ref):
            torch.testing.assert_close(got[:, :n][mask_ref], want[mask_ref],
                                       atol=5e-5, rtol=1e-4)
        cut, cut_mask = enc.block_frames(x, lengths)
        assert cut[0].shape == hs_ref[0].shape and cut_mask.equal(mask_ref)
        z, s = enc(x)
        z_ref, s_ref = enc.forward_reference(x)
    assert s.shape == s_ref.shape
    torch.testing.assert_close(z, z_ref, atol=5e-5, rtol=1e-4)
    torch.testing.assert_close(s, s_ref, atol=1e-5, rtol=1e-4)


def test_training_step_gradients_equal_reference():
    """The loss of one step and every parameter's gradient, new path vs reference."""
    module = DiffAEModule(embedding_dim=8, encoder_width=16, encoder_layers=2,
                          unet_channels=(8, 16), n_timesteps=50)
    x0 = torch.randn(4, 1, 640, generator=torch.Generator().manual_seed(0))
    grads = []
    for reference in (False, True):
        module.zero_grad()
        torch.manual_seed(1)
        enc = module.encoder.forward_reference if reference else module.encoder
        z, _ = enc(x0)
        t = torch.randint(1, 51, (4,))
        eps = torch.randn_like(x0)
        from sklearn_biodiff.diffusion import q_sample

        loss = ((module.denoiser(q_sample(x0, t, eps, module.schedule), t, z) - eps) ** 2).mean()
        loss.backward()
        grads.append([loss.detach(), *(p.grad.clone() for p in module.parameters()
                                       if p.grad is not None)])
    for got, want in zip(*grads):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)


def test_length_batches_cover_every_record_once_in_length_order():
    rng = np.random.default_rng(0)
    lengths = rng.integers(100, 20000, 200)
    batches = list(_length_batches(lengths, 16, 40000))
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(200))
    assert (np.diff(lengths[flat]) >= 0).all()
    for b in batches:
        assert len(b) <= 16
        assert len(b) == 1 or len(b) * lengths[b].max() <= 40000


@pytest.fixture(scope="module")
def real_records():
    from sklearn_biodiff.datasets import load_cinc2017_sample

    data = load_cinc2017_sample()
    rng = np.random.default_rng(0)
    return [data.signals[i] for i in rng.choice(len(data.signals), 24, replace=False)]


@pytest.mark.parametrize("readout", READOUTS)
def test_transform_equals_reference_on_real_records_with_the_shipped_checkpoint(
        real_records, readout):
    from sklearn_biodiff.pretrained import DEFAULT_PRETRAINED

    emb = DiffAEEmbedder.from_pretrained(DEFAULT_PRETRAINED, readout=readout,
                                         n_threads=1).fit(real_records[:2])
    _, records, _ = emb._check_inference_input(real_records)
    z_ref, stats_ref = emb._encode_reference(records, readout=readout)
    want = z_ref if stats_ref is None else np.hstack([z_ref, stats_ref])
    got = emb.transform(real_records)
    np.testing.assert_allclose(got, want, atol=5e-5, rtol=1e-4)
    # the order of the records does not matter (batches are formed by length)
    perm = np.random.default_rng(1).permutation(len(real_records))
    np.testing.assert_allclose(emb.transform([real_records[i] for i in perm]), got[perm],
                               atol=5e-5, rtol=1e-4)


def test_transform_equals_reference_on_random_records_and_attention_matches():
    rng = np.random.default_rng(0)
    X = [rng.standard_normal(n) for n in rng.integers(300, 6000, 11)]
    emb = DiffAEEmbedder(embedding_dim=8, encoder_width=16, encoder_layers=2,
                         unet_channels=(8, 16), max_epochs=1, snippet_seconds=1.0,
                         batch_size=4, transform_batch_size=3, random_state=0,
                         readout="attention+stats+blocks").fit(X)
    _, records, _ = emb._check_inference_input(X)
    z_ref, stats_ref = emb._encode_reference(records, readout=emb.readout)
    np.testing.assert_allclose(emb.transform(X), np.hstack([z_ref, stats_ref]),
                               atol=5e-5, rtol=1e-4)
    enc = emb._module().encoder
    _, attn, _ = emb._encode(records, keep_attention=True)
    with torch.no_grad():
        for x, a in zip(records, attn):
            _, s_ref = enc.forward_reference(torch.as_tensor(x)[None])
            assert a.shape == s_ref[0].shape
            np.testing.assert_allclose(a, s_ref[0].numpy(), atol=1e-6, rtol=1e-4)


def test_two_threads_run_batches_side_by_side_with_the_same_output(real_records):
    from sklearn_biodiff.pretrained import DEFAULT_PRETRAINED

    emb = DiffAEEmbedder.from_pretrained(DEFAULT_PRETRAINED, n_threads=1,
                                         transform_batch_size=4).fit(real_records[:2])
    one = emb.transform(real_records)
    before = torch.get_num_threads()
    two = emb.set_params(n_threads=2).transform(real_records)
    assert torch.get_num_threads() == before
    np.testing.assert_allclose(two, one, atol=1e-6, rtol=1e-6)
    _, attn_one, _ = emb._encode(emb._check_inference_input(real_records)[1],
                                 keep_attention=True)
    assert all(a is not None for a in attn_one)


def test_masked_mean_std_equals_the_direct_formula():
    from sklearn_biodiff.modules.diffae import masked_mean_std

    h = torch.randn(3, 40, 5) * 3 + 10
    mask = torch.arange(40)[None] < torch.tensor([40, 7, 1])[:, None]
    got = masked_mean_std(h, mask)
    for b in range(3):
        v = h[b, mask[b]]
        torch.testing.assert_close(got[b], torch.cat([v.mean(0), v.std(0, correction=0)]),
                                   atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(masked_mean_std(h), masked_mean_std(h, torch.ones(3, 40) > 0))
