"""Ready-made pipelines of the papers."""

from __future__ import annotations

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import StandardScaler

from .feature_extraction import DACLEmbedder, ScatteringFeatures, VAELatent

__all__ = ["make_dacl_pipeline"]


def make_dacl_pipeline(
    *,
    scattering: dict | None = None,
    vae: dict | None = None,
    dacl: dict | None = None,
    classifier=None,
    keep_features: bool = False,
    memory=None,
    random_state=None,
    verbose: int = 0,
) -> Pipeline:
    """``ScatteringFeatures -> StandardScaler -> VAELatent -> DACLEmbedder -> classifier``.

    Fit it with ``pipe.fit(signals, y)``: ``y`` trains the DACL triplet loss and
    the classifier (the VAE ignores it).

    With ``keep_features=True`` the classifier sees the scaled scattering features
    beside the DACL embedding, so what the VAE and the contrastive embedding drop
    (rhythm information, on data with many windows per patient) stays available:
    ``ScatteringFeatures -> StandardScaler -> [features | VAELatent -> DACLEmbedder]
    -> StandardScaler -> classifier``. The paper's pipeline is ``keep_features=False``
    (the default).

    Parameters
    ----------
    scattering, vae, dacl : dict or None
        Keyword arguments of :class:`ScatteringFeatures`, :class:`VAELatent` and
        :class:`DACLEmbedder`; reachable later as ``st__*``, ``vae__*``,
        ``dacl__*`` by ``set_params``, ``GridSearchCV`` or Optuna.
    classifier : estimator or None, default=None
        ``None`` gives a linear probe, ``LogisticRegression(max_iter=2000)``, or with
        ``keep_features=True`` ``LogisticRegression(C=0.01, max_iter=3000)`` (the C
        chosen for the scattering features by cross-validation,
        ``benchmarks/select_scattering_defaults.py``).
        ``"passthrough"`` ends the pipeline at the embeddings.
    keep_features : bool, default=False
        Concatenate the scaled scattering features with the DACL embedding (a
        ``FeatureUnion`` step ``keep``; its parts are reached as
        ``keep__embedding__vae__*`` and ``keep__embedding__dacl__*``, e.g.
        ``DACLSearchSpace(prefix="keep__embedding__dacl__",
        vae_prefix="keep__embedding__vae__")`` or
        ``timestep_ablation_grid(prefix="keep__embedding__dacl__")``). The
        features come first in the output: ``n_features + embedding_dim`` columns.
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
        Steps ``st``, ``scale``, ``vae``, ``dacl``, ``clf``; with
        ``keep_features=True``: ``st``, ``scale``, ``keep`` (``features`` and
        ``embedding`` = ``vae``, ``dacl``), ``rescale``, ``clf``.

    Examples
    --------
    >>> from sklearn_biodiff.pipeline import make_dacl_pipeline
    >>> pipe = make_dacl_pipeline(dacl={"t_min": 34, "t_max": 50}, random_state=0)
    >>> [name for name, _ in pipe.steps]
    ['st', 'scale', 'vae', 'dacl', 'clf']
    >>> kept = make_dacl_pipeline(keep_features=True)
    >>> [name for name, _ in kept.steps]
    ['st', 'scale', 'keep', 'rescale', 'clf']
    >>> kept.set_params(keep__embedding__dacl__t_min=34)["keep"].get_params()[
    ...     "embedding__dacl__t_min"]
    34
    """
    seeded = {"random_state": random_state, "verbose": verbose}
    front = [("st", ScatteringFeatures(**{"verbose": verbose, **(scattering or {})})),
             ("scale", StandardScaler())]
    embedding = [("vae", VAELatent(**{**seeded, **(vae or {})})),
                 ("dacl", DACLEmbedder(**{**seeded, **(dacl or {})}))]
    if not keep_features:
        clf = LogisticRegression(max_iter=2000) if classifier is None else classifier
        return Pipeline([*front, *embedding, ("clf", clf)], memory=memory)
    clf = LogisticRegression(C=0.01, max_iter=3000) if classifier is None else classifier
    # the inner pipeline gets the cache too, so a search over DACL parameters refits
    # the VAE once per training set, as without keep_features
    keep = FeatureUnion([("features", "passthrough"),
                         ("embedding", Pipeline(embedding, memory=memory))])
    return Pipeline([*front, ("keep", keep), ("rescale", StandardScaler()), ("clf", clf)],
                    memory=memory)
