"""WFDB databases with hostile headers: every read bounded by what is on disk.

Headers are written by ``wfdb.wrsamp`` and then edited, as an attacker (or a
broken converter) would; a bad header is a per-record problem that
``on_error="skip"`` skips and reports with the field and its value, and the
allocations a header can drive are bounded (checked in a fresh process under an
address-space limit, with the real error expected).
"""

import os
import resource
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import wfdb

from sklearn_biodiff.datasets import load_wfdb_database


def _write(root, name, fs=250, n=5000):
    wfdb.wrsamp(name, fs=fs, units=["mV"], sig_name=["MLII"],
                p_signal=np.sin(np.arange(n) / 10.0)[:, None], fmt=["16"],
                write_dir=str(root))


@pytest.fixture
def db(tmp_path):
    """good (250 Hz, 20 s) and bad (to be edited), both in RECORDS."""
    root = tmp_path / "db"
    root.mkdir()
    _write(root, "good")
    _write(root, "bad")
    (root / "RECORDS").write_text("good\nbad\n")
    return root


def _set_record_line(root, name, line):
    hea = (root / f"{name}.hea").read_text().splitlines()
    hea[0] = line
    (root / f"{name}.hea").write_text("\n".join(hea) + "\n")


def _skips_bad(root, match, **kwargs):
    """Raises naming the record and field by default; with on_error='skip' the good
    record loads and the bad one is reported."""
    with pytest.raises(ValueError, match=rf"record bad: .*{match}.*on_error='skip'"):
        load_wfdb_database(root, annotator=None, **kwargs)
    with pytest.warns(UserWarning, match="1 record\\(s\\) skipped"):
        data = load_wfdb_database(root, annotator=None, on_error="skip", **kwargs)
    assert set(data.record) == {"good"}
    assert list(data.skipped) == ["bad"]
    assert match.replace("\\", "").split(".*")[0] in data.skipped["bad"].replace("\\", "")
    assert "skipped record bad" in data.DESCR


@pytest.mark.parametrize("rate", ["0", "nan", "inf", "-250", "0/1"])
def test_a_header_rate_that_is_not_positive_and_finite_is_named(db, rate):
    _set_record_line(db, "bad", f"bad 1 {rate} 5000")
    _skips_bad(db, r"sampling rate fs=.*\(field 'fs'\); it must be a positive finite")


def test_a_rate_too_low_for_one_sample_per_window_is_named(db):
    _set_record_line(db, "bad", "bad 1 0.0001 5000")
    _skips_bad(db, "window_s=10 s and step_s=10 s must each hold at least one sample",
               fs=250.0)


def test_a_rate_beyond_the_resampling_range_is_named(db):
    _set_record_line(db, "bad", "bad 1 0.2 5000")
    _skips_bad(db, r"cannot be resampled to fs=250 Hz \(a factor of 1,250, beyond 1000\)",
               fs=250.0)
    _set_record_line(db, "bad", "bad 1 0.01 5000")
    _skips_bad(db, "must each hold at least one sample", fs=250.0)


def test_a_fractional_rate_within_the_range_is_resampled(db):
    # regression (review): the check compared the fraction's terms (2333:936), not the
    # factor (2.49), and refused a record at 100.3 Hz
    _set_record_line(db, "bad", "bad 1 100.3 5000")
    data = load_wfdb_database(db, annotator=None, fs=250.0, window_s=10)
    assert set(data.record) == {"good", "bad"}


def test_segments_and_layouts_without_a_length_are_named_not_crashed(db):
    # regression (review): a layout header without its length formatted None with ','
    _write(db, "s1", n=3000)
    (db / "bad_layout.hea").write_text(
        "bad_layout 1 250\nbad_layout.dat 16 200/mV 16 0 0 0 0 MLII\n")
    (db / "bad_layout.dat").write_bytes(b"")
    (db / "bad.hea").write_text("bad/2 1 250 3000\nbad_layout 0\ns1 3000\n")
    data = load_wfdb_database(db, annotator=None, window_s=4)
    assert set(data.record) == {"good", "bad"}
    (db / "s1.hea").write_text("s1 1 250\ns1.dat 16 200/mV 16 0 0 0 0 MLII\n")
    _skips_bad(db, "its segment s1 has None samples in its own header, 3,000")


def test_a_compressed_format_claiming_more_than_its_bytes_is_named(db):
    (db / "bad.hea").write_text("bad 1 250 1000000000000\nbad.dat 508 200/mV 16 0 0 0 0 MLII\n")
    _skips_bad(db, r"claims 1,000,000,000,000 samples .* \(format 508\), far more than its "
                   r"10,000 bytes can hold \(field 'sig_len'\)")


def test_a_multi_segment_header_is_checked_segment_by_segment(db):
    _write(db, "s1", n=3000)
    _write(db, "s2", n=3000)
    (db / "bad.hea").write_text("bad/2 1 250 6000\ns1 3000\ns2 3000\n")
    (db / "RECORDS").write_text("good\nbad\n")
    assert set(load_wfdb_database(db, annotator=None, window_s=4).record) == {"good", "bad"}
    (db / "bad.hea").write_text("bad/2 1 250 1000000000000\ns1 500000000000\ns2 500000000000\n")
    _skips_bad(db, "its segment s1 has 3,000 samples in its own header, 500,000,000,000")
    (db / "s1.hea").write_text("s1 1 250 500000000000\ns1.dat 16 200/mV 16 0 0 0 0 MLII\n")
    _skips_bad(db, r"its segment s1: its signal file s1.dat is truncated or corrupted: "
                   "6000 bytes, the header needs 1000000000000")
    (db / "bad.hea").write_text("bad/2 1 250 7000\ns1 3000\ns2 3000\n")
    _write(db, "s1", n=3000)
    _skips_bad(db, r"segment lengths \(6,000 samples in all\) do not add up to its length "
                   r"\(field 'sig_len' = 7,000\)")


@pytest.mark.parametrize("entry", ["../outside/secret", "ABSOLUTE", "sub/../../outside/secret"])
def test_records_must_resolve_inside_the_database_folder(db, tmp_path, entry):
    outside = tmp_path / "outside"
    outside.mkdir()
    _write(outside, "secret")
    entry = str(outside / "secret") if entry == "ABSOLUTE" else entry
    (db / "RECORDS").write_text(f"good\n{entry}\n")
    with pytest.raises(ValueError, match="leads outside the database folder"):
        load_wfdb_database(db, annotator=None)
    with pytest.warns(UserWarning, match="skipped"):
        data = load_wfdb_database(db, annotator=None, on_error="skip")
    assert set(data.record) == {"good"} and entry in data.skipped
    with pytest.raises(ValueError, match="leads outside the database folder"):
        load_wfdb_database(db, annotator=None, records=["good", entry])


def test_an_empty_annotation_file_is_skipped_and_reported(db):
    wfdb.wrann("good", "atr", np.array([100, 1000]), symbol=["N", "N"], write_dir=str(db))
    (db / "bad.atr").write_bytes(b"")
    with pytest.raises(ValueError, match=r"record bad: annotation file bad.atr is empty"):
        load_wfdb_database(db, label="beat_majority", window_s=2)
    with pytest.warns(UserWarning, match="skipped"):
        data = load_wfdb_database(db, label="beat_majority", window_s=2, on_error="skip")
    assert "is empty (0 bytes)" in data.skipped["bad"]


def test_annotations_past_the_end_are_counted_and_reported(db):
    (db / "RECORDS").write_text("good\n")
    wfdb.wrann("good", "atr", np.array([100, 4000, 7000, 9000]), symbol=["N"] * 4,
               write_dir=str(db))
    with pytest.warns(UserWarning, match=r"2 annotation\(s\) in 1 record\(s\) lie past the end"):
        data = load_wfdb_database(db, label="beat_majority", window_s=2)
    assert "Annotations past the end of their record (ignored): 2 in 1 record(s)" in data.DESCR


_BOUNDED = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
from sklearn_biodiff.datasets import load_wfdb_database
try:
    load_wfdb_database({root!r}, annotator=None, **{kwargs!r})
    print("loaded")
except MemoryError as exc:
    print("MemoryError", exc)
except Exception as exc:
    print(type(exc).__name__, exc)
"""


def _in_bounded_process(root, limit=2 << 30, **kwargs) -> str:
    code = textwrap.dedent(_BOUNDED.format(limit=limit, root=str(root), kwargs=kwargs))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


@pytest.mark.skipif(not hasattr(resource, "RLIMIT_AS"), reason="needs RLIMIT_AS (POSIX)")
@pytest.mark.parametrize("header, kwargs, expected", [
    ("bad 1 250 1000000000000\nbad.dat 508 200/mV 16 0 0 0 0 MLII\n", {},
     "far more than its 10,000 bytes can hold"),
    ("bad/2 1 250 1000000000000\ns1 500000000000\ns2 500000000000\n", {},
     "segment s1 has 3,000 samples in its own header"),
    (None, {"fs": 1e12}, "the windows would take 37,252.9 GiB"),
    (None, {"fs": 1e6}, "cannot be resampled to fs=1e+06 Hz"),
    (None, {"window_s": 1e12}, "the windows would take"),
])
def test_hostile_headers_and_arguments_fail_clearly_within_2_gib(db, header, kwargs, expected):
    _write(db, "s1", n=3000)
    _write(db, "s2", n=3000)
    if header is not None:
        (db / "bad.hea").write_text(header)
    line = _in_bounded_process(db, on_error="raise", **kwargs)
    assert line.startswith("ValueError") and expected in line, line


def test_arguments_asking_for_more_than_the_memory_fail_before_allocating(db):
    (db / "RECORDS").write_text("good\n")
    with pytest.raises(ValueError, match=r"the windows would take [\d,.]+ GiB .* more than this "
                                         r"machine's"):
        load_wfdb_database(db, annotator=None, window_s=1e12)
    with pytest.raises(ValueError, match="the windows would take 37,252.9 GiB"):
        load_wfdb_database(db, annotator=None, fs=1e12)
    with pytest.raises(ValueError, match="cannot be resampled to fs=1e\\+06 Hz"):
        load_wfdb_database(db, annotator=None, fs=1e6)


# ---------------------------------------------------------------- the archive cache
def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_unpack_leftovers_go_once_their_process_is_gone(db, tmp_path):
    import tarfile

    from sklearn_biodiff._atomic import temporary_name
    from sklearn_biodiff.datasets._archive import sha256sum, unpack_archive_once

    archive = tmp_path / "db.tar"
    with tarfile.open(archive, "w") as tf:
        tf.add(db, arcname="db")
    target = tmp_path / "home" / "wfdb" / sha256sum(archive)[:16]
    target.parent.mkdir(parents=True)
    parts = temporary_name(target).name.split(".")
    parts[4] = str(_dead_pid())
    killed = target.parent / ".".join(parts)  # fresh: the old rule kept it for a day
    (killed / "db").mkdir(parents=True)
    (killed / "db" / "big.dat").write_bytes(b"\0" * 100_000)
    assert unpack_archive_once(archive, "wfdb", data_home=tmp_path / "home") == target
    assert not killed.exists()


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_the_unpacked_cache_follows_the_umask(db, tmp_path, umask):
    import tarfile

    from sklearn_biodiff.datasets._archive import unpack_archive_once

    archive = tmp_path / "db.tar"
    with tarfile.open(archive, "w") as tf:
        tf.add(db, arcname="db")
    old = os.umask(umask)
    try:
        target = unpack_archive_once(archive, "wfdb", data_home=tmp_path / f"home{umask}")
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == 0o777 & ~umask  # was 0o700
