"""Optuna studies shared by worker processes: race-free creation, seeds, logging.

The one place for what happens when several processes (workers) run
:func:`~sklearn_biodiff.model_selection.optuna_search` on one storage:

- the study, and on a fresh RDB storage its schema, is created so that workers
  started together all get it (:func:`create_or_load_study`);
- every worker seeds its sampler differently, so that workers started with the
  same ``random_state`` do not try the same parameters (:func:`worker_identity`);
- Optuna's log level is changed only for the duration of a call
  (:func:`optuna_verbosity`).
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import time
import uuid
from collections.abc import Iterator
from numbers import Integral

import numpy as np

from ..base import seed_from_random_state

__all__ = ["create_or_load_study", "import_optuna", "is_shared_storage", "optuna_verbosity",
           "worker_identity"]

_OPTUNA_HINT = 'Optuna is needed: pip install "sklearn-biodiff[tune]"'

# Messages of the errors that a worker sees when another one creates the same
# schema or study at the same moment (SQLite, PostgreSQL, MySQL).
_RACE_MESSAGES = ("already exists", "unique constraint", "duplicate key", "duplicate entry",
                  "database is locked")
_ATTEMPTS = 8
_FIRST_DELAY = 0.05  # seconds, doubled after each attempt, with jitter


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
    if not isinstance(storage, str):
        return type(storage).__name__
    try:
        from sqlalchemy.engine import make_url

        return make_url(storage).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - only used in an error message
        return "the storage URL"


def create_or_load_study(*, storage, study_name, load_if_exists, **kwargs):
    """``optuna.create_study`` that tolerates workers creating the same study at once.

    On a fresh RDB storage (SQLite, PostgreSQL, MySQL) every worker creates the
    schema; the ones that lose the race get an error such as ``table studies
    already exists`` or ``UNIQUE constraint failed: alembic_version``. Those
    errors (and SQLite's ``database is locked``) are retried with a jittered,
    growing delay (about 6 s in all); by then the schema and the study exist and
    the worker loads them. Other errors (a wrong URL, a missing driver, a
    duplicated study with ``load_if_exists=False``) are raised at once.

    Parameters
    ----------
    storage, study_name, load_if_exists, **kwargs
        As in ``optuna.create_study``.

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
            return optuna.create_study(storage=storage, study_name=study_name,
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
