import os
from pathlib import Path

import numpy as np
import pytest
import torch

# SKLEARN_BIODIFF_TEST_THREADS=1 keeps long runs (mutation testing) off a busy core
torch.set_num_threads(int(os.environ.get("SKLEARN_BIODIFF_TEST_THREADS", "2")))

REPO = Path(__file__).resolve().parents[1]


def shared_archive() -> Path | None:
    """The full CinC 2017 archive: $SKLEARN_BIODIFF_CINC2017 or ../shared/data."""
    env = os.environ.get("SKLEARN_BIODIFF_CINC2017")
    cands = [Path(env)] if env else []
    cands.append(REPO.parent / "shared" / "data" / "cinc2017.tar.xz")
    for c in cands:
        if c.exists():
            return c
    return None


@pytest.fixture(scope="session")
def cinc2017_archive():
    path = shared_archive()
    if path is None:
        pytest.skip(
            "full CinC 2017 archive not found: set SKLEARN_BIODIFF_CINC2017 or put "
            "cinc2017.tar.xz in ../shared/data next to the repository"
        )
    return path


#: cheap settings of make_dacl_pipeline for tests
TINY_PIPELINE = {
    "scattering": {"J": 6, "Q": 4},
    "vae": {"latent_dim": 4, "hidden_dims": (16,), "max_epochs": 2, "validation_fraction": None},
    "dacl": {"embedding_dim": 4, "widths": (16, 8), "time_dim": 8, "max_epochs": 2},
}


@pytest.fixture
def tiny_pipeline_params():
    return {k: dict(v) for k, v in TINY_PIPELINE.items()}


@pytest.fixture(autouse=True)
def _seed():
    np.random.seed(0)  # noqa: NPY002 - seeds code that uses the legacy global RNG
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def sample():
    from sklearn_biodiff.datasets import load_cinc2017_sample

    return load_cinc2017_sample()


@pytest.fixture(scope="session")
def synthetic():
    from sklearn_biodiff.datasets import make_synthetic_ecg

    return make_synthetic_ecg(60, min_seconds=6, max_seconds=12, random_state=0)


@pytest.fixture(scope="session")
def nstdb_folder():
    """The MIT-BIH Noise Stress Test records bw and ma in ../shared/data/nstdb."""
    path = REPO.parent / "shared" / "data" / "nstdb"
    if not (path / "bw.hea").is_file():
        pytest.skip(f"NSTDB records not found: put bw.hea/.dat and ma.hea/.dat in {path} "
                    "(../shared/data/nstdb next to the repository)")
    return path


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL server on 127.0.0.1 (benchmarks/_pgserver.py), for the session.

    Skipped when the PostgreSQL binaries or the psycopg2 driver are missing, unless
    ``SKLEARN_BIODIFF_REQUIRE_POSTGRES=1`` (set by ``.ci/run``), which fails instead.
    """
    from benchmarks._pgserver import PostgresServer, postgres_bindir

    required = os.environ.get("SKLEARN_BIODIFF_REQUIRE_POSTGRES") == "1"
    missing = None
    bindir = postgres_bindir()
    if bindir is None:
        missing = ("PostgreSQL server binaries (initdb, pg_ctl) not found: "
                   "apt-get install postgresql")
    else:
        try:
            import psycopg2  # noqa: F401
        except ImportError:
            missing = 'psycopg2 not installed: pip install -e ".[dev]"'
    if missing:
        if required:
            pytest.fail(missing + " (SKLEARN_BIODIFF_REQUIRE_POSTGRES=1)")
        pytest.skip(missing)
    with PostgresServer(bindir) as server:
        yield server
