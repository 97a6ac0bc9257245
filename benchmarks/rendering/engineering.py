"""Fields of the engineering blocks (model selection, WFDB memory, scaling, mutation)."""

from __future__ import annotations

from ._text import _and, _claim, _f, _gain_words, _sci, _table, _thousands


def _model_selection(r: dict, fmt: str) -> dict:
    a = r["bench_model_selection"]["A_feature_cache"]
    b = r["bench_model_selection"]["B_optuna"]
    cands = a["candidates"]
    cached_total = sum(c["seconds"] for c in cands)
    uncached_total = len(cands) * a["no_cache_seconds"]
    later = [c["seconds"] for c in cands[1:]]
    same = next(c for c in cands if c["dacl__t_min"] == 1 and c["dacl__t_max"] == 50)
    pr, plain = b["studies"]["median_pruner"], b["studies"]["no_pruning"]
    _claim(pr["best_cv3_auroc"] == plain["best_cv3_auroc"], "both studies find the same best")
    _claim(abs(same["auroc_mean"] - a["no_cache_auroc"]) < 1e-9,
           "the same candidate scores the same with and without the cache")
    bp = pr["best_params"]
    return {
        "ms_folds": str(r["bench_model_selection"]["settings"]["folds"]),
        "ms_n_cands": str(len(cands)),
        "ms_uncached": f"{a['no_cache_seconds']:.0f}",
        "ms_first": f"{a['first_cached_candidate_seconds']:.0f}",
        "ms_later": f"{a['later_candidates_mean_seconds']:.0f}",
        "ms_later_range": f"{min(later):.0f}-{max(later):.0f}",
        "ms_speedup": f"{a['speedup_no_cache_over_later_candidates']:.1f}",
        "ms_sweep_cached": _thousands(cached_total),
        "ms_sweep_uncached": _thousands(uncached_total),
        "ms_sweep_speedup": f"{uncached_total / cached_total:.1f}",
        "ms_same_cached": _f(same["auroc_mean"]),
        "ms_same_uncached": _f(a["no_cache_auroc"]),
        "ms_trials": str(pr["trials"]),
        "ms_pruned_s": f"{pr['seconds']:.0f}",
        "ms_plain_s": f"{plain['seconds']:.0f}",
        "ms_complete": str(pr["complete"]),
        "ms_pruned": str(pr["pruned"]),
        "ms_tph": f"{pr['trials_per_hour']:.0f}",
        "ms_tph_plain": f"{plain['trials_per_hour']:.0f}",
        "ms_tph_ratio": f"{b['trials_per_hour_ratio_pruned_over_plain']:.2f}",
        "ms_best_cv": _f(pr["best_cv3_auroc"]),
        "ms_best_test": _f(pr["best_config_test_auroc"]),
        "ms_best_params": f"t {bp['dacl__t_min']}-{bp['dacl__t_max']}, margin "
                          f"{bp['dacl__margin']:.2f}, lr {_sci(bp['dacl__lr'])}, latent "
                          f"{bp['vae__latent_dim']}",
    }


def _wfdb_memory(r: dict, fmt: str) -> dict:
    m = r["bench_wfdb_memory"]
    both = m["settings"]["both leads, 250 Hz"]
    ref = m["settings"]["whole record with wfdb.rdrecord (reference)"]
    _claim(both["peak_mb"] < ref["peak_mb"],
           "the windowed loader peaks below one wfdb.rdrecord of the whole record")
    return {"wm_hours": str(m["record"]["hours"]), "wm_n_leads": str(both["shape"][1]),
            "wm_fs": str(m["record"]["fs"]), "wm_windows": _thousands(both["shape"][0]),
            "wm_out_mb": f"{both['output_mb']:.0f}", "wm_peak_mb": f"{both['peak_mb']:.0f}",
            "wm_import_mb": f"{both['import_mb']:.0f}", "wm_ref_mb": f"{ref['peak_mb']:.0f}"}


def _scaling(r: dict, fmt: str) -> dict:
    """bench_scaling: 1 process x 2 threads vs 2 processes x 1 thread (one run)."""
    if "bench_scaling" not in r:
        return {}
    b = r["bench_scaling"]
    d, o = b["diffae_training"], b["optuna_postgresql"]
    one, two = d["one_process_2_threads"], d["two_processes_1_thread"]
    o1, o2 = o["1_workers"], o["2_workers"]
    _claim(o2["distinct_parameter_sets"] == o2["all_trials"],
           "no two trials of the two workers had the same parameter set")
    rows = [[f"DiffAE training, crops/s (default architecture, batch 32, "
             f"{one['steps']} timed steps)", f"{one['crops_per_second']:.1f}",
             f"{two['crops_per_second']:.1f}", f"{d['speedup_two_processes']:.2f}"],
            [f"`optuna_search` trials/hour (DACL on ST features, grouped 3-fold CV, "
             f"PostgreSQL, {o1['study_seconds']:.0f} s)", f"{o1['trials_per_hour']:.0f}",
             f"{o2['trials_per_hour']:.0f}", f"{o['ratio_2_vs_1_workers']:.2f}"]]
    ds, os_ = d["speedup_two_processes"], o["ratio_2_vs_1_workers"]
    verdict = (f"Two `torchrun` processes trained DiffAE at {ds:.2f}x the crops per second "
               f"of one process on both cores ({_gain_words(ds)}); two Optuna workers "
               f"completed {os_:.2f}x the trials per hour of one ({_gain_words(os_)}).")
    if os_ > b["cpu_count"]:  # more than the cores: one worker did not use both
        verdict += (" More than the number of cores: a trial's small DACL networks do not "
                    "keep two torch threads busy, so one worker leaves part of the second "
                    "core idle.")
    return {"sc_records": str(one["records"]), "sc_cpus": str(b["cpu_count"]),
            "sc_note": b["note"],
            "sc_table": _table(["measurement", "1 process, 2 threads",
                                "2 processes, 1 thread each", "ratio (2 / 1)"], rows, fmt),
            "sc_verdict": verdict, "sc_distinct": str(o2["distinct_parameter_sets"]),
            "sc_trials": str(o2["all_trials"])}


#: packages of the mutation check, in table order
MUTATION_PACKAGES = ("preprocessing", "noise", "datasets", "model_selection")


def _mutation(r: dict, fmt: str) -> dict:
    """run_mutation.py: surviving-mutant rates before and after the tests were added."""
    m = r.get("mutation")
    if m is None:
        return {}
    res = m["results"]

    def cell(label, pkg):
        x = res.get(label, {}).get(pkg)
        if x is None:
            return "not run"
        return (f"{100 * x['survival_rate']:.1f} % ({x['survived'] + x['no_tests']} of "
                f"{_thousands(x['total'])})")

    rows, open_ = [], []
    for pkg in MUTATION_PACKAGES:
        after = res.get("after", {}).get(pkg)
        if after is None:
            rows.append([f"`{pkg}`", cell("before", pkg), "not run", "", "", ""])
            continue
        named = [v["equivalent"] or "" for v in
                 (*after["survivors"].values(), *after["untested"].values())]
        untested = sum(t.startswith("UNTESTED") for t in named)
        unclassified = sum(t == "" for t in named)
        if unclassified:
            open_.append(f"`{pkg}` ({unclassified})")
        rows.append([f"`{pkg}`", cell("before", pkg), cell("after", pkg),
                     str(after["not_killed_equivalent"]), str(untested), str(unclassified)])

    def drawn(pkg):  # "200 mutants of 795 before and of 1,081 after"
        parts = [(label, res[label][pkg]) for label in ("before", "after")
                 if "sample" in res.get(label, {}).get(pkg, {})]
        if not parts:
            return None
        size = parts[0][1]["total"]
        of = " and ".join(f"of {_thousands(int(x['sample'].split(' of the ')[1].split()[0]))} "
                       f"{label}" for label, x in parts)
        return f"`{pkg}` {size} mutants {of}"

    sampled = [d for d in map(drawn, MUTATION_PACKAGES) if d]
    return {
        "mut_table": _table(["package", "survived, before", "survived, after",
                             "of these: equivalent", "untested here (named)",
                             "unclassified"], rows, fmt),
        "mut_tool": m["tool"],
        "mut_sampled": ("; ".join(sampled) if sampled else "none"),
        "mut_open": ("every surviving mutant after is classified" if not open_ else
                     "unclassified survivors remain in " + _and(open_)),
        "mut_missing": "".join(
            f" `{p}` has no 'before' rate yet: under the tests of 4965b1b its run did not "
            "finish (forked test processes hung in the plotting tests, and each mutant of "
            "the shared validation reruns the whole file)."
            for p in MUTATION_PACKAGES if p not in res.get("before", {})),
    }
