"""WFDB annotations to window labels: rhythm in force, majority beat, any abnormal beat.

Pure functions over annotation arrays (no signal reading): the loader in
``_wfdb.py`` reads one annotation file per record and asks these functions for the
label of every candidate window, or why the window has none.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "LABEL_MODES",
    "NORMAL_BEATS",
    "RHYTHM_NAMES",
    "RecordAnnotations",
    "beat_symbols",
    "label_windows",
    "read_annotations",
]

#: Rhythm codes of PhysioNet's ECG databases (the aux_note of '+' annotations,
#: without the leading '('), with their meaning. Codes not listed here are kept
#: as their text and counted as unknown in the loader's DESCR.
RHYTHM_NAMES = {
    "AB": "atrial bigeminy",
    "AFIB": "atrial fibrillation",
    "AFL": "atrial flutter",
    "ASYS": "asystole",
    "B": "ventricular bigeminy",
    "BI": "first-degree heart block",
    "BII": "second-degree heart block",
    "BIII": "third-degree heart block",
    "HGEA": "high-grade ventricular ectopic activity",
    "IVR": "idioventricular rhythm",
    "J": "junctional rhythm",
    "N": "normal sinus rhythm",
    "NOD": "nodal (A-V junctional) rhythm",
    "NOISE": "noise",
    "NSR": "normal sinus rhythm",
    "P": "paced rhythm",
    "PREX": "pre-excitation (WPW)",
    "SBR": "sinus bradycardia",
    "SVTA": "supraventricular tachyarrhythmia",
    "T": "ventricular trigeminy",
    "VER": "ventricular escape rhythm",
    "VF": "ventricular fibrillation",
    "VFIB": "ventricular fibrillation",
    "VFL": "ventricular flutter",
    "VT": "ventricular tachycardia",
}

#: Beat symbols of the AAMI "N" class (normal, bundle branch block, escape).
NORMAL_BEATS = frozenset({"N", "L", "R", "e", "j"})

#: label -> what the window's target is
LABEL_MODES = {
    "rhythm": "the rhythm annotation in force over the whole window",
    "beat_majority": "the most frequent beat symbol in the window",
    "beat_any_abnormal": "'abnormal' when the window holds a beat outside N, L, R, e, j, "
                         "else 'normal'",
}

# reasons a window has no label (DESCR wording)
NO_RHYTHM = "no rhythm annotation in force at its start"
STRADDLE = "straddles a rhythm change"
NO_BEAT = "holds no beat annotation"


def beat_symbols() -> frozenset[str]:
    """Annotation symbols that mark a beat, from wfdb's own label table.

    ``wfdb.io.annotation.is_qrs`` is indexed by the label code
    (``label_store``), not by the position in ``ann_labels``.
    """
    from wfdb.io import annotation

    return frozenset(
        lab.symbol for lab in annotation.ann_labels
        if lab.label_store < len(annotation.is_qrs) and annotation.is_qrs[lab.label_store]
    )


def _known_symbols() -> frozenset[str]:
    from wfdb.io import annotation

    return frozenset(lab.symbol for lab in annotation.ann_labels)


def clean_rhythm(aux: str | None) -> str | None:
    """``'(AFIB\\x00'`` -> ``'AFIB'``; a blank note -> ``None``."""
    text = (aux or "").replace("\x00", " ").strip()
    if text.startswith("("):
        text = text[1:].strip()
    return text or None


@dataclass
class RecordAnnotations:
    """The annotations of one record that window labels need.

    Sample numbers are at the record's own sampling rate.
    """

    rhythm_samples: np.ndarray  # int64, sorted: where the rhythm changes
    rhythm_labels: list  # str, or None where a '+' carries no rhythm text
    beat_samples: np.ndarray  # int64, sorted
    beat_symbols: np.ndarray  # str
    unknown_symbols: Counter = field(default_factory=Counter)


def read_annotations(record_path: str, annotator: str, record_fs: float) -> RecordAnnotations:
    """Read one annotation file whole (it is small) and sort it into rhythm and beats.

    Parameters
    ----------
    record_path : str
        Record path without extension.
    annotator : str
        Annotation file extension (``"atr"``).
    record_fs : float
        Frame rate of the record; annotation times stored at another rate
        (the file's ``fs``) are converted to it.

    Returns
    -------
    RecordAnnotations
    """
    import wfdb

    ann = wfdb.rdann(record_path, annotator, return_label_elements=["symbol"])
    samples = np.asarray(ann.sample, dtype=np.int64)
    if ann.fs and not np.isclose(float(ann.fs), float(record_fs)):
        samples = np.round(samples * (float(record_fs) / float(ann.fs))).astype(np.int64)
    symbols = np.asarray(ann.symbol if ann.symbol is not None else [], dtype=object)
    aux = list(ann.aux_note) if ann.aux_note is not None else [""] * len(samples)
    order = np.argsort(samples, kind="stable")
    samples, symbols = samples[order], symbols[order]
    aux = [aux[i] for i in order]

    is_rhythm = symbols == "+"
    r_samples, r_labels = [], []
    for s, note in zip(samples[is_rhythm], (a for a, r in zip(aux, is_rhythm) if r)):
        lab = clean_rhythm(note)
        if r_labels and r_labels[-1] == lab:
            continue  # a repeated rhythm is no change
        r_samples.append(int(s))
        r_labels.append(lab)

    beats = beat_symbols()
    is_beat = np.fromiter((s in beats for s in symbols), dtype=bool, count=len(symbols))
    known = _known_symbols()
    unknown = Counter(s for s in symbols.tolist() if s not in known)
    return RecordAnnotations(
        rhythm_samples=np.asarray(r_samples, dtype=np.int64),
        rhythm_labels=r_labels,
        beat_samples=samples[is_beat],
        beat_symbols=symbols[is_beat].astype(str),
        unknown_symbols=unknown,
    )


def label_windows(
    starts: np.ndarray, length: int, ann: RecordAnnotations, mode: str
) -> tuple[list, list]:
    """Label of each window ``[start, start + length)``, or why it has none.

    Parameters
    ----------
    starts : ndarray of int
        Window starts, in samples of the record.
    length : int
        Window length in samples of the record.
    ann : RecordAnnotations
    mode : {"rhythm", "beat_majority", "beat_any_abnormal"}

    Returns
    -------
    labels : list
        One str per window, ``None`` for dropped windows.
    reasons : list
        ``None`` for labelled windows, else the reason (a str) it was dropped.
    """
    starts = np.asarray(starts, dtype=np.int64)
    ends = starts + length
    labels: list = [None] * len(starts)
    reasons: list = [None] * len(starts)
    if mode == "rhythm":
        rs = ann.rhythm_samples
        in_force = np.searchsorted(rs, starts, side="right") - 1
        n_changes = np.searchsorted(rs, ends, side="left") - np.searchsorted(
            rs, starts, side="right")
        for i, (k, c) in enumerate(zip(in_force.tolist(), n_changes.tolist())):
            lab = ann.rhythm_labels[k] if k >= 0 else None
            if lab is None:
                reasons[i] = NO_RHYTHM
            elif c > 0:
                reasons[i] = STRADDLE
            else:
                labels[i] = lab
        return labels, reasons

    bs = ann.beat_samples
    lo = np.searchsorted(bs, starts, side="left")
    hi = np.searchsorted(bs, ends, side="left")
    for i, (a, b) in enumerate(zip(lo.tolist(), hi.tolist())):
        syms = ann.beat_symbols[a:b]
        if len(syms) == 0:
            reasons[i] = NO_BEAT
        elif mode == "beat_majority":
            labels[i] = Counter(syms.tolist()).most_common(1)[0][0]  # ties: first seen
        else:
            abnormal = any(s not in NORMAL_BEATS for s in syms.tolist())
            labels[i] = "abnormal" if abnormal else "normal"
    return labels, reasons
