"""Noise robustness on the full CinC 2017 archive (issue 6): AUROC vs SNR.

Protocol: README 70/30 split (random_state=0), normal vs (AF + other), noisy
records dropped. Every model is fitted once on the clean training records; the test
records are corrupted with ``AddNoise`` at SNR 24, 18, 12, 6, 0 dB for each noise
kind (one draw per cell, seed 0, the same corrupted records for every model) and
scored with ``robustness_curve``. Models: ST features + LR, DACL, contrastive +
Gaussian views, DAE (each ST -> scaler -> VAE -> embedder -> scaler + LR), MiniRocket
(aeon, benchmark-only dependency) + LR; and DACL trained on clean + one noisy
copy of each training record (``AddNoise("mixture", snr_db=(0, 24))``).
With ``--diffae FILE`` (an embedder saved by ``bench_diffae.py --save``, trained
self-supervised on the training part only) also two copies of it fine-tuned for the
same number of snippets, one on the clean training records of this task
(``2 * --finetune-epochs`` epochs: "diffae") and one on clean + noisy copies
(``--finetune-epochs`` epochs: "diffae_noise_augmented"), so that the augmentation
is compared at equal cost; and "diffae_encoder_noise", fine-tuned like "diffae" but
with ``encoder_noise=AddNoise("mixture", snr_db=(0, 24))`` (fresh noise on every
training crop, for the encoder only; the denoiser reconstructs the clean crop). Each
is frozen and followed by scaler + LR (``LogisticRegressionCV``, C by 3-fold CV on
the training part).
With ``--pretrained NAME ...`` also each shipped checkpoint, frozen as shipped (no
training here), alone ("pretrained:NAME") and beside the ST features
("st_and_pretrained:NAME", ``make_union``), each with the DiffAE rows' probe;
with ``--readout attention+stats`` the checkpoints embed with that readout
(``DiffAEEmbedder(readout=...)``) and the models are "pretrained_stats:NAME" and
"st_and_pretrained_stats:NAME" (``--readout attention+stats+blocks``:
"pretrained_blocks:NAME" and "st_and_pretrained_blocks:NAME"; the rhythm readouts:
"pretrained_rhythm", "pretrained_stats_rhythm", "pretrained_blocks_rhythm").
With ``--fitted FILE ...`` also fitted ``DiffAEEmbedder``s saved with
``sklearn_biodiff.utils.dump`` (the fine-tuning script's states: an encoder fine-tuned
with labels on part of the training part), frozen with ``--readout``, as
"fitted<tag>:STEM" and "st_and_fitted<tag>:STEM".
``--only NAME ...`` runs some models; with ``--merge`` their rows are added to the
existing JSON (the corrupted test sets depend only on the seed, so every model is
scored on the same records) and the figure is redrawn; the JSON is read when the run
ends, under a lock, so several ``--merge`` runs may go at once. ``--heldout-noise``: the
augmentation draws real noise from the first half of each NSTDB recording and the
test corruption from the second half (``AddNoise(source_span=...)``), so no stretch of
noise is seen in training and test; written to ``bench_robustness_heldout_noise.json``.
Output: ``results/bench_robustness.json`` and ``results/robustness_auroc_vs_snr.png``.

Run alone on the machine: ``python -m benchmarks.bench_robustness [--diffae FILE]``
(``--quick``: bundled sample, tiny budgets).
"""

from __future__ import annotations

import argparse
import copy
import json
import tempfile
import time
from pathlib import Path

import joblib
import numpy as np
from joblib import Memory
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.pipeline import Pipeline, make_pipeline, make_union
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from benchmarks import _protocol
from benchmarks._common import (
    RESULTS,
    croppable,
    find_archive,
    machine,
    readme_split,
    results_lock,
    write_json,
)
from sklearn_biodiff.datasets import (
    binary_task,
    load_cinc2017_sample,
    load_physionet2017,
)
from sklearn_biodiff.feature_extraction import (
    DACLEmbedder,
    DenoisingAEEmbedder,
    DiffAEEmbedder,
    ScatteringFeatures,
    VAELatent,
)
from sklearn_biodiff.feature_extraction._diffae import READOUTS
from sklearn_biodiff.noise import (
    AddNoise,
    augment_with_noise,
    plot_robustness_curve,
    robustness_curve,
    summarize_robustness,
)
from sklearn_biodiff.preprocessing import FixedLength, StandardizeSignal

KINDS = ("gaussian", "baseline_wander", "muscle", "powerline", "mixture")
SNRS = (24, 18, 12, 6, 0)


def _probe(C=1.0):
    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=3000))


def _embedding_pipeline(embedder, memory, args):
    return Pipeline([
        ("st", ScatteringFeatures(memory=memory)),
        ("scale", StandardScaler()),
        ("vae", VAELatent(max_epochs=args.vae_epochs, random_state=0)),
        ("embed", embedder),
        ("clf", _probe()),
    ], memory=memory)


def _minirocket(args):
    try:
        from aeon.transformations.collection.convolution_based import MiniRocket
    except ImportError:
        return None
    return make_pipeline(
        StandardizeSignal(scale="std", center="mean"), FixedLength(9000),
        FunctionTransformer(lambda X: np.asarray(X)[:, None, :]),
        MiniRocket(n_kernels=args.kernels, random_state=0, n_jobs=2),
        StandardScaler(), LogisticRegression(C=0.01, max_iter=3000))


def _cv_probe():
    """``LogisticRegressionCV``, C in {0.01, 0.1, 1} by 3-fold CV: the probe of the rows
    of frozen or fine-tuned embedders.

    scikit-learn 1.9 warns that three of its defaults will change; where those
    parameters exist they are set to the values every published row was scored with
    (accuracy to choose C, L2 only, the legacy fitted attributes), so the figures stay
    the same and the warnings go.
    """
    import inspect

    old_defaults = {"l1_ratios": (0.0,), "scoring": None, "use_legacy_attributes": True}
    params = inspect.signature(LogisticRegressionCV).parameters
    pinned = {k: v for k, v in old_defaults.items()
              if k in params and params[k].default == "warn"}
    return LogisticRegressionCV(Cs=[0.01, 0.1, 1.0], cv=3, max_iter=3000, **pinned)


def _diffae_probe(embedder):
    return make_pipeline(FrozenEstimator(embedder), StandardScaler(), _cv_probe())


def _finetuned(embedder, X, epochs, **params):
    emb = copy.deepcopy(embedder).set_params(warm_start=True, max_epochs=epochs,
                                             lr_schedule="constant", verbose=0, **params)
    return emb.fit(croppable(emb, X))


class _SharedTransform(TransformerMixin, BaseEstimator):
    """A fitted transformer whose outputs are kept by the input's hash.

    Two rows built on one frozen checkpoint (alone, and beside the ST features)
    embed the same corrupted records: the second gets the first one's embedding
    instead of running the encoder again. Benchmark-only (the cache lives in memory).
    """

    def __init__(self, transformer, cache):
        self.transformer = transformer
        self.cache = cache

    def fit(self, X, y=None):
        return self

    def __sklearn_is_fitted__(self):
        return True

    def transform(self, X):
        key = joblib.hash([np.asarray(x) for x in X])
        if key not in self.cache:
            self.cache[key] = self.transformer.transform(X)
        return self.cache[key]


def _pretrained_builders(name, memory, X_tr, y_tr, readout="attention"):
    """A shipped checkpoint, frozen (no training here), alone and beside the ST features.

    Both through ``StandardScaler`` + ``LogisticRegressionCV`` (C by 3-fold CV on the
    training part), like the DiffAE rows: ``"pretrained:NAME"`` and
    ``"st_and_pretrained:NAME"`` (``make_union(ScatteringFeatures(), checkpoint)``).
    The two share one memoised embedding of each input (``_SharedTransform``).
    ``readout="attention+stats"``: that readout, keys ``"pretrained_stats:NAME"`` and
    ``"st_and_pretrained_stats:NAME"``.
    """
    return _frozen_builders(
        name, lambda: DiffAEEmbedder.from_pretrained(name, readout=readout).fit(X_tr[:2]),
        memory, X_tr, y_tr, readout, prefix="pretrained")


def _fitted_builders(path, memory, X_tr, y_tr, readout="attention"):
    """A fitted ``DiffAEEmbedder`` saved with ``sklearn_biodiff.utils.dump``, or the
    resume state of ``scripts/finetune_diffae.py`` (a dict holding it under ``"emb"``:
    the label-aware fine-tuning after its last epoch), frozen as
    saved with ``readout``, alone and beside the ST features: ``"fitted:STEM"`` and
    ``"st_and_fitted:STEM"`` (``STEM``: the file name without its suffix)."""
    from sklearn_biodiff.utils import load

    def make():
        emb = load(path)
        if isinstance(emb, dict):  # a resume state of scripts/finetune_diffae.py
            emb = emb.get("emb")
        if not isinstance(emb, DiffAEEmbedder):
            raise SystemExit(f"{path} holds a {type(emb).__name__}, not a fitted "
                             "DiffAEEmbedder (nor a fine-tuning state with one)")
        return emb.set_params(readout=readout, verbose=0)

    return _frozen_builders(Path(path).stem, make, memory, X_tr, y_tr, readout,
                            prefix="fitted")


def _frozen_builders(name, make, memory, X_tr, y_tr, readout, *, prefix):
    """``make()``'s fitted embedder, frozen, alone and beside the ST features (keys
    ``"<prefix><tag>:<name>"`` and ``"st_and_<prefix><tag>:<name>"``), sharing one
    memoised embedding of each input."""
    cache: dict = {}
    state = {}

    def frozen():
        if "emb" not in state:
            state["emb"] = _SharedTransform(make(), cache)
        return state["emb"]

    def alone():
        return _diffae_probe(frozen()).fit(X_tr, y_tr)

    def beside_st():
        union = make_union(ScatteringFeatures(memory=memory), FrozenEstimator(frozen()))
        return make_pipeline(union, StandardScaler(), _cv_probe()).fit(X_tr, y_tr)

    tag = _protocol.readout_tag(readout)
    return {f"{prefix}{tag}:{name}": alone, f"st_and_{prefix}{tag}:{name}": beside_st}


def _builders(args, memory, X_tr, y_tr):
    """name -> function fitting that model on the clean training records."""
    dacl_kw = {"max_epochs": args.epochs, "lr": 1e-3, "batch_size": 128, "random_state": 0}

    def plain(make):
        return lambda: make().fit(X_tr, y_tr)

    def dacl_noise_augmented():
        # training-time augmentation: clean + one noisy copy, SNR uniform in 0-24 dB
        X_aug, y_aug, _ = augment_with_noise(
            X_tr, y_tr, AddNoise("mixture", snr_db=(0.0, 24.0), source_span=args.train_span,
                                 random_state=1))
        return _embedding_pipeline(DACLEmbedder(**dacl_kw), memory, args).fit(X_aug, y_aug)

    builders = {
        "st_features": plain(lambda: make_pipeline(
            ScatteringFeatures(memory=memory), StandardScaler(),
            LogisticRegression(C=0.01, max_iter=3000))),
        "dacl": plain(lambda: _embedding_pipeline(DACLEmbedder(**dacl_kw), memory, args)),
        "gaussian": plain(lambda: _embedding_pipeline(
            DACLEmbedder(augmentation="gaussian", noise_std=0.1, **dacl_kw), memory, args)),
        "dae": plain(lambda: _embedding_pipeline(DenoisingAEEmbedder(
            max_epochs=args.epochs, batch_size=128, random_state=0), memory, args)),
    }
    if _minirocket(args) is not None:
        builders["minirocket"] = plain(lambda: _minirocket(args))
    builders["dacl_noise_augmented"] = dacl_noise_augmented
    for name in args.pretrained or ():
        builders.update(_pretrained_builders(name, memory, X_tr, y_tr, args.readout))
    for path in args.fitted or ():
        builders.update(_fitted_builders(path, memory, X_tr, y_tr, args.readout))
    if args.diffae is None:
        return builders
    base = joblib.load(args.diffae)
    mixture = AddNoise("mixture", snr_db=(0.0, 24.0), source_span=args.train_span)

    def diffae(X_ft, epochs, **params):
        def build():
            emb = _finetuned(base, X_ft(), epochs, **params)
            return _diffae_probe(emb).fit(X_tr, y_tr)
        return build

    builders["diffae"] = diffae(lambda: X_tr, 2 * args.finetune_epochs)
    builders["diffae_noise_augmented"] = diffae(
        lambda: augment_with_noise(X_tr, y_tr, clone(mixture).set_params(random_state=2))[0],
        args.finetune_epochs)
    # fresh noise on every crop for the encoder only; the denoiser's target stays clean
    builders["diffae_encoder_noise"] = diffae(lambda: X_tr, 2 * args.finetune_epochs,
                                              encoder_noise=mixture)
    return builders


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--vae-epochs", type=int, default=100)
    ap.add_argument("--kernels", type=int, default=10000)
    ap.add_argument("--diffae", type=Path, default=None,
                    help="fitted DiffAEEmbedder (joblib) from bench_diffae.py --save")
    ap.add_argument("--finetune-epochs", type=int, default=1)
    ap.add_argument("--pretrained", nargs="+", default=None, metavar="NAME",
                    help="shipped checkpoints to score frozen, alone and beside the ST "
                         "features (models 'pretrained:NAME', 'st_and_pretrained:NAME')")
    ap.add_argument("--fitted", nargs="+", type=Path, default=None, metavar="FILE",
                    help="fitted DiffAEEmbedders (sklearn_biodiff.utils.dump, e.g. a "
                         "fine-tuning state) to score frozen, alone and beside the ST "
                         "features (models 'fitted:STEM', 'st_and_fitted:STEM')")
    ap.add_argument("--readout", choices=READOUTS, default="attention",
                    help="readout of the --pretrained checkpoints and --fitted embedders")
    ap.add_argument("--only", nargs="+", default=None,
                    help="run only these models (default: all)")
    ap.add_argument("--heldout-noise", action="store_true",
                    help="augment with the first half of the NSTDB recordings and corrupt "
                         "the test records with the second half (own JSON)")
    ap.add_argument("--merge", action="store_true",
                    help="add the models run to the existing JSON (same protocol and "
                         "corrupted test sets), replacing their earlier rows")
    args = ap.parse_args(argv)
    args.train_span = (0.0, 0.5) if args.heldout_noise else (0.0, 1.0)
    args.test_span = (0.5, 1.0) if args.heldout_noise else (0.0, 1.0)
    t_start = time.perf_counter()
    archive = None if args.quick else find_archive()
    if archive is None:
        data = load_cinc2017_sample()
        args.epochs, args.vae_epochs, args.kernels = 4, 6, 500
        source = "bundled sample (280 records)"
    else:
        data = load_physionet2017(archive, n_jobs=2)
        source = str(archive)
    idx, y = binary_task(data.target, "normal_vs_abnormal")
    tr_all, te_all = readme_split(data.target)
    keep = set(idx.tolist())
    pos = {r: k for k, r in enumerate(idx)}
    tr = [pos[i] for i in tr_all if i in keep]
    te = [pos[i] for i in te_all if i in keep]
    X = [data.signals[i] for i in idx]
    X_tr, X_te = [X[i] for i in tr], [X[i] for i in te]
    y_tr, y_te = y[tr], y[te]
    name = ("bench_robustness" + ("_heldout_noise" if args.heldout_noise else "")
            + ("_quick" if args.quick else ""))
    if args.merge:  # read again when the run ends; refuse now what could not be merged
        mergeable(RESULTS / f"{name}.json")

    with tempfile.TemporaryDirectory(prefix="bench_rob_") as tmp:
        memory = Memory(tmp, verbose=0)
        builders = _builders(args, memory, X_tr, y_tr)
        unknown = set(args.only or ()) - set(builders)
        if unknown:
            raise SystemExit(f"unknown models {sorted(unknown)}; known: {sorted(builders)}")
        models, fit_seconds = {}, {}
        for key, build in builders.items():
            if args.only and key not in args.only:
                continue
            t0 = time.perf_counter()
            models[key] = build()
            fit_seconds[key] = time.perf_counter() - t0
            print("fitted", key, round(fit_seconds[key], 1), "s", flush=True)
        t0 = time.perf_counter()
        res = robustness_curve(models, X_te, y_te, kinds=KINDS, snrs_db=SNRS,
                               scoring="roc_auc", source_span=args.test_span,
                               random_state=0, verbose=1)
        curve_seconds = time.perf_counter() - t0

    # The JSON is read now, not when the run started, and under a lock, so that runs
    # merging into it at the same time keep each other's rows.
    with results_lock(name) as path:
        previous = mergeable(path) if args.merge else {}
        res, fit_seconds, curve_seconds = merge_rows(previous, res, fit_seconds,
                                                     curve_seconds)
        _write_report(args, name, source, tr, te, t_start, previous, res, fit_seconds,
                      curve_seconds)


#: what a results JSON needs for ``--merge``
MERGE_KEYS = ("rows", "fit_seconds", "curve_seconds")


def mergeable(path: Path) -> dict:
    """The run in ``path`` (``{}`` when there is none), or SystemExit naming the problem."""
    if not path.exists():
        return {}
    try:
        previous = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise SystemExit(f"--merge: {path} is not valid JSON ({exc}); restore it from git "
                         "or run without --merge") from None
    missing = [k for k in MERGE_KEYS if k not in previous]
    if missing:
        raise SystemExit(f"--merge: {path} lacks {missing}, so this run's rows cannot be "
                         "added to it; run without --merge to write a new one")
    return previous


def merge_rows(previous: dict, res: dict, fit_seconds: dict, curve_seconds: float):
    """This run's rows added to ``previous`` (a run's JSON, or ``{}``).

    A model run again replaces its earlier rows; every other model's rows, fit time and
    earlier curve time are kept.
    """
    if not previous:
        return res, fit_seconds, curve_seconds
    models = set(np.asarray(res["estimator"]).tolist())
    old = {k: np.asarray(v) for k, v in previous["rows"].items()}
    kept = ~np.isin(old["estimator"], list(models))
    res = {k: np.concatenate([old[k][kept], np.asarray(res[k])]) for k in res}
    fit_seconds = {**{k: v for k, v in previous["fit_seconds"].items()
                      if k not in models}, **fit_seconds}
    return res, fit_seconds, {"earlier run": previous["curve_seconds"],
                              "this run": curve_seconds}


def _settings(args) -> dict:
    """The run's arguments for the JSON: paths (alone or in lists) as strings."""
    def plain(v):
        if isinstance(v, Path):
            return str(v)
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        return v
    return {k: plain(v) for k, v in vars(args).items()}


def _write_report(args, name, source, tr, te, t_start, previous, res, fit_seconds,
                  curve_seconds):
    """Summarise the rows, write ``results/<name>.json`` and redraw the figure."""
    summary = summarize_robustness(res, drop_at_db=6.0)
    by_model = {}
    for row in summary:
        by_model.setdefault(row["estimator"], {"clean": row["clean"], "kinds": {}})
        by_model[row["estimator"]]["kinds"][row["kind"]] = {
            "auroc_by_snr_db": row["by_snr"], "area_normalised": row["area"],
            "drop_clean_to_6db": row["drop"]}
    for m in by_model.values():
        m["mean_area_over_kinds"] = float(np.mean([k["area_normalised"]
                                                   for k in m["kinds"].values()]))
        m["mean_drop_to_6db"] = float(np.mean([k["drop_clean_to_6db"]
                                               for k in m["kinds"].values()]))
    report = {
        "source": source, "machine": machine(),
        "settings": _settings(args),
        "protocol": "README 70/30 split (random_state=0), normal vs (AF+other), noisy "
                    "dropped; fit once on clean training records; test records corrupted "
                    "once per (kind, SNR) with seed 0 and scored once per model",
        "n_train": len(tr), "n_test": len(te),
        "not_run": ({} if args.diffae or "diffae" in by_model else
                    {"diffae": "no --diffae model given (see bench_diffae.py --save)"}),
        "fit_seconds": fit_seconds, "curve_seconds": curve_seconds,
        "total_seconds": time.perf_counter() - t_start,
        **({"earlier_run": {k: previous[k] for k in ("settings", "total_seconds", "run",
                                                     "earlier_run")
                            if k in previous}}
           if previous else {}),
        "models": by_model,
        "rows": {k: v.tolist() for k, v in res.items()},
    }
    write_json(name, report, seeds=[0, 1, 2])  # split/models/test noise 0; training noise 1, 2
    import matplotlib

    matplotlib.use("Agg")
    fig = plot_robustness_curve(res, ylabel="test AUROC")
    fig.savefig(RESULTS / f"{name.replace('bench_robustness', 'robustness_auroc_vs_snr')}.png",
                dpi=120)


if __name__ == "__main__":
    main()
