import os
import tarfile
import threading
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from sklearn_biodiff.datasets import _physionet2017 as pn
from sklearn_biodiff.datasets import (
    binary_task,
    fetch_physionet2017,
    load_cinc2017_sample,
    load_physionet2017,
    make_synthetic_ecg,
)
from sklearn_biodiff.datasets._archive import unpack_archive_once

PKG_DATA = Path(pn.__file__).parent / "data" / "cinc2017_sample.npz"


def test_sample_is_small_real_and_stratified(sample):
    assert PKG_DATA.stat().st_size <= 5 * 2**20
    assert len(sample.signals) == 280
    assert Counter(sample.target.tolist()) == {"N": 100, "A": 60, "O": 80, "~": 40}
    assert sample.fs == 300
    assert all(s.dtype == np.float32 and s.ndim == 1 for s in sample.signals)
    lengths = [len(s) for s in sample.signals]
    assert min(lengths) >= 2714 and max(lengths) <= 18286
    assert len(set(lengths)) > 10  # ragged, real lengths
    assert "ODC-By" in sample.DESCR and "Clifford" in sample.DESCR
    assert all(r.startswith("A") for r in sample.record_ids)
    np.testing.assert_array_equal(sample.groups, np.arange(280))
    X, y = load_cinc2017_sample(return_X_y=True)
    assert len(X) == len(y) == 280


def _write_fake_training(root: Path, n=4, labels=("N", "A", "O", "~")):
    """A tiny folder in the challenge layout: WFDB headers + MATLAB v4 signals."""
    from scipy.io import savemat

    root.mkdir(parents=True)
    names = [f"A{i:05d}" for i in range(1, n + 1)]
    rng = np.random.RandomState(0)
    for name in names:
        counts = np.round(rng.randn(900) * 500).astype(np.int16)
        savemat(root / f"{name}.mat", {"val": counts[None, :]}, format="4")
        (root / f"{name}.hea").write_text(
            f"{name} 1 300 900 05:05:15 1/05/2000 \n"
            f"{name}.mat 16+24 1000/mV 16 0 {counts[0]} 0 0 ECG \n"
        )
    (root / "RECORDS").write_text("\n".join(names) + "\n")
    lab = "\n".join(f"{n},{labels[i % len(labels)]}" for i, n in enumerate(names))
    (root / "REFERENCE-v3.csv").write_text(lab + "\n")
    (root / "REFERENCE.csv").write_text(lab + "\n")
    return names


@pytest.fixture
def fake_root(tmp_path):
    root = tmp_path / "training2017"
    names = _write_fake_training(root)
    return root, names


def test_load_folder(fake_root, tmp_path):
    root, names = fake_root
    data = load_physionet2017(root, data_home=tmp_path / "cache")
    assert list(data.record_ids) == names
    assert list(data.target) == ["N", "A", "O", "~"]
    assert all(s.dtype == np.float32 and len(s) == 900 for s in data.signals)
    assert 0.3 < np.std(data.signals[0]) < 0.7  # counts / 1000 = mV
    assert data.fs == 300 and "ODC-By" in data.DESCR
    # the parent folder works too, and so does n_jobs
    data2 = load_physionet2017(root.parent, n_jobs=2)
    np.testing.assert_array_equal(data.signals[2], data2.signals[2])
    X, y = load_physionet2017(root, return_X_y=True)
    assert len(X) == len(y) == 4


def test_load_archive_unpacks_once_and_concurrently(fake_root, tmp_path):
    root, _ = fake_root
    archive = tmp_path / "cinc.tar.xz"
    with tarfile.open(archive, "w:xz") as tf:
        tf.add(root, arcname="training2017")
    home = tmp_path / "home"
    results, errors = [], []

    def work():
        try:
            results.append(load_physionet2017(archive, data_home=home))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 3
    unpacked = [p for p in (home / "physionet2017").iterdir()]
    assert len(unpacked) == 1 and not unpacked[0].name.startswith(".")
    mtime = os.stat(unpacked[0]).st_mtime_ns
    load_physionet2017(archive, data_home=home)
    assert os.stat(unpacked[0]).st_mtime_ns == mtime  # not unpacked again


def test_interrupted_unpack_is_replaced(fake_root, tmp_path):
    root, _ = fake_root
    archive = tmp_path / "cinc.tar"
    with tarfile.open(archive, "w") as tf:
        tf.add(root, arcname="training2017")
    home = tmp_path / "home"
    target = unpack_archive_once(archive, "x", data_home=home)
    (target / ".complete").unlink()
    (target / "training2017" / "A00001.mat").unlink()
    target2 = unpack_archive_once(archive, "x", data_home=home)
    assert target2 == target and (target / "training2017" / "A00001.mat").exists()


def test_missing_record_file_is_named(fake_root):
    root, _ = fake_root
    (root / "A00003.mat").unlink()
    with pytest.raises(FileNotFoundError, match="A00003"):
        load_physionet2017(root)


def test_truncated_record_is_named(fake_root):
    root, _ = fake_root
    mat = root / "A00002.mat"
    mat.write_bytes(mat.read_bytes()[:200])
    with pytest.raises(ValueError, match="A00002"):
        load_physionet2017(root)


def test_unlabeled_record_and_bad_labels(fake_root):
    root, _ = fake_root
    (root / "REFERENCE-v3.csv").write_text("A00001,N\nA00002,A\n")
    with pytest.raises(ValueError, match="no label.*A00003"):
        load_physionet2017(root)
    with pytest.raises(ValueError, match="labels must be"):
        load_physionet2017(root, labels="v2")
    (root / "REFERENCE.csv").write_text("A00001,X\n")
    with pytest.raises(ValueError, match="unknown label 'X'"):
        load_physionet2017(root, labels="original")


def test_no_path_and_bad_path(monkeypatch, tmp_path):
    monkeypatch.delenv(pn.ENV_PATH, raising=False)
    with pytest.raises(ValueError, match="SKLEARN_BIODIFF_CINC2017"):
        load_physionet2017()
    with pytest.raises(FileNotFoundError):
        load_physionet2017(tmp_path / "nope")
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(ValueError, match="archive"):
        load_physionet2017(tmp_path / "f.txt")
    with pytest.raises(FileNotFoundError, match="RECORDS"):
        load_physionet2017(tmp_path)


def test_fetch_offline_fails_fast_with_hint(monkeypatch, tmp_path):
    monkeypatch.setattr(pn, "_physionet_reachable", lambda timeout=3.0: False)
    with pytest.raises(ConnectionError, match="load_physionet2017\\(path="):
        fetch_physionet2017(data_home=tmp_path)


def test_binary_tasks():
    y = np.array(["N", "A", "O", "~", "N"])
    idx, yb = binary_task(y)
    np.testing.assert_array_equal(idx, [0, 1, 2, 4])
    np.testing.assert_array_equal(yb, [0, 1, 1, 0])
    idx, yb = binary_task(y, "af_vs_rest")
    np.testing.assert_array_equal(idx, np.arange(5))
    np.testing.assert_array_equal(yb, [0, 1, 0, 0, 0])
    with pytest.raises(ValueError, match="task must be"):
        binary_task(y, "foo")
    with pytest.raises(ValueError, match="unknown CinC"):
        binary_task(["Q"])


def test_synthetic_is_deterministic_ragged_and_two_class():
    X1, y1 = make_synthetic_ecg(20, fs=250, random_state=3)
    X2, y2 = make_synthetic_ecg(20, fs=250, random_state=3)
    assert set(y1) == {0, 1}
    np.testing.assert_array_equal(y1, y2)
    for a, b in zip(X1, X2):
        np.testing.assert_array_equal(a, b)
    lengths = [len(x) for x in X1]
    assert len(set(lengths)) > 1 and min(lengths) >= 9 * 250
    # irregular records have more variable beat-to-beat spacing
    from scipy.signal import find_peaks

    def rr_cv(x):
        pk, _ = find_peaks(x, height=0.6, distance=50)
        rr = np.diff(pk)
        return rr.std() / rr.mean()

    cv = np.array([rr_cv(x) for x in X1])
    assert cv[y1 == 1].mean() > 3 * cv[y1 == 0].mean()


@pytest.mark.data
def test_full_archive_counts(cinc2017_archive, tmp_path_factory):
    import time

    t0 = time.perf_counter()
    data = load_physionet2017(cinc2017_archive, n_jobs=2)
    elapsed = time.perf_counter() - t0
    assert len(data.signals) == 8528
    assert Counter(data.target.tolist()) == {"N": 5076, "A": 758, "O": 2415, "~": 279}
    orig = load_physionet2017(cinc2017_archive, labels="original", return_X_y=True)[1]
    assert Counter(orig.tolist()) == {"N": 5050, "A": 738, "O": 2456, "~": 284}
    lengths = [len(s) for s in data.signals]
    assert min(lengths) == 2714 and max(lengths) == 18286
    print(f"load_physionet2017: {elapsed:.1f} s")


# --- exact behaviour (written to kill surviving mutants of benchmarks/run_mutation.py;
# see benchmarks/results/mutation.json) ---------------------------------------------


def test_documented_defaults_are_the_defaults():
    from _doc_defaults import assert_documented_defaults

    from sklearn_biodiff.datasets import load_wfdb_database

    for obj in (make_synthetic_ecg, load_physionet2017, load_cinc2017_sample,
                load_wfdb_database, unpack_archive_once):
        assert assert_documented_defaults(obj) >= 1, obj


def test_descr_counts_lengths_and_source(fake_root):
    root, _ = fake_root
    (root / "REFERENCE-v3.csv").write_text("A00001,N\nA00002,N\nA00003,A\nA00004,O\n")
    data = load_physionet2017(root)
    assert f"Source: {root}\n" in data.DESCR
    assert "Labels: REFERENCE-v3.csv (v3); N 2, A 1, O 1, ~ 0." in data.DESCR
    assert "Lengths 900-900 samples\n(3.0-3.0 s), median 900." in data.DESCR
    assert data.target_names.tolist() == ["N", "A", "O", "~"]
    assert load_cinc2017_sample().target_names.tolist() == ["N", "A", "O", "~"]


def test_a_record_at_another_rate_is_refused(fake_root):
    root, _ = fake_root
    hea = root / "A00002.hea"
    hea.write_text(hea.read_text().replace(" 300 900 ", " 250 900 "))
    with pytest.raises(ValueError, match="record A00002 is sampled at 250 Hz, expected 300 Hz"):
        load_physionet2017(root)


def test_fetch_loads_an_earlier_download_without_the_network(fake_root, tmp_path,
                                                              monkeypatch):
    root, names = fake_root
    download = tmp_path / "home" / "physionet2017" / "download"
    download.mkdir(parents=True)
    root.rename(download / "training2017")
    monkeypatch.setattr(pn, "_physionet_reachable", lambda timeout=3.0: False)
    data = fetch_physionet2017(data_home=tmp_path / "home")
    assert list(data.record_ids) == names


def test_data_home_from_argument_environment_or_home(tmp_path, monkeypatch):
    from sklearn_biodiff.datasets._archive import get_data_home

    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.delenv("SKLEARN_BIODIFF_DATA", raising=False)
    assert get_data_home() == tmp_path / "user" / ".cache" / "sklearn_biodiff"
    assert get_data_home().is_dir()
    monkeypatch.setenv("SKLEARN_BIODIFF_DATA", str(tmp_path / "env"))
    assert get_data_home() == tmp_path / "env"
    assert get_data_home(tmp_path / "arg") == tmp_path / "arg"


def _zip(path, sizes):
    import zipfile

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for i, n in enumerate(sizes):
            zf.writestr(f"f{i}.bin", b"x" * n)
    return path


def test_unpack_caps_are_inclusive_and_count_every_member(tmp_path):
    archive = _zip(tmp_path / "a.zip", [600, 500])  # 1,100 bytes in two members
    unpack_archive_once(archive, "ok", data_home=tmp_path / "h", max_bytes=1100)  # at the cap
    with pytest.raises(ValueError, match=r"expands to more than 1099 bytes \(max_bytes: "):
        unpack_archive_once(archive, "big", data_home=tmp_path / "h", max_bytes=1099)
    with pytest.raises(ValueError, match=r"expands to more than \d+ bytes \(max_ratio: "):
        unpack_archive_once(archive, "ratio", data_home=tmp_path / "h", max_ratio=0.5)
    assert not list((tmp_path / "h" / "big").iterdir())  # nothing left behind


def test_tar_members_cannot_escape_the_cache(tmp_path):
    import io

    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as tf:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 3
        tf.addfile(info, io.BytesIO(b"bad"))
    with pytest.raises(ValueError, match="cannot unpack"):
        unpack_archive_once(archive, "evil", data_home=tmp_path / "h")
    assert not list(tmp_path.rglob("escaped.txt"))


def test_synthetic_beat_is_a_pqrst_complex():
    from sklearn_biodiff.datasets._synthetic import _beat

    at = dict(zip("PQRST", _beat(np.array([-0.2, -0.03, 0.0, 0.03, 0.25]))))
    assert at["R"] == pytest.approx(1.0, abs=0.05)  # mV
    assert at["P"] == pytest.approx(0.15, abs=0.02) and at["T"] == pytest.approx(0.3, abs=0.02)
    assert -0.15 < at["Q"] < 0 and -0.3 < at["S"] < -0.15
    t = np.linspace(-0.4, 0.5, 901)
    assert abs(_beat(t[[0, -1]])).max() < 0.01  # back to baseline at both ends
    assert t[np.argmax(_beat(t))] == pytest.approx(0.0, abs=1e-3)


def test_synthetic_rhythm_classes_weights_and_missing_p_wave():
    from scipy.signal import find_peaks

    X, y = make_synthetic_ecg(40, min_seconds=20, max_seconds=20, noise_std=0.0,
                              random_state=1)
    cvs, p_waves = [], []
    for x in X:
        pk, _ = find_peaks(x, height=0.6, distance=60)
        rr = np.diff(pk)
        cvs.append(rr.std() / rr.mean())
        p_waves.append(np.mean([x[k - 60] - x[k - 100] for k in pk if k >= 100]))
    cvs, p_waves = np.array(cvs), np.array(p_waves)
    assert cvs[y == 0].max() < 0.05 and cvs[y == 1].min() > 0.1  # 2% jitter vs 25%
    # the P wave (0.2 s = 60 samples before R) stands out in class 0 only
    assert p_waves[y == 0].min() > 0.08 and abs(p_waves[y == 1]).max() < 0.06
    _, y = make_synthetic_ecg(200, min_seconds=1, max_seconds=1, weights=(0.9, 0.1),
                              random_state=0)
    assert 0.8 < np.mean(y == 0) < 0.97


# ------------------------------------------------ edges found by the mutation check
def test_the_physionet_zip_as_distributed_loads(fake_root, tmp_path):
    import shutil

    root, names = fake_root
    archive = shutil.make_archive(str(tmp_path / "training2017"), "zip", root.parent,
                                  "training2017")
    data = load_physionet2017(archive, data_home=tmp_path / "home")
    assert list(data.record_ids) == names
    assert data.signals.fs == 300  # the SignalList carries its rate


def test_training2017_is_preferred_over_other_sub_folders(fake_root, tmp_path):
    root, names = fake_root
    _write_fake_training(tmp_path / "a_backup", n=2)  # sorts before training2017
    data = load_physionet2017(tmp_path)
    assert list(data.record_ids) == names


def test_empty_archive_members_count_no_bytes(tmp_path):
    import zipfile

    archive = tmp_path / "empty.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("dir/", b"")
        for i in range(3):
            zf.writestr(f"dir/f{i}.txt", b"")
    target = unpack_archive_once(archive, "e", data_home=tmp_path / "h", max_bytes=1)
    assert len(list((target / "dir").iterdir())) == 3


@pytest.mark.parametrize("cap", ["max_bytes", "max_members", "max_ratio"])
def test_a_boolean_cap_is_refused(tmp_path, cap):
    archive = _zip(tmp_path / "a.zip", [10])
    with pytest.raises(ValueError, match=f"{cap} must be a positive number, got True"):
        unpack_archive_once(archive, "b", data_home=tmp_path / "h", **{cap: True})


def test_a_folder_whose_completeness_check_fails_to_read_is_unpacked_again(tmp_path):
    archive = _zip(tmp_path / "a.zip", [10])
    target = unpack_archive_once(archive, "c", data_home=tmp_path / "h")
    (target / "mine.txt").write_text("not from the archive")

    def unreadable(path):
        raise PermissionError("cannot read")

    assert unpack_archive_once(archive, "c", data_home=tmp_path / "h",
                               is_complete=unreadable) == target
    assert not (target / "mine.txt").exists() and (target / "f0.bin").is_file()


def test_an_interrupted_unpack_is_moved_aside_within_the_cache(tmp_path, monkeypatch):
    import tempfile

    archive = _zip(tmp_path / "a.zip", [10])
    target = unpack_archive_once(archive, "d", data_home=tmp_path / "h")
    (target / ".complete").unlink()
    # never through the system temporary folder (another file system: rename fails)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no_such_folder"))
    assert unpack_archive_once(archive, "d", data_home=tmp_path / "h") == target
    assert (target / ".complete").is_file()
    assert [p.name for p in target.parent.iterdir()] == [target.name]


def test_sample_descr_states_the_class_counts():
    sample = load_cinc2017_sample()  # not the session fixture: mutmut maps tests by call
    counts = Counter(sample.target.tolist())
    assert (f"not proportional: N {counts['N']}, A {counts['A']}, O {counts['O']}, "
            f"~ {counts['~']})") in sample.DESCR


def test_synthetic_lengths_fill_the_documented_default_range():
    X, _ = make_synthetic_ecg(200, fs=100, random_state=0)
    seconds = np.array([len(x) for x in X]) / 100
    assert seconds.min() >= 9.0 and seconds.max() <= 30.0
    assert seconds.min() < 9.5 and seconds.max() > 29.5  # uniform over [9, 30] s


def test_synthetic_one_record_is_allowed():
    X, y = make_synthetic_ecg(1)
    assert len(X) == len(y) == 1
    with pytest.raises(ValueError, match="n_records must be >= 1, got 0"):
        make_synthetic_ecg(0)


def test_synthetic_baseline_wander_is_between_0_1_and_0_4_hz():
    fs = 100.0
    X, _ = make_synthetic_ecg(20, fs=fs, min_seconds=60, max_seconds=60, noise_std=0.0,
                              weights=(1, 0), random_state=0)
    for x in X:
        power = np.abs(np.fft.rfft(x - x.mean())) ** 2
        freqs = np.fft.rfftfreq(len(x), 1 / fs)
        below_heart_rate = (freqs >= 0.05) & (freqs <= 0.95)  # 70 bpm is 1.17 Hz
        peak = freqs[below_heart_rate][np.argmax(power[below_heart_rate])]
        assert 0.1 - 1 / 60 <= peak <= 0.4 + 1 / 60  # within one frequency bin
