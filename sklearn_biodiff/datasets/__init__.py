"""Dataset loaders: any WFDB database, CinC 2017 (full archive and bundled sample), tasks,
synthetic ECG."""

from ._physionet2017 import fetch_physionet2017, load_physionet2017
from ._sample import load_cinc2017_sample
from ._synthetic import make_synthetic_ecg
from ._tasks import binary_task
from ._wfdb import load_wfdb_database

__all__ = [
    "binary_task",
    "fetch_physionet2017",
    "load_cinc2017_sample",
    "load_physionet2017",
    "load_wfdb_database",
    "make_synthetic_ecg",
]
