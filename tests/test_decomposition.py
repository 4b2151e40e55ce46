"""Decomposition of the SE risk into missed_signal + fitted_noise + learned_noise + shrinkage_bias (numeric/decomposition.py):
the sum identity, per-component moments against quadrature, limits with known answers, binned vs exact sums, and the
quadratic split against a Monte-Carlo GOE route."""

import json
import math

import mpmath
import numpy as np
import pytest

from numeric.decomposition import (
    RiskDecomposition,
    decompose_diagonal,
    decompose_quadratic,
    soft_threshold_bias_variance,
)
from numeric.free_probability import free_convolution_semicircle
from numeric.gaussian import soft_threshold_mse
from numeric.se_lasso import lasso_se
from numeric.se_matrix import quadratic_se
from numeric.teacher_sums import teacher_grid
from numeric.teachers import quadratic_teacher_spectrum, sum_of_powers, teacher_scale

# The brief's target for the sum identity: the four terms are the SE's own sums split in four.
SUM_RTOL = 1e-10
# Per-component moments vs mpmath quadrature at 40 digits: float64 closed forms (gaussian.py: ~1e-14 relative) plus
# the shrinkage quadrature; 1e-12 leaves a margin of ~100 over what they should reach.
MOMENT_RTOL = 1e-12


# ---------------------------------------------------------------------------------------------- diagonal: one channel


def _moments_mp(a, tau, zeta):
    """(bias, var) of eta(a + tau Z; zeta) by mpmath quadrature, split at the kinks z = (+-zeta - a)/tau."""
    with mpmath.workdps(40):
        a, tau, zeta = mpmath.mpf(a), mpmath.mpf(tau), mpmath.mpf(zeta)
        phi = lambda z: mpmath.exp(-z * z / 2) / mpmath.sqrt(2 * mpmath.pi)  # noqa: E731
        lo, hi = (-zeta - a) / tau, (zeta - a) / tau
        grid = [mpmath.mpf(k) for k in range(-12, 13, 2)]  # the Gaussian's bulk, so that quad resolves it
        above = [hi] + [g for g in grid if g > hi] + [mpmath.inf]
        below = [-mpmath.inf] + [g for g in grid if g < lo] + [lo]
        up = mpmath.quad(lambda z: (a + tau * z - zeta) * phi(z), above)
        down = mpmath.quad(lambda z: (a + tau * z + zeta) * phi(z), below)
        up2 = mpmath.quad(lambda z: (a + tau * z - zeta) ** 2 * phi(z), above)
        down2 = mpmath.quad(lambda z: (a + tau * z + zeta) ** 2 * phi(z), below)
        mean = up + down
        return float((mean - a) ** 2), float(up2 + down2 - mean**2)


# (a, tau, zeta): learned and unlearned, b << c, c << b, b ~ c, zeta = 0, deep tails
CHANNELS = [
    (1.0, 1.0, 0.5), (0.5, 1.0, 1.0), (1.0, 1.0, 1.0), (3.0, 0.5, 1.0), (0.01, 1.0, 2.0), (1e-6, 1.0, 0.3),
    (1e-6, 1.0, 5.0), (2.0, 1.0, 0.0), (40.0, 1.0, 0.01), (40.0, 1.0, 10.0), (1.0, 0.1, 0.7), (0.7, 0.1, 1.0),
    (0.2, 1.0, 0.2000001), (5.0, 1.0, 25.0), (0.0, 1.0, 1.0),
]


@pytest.mark.parametrize("a,tau,zeta", CHANNELS)
def test_channel_moments_match_quadrature(a, tau, zeta):
    bias, var = soft_threshold_bias_variance(np.array([a]), tau, zeta)
    bias_mp, var_mp = _moments_mp(a, tau, zeta)
    assert bias[0] == pytest.approx(bias_mp, rel=MOMENT_RTOL, abs=1e-60)  # mpmath: (mean - a) ~ 1e-40 at zeta = 0
    assert var[0] == pytest.approx(var_mp, rel=MOMENT_RTOL)


def test_channel_moments_match_monte_carlo():
    """A brute-force check with nothing shared with the closed forms: sample eta(a + tau Z)."""
    rng = np.random.default_rng(0)
    z = rng.standard_normal(2_000_000)
    for a, tau, zeta in [(1.0, 1.0, 0.5), (0.3, 1.0, 1.0), (2.0, 0.5, 1.5)]:
        y = a + tau * z
        eta = np.sign(y) * np.maximum(np.abs(y) - zeta, 0.0)
        bias, var = soft_threshold_bias_variance(np.array([a]), tau, zeta)
        se_mean = eta.std() / math.sqrt(z.size)
        se_var = ((eta - eta.mean()) ** 2).std() / math.sqrt(z.size)
        assert abs(math.sqrt(bias[0]) - abs(eta.mean() - a)) <= 5 * se_mean
        assert abs(var[0] - eta.var()) <= 5 * se_var


def test_channel_sum_is_the_se_mse_everywhere():
    """bias + var = E (eta - a)^2 of numeric.gaussian over 13 decades of b = a/tau and c = zeta/tau in [0, 60]."""
    a = np.concatenate([[0.0], np.logspace(-8, 5, 400)])
    for c in [0.0, 1e-6, 0.3, 1.0, 1.5, 3.0, 8.0, 20.0, 37.0, 60.0]:
        bias, var = soft_threshold_bias_variance(a, 1.0, c)
        mse = soft_threshold_mse(a, 1.0, c)
        assert np.all(bias >= 0) and np.all(var >= 0)
        np.testing.assert_allclose(bias + var, mse, rtol=1e-13, atol=1e-300)


# ---------------------------------------------------------------------------------------------- diagonal: the sums

# (d, n, lam, noise): under-sampled, over-sampled, over-regularised, n = d, noiseless, large d
DIAGONAL_POINTS = [
    (10_000, 1_000, 1e-3, 0.5), (10_000, 1e6, 0.1, 0.5), (10_000, 1e5, 1e3, 0.5), (10_000, 10_000, 1e-2, 0.5),
    (10_000, 3_000, 0.1, 0.0), (10_000, 1e6, 1.0, 0.0), (10**6, 10**5, 1.0, 0.5), (10**8, 10**6, 0.3, 0.5),
    (10**8, 10**10, 100.0, 0.5),
]


@pytest.mark.parametrize("d,n,lam,noise", DIAGONAL_POINTS)
def test_diagonal_terms_sum_to_the_se_risk(d, n, lam, noise):
    r = decompose_diagonal(d, n, lam, 1.5, noise)
    se = lasso_se(d, n, lam, 1.5, noise)
    assert r.converged, r.message
    assert r.excess_risk == se.excess_risk
    assert all(v >= 0 for v in r.terms().values())
    assert math.fsum(r.terms().values()) == pytest.approx(se.excess_risk, rel=SUM_RTOL)
    assert r.sum_error <= SUM_RTOL
    # learned = #{i : |x0_i| > zeta}, from the closed form of the index of the threshold
    top = math.sqrt(n) * teacher_scale(d, 1.5)  # x0_1
    count = min(d, math.floor((top / se.zeta) ** (1 / 1.5))) if se.zeta > 0 else d
    assert r.learned == pytest.approx(count, abs=1e-6 * max(count, 1))


def test_binned_split_matches_exact_sums():
    """d = 1e5 with ~2.5e4 learned components (the step at |x0| = zeta in the binned part of the grid): each of the four
    binned sums equals the exact one; without the split the binned learned/unlearned sums would be visibly off."""
    d, n, lam, noise, gamma = 100_000, 1e8, 100.0, 0.5, 0.75  # zeta = 4.5 tau: the step is sharp, ~2.5e4 learned
    exact = decompose_diagonal(d, n, lam, gamma, noise, binning="exact")
    binned = decompose_diagonal(d, n, lam, gamma, noise, binning="binned")
    assert exact.converged and binned.converged
    assert 10_000 < exact.learned < d  # the step lies far beyond teacher_sums.HEAD, in the binned range
    for name in RiskDecomposition.TERMS:
        assert getattr(binned, name) == pytest.approx(getattr(exact, name), rel=1e-10, abs=1e-12 * exact.excess_risk)
    assert binned.learned == pytest.approx(exact.learned, abs=1e-6)
    # the same sum on the SE's grid (transition only, no split) smears the step
    se = lasso_se(d, n, lam, gamma, noise, binning="binned")
    tau = math.sqrt(se.tau2)
    grid = teacher_grid(d, n, gamma, binning="binned", transition=(se.zeta, tau))
    _, var = soft_threshold_bias_variance(grid.magnitudes, tau, se.zeta)
    smeared = grid.total(np.where(grid.magnitudes > se.zeta, var, 0.0)) / n
    assert abs(smeared - exact.learned_noise) > 1e-6 * exact.learned_noise


def test_plateau_is_all_missed_signal():
    r = decompose_diagonal(10**6, 10**4, 1e6, 1.5, 0.5)  # zeta far above sqrt(n) c_d: nothing is learned
    assert r.converged and r.learned == 0
    assert r.excess_risk == pytest.approx(1.0, rel=1e-12)
    assert r.missed_signal == pytest.approx(r.excess_risk, rel=1e-12) and r.dominant() == "missed_signal"


def test_least_squares_is_all_noise():
    """lam = 0, n > d: zeta = 0, no shrinkage, every direction learned, R = Delta d/(n - d) all learned noise."""
    d, n, noise = 1000, 50_000, 0.7
    r = decompose_diagonal(d, n, 0.0, 1.5, noise)
    assert r.converged and r.learned == d
    assert r.shrinkage_bias == 0 and r.missed_signal == 0 and r.fitted_noise == 0
    assert r.learned_noise == pytest.approx(noise * d / (n - d), rel=1e-13)


def test_no_data_and_exact_interpolation():
    zero = decompose_diagonal(100, 0, 1.0, 1.5, 0.5)
    assert zero.converged and zero.missed_signal == 1.0 and zero.excess_risk == 1.0
    exact = decompose_diagonal(100, 100, 0.0, 1.5, 0.0)
    assert exact.converged and exact.excess_risk == 0 and sum(exact.terms().values()) == 0
    peak = decompose_diagonal(100, 100, 0.0, 1.5, 0.5)  # infinite risk: no fixed point
    assert not peak.converged and math.isnan(peak.missed_signal)


def test_same_validation_as_the_se():
    for args in [(0, 10, 1, 1.5, 0.5), (10, -1, 1, 1.5, 0.5), (10, 10, 1, 0.5, 0.5), (10, 10, 1, 1.5, math.nan)]:
        with pytest.raises(ValueError) as se_error:
            lasso_se(*args)
        with pytest.raises(ValueError, match=str(se_error.value).replace("(", r"\(").replace(")", r"\)")):
            decompose_diagonal(*args)
        with pytest.raises(ValueError) as q_error:
            quadratic_se(*args)
        with pytest.raises(ValueError, match=str(q_error.value).replace("(", r"\(").replace(")", r"\)")):
            decompose_quadratic(*args)
    with pytest.raises(ValueError, match="signs"):
        decompose_diagonal(100, 50, 0.1, 1.5, 0.5, teacher="gaussian")


def test_result_api():
    r = decompose_diagonal(1000, 300, 0.05, 1.5, 0.5)
    assert list(r.terms()) == list(RiskDecomposition.TERMS)
    assert r.dominant() == max(r.terms(), key=r.terms().get)
    out = json.loads(json.dumps(r.to_dict()))
    assert out["model"] == "diagonal" and out["d"] == 1000 and out["missed_signal"] == r.missed_signal


# ---------------------------------------------------------------------------------------------- quadratic

# (d, n, lam, noise): under-sampled, n ~ d^2, over-sampled, over-regularised, noiseless, finite rank
QUADRATIC_POINTS = [
    (300, 300**1.2, 300**-1.2, 0.5, None), (300, 0.5 * 300**2, 3.0, 0.5, None), (300, 300**3, 300**0.5, 0.5, None),
    (300, 300**2.5, 300**2.0, 0.5, None), (300, 300**2, 10.0, 0.0, None), (1000, 1000**1.7, 1000**0.95, 0.5, None),
    (200, 0.3 * 200**2, 1.0, 0.25, 20),
]


@pytest.mark.parametrize("d,n,lam,noise,rank", QUADRATIC_POINTS)
def test_quadratic_terms_sum_to_the_se_risk(d, n, lam, noise, rank):
    r = decompose_quadratic(d, n, lam, 1.5, noise, rank=rank)
    se = quadratic_se(d, n, lam, 1.5, noise, rank=rank)
    assert r.converged, r.message
    assert r.excess_risk == se.excess_risk
    assert all(v >= 0 for v in r.terms().values())
    assert math.fsum(r.terms().values()) == pytest.approx(se.excess_risk, rel=SUM_RTOL)
    # the spectrum is merged separately on each side of zeta, so the learned mass is an exact count
    assert r.learned == pytest.approx(np.count_nonzero(quadratic_teacher_spectrum(d, 1.5, rank) > se.zeta), abs=1e-9)


def test_quadratic_exact_recovery_is_zero_not_the_search_floor():
    r = decompose_quadratic(30, 1800, 0.0, 1.5, 0.0)  # n = 2 d^2 > d(d+1)/2, Delta = 0, lam = 0
    assert r.converged and r.excess_risk == 0 and sum(r.terms().values()) == 0 and "recovery" in r.message


def test_quadratic_plateau_is_all_missed_signal():
    r = decompose_quadratic(200, 200**2, 1e6, 1.5, 0.5)
    assert r.converged and r.learned == 0 and r.excess_risk == pytest.approx(1.0, rel=1e-12)
    assert r.missed_signal == pytest.approx(1.0, rel=1e-12)


def test_atom_moments_need_exact_spikes():
    fc = free_convolution_semicircle(np.array([0.0, 5.0]), 0.1, masses=np.array([0.5, 0.5]), spikes="limit")
    with pytest.raises(ValueError, match="spikes='exact'"):
        fc.atom_moments(1.0, np.zeros(fc.atoms.size))


def _monte_carlo_terms(s, sigma2, zeta, samples, seed):
    """The four terms from GOE samples: Y = diag(s) + sigma W, eigenvectors U, direction k's spectral measure
    sum_i U_ki^2 delta(mu_i) pooled over the samples (the expected measure, as in the deterministic terms), in
    batches for a standard error."""
    d = s.size
    rng = np.random.default_rng(seed)
    batches = []
    for batch in np.array_split(np.arange(samples), 10):
        m0, m1, m2 = np.zeros(d), np.zeros(d), np.zeros(d)
        for _ in batch:
            g = rng.standard_normal((d, d))
            y = math.sqrt(sigma2 / (2.0 * d)) * (g + g.T) + np.diag(s)  # W_ij ~ N(0, 1/d), W_ii ~ N(0, 2/d)
            mu, u = np.linalg.eigh(y)
            f, u2 = np.maximum(mu - zeta, 0.0), u * u
            m0, m1, m2 = m0 + u2.sum(axis=1), m1 + u2 @ f, m2 + u2 @ (f * f)
        batches.append((m0 / batch.size, m1 / batch.size, m2 / batch.size))
    learned = s > zeta
    per_batch = []
    for m0, m1, m2 in batches:
        mean = m1 / m0
        bias, var = m0 * (mean - s) ** 2, m2 - m1 * mean
        per_batch.append([np.sum(x[mask]) / d for mask, x in ((~learned, bias), (~learned, var), (learned, var),
                                                              (learned, bias))])
    per_batch = np.array(per_batch)
    return per_batch.mean(axis=0), per_batch.std(axis=0, ddof=1) / math.sqrt(per_batch.shape[0])


def test_quadratic_terms_match_monte_carlo_goe():
    """d = 100 at the deterministic fixed point (sigma^2, zeta): the four terms of sampled GOE eigendecompositions.
    Allowance: 4 standard errors plus the finite-d offset of the GOE from the free convolution, 2/d of the term
    (test_se_matrix measured 0.5/d to 1/d relative in the total m; here the Monte-Carlo terms sit 0.6/d to 2.1/d above
    the deterministic ones, 0.7 to 2.7 standard errors)."""
    d, n, lam, gamma, noise = 100, 0.5 * 100**2, 15.0, 1.0, 0.25
    det = decompose_quadratic(d, n, lam, gamma, noise)
    se = quadratic_se(d, n, lam, gamma, noise)
    assert det.converged and 2 <= det.learned <= d - 2  # both kinds of direction present
    mc, err = _monte_carlo_terms(quadratic_teacher_spectrum(d, gamma), se.sigma2, se.zeta, 200, 7)
    for name, m, e in zip(RiskDecomposition.TERMS, mc, err):
        assert abs(getattr(det, name) - m) <= 4 * e + 2 * m / d, (name, getattr(det, name), m, e)


# ---------------------------------------------------------------------------------------------- dominant balance

# Over-regularised sparse regime, noise negligible against the threshold: the K learned directions each lose ~zeta^2
# (shrinkage) and the unlearned ones their whole signal, sum_{i > K} (a_K (i/K)^-gamma)^2 ~ K a_K^2/(2 gamma - 1),
# so missed_signal/(missed_signal + shrinkage_bias) -> 1/(2 gamma), up to O(1/K) from replacing the sums by
# integrals and zeta by a_K (and (K/d)^(2 gamma - 1) from the truncation at d, negligible for K << d).


@pytest.mark.parametrize("gamma", [1.5, 2.5])
def test_diagonal_sparse_regime_split_is_one_over_two_gamma(gamma):
    d = 10**6
    r = decompose_diagonal(d, d**5, d**3.7, gamma, 0.5)
    assert r.converged and 10 <= r.learned <= d / 100
    assert (r.learned_noise + r.fitted_noise) < 1e-12 * r.excess_risk  # noise tau^2 ~ Delta d/n: negligible
    share = r.missed_signal / (r.missed_signal + r.shrinkage_bias)
    assert abs(share - 1 / (2 * gamma)) <= 1 / r.learned


def test_quadratic_sparse_regime_split_is_one_over_two_gamma():
    d, gamma = 1000, 1.5
    r = decompose_quadratic(d, d**3.5, d**2.3, gamma, 0.5)
    assert r.converged and 10 <= r.learned <= d / 10
    share = r.missed_signal / (r.missed_signal + r.shrinkage_bias)
    assert abs(share - 1 / (2 * gamma)) <= 1 / r.learned


def test_binned_split_at_a_sharp_step_matches_an_independent_sum():
    """d = 1e20, zeta/tau ~ 1e9: the step |x0| = zeta falls between two integers (index ~9405) with no transition
    width. Reference, without teacher_sums: the first 2e5 components summed directly, and beyond them (|x0| << zeta,
    where eta = 0 up to phi(1e9) = 0) only missed signal, sum_{i > 2e5} x0_i^2 = n c_d^2 sum_of_powers(2e5 + 1, d, 2
    gamma) in closed form. (The SE's own binned R, summed without the split, is 1.8e-9 off here, so this point's
    sum_error is 1.8e-9: reported as a finding, not a decomposition error.)"""
    d, gamma, noise = 10**20, 1.5, 0.5
    n, lam = 1e30, 1e14
    r = decompose_diagonal(d, n, lam, gamma, noise)
    se = lasso_se(d, n, lam, gamma, noise)
    tau, zeta = math.sqrt(se.tau2), se.zeta
    assert zeta / tau > 1e8
    head = 200_000
    top = math.sqrt(n) * teacher_scale(d, gamma)
    a = top * np.arange(1, head + 1, dtype=float) ** -gamma
    bias, var = soft_threshold_bias_variance(a, tau, zeta)
    learned = a > zeta
    reference = [math.fsum(bias[~learned]) + top**2 * sum_of_powers(head + 1, d, 2 * gamma), math.fsum(var[~learned]),
                 math.fsum(var[learned]), math.fsum(bias[learned])]
    assert r.learned == pytest.approx(np.count_nonzero(learned), abs=1e-9)
    for name, ref in zip(RiskDecomposition.TERMS, reference):
        assert getattr(r, name) == pytest.approx(ref / n, rel=1e-12, abs=1e-14 * r.excess_risk), name

