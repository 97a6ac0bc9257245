"""All-or-nothing writes: a file or a folder is either the old one or the new one.

A process killed in the middle of a save (``kill -9``, a full disk, a power cut)
must leave what was there before, or the complete new version, never a mix:

* :func:`atomic_file` writes into a temporary file beside the target, flushes it to
  disk (``fsync``) and moves it over the target with :func:`os.replace`;
* :func:`replace_folder` swaps a fully written temporary folder with the target
  folder in one step (Linux ``renameat2(RENAME_EXCHANGE)``; elsewhere two renames,
  with a moment where the target name is missing, never half-written);
* temporaries are named after their host and process (:func:`temporary_name`), so
  :func:`remove_stale_temporaries` removes exactly those whose process is gone.

The target is replaced as a name: a symbolic link at the target is replaced by the
new file or folder, and what it pointed to is never written through.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import os
import secrets
import shutil
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_file", "current_umask", "fsync_folder", "recover_interrupted",
           "remove_stale_temporaries", "replace_folder", "temporary_name"]

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _host_tag() -> str:
    """This machine and PID namespace (containers sharing a hostname differ here)."""
    try:
        ns = os.readlink("/proc/self/ns/pid")
    except OSError:
        ns = ""
    return hashlib.sha1(f"{socket.gethostname()}|{ns}".encode()).hexdigest()[:8]


def temporary_name(target: Path, kind: str = "tmp") -> Path:
    """A fresh sibling of ``target``: ``.NAME.KIND.HOST.PID.TOKEN``.

    Parameters
    ----------
    target : pathlib.Path
    kind : str, default="tmp"
        ``"tmp"`` for what is being written, ``"old"`` for what was replaced.

    Returns
    -------
    pathlib.Path
    """
    return target.with_name(f".{target.name}.{kind}.{_host_tag()}.{os.getpid()}."
                            f"{secrets.token_hex(4)}")


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    except OverflowError:
        return False
    return True


def _stale(target: Path) -> list[tuple[str, Path]]:
    """``(kind, path)`` of the temporaries of ``target`` whose process (on this host) is
    gone."""
    prefix = f".{target.name}."
    host = _host_tag()
    try:
        siblings = list(target.parent.iterdir())
    except OSError:
        return []
    out = []
    for path in siblings:
        if not path.name.startswith(prefix):
            continue
        parts = path.name[len(prefix):].split(".")
        if (len(parts) != 4 or parts[0] not in ("tmp", "old") or parts[1] != host
                or not parts[2].isdigit()):
            continue
        if int(parts[2]) == os.getpid() or _process_alive(int(parts[2])):
            continue
        out.append((parts[0], path))
    return out


def recover_interrupted(target: Path) -> bool:
    """Put back at a missing ``target`` the previous version that a killed
    :func:`replace_folder` (two-rename fallback) left as an ``old`` temporary.

    Returns
    -------
    bool
        Whether ``target`` was restored.
    """
    if os.path.lexists(target):
        return False
    olds = [p for kind, p in _stale(target) if kind == "old"]
    for old in sorted(olds, key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            os.rename(old, target)
        except OSError:
            continue
        fsync_folder(target.parent)
        return True
    return False


def remove_stale_temporaries(target: Path) -> list[Path]:
    """Remove the temporaries of ``target`` left by processes of this host that are gone.

    Where the two-rename fallback of :func:`replace_folder` was killed between its
    renames, ``target`` is missing and the previous version waits as an ``old``
    temporary: it is put back at ``target`` first, never removed.

    Parameters
    ----------
    target : pathlib.Path

    Returns
    -------
    list of pathlib.Path
        What was removed.
    """
    recover_interrupted(target)
    stale = _stale(target)
    removed = []
    for _, path in stale:
        with contextlib.suppress(OSError):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
    return removed


def fsync_folder(folder: Path) -> None:
    """Flush a folder's entries (a rename into it) to disk, where the OS allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # Windows cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "wb") -> Iterator:
    """Open a temporary file that replaces ``path`` when the block ends without error.

    Parameters
    ----------
    path : str or path-like
        The file to write; its folder must exist.
    mode : {"wb", "w"}, default="wb"

    Yields
    ------
    file object
        Write to it; on success it is flushed, ``fsync``-ed and moved over
        ``path`` with :func:`os.replace`; on error it is removed and ``path`` is
        untouched.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklearn_biodiff._atomic import atomic_file
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_file(target, "w") as f:
    ...     _ = f.write("hello")
    >>> target.read_text()
    'hello'
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w', got {mode!r}.")
    target = Path(path)
    remove_stale_temporaries(target)
    tmp = temporary_name(target)
    f = open(tmp, "x" + mode[1:], **({} if "b" in mode else {"encoding": "utf-8"}))
    try:
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        _copy_mode(target, tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_folder(target.parent)


def _copy_mode(target: Path, tmp: Path) -> None:
    """Give the new file the old one's permissions (or the umask's, for a new file)."""
    try:
        mode = target.stat().st_mode & 0o777 if target.is_file() and not target.is_symlink() \
            else 0o666 & ~current_umask()
        os.chmod(tmp, mode)
    except OSError:
        pass


def current_umask() -> int:
    """The process's umask, read without changing it where the OS allows it."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore at once
    os.umask(mask)
    return mask


def _exchange(a: Path, b: Path) -> bool:
    """Swap the names ``a`` and ``b`` in one step (Linux); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def replace_folder(new: Path, target: Path) -> None:
    """Put the fully written folder ``new`` at ``target``, removing what was there.

    Parameters
    ----------
    new : pathlib.Path
        A sibling of ``target`` (same file system), complete and flushed.
    target : pathlib.Path
        Missing, a folder, or a symbolic link (replaced, not followed).
    """
    if not os.path.lexists(target):
        os.rename(new, target)
        fsync_folder(target.parent)
        return
    if _exchange(new, target):  # now ``new`` names the old folder
        fsync_folder(target.parent)
        old = new
    else:  # a kill between the renames leaves ``old``: remove_stale_temporaries restores it
        old = temporary_name(target, "old")
        os.rename(target, old)
        os.rename(new, target)
        fsync_folder(target.parent)
    if old.is_dir() and not old.is_symlink():
        shutil.rmtree(old, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            old.unlink()
