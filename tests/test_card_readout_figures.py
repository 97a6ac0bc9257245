"""scripts/card_readout_figures.py: a checkpoint's readout figures into its card, nothing else."""

import json
import shutil

import pytest

from scripts import card_readout_figures as script
from sklearn_biodiff.pretrained import DEFAULT_PRETRAINED, load_checkpoint
from sklearn_biodiff.pretrained._checkpoint import resolve_checkpoint


def _scores(v):
    return {"test": {"macro_f1": v, "mean_f1_NAO": v + 0.000041},
            "cv_train": {"macro_f1": v - 0.01, "mean_f1_NAO": v}, "probe_C": 0.1}


def _card_of_before_the_rhythm_readouts(tmp_path):
    """A copy of the default checkpoint whose card has no rhythm-readout entries."""
    folder = tmp_path / "ckpt"
    shutil.copytree(resolve_checkpoint(DEFAULT_PRETRAINED), folder)
    config = json.loads((folder / "config.json").read_text())
    for key in [k for k in config["card"]["metrics"] if "rhythm" in k]:
        del config["card"]["metrics"][key]
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    return folder


def test_the_card_gets_every_scored_readout_and_keeps_weights_and_other_fields(tmp_path):
    folder = _card_of_before_the_rhythm_readouts(tmp_path)
    before = json.loads((folder / "config.json").read_text())
    weights = (folder / "model.safetensors").read_bytes()
    report = {"checkpoints": {"ckpt": {
        "test": {}, "readout_attention_rhythm": _scores(0.7),
        "readout_attention_stats_blocks_rhythm": _scores(0.75),
        "readout_attention_stats": _scores(0.1)}}}  # on the card already: kept as shipped
    (tmp_path / "bench.json").write_text(json.dumps(report))
    script.main([str(folder), "--json", str(tmp_path / "bench.json")])
    after = json.loads((folder / "config.json").read_text())
    metrics = after["card"]["metrics"]
    assert metrics["readout attention+rhythm"]["test (shipped weights)"]["mean_f1_NAO"] == 0.7
    assert metrics["readout attention+stats+blocks+rhythm"]["probe_C"] == 0.1
    # the readouts already on the card and every other field are as they were
    for key, value in before["card"]["metrics"].items():
        assert metrics[key] == value
    assert {k: v for k, v in after.items() if k != "card"} == {
        k: v for k, v in before.items() if k != "card"}
    assert (folder / "model.safetensors").read_bytes() == weights
    load_checkpoint(str(folder))  # still verifies (config, architecture, sha256)
    assert not list(folder.glob(".config.*"))  # the temporary file was moved into place


def test_a_checkpoint_without_a_row_is_refused_with_the_command(tmp_path):
    (tmp_path / "bench.json").write_text(json.dumps({"checkpoints": {}}))
    with pytest.raises(SystemExit, match="bench_pretrained --name"):
        script.main([DEFAULT_PRETRAINED, "--json", str(tmp_path / "bench.json")])


def test_few_label_figures_of_the_few_labels_readout_go_on_the_card_and_the_demo_reads_them(
        tmp_path, monkeypatch):
    from sklearn_biodiff import _demo
    from sklearn_biodiff.pretrained import FEW_LABELS_READOUT

    folder = _card_of_before_the_rhythm_readouts(tmp_path)
    (tmp_path / "bench.json").write_text(json.dumps({"checkpoints": {"ckpt": {
        "test": {}, "readout_" + FEW_LABELS_READOUT.replace("+", "_"): _scores(0.7)}}}))

    def fraction(f, n, v):
        return {"fraction": f, "n_labelled": n, "seeds": [0, 1, 2],
                "test": {"mean_f1_NAO": {"mean": v, "sd": 0.01},
                         "auroc_af_vs_rest": {"mean": v + 0.3, "sd": 0.01}}}

    le = {"checkpoint": "ckpt", "protocol": "README split",
          "rows": {f"pretrained readout={FEW_LABELS_READOUT}": {"fractions": {
              "0.01": fraction(0.01, 59, 0.55), "0.1": fraction(0.1, 596, 0.7),
              "1": fraction(1.0, 5969, 0.76)}}}}
    (tmp_path / "le.json").write_text(json.dumps(le))
    script.main([str(folder), "--json", str(tmp_path / "bench.json"),
                 "--label-efficiency", str(tmp_path / "le.json")])
    few = json.loads((folder / "config.json").read_text())["card"]["metrics"][
        f"few labels, readout {FEW_LABELS_READOUT}"]
    assert few["1 % (59 labels, 3 subsets)"] == {"mean_f1_NAO": 0.55, "auroc_af_vs_rest": 0.85}
    assert "100 % (5969 labels, 3 subsets)" not in few  # the full data is the card's own row
    monkeypatch.setattr("sklearn_biodiff.pretrained._checkpoint.resolve_checkpoint",
                        lambda name: folder)
    figures = _demo._full_data_figures("ckpt", FEW_LABELS_READOUT)
    assert figures["test"]["mean_f1_NAO"] == round(0.7 + 0.000041, 4)
    assert figures["few_labels"]["10 % (596 labels, 3 subsets)"]["auroc_af_vs_rest"] == 1.0
    assert not any(", probe" in k for k in few)  # no selection beside le.json

    # the selection beside it chose balanced weights at 1 % only: those figures join
    balanced = {**le["rows"][f"pretrained readout={FEW_LABELS_READOUT}"], "probe": "balanced"}
    balanced["fractions"] = {f: fraction(float(f), fr["n_labelled"], 0.6)
                             for f, fr in balanced["fractions"].items()}
    le["rows"][f"pretrained readout={FEW_LABELS_READOUT} probe=balanced"] = balanced
    (tmp_path / "le.json").write_text(json.dumps(le))
    (tmp_path / "select_label_efficiency.json").write_text(json.dumps({"chosen_probe": {
        "0.01": {"probe": "balanced"}, "0.1": {"probe": "readme"}}}))
    script.main([str(folder), "--json", str(tmp_path / "bench.json"),
                 "--label-efficiency", str(tmp_path / "le.json")])
    few = json.loads((folder / "config.json").read_text())["card"]["metrics"][
        f"few labels, readout {FEW_LABELS_READOUT}"]
    assert few["1 % (59 labels, 3 subsets), probe balanced"]["mean_f1_NAO"] == 0.6
    assert [k for k in few if ", probe" in k] == ["1 % (59 labels, 3 subsets), probe balanced"]
    assert few["1 % (59 labels, 3 subsets)"]["mean_f1_NAO"] == 0.55  # the README probe's
    le["checkpoint"] = "another"
    (tmp_path / "le.json").write_text(json.dumps(le))
    with pytest.raises(SystemExit, match="was run on"):
        script.main([str(folder), "--json", str(tmp_path / "bench.json"),
                     "--label-efficiency", str(tmp_path / "le.json")])
