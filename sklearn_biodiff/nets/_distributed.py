"""Data-parallel training over ``torch.distributed`` processes: one global batch, sharded.

The one place where the torch estimators learn about several processes. When a
script started with ``torchrun --nproc_per_node N`` (or any launcher that sets up a
``torch.distributed`` process group) fits an estimator whose module can take a
shard of a batch (it has a ``shardable_input`` attribute naming the tensor argument
of ``forward``, and accepts ``shard``), :func:`~sklearn_biodiff.nets.engine.fit_net`
trains it data-parallel (:func:`use_process_group`, also for a warm start):

- every process draws the same global batch (same seed, same shuffling, same random
  crops: the data pipeline's randomness is replayed, not split) and keeps its rows
  ``[N*r//W, N*(r+1)//W)`` (:class:`ShardedBatchLoader`);
- the module draws its own noise (diffusion timesteps and noise) for the whole
  global batch and keeps the same rows, so the training sees exactly the randomness
  of one process with that batch (``shard`` argument);
- after the backward pass, :class:`ShardedGradientSync` averages the gradients
  over the processes, weighted by rows, before gradient clipping and the optimizer
  step, so every process takes the same step (what DDP does, without wrapping the
  module: its ``state_dict``, pickles and checkpoints are those of one process);
  the recorded batch loss is the global batch's.

Up to the order of floating-point sums, N processes with batch ``B`` train the same
model as one process with batch ``B``; each process does ``1/N`` of the forward and
backward work. Modules without ``shardable_input`` train unsharded in every process
(with a warning).
"""

from __future__ import annotations

import warnings

import torch
from skorch.callbacks import Callback

from .loaders import BatchLoader, _pinned

__all__ = ["ShardedBatchLoader", "ShardedGradientSync", "process_group", "rank_subfolder",
           "shard_bounds", "supports_sharding", "use_process_group"]


def process_group() -> tuple[int, int]:
    """``(rank, world_size)`` of the initialised ``torch.distributed`` group, else (0, 1)."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def shard_bounds(n: int, rank: int, world_size: int) -> tuple[int, int]:
    """Rows ``[lo, hi)`` of a global batch of ``n`` rows kept by ``rank``."""
    return n * rank // world_size, n * (rank + 1) // world_size


def supports_sharding(module) -> bool:
    """Whether ``module`` (class or instance) takes a shard of a global batch."""
    return isinstance(getattr(module, "shardable_input", None), str)


def _slice_rows(value, lo: int, hi: int):
    if isinstance(value, dict):
        return {k: v[lo:hi] for k, v in value.items()}
    return value[lo:hi]


class ShardedBatchLoader:
    """This process's rows of every global batch of a :class:`BatchLoader`.

    Parameters
    ----------
    dataset, batch_size, shuffle, generator
        As in :class:`~sklearn_biodiff.nets.loaders.BatchLoader`; ``batch_size``
        is the global batch (all processes together).
    input_name : str, default="x0"
        Key of a plain-tensor batch ``X`` in the dict passed to the module.
    rank, world_size : int or None
        ``None``: from the process group (:func:`process_group`).

    Yields
    ------
    X : dict of tensors
        This process's rows, plus ``"shard"``: an int64 tensor of shape
        (n_rows, 2) holding each row's index in the global batch and the global
        batch size.
    y : tensor of shape (n_rows,)

    Notes
    -----
    A global batch with fewer rows than processes (a last batch) is skipped by
    every process alike, so that no process gets an empty shard.
    """

    def __init__(self, dataset, batch_size=128, shuffle=False, generator=None,
                 input_name: str = "x0", rank=None, world_size=None, **kwargs):

        self.loader = BatchLoader(dataset, batch_size=batch_size, shuffle=shuffle,
                                  generator=generator, **kwargs)
        group_rank, group_size = process_group()
        self.rank = group_rank if rank is None else int(rank)
        self.world_size = group_size if world_size is None else int(world_size)
        self.input_name = input_name

    def __len__(self):
        return len(self.loader)

    def __iter__(self):

        for idx in self.loader.batch_indices():
            n = len(idx)
            if n < self.world_size:
                continue
            X, y = self.loader.get_batch(idx)  # the same draws in every process
            lo, hi = shard_bounds(n, self.rank, self.world_size)
            X = _slice_rows(X, lo, hi)
            if not isinstance(X, dict):
                X = {self.input_name: X}
            rows = torch.arange(lo, hi, dtype=torch.int64)
            X["shard"] = torch.stack([rows, torch.full_like(rows, n)], dim=1)
            batch = (X, y[lo:hi])
            yield _pinned(batch) if self.loader.pin_memory else batch


def _shard_rows(batch) -> tuple[int, int]:
    """(rows here, rows in the global batch) of a batch from :class:`ShardedBatchLoader`."""
    X = batch[0] if isinstance(batch, (tuple, list)) else batch
    shard = X["shard"] if isinstance(X, dict) and "shard" in X else None
    if shard is None:
        raise RuntimeError("ShardedGradientSync needs batches from ShardedBatchLoader.")
    return len(shard), int(shard[0, 1])


class ShardedGradientSync(Callback):
    """Average gradients and batch losses over the processes of a sharded batch.

    Runs first among the callbacks: it makes every process start from rank 0's
    parameters (``on_train_begin``), replaces each process's gradient by the
    row-weighted mean over processes (``on_grad_computed``, before gradient
    clipping and the optimizer step) and records the global batch's loss and
    size in the history (``on_batch_end``). Does nothing outside a process group
    of two or more processes (e.g. after loading the model in a plain process).
    """

    def _world(self) -> int:
        return process_group()[1]

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        if self._world() < 2:
            return
        with torch.no_grad():
            for p in net.module_.parameters():
                torch.distributed.broadcast(p.data, src=0)

    def on_grad_computed(self, net, named_parameters, X=None, y=None, training=None,
                         batch=None, **kwargs):
        if self._world() < 2 or batch is None:
            return
        here, total = _shard_rows(batch)
        params = [p for _, p in named_parameters]
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        flat = torch.cat([g.reshape(-1) for g in grads]) * (here / total)
        torch.distributed.all_reduce(flat)
        offset = 0
        for p, g in zip(params, grads):
            size = g.numel()
            new = flat[offset : offset + size].view_as(g)
            if p.grad is None:
                p.grad = new.clone()
            else:
                p.grad.copy_(new)
            offset += size

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        if not training or self._world() < 2 or loss is None:
            return
        here, total = _shard_rows(batch)
        value = loss.detach().reshape(1).to(torch.float64) * (here / total)
        torch.distributed.all_reduce(value)
        net.history.record_batch("train_loss", float(value.item()))
        net.history.record_batch("train_batch_size", total)


def use_process_group(net, *, what: str) -> None:
    """Make an initialised skorch ``net`` train sharded when in a process group.

    Called before every training run (a fresh fit or a warm start, also of a net
    built in a single process). In a group of two or more processes, a shardable
    module gets :class:`ShardedBatchLoader` and, first among the callbacks,
    :class:`ShardedGradientSync`; another module trains unsharded in every process,
    with a warning. In a single process nothing changes (a net that trained sharded
    keeps its loader and callback, which then act as one process).
    """
    _, world = process_group()
    if world < 2:
        return
    if not supports_sharding(net.module_):
        warnings.warn(f"{what} does not shard its training over processes: each of the "
                      f"{world} processes of the torch.distributed group trains the whole "
                      "model (identical results, no speed-up).", UserWarning, stacklevel=3)
        return
    if net.iterator_train is not ShardedBatchLoader:
        net.iterator_train = ShardedBatchLoader
        # through __dict__: skorch reads iterator_train__* from there (get_params_for)
        vars(net)["iterator_train__input_name"] = net.module_.shardable_input
    if not any(isinstance(cb, ShardedGradientSync) for _, cb in net.callbacks_):
        net.callbacks_.insert(0, ("sharded_gradient_sync", ShardedGradientSync().initialize()))


def rank_subfolder(path, rank: int):
    """``path`` for rank 0, ``path/rank<r>`` for the others (one checkpoint each)."""
    from pathlib import Path

    return path if rank == 0 or path is None else Path(path) / f"rank{rank}"
