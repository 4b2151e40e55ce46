"""The quadratic network's learned spectrum: the SE's soft-thresholded free convolution vs convex solves."""

import math

import numpy as np
import pytest

from numeric.se_matrix import quadratic_se
from numeric.spectra import ERROR_FACTOR, TABLE_TOL, compare_spectra
from numeric.spectra_quadratic import measured_spectrum_quadratic, predicted_spectrum_quadratic

GAMMA = 1.0
D = 50  # d = 100 takes ~10 s per phase and design (2 seeds); d = 50 keeps the file under 90 s (results: see report)
SEEDS = 4
# phases: (alpha = n/d^2, lam in units of n/d): under-sampled, over-sampled, over-regularised (~5 % active)
PHASES = {"under": (0.1, 0.4), "over": (1.0, 0.2), "overreg": (1.0, 3.0)}


def _point(phase, noise, d=D):
    alpha, k = PHASES[phase]
    n = int(alpha * d * d)
    return d, n, k * n / d, GAMMA, noise


def test_atom_is_the_inactive_fraction_and_the_law_integrates_to_one():
    d, n, lam, gamma, noise = _point("under", 0.5)
    p = predicted_spectrum_quadratic(d, n, lam, gamma, noise)
    se = quadratic_se(d, n, lam, gamma, noise)
    # the atom is F_Y(zeta) = 1 - P(zeta) from the same quadrature as the SE's active_fraction P (spikes integrated
    # as bumps here, as residues there: the same value to ~1e-15, se_matrix); 1e-9 = the SE's QUADRATURE_TOL.
    assert 0.1 < p.atom < 0.9
    assert abs(p.atom - (1.0 - se.active_fraction)) <= 1e-9
    assert p.cdf(0.0) == p.atom and p.cdf(-1.0) == 0.0 and p.cdf(p.v_top) == 1.0 and p.density(-1.0) == 0.0
    # atom + int f = 1: f is linear between the SE quadrature's nodes and misses the square-root edges' shape,
    # measured 1.2e-4 at d = 60; tolerance 1e-3.
    v = np.linspace(0.0, p.v_top, 40_001)
    assert abs(p.atom + np.trapezoid(p.density(v), v) - 1.0) <= 1e-3
    # F is non-decreasing on its table
    assert np.all(np.diff(p.table().values) >= -1e-12)


def test_sample_follows_the_cdf_and_quantile_inverts_it():
    p = predicted_spectrum_quadratic(*_point("over", 0.5))
    rng = np.random.default_rng(np.random.SeedSequence([5, 0]))
    x = p.sample(1_000, rng)  # F costs ~1 ms per point: 1000 keeps this test at a few seconds
    c = compare_spectra(x, p, bootstrap=100, seed=1)
    # an iid sample of the predicted law (inverted table, within table_error of F): exceeds its own 95 % band
    # with probability 5 % per distance; the seed is fixed, so the check is deterministic.
    assert c.agree, c
    assert c.table_error <= ERROR_FACTOR * TABLE_TOL  # the node budget did not run out
    assert abs(np.mean(x == 0) - p.atom) <= 4.0 * math.sqrt(p.atom * (1 - p.atom) / x.size)
    probs = np.array([p.atom + 1e-6, 0.5 * (1 + p.atom), 0.99])
    q = p.quantile(probs)
    # bisection to 4 ulps of v: F(q) - p below f * 4 ulp * v plus F's quadrature rounding (~1e-12)
    np.testing.assert_allclose(p.cdf(q), probs, rtol=0, atol=1e-9)
    assert np.all(p.cdf(q * (1 - 1e-7)) < probs)
    assert p.quantile(0.0) == 0.0 and p.quantile(1.0) == math.inf


def _compare(phase, noise, design, d=D):
    d, n, lam, gamma, noise = _point(phase, noise, d)
    p = predicted_spectrum_quadratic(d, n, lam, gamma, noise)
    spectra = measured_spectrum_quadratic(d, n, lam, gamma, noise, seeds=SEEDS, design=design)
    c = compare_spectra(np.concatenate(spectra), p, bootstrap=200, seed=0)
    print(design, phase, noise, {k: round(v, 4) if isinstance(v, float) else v for k, v in c.to_dict().items()})
    return c


CASES = [(phase, noise) for phase in PHASES for noise in (0.5, 0.0)]


def test_gaussian_design_follows_the_prediction():
    # the Gaussian-design control: the SE is its exact large-d theory. Every case must lie within the iid band.
    # The stratified band (SEEDS finite-d SE draws of all d eigenvalues: the sharp reference for a solve's coupled
    # eigenvalues) is exceeded by each distance of a sample that follows the law with probability 5 %: of the
    # 12 distances here at most 3 may exceed it (binomial(12, 0.05): P(>= 4) = 0.2 %). Fixed seeds: deterministic.
    results = [_compare(phase, noise, "gaussian") for phase, noise in CASES]
    assert all(c.agree for c in results), results
    exceed = sum((c.ks > c.ks_band_stratified) + (c.w1 > c.w1_band_stratified) for c in results)
    assert exceed <= 3, results


@pytest.mark.parametrize(("phase", "noise"), CASES)
def test_quadratic_features_follow_the_prediction(phase, noise):
    # the network's own features (the convex problem the trained network solves). Only the iid band is asserted:
    # the SE is not their exact theory at finite d (docs/quadratic_real_features.md: risk up to +18 % at alpha = 0.1);
    # the stratified band comparison is printed and reported, not tuned.
    assert _compare(phase, noise, "quadratic").agree


@pytest.mark.slow
@pytest.mark.parametrize(("phase", "noise"), CASES)
@pytest.mark.parametrize("design", ["quadratic", "gaussian"])
def test_spectra_follow_the_prediction_at_d100(phase, noise, design):
    # issue 5's acceptance dimension (pytest -m slow, ~2 minutes): both designs inside the iid band at d = 100
    assert _compare(phase, noise, design, d=100).agree


def test_network_spectrum_matches_the_convex_one():
    # the trained network (width d, L-BFGS) reaches the convex optimum: its eigenvalues, zeroed below
    # NETWORK_ZERO_TOL, agree with the convex solve's within the network's distance to the minimiser
    # (<= 3e-8 relative Frobenius at gtol 1e-8, train_quadratic; 1e-5 absolute covers it with ||S||_F ~ sqrt(d)).
    args = (20, 200, 0.2 * 200 / 20, GAMMA, 0.5)
    net = measured_spectrum_quadratic(*args, seeds=1, method="network")[0]
    cvx = measured_spectrum_quadratic(*args, seeds=1, method="convex")[0]
    np.testing.assert_allclose(net, cvx, rtol=0, atol=1e-5)
    assert np.array_equal(net == 0, cvx == 0)


@pytest.mark.parametrize("call", [
    lambda: predicted_spectrum_quadratic(10, 0, 1.0, GAMMA, 0.5),
    lambda: predicted_spectrum_quadratic(10, 10, -1.0, GAMMA, 0.5),
    lambda: predicted_spectrum_quadratic(10, 10, 1.0, 0.4, 0.5),
    lambda: predicted_spectrum_quadratic(10, 10, 1.0, GAMMA, 0.5, rank=11),
    lambda: predicted_spectrum_quadratic(10, 10, 1.0, GAMMA, 0.5).cdf([math.nan]),
    lambda: predicted_spectrum_quadratic(10, 10, 1.0, GAMMA, 0.5).quantile([1.5]),
    lambda: predicted_spectrum_quadratic(10, 10, 1.0, GAMMA, 0.5).sample(0, np.random.default_rng(0)),
    lambda: predicted_spectrum_quadratic(10, 10, 1.0, GAMMA, 0.5).sample(5, 0),
    lambda: measured_spectrum_quadratic(10, 10, 1.0, GAMMA, 0.5, method="lasso"),
    lambda: measured_spectrum_quadratic(10, 10, 1.0, GAMMA, 0.5, design="other"),
    lambda: measured_spectrum_quadratic(10, 10, 1.0, GAMMA, 0.5, zero_tol=-1.0),
    lambda: measured_spectrum_quadratic(10, 10, 1.0, GAMMA, 0.5, method="network", design="gaussian"),
])
def test_bad_input_is_a_value_error(call):
    with pytest.raises(ValueError):
        call()
