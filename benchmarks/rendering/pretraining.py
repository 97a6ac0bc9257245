"""Fields of the DiffAE training block and the pretraining-recipe block.

From ``bench_diffae`` and ``pretrain_diffae_<recipe>``.
"""

from __future__ import annotations

from ._text import _and, _claim, _f, _table, _thousands
from .pretrained import TEST_TIE, _shipped_configs


def _diffae(r: dict, fmt: str) -> dict:
    d = r["bench_diffae"]
    rows = []
    for p in d["curve"]:
        minutes = "0 (random init)" if p["train_minutes"] == 0 else f"{p['train_minutes']:.0f}"
        rows.append([minutes, _f(p["macro_f1"]), _f(p["mean_f1_NAO"]),
                     _f(p["auroc_normal_vs_abnormal"])])
    last = d["curve"][-1]
    rates = [p["train_snippets_per_s"] for p in d["curve"] if p["train_snippets_per_s"]]
    tf = [p["transform_records_per_s"] for p in d["curve"]]
    _claim(all(a["macro_f1"] < b["macro_f1"] for a, b in zip(d["curve"], d["curve"][1:])),
           "the curve still rises at the last mark")
    return {
        "diffae_table": _table(["training minutes (wall clock, 2 torch threads)",
                                "4-class macro F1", "mean F1 N, A, O",
                                "normal vs abnormal AUROC"], rows, fmt),
        "diffae_threads": str(d["machine"]["threads"]),
        "diffae_batch": str(d["settings"]["batch_size"]),
        "diffae_lr": f"{d['settings']['lr']:g}",
        "diffae_crop": _thousands(d["crop_samples"]),
        "diffae_short": str(d["n_train_shorter_than_crop"]),
        "diffae_n_train": _thousands(d["n_train"]),
        "diffae_train_rate": f"{min(rates):.0f}-{max(rates):.0f}",
        "diffae_tf_rate": f"{min(tf):.0f}-{max(tf):.0f}",
        "diffae_last_minutes": f"{last['train_minutes']:.0f}",
        "diffae_last_f1": _f(last["macro_f1"]),
        "diffae_st_f1": _f(r["bench_scattering"]["quality"]["contextualize_true"]
                           ["macro_f1_4class"]),
    }


#: pretraining recipes in table order (scripts/pretrain_diffae.py RECIPES)
RECIPE_NAMES = {"plain": "plain", "encoder_noise": "`encoder_noise`",
                "contrastive": "`encoder_noise` + contrastive"}


def _pretraining(r: dict, fmt: str) -> dict:
    """Learning curves of every pretraining recipe, and their comparison at equal crops."""
    runs = {k: r[f"pretrain_diffae_{k}"] for k in RECIPE_NAMES if f"pretrain_diffae_{k}" in r}
    if not runs:
        return {}
    cv_keys = ("macro_f1", "auroc_normal_vs_abnormal", "auroc_af_vs_rest")
    rows, marks, init_rows = [], {}, []
    for recipe, run in runs.items():
        for c in run["curve"]:
            if c["random_init"]:
                if init_rows:
                    continue  # the same seeded network for every recipe: one row
                name = "random init (no training)"
            else:
                name = RECIPE_NAMES[recipe]
            marks.setdefault(c["crops_seen"], {})[recipe] = c
            (init_rows if c["random_init"] else rows).append(
                [name, _thousands(c["crops_seen"]), f"{c['train_cpu_minutes']:.0f}",
                 *(_f(c["cv_train"][k]) for k in cv_keys),
                 *(_f(c["test"][k]) for k in cv_keys)])
    rows = init_rows + rows  # the baseline first
    shared = [m for m, by in marks.items() if m > 0 and len(by) >= 2]
    if shared:
        m = max(shared)
        by = sorted(marks[m].items(), key=lambda kv: -kv[1]["cv_train"]["macro_f1"])
        best, second = by[0], by[1]
        gap = best[1]["cv_train"]["macro_f1"] - second[1]["cv_train"]["macro_f1"]
        cpu = {k: v["train_cpu_minutes"] for k, v in marks[m].items()}
        verdict = (f"At {_thousands(m)} crops, the largest count that several recipes reached, "
                   f"{RECIPE_NAMES[best[0]]} has the highest CV macro F1, "
                   f"{gap:.3f} above {RECIPE_NAMES[second[0]]} (one seed each, no spread "
                   "measured: a gap of a few hundredths may not survive another seed); "
                   "training CPU-minutes to get there: "
                   + ", ".join(f"{RECIPE_NAMES[k]} {v:.0f}" for k, v in cpu.items()) + ".")
        if len(by) > 2:
            verdict += (f" CV macro F1 of every recipe at {_thousands(m)} crops: "
                        + ", ".join(f"{RECIPE_NAMES[k]} {_f(v['cv_train']['macro_f1'])}"
                                    for k, v in by) + ".")
        verdict += _equal_compute(runs[best[0]]["curve"], runs[second[0]]["curve"],
                                  RECIPE_NAMES[best[0]], RECIPE_NAMES[second[0]])
    else:
        verdict = ("Only one recipe has been trained so far, so there is no comparison at "
                   "equal crops yet.")
    shipped = []
    cards = {n: c["card"] for n, c in _shipped_configs().items()}
    for name, card in cards.items():
        test = card["metrics"]["test (shipped weights)"]
        recipe = card["recipe"].split(":")[0]
        shipped.append(
            f"`{name}` ships the {RECIPE_NAMES.get(recipe, recipe)} run after "
            f"{_thousands(card['crops_seen'])} crops ({card['cpu_hours']:.2f} CPU-hours), "
            f"half precision; scored as shipped by the same protocol: test macro F1 "
            f"{_f(test['macro_f1'])}, mean F1 of N, A, O {_f(test['mean_f1_NAO'])}, normal vs "
            f"abnormal AUROC {_f(test['auroc_normal_vs_abnormal'])}, AF vs rest AUROC "
            f"{_f(test['auroc_af_vs_rest'])}.")
    if len(cards) > 1:
        from sklearn_biodiff.pretrained import DEFAULT_PRETRAINED

        cv = {k: c["metrics"]["cv_train (shipped weights)"]["macro_f1"]
              for k, c in cards.items()}
        _claim(max(cv, key=cv.get) == DEFAULT_PRETRAINED,
               "the default checkpoint has the highest CV macro F1 of those shipped")
        shipped.append(
            f"The default (`DEFAULT_PRETRAINED`, used by the demo) is `{DEFAULT_PRETRAINED}`, "
            "chosen by the 3-fold CV macro F1 on the training part ("
            + ", ".join(f"`{k}` {_f(v)}" for k, v in cv.items())
            + "), not by the test part." + _default_tie(cards, cv))
    if shipped and "bench_scattering" in r:
        q = r["bench_scattering"]["quality"]["contextualize_true"]
        best_name, best_f1 = max(
            ((k, c["metrics"]["test (shipped weights)"]["macro_f1"]) for k, c in cards.items()),
            key=lambda kv: kv[1])
        gap = best_f1 - q["macro_f1_4class"]
        _claim(gap < TEST_TIE, "no shipped checkpoint is above the macro F1 of the training-free "
                             "features by 0.01 or more with z")
        shipped.append(
            f"`ScatteringFeatures()` on the same split (`benchmarks/bench_scattering.py`, "
            f"probe C=0.01) scores macro F1 {_f(q['macro_f1_4class'])} and normal vs abnormal "
            f"AUROC {_f(q['auroc_normal_vs_abnormal'])}: with the paper's readout (`z`, "
            "above), no shipped checkpoint is above the training-free features' test macro "
            f"F1 by {TEST_TIE} or more ("
            + (f"the best, `{best_name}` with {_f(best_f1)}, is within {TEST_TIE}: a tie"
               if gap > -TEST_TIE else f"all are below by {TEST_TIE} or more")
            + "); with the wider readouts (`DEFAULT_READOUT` among them) see \"Readout\" "
            "below.")
    first = next(iter(runs.values()))
    variants, variants_verdict = _variants(r, runs, fmt)
    header = ["recipe", "crops seen", "training CPU-minutes", "CV macro F1",
              "CV normal vs abnormal AUROC", "CV AF vs rest AUROC", "test macro F1",
              "test normal vs abnormal AUROC", "test AF vs rest AUROC"]
    return {"ptc_table": _table(header, rows, fmt), "ptc_verdict": verdict,
            "ptc_variants": variants, "ptc_variants_verdict": variants_verdict,
            "ptc_shipped": " ".join(shipped),
            "ptc_n_train": _thousands(first["n_train_used_for_embedder"]),
            "ptc_n_test": _thousands(first["n_test"])}


#: CV macro F1 gaps below this are ties (one seed, one 3-fold CV)
CV_TIE = 0.01

#: the readouts a variant row reports, by the key of their scores in a curve row
VARIANT_READOUTS = {"z": None, "attention+rhythm": "readout_attention_rhythm",
                    "attention+stats": "readout_attention_stats",
                    "attention+stats+blocks": "readout_attention_stats_blocks"}


def _describe_variant(run: dict) -> str:
    """A variant run in words: its recipe and what ``--set``/``--precision`` changed."""
    changes = run["overrides"]
    parts = [*changes["set"]]
    if changes["precision"]:
        parts.append(f"precision {changes['precision']}")
    return f"{RECIPE_NAMES.get(run['recipe'], run['recipe'])}, " + ", ".join(parts)


def _cv_f1(row: dict, key: str | None) -> float | None:
    scores = row if key is None else row.get(key)
    return None if scores is None else scores["cv_train"]["mean_f1_NAO"]


def _against_controls(variants: dict) -> list[str]:
    """A sentence per variant and control: same recipe and precision, the control's
    ``--set`` changes a strict subset of the variant's (e.g. a wider network against
    the same precision alone: one change apart), at their last shared mark."""
    sentences = []
    for name, run in sorted(variants.items()):
        for other, ctrl in sorted(variants.items()):
            mine, theirs = run["overrides"], ctrl["overrides"]
            if (other == name or ctrl["recipe"] != run["recipe"]
                    or theirs["precision"] != mine["precision"]
                    or not set(theirs["set"]) < set(mine["set"])):
                continue
            marks = {c["crops_seen"]: c for c in ctrl["curve"] if not c["random_init"]}
            shared = [c for c in run["curve"] if c["crops_seen"] in marks]
            if not shared:
                continue
            c = shared[-1]
            base = marks[c["crops_seen"]]
            gaps = [f"{_cv_f1(c, k) - _cv_f1(base, k):+.3f} with `{n}`"
                    for n, k in VARIANT_READOUTS.items()
                    if _cv_f1(c, k) is not None and _cv_f1(base, k) is not None]
            extra = sorted(set(mine["set"]) - set(theirs["set"]))
            sentences.append(
                f"`{name}` against `{other}` (only {', '.join(extra)} "
                f"{'differs' if len(extra) == 1 else 'differ'}) at "
                f"{_thousands(c['crops_seen'])} crops: CV mean F1 of N, A, O "
                + ", ".join(gaps) + f", for {c['train_cpu_minutes']:.0f} against "
                f"{base['train_cpu_minutes']:.0f} training CPU-minutes (one seed each).")
    return sentences


def _variants(r: dict, runs: dict, fmt: str) -> tuple[str, str]:
    """Runs of a recipe with a changed network or precision (``pretrain_diffae --name
    --set/--precision``) beside the recipe's own run at the same crops: CV mean F1 of
    N, A, O of each readout (the test part is not read here)."""
    def changed(run: dict) -> bool:
        o = run.get("overrides") or {}
        return bool(o.get("set") or o.get("precision"))

    variants = {k[len("pretrain_diffae_"):]: v for k, v in r.items()
                if k.startswith("pretrain_diffae_") and not k.endswith("_quick")
                and changed(v)}
    if not variants:
        return "(none yet)", ""
    rows, sentences = [], []
    for name, run in sorted(variants.items()):
        own = {c["crops_seen"]: c for c in runs.get(run["recipe"], {}).get("curve", [])}
        for c in run["curve"]:
            if c["random_init"]:
                continue
            base = own.get(c["crops_seen"])
            cells = []
            for key in VARIANT_READOUTS.values():
                mine = _cv_f1(c, key)
                theirs = None if base is None else _cv_f1(base, key)
                cells.append("-" if mine is None else _f(mine) + (
                    "" if theirs is None else f" ({mine - theirs:+.3f})"))
            cpu = f"{c['train_cpu_minutes']:.0f}" + (
                "" if base is None else f" ({base['train_cpu_minutes']:.0f})")
            rows.append([f"`{name}`: {_describe_variant(run)}", _thousands(c["crops_seen"]),
                         cpu, *cells])
        shared = [c for c in run["curve"] if not c["random_init"] and c["crops_seen"] in own]
        if shared:
            c = shared[-1]
            base = own[c["crops_seen"]]
            gaps = {n: _cv_f1(c, k) - _cv_f1(base, k) for n, k in VARIANT_READOUTS.items()
                    if _cv_f1(c, k) is not None and _cv_f1(base, k) is not None}
            sentences.append(
                f"`{name}` against the {RECIPE_NAMES.get(run['recipe'], run['recipe'])} run "
                f"at {_thousands(c['crops_seen'])} crops: CV mean F1 of N, A, O "
                + ", ".join(f"{g:+.3f} with `{n}`" for n, g in gaps.items())
                + (" (all within 0.01: a tie, one seed each)"
                   if all(abs(g) < CV_TIE for g in gaps.values())
                   else " (one seed each, one 3-fold CV: a gap under 0.01 is a tie)") + ".")
    sentences += _against_controls(variants)
    waiting = [f"`{name}` ({_describe_variant(run)}, {_thousands(run['crops_seen'])} crops)"
               for name, run in sorted(variants.items())
               if not any(not c["random_init"] for c in run["curve"])]
    if waiting:
        sentences.append("In progress, no mark reached yet: " + _and(waiting) + ".")
    if not rows:
        return "(no mark reached yet)", " ".join(sentences)
    header = ["run: recipe and changes", "crops seen",
              "training CPU-minutes (the recipe's run)",
              *(f"CV mean F1 N, A, O, `{n}` (vs the recipe's run)" for n in VARIANT_READOUTS)]
    return _table(header, rows, fmt), " ".join(sentences)


def _default_tie(cards: dict, cv: dict) -> str:
    """When the two best checkpoints are within ``CV_TIE`` CV macro F1 with ``z``: the
    wider readouts' CV macro F1 of both (their model cards), as a second look at that
    tie. The default must not be behind by ``CV_TIE`` or more with any of them."""
    top, second = sorted(cv, key=cv.get, reverse=True)[:2]
    if cv[top] - cv[second] >= CV_TIE:
        return ""

    def wider(name):
        return {k[len("readout "):]: v["cv_train (shipped weights)"]["macro_f1"]
                for k, v in cards[name]["metrics"].items() if k.startswith("readout ")}

    both = {ro: (v, wider(second)[ro]) for ro, v in wider(top).items() if ro in wider(second)}
    text = f" With `z`, `{top}` and `{second}` are within {CV_TIE} of each other, a tie"
    if not both:
        return text + "; their model cards hold no wider readout to compare."
    _claim(all(a - b > -CV_TIE for a, b in both.values()),
           "the default checkpoint is not behind the runner-up with any wider readout")
    ahead = [f"`{ro}`" for ro, (a, b) in both.items() if a - b >= CV_TIE]
    return (text + "; with the wider readouts, CV macro F1 from their model cards: "
            + "; ".join(f"`{ro}` {_f(a)} against {_f(b)}" for ro, (a, b) in both.items())
            + (f". `{top}` is ahead by {CV_TIE} or more with {_and(ahead)} and within "
               f"{CV_TIE} with "
               + _and([f"`{ro}`" for ro in both if f"`{ro}`" not in ahead]) + "."
               if ahead and len(ahead) < len(both) else
               f". `{top}` is ahead by {CV_TIE} or more with each." if ahead else
               ". They tie with these readouts too; the choice rests on the ranking "
               "with `z` alone.")
            )


#: two marks are "about equal compute" when their training CPU-minutes differ by at most
#: this fraction of the leader's
EQUAL_COMPUTE = 0.15


def _equal_compute(lead: list[dict], other: list[dict], lead_name: str,
                   other_name: str) -> str:
    """Each mark of the leading recipe beside the other recipe's mark nearest in training
    CPU-minutes (pairs further apart than :data:`EQUAL_COMPUTE` are left out)."""
    trained = [c for c in other if not c["random_init"]]
    pairs = []
    for c in (c for c in lead if not c["random_init"]):
        near = min(trained, key=lambda o: abs(o["train_cpu_minutes"] - c["train_cpu_minutes"]))
        if abs(near["train_cpu_minutes"] - c["train_cpu_minutes"]) <= (
                EQUAL_COMPUTE * c["train_cpu_minutes"]):
            pairs.append((c, near))
    if not pairs:
        return (f" No mark of {other_name} is within {EQUAL_COMPUTE:.0%} of a mark of "
                f"{lead_name} in training CPU-minutes, so per unit of compute they are not "
                "compared.")
    parts, words = [], []
    for c, o in pairs:
        diff = c["cv_train"]["macro_f1"] - o["cv_train"]["macro_f1"]
        word = "above" if diff > 0.005 else "below" if diff < -0.005 else "level with"
        words.append(word)
        parts.append(f"after {c['train_cpu_minutes']:.0f} CPU-minutes "
                     f"({_thousands(c['crops_seen'])} crops) {lead_name} has CV macro F1 "
                     f"{_f(c['cv_train']['macro_f1'])}, {word} {other_name} after "
                     f"{o['train_cpu_minutes']:.0f} ({_thousands(o['crops_seen'])} crops, "
                     f"{_f(o['cv_train']['macro_f1'])}; {diff:+.3f})")
    ahead = sum(w == "above" for w in words)
    if ahead == len(words):
        summary = f"{lead_name} is ahead at every budget compared"
    else:
        summary = (f"{lead_name} is ahead at {ahead} of the {len(words)} budgets compared, "
                   "so it is not shown to lead per unit of compute at every budget")
    summary += (f"; {other_name} was not run past "
                f"{max(o['train_cpu_minutes'] for o in trained):.0f} CPU-minutes")
    return (" Per unit of compute (each mark beside the other recipe's mark nearest in "
            "training CPU-minutes; within 0.005 counts as level): " + "; ".join(parts)
            + f". {summary[0].upper()}{summary[1:]}.")
