"""Package-level helpers: discovery of the public estimators, safe saving and loading."""

from __future__ import annotations

import importlib
import inspect
import os
from pathlib import Path

from sklearn.base import BaseEstimator

from ._atomic import atomic_file

__all__ = ["all_estimators", "dump", "load"]

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


def dump(estimator, path: str | os.PathLike, *, compress: int | bool = 0) -> Path:
    """Save a (fitted) estimator or pipeline to ``path``, all or nothing.

    The pickle is written by :func:`joblib.dump` into a temporary file beside
    ``path``, flushed to disk and moved over ``path`` in one step, so a process
    killed at any moment leaves the previous file or the new one, both loadable
    (a plain ``joblib.dump(est, path)`` truncates ``path`` first). Every estimator
    of the package records the release that saved it; :func:`load` (and plain
    ``pickle``/``joblib``) warns with
    :class:`~sklearn_biodiff.exceptions.PackageVersionWarning` when another
    release loads it.

    Parameters
    ----------
    estimator : object
        Anything picklable: an estimator, a ``Pipeline``, a search.
    path : str or path-like
        The file to write; its folder must exist. A symbolic link there is
        replaced, not written through.
    compress : int or bool, default=0
        As :func:`joblib.dump`.

    Returns
    -------
    pathlib.Path

    See Also
    --------
    load : the matching loader.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklearn_biodiff.preprocessing import StandardizeSignal
    >>> from sklearn_biodiff.utils import dump, load
    >>> path = dump(StandardizeSignal(), pathlib.Path(tempfile.mkdtemp()) / "model.joblib")
    >>> load(path)
    StandardizeSignal()
    """
    import joblib

    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        raise IsADirectoryError(f"{path} is a folder; pass the file to write, e.g. "
                                f"{path / 'model.joblib'}.")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"the folder of {path} does not exist; create it first.")
    with atomic_file(path, "wb") as f:
        joblib.dump(estimator, f, compress=compress)
    return path


def load(path: str | os.PathLike):
    """Load what :func:`dump` (or ``joblib.dump``) saved.

    Loading a pickle runs code chosen by whoever wrote the file: load only files
    from people you trust, kept where only they can write (the trust model is in
    the user guide's persistence section).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    object

    Warns
    -----
    PackageVersionWarning
        When an estimator in the file was saved by another release of the package.
    """
    import joblib

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no saved model at {path}" + (
            " (it is a folder: DiffAEEmbedder checkpoints load with "
            "DiffAEEmbedder(pretrained=folder))" if path.is_dir() else "") + ".")
    return joblib.load(path)
