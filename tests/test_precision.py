"""Mixed precision of DiffAEEmbedder on CPU (bf16 and float16 autocast), device choice."""

import pickle

import numpy as np
import pytest
import torch

from sklearn_biodiff.engine import TorchEngine
from sklearn_biodiff.feature_extraction import DiffAEEmbedder

TINY = {"snippet_seconds": 1.0, "embedding_dim": 8, "encoder_layers": 1, "encoder_width": 8,
        "unet_channels": (8, 16), "n_timesteps": 50, "max_epochs": 2, "batch_size": 4,
        "device": "cpu", "random_state": 0}


def _records():
    rng = np.random.RandomState(0)
    return [np.sin(np.linspace(0, 3 * k, 600 + 37 * k)) + 0.2 * rng.randn(600 + 37 * k)
            for k in range(1, 9)]


def _fit_recording_dtypes(**params):
    """Fit, recording the output dtype of every LRU and Conv1d during training."""
    seen = {}

    def hook(module, args, out):
        name = type(module).__name__
        if module.training and name in ("LRU", "Conv1d") and isinstance(out, torch.Tensor):
            seen.setdefault(name, set()).add(out.dtype)

    handle = torch.nn.modules.module.register_module_forward_hook(hook)
    try:
        emb = DiffAEEmbedder(**TINY, **params).fit(_records())
    finally:
        handle.remove()
    return emb, seen


@pytest.mark.parametrize("precision, conv_dtype", [
    ("32", torch.float32), ("bf16", torch.bfloat16), ("16-mixed", torch.float16)])
def test_precision_autocasts_training_but_keeps_the_lru_scan_float32(precision, conv_dtype):
    emb, seen = _fit_recording_dtypes(engine=TorchEngine(precision=precision))
    assert seen["Conv1d"] == {conv_dtype}
    assert seen["LRU"] == {torch.float32}
    losses = [row["train_loss"] for row in emb.history_]
    assert len(losses) == 2 and np.isfinite(losses).all()
    # weights stay float32, the gradient scaler is not kept, the model pickles
    assert {p.dtype for p in emb.net_.module_.parameters()} == {torch.float32}
    assert not hasattr(emb.net_, "grad_scaler_")
    Z = emb.transform(_records())
    assert Z.dtype == np.float32 and np.isfinite(Z).all()
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(emb)).transform(_records()), Z)


def test_precision_is_validated():
    with pytest.raises(ValueError, match="precision"):
        DiffAEEmbedder(**{**TINY, "max_epochs": 1},
                       engine=TorchEngine(precision="fp8")).fit(_records())


@pytest.mark.slow
def test_compiled_training_matches_uncompiled_and_the_model_pickles():
    from torch._dynamo.utils import counters

    plain = DiffAEEmbedder(**TINY).fit(_records())
    counters.clear()
    # the "eager" backend runs dynamo's graph capture without code generation:
    # the compiled path is taken (frames captured) and the numbers are the same
    compiled = DiffAEEmbedder(**TINY, engine=TorchEngine(
        compile={"backend": "eager"})).fit(_records())
    assert counters["frames"]["ok"] > 0
    np.testing.assert_allclose([r["train_loss"] for r in compiled.history_],
                               [r["train_loss"] for r in plain.history_], rtol=1e-6)
    assert not hasattr(compiled.net_, "compiled_modules_")
    assert compiled.net_.module_.denoiser._compiled_call_impl is None
    np.testing.assert_allclose(pickle.loads(pickle.dumps(compiled)).transform(_records()),
                               plain.transform(_records()), rtol=1e-5, atol=1e-6)


def test_compile_is_validated():
    with pytest.raises(ValueError, match="compile"):
        DiffAEEmbedder(**TINY, engine=TorchEngine(compile="yes")).fit(_records())
