"""Shared machinery of the record-wise (stateless) signal transformers."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from .._sklearn_compat import _fit_context, check_is_fitted
from .._validation import (
    check_data_fs,
    check_n_leads,
    check_signals,
    data_fs,
    flatten_leads,
    has_lead_axis,
    n_leads,
    set_n_features_in,
    unflatten_leads,
    with_fs,
)
from ..base import NewParametersOnLoadMixin


class SignalTransformer(NewParametersOnLoadMixin, TransformerMixin, BaseEstimator):
    """Base class: validate signals of any shape the package accepts, transform per lead.

    Subclasses implement ``_transform_2d(X)`` for a 2-D block of equal-length
    single-lead rows and ``_transform_one(x)`` for one 1-D lead; each lead of a
    multi-lead record is transformed on its own (:func:`flatten_leads`). The
    layout is kept: outputs of one length are stacked into an array (``(n,
    t)``, or ``(n, n_leads, t)`` for input with a lead axis), ragged outputs
    stay a list. They are stateless: ``transform`` works without ``fit``, which
    only validates and records the number of leads (``n_leads_in_``, checked
    by ``transform`` once fitted) and the input length of 2-D input
    (``n_features_in_``); records of any length are accepted at transform time.
    """

    _min_length = 1

    def _validate(self, X, reset: bool = False):
        fs = self._input_fs()
        if fs is not None:
            check_data_fs(X, fs, type(self).__name__)
        X = check_signals(X, min_length=self._min_length, what=type(self).__name__)
        check_n_leads(self, X, reset=reset)
        return X

    def _input_fs(self) -> float | None:
        """Sampling rate the transformer expects, checked against ``X.fs``."""
        return getattr(self, "fs", None)

    def _output_fs(self, X) -> float | None:
        return data_fs(X)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Validate ``X``; nothing is learned.

        Parameters
        ----------
        X : array-like of shape (n_records, n_samples) or (n_records, n_leads, \
n_samples), or list of arrays of shape (n_samples_i,) or (n_leads, n_samples_i)
            Signals (the shape rule: :ref:`signal_shapes`).
        y : None
            Ignored.

        Returns
        -------
        self : object
        """
        X = self._validate(X, reset=True)
        set_n_features_in(self, X)
        self.is_fitted_ = True
        return self

    def transform(self, X):
        """Transform each lead of each record.

        Parameters
        ----------
        X : array-like of shape (n_records, n_samples) or (n_records, n_leads, \
n_samples), or list of arrays of shape (n_samples_i,) or (n_leads, n_samples_i)
            Signals (the shape rule: :ref:`signal_shapes`), with the number of
            leads seen in ``fit`` when fitted.

        Returns
        -------
        Xt : ndarray of shape (n_records, n_samples_out) or (n_records, n_leads, \
n_samples_out), or list of arrays
            float32 signals in the layout of ``X``; an array when all output
            records have one length. The output carries its sampling rate
            (``Xt.fs``) when the input did or the transformer sets one (see
            :func:`with_fs`).
        """
        fs_out = self._output_fs(X)
        X = self._validate(X)
        flat = flatten_leads(X)
        if isinstance(flat, np.ndarray):
            out = np.ascontiguousarray(self._transform_2d(flat), dtype=np.float32)
        else:
            out = [np.ascontiguousarray(self._transform_one(x), dtype=np.float32)
                   for x in flat]
        return with_fs(unflatten_leads(out, n_leads(X), has_lead_axis(X)), fs_out)

    def _transform_2d(self, X: np.ndarray) -> np.ndarray:
        return np.stack([self._transform_one(x) for x in X])

    def _transform_one(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _output_length(self, n: int) -> int:
        return n

    def get_feature_names_out(self, input_features=None):
        """Sample names ``sample0 … sampleK`` of the output of 2-D input.

        Only defined when ``fit`` saw a 2-D array (fixed record length, one lead).
        """
        check_is_fitted(self)
        if not hasattr(self, "n_features_in_"):
            raise ValueError(
                f"{type(self).__name__} was fitted on ragged records or on records "
                "with a lead axis; its output is not one row of samples per record, "
                "so there are no fixed feature names."
            )
        n_out = self._output_length(self.n_features_in_)
        return np.asarray([f"sample{i}" for i in range(n_out)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
