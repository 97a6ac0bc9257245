"""VAELatent: the posterior mean of a small VAE as a clean latent ``z0``."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.utils.validation import check_array

from .._sklearn_compat import Interval, LayerSizes, _fit_context, check_is_fitted
from ..modules.vae import VAE
from ..nets.losses import VAENet
from ._docstrings import fill_training_parameters
from ._torch_base import TRAINING_CONSTRAINTS, VectorTorchEstimator

__all__ = ["VAELatent"]


@fill_training_parameters
class VAELatent(VectorTorchEstimator):
    """Encode feature vectors by the posterior mean of a Gaussian VAE.

    Trained without labels (``y`` is ignored) on the negative ELBO: squared
    reconstruction error plus ``beta`` times the KL divergence to ``N(0, I)``.
    Put a ``StandardScaler`` in front (the decoder assumes unit-variance noise).

    Parameters
    ----------
    latent_dim : int, default=32
        Size of ``z`` (output dimension).
    hidden_dims : tuple of int, default=(256, 128)
        Encoder widths; the decoder mirrors them.
    beta : float, default=1.0
        KL weight (beta-VAE).
    %(training_parameters)s

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The trained net; ``net_.module_`` is the :class:`~sklearn_biodiff.modules.vae.VAE`.
    history_ : list of dict
        skorch's per-epoch history (losses, durations).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of ``X`` in ``fit``, defined only when ``X`` was a DataFrame
        with string column names. The other methods then check them, as
        scikit-learn does: reordered or other columns raise, a plain array warns.
    device_ : torch.device

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_biodiff.feature_extraction import VAELatent
    >>> X = np.random.RandomState(0).randn(64, 10).astype("float32")
    >>> VAELatent(latent_dim=3, max_epochs=2, random_state=0).fit_transform(X).shape
    (64, 3)
    """

    _parameter_constraints = {
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "hidden_dims": [LayerSizes(allow_empty=True)],
        "beta": [Interval(Real, 0, None, closed="left")],
        **TRAINING_CONSTRAINTS,
    }
    _net_cls = VAENet
    _module_cls = VAE

    def __init__(self, latent_dim=32, *, hidden_dims=(256, 128), beta=1.0, max_epochs=100,
                 lr=1e-3, weight_decay=0.0, batch_size=64, validation_fraction=0.1,
                 early_stopping_patience=10, grad_clip=None, warm_start=False,
                 n_threads=None, device="auto", random_state=None, verbose=0,
                 on_divergence="raise", engine=None):
        self.latent_dim = latent_dim
        self.hidden_dims = hidden_dims
        self.beta = beta
        self.max_epochs = max_epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.validation_fraction = validation_fraction
        self.early_stopping_patience = early_stopping_patience
        self.grad_clip = grad_clip
        self.warm_start = warm_start
        self.n_threads = n_threads
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.on_divergence = on_divergence
        self.engine = engine

    def _module_kwargs(self, n_features):
        return {"n_features": n_features, "latent_dim": self.latent_dim,
                "hidden_dims": tuple(self.hidden_dims)}

    def _net_kwargs(self):
        return {"beta": self.beta}

    def _fit_inputs(self, X, y, seed, groups=None):
        return X, None

    def _out_dim(self):
        return self.latent_dim

    @staticmethod
    def _embed(module, xb):
        return module.encode(xb)[0]

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the VAE on ``X`` of shape (n_samples, n_features); ``y`` is ignored."""
        return self._fit(self._validate_fit_X(X), y)

    def inverse_transform(self, X):
        """Decoder mean of latent codes.

        Parameters
        ----------
        X : array-like of shape (n_samples, latent_dim)

        Returns
        -------
        ndarray of shape (n_samples, n_features), float32
        """
        check_is_fitted(self)
        Z = check_array(X, dtype=[np.float32, np.float64])
        if Z.shape[1] != self.latent_dim:
            raise ValueError(f"X has {Z.shape[1]} features, but inverse_transform expects "
                             f"latent_dim={self.latent_dim}.")
        return self._run_module(Z, lambda module, zb: module.decode(zb))
