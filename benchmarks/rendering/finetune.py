"""Fields of the label-aware fine-tuning block (issue 31).

From ``finetune_diffae`` (``scripts/finetune_diffae.py``: 3-fold CV of the README
training part, no test data), ``bench_label_efficiency`` (its fine-tuned row at 100 %:
the README split, test scored once) and ``bench_challenge_cv`` (five-fold CV over every
record, the challenge's F1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks._protocol import DEFAULT_RUN

from ._text import _claim, _f, _table

METRICS = ("macro_f1", "mean_f1_NAO", "auroc_normal_vs_abnormal", "auroc_af_vs_rest")
HEADER = ("4-class macro F1", "mean F1 N, A, O", "normal vs abnormal", "AF vs rest")
#: the readout the recipe comparison was scored with (DEFAULT_READOUT when it ran)
READOUT_KEY = "readout_attention_stats_blocks"


def _key(readout: str) -> str | None:
    """``_protocol.evaluate``'s key of a readout's scores (None: the top level, ``z``)."""
    return None if readout == "attention" else "readout_" + readout.replace("+", "_")
#: issue 31's targets (README split, test once) and the challenge-comparable one
TARGETS = {"mean_f1_NAO": 0.80, "macro_f1": 0.76, "auroc_af_vs_rest": 0.975,
           "auroc_normal_vs_abnormal": 0.91}
CHALLENGE_TARGET = 0.80


def describe(run: dict) -> str:
    """A configuration in words, from what the JSON says was run."""
    if "baseline" in run:
        return {"st": "`ScatteringFeatures()` (training-free)",
                "dacl": "`make_dacl_pipeline()` embedding (DACL beside the ST features)",
                }[run["baseline"]]
    if not run["epochs"]:
        return "frozen checkpoint (no fine-tuning)"
    p = run["params"]
    terms = []
    if p.get("classifier_weight", 0):
        terms.append(f"CE {p['classifier_weight']:g}")
    if p.get("supervised_weight", 0):
        view = p.get("supervised_view", "crop")
        terms.append(f"SupCon {p['supervised_weight']:g} ({view} views)")
    terms.append(f"diffusion {p.get('diffusion_weight', 1.0):g}")
    from sklearn_biodiff.pretrained import DEFAULT_PRETRAINED

    origin = run.get("pretrained", DEFAULT_PRETRAINED)  # runs before the option: default
    start = ("random init" if run.get("init") == "random" else "checkpoint"
             if origin == DEFAULT_PRETRAINED else f"checkpoint `{Path(origin).name}`")
    schedule = p.get("lr_schedule", "constant")
    lr = f"lr {p['lr']:g}" if schedule == "constant" else \
        f"{schedule} lr from {p['lr']:g} over all epochs"
    seed = f", seed {run['seed']}" if run.get("seed", 0) else ""
    return (f"{start} + {' + '.join(terms)}, {run['epochs']} epochs of "
            f"{p['snippet_seconds']:g}-s crops, {lr}{seed}")


def _scores(run: dict, key: str | None = READOUT_KEY) -> dict:
    """A run's test scores with the readout of ``key`` (a peer's own scores: theirs)."""
    s = run["scores"]
    return (s if key is None else s.get(key, s))["test"]


def _has(run: dict, key: str | None) -> bool:
    """Whether a DiffAE run was scored with that readout (peers always count)."""
    return key is None or "baseline" in run or key in run.get("scores", {})


def cv_rows(runs: dict, n_folds: int, key: str | None = READOUT_KEY
            ) -> list[tuple[str, dict, np.ndarray]]:
    """``(name, first fold's run, fold x metric array)`` of every run with ``n_folds``
    scored with the readout of ``key``."""
    out = []
    for name, run in runs.items():
        folds = run.get("folds", {})
        if len(folds) != n_folds or not all(_has(f, key) for f in folds.values()):
            continue
        scores = np.array([[_scores(f, key)[m] for m in METRICS]
                           for _, f in sorted(folds.items())])
        out.append((name, folds["0"], scores))
    return out


def _cell(values: np.ndarray) -> str:
    return f"{_f(values.mean())} ± {_f(values.std(ddof=1))}" if len(values) > 1 \
        else _f(values[0])


def _cpu(run_folds: dict) -> str:
    minutes = [f.get("fine_tune_cpu_minutes", f.get("fit_transform_cpu_minutes"))
               for f in run_folds.values()]
    minutes = [m for m in minutes if m is not None and m == m]
    return f"{np.mean(minutes):.1f}" if minutes else "-"


def _finetune(r: dict, fmt: str) -> dict:
    if "finetune_diffae" not in r:
        return {}
    runs = r["finetune_diffae"]["runs"]
    full = cv_rows(runs, 3)
    _claim(any(n == "frozen" for n, _, _ in full), "the frozen checkpoint is a CV row")
    rows = []
    for name, first, s in full:
        rows.append([describe(first), *(_cell(s[:, i]) for i in range(len(METRICS))),
                     _cpu(runs[name]["folds"])])
    cv_table = _table(["configuration (3-fold CV of the training part)", *HEADER,
                       "fine-tuning (peers: fit + transform) CPU-min"], rows, fmt)
    f1 = METRICS.index("mean_f1_NAO")
    frozen_folds = runs["frozen"]["folds"]
    from sklearn_biodiff.pretrained import DEFAULT_READOUT

    default_key = _key(DEFAULT_READOUT)
    screens = []
    for run in runs.values():
        folds = run.get("folds", {})
        if not 0 < len(folds) < 3:
            continue
        keys = sorted(folds)
        s = np.array([[_scores(folds[k])[m] for m in METRICS] for k in keys])
        base = np.array([_scores(frozen_folds[k])["mean_f1_NAO"] for k in keys])
        # the default readout's mean F1 too, when every fold done was scored with it
        default_f1 = ([_scores(folds[k], default_key)["mean_f1_NAO"] for k in keys]
                      if all(_has(folds[k], default_key) for k in keys) else None)
        screens.append([describe(folds[keys[0]]),
                        ("fold " if len(keys) == 1 else "folds ") + ", ".join(keys),
                        *(_f(v) for v in s.mean(axis=0)), _cpu(folds),
                        f"{s[:, f1].mean() - base.mean():+.3f}",
                        _f(np.mean(default_f1)) if default_f1 else "-"])
    screen_table = _table(["configuration (some folds only)", "done (of 3)", *HEADER,
                           "fine-tuning CPU-min", "mean F1 vs frozen, same folds",
                           f"mean F1 N, A, O, readout {DEFAULT_READOUT!r}"],
                          screens, fmt) if screens else "(none)"
    first_fold = next(iter(runs["frozen"]["folds"].values()))
    rescored = [(n, first, s) for n, first, s in cv_rows(runs, 3, default_key)
                if "baseline" not in first]
    if default_key != READOUT_KEY and rescored:
        table = _table(["configuration (3-fold CV of the training part)", *HEADER],
                       [[describe(first), *(_cell(s[:, i]) for i in range(len(METRICS)))]
                        for _, first, s in rescored], fmt)
        frozen_d = dict((n, s) for n, _, s in rescored).get("frozen")
        verdict = "".join(
            " " + _gain_sentence(describe(first), s, frozen_d) + "."
            for n, first, s in rescored if n != "frozen" and frozen_d is not None)
        default_block = (
            f"The same fine-tuned encoders (their resume states), frozen and probed with "
            f"`DEFAULT_READOUT = \"{DEFAULT_READOUT}\"` on the same folds:\n\n{table}\n\n"
            f"Against the frozen checkpoint with that readout:{verdict}")
    else:
        default_block = ""
    return {"ft_cv_table": cv_table, "ft_screen_table": screen_table,
            "ft_default_readout": default_block,
            "ft_verdict": _verdict(runs), "ft_test": _test_once(r, fmt),
            "ft_challenge": _challenge(r, fmt),
            "ft_robustness": _robustness(r),
            "ft_machine": (f"{first_fold['run']['machine']['cpu_count']} cores, one torch "
                           f"thread per run, torch {first_fold['run']['machine']['torch']}")}


NAMES = {"macro_f1": "4-class macro F1", "mean_f1_NAO": "mean F1 of N, A, O",
         "auroc_normal_vs_abnormal": "normal vs abnormal AUROC",
         "auroc_af_vs_rest": "AF vs rest AUROC"}


def _gain_sentence(label: str, s: np.ndarray, frozen: np.ndarray) -> str:
    """``label``'s mean difference to the frozen checkpoint per metric, and whether it
    exceeds one fold standard deviation (the larger of the two rows')."""
    parts = []
    for i, m in enumerate(METRICS):
        d = s[:, i].mean() - frozen[:, i].mean()
        sd = max(s[:, i].std(ddof=1), frozen[:, i].std(ddof=1))
        parts.append(f"{NAMES[m]} {d:+.3f} ({'beyond' if abs(d) > sd else 'within'} one "
                     f"fold std, {sd:.3f})")
    return f"{label}: " + ", ".join(parts)


def _verdict(runs: dict) -> str:
    full = {n: s for n, _, s in cv_rows(runs, 3)}
    frozen = full["frozen"]
    out = []
    if DEFAULT_RUN in full:
        out.append(_gain_sentence("The default recipe against the frozen checkpoint "
                                  "(same folds)", full[DEFAULT_RUN], frozen) + ".")
    else:
        done = len(runs.get(DEFAULT_RUN, {}).get("folds", {}))
        out.append(f"The default recipe's row has {done} of 3 folds so far; it is left "
                   "out of the table until all three are in.")
    for name, s in full.items():
        if name in ("frozen", DEFAULT_RUN):
            continue
        out.append(_gain_sentence(describe(runs[name]["folds"]["0"]), s, frozen) + ".")
    # fine-tuned variants against the default recipe itself (same folds): what each
    # change of the recipe does (a difference within one fold std is a tie)
    variants = [n for n in full if n not in ("frozen", DEFAULT_RUN)
                and runs[n]["folds"]["0"].get("init", "pretrained") == "pretrained"
                and "params" in runs[n]["folds"]["0"]]
    if DEFAULT_RUN in full and variants:
        out.append("Against the default recipe itself (same folds): " + "; ".join(
            _gain_sentence(describe(runs[n]["folds"]["0"]), full[n], full[DEFAULT_RUN])
            for n in variants) + ".")
    return "\n\n".join(out)


def _test_once(r: dict, fmt: str) -> str:
    from sklearn_biodiff.pretrained import DEFAULT_READOUT

    b = r.get("bench_label_efficiency", {}).get("rows", {})
    tuned = b.get(f"fine_tuned readout={DEFAULT_READOUT}", {}).get("fractions", {})
    frozen = b.get(f"pretrained readout={DEFAULT_READOUT}", {}).get("fractions", {})
    if "1" not in tuned or "1" not in frozen:
        return ("The README split's test part has not been scored with the fine-tuned "
                "default yet (`benchmarks/bench_label_efficiency.py`, fraction 100 %).")
    t, f = tuned["1"]["test"], frozen["1"]["test"]
    cells = [[NAMES[m], _f(f[m]["mean"]), _f(t[m]["mean"]), f"{TARGETS[m]:g}",
              "met" if t[m]["mean"] >= TARGETS[m] else "not met"] for m in METRICS]
    return ("The README split, test part scored once (`benchmarks/bench_label_efficiency"
            f".py` at 100 % of the labels, seed 0; one fine-tuning run; `readout=\""
            f"{DEFAULT_READOUT}\"`), against the "
            "targets of the fine-tuning issue:\n\n"
            + _table(["metric", "frozen", "fine-tuned (defaults)", "target", ""], cells,
                     fmt))


def _challenge(r: dict, fmt: str) -> str:
    c = r.get("bench_challenge_cv")
    if c is None or "fine_tuned" not in c.get("summary", {}):
        return ("The five-fold cross-validation over all 8,528 records with the "
                "challenge's F1 (`benchmarks/bench_challenge_cv.py`) has not been run "
                "yet.")
    from sklearn_biodiff.pretrained import DEFAULT_READOUT

    s = {row: v.get("readouts", {}).get(DEFAULT_READOUT, v)
         for row, v in c["summary"].items()}
    n = s["fine_tuned"]["challenge_f1_NAO"]["n_folds"]
    cells = [[row, f"{s[row]['challenge_f1_NAO']['mean']:.3f}" + (
                   f" ± {s[row]['challenge_f1_NAO']['std']:.3f}" if n > 1 else ""),
              f"{s[row]['auroc_af_vs_rest']['mean']:.3f}"] for row in ROWS_CV if row in s]
    return (f"The challenge-comparable figure (`benchmarks/bench_challenge_cv.py`: "
            f"stratified 5-fold CV over all {c['n_records']:,} records; {n} of 5 folds "
            f"done; fine-tuning and probe inside each fold; the DiffAE rows with "
            f"`readout=\"{DEFAULT_READOUT}\"`): the challenge's F1 of N, A, "
            f"O (mean ± std over the folds done) and AF vs rest AUROC. The challenge's "
            f"entries were scored on a hidden test set, so this is comparable, not "
            f"equal, to theirs.\n\n"
            + _table(["embedding", "challenge F1 (N, A, O)", "AF vs rest"], cells, fmt))


ROWS_CV = ("fine_tuned", "frozen", "scattering")

#: the fine-tuning issue's robustness targets: mean normalised area over the noise kinds
#: and the white-noise area (``bench_robustness``)
ROBUSTNESS_TARGETS = {"mean": 0.875, "white": 0.85}


def _robustness(r: dict) -> str:
    """The fine-tuned encoders' noise robustness (``bench_robustness --fitted``) beside
    the frozen checkpoint with the same readout, against the issue's targets."""
    from sklearn_biodiff.pretrained import DEFAULT_PRETRAINED

    models = r.get("bench_robustness", {}).get("models", {})
    tuned = {k: v for k, v in models.items()
             if k.startswith("fitted") and f"{DEFAULT_RUN}-fold" in k}
    if not tuned:
        return ("The fine-tuned encoder's noise robustness has not been measured yet "
                "(`benchmarks/bench_robustness.py --fitted` on a fine-tuning state).")
    parts = []
    for key, m in tuned.items():
        tag = key.split(":")[0][len("fitted"):]
        frozen = models.get(f"pretrained{tag}:{DEFAULT_PRETRAINED}")
        state = key.split(":", 1)[1]
        mean, white = m["mean_area_over_kinds"], m["kinds"]["gaussian"]["area_normalised"]
        verdict = ", ".join(
            f"{name} {_f(v)} ({'meets' if v >= ROBUSTNESS_TARGETS[t] else 'misses'} "
            f"{ROBUSTNESS_TARGETS[t]:g})"
            for name, v, t in (("mean area", mean, "mean"), ("white-noise area", white,
                                                                "white")))
        text = f"`{state}` ({_readout_of_tag(tag)}): clean AUROC {_f(m['clean'])}, {verdict}"
        if frozen is not None:
            text += (f"; the frozen `{DEFAULT_PRETRAINED}` with the same readout: clean "
                     f"{_f(frozen['clean'])}, mean area {_f(frozen['mean_area_over_kinds'])}"
                     f", white {_f(frozen['kinds']['gaussian']['area_normalised'])}")
        parts.append(text)
    return ("Noise robustness of the fine-tuned encoder (`benchmarks/bench_robustness.py "
            "--fitted`: the state of one fold of the cross-validation above, fine-tuned "
            "on two thirds of the README training part; frozen, scaler + logistic probe "
            "fitted on the clean training part, normal vs abnormal; the test part "
            "corrupted at 24 to 0 dB by five noise kinds, AUROC area normalised): "
            + "; ".join(parts) + ". One fine-tuning run, one noise draw.")


def _readout_of_tag(tag: str) -> str:
    """The readout a robustness model's tag names (``_protocol.readout_tag``)."""
    from benchmarks import _protocol
    from sklearn_biodiff.feature_extraction._diffae import READOUTS

    return next((f'`readout="{ro}"`' for ro in READOUTS
                 if _protocol.readout_tag(ro) == tag), tag)
