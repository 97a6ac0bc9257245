"""PhysioNet/Computing in Cardiology Challenge 2017 (AF classification) loaders."""

from __future__ import annotations

import os
import socket
from collections import Counter
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from sklearn.utils import Bunch

from .._validation import SignalList
from ._archive import (
    MAX_BYTES,
    MAX_MEMBERS,
    MAX_RATIO,
    _is_archive,
    get_data_home,
    unpack_archive_once,
)
from ._wfdb_files import _check_record_names

__all__ = ["fetch_physionet2017", "load_physionet2017"]

FS = 300
CLASSES = ("N", "A", "O", "~")
_LABEL_FILES = {"v3": "REFERENCE-v3.csv", "original": "REFERENCE.csv"}
ENV_PATH = "SKLEARN_BIODIFF_CINC2017"

CITATION = (
    "G. D. Clifford, C. Liu, B. Moody, L. H. Lehman, I. Silva, Q. Li, A. E. Johnson, "
    "R. G. Mark. AF Classification from a Short Single Lead ECG Recording: the "
    "PhysioNet/Computing in Cardiology Challenge 2017. Computing in Cardiology 44, "
    "2017. And: A. L. Goldberger et al. PhysioBank, PhysioToolkit, and PhysioNet. "
    "Circulation 101(23):e215-e220, 2000."
)
LICENSE = "Open Data Commons Attribution License v1.0 (ODC-By 1.0)"


def _descr(source: str, target: np.ndarray, labels: str, lengths: np.ndarray) -> str:
    counts = Counter(target.tolist())
    count_txt = ", ".join(f"{c} {counts.get(c, 0)}" for c in CLASSES)
    return f"""PhysioNet/CinC Challenge 2017: AF classification from a short single-lead ECG
==============================================================================

Source: {source}
Labels: {_LABEL_FILES[labels]} ({labels}); {count_txt}.
Records: {len(target)}, single lead (AliveCor, lead I equivalent), {FS} Hz, signals
in mV (float32). Lengths {int(lengths.min())}-{int(lengths.max())} samples
({lengths.min() / FS:.1f}-{lengths.max() / FS:.1f} s), median {int(np.median(lengths))}.

Classes: N normal sinus rhythm, A atrial fibrillation, O other rhythm, ~ too noisy
to classify. There are no patient identifiers; one record is one patient, so
``groups`` equals the record index.

License: {LICENSE}. Cite: {CITATION}
"""


def _find_root(path: Path) -> Path | None:
    """The folder holding RECORDS and the .hea files under ``path`` (depth <= 2)."""
    for cand in (path, path / "training2017", *sorted(path.glob("*/")),
                 *sorted(path.glob("*/*/"))):
        if (cand / "RECORDS").is_file():
            return cand
    return None


def _records_complete(root: Path) -> bool:
    names = (root / "RECORDS").read_text().split()
    return all((root / f"{n}.hea").is_file() and (root / f"{n}.mat").is_file()
               for n in names)


def _resolve_root(path, data_home, caps: dict) -> tuple[Path, str]:
    if path is None:
        path = os.environ.get(ENV_PATH)
        if path is None:
            raise ValueError(
                "No CinC 2017 data given: pass path= (a training2017/ folder, the "
                f"PhysioNet training2017.zip or a .tar.xz of it), or set ${ENV_PATH}."
            )
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"CinC 2017 data not found at {path}.")
    if path.is_file():
        if not _is_archive(path):
            raise ValueError(f"{path} is neither a folder nor a .zip/.tar.* archive.")

        def complete(p):
            root = _find_root(p)
            return root is not None and _records_complete(root)

        unpacked = unpack_archive_once(path, "physionet2017", data_home=data_home,
                                       is_complete=complete, **caps)
        root = _find_root(unpacked)
        source = f"{path} (unpacked to {unpacked})"
    else:
        root = _find_root(path)
        source = str(path)
    if root is None:
        raise FileNotFoundError(
            f"no RECORDS file found in {path}; expected the training2017/ folder of "
            "the PhysioNet/CinC 2017 challenge."
        )
    return root, source


def _read_labels(root: Path, labels: str) -> dict[str, str]:
    fname = root / _LABEL_FILES[labels]
    if not fname.is_file():
        raise FileNotFoundError(f"label file {fname} is missing.")
    out, first_line = {}, {}
    for line_no, line in enumerate(fname.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec, lab = (s.strip() for s in line.split(","))
        except ValueError as exc:
            raise ValueError(f"{fname}:{line_no} is not 'record,label': {line!r}") from exc
        if lab not in CLASSES:
            raise ValueError(f"{fname}:{line_no}: unknown label {lab!r} for {rec}.")
        if rec in out:
            what = ("conflicting labels" if out[rec] != lab else "a duplicated label line")
            raise ValueError(
                f"{fname}:{line_no}: {what} for {rec}: {lab!r} here, {out[rec]!r} at line "
                f"{first_line[rec]}; each record must have exactly one label line.")
        out[rec], first_line[rec] = lab, line_no
    return out


def _read_record_names(root: Path) -> list[str]:
    """Record names of ``root/RECORDS``: at least one, none twice."""
    fname = root / "RECORDS"
    return _check_record_names(fname.read_text().split(), str(fname),
                               " (A00001, A00002, ...)")


def read_wfdb_record(path: str | os.PathLike, expected_fs: float | None = None) -> np.ndarray:
    """Read lead 0 of one WFDB record as float32 in physical units (mV).

    Raises a ``ValueError`` naming the record when a file is missing, truncated
    or unreadable, when its header names a signal file of another name, or when
    its sampling rate differs from ``expected_fs``.
    """
    import wfdb

    path = Path(path)
    try:
        rec = wfdb.rdrecord(str(path), physical=False, return_res=16)
        digital = rec.d_signal[:, 0]
        sig = (digital.astype(np.float32) - np.float32(rec.baseline[0])) / np.float32(
            rec.adc_gain[0]
        )
        n_expected = rec.sig_len
    except Exception as exc:  # wfdb raises many types for broken files
        raise ValueError(f"record {path.name} ({path}) could not be read: {exc}") from exc
    signal_file = Path(rec.file_name[0]).name
    if Path(signal_file).stem != path.name:
        raise ValueError(
            f"record {path.name}: its header {path.name}.hea names the signal file "
            f"{signal_file!r}, not one of its own ({path.name}.mat); a header pointing to "
            "another record's file would load that record twice. Fix or remove the header.")
    if len(sig) != n_expected:
        raise ValueError(
            f"record {path.name} is truncated: {len(sig)} of {n_expected} samples."
        )
    if expected_fs is not None and rec.fs != expected_fs:
        raise ValueError(
            f"record {path.name} is sampled at {rec.fs} Hz, expected {expected_fs} Hz."
        )
    return sig


def _read_chunk(root: str, names: list[str]) -> list[np.ndarray]:
    return [read_wfdb_record(Path(root) / n, expected_fs=FS) for n in names]


def load_physionet2017(
    path=None,
    *,
    labels: str = "v3",
    return_X_y: bool = False,
    n_jobs: int | None = None,
    data_home=None,
    max_bytes: int = MAX_BYTES,
    max_members: int = MAX_MEMBERS,
    max_ratio: float = MAX_RATIO,
):
    """Load the PhysioNet/CinC Challenge 2017 training set (8,528 records).

    Parameters
    ----------
    path : path or None
        A ``training2017/`` folder (or its parent), the PhysioNet
        ``training2017.zip``, or a ``.tar.xz`` of the folder. Archives are unpacked
        once into ``data_home``. ``None`` reads ``$SKLEARN_BIODIFF_CINC2017``.
    labels : {"v3", "original"}, default="v3"
        ``REFERENCE-v3.csv`` (final labels) or ``REFERENCE.csv``.
    return_X_y : bool, default=False
        Return ``(signals, target)`` instead of a Bunch.
    n_jobs : int or None, default=None
        Processes reading records (joblib).
    data_home : path or None
        Cache for unpacked archives: ``$SKLEARN_BIODIFF_DATA`` or
        ``~/.cache/sklearn_biodiff`` by default.
    max_bytes : int, default=2**30
        Cap on the unpacked size in bytes of an archive ``path`` (1 GiB; a
        folder is read as it is).
    max_members : int, default=100_000
        Cap on the number of files and folders in an archive ``path``.
    max_ratio : float, default=100.0
        Cap on the unpacked size as a multiple of the archive's size (a
        decompression bomb expands a thousandfold, ECG data about threefold).

    Returns
    -------
    data : Bunch
        ``signals`` (list of float32 1-D arrays in mV), ``target`` (ndarray of
        str, "N", "A", "O", "~"), ``record_ids``, ``groups`` (patient ids; one
        record per patient), ``fs`` (300), ``DESCR``.
    (signals, target) : tuple if ``return_X_y``

    Raises
    ------
    FileNotFoundError
        When the folder, archive or a listed record file is missing.
    ValueError
        When a record is unreadable or truncated, a record has no label or two,
        ``RECORDS`` is empty or lists a record twice, a header names another
        record's signal file, or an archive is corrupt or exceeds the extraction
        caps (``max_bytes``, ``max_members``, ``max_ratio``).

    Examples
    --------
    >>> from sklearn_biodiff.datasets import load_physionet2017
    >>> data = load_physionet2017()  # $SKLEARN_BIODIFF_CINC2017, or pass the path
    >>> data.fs, sorted(set(data.target.tolist()))
    (300, ['A', 'N', 'O', '~'])
    >>> data.signals[0].dtype, len(data.signals) == len(data.target) == len(data.groups)
    (dtype('float32'), True)
    """
    if labels not in _LABEL_FILES:
        raise ValueError(f"labels must be one of {sorted(_LABEL_FILES)}, got {labels!r}.")
    root, source = _resolve_root(path, data_home, {"max_bytes": max_bytes,
                                                   "max_members": max_members,
                                                   "max_ratio": max_ratio})
    names = _read_record_names(root)
    missing = [n for n in names if not (root / f"{n}.hea").is_file()
               or not (root / f"{n}.mat").is_file()]
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} record(s) listed in {root / 'RECORDS'} have no .hea/.mat "
            f"file, first: {missing[:5]}"
        )
    label_map = _read_labels(root, labels)
    unlabeled = [n for n in names if n not in label_map]
    if unlabeled:
        raise ValueError(
            f"{len(unlabeled)} record(s) have no label in {_LABEL_FILES[labels]}, "
            f"first: {unlabeled[:5]}"
        )
    n_workers = 1 if n_jobs is None else n_jobs
    if n_workers == 1:
        signals = _read_chunk(str(root), names)
    else:
        chunks = np.array_split(np.asarray(names), max(1, 4 * abs(n_workers)))
        parts = Parallel(n_jobs=n_jobs)(
            delayed(_read_chunk)(str(root), list(c)) for c in chunks if len(c)
        )
        signals = [s for part in parts for s in part]
    signals = SignalList(signals, fs=FS)
    target = np.asarray([label_map[n] for n in names])
    record_ids = np.asarray(names)
    if return_X_y:
        return signals, target
    lengths = np.fromiter((len(s) for s in signals), dtype=np.int64)
    return Bunch(
        signals=signals,
        target=target,
        record_ids=record_ids,
        groups=np.arange(len(names)),
        fs=FS,
        target_names=np.asarray(CLASSES),
        DESCR=_descr(source, target, labels, lengths),
    )


def _physionet_reachable(timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection(("physionet.org", 443), timeout=timeout):
            return True
    except OSError:
        return False


def fetch_physionet2017(data_home=None, *, labels: str = "v3", n_jobs=None):
    """Download the challenge training set from PhysioNet (once), then load it.

    Uses :func:`wfdb.dl_database` on ``challenge-2017/1.0.0/training``. Without
    internet access it fails within seconds and says how to use a local copy.

    Parameters
    ----------
    data_home : path or None
        Download folder; see :func:`load_physionet2017`.
    labels, n_jobs
        See :func:`load_physionet2017`.

    Returns
    -------
    data : Bunch
        See :func:`load_physionet2017`.

    Examples
    --------
    >>> from sklearn_biodiff.datasets import fetch_physionet2017
    >>> data = fetch_physionet2017()  # downloads once into $SKLEARN_BIODIFF_DATA
    >>> data.fs, sorted(set(data.target.tolist()))
    (300, ['A', 'N', 'O', '~'])
    """
    home = get_data_home(data_home) / "physionet2017" / "download"
    root = _find_root(home) if home.exists() else None
    if root is None or not _records_complete(root):
        if not _physionet_reachable():
            raise ConnectionError(
                "PhysioNet (physionet.org) cannot be reached from this machine. "
                "Download training2017.zip from "
                "https://physionet.org/content/challenge-2017/1.0.0/ elsewhere and "
                "call load_physionet2017(path='training2017.zip'), or set "
                f"${ENV_PATH} to that file or to the unpacked training2017/ folder."
            )
        import wfdb

        target = home / "training2017"
        target.mkdir(parents=True, exist_ok=True)
        wfdb.dl_database("challenge-2017/1.0.0/training", str(target), keep_subdirs=False)
        for extra in ("RECORDS", "REFERENCE-v3.csv", "REFERENCE.csv"):
            if not (target / extra).exists():
                wfdb.dl_files("challenge-2017/1.0.0/training", str(target), [extra])
    return load_physionet2017(home, labels=labels, n_jobs=n_jobs, data_home=data_home)
