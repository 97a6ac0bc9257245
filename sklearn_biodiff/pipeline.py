"""Ready-made pipelines of the papers."""

from __future__ import annotations

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from .feature_extraction import DACLEmbedder, ScatteringFeatures, VAELatent

__all__ = ["make_dacl_pipeline"]


def make_dacl_pipeline(
    *,
    scattering: dict | None = None,
    vae: dict | None = None,
    dacl: dict | None = None,
    classifier=None,
    memory=None,
    random_state=None,
    verbose: int = 0,
) -> Pipeline:
    """``ScatteringFeatures -> StandardScaler -> VAELatent -> DACLEmbedder -> classifier``.

    Fit it with ``pipe.fit(signals, y)``: ``y`` trains the DACL triplet loss and
    the classifier (the VAE ignores it).

    Parameters
    ----------
    scattering, vae, dacl : dict or None
        Keyword arguments of :class:`ScatteringFeatures`, :class:`VAELatent` and
        :class:`DACLEmbedder`; reachable later as ``st__*``, ``vae__*``,
        ``dacl__*`` by ``set_params``, ``GridSearchCV`` or Optuna.
    classifier : estimator or None, default=None
        ``None`` gives a linear probe, ``LogisticRegression(max_iter=2000)``.
        ``"passthrough"`` ends the pipeline at the embeddings.
    memory : str, joblib.Memory or None
        Pipeline cache: ST features and VAE latents are computed once per
        training set across candidates of a search.
    random_state : int or None
        Default seed of the VAE and DACL (unless given in their dicts).
    verbose : int, default=0
        Progress of every step.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Steps ``st``, ``scale``, ``vae``, ``dacl``, ``clf``.

    Examples
    --------
    >>> from sklearn_biodiff.pipeline import make_dacl_pipeline
    >>> pipe = make_dacl_pipeline(dacl={"t_min": 34, "t_max": 50}, random_state=0)
    >>> [name for name, _ in pipe.steps]
    ['st', 'scale', 'vae', 'dacl', 'clf']
    """
    seeded = {"random_state": random_state, "verbose": verbose}
    clf = LogisticRegression(max_iter=2000) if classifier is None else classifier
    return Pipeline(
        [
            ("st", ScatteringFeatures(**{"verbose": verbose, **(scattering or {})})),
            ("scale", StandardScaler()),
            ("vae", VAELatent(**{**seeded, **(vae or {})})),
            ("dacl", DACLEmbedder(**{**seeded, **(dacl or {})})),
            ("clf", clf),
        ],
        memory=memory,
    )
