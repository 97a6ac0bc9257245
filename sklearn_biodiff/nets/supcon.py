"""Supervised contrastive loss over a batch, patient-aware, and class-balanced batches.

The label-aware term of fine-tuning (Khosla et al., "Supervised Contrastive
Learning", NeurIPS 2020, their ``L_out``): every row of the batch is an anchor; its
positives are the other rows of its class, and the loss pulls them together on the
unit sphere against every other row of the batch.

With patient ``groups``, positives come from *other* patients whenever the batch
holds one of the anchor's class (the DACL idea of ``positive="other_patient"``): a
pair of crops of one record, or two records of one patient, is then not what makes
a class. The anchor's own patient's other rows are left out of its denominator too,
so they are neither pulled nor pushed.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["balanced_batches", "supervised_contrastive_loss"]


def supervised_contrastive_loss(z: torch.Tensor, labels: torch.Tensor,
                                groups: torch.Tensor | None = None, *,
                                temperature: float = 0.1) -> torch.Tensor:
    """SupCon loss of a batch of embeddings (all views of the batch stacked).

    Parameters
    ----------
    z : Tensor of shape (n_rows, dim)
        Embeddings; compared by cosine similarity (each row is L2-normalised).
        Two views of ``B`` records are ``n_rows = 2 B`` rows with their labels
        (and groups) repeated.
    labels : Tensor of shape (n_rows,)
        Integer class of each row.
    groups : Tensor of shape (n_rows,) or None
        Integer patient of each row (the views of one record share it). ``None``:
        no patients: every other row of the anchor's class is a positive, its own
        other views included.
    temperature : float, default=0.1

    Returns
    -------
    Tensor of shape ()
        ``mean_i  -1/|P(i)| sum_{p in P(i)} log softmax_{a in A(i)}(s_ia / T)[p]``
        over the anchors ``i`` that have a positive; 0 (still differentiable) when
        none has. ``A(i)``: every row but ``i`` (and, with ``groups``, but the
        other rows of ``i``'s group that are not positives).

    Examples
    --------
    >>> import torch
    >>> from sklearn_biodiff.nets.supcon import supervised_contrastive_loss
    >>> z = torch.tensor([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 1.0]])
    >>> y = torch.tensor([0, 0, 1, 1])
    >>> good = supervised_contrastive_loss(z, y)
    >>> bad = supervised_contrastive_loss(z, torch.tensor([0, 1, 0, 1]))
    >>> bool(good < bad)
    True
    """
    if z.ndim != 2 or labels.shape != (len(z),):
        raise ValueError(f"z must be (n_rows, dim) and labels (n_rows,), got {tuple(z.shape)} "
                         f"and {tuple(labels.shape)}.")
    n = len(z)
    u = torch.nn.functional.normalize(z.float(), dim=1)
    logits = u @ u.T / temperature
    eye = torch.eye(n, dtype=torch.bool, device=z.device)
    same_class = (labels[:, None] == labels[None, :]) & ~eye
    if groups is None:
        positive = same_class
        candidates = ~eye
    else:
        same_group = (groups[:, None] == groups[None, :]) & ~eye
        other_patient = same_class & ~same_group
        has_other = other_patient.any(dim=1, keepdim=True)
        # positives from other patients where the batch has one, else the class
        positive = torch.where(has_other, other_patient, same_class)
        candidates = ~eye & ~(same_group & ~positive)
    logits = logits.masked_fill(~candidates, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    n_pos = positive.sum(dim=1)
    anchors = n_pos > 0
    if not anchors.any():
        return z.sum() * 0.0
    pos_log_prob = torch.where(positive, log_prob, torch.zeros_like(log_prob)).sum(dim=1)
    return -(pos_log_prob[anchors] / n_pos[anchors]).mean()


def balanced_batches(labels: np.ndarray, batch_size: int, n_batches: int,
                     rng: np.random.RandomState) -> list[np.ndarray]:
    """Index batches in which every class is about equally frequent.

    Each row of a batch draws a class uniformly, then a record of that class
    uniformly (with replacement across the epoch, so rare classes repeat): the
    class-balanced sampling of fine-tuning on skewed data (CinC 2017: AF 9 %,
    noisy 3 %).

    Parameters
    ----------
    labels : array of shape (n_records,)
    batch_size : int
    n_batches : int
    rng : numpy.random.RandomState

    Returns
    -------
    list of int arrays of shape (batch_size,)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_biodiff.nets.supcon import balanced_batches
    >>> y = np.array([0] * 90 + [1] * 10)
    >>> idx = np.concatenate(balanced_batches(y, 50, 40, np.random.RandomState(0)))
    >>> round(float((y[idx] == 1).mean()), 1)
    0.5
    """
    labels = np.asarray(labels)
    classes, inverse = np.unique(labels, return_inverse=True)
    members = [np.flatnonzero(inverse == k) for k in range(len(classes))]
    out = []
    for _ in range(n_batches):
        picks = rng.randint(len(classes), size=batch_size)
        out.append(np.array([members[k][rng.randint(len(members[k]))] for k in picks],
                            dtype=np.int64))
    return out


class DiffusionView:
    """A diffusion augmentation of a crop, made on the training device with the model.

    The crop is noised to a timestep drawn uniformly from ``[t_min, t_max]``
    (``q_sample``: what DACL calls a diffusion view, on the raw signal) and, with
    ``denoise_steps > 0``, brought back towards a clean signal by the model's own
    decoder conditioned on the crop's embedding ``z`` (DDIM, ``denoise_steps``
    steps from ``t`` to 0): a generated record of the same content. No gradient
    flows through the view.

    Parameters
    ----------
    t_min, t_max : int
        Timestep range, ``1 <= t_min <= t_max <= n_timesteps``.
    denoise_steps : int, default=0

    Examples
    --------
    >>> import torch
    >>> from sklearn_biodiff.modules.diffae import DiffAEModule
    >>> from sklearn_biodiff.nets.supcon import DiffusionView
    >>> module = DiffAEModule(embedding_dim=8, encoder_width=8, encoder_layers=1,
    ...                       unet_channels=(8, 16), n_timesteps=50)
    >>> DiffusionView(5, 20, denoise_steps=2)(module, torch.randn(3, 1, 640)).shape
    torch.Size([3, 1, 640])
    """

    def __init__(self, t_min: int, t_max: int, denoise_steps: int = 0):
        self.t_min, self.t_max, self.denoise_steps = int(t_min), int(t_max), int(denoise_steps)

    def __call__(self, module, x: torch.Tensor) -> torch.Tensor:
        from ..diffusion import q_sample

        if not 1 <= self.t_min <= self.t_max <= module.n_timesteps:
            raise ValueError(f"view timesteps ({self.t_min}, {self.t_max}) must lie in "
                             f"[1, n_timesteps={module.n_timesteps}], the first <= the second.")
        with torch.no_grad():
            t = torch.randint(self.t_min, self.t_max + 1, (x.shape[0],), device=x.device)
            xt = q_sample(x, t, torch.randn_like(x), module.schedule)
            if not self.denoise_steps:
                return xt
            z, _ = module.encoder(x)
            return _ddim_from(module, xt, t, z, self.denoise_steps)


def _ddim_from(module, xt: torch.Tensor, t: torch.Tensor, z: torch.Tensor,
               n_steps: int) -> torch.Tensor:
    """Deterministic DDIM steps from per-row timesteps ``t`` down to 0."""
    abar = module.schedule.abar
    x = xt
    # each row walks its own grid t -> 0 in n_steps; done as fractions of its t
    for k in range(n_steps):
        t_now = torch.clamp((t.float() * (1 - k / n_steps)).round().long(), min=1)
        t_next = (t.float() * (1 - (k + 1) / n_steps)).round().long()
        eps = module.denoiser(x, t_now, z)
        a_now = _abar_rows(abar, t_now, x)
        a_next = _abar_rows(abar, t_next, x)
        x0 = (x - (1 - a_now).sqrt() * eps) / a_now.sqrt()
        x = a_next.sqrt() * x0 + (1 - a_next).sqrt() * eps
    return x


def _abar_rows(abar, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``abar(t)`` per row (``abar(0) = 1``), shaped to broadcast over ``like``."""
    return abar(t, like=like).to(like.dtype).reshape(-1, *([1] * (like.ndim - 1)))
