"""Helpers shared by the benchmark scripts: data location, split, JSON output."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
#: wall-clock start of the run (this module is imported when a benchmark starts)
_STARTED = time.perf_counter()


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


def _git_commit() -> dict:
    """The commit of the working tree and whether it had uncommitted changes."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()

    try:
        return {"commit": git("rev-parse", "HEAD"),
                "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}


def run_metadata(seeds: list[int]) -> dict:
    """Provenance of one benchmark run: command, commit, machine, date, seeds, wall time.

    Parameters
    ----------
    seeds : list of int
        Every seed the run used (data splits, model initialisation, noise draws).

    Returns
    -------
    dict
        ``command`` (as typed, from ``sys.argv``), ``commit`` and ``dirty`` (uncommitted
        changes in tracked files), ``machine`` (cores, torch threads, python and torch
        versions, platform), ``date`` (ISO 8601, local time), ``seeds`` and
        ``wall_seconds`` since the benchmark started.
    """
    import torch

    return {
        "command": _command(),
        **_git_commit(),
        "machine": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "python": platform.python_version(), "torch": torch.__version__,
                    "platform": platform.platform()},
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "seeds": list(seeds),
        "wall_seconds": time.perf_counter() - _STARTED,
    }


def _command() -> str:
    """How this run was started: ``python -m PACKAGE.MODULE ARGS`` for a module."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name:
        return " ".join(["python", "-m", spec.name, *sys.argv[1:]])
    return " ".join(["python", *sys.argv])


def earlier_parts(name: str, protocol, parts) -> dict:
    """The ``parts`` of ``results/<name>.json`` run under the same ``protocol``, each
    with its run's record under ``"run"``: what a benchmark run with some of its parts
    keeps from the last one (``{}`` when there is none or the protocol changed)."""
    path = RESULTS / f"{name}.json"
    if not path.exists():
        return {}
    old = json.loads(path.read_text())
    if old.get("protocol") != protocol:
        return {}
    return {part: {**old[part], "run": old[part].get("run", old.get("run"))}
            for part in parts if part in old}


def write_json(name: str, payload: dict, *, seeds: list[int]) -> Path:
    """Write ``results/<name>.json`` with the run's provenance under ``"run"``.

    The tables of README.md and docs/ are rendered from these files by
    ``benchmarks/render_results.py``; re-render after a run.
    """
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {**payload, "run": run_metadata(seeds)}
    tmp = path.with_name(f".{path.name}.tmp")  # a reader never sees half a file
    tmp.write_text(json.dumps(payload, indent=2, default=float) + "\n")
    os.replace(tmp, path)
    print(json.dumps(payload, indent=2, default=float))
    return path


@contextlib.contextmanager
def results_lock(name: str):
    """Hold an exclusive lock for ``results/<name>.json`` while a run reads and rewrites it.

    The lock is ``fcntl.flock`` on ``results/.<name>.lock``, so every run of one
    checkout takes the same one.

    Runs that ``--merge`` into the same JSON read it when they finish, under this lock,
    so two of them may run at once without one dropping the other's rows.
    """
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / f".{name}.lock", "w") as handle:  # beside the JSON it guards
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield RESULTS / f"{name}.json"
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def croppable(embedder, records):
    """The records a DiffAEEmbedder can crop for training (at least one crop long).

    CinC 2017 has 9-s records; ``fit`` rejects records shorter than its crop, while
    ``transform`` embeds every record.
    """
    crop = embedder._snippet_length()
    return [x for x in records if len(x) >= crop]
