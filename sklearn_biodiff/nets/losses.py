"""skorch nets, one loss each: ELBO (VAE), triplet (DACL and its Gaussian
baseline), denoising reconstruction (DAE), noise prediction (DiffAE)."""

from __future__ import annotations

import numpy as np
import torch
from skorch import NeuralNet
from torch.utils.data import Dataset

from ..modules.vae import elbo_loss
from ._precision import PrecisionMixin
from .callbacks import WarmupCosine
from .crops import CropDataset
from .supcon import supervised_contrastive_loss

__all__ = ["CropDataset", "DenoisingNet", "NoisePredictionNet", "PairDataset", "TripletDataset",
           "TripletNet", "VAENet", "info_nce", "mined_triplet_loss", "supcon_loss",
           "triplet_loss"]


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
        """A whole batch at once (used by :class:`~sklearn_biodiff.nets.loaders.BatchLoader`)."""
        idx = np.asarray(idx)
        neg = self.negative_indices(idx)
        X = {"anchor": self.z0[idx], "negative": self.z0[neg]}
        return X, torch.as_tensor(self.codes[idx])


class _Pools:
    """Rows grouped by key (class or patient), for vectorised draws within a key."""

    def __init__(self, keys: np.ndarray):
        self.keys = np.asarray(keys)
        self.order = np.argsort(self.keys, kind="stable")
        n_keys = int(self.keys.max()) + 1 if len(self.keys) else 0
        self.counts = np.bincount(self.keys, minlength=n_keys)
        self.starts = np.r_[0, np.cumsum(self.counts)[:-1]]

    def members(self, key: int) -> np.ndarray:
        return self.order[self.starts[key]:self.starts[key] + self.counts[key]]

    def draw(self, rng, rows: np.ndarray) -> np.ndarray:
        """One random row sharing each row's key (possibly the row itself)."""
        k = self.keys[rows]
        pick = (rng.random_sample(len(rows)) * self.counts[k]).astype(np.int64)
        return self.order[self.starts[k] + np.minimum(pick, self.counts[k] - 1)]


def _draw_other(rng, pools: _Pools, rows: np.ndarray, avoid=None, rounds=30):
    """For each of ``rows``, a random row of its pool other than itself and, where
    ``avoid`` is given, with ``avoid[j] != avoid[row]``; -1 where none exists.

    Rejection sampling, vectorised over the rows; the few rows still without a
    partner after ``rounds`` are searched exhaustively.
    """
    rows = np.asarray(rows, dtype=np.int64)
    out = np.full(len(rows), -1, dtype=np.int64)
    todo = np.arange(len(rows))
    for _ in range(rounds):
        if not len(todo):
            break
        cand = pools.draw(rng, rows[todo])
        ok = cand != rows[todo]
        if avoid is not None:
            ok &= avoid[cand] != avoid[rows[todo]]
        out[todo[ok]] = cand[ok]
        todo = todo[~ok]
    for t in todo:  # rare: few valid candidates; search them exhaustively
        i = rows[t]
        pool = pools.members(pools.keys[i])
        ok = pool != i
        if avoid is not None:
            ok &= avoid[pool] != avoid[i]
        if ok.any():
            out[t] = pool[ok][rng.randint(int(ok.sum()))]
    return out


class PairDataset(TripletDataset):
    """Anchors with a partner (the positive's source) and a negative, patient-aware.

    Parameters
    ----------
    z0 : ndarray of shape (n, d)
    y : ndarray of shape (n,)
        Class labels; at least two classes.
    groups : ndarray of shape (n,) or None
        Patient of each row (None: one patient per row).
    positive : {"view", "other_patient", "patient"}
        Where the positive comes from: ``"view"``, a second noisy view of the
        anchor itself (the DACL paper); ``"other_patient"``, a row of the same
        class from another patient (another row of the class, else the anchor,
        when no other patient has the class); ``"patient"``, another row of the
        anchor's patient, whatever its class (the anchor when it is the patient's
        only row; CLOCS-style self-supervision).
    seed : int

    Notes
    -----
    ``batch(idx)`` returns ``({"anchor", "partner", "negative"}, y)`` with ``y`` of
    shape (B, 5): class and patient codes of the anchor and of the partner, and the
    class code of the negative. Negatives are drawn uniformly from the other classes
    (as in :class:`TripletDataset`), so a negative never shares the anchor's class.
    """

    def __init__(self, z0, y, groups=None, positive: str = "view", seed: int = 0):
        super().__init__(z0, y, seed=seed)
        n = len(self.codes)
        groups = np.arange(n) if groups is None else np.asarray(groups)
        if len(groups) != n:
            raise ValueError(f"groups has {len(groups)} entries for {n} rows.")
        if positive not in ("view", "other_patient", "patient"):
            raise ValueError(f"unknown positive={positive!r}")
        self.groups = groups
        _, self.group_codes = np.unique(groups, return_inverse=True)
        self.positive = positive
        self.seed = seed
        self.by_class = _Pools(self.codes)
        self.by_group = _Pools(self.group_codes)

    def subset(self, indices) -> PairDataset:
        """A dataset of these rows only (for grouped validation splits)."""
        idx = np.asarray(indices)
        return PairDataset(self.z0.numpy()[idx], self.y[idx], self.groups[idx],
                           positive=self.positive, seed=self.seed + 1)

    def partner_indices(self, idx: np.ndarray) -> np.ndarray:
        idx = np.asarray(idx)
        if self.positive == "view":
            return idx
        if self.positive == "patient":
            got = _draw_other(self.rng, self.by_group, idx)
        else:
            got = _draw_other(self.rng, self.by_class, idx, avoid=self.group_codes)
            # no other patient with the class: another row of the class, else itself
            missing = got < 0
            if missing.any():
                got[missing] = _draw_other(self.rng, self.by_class, idx[missing])
        return np.where(got < 0, idx, got)

    def batch(self, idx):
        idx = np.asarray(idx)
        partner = self.partner_indices(idx)
        neg = self.negative_indices(idx)
        X = {"anchor": self.z0[idx], "partner": self.z0[partner], "negative": self.z0[neg]}
        y = np.stack([self.codes[idx], self.group_codes[idx], self.codes[partner],
                      self.group_codes[partner], self.codes[neg]], axis=1)
        return X, torch.as_tensor(y)

    def __getitem__(self, i):
        X, y = self.batch(np.array([i]))
        return {k: v[0] for k, v in X.items()}, y[0]


def mined_triplet_loss(anchor, positive, negative, labels, margin: float = 1.0,
                       mining: str = "hard"):
    """Triplet loss with the negative mined among the batch's embeddings.

    Candidates are all embeddings of the batch (anchors, positives and drawn
    negatives) whose class differs from the anchor's. ``"hard"`` takes the closest
    one; ``"semihard"`` the closest one farther than the positive (FaceNet), or
    the hardest when there is none.

    Parameters
    ----------
    anchor, positive, negative : Tensor of shape (B, d)
    labels : Tensor of shape (B, 3)
        Class codes of the anchor, the positive and the negative.
    margin : float
    mining : {"hard", "semihard"}
    """
    cand = torch.cat([anchor, positive, negative])
    cand_labels = torch.cat([labels[:, 0], labels[:, 1], labels[:, 2]])
    d_pos = (anchor - positive).pow(2).sum(-1)
    d = torch.cdist(anchor, cand).pow(2)
    other = cand_labels[None, :] != labels[:, :1]
    inf = torch.finfo(d.dtype).max
    hard = torch.where(other, d, torch.full_like(d, inf)).min(dim=1).values
    if mining == "semihard":
        semi = other & (d > d_pos[:, None])
        d_semi = torch.where(semi, d, torch.full_like(d, inf)).min(dim=1).values
        hard = torch.where(semi.any(dim=1), d_semi, hard)
    return torch.relu(d_pos - hard + margin).mean()


def supcon_loss(features, positives, valid, temperature: float = 0.1):
    """Supervised contrastive loss (Khosla et al. 2020) with explicit masks.

    Parameters
    ----------
    features : Tensor of shape (N, d)
        Normalised inside (cosine similarity).
    positives : bool Tensor of shape (N, N)
        ``positives[i, j]``: j is a positive of anchor i.
    valid : bool Tensor of shape (N, N)
        The pairs that enter anchor i's denominator (positives included, the
        anchor itself excluded).
    temperature : float

    Returns
    -------
    Tensor
        Mean over anchors with at least one positive of
        ``-mean_p [s_ip / T - logsumexp_{a valid} s_ia / T]``.
    """
    f = torch.nn.functional.normalize(features, dim=1)
    logits = f @ f.T / temperature
    logits = logits.masked_fill(~valid, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    pos = positives & valid
    n_pos = pos.sum(dim=1)
    has = n_pos > 0
    if not has.any():
        return features.sum() * 0.0
    per_anchor = -(log_prob.masked_fill(~pos, 0.0).sum(dim=1)[has] / n_pos[has])
    return per_anchor.mean()


class TripletNet(NeuralNet):
    """The module returns ``(e_anchor, e_positive, e_negative)``; a contrastive loss.

    ``objective="triplet"`` with ``mining="random"`` is the DACL paper's triplet
    margin loss on the drawn negatives; ``"hard"``/``"semihard"`` mine the negative
    in the batch (:func:`mined_triplet_loss`). ``objective="supcon"``: supervised
    contrastive loss over the anchors' and positives' embeddings, patient-aware
    when ``patient_aware`` (an anchor's same-patient rows are ignored while it has
    a positive from another patient). ``objective="patient"``: the same loss with
    patients as the classes (CLOCS-style).
    """

    def __init__(self, *args, margin: float = 1.0, objective: str = "triplet",
                 mining: str = "random", temperature: float = 0.1,
                 patient_aware: bool = False, criterion=torch.nn.MSELoss, **kwargs):
        super().__init__(*args, criterion=criterion, **kwargs)
        self.margin = margin
        self.objective = objective
        self.mining = mining
        self.temperature = temperature
        self.patient_aware = patient_aware

    def get_loss(self, y_pred, y_true, X=None, training=False):
        ea, ep, en = y_pred
        if self.objective == "triplet":
            if self.mining == "random" or y_true is None or y_true.dim() < 2:
                return triplet_loss(ea, ep, en, margin=self.margin)
            y = y_true.to(ea.device)
            return mined_triplet_loss(ea, ep, en, y[:, [0, 2, 4]], margin=self.margin,
                                      mining=self.mining)
        y = y_true.to(ea.device)
        n = len(ea)
        feats = torch.cat([ea, ep])
        labels = torch.cat([y[:, 0], y[:, 2]])
        groups = torch.cat([y[:, 1], y[:, 3]])
        if self.objective == "patient":
            labels = groups
        eye = torch.eye(2 * n, dtype=torch.bool, device=ea.device)
        positives = (labels[:, None] == labels[None, :]) & ~eye
        valid = ~eye
        if self.patient_aware and self.objective == "supcon":
            same_patient = (groups[:, None] == groups[None, :]) & ~eye
            other_pos = positives & ~same_patient
            ignore = same_patient & other_pos.any(dim=1, keepdim=True)
            positives = positives & ~ignore
            valid = valid & ~ignore
        return supcon_loss(feats, positives, valid, temperature=self.temperature)


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


class NoisePredictionNet(PrecisionMixin, NeuralNet):
    """The module returns ``(eps_hat, eps)``; the loss is their mean squared error.

    When it also returns two views' projections ``(eps_hat, eps, p, q)``,
    ``contrastive_weight * info_nce(p, q, contrastive_temperature)`` is added.
    With ``supervised_weight > 0`` and targets ``(class, patient)`` per crop (a
    :class:`~sklearn_biodiff.nets.crops.LabelledCropDataset`), the module is asked
    for both views' embeddings too and the loss is ``diffusion_weight * mse +
    supervised_weight * supcon(z, z_view)``
    (:func:`~sklearn_biodiff.nets.supcon.supervised_contrastive_loss`, patient-aware),
    plus ``classifier_weight`` times the cross-entropy of the module's linear
    ``classifier`` head on both views' ``z`` when it has one,
    the second view first passed through ``view_maker(module, x_view)`` when given
    (:class:`~sklearn_biodiff.nets.supcon.DiffusionView`).
    ``precision`` (``"32"``, ``"bf16"``, ``"16-mixed"``): see ``nets/_precision.py``.
    ``device_noise`` (a :class:`~sklearn_biodiff.nets.randomness.DeviceNoise` or
    None): the encoder's input is corrupted on the training device before each
    forward pass (float32, outside autocast), from clean crops of the loader.
    """

    def __init__(self, *args, criterion=torch.nn.MSELoss, contrastive_weight: float = 0.0,
                 contrastive_temperature: float = 0.1, device_noise=None,
                 diffusion_weight: float = 1.0, supervised_weight: float = 0.0,
                 supervised_temperature: float = 0.1, view_maker=None,
                 classifier_weight: float = 0.0, **kwargs):
        super().__init__(*args, criterion=criterion, **kwargs)
        self.contrastive_weight = contrastive_weight
        self.contrastive_temperature = contrastive_temperature
        self.device_noise = device_noise
        self.diffusion_weight = diffusion_weight
        self.supervised_weight = supervised_weight
        self.supervised_temperature = supervised_temperature
        self.view_maker = view_maker
        self.classifier_weight = classifier_weight

    def restart_schedule(self, total_steps: int) -> None:
        """Give the next (warm-started) run its own warm-up + cosine learning-rate
        schedule over ``total_steps``, from skorch's batch count; without it the first
        run's schedule, already decayed to 0, would go on. No-op without a schedule."""
        schedule = dict(self.callbacks_).get("lr_schedule")
        if schedule is not None:
            done = sum(len(row["batches"]) for row in self.history)
            schedule.lr_lambda = WarmupCosine(total_steps, start=done)

    def averaged_weights(self) -> dict | None:
        """The ``EMA`` callback's averaged weights (a state dict), or None without an
        EMA or before its first step."""
        return getattr(dict(self.callbacks_).get("ema"), "shadow_", None)

    def _supervised(self) -> bool:
        return bool(getattr(self, "supervised_weight", 0.0))  # nets pickled before it

    def infer(self, x, **fit_params):
        noise = getattr(self, "device_noise", None)  # nets pickled before the option
        if noise is not None:
            x = noise(x, self.device)
        if self._supervised() and isinstance(x, dict) and "x_view" in x:
            maker = getattr(self, "view_maker", None)
            if maker is not None:
                x = {**x, "x_view": maker(self.module_, x["x_view"].to(self.device))}
            fit_params = {**fit_params, "embeddings": True}
            if getattr(self, "diffusion_weight", 1.0) == 0:  # the denoiser would idle
                fit_params["denoise"] = False
        return super().infer(x, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        eps_hat, eps, *views = y_pred
        if eps_hat is None:  # diffusion_weight=0: the denoiser was skipped
            loss = views[-1].sum() * 0.0
        else:
            loss = torch.nn.functional.mse_loss(eps_hat, eps)
            if getattr(self, "diffusion_weight", 1.0) != 1.0:
                loss = self.diffusion_weight * loss
        if not views:
            return loss
        p, q, *embeddings = views
        if p is not None and self.contrastive_weight:
            loss = loss + self.contrastive_weight * info_nce(
                p, q, temperature=self.contrastive_temperature)
        if embeddings:
            z, z_view = embeddings
            target = torch.as_tensor(y_true, device=z.device).long()
            labels, groups = target[:, 0].repeat(2), target[:, 1].repeat(2)
            loss = loss + self.supervised_weight * supervised_contrastive_loss(
                torch.cat([z, z_view]), labels, groups,
                temperature=self.supervised_temperature)
            head = getattr(self.module_, "classifier", None)
            if head is not None and getattr(self, "classifier_weight", 0.0):
                loss = loss + self.classifier_weight * torch.nn.functional.cross_entropy(
                    head(torch.cat([z, z_view]).float()), labels)
        return loss
