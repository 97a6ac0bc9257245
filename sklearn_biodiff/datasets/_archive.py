"""Unpack a dataset archive once into a cache directory, safely under concurrency."""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import zipfile
from pathlib import Path

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


def _extract(archive: Path, dest: Path) -> None:
    if archive.name.lower().endswith(".zip"):
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(dest)
    else:
        with tarfile.open(archive) as tf:
            if hasattr(tarfile, "data_filter"):
                tf.extractall(dest, filter="data")
            else:  # Python < 3.10.12 has no extraction filters
                tf.extractall(dest)


def unpack_archive_once(
    archive: str | os.PathLike,
    name: str,
    *,
    data_home=None,
    is_complete=None,
) -> Path:
    """Unpack ``archive`` under ``data_home/name/<sha256 prefix>`` and return it.

    The archive is extracted into a private temporary folder next to the target
    and moved in place with one atomic ``rename``, so two processes unpacking at
    once never see a half-written folder: the loser discards its copy. A folder
    without the completion marker (an interrupted run) is replaced.

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

    Returns
    -------
    Path
        The unpacked folder.
    """
    archive = Path(archive)
    if not archive.is_file():
        raise FileNotFoundError(f"archive {archive} does not exist.")
    digest = sha256sum(archive)[:16]
    parent = get_data_home(data_home) / name
    parent.mkdir(parents=True, exist_ok=True)
    target = parent / digest

    def ok(p: Path) -> bool:
        return (p / _COMPLETE).is_file() and (is_complete is None or is_complete(p))

    if target.is_dir() and ok(target):
        return target
    tmp = Path(tempfile.mkdtemp(prefix=f".{digest}-", dir=parent))
    try:
        try:
            _extract(archive, tmp)
        except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
            raise ValueError(f"cannot unpack {archive}: {exc}") from exc
        (tmp / _COMPLETE).write_text(archive.name + "\n")
        if target.is_dir() and not ok(target):
            # an interrupted earlier unpack: move it aside, then take its place
            stale = Path(tempfile.mkdtemp(prefix=f".{digest}-stale-", dir=parent))
            try:
                os.rename(target, stale / "old")
            except OSError:
                pass
            shutil.rmtree(stale, ignore_errors=True)
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target.is_dir() and ok(target)):
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target
