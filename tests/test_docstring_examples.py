"""The Examples sections of public docstrings run and print what they say.

No example is skipped: the loaders' examples read a tiny folder in the CinC 2017 layout
through the same environment variables a user sets for the real archive.
"""

import doctest
import importlib
import pkgutil

import pytest
from test_datasets import _write_fake_training

import sklearn_biodiff

MODULES = sorted(m.name for m in pkgutil.walk_packages(sklearn_biodiff.__path__,
                                                        "sklearn_biodiff.")
                 if m.name != "sklearn_biodiff.__main__")


@pytest.fixture
def cinc2017_env(tmp_path, monkeypatch):
    """``$SKLEARN_BIODIFF_CINC2017`` and a complete download in ``$SKLEARN_BIODIFF_DATA``."""
    _write_fake_training(tmp_path / "local" / "training2017")
    _write_fake_training(tmp_path / "home" / "physionet2017" / "download" / "training2017")
    monkeypatch.setenv("SKLEARN_BIODIFF_CINC2017", str(tmp_path / "local" / "training2017"))
    monkeypatch.setenv("SKLEARN_BIODIFF_DATA", str(tmp_path / "home"))


def test_no_example_is_skipped():
    skipped = []
    for name in MODULES:
        module = importlib.import_module(name)
        for test in doctest.DocTestFinder().find(module):
            skipped += [f"{test.name}: {ex.source.strip()}" for ex in test.examples
                        if ex.options.get(doctest.SKIP)]
    assert not skipped, skipped


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, cinc2017_env, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             verbose=False)
    assert result.failed == 0, f"{result.failed} failing example(s) in {name}"
