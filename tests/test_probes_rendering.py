"""The probe block (bench_probes, issue 31): the choice follows its stated rule, and the
targets are judged with the chosen probe."""

from __future__ import annotations

import copy

import pytest

from benchmarks.rendering.probes import _probes, svm_ahead

_METRICS = ("mean_f1_NAO", "macro_f1", "auroc_normal_vs_abnormal", "auroc_af_vs_rest")


def _scores(base):
    return {m: base for m in _METRICS}


def _paired(values):
    import numpy as np

    d = np.array(values)
    return {"mean": float(d.mean()), "sd": float(d.std(ddof=1)), "n": len(d),
            "n_above_zero": int((d > 0).sum()), "values": list(values)}


def _results(diffs, test_svm=0.81, test_logistic=0.79):
    states = [{"run": "r", "fold": k % 3, "logistic": _scores(0.78),
               "rbf_svm": _scores(0.78 + d)} for k, d in enumerate(diffs)]
    row = {"checkpoint": "x", "logistic": _scores(test_logistic), "rbf_svm": _scores(test_svm)}
    return {"bench_probes": {
        "readout": "attention+rhythm", "protocol": {"probes": "p"},
        "choose": {"states": states,
                   "svm_minus_logistic": {m: _paired(diffs) for m in _METRICS}},
        "test": {"fine_tuned": row, "frozen": copy.deepcopy(row),
                 "scattering": copy.deepcopy(row)}}}


@pytest.mark.parametrize("diffs, ahead", [
    ([0.010, 0.008, 0.012, 0.009, 0.011], True),   # consistent and far from zero
    ([0.030, -0.020, 0.025, -0.015, 0.020], False),  # mean > 0 but noisy: a tie
    ([0.004, 0.004, -0.001, -0.002, 0.004], False),  # ahead in 3 of 5 only
    ([0.010], False),                                # one state decides nothing
])
def test_the_svm_is_chosen_only_by_the_stated_rule(diffs, ahead):
    d = _paired(diffs) if len(diffs) > 1 else {"mean": diffs[0], "sd": None, "n": 1,
                                                 "n_above_zero": 1}
    assert svm_ahead(d) is ahead


def test_targets_are_judged_with_the_chosen_probe():
    chosen = _probes(_results([0.010, 0.008, 0.012, 0.009, 0.011]), "md")
    assert "the SVM is chosen" in chosen["pr_choose_verdict"]
    assert "the RBF-kernel SVM: mean F1 of N, A, O 0.810 (meets 0.8)" in chosen["pr_test_verdict"]
    tie = _probes(_results([0.030, -0.020, 0.025, -0.015, 0.020]), "md")
    assert "it is a tie: the README probe stays" in tie["pr_choose_verdict"]
    assert "the logistic regression (README probe): mean F1 of N, A, O 0.790 (misses 0.8)" \
        in tie["pr_test_verdict"]


def test_parts_not_run_say_so():
    r = _results([0.010, 0.008, 0.012, 0.009, 0.011])
    del r["bench_probes"]["test"]
    out = _probes(r, "md")
    assert out["pr_test_table"] == "(not run yet)" and out["pr_test_verdict"] == ""
    # a tie keeps the README probe: the SVM is then never scored on the test part
    tie = _results([0.030, -0.020, 0.025, -0.015, 0.020])
    del tie["bench_probes"]["test"]
    assert "a probe that was not chosen is not scored" in _probes(tie, "md")["pr_test_table"]
    assert _probes({}, "md") == {}


def test_the_benchmark_scores_the_test_part_only_for_a_chosen_svm(monkeypatch, tmp_path):
    import json

    from benchmarks import _common, bench_probes

    monkeypatch.setattr(_common, "RESULTS", tmp_path)
    monkeypatch.setattr(bench_probes, "load_data", lambda quick: (None,) * 5)
    monkeypatch.setattr(bench_probes, "test_part", lambda *a: {"scored": True})
    monkeypatch.setattr(bench_probes, "write_json", lambda name, payload, seeds: None)
    earlier = tmp_path / "bench_probes.json"
    with pytest.raises(SystemExit, match="not scored for a probe not chosen"):
        bench_probes.main(["--parts", "test"])  # no choice made yet
    for diffs, chosen in [([0.030, -0.020, 0.025, -0.015, 0.020], False),
                          ([0.010, 0.008, 0.012, 0.009, 0.011], True)]:
        run = _results(diffs)["bench_probes"]
        earlier.write_text(json.dumps({**run, "protocol": bench_probes.PROTOCOL, "run": {}}))
        earlier_choice = bench_probes._earlier_choice(bench_probes.PROTOCOL)
        assert {k: v for k, v in earlier_choice.items() if k != "run"} == run["choose"]
        if chosen:
            assert bench_probes.main(["--parts", "test"])["test"] == {"scored": True}
        else:
            with pytest.raises(SystemExit, match="not scored for a probe not chosen"):
                bench_probes.main(["--parts", "test"])
    # a choice made under another protocol does not count
    assert bench_probes._earlier_choice({"probes": "other"}) is None


def test_earlier_parts_are_kept_only_under_the_same_protocol(monkeypatch, tmp_path):
    import json

    from benchmarks import _common

    monkeypatch.setattr(_common, "RESULTS", tmp_path)
    assert _common.earlier_parts("b", {"p": 1}, ["cv"]) == {}  # no earlier run
    (tmp_path / "b.json").write_text(json.dumps(
        {"protocol": {"p": 1}, "run": {"commit": "a"}, "cv": {"x": 1},
         "test": {"x": 2, "run": {"commit": "b"}}}))
    kept = _common.earlier_parts("b", {"p": 1}, ["cv", "test", "absent"])
    # each part keeps the record of the run that made it
    assert kept == {"cv": {"x": 1, "run": {"commit": "a"}},
                    "test": {"x": 2, "run": {"commit": "b"}}}
    assert _common.earlier_parts("b", {"p": 2}, ["cv"]) == {}
