"""Checkpoints and saved models from hostile or half-written files.

Edited configs are refused before any network is built, weights are checked by
their header before any tensor is read, saves are all or nothing under
``kill -9``, and no name or path ever reaches the network.
"""

import json
import os
import pickle
import signal
import socket
import subprocess
import sys
import textwrap
import time
import types
import warnings

import numpy as np
import pytest
import torch
from _tiny import TINY_DIFFAE, ragged_sines
from safetensors.torch import save_file

from sklearn_biodiff import utils
from sklearn_biodiff._atomic import remove_stale_temporaries, temporary_name
from sklearn_biodiff.exceptions import CheckpointError, PackageVersionWarning
from sklearn_biodiff.feature_extraction import DiffAEEmbedder
from sklearn_biodiff.preprocessing import StandardizeSignal
from sklearn_biodiff.pretrained import (
    DEFAULT_PRETRAINED,
    list_pretrained,
    load_checkpoint,
    model_card,
)

X = ragged_sines()
TINY = TINY_DIFFAE


@pytest.fixture(scope="module")
def trained():
    return DiffAEEmbedder(**TINY).fit(X)


@pytest.fixture
def saved(trained, tmp_path):
    return trained.save_pretrained(tmp_path / "ckpt", card={"title": "tiny"})


def _edit_config(folder, **changes):
    config = json.loads((folder / "config.json").read_text())
    for key, value in changes.items():
        if key in config["architecture"] or key.startswith("arch_"):
            config["architecture"][key.removeprefix("arch_")] = value
        elif value is None:
            config.pop(key)
        else:
            config[key] = value
    (folder / "config.json").write_text(json.dumps(config))


def _every_entry_point_refuses(folder, match):
    """The same clear error from fit, from_pretrained, load_checkpoint and model_card."""
    calls = [lambda: DiffAEEmbedder(**{**TINY, "max_epochs": 0}, pretrained=str(folder)).fit(X),
             lambda: DiffAEEmbedder.from_pretrained(str(folder)),
             lambda: load_checkpoint(folder)]
    for call in calls:
        with pytest.raises(CheckpointError, match=match):
            call()


# ---------------------------------------------------------------- config.json
@pytest.mark.parametrize("changes, match", [
    ({"encoder_width": 8192, "embedding_dim": 8192}, "parameters, more than"),
    ({"n_timesteps": 1e12}, "'n_timesteps' must be an integer"),
    ({"n_timesteps": 10**12}, r"'n_timesteps' must be an integer in \[2, 100000\]"),
    ({"unet_channels": [4, "8"]}, "'unet_channels' must be a list"),
    ({"dropout": float("nan")}, "'dropout' must be a finite number"),
    ({"arch_surprise": 1}, "does not know: \\['surprise'\\]"),
    ({"architecture": None}, "no 'architecture' object"),
    ({"model_fs": None}, "'model_fs' must be a sampling rate"),
    ({"model_fs": -3}, "'model_fs' must be a sampling rate"),
    ({"sha256": 5}, "'sha256' must be the 64 hex digits"),
])
def test_edited_config_fields_are_refused_by_every_entry_point(saved, changes, match):
    _edit_config(saved, **changes)
    _every_entry_point_refuses(saved, match)
    if "parameters" not in match:  # the card needs no network: it checks the config only
        with pytest.raises(CheckpointError, match=match):
            model_card(saved)


@pytest.mark.parametrize("content, match", [
    (b"[1, 2, 3]", "holds a JSON list, not the object"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply|nested more than"),
    (b'{"a":' * 40 + b"1" + b"}" * 40, "nested more than 32 levels"),
    (b"\x89PNG\r\n\x1a\n\x00\xff\xfe", "is not UTF-8 text"),
    (b"{not json", "is not valid JSON"),
])
def test_config_that_is_not_a_json_object_is_refused(saved, content, match):
    (saved / "config.json").write_bytes(content)
    _every_entry_point_refuses(saved, match)
    with pytest.raises(CheckpointError, match=match):
        model_card(saved)


def test_oversized_config_is_refused_without_reading_it_all(saved):
    with open(saved / "config.json", "wb") as f:
        f.truncate(64 << 20)  # sparse: 64 MiB on paper
    with pytest.raises(CheckpointError, match="larger than 4 MiB"):
        load_checkpoint(saved)


# ---------------------------------------------------------------- the weights' header
def _architecture_state(folder):
    config = json.loads((folder / "config.json").read_text())
    state = dict(load_checkpoint(folder)[1])
    return config, state


def _rewrite_weights(folder, config, state):
    save_file(state, folder / "model.safetensors")
    from sklearn_biodiff.pretrained._checkpoint import _sha256

    config["sha256"] = _sha256(folder / "model.safetensors")
    (folder / "config.json").write_text(json.dumps(config))


def test_weights_of_another_shape_name_or_dtype_are_refused_before_loading(saved):
    config, state = _architecture_state(saved)
    name = next(iter(state))
    for change, match in [
            (lambda s: s.update({name: torch.zeros(3, 3)}), f"{name} has shape \\[3, 3\\]"),
            (lambda s: s.update({"intruder": torch.zeros(2)}), "unexpected keys \\['intruder'\\]"),
            (lambda s: s.pop(name), f"missing keys \\['{name}'\\]"),
            (lambda s: s.update({name: s[name].to(torch.int32)}), "stored as I32")]:
        bad = {k: v.clone() for k, v in state.items()}
        change(bad)
        _rewrite_weights(saved, config, bad)
        with pytest.raises(CheckpointError, match=match):
            load_checkpoint(saved)


def _peak_rss_of(code: str, tmp_path) -> tuple[str, float]:
    """Run ``code`` in a fresh process; return its last line and the peak RSS it added (MB)."""
    script = tmp_path / "probe.py"
    script.write_text(textwrap.dedent("""
        import resource, sys
        import torch, sklearn_biodiff.feature_extraction, sklearn_biodiff.pretrained
        def peak():
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        base = peak()
        try:
    """) + textwrap.indent(textwrap.dedent(code), "    ") + textwrap.dedent("""
            print("no error")
        except Exception as exc:
            print(type(exc).__name__, str(exc)[:300])
        print(peak() - base)
    """))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    *lines, added = out.stdout.strip().splitlines()
    return lines[-1], float(added)


def test_a_huge_crafted_tensor_is_refused_with_bounded_memory(saved, tmp_path):
    config, state = _architecture_state(saved)
    name = next(iter(state))
    # 256 MiB of float16 under a real weight name: the old loader converted it to
    # float32 (768 MiB resident) before it compared any shape
    state[name] = torch.zeros(128 << 20, dtype=torch.float16)
    _rewrite_weights(saved, config, state)
    error, added = _peak_rss_of(
        f"sklearn_biodiff.pretrained.load_checkpoint({str(saved)!r})", tmp_path)
    assert error.startswith("CheckpointError") and "does not belong to that config" in error
    assert added < 100, f"refusing the file took {added:.0f} MB"


def test_an_edited_architecture_is_refused_before_any_allocation(saved, tmp_path):
    _edit_config(saved, encoder_width=8192, embedding_dim=8192)
    error, added = _peak_rss_of(
        "from sklearn_biodiff.feature_extraction import DiffAEEmbedder\n"
        f"DiffAEEmbedder.from_pretrained({str(saved)!r})", tmp_path)
    assert error.startswith("CheckpointError") and "parameters" in error
    assert added < 100, f"refusing the config took {added:.0f} MB"


# ---------------------------------------------------------------- no network unasked
@pytest.fixture
def no_network(monkeypatch):
    """Every socket connection and name look-up fails, and a planted
    ``huggingface_hub`` records each download it is asked for."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access: {args[:2]}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    asked = []
    hub = types.ModuleType("huggingface_hub")
    hub.snapshot_download = lambda repo_id, **kw: asked.append(repo_id) or "/nonexistent"
    monkeypatch.setitem(sys.modules, "huggingface_hub", hub)
    return asked


@pytest.mark.parametrize("name", ["mydir/ckpt", f"{DEFAULT_PRETRAINED}/", "someone/some-diffae",
                                  "./missing", "~/missing-ckpt"])
def test_paths_and_names_never_reach_the_network(no_network, name):
    calls = [lambda: DiffAEEmbedder(pretrained=name, max_epochs=0).fit(X),
             lambda: DiffAEEmbedder.from_pretrained(name), lambda: model_card(name),
             lambda: load_checkpoint(name)]
    for call in calls:
        with pytest.raises(CheckpointError, match="no such folder|no folder") as info:
            call()
        assert "install" not in str(info.value)
    assert no_network == []


def test_a_trailing_slash_on_a_shipped_name_points_to_the_name(no_network):
    with pytest.raises(CheckpointError, match=f"named '{DEFAULT_PRETRAINED}', without"):
        load_checkpoint(f"{DEFAULT_PRETRAINED}/")


def test_an_owner_repo_string_says_how_to_ask_for_the_hub(no_network):
    with pytest.raises(CheckpointError, match="pretrained='hf://mydir/ckpt'"):
        load_checkpoint("mydir/ckpt")


def test_shipped_names_load_without_the_network(no_network):
    assert load_checkpoint(list_pretrained()[0])[0]["model_type"]
    assert no_network == []


def test_the_hub_is_reached_only_through_hf_prefix(no_network):
    with pytest.raises(CheckpointError):  # the planted hub returns no folder
        load_checkpoint("hf://owner/repo")
    assert no_network == ["owner/repo"]
    with pytest.raises(CheckpointError, match="not a Hugging Face Hub repository id"):
        load_checkpoint("hf://../../etc")


def test_a_broken_huggingface_hub_is_named_as_broken(monkeypatch, tmp_path):
    pkg = tmp_path / "site" / "huggingface_hub"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("import a_dependency_that_is_not_there_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, "huggingface_hub", raising=False)
    with pytest.raises(CheckpointError, match="installed but fails to import") as info:
        load_checkpoint("hf://owner/repo")
    assert "a_dependency_that_is_not_there_xyz" in str(info.value)


# ---------------------------------------------------------------- all-or-nothing saves
def test_save_pretrained_does_not_write_through_a_symlinked_config(trained, saved, tmp_path):
    outside = tmp_path / "outside.json"
    outside.write_text("precious")
    (saved / "config.json").unlink()
    (saved / "config.json").symlink_to(outside)
    trained.save_pretrained(saved)
    assert outside.read_text() == "precious"
    assert not (saved / "config.json").is_symlink()
    assert load_checkpoint(saved)[0]["model_type"]


def test_save_pretrained_replaces_a_symlinked_folder_not_its_target(trained, saved, tmp_path):
    link = tmp_path / "link"
    link.symlink_to(saved)
    before = (saved / "model.safetensors").read_bytes()
    trained.save_pretrained(link, dtype="float16")
    assert (saved / "model.safetensors").read_bytes() == before
    assert not link.is_symlink() and load_checkpoint(link)[0]["weights_dtype"] == "float16"


def test_save_pretrained_refuses_a_folder_with_other_files(trained, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(CheckpointError, match="holds other files than a checkpoint"):
        trained.save_pretrained(tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_temporaries_of_dead_processes_are_removed(trained, tmp_path):
    target = tmp_path / "ckpt"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = temporary_name(target).name.split(".")
    stale[4] = str(dead.pid)
    stale_dir = tmp_path / ".".join(stale)
    stale_dir.mkdir()
    (stale_dir / "model.safetensors").write_bytes(b"\0" * 1000)
    mine = temporary_name(target)  # this process is alive: kept
    mine.mkdir()
    trained.save_pretrained(target)
    assert not stale_dir.exists() and mine.exists()
    assert remove_stale_temporaries(target) == []
    mine.rmdir()


_KILL_LOOP = """
import sys, numpy as np
from sklearn_biodiff.feature_extraction import DiffAEEmbedder
from sklearn_biodiff import utils
x = [np.sin(np.linspace(0, 3 * k, 300)) for k in range(1, 9)]
params = dict({tiny}, max_epochs=1)
models = [DiffAEEmbedder(**params, random_state=s).fit(x) for s in (0, 1)]
print("ready", flush=True)
i = 0
while True:
    models[i % 2].save_pretrained(sys.argv[1], dtype=("float32", "float16")[i % 2])
    utils.dump(models[i % 2], sys.argv[2])
    i += 1
"""


def test_kill_9_during_saves_always_leaves_a_loadable_model(tmp_path):
    folder, dumped = tmp_path / "ckpt", tmp_path / "model.joblib"
    script = tmp_path / "loop.py"
    script.write_text(_KILL_LOOP.format(tiny=repr({k: v for k, v in TINY.items()
                                                   if k not in ("max_epochs", "random_state")})))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    rng = np.random.RandomState(0)
    for _ in range(5):
        proc = subprocess.Popen([sys.executable, str(script), str(folder), str(dumped)],
                                stdout=subprocess.PIPE, text=True, env=env)
        try:
            assert proc.stdout.readline().strip() == "ready"
            time.sleep(0.05 + 0.4 * rng.rand())
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        if folder.exists():  # killed after the first save: both must load
            config, _ = load_checkpoint(folder)
            assert config["weights_dtype"] in ("float32", "float16")
            emb = utils.load(dumped)
            assert emb.transform(X[:2]).shape == (2, TINY["embedding_dim"])
    # the next save clears what the killed processes left
    DiffAEEmbedder(**TINY).fit(X).save_pretrained(folder)
    utils.dump(StandardizeSignal(), dumped)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt", "loop.py", "model.joblib"]


# ---------------------------------------------------------------- the safe dump
def test_dump_replaces_the_file_and_keeps_it_on_failure(trained, tmp_path):
    path = utils.dump(trained, tmp_path / "m.joblib")
    np.testing.assert_array_equal(utils.load(path).transform(X), trained.transform(X))

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("cannot pickle")

    with pytest.raises(RuntimeError, match="cannot pickle"):
        utils.dump(Unpicklable(), path)
    np.testing.assert_array_equal(utils.load(path).transform(X), trained.transform(X))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.joblib"]


def test_dump_and_load_say_what_is_wrong_with_the_path(tmp_path):
    with pytest.raises(IsADirectoryError, match="pass the file to write"):
        utils.dump(StandardizeSignal(), tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist; create it"):
        utils.dump(StandardizeSignal(), tmp_path / "no" / "m.joblib")
    with pytest.raises(FileNotFoundError, match="no saved model"):
        utils.load(tmp_path / "m.joblib")


def test_pickles_carry_the_package_version_and_warn_across_releases(trained):
    import sklearn_biodiff

    state = trained.__getstate__()
    assert state["_sklearn_biodiff_version"] == sklearn_biodiff.__version__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pickle.loads(pickle.dumps(trained))  # same release: silent
    blob = pickle.dumps(trained).replace(sklearn_biodiff.__version__.encode(), b"0.0.0.dev9")
    with pytest.warns(PackageVersionWarning, match="saved with sklearn_biodiff 0.0.0.dev9") as w:
        old = pickle.loads(blob)
    assert w[0].message.saved_version == "0.0.0.dev9"
    np.testing.assert_array_equal(old.transform(X), trained.transform(X))
    unstamped = StandardizeSignal()
    state = unstamped.__getstate__()
    del state["_sklearn_biodiff_version"]
    fresh = StandardizeSignal.__new__(StandardizeSignal)
    with pytest.warns(PackageVersionWarning, match="without version stamps"):
        fresh.__setstate__(state)


# ---------------------------------------------------------------- review regressions
def test_a_save_killed_between_the_fallback_renames_is_recovered(trained, tmp_path,
                                                                  monkeypatch):
    # where renameat2 is missing (macOS, Windows) replace_folder renames twice; a kill
    # between the renames left no checkpoint, and the next cleanup removed both copies
    from sklearn_biodiff import _atomic

    target = trained.save_pretrained(tmp_path / "ckpt", card={"title": "old"})
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    parts = temporary_name(target, "old").name.split(".")
    parts[4] = str(dead.pid)
    os.rename(target, tmp_path / ".".join(parts))  # what the kill left
    assert not target.exists()
    assert load_checkpoint(target)[0]["card"]["title"] == "old"  # restored on load
    monkeypatch.setattr(_atomic, "_exchange", lambda a, b: False)
    trained.save_pretrained(target, card={"title": "new"})  # the fallback path itself
    assert load_checkpoint(target)[0]["card"]["title"] == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]


def test_the_exchange_is_only_tried_on_linux(monkeypatch, tmp_path):
    from sklearn_biodiff import _atomic

    monkeypatch.setattr(_atomic.sys, "platform", "win32")
    assert _atomic._exchange(tmp_path / "a", tmp_path / "b") is False


def test_a_config_with_a_huge_integer_or_an_unknown_user_is_a_checkpoint_error(saved):
    (saved / "config.json").write_text('{"x": ' + "1" * 5001 + "}")
    with pytest.raises(CheckpointError, match="is not valid JSON"):
        load_checkpoint(saved)
    with pytest.raises(CheckpointError, match="pass an existing folder"):
        load_checkpoint("~no_such_user_of_this_machine_xyz/ckpt")
