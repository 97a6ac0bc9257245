"""The one place that touches scikit-learn's private or version-dependent API.

scikit-learn moves ``_fit_context`` and its parameter-validation helpers between
releases; every module of this package imports them from here so that a version
bump is a one-file change.
"""

from numbers import Integral

from sklearn.base import _fit_context
from sklearn.utils._param_validation import HasMethods, Interval, Options, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = [
    "HasMethods",
    "Interval", "LayerSizes", "StrOptions", "_fit_context", "check_is_fitted",
    "validate_data", "validate_params"]


def validate_params(estimator) -> None:
    """Check ``estimator``'s parameters against its ``_parameter_constraints``, as
    ``_fit_context`` does for the estimator being fitted; for a parameter object
    that the fitted estimator holds, such as its ``engine``. Always: inside a
    ``fit`` under ``_fit_context(prefer_skip_nested_validation=True)``,
    scikit-learn's ``skip_parameter_validation`` is set for nested calls."""
    estimator._validate_params()


class LayerSizes(Options):
    """Constraint: a tuple or list of positive integers (layer widths).

    scikit-learn's validation accepts only its own constraint classes; this one
    derives from ``Options`` so that ``_parameter_constraints`` takes it, and
    overrides the test and the text of the error (``"The 'widths' parameter of
    DACLEmbedder must be a non-empty tuple or list of positive integers (layer
    widths). Got () instead."``).

    Parameters
    ----------
    allow_empty : bool, default=False
        Whether ``()`` is valid (no hidden layer).
    """

    def __init__(self, *, allow_empty: bool = False):
        super().__init__(object, set())
        self.allow_empty = allow_empty

    def is_satisfied_by(self, val):
        return (isinstance(val, tuple | list) and (self.allow_empty or len(val) > 0)
                and all(isinstance(v, Integral) and not isinstance(v, bool) and v >= 1
                        for v in val))

    def __str__(self):
        kind = "a" if self.allow_empty else "a non-empty"
        return f"{kind} tuple or list of positive integers (layer widths)"
