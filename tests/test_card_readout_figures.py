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


def test_the_card_gets_every_scored_readout_and_keeps_weights_and_other_fields(tmp_path):
    folder = tmp_path / "ckpt"
    shutil.copytree(resolve_checkpoint(DEFAULT_PRETRAINED), folder)
    before = json.loads((folder / "config.json").read_text())
    weights = (folder / "model.safetensors").read_bytes()
    report = {"checkpoints": {"ckpt": {
        "test": {}, "readout_attention_rhythm": _scores(0.7),
        "readout_attention_stats_blocks_rhythm": _scores(0.75)}}}
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
