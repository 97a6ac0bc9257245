"""DiffAEEmbedder trained by two torch.distributed processes (gloo, CPU) launched by torchrun.

The same script runs once as a plain process and once under
``torchrun --standalone --nproc_per_node 2`` with the same global batch; the two
trainings must agree up to the order of floating-point sums, and rank 0's pickled
model must load and embed in this (plain) process.
"""

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import joblib
import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path

    import joblib
    import numpy as np
    import torch
    import torch.distributed as dist

    from sklearn_biodiff.engine import TorchEngine
    from sklearn_biodiff.feature_extraction import DiffAEEmbedder
    from sklearn_biodiff.modules.diffae import DiffAEModule
    from sklearn_biodiff.noise import AddNoise

    ROWS = []  # rows of each training forward pass in this process
    forward = DiffAEModule.forward

    def counting_forward(self, x0, *args, **kwargs):
        if self.training:
            ROWS.append(len(x0))
        return forward(self, x0, *args, **kwargs)

    DiffAEModule.forward = counting_forward
    out = Path(sys.argv[1])
    if "RANK" in os.environ:  # started by torchrun
        dist.init_process_group("gloo")
    rank = dist.get_rank() if dist.is_initialized() else 0
    torch.set_num_threads(1)
    rng = np.random.RandomState(0)
    X = [np.sin(np.linspace(0, 3 * k, 600 + 37 * k)) + 0.2 * rng.randn(600 + 37 * k)
         for k in range(1, 17)]  # 16 records: 2 global batches of 8 per epoch
    # DEVICE_NOISE=1: encoder noise drawn in the training step (global batch, own rows)
    noise = ({"encoder_noise": AddNoise("mixture", snr_db=(0.0, 12.0)),
              "engine": TorchEngine(noise_device="device")}
             if os.environ.get("DEVICE_NOISE") else {})
    emb = DiffAEEmbedder(snippet_seconds=1.0, embedding_dim=8, encoder_layers=1,
                         encoder_width=8, unet_channels=(8, 16), n_timesteps=50,
                         max_epochs=3, batch_size=8, ema_decay=0.9, device="cpu",
                         random_state=0, **noise).fit(X)
    state = {k: v.numpy() for k, v in emb.net_.module_.state_dict().items()}
    np.savez(out / f"rank{rank}.npz", Z=emb.transform(X), **state)
    (out / f"rank{rank}.json").write_text(json.dumps({
        "train_loss": [row["train_loss"] for row in emb.history_],
        "batch_sizes": [[b["train_batch_size"] for b in row["batches"]]
                        for row in emb.history_],
        "rows_per_forward": ROWS,
        "device_noise": getattr(emb.net_, "device_noise", None) is not None}))
    if rank == 0:
        joblib.dump(emb, out / "model.joblib")
    # a torch estimator that does not shard says so, and trains in every process
    import warnings
    from sklearn_biodiff.feature_extraction import DACLEmbedder
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        DACLEmbedder(embedding_dim=2, widths=(8, 4), time_dim=4, max_epochs=1,
                     random_state=0).fit(rng.randn(16, 6).astype(np.float32),
                                         np.arange(16) % 2)
    (out / f"warnings{rank}.txt").write_text(" | ".join(str(w.message) for w in caught))
    if dist.is_initialized():
        dist.destroy_process_group()
""")


def _run(args, out, timeout=240, env=None):
    out.mkdir()
    proc = subprocess.run([*args, str(out)], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch without distributed")
@pytest.mark.parametrize("device_noise", [False, True], ids=["clean", "device_noise"])
def test_two_process_diffae_training_matches_one_process_and_loads_in_a_plain_one(
        tmp_path, device_noise):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if k != "DEVICE_NOISE"}
    if device_noise:  # encoder noise drawn in the training step, for the global batch
        env["DEVICE_NOISE"] = "1"
    _run([sys.executable, str(script)], tmp_path / "one", env=env)
    _run([sys.executable, "-m", "torch.distributed.run", "--nnodes", "1",
          "--nproc_per_node", "2", "--rdzv_backend", "c10d",
          "--rdzv_endpoint", f"127.0.0.1:{_free_port()}", str(script)], tmp_path / "two",
         env=env)

    one = np.load(tmp_path / "one" / "rank0.npz")
    ranks = [np.load(tmp_path / "two" / f"rank{r}.npz") for r in (0, 1)]
    # both processes hold the same model (same steps from all-reduced gradients) ...
    for key in one.files:
        np.testing.assert_array_equal(ranks[0][key], ranks[1][key], err_msg=key)
    # ... which is the one-process model up to float32 summation order. Stated
    # tolerance: embeddings within 1e-5, epoch losses within 1e-6 (relative), and
    # parameters within 1e-5 except those whose gradient is only rounding noise
    # (biases in front of a GroupNorm): Adam turns noise into steps of up to lr,
    # so those stay within lr per optimizer step (6 steps here).
    np.testing.assert_allclose(ranks[0]["Z"], one["Z"], rtol=0, atol=1e-5)
    params = [k for k in one.files if k != "Z" and one[k].dtype.kind == "f"]
    diff = np.concatenate([np.abs(ranks[0][k] - one[k]).ravel() for k in params])
    assert np.mean(diff > 1e-5) < 2e-3, np.sort(diff)[-10:]
    assert diff.max() <= 6 * 1e-3
    logs = {name: json.loads((tmp_path / name / "rank0.json").read_text())
            for name in ("one", "two")}
    np.testing.assert_allclose(logs["two"]["train_loss"], logs["one"]["train_loss"],
                               rtol=1e-6)
    assert logs["two"]["batch_sizes"] == logs["one"]["batch_sizes"] == [[8, 8]] * 3
    assert logs["one"]["device_noise"] == logs["two"]["device_noise"] == device_noise
    # each process computed half of every global batch of 8
    assert logs["one"]["rows_per_forward"] == [8] * 6
    for r in (0, 1):
        rows = json.loads((tmp_path / "two" / f"rank{r}.json").read_text())
        assert rows["rows_per_forward"] == [4] * 6
    # the models moved: a no-op training could not fail the checks above
    assert logs["one"]["train_loss"][0] != logs["one"]["train_loss"][-1]

    assert "does not shard" not in (tmp_path / "one" / "warnings0.txt").read_text()
    for r in (0, 1):
        text = (tmp_path / "two" / f"warnings{r}.txt").read_text()
        assert "does not shard its training over processes" in text

    # rank 0's pickle loads and embeds in a plain process (no process group here)
    emb = joblib.load(tmp_path / "two" / "model.joblib")
    assert not torch.distributed.is_initialized()
    rng = np.random.RandomState(0)
    X = [np.sin(np.linspace(0, 3 * k, 600 + 37 * k)) + 0.2 * rng.randn(600 + 37 * k)
         for k in range(1, 17)]
    np.testing.assert_allclose(emb.transform(X), ranks[0]["Z"], rtol=1e-5, atol=1e-6)


def test_sharded_loader_splits_each_global_batch_between_processes():
    from sklearn_biodiff.nets._distributed import ShardedBatchLoader
    from sklearn_biodiff.nets._training import SeededGenerator
    from sklearn_biodiff.nets.losses import CropDataset

    records = [np.arange(50, dtype=np.float32) + 100 * i for i in range(11)]

    def batches(rank, world):
        loader = ShardedBatchLoader(CropDataset(records, 8, seed=3), batch_size=4,
                                    shuffle=True, generator=SeededGenerator(0),
                                    rank=rank, world_size=world)
        return list(loader)

    whole = batches(0, 1)
    thirds = [batches(0, 3), batches(1, 3), batches(2, 3)]
    # 11 records in global batches of 4, 4, 3 rows; 3 processes keep 1+1+2, 1+1+2, 1+1+1
    assert [len(X["x0"]) for X, _ in whole] == [4, 4, 3]
    for b, (X, _) in enumerate(whole):
        parts = [t[b][0] for t in thirds]
        # the same crops (same draws) in every process, each keeping its own rows
        np.testing.assert_array_equal(torch.cat([p["x0"] for p in parts]), X["x0"])
        rows = torch.cat([p["shard"][:, 0] for p in parts])
        assert rows.tolist() == list(range(len(X["x0"])))
        assert {int(n) for p in parts for n in p["shard"][:, 1]} == {len(X["x0"])}
    # a global batch with fewer rows than processes is skipped by all of them
    tiny = ShardedBatchLoader(CropDataset(records[:3], 8, seed=3), batch_size=2,
                              rank=1, world_size=2)
    assert [len(X["x0"]) for X, _ in tiny] == [1]


def test_diffae_module_shard_draws_the_global_batch_noise():
    from sklearn_biodiff.modules.diffae import DiffAEModule

    module = DiffAEModule(embedding_dim=4, encoder_width=8, encoder_layers=1,
                          unet_channels=(8, 16), n_timesteps=20)
    x = torch.randn(6, 64)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        _, eps_all = module(x)
    shard = torch.tensor([[r, 6] for r in (3, 4, 5)])
    with torch.random.fork_rng():
        torch.manual_seed(0)
        _, eps_part = module(x[3:], shard=shard)
    torch.testing.assert_close(eps_part, eps_all[3:], rtol=0, atol=0)
    with pytest.raises(ValueError, match="cannot be sharded"):
        module.projector = torch.nn.Identity()
        module(x[3:], x_view=x[3:], shard=shard)
