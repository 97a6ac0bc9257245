"""The rhythm readouts: how regularly each encoder feature repeats (issue 35)."""

import math
import pickle

import numpy as np
import pytest
import torch

from benchmarks import _protocol
from sklearn_biodiff.feature_extraction import DiffAEEmbedder
from sklearn_biodiff.feature_extraction._diffae import READOUTS
from sklearn_biodiff.modules.diffae import (
    RHYTHM_PERIODS,
    autocorrelation_peak,
    rhythm_lags,
)
from sklearn_biodiff.pretrained import DEFAULT_READOUT, FEW_LABELS_READOUT

TINY = {"snippet_seconds": 1.0, "embedding_dim": 8, "encoder_layers": 2, "encoder_width": 8,
        "unet_channels": (8, 16), "n_timesteps": 50, "max_epochs": 1, "batch_size": 8,
        "random_state": 0}


def _records(n=6, seed=0, fs=300):
    rng = np.random.RandomState(seed)
    return [np.sin(2 * np.pi * (1 + k % 3) * np.arange(int(fs * (1.5 + 0.4 * k))) / fs)
            + 0.1 * rng.randn(int(fs * (1.5 + 0.4 * k))) for k in range(n)]


def _acf_peak_by_hand(x: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """max over lags lo..hi of sum_t d_t d_{t+k} / sum_t d_t^2, per column, in float64."""
    d = x.astype(np.float64) - x.mean(axis=0)
    energy = (d * d).sum(axis=0)
    n = len(d)
    r = [(d[: n - k] * d[k:]).sum(axis=0) if k < n else np.zeros(d.shape[1])
         for k in range(lo, hi + 1)]
    return np.max(r, axis=0) / energy


@pytest.mark.parametrize("seed", range(4))
def test_autocorrelation_peak_matches_the_direct_sums_on_the_valid_frames(seed):
    rng = np.random.default_rng(seed)
    n_batch, n_frames, width = 3, int(rng.integers(20, 150)), 5
    h = torch.as_tensor(rng.standard_normal((n_batch, n_frames, width)), dtype=torch.float32)
    valid = rng.integers(5, n_frames + 1, n_batch)
    mask = torch.arange(n_frames)[None] < torch.as_tensor(valid)[:, None]
    lo, hi = int(rng.integers(1, 6)), int(rng.integers(6, 200))  # hi may pass the length
    # garbage in the padding must not matter
    h[~mask] = 1e3
    got = autocorrelation_peak(h, mask, min_lag=lo, max_lag=hi).numpy()
    for b in range(n_batch):
        expected = _acf_peak_by_hand(h[b, : valid[b]].numpy(), lo, hi)
        np.testing.assert_allclose(got[b], expected, rtol=1e-4, atol=1e-5)


def test_regular_beats_peak_near_one_at_any_rate_and_irregular_ones_lower():
    rng = np.random.default_rng(0)
    frame_rate = 300 / 8
    lo, hi = rhythm_lags(frame_rate)
    n = int(30 * frame_rate)

    def beats(times):
        x = np.zeros(n)
        for t in times:
            x += np.exp(-0.5 * ((np.arange(n) / frame_rate - t) / 0.03) ** 2)
        return x

    regular = [beats(np.arange(0.3, 30, period)) for period in (0.4, 1.0, 1.8)]
    irregular = beats(np.cumsum(rng.uniform(0.35, 1.2, 60)))
    h = torch.as_tensor(np.stack([*regular, irregular], axis=-1)[None], dtype=torch.float32)
    peak = autocorrelation_peak(h, min_lag=lo, max_lag=hi)[0].numpy()
    # 33 to 150 beats per minute alike (the biased estimator loses T / 30 s at lag T)
    assert np.all(peak[:3] > 0.85)
    assert peak[3] < 0.5


def test_constant_and_too_short_features_give_zero_not_nan():
    h = torch.ones(2, 6, 3)
    h[1, :, 1] = torch.arange(6.0)
    peak = autocorrelation_peak(h, min_lag=8, max_lag=75)  # lags past the length
    assert torch.isfinite(peak).all()
    np.testing.assert_array_equal(peak[0].numpy(), 0.0)
    assert float(peak[1, 1].abs()) < 1e-5


def test_rhythm_lags_cover_the_periods_in_frames():
    assert RHYTHM_PERIODS == (0.2, 2.0)
    assert rhythm_lags(37.5) == (8, 75)  # 0.2 s is 7.5 frames: the first whole lag after
    assert rhythm_lags(100.0, (0.25, 1.5)) == (25, 150)
    assert rhythm_lags(1.0) == (1, 2)
    with pytest.raises(ValueError, match="periods"):
        rhythm_lags(37.5, (2.0, 0.2))
    with pytest.raises(ValueError, match="min_lag"):
        autocorrelation_peak(torch.zeros(1, 4, 2), min_lag=0, max_lag=3)


@pytest.fixture(scope="module")
def fitted():
    X = _records()
    return X, DiffAEEmbedder(**TINY).fit(X)


@pytest.mark.parametrize("readout", [r for r in READOUTS if r.endswith("+rhythm")])
def test_rhythm_readout_is_the_readout_without_it_then_the_peaks_by_hand(fitted, readout):
    X, emb = fitted
    emb = pickle.loads(pickle.dumps(emb))  # its own copy
    base = emb.set_params(readout=readout.removesuffix("+rhythm")).transform(X)
    Z = emb.set_params(readout=readout).transform(X)
    width, n_layers = TINY["encoder_width"], TINY["encoder_layers"]
    n_sets = n_layers + 1 if "blocks" in readout else 1
    assert Z.shape == (len(X), base.shape[1] + width * n_sets) == (
        len(X), emb._n_features_out_for(readout))
    np.testing.assert_array_equal(Z[:, : base.shape[1]], base)
    # one record alone, by hand: the final features, then each block's output
    records = emb._check_inference_input(X[4:5])[1]
    module = emb._module().eval()
    with torch.no_grad():
        hs, _ = module.encoder.block_frames(torch.as_tensor(records[0][None],
                                                            dtype=torch.float32))
    lo, hi = rhythm_lags(emb.model_fs / emb.encoder_stride)
    feats = [hs[-1], *hs[:-1]][:n_sets]
    expected = np.concatenate([_acf_peak_by_hand(f[0].numpy(), lo, hi) for f in feats])
    np.testing.assert_allclose(Z[4, base.shape[1]:], expected, rtol=1e-4, atol=1e-5)
    names = emb.get_feature_names_out()
    assert len(names) == Z.shape[1]
    assert names[base.shape[1]] == "diffaeembedder_frame_rhythm0"
    assert names[-1] == (f"diffaeembedder_block{n_layers - 1}_rhythm{width - 1}"
                         if "blocks" in readout else f"diffaeembedder_frame_rhythm{width - 1}")


def test_rhythm_readout_ignores_the_padding_of_longer_records_in_the_batch(fitted):
    X, emb = fitted
    emb = pickle.loads(pickle.dumps(emb)).set_params(
        readout="attention+stats+blocks+rhythm")
    together = emb.transform(X)
    alone = np.vstack([emb.transform([x]) for x in X])
    np.testing.assert_allclose(together, alone, rtol=1e-4, atol=1e-5)


def test_rhythm_readout_survives_pickle_and_clone(fitted):
    from sklearn.base import clone

    X, emb = fitted
    emb = pickle.loads(pickle.dumps(emb)).set_params(readout="attention+rhythm")
    again = pickle.loads(pickle.dumps(emb))
    np.testing.assert_array_equal(again.transform(X), emb.transform(X))
    assert clone(emb).get_params()["readout"] == "attention+rhythm"


def test_the_shipped_readouts_are_known_and_the_readme_names_them():
    from pathlib import Path

    assert DEFAULT_READOUT in READOUTS and FEW_LABELS_READOUT in READOUTS
    readme = " ".join((Path(__file__).parents[1] / "README.md").read_text().split())
    assert (f'`FEW_LABELS_READOUT`, the readout chosen for tens to hundreds of labels, and '
            f'`DEFAULT_READOUT`, the one for thousands, are both `"{DEFAULT_READOUT}"`'
            in readme) == (DEFAULT_READOUT == FEW_LABELS_READOUT)


def test_benchmarks_find_every_readout_inside_the_widest_by_name(fitted):
    X, emb = fitted
    emb = pickle.loads(pickle.dumps(emb))
    columns = _protocol.readout_columns(emb)
    assert emb.readout == "attention"  # put back
    widest = emb.set_params(readout=_protocol.WIDEST_READOUT).transform(X)
    assert set(columns) == set(READOUTS)
    for readout, cols in columns.items():
        np.testing.assert_array_equal(widest[:, cols],
                                      emb.set_params(readout=readout).transform(X))
    assert not math.isnan(widest.sum())
