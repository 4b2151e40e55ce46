"""LASSO state evolution: float64 vs mpmath, binned vs exact, limits and properties."""

import json
import math

import mpmath
import numpy as np
import pytest

from numeric.gaussian import soft_threshold_terms_mp
from numeric.se_bayes import bayes_se
from numeric.se_lasso import RESIDUAL_TOL, SEResult, lasso_se, lasso_se_estimates
from numeric.teacher_sums import teacher_magnitudes_mp
from numeric.teachers import diagonal_teacher

# float64 vs mpmath. Spec: 1e-10 relative in R. Measured on a sweep at d = 100 (288 parameter sets,
# every regime): worst 2.8e-11, at the interpolation peak n = d with lam = 1e-8 (R ~ 1.6e4, an
# ill-conditioned fixed point); elsewhere below 1e-13.
MP_RTOL = 1e-10

# (n/d, lam, gamma, noise, teacher)
MP_CASES = [
    (0.5, 0.1, 1.0, 0.25, "signs"),  # under-sampled
    (3.0, 0.1, 1.0, 0.25, "signs"),  # over-sampled
    (0.5, 1e-8, 1.0, 0.25, "signs"),  # tiny lam: towards min-l1 interpolation
    (0.5, 0.0, 0.75, 0.25, "signs"),  # lam = 0, n < d: min-l1 interpolation
    (1.0, 1e-4, 1.0, 0.25, "signs"),  # interpolation peak
    (0.5, 1e4, 1.0, 0.25, "signs"),  # huge lam: c ~ 1e4, every component in a deep tail
    (20.0, 20.0, 1.5, 0.0, "signs"),  # noiseless, c ~ 38: the inactive tail below phi ~ 1e-300
    (0.5, 0.1, 1.0, 0.0, "signs"),  # noiseless, under-sampled
    (0.5, 0.1, 1.0, 0.25, "gaussian"),
]


@pytest.mark.parametrize("d", [100, 1000])
@pytest.mark.parametrize("ratio,lam,gamma,noise,teacher", MP_CASES)
def test_float64_matches_mpmath(d, ratio, lam, gamma, noise, teacher):
    digits = 50
    fast = lasso_se(d, ratio * d, lam, gamma, noise, teacher=teacher)
    slow = lasso_se(d, ratio * d, lam, gamma, noise, teacher=teacher, digits=digits)
    assert fast.converged and slow.converged, (fast.message, slow.message)
    assert slow.method == "mpmath-50" and slow.residual <= 10.0 ** (5 - digits)
    assert abs(fast.excess_risk / slow.excess_risk - 1) <= MP_RTOL
    assert abs(fast.tau2 / slow.tau2 - 1) <= MP_RTOL
    assert abs(fast.zeta / slow.zeta - 1) <= MP_RTOL


@pytest.mark.parametrize("digits", [30, 40])
def test_mpmath_precision_is_selectable(digits):
    # the Newton polish stops at max|F| <= 10^(5 - digits) for every precision
    result = lasso_se(100, 50, 0.1, 1.0, 0.25, digits=digits)
    assert result.converged and result.method == f"mpmath-{digits}"
    assert result.residual <= 10.0 ** (5 - digits)


def test_both_equations_hold_at_the_float64_point_when_checked_in_mpmath():
    # residuals recomputed independently of the solver: plain closed forms at 40 digits, exact sums
    d, n, lam, gamma, noise = 200, 150.0, 0.3, 1.2, 0.1
    r = lasso_se(d, n, lam, gamma, noise)
    with mpmath.workdps(40):
        tau, zeta = mpmath.sqrt(r.tau2), mpmath.mpf(r.zeta)
        terms = [soft_threshold_terms_mp(a, tau, zeta) for a in teacher_magnitudes_mp(d, n, gamma)]
        risk = mpmath.fsum(m for m, _ in terms) / n
        active = mpmath.fsum(p for _, p in terms) / n
        first = abs(noise + risk - r.tau2) / r.tau2
        second = abs(zeta * (1 - active) - lam * math.sqrt(d / n)) / zeta
    # brentq brackets log tau and log zeta to 1e-14: the equations hold to ~1e-13
    assert first <= 1e-12 and second <= 1e-12
    assert abs(r.excess_risk / risk - 1) <= 1e-12


@pytest.mark.parametrize("n,lam,gamma,noise", [(1e5, 0.3, 1.0, 0.25), (3e6, 0.01, 1.5, 0.0), (1e5, 1e-6, 0.75, 0.25)])
def test_binned_se_matches_exact_se_at_one_million(n, lam, gamma, noise):
    # spec target 1e-9; the binned sums are accurate to ~1e-14 and the fixed point inherits it
    # (measured: <= 2e-14 on these cases)
    binned = lasso_se(10**6, n, lam, gamma, noise, binning="binned")
    exact = lasso_se(10**6, n, lam, gamma, noise, binning="exact")
    assert binned.method == "float64-binned" and exact.method == "float64-exact"
    assert binned.converged and exact.converged
    assert abs(binned.excess_risk / exact.excess_risk - 1) <= 1e-11


@pytest.mark.parametrize("d", [10**8, 10**12])
def test_huge_d_converges_with_small_residual(d):
    r = lasso_se(d, d / 10, 0.3, 1.0, 0.25)
    assert r.converged and r.method == "float64-binned" and r.residual <= RESIDUAL_TOL
    assert 0 < r.excess_risk < 1


def test_ols_limit_lam_to_zero_over_sampled():
    # n > d, lam -> 0: zeta -> 0 and tau^2 -> Delta / (1 - d/n), R -> Delta (d/n) / (1 - d/n);
    # zeta = O(lam) moves R by O(lam): at lam = 1e-9, 1e-7 is ample
    d, n, noise = 500, 2000.0, 0.3
    ols = noise * (d / n) / (1 - d / n)
    assert lasso_se(d, n, 1e-9, 1.0, noise).excess_risk == pytest.approx(ols, rel=1e-7)
    exact = lasso_se(d, n, 0.0, 1.0, noise)
    assert exact.converged and exact.zeta == 0.0
    assert exact.excess_risk == pytest.approx(ols, rel=1e-15)
    assert exact.tau2 == pytest.approx(noise / (1 - d / n), rel=1e-15)


def test_min_l1_limit_lam_to_zero_under_sampled():
    # n < d: lam = 0 is the min-l1 interpolator, the limit of lam -> 0 (R changes by O(lam))
    limit = lasso_se(400, 200, 0.0, 1.0, 0.25)
    assert limit.converged and limit.zeta > 0
    assert limit.active_fraction == pytest.approx(1.0, abs=1e-13)  # (1/n) sum P_i = 1
    assert lasso_se(400, 200, 1e-9, 1.0, 0.25).excess_risk == pytest.approx(limit.excess_risk, rel=1e-6)


def test_huge_lam_gives_the_null_risk():
    # every component thresholded to zero: R = (1/n) sum x0_i^2 = 1
    r = lasso_se(1000, 300, 1e6, 1.0, 0.25)
    assert r.converged and r.excess_risk == pytest.approx(1.0, rel=1e-14)
    assert r.active_fraction < 1e-300


def test_no_data_gives_the_null_risk():
    r = lasso_se(100, 0, 0.1, 1.0, 0.25)
    assert r.converged and r.excess_risk == 1.0


def test_interpolation_peak_without_regularisation_is_reported_not_hidden():
    r = lasso_se(300, 300, 0.0, 1.0, 0.25)
    assert not r.converged
    assert not math.isfinite(r.excess_risk)
    assert "infinite" in r.message
    assert not lasso_se(300, 300, 0.0, 1.0, 0.25, digits=40).converged


def test_noiseless_square_system_without_regularisation_recovers_exactly():
    r = lasso_se(300, 300, 0.0, 1.0, 0.0)
    assert r.converged and r.excess_risk == 0.0


@pytest.mark.parametrize("n,lam,noise", [(150, 0.05, 0.25), (150, 0.5, 0.0), (600, 0.1, 0.25), (600, 1.0, 0.0), (300, 0.3, 1.0)])
def test_lasso_risk_is_at_least_the_bayes_risk_for_the_gaussian_teacher(n, lam, noise):
    lasso = lasso_se(300, n, lam, 1.0, noise, teacher="gaussian")
    bayes = bayes_se(300, n, 1.0, noise)
    assert lasso.converged and bayes.converged
    assert lasso.excess_risk >= bayes.excess_risk


@pytest.mark.parametrize("n,lam", [(100, 0.1), (400, 0.1), (200, 1e-6), (50, 0.0)])
def test_risk_does_not_decrease_with_noise_below_over_regularisation(n, lam):
    # lam <~ sqrt(n/d): the noise term dominates the response of R to Delta
    risks = [lasso_se(200, n, lam, 1.0, noise).excess_risk for noise in (0.0, 0.01, 0.1, 1.0)]
    assert all(a <= b for a, b in zip(risks, risks[1:]))


def test_noise_can_lower_the_risk_when_over_regularised():
    # Not monotone in general: a component below the threshold (a < zeta) has error a^2 without
    # noise, and (zeta - tau Z)^2 < a^2 whenever the noise lifts it over the threshold. At
    # lam = 3 >> sqrt(n/d) this wins over the noise term; confirmed by the mpmath solve.
    quiet, noisy = (lasso_se(200, 200, 3.0, 1.0, noise, digits=40) for noise in (0.0, 0.1))
    assert quiet.converged and noisy.converged
    assert noisy.excess_risk < quiet.excess_risk * (1 - 1e-4)


def test_estimates_follow_the_se_prediction():
    # theta_hat = sqrt(d/n) eta(x0 + tau Z; zeta) with the teacher drawn first from the same rng:
    # ||theta_hat - theta*||^2 / d estimates R, the number of non-zeros estimates n * active_fraction
    d, n, gamma = 20_000, 8000.0, 1.0
    r = lasso_se(d, n, 0.2, gamma, 0.25)
    theta_hat = lasso_se_estimates(d, n, gamma, r, np.random.default_rng(7))
    theta = diagonal_teacher(d, gamma, np.random.default_rng(7))
    err = (theta_hat - theta) ** 2
    # the error is a sum of d independent terms: 5 standard errors
    assert abs(err.mean() - r.excess_risk) <= 5 * err.std() / math.sqrt(d)
    nonzero = np.count_nonzero(theta_hat)
    assert abs(nonzero - n * r.active_fraction) <= 5 * math.sqrt(n * r.active_fraction)
    assert np.all(lasso_se_estimates(d, 0, gamma, lasso_se(d, 0, 0.2, gamma, 0.25), np.random.default_rng(0)) == 0)


def test_to_dict_is_json_ready():
    r = lasso_se(100, 50, 0.1, 1.0, 0.25)
    back = json.loads(json.dumps(r.to_dict()))
    assert SEResult(**back) == r
    assert {type(v) for v in r.to_dict().values()} <= {float, bool, int, str}


@pytest.mark.parametrize(
    "kwargs,match",
    [({"digits": 10}, "digits"), ({"binning": "fast"}, "binning"), ({"teacher": "uniform"}, "teacher")],
)
def test_invalid_options_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lasso_se(100, 50, 0.1, 1.0, 0.25, **kwargs)


def test_invalid_parameters_raise():
    with pytest.raises(ValueError, match="gamma"):
        lasso_se(100, 50, 0.1, 0.5, 0.25)
    with pytest.raises(ValueError, match="lam"):
        lasso_se(100, 50, -0.1, 1.0, 0.25)
