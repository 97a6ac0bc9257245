"""Optuna on a real PostgreSQL server: worker processes sharing one study, then a resume.

The server is a throwaway cluster started by the ``postgres_server`` fixture
(tests/conftest.py, benchmarks/_pgserver.py) on 127.0.0.1.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import optuna
import pytest
from sklearn.linear_model import LogisticRegression

from sklearn_biodiff.model_selection import optuna_search

REPO = Path(__file__).resolve().parents[1]

_WORKER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn_biodiff.model_selection import optuna_search

    url, name, sync, me = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4]
    rng = np.random.RandomState(0)
    groups = np.tile(np.arange(8), 3)
    y = groups % 2
    X = rng.randn(24, 3) + y[:, None]
    (sync / f"ready-{me}").touch()
    while not (sync / "go").exists():  # the workers start together
        time.sleep(0.002)
    optuna_search(LogisticRegression(), X, y,
                  lambda t: {"C": t.suggest_float("C", 1e-3, 1e3, log=True)},
                  groups=groups, cv=2, n_trials=3, storage=url, study_name=name,
                  random_state=0, pruner=None)  # same random_state in every worker
""")


def _data():
    rng = np.random.RandomState(0)
    groups = np.tile(np.arange(8), 3)
    y = groups % 2
    return rng.randn(24, 3) + y[:, None], y, groups


def test_two_worker_processes_share_a_postgresql_study_then_it_resumes(postgres_server,
                                                                         tmp_path):
    url = postgres_server.create_database()  # empty: the workers race to create the schema
    sync = tmp_path / "sync"
    sync.mkdir()
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, url, "pg", str(sync), str(i)],
                              cwd=REPO, stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    deadline = time.monotonic() + 120
    while len(list(sync.glob("ready-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    (sync / "go").touch()
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err

    assert optuna.get_all_study_names(url) == ["pg"]
    trials = optuna.load_study(study_name="pg", storage=url).trials
    assert len(trials) == 6
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    per_worker = Counter(t.user_attrs["worker_id"] for t in trials)
    assert sorted(per_worker.values()) == [3, 3]  # both workers contributed
    assert len({t.params["C"] for t in trials}) == 6  # no parameter set twice

    # both processes are gone: a third call resumes the study and adds its trials
    X, y, groups = _data()
    res = optuna_search(LogisticRegression(), X, y,
                        lambda t: {"C": t.suggest_float("C", 1e-3, 1e3, log=True)},
                        groups=groups, cv=2, n_trials=2, storage=url, study_name="pg",
                        random_state=0, pruner=None)
    resumed = res.study.trials
    assert [t.number for t in resumed] == list(range(8))
    assert [t.params for t in resumed[:6]] == [t.params for t in trials]
    assert {t.user_attrs["worker_id"] for t in resumed[6:]} == {res.worker_id}
    assert res.worker_id not in per_worker
    assert len({t.params["C"] for t in resumed}) == 8
    assert res.best_score == max(t.value for t in resumed)


# ------------------------------------------ hostile storages (issue 33) -------------
def _c_space(trial):
    return {"C": trial.suggest_float("C", 1e-3, 1e3, log=True)}


def test_the_documented_bare_postgresql_url_uses_the_installed_driver(postgres_server):
    # SQLAlchemy 2.1's default PostgreSQL driver is psycopg (3); the postgres extra
    # installs psycopg2: the bare URL of the docs must still work
    url = postgres_server.create_database()
    bare = url.replace("postgresql+psycopg2://", "postgresql://")
    assert bare.startswith("postgresql://")
    X, y, groups = _data()
    res = optuna_search(LogisticRegression(), X, y, _c_space, groups=groups, cv=2,
                        n_trials=2, storage=bare, study_name="bare", random_state=0)
    assert len(res.study.trials) == 2
    assert optuna.get_all_study_names(url) == ["bare"]  # the same database


class _SilentServer:
    """A socket on 127.0.0.1 that accepts connections and never answers.

    Closed after ``lifetime`` seconds (its waiting connections are reset), so that a
    client that never times out still ends, with another error, in bounded time.
    """

    def __init__(self, lifetime=60.0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)  # the kernel completes the handshakes; nobody reads
        self.port = self.sock.getsockname()[1]
        self._timer = threading.Timer(lifetime, self.sock.close)
        self._timer.start()

    def close(self):
        self._timer.cancel()
        self.sock.close()


@pytest.mark.parametrize(("scheme", "query", "limit"),
                         [("postgresql+psycopg2", "", 10),
                          ("postgresql", "?connect_timeout=2", 2)])
def test_a_server_that_never_answers_fails_in_seconds(scheme, query, limit):
    pytest.importorskip("psycopg2")
    server = _SilentServer(lifetime=40)
    X, y, groups = _data()
    start = time.monotonic()
    try:
        with pytest.raises(TimeoutError, match=rf"could not connect to the Optuna storage "
                                               rf"{re.escape(scheme)}://u@127\.0\.0\.1:\d+/"
                                               rf"db.* did not answer within connect_timeout="
                                               rf"{limit} s.*connect_timeout=60"):
            optuna_search(LogisticRegression(), X, y, _c_space, groups=groups, cv=2,
                          n_trials=1, storage=f"{scheme}://u@127.0.0.1:{server.port}/db"
                          f"{query}", study_name="s")
    finally:
        server.close()
    assert limit - 0.5 < time.monotonic() - start < limit + 15


_STALLING_WORKER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn_biodiff.model_selection import optuna_search

    url, sync = sys.argv[1], Path(sys.argv[2])
    rng = np.random.RandomState(0)
    groups = np.tile(np.arange(8), 3)
    y = groups % 2
    X = rng.randn(24, 3) + y[:, None]

    def space(trial):
        params = {"C": trial.suggest_float("C", 1e-3, 1e3, log=True)}
        (sync / "in-trial").touch()
        time.sleep(600)  # killed here
        return params

    optuna_search(LogisticRegression(), X, y, space, groups=groups, cv=2, n_trials=1,
                  storage=url, study_name="killed", random_state=0)  # default heartbeat
""")


def test_the_trial_of_a_killed_worker_is_failed_and_run_again(postgres_server, tmp_path):
    url = postgres_server.create_database()
    sync = tmp_path / "sync"
    sync.mkdir()
    worker = subprocess.Popen([sys.executable, "-c", _STALLING_WORKER, url, str(sync)],
                              cwd=REPO, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (sync / "in-trial").exists():
            assert worker.poll() is None, worker.communicate()[1]
            assert time.monotonic() < deadline, "the worker never started its trial"
            time.sleep(0.05)
        time.sleep(0.5)  # its heartbeat thread has written the first heartbeat
    finally:
        os.kill(worker.pid, signal.SIGKILL)  # no clean-up: the trial stays RUNNING
        worker.communicate(timeout=60)
    assert worker.returncode == -signal.SIGKILL
    (stalled,) = optuna.load_study(study_name="killed", storage=url).trials
    assert stalled.state == optuna.trial.TrialState.RUNNING

    time.sleep(2.5)  # older than the grace period, 2 x heartbeat_interval
    X, y, groups = _data()
    res = optuna_search(LogisticRegression(), X, y, _c_space, groups=groups, cv=2,
                        n_trials=1, storage=url, study_name="killed", random_state=0,
                        heartbeat_interval=1)
    failed, retried = res.study.trials
    assert failed.number == 0 and failed.state == optuna.trial.TrialState.FAIL
    assert retried.state == optuna.trial.TrialState.COMPLETE
    assert retried.params == stalled.params  # the same trial, run again
    assert retried.system_attrs["failed_trial"] == 0
    assert retried.user_attrs["worker_id"] == res.worker_id
    assert res.best_params == stalled.params
