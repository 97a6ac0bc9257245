"""Fields of the label-efficiency block (issue 35).

From ``bench_label_efficiency`` (test part, once per row, fraction and seed) and
``select_label_efficiency`` (training part only: what the docs recommend).
"""

from __future__ import annotations

from ._text import _and, _claim, _f, _table, _thousands

#: issue 35's targets: (mean F1 of N, A, O margin over ST or floor, AF AUROC ...)
TARGETS = {"0.01": {"f1_over_st": 0.10, "f1_floor": 0.43, "af_over_st": 0.05,
                    "af_floor": 0.84, "f1_sd": 0.05},
           "0.1": {"f1_over_st": 0.05, "f1_floor": 0.65, "af_floor": 0.93}}
ST = "ScatteringFeatures"


def _cell(fr: dict) -> str:
    t = fr["test"]
    f1, af = t["mean_f1_NAO"], t["auroc_af_vs_rest"]
    if len(fr["seeds"]) == 1:
        return f"{_f(f1['mean'])} / {_f(af['mean'])}"
    return (f"{_f(f1['mean'])} ± {_f(f1['sd'])} / {_f(af['mean'])} ± {_f(af['sd'])}")


def _met(fr: dict, st: dict, target: dict) -> tuple[bool, str]:
    """Whether one row meets the targets of one fraction, and what it misses (or, when
    it meets them, its figures against what was needed)."""
    f1 = fr["test"]["mean_f1_NAO"]
    af = fr["test"]["auroc_af_vs_rest"]["mean"]
    st_f1, st_af = st["test"]["mean_f1_NAO"]["mean"], st["test"]["auroc_af_vs_rest"]["mean"]
    need_f1 = max(st_f1 + target["f1_over_st"], target["f1_floor"])
    need_af = max(st_af + target.get("af_over_st", 0.0), target["af_floor"])
    misses = []
    if f1["mean"] < need_f1:
        misses.append(f"mean F1 {_f(f1['mean'])} < {_f(need_f1)}")
    if af < need_af:
        misses.append(f"AF AUROC {_f(af)} < {_f(need_af)}")
    if "f1_sd" in target and f1["sd"] > target["f1_sd"]:
        misses.append(f"seed sd {_f(f1['sd'])} > {_f(target['f1_sd'])}")
    if misses:
        return False, "; ".join(misses)
    return True, (f"mean F1 {_f(f1['mean'])} for {_f(need_f1)} needed, AF AUROC {_f(af)} "
                  f"for {_f(need_af)}" + (f", seed sd {_f(f1['sd'])} for at most "
                                          f"{_f(target['f1_sd'])}" if "f1_sd" in target
                                          else "")
                  + ("; by less than one seed sd in mean F1"
                     if f1["mean"] - need_f1 < f1["sd"] else ""))


def _label_efficiency(r: dict, fmt: str) -> dict:
    if "bench_label_efficiency" not in r:
        return {}
    b = r["bench_label_efficiency"]
    rows = b["rows"]
    fractions = [f"{f:g}" for f in b["fractions"]]
    _claim(fractions == ["0.01", "0.1", "1"], "the benchmark has 1 %, 10 % and 100 % rows")
    _claim(ST in rows, "ScatteringFeatures is a row of the benchmark")
    n_lab = {f: rows[ST]["fractions"][f]["n_labelled"] for f in fractions}
    header = ["features (probe: scaler + logistic, C by 3-fold CV in the subset)", "columns",
              *(f"{float(f) * 100:g} % ({_thousands(n_lab[f])} labels)" for f in fractions)]
    table = _table(header, [[_label(row).replace("`", ""), str(row["n_features"]),
                             *(_cell(row["fractions"][f]) for f in fractions)]
                            for row in rows.values()], fmt)
    st = rows[ST]["fractions"]
    pretrained = {k: v for k, v in rows.items() if v["source"] == "pretrained"}
    # the targets, for every frozen pretrained row, against ST with its probe
    verdicts, meeting = [], {}
    for f, target in TARGETS.items():
        met = {k: _met(row["fractions"][f], _st_peer(rows, row)["fractions"][f], target)
               for k, row in pretrained.items()}
        meeting[f] = [f"`{_readout_of(pretrained[k])}`{_probe_tag(pretrained[k])} ({how})"
                      for k, (ok, how) in met.items() if ok]
        best = max(pretrained, key=lambda k: pretrained[k]["fractions"][f]["test"]
                   ["mean_f1_NAO"]["mean"])
        _, misses = _met(pretrained[best]["fractions"][f],
                         _st_peer(rows, pretrained[best])["fractions"][f], target)
        pct = f"{float(f) * 100:g} %"
        if meeting[f]:
            verdicts.append(f"at {pct}, {_and(meeting[f])} "
                            f"meet{'s' if len(meeting[f]) == 1 else ''} the target")
        else:
            verdicts.append(f"at {pct} no frozen row meets the target; the best by mean "
                            f"F1 (`{_readout_of(pretrained[best])}`"
                            f"{_probe_tag(pretrained[best])}) misses: {misses}")
    from sklearn_biodiff.pretrained import DEFAULT_READOUT

    default = rows.get(f"pretrained readout={DEFAULT_READOUT}")
    # pretraining against the random initialisation, same readout, per fraction
    gains, below_twin = [], []
    for name, row in pretrained.items():
        twin = rows[name.replace("pretrained", "random_init")]
        d = [row["fractions"][f]["test"]["mean_f1_NAO"]["mean"]
             - twin["fractions"][f]["test"]["mean_f1_NAO"]["mean"] for f in fractions]
        gains.append(min(d))
        below_twin += [f"`{_readout_of(row)}`{_probe_tag(row)} at {float(f) * 100:g} %"
                       for f, v in zip(fractions, d) if v <= 0]
    st1 = st["0.01"]["test"]
    vs_st_1 = []
    for row in pretrained.values():
        t = row["fractions"]["0.01"]["test"]
        peer = _st_peer(rows, row)["fractions"]["0.01"]["test"]
        sd = max(t["mean_f1_NAO"]["sd"], peer["mean_f1_NAO"]["sd"])
        gap = t["mean_f1_NAO"]["mean"] - peer["mean_f1_NAO"]["mean"]
        d_af = t["auroc_af_vs_rest"]["mean"] - peer["auroc_af_vs_rest"]["mean"]
        where = ("within one seed sd of" if abs(gap) <= sd else
                 "above" if gap > 0 else "below")
        against = "" if peer is st1 else (
            f" (against ST with the same probe, {_f(peer['mean_f1_NAO']['mean'])} / "
            f"{_f(peer['auroc_af_vs_rest']['mean'])})")
        vs_st_1.append(f"`{_readout_of(row)}`{_probe_tag(row)} {where} it in mean F1 "
                       f"({gap:+.3f}) and {'above' if d_af > 0 else 'below'} in AF AUROC "
                       f"({d_af:+.3f}){against}")
    run = b["run"]
    out = {
        "le_table": table,
        "le_n_train": _thousands(b["n_train"]), "le_n_test": _thousands(b["n_test"]),
        "le_seeds": str(len(b["seeds"])),
        "le_machine": (f"{run['machine']['cpu_count']} cores, "
                       f"{run['machine']['torch_threads']} torch thread, torch "
                       f"{run['machine']['torch']}, {run['date'][:10]}"),
        "le_verdicts": "; ".join(verdicts),
        "le_vs_st_1": "; ".join(vs_st_1),
        "le_pretraining": (
            "every pretrained readout is above its randomly initialised twin at every "
            f"fraction, by at least {_f(min(gains))} in mean F1" if not below_twin else
            "the pretrained readouts are above their randomly initialised twins except "
            + _and(below_twin)),
        "le_full": (
            f"At 100 % the default readout (`{DEFAULT_READOUT}`) gives "
            f"{_f(default['fractions']['1']['test']['mean_f1_NAO']['mean'])} / "
            f"{_f(default['fractions']['1']['test']['auroc_af_vs_rest']['mean'])}."
            if default is not None else
            f"The default readout (`{DEFAULT_READOUT}`) is not a row of this run."),
        "le_st1": f"{_f(st1['mean_f1_NAO']['mean'])} / {_f(st1['auroc_af_vs_rest']['mean'])}",
        "le_sd1": _f(max(row["fractions"]["0.01"]["test"]["mean_f1_NAO"]["sd"]
                         for row in pretrained.values())),
    }
    _check_card(b)
    out["le_finetuned"] = _finetuned(rows, fractions)
    out.update(_selection(r, fmt))
    return out


def _check_card(b: dict) -> None:
    """The few-label figures on the checkpoint's card (the demo prints them) are this
    run's, for the readout the card names (``scripts/card_readout_figures.py``)."""
    from .pretrained import _shipped_configs

    card = _shipped_configs().get(b["checkpoint"], {}).get("card", {}).get("metrics", {})
    for key, few in card.items():
        if not key.startswith("few labels, readout "):
            continue
        for label, figures in few.items():
            if not isinstance(figures, dict):
                continue
            probe = label.split(", probe ")[1] if ", probe " in label else None
            row = b["rows"].get(f"pretrained readout={few['readout']}"
                                + (f" probe={probe}" if probe else ""), {}).get(
                                    "fractions", {})
            pct = label.split(" %")[0]
            fr = next((v for f, v in row.items() if f"{float(f) * 100:g}" == pct), None)
            _claim(fr is not None and all(
                abs(fr["test"][m]["mean"] - v) <= 5e-5 for m, v in figures.items()),
                f"the card's few-label figures ({key}, {label}) are this run's")


def _label(row: dict) -> str:
    """A row's label, with the package's current readout constants named (the JSON's
    label may carry the ones of the run) and its probe when not the README one."""
    from sklearn_biodiff.pretrained import DEFAULT_READOUT, FEW_LABELS_READOUT

    label = row["label"]
    for tag in (" (DEFAULT_READOUT)", " (FEW_LABELS_READOUT)"):
        label = label.replace(tag, "")
    label = label.split(", probe=")[0]
    if "=" in row.get("view", ""):
        readout = _readout_of(row)
        label += "".join(f" ({tag})" for tag, r in (
            ("DEFAULT_READOUT", DEFAULT_READOUT), ("FEW_LABELS_READOUT", FEW_LABELS_READOUT))
            if r == readout)
    return label + _probe_tag(row)


def _probe_tag(row: dict) -> str:
    """``", probe <name>"`` for a row whose probe is not the README one."""
    probe = row.get("probe", "readme")
    return "" if probe == "readme" else f", probe {probe}"


def _st_peer(rows: dict, row: dict) -> dict:
    """The ``ScatteringFeatures`` row with the same probe as ``row``."""
    probe = row.get("probe", "readme")
    return rows[ST if probe == "readme" else f"{ST} probe={probe}"]


def _readout_of(row: dict) -> str:
    """The readout a row's label names (its view, ``readout=...``)."""
    return row["view"].split("=", 1)[1] if "=" in row.get("view", "") else row["label"]


def _finetuned(rows: dict, fractions: list[str]) -> str:
    """What the fine-tuned rows show against the frozen checkpoint, per fraction."""
    from sklearn_biodiff.pretrained import DEFAULT_READOUT

    key = f"readout={DEFAULT_READOUT}"
    tuned, frozen = rows.get(f"fine_tuned {key}"), rows.get(f"pretrained {key}")
    if tuned is None:
        return ("Fine-tuned rows (label-aware fine-tuning) are not in this run: the "
                "script adds them with `--rows`.")
    parts = []
    for f in fractions:
        if f not in tuned["fractions"]:
            continue
        t, z = tuned["fractions"][f]["test"], frozen["fractions"][f]["test"]
        d_f1 = t["mean_f1_NAO"]["mean"] - z["mean_f1_NAO"]["mean"]
        d_af = t["auroc_af_vs_rest"]["mean"] - z["auroc_af_vs_rest"]["mean"]
        sd = max(t["mean_f1_NAO"]["sd"], z["mean_f1_NAO"]["sd"])
        where = ("within one seed sd" if abs(d_f1) <= sd else
                 "beyond one seed sd") if len(tuned["fractions"][f]["seeds"]) > 1 else \
            "one fine-tuning run"
        parts.append(f"{float(f) * 100:g} %: mean F1 {d_f1:+.3f} ({where}), AF AUROC "
                     f"{d_af:+.3f}")
    return ("The fine-tuned rows fine-tune the checkpoint on each labelled subset with the "
            "package's defaults (`DiffAEEmbedder(pretrained=DEFAULT_PRETRAINED).fit(X, y)`:"
            " 8 epochs, so a subset of tens of records gets only a handful of optimizer "
            "steps) and probe the result like the frozen rows. Against the frozen checkpoint, "
            f"`{key.split('=')[1]}`: " + "; ".join(parts) + ".")


def _selection(r: dict, fmt: str) -> dict:
    s = r.get("select_label_efficiency")
    if s is None:
        return {}
    cands = s["candidates"]
    chosen = s["chosen"]
    _claim({"0.01", "0.1"} <= set(chosen), "the selection chose a readout at 1 % and 10 %")
    from sklearn_biodiff.pretrained import FEW_LABELS_READOUT

    _claim(chosen["0.01"]["readout"] == chosen["0.1"]["readout"] == FEW_LABELS_READOUT,
           "FEW_LABELS_READOUT is the readout the selection chose at 1 % and at 10 %")

    def score(key, f):
        c = cands[key]["scores"][f]
        return c["mean_f1_NAO"], c["auroc_af_vs_rest"]

    rows = []
    for key, c in cands.items():
        if not all(f in c["scores"] for f in ("0.01", "0.1")):
            continue
        (a1, b1), (a10, b10) = score(key, "0.01"), score(key, "0.1")
        rows.append([c["columns"], c["projection"], c["probe"],
                     f"{_f(a1)} / {_f(b1)}", f"{_f(a10)} / {_f(b10)}"])
    n1, n10 = (len(s["selection_seeds"][f]) for f in ("0.01", "0.1"))
    table = _table(["columns", "projection (fitted without labels)", "probe",
                    f"1 % ({n1} subsets)", f"10 % ({n10} subsets)"], rows, fmt)
    # what did not help: every projection of a readout is below that readout unprojected
    base = {c["columns"]: c for c in cands.values()
            if c["projection"] == "none" and c["probe"] == "readme"}
    projected = [c for c in cands.values() if c["projection"] != "none"
                 and c["columns"] in base]
    for c in projected:
        for f in ("0.01", "0.1"):
            _claim(sum(score_of(c, f)) < sum(score_of(base[c["columns"]], f)),
                   "no projection fitted without labels beats its readout unprojected")
    # the other probes against the README probe, same columns, on the summed score
    gain = {}
    for f in ("0.01", "0.1"):
        best = max(((sum(score_of(c, f)) - sum(score_of(base[c["columns"]], f)), c)
                    for c in cands.values() if c["projection"] == "none"
                    and c["probe"] != "readme" and c["columns"] in base),
                   key=lambda t: t[0])
        gain[f] = f"{_f(best[0])} (`{best[1]['columns']}`, probe {best[1]['probe']})"
    sd1 = max(c["scores"]["0.01"]["mean_f1_NAO_sd"] for c in base.values())
    words = {f: f"`readout=\"{chosen[f]['readout']}\"`" + (
        f" (tied within {s['tie']:g} with {_and([t for t in chosen[f]['tied'] if t != chosen[f]['readout']])})"  # noqa: E501
        if len(chosen[f]["tied"]) > 1 else "") for f in ("0.01", "0.1")}
    out = {"le_probe_choice": _probe_choice(s, r), "le_selection": table,
            "le_choice_1": words["0.01"], "le_choice_10": words["0.1"],
            "le_choice_full": (f"`readout=\"{chosen['1']['readout']}\"`" if "1" in chosen
                               else "not scored (`--with-full`)"),
            "le_n_projected": str(len(projected)),
            "le_probe_gain_1": gain["0.01"], "le_probe_gain_10": gain["0.1"],
            "le_sel_sd1": _f(sd1),
            "le_sel_seeds": f"{n1} subsets at 1 % and {n10} at 10 %"}
    return out


def _probe_choice(s: dict, r: dict) -> str:
    """The probe chosen per number of labels for the few-label readout (training part
    only), checked against the benchmark's ``FEW_LABELS_PROBE`` rows."""
    chosen = s.get("chosen_probe", {})
    _claim({"0.01", "0.1"} <= set(chosen),
           "the selection chose a probe at 1 % and at 10 % (--stage probe)")
    b = r.get("bench_label_efficiency", {})
    probed = {row.get("probe", "readme") for row in b.get("rows", {}).values()} - {"readme"}
    _claim(probed <= {chosen["0.01"]["probe"]},
           "the benchmark's few-label probe rows use the probe chosen at 1 %")
    words = []
    for f, c in chosen.items():
        seeds = len(s["selection_seeds"][f])
        what = ("the README probe" if c["probe"] == "readme" else
                "the README probe with " + ", ".join(
                    f"`{k}={v!r}`" for k, v in c["settings"].items()
                    if k != "C_grid") + (f" (C in {list(c['settings']['C_grid'])})"
                                         if "C_grid" in c["settings"] else ""))
        margin = c["scores"][c["probe"]] - c["scores"]["readme"]
        sd = {p: s["candidates"][f"{c['readout']} | none | {p}"]["scores"][f][
            "mean_f1_NAO_sd"] for p in (c["probe"], "readme")}
        others = [t for t in c["tied"] if t != c["probe"]]
        words.append(
            f"{float(f) * 100:g} % (about {_thousands(round(float(f) * s['n_train']))} "
            f"labels, {seeds} subsets): {what}"
            + (f", {margin:+.3f} on the summed score over the README probe and a seed "
               f"sd of mean F1 of {_f(sd[c['probe']])} against {_f(sd['readme'])}"
               if c["probe"] != "readme" else "")
            + (f" (tied within {s['tie']:g} with {_and(others)})" if others else ""))
    return "; ".join(words)


def score_of(c: dict, f: str) -> tuple[float, float]:
    return c["scores"][f]["mean_f1_NAO"], c["scores"][f]["auroc_af_vs_rest"]
