"""scripts/pretrain_diffae.py resumes exactly; scripts/export_pretrained.py ships what it scores."""

import importlib
import json

import joblib
import numpy as np
import pytest

from sklearn_biodiff.feature_extraction._diffae import READOUTS


def _script(name):
    return importlib.import_module(f"scripts.{name}")


@pytest.fixture(scope="module")
def pretrain():
    return _script("pretrain_diffae")


def _run(pretrain, tmp_path, tag, *extra):
    return pretrain.main(["--quick", "--recipe", "encoder_noise", "--threads", "1",
                          "--state", str(tmp_path / f"{tag}.state"),
                          "--json", str(tmp_path / f"{tag}.json"), *extra])


def test_a_stopped_and_resumed_run_ends_with_the_same_weights(pretrain, tmp_path, sample):
    marks = ["--marks", "392", "--max-crops", "588"]
    straight = _run(pretrain, tmp_path, "a", *marks)
    first = _run(pretrain, tmp_path, "b", *marks, "--stop-after-chunks", "1")
    assert first["chunk"] == 1
    resumed = _run(pretrain, tmp_path, "b", *marks, "--resume")
    assert straight["chunk"] == resumed["chunk"] == 3
    assert straight["crops"] == resumed["crops"] == 3 * 196
    X = list(sample.signals[:8])
    np.testing.assert_array_equal(resumed["embedder"].transform(X),
                                  straight["embedder"].transform(X))
    for row_a, row_b in zip(straight["curve"], resumed["curve"], strict=True):
        assert row_a["crops_seen"] == row_b["crops_seen"]
        assert row_a["test"] == row_b["test"] and row_a["cv_train"] == row_b["cv_train"]
        # each mark also scores the wider readouts from the same transform
        for key in ("readout_attention_stats", "readout_attention_stats_blocks"):
            assert row_b[key]["test"] == row_a[key]["test"]
            assert set(row_b[key]["cv_train"]) == set(row_b["cv_train"])
        assert row_b["readout_attention_stats"] != row_b["readout_attention_stats_blocks"]
    assert resumed["embedder"].readout == "attention"  # evaluation leaves it as it was
    report = json.loads((tmp_path / "b.json").read_text())
    assert report["crops_seen"] == 588 and report["run"]["commit"] and report["protocol"]
    # the state on disk is the one returned
    on_disk = joblib.load(tmp_path / "b.state")
    assert on_disk["chunk"] == 3 and on_disk["marks_done"] == [392]


def test_resume_refuses_another_recipe(pretrain, tmp_path):
    _run(pretrain, tmp_path, "c", "--marks", "--max-crops", "196")
    with pytest.raises(SystemExit, match="holds recipe='encoder_noise'"):
        pretrain.main(["--quick", "--recipe", "plain", "--resume",
                       "--state", str(tmp_path / "c.state"), "--json",
                       str(tmp_path / "c.json"), "--marks", "--max-crops", "392"])


def test_export_ships_the_checkpoint_it_scores(pretrain, tmp_path, sample):
    state = _run(pretrain, tmp_path, "d", "--marks", "0", "196", "--max-crops", "196")
    # the JSON is the curve, with the random-init row first
    curve = json.loads((tmp_path / "d.json").read_text())["curve"]
    assert [(r["crops_seen"], r["random_init"]) for r in curve] == [(0, True), (196, False)]
    export = _script("export_pretrained")
    out = export.main([str(tmp_path / "d.state"), "--name", "test-ckpt", "--quick",
                       "--json", str(tmp_path / "d.json"), "--out", str(tmp_path / "ckpt")])
    config = json.loads((out / "config.json").read_text())
    card = config["card"]
    assert card["crops_seen"] == 196 and config["weights_dtype"] == "float16"
    assert set(card["metrics"]["test (shipped weights)"]) == {
        "macro_f1", "mean_f1_NAO", "auroc_normal_vs_abnormal", "auroc_af_vs_rest"}
    for readout in READOUTS[1:]:  # same weights
        wider = card["metrics"][f"readout {readout}"]
        assert set(wider["test (shipped weights)"]) == set(
            card["metrics"]["test (shipped weights)"])
    assert card["metrics"]["transform_readout"] == READOUTS[-1]  # the widest: all in one
    from sklearn_biodiff.feature_extraction import DiffAEEmbedder

    X = list(sample.signals[:8])
    shipped = DiffAEEmbedder.from_pretrained(str(out)).fit(X)
    np.testing.assert_allclose(shipped.transform(X), state["embedder"].transform(X),
                               atol=2e-2, rtol=2e-2)


def test_a_mark_added_on_resume_is_not_scored_twice(pretrain, tmp_path):
    # a run evaluated at 196 crops under another mark list, resumed with a mark at 196
    first = _run(pretrain, tmp_path, "e", "--marks", "100", "--max-crops", "196")
    assert [row["crops_seen"] for row in first["curve"]] == [196]
    resumed = _run(pretrain, tmp_path, "e", "--marks", "100", "196", "392", "--resume")
    assert [row["crops_seen"] for row in resumed["curve"]] == [196, 392]
    assert sorted(resumed["marks_done"]) == [100, 196, 392]
    report = json.loads((tmp_path / "e.json").read_text())
    assert [row["crops_seen"] for row in report["curve"]] == [196, 392]


def test_a_quick_export_needs_an_out_folder_so_no_shipped_checkpoint_is_overwritten(tmp_path):
    export = _script("export_pretrained")
    with pytest.raises(SystemExit, match="pass --out"):
        export.main([str(tmp_path / "none.state"), "--name", "diffae-cinc2017-v4",
                     "--quick", "--json", str(tmp_path / "none.json")])


def test_export_fitted_ships_a_label_fine_tuned_estimator_with_a_card_saying_so(
        tmp_path, sample):
    from benchmarks import _protocol
    from sklearn_biodiff.feature_extraction import DiffAEEmbedder
    from sklearn_biodiff.pretrained import DEFAULT_PRETRAINED, load_checkpoint
    from sklearn_biodiff.utils import dump

    _, X_tr, y_tr, _, _ = _protocol.load_data(True)
    keep = [i for i, x in enumerate(X_tr) if len(x) >= 600][:24]
    emb = DiffAEEmbedder(pretrained=DEFAULT_PRETRAINED, snippet_seconds=2.0, max_epochs=1,
                         batch_size=8, random_state=0).fit([X_tr[i] for i in keep],
                                                           y_tr[keep])
    dump(emb, tmp_path / "tuned.joblib")
    export = _script("export_pretrained")
    out = export.main([str(tmp_path / "tuned.joblib"), "--fitted", "--name", "test-ft",
                       "--quick", "--out", str(tmp_path / "ckpt"), "--cpu-minutes", "2.5"])
    config, _ = load_checkpoint(out)
    card = config["card"]
    assert "WITH its labels" in card["training_data"]
    assert card["fine_tuned_from"] == DEFAULT_PRETRAINED
    assert card["fine_tuning_crops"] == 24  # one epoch of one crop per record
    parent = load_checkpoint(DEFAULT_PRETRAINED)[0]["card"]
    assert card["crops_seen"] == parent["crops_seen"] + 24
    assert card["cpu_hours"] == round(parent["cpu_hours"] + 2.5 / 60, 2)
    assert "1 epochs of 2-s crops" in card["recipe"] and "lr 0.0003" in card["recipe"]
    assert "not independent" in card["metrics"]["note"]
    assert card["license"] == parent["license"]
    X = [X_tr[i] for i in keep[:4]]
    shipped = DiffAEEmbedder.from_pretrained(str(out)).fit(X)
    np.testing.assert_allclose(shipped.transform(X), emb.transform(X), atol=2e-2, rtol=2e-2)
    with pytest.raises(SystemExit, match="does not hold a fitted DiffAEEmbedder"):
        dump({"emb": emb}, tmp_path / "state.joblib")
        export.main([str(tmp_path / "state.joblib"), "--fitted", "--name", "x", "--quick",
                     "--out", str(tmp_path / "x")])


def test_set_and_precision_change_the_network_and_are_pinned_on_resume(pretrain, tmp_path):
    state = _run(pretrain, tmp_path, "w", "--marks", "--max-crops", "196",
                 "--set", "encoder_width=16", "--precision", "bf16")
    emb = state["embedder"]
    assert emb.encoder_width == 16 and emb.engine.precision == "bf16"
    assert emb.net_.module_.encoder.blocks[0].lru.B_re.shape == (16, 16)
    report = json.loads((tmp_path / "w.json").read_text())
    assert report["overrides"] == {"set": ["encoder_width=16"], "precision": "bf16"}
    # resuming with other changes (or none) would mix two networks' training in one run
    for other in (["--set", "encoder_width=32", "--precision", "bf16"],
                  ["--set", "encoder_width=16"]):
        with pytest.raises(SystemExit, match="resume with the same --set"):
            _run(pretrain, tmp_path, "w", "--marks", "--max-crops", "392", "--resume", *other)


def test_set_without_its_own_name_is_refused(pretrain):
    # the default state and JSON paths belong to the recipe's own run
    with pytest.raises(SystemExit, match="give the run its own --name"):
        pretrain.main(["--quick", "--recipe", "plain", "--set", "encoder_width=16"])
