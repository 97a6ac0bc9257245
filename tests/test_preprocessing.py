import numpy as np
import pytest
from scipy.signal import welch
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

from sklearn_biodiff._validation import SignalArray, SignalList
from sklearn_biodiff.preprocessing import (
    BandpassFilter,
    FixedLength,
    Resample,
    StandardizeSignal,
    segment_records,
)


def sine(freq, fs, seconds):
    t = np.arange(int(fs * seconds)) / fs
    return np.sin(2 * np.pi * freq * t)


def test_resample_known_sine_keeps_frequency_and_length():
    x = sine(5.0, 360, 10)
    y = Resample(orig_fs=360, target_fs=300).fit_transform([x])[0]
    assert len(y) == 3000 and y.dtype == np.float32
    ref = sine(5.0, 300, 10)
    # compare away from the edges, where the FIR filter has full support
    np.testing.assert_allclose(y[100:-100], ref[100:-100], atol=2e-3)


def test_resample_ragged_lengths_and_identity():
    X = [np.ones(720), np.ones(1000)]
    out = Resample(orig_fs=360, target_fs=300).fit_transform(X)
    assert [len(o) for o in out] == [600, 834]
    same = Resample(orig_fs=300, target_fs=300).fit_transform(X)
    np.testing.assert_array_equal(same[1], X[1])


def test_bandpass_attenuates_out_of_band_and_keeps_in_band():
    fs = 300
    inband, low, high = sine(10, fs, 20), sine(0.05, fs, 20), sine(60, fs, 20)
    f = BandpassFilter(low_hz=0.5, high_hz=40, fs=fs).fit([inband])
    out = f.transform(np.stack([inband, low, high]))
    mid = slice(600, -600)
    assert np.std(out[0][mid]) == pytest.approx(np.std(inband[mid]), rel=0.02)
    assert np.std(out[1][mid]) < 0.05 * np.std(low[mid])
    # order-4 Butterworth applied twice: |H(60 Hz)|^2 = 1 / (1 + 1.5**8) ~ 0.04
    assert np.std(out[2][mid]) < 0.05 * np.std(high[mid])
    # zero phase: the in-band sine is not shifted
    core = slice(1500, -1500)  # the 0.5 Hz high-pass edge transient lasts seconds
    np.testing.assert_allclose(out[0][core], inband[core], atol=0.03)


def test_bandpass_power_spectrum_on_noise():
    rng = np.random.RandomState(0)
    x = rng.randn(30000)
    out = BandpassFilter(low_hz=5, high_hz=20, fs=300).fit_transform([x])[0]
    f, p = welch(out, fs=300, nperseg=1024)
    assert p[(f > 8) & (f < 17)].mean() > 100 * p[f > 40].mean()


def test_bandpass_bad_cutoffs():
    with pytest.raises(ValueError, match="Nyquist"):
        BandpassFilter(high_hz=200, fs=300).fit_transform([np.zeros(100)])
    with pytest.raises(ValueError, match="below high_hz"):
        BandpassFilter(low_hz=30, high_hz=10).fit_transform([np.zeros(100)])


def test_bandpass_short_record_still_filters():
    out = BandpassFilter().fit_transform([np.arange(10.0)])
    assert out[0].shape == (10,) and np.isfinite(out[0]).all()


@pytest.mark.parametrize("scale", ["iqr", "mad", "std"])
def test_standardize_gaussian_matches_zscore(scale):
    rng = np.random.RandomState(0)
    x = 3.0 + 2.0 * rng.randn(20000)
    y = StandardizeSignal(scale=scale).fit_transform([x])[0]
    assert abs(np.median(y)) < 0.03
    assert np.std(y) == pytest.approx(1.0, rel=0.05)


def test_standardize_constant_record_is_zero():
    y = StandardizeSignal().fit_transform(np.full((2, 50), 7.0))
    np.testing.assert_array_equal(y, 0)


def test_fixed_length_center_crop_and_pad():
    X = [np.arange(10.0), np.arange(3.0)]
    out = FixedLength(length=6).fit_transform(X)
    np.testing.assert_array_equal(out[0], np.arange(2, 8))
    np.testing.assert_array_equal(out[1], [0, 0, 1, 2, 0, 0])
    out = FixedLength(length=6, pad="end").fit_transform(X)
    np.testing.assert_array_equal(out[1], [0, 1, 2, 0, 0, 0])


def test_fixed_length_random_crop_reproducible():
    X = [np.arange(100.0)] * 5
    a = FixedLength(length=10, crop="random", random_state=0).fit_transform(X)
    b = FixedLength(length=10, crop="random", random_state=0).fit_transform(X)
    np.testing.assert_array_equal(a, b)
    assert len({row[0] for row in a}) > 1
    for row in a:  # every window is a contiguous piece of the record
        np.testing.assert_array_equal(np.diff(row), 1)


def test_pipeline_ragged_to_fixed(sample):
    pipe = make_pipeline(
        BandpassFilter(fs=sample.fs), StandardizeSignal(), FixedLength(length=3000)
    )
    Xt = pipe.fit_transform(sample.signals[:8])
    assert Xt.shape == (8, 3000) and Xt.dtype == np.float32
    Xt2 = clone(pipe).fit_transform(sample.signals[:8])
    np.testing.assert_array_equal(Xt, Xt2)


def test_feature_names_only_for_fixed_length_output():
    r = Resample(orig_fs=2, target_fs=1).fit(np.zeros((2, 10)))
    assert list(r.get_feature_names_out()[:2]) == ["sample0", "sample1"]
    assert len(r.get_feature_names_out()) == 5
    r.fit([np.zeros(3), np.zeros(4)])
    with pytest.raises(ValueError, match="ragged"):
        r.get_feature_names_out()
    f = FixedLength(length=4).fit([np.zeros(3), np.zeros(5)])
    assert len(f.get_feature_names_out()) == 4


def test_segment_records_windows_labels_groups():
    from sklearn_biodiff.preprocessing import segment_records

    recs = [np.arange(10.0), np.arange(7.0) + 100]
    W, yw, gw = segment_records(recs, 3, y=["N", "A"], groups=[5, 9])
    assert W.shape == (5, 3) and W.dtype == np.float32
    np.testing.assert_array_equal(W[3], [100, 101, 102])
    assert yw.tolist() == ["N", "N", "N", "A", "A"] and gw.tolist() == [5, 5, 5, 9, 9]
    W2, _, g2 = segment_records(recs, 4, step=2)
    assert W2.shape == (4 + 2, 4) and g2.tolist() == [0, 0, 0, 0, 1, 1]
    np.testing.assert_array_equal(W2[1], [2, 3, 4, 5])
    with pytest.raises(ValueError, match="shorter than one window of 8 samples, e.g. record 1"):
        segment_records(recs, 8)
    with pytest.raises(ValueError, match="window must be a positive integer"):
        segment_records(recs, 0)
    with pytest.raises(ValueError, match="one entry per record"):
        segment_records(recs, 3, y=[0])


# ------------------------------------------------------------ multi-lead (issue 20)
def _two_leads(n_records=3, n=900, fs=300.0):
    t = np.arange(n) / fs
    return np.stack([np.stack([np.sin(2 * np.pi * (1 + k) * t), 0.3 * np.cos(7 * t) + k])
                     for k in range(n_records)]).astype(np.float32)


def test_each_lead_is_transformed_as_a_single_lead_record():
    X = SignalArray(_two_leads(), fs=300.0)
    for est in (Resample(orig_fs=300, target_fs=250), BandpassFilter(fs=300),
                StandardizeSignal()):
        out = est.fit_transform(X)
        assert out.shape[:2] == (3, 2) and out.fs == est._output_fs(X)
        for lead in range(2):
            np.testing.assert_array_equal(out[:, lead], est.fit_transform(X[:, lead]))


def test_fixed_length_crops_every_lead_at_the_same_samples():
    X = _two_leads()
    X[:, 1] = X[:, 0] * 2 + 1  # lead 1 is a function of lead 0
    out = FixedLength(length=500, crop="random", random_state=0).fit_transform(
        SignalArray(X, fs=300.0))
    assert out.shape == (3, 2, 500) and out.fs == 300.0
    np.testing.assert_allclose(out[:, 1], out[:, 0] * 2 + 1, rtol=1e-6)  # still aligned
    ragged = [X[0], X[1, :, :300]]
    out = FixedLength(length=400, pad="end").fit_transform(ragged)
    assert out.shape == (2, 2, 400)
    np.testing.assert_array_equal(out[1, :, 300:], 0)


def test_segment_records_keeps_the_lead_axis_and_the_rate():
    X = SignalArray(_two_leads(2, n=1000), fs=300.0)
    W, yw, gw = segment_records(X, 300, step=200, y=[0, 1])
    assert W.shape == (8, 2, 300) and W.fs == 300.0  # (1000 - 300) // 200 + 1 = 4 each
    np.testing.assert_array_equal(W[5], X[1, :, 200:500])
    assert yw.tolist() == [0] * 4 + [1] * 4 and gw.tolist() == [0] * 4 + [1] * 4
    ragged = SignalList([X[0], X[1, :, :700]], fs=300.0)
    W, _, gw = segment_records(ragged, 300)
    assert W.shape == (5, 2, 300) and W.fs == 300.0 and gw.tolist() == [0, 0, 0, 1, 1]
