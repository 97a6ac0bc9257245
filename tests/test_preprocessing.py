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
# --- exact behaviour (each test below was written to kill surviving mutants of
# benchmarks/run_mutation.py; see benchmarks/results/mutation.json) -----------------

@pytest.mark.parametrize("obj", [BandpassFilter, FixedLength, Resample, StandardizeSignal,
                                 segment_records])
def test_documented_defaults_are_the_defaults(obj):
    from _doc_defaults import assert_documented_defaults

    assert assert_documented_defaults(obj) >= 1


def test_transformers_are_stateless_float32_and_say_so_in_their_tags():
    X2d = np.random.RandomState(0).randn(2, 600)  # float64 in
    ragged = [X2d[0], X2d[1, :500]]
    for est in (BandpassFilter(), Resample(orig_fs=300, target_fs=250),
                StandardizeSignal(), FixedLength(length=550)):
        tags = est.__sklearn_tags__()
        assert tags.requires_fit is False
        assert tags.transformer_tags.preserves_dtype == ["float32"]
        out = est.transform(X2d)  # no fit needed
        assert isinstance(out, np.ndarray) and out.dtype == np.float32
        assert out.flags.c_contiguous
        for rec in est.transform(ragged):
            assert rec.dtype == np.float32


def test_sampling_rate_is_checked_against_fs_and_carried_to_the_output():
    from sklearn_biodiff._validation import with_fs

    x360 = with_fs(np.stack([sine(5.0, 360, 2), sine(7.0, 360, 2)]), 360.0)
    ragged = with_fs([sine(5.0, 360, 2), sine(5.0, 360, 3)], 360.0)
    for est in (BandpassFilter(fs=300), Resample(orig_fs=300, target_fs=250)):
        name = type(est).__name__
        with pytest.raises(ValueError, match=rf"sampled at 360.0 Hz but {name} expects fs=300"):
            est.transform(x360)
        with pytest.raises(ValueError, match=rf"{name} expects fs=300"):
            est.transform(ragged)
    assert BandpassFilter(fs=360).transform(x360).fs == 360.0
    assert BandpassFilter(fs=360).transform(ragged).fs == 360.0
    assert Resample(orig_fs=360, target_fs=300).transform(x360).fs == 300
    assert Resample(orig_fs=360, target_fs=300).transform(ragged).fs == 300
    assert FixedLength(length=100).transform(x360).fs == 360.0
    assert FixedLength(length=100).transform(ragged).fs == 360.0
    assert StandardizeSignal().transform(x360).fs == 360.0
    # signals without a rate stay plain arrays
    assert not hasattr(BandpassFilter().transform(np.zeros((1, 600))), "fs")


def test_feature_names_are_object_strings_and_ragged_error_names_the_class():
    names = Resample(orig_fs=300, target_fs=150).fit(np.zeros((1, 8))).get_feature_names_out()
    assert names.dtype == object and names.tolist() == [f"sample{i}" for i in range(4)]
    names = FixedLength(length=3).fit([np.zeros(5)]).get_feature_names_out()
    assert names.dtype == object and names.tolist() == ["sample0", "sample1", "sample2"]
    with pytest.raises(ValueError, match="^StandardizeSignal was fitted on ragged records"):
        StandardizeSignal().fit([np.zeros(3), np.zeros(4)]).get_feature_names_out()


@pytest.mark.parametrize("low_hz, high_hz, btype, wn", [
    (0.5, 40.0, "bandpass", [0.5, 40.0]),
    (1.0, None, "highpass", 1.0),
    (None, 30.0, "lowpass", 30.0),
])
def test_bandpass_is_scipy_zero_phase_butterworth(low_hz, high_hz, btype, wn):
    from scipy.signal import butter, sosfiltfilt

    fs, order = 250.0, 3
    rng = np.random.RandomState(0)
    X = rng.randn(2, 1000).astype(np.float32)  # what the transformer filters
    sos = butter(order, wn, btype=btype, fs=fs, output="sos")
    # long records: scipy's default edge padding of filtfilt, 3 * (2 * n_sections + 1)
    padlen = 3 * (2 * len(sos) + 1)
    ref = sosfiltfilt(sos, X.astype(np.float64), axis=1, padlen=padlen).astype(np.float32)
    est = BandpassFilter(low_hz=low_hz, high_hz=high_hz, fs=fs, order=order)
    np.testing.assert_array_equal(est.transform(X), ref)
    np.testing.assert_array_equal(est.transform([X[0], X[1]])[1], ref[1])
    # a record shorter than that padding gets the longest padding it allows (n - 1)
    short = X[0, :12]
    ref_short = sosfiltfilt(sos, short.astype(np.float64), padlen=11).astype(np.float32)
    np.testing.assert_array_equal(est.transform([short])[0], ref_short)


def test_bandpass_cutoff_checks_are_exact():
    x = [np.zeros(100)]
    BandpassFilter(low_hz=None, high_hz=120, fs=300).transform(x)  # 120 < 150 Hz: fine
    with pytest.raises(ValueError, match=r"high_hz=150 Hz must be below the Nyquist frequency "
                                         r"150.0 Hz of fs=300 Hz"):
        BandpassFilter(low_hz=None, high_hz=150, fs=300).transform(x)
    with pytest.raises(ValueError, match=r"low_hz=150 Hz must be below the Nyquist"):
        BandpassFilter(low_hz=150, high_hz=None, fs=300).transform(x)
    with pytest.raises(ValueError, match=r"low_hz=10 must be below high_hz=10\."):
        BandpassFilter(low_hz=10, high_hz=10).transform(x)
    with pytest.raises(ValueError, match="BandpassFilter needs low_hz, high_hz or both"):
        BandpassFilter(low_hz=None, high_hz=None).transform(x)


def _robust_reference(x, center, scale):
    x = np.asarray(x, dtype=np.float64)
    c = np.median(x) if center == "median" else x.mean()
    if scale == "iqr":
        q75, q25 = np.percentile(x, [75, 25])
        s = (q75 - q25) / 1.3489795
    elif scale == "mad":
        s = np.median(np.abs(x - c)) * 1.4826
    else:
        s = x.std()
    return (x - c) / s


@pytest.mark.parametrize("center", ["median", "mean"])
@pytest.mark.parametrize("scale", ["iqr", "mad", "std"])
def test_standardize_is_exact_per_record(center, scale):
    rng = np.random.RandomState(1)
    # skewed records of different offsets and spreads: median != mean, IQR != MAD != std
    X = np.stack([5.0 + rng.exponential(2.0, 301), -3.0 + 0.01 * rng.exponential(1.0, 301)])
    X = X.astype(np.float32)  # the transformers work on float32 records
    ref = np.stack([_robust_reference(x, center, scale) for x in X]).astype(np.float32)
    est = StandardizeSignal(center=center, scale=scale)
    np.testing.assert_array_equal(est.transform(X), ref)
    ragged = est.transform([X[0], X[1, :200]])
    np.testing.assert_array_equal(ragged[0], ref[0])
    np.testing.assert_array_equal(
        ragged[1], _robust_reference(X[1, :200], center, scale).astype(np.float32))


def test_standardize_defaults_are_median_and_iqr():
    from sklearn_biodiff.preprocessing._scale import standardize_records

    x = np.random.RandomState(2).exponential(1.0, 101)
    np.testing.assert_array_equal(standardize_records(x), _robust_reference(x, "median", "iqr"))


def test_standardize_flat_record_falls_back_to_std_and_small_spreads_are_kept():
    from sklearn_biodiff.preprocessing._scale import standardize_records

    spike = np.zeros(101)
    spike[50] = 1.0  # IQR and MAD are 0: scaled by the standard deviation (~0.1)
    np.testing.assert_array_equal(standardize_records(spike), spike / spike.std())
    small = 1e-3 * np.random.RandomState(3).randn(400)  # a robust spread far below 1
    np.testing.assert_array_equal(standardize_records(small),
                                  _robust_reference(small, "median", "iqr"))


def test_fixed_length_centre_pad_splits_odd_and_even_totals():
    out = FixedLength(length=6).transform([np.ones(2), np.ones(3)])
    np.testing.assert_array_equal(out[0], [0, 0, 1, 1, 0, 0])  # 4 zeros: 2 + 2
    np.testing.assert_array_equal(out[1], [0, 1, 1, 1, 0, 0])  # 3 zeros: 1 + 2


def test_fixed_length_random_crop_reaches_every_window():
    X = [np.arange(12.0)] * 200
    starts = FixedLength(length=10, crop="random", random_state=0).transform(X)[:, 0]
    assert set(starts.tolist()) == {0.0, 1.0, 2.0}


def test_resample_2d_runs_along_samples_and_ratio_is_bounded():
    from sklearn_biodiff.preprocessing._resample import resample_ratio, resample_signal

    X = np.stack([sine(5.0, 360, 10), sine(3.0, 360, 10), sine(2.0, 360, 10)])
    out = Resample(orig_fs=360, target_fs=300).transform(X)
    assert out.shape == (3, 3000)
    for row, f in zip(out, (5.0, 3.0, 2.0)):
        np.testing.assert_allclose(row[100:-100], sine(f, 300, 10)[100:-100], atol=2e-3)
    # the rational ratio keeps the polyphase filter small: denominator at most 1000
    up, down = resample_ratio(1001.0, 1000.0)
    assert down <= 1000 and abs(up / down - 1000 / 1001) < 1e-5
    # the helper returns float32 on both paths (identity and resampling)
    assert resample_signal(np.zeros(10), 300, 300).dtype == np.float32
    assert resample_signal(np.zeros(10), 300, 150).dtype == np.float32


def test_segment_records_edges_one_sample_windows_and_exact_fit():
    rec = [np.arange(4.0)]
    W, _, _ = segment_records(rec, 1)  # a window of one sample is allowed
    assert W.ravel().tolist() == [0, 1, 2, 3]
    W, _, _ = segment_records(rec, 4)  # a record exactly one window long gives one window
    assert W.tolist() == [[0, 1, 2, 3]]
    W, _, _ = segment_records(rec, 2, step=1)  # step 1: every start
    assert W[:, 0].tolist() == [0, 1, 2]
    for step in (0, -1, 1.5):
        with pytest.raises(ValueError, match=rf"step must be a positive integer, got {step}"):
            segment_records(rec, 2, step=step)


def test_standardize_flat_row_falls_back_to_its_own_std_in_a_block():
    from sklearn_biodiff.preprocessing._scale import standardize_records

    spike = np.zeros(101)
    spike[50] = 1.0
    wide = 100.0 * np.random.RandomState(4).randn(101)
    out = standardize_records(np.stack([spike, wide]))
    np.testing.assert_array_equal(out[0], spike / spike.std())
    np.testing.assert_array_equal(out[1], _robust_reference(wide, "median", "iqr"))


@pytest.mark.parametrize("make", [
    lambda: BandpassFilter(fs=100.0, low_hz=1.0, high_hz=20.0),
    lambda: Resample(orig_fs=100.0, target_fs=50.0),
    lambda: StandardizeSignal(),
])
def test_transform_checks_the_lead_count_seen_in_fit(make):
    rng = np.random.RandomState(0)
    one_lead = rng.randn(4, 400)
    two_leads = rng.randn(4, 2, 400)
    est = make().fit(one_lead)
    assert est.n_leads_in_ == 1
    est.transform(one_lead)
    with pytest.raises(ValueError, match=r"X has 2 lead\(s\), but \w+ was fitted on 1 "
                                         r"lead\(s\)"):
        est.transform(two_leads)
    assert est.n_leads_in_ == 1  # transform does not re-record it
