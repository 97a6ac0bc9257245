"""Fields of the shipped-checkpoint block (issue 16).

From ``bench_pretrained``, ``bench_transform_speed``, ``bench_robustness --pretrained``
and the packaged model cards.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ._text import _and, _claim, _f, _table, _thousands

REPO = Path(__file__).resolve().parents[2]


PROBE_METRICS = {"macro_f1": "4-class macro F1", "mean_f1_NAO": "mean F1 N, A, O",
                 "auroc_normal_vs_abnormal": "normal vs abnormal AUROC",
                 "auroc_af_vs_rest": "AF vs rest AUROC"}


#: targets of issue 16 for a pretrained embedding (test part of the README split)
PRETRAINED_TARGETS = {"macro_f1": 0.67, "auroc_normal_vs_abnormal": 0.875,
                      "auroc_af_vs_rest": 0.935}


def _pretrained(r: dict, fmt: str) -> dict:
    """The shipped checkpoints against ScatteringFeatures and beside it, same probe and run."""
    if "bench_pretrained" not in r:
        return {}
    from sklearn_biodiff.pretrained import DEFAULT_PRETRAINED

    b = r["bench_pretrained"]
    checkpoints = b["checkpoints"]
    _claim(DEFAULT_PRETRAINED in checkpoints,
           "bench_pretrained scored DEFAULT_PRETRAINED (it is chosen by its CV figures)")
    name = DEFAULT_PRETRAINED
    row = checkpoints[name]
    peer = b["peer_scattering"]
    hybrid = row["hybrid_with_scattering"]
    cards = {k: c["card"]["metrics"] for k, c in _shipped_configs().items()}
    for k, c in checkpoints.items():
        _claim(all(abs(d) <= b["tolerance"] for d in c["abs_diff"].values()),
               f"the shipped checkpoint {k} reproduces its model card")
        # the card's figures of the wider readouts, against the same readouts in this run
        for readout, (key, _, _) in READOUT_ROWS.items():
            card = cards.get(k, {}).get(f"readout {readout}", {})
            if key is None or key not in c:
                continue
            for part in ("test", "cv_train"):
                figures = card.get(f"{part} (shipped weights)", {})
                _claim(all(abs(c[key][part][m] - v) <= b["tolerance"]
                           for m, v in figures.items()),
                       f"the shipped checkpoint {k} reproduces its card with readout "
                       f"{readout} ({part})")

    def cells(res):
        return [f"{res['probe_C']:g}" if "probe_C" in res else "not recorded",
                *(f"{_f(res['cv_train'][k])} / {_f(res['test'][k])}" for k in PROBE_METRICS)]

    stats = {k: c[READOUT_KEY] for k, c in checkpoints.items() if READOUT_KEY in c}
    rows = [[f"`{k}` (frozen)", *cells(c)] for k, c in checkpoints.items()]
    rows += [[f"`{k}` (frozen), {READOUT_LABEL}", *cells(c)] for k, c in stats.items()]
    blocks = {k: c[BLOCKS_KEY] for k, c in checkpoints.items() if BLOCKS_KEY in c}
    if name in blocks:  # the default checkpoint only: the other rows are in the sentence
        rows.append([f"`{name}` (frozen), {BLOCKS_LABEL}", *cells(blocks[name])])
    for key, _, label in (v for k, v in READOUT_ROWS.items() if k.endswith("+rhythm")):
        if key in row:  # the rhythm readouts, the default checkpoint only
            rows.append([f"`{name}` (frozen), {label}", *cells(row[key])])
    rows.append(["`ScatteringFeatures()`", *cells(peer)])
    rows += [[f"`ScatteringFeatures()` + `{k}` side by side",
              *cells(c["hybrid_with_scattering"])] for k, c in checkpoints.items()]
    rows += [[f"`ScatteringFeatures()` + `{k}` side by side, {READOUT_LABEL}",
              *cells(c["hybrid_with_scattering"])] for k, c in stats.items()]
    rows.append([f"side by side with `{name}` / `ScatteringFeatures()`, test", "",
                 *(f"{hybrid['ratio_to_scattering'][k]:.3f}" for k in PROBE_METRICS)])

    def below(part):
        return [PROBE_METRICS[k] for k in PROBE_METRICS if row[part][k] < peer[part][k]]

    if below("cv_train") == list(PROBE_METRICS.values()) and all(
            row["test"][k] - peer["test"][k] <= -TEST_TIE for k in PROBE_METRICS):
        alone = (f"Alone with `z` (the paper's readout), `{name}` is below the "
                 "training-free features on every metric, "
                 f"in CV and on the test part (by {TEST_TIE} or more there).")
    else:
        above = [v for v in PROBE_METRICS.values() if v not in below("cv_train")]
        alone = (f"Alone with `z` (the paper's readout), `{name}` against the training-free "
                 f"features on the test part: {_test_gaps(row['test'], peer['test'])}"
                 + (f" (in CV it is above them on {_and(above)})" if above else "") + ".")
    cv_up = all(hybrid["cv_train"][k] > peer["cv_train"][k] for k in PROBE_METRICS)
    test_up = all(hybrid["test"][k] > peer["test"][k] for k in PROBE_METRICS)
    if cv_up and test_up:
        gain = min(hybrid["cv_train"][k] - peer["cv_train"][k] for k in PROBE_METRICS)
        side = ("Side by side with them (`z`) it adds to them: above the features alone on every "
                f"metric, in CV on the training part (by {gain:.3f} at least) and on the "
                "test part.")
    else:
        side = ("Side by side with them it is not above the features alone on every metric "
                "(CV and test): it adds little or nothing.")
    met_h = [k for k, v in PRETRAINED_TARGETS.items() if hybrid["test"][k] >= v]
    met_a = [k for k, v in PRETRAINED_TARGETS.items() if row["test"][k] >= v]
    targets = "; ".join(f"{PROBE_METRICS[k]} >= {v:g}" for k, v in PRETRAINED_TARGETS.items())
    reach = (f"Clean-data targets of the roadmap ({targets}), on the test part: the "
             "side-by-side embedding meets "
             + ("all of them" if len(met_h) == len(PRETRAINED_TARGETS)
                else ", ".join(PROBE_METRICS[k] for k in met_h) or "none")
             + f"; `{name}` alone with `z` meets "
             + ("all of them" if len(met_a) == len(PRETRAINED_TARGETS)
                else ", ".join(PROBE_METRICS[k] for k in met_a) or "none")
             + " (with `DEFAULT_READOUT`: \"Readout\" below).")
    return {
        "pt_table": _table(["embedding", "probe C (CV)",
                            *(f"{v}, CV / test" for v in PROBE_METRICS.values())], rows, fmt),
        "pt_name": name,
        "pt_n_train": _thousands(b["n_train"]), "pt_n_test": _thousands(b["n_test"]),
        "pt_dims": f"{peer['n_features']} + {hybrid['n_features'] - peer['n_features']} columns"
                   + (f", {peer['n_features']} + {stats[name]['n_features']} with "
                      f"{READOUT_LABEL}" if name in stats else ""),
        "pt_threads": _pretrained_threads(b),
        "pt_verdict": " ".join([alone, side, reach]),
        "pt_robust": _pretrained_robustness(r, name),
        "pt_readout": _pretrained_readout(checkpoints, stats, name)
                      + _blocks_readout(stats, blocks, name)
                      + _default_readout(r, checkpoints, name, peer),
        "pt_speed": _transform_speed(r, name),
    }


def _pretrained_threads(b: dict) -> str:
    """Torch threads of the transforms: ``--threads`` (recorded, or read off the command).

    The machine block's ``torch_threads`` is torch's setting when the JSON was written,
    not the ``n_threads``/``n_jobs`` the estimators ran with.
    """
    threads = b.get("threads")
    if threads is None:
        found = re.search(r"--threads (\d+)", b["run"]["command"])
        threads = int(found.group(1)) if found else None
    return "torch's default" if threads is None else str(threads)


#: bench_pretrained's key and the table's label of the readout="attention+stats" rows
READOUT_KEY = "readout_attention_stats"


READOUT_LABEL = '`readout="attention+stats"`'
#: the same for the readout="attention+stats+blocks" rows (scored alone)
BLOCKS_KEY = "readout_attention_stats_blocks"
BLOCKS_LABEL = '`readout="attention+stats+blocks"`'


def _pretrained_readout(checkpoints: dict, stats: dict, name: str) -> str:
    """``attention+stats`` against ``z`` alone for the default checkpoint, in CV.

    ``stats``: checkpoint name -> its ``READOUT_KEY`` results, for those scored so.
    """
    if name not in stats:
        return ""
    a, s = checkpoints[name], stats[name]
    up_cv = [k for k in PROBE_METRICS if s["cv_train"][k] > a["cv_train"][k]]
    also = [k for k, v in stats.items() if k != name
            and v["cv_train"]["macro_f1"] > checkpoints[k]["cv_train"]["macro_f1"]]
    return (
        f"Readout. With {READOUT_LABEL} ({s['n_features']} columns: `z`, then the mean and "
        "the standard deviation over time of each of the encoder's last features, the "
        f"frames the Attention Reducer pools), the same frozen `{name}` scores in CV on "
        f"the training part {_pairs(s, a, 'cv_train')} with `z` alone: "
        + ("higher on every metric" if len(up_cv) == len(PROBE_METRICS) else
           "higher on " + (_and([PROBE_METRICS[k] for k in up_cv]) or "no metric"))
        + (f" (and on 4-class macro F1 for {_and([f'`{k}`' for k in also])} too)"
           if also else "") + ".")


def _pairs(ours: dict, theirs: dict, part: str) -> str:
    """"metric ours against theirs; ..." over PROBE_METRICS for one part (CV or test)."""
    return "; ".join(f"{v} {_f(ours[part][k])} against {_f(theirs[part][k])}"
                     for k, v in PROBE_METRICS.items())


def _blocks_readout(stats: dict, blocks: dict, name: str) -> str:
    """readout="attention+stats+blocks" against "attention+stats", in CV, per checkpoint."""
    if name not in blocks:
        return ""
    both = [k for k in blocks if k in stats]
    b, s = blocks[name], stats[name]
    return (f" With {BLOCKS_LABEL} ({b['n_features']} columns: those, then the same two "
            "statistics of each LRU block's output), scored alone in the same run, CV macro "
            "F1 on the training part against " + READOUT_LABEL + ": "
            + "; ".join(f"`{k}` {_f(blocks[k]['cv_train']['macro_f1'])} against "
                        f"{_f(stats[k]['cv_train']['macro_f1'])}" for k in both)
            + f" (normal vs abnormal AUROC for `{name}`: "
            f"{_f(b['cv_train']['auroc_normal_vs_abnormal'])} against "
            f"{_f(s['cv_train']['auroc_normal_vs_abnormal'])}).")


#: readout -> (bench_pretrained key, None for ``z``; bench_robustness model prefix; label),
#: narrowest (fewest columns with the shipped architecture) first
READOUT_ROWS = {
    "attention": (None, "pretrained", "`z` alone"),
    "attention+rhythm": ("readout_attention_rhythm", "pretrained_rhythm",
                         '`readout="attention+rhythm"`'),
    "attention+stats": (READOUT_KEY, "pretrained_stats", READOUT_LABEL),
    "attention+stats+rhythm": ("readout_attention_stats_rhythm", "pretrained_stats_rhythm",
                               '`readout="attention+stats+rhythm"`'),
    "attention+stats+blocks": (BLOCKS_KEY, "pretrained_blocks", BLOCKS_LABEL),
    "attention+stats+blocks+rhythm": ("readout_attention_stats_blocks_rhythm",
                                      "pretrained_blocks_rhythm",
                                      '`readout="attention+stats+blocks+rhythm"`'),
}


def _readout_checks(r: dict, name: str, readout: str) -> dict[str, bool | None]:
    """Whether ``name`` with ``readout`` meets the robustness and the speed target.

    ``None`` where that readout of that checkpoint has not been measured.
    """
    m = r.get("bench_robustness", {}).get("models", {}).get(
        f"{READOUT_ROWS[readout][1]}:{name}")
    white = None if m is None else m["kinds"].get("gaussian")
    s = r.get("bench_transform_speed", {}).get("estimators", {})
    e = s.get(name if readout == "attention" else f"{name}, readout={readout}")
    rate = None if e is None else _best_rate(e)
    return {"noise robustness": None if white is None else _meets_robust_targets(
                m["mean_area_over_kinds"], white["area_normalised"]),
            "transform speed": None if rate is None else rate >= SPEED_TARGET}


def _default_readout(r: dict, checkpoints: dict, name: str, peer: dict) -> str:
    """Which readout is ``DEFAULT_READOUT`` and why, then its test figures, scored once.

    The rule: among the readouts scored for the default checkpoint whose noise
    robustness and transform speed were measured and meet the roadmap's targets (those
    not known to fail them when none qualifies; all scored ones when every one fails),
    the one with the highest CV macro F1 on the training part; where
    ``bench_readout_cv`` does not find it ahead of a narrower readout by more than one
    fold standard deviation (paired folds), that is a tie and the narrowest tied
    readout is chosen.
    """
    from sklearn_biodiff.pretrained import DEFAULT_READOUT

    c = checkpoints[name]
    scored = {ro: (c if key is None else c[key]) for ro, (key, _, _) in READOUT_ROWS.items()
              if key is None or key in c}
    _claim(DEFAULT_READOUT in scored,
           "bench_pretrained scored DEFAULT_READOUT for the default checkpoint")
    checks = {ro: _readout_checks(r, name, ro) for ro in scored}
    qualified = [ro for ro in scored if all(checks[ro].values())]
    not_failed = [ro for ro in scored if False not in checks[ro].values()]
    pool = qualified or not_failed or list(scored)
    best = max(pool, key=lambda ro: scored[ro]["cv_train"]["macro_f1"])
    paired = r.get("bench_readout_cv", {})
    pairs = paired.get("pairs", {}) if paired.get("checkpoint") == name else {}

    order = list(READOUT_ROWS)  # narrowest first
    narrower = [ro for ro in order[:order.index(best)] if ro in pool]
    if pairs:
        _claim(all(f"{best} - {ro}" in pairs for ro in narrower),
               "bench_readout_cv paired the CV-best readout with each narrower eligible one")

    def tied(narrow):  # best not resolved ahead of the narrower readout
        p = pairs.get(f"{best} - {narrow}", {}).get("macro_f1")
        return p is not None and _paired_margin(p) <= 1

    chosen = next(ro for ro in order if ro in pool and (ro == best or tied(ro)))
    _claim(DEFAULT_READOUT == chosen,
           "DEFAULT_READOUT follows the stated rule for the default checkpoint")
    d, z = scored[DEFAULT_READOUT], scored["attention"]
    unchecked = [f"{READOUT_ROWS[ro][2]} ({_and([k for k, v in ch.items() if v is None])} "
                 "not measured)" for ro, ch in checks.items()
                 if any(v is None for v in ch.values())]
    failed = [f"{READOUT_ROWS[ro][2]} ({_and([k for k, v in ch.items() if v is False])} "
              "below target)" for ro, ch in checks.items() if False in ch.values()]
    met = [PROBE_METRICS[k] for k, v in PRETRAINED_TARGETS.items() if d["test"][k] >= v]
    missed = [f"{PROBE_METRICS[k]} {_f(d['test'][k])} < {v:g}"
              for k, v in PRETRAINED_TARGETS.items() if d["test"][k] < v]
    rule = (f" The demo and the quickstart embed with `DEFAULT_READOUT = "
            f"\"{DEFAULT_READOUT}\"`: "
            + (f"of the readouts of `{name}` whose noise robustness and transform speed "
               "meet the roadmap's targets (both below), the one with the highest CV macro "
               "F1, or the narrowest one tied with it" if qualified else
               "the readout with the highest CV macro F1, or the narrowest one tied with "
               "it (none has its noise robustness and transform speed measured and met)")
            + ". CV on the training part ranks them; the test part enters only through "
            "the robustness check, which is measured on corrupted test records."
            + (f" Not eligible: {_and(failed)}." if failed else "")
            + (f" Not yet eligible: {_and(unchecked)}." if unchecked else "")
            + _paired_readouts(paired, pairs, best, chosen, narrower))
    if DEFAULT_READOUT == "attention":
        return rule
    return (
        rule + f" On the test part, scored once, `{DEFAULT_READOUT}` against `z` alone: "
        f"{_pairs(d, z, 'test')}. Against the training-free features it is, in CV, "
        + _above_below(d["cv_train"], peer["cv_train"]) + "; on the test part "
        + _test_gaps(d["test"], peer["test"])
        + "; of the clean-data targets it meets " + (_and(met) or "none")
        + (f" and misses {_and(missed)}" if missed else "") + ". "
        "One seed, one split: a difference of about 0.01 is not resolved.")


#: a gap resolved by fewer than this many fold standard deviations is called barely
#: resolved (one is the tie threshold)
BARELY_RESOLVED = 1.5


def _paired_margin(pair_metric: dict) -> float:
    """Mean paired difference (wider minus narrower) in fold standard deviations."""
    mean, std = pair_metric["diff_mean"], pair_metric["diff_std"]
    if std == 0:
        return float("inf") if mean > 0 else (0.0 if mean == 0 else float("-inf"))
    return mean / std


def _paired_readouts(paired: dict, pairs: dict, best: str, chosen: str,
                     narrower: list[str]) -> str:
    """bench_readout_cv's paired comparison of the CV-best readout with the narrower ones.

    ``narrower``: the eligible readouts narrower than ``best``. When one of them is
    ``chosen`` the gap is a tie; when ``best`` is chosen, ``best`` is ahead of each by
    more than one fold standard deviation.
    """
    if not pairs:
        return (" No paired repeated CV of the readouts (`bench_readout_cv.py`) for this "
                "checkpoint: a gap within one fold standard deviation would not be seen.")
    if best == chosen and not narrower:
        return ""

    def cell(ro, metric):
        p = pairs[f"{best} - {ro}"]
        m = p[metric]
        return (f"{m['diff_mean']:+.4f} (fold standard deviation {m['diff_std']:.4f}; "
                f"higher in {m['wider_wins']} of {p['n_folds']} folds)")

    f = paired["folds"]
    head = (f" Paired repeated CV on the training part (`bench_readout_cv.py`: "
            f"{f['n_splits']}-fold stratified, {f['n_repeats']} repeats, the same folds for "
            "each readout, C per readout by the 3-fold grid).")
    if best != chosen:
        ahead = _paired_margin(pairs[f"{best} - {chosen}"]["macro_f1"]) < -1
        return (head + f" `{best}` minus `{chosen}`: macro F1 {cell(chosen, 'macro_f1')}: "
                + (f"`{chosen}` is ahead by more than one fold standard deviation, so this "
                   "narrower readout is the default" if ahead else
                   "not ahead by more than one fold standard deviation, a tie, so the "
                   "narrower readout is the default")
                + f". Normal vs abnormal AUROC {cell(chosen, 'auroc_normal_vs_abnormal')}.")
    margins = {ro: _paired_margin(pairs[f"{best} - {ro}"]["macro_f1"]) for ro in narrower}
    closest = min(margins, key=margins.get)
    return (head + "".join(f" `{best}` minus `{ro}`: macro F1 {cell(ro, 'macro_f1')}."
                           for ro in narrower)
            + f" Each gap is more than one fold standard deviation, so `{best}` is the "
            "default"
            + (f"; the smallest, to `{closest}`, is {margins[closest]:.2f} fold standard "
               "deviations, just beyond the tie threshold: folds repeated with another "
               "seed could make it a tie" if margins[closest] < BARELY_RESOLVED else "")
            + f". Normal vs abnormal AUROC, `{best}` minus `{closest}`: "
            f"{cell(closest, 'auroc_normal_vs_abnormal')}.")


#: test-part gaps below this are ties (2,559 records, one seed)
TEST_TIE = 0.01


def _test_gaps(ours: dict, theirs: dict) -> str:
    """"above on ... by 0.01 or more; within 0.01 (a tie ...) on ...; below ..." over
    PROBE_METRICS, ties counted the same on both sides."""
    diff = {k: ours[k] - theirs[k] for k in PROBE_METRICS}
    above = [PROBE_METRICS[k] for k, v in diff.items() if v >= TEST_TIE]
    tie = [PROBE_METRICS[k] for k, v in diff.items() if abs(v) < TEST_TIE]
    below = [PROBE_METRICS[k] for k, v in diff.items() if v <= -TEST_TIE]
    return "; ".join(x for x in (
        f"above on {_and(above)} by {TEST_TIE} or more" if above else "",
        f"within {TEST_TIE} (a tie at this test size) on {_and(tie)}" if tie else "",
        f"below by {TEST_TIE} or more on {_and(below)}" if below else "") if x)


def _above_below(ours: dict, theirs: dict) -> str:
    """"above on ...; below on ..." over PROBE_METRICS (no tolerance)."""
    up = [PROBE_METRICS[k] for k in PROBE_METRICS if ours[k] > theirs[k]]
    down = [PROBE_METRICS[k] for k in PROBE_METRICS if ours[k] <= theirs[k]]
    if not down:
        return "above on every metric"
    return "; ".join(x for x in (f"above on {_and(up)}" if up else "",
                                 f"not above on {_and(down)}") if x)


#: transform throughput target of the roadmap (issue 16), records/s on two cores
SPEED_TARGET = 100


def _shipped_configs(fine_tuned: bool = False) -> dict[str, dict]:
    """``config.json`` of every shipped checkpoint (name -> config, card included).

    The self-supervised pretraining checkpoints only, unless ``fine_tuned``: a
    checkpoint fine-tuned with labels (its card names ``fine_tuned_from``) is not a
    point of a pretraining run, and its training-part figures are not independent of it.
    """
    weights = REPO / "sklearn_biodiff" / "pretrained" / "weights"
    configs = {c.parent.name: json.loads(c.read_text())
               for c in sorted(weights.glob("*/config.json"))}
    return {k: c for k, c in configs.items()
            if fine_tuned or "fine_tuned_from" not in c.get("card", {})}


def _best_rate(e: dict) -> float | None:
    """Records/s of one estimator at the better of the two ways of using two cores
    (None when neither was timed)."""
    rates = [e[k]["records_per_second_median"] for k in ("2 threads", "2 processes x 1 thread")
             if k in e]
    return max(rates, default=None)


def _transform_speed(r: dict, name: str) -> str:
    """bench_transform_speed: the default checkpoint's and ST's records/s on two cores."""
    s = r.get("bench_transform_speed")
    measured = name if s is not None and name in s["estimators"] else None
    same_net = ""
    if s is not None and measured is None:
        # the cost of transform depends on the network, not on its weights: a measured
        # checkpoint whose config differs only in the weights' checksum stands for it
        configs = _shipped_configs()

        def net(n):
            return {k: v for k, v in configs[n].items() if k not in ("card", "sha256")}

        twins = [k for k in s["estimators"] if k in configs and net(k) == net(name)]
        if twins:
            measured = twins[-1]
            same_net = (f"`{name}` runs the network of `{measured}` (the same config; only "
                        f"the weights differ), so its transform cost is `{measured}`'s. ")
    if measured is None:
        return (f"Transform speed of `{name}` has not been measured yet "
                "(`benchmarks/bench_transform_speed.py`).")
    st, ck = s["estimators"]["ScatteringFeatures()"], s["estimators"][measured]
    best = _best_rate

    loads = [x for e in s["estimators"].values() for k, v in e.items()
             for x in v.get("load_average_1min_before", [])]
    rec = s["record_seconds"]
    text = (same_net + f"Transform speed (`benchmarks/bench_transform_speed.py`, "
            f"{s['n_records']:,} test "
            f"records of {rec['min']:.0f}-{rec['max']:.0f} s, mean {rec['mean']:.0f} s; "
            f"median of {s['repeats']} runs on {s['cpu_count']} cores): `{measured}` "
            f"{ck['2 threads']['records_per_second_median']:.0f} records/s with 2 threads, "
            f"{ck['2 processes x 1 thread']['records_per_second_median']:.0f} with 2 "
            "processes of 1 thread (`sklearn_biodiff.parallel.transform_in_chunks`), "
            f"{ck['1 thread, CPU']['records_per_cpu_second']:.0f} records per CPU-second on "
            f"one thread; `ScatteringFeatures()` {best(st):.0f} records/s at best of the two "
            f"ways. The roadmap's target, {SPEED_TARGET} records/s on two cores, is "
            + ("met" if best(ck) >= SPEED_TARGET else "**not met**")
            + f" by `{measured}` ({best(ck):.0f})"
            + (f" and so by `{name}`." if measured != name else "."))
    from sklearn_biodiff.pretrained import DEFAULT_READOUT

    ro = s["estimators"].get(f"{measured}, readout={DEFAULT_READOUT}")
    if ro is not None:
        text += (f" With `readout=\"{DEFAULT_READOUT}\"` (`DEFAULT_READOUT`), in the same run: "
                 f"{ro['2 threads']['records_per_second_median']:.0f} records/s with 2 "
                 f"threads, {ro['2 processes x 1 thread']['records_per_second_median']:.0f} "
                 f"with 2 processes, {ro['1 thread, CPU']['records_per_cpu_second']:.0f} per "
                 "CPU-second; the target is "
                 + ("met" if best(ro) >= SPEED_TARGET else "**not met**") + ".")
    elif DEFAULT_READOUT != "attention":
        text += (f" The transform speed with `readout=\"{DEFAULT_READOUT}\"` "
                 "(`DEFAULT_READOUT`) has not been measured.")
    # the benchmark's own 2-thread runs lift the load towards 2; more means other work
    if loads and max(loads) > s["cpu_count"]:
        text += (f" The machine was not idle (1-minute load average up to {max(loads):.1f} "
                 "before a run): the wall-clock rates are lower bounds.")
    else:
        text += (f" No other work ran (1-minute load average at most {max(loads):.1f} before "
                 "a run, the benchmark's own runs included).")
    return text


def _pretrained_robustness(r: dict, name: str) -> str:
    """The default checkpoint's rows of bench_robustness, against the roadmap's targets.

    Rows: ``z`` alone (``pretrained:NAME``), beside the ST features
    (``st_and_pretrained:NAME``), with readout="attention+stats"
    (``pretrained_stats:NAME``) and with readout="attention+stats+blocks"
    (``pretrained_blocks:NAME``); each one that is missing is named with the command that
    scores it.
    """
    models = r.get("bench_robustness", {}).get("models", {})
    rows = {"alone": (f"pretrained:{name}", "alone (`z`)",
                      f"--pretrained {name} --only pretrained:{name}"),
            "both": (f"st_and_pretrained:{name}", "beside the ST features",
                     f"--pretrained {name} --only st_and_pretrained:{name}"),
            "stats": (f"pretrained_stats:{name}", f"alone with {READOUT_LABEL}",
                      f"--pretrained {name} --readout attention+stats "
                      f"--only pretrained_stats:{name}"),
            "blocks": (f"pretrained_blocks:{name}", f"alone with {BLOCKS_LABEL}",
                       f"--pretrained {name} --readout attention+stats+blocks "
                       f"--only pretrained_blocks:{name}")}
    from sklearn_biodiff.pretrained import DEFAULT_READOUT, FEW_LABELS_READOUT

    for readout, (_, prefix, label) in READOUT_ROWS.items():
        # a rhythm readout's row where it was scored, or where the docs recommend it
        if readout.endswith("+rhythm") and (f"{prefix}:{name}" in models or readout in (
                DEFAULT_READOUT, FEW_LABELS_READOUT)):
            rows[readout] = (f"{prefix}:{name}", f"alone with {label}",
                             f"--pretrained {name} --readout {readout} "
                             f"--only {prefix}:{name}")
    found = {k: models[key] for k, (key, _, _) in rows.items() if key in models}
    missing = [f"{label} (`bench_robustness.py {cmd} --merge`)"
               for k, (_, label, cmd) in rows.items() if k not in found]
    if not found:
        text = (f"Under noise, `{name}` has not been scored yet (`bench_robustness.py "
                f"--pretrained {name}`).")
        earlier = _earlier_of_same_run(name, models)
        if earlier is None:
            return text
        return (text + f" The last checkpoint of its training run that was scored, `{earlier}` "
                "(fewer crops, same recipe and seed), stands in below; its figures are not "
                f"`{name}`'s. " + _pretrained_robustness(r, earlier))

    def white(m):
        return m["kinds"]["gaussian"]["area_normalised"]

    st, en = models["st_features"], models["diffae_encoder_noise"]
    scored = "; ".join(
        f"{rows[k][1]} mean area {_f(m['mean_area_over_kinds'])}, white-noise area "
        f"{_f(white(m))}, clean AUROC {_f(m['clean'])}, mean drop from clean to 6 dB "
        f"{_f(m['mean_drop_to_6db'])}" for k, m in found.items())
    met = [rows[k][1] for k, m in found.items()
           if _meets_robust_targets(m["mean_area_over_kinds"], white(m))]
    return (
        f"Under noise (the \"Noise robustness\" protocol and test records, normal vs "
        f"abnormal, frozen as shipped, probe C by 3-fold CV on the training part; area = "
        f"mean AUROC over 24-0 dB, one draw per cell; rows added to that benchmark's run "
        f"on the same corrupted records), `{name}`: {scored}. The ST features alone: "
        f"{_f(st['mean_area_over_kinds'])} and {_f(white(st))}; the DiffAE fine-tuned "
        f"with `encoder_noise` in that benchmark {_f(en['mean_area_over_kinds'])} and "
        f"{_f(white(en))}." + _training_noise(name)
        + f" Roadmap target: mean area >= {ROBUST_TARGETS['mean_area']:.2f} "
        f"with white-noise area >= {ROBUST_TARGETS['white_area']:.2f}; met "
        + (f"by `{name}` {_and(met)}" if met else "by none of its rows scored") + "."
        + (f" Not scored yet for `{name}`: {_and(missing)}." if missing else "")
        + _encoder_noise_runs(models))


#: recipes of scripts/pretrain_diffae.py that corrupt the encoder's input with
#: AddNoise("mixture") during training
NOISY_RECIPES = ("encoder_noise", "contrastive")


def _training_noise(name: str) -> str:
    """Which test noise kinds the checkpoint's training noise already covered."""
    recipe = _shipped_configs()[name]["card"]["recipe"].split(":")[0]
    if recipe not in NOISY_RECIPES:
        return (f" `{name}` was trained on clean records: every noise kind is out of its "
                "training distribution.")
    return (f" Its training noise (recipe `{recipe}`, `AddNoise(\"mixture\")` on the "
            "encoder's input, 0-24 dB) is an equal-power mix of baseline wander and muscle "
            "from the same NSTDB recordings as the test noise and powerline from the same "
            "generator: each of those kinds alone at a given SNR has about 4.8 dB more of "
            "it than the mix had, so their low-SNR cells reach past the training range, "
            "and white noise was never in training: the white-noise area is the "
            "out-of-distribution part of this check.")


def _earlier_of_same_run(name: str, models: dict) -> str | None:
    """The shipped checkpoint of ``name``'s training run (same source JSON, fewer crops)
    with the most crops among those bench_robustness scored, or None."""
    cards = {n: c["card"] for n, c in _shipped_configs().items()}
    run = cards[name]["source_run"]["json"]
    scored = [n for n in cards if n != name and cards[n]["source_run"]["json"] == run
              and cards[n]["crops_seen"] < cards[name]["crops_seen"]
              and any(k.endswith(f":{n}") for k in models)]
    return max(scored, key=lambda n: cards[n]["crops_seen"], default=None)


def _meets_robust_targets(mean_area: float, white_area: float) -> bool:
    """The roadmap's robustness target: mean area and white-noise area both reached."""
    return (mean_area >= ROBUST_TARGETS["mean_area"]
            and white_area >= ROBUST_TARGETS["white_area"])


def _encoder_noise_runs(models: dict) -> str:
    """The encoder_noise robustness over every independent training run scored."""
    from sklearn_biodiff.pretrained import RETIRED

    runs = {"the DiffAE of the robustness table fine-tuned with `encoder_noise`":
            models.get("diffae_encoder_noise")}
    # checkpoints of one training run (the same run shipped at two lengths) are one
    # training: the one trained longest of those scored stands for it
    cards = {n: c["card"] for n, c in _shipped_configs().items()}
    fine_tuned = set(_shipped_configs(fine_tuned=True)) - set(cards)
    longest: dict[str, tuple[str, int, dict]] = {}
    for k, m in sorted(models.items()):
        if k.startswith("pretrained:"):
            name = k.split(":", 1)[1]
            if name in fine_tuned:  # fine-tuned with labels: not a pretraining run
                continue
            if name in cards:
                run = cards[name]["source_run"]["json"]
                crops = int(cards[name]["crops_seen"])
            else:  # a removed checkpoint keeps its run's provenance in RETIRED
                _claim(name in RETIRED, f"the robustness row of {name} has a model card or "
                                        "a RETIRED entry naming its training run")
                run, crops = RETIRED[name]["source_run"], int(RETIRED[name]["crops_seen"])
            if run not in longest or crops > longest[run][1]:
                longest[run] = (name, crops, m)
    for name, _, m in longest.values():
        runs[f"`{name}`" + ("" if name in cards else " (since removed from the package)")] = m
    runs = {k: m for k, m in runs.items() if m is not None}
    if len(runs) < 3:
        return ""
    area = {k: m["mean_area_over_kinds"] for k, m in runs.items()}
    white = {k: m["kinds"]["gaussian"]["area_normalised"] for k, m in runs.items()}

    def spread(d):
        v = list(d.values())
        return f"{_f(sum(v) / len(v))} (range {_f(min(v))}-{_f(max(v))})"

    drop = {k: m["mean_drop_to_6db"] for k, m in runs.items()}
    plain = models["diffae"]["mean_area_over_kinds"]
    _claim(min(area.values()) > plain and max(drop.values()) < models["diffae"][
        "mean_drop_to_6db"], "every encoder_noise run is more robust than the clean-trained "
                             "DiffAE")
    return (f" Across the {len(runs)} independent trainings with `encoder_noise` scored on "
            "these records (" + _and(list(runs)) + "; different recipes and training "
            "lengths, not seeds of one setting; of a run shipped at several lengths, the "
            f"longest scored), the mean area is {spread(area)}, the "
            f"white-noise area {spread(white)} and the mean drop from clean to 6 dB "
            f"{spread(drop)}, against {_f(plain)}, "
            f"{_f(models['diffae']['kinds']['gaussian']['area_normalised'])} and "
            f"{_f(models['diffae']['mean_drop_to_6db'])} for the DiffAE trained on clean "
            "records only. The areas include each model's clean AUROC (from "
            f"{_f(min(m['clean'] for m in runs.values()))} to "
            f"{_f(max(m['clean'] for m in runs.values()))}); the small drop is what all "
            "of them share.")


#: robustness targets of the roadmap (issue 16), bench_robustness protocol
ROBUST_TARGETS = {"mean_area": 0.83, "white_area": 0.80}
