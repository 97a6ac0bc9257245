"""bench_dacl_patients' fine-tuned DiffAE row (issue 31): what it fine-tunes on, and its
per-fold cache."""

from __future__ import annotations

import numpy as np

from benchmarks import bench_dacl_patients as bench
from sklearn_biodiff.feature_extraction import DiffAEEmbedder


def test_fine_tunes_on_the_training_windows_records_only_and_caches_the_fold(
        tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    fs = 300
    # records 0-3 of 3 s, record 4 of 1 s (shorter than the quick 2-s crop); 1-s windows
    records = [rng.standard_normal(3 * fs).astype(np.float32) for _ in range(4)]
    records.append(rng.standard_normal(fs).astype(np.float32))
    labels = np.array(["N", "A", "N", "A", "N"])
    W, y4, rec = bench.segment_records(records, fs, y=labels, groups=np.arange(5))
    tr = np.flatnonzero(np.isin(rec, [0, 1, 4]))
    te = np.flatnonzero(np.isin(rec, [2, 3]))
    seen = []
    real_fit = DiffAEEmbedder.fit

    def spy(self, X, y=None, **kw):
        seen.append(([len(x) for x in X], list(y)))
        return real_fit(self, X, y, **kw)

    monkeypatch.setattr(DiffAEEmbedder, "fit", spy)
    args = (records, labels, W, rec, tr, te, 0, ["synthetic"], tmp_path, 1, True)
    F_tr, F_te, seconds = bench.fine_tuned_features(*args)
    # the whole records of the training windows, the 1-s record left out; no test record
    assert seen == [([3 * fs, 3 * fs], ["N", "A"])]
    assert F_tr.shape[0] == len(tr) and F_te.shape[0] == len(te) and seconds > 0
    again = bench.fine_tuned_features(*args)
    assert len(seen) == 1 and again[2] == 0.0  # from the cache, not refitted
    np.testing.assert_array_equal(again[0], F_tr)
    other_seed = bench.fine_tuned_features(*args[:6], 1, *args[7:])
    assert len(seen) == 2 and not np.array_equal(other_seed[0], F_tr)
