"""The label-efficiency benchmark and its selection (issue 35): subsets, rows, no test data."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks import bench_label_efficiency as bench
from benchmarks import select_label_efficiency as select

REPO = Path(__file__).resolve().parents[1]


def _labels(n=400, seed=0):
    rng = np.random.default_rng(seed)
    return rng.choice(["N", "A", "O", "~"], size=n, p=[0.6, 0.1, 0.25, 0.05])


@pytest.mark.parametrize("fraction", [0.05, 0.1, 1.0])
def test_labelled_subset_is_a_stratified_deterministic_part_of_the_training_part(fraction):
    y = _labels()
    sub = bench.labelled_subset(y, fraction, seed=3)
    assert np.array_equal(sub, bench.labelled_subset(y, fraction, seed=3))
    assert sub.min() >= 0 and sub.max() < len(y) and len(np.unique(sub)) == len(sub)
    assert len(sub) == (len(y) if fraction == 1 else round(fraction * len(y)))
    for c in "NAO":  # each class kept about in proportion
        assert abs((y[sub] == c).mean() - (y == c).mean()) < 0.05
    if fraction < 1:
        assert not np.array_equal(sub, bench.labelled_subset(y, fraction, seed=4))


def test_rows_score_the_test_part_once_per_fraction_and_seed(monkeypatch):
    pre = bench._protocol
    calls = []
    scores = pre.class_scores
    monkeypatch.setattr(pre, "class_scores", lambda *a: calls.append(1) or scores(*a))
    rng = np.random.default_rng(0)
    y_tr, y_te = _labels(300, 1), _labels(120, 2)
    Z_tr = rng.normal(size=(300, 12)) + (y_tr == "A")[:, None]
    Z_te = rng.normal(size=(120, 12)) + (y_te == "A")[:, None]
    meta = {"columns": {"attention": np.arange(4), "attention+stats": np.arange(8),
                        "attention+stats+blocks": np.arange(12)}}
    rows = {"z": bench.Row("src", bench._readout_columns("attention"), label="z"),
            "all": bench.Row("src", label="all")}
    out = bench.run_rows(pre, rows, {"src": (Z_tr, Z_te, meta)}, y_tr, y_te,
                         (0.1, 1.0), [0, 1, 2])
    assert len(calls) == 2 * (3 + 1)  # rows x (3 seeds at 10 %, one draw at 100 %)
    assert out["z"]["n_features"] == 4 and out["all"]["n_features"] == 12
    fr = out["z"]["fractions"]["0.1"]
    assert fr["n_labelled"] == 30 and [r["seed"] for r in fr["runs"]] == [0, 1, 2]
    assert set(fr["test"]) == set(bench.METRICS)
    assert fr["test"]["mean_f1_NAO"]["sd"] >= 0
    assert out["all"]["fractions"]["1"]["seeds"] == [0]


def test_every_source_is_a_factory_and_each_frozen_row_has_its_fine_tuned_and_random_twin():
    assert set(bench.SOURCES) == {"scattering", "pretrained", "fine_tuned", "random_init"}
    assert [k for k, s in bench.SOURCES.items() if s.uses_labels] == ["fine_tuned"]
    for row in bench.ROWS.values():
        assert row.source in bench.SOURCES
    pretrained = [k for k in bench.ROWS if k.startswith("pretrained")]
    for twin in ("random_init", "fine_tuned"):
        assert all(k.replace("pretrained", twin) in bench.ROWS for k in pretrained)


class _Recorder:
    """A label-aware source's fitted estimator: remembers what it was fitted on.

    Its ``transform`` has the widest readout's five columns, and its feature names say
    which of them each readout keeps (as ``DiffAEEmbedder``'s do).
    """

    NAMES = {"attention": ["z0", "z1"], "attention+stats": ["z0", "z1", "m0"],
             "attention+stats+blocks": ["z0", "z1", "m0", "b0"],
             "attention+rhythm": ["z0", "z1", "r0"],
             "attention+stats+rhythm": ["z0", "z1", "m0", "r0"],
             "attention+stats+blocks+rhythm": ["z0", "z1", "m0", "b0", "r0"]}

    def __init__(self, X_lab, y_lab):
        self.y_lab = list(y_lab)
        self.readout = "attention"

    def set_params(self, readout):
        self.readout = readout
        return self

    def get_feature_names_out(self):
        return np.asarray(self.NAMES[self.readout], dtype=object)

    def transform(self, X):
        return np.array([[float(len(x)), 1.0, 2.0, 3.0, 4.0] for x in X])


def test_a_label_aware_source_is_refitted_on_each_labelled_subset_only(tmp_path, monkeypatch):
    """One fit per (fraction, seed), on that subset's labels (never the test part's),
    shared by the rows of that source, and cached: a rerun does not refit."""
    y_tr, y_te = _labels(300, 5), _labels(100, 6)
    X_tr = [np.zeros(10 + i) for i in range(300)]
    X_te = [np.zeros(5) for _ in range(100)]
    fits = []

    def factory(X_fit, threads, X_lab, y_lab, seed, quick=False):
        assert len(X_fit) == 300 and len(X_lab) == len(y_lab)
        fits.append((len(y_lab), seed))
        return _Recorder(X_lab, y_lab)

    monkeypatch.setattr(bench, "CACHE", tmp_path)
    source = bench.Source(factory, uses_labels=True)
    rows = {"ft z": bench.Row("ft", bench._readout_columns("attention")),
            "ft all": bench.Row("ft", bench._readout_columns("attention+stats+blocks"))}
    pre = bench._protocol

    def run():
        meta = {"ft": {"fits": {}}}
        mats = {"ft": functools.partial(bench._labelled_matrices, "ft", source, X_tr, X_te,
                                        y_tr, y_te, False, 1, False, meta)}
        return bench.run_rows(pre, rows, mats, y_tr, y_te, (0.1, 1.0), [0, 1])

    out = run()
    assert sorted(fits) == [(30, 0), (30, 1), (300, 0)]  # not once per row
    assert out["ft z"]["n_features"] == 2 and out["ft all"]["n_features"] == 4
    run()
    assert len(fits) == 3  # the second run read the cache


def test_selection_reads_only_the_training_part(tmp_path, monkeypatch):
    """The test part's embeddings are NaN: any use of them would break the scores."""
    y_tr, y_te = _labels(600, 3), _labels(200, 4)
    d, w, blocks = 4, 2, 1
    rng = np.random.default_rng(0)
    # the widest readout's layout: z | frame stats | block stats | frame and block rhythm
    n_stats, n_rhythm = 2 * w * (blocks + 1), w * (blocks + 1)
    width = d + n_stats + n_rhythm
    z, frame = np.arange(d), np.arange(d, d + 2 * w)
    stats_all, rhythm_all = np.arange(d, d + n_stats), np.arange(d + n_stats, width)
    columns = {"attention": z, "attention+stats": np.r_[z, frame],
               "attention+stats+blocks": np.r_[z, stats_all],
               "attention+rhythm": np.r_[z, rhythm_all[:w]],
               "attention+stats+rhythm": np.r_[z, frame, rhythm_all[:w]],
               "attention+stats+blocks+rhythm": np.arange(width)}
    Z_tr = rng.normal(size=(600, width)).astype(np.float32)
    Z_tr[:, 0] += 2 * (y_tr == "A")
    fp = bench._fingerprint(y_tr, y_te, False)
    bench_cache = tmp_path / f"pretrained_{fp}.npz"
    monkeypatch.setattr(bench, "CACHE", tmp_path)
    bench._save_matrices(bench_cache, Z_tr, np.full((200, width), np.nan, np.float32),
                         1.0, columns)
    monkeypatch.setattr(select, "CACHE", tmp_path)
    monkeypatch.setattr(select, "RESULTS", tmp_path)
    monkeypatch.setattr(select, "load_split",
                        lambda pre, quick: ("synthetic", None, y_tr, None, y_te))
    monkeypatch.setattr(select, "SELECTION_SEEDS", {0.01: [100, 101], 0.03: [100, 101],
                                                    0.10: [100, 101]})
    monkeypatch.setattr(select, "STAGE1_PROJECTIONS", ("none", "pca2"))
    monkeypatch.setattr(select, "STAGE1_OTHER_COLUMNS", ())
    monkeypatch.setattr(select, "STAGE2_COLUMNS", ("attention",))
    probes = bench._protocol.PROBES
    monkeypatch.setattr(bench._protocol, "PROBES",
                        {k: probes[k] for k in ("readme", "C=0.1", "balanced")})
    monkeypatch.setattr(select, "CV_PROBES", ("readme", "balanced"))
    written = {}

    def fake_write(name, payload, *, seeds):
        written[name] = payload
        (tmp_path / f"{name}.json").write_text(json.dumps(payload, default=float))

    monkeypatch.setattr(select, "write_json", fake_write)
    report = select.main([])
    cands = report["candidates"]
    assert "attention | none | C=0.1" in cands and "attention+stats | pca2 | readme" in cands
    for c in cands.values():
        for f in ("0.01", "0.1"):
            s = c["scores"][f]
            assert np.isfinite(s["mean_f1_NAO"]) and np.isfinite(s["auroc_af_vs_rest"])
    assert set(report["chosen"]) == {"0.01", "0.1"}
    assert set(report["chosen"]["0.01"]["scores"]) == set(columns)
    for choice in report["chosen"].values():
        assert choice["readout"] == choice["tied"][0]  # the narrowest of the tied
    # the probe stage: the CV probes on the readout chosen at 1 %, at 1 %, 3 % and 10 %
    assert set(report["chosen_probe"]) == {"0.01", "0.03", "0.1"}
    for f, choice in report["chosen_probe"].items():
        assert choice["readout"] == report["chosen"]["0.01"]["readout"]
        assert choice["probe"] == choice["tied"][0] and set(choice["scores"]) == {
            "readme", "balanced"}
        key = f"{choice['readout']} | none | balanced"
        assert f in cands[key]["scores"]
    # a candidate scored earlier keeps its fractions: the rerun adds none and changes none
    again = select.main(["--stage", "probe"])
    assert again["candidates"] == json.loads(json.dumps(cands, default=float))


def _probe_results(scores: dict) -> dict:
    """Candidates of ``attention+rhythm`` with ``{probe: (mean F1, AF AUROC)}`` at every
    fraction of the probe stage."""
    return {f"attention+rhythm | none | {p}": {"scores": {
        f"{f:g}": {"mean_f1_NAO": a, "auroc_af_vs_rest": b} for f in select.PROBE_FRACTIONS}}
        for p, (a, b) in scores.items()}


def test_the_probe_choice_takes_the_best_and_gives_ties_to_the_readme_probe():
    base = {p: (0.50, 0.90) for p in select.CV_PROBES}
    beyond = _probe_results({**base, "balanced": (0.52, 0.90)})  # +0.02 > TIE
    chosen = select.choose_probes(beyond, "attention+rhythm")
    assert set(chosen) == {f"{f:g}" for f in select.PROBE_FRACTIONS}
    assert chosen["0.01"]["probe"] == "balanced" and chosen["0.01"]["tied"] == ["balanced"]
    assert chosen["0.01"]["settings"] == {"class_weight": "balanced"}
    within = _probe_results({**base, "balanced": (0.505, 0.90)})  # +0.005 < TIE
    assert select.choose_probes(within, "attention+rhythm")["0.01"]["probe"] == "readme"
    missing = _probe_results({p: base[p] for p in select.CV_PROBES[:-1]})
    assert select.choose_probes(missing, "attention+rhythm") == {}  # not all scored


def test_each_row_is_probed_with_its_own_probe():
    pre = bench._protocol
    rng = np.random.default_rng(0)
    y_tr, y_te = _labels(300, 1), _labels(120, 2)
    Z_tr, Z_te = rng.normal(size=(300, 5)), rng.normal(size=(120, 5))
    rows = {"fixed": bench.Row("src", label="fixed", probe="C=0.1"),
            "balanced": bench.Row("src", label="balanced", probe="balanced"),
            "readme": bench.Row("src", label="readme")}
    out = bench.run_rows(pre, rows, {"src": (Z_tr, Z_te, {})}, y_tr, y_te, (1.0,), [0])
    assert [r["probe"]["logisticregression__C"] for r in
            out["fixed"]["fractions"]["1"]["runs"]] == [0.1]
    assert out["balanced"]["probe_settings"] == {"class_weight": "balanced"}
    assert out["readme"]["probe"] == "readme" and out["readme"]["probe_settings"] == {}
    # the balanced probe is another fit than the README one on the same matrices
    assert (out["balanced"]["fractions"]["1"]["test"] !=
            out["readme"]["fractions"]["1"]["test"])


def test_the_few_label_probe_rows_mirror_st_and_use_the_probe_chosen_at_1_percent():
    tagged = {k: r for k, r in bench.ROWS.items() if r.probe != "readme"}
    assert {r.probe for r in tagged.values()} == {bench.FEW_LABELS_PROBE}
    assert f"ScatteringFeatures probe={bench.FEW_LABELS_PROBE}" in tagged
    sel = REPO / "benchmarks" / "results" / "select_label_efficiency.json"
    if sel.exists():
        chosen = json.loads(sel.read_text()).get("chosen_probe", {})
        assert chosen["0.01"]["probe"] == bench.FEW_LABELS_PROBE


def test_pool_is_disjoint_from_the_labelled_subset(monkeypatch):
    pre = bench._protocol
    y = _labels(500, 5)
    Z = np.random.default_rng(1).normal(size=(500, 6))
    sub = bench.labelled_subset(y, 0.1, 0)
    seen = {}
    scores = pre.class_scores
    monkeypatch.setattr(pre, "class_scores",
                        lambda yy, *a: seen.setdefault("n", len(yy)) and scores(yy, *a))
    select.pool_scores(pre, Z, y, sub, {})
    assert seen["n"] == len(y) - len(sub)


def test_the_rendered_block_says_which_frozen_rows_meet_the_targets(monkeypatch):
    from benchmarks import render_results as render
    from benchmarks.rendering import label_efficiency as le

    # the rows are edited below, so the card's few-label figures no longer match them
    monkeypatch.setattr(le, "_check_card", lambda b: None)

    results = render.load_results()
    if "bench_label_efficiency" not in results:
        pytest.skip("no bench_label_efficiency.json")
    changed = copy.deepcopy(results)
    rows = changed["bench_label_efficiency"]["rows"]
    for row in rows.values():  # every frozen row far below, one far above
        if row["source"] == "pretrained":
            for f in ("0.01", "0.1"):
                row["fractions"][f]["test"]["mean_f1_NAO"].update(mean=0.1, sd=0.01)
    for f in ("0.01", "0.1"):
        t = rows["pretrained readout=attention"]["fractions"][f]["test"]
        t["mean_f1_NAO"].update(mean=0.9, sd=0.01)
        t["auroc_af_vs_rest"]["mean"] = 0.99
    text = " ".join(render.render_block("label_efficiency", changed, "md").split())
    assert "at 1 %, `attention` (mean F1 0.900 for" in text
    assert "at 10 %, `attention` (mean F1 0.900 for" in text
    assert "by less than one seed sd" not in text  # 0.9 is far above what is needed


@pytest.mark.parametrize("part,key,value,match", [
    ("chosen", "readout", "attention+stats", "FEW_LABELS_READOUT"),
    ("chosen_probe", "probe", "wide-C", "probe chosen at 1 %"),
])
def test_the_rendered_block_refuses_a_few_label_choice_the_selection_did_not_make(
        part, key, value, match):
    """A readout (at 10 %) or a probe (at 1 %) the selection did not choose."""
    from benchmarks import render_results as render

    results = render.load_results()
    if "select_label_efficiency" not in results or "bench_label_efficiency" not in results:
        pytest.skip("no label-efficiency JSON")
    changed = copy.deepcopy(results)
    fraction = "0.1" if part == "chosen" else "0.01"
    changed["select_label_efficiency"][part][fraction][key] = value
    with pytest.raises(render.ClaimError, match=match):
        render.render_block("label_efficiency", changed, "md")


def test_the_rendered_block_refuses_few_label_figures_on_the_card_that_are_not_this_runs(
        monkeypatch):
    from benchmarks import render_results as render
    from benchmarks.rendering import pretrained as rp

    results = render.load_results()
    if "bench_label_efficiency" not in results:
        pytest.skip("no bench_label_efficiency.json")
    b = results["bench_label_efficiency"]
    row = b["rows"]["pretrained readout=attention"]["fractions"]["0.01"]
    good = {"readout": "attention", "1 % (59 labels, 5 subsets)": {
        "mean_f1_NAO": round(row["test"]["mean_f1_NAO"]["mean"], 4)}}
    configs = {b["checkpoint"]: {"card": {"metrics": {"few labels, readout attention": good}}}}
    from benchmarks.rendering import label_efficiency as le

    monkeypatch.setattr(rp, "_shipped_configs", lambda: configs)
    le._check_card(b)  # this run's figures: fine
    good["1 % (59 labels, 5 subsets)"]["mean_f1_NAO"] += 0.01
    with pytest.raises(render.ClaimError, match="few-label figures"):
        le._check_card(b)


def test_the_readme_recommends_the_probes_the_selection_chose():
    sel = REPO / "benchmarks" / "results" / "select_label_efficiency.json"
    if not sel.exists():
        pytest.skip("no select_label_efficiency.json")
    chosen = json.loads(sel.read_text())["chosen_probe"]
    readme = " ".join((REPO / "README.md").read_text().split())
    few = "with only tens of labels (a handful per rare class) the same with "
    balanced = few + '`LogisticRegression(class_weight="balanced")`'
    assert (balanced in readme) == (chosen["0.01"]["settings"] == {
        "class_weight": "balanced"})
    # from a few hundred labels on (3 % and 10 %), the README probe: C by CV only
    assert ("C by cross-validation inside the labelled set from a few hundred labels on"
            in readme) == all(chosen[f]["probe"] == "readme" for f in ("0.03", "0.1"))
    assert ('GridSearchCV(LogisticRegression(max_iter=3000), {"C": [0.01, 0.1, 1.0]})'
            in readme)  # the quickstart's probe


def test_the_embedding_meta_goes_into_the_json_as_column_counts():
    """A cache's meta holds index arrays; the report must still serialise (a run once
    lost its probes to this at the very end)."""
    meta = {"seconds": 1.5, "cached": True,
            "columns": {"attention": np.arange(4), "attention+rhythm": np.arange(6)}}
    out = bench.json_meta(meta)
    assert out == {"seconds": 1.5, "cached": True,
                   "n_features_out": {"attention": 4, "attention+rhythm": 6}}
    json.dumps(out)


def test_the_readme_headline_quotes_the_few_label_rows_of_the_benchmark():
    from benchmarks import render_results as render
    from benchmarks.rendering.headline import _few_labels
    from sklearn_biodiff.pretrained import FEW_LABELS_READOUT

    results = render.load_results()
    if "bench_label_efficiency" not in results:
        pytest.skip("no bench_label_efficiency.json")
    rows = copy.deepcopy(results["bench_label_efficiency"]["rows"])
    mine = rows[f"pretrained readout={FEW_LABELS_READOUT} probe={bench.FEW_LABELS_PROBE}"]
    mine["fractions"]["0.01"]["test"]["mean_f1_NAO"].update(mean=0.123456, sd=0.0101)
    text = " ".join(_few_labels({"bench_label_efficiency": {"rows": rows}}).split())
    assert "mean F1 of N, A, O 0.123 ± 0.010" in text
    assert "class_weight='balanced'" in text
    assert _few_labels({}) == ""  # no benchmark: no sentence


def test_the_fine_tuned_cache_key_follows_the_package_recipe(monkeypatch):
    from sklearn_biodiff.feature_extraction import _diffae

    source = bench.SOURCES["fine_tuned"]
    key = source.key()
    assert bench.SOURCES["pretrained"].key() == ""  # label-free sources: the split only
    monkeypatch.setitem(_diffae.FINE_TUNING_SETTINGS, "max_epochs", 99)
    assert source.key() != key  # a new default recipe is not read from the old cache
    monkeypatch.undo()
    monkeypatch.setattr(_diffae.DiffAEEmbedder.__init__, "__kwdefaults__", {
        **_diffae.DiffAEEmbedder.__init__.__kwdefaults__, "supervised_weight": 0.25})
    assert source.key() != key
