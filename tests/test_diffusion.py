import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_biodiff.diffusion import (
    DiffusionSchedule,
    check_timestep_range,
    make_beta_schedule,
    q_sample,
    sample_timesteps,
)


def test_linear_schedule_endpoints_and_abar():
    b = make_beta_schedule("linear", 50)
    assert b[0] == pytest.approx(1e-4) and b[-1] == pytest.approx(0.02)
    s = DiffusionSchedule("linear", 50)
    np.testing.assert_allclose(s.alphas_cumprod, np.cumprod(1 - b))
    assert 0.55 < s.alphas_cumprod[-1] < 0.65


def test_cosine_schedule_decreases_to_noise():
    s = DiffusionSchedule("cosine", 1000)
    assert np.all(np.diff(s.alphas_cumprod) < 0)
    assert s.alphas_cumprod[-1] < 1e-3 and s.alphas_cumprod[0] > 0.99
    assert np.all(s.betas <= 0.999)


def test_bad_schedule_arguments():
    with pytest.raises(ValueError, match="schedule must be"):
        make_beta_schedule("quadratic", 10)
    with pytest.raises(ValueError, match="n_timesteps"):
        make_beta_schedule("linear", 0)
    with pytest.raises(ValueError, match="beta_start"):
        make_beta_schedule("linear", 10, beta_start=0.5, beta_end=0.1)


def test_q_sample_matches_closed_form():
    s = DiffusionSchedule("linear", 50)
    z0 = torch.randn(7, 5)
    eps = torch.randn(7, 5)
    t = torch.tensor([0, 1, 2, 10, 25, 49, 50])
    out = q_sample(z0, t, eps, s)
    abar = np.concatenate([[1.0], s.alphas_cumprod])[t.numpy()]
    expected = np.sqrt(abar)[:, None] * z0.numpy() + np.sqrt(1 - abar)[:, None] * eps.numpy()
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(out[0].numpy(), z0[0].numpy())  # t = 0 is clean


def test_q_sample_variance_statistics():
    s = DiffusionSchedule("cosine", 100)
    z0 = torch.zeros(20000, 1)
    t = torch.full((20000,), 60)
    out = q_sample(z0, t, torch.randn_like(z0), s)
    assert out.var().item() == pytest.approx(1 - s.alphas_cumprod[59], rel=0.05)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 50), st.integers(0, 49))
def test_sample_timesteps_stays_in_range(t_min, width):
    t_max = min(50, t_min + width)
    t = sample_timesteps(500, t_min, t_max)
    assert t.min() >= t_min and t.max() <= t_max
    if t_max - t_min < 5:
        assert set(t.tolist()) == set(range(t_min, t_max + 1))


def test_timestep_range_errors():
    with pytest.raises(ValueError, match="must not exceed"):
        check_timestep_range(30, 10, 50)
    with pytest.raises(ValueError, match=r"\[1, n_timesteps=50\]"):
        check_timestep_range(0, 10, 50)
    with pytest.raises(ValueError, match="inference_t"):
        check_timestep_range(1, 10, 50, inference_t=51)
