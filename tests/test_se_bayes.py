"""Bayes-optimal state evolution: references, precisions, binning and properties."""

import math

import numpy as np
import pytest

from numeric.se_bayes import RESIDUAL_TOL, bayes_se
from numeric.teachers import teacher_scale


def _brute_force(d, n, gamma, noise):
    """Plain fixed-point iteration tau^2 <- Delta + (1/n) sum_i u_i tau^2/(u_i + tau^2).

    The map is increasing with slope (1/n) sum u_i^2/(u_i + tau^2)^2 < 1 - Delta/tau^2 at the
    fixed point, so the iteration converges monotonically; stop when tau^2 no longer changes.
    """
    u = n * teacher_scale(d, gamma) ** 2 * np.arange(1, d + 1, dtype=float) ** (-2 * gamma)
    t2 = noise + 1.0
    for _ in range(1_000_000):
        new = noise + np.sum(u * t2 / (u + t2)) / n
        if new == t2:
            break
        t2 = new
    return np.sum(u * t2 / (u + t2)) / n


@pytest.mark.parametrize("n,gamma,noise", [(300, 1.0, 0.25), (2000, 1.0, 0.25), (300, 2.0, 0.0), (1000, 0.7, 1.0)])
def test_matches_brute_force_iteration(n, gamma, noise):
    # the iteration lands on the float64 fixed point up to rounding (~1e-15 per sum): 1e-12
    r = bayes_se(1000, n, gamma, noise)
    assert r.converged and r.residual <= RESIDUAL_TOL
    assert r.excess_risk == pytest.approx(_brute_force(1000, n, gamma, noise), rel=1e-12)


@pytest.mark.parametrize("digits", [30, 50, 80])
@pytest.mark.parametrize("n,noise", [(300, 0.25), (3000, 0.25), (300, 0.0)])
def test_float64_matches_mpmath(digits, n, noise):
    # no cancellation anywhere: float64 is accurate to ~1e-14 (measured 4e-16 .. 1e-15)
    fast = bayes_se(1000, n, 1.0, noise)
    slow = bayes_se(1000, n, 1.0, noise, digits=digits)
    assert slow.converged and slow.method == f"mpmath-{digits}"
    assert slow.residual <= 10.0 ** (5 - digits)
    assert fast.excess_risk == pytest.approx(slow.excess_risk, rel=1e-13)


def test_binned_matches_exact_at_one_million():
    # binned sums accurate to ~1e-14 (teacher_sums error study); spec target 1e-9
    binned = bayes_se(10**6, 3e4, 1.0, 0.25, binning="binned")
    exact = bayes_se(10**6, 3e4, 1.0, 0.25, binning="exact")
    assert binned.method == "float64-binned" and exact.method == "float64-exact"
    assert binned.excess_risk == pytest.approx(exact.excess_risk, rel=1e-12)


@pytest.mark.parametrize("n", [1000, 2000])
def test_noiseless_with_enough_data_recovers_exactly(n):
    r = bayes_se(1000, n, 1.0, 0.0)
    assert r.converged and r.excess_risk == 0.0 and r.tau2 == 0.0


def test_noiseless_just_below_enough_data_is_small_but_positive():
    r = bayes_se(1000, 990, 1.0, 0.0)
    assert r.converged and 0 < r.excess_risk < 0.01


def test_no_data_gives_the_null_risk():
    r = bayes_se(100, 0, 1.0, 0.25)
    assert r.converged and r.excess_risk == 1.0


def test_risk_increases_with_noise_and_decreases_with_data():
    # Bayes-optimal: more noise cannot help (it can be simulated), more data cannot hurt
    by_noise = [bayes_se(1000, 500, 1.0, noise).excess_risk for noise in (0.0, 0.01, 0.1, 1.0)]
    by_data = [bayes_se(10**12, n, 1.0, 0.25).excess_risk for n in (1e3, 1e6, 1e9, 1e12)]
    assert all(a < b for a, b in zip(by_noise, by_noise[1:]))
    assert all(a > b for a, b in zip(by_data, by_data[1:]))


def test_invalid_digits_raise():
    with pytest.raises(ValueError, match="digits"):
        bayes_se(100, 50, 1.0, 0.25, digits=20)
    assert math.isnan(bayes_se(100, 50, 1.0, 0.25).zeta)


@pytest.mark.parametrize("d,n,noise,expected", [
    (1, 1.0, 5e-324, math.sqrt(5e-324)),  # u = 1: F = 0 gives t^4 = Delta (1 + t^2) ~ Delta
    (1, 1.0, 1e-300, 1e-150),
    (1, 2.0, 5e-324, 5e-324),  # was a ZeroDivisionError (t^2 underflowed in Delta/t^2)
])
def test_tiny_noise_at_and_above_n_equal_d(d, n, noise, expected):
    # regression (found by tests/test_fuzz.py): 1 - (1/n) sum u_i/(u_i + t^2) cancelled to rounding
    # noise for t^2 << u_i, so at n = d with Delta = 5e-324 the solver returned R = 2.2e-19 (true
    # 2.2e-162) as converged, and at n = 2d it raised ZeroDivisionError
    r = bayes_se(d, n, 1.0, noise)
    assert r.converged and r.excess_risk == pytest.approx(expected, rel=1e-6)


def test_tiny_noise_at_n_equal_d_binned_matches_exact():
    a, b = bayes_se(3000, 3000.0, 0.7, 1e-20), bayes_se(3000, 3000.0, 0.7, 1e-20, binning="exact")
    assert a.converged and b.converged and a.excess_risk == pytest.approx(b.excess_risk, rel=1e-12)
