"""Helpers shared by the benchmark scripts: data location, split, JSON output."""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"


def find_archive() -> Path | None:
    """``$SKLEARN_BIODIFF_CINC2017`` or ``../shared/data/cinc2017.tar.xz``."""
    env = os.environ.get("SKLEARN_BIODIFF_CINC2017")
    for cand in ([Path(env)] if env else []) + [REPO.parent / "shared/data/cinc2017.tar.xz"]:
        if cand.exists():
            return cand
    return None


def load_full_or_exit():
    from sklearn_biodiff.datasets import load_physionet2017

    path = find_archive()
    if path is None:
        print(json.dumps({"skipped": "CinC 2017 archive not found (set "
                          "SKLEARN_BIODIFF_CINC2017 or use ../shared/data)"}))
        sys.exit(0)
    return load_physionet2017(path, n_jobs=2)


def readme_split(target, random_state=0):
    """The 70/30 stratified split of ../shared/data/README.md (indices)."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(target))
    return train_test_split(idx, test_size=0.3, stratify=target, random_state=random_state)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict:
    import torch

    return {"python": platform.python_version(), "torch": torch.__version__,
            "threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
            "date": time.strftime("%Y-%m-%d")}


def write_json(name: str, payload: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, default=float) + "\n")
    print(json.dumps(payload, indent=2, default=float))
    return path


def croppable(embedder, records):
    """The records a DiffAEEmbedder can crop for training (at least one crop long).

    CinC 2017 has 9-s records; ``fit`` rejects records shorter than its crop, while
    ``transform`` embeds every record.
    """
    crop = embedder._snippet_length()
    return [x for x in records if len(x) >= crop]
