"""Random crops of ragged records, the training data of the diffusion autoencoder.

:class:`CropDataset` draws new crops (and, optionally, corrupted copies and a second
view) on every access; :class:`LabelledCropDataset` adds each record's class and
patient as the target, and optionally class-balanced batches, for label-aware
fine-tuning.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from .supcon import balanced_batches

__all__ = ["CropDataset", "LabelledCropDataset"]


class CropDataset(Dataset):
    """Random crops of ``length`` samples from ragged records, new ones on every access.

    Parameters
    ----------
    records : list of float32 arrays of shape (n_samples_i,) or (n_leads, n_samples_i)
        Each at least ``length`` long; the leads of a record are cropped together.
    length : int
    seed : int
    corrupt : callable or None
        ``corrupt(crop, rng) -> noisy crop``. When given, an item is
        ``{"x0": crop, "x_enc": corrupt(crop)}`` (the encoder sees the noisy crop,
        the diffusion target stays clean); fresh noise on every access.
    second_view : bool, default=False
        Add ``"x_view"``: another random crop of the same record (corrupted too
        when ``corrupt`` is given), the positive of a contrastive term.
    """

    def __init__(self, records, length: int, seed: int = 0, corrupt=None,
                 second_view: bool = False):
        self.records = records
        self.length = int(length)
        self.rng = np.random.RandomState(seed)
        self.corrupt = corrupt
        self.second_view = second_view

    def __len__(self):
        return len(self.records)

    def _crop(self, i):
        x = self.records[i]
        start = self.rng.randint(x.shape[-1] - self.length + 1)
        return x[..., start : start + self.length]

    def _noisy(self, crops: np.ndarray) -> torch.Tensor:
        if self.corrupt is None:
            return torch.as_tensor(crops)
        return torch.as_tensor(np.stack([self.corrupt(c, self.rng) for c in crops])
                               .astype(np.float32))

    def _item(self, idx):
        crops = np.stack([self._crop(int(i)) for i in idx])
        if self.corrupt is None and not self.second_view:
            return torch.as_tensor(crops)
        item = {"x0": torch.as_tensor(crops)}
        if self.corrupt is not None:
            item["x_enc"] = self._noisy(crops)
        if self.second_view:
            item["x_view"] = self._noisy(np.stack([self._crop(int(i)) for i in idx]))
        return item

    def __getitem__(self, i):
        item = self._item([i])
        item = {k: v[0] for k, v in item.items()} if isinstance(item, dict) else item[0]
        return item, 0

    def batch(self, idx):
        """A whole batch of crops, shape (len(idx), [n_leads,] length) (or the dict above)."""
        return self._item(idx), torch.zeros(len(idx))


class LabelledCropDataset(CropDataset):
    """:class:`CropDataset` whose target is each record's class and patient.

    Parameters
    ----------
    records, length, seed, corrupt, second_view
        As :class:`CropDataset`.
    labels : int array of shape (n_records,)
        Class code of each record (0 .. n_classes - 1).
    groups : int array of shape (n_records,)
        Patient code of each record (each record its own when no groups are known).
    balanced : bool, default=False
        Draw each batch class-balanced (:func:`~sklearn_biodiff.nets.supcon.balanced_batches`)
        instead of the rows the loader asks for: the epoch keeps its number and size
        of batches, rare classes repeat.

    Notes
    -----
    A batch's target is an int64 tensor of shape (n, 2): ``[:, 0]`` the class,
    ``[:, 1]`` the patient.
    """

    def __init__(self, records, length: int, seed: int = 0, corrupt=None,
                 second_view: bool = False, *, labels, groups, balanced: bool = False):
        super().__init__(records, length, seed=seed, corrupt=corrupt,
                         second_view=second_view)
        self.targets = np.stack([np.asarray(labels), np.asarray(groups)], axis=1).astype(
            np.int64)
        if len(self.targets) != len(records):
            raise ValueError(f"{len(self.targets)} labels for {len(records)} records.")
        self.balanced = balanced

    def __getitem__(self, i):
        item, _ = super().__getitem__(i)
        return item, torch.as_tensor(self.targets[i])

    def batch(self, idx):
        """Crops of the rows ``idx`` (or of a class-balanced draw of as many rows) and
        their ``(class, patient)`` targets."""
        if self.balanced:
            idx = balanced_batches(self.targets[:, 0], len(idx), 1, self.rng)[0]
        return self._item(idx), torch.as_tensor(self.targets[np.asarray(idx)])
