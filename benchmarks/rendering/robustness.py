"""Fields of the robustness block (``bench_robustness``)."""

from __future__ import annotations

from ._text import _bold_best, _claim, _f, _hanley_mcneil_se, _table, _thousands

#: robustness benchmark: noise kinds in table order, with column titles
KINDS = {"gaussian": "white", "baseline_wander": "baseline wander", "muscle": "muscle",
         "powerline": "powerline", "mixture": "mixture"}


ROBUSTNESS_ROWS = {
    "st_features": "ST features + LR",
    "minirocket": "MiniRocket + LR (peer)",
    "dacl": "DACL",
    "gaussian": "contrastive + Gaussian views",
    "dae": "denoising AE",
    "dacl_noise_augmented": "DACL, noisy copies in training",
    "diffae": "DiffAE",
    "diffae_noise_augmented": "DiffAE, noisy copies in training",
    "diffae_encoder_noise": "DiffAE, `encoder_noise`",
}


def _robustness(r: dict, fmt: str) -> dict:
    rb, ho = r["bench_robustness"], r["bench_robustness_heldout_noise"]
    # the shipped checkpoints' rows ("pretrained:NAME") are rendered with the pretrained
    # models; every claim of this section is about the rows of its own table
    models = {k: v for k, v in rb["models"].items() if k in ROBUSTNESS_ROWS}
    n_pos = r["reproduce_dacl_cv"]["normal_vs_abnormal"]["positives_test"]
    n_test = rb["n_test"]
    _claim(n_test == r["reproduce_dacl_cv"]["normal_vs_abnormal"]["n_test"],
           "the robustness test part is the DACL split's")

    def area(m, k, src=models):
        return src[m]["kinds"][k]["area_normalised"]

    def at(m, k, snr, src=models):
        return src[m]["kinds"][k]["auroc_by_snr_db"][f"{float(snr)}"]

    keys = list(ROBUSTNESS_ROWS)
    cols = [[models[m]["clean"] for m in keys]]
    cols += [[area(m, k) for m in keys] for k in KINDS]
    cols += [[models[m]["mean_area_over_kinds"] for m in keys]]
    rendered = [_bold_best(c, _f) for c in cols]
    rendered.append(_bold_best([models[m]["mean_drop_to_6db"] for m in keys], _f,
                               larger_is_better=False))
    rows = [[ROBUSTNESS_ROWS[m], *(col[i] for col in rendered)] for i, m in enumerate(keys)]
    table = _table(["model", "clean", *KINDS.values(), "mean area", "mean drop to 6 dB"],
                   rows, fmt)
    en, da = "diffae_encoder_noise", "diffae"
    gains = {k: area(en, k) - area(da, k) for k in KINDS}
    top2 = sorted(gains, key=gains.get, reverse=True)[:2]
    _claim(set(top2) == {"powerline", "mixture"},
           "most of the encoder_noise gain is in the powerline and mixture columns")
    _claim(max(models, key=lambda m: models[m]["mean_area_over_kinds"]) == en,
           "the DiffAE with encoder_noise is the most robust")
    _claim(models[en]["clean"] >= models[da]["clean"], "encoder_noise costs no clean AUROC")
    white = {m: area(m, "gaussian") for m in models}
    _claim(max(white, key=white.get) == en, "encoder_noise leads on white noise")
    second_white = sorted(white, key=white.get)[-2]
    # ST features and white noise: the largest loss at 24 dB, not over the range
    drop24 = {m: models[m]["clean"] - at(m, "gaussian", 24) for m in models}
    _claim(max(drop24, key=drop24.get) == "st_features",
           "white noise at 24 dB costs the ST features more than any other model")
    plain = ("st_features", "minirocket", "dacl", "gaussian", "dae", "diffae")
    _claim(max(plain, key=lambda m: models[m]["mean_area_over_kinds"]) == "st_features",
           "without augmentation the ST features are the most robust")
    lower = [k for k in KINDS if area("dacl", k) < area("gaussian", k)]
    higher = [k for k in KINDS if area("dacl", k) > area("gaussian", k)]
    _claim(models["dacl"]["mean_area_over_kinds"] < models["gaussian"]["mean_area_over_kinds"],
           "diffusion-augmented DACL is not more robust than Gaussian views")
    _claim(len(higher) == 1, "DACL is higher than Gaussian views on one kind only")
    _claim(all(white["st_features"] >= white[m] for m in ("dacl", "gaussian", "dae")),
           "the ST features' white-noise area is not below DACL's, Gaussian's or DAE's")
    _claim(models["dacl_noise_augmented"]["mean_area_over_kinds"]
           > models["dacl"]["mean_area_over_kinds"]
           and models["diffae_noise_augmented"]["mean_area_over_kinds"]
           < models[da]["mean_area_over_kinds"],
           "noisy copies help DACL but not the DiffAE")
    mix6 = {m: at(m, "mixture", 6) for m in models}
    se = _hanley_mcneil_se(models[da]["clean"], n_pos, n_test - n_pos)
    hen, hda = ho["models"][en], ho["models"][da]
    h_gains = {k: hen["kinds"][k]["area_normalised"] - hda["kinds"][k]["area_normalised"]
               for k in KINDS}
    return {
        "rob_table": table,
        "rob_n_train": _thousands(rb["n_train"]),
        "rob_n_test": _thousands(n_test),
        "rob_se": _f(se),
        "rob_resolved": _f(2 * se, 2),
        "rob_diffae_minutes": f"{r['bench_diffae']['curve'][-1]['train_minutes']:.0f}",
        "rob_mix6": ", ".join(f"{label} {_f(mix6[m])}" for m, label in (
            ("st_features", "ST"), ("minirocket", "MiniRocket"), ("dacl", "DACL"),
            ("gaussian", "Gaussian"), ("dae", "DAE"), ("diffae", "DiffAE"),
            ("diffae_encoder_noise", "DiffAE `encoder_noise`"))),
        "rob_en_area": _f(models[en]["mean_area_over_kinds"]),
        "rob_en_drop": _f(models[en]["mean_drop_to_6db"]),
        "rob_en_clean": _f(models[en]["clean"]),
        "rob_da_clean": _f(models[da]["clean"]),
        "rob_da_area": _f(models[da]["mean_area_over_kinds"]),
        "rob_da_drop": _f(models[da]["mean_drop_to_6db"]),
        "rob_gain_white": _f(gains["gaussian"]),
        "rob_gain_bw": _f(gains["baseline_wander"]),
        "rob_gain_muscle": _f(gains["muscle"]),
        "rob_gain_power": _f(gains["powerline"]),
        "rob_gain_mix": _f(gains["mixture"]),
        "rob_en_white": _f(white[en]),
        "rob_da_white": _f(white[da]),
        "rob_second_white": f"{_f(white[second_white])} for "
                            f"{ROBUSTNESS_ROWS[second_white]}",
        "ho_en_clean": _f(hen["clean"]),
        "ho_en_area": _f(hen["mean_area_over_kinds"]),
        "ho_en_drop": _f(hen["mean_drop_to_6db"]),
        "ho_en_mix6": _f(hen["kinds"]["mixture"]["auroc_by_snr_db"]["6.0"]),
        "ho_en_power6": _f(hen["kinds"]["powerline"]["auroc_by_snr_db"]["6.0"]),
        "ho_da_clean": _f(hda["clean"]),
        "ho_da_area": _f(hda["mean_area_over_kinds"]),
        "ho_da_drop": _f(hda["mean_drop_to_6db"]),
        "ho_gain_bw": _f(h_gains["baseline_wander"]),
        "ho_gain_muscle": _f(h_gains["muscle"]),
        "ho_gain_power": _f(h_gains["powerline"]),
        "rob_st_clean": _f(models["st_features"]["clean"]),
        "rob_st_white24": _f(at("st_features", "gaussian", 24)),
        "rob_st_drop24": _f(drop24["st_features"]),
        "rob_next_drop24": (lambda m: f"{_f(drop24[m])} for {ROBUSTNESS_ROWS[m]}")(
            sorted(drop24, key=drop24.get)[-2]),
        "rob_st_white_area": _f(white["st_features"]),
        "rob_white_area_others": ", ".join(
            f"{ROBUSTNESS_ROWS[m]} {_f(white[m])}" for m in ("dacl", "gaussian", "dae")),
        "rob_st_area": _f(models["st_features"]["mean_area_over_kinds"]),
        "rob_dacl_area": _f(models["dacl"]["mean_area_over_kinds"]),
        "rob_gauss_area": _f(models["gaussian"]["mean_area_over_kinds"]),
        "rob_dacl_lower": {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}.get(
            len(lower), str(len(lower))),
        "rob_dacl_higher": ", ".join(f"{KINDS[k]} ({_f(area('dacl', k))} vs "
                                     f"{_f(area('gaussian', k))})" for k in higher) or "none",
        "rob_daug_area": _f(models["dacl_noise_augmented"]["mean_area_over_kinds"]),
        "rob_dacl_mix": _f(area("dacl", "mixture")),
        "rob_daug_mix": _f(area("dacl_noise_augmented", "mixture")),
        "rob_diffaug_area": _f(models["diffae_noise_augmented"]["mean_area_over_kinds"]),
        "rob_da_power24": _f(at(da, "powerline", 24)),
        "rob_da_power6": _f(at(da, "powerline", 6)),
        "rob_en_power6": _f(at(en, "powerline", 6)),
    }
