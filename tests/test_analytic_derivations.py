"""The symbolic building blocks: weight decay -> l1, the channel moments, their asymptotics."""

import math

import mpmath
import pytest
import sympy as sp
from scipy.optimize import minimize_scalar

from analytic.asymptotics import correction_table, noise_tail, power_sum, zone_table
from analytic.equivalence import penalty_calibration, weight_decay_equivalence
from analytic.state_evolution import prox_residual, ridge_channel, soft_threshold_channel
from analytic.symbols import a, d, gamma, lam, n, tau, theta, zeta


def test_weight_decay_is_l1_and_balanced():
    eq = weight_decay_equivalence()
    assert sp.simplify(eq.penalty - sp.Abs(theta)) == 0
    assert eq.second_derivative.is_positive
    # independent check: minimise (a^2 + (theta/a)^2)/2 numerically
    for th in (0.01, 0.7, 3.0, 250.0):
        res = minimize_scalar(lambda x: (x**2 + (th / x) ** 2) / 2, bounds=(1e-6, 1e3), method="bounded",
                              options={"xatol": 1e-12})
        assert res.fun == pytest.approx(th, rel=1e-8)
        assert res.x == pytest.approx(float(eq.minimiser_a.subs(theta, th)), rel=1e-4)


def test_penalty_calibration_follows_from_the_rescaling():
    # theta = sqrt(d/n) x0: a degree-q penalty picks up (d/n)^(q/2)
    assert sp.simplify(penalty_calibration(sp.Abs(theta)) - lam * sp.sqrt(d / n)) == 0
    assert sp.simplify(penalty_calibration(theta**2 / 2) - lam * d / n) == 0


@pytest.mark.parametrize("ch", [soft_threshold_channel(), ridge_channel()], ids=["l1", "l2"])
def test_prox_is_stationary(ch):
    for r in prox_residual(ch):
        assert sp.simplify(r) == 0 or sp.simplify(r).is_nonpositive


def _eta_l1(y, z):
    return math.copysign(max(abs(y) - z, 0.0), y)


@pytest.mark.parametrize("vals", [(0.3, 1.0, 0.5), (2.0, 0.7, 1.1), (0.0, 1.3, 2.5), (5.0, 0.2, 0.1)])
def test_soft_threshold_moments_match_quadrature(vals):
    av, tv, zv = vals
    ch = soft_threshold_channel()
    sub = {a: av, tau: tv, zeta: zv}
    # split at the kinks of eta and at the bulk of the Gaussian so the quadrature sees every piece
    cuts = [-mpmath.inf] + sorted({(-zv - av) / tv, (zv - av) / tv, 0.0}) + [mpmath.inf]
    mse_q = mpmath.quad(lambda x: (_eta_l1(av + tv * x, zv) - av) ** 2 * mpmath.npdf(x), cuts)
    div_q = mpmath.quad(lambda x: (abs(av + tv * x) > zv) * mpmath.npdf(x), cuts)
    assert float(ch.mse.subs(sub)) == pytest.approx(float(mse_q), rel=1e-10)
    assert float(ch.div.subs(sub)) == pytest.approx(float(div_q), rel=1e-10)


def test_ridge_moments():
    ch = ridge_channel()
    # y/(1+zeta) - a = (tau Z - zeta a)/(1+zeta): mean-square (tau^2 + zeta^2 a^2)/(1+zeta)^2
    assert sp.simplify(ch.mse - (tau**2 + zeta**2 * a**2) / (1 + zeta) ** 2) == 0
    assert sp.simplify(ch.div - 1 / (1 + zeta)) == 0


def test_zone_table_of_soft_threshold():
    table = zone_table(soft_threshold_channel())
    # learned (a >> zeta >> tau): error = noise + shrinkage, dominated by zeta^2; killed: a^2
    assert table[(a, zeta, tau)][0].monomial == zeta**2
    assert table[(zeta, a, tau)][0].monomial == a**2
    assert table[(zeta, a, tau)][1].monomial is None  # exponentially rare crossings
    for order in [(tau, a, zeta), (tau, zeta, a), (a, tau, zeta)]:
        assert table[order][0].monomial == tau**2 and table[order][1].monomial == 1


def test_noise_tail_and_corrections():
    tail = noise_tail(soft_threshold_channel())
    # E(|Z| - c)_+^2 ~ 4 Q(c)/c^2 and P(|Z| > c) = 2 Q(c); Q(c) = exp(-c^2/2 (1 + o(1)))
    assert (tail.mse.coeff, tail.mse.power) == (4, 2)
    assert (tail.div.coeff, tail.div.power) == (2, 0)
    assert tail.rate == sp.Rational(1, 2)
    corr = correction_table(soft_threshold_channel())
    mse, div = corr[(tau, zeta, a)]
    # mse - tau^2 ~ -2 sqrt(2/pi) zeta tau, div - 1 ~ -sqrt(2/pi) zeta/tau for zeta << tau, a << tau
    assert mse.monomial == zeta * tau and float(mse.coeff) == pytest.approx(-2 * math.sqrt(2 / math.pi))
    assert div.monomial == zeta / tau and float(div.coeff) == pytest.approx(-math.sqrt(2 / math.pi))


def test_power_sums():
    j = sp.Symbol("j")
    # sum_{i <= d^j} i^{-2 gamma} = O(1) (lower end), sum of 1 up to d^j = d^j
    assert power_sum(-2 * gamma, (0, 0), (j, 0))[:2] == (0, 0)
    assert power_sum(sp.Integer(0), (0, 0), (j, 0))[:2] == (j, 0)
    e, lp, _ = power_sum(-2 * gamma, (j, 1), (1, 0))
    assert sp.simplify(e - j * (1 - 2 * gamma)) == 0 and sp.simplify(lp - (1 - 2 * gamma)) == 0
