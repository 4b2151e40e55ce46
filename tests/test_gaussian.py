"""Stable float64 Gaussian formulas vs mpmath and vs direct numerical integration."""

import math

import mpmath
import numpy as np
import pytest
from scipy.integrate import quad

from numeric.gaussian import (
    active_probability,
    gaussian_teacher_active_probability,
    gaussian_teacher_mse,
    gaussian_teacher_terms_mp,
    guard_digits,
    soft_threshold_mse,
    soft_threshold_terms_mp,
    tail_moments,
)

# float64 target: ~1e-14 relative. Measured worst on a grid of step 1e-3: 9.0e-15 (J2 near w = 1.29,
# the closed form below the switch, which cancels by ~7x there); the continued fraction stays
# below 6.4e-16. 2e-14 leaves a factor 2.
MOMENT_RTOL = 2e-14
W_GRID = np.concatenate([np.linspace(-40.0, 5.0, 451), np.geomspace(5.0, 1e4, 200)])


def _moments_mp(w):
    """Plain closed forms J0, J1, J2 at 50 digits plus the cancellation guard."""
    with mpmath.workdps(50 + guard_digits(abs(w))):
        w = mpmath.mpf(w)
        q = mpmath.erfc(w / mpmath.sqrt(2)) / 2
        p = mpmath.npdf(w)
        return (q, p - w * q, (1 + w * w) * q - w * p), p


def test_tail_moments_match_mpmath_over_the_whole_range():
    unscaled = tail_moments(W_GRID)
    scaled = tail_moments(W_GRID, scaled=True)
    for i, w in enumerate(W_GRID):
        ref, density = _moments_mp(float(w))
        for k in range(3):
            if ref[k] > 1e-290:  # float64 J_k is representable (no underflow)
                assert abs(unscaled[k][i] / ref[k] - 1) <= MOMENT_RTOL, (w, k)
            if w > -37:  # r_k = J_k / phi(w) is representable
                assert abs(scaled[k][i] / (ref[k] / density) - 1) <= MOMENT_RTOL, (w, k)


def test_tail_moments_have_the_large_w_asymptotics():
    # J2(w) ~ 2 phi(w)/w^3 (1 - 6/w^2): independent of both implementations
    w = np.array([1e3, 1e4])
    r0, r1, r2 = tail_moments(w, scaled=True)
    np.testing.assert_allclose(r2 * w**3 / 2, 1 - 6 / w**2, rtol=1e-10)  # next term is O(w^-4)
    np.testing.assert_allclose(r0 * w, 1 - 1 / w**2, rtol=1e-10)


def _eta(y, zeta):
    return math.copysign(max(abs(y) - zeta, 0.0), y)


def _direct(a, tau, zeta, f):
    """E f(a + tau Z) by quad, split at the kinks y = +-zeta."""
    density = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cuts = sorted({(-zeta - a) / tau, (zeta - a) / tau})
    edges = [-math.inf, *cuts, math.inf]
    return sum(
        quad(lambda z: f(a + tau * z) * density(z), lo, hi, epsabs=0, epsrel=1e-13, limit=200)[0]
        for lo, hi in zip(edges[:-1], edges[1:])
    )


MODERATE = [(0.0, 1.0, 0.5), (1.0, 1.0, 0.5), (2.0, 0.5, 1.0), (0.3, 2.0, 3.0), (5.0, 1.0, 4.0), (1.0, 0.3, 0.0), (3.0, 0.7, 3.1)]


@pytest.mark.parametrize("a,tau,zeta", MODERATE)
def test_soft_threshold_mse_and_probability_match_quadrature(a, tau, zeta):
    # quad at epsrel 1e-13 on smooth pieces: 1e-12 covers its error
    mse = _direct(a, tau, zeta, lambda y: (_eta(y, zeta) - a) ** 2)
    prob = _direct(a, tau, zeta, lambda y: float(abs(y) > zeta))
    assert soft_threshold_mse(np.array([a]), tau, zeta)[0] == pytest.approx(mse, rel=1e-12)
    assert active_probability(np.array([-a]), tau, zeta)[0] == pytest.approx(prob, rel=1e-12)


@pytest.mark.parametrize("sigma,tau,zeta", [(1.0, 1.0, 0.5), (0.2, 1.0, 2.0), (3.0, 0.5, 1.0), (1.0, 0.3, 0.0)])
def test_gaussian_teacher_formulas_match_quadrature_over_the_teacher(sigma, tau, zeta):
    # average the (separately checked) fixed-magnitude formulas over a ~ N(0, sigma^2)
    def over_teacher(f):
        g = lambda a: f(np.array([a]), tau, zeta)[0] * math.exp(-a * a / (2 * sigma**2))  # noqa: E731
        return 2 * quad(g, 0, math.inf, epsabs=0, epsrel=1e-13, limit=200)[0] / (sigma * math.sqrt(2 * math.pi))

    assert gaussian_teacher_mse(np.array([sigma]), tau, zeta)[0] == pytest.approx(over_teacher(soft_threshold_mse), rel=1e-11)
    assert gaussian_teacher_active_probability(np.array([sigma]), tau, zeta)[0] == pytest.approx(
        over_teacher(active_probability), rel=1e-11
    )


def test_float64_and_mpmath_formulas_agree_elementwise_including_deep_tails():
    # Two independent implementations (stable rewriting vs plain closed forms at high precision),
    # fed the same float64 inputs. Float64 values below 1e-290 may underflow and are skipped.
    # Tolerance 1e-13 + 2e-15 c^2: the float64 arguments u = c - b, w = zeta/s carry ~1 ulp of c,
    # which Q amplifies by its condition number ~c^2 in the tails. Measured worst: 1.8e-15 at
    # c <= 3.5 and 1.1e-16 c^2 beyond.
    tau = 0.7
    for c in [0.0, 0.3, 1.0, 2.0, 3.5, 10.0, 20.0, 37.0, 300.0]:
        zeta = c * tau
        bs = np.array([0.0, 1e-3, 0.5, 1.0, c / 2, c - 1, c, c + 0.5, 2 * c + 3, 100.0, 1e4])
        a = bs[bs >= 0] * tau
        got = [soft_threshold_mse(a, tau, zeta), active_probability(a, tau, zeta),
               gaussian_teacher_mse(a, tau, zeta), gaussian_teacher_active_probability(a, tau, zeta)]
        with mpmath.workdps(40 + guard_digits(c, 1e-6)):
            t, z = mpmath.mpf(tau), mpmath.mpf(zeta)
            for i, ai in enumerate(a):
                want = soft_threshold_terms_mp(mpmath.mpf(ai), t, z) + gaussian_teacher_terms_mp(mpmath.mpf(ai), t, z)
                for k in range(4):
                    if want[k] > 1e-290:
                        assert abs(got[k][i] / want[k] - 1) <= 1e-13 + 2e-15 * c * c, (c, ai, k)


GUARD_CASES = [  # (|a| or sigma, tau, zeta): moderate, deep tails at several b, and a tiny w = zeta/s
    (1.0, 1.0, 0.5), (0.0, 1.0, 30.0), (15.0, 1.0, 30.0), (30.0, 1.0, 30.0), (60.0, 1.0, 30.0),
    (0.0, 1.0, 1e3), (1e3, 1.0, 1e3), (0.0, 1.0, 1e4), (2e4, 1.0, 1e4), (1e4, 1.0, 1.0),
]


@pytest.mark.parametrize("digits", [30, 50])
@pytest.mark.parametrize("a,tau,zeta", GUARD_CASES)
def test_guard_digits_absorb_the_cancellation_of_the_closed_forms(digits, a, tau, zeta):
    # the closed forms at digits + guard agree to 10^-digits with the same forms at 3x the precision
    guard = guard_digits(zeta / tau, zeta / math.hypot(a, tau))
    out = []
    for dps in (digits + guard, 3 * digits + guard):
        with mpmath.workdps(dps):
            args = (mpmath.mpf(a), mpmath.mpf(tau), mpmath.mpf(zeta))
            out.append(soft_threshold_terms_mp(*args) + gaussian_teacher_terms_mp(*args))
    with mpmath.workdps(3 * digits):
        for low, high in zip(*out):
            assert abs(low - high) <= mpmath.mpf(10) ** (-digits) * abs(high)
