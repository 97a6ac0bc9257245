"""Optuna on a real PostgreSQL server: worker processes sharing one study, then a resume.

The server is a throwaway cluster started by the ``postgres_server`` fixture
(tests/conftest.py, tests/_pgserver.py) on 127.0.0.1.
"""

import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import numpy as np
import optuna
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
