"""The supervised contrastive term and class-balanced batches of label-aware fine-tuning."""

import math

import numpy as np
import pytest
import torch

from sklearn_biodiff.nets.supcon import balanced_batches, supervised_contrastive_loss

Z = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0], [-1.0, 0.0]])
Y = torch.tensor([0, 0, 1, 1])


def _by_hand(z, positives, candidates, t):
    """The SupCon formula written out with Python loops over explicit sets."""
    u = [np.asarray(r) / np.linalg.norm(r) for r in z.tolist()]
    s = lambda i, j: float(np.dot(u[i], u[j])) / t  # noqa: E731
    losses = []
    for i, pos in positives.items():
        if not pos:
            continue
        denom = sum(math.exp(s(i, a)) for a in candidates[i])
        losses.append(-sum(math.log(math.exp(s(i, p)) / denom) for p in pos) / len(pos))
    return sum(losses) / len(losses)


def test_supcon_matches_the_formula_on_a_hand_built_batch():
    t = 0.5
    positives = {0: [1], 1: [0], 2: [3], 3: [2]}
    candidates = {i: [j for j in range(4) if j != i] for i in range(4)}
    got = supervised_contrastive_loss(Z, Y, temperature=t).item()
    assert got == pytest.approx(_by_hand(Z, positives, candidates, t), rel=1e-6)
    # the same batch with the classes swapped between rows 1 and 2 is worse separated
    assert supervised_contrastive_loss(Z, torch.tensor([0, 1, 0, 1]), temperature=t) > got


def test_positives_come_from_other_patients_when_the_batch_has_one():
    z = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.2, 0.9], [0.5, 0.5]])
    y = torch.tensor([0, 0, 0, 1, 1])
    g = torch.tensor([7, 7, 8, 9, 9])  # rows 0 and 1: two crops of one patient
    t = 0.2
    # anchor 0 (patient 7): its class in another patient is row 2 only; row 1 (same
    # patient, same class) is neither positive nor in the denominator. Anchors 3 and
    # 4 share patient 9 and have no other-patient positive: they fall back to it.
    positives = {0: [2], 1: [2], 2: [0, 1], 3: [4], 4: [3]}
    candidates = {0: [2, 3, 4], 1: [2, 3, 4], 2: [0, 1, 3, 4], 3: [0, 1, 2, 4],
                  4: [0, 1, 2, 3]}
    got = supervised_contrastive_loss(z, y, g, temperature=t).item()
    assert got == pytest.approx(_by_hand(z, positives, candidates, t), rel=1e-6)
    # without groups the same-patient crop is a positive: another number
    assert supervised_contrastive_loss(z, y, temperature=t).item() != pytest.approx(got)


def test_the_gradient_pulls_a_class_together():
    z = torch.randn(16, 8, generator=torch.Generator().manual_seed(0), requires_grad=True)
    y = torch.arange(16) % 2
    opt = torch.optim.SGD([z], lr=0.5)
    first = supervised_contrastive_loss(z, y).item()
    for _ in range(50):
        opt.zero_grad()
        loss = supervised_contrastive_loss(z, y)
        loss.backward()
        assert torch.isfinite(z.grad).all()
        opt.step()
    assert loss.item() < first / 2


def test_a_batch_without_positives_gives_zero_and_a_gradient():
    z = torch.randn(3, 4, requires_grad=True)
    loss = supervised_contrastive_loss(z, torch.tensor([0, 1, 2]))
    loss.backward()
    assert loss.item() == 0.0 and z.grad is not None


def test_shapes_are_checked():
    with pytest.raises(ValueError, match="labels \\(n_rows,\\)"):
        supervised_contrastive_loss(torch.randn(4, 2), torch.tensor([0, 1]))


def test_balanced_batches_sample_classes_evenly_and_keep_their_shape():
    y = np.array([0] * 900 + [1] * 90 + [2] * 10)
    batches = balanced_batches(y, 30, 200, np.random.RandomState(0))
    assert len(batches) == 200 and all(b.shape == (30,) for b in batches)
    share = np.bincount(y[np.concatenate(batches)], minlength=3) / 6000
    np.testing.assert_allclose(share, 1 / 3, atol=0.02)
    again = balanced_batches(y, 30, 200, np.random.RandomState(0))
    assert all((a == b).all() for a, b in zip(batches, again))
