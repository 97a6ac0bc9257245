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
    assert measure_snr_db(x, a) == pytest.approx(2.0, abs=1e-4)  # exact by construction
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
    assert measure_snr_db(x, c) == pytest.approx(6.0, abs=1e-4)
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
# --- exact behaviour (written to kill surviving mutants of benchmarks/run_mutation.py;
# see benchmarks/results/mutation.json) ---------------------------------------------


def test_documented_defaults_are_the_defaults():
    from _doc_defaults import assert_documented_defaults

    from sklearn_biodiff.noise import make_noise, make_noise_torch

    for obj in (AddNoise, augment_with_noise, robustness_curve, summarize_robustness,
                plot_robustness_curve, make_noise, make_noise_torch):
        assert assert_documented_defaults(obj) >= 1, obj


def test_measure_snr_db_is_computed_in_double_precision():
    rng = np.random.RandomState(0)
    clean = (100.0 + np.sin(np.arange(5000) / 7.0)).astype(np.float32)
    noisy = (clean + 0.01 * rng.randn(5000)).astype(np.float32)
    c64, n64 = clean.astype(np.float64), noisy.astype(np.float64)
    expected = 10 * np.log10(np.var(c64) / np.mean((n64 - c64) ** 2))
    assert measure_snr_db(clean, noisy) == expected


def test_corrupt_names_the_record_it_was_given():
    with pytest.raises(ValueError, match="record 0 is constant"):
        AddNoise().corrupt(np.ones(100), 0)


def test_augment_copies_use_the_documented_seeds():
    X, y = ECGISH[:2], np.array([0, 1])
    noise = AddNoise("gaussian", snr_db=(0, 24), random_state=11)
    Xa, ya, ga = augment_with_noise(X, y, noise)  # n_copies=1 by default
    assert len(Xa) == 4 and ya.tolist() == [0, 1, 0, 1] and ga is None
    ref = AddNoise("gaussian", snr_db=(0, 24), random_state=11).transform(X)
    np.testing.assert_array_equal(Xa[2], ref[0])
    Xa, _, _ = augment_with_noise(X, y, noise, n_copies=3)  # copy k: seed 11 + k
    for k in range(3):
        ref = AddNoise("gaussian", snr_db=(0, 24), random_state=11 + k).transform(X)
        np.testing.assert_array_equal(Xa[2 + 2 * k + 1], ref[1])
    # a RandomState: one seed per copy drawn from it
    seeds = np.random.RandomState(5).randint(2**31 - 1, size=2).tolist()
    Xa, _, _ = augment_with_noise(X, y, AddNoise(random_state=np.random.RandomState(5)),
                                  n_copies=2)
    for k, seed in enumerate(seeds):
        np.testing.assert_array_equal(Xa[2 + 2 * k], AddNoise(random_state=seed).transform(X)[0])


def test_augment_checks_the_sampling_rate_of_the_records():
    X = SignalList(ECGISH[:2], fs=250.0)
    with pytest.raises(ValueError, match="sampled at 250.0 Hz but AddNoise expects fs=300"):
        augment_with_noise(X, [0, 1], AddNoise(fs=300.0, random_state=0))
    Xa, _, _ = augment_with_noise(X, [0, 1], AddNoise(fs=250.0, random_state=0))
    assert Xa.fs == 250.0


def _curve_result(n_estimators=2):
    """A robustness_curve result with known means: score = 0.5 + est/100 + snr/100 + kind."""
    rows = []
    for e in range(n_estimators):
        rows.append((f"e{e}", "clean", np.inf, 0, 0.9 + e / 100))
        for k, kind in enumerate(("gaussian", "muscle")):
            for snr in (0.0, 6.0, 12.0):
                for r, jitter in enumerate((-0.01, 0.01)):  # two repeats around the mean
                    rows.append((f"e{e}", kind, snr, r, 0.5 + e / 100 + snr / 100 + k / 10
                                 + jitter))
    cols = ("estimator", "kind", "snr_db", "repeat", "score")
    return {c: np.array([row[i] for row in rows]) for i, c in enumerate(cols)}


def test_plot_robustness_curve_draws_the_mean_scores_and_clean_lines():
    import matplotlib.pyplot as plt
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    fig = plot_robustness_curve(_curve_result())
    assert [a.get_title() for a in fig.axes] == ["gaussian", "muscle"]
    assert fig.axes[0].get_ylabel() == "score"  # the default label
    assert [a.get_xlabel() for a in fig.axes] == ["SNR (dB)", "SNR (dB)"]
    assert fig.axes[0].get_shared_y_axes().joined(fig.axes[0], fig.axes[1])
    assert isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine)
    for k, a in enumerate(fig.axes):
        assert a.xaxis_inverted()  # high SNR (clean) on the left
        curves = [ln for ln in a.get_lines() if ln.get_marker() == "o"]
        cleans = [ln for ln in a.get_lines() if ln.get_linestyle() == ":"]
        for e, (curve, clean) in enumerate(zip(curves, cleans)):
            assert curve.get_label() == f"e{e}" and curve.get_color() == f"C{e}"
            np.testing.assert_array_equal(curve.get_xdata(), [0.0, 6.0, 12.0])
            np.testing.assert_allclose(curve.get_ydata(),
                                       [0.5 + e / 100 + s / 100 + k / 10 for s in (0, 6, 12)])
            assert clean.get_ydata()[0] == pytest.approx(0.9 + e / 100)
            assert clean.get_color() == curve.get_color()
    plt.close(fig)


def test_plot_robustness_curve_into_given_axes_with_a_legend_inside():
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2)
    out = plot_robustness_curve(_curve_result(), ax=axes, kinds=["muscle", "gaussian"],
                                ylabel="AUROC")
    assert out is fig and not fig.legends
    assert axes[-1].get_legend() is not None and axes[0].get_legend() is None
    assert [a.get_title() for a in axes] == ["muscle", "gaussian"]
    assert axes[0].get_ylabel() == "AUROC"
    one = plt.figure().add_subplot()  # a single Axes, not an array
    assert plot_robustness_curve(_curve_result(), ax=one, kinds=["muscle"]) is one.figure
    plt.close("all")


def test_plot_robustness_curve_gives_thirty_estimators_thirty_styles():
    import matplotlib.pyplot as plt

    fig = plot_robustness_curve(_curve_result(31), kinds=["gaussian"])
    lines = [ln for ln in fig.axes[0].get_lines() if ln.get_marker() == "o"]
    styles = [(ln.get_color(), ln.get_linestyle()) for ln in lines]
    assert len(set(styles[:30])) == 30 and styles[30] == styles[0]  # then they repeat
    plt.close(fig)


def test_snr_limits_are_inclusive():
    x = [np.sin(np.arange(3000) / 11.0)]
    AddNoise(snr_db=200.0, random_state=0).transform(x)  # the documented bounds are allowed
    AddNoise(snr_db=(-200.0, 200.0), random_state=0).transform(x)
    with pytest.raises(ValueError, match=r"snr_db=200.5 is outside \[-200, 200\] dB"):
        AddNoise(snr_db=200.5).transform(x)


def test_one_sample_of_noise_is_zero_not_nan():
    from sklearn_biodiff.noise import make_noise

    assert make_noise("gaussian", 1, 300.0, np.random.RandomState(0)).tolist() == [0.0]


def test_powerline_phases_are_uniform_on_the_circle():
    from sklearn_biodiff.noise import make_noise

    rng = np.random.RandomState(0)
    phases = []
    for _ in range(800):  # 50 Hz is FFT bin 500 of 3000 samples at 300 Hz
        spec = np.fft.rfft(make_noise("powerline", 3000, 300.0, rng))
        phases.append(np.angle(spec[500]) + np.pi / 2)  # sin(wt + p) has FFT angle p - pi/2
    phases = np.mod(phases, 2 * np.pi)
    counts = np.histogram(phases, bins=4, range=(0, 2 * np.pi))[0]
    assert counts.min() > 160  # 200 expected per quadrant


@pytest.fixture(scope="module")
def cheap_fitted():
    """A fitted pipeline on raw records that costs milliseconds (not ST features)."""
    from sklearn_biodiff.datasets import make_synthetic_ecg
    from sklearn_biodiff.preprocessing import FixedLength

    X, y = make_synthetic_ecg(30, min_seconds=4, max_seconds=5, random_state=0)
    pipe = make_pipeline(FixedLength(length=1200), StandardScaler(),
                         LogisticRegression(C=0.1)).fit(X, y)
    return pipe, X, y


def test_robustness_curve_default_scoring_and_checks(cheap_fitted):
    pipe, X, y = cheap_fitted
    res = robustness_curve(pipe, X, y, kinds=("gaussian",), snrs_db=(6,), scoring=None,
                           random_state=0)  # the estimator's own score: accuracy
    assert res["estimator"].tolist() == ["Pipeline", "Pipeline"]
    assert res["score"][0] == pytest.approx(pipe.score(X, y))
    with pytest.raises(ValueError, match="no estimator given"):
        robustness_curve({}, X, y)
    with pytest.raises(ValueError, match="snrs_db must be finite"):
        robustness_curve(pipe, X, y, snrs_db=())


def test_summarize_robustness_rows_and_missing_clean_or_snr(cheap_fitted):
    pipe, X, y = cheap_fitted
    res = robustness_curve(pipe, X, y, kinds=("gaussian",), snrs_db=(12, 6),
                           include_clean=False, random_state=0)
    (row,) = summarize_robustness(res)
    assert list(row) == ["estimator", "kind", "clean", "by_snr", "area", "drop"]
    assert row["clean"] is None and row["drop"] is None  # no clean row: no drop
    res = robustness_curve(pipe, X, y, kinds=("gaussian",), snrs_db=(12,), random_state=0)
    (row,) = summarize_robustness(res, drop_at_db=6.0)
    assert row["clean"] == pytest.approx(res["score"][0]) and row["drop"] is None
    assert row["area"] == row["by_snr"][12.0]  # one SNR: the area is that score


def test_robustness_curve_draws_the_noise_at_the_given_rate():
    # regression for a surviving mutant: robustness_curve must hand its fs to AddNoise,
    # or the 50 Hz powerline of a 500 Hz record is drawn as if sampled at 300 Hz
    from sklearn.dummy import DummyClassifier

    fs = 500.0
    t = np.arange(int(4 * fs)) / fs
    X = np.tile(np.sin(2 * np.pi * 3.0 * t), (6, 1))
    y = np.array([0, 1] * 3)
    freqs = np.fft.rfftfreq(X.shape[1], 1 / fs)
    peaks = []

    def noise_peak(estimator, X_scored, y_scored):
        added = np.asarray(X_scored) - X
        if np.abs(added).max() > 0:  # not the clean row
            peaks.append(freqs[np.argmax(np.abs(np.fft.rfft(added, axis=1)).mean(axis=0))])
        return 0.0

    robustness_curve({"dummy": DummyClassifier().fit(X, y)}, X, y, kinds=("powerline",),
                     snrs_db=(0.0, 6.0), scoring=noise_peak, fs=fs, random_state=0)
    assert len(peaks) == 2
    np.testing.assert_allclose(peaks, 50.0, atol=0.5)
