"""Seeded random streams that travel with a fitted model: shuffling, crops, and the
noise drawn on the training device."""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["DeviceGenerator", "DeviceNoise", "SeededGenerator"]


class SeededGenerator:
    """A seeded CPU :class:`torch.Generator` for shuffling, pickled as plain bytes.

    The shuffling order of a warm-started or resumed fit continues where the
    saved one stopped; the pickle holds no tensor.
    """

    def __init__(self, seed: int):
        self.torch = torch.Generator().manual_seed(int(seed))

    def __getstate__(self):
        return {"state": self.torch.get_state().numpy().tobytes()}

    def __setstate__(self, state):
        self.torch = torch.Generator()
        self.torch.set_state(torch.frombuffer(bytearray(state["state"]), dtype=torch.uint8))


def _same_device(a: torch.device, b: torch.device) -> bool:
    return a.type == b.type and (a.index or 0) == (b.index or 0)


class DeviceGenerator:
    """A seeded :class:`torch.Generator` on the training device, pickled as CPU bytes.

    Made on the first :meth:`get` for a device (seeded with ``seed``); its state
    is pickled as bytes with the device type, so a warm-started or resumed fit
    continues the stream exactly and the pickle holds no tensor (it loads on a
    CPU-only host). Restored on another kind of device (a CUDA-trained model
    fine-tuned on a CPU), whose generators have another state format, it is
    seeded from a hash of the saved state: reproducible, but a new stream.
    """

    def __init__(self, seed: int):
        self.seed = int(seed)
        self._gen = None
        self._saved = None  # (device type, state bytes) loaded from a pickle

    def get(self, device) -> torch.Generator:
        """The generator on ``device`` (moved there, state kept, if it was elsewhere)."""
        device = torch.device(device)
        if self._gen is not None and _same_device(self._gen.device, device):
            return self._gen
        saved = self._state()
        gen = torch.Generator(device=device)
        if saved is None:
            gen.manual_seed(self.seed)
        elif saved[0] == device.type:
            gen.set_state(torch.frombuffer(bytearray(saved[1]), dtype=torch.uint8))
        else:
            import hashlib

            digest = hashlib.sha256(saved[0].encode() + saved[1]).digest()
            gen.manual_seed(int.from_bytes(digest[:8], "little") >> 1)
        self._gen, self._saved = gen, None
        return gen

    def _state(self):
        if self._gen is None:
            return self._saved
        return self._gen.device.type, self._gen.get_state().numpy().tobytes()

    def __getstate__(self):
        return {"seed": self.seed, "saved": self._state()}

    def __setstate__(self, state):
        self.seed, self._saved, self._gen = state["seed"], state["saved"], None


class DeviceNoise:
    """Encoder-input noise drawn on the training device inside the training step.

    Given to :class:`~sklearn_biodiff.nets.losses.NoisePredictionNet` as
    ``device_noise``: before each forward pass, ``x_enc`` (and a second view
    ``x_view``, if any) become ``noise.corrupt_batch`` of the clean crops, on the
    net's device, from a :class:`DeviceGenerator`. Under ``torch.distributed``
    (a ``"shard"`` entry from
    :class:`~sklearn_biodiff.nets._distributed.ShardedBatchLoader`) the noise is
    drawn for the global batch and the process's rows kept, as the diffusion
    noise is.

    Parameters
    ----------
    noise : AddNoise
        Its ``fs`` is the rate of the crops.
    seed : int
        The fit's seed; the generator gets a seed derived from it (not the seed
        itself, which the CPU shuffling generator already uses).
    """

    def __init__(self, noise, seed: int):
        self.noise = noise
        derived = np.random.SeedSequence([int(seed), 0x6E6F6973]).generate_state(1, np.uint64)
        self.generator = DeviceGenerator(int(derived[0]) >> 1)

    def __call__(self, x, device):
        """``x`` (a tensor of clean crops or a dict with ``"x0"``) with ``"x_enc"`` added."""
        from skorch.utils import to_tensor

        x = dict(x) if isinstance(x, dict) else {"x0": x}
        rows = n = None
        shard = x.get("shard")
        if shard is not None and len(shard):
            # the loader's rows are contiguous; read on the host, where the loader made them
            lo, n = int(shard[0, 0]), int(shard[0, 1])
            rows = slice(lo, lo + len(shard))
        gen = self.generator.get(device)
        x["x0"] = to_tensor(x["x0"], device=device)
        x["x_enc"] = self.noise.corrupt_batch(x["x0"], gen, rows=rows, batch_size=n)
        if "x_view" in x:
            x["x_view"] = self.noise.corrupt_batch(to_tensor(x["x_view"], device=device), gen,
                                                   rows=rows, batch_size=n)
        return x
