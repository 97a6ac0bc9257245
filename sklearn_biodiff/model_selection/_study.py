"""Optuna studies shared by worker processes: race-free creation, seeds, logging.

The one place for what happens when several processes (workers) run
:func:`~sklearn_biodiff.model_selection.optuna_search` on one storage:

- the study, and on a fresh RDB storage its schema, is created so that workers
  started together all get it (:func:`create_or_load_study`);
- every worker seeds its sampler differently, so that workers started with the
  same ``random_state`` do not try the same parameters (:func:`worker_identity`);
- Optuna's log level is changed only for the duration of a call
  (:func:`optuna_verbosity`);
- an RDB URL is opened with what a fleet of workers needs (:func:`open_rdb_storage`):
  a connect timeout, the installed PostgreSQL driver, and Optuna's heartbeat, so that
  the trial of a killed worker is failed and run again;
- a read-only storage or a database server that does not answer is named as such
  (:func:`storage_errors`).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import random
import socket
import time
import uuid
import warnings
from collections.abc import Iterator
from numbers import Integral

import numpy as np

from ..base import seed_from_random_state

__all__ = ["create_or_load_study", "import_optuna", "is_shared_storage", "open_rdb_storage",
           "optuna_verbosity", "storage_errors", "worker_identity"]

_OPTUNA_HINT = 'Optuna is needed: pip install "sklearn-biodiff[tune]"'

# Messages of the errors that a worker sees when another one creates the same
# schema or study at the same moment (SQLite, PostgreSQL, MySQL).
_RACE_MESSAGES = ("already exists", "unique constraint", "duplicate key", "duplicate entry",
                  "database is locked")
_ATTEMPTS = 8
_FIRST_DELAY = 0.05  # seconds, doubled after each attempt, with jitter

#: seconds a connection to a database server may take before it is given up
#: (libpq's and MySQL's ``connect_timeout``; a ``connect_timeout`` in the URL wins)
CONNECT_TIMEOUT = 10
_CONNECT_TIMEOUT_BACKENDS = ("postgresql", "mysql")
#: times the trial of a killed worker is run again (Optuna's heartbeat)
MAX_RETRY = 3
# Messages of a storage that refuses writes (SQLite, PostgreSQL, MySQL)
_READ_ONLY_MESSAGES = ("readonly database", "read-only transaction", "read-only mode",
                       "read only transaction", "--read-only option")
# Messages of a connection attempt that ran out of time (libpq, MySQL drivers)
_TIMEOUT_MESSAGES = ("timeout expired", "timed out", "lost connection to mysql server at "
                     "'reading initial communication packet'")


def import_optuna():
    """Optuna, or an ``ImportError`` that says how to install it."""
    try:
        import optuna
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(_OPTUNA_HINT) from exc
    return optuna


def is_shared_storage(storage) -> bool:
    """Whether ``storage`` can be shared by processes (anything but memory)."""
    optuna = import_optuna()
    return storage is not None and not isinstance(storage, optuna.storages.InMemoryStorage)


def worker_identity(random_state, *, shared: bool) -> tuple[str, int | None]:
    """A name for this worker and the seed of its sampler.

    Without a shared storage the seed is ``random_state`` itself (an int, or one
    drawn from a ``RandomState``), so a call is reproducible. On a shared
    storage it is drawn from ``random_state`` and a random per-worker nonce
    (part of the name), so that workers started with the same ``random_state``
    sample different parameters.

    Returns
    -------
    worker_id : str
        ``"host:pid:nonce"``.
    seed : int or None
        ``None`` for ``random_state=None`` without a shared storage (Optuna
        seeds itself).
    """
    nonce = uuid.uuid4()
    worker_id = f"{socket.gethostname()}:{os.getpid()}:{nonce.hex[:8]}"
    if not shared:
        if random_state is None or isinstance(random_state, Integral):
            return worker_id, random_state  # an int seeds the sampler as before
        return worker_id, seed_from_random_state(random_state)
    base = seed_from_random_state(random_state)
    seq = np.random.SeedSequence(base, spawn_key=(nonce.int,))
    return worker_id, int(seq.generate_state(1)[0] >> 1)


def _is_race(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(m in text for m in _RACE_MESSAGES)


def _describe_storage(storage) -> str:
    url = storage if isinstance(storage, str) else getattr(storage, "url", None)
    if not isinstance(url, str):
        return type(storage).__name__
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - only used in an error message
        return "the storage URL"


def _installed_postgres_driver(url):
    """``url``, with the installed driver when its default PostgreSQL driver is missing.

    A bare ``postgresql://`` URL means SQLAlchemy's default driver: psycopg2 up to
    SQLAlchemy 2.0, psycopg (3) from 2.1. The ``postgres`` extra installs psycopg2, so
    the bare URL of the documentation would fail with Optuna's "install appropriate
    one"; it is pointed at whichever of the two drivers is installed instead.
    """
    if url.drivername != "postgresql":
        return url  # a driver named in the URL is the user's choice
    default = url.get_dialect().driver
    if importlib.util.find_spec(default) is not None:
        return url
    for driver in ("psycopg2", "psycopg"):
        if importlib.util.find_spec(driver) is not None:
            return url.set(drivername=f"postgresql+{driver}")
    raise ImportError(
        f"{url.render_as_string(hide_password=True)} needs a PostgreSQL driver and "
        f"neither psycopg2 nor psycopg is installed: pip install "
        f'"sklearn-biodiff[postgres]" (psycopg2).')


def _stale_trial_callback_kwargs(optuna) -> dict:
    """Optuna's retry-on-heartbeat-loss callback, under the name this release takes.

    Optuna 4.9 renamed ``failed_trial_callback``/``RetryFailedTrialCallback`` to
    ``heartbeat_stale_trial_callback``/``RetryHeartbeatStaleTrialCallback``.
    """
    new = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None)
    if new is not None:
        return {"heartbeat_stale_trial_callback": new(max_retry=MAX_RETRY)}
    return {"failed_trial_callback": optuna.storages.RetryFailedTrialCallback(
        max_retry=MAX_RETRY)}


def open_rdb_storage(url: str, *, heartbeat_interval: int | None = None):
    """``optuna.storages.RDBStorage`` of ``url``, set up for workers that may die.

    - ``postgresql://`` uses the installed driver (psycopg2 or psycopg);
    - PostgreSQL and MySQL connections give up after :data:`CONNECT_TIMEOUT`
      seconds (a ``connect_timeout`` in the URL query, e.g.
      ``...?connect_timeout=30``, wins), so that a server that never answers fails
      the call instead of hanging it;
    - with ``heartbeat_interval``, each running trial records a heartbeat every
      ``heartbeat_interval`` seconds; a ``RUNNING`` trial whose heartbeat is older
      than twice that (its worker was killed) is marked ``FAIL`` by the next trial
      any worker starts, and queued again with the same parameters, at most
      :data:`MAX_RETRY` times.

    Parameters
    ----------
    url : str
        SQLAlchemy URL, e.g. ``"sqlite:///study.db"`` or
        ``"postgresql://user:pw@host/db"``.
    heartbeat_interval : int or None, default=None
        Seconds between heartbeats; ``None`` turns the heartbeat off.

    Returns
    -------
    optuna.storages.RDBStorage
    """
    from sqlalchemy.engine import make_url

    optuna = import_optuna()
    parsed = _installed_postgres_driver(make_url(url))
    engine_kwargs = {}
    if (parsed.get_backend_name() in _CONNECT_TIMEOUT_BACKENDS
            and "connect_timeout" not in parsed.query):
        engine_kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT}
    with warnings.catch_warnings():  # the heartbeat is marked experimental by Optuna
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        heartbeat = {}
        if heartbeat_interval is not None:
            heartbeat = {"heartbeat_interval": heartbeat_interval,
                         **_stale_trial_callback_kwargs(optuna)}
        return optuna.storages.RDBStorage(parsed.render_as_string(hide_password=False),
                                          engine_kwargs=engine_kwargs, **heartbeat)


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


@contextlib.contextmanager
def storage_errors(storage) -> Iterator[None]:
    """Name a read-only storage and a database server that does not answer.

    A storage that refuses writes (a read-only SQLite file, a PostgreSQL standby)
    surfaces from Optuna as a raw ``OperationalError`` or as its
    ``StorageInternalError`` "... e.g. exceeding max length", which points at the
    data instead of the storage: both become a ``PermissionError`` that says so. A
    connection that ran out of ``connect_timeout`` becomes a ``TimeoutError`` that
    gives the limit and how to raise it.
    """
    from sqlalchemy.exc import DBAPIError

    try:
        yield
    except Exception as exc:
        where = _describe_storage(storage)
        for cause in _chain(exc):
            if not isinstance(cause, DBAPIError):  # errors of the database driver only
                continue
            text = str(cause).lower()
            if any(m in text for m in _READ_ONLY_MESSAGES):
                raise PermissionError(
                    f"the Optuna storage {where} is read-only ({_first_line(cause)}): "
                    "optuna_search writes every trial to it. Make the database writable "
                    "(for a SQLite file, the file and its folder, by the user running the "
                    "search), or copy the study to a writable storage with "
                    "optuna.copy_study; to only read it, use optuna.load_study.") from exc
            if any(m in text for m in _TIMEOUT_MESSAGES):
                limit = _connect_timeout(storage)
                limit = ("its connect timeout" if limit is None
                         else f"connect_timeout={limit} s")
                raise TimeoutError(
                    f"could not connect to the Optuna storage {where}: the database server "
                    f"did not answer within {limit} ({_first_line(cause)}). Check that "
                    "the server is up and reachable from this machine; on a slow network "
                    "raise the limit in the URL, "
                    "e.g. ...?connect_timeout=60.") from exc
        raise


def _connect_timeout(storage):
    """The ``connect_timeout`` in force: the URL's, an own ``RDBStorage``'s, or ours."""
    try:
        from sqlalchemy.engine import make_url

        url = make_url(storage if isinstance(storage, str) else storage.url)
        if "connect_timeout" in url.query:
            return url.query["connect_timeout"]
        if isinstance(storage, str):
            return CONNECT_TIMEOUT
        return storage.engine_kwargs.get("connect_args", {}).get("connect_timeout")
    except Exception:  # noqa: BLE001 - only used in an error message
        return None


def create_or_load_study(*, storage, study_name, load_if_exists, heartbeat_interval=None,
                         **kwargs):
    """``optuna.create_study`` that tolerates workers creating the same study at once.

    On a fresh RDB storage (SQLite, PostgreSQL, MySQL) every worker creates the
    schema; the ones that lose the race get an error such as ``table studies
    already exists`` or ``UNIQUE constraint failed: alembic_version``. Those
    errors (and SQLite's ``database is locked``) are retried with a jittered,
    growing delay (about 6 s in all); by then the schema and the study exist and
    the worker loads them. Other errors (a wrong URL, a missing driver, a
    duplicated study with ``load_if_exists=False``) are raised at once.

    A URL is opened with :func:`open_rdb_storage` (connect timeout, installed
    PostgreSQL driver, heartbeat); a storage object is used as given.

    Parameters
    ----------
    storage, study_name, load_if_exists, **kwargs
        As in ``optuna.create_study``.
    heartbeat_interval : int or None, default=None
        Of :func:`open_rdb_storage`, for a URL ``storage``.

    Returns
    -------
    optuna.Study
    """
    from sqlalchemy.exc import SQLAlchemyError

    optuna = import_optuna()
    jitter = random.Random()  # own generator: the global one is the user's
    delay = _FIRST_DELAY
    for attempt in range(_ATTEMPTS):
        try:
            opened = (open_rdb_storage(storage, heartbeat_interval=heartbeat_interval)
                      if isinstance(storage, str) else storage)
            return optuna.create_study(storage=opened, study_name=study_name,
                                       load_if_exists=load_if_exists, **kwargs)
        except SQLAlchemyError as exc:
            if not _is_race(exc):
                raise
            if attempt == _ATTEMPTS - 1:
                raise RuntimeError(
                    f"could not create or load the Optuna study {study_name!r} in "
                    f"{_describe_storage(storage)} after {_ATTEMPTS} attempts: other "
                    f"processes kept the database busy ({type(exc).__name__}: "
                    f"{str(exc).splitlines()[0]}). Create the study once before starting "
                    "the workers (optuna.create_study(storage=..., study_name=...)) or "
                    "use a server database such as PostgreSQL.") from exc
            time.sleep(delay * jitter.uniform(0.5, 1.5))
            delay *= 2
    raise AssertionError("unreachable")  # pragma: no cover


@contextlib.contextmanager
def optuna_verbosity(verbose: int) -> Iterator[None]:
    """Hide Optuna's info messages unless ``verbose``; restore the level on exit."""
    optuna = import_optuna()
    previous = optuna.logging.get_verbosity()
    if not verbose:
        optuna.logging.set_verbosity(max(previous, optuna.logging.WARNING))
    try:
        yield
    finally:
        optuna.logging.set_verbosity(previous)
