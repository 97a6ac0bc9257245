"""Results block ``headline``: the one table of the README (the full results are in the
user guide)."""

from __future__ import annotations

from ._text import _f, _table
from .pretrained import PROBE_METRICS, READOUT_ROWS


def _headline(r: dict, fmt: str) -> dict:
    from sklearn_biodiff.pretrained import DEFAULT_PRETRAINED, DEFAULT_READOUT

    b = r["bench_pretrained"]
    row = b["checkpoints"][DEFAULT_PRETRAINED]
    key = READOUT_ROWS[DEFAULT_READOUT][0]
    default = row if key is None else row[key]
    peer = b["peer_scattering"]
    rows = [["`ScatteringFeatures()` (training-free)",
             *(_f(peer["test"][k]) for k in PROBE_METRICS)],
            [f"`DiffAEEmbedder(pretrained=\"{DEFAULT_PRETRAINED}\")`, frozen, "
             f"`readout=\"{DEFAULT_READOUT}\"`",
             *(_f(default["test"][k]) for k in PROBE_METRICS)]]
    tuned = _fine_tuned_row(DEFAULT_READOUT)
    if tuned:
        rows.append(tuned)
    return {"hl_table": _table(["embedding", *PROBE_METRICS.values()], rows, fmt),
            "hl_n_train": f"{b['n_train']:,}", "hl_n_test": f"{b['n_test']:,}",
            "hl_sources": ("; the fine-tuned checkpoint's row from its model card, the same "
                           "protocol, scored as shipped by `scripts/export_pretrained.py "
                           "--fitted`" if tuned else ""),
            "hl_few": " ".join(t for t in (_few_labels(r), _new_patients(r)) if t)}


def _few_labels(r: dict) -> str:
    """The 1 % row of the label-efficiency benchmark: the few-label readout with the
    probe chosen for tens of labels, beside ST with the same probe."""
    from sklearn_biodiff.pretrained import DEFAULT_PRETRAINED, FEW_LABELS_READOUT

    b = r.get("bench_label_efficiency")
    if b is None:
        return ""
    probes = {row.get("probe") for row in b["rows"].values()} - {None, "readme"}
    probe = next(iter(probes), None)
    tag = f" probe={probe}" if probe else ""
    mine = b["rows"].get(f"pretrained readout={FEW_LABELS_READOUT}{tag}")
    st = b["rows"].get(f"ScatteringFeatures{tag}")
    if mine is None or st is None or "0.01" not in mine["fractions"]:
        return ""
    m, s = mine["fractions"]["0.01"], st["fractions"]["0.01"]

    def cell(fr, metric):
        t = fr["test"][metric]
        return f"{_f(t['mean'])} ± {_f(t['sd'])}"

    how = ("with `LogisticRegression(" + ", ".join(
        f"{k}={v!r}" for k, v in mine.get("probe_settings", {}).items() if k != "C_grid")
        + ")`, C by CV" if probe else "with the same probe")
    return (f"With 1 % of the training labels ({m['n_labelled']} records, "
            f"{len(m['seeds'])} stratified subsets, test part scored once per subset; "
            f"`benchmarks/bench_label_efficiency.py`), {how}: the frozen "
            f"`{DEFAULT_PRETRAINED}` with `readout=\"{FEW_LABELS_READOUT}\"` reaches mean "
            f"F1 of N, A, O {cell(m, 'mean_f1_NAO')} and AF vs rest AUROC "
            f"{cell(m, 'auroc_af_vs_rest')}; `ScatteringFeatures()` with the same probe "
            f"{cell(s, 'mean_f1_NAO')} and {cell(s, 'auroc_af_vs_rest')}.")


def _new_patients(r: dict) -> str:
    """bench_new_patients' test part: few labels of new patients, the shipped
    label-fine-tuned checkpoint beside the self-supervised one and ST."""
    b = r.get("bench_new_patients")
    if b is None or "test" not in b:
        return ""
    t = b["test"]
    n = min(t["scores"], key=int)
    cells = t["scores"][n]

    def cell(row):
        c = cells[row]["mean_f1_NAO"]
        return f"{_f(c['mean'])} ± {_f(c['sd'])}"

    return (f"With {n} labels of new patients (the README test part halved per seed into "
            f"a labelled pool and an evaluation half, {t['n_runs_per_cell']} seeds; "
            "`benchmarks/bench_new_patients.py`), the shipped `FINE_TUNED_PRETRAINED` "
            f"(`{t['fine_tuned_checkpoint']}`: `{b['checkpoint']}` fine-tuned with the "
            "training part's labels), frozen, reaches mean F1 of N, A, O "
            f"{cell('fine_tuned')}; the self-supervised `{b['checkpoint']}` "
            f"{cell('frozen')}; `ScatteringFeatures()` {cell('scattering')}.")


def _fine_tuned_row(readout: str) -> list[str] | None:
    """The shipped label-fine-tuned checkpoint's row: its model card's test figures (the
    same protocol, scored as shipped by ``scripts/export_pretrained.py --fitted``)."""
    from sklearn_biodiff.pretrained import FINE_TUNED_PRETRAINED

    from .pretrained import _shipped_configs

    config = _shipped_configs(fine_tuned=True).get(FINE_TUNED_PRETRAINED)
    if config is None:
        return None
    test = config["card"]["metrics"][f"readout {readout}"]["test (shipped weights)"]
    return [f"`DiffAEEmbedder(pretrained=\"{FINE_TUNED_PRETRAINED}\")` (fine-tuned with the "
            f"training records' labels: `FINE_TUNED_PRETRAINED`), frozen, "
            f"`readout=\"{readout}\"`", *(_f(test[k]) for k in PROBE_METRICS)]
