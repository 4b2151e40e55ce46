"""Pruning / debiasing of the diagonal network: closed forms, limits, the debiased observation, SE vs simulation."""

import math

import mpmath
import numpy as np
import pytest
from scipy.stats import kstest

from crosscheck.models import allowance
from crosscheck.postprocess import classify, ratio_law, run_postprocess
from numeric.convex import solve_lasso
from numeric.gaussian import thresholded_mse
from numeric.postprocess import (
    POSTPROCESSORS,
    effective_observation,
    postprocess_estimates,
    postprocess_se,
    refit,
)
from numeric.simulate import sample_problem

# Monte-Carlo checks accept |closed form - MC mean| <= MC_SIGMAS standard errors of the MC mean: with ~30
# comparisons a 5-sigma excursion has probability ~1e-5, and the seed is fixed anyway.
MC_SIGMAS = 5.0
MC_SAMPLES = 400_000
# The binned teacher sums carry <= 1.1e-14 relative error (numeric.teacher_sums) and the two SE solves share the
# residual tolerance 1e-11; the post-processed sums inherit both: 1e-9 leaves a wide margin.
BINNED_RTOL = 1e-9
# Agreement of a measured seed mean with the SE (as crosscheck.postprocess): 3 s.e. + the O(1/sqrt d) allowance.
SIGMAS = 3.0

CASES = [  # (a, tau, threshold, shrink): far below / at / far above threshold, soft, hard, prune, tiny threshold
    (0.0, 1.0, 1.5, 1.5), (1.2, 0.8, 1.0, 1.0), (6.0, 1.0, 2.0, 2.0),
    (0.0, 1.0, 1.5, 0.0), (1.7, 1.0, 1.5, 0.0), (8.0, 1.3, 1.5, 0.0),
    (0.5, 1.0, 3.0, 1.0), (3.1, 1.0, 3.0, 1.0), (9.0, 1.0, 3.0, 1.0),
    (2.0, 0.5, 0.05, 0.0),
]


@pytest.mark.parametrize("a, tau, threshold, shrink", CASES)
def test_closed_form_matches_monte_carlo_of_the_scalar_channel(a, tau, threshold, shrink):
    rng = np.random.default_rng(12345)
    y = a + tau * rng.standard_normal(MC_SAMPLES)
    g = np.where(np.abs(y) > threshold, y - shrink * np.sign(y), 0.0)
    err = (g - a) ** 2
    mc, sem = err.mean(), err.std(ddof=1) / math.sqrt(MC_SAMPLES)
    closed = float(thresholded_mse(a, tau, threshold, shrink))
    assert abs(closed - mc) <= MC_SIGMAS * sem, (closed, mc, sem)
    assert float(thresholded_mse(-a, tau, threshold, shrink)) == closed  # signs do not matter


def _mp_reference(a, tau, threshold, shrink):
    """The same expectation by mpmath quadrature over the three pieces of g (50 digits). Each tail integral
    int_w^inf (tau z - s)^2 phi(z) dz is written phi(w) int_0^inf (tau (w + x) - s)^2 e^{-w x - x^2/2} dx and
    split at multiples of the decay length 1/max(w, 1)."""
    with mpmath.workdps(50):
        a, tau, t, s = (mpmath.mpf(v) for v in (a, tau, threshold, shrink))

        def tail(w):
            scale = 1 / max(w, 1)
            cuts = [0] + [scale * 10**k for k in range(-2, 4)] + [mpmath.inf]
            body = mpmath.quad(lambda x: (tau * (w + x) - s) ** 2 * mpmath.exp(-w * x - x * x / 2), cuts)
            return mpmath.npdf(w) * body

        lo, hi = (t - a) / tau, (t + a) / tau  # Y > t  <=>  Z > lo;   Y < -t  <=>  -Z > hi (then z -> -z)
        return float(tail(lo) + tail(hi) + a * a * (mpmath.ncdf(lo) - mpmath.ncdf(-hi)))


@pytest.mark.parametrize("a, threshold, shrink", [(0.0, 30.0, 0.0), (0.0, 30.0, 10.0), (25.0, 20.0, 20.0),
                                                  (60.0, 20.0, 0.0), (5.0, 45.0, 5.0)])
def test_deep_tails_are_accurate(a, threshold, shrink):
    """Thresholds 20-45 tau: terms ~phi(30) ~ 1e-196, where textbook float64 forms cancel; mpmath has no underflow."""
    ref = _mp_reference(a, 1.0, threshold, shrink)
    got = float(thresholded_mse(a, 1.0, threshold, shrink))
    assert got == pytest.approx(ref, rel=1e-11, abs=1e-300)


def test_limits_of_the_scalar_channel():
    a = np.array([0.0, 0.3, 2.0, 40.0])
    # threshold 0, no shrink: g(Y) = Y, error tau Z: E = tau^2
    assert np.allclose(thresholded_mse(a, 0.7, 0.0, 0.0), 0.49, rtol=1e-13)
    # threshold -> infinity: g = 0, error -a
    assert np.allclose(thresholded_mse(a, 0.7, 1e4, 0.0), a * a, rtol=1e-13)
    # signal far above threshold: g(Y) = Y - shrink, error tau Z - shrink: tau^2 + shrink^2
    assert float(thresholded_mse(1e3, 0.7, 2.0, 1.5)) == pytest.approx(0.49 + 2.25, rel=1e-13)


D, N, LAM, GAMMA, NOISE = 1000, 500, 1.0, 1.5, 0.5


def test_se_limits_and_lasso_entry():
    pred = postprocess_se(D, N, LAM, GAMMA, NOISE)
    assert pred.converged
    # the LASSO entry is the SE's own risk, summed again here with (threshold, shrink) = (zeta, zeta)
    assert pred.lasso == pytest.approx(pred.se.excess_risk, rel=1e-12)
    zero = postprocess_se(D, N, LAM, GAMMA, NOISE, factor=0.0, se=pred.se)
    # t = 0: hard threshold of Y at 0 is Y itself, risk (d/n) tau^2; pruning below the LASSO threshold is no-op
    assert zero.rethreshold == pytest.approx(D * pred.se.tau2 / N, rel=1e-12)
    assert zero.rethreshold == pytest.approx(zero.observation, rel=1e-12)
    assert zero.prune == pytest.approx(pred.lasso, rel=1e-12)
    assert zero.prune_debias == pytest.approx(pred.debias, rel=1e-12)
    huge = postprocess_se(D, N, LAM, GAMMA, NOISE, factor=1e3, se=pred.se)
    # everything pruned: R = ||theta*||^2 / d = 1
    for name in ("prune", "prune_debias", "rethreshold"):
        assert getattr(huge, name) == pytest.approx(1.0, rel=1e-12)


def test_binned_sums_match_exact_sums():
    d, n, lam = 100_000, 30_000, 0.2
    exact = postprocess_se(d, n, lam, GAMMA, NOISE, binning="exact")
    binned = postprocess_se(d, n, lam, GAMMA, NOISE, binning="binned")
    for name in POSTPROCESSORS:
        assert getattr(binned, name) == pytest.approx(getattr(exact, name), rel=BINNED_RTOL), name


def test_no_fixed_point_is_reported():
    pred = postprocess_se(100, 0, 1.0, GAMMA, NOISE)  # n = 0: no tau, no zeta
    assert not pred.converged and math.isnan(pred.debias) and "no LASSO fixed point" in pred.message


@pytest.fixture(scope="module")
def observations():
    """8 LASSO solves at d = 1000: (theta*, fit, observation) per seed."""
    out = []
    for k in range(8):
        rng = np.random.default_rng(np.random.SeedSequence([7, k]))
        theta_star, X, y = sample_problem(D, N, GAMMA, NOISE, rng)
        fit = solve_lasso(X, y, LAM)
        assert fit.converged
        support = fit.theta != 0
        out.append((theta_star, X, y, fit.theta, support, effective_observation(X, y, fit.theta, support)))
    return out


def test_debiased_observation_has_the_se_statistics(observations):
    pred = postprocess_se(D, N, LAM, GAMMA, NOISE)
    scale = math.sqrt(pred.se.tau2 * D / N)  # SE std of theta_u - theta* in theta units
    resid = [(obs.theta_u - th) / scale for th, *_, obs in observations]
    var = np.array([np.var(e) for e in resid])
    slack = 1.0 / math.sqrt(D)  # the O(1/sqrt d) finite-size allowance of crosscheck.models, relative
    assert abs(var.mean() - 1.0) <= SIGMAS * var.std(ddof=1) / math.sqrt(var.size) + slack, var
    means = np.array([np.mean(e) for e in resid])
    assert abs(means.mean()) <= SIGMAS / math.sqrt(D * len(resid))  # mean 0: N(0, 1/(d seeds)) for the average
    est = np.array([obs.noise_std / scale for *_, obs in observations])
    assert abs(est.mean() - 1.0) <= SIGMAS * est.std(ddof=1) / math.sqrt(est.size) + slack, est
    assert kstest(np.concatenate(resid), "norm").pvalue > 1e-3  # Gaussian


def test_debiasing_undoes_the_soft_threshold_on_the_support(observations):
    """KKT: X^T r / sqrt(d) = lam sign(theta_hat) on the support, so theta_u - theta_hat = lam d sign / (n - df)."""
    for *_, theta, support, obs in observations:
        shift = LAM * D / (N - obs.df)
        assert np.allclose((obs.theta_u - theta)[support], shift * np.sign(theta[support]), rtol=1e-6, atol=0)


def test_estimates_follow_their_definitions(observations):
    _, X, y, theta, support, obs = observations[0]
    est = postprocess_estimates(obs, theta, support, 0.0)  # t = 0: no pruning
    assert np.array_equal(est["prune"], theta) and np.array_equal(est["rethreshold"], obs.theta_u)
    assert np.array_equal(est["debias"], est["prune_debias"])
    # least squares on the support solves the normal equations there
    theta_ls = refit(X, y, support)
    A = X / math.sqrt(D)
    grad = A[:, support].T @ (y - A @ theta_ls)
    assert np.max(np.abs(grad)) <= 1e-9 * np.linalg.norm(A[:, support].T @ y) and not theta_ls[~support].any()


def test_interpolating_support_is_refused():
    rng = np.random.default_rng(0)
    theta_star, X, y = sample_problem(50, 20, GAMMA, NOISE, rng)
    fit = solve_lasso(X, y, 1e-3)
    with pytest.raises(ValueError, match="df = 20 >= n = 20"):
        effective_observation(X, y, fit.theta, fit.theta != 0)


@pytest.mark.parametrize("n, lam", [(100, 0.3), (400, 1.0), (400, 0.05)])
def test_se_predicts_every_postprocessor_at_d200(n, lam):
    res = run_postprocess(200, n, lam, GAMMA, NOISE, simulate=True, seeds=8, methods=("lasso",))
    m = res["measured"]["lasso"]
    assert m["converged"], m["message"]
    for name in POSTPROCESSORS:
        r = m["risks"][name]
        assert abs(r["mean"] - r["se"]) <= SIGMAS * r["sem"] + allowance("diagonal", r["se"], 200), (name, r)


def test_trained_network_matches_the_se_at_d200():
    res = run_postprocess(200, 400, 0.3, GAMMA, NOISE, simulate=True, seeds=4, methods=("network",))
    m = res["measured"]["network"]
    assert m["converged"], m["message"]
    assert max(m["observation"]["support_mismatch"]["values"]) == 0  # NETWORK_ZERO recovers the LASSO support
    for name in POSTPROCESSORS:
        assert m["risks"][name]["agree"], (name, m["risks"][name])


def test_verdicts_on_known_laws():
    ds = 10.0 ** np.arange(4, 21)
    assert ratio_law(ds, ds**-0.5)["verdict"] == "improves the rate"
    law = ratio_law(ds, np.log(ds) ** 2)
    assert law["verdict"] == "worse by a log factor" and law["log_power"] == pytest.approx(2.0, abs=1e-9)
    assert ratio_law(ds, np.full(ds.size, 0.4))["verdict"] == "improves the constant only"
    assert ratio_law(ds, np.ones(ds.size))["verdict"] == "no gain"
    assert classify(-0.5, -0.6, 0.9) == "improves the rate" and classify(-0.5, -0.52, 1.5) == "worse constant"


def test_invalid_input_is_refused():
    with pytest.raises(ValueError, match="gamma"):
        run_postprocess(100, 50, 1.0, 0.4, NOISE)
    with pytest.raises(ValueError, match="seeds"):
        run_postprocess(100, 50, 1.0, GAMMA, NOISE, simulate=True, seeds=0)
    with pytest.raises(ValueError, match="n must be an integer"):
        run_postprocess(100, 50.5, 1.0, GAMMA, NOISE, simulate=True)
    with pytest.raises(ValueError, match="factor"):
        postprocess_se(100, 50, 1.0, GAMMA, NOISE, factor=-1.0)


def test_noiseless_least_squares_is_exact_for_every_postprocessor():
    pred = postprocess_se(100, 400, 0.0, GAMMA, 0.0)  # n > d, lam = 0, Delta = 0: theta_hat = theta*
    assert pred.converged and all(v == 0.0 for v in pred.risks().values())


@pytest.mark.parametrize("gamma", [1.0, 1.5, 2.5])
def test_debias_gains_the_factor_one_over_two_gamma_in_the_sparse_regime(gamma):
    """Sparse regime (zeta >> tau): survivors x0_i > zeta cost zeta^2 each (shrinkage) and the rest sum to
    sum_{i>K} x0_i^2 ~ zeta^2 K / (2 gamma - 1) (x0_K = zeta); debiasing replaces zeta^2 by tau^2 << zeta^2, so
    R_debias / R_lasso -> (1/(2 gamma - 1)) / (1 + 1/(2 gamma - 1)) = 1/(2 gamma). Corrections are powers of
    tau/zeta and 1/K: measured < 0.2% at d = 1e10 on this ray (ell = 1.5, kappa = 0.625); 1% tolerance."""
    d = 10**10
    pred = postprocess_se(d, d**1.5, d**0.625, gamma, NOISE)
    assert pred.debias / pred.lasso == pytest.approx(1.0 / (2.0 * gamma), rel=0.01)
