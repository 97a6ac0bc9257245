"""Mutation check of the data-handling packages with mutmut (not a CI step).

Each package is mutated against its own fast test files only, so that one mutant
costs seconds: mutmut changes one operator, constant or argument at a time inside a
function and reruns the tests that call that function. A mutant *survives* when
those tests still pass. A mutant of a function that none of the selected tests
calls is counted as "no tests" (reported apart, and counted as not killed).

=================  ========================================================
package            test files (``-m "not slow and not data"``)
=================  ========================================================
noise              tests/test_noise.py, tests/test_device_noise.py
preprocessing      tests/test_preprocessing.py
model_selection    tests/test_model_selection.py, tests/test_hostile_inputs.py
datasets           tests/test_datasets.py, tests/test_wfdb.py,
                   tests/test_hostile_inputs.py
=================  ========================================================

A test file the mutated checkout does not have (``--source`` at an older commit) is
left out of that run, and the JSON lists the files that were used.

Every package is copied with the tests into a scratch directory (``--workdir``) with a
``pyproject.toml`` that holds the ``[tool.mutmut]`` section, so the repository itself
is never rewritten. Run it on one core, at low priority::

    pip install mutmut==3.8.1
    OMP_NUM_THREADS=1 SKLEARN_BIODIFF_TEST_THREADS=1 nice -n 19 \\
        python -m benchmarks.run_mutation --label after [--package noise ...]

The counts are merged into ``benchmarks/results/mutation.json`` under ``--label``
(``before`` was the run before the tests that kill the survivors were added).
Mutants that survive and are not behaviour changes (equivalent mutants) are listed in
``EQUIVALENT`` below with the reason; every other survivor is a test to write.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks._common import REPO, RESULTS, write_json

MUTMUT_VERSION = "3.8.1"

#: package -> (globs of files to mutate, test files)
PACKAGES = {
    "noise": (["sklearn_biodiff/noise/*"], ["tests/test_noise.py", "tests/test_device_noise.py"]),
    "preprocessing": (["sklearn_biodiff/preprocessing/*"], ["tests/test_preprocessing.py"]),
    "model_selection": (["sklearn_biodiff/model_selection/*"],
                        ["tests/test_model_selection.py", "tests/test_hostile_inputs.py"]),
    "datasets": (["sklearn_biodiff/datasets/*"],
                 ["tests/test_datasets.py", "tests/test_wfdb.py",
                  "tests/test_hostile_inputs.py"]),
}
#: packages mutated on a seeded random sample of their mutants, with the sample size:
#: their covering tests fit pipelines or run searches, so a full run takes hours on one
#: shared core (preprocessing is mutated in full)
SAMPLE = {"noise": 200, "datasets": 250, "model_selection": 200}
SAMPLE_SEED = 0
#: packages whose tests start processes: mutmut's main process must not run pytest itself,
#: or it reaps those processes as if they were its workers (mutmut 3.8.1 then stops with
#: a KeyError in wait_for_result). noise: under the tests of 4965b1b, children forked from
#: mutmut's main process hung in the plotting tests (no CPU, 0.7 % for minutes); children
#: of a fork server do not
FORKSERVER = {"datasets", "model_selection", "noise"}
#: tests left out of a package's run, with the reason
DESELECTED = {
    "model_selection": (
        ["test_parallel_folds_do_not_oversubscribe_torch",
         "test_study_resumes_from_sqlite_after_restart",
         "test_two_worker_processes_share_one_fresh_journal_study",
         "test_workers_started_together_on_a_fresh_sqlite_study_all_run"],
        "each starts worker processes (9-14 s); every mutant of optuna_search would rerun "
        "them, which is hours on one core"),
}

#: surviving mutants that do not change behaviour, with the reason (filled in by hand
#: after reading ``mutmut show NAME`` for each survivor)
EQUIVALENT: dict[str, str] = {}


def _equivalent(reason: str, prefix: str, *numbers: str) -> None:
    """Record mutants ``prefix + number`` as equivalent for ``reason``."""
    for n in numbers:
        EQUIVALENT[f"sklearn_biodiff.{prefix}__mutmut_{n}"] = reason


MESSAGE = ("changes only the letter case of an error message or wraps it in 'XX': "
           "same error type, every word still there (the tests match its key phrase)")
AXIS_DEFAULT = ("axis=-1, the default, is the same axis: 1 of a 2-D block, 0 of one record")
ASTYPE_NONE = "astype(None) is astype(float64)"
ASTYPE_COPY = "copy= of astype only decides whether a new array is made; same values, dtype"
_P = "preprocessing."
_equivalent("check_signals prints `what` only in its too-short message, reached only when "
            "min_length > 1; every transformer here has min_length 1, check_signals's "
            "default, so neither the name nor passing min_length changes anything",
            _P + "_base.xǁSignalTransformerǁ_validate", "12", "14", "15", "16")
_equivalent("as for SignalTransformer._validate: `what` is only printed when min_length > 1",
            _P + "_length.x_segment_records", "18", "20", "21", "22")
_equivalent(MESSAGE, _P + "_base.xǁSignalTransformerǁget_feature_names_out", "11", "12")
_equivalent(MESSAGE, _P + "_filter.xǁBandpassFilterǁ_sos", "9")
_equivalent(MESSAGE, _P + "_length.x_segment_records", "41", "42", "43")
_equivalent("scipy.signal.butter lower-cases btype and output ('BANDPASS' is 'bandpass'), "
            "and its default btype is lowpass",
            _P + "_filter.xǁBandpassFilterǁ_sos", "36", "38", "51", "53", "61", "65", "67")
_equivalent(AXIS_DEFAULT, _P + "_filter.xǁBandpassFilterǁ_filter", "22")
_equivalent(ASTYPE_NONE, _P + "_filter.xǁBandpassFilterǁ_filter", "24")
_equivalent(AXIS_DEFAULT, _P + "_resample.xǁResampleǁ_transform_2d", "8")
_equivalent(ASTYPE_COPY, _P + "_resample.x_resample_signal", "12", "14", "23")
_equivalent("fix_length's only caller, FixedLength.transform, passes crop and pad: its "
            "defaults are never used", _P + "_length.x_fix_length", "1", "2", "3", "4")
_equivalent("a record already `length` long is returned unchanged either way (crop from 0, "
            "or a zero-width pad); with crop='random' the mutant draws randint(0, 1) = 0 for "
            "it, which shifts which draw later records get but not their distribution "
            "(no contract says which draw a record gets)",
            _P + "_length.x_fix_length", "6", "25")
_equivalent("RandomState.randint(k) draws from [0, k): the same draws as randint(0, k)",
            _P + "_length.x_fix_length", "18")
_equivalent("differs only when a spread is exactly 1e-12",
            _P + "_scale.x_standardize_records", "91", "99")
_equivalent("the fallback divisor of a constant record divides zeros (the record minus its "
            "own centre): any divisor gives zeros", _P + "_scale.x_standardize_records", "101")
_equivalent("check_signals prints `what` only in its too-short message, reached only when "
            "min_length > 1; every transformer here has min_length 1",
            _P + "_base.xǁSignalTransformerǁ_validate", "17", "18")
_equivalent("as for SignalTransformer._validate: `what` is only printed when min_length > 1",
            _P + "_length.x_segment_records", "23", "24")
_equivalent(MESSAGE, _P + "_base.xǁSignalTransformerǁget_feature_names_out", "13", "14")
_equivalent(MESSAGE, _P + "_length.x_segment_records", "47", "48", "49")
_equivalent("a record already `length` long is returned unchanged either way (crop from 0, "
            "or a zero-width pad); with crop='random' the mutant draws randint(0, 1) = 0 for "
            "it, which shifts which draw later records get but not their distribution",
            _P + "_length.x_fix_length", "8", "27")
_equivalent("RandomState.randint(k) draws from [0, k): the same draws as randint(0, k)",
            _P + "_length.x_fix_length", "20")
_N = "noise."
COSMETIC = ("cosmetic: a figure size, line width, legend placement or frame, or a progress-bar "
            "label; no plotted value, label, title or panel changes")
_equivalent("noisy minus a float64 clean is float64 whatever noisy's dtype, and float32 or "
            "integer values convert exactly", _N + "_add_noise.x_measure_snr_db", "9")
_equivalent(MESSAGE, _N + "_add_noise.x__check_snr", "27", "30")
_equivalent(MESSAGE, _N + "_robustness.x_robustness_curve", "15")
_equivalent(COSMETIC, _N + "_robustness.x_robustness_curve", "60")
_equivalent("a DataFrame indexed by column name gives Series that mask, compare and reduce "
            "like the dict's arrays, so skipping the conversion changes no result",
            _N + "_robustness.x__as_dict", "2", "12")
_equivalent("plt.subplots tests squeeze for truth: None is False",
            _N + "_robustness.x_plot_robustness_curve", "19")
_equivalent(COSMETIC, _N + "_robustness.x_plot_robustness_curve",
            "23", "118", "134", "140", "143", "154", "156")
_equivalent("the powerline phase is uniform on [0, 2 pi): its negative has the same "
            "distribution (other draws, same noise statistics)",
            _N + "_sources.x_make_noise", "95")
_equivalent("another range for the per-copy seeds ([0, 2**32 - 1) instead of [0, 2**31 - 1)): "
            "other draws of the same noise; no documented property depends on the seeds",
            _N + "_add_noise.x_augment_with_noise", "34")
_equivalent("another range for the per-cell seed: other draws of the same noise (the cells "
            "stay seeded and reproducible)", _N + "_robustness.x_robustness_curve", "81", "84")
_equivalent(COSMETIC, _N + "_robustness.x_robustness_curve", "62")
_equivalent("a DataFrame indexed by column name gives Series that mask, compare and reduce "
            "like the dict's arrays, so skipping the conversion changes no result",
            _N + "_robustness.x__as_dict", "6")
_equivalent(COSMETIC, _N + "_robustness.x_plot_robustness_curve", "30", "89", "117")
_equivalent("own_figure is only read for truth: None is False",
            _N + "_robustness.x_plot_robustness_curve", "43")
_equivalent("UNTESTED on this machine, not equivalent: np.sqrt of a CPU tensor gives the "
            "values of Tensor.sqrt (the torch path is tested in tests/test_device_noise.py); "
            "on a GPU the mutant would need a host copy and fail", _N + "_sources.x_noise_scale",
            "9")
_equivalent("UNTESTED on this machine, not equivalent: device= of a tensor made from the "
            "batch's device; on the CPU (the only device here) None is the same device, on "
            "a GPU the mutant would mix devices and fail",
            _N + "_add_noise.xǁAddNoiseǁcorrupt_batch", "53", "66")
_equivalent("UNTESTED on this machine, not equivalent: as for corrupt_batch, device=None is "
            "the CPU", _N + "_sources.x_make_noise_torch", "53", "84", "88", "90")
_equivalent(MESSAGE, _N + "_add_noise.xǁAddNoiseǁcorrupt_batch", "12")
_D = "datasets."
DESCR_TEXT = ("changes only fixed prose of DESCR or of an error message (letter case, 'XX', "
              "a blank line): every number and name in it is unchanged")
_equivalent("searchsorted's default side is 'left'", _D + "_annotations.x_label_windows", "34")
_equivalent("the loader passes int64 starts already; asarray keeps them",
            _D + "_annotations.x_label_windows", "5")
_equivalent("wfdb returns ann.sample as int64 already",
            _D + "_annotations.x_read_annotations", "12")
_equivalent("rdann fills fs from the record's header when the file stores none, and a "
            "conversion by a ratio of 1 changes no sample (np.round of an integer)",
            _D + "_annotations.x_read_annotations", "15")
_equivalent("a str array of symbols compares, sorts and indexes like the object array",
            _D + "_annotations.x_read_annotations", "34")
_equivalent("['symbol'] is rdann's default return_label_elements",
            _D + "_annotations.x_read_annotations", "7")
_equivalent("read(None) reads the file whole: the same digest (only the memory differs)",
            _D + "_archive.x_sha256sum", "8")
_equivalent("removing our own fresh temporary folder does not fail; ignore_errors only "
            "matters if it did", _D + "_archive.x_unpack_archive_once", "88")
_equivalent(DESCR_TEXT, _D + "_physionet2017.x_fetch_physionet2017", "25")
_equivalent("data_home only matters when path is an archive; fetch passes the downloaded "
            "folder", _D + "_physionet2017.x_fetch_physionet2017", "77")
_equivalent("UNTESTED, not equivalent: the download branch needs PhysioNet, which the tests "
            "(and CI) cannot reach; the offline paths around it are tested",
            _D + "_physionet2017.x_fetch_physionet2017", "59", "63", "69")
_equivalent(DESCR_TEXT, _D + "_physionet2017.x__read_record_names", "17")
_equivalent("rdrecord tests physical for truth: None is False",
            _D + "_physionet2017.x_read_wfdb_record", "5")
_equivalent("the phase of a random sinusoid drawn from [1, 6.3) instead of [0, 6.3): other "
            "draws of the same kind of record; no documented property depends on the range",
            _D + "_synthetic.x_make_synthetic_ecg", "137", "157", "159")
_equivalent("numeric weights divided by their sum are float whatever their dtype",
            _D + "_synthetic.x_make_synthetic_ecg", "23")
_equivalent("draws more RR intervals than the record needs (only the first are used): same "
            "distribution, other later draws, more time",
            _D + "_synthetic.x_make_synthetic_ecg", "66")
_equivalent(DESCR_TEXT, _D + "_wfdb.x__descr", "6", "17", "97", "99", "100", "104", "110")
_equivalent("the signal files named in the header are excluded by name already, so listing "
            "a .dat among the candidates never happens", _D + "_wfdb.x__missing_annotation",
            "24")
_equivalent(DESCR_TEXT, _D + "_wfdb.x__no_windows_error", "33")
_equivalent("UNTESTED, not equivalent: the detail of an error that needs wfdb.rdrecord to "
            "return a wrong shape without raising (a signal file changing between the header "
            "check and the read); not reproducible without a mock",
            _D + "_wfdb.x__read_windows", "117")
_equivalent("an equal rate taken as a resampling by 1/1: resample_signal returns the samples "
            "unchanged, the chunks only read 11 more samples at each edge",
            _D + "_wfdb.x__read_windows", "2")
_equivalent("decides only whether a chunk ending exactly at the cap takes one more window; "
            "the windows and the bound on a read are unchanged", _D + "_wfdb.x__read_windows",
            "61")
_equivalent("np.arange of integers is int64 already (Linux)", _D + "_wfdb.x__window_starts",
            "11")
_equivalent("an empty array of starts: its dtype never reaches the output",
            _D + "_wfdb.x__window_starts", "3")
_equivalent("with no record read, _no_windows_error only reads `recs` for truth and "
            "`skipped`: None for drops, or for recs (also false), changes nothing",
            _D + "_wfdb.x_load_wfdb_database", "66", "67")
_equivalent(DESCR_TEXT, _D + "_wfdb_files.x__lead_sets_message", "10")
_equivalent("most_common(2)[0] is most_common(1)[0]", _D + "_wfdb_files.x__lead_sets_message",
            "24")
_equivalent(DESCR_TEXT, _D + "_wfdb_files.x__list_records", "10")
_equivalent("UNTESTED, not equivalent: a header without a signal length passes the header "
            "check (the length is inferred from the file size) but wfdb.rdrecord(sampto=...) "
            "then fails on it, so the inferred length never reaches the output (a bug of its "
            "own, reported)", _D + "_wfdb_files.x__read_header", "84")
_equivalent("the temporary folder an interrupted unpack is moved into is removed on the next "
            "line; its name (prefix) only matters if that removal fails",
            _D + "_archive.x_unpack_archive_once", "80")
_equivalent("removing our own fresh temporary folder does not fail; ignore_errors only "
            "matters if it did", _D + "_archive.x_unpack_archive_once", "94")
_equivalent(MESSAGE, _D + "_physionet2017.x_read_wfdb_record", "32")
_equivalent("how many chunks the records are cut into for the workers (5 per worker instead "
            "of 4): the same records, read in the same order", _D +
            "_physionet2017.x_load_physionet2017", "67")
_equivalent("UNTESTED, not equivalent: the download branch needs PhysioNet, which the tests "
            "(and CI) cannot reach; the offline paths around it are tested",
            _D + "_physionet2017.x_fetch_physionet2017", "52", "62", "66")
_equivalent("only how long a machine without internet waits (4 s instead of 3) before the "
            "ConnectionError", _D + "_physionet2017.x__physionet_reachable", "1")
_equivalent("the phase of a random sinusoid: minus a uniform phase, a phase from [1, 6.3) or "
            "from [0, 7.3) instead of [0, 6.3): other draws of the same kind of record; no "
            "documented property depends on the phase",
            _D + "_synthetic.x_make_synthetic_ecg", "122", "135", "160")
_equivalent("np.arange of integers is int64 already (Linux)", _D + "_wfdb.x__window_starts",
            "15")
_equivalent("at an equal rate, a pad of 1 sample reads one more sample on each side of a "
            "chunk; the windows are cut at the same offsets from the chunk's start", _D +
            "_wfdb.x__read_windows", "19")
_equivalent("decides only how many windows share one read (a smaller chunk); the windows and "
            "the bound on a read are unchanged", _D + "_wfdb.x__read_windows", "60")
_equivalent("physical=True is wfdb.rdrecord's default", _D + "_wfdb.x__read_windows", "101")
_equivalent(DESCR_TEXT, _D + "_wfdb.x__descr", "5", "85")
_equivalent("the message quotes the first four skip reasons instead of three: each is true; "
            "all of them are in .skipped", _D + "_wfdb.x__no_windows_error", "6")
_equivalent(DESCR_TEXT, _D + "_wfdb.x__no_windows_error", "32")
_equivalent("UNTESTED, not equivalent: a single-segment header naming '~' (no file) for one "
            "signal and a real file for another; wfdb writes no such header and none of the "
            "PhysioNet databases has one", _D + "_wfdb_files.x__signal_file_problem", "7")
_equivalent("UNTESTED, not equivalent: as mutant 84, the header-without-length branch, whose "
            "inferred length never reaches the output (wfdb.rdrecord then fails)",
            _D + "_wfdb_files.x__read_header", "63")
_equivalent("UNTESTED under mutmut, not equivalent: mutmut calls the loader through a "
            "trampoline in the same module, so stacklevel=2 names that module under the tool "
            "and the caller's line only outside it; test_the_skip_warning_points_at_the_"
            "callers_line checks it in the normal test run", _D + "_wfdb.x_load_wfdb_database",
            "351")
_M = "model_selection."
_equivalent("mean and median of int or bool scores equal those of their float copies, max "
            "keeps the values; the ROC AUC of either is the same",
            _M + "_scoring.x_aggregate_by_group", "10")
_equivalent("the flag is only read for truth (`not wanted`): None is False",
            _M + "_search.x__unset_groups_requests_off", "10")
_equivalent("any default other than None or True leaves the request alone: 'ABSENT' acts "
            "as 'absent'", _M + "_search.x__unset_groups_requests_off", "39")
_equivalent("warnings.warn with category None warns a UserWarning",
            _M + "_search.x__warn_no_complete_trial", "16")
_equivalent(MESSAGE, _M + "_search.x__warn_no_complete_trial", "23")
_equivalent("the folds are precomputed (cv is a list of splits), so cross_validate has no "
            "use for groups", _M + "_search.x_grouped_cross_validate", "26")
_equivalent(MESSAGE, _M + "_study.x__describe_storage", "7")
_equivalent("n_jobs only decides how many folds run at once: the same folds, fits and "
            "scores (the thread budget per fold is tested in "
            "test_parallel_folds_do_not_oversubscribe_torch, left out of this run)",
            _M + "_search.x_grouped_cross_validate", "29", "70")
_equivalent(MESSAGE, _M + "_search.x__check_space_prefixes", "54", "55")
_equivalent("UNTESTED under mutmut, not equivalent: the stacklevel of a warning; mutmut's "
            "trampoline adds a frame, so the caller's line is checked only in the normal "
            "test run (test_optuna_search_warns_before_trials_beyond_n_timesteps)",
            _M + "_search.x__warn_if_space_exceeds_timesteps", "22", "23")
_equivalent("every way a trial of optuna_search fails records its reason (a raising fold, "
            "and now a non-finite score), so the default text is never shown",
            _M + "_search.x__raise_if_every_trial_failed", "14")
_equivalent(MESSAGE, _M + "_search.x__raise_if_every_trial_failed", "23")
_equivalent(MESSAGE, _M + "_search.x_optuna_search", "40", "51", "53", "57")
_equivalent("cv is a splitter or an iterable of splits here (None and integers returned "
            "above): check_cv returns it as given whatever y and classifier are",
            _M + "_split.x__check_grouped_cv", "39", "40", "43")
_equivalent(MESSAGE, _M + "_split.x_grouped_train_test_split", "17")
_equivalent("the message lists the first six shared groups instead of five: each is "
            "shared; the count before them is unchanged",
            _M + "_split.x_check_groups_disjoint", "11")
_equivalent("SeedSequence.generate_state(n) starts with the words of generate_state(1): the "
            "first word is the same", _M + "_study.x_worker_identity", "18")
_equivalent("an unreachable line's message", _M + "_study.x_create_or_load_study", "40")
# the model_selection 'after' run at 6b9afd4 and later (optuna_search changed, so its
# mutants are numbered anew)
_equivalent("every way a trial of optuna_search fails records its reason, so the default "
            "is never read", _M + "_search.x__raise_if_every_trial_failed", "16")
_equivalent(MESSAGE, _M + "_search.x__warn_no_complete_trial", "25")
_equivalent(MESSAGE, _M + "_search.x_optuna_search", "55", "58")
_equivalent("the text of the exception that prunes or fails a trial only reaches Optuna's "
            "log line; the reason optuna_search reports is the user attribute set just "
            "before (pruned_reason, failed_reason), which the tests check",
            _M + "_search.x_optuna_search", "152", "153", "164")
_equivalent("the only caller (_splits) passes classifier=: the default is never used",
            _M + "_split.x__check_grouped_cv", "1")
_equivalent(MESSAGE, _M + "_split.x__check_grouped_cv", "8", "9")
_equivalent(MESSAGE, _M + "_split.x_grouped_train_test_split", "18")
_equivalent(MESSAGE, _M + "_study.x_create_or_load_study", "23", "26")
_equivalent("an unreachable line's message", _M + "_study.x_create_or_load_study", "39")
_equivalent("SignalTransformer._transform_2d is overridden by every subclass (BandpassFilter, "
            "Resample, StandardizeSignal; FixedLength and AddNoise override transform): "
            "unreachable", _P + "_base.xǁSignalTransformerǁ_transform_2d", "1", "2")

STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests",
          34: "skipped", 36: "timeout", 24: "timeout", -24: "timeout", 152: "timeout",
          255: "timeout", 37: "caught by type check", -11: "segfault", -9: "segfault",
          None: "not checked"}


def _prepare(package: str, workdir: Path, source: Path = REPO) -> Path:
    """A scratch copy of the package and tests with its own mutmut configuration.

    ``source`` is the checkout copied (e.g. a worktree of the commit before the tests
    that kill the survivors were added); the configuration comes from this one.
    """
    only, tests = PACKAGES[package]
    tests = [t for t in tests if (source / t).is_file()]
    root = workdir / package
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(source / "sklearn_biodiff", root / "sklearn_biodiff", ignore=ignore)
    shutil.copytree(source / "tests", root / "tests", ignore=ignore)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=source, capture_output=True,
                            text=True).stdout.strip()
    (root / "source_commit").write_text(commit)
    (root / "test_files").write_text(json.dumps(tests))
    config = (REPO / "pyproject.toml").read_text()
    deselect = DESELECTED.get(package, ([], ""))[0]
    extra = ["-k", " and ".join(f"not {t}" for t in deselect)] if deselect else []
    config += (
        "\n[tool.mutmut]\n"
        'source_paths = ["sklearn_biodiff"]\n'
        f"only_mutate = {json.dumps(only)}\n"
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
        "pytest_add_cli_args = "
        + json.dumps(["-p", "no:cacheprovider", "-m", "not slow and not data", "-q", *extra])
        + "\n"
        + ('process_isolation = "forkserver"\n' if package in FORKSERVER else "")
    )
    (root / "pyproject.toml").write_text(config)
    return root


def _diff(root: Path, name: str) -> list[str]:
    out = subprocess.run([sys.executable, "-m", "mutmut", "show", name], cwd=root,
                         capture_output=True, text=True).stdout
    return [ln for ln in out.splitlines()
            if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]


def _code_without_docstrings(path: Path) -> str:
    """The AST of ``path`` without docstrings: what mutmut numbers its mutants by."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


def same_code_as_here(root: Path, package: str) -> bool:
    """Whether the package mutated in ``root`` is this checkout's, docstrings aside.

    ``EQUIVALENT`` is keyed by mutmut's mutant numbers, which are counted in the code;
    they name the same mutants only in the same code (an older version's
    ``..._mutmut_3`` can be another change).
    """
    here = sorted((REPO / "sklearn_biodiff" / package).glob("*.py"))
    there = sorted((root / "sklearn_biodiff" / package).glob("*.py"))
    return ([f.name for f in here] == [f.name for f in there]
            and all(_code_without_docstrings(a) == _code_without_docstrings(b)
                    for a, b in zip(here, there)))


def _collect(root: Path, sample: list[str] | None = None,
             not_rerun_status: str | None = None, classify: bool = True) -> dict:
    """Counts per status over every ``.meta`` file mutmut wrote, and the survivors.

    With ``not_rerun_status``, a mutant that was not run (only the survivors of an
    earlier run were rerun) keeps that status (``"killed"``).
    Only the mutants of ``sample`` count when it is given. ``classify=False`` (another
    version's code, see :func:`same_code_as_here`) leaves the survivors unclassified.
    """
    counts: dict[str, int] = {}
    survivors, untested = [], []
    keep = None if sample is None else set(sample)
    for meta in sorted((root / "mutants").rglob("*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        for name, code in codes.items():
            if keep is not None and name not in keep:
                continue
            status = STATUS.get(code, "suspicious")
            if code is None and not_rerun_status is not None:
                status = not_rerun_status
            counts[status] = counts.get(status, 0) + 1
            if status == "survived":
                survivors.append(name)
            elif status == "no tests":
                untested.append(name)
    total = sum(counts.values())
    not_killed = counts.get("survived", 0) + counts.get("no tests", 0)
    known = EQUIVALENT if classify else {}
    equivalent = [n for n in survivors + untested if n in known
                  and not known[n].startswith("UNTESTED")]
    return {
        "total": total,
        "counts": counts,
        "survived": counts.get("survived", 0),
        "no_tests": counts.get("no tests", 0),
        "survival_rate": not_killed / total if total else None,
        "classified": classify,
        "not_killed_equivalent": len(equivalent) if classify else None,
        "not_killed_not_equivalent": not_killed - len(equivalent) if classify else None,
        "survivors": {n: {"diff": _diff(root, n), "equivalent": known.get(n)}
                      for n in survivors},
        "untested": {n: {"diff": _diff(root, n), "equivalent": known.get(n)}
                     for n in untested},
    }


def _codes(root: Path) -> dict[str, int | None]:
    """Exit code of every generated mutant (None: not run yet)."""
    codes: dict[str, int | None] = {}
    for meta in sorted((root / "mutants").rglob("*.py.meta")):
        codes.update(json.loads(meta.read_text())["exit_code_by_key"])
    return codes


def _sample(package: str, codes: dict) -> list[str] | None:
    """The mutants of ``package`` that are run: all, or a seeded random sample."""
    size = SAMPLE.get(package)
    names = sorted(codes)
    if size is None or size >= len(names):
        return None
    rng = np.random.RandomState(SAMPLE_SEED)
    return sorted(rng.choice(names, size, replace=False).tolist())


def _stop_idle_children(pid: int, idle_timeout: float, seen: dict, depth: int = 1) -> int:
    """Send SIGXCPU to each test process of mutmut's process ``pid`` whose CPU time has
    not grown for ``idle_timeout`` seconds; return how many were stopped.

    The test processes are mutmut's children (``depth=1``, fork mode) or its
    grandchildren (``depth=2``): under a fork server, the server itself is the child and
    waits idle between mutants, so it must never be stopped.

    mutmut 3.8.1 bounds a mutant's *CPU* time only, so a mutant that makes a test wait
    forever (a deadlock in a forked child) would stop the run. SIGXCPU is the signal of
    mutmut's own CPU limit: the mutant is reported as a timeout (killed: the tests did
    not pass). ``seen`` maps child pid -> (cpu seconds, time they last grew).
    """
    import psutil

    stopped, now = 0, time.monotonic()
    try:
        children = psutil.Process(pid).children()
        for _ in range(depth - 1):
            children = [g for c in children for g in c.children()]
    except psutil.NoSuchProcess:
        return 0
    for child in children:
        try:
            cpu = sum(child.cpu_times()[:2])
        except psutil.NoSuchProcess:
            continue
        last_cpu, since = seen.get(child.pid, (-1.0, now))
        if cpu > last_cpu + 0.01:
            seen[child.pid] = (cpu, now)
        elif now - since > idle_timeout:
            try:
                child.send_signal(signal.SIGXCPU)
                stopped += 1
            except psutil.NoSuchProcess:
                pass
            seen.pop(child.pid, None)
    return stopped


def _mutmut(root: Path, names: list[str], max_children: int, *, check: bool = True,
            idle_timeout: float | None = None, depth: int = 1) -> int:
    """Run mutmut on ``names``; return how many idle mutants the watchdog stopped."""
    cmd = [sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children), *names]
    with open(root / "mutmut.log", "a") as log:
        proc = subprocess.Popen(cmd, cwd=root, stdout=log, stderr=subprocess.STDOUT, text=True)
        stopped, seen = 0, {}
        while proc.poll() is None:
            time.sleep(2.0)
            if idle_timeout is not None:
                stopped += _stop_idle_children(proc.pid, idle_timeout, seen, depth)
    if check and proc.returncode != 0:
        tail = (root / "mutmut.log").read_text()[-3000:]
        raise RuntimeError(f"mutmut failed in {root} (see {root / 'mutmut.log'}):\n{tail}")
    return stopped


def run_package(package: str, workdir: Path, max_children: int, *, collect_only: bool,
                rerun: list[str] | None = None, reuse: bool = False,
                source: Path = REPO, idle_timeout: float | None = None) -> dict:
    """Mutate one package (or, with ``collect_only``, read a finished run's results).

    ``rerun``: run only these mutants (the ones an earlier run did not kill; tests were
    only added since, so a mutant killed then is still killed). ``reuse``: keep the
    results already in ``workdir`` and run only the mutants without one.
    """
    root = workdir / package
    wall = root / "wall_seconds"
    if not collect_only:
        started = time.perf_counter()
        before = float(wall.read_text()) if reuse and wall.exists() else 0.0
        if not (reuse and root.exists()):
            root = _prepare(package, workdir, source)
        if not _codes(root):  # generate the mutants only: a name that matches none
            _mutmut(root, ["generate-only-matches-no-mutant"], max_children, check=False)
        codes = _codes(root)
        sample = _sample(package, codes)
        if rerun is not None:
            todo = rerun
        else:
            todo = [n for n in (sample or codes) if codes[n] is None]
        stopped_file = root / "stopped_idle.json"
        stopped = (json.loads(stopped_file.read_text())["count"]
                   if reuse and stopped_file.exists() else 0)
        if todo:
            stopped += _mutmut(root, todo if (sample is not None or rerun is not None
                                              or reuse) else [],
                               max_children, idle_timeout=idle_timeout,
                               depth=2 if package in FORKSERVER else 1)
        stopped_file.write_text(json.dumps({"count": stopped, "idle_timeout": idle_timeout}))
        wall.write_text(str(before + time.perf_counter() - started))
    codes = _codes(root)
    sample = _sample(package, codes)
    result = _collect(root, sample, "killed" if rerun is not None else None,
                      classify=same_code_as_here(root, package))
    if not result["classified"]:
        result["not_classified_because"] = (
            "the mutated code is another version than this checkout's; EQUIVALENT names "
            "mutants by their numbers in this checkout's code")
    if sample is not None:
        result["sample"] = (f"{len(sample)} of the {len(codes)} mutants, drawn at random "
                            f"(numpy RandomState({SAMPLE_SEED}).choice over the sorted names)")
    if rerun is not None:
        result["rerun_only"] = ("only the mutants the earlier run did not kill were rerun; "
                                "the others count as killed (tests were only added)")
    result["wall_seconds"] = float(wall.read_text())
    stopped_file = root / "stopped_idle.json"
    idle = json.loads(stopped_file.read_text()) if stopped_file.exists() else {"count": 0}
    if idle["count"]:
        result["stopped_idle"] = (f"{idle['count']} mutant test run(s) used no CPU for "
                                  f"{idle['idle_timeout']:g} s (a hang) and were stopped "
                                  "with SIGXCPU: counted as timeouts, i.e. killed")
    commit_file = root / "source_commit"
    result["source_commit"] = commit_file.read_text() if commit_file.exists() else None
    result["mutated_files"] = PACKAGES[package][0]
    used = root / "test_files"
    result["test_files"] = (json.loads(used.read_text()) if used.exists()
                            else PACKAGES[package][1])
    result["deselected_tests"] = DESELECTED.get(package, ([], None))[0]
    result["deselected_because"] = DESELECTED.get(package, ([], None))[1]
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", required=True, help="'before' or 'after'")
    parser.add_argument("--package", action="append", choices=sorted(PACKAGES))
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/sklearn_biodiff_mutation"))
    parser.add_argument("--max-children", type=int, default=1)
    parser.add_argument("--rerun-from", default=None,
                        help="rerun only the mutants this label's run did not kill")
    parser.add_argument("--source", type=Path, default=REPO,
                        help="checkout whose package and tests are mutated (default: this)")
    parser.add_argument("--reuse", action="store_true",
                        help="keep results already in --workdir, run only the missing ones")
    parser.add_argument("--collect", action="store_true",
                        help="only read the results of finished runs in --workdir")
    parser.add_argument("--idle-timeout", type=float, default=None,
                        help="stop a mutant's test run whose CPU time has not grown for "
                             "this many seconds (a hang; counted as a timeout)")
    args = parser.parse_args(argv)

    path = RESULTS / "mutation.json"
    payload = json.loads(path.read_text()) if path.exists() else {}
    payload.pop("run", None)
    payload.update({
        "tool": f"mutmut {MUTMUT_VERSION}",
        "deterministic": True,
        "survival_rate": "(survived + no tests) / total",
        "packages": {k: {"mutated": v[0], "tests": v[1]} for k, v in PACKAGES.items()},
    })
    payload["machine_note"] = ("2 cores shared with pretraining and benchmark runs; mutmut "
                               f"--max-children {args.max_children}, torch threads 1, at low "
                               "priority (nice 5-19); wall times are indicative only")
    results = payload.setdefault("results", {})
    for package in args.package or sorted(PACKAGES):
        print(f"mutating {package} ...", flush=True)
        rerun = None
        if args.rerun_from:
            prev = results[args.rerun_from][package]
            rerun = [*prev["survivors"], *prev["untested"]]  # names (dict keys)
        res = run_package(package, args.workdir, args.max_children, collect_only=args.collect,
                          rerun=rerun, reuse=args.reuse, source=args.source,
                          idle_timeout=args.idle_timeout)
        results.setdefault(args.label, {})[package] = res
        print(f"  {package}: {res['counts']} in {res['wall_seconds']:.0f} s", flush=True)
        write_json("mutation", payload, seeds=[])  # after each package: a long run may stop


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("SKLEARN_BIODIFF_TEST_THREADS", "1")
    main()
