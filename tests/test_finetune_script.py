"""scripts/finetune_diffae.py: one fit over all epochs (--single-fit) runs the schedule whole."""

import importlib

import pytest

from sklearn_biodiff.utils import load


@pytest.fixture()
def script(monkeypatch):
    mod = importlib.import_module("scripts.finetune_diffae")
    recorded = []
    # the quick JSON lives in the repository's results: keep the test out of it
    monkeypatch.setattr(mod, "_record", lambda args, entry: recorded.append(entry) or entry)
    return mod, recorded


def test_single_fit_runs_every_epoch_in_one_fit_with_its_schedule(script, tmp_path, sample):
    mod, recorded = script
    state = tmp_path / "s.state"
    entry = mod.main(["--quick", "--name", "t", "--epochs", "2", "--single-fit",
                      "--state", str(state), "--set", "lr_schedule=cosine"])
    assert recorded == [entry]
    run = load(state)
    emb = run["emb"]
    assert run["epochs_done"] == 2 and len(entry["train_loss_per_epoch"]) == 2
    # one fit: its history holds both epochs, under the asked-for schedule
    assert len(emb.history_) == 2 and emb.training_settings_["lr_schedule"] == "cosine"
    assert emb.training_settings_["max_epochs"] == 2
    # a resumed single-fit run that is done trains no further
    again = mod.main(["--quick", "--name", "t", "--epochs", "2", "--single-fit", "--resume",
                      "--state", str(state), "--set", "lr_schedule=cosine"])
    assert again["train_loss_per_epoch"] == entry["train_loss_per_epoch"]
