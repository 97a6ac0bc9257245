"""The auxiliary contrastive term of DiffAEEmbedder (two views of a record, InfoNCE)."""

import math

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from sklearn_biodiff.feature_extraction import DiffAEEmbedder
from sklearn_biodiff.modules.diffae import DiffAEModule
from sklearn_biodiff.nets.losses import CropDataset, info_nce

RNG = np.random.RandomState(0)
X = [np.sin(np.linspace(0, 3 * k, 200 + 20 * k)) + 0.1 * RNG.randn(200 + 20 * k)
     for k in range(1, 9)]
TINY = {"snippet_seconds": 0.5, "fs": 100.0, "model_fs": 100.0, "embedding_dim": 4,
        "encoder_layers": 1, "encoder_width": 4, "encoder_stride": 2,
        "unet_channels": (4, 8), "unet_stem_stride": 1, "n_timesteps": 20,
        "max_epochs": 2, "batch_size": 4, "random_state": 0}


def test_info_nce_matches_a_hand_computed_value():
    p = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    q = torch.tensor([[3.0, 0.0], [1.0, 1.0]])
    # cosine similarities: [[1, 1/sqrt2], [0, 1/sqrt2]]; temperature 0.5 doubles them
    s = 1 / math.sqrt(2)
    rows = [-math.log(math.exp(2) / (math.exp(2) + math.exp(2 * s))),
            -math.log(math.exp(2 * s) / (math.exp(0) + math.exp(2 * s)))]
    cols = [-math.log(math.exp(2) / (math.exp(2) + math.exp(0))),
            -math.log(math.exp(2 * s) / (math.exp(2 * s) + math.exp(2 * s)))]
    expected = 0.5 * (sum(rows) / 2 + sum(cols) / 2)
    assert info_nce(p, q, temperature=0.5).item() == pytest.approx(expected, rel=1e-6)
    # matched views score lower than mismatched ones
    assert info_nce(p, p).item() < info_nce(p, p.flip(0)).item()


def test_second_view_is_another_crop_of_the_same_record():
    records = [np.full(50, float(i), np.float32) + np.arange(50, dtype=np.float32) / 100
               for i in range(4)]
    ds = CropDataset(records, 10, seed=0, second_view=True)
    item, _ = ds.batch(np.arange(4))
    assert set(item) == {"x0", "x_view"}
    np.testing.assert_array_equal(item["x_view"].floor(), item["x0"].floor())  # same record
    assert not torch.equal(item["x_view"], item["x0"])  # another crop
    again, _ = CropDataset(records, 10, seed=0, second_view=True).batch(np.arange(4))
    assert torch.equal(again["x_view"], item["x_view"])  # seeded


def test_module_returns_projected_views():
    module = DiffAEModule(embedding_dim=4, encoder_width=4, encoder_layers=1,
                          unet_channels=(4, 8), n_timesteps=20, projection_dim=3)
    eps_hat, eps, p, q = module(torch.randn(2, 64), x_view=torch.randn(2, 64))
    assert eps_hat.shape == eps.shape and p.shape == q.shape == (2, 3)
    with pytest.raises(ValueError, match="projection_dim"):
        DiffAEModule(embedding_dim=4, encoder_width=4, encoder_layers=1,
                     unet_channels=(4, 8), n_timesteps=20)(torch.randn(2, 64),
                                                           x_view=torch.randn(2, 64))


def test_contrastive_term_trains_and_saved_checkpoints_drop_the_head(tmp_path):
    plain = DiffAEEmbedder(**TINY).fit(X)
    con = DiffAEEmbedder(**TINY, contrastive_weight=1.0, projection_dim=3).fit(X)
    assert con.net_.module_.projector is not None
    # the InfoNCE term (about log(batch size) at first) adds to the loss
    assert con.history_[0]["train_loss"] > plain.history_[0]["train_loss"] + 0.5
    assert con.transform(X).shape == (len(X), 4)
    path = con.save_pretrained(tmp_path / "c")
    assert not any(k.startswith("projector.") for k in load_file(path / "model.safetensors"))
    # a plain checkpoint fine-tunes with a fresh projection head
    ckpt = plain.save_pretrained(tmp_path / "p")
    tuned = DiffAEEmbedder(**{**TINY, "max_epochs": 1}, contrastive_weight=1.0,
                           projection_dim=3, pretrained=str(ckpt)).fit(X)
    assert tuned.net_.module_.projector is not None
