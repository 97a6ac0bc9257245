"""Write a shipped checkpoint's readout figures into its model card, from bench_pretrained.

A readout added after a checkpoint shipped (``"+rhythm"``) needs no new weights, only
its figures on the card: ``bench_pretrained.py`` scores every readout of every
checkpoint by the README protocol the card was made with (frozen weights as shipped, C
by 3-fold CV on the training part, the test part scored once), and this script copies
those figures (rounded to 4 decimals, as ``export_pretrained.py`` writes them) into the
card's ``metrics`` as ``"readout <name>"`` entries (a readout the card already has keeps
the figures of the run that shipped it); with ``--label-efficiency`` also the
few-label figures of ``bench_label_efficiency.py`` for ``FEW_LABELS_READOUT`` (mean over
the labelled subsets of the README training part, test part scored once per subset) as
``"few labels, readout <name>"`` (and, where ``select_label_efficiency.json`` beside it
chose another probe than the README one, the figures with that probe), which the demo
prints. The weights, their sha256 and every
other card field are left as they are; ``config.json`` is replaced atomically. The
rendered docs check the card against the JSON again (``benchmarks/rendering``).

Run: ``python -m scripts.card_readout_figures diffae-cinc2017-v4`` (after
``python -m benchmarks.bench_pretrained``).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from benchmarks._common import RESULTS
from sklearn_biodiff.feature_extraction._diffae import READOUTS
from sklearn_biodiff.pretrained._checkpoint import CONFIG_NAME, _read_checked, resolve_checkpoint


def card_entries(scored: dict) -> dict:
    """``{"readout <name>": figures}`` for every wider readout ``scored`` holds."""
    out = {}
    for readout in READOUTS[1:]:
        wider = scored.get("readout_" + readout.replace("+", "_"))
        if wider is not None:
            out[f"readout {readout}"] = {
                "test (shipped weights)": {k: round(v, 4) for k, v in wider["test"].items()},
                "cv_train (shipped weights)": {k: round(v, 4)
                                               for k, v in wider["cv_train"].items()},
                "probe_C": wider["probe_C"]}
    return out


def few_label_entry(report: dict, readout: str, probes: dict | None = None) -> dict:
    """``{"readout": ..., "<p> % (<n> labels, <k> subsets)": {metric: mean}}`` of the
    frozen ``DEFAULT_PRETRAINED`` row with ``readout`` in a bench_label_efficiency report.

    ``probes``: ``{fraction: probe}`` (``select_label_efficiency``'s ``chosen_probe``)
    adds, where the chosen probe is not the README one and the report has its row, the
    same figures with that probe, under ``"... subsets), probe <name>"``.
    """
    out = {"readout": readout, "protocol": report["protocol"]}
    names = [(f"pretrained readout={readout}", "")] + [
        (f"pretrained readout={readout} probe={p}", f", probe {p}")
        for p in dict.fromkeys((probes or {}).values()) if p != "readme"]
    for key, suffix in names:
        row = report["rows"].get(key)
        if row is None:
            continue
        for f, fr in row["fractions"].items():
            if float(f) < 1 and (not suffix or (probes or {}).get(f) == row["probe"]):
                out[f"{float(f) * 100:g} % ({fr['n_labelled']} labels, "
                    f"{len(fr['seeds'])} subsets){suffix}"] = {
                        m: round(v["mean"], 4) for m, v in fr["test"].items()}
    return out


def main(argv=None) -> Path:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("name", help="a shipped checkpoint (or a checkpoint folder)")
    ap.add_argument("--json", type=Path, default=RESULTS / "bench_pretrained.json")
    ap.add_argument("--label-efficiency", type=Path, default=None, metavar="JSON",
                    help="bench_label_efficiency.json: add FEW_LABELS_READOUT's few-label "
                         "figures")
    args = ap.parse_args(argv)
    folder = resolve_checkpoint(args.name)
    config, _ = _read_checked(folder)
    report = json.loads(args.json.read_text())
    key = args.name if args.name in report["checkpoints"] else folder.name
    if key not in report["checkpoints"]:
        raise SystemExit(f"{args.json} has no row for {args.name!r}: run "
                         f"python -m benchmarks.bench_pretrained --name {args.name} --merge")
    entries = card_entries(report["checkpoints"][key])
    if args.label_efficiency is not None:
        from sklearn_biodiff.pretrained import FEW_LABELS_READOUT

        le = json.loads(args.label_efficiency.read_text())
        if le.get("checkpoint") != folder.name:
            raise SystemExit(f"{args.label_efficiency} was run on {le.get('checkpoint')!r}, "
                             f"not {folder.name!r}")
        selection = args.label_efficiency.with_name("select_label_efficiency.json")
        probes = ({f: c["probe"] for f, c in json.loads(selection.read_text()).get(
            "chosen_probe", {}).items()} if selection.exists() else None)
        entries[f"few labels, readout {FEW_LABELS_READOUT}"] = few_label_entry(
            le, FEW_LABELS_READOUT, probes)
    metrics = config.setdefault("card", {}).setdefault("metrics", {})
    entries = {k: v for k, v in entries.items()
               if k not in metrics or k.startswith("few labels")}
    metrics.update(entries)
    path = folder / CONFIG_NAME
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".config.", suffix=".json")
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(config, indent=2) + "\n")
    os.replace(tmp, path)
    _read_checked(folder)  # still a valid config
    print(f"{path}: {', '.join(entries)}")
    return path


if __name__ == "__main__":
    main()
