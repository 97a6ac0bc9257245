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
    keep_features: bool = True,
    memory=None,
    random_state=None,
    verbose: int = 0,
) -> Pipeline:
    """Scattering features beside a DACL embedding, then a classifier, as one Pipeline.

    ``ScatteringFeatures -> StandardScaler -> [features | VAELatent -> DACLEmbedder]
    -> StandardScaler -> classifier``. Fit it with ``pipe.fit(signals, y)``: ``y``
    trains the DACL triplet loss and the classifier (the VAE ignores it).

    By default (``keep_features=True``) the classifier sees the scaled scattering
    features beside the DACL embedding, so what the VAE and the contrastive embedding
    drop (rhythm information, on data with many windows per patient) stays available
    (why this is the default: :ref:`dacl_keep_features`). The paper's pipeline,
    ``ScatteringFeatures -> StandardScaler -> VAELatent -> DACLEmbedder -> classifier``
    with ``dacl__*`` and ``vae__*`` parameters, is ``keep_features=False``.

    Parameters
    ----------
    scattering, vae, dacl : dict or None
        Keyword arguments of :class:`ScatteringFeatures`, :class:`VAELatent` and
        :class:`DACLEmbedder`; reachable later by ``set_params``, ``GridSearchCV`` or
        Optuna as ``st__*``, ``keep__embedding__vae__*``, ``keep__embedding__dacl__*``
        (``vae__*``, ``dacl__*`` with ``keep_features=False``).
    classifier : estimator or None, default=None
        ``None`` gives a linear probe: ``LogisticRegression(C=0.01, max_iter=3000)``
        with ``keep_features=True`` (the C of the scattering features:
        :ref:`dacl_keep_features`), or ``LogisticRegression(max_iter=2000)`` for the
        paper's pipeline.
        ``"passthrough"`` ends the pipeline at the embeddings.
    keep_features : bool, default=True
        Concatenate the scaled scattering features with the DACL embedding (a
        ``FeatureUnion`` step ``keep``; its parts are reached as
        ``keep__embedding__vae__*`` and ``keep__embedding__dacl__*``, e.g.
        ``timestep_ablation_grid(prefix="keep__embedding__dacl__")``;
        ``DACLSearchSpace()`` finds them itself in ``optuna_search``). The
        features come first in the output: ``n_features + embedding_dim`` columns.
        ``False`` gives the paper's pipeline (steps ``vae`` and ``dacl``, parameters
        ``dacl__*``, the default prefix of ``timestep_ablation_grid``).
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
        Steps ``st``, ``scale``, ``keep`` (``features`` and ``embedding`` = ``vae``,
        ``dacl``), ``rescale``, ``clf``; with ``keep_features=False``: ``st``,
        ``scale``, ``vae``, ``dacl``, ``clf``.

    Examples
    --------
    >>> from sklearn_biodiff.pipeline import make_dacl_pipeline
    >>> kept = make_dacl_pipeline(random_state=0)
    >>> [name for name, _ in kept.steps]
    ['st', 'scale', 'keep', 'rescale', 'clf']
    >>> paper = make_dacl_pipeline(dacl={"t_min": 34, "t_max": 50}, keep_features=False)
    >>> [name for name, _ in paper.steps]
    ['st', 'scale', 'vae', 'dacl', 'clf']
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
