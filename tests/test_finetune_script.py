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


def test_a_save_pretrained_folder_is_fine_tuned_and_named(script, tmp_path, sample):
    from benchmarks.rendering.finetune import describe
    from sklearn_biodiff.feature_extraction import DiffAEEmbedder

    mod, _ = script
    # a small pretrained network standing in for a wider pretraining run's export
    small = DiffAEEmbedder(snippet_seconds=2.0, embedding_dim=8, encoder_layers=1,
                           encoder_width=16, unet_channels=(8, 16), n_timesteps=50,
                           batch_size=8, max_steps=1, random_state=0)
    small.fit(list(sample.signals[:16]))
    folder = tmp_path / "wide-run"
    small.save_pretrained(folder)
    entry = mod.main(["--quick", "--name", "t", "--epochs", "1", "--pretrained", str(folder),
                      "--state", str(tmp_path / "w.state")])
    emb = load(tmp_path / "w.state")["emb"]
    assert emb.encoder_width == 16 and emb.pretrained == str(folder)
    assert entry["pretrained"] == str(folder)
    assert "checkpoint `wide-run` +" in describe(entry)
