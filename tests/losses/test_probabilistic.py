"""KL divergence and Poisson: the definitions and PyTorch's conventions."""

import numpy as np
import pytest

from gradstep import losses


def test_kl_divergence_of_a_distribution_with_itself_is_zero():
    p = np.array([[0.2, 0.3, 0.5]])
    assert losses.KLDivergence()(p, p) == pytest.approx(0.0, abs=1e-15)
    np.testing.assert_allclose(losses.KLDivergence().gradient(p, p), -p / p)


def test_kl_divergence_is_pytorch_kldivloss_of_log_probabilities_batchmean():
    """PyTorch's KLDivLoss(input=log q, target=p, reduction='batchmean') is
    sum(p (log p - log q)) / n; its reduction='mean' would also divide by k."""
    rng = np.random.default_rng(0)
    p, q = rng.dirichlet(np.ones(4), size=3), rng.dirichlet(np.ones(4), size=3)
    batchmean = np.sum(p * (np.log(p) - np.log(q))) / len(p)
    assert losses.KLDivergence()(p, q) == pytest.approx(batchmean)


def test_kl_divergence_clips_zeros():
    loss = losses.KLDivergence()
    assert np.isfinite(loss([[1.0, 0.0]], [[0.0, 1.0]]))
    assert loss([[1.0, 0.0]], [[0.0, 1.0]]) == pytest.approx(-np.log(1e-7))


def test_poisson_loss_is_the_negative_log_likelihood_up_to_a_constant():
    rate, count = 2.5, 3.0
    nll = rate - count * np.log(rate)  # - log(rate^count e^-rate / count!) + log(count!)
    assert losses.Poisson()([[count]], [[rate]]) == pytest.approx(nll, rel=1e-6)
    slope = losses.Poisson().gradient([[count]], [[rate]])
    np.testing.assert_allclose(slope, [[1 - count / (rate + 1e-7)]], rtol=1e-12)


def test_poisson_rate_zero_is_finite():
    loss = losses.Poisson()
    assert np.isfinite(loss([[2.0]], [[0.0]]))
    assert np.isfinite(loss.gradient([[2.0]], [[0.0]])).all()
