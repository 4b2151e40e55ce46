"""Quadratic network, numeric side: teacher and the Bayes-optimal SE through the free convolution."""

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from numeric.se_matrix import quadratic_se
from numeric.se_quadratic_bayes import bayes_se_quadratic, denoising_mmse
from numeric.teachers import quadratic_teacher, quadratic_teacher_spectrum


def _semicircle_quantiles(d, v):
    """Eigenvalues of a 'GOE teacher' of variance v: the d mid-quantiles of its semicircle law."""
    cdf = lambda x: 0.5 + (x * np.sqrt(4 - x * x) / 4 + np.arcsin(x / 2)) / np.pi  # noqa: E731
    return np.sqrt(v) * np.array([brentq(lambda x: cdf(x) - (k + 0.5) / d, -2, 2) for k in range(d)])


@pytest.mark.parametrize("rank", [None, 7])
def test_teacher_normalisation_and_haar_basis(rank):
    s = quadratic_teacher_spectrum(40, 1.3, rank)
    assert np.sum(s**2) == pytest.approx(40, rel=1e-12) and np.count_nonzero(s) == (rank or 40)
    S = quadratic_teacher(40, 1.3, np.random.default_rng(0), rank)
    assert np.allclose(S, S.T) and np.allclose(np.sort(np.linalg.eigvalsh(S)), np.sort(s), atol=1e-10)


def test_mmse_known_cases():
    # nothing to estimate; a multiple of the identity is known exactly
    assert denoising_mmse(np.zeros(9), 0.7) == pytest.approx(0, abs=1e-12)
    assert denoising_mmse(np.full(9, 2.5), 0.7) == pytest.approx(0, abs=1e-12)
    # a GOE teacher of variance v gives the Wiener value sigma^2 v / (v + sigma^2); the d quantiles
    # stand for the semicircle up to O(1/d^2): measured 1e-5 relative at d = 400, so 5e-4 at d = 120
    q = _semicircle_quantiles(120, 0.5)
    for sigma2 in (0.1, 1.0, 4.0):
        assert denoising_mmse(q, sigma2) == pytest.approx(sigma2 * 0.5 / (0.5 + sigma2), rel=5e-4)


def test_bayes_fixed_point_and_limits():
    r = bayes_se_quadratic(40, 2000, 1.5, 0.5)
    assert r.converged and 0 < r.excess_risk < 1
    alpha = 2000 / 40**2
    assert r.tau2 == pytest.approx((0.5 + 2 * r.excess_risk) / (4 * alpha), rel=1e-10)
    # more samples never hurt; n = 0 is the zero estimator; noiseless and over-sampled is exact
    risks = [bayes_se_quadratic(30, n, 1.2, 0.3).excess_risk for n in (100, 400, 1600, 6400)]
    assert all(b <= a for a, b in zip(risks, risks[1:]))
    assert bayes_se_quadratic(30, 0, 1.2, 0.3).excess_risk == 1.0
    assert bayes_se_quadratic(30, 30**2 * 3, 1.2, 0.0).excess_risk == 0.0


def test_bayes_matches_wiener_fixed_point_for_a_goe_like_teacher(monkeypatch):
    """With the semicircle-quantile teacher of variance 1 the fixed point solves
    4 alpha v = Delta + 2 v/(1 + v) in closed form."""
    import numeric.se_quadratic_bayes as mod

    d, n, noise = 120, 120**2 // 2, 0.4
    monkeypatch.setattr(mod, "quadratic_teacher_spectrum", lambda *_: _semicircle_quantiles(d, 1.0))
    r = mod.bayes_se_quadratic(d, n, 1.0, noise)
    a = n / d**2
    # 4 a v (1 + v) = noise (1 + v) + 2 v  ->  4 a v^2 + (4 a - noise - 2) v - noise = 0
    v = (-(4 * a - noise - 2) + math.sqrt((4 * a - noise - 2) ** 2 + 16 * a * noise)) / (8 * a)
    assert r.tau2 == pytest.approx(v, rel=5e-4) and r.excess_risk == pytest.approx(v / (1 + v), rel=5e-4)


def test_flat_finite_rank_teacher_bayes_below_every_lambda():
    """gamma = 0 with a rank (a flat teacher) is accepted by the Bayes SE, and its R_BO lies below the trace-norm SE at
    every weight decay (d = 40, rank 10, n = 400, Delta = 0.5: 0.385 vs a minimum of 0.466 over lam)."""
    bayes = bayes_se_quadratic(40, 400, 0.0, 0.5, rank=10)
    assert bayes.converged
    risks = [quadratic_se(40, 400, lam, 0.0, 0.5, rank=10).excess_risk for lam in (1.0, 3.0, 5.0, 8.0, 12.0)]
    assert bayes.excess_risk < min(risks)
    with pytest.raises(ValueError, match="finite --rank"):
        bayes_se_quadratic(40, 400, 0.0, 0.5)


def test_tiny_label_noise_is_resolved_not_taken_for_noiseless():
    """Over-sampled (alpha = 2) with Delta -> 0+: sigma^2 ~ Delta/(4 alpha - 2 mmse'(0)) > 0, so R_BO is linear in
    Delta down to 1e-13, converged, and not the noiseless answer 0 (a fixed relative floor used to swallow it)."""
    risks = [bayes_se_quadratic(30, 1800, 1.5, noise) for noise in (1e-13, 1e-11, 1e-9)]
    assert all(r.converged and r.excess_risk > 0 for r in risks)
    assert risks[1].excess_risk / risks[0].excess_risk == pytest.approx(100, rel=1e-6)
    assert risks[2].excess_risk / risks[1].excess_risk == pytest.approx(100, rel=1e-6)
