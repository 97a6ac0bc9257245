"""Unpack a dataset archive once into a cache directory, safely under concurrency."""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import time
import zipfile
from numbers import Real
from pathlib import Path

from .._atomic import remove_stale_temporaries, temporary_name

__all__ = ["get_data_home", "sha256sum", "unpack_archive_once"]

_COMPLETE = ".complete"


def get_data_home(data_home: str | os.PathLike | None = None) -> Path:
    """Cache folder: ``data_home``, else ``$SKLEARN_BIODIFF_DATA``, else
    ``~/.cache/sklearn_biodiff``; created if missing."""
    if data_home is None:
        data_home = os.environ.get(
            "SKLEARN_BIODIFF_DATA", Path("~/.cache/sklearn_biodiff").expanduser()
        )
    path = Path(data_home).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def sha256sum(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _is_archive(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith((".zip", ".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2"))


#: defaults of the extraction caps: the full CinC 2017 archive unpacks to 167 MB in
#: 17,060 members from 52 MB (ratio 3.2)
MAX_BYTES = 2**30
MAX_MEMBERS = 100_000
MAX_RATIO = 100.0
#: temporary folders named as releases before 0.1.0 named them (``.<digest>-*``, no
#: process id) are removed this long after an unpack was killed
STALE_TMP_SECONDS = 24 * 3600


class _Budget:
    """Counts members and bytes of an archive being unpacked; raises past a cap."""

    def __init__(self, archive: Path, max_bytes: int, max_members: int, max_ratio: float):
        self.archive = archive
        self.max_members = max_members
        self.max_bytes = min(max_bytes, int(max_ratio * max(archive.stat().st_size, 1)))
        self.reason = "max_bytes" if self.max_bytes == max_bytes else "max_ratio"
        self.members = self.bytes = 0

    def add(self, size: int) -> None:
        self.members += 1
        self.bytes += max(int(size), 0)
        if self.members > self.max_members:
            raise ValueError(
                f"cannot unpack {self.archive}: it has more than max_members="
                f"{self.max_members} members; if the archive is trusted, raise max_members.")
        if self.bytes > self.max_bytes:
            raise ValueError(
                f"cannot unpack {self.archive}: it expands to more than {self.max_bytes} "
                f"bytes ({self.reason}: at most max_bytes bytes and max_ratio times the "
                f"archive's {self.archive.stat().st_size} bytes), which looks like a "
                "decompression bomb; if the archive is trusted, raise max_bytes or max_ratio.")


def _extract(archive: Path, dest: Path, budget: _Budget) -> None:
    if archive.name.lower().endswith(".zip"):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():  # declared sizes: zipfile stops at them
                budget.add(info.file_size)
            zf.extractall(dest)  # zipfile drops absolute paths and ".." itself
        return
    if not hasattr(tarfile, "data_filter"):  # pragma: no cover - Python < 3.10.12
        raise RuntimeError(
            "unpacking a tar archive safely needs tarfile's extraction filters "
            "(Python >= 3.10.12, 3.11.4 or 3.12); upgrade Python or unpack the archive "
            "yourself and pass the folder.")
    with tarfile.open(archive) as tf:
        for member in tf:  # one pass over the (compressed) stream
            budget.add(member.size)
            tf.extract(member, dest, filter="data")


def _remove_stale_tmp(parent: Path, max_age: float = STALE_TMP_SECONDS) -> None:
    """Remove temporary folders of the old naming (``.<digest>-*``, without the process
    that wrote them) left by an unpack killed long ago."""
    now = time.time()
    for p in parent.glob(".*-*"):
        try:
            if p.is_dir() and now - p.stat().st_mtime > max_age:
                shutil.rmtree(p, ignore_errors=True)
        except OSError:  # removed by another process meanwhile
            pass


def unpack_archive_once(
    archive: str | os.PathLike,
    name: str,
    *,
    data_home=None,
    is_complete=None,
    max_bytes: int = MAX_BYTES,
    max_members: int = MAX_MEMBERS,
    max_ratio: float = MAX_RATIO,
) -> Path:
    """Unpack ``archive`` under ``data_home/name/<sha256 prefix>`` and return it.

    The archive is extracted into a private temporary folder next to the target
    and moved in place with one atomic ``rename``, under a file lock
    (``data_home/.locks/``), so processes unpacking at once never see a
    half-written folder and only one of them unpacks. A folder without the
    completion marker (an interrupted run) is replaced; temporary folders of an
    unpack whose process is gone are removed (they are named after their host and
    process). Folders are created with the umask's permissions, so a cache shared
    by a group stays readable to it.

    Parameters
    ----------
    archive : path
        A ``.zip`` or ``.tar[.gz|.xz|.bz2]`` file.
    name : str
        Sub-folder of the cache for this dataset.
    data_home : path or None
        See :func:`get_data_home`.
    is_complete : callable(Path) -> bool or None
        Extra completeness check of an unpacked folder.
    max_bytes : int, default=2**30
        Cap on the unpacked size in bytes.
    max_members : int, default=100_000
        Cap on the number of files and folders in the archive.
    max_ratio : float, default=100.0
        Cap on the unpacked size as a multiple of the archive's size (a
        decompression bomb expands a thousandfold; ECG data about threefold).

    Returns
    -------
    Path
        The unpacked folder.

    Raises
    ------
    ValueError
        When the archive is corrupt or exceeds a cap (nothing is left behind).
    """
    from filelock import FileLock

    for cap, value in (("max_bytes", max_bytes), ("max_members", max_members),
                       ("max_ratio", max_ratio)):
        if isinstance(value, bool) or not isinstance(value, Real) or not value > 0:
            raise ValueError(f"{cap} must be a positive number, got {value!r}.")
    archive = Path(archive)
    if not archive.is_file():
        raise FileNotFoundError(f"archive {archive} does not exist.")
    digest = sha256sum(archive)[:16]
    home = get_data_home(data_home)
    parent = home / name
    parent.mkdir(parents=True, exist_ok=True)
    target = parent / digest
    # leftovers of killed unpacks go also when nothing is unpacked now (a later run
    # may have completed the cache since): at once when their process is gone
    remove_stale_temporaries(target)
    _remove_stale_tmp(parent)

    def ok(p: Path) -> bool:
        try:
            return (p / _COMPLETE).is_file() and (is_complete is None or is_complete(p))
        except OSError:  # a stale folder moved away by the process holding the lock
            return False

    if target.is_dir() and ok(target):
        return target
    locks = home / ".locks"
    locks.mkdir(exist_ok=True)
    with FileLock(locks / f"{name}-{digest}.lock"):
        if target.is_dir() and ok(target):  # another process finished meanwhile
            return target
        budget = _Budget(archive, max_bytes, max_members, max_ratio)
        tmp = temporary_name(target)
        tmp.mkdir()  # the umask's permissions, so a group can share the cache
        try:
            try:
                _extract(archive, tmp, budget)
            except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
                raise ValueError(f"cannot unpack {archive}: {exc}") from exc
            (tmp / _COMPLETE).write_text(archive.name + "\n")
            if target.exists():  # an interrupted earlier unpack: move it aside first
                stale = temporary_name(target, "old")
                os.rename(target, stale)
                shutil.rmtree(stale, ignore_errors=True)
            os.rename(tmp, target)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return target
