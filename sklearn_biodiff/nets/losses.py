"""skorch nets, one loss each: ELBO (VAE), triplet (DACL and its Gaussian
baseline), denoising reconstruction (DAE), noise prediction (DiffAE)."""

from __future__ import annotations

import numpy as np
import torch
from skorch import NeuralNet
from torch.utils.data import Dataset

from ..modules.vae import elbo_loss

__all__ = ["CropDataset", "DenoisingNet", "NoisePredictionNet", "TripletDataset", "TripletNet",
           "VAENet", "triplet_loss"]


class VAENet(NeuralNet):
    """The module returns ``(x_hat, mu, logvar)``; the loss is the negative ELBO."""

    def __init__(self, *args, beta: float = 1.0, criterion=torch.nn.MSELoss, **kwargs):
        super().__init__(*args, criterion=criterion, **kwargs)
        self.beta = beta

    def get_loss(self, y_pred, y_true, X=None, training=False):
        x_hat, mu, logvar = y_pred
        x = X.to(x_hat.device) if torch.is_tensor(X) else torch.as_tensor(X, device=x_hat.device)
        return elbo_loss(x_hat, mu, logvar, x, beta=self.beta)


def triplet_loss(anchor, positive, negative, margin: float = 1.0):
    """Mean of ``max(0, ||a - p||² - ||a - n||² + margin)`` (DACL paper, eq. 2)."""
    d_pos = (anchor - positive).pow(2).sum(-1)
    d_neg = (anchor - negative).pow(2).sum(-1)
    return torch.relu(d_pos - d_neg + margin).mean()


class TripletDataset(Dataset):
    """Each item: an anchor ``z0`` and a negative ``z0`` drawn from another class.

    The positive is made in the module from the anchor itself (a second noisy
    view). Negatives are redrawn on every access from a seeded generator.

    Parameters
    ----------
    z0 : ndarray of shape (n, d)
    y : ndarray of shape (n,)
        Class codes; at least two classes.
    seed : int
    """

    def __init__(self, z0: np.ndarray, y: np.ndarray, seed: int = 0):
        self.z0 = torch.as_tensor(np.asarray(z0, dtype=np.float32))
        self.y = np.asarray(y)
        classes, codes = np.unique(self.y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError("triplets need at least two classes in y.")
        self.codes = codes
        self.others = [np.flatnonzero(codes != c) for c in range(len(classes))]
        self.rng = np.random.RandomState(seed)

    def __len__(self):
        return len(self.z0)

    def negative_index(self, i: int) -> int:
        pool = self.others[self.codes[i]]
        return int(pool[self.rng.randint(len(pool))])

    def __getitem__(self, i):
        j = self.negative_index(i)
        return {"anchor": self.z0[i], "negative": self.z0[j]}, int(self.codes[i])

    def negative_indices(self, idx: np.ndarray) -> np.ndarray:
        """One negative per anchor index, vectorised (uniform over other classes)."""
        idx = np.asarray(idx)
        out = np.empty(len(idx), dtype=np.int64)
        codes = self.codes[idx]
        for c in np.unique(codes):
            sel = codes == c
            pool = self.others[c]
            out[sel] = pool[self.rng.randint(len(pool), size=int(sel.sum()))]
        return out

    def batch(self, idx):
        """A whole batch at once (used by :class:`~sklearn_biodiff.nets._training.BatchLoader`)."""
        idx = np.asarray(idx)
        neg = self.negative_indices(idx)
        X = {"anchor": self.z0[idx], "negative": self.z0[neg]}
        return X, torch.as_tensor(self.codes[idx])


class TripletNet(NeuralNet):
    """The module returns ``(e_anchor, e_positive, e_negative)``; triplet margin loss."""

    def __init__(self, *args, margin: float = 1.0, criterion=torch.nn.MSELoss, **kwargs):
        super().__init__(*args, criterion=criterion, **kwargs)
        self.margin = margin

    def get_loss(self, y_pred, y_true, X=None, training=False):
        return triplet_loss(*y_pred, margin=self.margin)


class DenoisingNet(NeuralNet):
    """The module returns ``(z0_hat, z0)``; mean squared reconstruction error."""

    def __init__(self, *args, criterion=torch.nn.MSELoss, **kwargs):
        super().__init__(*args, criterion=criterion, **kwargs)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        z0_hat, z0 = y_pred
        return ((z0_hat - z0) ** 2).mean()


def info_nce(p: torch.Tensor, q: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """Symmetric InfoNCE (NT-Xent) of two views: row i of ``p`` and of ``q`` match.

    Cosine similarities over the batch divided by ``temperature``; cross-entropy
    of each row against its partner in the other view (the other rows are the
    negatives), averaged over both directions.

    Parameters
    ----------
    p, q : Tensor of shape (batch, dim)
    temperature : float, default=0.1

    Returns
    -------
    Tensor
        Scalar loss.
    """
    p = torch.nn.functional.normalize(p, dim=1)
    q = torch.nn.functional.normalize(q, dim=1)
    logits = p @ q.T / temperature
    target = torch.arange(len(p), device=p.device)
    return 0.5 * (torch.nn.functional.cross_entropy(logits, target)
                  + torch.nn.functional.cross_entropy(logits.T, target))


class NoisePredictionNet(NeuralNet):
    """The module returns ``(eps_hat, eps)``; the loss is their mean squared error.

    When it also returns two views' projections ``(eps_hat, eps, p, q)``,
    ``contrastive_weight * info_nce(p, q, contrastive_temperature)`` is added.
    """

    def __init__(self, *args, criterion=torch.nn.MSELoss, contrastive_weight: float = 0.0,
                 contrastive_temperature: float = 0.1, **kwargs):
        super().__init__(*args, criterion=criterion, **kwargs)
        self.contrastive_weight = contrastive_weight
        self.contrastive_temperature = contrastive_temperature

    def get_loss(self, y_pred, y_true, X=None, training=False):
        eps_hat, eps, *views = y_pred
        loss = torch.nn.functional.mse_loss(eps_hat, eps)
        if views:
            loss = loss + self.contrastive_weight * info_nce(
                *views, temperature=self.contrastive_temperature)
        return loss


class CropDataset(Dataset):
    """Random crops of ``length`` samples from ragged records, new ones on every access.

    Parameters
    ----------
    records : list of 1-D float32 arrays
        Each at least ``length`` long.
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
        start = self.rng.randint(len(x) - self.length + 1)
        return x[start : start + self.length]

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
        """A whole batch of crops, shape (len(idx), length) (or the dict above)."""
        return self._item(idx), torch.zeros(len(idx))
