"""A small real CinC 2017 subset bundled inside the package."""

from __future__ import annotations

from collections import Counter
from importlib import resources

import numpy as np
from sklearn.utils import Bunch

from .._validation import SignalList
from ._physionet2017 import CITATION, CLASSES, FS, LICENSE

__all__ = ["load_cinc2017_sample"]

_FILE = "cinc2017_sample.npz"


def load_cinc2017_sample(*, return_X_y: bool = False):
    """Load 280 real records of the PhysioNet/CinC 2017 training set.

    A seeded draw of 100 N, 60 A, 80 O and 40 noisy (~) records, kept whole
    (9-61 s at 300 Hz) as the published int16 counts (gain 1000/mV). It needs
    nothing outside the package and is what the demo and most tests use.

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(signals, target)`` instead of a Bunch.

    Returns
    -------
    data : Bunch
        ``signals`` (list of float32 arrays in mV), ``target``, ``record_ids``,
        ``groups`` (one patient per record), ``fs`` (300), ``target_names``,
        ``in_readme_training_part`` (bool per record: in the README split's training
        part, on which the shipped checkpoints were pretrained; evaluate them on the
        others), ``DESCR``.

    Examples
    --------
    >>> from sklearn_biodiff.datasets import load_cinc2017_sample
    >>> data = load_cinc2017_sample()
    >>> len(data.signals), data.fs
    (280, 300)
    """
    with resources.files(__package__).joinpath("data", _FILE).open("rb") as f:
        npz = np.load(f, allow_pickle=False)
        counts, lengths = npz["counts"], npz["lengths"]
        gain = np.float32(npz["gain"])
        record_ids, target = npz["record_ids"], npz["target"]
        in_training_part = npz["in_readme_training_part"]
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    signals = SignalList(
        [counts[a:b].astype(np.float32) / gain for a, b in zip(bounds[:-1], bounds[1:])],
        fs=FS,
    )
    if return_X_y:
        return signals, target
    counts_txt = ", ".join(f"{c} {Counter(target.tolist()).get(c, 0)}" for c in CLASSES)
    descr = f"""CinC 2017 sample: {len(signals)} real records bundled with sklearn_biodiff
=====================================================================

A seeded, class-stratified draw (not proportional: {counts_txt}) from the
PhysioNet/Computing in Cardiology Challenge 2017 training set, REFERENCE-v3
labels, whole records at {FS} Hz stored as int16 counts (gain 1000/mV).
Lengths {lengths.min()}-{lengths.max()} samples. Rebuilt by
scripts/make_cinc2017_sample.py. One record is one patient.

License: {LICENSE}. Cite: {CITATION}
"""
    return Bunch(
        signals=signals,
        target=target,
        record_ids=record_ids,
        groups=np.arange(len(signals)),
        fs=FS,
        target_names=np.asarray(CLASSES),
        in_readme_training_part=in_training_part,
        DESCR=descr,
    )
