"""A throwaway PostgreSQL server for tests and benchmarks (no mock: the real one).

``PostgresServer`` runs ``initdb`` and ``pg_ctl`` from the Debian packages
(``apt-get install postgresql``; the binaries live in
``/usr/lib/postgresql/<version>/bin``) in a fresh temporary directory, listening on
127.0.0.1 on a free port, with ``trust`` authentication for the local user only.
PostgreSQL refuses to run as root, so under root the cluster is owned by and runs as
the unprivileged user ``nobody`` (through ``runuser``).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

UNPRIVILEGED_USER = "nobody"


def postgres_bindir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``, or ``None`` when not installed."""
    found = shutil.which("initdb"), shutil.which("pg_ctl")
    if all(found):
        return Path(os.path.realpath(found[0])).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                      key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit()
                      else 0)
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """Start with :meth:`start`, stop with :meth:`stop` (or use it as a context manager).

    Parameters
    ----------
    bindir : Path
        Folder of ``initdb``/``pg_ctl`` (:func:`postgres_bindir`).
    """

    def __init__(self, bindir: Path):
        self.bindir = Path(bindir)
        self.root: Path | None = None
        self.port: int | None = None
        self._as_user = os.geteuid() == 0

    def _run(self, *args: str, timeout: float = 120) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self._as_user:
            cmd = ["runuser", "-u", UNPRIVILEGED_USER, "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              cwd=self.root)
        if proc.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n"
                               f"{proc.stdout}{proc.stderr}{tail}")

    def start(self) -> PostgresServer:
        # tempfile.mkdtemp, not pytest's tmp_path: the latter is private to root
        self.root = Path(tempfile.mkdtemp(prefix="sklearn_biodiff_pg_"))
        if self._as_user:
            shutil.chown(self.root, user=UNPRIVILEGED_USER)
        data = self.root / "data"
        self._run("initdb", "-D", str(data), "-U", "postgres", "--auth=trust",
                  "--encoding=UTF8", "--no-sync")
        for attempt in range(5):  # the free port may be taken before the server binds
            self.port = _free_port()
            opts = (f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off "
                    "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50")
            try:
                self._run("pg_ctl", "-D", str(data), "-l", str(self.root / "server.log"),
                          "-o", opts, "-w", "-t", "60", "start")
                break
            except RuntimeError:
                if attempt == 4:
                    self.stop()
                    raise
        return self

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its SQLAlchemy URL (psycopg2 driver)."""
        import psycopg2

        name = name or f"db_{uuid.uuid4().hex[:12]}"
        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres",
                                dbname="postgres")
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.root is None:
            return
        data = self.root / "data"
        if (data / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop",
                          timeout=60)
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
        for _ in range(50):  # the server's files are gone once it has exited
            if not (data / "postmaster.pid").exists():
                break
            time.sleep(0.1)
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
