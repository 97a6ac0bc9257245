"""Package-level helpers: discovery of the public estimators."""

from __future__ import annotations

import importlib
import inspect

from sklearn.base import BaseEstimator

_PUBLIC_MODULES = (
    "sklearn_biodiff.preprocessing",
    "sklearn_biodiff.feature_extraction",
    "sklearn_biodiff.noise",
)


def all_estimators() -> list[tuple[str, type]]:
    """``(name, class)`` of every public estimator, sorted by name.

    The common test module runs scikit-learn's estimator checks on each of them,
    so a new estimator exported from a public module is checked automatically.
    """
    found = {}
    for mod_name in _PUBLIC_MODULES:
        try:
            mod = importlib.import_module(mod_name)
        except ModuleNotFoundError as exc:
            if exc.name == mod_name:
                continue
            raise
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name)
            if inspect.isclass(obj) and issubclass(obj, BaseEstimator):
                found[name] = obj
    return sorted(found.items())
