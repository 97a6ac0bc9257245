"""Fields of the patient-grouped DACL blocks (``bench_dacl_patients``, issue 17)."""

from __future__ import annotations

from ._text import _and, _claim, _f, _pm, _table, _thousands

#: bench_dacl_patients: table rows in order (configurations absent from the JSON skipped)
PATIENT_ROWS = {
    "st_features": "ST features (input of the VAE)",
    "vae_mu": "VAE mu (input of the embedders)",
    "dacl_paper": "DACL, paper setting (defaults)",
    "dacl_other_patient": "DACL, positive from another patient",
    "dacl_supcon_other_patient": "DACL, SupCon, positives from other patients",
    "dacl_semihard": "DACL, semi-hard negatives",
    "dacl_patient": "DACL, `objective='patient'` (no labels)",
    "dacl_residual": "DACL, `input_skip='residual'`",
    "dacl_concat": "DACL, `input_skip='concat'`",
    "dacl_supcon_other_patient_concat": "DACL, SupCon, other patients, `input_skip='concat'`",
    "dacl_patient_concat": "DACL, `objective='patient'`, `input_skip='concat'`",
    "dacl_paper_keep": ("DACL, paper setting, beside the ST features (`keep_features=True`, "
                        "the default of `make_dacl_pipeline`)"),
    "dacl_supcon_other_patient_keep": "DACL, SupCon, other patients, beside the ST features",
    "gaussian": "contrastive + Gaussian views",
    "dae": "denoising AE",
    "diffae_frozen": "pretrained DiffAE (`DEFAULT_PRETRAINED`, `DEFAULT_READOUT`), frozen",
    "diffae_fine_tuned": ("pretrained DiffAE fine-tuned with the labels (the package's "
                          "defaults), `DEFAULT_READOUT`"),
}
#: the DiffAE rows, which may come from their own run (bench_dacl_patients_diffae.json)
DIFFAE_ROWS = ("diffae_frozen", "diffae_fine_tuned")

#: the fine-tuning issue's target on this benchmark: at least ST + 0.02 on both tasks
DIFFAE_MARGIN = 0.02
#: how closely the ST probe cells of the DiffAE's own run must agree with the main
#: run's (the scattering features were recomputed by later, float-equivalent code)
ST_AGREEMENT = 1e-4


#: the subject of a sentence comparing a baseline with the paper setting
PATIENT_BASELINES = {"gaussian": "Contrastive training on Gaussian views",
                     "dae": "The denoising AE"}


PATIENT_TASKS = {"normal_vs_abnormal": "normal vs abnormal", "af_vs_rest": "AF vs rest"}


def _versus(cv: dict, a: str, b: str) -> tuple[str, float, float]:
    """How ``a`` ranks against ``b`` by CV mean: "above", "below" or "tied with".

    A difference of the means within one fold std (the larger of the two) is a tie.
    """
    diff = cv[a]["window"]["mean"] - cv[b]["window"]["mean"]
    std = max(cv[a]["window"]["std"], cv[b]["window"]["std"])
    word = "tied with" if abs(diff) <= std else ("above" if diff > 0 else "below")
    return word, diff, std


def _dacl_patients(r: dict, fmt: str) -> dict:
    """Issue 17: 10-s windows of CinC 2017, record-grouped CV, test part once."""
    if "bench_dacl_patients" not in r:
        return {}
    b = r["bench_dacl_patients"]
    cv, test, data, run = b["cv"], b.get("test"), b["data"], b["run"]
    settings = b["settings"]
    names = [k for k in PATIENT_ROWS if all(k in cv[t] for t in PATIENT_TASKS)]
    rows = []
    for k in names:
        row = [PATIENT_ROWS[k]]
        for t in PATIENT_TASKS:
            row.append(_pm(cv[t][k]["window"]))
            row.append(_f(test[t][k]["window"]) if test else "not run")
        rows.append(row)
    # the frozen DiffAE: its own run (bench_dacl_patients_diffae.json), same folds and ST
    # features (the VAE latent of a later run differs, so its rows are not merged)
    extra = r.get("bench_dacl_patients_diffae")
    extra_rows = [] if extra is None else [
        k for k in DIFFAE_ROWS if k not in names and all(k in extra["cv"][t]
                                                         for t in PATIENT_TASKS)]
    if not extra_rows:
        extra = None  # a run without the rows: nothing to add
    if extra is not None:
        for t in PATIENT_TASKS:
            mine, main = extra["cv"][t]["st_features"]["window"], cv[t]["st_features"]["window"]
            st_gap = max(abs(x - y) for x, y in zip(mine["folds"], main["folds"]))
            if test:
                st_gap = max(st_gap, abs(extra["test"][t]["st_features"]["window"]
                                         - test[t]["st_features"]["window"]))
            _claim(st_gap <= ST_AGREEMENT,
                   "the DiffAE run's ST probe cells agree with the main run's (same folds)")
        for k in extra_rows:
            row = [PATIENT_ROWS[k] + " (its own run)"]
            for t in PATIENT_TASKS:
                row.append(_pm(extra["cv"][t][k]["window"]))
                row.append(_f(extra["test"][t][k]["window"])
                           if extra.get("test") else "not run")
            rows.append(row)
    header = ["embedding", "N vs A, CV", "N vs A, test", "AF vs rest, CV", "AF vs rest, test"]

    sentences = []
    # the probe on the ST features against the paper setting, per task
    for t, label in PATIENT_TASKS.items():
        word, diff, std = _versus(cv[t], "dacl_paper", "st_features")
        sentence = (f"On {label}, DACL (paper setting) is {word} the ST probe "
                    f"({_f(cv[t]['dacl_paper']['window']['mean'])} vs "
                    f"{_f(cv[t]['st_features']['window']['mean'])}, fold std up to "
                    f"{_f(std)}).")
        _claim((word == "tied with") == (abs(diff) <= std)
               and (word != "above" or diff > std) and (word != "below" or diff < -std),
               sentence)
        sentences.append(sentence)
    # the target: some DACL configuration at least as good as the ST probe
    dacl = [k for k in names if k.startswith("dacl_")]
    reach = [k for k in dacl
             if all(_versus(cv[t], k, "st_features")[0] != "below" for t in PATIENT_TASKS)]
    if reach:
        sentence = ("Not below the ST probe on both tasks (a difference within one fold std "
                    "is a tie): " + "; ".join(PATIENT_ROWS[k] for k in reach) + ".")
    else:
        sentence = ("No DACL configuration reaches the ST probe on both tasks: each is below "
                    "it by more than one fold std on at least one task, so the issue's target "
                    "is **not reached**.")
    _claim(all(any(cv[t][k]["window"]["mean"] - cv[t]["st_features"]["window"]["mean"]
                   < -max(cv[t][k]["window"]["std"], cv[t]["st_features"]["window"]["std"])
                   for t in PATIENT_TASKS) for k in dacl if k not in reach), sentence)
    sentences.append(sentence)
    for k in DIFFAE_ROWS:
        if k in names:
            sentences.append(_diffae_sentence(cv, test, k))
    if extra is not None:
        sentences.extend(_diffae_sentence(extra["cv"], extra.get("test"), k)
                         for k in extra_rows)
        sentences.append(
            f"({'Its row comes' if len(extra_rows) == 1 else 'Their rows come'} from "
            "`bench_dacl_patients_diffae.json`, a later run on the same folds: its ST probe "
            f"cells agree with this table's within {ST_AGREEMENT:g}, the scattering "
            "features having been recomputed by later float-equivalent code; its VAE "
            "latent does not reproduce the earlier one's, so its rows were not merged and "
            "only its ST and DiffAE cells are used.)")
    if "diffae_frozen" in [*names, *extra_rows] and "diffae_fine_tuned" not in [
            *names, *extra_rows]:
        sentences.append("A fine-tuned encoder is not a row of this benchmark yet.")
    # the decision rule of the benchmark, re-checked from the fold scores
    dec = b["decision"]
    winners = [k for k in dec["candidates"] if k in names and all(
        sum(x - y for x, y in zip(cv[t][k]["window"]["folds"],
                                  cv[t]["dacl_paper"]["window"]["folds"]))
        / len(cv[t][k]["window"]["folds"])
        > max(cv[t][k]["window"]["std"], cv[t]["dacl_paper"]["window"]["std"])
        for t in PATIENT_TASKS)]
    _claim(sorted(winners) == sorted(dec["winners"]),
           "the decision of the JSON follows from its fold scores")
    if dec["new_default"] is None:
        sentence = ("No `DACLEmbedder` option beats the paper setting by more than one fold "
                    "std on both tasks, so the defaults stay the paper setting.")
    else:
        sentence = (f"{PATIENT_ROWS[dec['new_default']]} beats the paper setting by more "
                    "than one fold std on both tasks and is the new default of "
                    "`DACLEmbedder`; the paper setting stays reachable by parameters.")
    sentences.append(sentence)
    # the pipeline-level option: the paper setting beside the ST features
    if "dacl_paper_keep" in names:
        import inspect

        from sklearn_biodiff.pipeline import make_dacl_pipeline

        keep_default = inspect.signature(make_dacl_pipeline).parameters[
            "keep_features"].default
        vs = {t: _versus(cv[t], "dacl_paper_keep", "dacl_paper") for t in PATIENT_TASKS}
        if all(w == "above" for w, _, _ in vs.values()):
            _claim(keep_default is True, "make_dacl_pipeline defaults to what the CV supports")
            sentence = (
                "Beside the ST features, the paper setting beats the paper setting alone by "
                "more than one fold std on both tasks ("
                + ", ".join(f"{'+' if d >= 0 else ''}{_f(d)} on {PATIENT_TASKS[t]}"
                            for t, (_, d, _) in vs.items())
                + "): by the benchmark's rule the CV supports `keep_features=True`, which is "
                "the default of `make_dacl_pipeline`; `keep_features=False` is the paper's "
                "pipeline (steps `vae`, `dacl`; the `dacl__*` names of the timestep "
                "examples).")
        else:
            _claim(keep_default is False, "make_dacl_pipeline defaults to what the CV supports")
            sentence = ("Beside the ST features, the paper setting does not beat the paper "
                        "setting alone by more than one fold std on both tasks: "
                        "`make_dacl_pipeline` keeps `keep_features=False`.")
        sentences.append(sentence)
    # the largest gain of any option over the paper setting, per task
    options = [k for k in dec["candidates"] if k in names]
    for t, label in PATIENT_TASKS.items():
        best = max(options, key=lambda k, t=t: cv[t][k]["window"]["mean"])
        word, diff, std = _versus(cv[t], best, "dacl_paper")
        sentence = (f"The best option on {label} ({PATIENT_ROWS[best]}) is {word} the paper "
                    f"setting ({'+' if diff >= 0 else ''}{_f(diff)}, fold std up to {_f(std)}).")
        _claim(all(cv[t][k]["window"]["mean"] <= cv[t][best]["window"]["mean"]
                   for k in options) and (word == "tied with") == (abs(diff) <= std), sentence)
        sentences.append(sentence)
    # Gaussian views and the DAE against the paper setting
    for k in PATIENT_BASELINES:
        if k not in names:
            continue
        parts = []
        for t, label in PATIENT_TASKS.items():
            word, diff, std = _versus(cv[t], k, "dacl_paper")
            _claim((word == "tied with") == (abs(diff) <= std),
                   f"{k} vs dacl_paper on {t}")
            parts.append(f"{word} it on {label}")
        sentences.append(f"{PATIENT_BASELINES[k]} is " + " and ".join(parts) + ".")

    first_run = b["merged_runs"][0]["earlier_run"] if b.get("merged_runs") else run
    machine = first_run["machine"]
    seeds = settings["seeds"]
    reductions = b["protocol"].get("reductions", {})
    reduced = []
    if "seeds" in reductions:
        reduced.append(f"seeds {', '.join(map(str, seeds))} only (default "
                       f"{', '.join(map(str, reductions['seeds']['default']))})")
    if "configs" in reductions:
        dropped = [k for k in reductions["configs"]["default"]
                   if k not in reductions["configs"]["used"]]
        reduced.append("without " + ", ".join(f"`{k}`" for k in dropped))
    for k in ("folds", "epochs", "vae_epochs"):
        if k in reductions:
            reduced.append(f"{k} {reductions[k]['used']} (default {reductions[k]['default']})")
    def m_cpu(m):
        c = m["cpu_seconds"]
        return c["total"]

    merged = []
    for m in b.get("merged_runs", []):
        _claim(m["max_abs_diff_of_shared_cells"] <= 1e-6, "merged runs agree on shared cells")
        merged.append(
            "The rows " + ", ".join(f"`{k}`" for k in m["configs"]) + " come from a later run "
            f"({run['date'][:10]}; the others {m['earlier_run']['date'][:10]}) that refitted "
            "the shared configurations on the same folds and seeds: every cell both runs "
            "computed agrees "
            f"(largest difference {m['max_abs_diff_of_shared_cells']:.1g}), so the table is "
            "what one run with all configurations gives (the later run: "
            f"{m_cpu(m) / 60:.0f} CPU-minutes, same machine type and settings).")
    return {
        "dp_table": _table(header, rows, fmt),
        "dp_verdict": " ".join(sentences + merged),
        "dp_n_records": _thousands(data["n_records"]),
        "dp_n_windows": _thousands(data["n_windows"]),
        "dp_n_padded": str(data["n_padded_records"]),
        "dp_n_train_windows": _thousands(data["n_train_windows"]),
        "dp_n_test_windows": _thousands(data["n_test_windows"]),
        "dp_folds": str(settings["folds"]),
        "dp_seeds": ("seed " if len(seeds) == 1 else "seeds ") + ", ".join(map(str, seeds)),
        "dp_n_folds_total": str(len(b["folds"])),
        "dp_epochs": str(settings["epochs"]),
        "dp_vae_epochs": str(settings["vae_epochs"]),
        "dp_latent": str(settings["latent_dim"]),
        "dp_reduced": ("Deviations from the benchmark's defaults: " + "; ".join(reduced)
                       + "." + (f" {b['protocol']['note']}" if b["protocol"].get("note")
                                else "") if reduced else "The benchmark's default protocol."),
        "dp_st_cached": ("the ST features were read from the cache"
                         if b["cpu_seconds"]["st_features"] == 0 else
                         f"{b['cpu_seconds']['st_features'] / 60:.0f} of them computing the "
                         "ST features"),
        "dp_machine": f"{machine['cpu_count']} cores, {machine['platform'].split('-')[0]}, "
                      f"torch {machine['torch']}, {first_run['date'][:10]}",
        "dp_threads": str(machine["torch_threads"]),
        "dp_cpu_minutes": f"{b['cpu_seconds']['total'] / 60:.0f}",
    }


#: README-split targets of issue 17 for the DACL pipeline (test part, scored once)
KEEP_TARGETS = {"normal_vs_abnormal": 0.874, "af_vs_rest": 0.935}


KEEP_ROWS = {"st_features": "ST features + LR (C=0.01)",
             "dacl": "DACL, paper's pipeline (`keep_features=False`)",
             "dacl_keep_features": "DACL beside the ST features (`keep_features=True`)"}


def _dacl_keep(r: dict, fmt: str) -> dict:
    """``reproduce_dacl.py --keep-features``: the default pipeline on the README split."""
    if "reproduce_dacl_keep" not in r:
        return {}
    b = r["reproduce_dacl_keep"]
    tasks = {t: PATIENT_TASKS[t] for t in KEEP_TARGETS if t in b}
    rows = []
    p = r.get("reproduce_dacl_pretrained")
    name = p["settings"]["on_pretrained"] if p else None
    sources = [(b, KEEP_ROWS)]
    if p:
        sources.append((p, {
            "pretrained": f"frozen `{name}` embedding (C=1)",
            "pretrained_keep_features": f"`{name}` beside the ST features",
            "dacl_on_pretrained": f"DACL on the `{name}` embedding instead of the VAE latent",
            "dacl_on_pretrained_keep_features": f"DACL on the `{name}` embedding, beside the "
                                                "ST features"}))
    for src, labels in sources:
        for k, label in labels.items():
            if k not in src[next(iter(tasks))]["split"]:
                continue
            rows.append([label, *(c for t in tasks for c in (
                f"{_f(src[t]['cv3_on_train'][k]['mean'])} +- "
                f"{_f(src[t]['cv3_on_train'][k]['std'])}", _f(src[t]["split"][k])))])
    header = ["pipeline", *(c for t in tasks.values() for c in (f"{t}, CV on train",
                                                                f"{t}, test"))]
    said = []
    for t, label in tasks.items():
        cv = b[t]["cv3_on_train"]
        for other in ("dacl", "st_features"):
            d = cv["dacl_keep_features"]["mean"] - cv[other]["mean"]
            std = max(cv["dacl_keep_features"]["std"], cv[other]["std"])
            word = "above" if d > std else "below" if d < -std else "tied with"
            said.append(f"{word} {'the paper' if other == 'dacl' else 'the ST features'} "
                        f"on {label} ({'+' if d >= 0 else ''}{_f(d)}, fold std up to "
                        f"{_f(std)})")
    met = [f"{label} {_f(b[t]['split']['dacl_keep_features'])} "
           f"{'>=' if b[t]['split']['dacl_keep_features'] >= KEEP_TARGETS[t] else '<'} "
           f"{KEEP_TARGETS[t]:g}" for t, label in tasks.items()]
    pre = ""
    if p:
        _claim(all(p[t]["n_train"] == b[t]["n_train"] for t in tasks),
               "the pretrained rows use the same training part")
        parts, above_vae = [], []
        for t, label in tasks.items():
            a, k = p[t]["cv3_on_train"], b[t]["cv3_on_train"]["dacl_keep_features"]
            cmp = []
            for other, what in ((k, "`keep_features=True` on the VAE latent"),
                                (a.get("pretrained_keep_features"),
                                 f"`{name}` beside the ST features without DACL")):
                if other is None:
                    continue
                d = a["dacl_on_pretrained_keep_features"]["mean"] - other["mean"]
                std = max(a["dacl_on_pretrained_keep_features"]["std"], other["std"])
                word = "above" if d > std else "below" if d < -std else "tied with"
                if other is k:
                    above_vae.append(word == "above")
                cmp.append(f"{word} {what} ({'+' if d >= 0 else ''}{_f(d)}, fold std up to "
                           f"{_f(std)})")
            parts.append(f"on {label} " + _and(cmp))
        pre = (f"The `{name}` rows come from a second run of the same protocol (same "
               "training part, folds and seed; JSON `results/reproduce_dacl_pretrained."
               f"json`); `{name}` was pretrained on the README training part only, labels "
               "unused. DACL on the pretrained embedding alone is below DACL on the VAE "
               "latent and below the embedding it starts from; beside the ST features it is "
               + "; ".join(parts) + ". "
               + ("It is above on both tasks by more than one fold std, which would support "
                  "it as the default." if all(above_vae) else
                  "It is not above on both tasks by more than one fold std, so the default "
                  "pipeline keeps the VAE latent, which needs no DiffAE transform of every "
                  "record."))
        best = {t: max([(v["mean"], k) for k, v in {**b[t]["cv3_on_train"],
                                                    **p[t]["cv3_on_train"]}.items()])[1]
                for t in tasks}
        if len(set(best.values())) == 1 and best[next(iter(tasks))] == "pretrained_keep_features":
            pre += (f" The highest CV on both tasks is `{name}` beside the ST features, with no "
                    "DACL at all (`make_union(ScatteringFeatures(), DiffAEEmbedder."
                    f"from_pretrained('{name}'))`, the pretrained models' hybrid).")
        _claim(all(p[t]["cv3_on_train"]["dacl_on_pretrained"]["mean"]
                   < min(b[t]["cv3_on_train"]["dacl"]["mean"],
                         p[t]["cv3_on_train"]["pretrained"]["mean"]) for t in tasks),
               "DACL on the pretrained embedding alone is below DACL on the VAE latent")
    return {
        "dk_pretrained": pre,
        "dk_table": _table(header, rows, fmt),
        "dk_n": "; ".join(f"{label}: {_thousands(b[t]['n_train'])} training and "
                          f"{_thousands(b[t]['n_test'])} test records"
                          for t, label in tasks.items()),
        "dk_cv": "In CV on the training part, `keep_features=True` is " + _and(said) + ".",
        "dk_targets": "The roadmap's README-split targets, test part scored once: "
                      + "; ".join(met) + ".",
        "dk_minutes": f"{b['run']['wall_seconds'] / 60:.0f}",
    }


def _diffae_sentence(cv: dict, test: dict | None, name: str = "diffae_frozen") -> str:
    """A DiffAE row (:data:`DIFFAE_ROWS`) against the ST probe and the target ST + 0.02."""
    parts, met = [], []
    for t, label in PATIENT_TASKS.items():
        d_cv = cv[t][name]["window"]["mean"] - cv[t]["st_features"]["window"]["mean"]
        std = max(cv[t][name]["window"]["std"], cv[t]["st_features"]["window"]["std"])
        text = f"{label} {'+' if d_cv >= 0 else ''}{_f(d_cv)} in CV (fold std up to {_f(std)})"
        ok = d_cv >= DIFFAE_MARGIN
        if test:
            d_te = test[t][name]["window"] - test[t]["st_features"]["window"]
            text += f", {'+' if d_te >= 0 else ''}{_f(d_te)} on the test part"
            ok = ok and d_te >= DIFFAE_MARGIN
        parts.append(text)
        met.append(ok)
    verdict = ("meets" if all(met) else "does not meet")
    if name == "diffae_frozen":
        subject = ("The pretrained DiffAE, frozen on the raw windows (no training in this "
                   "benchmark; its pretraining saw the training part's records without "
                   "labels, the CV folds' held-out windows among them, so its CV cells "
                   "favour it and the test part is the clean comparison)")
    else:
        subject = ("The pretrained DiffAE fine-tuned with the labels (the package's "
                   "defaults; in each fold on the whole records of the fold's training "
                   "windows, for the test part on the whole training part; then frozen on "
                   "the windows; the same caveat on its CV cells)")
    return (f"{subject}, against the ST probe: " + "; ".join(parts) + f". It {verdict} "
            f"the fine-tuning issue's target of ST + {DIFFAE_MARGIN:g} on both tasks (CV "
            "and test).")
