"""Label efficiency: probe scores with 1 %, 10 % and 100 % of the labels (issue 35).

The shared measuring stick for "new devices with minimal device data". Every row is
a frozen embedding (or the training-free ``ScatteringFeatures``) of the records of
the README 70/30 split, followed by the README probe
(``StandardScaler -> LogisticRegression``, C by 3-fold stratified CV inside the
labelled subset: ``scripts/pretrain_diffae.py``'s ``probe_grid``); the test part is
scored once per (row, fraction, seed) and never used to choose anything.

Labelled subsets: a stratified draw (``train_test_split(..., stratify=y)``) of
``fraction`` of the README training part, one per seed (``--seeds``, 5 by default
at 1 % and 10 %; 100 % is the whole training part, one draw). The embeddings do
not depend on the labels, so each embedder embeds the train and test records once
and the matrices are cached under ``artifacts/label_efficiency/`` (gitignored):
reruns only refit probes.

Rows (``ROWS``): each is a *source* (an embedder factory, embedded once) and a
*view* of its columns (a readout's leading columns, or a projection fitted on the
unlabelled training part). ``ScatteringFeatures()``; ``DEFAULT_PRETRAINED`` frozen
with each readout (one transform with ``_protocol.WIDEST_READOUT`` serves all six,
each readout being a set of its columns, found by feature name); the same
architecture at its seeded random initialisation (seed 0), the same readouts, beside
every pretrained row; and ``DEFAULT_PRETRAINED`` fine-tuned on each labelled subset
with the package's defaults (``DiffAEEmbedder(pretrained=DEFAULT_PRETRAINED).fit(X,
y)``, the label-aware fine-tuning), then frozen and probed the same way. A source whose
embedding depends on the labels declares ``uses_labels=True``: its factory receives
the labelled subset, and its matrices (the subset's and the test part's) are cached per
fraction, seed and recipe. Each row names its probe (``_protocol.PROBES``): the README
one, or, for the rows ending in ``probe=balanced``, the probe the selection chose for
about 60 labels (``FEW_LABELS_PROBE``: the same with balanced class weights), on ST and
on each source's ``FEW_LABELS_READOUT`` alike.

JSON: ``results/bench_label_efficiency.json``; plot:
``results/bench_label_efficiency.png`` (mean F1 of N, A, O and AF vs rest AUROC
against the number of labels, mean and seed range).

Run: ``OMP_NUM_THREADS=1 python -m benchmarks.bench_label_efficiency --threads 1``
(needs the CinC 2017 archive; ~10 CPU-minutes to embed, then minutes per rerun);
``--quick``: the bundled sample (280 records), fractions 10 %, 30 %, 100 %, two
seeds, in well under a minute (``*_quick.json``, gitignored).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from benchmarks import _protocol
from benchmarks._common import REPO, RESULTS, croppable, write_json
from sklearn_biodiff.feature_extraction import DiffAEEmbedder, ScatteringFeatures
from sklearn_biodiff.feature_extraction._diffae import READOUTS
from sklearn_biodiff.pretrained import DEFAULT_PRETRAINED, DEFAULT_READOUT, FEW_LABELS_READOUT

WIDEST = _protocol.WIDEST_READOUT
#: the probe the selection chose for about 60 labels (``select_label_efficiency.py``'s
#: ``chosen_probe``; the docs' renderer checks the two agree): a name of
#: ``_protocol.PROBES``
FEW_LABELS_PROBE = "balanced"

CACHE = REPO / "artifacts" / "label_efficiency"
FRACTIONS = (0.01, 0.10, 1.0)
QUICK_FRACTIONS = (0.10, 0.30, 1.0)
METRICS = ("mean_f1_NAO", "auroc_af_vs_rest", "macro_f1", "auroc_normal_vs_abnormal")
#: the seed of the random-initialisation encoder
RANDOM_INIT_SEED = 0


# ---------------------------------------------------------------- sources (embedders)
def _pretrained_frozen(X_fit, threads):
    return DiffAEEmbedder.from_pretrained(DEFAULT_PRETRAINED, n_threads=threads,
                                          readout=WIDEST).fit(X_fit[:2])


def _random_init(X_fit, threads):
    """The architecture of ``DEFAULT_PRETRAINED`` at its seeded initialisation.

    ``pretrained=None`` and one step at lr 1e-12 without EMA: the weights stay those of
    ``random_state=RANDOM_INIT_SEED`` (the same construction as the pretraining
    script's crops-seen-0 mark).
    """
    params = DiffAEEmbedder.from_pretrained(DEFAULT_PRETRAINED).get_params()
    params.update(pretrained=None, max_epochs=1, max_steps=1, lr=1e-12, ema_decay=None,
                  random_state=RANDOM_INIT_SEED, n_threads=threads,
                  readout=WIDEST)
    emb = DiffAEEmbedder(**params)
    return emb.fit(croppable(emb, X_fit)[: emb.batch_size])


def _scattering(X_fit, threads):
    return ScatteringFeatures(n_jobs=threads).fit(X_fit)


#: constructor parameters of the fine-tuned rows beyond the recommended call
#: ``DiffAEEmbedder(pretrained=DEFAULT_PRETRAINED).fit(X, y)`` (none: its defaults are
#: the recipe chosen by cross-validation, ``scripts/finetune_diffae.py``)
FINE_TUNING: dict = {}
#: ``--quick`` (the bundled sample, in a minute): short crops, two epochs
QUICK_FINE_TUNING = {"snippet_seconds": 2.0, "max_epochs": 2, "batch_size": 8}


def _fine_tuned(X_fit, threads, X_labelled, y_labelled, seed, quick=False):
    """``DEFAULT_PRETRAINED`` fine-tuned with the labelled subset (issue 31's recipe).

    Records shorter than the training crop are left out of the fine-tuning (not of the
    probe); the seed of the subset seeds the fine-tuning too.
    """
    emb = DiffAEEmbedder(pretrained=DEFAULT_PRETRAINED, n_threads=threads,
                         random_state=seed, readout=WIDEST,
                         **(QUICK_FINE_TUNING if quick else FINE_TUNING))
    keep = [i for i, x in enumerate(X_labelled) if len(x) >= emb._snippet_length()]
    return emb.fit([X_labelled[i] for i in keep], np.asarray(y_labelled)[keep])


@dataclass
class Source:
    """An embedder factory ``factory(X_fit, threads) -> fitted transformer``.

    ``uses_labels``: the factory also needs the labelled subset (``factory(X_fit,
    threads, X_labelled, y_labelled)``), so it is refitted per subset and never cached
    (the fine-tuned rows; none yet).
    """

    factory: Callable
    uses_labels: bool = False
    description: str = ""

    def key(self) -> str:
        """What the cached matrices depend on besides the split (the recipe): the
        benchmark's parameters and the package's fine-tuning defaults, so that a new
        default recipe is not read from an older recipe's cache."""
        from sklearn_biodiff.feature_extraction._diffae import FINE_TUNING_SETTINGS

        defaults = DiffAEEmbedder(pretrained=DEFAULT_PRETRAINED, **FINE_TUNING).get_params()
        recipe = repr([sorted(FINE_TUNING.items()), sorted(FINE_TUNING_SETTINGS.items()),
                       sorted((k, v) for k, v in defaults.items()
                              if k not in ("n_threads", "random_state", "readout"))])
        return hashlib.sha256(recipe.encode()).hexdigest()[:8] if self.uses_labels else ""


SOURCES = {
    "scattering": Source(_scattering, description="ScatteringFeatures() (defaults)"),
    "pretrained": Source(_pretrained_frozen, description=(
        f"DiffAEEmbedder.from_pretrained({DEFAULT_PRETRAINED!r}) frozen, one transform "
        f"with readout={WIDEST!r}")),
    "random_init": Source(_random_init, description=(
        f"the architecture of {DEFAULT_PRETRAINED!r}, pretrained=None, seeded "
        f"initialisation random_state={RANDOM_INIT_SEED} (one step at lr 1e-12, no EMA)")),
    "fine_tuned": Source(_fine_tuned, uses_labels=True, description=(
        f"DiffAEEmbedder(pretrained={DEFAULT_PRETRAINED!r}, random_state=seed).fit("
        "labelled subset) with the package's defaults (the label-aware fine-tuning), "
        f"one transform with readout={WIDEST!r}")),
}


def _readout_columns(readout):
    """A view: the columns of ``readout`` in the widest readout's matrix."""
    def view(Z_train, Z_other, meta):
        cols = meta["columns"][readout]
        return Z_train[:, cols], Z_other[:, cols]
    view.__name__ = f"readout={readout}"
    return view


def _identity(Z_train, Z_other, meta):
    return Z_train, Z_other


@dataclass
class Row:
    """A benchmark row: a source's matrices seen through ``view``.

    ``view(Z_train, Z_test, meta) -> (Z_train, Z_test)`` may fit on ``Z_train``, the
    embeddings of the whole training part, but never reads labels nor the test part's
    values beyond transforming them.
    """

    source: str
    view: Callable = _identity
    label: str = ""
    extra: dict = field(default_factory=dict)
    #: a name of ``_protocol.PROBES`` (the README probe by default)
    probe: str = "readme"


def _rows():
    rows = {"ScatteringFeatures": Row("scattering", label="ScatteringFeatures()")}
    for kind, name in (("pretrained", f"{DEFAULT_PRETRAINED} frozen"),
                       ("fine_tuned", f"{DEFAULT_PRETRAINED} fine-tuned on the labels"),
                       ("random_init", "random init (same architecture)")):
        for readout in READOUTS:
            default = "".join(f" ({tag})" for tag, r in (
                ("DEFAULT_READOUT", DEFAULT_READOUT),
                ("FEW_LABELS_READOUT", FEW_LABELS_READOUT)) if r == readout)
            rows[f"{kind} readout={readout}"] = Row(
                kind, _readout_columns(readout), label=f"{name}, {readout}{default}")
    # the probe chosen for tens of labels (select_label_efficiency, training part only),
    # on the few-label readout of each source and on ST, the peer, alike
    tag = f"probe={FEW_LABELS_PROBE}"
    rows[f"ScatteringFeatures {tag}"] = Row("scattering", label=f"ScatteringFeatures(), "
                                            f"{tag}", probe=FEW_LABELS_PROBE)
    for kind, name in (("pretrained", f"{DEFAULT_PRETRAINED} frozen"),
                       ("fine_tuned", f"{DEFAULT_PRETRAINED} fine-tuned on the labels"),
                       ("random_init", "random init (same architecture)")):
        rows[f"{kind} readout={FEW_LABELS_READOUT} {tag}"] = Row(
            kind, _readout_columns(FEW_LABELS_READOUT), probe=FEW_LABELS_PROBE,
            label=f"{name}, {FEW_LABELS_READOUT} (FEW_LABELS_READOUT), {tag}")
    return rows


ROWS = _rows()


# ---------------------------------------------------------------- embedding cache
def _fingerprint(y_tr, y_te, quick) -> str:
    h = hashlib.sha256()
    h.update(b"quick" if quick else b"full")
    for y in (y_tr, y_te):
        h.update("".join(map(str, y)).encode())
    return h.hexdigest()[:12]


def embed(name, source, X_tr, X_te, y_tr, y_te, quick, threads, refresh=False):
    """``(Z_train, Z_test, meta)`` of ``source``, from the cache when it is there."""
    path = CACHE / f"{name}_{_fingerprint(y_tr, y_te, quick)}.npz"
    if path.exists() and not refresh:
        if _is_current(path, name):  # else: a cache of an older, narrower readout
            return _load_matrices(path, "seconds")
    t0 = time.perf_counter()
    est = source.factory(X_tr, threads)
    Z_tr, Z_te = est.transform(X_tr), est.transform(X_te)
    seconds = time.perf_counter() - t0
    columns = _protocol.readout_columns(est) if isinstance(est, DiffAEEmbedder) else {}
    _save_matrices(path, Z_tr, Z_te, seconds, columns)
    return Z_tr, Z_te, {"seconds": seconds, "cached": False, "columns": columns}


def _save_matrices(path, Z_train, Z_test, seconds: float, columns: dict) -> None:
    """The cache file of one source (or one label-aware fit), written whole or not at all.

    ``columns``: ``{readout: column indices}`` (:func:`_protocol.readout_columns`).
    """
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(tmp, Z_train=Z_train, Z_test=Z_test, seconds=seconds,
             readouts=np.asarray(list(columns), dtype=str),
             **{f"columns{i}": c for i, c in enumerate(columns.values())})
    tmp.replace(path)


def json_meta(meta: dict) -> dict:
    """An embedding's meta for the JSON: the readouts' column indices as their counts."""
    out = {k: v for k, v in meta.items() if k != "columns"}
    if "columns" in meta:
        out["n_features_out"] = {r: len(c) for r, c in meta["columns"].items()}
    return out


def _is_current(path, name: str) -> bool:
    """Whether the cache file exists and holds the widest readout (or needs none)."""
    if not path.exists():
        return False
    if SOURCES[name].factory is _scattering:
        return True
    with np.load(path, allow_pickle=False) as f:
        return WIDEST in f["readouts"].tolist()


def _load_matrices(path, seconds_key: str):
    """``(Z_train, Z_test, meta)`` from a cache file of :func:`_save_matrices`."""
    with np.load(path, allow_pickle=False) as f:
        readouts = f["readouts"].tolist()
        if "widths" in f.files:  # a cache of before the rhythm readouts: leading columns
            columns = {r: np.arange(w) for r, w in zip(readouts, f["widths"].tolist())}
        else:
            columns = {r: f[f"columns{i}"] for i, r in enumerate(readouts)}
        return f["Z_train"], f["Z_test"], {
            seconds_key: float(f["seconds"]), "cached": True, "columns": columns}


def embed_labelled(name, source, sub, fraction, seed, X_tr, X_te, y_tr, y_te, quick,
                   threads, refresh=False):
    """``(Z_subset, Z_test, meta)`` of a source fitted on the labelled subset ``sub``.

    Cached per split, recipe, fraction and seed, like :func:`embed`; the training part
    is embedded only where it is labelled (the probe sees nothing else).
    """
    path = CACHE / (f"{name}{source.key()}_{_fingerprint(y_tr, y_te, quick)}_"
                    f"{fraction:g}_{seed}.npz")
    if path.exists() and not refresh:
        cached = _load_matrices(path, "cpu_seconds")
        if WIDEST in cached[2]["columns"]:
            return cached  # else: a cache of an older, narrower readout
    if X_tr is None:
        raise RuntimeError(f"{path.name} is not cached: run without the label cache")
    c0 = time.process_time()
    X_sub = [X_tr[i] for i in sub]
    est = source.factory(X_tr, threads, X_sub, y_tr[sub], seed, quick=quick)
    Z_sub, Z_te = est.transform(X_sub), est.transform(X_te)
    seconds = time.process_time() - c0
    columns = _protocol.readout_columns(est)
    _save_matrices(path, Z_sub, Z_te, seconds, columns)
    print(f"{name} {fraction:g} seed {seed}: fitted and embedded in {seconds / 60:.1f} "
          "CPU-min", flush=True)
    return Z_sub, Z_te, {"cpu_seconds": seconds, "cached": False, "columns": columns}


def load_split(pre, quick, refresh=False, needs_signals=False):
    """``(source, X_train, y_train, X_test, y_test)``; the signals only when needed.

    Once every frozen source is cached, and unless ``needs_signals`` (a label-aware
    source without its cache), the labels come from ``labels_<quick|full>.npz`` of
    the cache and the signals are not read (``X_train`` and ``X_test`` are None).
    """
    labels = CACHE / f"labels_{'quick' if quick else 'full'}.npz"
    if labels.exists() and not refresh:
        with np.load(labels, allow_pickle=False) as f:
            y_tr, y_te, source = f["y_train"], f["y_test"], str(f["source"])
        fp = _fingerprint(y_tr, y_te, quick)
        if all(_is_current(CACHE / f"{name}_{fp}.npz", name) for name in SOURCES
               if not SOURCES[name].uses_labels) and not needs_signals:
            return source, None, y_tr, None, y_te
    source, X_tr, y_tr, X_te, y_te = pre.load_data(quick=quick)
    y_tr, y_te = np.asarray(y_tr).astype(str), np.asarray(y_te).astype(str)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(labels, y_train=y_tr, y_test=y_te, source=source)
    return source, X_tr, y_tr, X_te, y_te


# ---------------------------------------------------------------- subsets and probe
def labelled_subset(y_train, fraction, seed):
    """Indices (into the training part) of a stratified ``fraction`` of it.

    Reads only the training part's labels; ``fraction=1`` is the whole part.
    """
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y_train))
    if fraction >= 1.0:
        return idx
    sub, _ = train_test_split(idx, train_size=fraction, stratify=y_train,
                              random_state=seed)
    return np.sort(sub)


def probe_test_scores(pre, Z_sub, y_sub, Z_te, y_te, make_probe=None):
    """Fit the probe (C by CV inside the subset) and score the test part once.

    ``make_probe()``: the unfitted probe (default: the README one); returns the test
    scores and the probe's chosen (or fixed) C.
    """
    with warnings.catch_warnings():
        # a class with fewer members than folds (the noisy class at 1 %) warns
        warnings.simplefilter("ignore", UserWarning)
        grid = (make_probe or pre.probe_grid)().fit(Z_sub, y_sub)
    classes = list(grid.classes_)
    scores = pre.class_scores(y_te, grid.predict(Z_te), grid.predict_proba(Z_te), classes)
    best = getattr(grid, "best_params_", None)
    if best is None:  # a fixed C
        best = {"logisticregression__C": grid.get_params()["logisticregression__C"]}
    return scores, best


def summarise(values):
    v = np.asarray(values, dtype=float)
    return {"mean": float(v.mean()), "sd": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
            "min": float(v.min()), "max": float(v.max()), "values": v.tolist()}


def run_rows(pre, rows, mats, y_tr, y_te, fractions, seeds, make_probe=None):
    """Probe every row at every fraction and seed; the test part scored once each.

    ``make_probe`` (tests): one probe for every row instead of each row's ``probe``.

    ``mats[source]``: ``(Z_train, Z_test, meta)`` of a frozen source, or, for a
    label-aware one, a function ``(fraction, seed, subset) -> (Z_subset, Z_test,
    meta)``.
    """
    out = {}
    for name, row in rows.items():
        per_fraction = {}
        for fraction in fractions:
            fseeds = seeds if fraction < 1.0 else [0]
            runs = []
            for seed in fseeds:
                sub = labelled_subset(y_tr, fraction, seed)
                if callable(mats[row.source]):  # fitted on this subset
                    Z_sub, Z_te, meta = mats[row.source](fraction, seed, sub)
                    Z_sub, Z_te = row.view(Z_sub, Z_te, meta)
                else:
                    Z_tr, Z_te = row.view(*mats[row.source])
                    Z_sub = Z_tr[sub]
                scores, best = probe_test_scores(
                    pre, Z_sub, y_tr[sub], Z_te, y_te,
                    make_probe or functools.partial(pre.probe_grid,
                                                    **pre.PROBES[row.probe]))
                runs.append({"seed": seed, "n_labelled": len(sub), "test": scores,
                             "probe": {k: (v if isinstance(v, (int, float, str)) else
                                           str(v)) for k, v in best.items()}})
            per_fraction[f"{fraction:g}"] = {
                "fraction": fraction, "n_labelled": runs[0]["n_labelled"],
                "seeds": list(fseeds), "runs": runs,
                "test": {m: summarise([r["test"][m] for r in runs]) for m in METRICS}}
            t = per_fraction[f"{fraction:g}"]["test"]
            print(f"{name:45s} {fraction:5.2f}  F1 {t['mean_f1_NAO']['mean']:.3f} "
                  f"+-{t['mean_f1_NAO']['sd']:.3f}  AF {t['auroc_af_vs_rest']['mean']:.3f} "
                  f"+-{t['auroc_af_vs_rest']['sd']:.3f}", flush=True)
        out[name] = {"label": row.label or name, "source": row.source,
                     "view": getattr(row.view, "__name__", str(row.view)),
                     "probe": row.probe, "probe_settings": dict(pre.PROBES[row.probe]),
                     "n_features": int(Z_sub.shape[1]), **row.extra,
                     "fractions": per_fraction}
    return out


# ---------------------------------------------------------------- plot
def plot(report, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, metric, title in zip(axes, ("mean_f1_NAO", "auroc_af_vs_rest"),
                                 ("mean F1 of N, A, O", "AF vs rest AUROC")):
        for row in report["rows"].values():
            fr = list(row["fractions"].values())
            n = [f["n_labelled"] for f in fr]
            mean = [f["test"][metric]["mean"] for f in fr]
            lo = [f["test"][metric]["min"] for f in fr]
            hi = [f["test"][metric]["max"] for f in fr]
            style = "--" if row["source"] == "random_init" else (
                ":" if row.get("probe", "readme") != "readme" else "-")
            line, = ax.plot(n, mean, style, marker="o", label=row["label"])
            ax.fill_between(n, lo, hi, color=line.get_color(), alpha=0.12)
        ax.set_xscale("log")
        ax.set_xlabel("labelled training records (stratified subset)")
        ax.set_title(f"{title}, test part (mean; band: seed range)")
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _labelled_matrices(name, source, X_tr, X_te, y_tr, y_te, quick, threads, refresh,
                       embed_meta, fraction, seed, sub):
    """One label-aware fit's matrices, memoised per (fraction, seed) within a run."""
    fits = embed_meta[name]["fits"]
    key = f"{fraction:g}/{seed}"
    if key not in fits:
        fits[key] = embed_labelled(name, source, sub, fraction, seed, X_tr, X_te, y_tr,
                                   y_te, quick, threads, refresh)
    return fits[key]


# ---------------------------------------------------------------- main
def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="bundled sample, fractions 0.1/0.3/1, two seeds")
    ap.add_argument("--seeds", type=int, default=5, help="subsets per fraction below 1")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--rows", nargs="*", default=None, help="row names (default: all)")
    ap.add_argument("--embed-only", action="store_true",
                    help="fill the embedding cache and stop")
    ap.add_argument("--refresh", action="store_true", help="re-embed, ignoring the cache")
    args = ap.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    pre = _protocol
    rows = {k: v for k, v in ROWS.items() if args.rows is None or k in args.rows}
    labelled = {r.source for r in rows.values() if SOURCES[r.source].uses_labels}
    source, X_tr, y_tr, X_te, y_te = load_split(pre, args.quick, args.refresh,
                                                needs_signals=bool(labelled))
    fractions = QUICK_FRACTIONS if args.quick else FRACTIONS
    seeds = list(range(2 if args.quick else args.seeds))
    mats, embed_meta = {}, {}
    for name in dict.fromkeys(r.source for r in rows.values()):
        if SOURCES[name].uses_labels:  # refitted per subset, when a row asks for it
            mats[name] = functools.partial(
                _labelled_matrices, name, SOURCES[name], X_tr, X_te, y_tr, y_te,
                args.quick, args.threads, args.refresh, embed_meta)
            embed_meta[name] = {"description": SOURCES[name].description,
                                "fine_tuning": FINE_TUNING, "fits": {}}
            continue
        mats[name] = embed(name, SOURCES[name], X_tr, X_te, y_tr, y_te, args.quick,
                           args.threads, refresh=args.refresh)
        embed_meta[name] = {"description": SOURCES[name].description,
                            **json_meta(mats[name][2])}
        print(name, embed_meta[name], flush=True)
    if args.embed_only:
        return embed_meta
    results = run_rows(pre, rows, mats, y_tr, y_te, fractions, seeds)
    for name in labelled:  # the JSON keeps each fit's cost, not its matrices
        embed_meta[name]["fits"] = {k: json_meta(fit[2])
                                    for k, fit in embed_meta[name]["fits"].items()}
    report = {
        "source": source, "n_train": len(y_tr), "n_test": len(y_te),
        "quick": args.quick, "threads": args.threads, "checkpoint": DEFAULT_PRETRAINED,
        "default_readout": DEFAULT_READOUT, "fractions": list(fractions),
        "seeds": seeds,
        "protocol": (
            "README 70/30 split (train_test_split(stratify=labels, random_state=0)); "
            "labelled subsets: train_test_split(training part, train_size=fraction, "
            "stratify=y, random_state=seed), the whole training part at fraction 1; "
            "probe StandardScaler + LogisticRegression(max_iter=3000), C in "
            "{0.01, 0.1, 1} by 3-fold StratifiedKFold(shuffle, random_state=0) inside "
            "the labelled subset (macro F1), or, for the rows named probe=<name>, the "
            "probe _protocol.PROBES[name] (balanced: the same with "
            "class_weight='balanced'); the test part scored once per row, "
            "fraction and seed; embeddings do not depend on the labels (frozen), so "
            "each source embeds once; spread: sample sd and range over seeds"),
        "fine_tuned_rows": ("the encoder fine-tuned on each labelled subset (seed = "
                            "the subset's), then frozen and probed like the others; the "
                            "test part is embedded once per fit"),
        "embedding": embed_meta, "rows": results}
    name = "bench_label_efficiency" + ("_quick" if args.quick else "")
    plot(report, RESULTS / f"{name}.png")
    report["plot"] = f"benchmarks/results/{name}.png"
    write_json(name, report, seeds=seeds)
    return report


if __name__ == "__main__":
    main()
