"""sklearn_biodiff: noise-robust biosignal embeddings behind the scikit-learn API."""

from ._version import __version__

__all__ = ["__version__"]
