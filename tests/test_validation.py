import re

import numpy as np
import pytest

from sklearn_biodiff._validation import (
    check_fs,
    check_signals,
    check_signals_and_labels,
    record_lengths,
)


def test_2d_stays_2d_float32():
    X = check_signals(np.arange(12, dtype=np.int64).reshape(3, 4))
    assert isinstance(X, np.ndarray) and X.dtype == np.float32 and X.shape == (3, 4)


def test_ragged_becomes_list():
    X = check_signals([np.zeros(5), [1, 2, 3], np.ones(7)])
    assert isinstance(X, list)
    assert [len(x) for x in X] == [5, 3, 7]
    assert all(x.dtype == np.float32 for x in X)
    np.testing.assert_array_equal(record_lengths(X), [5, 3, 7])


def test_object_array_of_records_is_ragged():
    arr = np.empty(2, dtype=object)
    arr[0], arr[1] = np.zeros(3), np.zeros(4)
    assert [len(x) for x in check_signals(arr)] == [3, 4]


def test_torch_tensor_accepted():
    import torch

    X = check_signals(torch.zeros(2, 5))
    assert X.shape == (2, 5)


@pytest.mark.parametrize(
    ("X", "match"),
    [
        ([], "0 records"),
        (np.zeros((0, 5)), "0 records"),
        (np.zeros((2, 0)), "length 0"),
        (np.zeros(5), "1 dimension"),
        (np.zeros((2, 3, 4, 5)), "4 dimension"),
        (np.zeros((2, 0, 4)), "0 leads"),
        (np.zeros((2, 3, 0)), "length 0"),
        (np.zeros((2, 3, 4)) + [[[0, 0, 0, np.nan]]], "NaN"),
        ([np.zeros(3), np.zeros(0)], "record 1 has length 0"),
        ([np.zeros(3), np.array([1.0, np.nan])], "record 1 contains NaN"),
        ([np.zeros(3), np.array([1.0, np.inf])], "record 1 contains NaN or inf"),
        (np.array([[0.0, np.nan]]), "NaN"),
        ([["a", "b"]], "record 0 is not numeric"),
        ([np.zeros((3, 3, 3))], "record 0 has shape"),
        ([1.0, 2.0], "scalar"),
        ([np.zeros(3) + 1j], "complex"),
    ],
)
def test_bad_input_messages(X, match):
    with pytest.raises(ValueError, match=match):
        check_signals(X)


def test_too_short_names_record_and_minimum():
    with pytest.raises(ValueError, match=r"record 1 has 3 sample\(s\).*at least 10"):
        check_signals([np.zeros(20), np.zeros(3)], min_length=10, what="X")
    with pytest.raises(ValueError, match=r"n_features=3.*at least 10"):
        check_signals(np.zeros((2, 3)), min_length=10)


def test_labels_checked():
    X = [np.zeros(4)] * 3
    with pytest.raises(ValueError, match="3 records but y has 2"):
        check_signals_and_labels(X, [0, 1])
    with pytest.raises(ValueError, match="at least 2 classes"):
        check_signals_and_labels(X, [1, 1, 1], min_classes=2)
    with pytest.raises(ValueError, match="1-D array"):
        check_signals_and_labels(X, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="target y is None"):
        check_signals_and_labels(X, None)
    _, y = check_signals_and_labels(X, ["a", "b", "a"], min_classes=2)
    assert list(y) == ["a", "b", "a"]


@pytest.mark.parametrize("fs", [0, -1, np.nan, "300", True])
def test_bad_fs(fs):
    with pytest.raises(ValueError, match="sampling rate"):
        check_fs(fs)


@pytest.fixture
def wfdb_record(tmp_path):
    import wfdb

    wfdb.wrsamp("r", fs=360, units=["mV", "mV"], sig_name=["MLII", "V1"],
                p_signal=np.random.default_rng(0).normal(size=(720, 2)), fmt=["16", "16"],
                write_dir=str(tmp_path))
    return wfdb.rdrecord(str(tmp_path / "r"))


def test_wfdb_record_says_what_to_pass_before_any_fs_check(wfdb_record):
    from sklearn_biodiff.preprocessing import Resample

    # the record has fs=360: the type error must come before the rate mismatch error
    with pytest.raises(TypeError, match=r"X is a wfdb\.Record, not signals; pass its samples "
                                        r"as an array of records: \[record\.p_signal\[:, i\]\]"
                                        r".*load_wfdb_database\(folder\)\.signals"):
        Resample(orig_fs=300, target_fs=100).fit(wfdb_record)
    with pytest.raises(TypeError, match="X is a wfdb.Record"):
        check_signals(wfdb_record)


@pytest.mark.parametrize("make, match", [
    (lambda rec, p: str(p / "r.dat"), r"X is a file path \('.*r\.dat'\), not signals"),
    (lambda rec, p: p / "r.dat", r"X is a file path \(PosixPath"),
    (lambda rec, p: ["100", "101"], r"X is a list of file paths or record names \(first: "
                                    "'100'\\)"),
    (lambda rec, p: rec.to_dataframe(), r"X is a pandas DataFrame indexed by time "
                                        r"\(TimedeltaIndex, 720 rows x 2 columns\): one "
                                        "recording with time samples in rows"),
])
def test_paths_and_time_indexed_frames_say_what_to_pass(wfdb_record, tmp_path, make, match):
    pytest.importorskip("pandas")
    with pytest.raises(TypeError, match=match):
        check_signals(make(wfdb_record, tmp_path))


def test_nested_frames_are_rejected_and_plain_frames_accepted():
    pd = pytest.importorskip("pandas")

    with pytest.raises(TypeError, match="DataFrame whose cells hold arrays; pass a list"):
        check_signals(pd.DataFrame({"ecg": [np.zeros(5), np.zeros(6)]}))
    # (n_records, n_samples) frames, as set_output(transform="pandas") produces, still work
    X = check_signals(pd.DataFrame(np.ones((3, 4))))
    assert X.shape == (3, 4)


# ----------------------------------------------------------------- the shape rule
def test_shape_rule_layouts_and_lead_counts():
    from sklearn_biodiff._validation import has_lead_axis, n_leads

    cases = {  # input -> (has a lead axis, leads, record lengths)
        "2-D": (np.zeros((3, 8)), False, 1, [8, 8, 8]),
        "(n, 1, t)": (np.zeros((3, 1, 8)), True, 1, [8, 8, 8]),
        "(n, 2, t)": (np.zeros((3, 2, 8)), True, 2, [8, 8, 8]),
        "ragged 1-D": ([np.zeros(8), np.zeros(5)], False, 1, [8, 5]),
        "ragged (c, t_i)": ([np.zeros((2, 8)), np.zeros((2, 5))], True, 2, [8, 5]),
        "1-D and (1, t) mixed": ([np.zeros(8), np.zeros((1, 5))], True, 1, [8, 5]),
    }
    for name, (X, lead_axis, c, lengths) in cases.items():
        V = check_signals(X)
        assert has_lead_axis(V) is lead_axis, name
        assert n_leads(V) == c, name
        np.testing.assert_array_equal(record_lengths(V), lengths, err_msg=name)
    ragged = check_signals([np.zeros(8), np.zeros((1, 5))])
    assert [r.shape for r in ragged] == [(1, 8), (1, 5)]  # a 1-D record is one lead


def test_ragged_records_must_share_their_leads():
    with pytest.raises(ValueError, match=r"record 1 has 3 lead\(s\) but record 0 has 2; "
                                         "every record needs the same leads"):
        check_signals([np.zeros((2, 50)), np.zeros((3, 50))])
    with pytest.raises(ValueError, match=r"record 0 has 1 lead\(s\) but record 1 has 2"):
        check_signals([np.zeros(50), np.zeros((2, 50))])


@pytest.mark.parametrize(("X", "where"), [
    (np.zeros((4, 500, 2)), "X has shape (4, 500, 2): 500 leads of 2 sample(s)"),
    ([np.zeros((500, 2))], "record 0 has shape (500, 2): 500 leads of 2 sample(s)"),
    ([np.zeros((7, 1))], "record 0 has shape (7, 1): 7 leads of 1 sample(s)"),
])
def test_time_major_input_is_refused_as_transposed(X, where):
    with pytest.raises(ValueError, match=re.escape(where) + ".*looks transposed"):
        check_signals(X)


def test_flatten_and_unflatten_leads_are_inverse():
    from sklearn_biodiff._validation import flatten_leads, unflatten_leads

    X3 = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    flat = flatten_leads(X3)
    assert flat.shape == (6, 4)
    np.testing.assert_array_equal(flat[4], X3[1, 1])  # record-major
    np.testing.assert_array_equal(unflatten_leads(flat, 3, True), X3)
    rag = check_signals([np.ones((2, 5)), np.zeros((2, 3))])
    flat = flatten_leads(rag)
    assert [len(r) for r in flat] == [5, 5, 3, 3]
    back = unflatten_leads(flat, 2, True)
    assert [r.shape for r in back] == [(2, 5), (2, 3)]
    X2 = np.zeros((3, 4))
    assert flatten_leads(X2) is X2 and unflatten_leads(X2, 1, False) is X2
    # equal-length ragged input packs into an array, with its lead axis
    assert unflatten_leads([np.zeros(4)] * 4, 2, True).shape == (2, 2, 4)


def test_check_n_leads_names_both_counts():
    from sklearn_biodiff._validation import check_n_leads

    class Est:
        pass

    est = Est()
    check_n_leads(est, np.zeros((3, 8)), reset=False)  # unfitted: not checked
    check_n_leads(est, check_signals(np.zeros((3, 2, 8))), reset=True)
    assert est.n_leads_in_ == 2
    with pytest.raises(ValueError, match=r"X has 1 lead\(s\), but Est was fitted on 2 "
                                         r"lead\(s\)"):
        check_n_leads(est, np.zeros((3, 8)), reset=False)
