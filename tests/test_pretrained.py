"""Pretrained DiffAE checkpoints: save, load, verify, fine-tune, survive clone/search."""

import json
import pickle
import re
import socket

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from sklearn_biodiff.feature_extraction import DiffAEEmbedder
from sklearn_biodiff.modules.diffae import DiffAEModule
from sklearn_biodiff.pretrained import (
    DEFAULT_PRETRAINED,
    DEFAULT_READOUT,
    CheckpointError,
    list_pretrained,
    load_checkpoint,
    model_card,
)

RNG = np.random.RandomState(0)
X = [np.sin(np.linspace(0, 3 * k, 200 + 20 * k)) + 0.1 * RNG.randn(200 + 20 * k)
     for k in range(1, 13)]
Y = np.tile([0, 1], 6)
TINY = {"snippet_seconds": 0.5, "fs": 100.0, "model_fs": 100.0, "embedding_dim": 4,
        "encoder_layers": 1, "encoder_width": 4, "encoder_stride": 2,
        "unet_channels": (4, 8), "unet_stem_stride": 1, "n_timesteps": 20,
        "max_epochs": 2, "batch_size": 4, "random_state": 0}


@pytest.fixture(scope="module")
def trained():
    return DiffAEEmbedder(**TINY, ema_decay=0.5).fit(X)


@pytest.fixture(scope="module")
def saved(trained, tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "tiny"
    trained.save_pretrained(path, card={"title": "tiny test model"})
    return path


def _loader(path, **kw):
    return DiffAEEmbedder(**{**TINY, "max_epochs": 0, **kw}, pretrained=str(path))


def test_save_then_load_gives_the_same_embedding(trained, saved):
    assert sorted(p.name for p in saved.iterdir()) == ["config.json", "model.safetensors"]
    loaded = _loader(saved).fit(X[:2])  # max_epochs=0: only loads, any records
    assert loaded.history_ == []
    np.testing.assert_array_equal(loaded.transform(X), trained.transform(X))
    # the saved weights are the EMA ones that transform uses
    weights = load_file(saved / "model.safetensors")
    for k, v in trained.ema_module_.state_dict().items():
        torch.testing.assert_close(weights[k], v, rtol=0, atol=0)
    assert loaded.pretrained_config_["card"]["title"] == "tiny test model"


def test_max_epochs_zero_ignores_y_and_short_records(saved):
    short = [x[:40] for x in X]  # shorter than a training crop
    a = _loader(saved).fit(short, np.arange(len(short)))
    b = _loader(saved).fit(X)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))


def test_float16_storage_is_close_and_half_the_size(trained, saved, tmp_path):
    half = trained.save_pretrained(tmp_path / "half", dtype="float16")
    size16 = (half / "model.safetensors").stat().st_size
    size32 = (saved / "model.safetensors").stat().st_size
    assert size16 < 0.6 * size32
    Z16 = _loader(half).fit(X).transform(X)
    Z32 = trained.transform(X)
    assert not np.array_equal(Z16, Z32)
    np.testing.assert_allclose(Z16, Z32, atol=5e-3 * np.abs(Z32).max())


def test_from_pretrained_matches_the_checkpoint_architecture(trained, saved):
    emb = DiffAEEmbedder.from_pretrained(str(saved), fs=100.0)
    assert emb.max_epochs == 0 and emb.embedding_dim == 4 and emb.unet_channels == (4, 8)
    np.testing.assert_array_equal(emb.fit(X).transform(X), trained.transform(X))


def test_architecture_mismatch_names_each_parameter(saved):
    with pytest.raises(CheckpointError, match=r"embedding_dim=8 here, 4 in the checkpoint"
                                              r".*from_pretrained"):
        _loader(saved, embedding_dim=8).fit(X)
    with pytest.raises(CheckpointError, match="model_fs=200.0 here, 100.0"):
        _loader(saved, model_fs=200.0, fs=200.0).fit([np.repeat(x, 2) for x in X])


def test_a_checkpoint_refuses_another_number_of_leads(saved, tmp_path):
    config = json.loads((saved / "config.json").read_text())
    assert config["architecture"]["in_channels"] == 1
    two = [np.stack([x, -x]) for x in X]
    with pytest.raises(CheckpointError, match=r"was trained on 1-lead signals, but X has 2 "
                                              r"lead\(s\)\. Pass one lead"):
        _loader(saved).fit(two)
    two_lead = DiffAEEmbedder(**{**TINY, "max_epochs": 1}).fit(two)
    path = two_lead.save_pretrained(tmp_path / "two")
    assert json.loads((path / "config.json").read_text())["architecture"]["in_channels"] == 2
    np.testing.assert_array_equal(DiffAEEmbedder.from_pretrained(str(path), fs=100.0)
                                  .fit(two[:1]).transform(two), two_lead.transform(two))
    with pytest.raises(CheckpointError, match=r"trained on 2-lead signals, but X has 1 "
                                              r"lead\(s\)\. Pass the 2 leads"):
        _loader(path).fit(X)


def test_a_checkpoint_without_in_channels_is_single_lead(trained, saved, tmp_path):
    # checkpoints written before multi-lead support have no in_channels
    old = tmp_path / "old"
    old.mkdir()
    config = json.loads((saved / "config.json").read_text())
    del config["architecture"]["in_channels"]
    (old / "config.json").write_text(json.dumps(config))
    (old / "model.safetensors").write_bytes((saved / "model.safetensors").read_bytes())
    np.testing.assert_array_equal(_loader(old).fit(X).transform(X), trained.transform(X))
    assert "in_channels" not in DiffAEEmbedder.from_pretrained(str(old)).get_params()


def test_corrupted_or_swapped_weights_are_refused(saved, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_bytes((saved / "config.json").read_bytes())
    blob = bytearray((saved / "model.safetensors").read_bytes())
    blob[-3] ^= 0xFF
    (bad / "model.safetensors").write_bytes(bytes(blob))
    with pytest.raises(CheckpointError, match="corrupted or was replaced: its sha256"):
        _loader(bad).fit(X)
    (bad / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="needs config.json and model.safetensors"):
        _loader(bad).fit(X)


def test_wrong_model_type_and_normalisation_are_refused(saved, tmp_path):
    config = json.loads((saved / "config.json").read_text())
    for key, value, message in [("model_type", "other.Model", "not a"),
                                ("normalization", "min-max", "expects inputs normalised")]:
        folder = tmp_path / key
        folder.mkdir()
        (folder / "model.safetensors").write_bytes((saved / "model.safetensors").read_bytes())
        (folder / "config.json").write_text(json.dumps({**config, key: value}))
        with pytest.raises(CheckpointError, match=message):
            _loader(folder).fit(X)


def test_unknown_name_lists_the_available_ones():
    with pytest.raises(CheckpointError, match="unknown pretrained checkpoint 'nope'.*available"):
        DiffAEEmbedder(pretrained="nope", max_epochs=0).fit(X)


def test_retired_name_says_it_was_removed_and_what_to_use_instead():
    from sklearn_biodiff.pretrained import RETIRED

    assert RETIRED, "no retired checkpoint to test"
    for name in RETIRED:
        assert name not in list_pretrained()
        message = (rf"'{re.escape(name)}' was removed in .* use the default, "
                   rf"'{re.escape(DEFAULT_PRETRAINED)}', or another shipped one .*retrains")
        with pytest.raises(CheckpointError, match=message):
            DiffAEEmbedder(pretrained=name, max_epochs=0).fit(X)
        with pytest.raises(TypeError):  # the record cannot be edited in place
            RETIRED[name]["crops_seen"] = 0


def test_hub_id_needs_the_optional_extra_or_says_why_it_failed(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(CheckpointError, match="hub|Hub"):
        load_checkpoint("someone/some-diffae")


def test_max_epochs_zero_without_pretrained_is_an_error():
    with pytest.raises(ValueError, match="max_epochs=0 trains nothing.*pretrained="):
        DiffAEEmbedder(**{**TINY, "max_epochs": 0}).fit(X)


def test_fine_tuning_starts_from_the_checkpoint_and_changes_it(trained, saved):
    tuned = _loader(saved, max_epochs=1).fit(X)
    start = load_file(saved / "model.safetensors")
    after = tuned.net_.module_.state_dict()
    assert any(not torch.equal(start[k], after[k]) for k in start)
    # one epoch from the checkpoint stays much closer to it than a network trained as
    # long from another initialisation
    scratch = DiffAEEmbedder(**{**TINY, "max_epochs": 1, "random_state": 1}).fit(
        X).net_.module_.state_dict()

    def dist(state):
        return sum(float((start[k] - state[k]).pow(2).sum()) for k in start
                   if start[k].is_floating_point())

    assert dist(after) < 0.1 * dist(scratch)


def test_pretrained_survives_clone_pipeline_and_grid_search(trained, saved):
    pipe = Pipeline([("emb", _loader(saved)), ("clf", LogisticRegression())])
    assert clone(pipe).get_params()["emb__pretrained"] == str(saved)
    grid = GridSearchCV(pipe, {"clf__C": [0.1, 1.0]}, cv=2).fit(X, Y)
    np.testing.assert_array_equal(grid.best_estimator_["emb"].transform(X),
                                  trained.transform(X))
    fitted = pickle.loads(pickle.dumps(grid.best_estimator_))
    np.testing.assert_array_equal(fitted["emb"].transform(X), trained.transform(X))


def test_readout_is_a_hyper_parameter_of_a_frozen_checkpoint(trained, saved):
    """GridSearchCV over ``readout`` (the docs' example): each candidate gets its columns."""
    pipe = Pipeline([("emb", _loader(saved)), ("clf", LogisticRegression(max_iter=500))])
    readouts = ["attention", "attention+stats", "attention+stats+blocks"]
    grid = GridSearchCV(pipe, {"emb__readout": readouts}, cv=2).fit(X, Y)
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    widths = []
    for readout in readouts:  # what each candidate of the search fits
        fitted = clone(pipe).set_params(emb__readout=readout).fit(X, Y)
        widths.append(fitted["clf"].n_features_in_)
        assert widths[-1] == fitted["emb"]._n_features_out_for(readout)
        # the checkpoint's weights for every candidate: z is the same
        np.testing.assert_array_equal(
            fitted["emb"].transform(X)[:, : trained.embedding_dim], trained.transform(X))
    assert widths[0] < widths[1] < widths[2]


def test_pretrained_survives_an_optuna_study(trained, saved):
    pytest.importorskip("optuna")
    from sklearn_biodiff.model_selection import optuna_search

    pipe = Pipeline([("emb", _loader(saved)), ("clf", LogisticRegression())])

    def space(trial):
        return {"clf__C": trial.suggest_float("clf__C", 0.1, 10.0, log=True)}

    from sklearn.model_selection import StratifiedKFold

    search = optuna_search(pipe, X, Y, space, n_trials=2, refit=True, random_state=0,
                           cv=StratifiedKFold(2, shuffle=True, random_state=0))
    best = search.best_estimator
    assert best["emb"].pretrained == str(saved)
    np.testing.assert_array_equal(best["emb"].transform(X), trained.transform(X))


# ---------------------------------------------------------------- shipped checkpoints
SHIPPED = list_pretrained()
CARD_FIELDS = ("title", "training_data", "split", "crops_seen", "cpu_hours", "recipe",
               "metrics", "protocol", "license", "attribution")


def test_at_least_one_checkpoint_ships():
    assert SHIPPED, "no pretrained checkpoint in sklearn_biodiff/pretrained/weights"
    assert DEFAULT_PRETRAINED in SHIPPED


def test_default_readout_embeds_the_default_checkpoint(sample):
    from sklearn_biodiff.feature_extraction._diffae import READOUTS

    assert DEFAULT_READOUT in READOUTS
    X = list(sample.signals[:3])
    emb = DiffAEEmbedder.from_pretrained(DEFAULT_PRETRAINED, readout=DEFAULT_READOUT).fit(X)
    Z = emb.transform(X)
    z = emb.set_params(readout="attention").transform(X)
    assert Z.shape[1] == len(emb.set_params(readout=DEFAULT_READOUT).get_feature_names_out())
    np.testing.assert_array_equal(Z[:, : z.shape[1]], z)


def test_all_shipped_weights_fit_the_8_mb_budget():
    from sklearn_biodiff.pretrained._checkpoint import _shipped_root

    total = sum(p.stat().st_size for p in _shipped_root().rglob("*") if p.is_file())
    assert total <= 8 * 2**20, f"{total / 2**20:.1f} MB of shipped weights"


@pytest.mark.parametrize("name", SHIPPED)
def test_model_card_tabulates_every_readouts_figures(name):
    """One table row per readout and part, with the card's figures to 4 decimals."""
    metrics = load_checkpoint(name)[0]["card"]["metrics"]
    card = model_card(name)
    test = metrics["test (shipped weights)"]
    assert ("| attention | test (shipped weights) | "
            + " | ".join(f"{test[k]:.4f}" for k in ("macro_f1", "mean_f1_NAO",
                                                     "auroc_normal_vs_abnormal",
                                                     "auroc_af_vs_rest"))
            + f" | {metrics['probe_C']:g} |") in card
    for key, parts in metrics.items():
        if key.startswith("readout "):
            for part in ("test (shipped weights)", "cv_train (shipped weights)"):
                f1, auc = parts[part]["macro_f1"], parts[part]["auroc_af_vs_rest"]
                row = f"| {key[len('readout '):]} | {part} | {f1:.4f} |"
                assert row in card and f"| {auc:.4f} | {parts['probe_C']:g} |" in card
    assert "{'macro_f1'" not in card  # no dict reprs left


def test_model_card_lists_metrics_entries_it_cannot_tabulate():
    from sklearn_biodiff.pretrained._checkpoint import _metrics_lines

    lines = "\n".join(_metrics_lines({"probe_C": 1, "mine": {"a": 1}, "note": "x",
                                      "readout r": {"probe_C": 0.1, "other": 3}}))
    for text in ("probe C: 1", "mine: {'a': 1}", "note: x", "readout r, probe C: 0.1",
                 "readout r, other: 3"):
        assert text in lines
    assert _metrics_lines({}) == ["- **metrics**: none recorded"]
    # beside a table: values that are not numbers, extra keys, a readout named like z's
    # group, and a probe C of a readout without a row are all shown, none raises
    four = {"macro_f1": None, "mean_f1_NAO": "0.6", "auroc_normal_vs_abnormal": 0.8,
            "auroc_af_vs_rest": 0.9, "accuracy": 0.7}
    lines = "\n".join(_metrics_lines({"test": four, "probe_C": "auto", "readout x": 5,
                                      "readout attention": {"probe_C": [0.1, 1]}}))
    assert "| attention | test | None | 0.6 | 0.8000 | 0.9000 | auto |" in lines
    for text in ("test, accuracy: 0.7", "readout x: 5", "readout attention, probe C: [0.1, 1]"):
        assert text in lines


def test_save_pretrained_keeps_the_card_of_unchanged_weights_and_the_terms_after_tuning(
        tmp_path, sample):
    name = DEFAULT_PRETRAINED
    card = load_checkpoint(name)[0]["card"]
    records = [r for r in sample.signals if len(r) >= 3000][:4]  # one 10-s crop each
    frozen = DiffAEEmbedder.from_pretrained(name, fs=300.0).fit(records)
    copy_ = load_checkpoint(frozen.save_pretrained(tmp_path / "pinned"))[0]
    assert copy_["card"] == card
    np.testing.assert_array_equal(
        DiffAEEmbedder.from_pretrained(tmp_path / "pinned", fs=300.0).fit(records)
        .transform(records), frozen.transform(records))
    tuned = clone(frozen).set_params(max_epochs=1, batch_size=4, random_state=0).fit(records)
    terms = load_checkpoint(tuned.save_pretrained(tmp_path / "tuned"))[0]["card"]
    assert terms == {"fine_tuned_from": name, "license": card["license"],
                     "attribution": card["attribution"]}
    explicit = load_checkpoint(frozen.save_pretrained(tmp_path / "own", card={"a": 1}))[0]
    assert explicit["card"] == {"a": 1}


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_checkpoint_card_size_and_offline_load(name, monkeypatch, sample):
    config, state = load_checkpoint(name)
    for field in CARD_FIELDS:
        assert config["card"].get(field) not in (None, ""), field
    assert f"sha256 {config['sha256']}" in model_card(name)
    from sklearn_biodiff.pretrained._checkpoint import _shipped_root

    size = sum(p.stat().st_size for p in (_shipped_root() / name).iterdir())
    assert size <= 8 * 2**20
    # no network: the package data is all it needs
    def no_network(*args, **kwargs):
        raise AssertionError("loading a shipped checkpoint touched the network")

    monkeypatch.setattr(socket, "socket", no_network)
    records = list(sample.signals[:6])
    emb = DiffAEEmbedder.from_pretrained(name, fs=float(sample.fs)).fit(records)
    # the estimator's embedding is the reference network's, built straight from the files
    arch = dict(config["architecture"])
    arch["unet_channels"] = tuple(arch["unet_channels"])
    ref = DiffAEModule(**arch)
    ref.load_state_dict(state)
    ref.eval()
    with torch.no_grad():
        for x, z in zip(records, emb.transform(records)):
            x = np.asarray(x, np.float64)
            x = ((x - x.mean()) / x.std()).astype(np.float32)[None]
            zr, _ = ref.encoder(torch.as_tensor(x), torch.as_tensor([x.shape[1]]))
            np.testing.assert_allclose(z, zr[0].numpy(), rtol=1e-5, atol=1e-5)


def test_saved_weights_are_as_readable_as_the_config(tmp_path):
    # regression: safetensors wrote model.safetensors owner-only (0600)
    from sklearn_biodiff.pretrained._checkpoint import write_checkpoint

    folder = write_checkpoint(tmp_path / "ck", {"w": torch.zeros(3)},
                              {"architecture": {}, "model_fs": 250.0})
    mode = lambda name: (folder / name).stat().st_mode & 0o777  # noqa: E731
    assert mode("model.safetensors") == mode("config.json")


def test_cards_name_the_training_part_by_rule_and_hash_not_by_list(sample):
    from scripts.export_pretrained import training_part_card

    for name in SHIPPED:
        config, _ = load_checkpoint(name)
        part = config["card"]["training_part"]
        assert "training_part_records" not in config["card"]
        assert part["n_records"] == 5969 and len(part["sha256_of_sorted_names"]) == 64
    # the sample's flags are consistent with the count and the demo's test part
    assert sample.in_readme_training_part.dtype == bool
    assert int((~sample.in_readme_training_part).sum()) == 86
    assert training_part_card(["b", "a"]) == training_part_card(["a", "b"])


@pytest.mark.data
def test_the_card_hash_is_the_readme_splits_training_part(cinc2017_archive):
    from benchmarks._common import readme_split
    from scripts.export_pretrained import training_part_card
    from sklearn_biodiff.datasets import load_physionet2017

    cinc2017 = load_physionet2017(cinc2017_archive, n_jobs=2)
    train, _ = readme_split(cinc2017.target)
    expected = training_part_card(cinc2017.record_ids[train])
    for name in SHIPPED:
        part = load_checkpoint(name)[0]["card"]["training_part"]
        assert part["sha256_of_sorted_names"] == expected["sha256_of_sorted_names"]
    from sklearn_biodiff.datasets import load_cinc2017_sample

    sample = load_cinc2017_sample()
    np.testing.assert_array_equal(sample.in_readme_training_part,
                                  np.isin(sample.record_ids, cinc2017.record_ids[train]))
