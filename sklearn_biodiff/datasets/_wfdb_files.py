"""Which records a WFDB database holds and what their headers say.

Finds the records (a RECORDS file, nested RECORDS folders, or every header under a
folder or archive, without the segments of multi-segment records), reads each
header once (rate, length, lead names, signal files checked against the length),
matches the requested leads by name and finds each record's patient group.
Problems with one record are raised as :class:`_RecordProblem`, which the loader
raises or skips according to ``on_error``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatch
from numbers import Integral
from pathlib import Path

import numpy as np

from ._archive import _is_archive, unpack_archive_once

#: bytes per sample of the WFDB signal formats whose file size is fixed
_BYTES_PER_SAMPLE = {"8": 1, "16": 2, "24": 3, "32": 4, "61": 2, "80": 1, "160": 2,
                     "212": 1.5, "310": 4 / 3, "311": 4 / 3}

#: samples (all signals of a file together) one byte of a file in a compressed format
#: (FLAC: 508, 516, 524) may claim; real ECG compresses 2-4x, a flat line far more
_MAX_SAMPLES_PER_COMPRESSED_BYTE = 4096

#: a header comment that names the patient, e.g. "# patient: 17" or "# subject_id=4"
_PATIENT_RE = re.compile(r"^\s*(?:patient|subject)(?:[ _-]?id)?\s*[:=]\s*(\S+)", re.I)


class _RecordProblem(Exception):
    """A record that cannot be used; raised or skipped according to ``on_error``."""

    def __init__(self, record: str, message: str, kind: type = ValueError):
        super().__init__(message)
        self.record, self.message, self.kind = record, message, kind


@dataclass
class _Record:
    name: str
    path: str  # without extension
    header: object
    fs: float
    sig_len: int
    sig_names: list
    channels: list = field(default_factory=list)
    group: object = None
    group_source: str = ""
    starts: np.ndarray = None  # kept window starts, samples of the record
    labels: list = None


# ---------------------------------------------------------------- where the records are
def _check_record_names(names: list[str], source: str, hint: str = "") -> list[str]:
    """``names`` when there is at least one and none twice, else a ValueError.

    ``source`` names where they were listed (a RECORDS file, ``records``);
    ``hint`` ends the message about an empty list.
    """
    if not names:
        raise ValueError(f"{source} lists no record; expected one record name per line"
                         f"{hint}.")
    dup = [n for n, c in Counter(names).items() if c > 1]
    if dup:
        raise ValueError(
            f"{source} lists {len(dup)} record(s) more than once, first: {dup[:5]}; each "
            "record must appear once (a repeated record would be loaded twice, and with "
            "two groups ids could sit in both a training and a test fold).")
    return names


def _find_root(path: Path) -> Path:
    """The folder with RECORDS (``path`` or one sub-folder up to depth 2), else ``path``."""
    if (path / "RECORDS").is_file() or any(path.glob("*.hea")):
        return path
    for pattern in ("*/RECORDS", "*/*/RECORDS"):
        cands = sorted(p.parent for p in path.glob(pattern))
        if len(cands) == 1:
            return cands[0]
    return path


def _resolve_root(path, data_home, caps: dict) -> tuple[Path, str]:
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"WFDB database not found at {path}.")
    if path.is_file():
        if not _is_archive(path):
            raise ValueError(
                f"{path} is neither a folder nor a .zip/.tar.* archive; pass the folder "
                "that holds the records (.hea files, usually with a RECORDS file)."
            )
        unpacked = unpack_archive_once(path, "wfdb", data_home=data_home, **caps)
        return _find_root(unpacked), f"{path} (unpacked to {unpacked})"
    return _find_root(path), str(path)


def _read_records_file(root: Path, prefix: str = "", depth: int = 0) -> list[str]:
    """Names in RECORDS; an entry ending in '/' is a folder with its own RECORDS."""
    names = []
    for line in (root / prefix / "RECORDS").read_text().split():
        if line.endswith("/") and depth < 3:
            sub = prefix + line
            if (root / sub / "RECORDS").is_file():
                names.extend(_read_records_file(root, sub, depth + 1))
        else:
            names.append(prefix + line)
    return names


def _list_records(root: Path, records) -> tuple[list[str], bool]:
    """Record names relative to ``root`` and whether they came from a glob of headers."""
    if records is not None and not isinstance(records, str):
        names = [str(r) for r in records]
        if not names:
            raise ValueError("records is empty; pass record names or None.")
        return _check_record_names(names, "records"), False
    globbed = not (root / "RECORDS").is_file()
    if globbed:
        names = sorted(p.relative_to(root).with_suffix("").as_posix()
                       for p in root.rglob("*.hea"))
    else:
        names = _check_record_names(
            _read_records_file(root), str(root / "RECORDS"),
            " (remove the empty file to read every .hea header under the folder)")
    if not names:
        raise FileNotFoundError(
            f"no WFDB records in {root}: no RECORDS file and no .hea header files."
        )
    if isinstance(records, str):
        matched = [n for n in names if fnmatch(n, records)]
        if not matched:
            raise ValueError(
                f"records={records!r} matches no record of {root}; its records are "
                f"named like {names[:5]}."
            )
        names = matched
    return names, globbed


# ---------------------------------------------------------------- headers
def _signal_file_problem(base: Path, h) -> str | None:
    """Why the signal files of the single-segment header ``h`` (its files in ``base``)
    cannot hold the samples it claims.

    Formats of fixed size must hold ``sig_len`` samples of every signal; a compressed
    format may claim at most ``_MAX_SAMPLES_PER_COMPRESSED_BYTE`` samples per byte,
    so a header of a few bytes never drives an allocation larger than the files.
    """
    for fname in dict.fromkeys(h.file_name or []):
        if fname == "~":  # a layout header: no signal file
            continue
        fpath = base / fname
        if not fpath.is_file():
            return f"its signal file {fname} is missing"
        in_file = [i for i, f in enumerate(h.file_name) if f == fname]
        fmt = h.fmt[in_file[0]]
        if not h.sig_len:
            continue
        spf = sum((h.samps_per_frame[i] if h.samps_per_frame else 1) or 1 for i in in_file)
        size = fpath.stat().st_size
        if fmt not in _BYTES_PER_SAMPLE:
            if h.sig_len * spf > _MAX_SAMPLES_PER_COMPRESSED_BYTE * size:
                return (f"its header claims {h.sig_len:,} samples x {spf} signal(s) in "
                        f"{fname} (format {fmt}), far more than its {size:,} bytes can "
                        "hold (field 'sig_len')")
            continue
        offset = (h.byte_offset[in_file[0]] if h.byte_offset else 0) or 0
        need = offset + math.floor(h.sig_len * spf * _BYTES_PER_SAMPLE[fmt])
        if size < need:
            return (f"its signal file {fname} is truncated or corrupted: {size} bytes, "
                    f"the header needs {need}")
    return None


def _rate_problem(fs) -> str | None:
    """Why ``fs`` (a header's sampling rate) cannot be used, or None."""
    try:
        ok = math.isfinite(float(fs)) and float(fs) > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        return (f"its header gives the sampling rate fs={fs!r} (field 'fs'); it must be a "
                "positive finite number of Hz")
    return None


def _header_rate_problem(hea: Path) -> str | None:
    """Why the rate written in the record line of ``hea`` is unusable, or None.

    Read from the text itself: wfdb silently takes its default of 250 Hz when the
    field does not parse (``nan``, ``inf``), shifting the length into its place.
    """
    try:
        with open(hea, "rb") as f:
            head = f.read(1 << 16).decode("latin-1")
    except OSError:
        return None  # reported when wfdb reads it
    for line in head.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        tokens = line.split()
        if len(tokens) < 3:
            return None  # no rate: wfdb's default
        raw = tokens[2].split("/")[0].split("(")[0]
        try:
            value = float(raw)
        except ValueError:
            return _rate_problem(raw)
        return _rate_problem(value)
    return None


def _segments_problem(root: Path, name: str, h) -> str | None:
    """Why the segments of the multi-segment header ``h`` cannot hold its samples."""
    base = (root / name).parent
    segments = getattr(h, "segments", None) or []
    lengths = list(h.seg_len or [])
    if len(lengths) != len(h.seg_name or []):
        return (f"its header lists {len(lengths)} segment length(s) for "
                f"{len(h.seg_name or [])} segment(s)")
    if any(n is None or int(n) < 0 for n in lengths):
        return f"its segment lengths {lengths!r} are not all counts of samples"
    if h.sig_len and sum(int(n) for n in lengths) != h.sig_len:
        return (f"its segment lengths ({sum(int(n) for n in lengths):,} samples in all) do "
                f"not add up to its length (field 'sig_len' = {h.sig_len:,})")
    for seg_name, seg, length in zip(h.seg_name, segments, lengths):
        if seg is None or seg_name == "~" or not int(length):
            continue  # a gap, or the layout header (no samples)
        if seg.sig_len != int(length):
            own = f"{seg.sig_len:,}" if isinstance(seg.sig_len, int) else repr(seg.sig_len)
            return (f"its segment {seg_name} has {own} samples in its own header, "
                    f"{int(length):,} in the record's (field 'seg_len')")
        problem = _rate_problem(seg.fs)
        if problem:
            return f"its segment {seg_name}: {problem}"
        problem = _signal_file_problem(base, seg)
        if problem:
            return f"its segment {seg_name}: {problem}"
    return None


def _outside_problem(name: str) -> str | None:
    """Why a record name from RECORDS or ``records=`` leaves the database folder."""
    parts = Path(name).parts
    if Path(name).is_absolute() or name.startswith(("/", "\\", "~")) or ".." in parts or (
            len(name) > 1 and name[1] == ":"):
        return (f"record {name}: its name leads outside the database folder; record names "
                "are paths relative to the folder that holds RECORDS")
    return None


def _read_header(root: Path, name: str) -> _Record:
    import wfdb

    outside = _outside_problem(name)
    if outside:
        raise _RecordProblem(name, outside)
    path = str(root / name)
    if not Path(path + ".hea").is_file():
        raise _RecordProblem(name, f"record {name}: header file {name}.hea is missing",
                             FileNotFoundError)
    problem = _header_rate_problem(Path(path + ".hea"))
    if problem:
        raise _RecordProblem(name, f"record {name}: {problem}")
    try:
        h = wfdb.rdheader(path)
        if hasattr(h, "seg_name"):  # multi-segment: signal names from its segments
            h = wfdb.rdheader(path, rd_segments=True)
        fs, sig_len, sig_names = h.fs, h.sig_len, list(h.sig_name or [])
    except Exception as exc:  # wfdb raises many types for broken headers
        raise _RecordProblem(
            name, f"record {name}: header {name}.hea could not be read "
                  f"({type(exc).__name__}: {exc})") from exc
    problem = _rate_problem(fs)
    if problem:
        raise _RecordProblem(name, f"record {name}: {problem}")
    fs = float(fs)
    if not sig_names:
        raise _RecordProblem(name, f"record {name}: its header lists no signals")
    if hasattr(h, "seg_name"):
        problem = _segments_problem(root, name, h)
        if problem:
            raise _RecordProblem(name, f"record {name}: {problem}")
    else:
        problem = _signal_file_problem((root / name).parent, h)
        if problem:
            raise _RecordProblem(name, f"record {name}: {problem}")
        if not sig_len:  # header without a length: infer it from the file size
            fmt = h.fmt[0]
            if fmt not in _BYTES_PER_SAMPLE:
                raise _RecordProblem(name, f"record {name}: its header gives no length")
            size = ((root / name).parent / h.file_name[0]).stat().st_size
            per_frame = sum(h.samps_per_frame or [1] * len(sig_names))
            sig_len = int((size - (h.byte_offset[0] or 0)) / (_BYTES_PER_SAMPLE[fmt]
                                                             * per_frame))
    return _Record(name=name, path=path, header=h, fs=fs, sig_len=int(sig_len or 0),
                   sig_names=[str(s).strip() for s in sig_names])


def _shared_signal_files(root: Path, recs: list[_Record]) -> list[_RecordProblem]:
    """One problem per record whose header names a signal file that another record
    reads too (the same file on disk, also through a symbolic link).

    The file belongs to the record it is named after (``100.dat`` to ``100``), else
    to the first record naming it; the others would load its samples a second time.
    """
    claims: dict[Path, list[tuple[_Record, str]]] = {}
    for rec in recs:
        if hasattr(rec.header, "seg_name"):  # multi-segment: files are the segments'
            continue
        base = (root / rec.name).parent
        for fname in dict.fromkeys(rec.header.file_name or []):
            if fname != "~":
                claims.setdefault((base / fname).resolve(), []).append((rec, fname))
    problems: dict[str, _RecordProblem] = {}
    for path, users in claims.items():
        if len(users) < 2:
            continue
        owner = next((r for r, _ in users if Path(r.name).name == path.stem), users[0][0])
        for rec, fname in users:
            if rec is not owner and rec.name not in problems:
                problems[rec.name] = _RecordProblem(
                    rec.name,
                    f"record {rec.name}: its header {Path(rec.name).name}.hea names the "
                    f"signal file {fname}, which is record {owner.name}'s file ({path.name}); "
                    "a header pointing to another record's file would load that record "
                    "twice. Fix or remove the header, or leave the record out (records=)")
    return [problems[r.name] for r in recs if r.name in problems]


def _segment_names(root: Path, names: list[str]) -> set[str]:
    """Names of the segment and layout headers of the multi-segment records in
    ``names`` (read from the top-level headers only, so a record with a missing
    segment still hides its other segments)."""
    import wfdb

    out = set()
    for name in names:
        try:
            h = wfdb.rdheader(str(root / name))
        except Exception:  # reported when the record itself is read
            continue
        parent = Path(name).parent.as_posix()
        for seg in getattr(h, "seg_name", None) or []:
            if seg != "~":
                out.add(seg if parent == "." else f"{parent}/{seg}")
    return out


def _normalise_leads(leads) -> tuple[list | None, bool]:
    """``(wanted leads, one lead asked as a scalar)``."""
    if leads is None:
        return None, False
    if isinstance(leads, str) or (isinstance(leads, Integral) and not isinstance(leads, bool)):
        return [leads if isinstance(leads, str) else int(leads)], True
    if isinstance(leads, Sequence) and leads and all(
            isinstance(x, str) or (isinstance(x, Integral) and not isinstance(x, bool))
            for x in leads):
        if len(set(leads)) != len(leads):
            raise ValueError(f"leads has duplicates: {list(leads)}.")
        return [x if isinstance(x, str) else int(x) for x in leads], False
    raise ValueError(
        f"leads must be None, a lead name (str), a channel position (int) or a "
        f"non-empty list of them, got {leads!r}."
    )


def _match_leads(rec: _Record, wanted: list, common: list) -> list[int]:
    idx = []
    for w in wanted:
        if isinstance(w, str):
            hits = [i for i, s in enumerate(rec.sig_names) if s == w]
            if not hits:
                raise _RecordProblem(
                    rec.name,
                    f"record {rec.name} has no lead {w!r}; its leads are "
                    f"{rec.sig_names}. Pass leads= with names that every record has: "
                    f"{common} here")
            if len(hits) > 1:
                raise _RecordProblem(
                    rec.name, f"record {rec.name} has several leads named {w!r} "
                              f"({rec.sig_names}); pass leads as channel positions (int)")
            idx.append(hits[0])
        else:
            if not 0 <= w < len(rec.sig_names):
                raise _RecordProblem(
                    rec.name, f"record {rec.name} has {len(rec.sig_names)} lead(s) "
                              f"{rec.sig_names}; channel position {w} does not exist")
            idx.append(int(w))
    return idx


def _lead_sets_message(recs: list[_Record]) -> str:
    sets: dict[tuple, list[str]] = {}
    for r in recs:
        sets.setdefault(tuple(r.sig_names), []).append(r.name)
    listing = "; ".join(f"{', '.join(k)}: {len(v)} record(s) (e.g. {v[0]})"
                        for k, v in sorted(sets.items(), key=lambda kv: -len(kv[1])))
    named = Counter(s for r in recs for s in set(r.sig_names)).most_common(1)[0]
    return (
        f"leads=None keeps the leads every record has, but these records share no lead "
        f"name: {listing}. Pass leads= a name ({named[0]!r} is in {named[1]} of "
        f"{len(recs)} records; add on_error='skip' to leave out the others), or a "
        "channel position (leads=0: each record's first channel, whatever its name)."
    )


def _group_of(rec: _Record, groups) -> tuple[object, str]:
    """The patient of a record and where it came from."""
    if groups is None:
        for line in getattr(rec.header, "comments", None) or []:
            m = _PATIENT_RE.match(line)
            if m:
                return m.group(1), "header"
        return rec.name, "record"
    if groups == "record":
        return rec.name, "record"
    if groups == "folder":
        parent = Path(rec.name).parent.as_posix()
        if parent == ".":
            raise ValueError(
                f"groups='folder' but record {rec.name} is not in a sub-folder of the "
                "database; pass a mapping or a callable instead."
            )
        return parent, "folder"
    if isinstance(groups, Mapping):
        if rec.name not in groups:
            raise ValueError(f"groups has no entry for record {rec.name!r}.")
        return groups[rec.name], "given"
    return groups(rec.name, rec.header), "given"
