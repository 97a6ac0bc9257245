"""The published numbers come from the benchmark JSON (benchmarks/render_results.py)."""

import copy
import re
from pathlib import Path

import pytest

from benchmarks import render_results as render
from benchmarks.rendering.dacl_patients import _versus

REPO = Path(__file__).resolve().parents[1]

RUN_KEYS = {"command", "commit", "dirty", "machine", "date", "seeds", "wall_seconds"}


@pytest.fixture(scope="module")
def results():
    return render.load_results()


def test_readme_and_docs_match_the_json(capsys):
    rc = render.main(["--check"])
    assert rc == 0, ("README.md or docs/ differ from benchmarks/results/*.json; run "
                     "`python -m benchmarks.render_results`:\n" + capsys.readouterr().out)


def test_a_changed_number_is_caught(results):
    changed = copy.deepcopy(results)
    changed["bench_robustness"]["models"]["dacl"]["kinds"]["muscle"]["area_normalised"] = 0.5
    page = REPO / "docs" / "user_guide" / "noise.rst"
    assert render.render_file(page, results) == page.read_text()
    rerendered = render.render_file(page, changed)
    row = next(ln for ln in rerendered.splitlines() if ln.startswith("DACL  "))
    assert row.split()[1:5] == ["0.837", "0.661", "0.808", "0.500"]


def test_a_contradicted_claim_stops_the_rendering(results):
    changed = copy.deepcopy(results)
    late = next(c for c in changed["bench_model_selection"]["A_feature_cache"]["candidates"]
                if c["range"] == "late")
    late["auroc_mean"] = 0.84  # first, within one fold std of the others
    with pytest.raises(render.ClaimError, match="does not rank Late first"):
        render.render_block("dacl", changed, "md")


def test_dacl_patients_ranks_within_one_fold_std_as_a_tie():
    cv = {"a": {"window": {"mean": 0.80, "std": 0.02}},
          "b": {"window": {"mean": 0.79, "std": 0.01}},
          "c": {"window": {"mean": 0.75, "std": 0.01}}}
    assert _versus(cv, "a", "b")[0] == "tied with"
    assert _versus(cv, "a", "c")[0] == "above"
    assert _versus(cv, "c", "b")[0] == "below"


def test_dacl_patients_decision_is_rechecked_from_the_fold_scores(results):
    changed = copy.deepcopy(results)
    decision = changed["bench_dacl_patients"]["decision"]
    decision["winners"] = [*decision["winners"], "dacl_concat"]
    with pytest.raises(render.ClaimError, match="decision of the JSON"):
        render.render_block("dacl_patients", changed, "md")


def _outside_blocks(path):
    text = path.read_text()
    return render._MARKERS[path.suffix].sub("", text)


@pytest.mark.parametrize("path", render.TARGETS, ids=lambda p: p.name)
def test_no_table_or_measured_number_outside_the_rendered_blocks(path):
    if path.name == "README.md":
        assert render.blocks_in(path), "README.md has no results block"
    rest = _outside_blocks(path)
    if path.suffix == ".md":  # a typed table may list names, never a number
        tables = [ln for ln in rest.splitlines() if ln.startswith("|") and re.search(r"\d", ln)]
    else:
        tables = [ln for ln in rest.splitlines() if re.fullmatch(r"=+( +=+)+", ln)]
    assert not tables, f"a table of {path.name} is typed, not rendered: {tables[:2]}"
    numbers = re.findall(r"\b\d\.\d{3,}\b|\b\d+(?:\.\d)?x\b", rest)
    assert not numbers, f"numbers typed outside the rendered blocks of {path.name}: {numbers}"


@pytest.mark.parametrize("name", sorted(p.stem for p in render.RESULTS.glob("*.json")))
def test_every_json_records_its_run(results, name):
    run = results[name]["run"]
    assert RUN_KEYS <= set(run), f"{name}.json lacks {RUN_KEYS - set(run)}"
    assert isinstance(run["seeds"], list)
    # no seed only for a run without randomness, which says so
    assert run["seeds"] or results[name].get("deterministic") is True, name
    unknown = [k for k in RUN_KEYS if run[k] is None]
    if unknown:  # runs before the metadata existed say so instead of guessing
        assert "provenance" in run and "not recorded" in run["provenance"]


def test_run_metadata_of_a_new_run():
    from benchmarks._common import run_metadata

    run = run_metadata([0, 1])
    assert RUN_KEYS <= set(run)
    assert run["seeds"] == [0, 1] and run["wall_seconds"] >= 0
    assert run["machine"]["cpu_count"] >= 1 and run["machine"]["torch_threads"] >= 1
    assert run["commit"] is None or re.fullmatch(r"[0-9a-f]{40}", run["commit"])


def _plain_mark(results, crops, cpu_minutes, cv_macro_f1):
    """A copy of the results whose plain run stops at 101,303 crops, then one made-up mark."""
    changed = copy.deepcopy(results)
    curve = changed["pretrain_diffae_plain"]["curve"]
    curve[:] = [c for c in curve if c["crops_seen"] <= 101_303]
    row = copy.deepcopy(curve[-1])
    row.update(crops_seen=crops, train_cpu_minutes=cpu_minutes)
    row["cv_train"]["macro_f1"] = cv_macro_f1
    curve.append(row)
    return changed


@pytest.mark.parametrize("cv_f1, word, ahead", [(0.600, "above", "1 of the 2"),
                                                (0.680, "below", "0 of the 2")])
def test_recipe_verdict_compares_at_equal_compute(results, cv_f1, word, ahead):
    """Each mark of the leader is set beside the runner-up's mark nearest in CPU-minutes."""
    lead = results["pretrain_diffae_contrastive"]["curve"]
    m101 = next(c for c in lead if c["crops_seen"] == 101_303)
    changed = _plain_mark(results, 160_000, m101["train_cpu_minutes"] + 1, cv_f1)
    verdict = render.fields(changed, "md")["ptc_verdict"]
    assert ("(101,303 crops) `encoder_noise` + contrastive has CV macro F1 "
            f"{m101['cv_train']['macro_f1']:.3f}, {word} plain after "
            f"{m101['train_cpu_minutes'] + 1:.0f} (160,000 crops, {cv_f1:.3f}") in verdict
    assert f"is ahead at {ahead} budgets compared" in verdict


def test_recipe_verdict_without_marks_at_equal_compute(results):
    changed = copy.deepcopy(results)
    # every plain mark far beyond (more than 15 % above) the leader's longest budget
    longest = max(c["train_cpu_minutes"]
                  for c in changed["pretrain_diffae_contrastive"]["curve"])
    for k, c in enumerate(changed["pretrain_diffae_plain"]["curve"]):
        c["train_cpu_minutes"] = 2 * longest + 10 * k
    verdict = render.fields(changed, "md")["ptc_verdict"]
    assert "so per unit of compute they are not compared" in verdict


def test_robustness_of_an_unscored_default_names_its_stand_in(results):
    """Without rows for v3 the text says so and quotes v2, labelled as v2."""
    from benchmarks.rendering.pretrained import _pretrained_robustness

    unscored = copy.deepcopy(results)
    models = unscored["bench_robustness"]["models"]
    for key in [k for k in models if k.endswith(":diffae-cinc2017-v3")]:
        del models[key]
    text = _pretrained_robustness(unscored, "diffae-cinc2017-v3")
    assert text.startswith("Under noise, `diffae-cinc2017-v3` has not been scored yet")
    assert "stands in below; its figures are not `diffae-cinc2017-v3`'s" in text
    assert "`diffae-cinc2017-v2`: alone (`z`) mean area" in text
    changed = copy.deepcopy(results)
    del changed["bench_robustness"]["models"]["pretrained_stats:diffae-cinc2017-v2"]
    partial = _pretrained_robustness(changed, "diffae-cinc2017-v2")
    assert "Not scored yet for `diffae-cinc2017-v2`: alone with" in partial
    assert "has not been scored yet" not in partial


def _measured_readouts(results, name, blocks_white_area):
    """The results with robustness and speed rows of every readout of ``name``.

    The rows are copies of real ones with the blocks readout's white-noise area set. The
    scenario is among the three readouts without rhythm: the rhythm readouts' scores are
    taken out of ``bench_pretrained`` (the rule only weighs the readouts scored there).
    """
    changed = copy.deepcopy(results)
    row = changed["bench_pretrained"]["checkpoints"][name]
    for key in [k for k in row if k.endswith("_rhythm")]:
        del row[key]
    models = changed["bench_robustness"]["models"]
    template = next(m for k, m in models.items() if k.startswith("pretrained_stats:"))
    for prefix in ("pretrained", "pretrained_stats", "pretrained_blocks"):
        models[f"{prefix}:{name}"] = copy.deepcopy(template)
    models[f"pretrained_blocks:{name}"]["kinds"]["gaussian"]["area_normalised"] = \
        blocks_white_area
    speed = changed["bench_transform_speed"]["estimators"]
    fast = copy.deepcopy(next(e for k, e in speed.items() if k.startswith("diffae")))
    for key in (name, f"{name}, readout=attention+stats",
                f"{name}, readout=attention+stats+blocks"):
        speed[key] = copy.deepcopy(fast)
    return changed


def _readout_text(results, monkeypatch, default):
    import sklearn_biodiff.pretrained as pretrained

    monkeypatch.setattr(pretrained, "DEFAULT_READOUT", default)
    return render.fields(results, "md")["pt_readout"]


def _resolved(results, metric_gap):
    """The paired CV with the blocks readout ahead of stats by ``metric_gap`` macro F1,
    at a fold standard deviation of 0.005."""
    changed = copy.deepcopy(results)
    pair = changed["bench_readout_cv"]["pairs"]["attention+stats+blocks - attention+stats"]
    pair["macro_f1"].update(diff_mean=metric_gap, diff_std=0.005)
    return changed


def test_default_readout_is_the_cv_best_of_those_meeting_the_targets(results, monkeypatch):
    """Blocks (highest CV, resolved in the paired CV) qualifies: it must be the default."""
    from sklearn_biodiff.pretrained import DEFAULT_PRETRAINED

    ok = _resolved(_measured_readouts(results, DEFAULT_PRETRAINED, 0.9), 0.02)
    text = _readout_text(ok, monkeypatch, "attention+stats+blocks")
    assert 'embed with `DEFAULT_READOUT = "attention+stats+blocks"`: of the readouts' in text
    assert "Not eligible" not in text and "Not yet eligible" not in text
    assert ("`attention+stats+blocks` minus `attention+stats`: macro F1 +0.0200 (fold "
            "standard deviation 0.0050;") in text
    assert "Each gap is more than one fold standard deviation, so" in text
    assert "just beyond the tie threshold" not in text
    with pytest.raises(render.ClaimError, match="DEFAULT_READOUT follows the stated rule"):
        _readout_text(ok, monkeypatch, "attention+stats")


def _pair(results, narrower, gap, std=0.005):
    """The blocks readout ahead of ``narrower`` by ``gap`` macro F1 in the paired CV."""
    pair = results["bench_readout_cv"]["pairs"][f"attention+stats+blocks - {narrower}"]
    pair["macro_f1"].update(diff_mean=gap, diff_std=std)
    return results


def test_a_gap_just_beyond_one_fold_std_says_so_for_the_smallest_margin(results, monkeypatch):
    """The smallest margin in fold standard deviations is named, not the narrowest width."""
    from sklearn_biodiff.pretrained import DEFAULT_PRETRAINED

    close = _resolved(_measured_readouts(results, DEFAULT_PRETRAINED, 0.9), 0.006)
    text = _readout_text(close, monkeypatch, "attention+stats+blocks")
    assert ("the smallest, to `attention+stats`, is 1.20 fold standard deviations, just "
            "beyond the tie threshold") in text
    _pair(close, "attention+stats", 0.04)
    _pair(close, "attention", 0.007)  # z is nearer in fold standard deviations
    text = _readout_text(close, monkeypatch, "attention+stats+blocks")
    assert "the smallest, to `attention`, is 1.40 fold standard deviations" in text


@pytest.mark.parametrize("gap, cell, says, not_says", [
    (0.004, "macro F1 +0.0040 (fold standard deviation 0.0050; higher in",
     "a tie, so the narrower readout is the default",
     "Each gap is more than one fold standard deviation"),
    # a negative gap is not "resolved" for the wider readout: the narrower one is ahead
    (-0.02, "macro F1 -0.0200 (fold standard deviation 0.0050;",
     "`attention+stats` is ahead by more than one fold standard deviation",
     "a tie, so the narrower readout"),
])
def test_a_tie_or_a_narrower_lead_in_the_paired_cv_makes_the_narrower_readout_the_default(
        results, monkeypatch, gap, cell, says, not_says):
    from sklearn_biodiff.pretrained import DEFAULT_PRETRAINED

    changed = _resolved(_measured_readouts(results, DEFAULT_PRETRAINED, 0.9), gap)
    text = _readout_text(changed, monkeypatch, "attention+stats")
    assert cell in text and says in text and not_says not in text
    with pytest.raises(render.ClaimError, match="DEFAULT_READOUT follows the stated rule"):
        _readout_text(changed, monkeypatch, "attention+stats+blocks")


def test_a_missing_pair_in_the_paired_cv_stops_the_rendering(results, monkeypatch):
    from sklearn_biodiff.pretrained import DEFAULT_PRETRAINED

    partial = _measured_readouts(results, DEFAULT_PRETRAINED, 0.9)
    del partial["bench_readout_cv"]["pairs"]["attention+stats+blocks - attention+stats"]
    with pytest.raises(render.ClaimError, match="paired the CV-best readout with each"):
        _readout_text(partial, monkeypatch, "attention+stats+blocks")


def test_without_a_paired_cv_the_cv_best_readout_is_the_default(results, monkeypatch):
    from sklearn_biodiff.pretrained import DEFAULT_PRETRAINED

    unpaired = _measured_readouts(results, DEFAULT_PRETRAINED, 0.9)
    del unpaired["bench_readout_cv"]
    text = _readout_text(unpaired, monkeypatch, "attention+stats+blocks")
    assert "No paired repeated CV of the readouts" in text


def test_a_readout_below_the_robustness_target_is_not_the_default(results, monkeypatch):
    from sklearn_biodiff.pretrained import DEFAULT_PRETRAINED

    weak = _measured_readouts(results, DEFAULT_PRETRAINED, 0.5)
    text = _readout_text(weak, monkeypatch, "attention+stats")
    assert ('Not eligible: `readout="attention+stats+blocks"` (noise robustness below '
            "target).") in text
    with pytest.raises(render.ClaimError, match="DEFAULT_READOUT follows the stated rule"):
        _readout_text(weak, monkeypatch, "attention+stats+blocks")


def test_unmeasured_readouts_are_named(results, monkeypatch):
    from sklearn_biodiff.pretrained import DEFAULT_PRETRAINED

    partial = _measured_readouts(results, DEFAULT_PRETRAINED, 0.9)
    del partial["bench_transform_speed"]["estimators"][
        f"{DEFAULT_PRETRAINED}, readout=attention+stats+blocks"]
    text = _readout_text(partial, monkeypatch, "attention+stats")
    assert ('Not yet eligible: `readout="attention+stats+blocks"` (transform speed not '
            "measured).") in text


def test_a_card_figure_of_a_wider_readout_is_checked_against_the_run(results, monkeypatch):
    """The card's blocks-readout figures must match bench_pretrained's within tolerance."""
    import benchmarks.rendering.pretrained as rp
    from sklearn_biodiff.pretrained import DEFAULT_PRETRAINED

    configs = rp._shipped_configs()
    card = configs[DEFAULT_PRETRAINED]["card"]["metrics"]
    assert "readout attention+stats+blocks" in card  # the default readout has its figures
    card["readout attention+stats+blocks"]["test (shipped weights)"]["macro_f1"] += 0.05
    monkeypatch.setattr(rp, "_shipped_configs", lambda: configs)
    with pytest.raises(render.ClaimError, match="reproduces its card with readout"):
        render.fields(results, "md")


def test_robustness_row_of_a_removed_checkpoint_keeps_its_training_run(results):
    """A removed checkpoint's row counts as its own run (from RETIRED) and says so; a row
    of a checkpoint with neither a card nor a RETIRED entry stops the rendering."""
    from benchmarks.rendering.pretrained import _encoder_noise_runs
    from sklearn_biodiff.pretrained import RETIRED, list_pretrained

    models = copy.deepcopy(results["bench_robustness"]["models"])
    template = next(m for k, m in models.items() if k.startswith("pretrained:"))
    for name in list(RETIRED) + list_pretrained():
        models[f"pretrained:{name}"] = copy.deepcopy(template)
    text = _encoder_noise_runs(models)
    from benchmarks.rendering.pretrained import _shipped_configs

    runs = {c["card"]["source_run"]["json"] for c in _shipped_configs().values()}
    for name in RETIRED:
        if RETIRED[name]["source_run"] in runs:  # a shipped checkpoint trained longer
            assert f"`{name}`" not in text       # in the same run stands for it
        else:
            assert f"`{name}` (since removed from the package)" in text
    assert any(RETIRED[n]["source_run"] not in runs for n in RETIRED)  # both cases seen
    assert "`diffae-cinc2017-v4-ft`" not in text  # fine-tuned with labels: no pretraining run
    # of the shipped ones, one per training run: the longest of the contrastive run
    assert "`diffae-cinc2017-v4`" in text and "`diffae-cinc2017-v3`" not in text
    models["pretrained:diffae-cinc2017-nowhere"] = copy.deepcopy(template)
    with pytest.raises(render.ClaimError, match="nowhere has a model card or a RETIRED"):
        _encoder_noise_runs(models)


def test_the_training_noise_sentence_matches_the_pretraining_recipes():
    """The render says which recipes train on AddNoise("mixture") over whole NSTDB
    recordings; that must be what scripts/pretrain_diffae.py does."""
    from benchmarks.rendering.pretrained import NOISY_RECIPES
    from scripts.pretrain_diffae import RECIPES as recipes

    assert set(NOISY_RECIPES) == {k for k, v in recipes.items() if "encoder_noise" in v}
    for k in NOISY_RECIPES:
        noise = recipes[k]["encoder_noise"]
        assert noise.kind == "mixture" and tuple(noise.source_span) == (0.0, 1.0)
        assert tuple(noise.snr_db) == (0.0, 24.0)  # "0-24 dB" in the sentence
    # "an equal-power mix of baseline wander and muscle ... and powerline", and white
    # noise is the one benchmark kind outside it
    from sklearn_biodiff.noise._sources import MIXTURE, NOISE_KINDS

    assert set(MIXTURE) == {"baseline_wander", "muscle", "powerline"}
    assert set(NOISE_KINDS) - set(MIXTURE) - {"mixture"} == {"gaussian"}


def test_the_render_knows_every_readout_of_the_estimator_narrowest_first():
    """The default-readout rule walks READOUT_ROWS from the narrowest readout: it must list
    the estimator's readouts, in the estimator's order (narrowest first)."""
    from benchmarks.rendering.pretrained import READOUT_ROWS
    from sklearn_biodiff.feature_extraction._diffae import READOUTS

    assert tuple(READOUT_ROWS) == READOUTS


def test_the_headline_row_of_the_fine_tuned_checkpoint_is_its_cards(results):
    from benchmarks.rendering.headline import _headline
    from sklearn_biodiff.pretrained import DEFAULT_READOUT, FINE_TUNED_PRETRAINED, load_checkpoint

    card = load_checkpoint(FINE_TUNED_PRETRAINED)[0]["card"]
    test = card["metrics"][f"readout {DEFAULT_READOUT}"]["test (shipped weights)"]
    table = _headline(results, "md")["hl_table"]
    row = next(line for line in table.splitlines() if FINE_TUNED_PRETRAINED in line)
    assert row.endswith(" | ".join(f"{test[k]:.3f}" for k in (
        "macro_f1", "mean_f1_NAO", "auroc_normal_vs_abnormal", "auroc_af_vs_rest")) + " |")


def test_pretraining_variants_sit_beside_their_recipe_at_equal_crops(results):
    from benchmarks.rendering.pretraining import _pretraining

    r = copy.deepcopy(results)
    lead = r["pretrain_diffae_contrastive"]
    mark = next(c for c in lead["curve"] if not c["random_init"])
    for key in [k for k in r if k.startswith("pretrain_diffae_contrastive-")]:
        del r[key]  # runs in progress in this checkout: only the one below
    assert _pretraining(r, "rst")["ptc_variants"] == "(none yet)"
    row = copy.deepcopy(mark)
    row["cv_train"]["mean_f1_NAO"] += 0.02
    row.pop("readout_attention_stats_blocks", None)  # a readout the mark lacks: "-"
    r["pretrain_diffae_contrastive-w128"] = {
        "recipe": "contrastive", "curve": [row],
        "overrides": {"set": ["encoder_width=128"], "precision": "bf16"}}
    out = _pretraining(r, "rst")
    table, verdict = out["ptc_variants"], " ".join(out["ptc_variants_verdict"].split())
    assert "encoder_width=128, precision bf16" in table and "(+0.020)" in table
    assert f"at {mark['crops_seen']:,} crops: CV mean F1 of N, A, O +0.020 with `z`" in verdict
    assert "a gap under 0.01 is a tie" in verdict and "tie, one seed each" not in verdict


def test_a_variant_without_a_mark_is_listed_as_in_progress(results):
    from benchmarks.rendering.pretraining import _pretraining

    r = copy.deepcopy(results)
    for key in [k for k in r if k.startswith("pretrain_diffae_contrastive-")]:
        del r[key]  # only the run below
    r["pretrain_diffae_contrastive-w128"] = {
        "recipe": "contrastive", "curve": [], "crops_seen": 5959,
        "overrides": {"set": ["encoder_width=128"], "precision": None}}
    out = _pretraining(r, "rst")
    assert out["ptc_variants"] == "(no mark reached yet)"
    assert "no mark reached yet: `contrastive-w128` (`encoder_noise` + contrastive, " \
        "encoder_width=128, 5,959 crops)" in " ".join(out["ptc_variants_verdict"].split())


def test_a_variant_is_compared_with_its_one_change_control(results):
    from benchmarks.rendering.pretraining import _pretraining

    r = copy.deepcopy(results)
    for key in [k for k in r if k.startswith("pretrain_diffae_contrastive-")]:
        del r[key]
    mark = next(c for c in r["pretrain_diffae_contrastive"]["curve"] if not c["random_init"])
    wide = copy.deepcopy(mark)
    wide["cv_train"]["mean_f1_NAO"] += 0.03
    wide["train_cpu_minutes"] = 2 * mark["train_cpu_minutes"]
    r["pretrain_diffae_contrastive-bf16"] = {
        "recipe": "contrastive", "curve": [copy.deepcopy(mark)],
        "overrides": {"set": [], "precision": "bf16"}}
    r["pretrain_diffae_contrastive-w128-bf16"] = {
        "recipe": "contrastive", "curve": [wide],
        "overrides": {"set": ["encoder_width=128"], "precision": "bf16"}}
    # another precision is no control: two changes apart
    r["pretrain_diffae_contrastive-w128-32"] = {
        "recipe": "contrastive", "curve": [wide],
        "overrides": {"set": ["encoder_width=128"], "precision": "32"}}
    verdict = " ".join(_pretraining(r, "rst")["ptc_variants_verdict"].split())
    assert ("`contrastive-w128-bf16` against `contrastive-bf16` (only encoder_width=128 "
            f"differs) at {mark['crops_seen']:,} crops: CV mean F1 of N, A, O +0.030 with "
            "`z`") in verdict
    assert "`contrastive-w128-32` against `contrastive-bf16`" not in verdict
