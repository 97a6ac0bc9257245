"""benchmarks/run_mutation.py: which runs its equivalent-mutant list may classify.

Its list names mutants by mutmut's numbers, counted in the code; a run of another
version of a package (the "before" runs) must stay unclassified.
"""

import importlib
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run_mutation():
    return importlib.import_module("benchmarks.run_mutation")


@pytest.fixture
def copy_of_noise(tmp_path):
    shutil.copytree(REPO / "sklearn_biodiff" / "noise", tmp_path / "sklearn_biodiff" / "noise",
                    ignore=shutil.ignore_patterns("__pycache__", "data"))
    return tmp_path, tmp_path / "sklearn_biodiff" / "noise" / "_add_noise.py"


def test_an_unchanged_copy_is_the_same_code(run_mutation, copy_of_noise):
    root, _ = copy_of_noise
    assert run_mutation.same_code_as_here(root, "noise")


def test_docstring_and_comment_edits_keep_the_same_code(run_mutation, copy_of_noise):
    root, module = copy_of_noise
    text = module.read_text()
    first = text.index('"""') + 3
    module.write_text(text[:first] + "Reworded. " + text[first:] + "\n# a comment\n")
    assert run_mutation.same_code_as_here(root, "noise")


def test_a_changed_constant_is_other_code(run_mutation, copy_of_noise):
    root, module = copy_of_noise
    text = module.read_text()
    assert "np.float64" in text
    module.write_text(text.replace("np.float64", "np.float32", 1))
    assert not run_mutation.same_code_as_here(root, "noise")


def test_an_extra_module_is_other_code(run_mutation, copy_of_noise):
    root, module = copy_of_noise
    (module.parent / "_extra.py").write_text("X = 1\n")
    assert not run_mutation.same_code_as_here(root, "noise")


def test_a_docstring_only_body_still_parses_as_code(run_mutation, tmp_path):
    f = tmp_path / "m.py"
    f.write_text('def f():\n    """Only a docstring."""\n')
    g = tmp_path / "n.py"
    g.write_text("def f():\n    pass\n")
    assert run_mutation._code_without_docstrings(f) == run_mutation._code_without_docstrings(g)
