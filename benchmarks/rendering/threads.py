"""Results block ``busy_threads``: the default thread count on a busy machine."""

from __future__ import annotations

from ._text import _table

#: the issue's target: the default does at least this fraction of one thread's work
#: per CPU-second when other processes keep the cores busy
BUSY_TARGET = 0.9


def _busy_threads(r: dict, fmt: str) -> dict:
    b = r["bench_busy_threads"]
    labels = list(next(iter(b["conditions"].values())))
    labels = [k for k in labels if k != "default_over_one_thread"]
    rows = []
    for name, cond in b["conditions"].items():
        loads = [run["load_average_1min_before"] for run in
                 cond["default (n_threads=None)"]["runs"]]
        threads = sorted({run["threads"] for run in cond["default (n_threads=None)"]["runs"]})
        what = (f"{b['competitors']} busy process(es) beside it" if name == "busy"
                else "the machine as it was")
        rows.append([f"{what} (load {min(loads):.1f}-{max(loads):.1f})",
                     *(f"{cond[k]['records_per_cpu_second_median']:.1f}" for k in labels),
                     "/".join(str(t) for t in threads),
                     f"{cond['default_over_one_thread']:.2f}"])
    ratio = b["conditions"]["busy"]["default_over_one_thread"]
    header = ["condition", *(f"{k}" for k in labels), "threads the default took",
              "default / one thread"]
    protocol = (f"`benchmarks/bench_busy_threads.py`: `{b['checkpoint']}` with "
                f"`readout=\"{b['readout']}\"` embeds {b['n_records']} CinC 2017 test records "
                f"of the README split; records per CPU-second of the embedding process "
                f"(`time.process_time`), median of {b['repeats']} runs per setting, the "
                f"settings interleaved; {b['usable_cores']} cores, torch's own setting "
                f"{b['torch_threads']} threads; one run of the script.")
    return {"bt_table": _table(header, rows, fmt), "bt_protocol": protocol,
            "bt_verdict": _verdict(ratio)}


def _verdict(ratio: float) -> str:
    if ratio >= BUSY_TARGET:
        return (f"With the cores busy, the default does {ratio:.2f}x the work per "
                f"CPU-second of one thread: at least the {BUSY_TARGET} the target asks.")
    return (f"With the cores busy, the default does only {ratio:.2f}x the work per "
            f"CPU-second of one thread, short of the {BUSY_TARGET} target.")
