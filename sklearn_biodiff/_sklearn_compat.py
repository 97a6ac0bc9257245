"""The one place that touches scikit-learn's private or version-dependent API.

scikit-learn moves ``_fit_context`` and its parameter-validation helpers between
releases; every module of this package imports them from here so that a version
bump is a one-file change.
"""

from sklearn.base import _fit_context
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = [
    "HasMethods",
    "Interval", "StrOptions", "_fit_context", "check_is_fitted", "validate_data"]
