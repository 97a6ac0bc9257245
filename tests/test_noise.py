"""AddNoise (exact SNR, real NSTDB noise), augmentation and robustness curves."""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.signal import welch
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_biodiff._validation import SignalList
from sklearn_biodiff.feature_extraction import ScatteringFeatures
from sklearn_biodiff.noise import (
    NOISE_KINDS,
    AddNoise,
    augment_with_noise,
    load_nstdb_noise,
    measure_snr_db,
    plot_robustness_curve,
    robustness_curve,
    summarize_robustness,
)

RNG = np.random.RandomState(0)
ECGISH = [np.sin(np.linspace(0, 40 * n / 3000, n)) + 0.3 * RNG.randn(n) + 2.0
          for n in (3000, 4500, 2800)]


@pytest.mark.parametrize("kind", NOISE_KINDS + (("gaussian", "muscle"),))
@pytest.mark.parametrize("snr", [24, 12, 0, -6])
def test_achieved_snr_matches_request(kind, snr):
    noisy = AddNoise(kind, snr_db=snr, random_state=0).fit_transform(ECGISH)
    for clean, nz in zip(ECGISH, noisy):
        # exact by construction; 1e-4 dB leaves room only for the float32 output
        assert abs(measure_snr_db(clean, nz) - snr) < 1e-4
        assert nz.dtype == np.float32 and nz.shape == clean.shape


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(["gaussian", "baseline_wander", "muscle", "powerline", "mixture"]),
       st.floats(-10, 40), st.sampled_from([128.0, 250.0, 300.0, 360.0, 500.0]),
       st.integers(200, 5000), st.integers(0, 1000))
def test_snr_property_any_rate_and_length(kind, snr, fs, n, seed):
    x = np.random.RandomState(seed).randn(n).cumsum()
    noisy = AddNoise(kind, snr_db=snr, fs=fs, random_state=seed).fit_transform(x[None])
    assert abs(measure_snr_db(x, noisy[0]) - snr) < 1e-4  # exact up to float32 rounding


def test_same_seed_same_noise_other_seed_other_noise():
    a = AddNoise("muscle", 6, random_state=3).fit_transform(ECGISH)
    b = AddNoise("muscle", 6, random_state=3).fit_transform(ECGISH)
    c = AddNoise("muscle", 6, random_state=4).fit_transform(ECGISH)
    for u, v, w in zip(a, b, c):
        np.testing.assert_array_equal(u, v)
        assert not np.allclose(u, w)


@pytest.mark.parametrize("kind", ["baseline_wander", "muscle"])
def test_real_noise_segments_differ_across_records(kind):
    X = np.tile(ECGISH[0], (4, 1))
    noise = AddNoise(kind, 0, random_state=0).fit_transform(X) - X
    z = (noise - noise.mean(1, keepdims=True)) / noise.std(1, keepdims=True)
    for i, j in zip(*np.triu_indices(4, 1)):
        assert np.mean((z[i] - z[j]) ** 2) > 0.2  # different segments, not one repeated


def test_noise_spectra_are_what_they_claim():
    fs = 300.0
    x = np.sin(2 * np.pi * 1.2 * np.arange(30000) / fs)[None]

    def spectrum(kind, **kw):
        n = AddNoise(kind, 0, fs=fs, random_state=0, **kw).fit_transform(x)[0] - x[0]
        return welch(n, fs=fs, nperseg=3000)

    f, p = spectrum("powerline", powerline_hz=60.0)
    assert abs(f[np.argmax(p)] - 60.0) < 0.2
    assert p[np.argmin(abs(f - 120))] > 100 * np.median(p)
    f, p = spectrum("baseline_wander")
    assert p[f < 1.0].sum() > 0.9 * p.sum()
    bw_high = p[f > 5].sum() / p.sum()
    f, p = spectrum("muscle")  # the NSTDB "ma" record also drifts: most power is < 1 Hz
    assert p[f > 5].sum() / p.sum() > 20 * bw_high
    f, p = spectrum("gaussian")
    assert p[f > 75].sum() / p.sum() == pytest.approx(0.5, abs=0.05)


def test_bundled_nstdb_noise_is_small_and_real():
    path = Path(__file__).resolve().parents[1] / "sklearn_biodiff/noise/data/nstdb_noise.npz"
    assert path.stat().st_size < 1_200_000
    for kind, std_mv in (("baseline_wander", 0.47), ("muscle", 0.19)):
        noise, fs = load_nstdb_noise(kind)
        assert fs == 300.0 and noise.shape == (541_667,)
        assert noise.std() == pytest.approx(std_mv, rel=0.1)  # NSTDB README figures
    with pytest.raises(ValueError, match="real noise kinds"):
        load_nstdb_noise("em")


def test_ragged_list_keeps_fs_and_fs_mismatch_is_an_error():
    X = SignalList(ECGISH, fs=300.0)
    out = AddNoise("gaussian", 12, random_state=0).fit_transform(X)
    assert isinstance(out, list) and out.fs == 300.0
    with pytest.raises(ValueError, match="300"):
        AddNoise(fs=250.0).fit_transform(X)


@pytest.mark.parametrize("params, match", [
    ({"kind": "pink"}, "kind must be one of"),
    ({"kind": ()}, "kind must be one of"),
    ({"snr_db": float("nan")}, "snr_db must be a finite number"),
    ({"snr_db": (12, 6)}, "low <= high"),
    ({"snr_db": (1, 2, 3)}, "low <= high"),
    ({"kind": "powerline", "powerline_hz": 200.0}, "Nyquist"),
])
def test_invalid_parameters_are_rejected_clearly(params, match):
    with pytest.raises(ValueError, match=match):
        AddNoise(**params).fit_transform(ECGISH)


def test_constant_record_is_an_error_naming_it():
    with pytest.raises(ValueError, match="record 1 is constant"):
        AddNoise(random_state=0).fit_transform([ECGISH[0], np.ones(3000)])


def test_snr_range_draws_per_record():
    X = np.tile(ECGISH[0], (40, 1))
    noisy = AddNoise("gaussian", snr_db=(0, 20), random_state=0).fit_transform(X)
    snrs = [measure_snr_db(X[0], n) for n in noisy]
    assert 0 - 0.1 < min(snrs) < 5 and 15 < max(snrs) < 20 + 0.1


def test_pipeline_and_clone():
    pipe = make_pipeline(AddNoise("mixture", 12, random_state=0), ScatteringFeatures(J=4, Q=2))
    feats = pipe.fit_transform(ECGISH)
    assert feats.shape[0] == 3
    pipe2 = clone(pipe)
    assert pipe2.steps[0][1].get_params() == pipe.steps[0][1].get_params()
    # float32 scattering: threaded FFT sums may differ in the last bits between runs
    np.testing.assert_allclose(pipe2.fit_transform(ECGISH), feats, rtol=1e-4, atol=1e-5)


def test_augment_with_noise():
    y = np.array([0, 1, 0])
    Xa, ya, ga = augment_with_noise(SignalList(ECGISH, fs=300.0), y,
                                    AddNoise("muscle", (6, 12), random_state=5),
                                    n_copies=2, groups=[7, 8, 9])
    assert len(Xa) == 9 and Xa.fs == 300.0
    assert ya.tolist() == [0, 1, 0] * 3 and ga.tolist() == [7, 8, 9] * 3
    np.testing.assert_array_equal(Xa[0], ECGISH[0].astype(np.float32))
    assert not np.allclose(Xa[3], Xa[6])  # two copies, two noise draws
    assert 6 - 0.1 < measure_snr_db(ECGISH[0], Xa[3]) < 12 + 0.1
    with pytest.raises(ValueError, match="n_copies"):
        augment_with_noise(ECGISH, y, AddNoise(), n_copies=0)


@pytest.fixture(scope="module")
def fitted():
    from sklearn_biodiff.datasets import make_synthetic_ecg

    X, y = make_synthetic_ecg(40, min_seconds=6, max_seconds=8, random_state=0)
    pipe = make_pipeline(ScatteringFeatures(J=6, Q=4), StandardScaler(),
                         LogisticRegression(C=0.1)).fit(X, y)
    return pipe, X, y


def test_robustness_curve_tidy_and_deterministic(fitted):
    pipe, X, y = fitted
    ests = {"st": pipe, "st2": pipe}
    res = robustness_curve(ests, X, y, kinds=("gaussian", "muscle"), snrs_db=(12, 0),
                           n_repeats=2, random_state=0)
    assert set(res) == {"estimator", "kind", "snr_db", "repeat", "score"}
    assert len(res["score"]) == 2 * (1 + 2 * 2 * 2)
    clean = res["score"][res["kind"] == "clean"]
    from sklearn.metrics import roc_auc_score

    assert clean[0] == pytest.approx(roc_auc_score(y, pipe.decision_function(X)))
    # both names see the same corrupted data
    np.testing.assert_array_equal(res["score"][res["estimator"] == "st"],
                                  res["score"][res["estimator"] == "st2"])
    again = robustness_curve(ests, X, y, kinds=("gaussian", "muscle"), snrs_db=(12, 0),
                             n_repeats=2, random_state=0, verbose=1)  # progress bar only
    np.testing.assert_array_equal(res["score"], again["score"])
    # more noise, lower score: clean > 12 dB > 0 dB for each kind (means over repeats)
    for kind in ("gaussian", "muscle"):
        at = {snr: res["score"][(res["estimator"] == "st") & (res["kind"] == kind)
                                & (res["snr_db"] == snr)].mean() for snr in (12, 0)}
        assert clean[0] > at[12] > at[0] + 0.03, (kind, clean[0], at)
    fig = plot_robustness_curve(res)
    assert len(fig.axes) == 2 and len(fig.legends) == 1  # one legend under the panels
    # more estimators than colours: the 11th gets a new line style
    many = {k: np.concatenate([v] * 6) for k, v in res.items()}
    many["estimator"] = np.concatenate([np.char.add(res["estimator"], str(i))
                                        for i in range(6)])
    lines = plot_robustness_curve(many).axes[0].get_lines()
    styles = {(ln.get_color(), ln.get_linestyle()) for ln in lines if ln.get_marker() == "o"}
    assert len(styles) == 12
    frame = robustness_curve(pipe, X, y, kinds=("powerline",), snrs_db=(6,), as_frame=True,
                             random_state=0)
    assert list(frame.columns) == ["estimator", "kind", "snr_db", "repeat", "score"]
    assert summarize_robustness(frame)[0]["kind"] == "powerline"


def test_robustness_curve_fits_nothing_and_checks_inputs(fitted):
    pipe, X, y = fitted
    with pytest.raises(Exception, match="not fitted"):
        robustness_curve(clone(pipe), X, y)
    with pytest.raises(ValueError, match="finite"):
        robustness_curve(pipe, X, y, snrs_db=(np.inf,))
    with pytest.raises(ValueError, match="n_repeats"):
        robustness_curve(pipe, X, y, n_repeats=0)


def test_summarize_robustness_area_and_drop():
    res = {"estimator": np.array(["a"] * 4), "kind": np.array(["clean", "g", "g", "g"]),
           "snr_db": np.array([np.inf, 0.0, 6.0, 12.0]), "repeat": np.zeros(4),
           "score": np.array([0.9, 0.5, 0.7, 0.8])}
    (row,) = summarize_robustness(res)
    assert row["by_snr"] == {0.0: 0.5, 6.0: 0.7, 12.0: 0.8}
    assert row["area"] == pytest.approx(((0.5 + 0.7) / 2 * 6 + (0.7 + 0.8) / 2 * 6) / 12)
    assert row["drop"] == pytest.approx(0.2)


def test_corrupt_one_record_exact_snr_fresh_noise_per_call():
    x = np.sin(np.arange(2000) / 11.0)
    noise = AddNoise("baseline_wander", snr_db=(2.0, 2.0))
    rng = np.random.RandomState(0)
    a, b = noise.corrupt(x, rng), noise.corrupt(x, rng)
    assert a.dtype == np.float32 and a.shape == x.shape
    assert measure_snr_db(x, a) == pytest.approx(2.0, abs=0.01)
    assert not np.allclose(a, b)
    np.testing.assert_array_equal(noise.corrupt(x, 5), noise.corrupt(x, 5))
    with pytest.raises(ValueError, match=r"one record of shape \(n_samples,\) or "
                                         r"\(n_leads, n_samples\), got shape \(1, 1, 2000\)"):
        noise.corrupt(x[None, None], 0)
    with pytest.raises(ValueError, match="kind must be one of"):
        AddNoise("pink").corrupt(x, 0)


def test_source_span_draws_real_noise_from_that_part_only(monkeypatch):
    from sklearn_biodiff.noise import _sources

    fs, n = 300.0, 60_000
    t = np.arange(n) / fs
    fake = np.where(np.arange(n) < n // 2, np.sin(2 * np.pi * 1.0 * t),
                    np.sin(2 * np.pi * 7.0 * t))
    monkeypatch.setattr(_sources, "_real_noise_at", lambda kind, fs: fake)

    def peak_hz(span, seed):
        x = _sources.make_noise("muscle", 3000, fs, np.random.RandomState(seed),
                                source_span=span)
        return np.argmax(np.abs(np.fft.rfft(x))) * fs / 3000

    assert {peak_hz((0.0, 0.5), s) for s in range(20)} == {1.0}
    assert {peak_hz((0.5, 1.0), s) for s in range(20)} == {7.0}
    assert {peak_hz((0.0, 1.0), s) for s in range(40)} >= {1.0, 7.0}


def test_source_span_default_keeps_earlier_draws_and_is_validated():
    x = np.sin(np.arange(3000) / 11.0)
    a = AddNoise("mixture", snr_db=6, random_state=3).fit_transform([x])[0]
    b = AddNoise("mixture", snr_db=6, source_span=(0.0, 1.0), random_state=3).fit_transform([x])[0]
    c = AddNoise("mixture", snr_db=6, source_span=(0.5, 1.0), random_state=3).fit_transform([x])[0]
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert measure_snr_db(x, c) == pytest.approx(6.0, abs=0.01)
    for span in [(0.5, 0.5), (-0.1, 0.5), (0.2, 1.2), (0.3,), "half"]:
        with pytest.raises(ValueError, match="source_span"):
            AddNoise("muscle", source_span=span).fit_transform([x])


@pytest.mark.parametrize("leads", ["independent", "shared"])
def test_every_lead_gets_the_snr_with_independent_or_shared_noise(leads):
    t = np.arange(3000) / 300.0
    x = np.stack([np.sin(2 * np.pi * 1.1 * t), 0.2 * np.cos(2 * np.pi * 0.7 * t) + 3.0])
    X = np.stack([x, 2 * x])  # (2 records, 2 leads, 3000)
    noisy = AddNoise("gaussian", snr_db=(3.0, 9.0), leads=leads, random_state=0).fit_transform(X)
    assert noisy.shape == X.shape
    for rec, clean in zip(noisy, X):
        snrs = [measure_snr_db(c, n) for c, n in zip(clean, rec)]
        assert snrs[0] == pytest.approx(snrs[1], abs=1e-3)  # one SNR per record, both leads
        assert 3.0 <= snrs[0] <= 9.0
        added = rec.astype(np.float64) - clean
        unit = added / added.std(axis=1, keepdims=True)
        corr = np.corrcoef(unit)[0, 1]
        if leads == "shared":  # one draw, scaled per lead
            assert corr == pytest.approx(1.0, abs=1e-4)
        else:
            assert abs(corr) < 0.1
    # a single lead is the same under both settings
    one = [AddNoise(leads=m, random_state=0).fit_transform(X[:, :1]) for m in ("independent",
                                                                              "shared")]
    np.testing.assert_array_equal(*one)


def test_a_constant_lead_is_named():
    X = np.stack([np.sin(np.arange(500) / 9.0), np.ones(500)])[None]
    with pytest.raises(ValueError, match="record 0, lead 1, is constant"):
        AddNoise(random_state=0).fit_transform(X)
