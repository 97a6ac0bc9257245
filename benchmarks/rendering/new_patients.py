"""Fields of the few-labels-on-new-patients block (``bench_new_patients``, issue 31)."""

from __future__ import annotations

from ._text import _claim, _f, _table

#: the rows of the benchmark, as the table names them
ROW_NAMES = {"scattering": "`ScatteringFeatures()`",
             "frozen": "`DEFAULT_PRETRAINED`, frozen (no labels)",
             "fine_tuned": "fine-tuned with other patients' labels, frozen"}
PART_NAMES = {"cv": "a fold of the training part (CV)", "test": "the README test part"}
#: the metrics of the table, in column order
METRICS = {"mean_f1_NAO": "mean F1 of N, A, O", "macro_f1": "4-class macro F1",
           "auroc_af_vs_rest": "AF vs rest AUROC"}


def _cell(c: dict) -> str:
    return f"{_f(c['mean'])} ± {_f(c['sd'])}"


def _difference(d: dict, metric: str) -> str:
    """The fine-tuned row minus the frozen one, paired over runs, with its word."""
    mean, sd = d[metric]["mean"], d[metric]["sd"]
    word = ("within" if abs(mean) <= sd else "beyond")
    text = (f"{'+' if mean >= 0 else ''}{_f(mean)} ({word} one sd of the paired "
            f"differences, {_f(sd)})")
    _claim((word == "within") == (abs(mean) <= sd), text)
    return text


def _new_patients(r: dict, fmt: str) -> dict:
    if "bench_new_patients" not in r:
        return {}
    b = r["bench_new_patients"]
    rows, sentences = [], []
    for part in ("cv", "test"):
        if part not in b:
            continue
        p = b[part]
        for n, cells in p["scores"].items():
            for row, label in ROW_NAMES.items():
                rows.append([PART_NAMES[part], n, label,
                             *(_cell(cells[row][m]) for m in METRICS)])
            d = cells["fine_tuned_minus_frozen"]
            sentences.append(
                f"On {PART_NAMES[part]} with {n} labels ({p['n_runs_per_cell']} runs), the "
                f"fine-tuned encoder against the frozen checkpoint: mean F1 of N, A, O "
                f"{_difference(d, 'mean_f1_NAO')}, AF vs rest AUROC "
                f"{_difference(d, 'auroc_af_vs_rest')}.")
    header = ["new patients", "labels", "embedding", *METRICS.values()]
    test = b.get("test")
    return {
        "np_table": _table(header, rows, fmt),
        "np_split": b["protocol"]["split"],
        "np_probe": b["protocol"]["probe"],
        "np_cv": b["protocol"]["cv"] if "cv" in b else "not run",
        "np_test": b["protocol"]["test"] if test else "not run",
        "np_checkpoint": f"`{test['fine_tuned_checkpoint']}`" if test else "(not shipped yet)",
        "np_sentences": " ".join(sentences),
    }
