"""Fields of the scattering blocks (``bench_scattering``, ``select_scattering_defaults``)."""

from __future__ import annotations

from ._text import _claim, _f, _table, _thousands


def _scattering(r: dict, fmt: str) -> dict:
    s = r["bench_scattering"]
    q = s["quality"]
    speed = s["speedup_vs_naive"]
    plain_speed = s["speedup_plain_vs_naive"]
    _claim(abs(speed - plain_speed) < 0.1 * speed,
           "the plain pooled variant (no attention) gains as much over the naive loop")
    table = _table(
        ["what", "number", "protocol"],
        [["`ScatteringFeatures()` on all records",
          f"{s['ours']['seconds']:.0f} s ({s['ours']['records_per_s']:.0f} records/s), peak "
          f"RSS {s['ours']['peak_rss_mb_after'] / 1024:.1f} GB",
          f"{s['machine']['threads']} torch thread, one run, machine shared with another "
          "benchmark"],
         ["naive kymatio loop (module per length, one record at a time)",
          f"{_thousands(s['naive_kymatio']['seconds'])} s: ours is {speed:.1f}x faster",
          "same run, same settings"],
         ["ST features + LR, normal vs (AF+other) AUROC",
          f"**{_f(q['contextualize_true']['auroc_normal_vs_abnormal'])}** (plain pooled "
          f"scattering {_f(q['contextualize_false']['auroc_normal_vs_abnormal'])})",
          "70/30 README split, test once"],
         ["ST features + LR, 4-class macro F1 / mean F1 N,A,O",
          f"{_f(q['contextualize_true']['macro_f1_4class'])} / "
          f"{_f(q['contextualize_true']['mean_f1_NAO'])}", "same"]],
        fmt)
    rep = r.get("bench_scattering_speedup")
    if rep is None:
        caveat = ("the timings are one run each, on a machine shared with another benchmark, "
                  "not repeated; treat them as indicative.")
    else:
        n = len(rep["repeats"])
        _claim(rep["cpu_ratio_min"] > 1 and n >= 3, "the repeated speed-up holds in every repeat")
        caveat = (
            f"the timings of the table are one run on a shared machine. Repeated "
            f"(`bench_scattering.py --repeats`, {n} repeats on {_thousands(rep['n_records'])} "
            f"records drawn at random, ours and the naive loop back to back with the order "
            f"alternating, 1 torch thread), ours is {rep['cpu_ratio_mean']:.1f}x faster in "
            f"CPU time (range {rep['cpu_ratio_min']:.1f}-{rep['cpu_ratio_max']:.1f}x over the "
            f"repeats). In wall time the ratio ranged {rep['ratio_min']:.1f}-"
            f"{rep['ratio_max']:.1f}x: the machine was shared with other jobs, so the wall "
            "times say nothing reliable (load averages per repeat in the JSON).")
    repeated = ("not repeated" if rep is None else
                f"repeated {len(rep['repeats'])} times on {_thousands(rep['n_records'])} "
                f"records drawn at random: {rep['cpu_ratio_mean']:.1f}x in CPU time, range "
                f"{rep['cpu_ratio_min']:.1f}-{rep['cpu_ratio_max']:.1f}x")
    return {
        "st_repeated": repeated,
        "st_timing_caveat": caveat,
        "scattering_table": table,
        "st_n_records": _thousands(s["n_records"]),
        "st_seconds": f"{s['ours']['seconds']:.0f}",
        "st_rate": f"{s['ours']['records_per_s']:.0f}",
        "st_rss_gb": f"{s['ours']['peak_rss_mb_after'] / 1024:.1f}",
        "st_speedup": f"{speed:.1f}",
        "st_plain_speedup": f"{plain_speed:.1f}",
        "st_distinct_lengths": _thousands(s["naive_kymatio"]["distinct_lengths"]),
        "st_auroc": _f(q["contextualize_true"]["auroc_normal_vs_abnormal"]),
        "st_macro_f1": _f(q["contextualize_true"]["macro_f1_4class"]),
        "st_threads": str(s["machine"]["threads"]),
    }
