"""load_wfdb_database on small WFDB databases written with wfdb.wrsamp / wrann."""

import shutil
import tarfile
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest
import wfdb

from sklearn_biodiff.datasets import _wfdb, load_wfdb_database
from sklearn_biodiff.preprocessing._resample import resample_signal


def _write(root, name, fs, n, leads, *, ann=None, comments=None, seed=0):
    """A record with smooth, distinct leads at 1 µV resolution (fmt 16, gain 1000)."""
    t = np.arange(n) / fs
    rng = np.random.default_rng(seed)
    sig = np.stack([np.sin(2 * np.pi * (0.7 + 0.3 * i) * t + rng.uniform(0, 6))
                    + 0.1 * i for i in range(len(leads))], axis=1)
    wfdb.wrsamp(name, fs=fs, units=["mV"] * len(leads), sig_name=list(leads), p_signal=sig,
                fmt=["16"] * len(leads), adc_gain=[1000.0] * len(leads),
                baseline=[0] * len(leads), comments=comments, write_dir=str(root))
    if ann is not None:
        samples, symbols, notes = zip(*sorted(ann, key=lambda a: a[0]))
        wfdb.wrann(name, "atr", np.asarray(samples), symbol=list(symbols),
                   aux_note=list(notes), write_dir=str(root))


def _beats_100():
    """One beat a second (at k + 0.5 s); window 1 holds a V, 3 is all R, 4 holds an A,
    5 is 6 V + 4 L; a noise mark '~' (not a beat) in window 0."""
    sym = ["N"] * 60
    sym[15] = "V"
    sym[30:40] = ["R"] * 10
    sym[45] = "A"
    sym[50:60] = ["L", "V", "V", "L", "V", "V", "L", "V", "V", "L"]
    return [(125 + 250 * k, s, "") for k, s in enumerate(sym)] + [(1275, "~", "")]


@pytest.fixture
def db(tmp_path):
    """100: 250 Hz, MLII+V1, 60 s, N -> AFIB at 25 s -> N at 42 s, beats.
    101: 360 Hz, V1+MLII (other order), 40 s, AFL from 5 s."""
    root = tmp_path / "db"
    root.mkdir()
    rhythm = [(0, "+", "(N"), (6250, "+", "(AFIB"), (10500, "+", "(N\x00")]
    _write(root, "100", 250, 15000, ["MLII", "V1"], ann=rhythm + _beats_100())
    _write(root, "101", 360, 14400, ["V1", "MLII"], ann=[(1800, "+", "(AFL")], seed=1)
    (root / "RECORDS").write_text("100\n101\n")
    return root


def _add(root, name, *args, **kwargs):
    _write(root, name, *args, **kwargs)
    with open(root / "RECORDS", "a") as f:
        f.write(name + "\n")


def test_rhythm_windows_labels_groups_and_drops_are_exact(db):
    d = load_wfdb_database(db, leads=["MLII", "V1"], fs=250)
    assert d.signals.shape == (7, 2, 2500) and d.signals.dtype == np.float32
    # 100: [0,10) N, [10,20) N, [20,30) straddles 25 s, [30,40) AFIB, [40,50) straddles
    # 42 s, [50,60) N; 101: [0,10) starts before any rhythm, then AFL three times
    assert d.target.tolist() == ["N", "N", "AFIB", "N", "AFL", "AFL", "AFL"]
    assert d.record.tolist() == ["100"] * 4 + ["101"] * 3
    assert d.start.tolist() == [0, 2500, 7500, 12500, 3600, 7200, 10800]
    assert d.groups.tolist() == d.record.tolist()
    assert d.fs == 250.0 and d.lead_names == ["MLII", "V1"]
    assert d.target_names.tolist() == ["AFIB", "AFL", "N"] and d.skipped == {}
    assert "10 candidate window(s), 7 kept, 3 dropped" in d.DESCR
    assert "dropped 2: straddles a rhythm change" in d.DESCR
    assert "dropped 1: no rhythm annotation in force at its start" in d.DESCR
    assert "1 at 250 Hz, 1 at 360 Hz. Records at other rates are resampled" in d.DESCR
    assert "AFIB: 1 (atrial fibrillation)" in d.DESCR
    X, y = load_wfdb_database(db, leads=["MLII", "V1"], fs=250, return_X_y=True)
    np.testing.assert_array_equal(X, d.signals)
    np.testing.assert_array_equal(y, d.target)


def test_signals_are_the_records_samples_resampled_as_whole_records(db):
    d = load_wfdb_database(db, leads=["MLII", "V1"], fs=250)
    full = wfdb.rdrecord(str(db / "100")).p_signal  # MLII, V1
    for w, s in zip(d.signals[:4], d.start[:4]):
        np.testing.assert_array_equal(w, full[s:s + 2500].T.astype(np.float32))
    # 101 stores V1 first: leads are matched by name; 360 -> 250 Hz equals resampling
    # the whole record, although the loader resamples chunk by chunk
    full = resample_signal(wfdb.rdrecord(str(db / "101")).p_signal[:, [1, 0]], 360, 250,
                           axis=0)
    for w, s in zip(d.signals[4:], d.start[4:]):
        k = round(s * 250 / 360)
        np.testing.assert_allclose(w, full[k:k + 2500].T, atol=1e-6)


def test_one_lead_by_name_gives_2d_windows(db):
    both = load_wfdb_database(db, leads=["MLII", "V1"], fs=250)
    v1 = load_wfdb_database(db, leads="V1", fs=250)
    assert v1.signals.shape == (7, 2500) and v1.lead_names == ["V1"]
    np.testing.assert_array_equal(v1.signals, both.signals[:, 1])
    assert load_wfdb_database(db, leads=["V1"], fs=250).signals.shape == (7, 1, 2500)


def test_overlapping_windows_follow_the_rhythm_in_force_at_their_start(db):
    d = load_wfdb_database(db, records=["100"], window_s=10, step_s=5)
    # a change exactly at a window's start is in force; one at its end is not inside
    assert d.start.tolist() == [0, 1250, 2500, 3750, 6250, 7500, 11250, 12500]
    assert d.target.tolist() == ["N", "N", "N", "N", "AFIB", "AFIB", "N", "N"]
    assert "dropped 3: straddles a rhythm change" in d.DESCR


@pytest.mark.parametrize("label, expected", [
    ("beat_majority", ["N", "N", "N", "R", "N", "V"]),
    ("beat_any_abnormal", ["normal", "abnormal", "normal", "normal", "abnormal",
                           "abnormal"]),
])
def test_beat_labels(db, label, expected):
    d = load_wfdb_database(db, records=["100"], label=label)
    assert d.target.tolist() == expected  # '+' and '~' annotations are not beats
    assert d.start.tolist() == list(range(0, 15000, 2500))


def test_windows_without_beats_are_dropped_and_an_empty_result_says_why(db):
    with pytest.raises(ValueError, match=r"no windows left: 4 candidate window\(s\) from 1 "
                                         r"record\(s\), all dropped \(dropped: 4 holds no "
                                         r"beat annotation\)"):
        load_wfdb_database(db, records=["101"], label="beat_majority")
    _add(db, "beats", 100, 3000, ["MLII"], ann=[(50, "N", ""), (150, "N", "")])
    with pytest.raises(ValueError, match="hold no rhythm annotations .* use "
                                         "label='beat_majority'"):
        load_wfdb_database(db, records=["beats"])
    with pytest.raises(ValueError, match="Every record is shorter than window_s"):
        load_wfdb_database(db, records=["beats"], window_s=60)


def test_unknown_rhythm_codes_are_kept_as_text_and_counted(db):
    _add(db, "102", 250, 5000, ["MLII"], ann=[(0, "+", "(XYZ")])
    d = load_wfdb_database(db, leads="MLII", fs=250)
    assert d.target.tolist()[-2:] == ["XYZ", "XYZ"]
    assert "Unknown rhythm codes (kept as their text): XYZ 2 window(s)" in d.DESCR


def test_missing_lead_is_named_and_can_be_skipped(db):
    _add(db, "102", 250, 5000, ["MLII"], ann=[(0, "+", "(N")])
    with pytest.raises(ValueError, match=r"record 102 has no lead 'V1'; its leads are "
                                         r"\['MLII'\]\. Pass leads= with names that every "
                                         r"record has: \['MLII'\] here\. .*on_error='skip'"):
        load_wfdb_database(db, leads=["MLII", "V1"])
    with pytest.warns(UserWarning, match=r"1 record\(s\) skipped"):
        d = load_wfdb_database(db, leads=["MLII", "V1"], on_error="skip")
    assert set(d.record) == {"100", "101"} and list(d.skipped) == ["102"]
    assert "skipped record 102 has no lead 'V1'" in d.DESCR
    # leads=None keeps the leads all records share
    d = load_wfdb_database(db)
    assert d.lead_names == ["MLII"] and d.signals.shape[1:] == (1, 2500)


def test_records_sharing_no_lead_name_get_a_listing_of_lead_sets(tmp_path):
    _write(tmp_path, "a", 100, 2000, ["MLII", "V1"])
    _write(tmp_path, "b", 100, 2000, ["V5", "V2"])
    with pytest.raises(ValueError, match=r"share no lead name: .*MLII, V1: 1 record\(s\) "
                                         r"\(e\.g\. a\).*leads=0"):
        load_wfdb_database(tmp_path, annotator=None)
    d = load_wfdb_database(tmp_path, annotator=None, leads=0)
    assert d.signals.shape == (4, 1000) and d.lead_names == ["MLII"]
    assert "MLII: 1; V5: 1" in d.DESCR  # the leads taken by position, per record


def test_missing_annotation_file_is_named_and_can_be_skipped(db):
    (db / "101.atr").rename(db / "101.qrs")
    with pytest.raises(FileNotFoundError, match=r"record 101: annotation file 101\.atr "
                                                r"is missing; its other files have the "
                                                r"extensions \['qrs'\] \(pass one as "
                                                r"annotator=\); annotator=None loads "
                                                "unlabelled windows"):
        load_wfdb_database(db)
    with pytest.warns(UserWarning):
        d = load_wfdb_database(db, on_error="skip")
    assert set(d.record) == {"100"} and "101" in d.skipped


def test_corrupted_signal_and_header_files_are_named_and_can_be_skipped(db):
    _add(db, "102", 250, 5000, ["MLII", "V1"], ann=[(0, "+", "(N")])
    dat = (db / "101.dat").read_bytes()
    (db / "101.dat").write_bytes(dat[: len(dat) // 2])
    with pytest.raises(ValueError, match=r"record 101: its signal file 101\.dat is "
                                         r"truncated or corrupted: 28800 bytes, the header "
                                         r"needs 57600"):
        load_wfdb_database(db)
    (db / "100.hea").write_text("garbage\n")
    with pytest.raises(ValueError, match=r"record 100: header 100\.hea could not be read"):
        load_wfdb_database(db)
    (db / "102.atr").write_bytes(b"\x07" * 9)
    with pytest.raises(ValueError, match=r"no record could be used: all 3 were skipped "
                                         r"\(record 100: header .*; record 101: its signal "
                                         r"file .*; record 102: annotation file 102.atr "
                                         "could not be read"):
        load_wfdb_database(db, on_error="skip")
    shutil.copy(db / "101.hea", db / "103.hea")  # a header without its .dat
    (db / "103.hea").write_text((db / "101.hea").read_text().replace("101", "103"))
    with pytest.raises(ValueError, match=r"record 103: its signal file 103\.dat is missing"):
        load_wfdb_database(db, records=["103"])


def test_windows_over_a_signal_gap_are_dropped_and_counted(tmp_path):
    d_sig = np.tile(np.arange(3000, dtype=np.int16)[:, None] % 500, (1, 2))
    d_sig[1500:1510, 1] = -32768  # the fmt 16 "invalid sample" value
    wfdb.wrsamp("gap", fs=100, units=["mV", "mV"], sig_name=["I", "II"], d_signal=d_sig,
                fmt=["16", "16"], adc_gain=[200.0, 200.0], baseline=[0, 0],
                write_dir=str(tmp_path))
    d = load_wfdb_database(tmp_path, annotator=None)
    assert d.start.tolist() == [0, 2000] and d.target is None
    assert d.signals.shape == (2, 2, 1000)  # the dropped window's row is gone, not garbage
    np.testing.assert_allclose(d.signals[1, 0], (np.arange(2000, 3000) % 500) / 200, atol=1e-6)
    assert "dropped 1: holds invalid samples (NaN: a signal gap)" in d.DESCR


def test_reading_is_by_bounded_segments(tmp_path, monkeypatch):
    """A 2-hour record is read in chunks of at most _CHUNK_VALUES samples x leads;
    with small chunks, the peak memory is far below one whole-record read, and the
    windows (resampled 100 -> 60 Hz) are the same."""
    n = 2 * 3600 * 100
    wfdb.wrsamp("long", fs=100, units=["mV", "mV"], sig_name=["I", "II"],
                d_signal=np.tile((np.arange(n) % 1000).astype(np.int16)[:, None], (1, 2)),
                fmt=["16", "16"], adc_gain=[200.0, 200.0], baseline=[0, 0],
                write_dir=str(tmp_path))
    calls = []
    real = wfdb.rdrecord

    def spy(*args, **kwargs):  # the real reader, counted
        calls.append(kwargs.get("sampto", 0) - kwargs.get("sampfrom", 0))
        return real(*args, **kwargs)

    monkeypatch.setattr(wfdb, "rdrecord", spy)
    both = load_wfdb_database(tmp_path, annotator=None, fs=60, leads=["I", "II"])
    assert both.signals.shape == (720, 2, 600)
    assert len(calls) == 2 and max(calls) <= _wfdb._CHUNK_VALUES // 2  # 2 leads
    ref = both.signals[:, 1]
    calls.clear()

    monkeypatch.setattr(_wfdb, "_CHUNK_VALUES", 1 << 15)
    tracemalloc.start()
    try:
        small = load_wfdb_database(tmp_path, annotator=None, fs=60, leads="II")
        loader_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        real(str(tmp_path / "long"), channels=[1])
        whole_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(calls) > 20 and max(calls) <= 1 << 15
    assert loader_peak < whole_peak / 2, (loader_peak, whole_peak)
    np.testing.assert_allclose(small.signals, ref, atol=1e-6)


def test_groups_from_header_comment_mapping_callable_and_folder(tmp_path):
    for name, patient in (("p1/a", "P1"), ("p1/b", "P1"), ("p2/c", "P2")):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        _write(tmp_path / Path(name).parent, Path(name).name, 100, 1000, ["I"],
               comments=[f"patient: {patient}"] if name != "p2/c" else None)
    (tmp_path / "RECORDS").write_text("p1/a\np1/b\np2/c\n")
    d = load_wfdb_database(tmp_path, annotator=None)
    assert d.groups.tolist() == ["P1", "P1", "p2/c"]
    assert "header: 2 record(s), record: 1 record(s)" in d.DESCR
    d = load_wfdb_database(tmp_path, annotator=None, groups="folder")
    assert d.groups.tolist() == ["p1", "p1", "p2"]
    assert "Groups: 2 (source of each record's group: folder: 3 record(s))" in d.DESCR
    mapping = {"p1/a": 7, "p1/b": 8, "p2/c": 7}
    d = load_wfdb_database(tmp_path, annotator=None, groups=mapping)
    assert d.groups.tolist() == [7, 8, 7] and "given: 3 record(s)" in d.DESCR
    d = load_wfdb_database(tmp_path, annotator=None,
                           groups=lambda name, header: f"{name[-1].upper()}{header.fs:g}")
    assert d.groups.tolist() == ["A100", "B100", "C100"]  # the callable gets the header
    assert "(source of each record's group: given: 3 record(s))" in d.DESCR
    assert load_wfdb_database(tmp_path, annotator=None, groups="record").groups.tolist() == [
        "p1/a", "p1/b", "p2/c"]


def test_archive_glob_and_multi_segment_records(db, tmp_path):
    # a multi-segment record: its segment headers are not records of their own
    for seg in ("ms_1", "ms_2"):
        _write(db, seg, 250, 2500, ["MLII", "V1"])
    (db / "ms.hea").write_text("ms/2 2 250 5000\nms_1 2500\nms_2 2500\n")
    (db / "RECORDS").unlink()
    d = load_wfdb_database(db, annotator=None, leads=["MLII", "V1"], fs=250)
    assert sorted(set(d.record)) == ["100", "101", "ms"]
    whole = wfdb.rdrecord(str(db / "ms")).p_signal
    np.testing.assert_array_equal(d.signals[d.record == "ms"][1],
                                  whole[2500:5000].T.astype(np.float32))
    assert set(load_wfdb_database(db, annotator=None, records="10?").record) == {"100",
                                                                                 "101"}
    archive = tmp_path / "db.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(db, arcname="mydb-1.0.0")
    a = load_wfdb_database(archive, annotator=None, leads=["MLII", "V1"], fs=250,
                           data_home=tmp_path / "cache")
    np.testing.assert_array_equal(a.signals, d.signals)
    assert "unpacked to" in a.DESCR


@pytest.mark.parametrize("kwargs, match", [
    ({"window_s": 0}, "window_s must be a positive number of seconds"),
    ({"step_s": -1}, "step_s must be a positive"),
    ({"fs": "250"}, "fs must be a positive number of Hz"),
    ({"label": "beats"}, "label must be one of"),
    ({"on_error": "ignore"}, "on_error must be 'raise' or 'skip'"),
    ({"leads": []}, "leads must be None, a lead name"),
    ({"leads": ["MLII", "MLII"]}, "leads has duplicates"),
    ({"leads": ["MLII", 5]}, r"record 100 has 2 lead\(s\) .* position 5 does not exist"),
    ({"records": "9*"}, r"records='9\*' matches no record"),
    ({"groups": 3}, "groups must be None, 'record', 'folder'"),
    ({"groups": {"100": 1}}, "groups has no entry for record '101'"),
])
def test_bad_arguments(db, kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_wfdb_database(db, **kwargs)


def test_missing_folder_and_non_archive_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="WFDB database not found"):
        load_wfdb_database(tmp_path / "nope")
    (tmp_path / "x.csv").write_text("1,2\n")
    with pytest.raises(ValueError, match="neither a folder nor a .zip/.tar"):
        load_wfdb_database(tmp_path / "x.csv")
    with pytest.raises(FileNotFoundError, match="no WFDB records in"):
        load_wfdb_database(tmp_path)


def test_nstdb_noise_records_load_as_a_real_two_channel_database(nstdb_folder):
    nstdb = nstdb_folder  # a real database: two channels, 360 Hz, no annotations
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no skipped record
        d = load_wfdb_database(nstdb, annotator=None, window_s=60)
    assert d.signals.shape == (2 * 30, 2, 60 * 360) and d.fs == 360.0
    assert d.lead_names == ["noise1", "noise2"] and d.target is None
    assert sorted(set(d.groups)) == ["bw", "ma"]
    ref = wfdb.rdrecord(str(nstdb / "ma"), sampfrom=21600, sampto=43200).p_signal
    i = np.flatnonzero((d.record == "ma") & (d.start == 21600))[0]
    np.testing.assert_array_equal(d.signals[i], ref.T.astype(np.float32))


def test_unknown_annotation_symbols_are_counted_and_not_beats(tmp_path):
    pd = pytest.importorskip("pandas")
    _write(tmp_path, "c", 100, 2000, ["I"])
    custom = pd.DataFrame({"label_store": [42], "symbol": ["X"], "description": ["mine"]})
    wfdb.wrann("c", "atr", np.array([50, 150, 250, 1100]), symbol=["N", "X", "X", "N"],
               custom_labels=custom, write_dir=str(tmp_path))
    d = load_wfdb_database(tmp_path, label="beat_majority")
    assert d.target.tolist() == ["N", "N"]  # 'X' twice in window 0 is not a beat
    assert "Annotation symbols wfdb does not know (not treated as beats): 'X' 2" in d.DESCR


def test_annotation_times_at_another_rate_are_converted(tmp_path):
    _write(tmp_path, "r", 100, 3000, ["I"])
    wfdb.wrann("r", "atr", np.array([0, 2000]), symbol=["+", "+"], aux_note=["(N", "(AFIB"],
               fs=200, write_dir=str(tmp_path))  # 2000 at 200 Hz = 10 s
    assert load_wfdb_database(tmp_path).target.tolist() == ["N", "AFIB", "AFIB"]


def test_an_incomplete_multi_segment_record_is_named_not_its_segments(tmp_path):
    _write(tmp_path, "ms_1", 100, 1000, ["I"])
    (tmp_path / "ms.hea").write_text("ms/2 1 100 2000\nms_1 1000\nms_2 1000\n")
    with pytest.raises(ValueError, match=r"^record ms: header ms\.hea could not be read "
                                         r"\(.*ms_2\.hea"):
        load_wfdb_database(tmp_path, annotator=None)



# --- exact behaviour (written to kill surviving mutants of benchmarks/run_mutation.py;
# see benchmarks/results/mutation.json) ---------------------------------------------


def test_records_listing_and_short_records_are_counted_in_descr(db):
    _add(db, "short", 250, 1000, ["MLII", "V1"], ann=[(0, "+", "(N")])  # 4 s < one window
    d = load_wfdb_database(db, leads=["MLII", "V1"], fs=250)
    assert "Records: 3 listed, 3 read, 0 skipped." in d.DESCR
    assert "  1 record(s) shorter than one window gave no window." in d.DESCR
    d = load_wfdb_database(db, leads=["MLII", "V1"], fs=250, records=["100", "101"])
    assert "shorter than one window" not in d.DESCR


def test_unlabelled_windows_have_no_target_names(db):
    d = load_wfdb_database(db, annotator=None, leads="MLII", fs=250)
    assert d.target is None and d.target_names.tolist() == []
    assert d.target_names.shape == (0,)


def _rename_leads(root, name, new):
    """Rename the leads in a header (wfdb.wrsamp refuses duplicate names)."""
    lines = (root / f"{name}.hea").read_text().splitlines()
    lines[1:1 + len(new)] = [ln.rsplit(" ", 1)[0] + " " + n for ln, n in zip(lines[1:], new)]
    (root / f"{name}.hea").write_text("\n".join(lines) + "\n")


def test_skipped_records_are_keyed_by_their_name(db):
    _add(db, "dup", 250, 5000, ["MLII", "V1"], ann=[(0, "+", "(N")])
    _rename_leads(db, "dup", ["MLII", "MLII"])  # two leads, one name
    _add(db, "bad", 250, 5000, ["MLII", "V1"], ann=[(0, "+", "(N")])
    (db / "bad.atr").write_bytes(b"\x07" * 9)
    with open(db / "RECORDS", "a") as f:
        f.write("gone\n")  # listed, no header
    with pytest.warns(UserWarning, match="skipped"):
        d = load_wfdb_database(db, leads="MLII", on_error="skip")
    assert sorted(d.skipped) == ["bad", "dup", "gone"]
    assert d.skipped["gone"] == "record gone: header file gone.hea is missing"
    assert d.skipped["dup"].startswith("record dup has several leads named 'MLII'")
    with pytest.raises(FileNotFoundError, match=r"record gone: header file gone\.hea is "
                                                r"missing\. To leave such records out"):
        load_wfdb_database(db, leads="MLII", records=["gone", "100"])


def test_every_record_skipped_says_so(db):
    for name in ("100", "101"):
        (db / f"{name}.hea").write_text("garbage\n")
    with pytest.raises(ValueError, match=r"^no record could be used: all 2 were skipped"):
        load_wfdb_database(db, on_error="skip")


def test_a_header_without_signals_is_a_value_error(tmp_path):
    (tmp_path / "empty.hea").write_text("empty 0 250 1000\n")
    with pytest.raises(ValueError, match="record empty: its header lists no signals"):
        load_wfdb_database(tmp_path, annotator=None)


def test_duplicate_lead_names_are_taken_by_position(tmp_path):
    _write(tmp_path, "twin", 100, 2000, ["ECG", "ECG2"])
    _rename_leads(tmp_path, "twin", ["ECG", "ECG"])
    d = load_wfdb_database(tmp_path, annotator=None)
    assert d.signals.shape == (2, 2, 1000) and d.lead_names == ["ECG", "ECG"]


def test_nested_records_files_and_a_self_listing_one(tmp_path):
    sub = tmp_path / "p01"
    sub.mkdir()
    _write(sub, "100", 100, 2000, ["I"])
    _write(sub, "101", 100, 2000, ["I"])
    (sub / "RECORDS").write_text("100\n101\n")
    (tmp_path / "RECORDS").write_text("p01/\n")
    d = load_wfdb_database(tmp_path, annotator=None)
    assert sorted(set(d.record)) == ["p01/100", "p01/101"]
    assert d.groups.tolist() == ["p01/100"] * 2 + ["p01/101"] * 2
    (tmp_path / "RECORDS").write_text("./\n")  # lists its own folder: bounded, then named
    with pytest.raises(FileNotFoundError, match=r"header file \./\./\./\./\.hea is missing"):
        load_wfdb_database(tmp_path, annotator=None)


def test_rhythm_present_but_every_window_dropped_gets_the_general_hint(tmp_path):
    _write(tmp_path, "r", 100, 2000, ["I"],
           ann=[(0, "+", "(N"), (500, "+", "(AFIB"), (1500, "+", "(N")])
    with pytest.raises(ValueError, match=r"all dropped .*Use a shorter window_s, another "
                                         r"label mode, or annotator=None"):
        load_wfdb_database(tmp_path)


# ------------------------------------------------ edges found by the mutation check
def test_a_record_one_sample_short_of_two_windows_gives_one_window_and_no_drop(tmp_path):
    _write(tmp_path, "r", 100, 1999, ["I"])
    d = load_wfdb_database(tmp_path, annotator=None, window_s=10)
    assert d.signals.shape == (1, 1, 1000)
    assert "1 candidate window(s), 1 kept, 0 dropped." in d.DESCR
    _write(tmp_path, "r", 100, 2000, ["I"])
    assert load_wfdb_database(tmp_path, annotator=None, window_s=10).signals.shape[0] == 2


def test_the_skip_warning_points_at_the_callers_line(db):
    (db / "101.hea").write_text("garbage\n")
    with pytest.warns(UserWarning, match=r"1 record\(s\) skipped") as caught:
        load_wfdb_database(db, on_error="skip")
    skipped = [w for w in caught if "skipped" in str(w.message)]
    assert skipped
    # mutmut (benchmarks/run_mutation.py) runs a copy under mutants/ and calls the loader
    # through a trampoline one frame deeper, which the warning then names
    if "mutants" not in Path(_wfdb.__file__).parts:
        assert all(w.filename == __file__ for w in skipped)


def test_leads_by_position_are_listed_only_when_records_name_them_differently(db):
    # 100 has MLII, V1 and 101 has V1, MLII: lead 0 is MLII in one and V1 in the other
    d = load_wfdb_database(db, annotator=None, leads=[0], fs=250)
    assert "(chosen by channel position" in d.DESCR
    d = load_wfdb_database(db, annotator=None, leads=[0], fs=250, records=["100"])
    assert "chosen by channel position" not in d.DESCR


def test_a_database_in_one_sub_folder_is_found_by_its_records_file(tmp_path):
    sub = tmp_path / "mydb-1.0.0"
    sub.mkdir()
    _write(sub, "100", 100, 2000, ["I"])
    (sub / "RECORDS").write_text("100\n")
    d = load_wfdb_database(tmp_path, annotator=None)
    assert set(d.record) == {"100"} and f"Source: {tmp_path}" in d.DESCR


def test_an_archive_is_unpacked_under_data_home_wfdb(db, tmp_path):
    archive = tmp_path / "db.zip"
    shutil.make_archive(str(tmp_path / "db"), "zip", db)
    home = tmp_path / "cache"
    d = load_wfdb_database(archive, annotator=None, data_home=home)
    (unpacked,) = (home / "wfdb").iterdir()
    assert f"(unpacked to {unpacked})" in d.DESCR
    np.testing.assert_array_equal(d.signals, load_wfdb_database(db, annotator=None).signals)


def test_bytes_after_the_last_sample_do_not_lengthen_the_record(tmp_path):
    _write(tmp_path, "r", 100, 2000, ["I"])
    with open(tmp_path / "r.dat", "ab") as f:
        f.write(b"\0" * 2000)  # 1,000 more format-16 samples than the header says
    d = load_wfdb_database(tmp_path, annotator=None)
    assert d.signals.shape == (2, 1, 1000)


def test_a_shared_signal_file_is_found_after_a_multi_segment_record(db):
    for seg in ("ms_1", "ms_2"):
        _write(db, seg, 250, 2500, ["MLII", "V1"])
    (db / "ms.hea").write_text("ms/2 2 250 5000\nms_1 2500\nms_2 2500\n")
    (db / "RECORDS").write_text("ms\n100\n101\n")
    hea = db / "101.hea"
    hea.write_text(hea.read_text().replace("101.dat", "100.dat"))
    with pytest.raises(ValueError, match="record 101: its header 101.hea names the signal "
                                         "file 100.dat, which is record 100's file"):
        load_wfdb_database(db, annotator=None)
