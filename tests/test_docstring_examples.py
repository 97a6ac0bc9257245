"""The Examples sections of public docstrings run and print what they say."""

import doctest
import importlib
import pkgutil

import pytest

import sklearn_biodiff

MODULES = sorted(m.name for m in pkgutil.walk_packages(sklearn_biodiff.__path__,
                                                        "sklearn_biodiff.")
                 if m.name != "sklearn_biodiff.__main__")


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             verbose=False)
    assert result.failed == 0, f"{result.failed} failing example(s) in {name}"
