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
    return {"hl_table": _table(["embedding", *PROBE_METRICS.values()], rows, fmt),
            "hl_n_train": f"{b['n_train']:,}", "hl_n_test": f"{b['n_test']:,}"}
