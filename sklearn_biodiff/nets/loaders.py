"""Batches for training and inference: whole-batch loaders, grouped validation
splits, batched prediction."""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["BatchLoader", "GroupValidSplit", "predict_batches"]


class GroupValidSplit:
    """skorch ``train_split`` holding out whole patients (groups) for validation.

    The dataset must have ``groups`` (one id per row) and ``subset(indices)``
    returning a dataset of those rows only (so that pairs and negatives of the
    training part never come from validation patients).

    Parameters
    ----------
    fraction : float
        Approximate fraction of the groups held out.
    seed : int
    """

    def __init__(self, fraction: float, seed: int):
        self.fraction = fraction
        self.seed = seed

    def __call__(self, dataset, y=None, **fit_params):
        from sklearn.model_selection import GroupShuffleSplit

        groups = np.asarray(dataset.groups)
        if len(np.unique(groups)) < 2:
            raise ValueError("a grouped validation split needs at least two groups "
                             "(patients); pass more patients or validation_fraction=None.")
        splitter = GroupShuffleSplit(n_splits=1, test_size=self.fraction,
                                     random_state=self.seed)
        train, valid = next(splitter.split(np.zeros(len(groups)), groups=groups))
        return dataset.subset(train), dataset.subset(valid)


def predict_batches(fn, X: np.ndarray, *, batch_size: int, device) -> np.ndarray:
    """Apply ``fn`` (tensor -> tensor) to ``X`` in batches without gradients.

    Returns a float32 numpy array.
    """
    out = []
    with torch.no_grad():
        for start in range(0, len(X), batch_size):
            xb = torch.as_tensor(X[start : start + batch_size], dtype=torch.float32,
                                 device=device)
            out.append(fn(xb).detach().cpu().numpy().astype(np.float32, copy=False))
    return np.concatenate(out) if out else np.empty((0, 0), np.float32)


class BatchLoader:
    """A DataLoader replacement that indexes whole batches at once.

    skorch's default ``DataLoader`` fetches and collates item by item, which
    dominates the cost of small vector models. This loader slices the
    underlying arrays with one index array per batch. It accepts skorch's
    ``Dataset`` (uses its ``X``/``y``), a :class:`torch.utils.data.Subset` of one
    (validation splits), or any dataset with a ``batch(indices)`` method.
    """

    def __init__(self, dataset, batch_size=128, shuffle=False, generator=None,
                 pin_memory=False, **_):
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        # page-locked batches copy to a CUDA device asynchronously; without CUDA no-op
        self.pin_memory = bool(pin_memory) and torch.cuda.is_available()
        self.generator = getattr(generator, "torch", generator)  # SeededGenerator
        base, idx = dataset, None
        if isinstance(dataset, torch.utils.data.Subset):
            base, idx = dataset.dataset, np.asarray(dataset.indices)
        self._base = base
        self._indices = idx if idx is not None else np.arange(len(base))

    def __len__(self):
        return -(-len(self._indices) // self.batch_size)

    def get_batch(self, idx):
        """``(X, y)`` of the rows ``idx`` of the dataset (one draw of its randomness)."""
        base = self._base
        if hasattr(base, "batch"):
            return base.batch(idx)
        X = base.X[idx] if not isinstance(base.X, dict) else {k: v[idx] for k, v in base.X.items()}
        y = None if base.y is None else base.y[idx]
        return X, (torch.zeros(len(idx)) if y is None else y)

    def batch_indices(self):
        """The dataset rows of each batch of one pass, in order (shuffled if asked)."""
        n = len(self._indices)
        order = (torch.randperm(n, generator=self.generator).numpy() if self.shuffle
                 else np.arange(n))
        for start in range(0, n, self.batch_size):
            yield self._indices[order[start : start + self.batch_size]]

    def __iter__(self):
        for idx in self.batch_indices():
            batch = self.get_batch(idx)
            yield _pinned(batch) if self.pin_memory else batch


def _pinned(value):
    if isinstance(value, torch.Tensor):
        return value.pin_memory()
    if isinstance(value, dict):
        return {k: _pinned(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return type(value)(_pinned(v) for v in value)
    return value
