"""Any WFDB database as labelled windows with patient groups.

One pass over the headers (rates, leads, lengths, groups), one over the
annotation files (a label or a drop reason per candidate window), then the
signals of the kept windows only, read in bounded chunks with ``sampfrom`` /
``sampto`` and resampled chunk by chunk with the project's resampler, straight
into one preallocated float32 array.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from numbers import Real
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from .._validation import with_fs
from ..preprocessing._resample import resample_ratio, resample_signal
from ._annotations import LABEL_MODES, RHYTHM_NAMES, label_windows, read_annotations
from ._archive import MAX_BYTES, MAX_MEMBERS, MAX_RATIO
from ._wfdb_files import (
    _group_of,
    _lead_sets_message,
    _list_records,
    _match_leads,
    _normalise_leads,
    _read_header,
    _Record,
    _RecordProblem,
    _resolve_root,
    _segment_names,
    _shared_signal_files,
)

__all__ = ["load_wfdb_database"]

#: samples x leads read by one ``wfdb.rdrecord`` call (8 MB of float64)
_CHUNK_VALUES = 1 << 20

#: the largest up- or down-sampling factor between a record's rate and ``fs``
_MAX_RESAMPLE_FACTOR = 1000
#: the largest ``up`` or ``down`` of the polyphase filter (its taps grow with them; the
#: denominator is already capped at 1000 by ``resample_ratio``)
_MAX_POLYPHASE = 10**6

_INVALID = "holds invalid samples (NaN: a signal gap)"
_SKIP_HINT = (" To leave such records out instead, pass on_error='skip' (they are then "
              "reported in DESCR and .skipped).")


# ---------------------------------------------------------------- bounds
def _physical_memory() -> int | None:
    """Bytes of RAM of this machine, or None where the OS does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _check_allocation(n_windows: int, n_leads: int, w_out: int, fs: float,
                      window_s: float) -> None:
    """A ValueError, before any array is made, when the windows cannot fit in memory."""
    need = n_windows * n_leads * w_out * 4
    ram = _physical_memory()
    if ram is not None and need > ram:
        raise ValueError(
            f"the windows would take {need / 2**30:,.1f} GiB ({n_windows:,} window(s) x "
            f"{n_leads} lead(s) x {w_out:,} samples: window_s={window_s:g} s at "
            f"fs={fs:g} Hz, float32), more than this machine's {ram / 2**30:,.1f} GiB of "
            "memory. Lower fs or window_s, raise step_s, or load fewer records (records=).")


def _rate_problem(rec: _Record, fs: float, window_s: float, step_s: float) -> str | None:
    """Why ``rec`` cannot be cut into windows at ``fs`` Hz, or None."""
    if window_s * rec.fs < 1 or step_s * rec.fs < 1:
        return (f"record {rec.name}: at its rate of {rec.fs:g} Hz window_s={window_s:g} s "
                f"and step_s={step_s:g} s must each hold at least one sample")
    if not np.isclose(rec.fs, fs):
        factor = max(fs / rec.fs, rec.fs / fs)
        up, down = resample_ratio(rec.fs, fs)
        if factor > _MAX_RESAMPLE_FACTOR or max(up, down) > _MAX_POLYPHASE:
            return (f"record {rec.name}: its rate of {rec.fs:g} Hz cannot be resampled to "
                    f"fs={fs:g} Hz (a factor of {factor:,.4g}, beyond "
                    f"{_MAX_RESAMPLE_FACTOR}); pass an fs= close to the records' rates")
    return None


# ---------------------------------------------------------------- signals
def _window_starts(rec: _Record, w_nat: int, s_nat: int, fs: float, w_out: int):
    """Starts (samples of the record) of the windows that fit in the record."""
    if rec.sig_len < w_nat:
        return np.zeros(0, dtype=np.int64)
    starts = np.arange(0, rec.sig_len - w_nat + 1, s_nat, dtype=np.int64)
    if not np.isclose(rec.fs, fs):  # the resampled cut must fit too
        up, down = resample_ratio(rec.fs, fs)
        n_out = -(-rec.sig_len * up // down)
        starts = starts[(2 * starts * up + down) // (2 * down) + w_out <= n_out]
    return starts


def _read_windows(rec: _Record, starts, w_nat: int, fs: float, w_out: int, out: np.ndarray,
                  cursor: int, chunk_values: int) -> tuple[int, np.ndarray]:
    """Write the windows of one record into ``out[cursor:]``; return the new cursor
    and which windows were written (the others hold NaN: a signal gap)."""
    import wfdb

    same = bool(np.isclose(rec.fs, fs))
    up, down = (1, 1) if same else resample_ratio(rec.fs, fs)
    # input samples the polyphase filter reaches on each side (scipy: 10 * max(up, down)
    # taps of the upsampled signal), so chunk edges match a whole-record resampling
    pad = 0 if same else -(-10 * max(up, down) // up) + 1
    max_span = max(chunk_values // len(rec.channels), w_nat + 2 * pad + down)
    written = np.zeros(len(starts), dtype=bool)
    i = 0
    while i < len(starts):
        j = i + 1
        while (j < len(starts) and starts[j] + w_nat + 2 * pad + down - starts[i] <= max_span
               and starts[j] - starts[j - 1] <= 2 * w_nat):  # no long gap read for nothing
            j += 1
        a = max(0, (int(starts[i]) - pad) // down * down)  # on the resampled grid
        b = min(rec.sig_len, int(starts[j - 1]) + w_nat + pad)
        try:
            x = wfdb.rdrecord(rec.path, sampfrom=a, sampto=b, channels=rec.channels,
                              physical=True).p_signal
        except Exception as exc:  # truncated or corrupted signal files
            raise _RecordProblem(
                rec.name, f"record {rec.name}: samples {a}-{b} could not be read "
                          f"({type(exc).__name__}: {exc})") from exc
        if x is None or x.shape != (b - a, len(rec.channels)):
            raise _RecordProblem(
                rec.name, f"record {rec.name}: samples {a}-{b} could not be read (got "
                          f"shape {None if x is None else x.shape})")
        y = x if same else resample_signal(x, rec.fs, fs, axis=0)
        first = a * up // down
        for k in range(i, j):
            lo = (2 * int(starts[k]) * up + down) // (2 * down) - first
            win = y[lo:lo + w_out]
            if win.shape[0] == w_out and np.isfinite(win).all():
                out[cursor] = win.T
                cursor += 1
                written[k] = True
        i = j
    return cursor, written


def _missing_annotation(rec: _Record, annotator: str) -> str:
    """Say which other files could be the annotations, and how to read none."""
    path = Path(rec.path)
    signal_files = set(getattr(rec.header, "file_name", None) or [])
    others = sorted(p.name[len(path.name) + 1:] for p in path.parent.glob(path.name + ".*")
                    if p.suffix not in (".hea", ".dat", ".mat") and p.name not in signal_files)
    found = (f"; its other files have the extensions {others} (pass one as annotator=)"
             if others else "")
    return (f"record {rec.name}: annotation file {rec.name}.{annotator} is missing"
            f"{found}; annotator=None loads unlabelled windows")


# ---------------------------------------------------------------- description
def _descr(*, source, n_listed, recs, skipped, lead_names, by_position, fs, rates, window_s, step_s,
           annotator, label, n_candidates, n_kept, n_short, drops, target, unknown_labels,
           unknown_symbols, group_sources, n_groups, past_end=None) -> str:
    lines = [
        "WFDB database windows",
        "=====================",
        "",
        f"Source: {source}",
        f"Records: {n_listed} listed, {len(recs)} read, {len(skipped)} skipped.",
    ]
    lines.extend(f"  skipped {why}" for why in skipped.values())
    rate_txt = ", ".join(f"{c} at {r:g} Hz" for r, c in sorted(rates.items()))
    lines += [f"Leads: {lead_names}."]
    if by_position:
        lines.append("  (chosen by channel position; the names of the first record. Leads "
                     "of the records: " + "; ".join(
                         f"{', '.join(k)}: {v}" for k, v in sorted(by_position.items())) + ")")
    lines += [
        f"Sampling rate: {fs:g} Hz; records: {rate_txt}."
        + ("" if set(rates) <= {fs} else " Records at other rates are resampled to it, "
           "chunk by chunk, with sklearn_biodiff.preprocessing.resample_signal."),
        f"Windows: {window_s:g} s, step {step_s:g} s; {n_candidates} candidate window(s), "
        f"{n_kept} kept, {n_candidates - n_kept} dropped.",
    ]
    if n_short:
        lines.append(f"  {n_short} record(s) shorter than one window gave no window.")
    for why, n in drops.items():
        if n:
            lines.append(f"  dropped {n}: {why}")
    if annotator is None:
        lines.append("Labels: none (annotator=None): target is None.")
    else:
        lines.append(f"Labels: {LABEL_MODES[label]}, from the '{annotator}' annotation "
                     "files.")
        for lab, n in sorted(Counter(target.tolist()).items()):
            meaning = RHYTHM_NAMES.get(lab, "") if label == "rhythm" else ""
            lines.append(f"  {lab}: {n}" + (f" ({meaning})" if meaning else ""))
        if unknown_labels:
            lines.append("Unknown rhythm codes (kept as their text): " + ", ".join(
                f"{k} {v} window(s)" for k, v in sorted(unknown_labels.items())))
        if past_end:
            lines.append(
                f"Annotations past the end of their record (ignored): "
                f"{sum(past_end.values())} in {len(past_end)} record(s), e.g. "
                + ", ".join(f"{k} ({v})" for k, v in list(past_end.items())[:3]) + ".")
        if unknown_symbols:
            lines.append("Annotation symbols wfdb does not know (not treated as beats): "
                         + ", ".join(f"{k!r} {v}" for k, v in sorted(unknown_symbols.items())))
    src = ", ".join(f"{k}: {v} record(s)" for k, v in sorted(group_sources.items()))
    lines += [
        f"Groups: {n_groups} (source of each record's group: {src}). PhysioNet headers",
        "rarely name the patient: unless a header comment does ('patient: ...'), a record",
        "is one group. Pass groups= (a mapping, a callable or 'folder') when several",
        "records belong to one patient.",
        "",
        "Cite the database as its PhysioNet page asks, and PhysioNet: Goldberger et al.,",
        "Circulation 101(23):e215-e220, 2000.",
    ]
    return "\n".join(lines) + "\n"


def _no_windows_error(n_candidates, drops, recs, skipped, label, annotator, any_rhythm):
    if not recs:
        why = "; ".join(list(skipped.values())[:3])
        return ValueError(f"no record could be used: all {len(skipped)} were skipped "
                          f"({why}).")
    detail = ", ".join(f"{n} {why}" for why, n in drops.items() if n) or "none"
    msg = (f"no windows left: {n_candidates} candidate window(s) from {len(recs)} "
           f"record(s), all dropped (dropped: {detail}).")
    if n_candidates == 0:
        msg += " Every record is shorter than window_s; pass a shorter window_s."
    elif label == "rhythm" and not any_rhythm:
        msg += (f" The '{annotator}' files hold no rhythm annotations ('+' with an "
                "aux_note such as '(AFIB'); use label='beat_majority' or "
                "'beat_any_abnormal', or annotator=None for unlabelled windows.")
    else:
        msg += " Use a shorter window_s, another label mode, or annotator=None."
    return ValueError(msg)


# ---------------------------------------------------------------- the loader
def _check_args(window_s, step_s, fs, label, annotator, on_error, groups):
    for name, value in (("window_s", window_s), ("step_s", step_s), ("fs", fs)):
        if value is None and name != "window_s":
            continue
        if isinstance(value, bool) or not isinstance(value, Real) or not (
                np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number of "
                             f"{'Hz' if name == 'fs' else 'seconds'}, got {value!r}.")
    if label not in LABEL_MODES:
        raise ValueError(f"label must be one of {sorted(LABEL_MODES)}, got {label!r}.")
    if annotator is not None and not (isinstance(annotator, str) and annotator):
        raise ValueError(f"annotator must be an annotation file extension such as 'atr', "
                         f"or None for unlabelled windows, got {annotator!r}.")
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}.")
    if not (groups is None or groups in ("record", "folder") or isinstance(groups, Mapping)
            or callable(groups)):
        raise ValueError("groups must be None, 'record', 'folder', a mapping record -> "
                         f"group or a callable(record_name, header), got {groups!r}.")


def load_wfdb_database(
    path: str | os.PathLike,
    *,
    annotator: str | None = "atr",
    label: str = "rhythm",
    window_s: float = 10.0,
    step_s: float | None = None,
    leads: str | int | Sequence[str | int] | None = None,
    fs: float | None = None,
    records: str | Sequence[str] | None = None,
    groups: str | Mapping | Callable | None = None,
    on_error: str = "raise",
    return_X_y: bool = False,
    data_home: str | os.PathLike | None = None,
    max_bytes: int = MAX_BYTES,
    max_members: int = MAX_MEMBERS,
    max_ratio: float = MAX_RATIO,
):
    """Cut any WFDB database into labelled, fixed-length windows with patient groups.

    Reads a PhysioNet-style database (MIT-BIH Arrhythmia, Long-Term AF, the Noise
    Stress Test records, Holter recordings, ...) from a folder or an archive. Each
    record is cut into windows of ``window_s`` seconds every ``step_s`` seconds;
    each window gets the label of its annotations (or none), the leads asked for,
    resampled to ``fs``. Only the kept windows are read, a bounded chunk at a time
    (about 8 MB of samples per read), so a 24-hour Holter record never sits in
    memory whole: memory is that of the returned windows plus a few chunks.

    Parameters
    ----------
    path : path
        A folder with the records (``.hea`` headers and signal files, usually a
        ``RECORDS`` file listing them; the folder may also be one or two levels
        up), or a ``.zip`` / ``.tar.*`` archive of it, unpacked once into
        ``data_home/wfdb/<sha256 prefix of the archive>``.
    annotator : str or None, default="atr"
        Extension of the annotation files (``"atr"`` for reference annotations).
        ``None`` reads no annotations: unlabelled windows and ``target=None``.
    label : {"rhythm", "beat_majority", "beat_any_abnormal"}, default="rhythm"
        ``"rhythm"``: the rhythm in force over the whole window, from the
        ``aux_note`` of rhythm-change (``'+'``) annotations, e.g. ``(AFIB`` gives
        ``"AFIB"``; the rhythm at a window's start is that of the last ``'+'`` at
        or before it; windows that straddle a change, or start where no rhythm
        is annotated yet, are dropped and counted in ``DESCR``.
        ``"beat_majority"``: the most frequent beat symbol in the window (ties go
        to the symbol seen first). ``"beat_any_abnormal"``: ``"abnormal"`` when a
        beat outside the AAMI normal class (``N``, ``L``, ``R``, ``e``, ``j``)
        falls in the window, else ``"normal"``. Beats are the symbols wfdb's label
        table marks as QRS (``'+'``, ``'~'``, ``'|'``, ``'"'``... are not beats);
        windows without a beat are dropped and counted.
    window_s : float, default=10.0
        Window length in seconds.
    step_s : float or None, default=None
        Hop between window starts in seconds; ``None`` is ``window_s`` (no
        overlap). A record's tail shorter than a window is left out.
    leads : str, int, list of str or int, or None, default=None
        Leads to keep, by name as in the headers (``"MLII"``, ``["MLII", "V1"]``)
        or by channel position. Names are matched per record, so records that
        store leads in another order line up. A single name or position (not a
        list) gives 2-D ``signals``. ``None``: the leads every record has, in the
        order of the first record (all of them by position when the first
        record's names repeat); an error lists the lead sets when records share
        none (as in MIT-BIH, where two records lack MLII).
    fs : float or None, default=None
        Sampling rate of the output in Hz; records at another rate are resampled
        (:func:`~sklearn_biodiff.preprocessing.resample_signal`, chunk by chunk,
        equal to resampling whole records). ``None``: the rate of the first record.
    records : str, list of str or None, default=None
        Records to read: ``None`` for all (the ``RECORDS`` file, else every header
        under ``path``), a list of names, or a glob pattern on the names
        (``"1*"``).
    groups : None, "record", "folder", mapping or callable, default=None
        Patient of each record. ``None``: the patient named by a header comment
        (``# patient: 17``, ``# subject_id=4``) where there is one, else the
        record name. PhysioNet headers rarely name the patient, so for databases
        with several records per patient pass ``"folder"`` (records stored in one
        folder per patient, as in the PTB database), a mapping ``record name ->
        patient`` or ``callable(record_name, header) -> patient``.
    on_error : {"raise", "skip"}, default="raise"
        What to do with a record that cannot be used (corrupted or missing
        header, signal or annotation file, a requested lead missing): raise an
        error naming the record, or skip it with a warning; skipped records and
        why are listed in ``DESCR`` and ``skipped``.
    return_X_y : bool, default=False
        Return ``(signals, target)`` instead of a Bunch.
    data_home : path or None, default=None
        Cache for unpacked archives: ``$SKLEARN_BIODIFF_DATA`` or
        ``~/.cache/sklearn_biodiff``.
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
        signals : ndarray of shape (n_windows, n_leads, n_times), float32
            The windows in physical units (mV for ECG); ``(n_windows, n_times)``
            when ``leads`` is one name or position. An array subclass that
            carries the rate (``signals.fs``), so an estimator built for
            another rate raises instead of computing wrong features.
        target : ndarray of str of shape (n_windows,) or None
            The label of each window; ``None`` when ``annotator=None``.
        groups : ndarray of shape (n_windows,)
            The patient (see ``groups``) of each window, for grouped CV.
        record : ndarray of str of shape (n_windows,)
            The record of each window.
        start : ndarray of int of shape (n_windows,)
            First sample of each window, in samples of its record (at the
            record's own rate, as in its annotation files).
        fs : float
            Sampling rate of ``signals``.
        lead_names : list of str
            The leads of ``signals``, in order.
        target_names : ndarray of str
            The distinct labels, sorted (empty without annotations).
        skipped : dict
            ``record name -> reason`` of the records left out by
            ``on_error="skip"``.
        DESCR : str
            What was read, resampled, dropped and why.
    (signals, target) : tuple if ``return_X_y``

    Raises
    ------
    FileNotFoundError
        When ``path`` or a record's header or annotation file is missing.
    ValueError
        When a record cannot be read (the error names it), a requested lead is
        missing from a record, no window is left, or an argument is invalid;
        when ``RECORDS`` (or ``records``) is empty or names a record twice, or
        a header names a signal file that another record reads too; when an
        archive is corrupt or exceeds the extraction caps (``max_bytes``,
        ``max_members``, ``max_ratio``).

    See Also
    --------
    sklearn_biodiff.preprocessing.segment_records : Windows of signals in memory.
    sklearn_biodiff.model_selection.make_grouped_cv : Patient-grouped CV splits.

    Examples
    --------
    A one-minute, two-lead record with atrial fibrillation from 30 s:

    >>> import tempfile
    >>> import numpy as np
    >>> import wfdb
    >>> from sklearn_biodiff.datasets import load_wfdb_database
    >>> folder = tempfile.mkdtemp()
    >>> t = np.arange(15000) / 250
    >>> wfdb.wrsamp("100", fs=250, units=["mV", "mV"], sig_name=["MLII", "V1"],
    ...             p_signal=np.stack([np.sin(t), np.cos(t)], 1), fmt=["16", "16"],
    ...             write_dir=folder)
    >>> wfdb.wrann("100", "atr", np.array([0, 7500]), symbol=["+", "+"],
    ...            aux_note=["(N", "(AFIB"], write_dir=folder)
    >>> data = load_wfdb_database(folder, leads="MLII", fs=125)
    >>> data.signals.shape, data.target.tolist()
    ((6, 1250), ['N', 'N', 'N', 'AFIB', 'AFIB', 'AFIB'])
    >>> data.groups.tolist(), data.start.tolist()
    (['100', '100', '100', '100', '100', '100'], [0, 2500, 5000, 7500, 10000, 12500])
    >>> import shutil; shutil.rmtree(folder)

    A PhysioNet database downloaded with ``wfdb.dl_database``, e.g. the MIT-BIH
    Arrhythmia Database, loads the same way:
    ``load_wfdb_database("mitdb/", leads="MLII", on_error="skip")`` skips (and
    counts in ``data.skipped``) the two records that have no MLII lead.
    """
    _check_args(window_s, step_s, fs, label, annotator, on_error, groups)
    step_s = window_s if step_s is None else step_s
    wanted, scalar_lead = _normalise_leads(leads)
    root, source = _resolve_root(path, data_home, {"max_bytes": max_bytes,
                                                   "max_members": max_members,
                                                   "max_ratio": max_ratio})
    names, globbed = _list_records(root, records)
    run = _Loading(root=root, annotator=annotator, label=label, window_s=window_s,
                   step_s=step_s, on_error=on_error)
    recs = run.read_headers(names, globbed)                       # 1. headers
    wanted, lead_names, common = _choose_leads(recs, wanted)
    fs_out = float(fs) if fs is not None else recs[0].fs
    w_out = max(1, round(window_s * fs_out))
    _check_allocation(1, len(wanted), w_out, fs_out, window_s)
    recs = run.match_records(recs, wanted, common, fs_out, groups)
    recs = run.label_candidates(recs, fs_out, w_out)              # 2. annotations
    out, cols = run.read_signals(recs, len(wanted), fs_out, w_out)  # 3. signals
    signals = with_fs(out[:, 0, :] if scalar_lead else out, fs_out)
    target = None if annotator is None else np.asarray(cols["target"])
    if run.skipped:
        warnings.warn(
            f"{len(run.skipped)} record(s) skipped (on_error='skip'), e.g. "
            f"{next(iter(run.skipped.values()))}; see DESCR and .skipped.",
            UserWarning, stacklevel=2)
    if run.past_end:
        warnings.warn(
            f"{sum(run.past_end.values())} annotation(s) in {len(run.past_end)} record(s) "
            f"lie past the end of their record and were ignored, e.g. "
            f"{next(iter(run.past_end))} ({next(iter(run.past_end.values()))}); the "
            "annotation file may belong to a longer version of the record. See DESCR.",
            UserWarning, stacklevel=2)
    if return_X_y:
        return signals, target
    kept = [r for r in recs if r.name not in run.skipped]
    return Bunch(
        signals=signals,
        target=target,
        groups=np.asarray(cols["group"]),
        record=np.concatenate(cols["record"]).astype(str),
        start=np.concatenate(cols["start"]),
        fs=fs_out,
        lead_names=lead_names,
        target_names=np.asarray([]) if target is None else np.unique(target),
        skipped=run.skipped,
        DESCR=run.describe(source, kept, wanted, lead_names, fs_out, len(out), target,
                           cols["group"]),
    )


def _choose_leads(recs: list[_Record], wanted) -> tuple[list, list[str], list[str]]:
    """``(wanted leads, their names, the lead names every record has)``; ``wanted=None``
    takes the common names (or, when the first record's names are not unique, every
    channel by position)."""
    common = [s for s in recs[0].sig_names if all(s in r.sig_names for r in recs)]
    if wanted is None:
        first = recs[0].sig_names
        if len(set(first)) != len(first):  # unnamed or duplicate names: by position
            wanted = list(range(len(first)))
        elif common:
            wanted = common
        else:
            raise ValueError(_lead_sets_message(recs))
    lead_names = [w if isinstance(w, str) else recs[0].sig_names[w]
                  if w < len(recs[0].sig_names) else str(w) for w in wanted]
    return wanted, lead_names, common


class _Loading:
    """One ``load_wfdb_database`` call, step by step: headers, the records that fit,
    the labelled candidate windows, the signals; with what was skipped, dropped and
    counted on the way (for ``DESCR``)."""

    def __init__(self, *, root: Path, annotator, label: str, window_s: float,
                 step_s: float, on_error: str):
        self.root, self.annotator, self.label = root, annotator, label
        self.window_s, self.step_s, self.on_error = window_s, step_s, on_error
        self.skipped: dict[str, str] = {}
        self.drops: Counter = Counter()
        self.unknown_symbols: Counter = Counter()
        self.past_end: dict[str, int] = {}  # record -> annotations after its last sample
        self.n_listed = self.n_candidates = self.n_short = 0
        self.any_rhythm = False

    def handle(self, problem: _RecordProblem) -> None:
        """Raise a record's problem, or skip the record and remember why."""
        if self.on_error == "raise":
            raise problem.kind(problem.message + "." + _SKIP_HINT) from problem.__cause__
        self.skipped[problem.record] = problem.message

    def read_headers(self, names: list[str], globbed: bool) -> list[_Record]:
        """The records whose header (and signal files) can be used."""
        if globbed:  # segment and layout headers of multi-segment records are not records
            segs = _segment_names(self.root, names)
            names = [n for n in names if n not in segs]
        recs = []
        for name in names:
            try:
                recs.append(_read_header(self.root, name))
            except _RecordProblem as problem:
                self.handle(problem)
        for problem in _shared_signal_files(self.root, recs):
            self.handle(problem)
        recs = [r for r in recs if r.name not in self.skipped]
        self.n_listed = len(recs) + len(self.skipped)
        if not recs:
            raise _no_windows_error(0, {}, recs, self.skipped, self.label, self.annotator,
                                    False)
        return recs

    def match_records(self, recs: list[_Record], wanted: list, common: list, fs_out: float,
                      groups) -> list[_Record]:
        """The records with the wanted leads and a usable rate, with their group."""
        usable = []
        for rec in recs:
            try:
                rec.channels = _match_leads(rec, wanted, common)
                problem = _rate_problem(rec, fs_out, self.window_s, self.step_s)
                if problem:
                    raise _RecordProblem(rec.name, problem)
            except _RecordProblem as problem:
                self.handle(problem)
                continue
            rec.group, rec.group_source = _group_of(rec, groups)
            usable.append(rec)
        return usable

    def label_candidates(self, recs: list[_Record], fs_out: float,
                         w_out: int) -> list[_Record]:
        """Each record's candidate windows, kept with their label (or all, unlabelled);
        the drop reasons counted."""
        usable = []
        for rec in recs:
            w_nat = max(1, round(self.window_s * rec.fs))
            starts = _window_starts(rec, w_nat, max(1, round(self.step_s * rec.fs)), fs_out,
                                    w_out)
            self.n_short += len(starts) == 0
            self.n_candidates += len(starts)
            if self.annotator is None:
                rec.starts, rec.labels = starts, None
                usable.append(rec)
                continue
            ann = self._annotations(rec)
            if ann is None:
                continue
            labels, reasons = label_windows(starts, w_nat, ann, self.label)
            self.drops.update(r for r in reasons if r is not None)
            keep = np.fromiter((lab is not None for lab in labels), dtype=bool,
                               count=len(labels))
            rec.starts = starts[keep]
            rec.labels = [lab for lab in labels if lab is not None]
            usable.append(rec)
        return usable

    def _annotations(self, rec: _Record):
        """``rec``'s annotations, counted into the run's totals; None when skipped."""
        annotator = self.annotator
        ann_file = Path(f"{rec.path}.{annotator}")
        if ann_file.is_file() and ann_file.stat().st_size == 0:
            self.handle(_RecordProblem(rec.name, f"record {rec.name}: annotation file "
                                                 f"{rec.name}.{annotator} is empty (0 bytes)"))
            return None
        try:
            ann = read_annotations(rec.path, annotator, rec.fs)
        except FileNotFoundError:
            self.handle(_RecordProblem(rec.name, _missing_annotation(rec, annotator),
                                       FileNotFoundError))
            return None
        except Exception as exc:  # corrupted annotation file
            self.handle(_RecordProblem(rec.name, f"record {rec.name}: annotation file "
                                                 f"{rec.name}.{annotator} could not be read "
                                                 f"({type(exc).__name__}: {exc})"))
            return None
        self.any_rhythm |= any(lab is not None for lab in ann.rhythm_labels)
        self.unknown_symbols.update(ann.unknown_symbols)
        beyond = int((ann.beat_samples >= rec.sig_len).sum()
                     + (ann.rhythm_samples >= rec.sig_len).sum())
        if beyond:
            self.past_end[rec.name] = beyond
        return ann

    def read_signals(self, recs: list[_Record], n_leads: int, fs_out: float,
                     w_out: int) -> tuple[np.ndarray, dict]:
        """The kept windows, chunk by chunk, into one array, and per window its record,
        start, group and label (``cols``)."""
        n_alloc = sum(len(r.starts) for r in recs)
        _check_allocation(n_alloc, n_leads, w_out, fs_out, self.window_s)
        out = np.empty((n_alloc, n_leads, w_out), dtype=np.float32)
        cursor = 0
        cols: dict[str, list] = {"record": [], "start": [], "group": [], "target": []}
        for rec in recs:
            if len(rec.starts) == 0:
                continue
            before = cursor
            try:
                cursor, written = _read_windows(
                    rec, rec.starts, max(1, round(self.window_s * rec.fs)), fs_out, w_out,
                    out, cursor, _CHUNK_VALUES)
            except _RecordProblem as problem:
                cursor = before  # its windows are overwritten by the next record
                self.handle(problem)
                continue
            self.drops[_INVALID] += int((~written).sum())
            n = int(written.sum())
            cols["record"].append(np.full(n, rec.name, dtype=object))
            cols["start"].append(rec.starts[written])
            cols["group"].extend([rec.group] * n)
            if rec.labels is not None:
                cols["target"].extend(lab for lab, w in zip(rec.labels, written) if w)
        if cursor == 0:
            raise _no_windows_error(self.n_candidates, self.drops,
                                    [r for r in recs if r.name not in self.skipped],
                                    self.skipped, self.label, self.annotator, self.any_rhythm)
        if cursor < n_alloc:
            out.resize((cursor, n_leads, w_out), refcheck=False)
        return out, cols

    def describe(self, source: str, kept: list[_Record], wanted: list, lead_names: list,
                 fs_out: float, n_kept: int, target, group_col: list) -> str:
        """``DESCR``: what was read, resampled, dropped and skipped, and why."""
        unknown_labels = Counter() if target is None or self.label != "rhythm" else Counter(
            t for t in target.tolist() if t not in RHYTHM_NAMES)
        by_position = Counter(tuple(r.sig_names[c] for c in r.channels) for r in kept)
        if not any(isinstance(w, int) for w in wanted) or len(by_position) == 1:
            by_position = Counter()
        return _descr(
            source=source, n_listed=self.n_listed, recs=kept, skipped=self.skipped,
            lead_names=lead_names, by_position=by_position, fs=fs_out,
            rates=Counter(r.fs for r in kept), window_s=self.window_s, step_s=self.step_s,
            annotator=self.annotator, label=self.label, n_candidates=self.n_candidates,
            drops=self.drops, n_kept=n_kept, n_short=self.n_short, target=target,
            unknown_labels=unknown_labels, unknown_symbols=self.unknown_symbols,
            past_end=self.past_end, group_sources=Counter(r.group_source for r in kept),
            n_groups=len(set(group_col)))
