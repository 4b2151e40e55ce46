"""Quadratic network, symbolic side: trace-norm equivalence, the design covariance (Wick), the
semicircle free probability and the derived phase diagram, each against an independent fact."""

import numpy as np
import pytest
import sympy as sp
from scipy import integrate

from analytic import derive
from analytic.asymptotics import zone_table as lasso_zone_table
from analytic.design import design_covariance, gaussian_expectation
from analytic.equivalence import trace_norm_equivalence
from analytic.free_probability import (
    edge_laws,
    pair_integral_at_zero,
    peak_expansion,
    peak_ratio,
    semicircle,
    spike,
)
from analytic.free_probability import s as s_sym
from analytic.free_probability import sigma as sigma_sym
from analytic.free_probability import x as x_sym
from analytic.matrix_channel import zone_table as matrix_zone_table
from analytic.model_comparison import compare_tables, kappa_shift
from analytic.state_evolution import channel


@pytest.mark.parametrize("p,dim", [(2, 2), (3, 2), (4, 3)])
def test_weight_decay_is_a_trace_penalty(p, dim):
    eq = trace_norm_equivalence(p, dim)
    assert eq["penalty_residual"] == 0 and eq["feature_residual"] == 0 and eq["symmetric_psd_factor"]


def test_isserlis_moments():
    x, y = sp.symbols("x y", real=True)
    # E x^4 = 3, E x^6 = 15, E x^2 y^2 = 1, odd moments vanish
    assert gaussian_expectation(x**4 + x**6 + x**2 * y**2 + x**3 * y, (x, y)) == 3 + 15 + 1


@pytest.mark.parametrize("dim", [2, 3, 4])
def test_design_covariance_is_two_over_d_frobenius(dim):
    second_moment, frobenius = design_covariance(dim)
    assert sp.simplify(second_moment - 2 * frobenius / dim) == 0


def test_design_covariance_by_monte_carlo():
    """Independent check: sample x, compare the empirical E<A,S><A,S'> with (2/d)<S,S'>_F."""
    rng = np.random.default_rng(0)
    dim, samples = 5, 400_000
    S = rng.standard_normal((dim, dim)); S = (S + S.T) / 2
    T = rng.standard_normal((dim, dim)); T = (T + T.T) / 2
    x = rng.standard_normal((samples, dim))
    fs = (np.einsum("ni,ij,nj->n", x, S, x) - np.trace(S)) / np.sqrt(dim)
    ft = (np.einsum("ni,ij,nj->n", x, T, x) - np.trace(T)) / np.sqrt(dim)
    estimate, err = np.mean(fs * ft), np.std(fs * ft) / np.sqrt(samples)
    assert abs(estimate - 2 * np.sum(S * T) / dim) < 4 * err


# ----------------------------------------------------------------------------- free probability (SymPy)
SIGMA = 1.3


def test_semicircle_moments_are_catalan_numbers():
    sc = semicircle()
    rho = sp.lambdify(x_sym, sc.density.subs(sigma_sym, SIGMA), "numpy")
    edge = float(sc.edge.subs(sigma_sym, SIGMA))
    for k, catalan in [(0, 1), (1, 1), (2, 2), (3, 5)]:
        value, _ = integrate.quad(lambda u: u ** (2 * k) * rho(u), -edge, edge)
        assert value == pytest.approx(catalan * SIGMA ** (2 * k), rel=1e-8)
    assert sc.edge_value == 1 / sigma_sym and sp.simplify(sc.modulus2 - sigma_sym**-2) == 0


def test_spike_outlier_and_overlap_against_sampled_goe():
    """BBP by simulation: GOE (semicircle radius 2 sigma) plus s e_1 e_1^T at d = 1000, 6 samples.
    The outlier fluctuates by ~sigma sqrt(2/d) per sample: the mean of 6 is within 0.05 sigma w.h.p."""
    sk = spike()
    assert sk.threshold == sigma_sym
    rng = np.random.default_rng(3)
    d, samples = 1000, 6
    Ws = []
    for _ in range(samples):
        G = rng.standard_normal((d, d))
        Ws.append((G + G.T) / np.sqrt(2 * d))
    for s in (2.0 * SIGMA, 3.5 * SIGMA):
        tops, overlaps = [], []
        for W in Ws:
            Y = SIGMA * W
            Y[0, 0] += s
            vals, vecs = np.linalg.eigh(Y)
            tops.append(vals[-1])
            overlaps.append(vecs[0, -1] ** 2)
        mu = float(sk.outlier.subs({s_sym: s, sigma_sym: SIGMA}))
        q2 = float(sk.overlap2.subs({s_sym: s, sigma_sym: SIGMA}))
        assert np.mean(tops) == pytest.approx(mu, abs=0.05 * SIGMA)
        assert np.mean(overlaps) == pytest.approx(q2, abs=0.05)
    Y = SIGMA * Ws[0]
    Y[0, 0] += 0.5 * SIGMA  # below threshold: no outlier, the top eigenvalue sticks to the edge
    assert np.linalg.eigvalsh(Y)[-1] == pytest.approx(2 * SIGMA, abs=0.1 * SIGMA)


@pytest.mark.parametrize("ratio", [0.4, 0.8, 1.6, 3.0])
def test_spike_measure_has_unit_mass(ratio):
    """nu_s = q^2 delta_mu + rho w_s: the bulk part carries 1 - q^2 above threshold and 1 below."""
    sk, sc = spike(), semicircle()
    s = ratio * SIGMA
    dens = sp.lambdify(x_sym, (sc.density * sk.bulk_weight).subs({s_sym: s, sigma_sym: SIGMA}), "numpy")
    bulk, _ = integrate.quad(dens, -2 * SIGMA, 2 * SIGMA, limit=200)
    q2 = float(sk.overlap2.subs({s_sym: s, sigma_sym: SIGMA})) if ratio > 1 else 0.0
    assert bulk + q2 == pytest.approx(1.0, abs=1e-6)


def test_edge_laws_against_quadrature():
    laws, sc = edge_laws(), semicircle()
    rho = sp.lambdify(x_sym, sc.density.subs(sigma_sym, SIGMA), "numpy")
    edge = 2 * SIGMA
    eps = 1e-4
    zeta = edge * (1 - eps)
    for k, law in [(0, laws.mass), (1, laws.first), (2, laws.second)]:
        value, _ = integrate.quad(lambda u: (u - zeta) ** k * rho(u), zeta, edge, epsabs=0, epsrel=1e-12)
        predicted = float(law.coeff) * SIGMA**law.degree * eps ** float(law.power)
        assert value == pytest.approx(predicted, rel=1e-3)  # corrections are O(eps)
    assert (laws.mass.power, laws.first.power, laws.second.power, laws.pairs.power) == (
        sp.Rational(3, 2), sp.Rational(5, 2), sp.Rational(7, 2), sp.Rational(5, 2))
    # J by a double quadrature: P^2 + 2 int_{x > zeta} (x - zeta) rho(x) int_{y < zeta} rho(y)/(x - y)
    eps = 1e-3
    zeta = edge * (1 - eps)
    inner = lambda u: integrate.quad(lambda y: rho(y) / (u - y), -edge, zeta, limit=200)[0]  # noqa: E731
    cross, _ = integrate.quad(lambda u: (u - zeta) * rho(u) * inner(u), zeta, edge, limit=100)
    mass, _ = integrate.quad(rho, zeta, edge)
    J = mass**2 + 2 * cross
    assert J == pytest.approx(float(laws.pairs.coeff) * eps ** float(laws.pairs.power), rel=0.05)  # O(sqrt(eps))


def test_pair_integral_at_zero_and_psd_interpolation_threshold():
    sc = semicircle()
    rho = sp.lambdify(x_sym, sc.density.subs(sigma_sym, 1), "numpy")
    # J(0) by a double quadrature of (x_+ - y_+)/(x - y): the integrand is bounded by 1
    f = lambda u: max(u, 0.0)  # noqa: E731
    J, _ = integrate.dblquad(lambda y, u: (f(u) - f(y)) / (u - y) * rho(u) * rho(y) if u != y else (u > 0) * rho(u) ** 2,
                             -2, 2, -2, 2, epsabs=1e-7)
    assert pair_integral_at_zero() == sp.Rational(1, 2) and J == pytest.approx(0.5, abs=1e-5)
    assert peak_ratio() == sp.Rational(1, 4)  # n = d^2/4: the statistical dimension of the PSD cone


def test_matrix_channel_has_the_lasso_zone_structure():
    """The per-direction matrix channel has, zone by zone, the same leading monomials as the scalar
    soft-threshold channel (its Gaussian tails become the exactly vanishing bulk beyond the edge)."""
    lasso, matrix = lasso_zone_table(channel("l1")), matrix_zone_table()
    for order, (mse, div) in matrix.items():
        assert (mse.monomial, div.monomial) == (lasso[order][0].monomial, lasso[order][1].monomial), order


# ----------------------------------------------------------------------------- the quadratic phase diagram
def _at(diagram, l, k, g):
    r = diagram.regime_at(l, k, g)
    assert r is not None, (l, k, g)
    return r.exponent_at(l, k, g), r.name


@pytest.mark.parametrize("noiseless", [False, True])
def test_quadratic_regimes_tile_the_plane(noiseless):
    diagram = derive("quadratic", noiseless=noiseless)
    rng = np.random.default_rng(7)
    for l, k, g in zip(rng.uniform(0.02, 4, 300), rng.uniform(-3, 5, 300), rng.uniform(0.52, 4, 300)):
        assert diagram.regime_at(l, k, g) is not None, (l, k, g)


def test_quadratic_noisy_laws():
    q = derive("quadratic")
    assert _at(q, 0.5, 3.0, 1.5) == (0.0, "plateau")
    assert _at(q, 2.0, 0.0, 1.5)[0] == pytest.approx(-1.0)  # d / n_eff
    # under-sampled interpolation: n_eff^(-1 + 1/(2 gamma)) for small ell, the fitted bulk noise
    # (n_eff/d)^(2/5) beyond ell = 4 gamma / (14 gamma - 5) (a matrix-only law: no Gaussian tail)
    g = 1.5
    cut = 4 * g / (14 * g - 5)
    assert _at(q, cut - 0.05, -1.0, g)[0] == pytest.approx(-(cut - 0.05) * (1 - 1 / (2 * g)))
    assert _at(q, cut + 0.05, -1.0, g)[0] == pytest.approx(2 * (cut + 0.05 - 1) / 5)
    assert q.notes and "1/4" in q.notes[0] and "d*(d + 1)/4" in q.notes[0]


def test_psd_peak_expansion_against_quadrature():
    """The centre expansion of the pure-noise bulk (unit sigma) against finite differences of independent
    quadratures: M_2(eps) = int (x - eps)_+^2 rho and J(eps) = P(eps)^2 + 2 int_{x > eps} (x - eps) rho(x)
    int_{y < eps} rho(y)/(x - y) (the form used for the edge law above)."""
    pe = peak_expansion()
    rho = sp.lambdify(x_sym, semicircle().density.subs(sigma_sym, 1), "numpy")
    assert (pe.mass, pe.pairs, pe.second) == (sp.Rational(1, 2), sp.Rational(1, 2), sp.Rational(1, 2))

    def m2(e):
        return integrate.quad(lambda u: (u - e) ** 2 * rho(u), e, 2, epsabs=1e-13)[0]

    def pair(e):
        inner = lambda u: integrate.quad(lambda y: rho(y) / (u - y), -2, e, limit=200, epsabs=1e-12)[0]  # noqa: E731
        cross = integrate.quad(lambda u: (u - e) * rho(u) * inner(u), e, 2, limit=200, epsabs=1e-12)[0]
        return integrate.quad(rho, e, 2)[0] ** 2 + 2 * cross

    h = 1e-3  # central differences: error O(h^2) ~ 1e-6 against the O(1) slopes
    assert float(pe.second_slope) == pytest.approx(-(m2(h) - m2(-h)) / (2 * h), rel=1e-4)
    assert float(pe.pairs_slope) == pytest.approx(-(pair(h) - pair(-h)) / (2 * h), rel=1e-3)


def test_psd_interpolation_threshold_is_exact_for_a_symmetric_bulk():
    """E[div] at zeta = 0 for a GOE matrix (div = #{mu > 0} + (1/2) sum_{i != j} (mu_i+ - mu_j+)/(mu_i - mu_j)): by
    the mu -> -mu symmetry it is d(d+1)/4 at every d, the derived n_c (Monte Carlo, 4000 samples per d)."""
    n_c = sp.lambdify(sp.Symbol("d", positive=True), peak_expansion().critical_samples)
    rng = np.random.default_rng(3)
    for dim in (3, 8):
        divs = []
        for _ in range(4000):
            g = rng.standard_normal((dim, dim))
            mu = np.linalg.eigvalsh((g + g.T) / np.sqrt(2 * dim))
            f = np.maximum(mu, 0.0)
            num, den = f[:, None] - f[None, :], mu[:, None] - mu[None, :]
            off = ~np.eye(dim, dtype=bool)
            divs.append(np.sum(mu > 0) + 0.5 * np.sum(num[off] / den[off]))
        sem = np.std(divs) / np.sqrt(len(divs))
        assert abs(np.mean(divs) - n_c(dim)) <= 4 * sem, (dim, np.mean(divs), n_c(dim), sem)


def test_quadratic_peak_laws():
    """On n = d(d+1)/4 (Delta > 0): R ~ (lam/d)^(-2/3) for -1/2 < kappa < 1 and R ~ d below (the finite-d pairs
    term holds sigma^2 at ~d): the balance worked by hand from the expansion above (sigma^2 eps ~ 1 or
    sigma^2/d ~ 1, and lam/d ~ sigma eps^2); the SE's slopes are the cross-check's (crosscheck --quick, peak)."""
    q = derive("quadratic")
    peaks = {r.name: r for r in q.regimes if r.line is not None}
    assert set(peaks) == {"interpolation peak (n = d(d+1)/4)", "interpolation peak (n = d(d+1)/4, finite-d saturation)"}
    for kappa, expected in ((-1.0, 1.0), (-0.6, 1.0), (-0.4, 1.4 * 2 / 3), (0.0, 2 / 3), (0.5, 1 / 3)):
        r = q.regime_at(1.0, kappa, 1.5)
        assert r is not None and r.line is not None and r.exponent_at(1.0, kappa, 1.5) == pytest.approx(expected)
    assert q.regime_at(1.0, 2.0, 1.5).name == "plateau"
    assert not [r for r in derive("quadratic", noiseless=True).regimes if r.line is not None]  # Delta = 0: no peak


def test_quadratic_finite_rank_teacher_is_low_rank_matrix_sensing():
    """rank r = d^(1/4) PSD teacher: nothing learned for n_eff << r; with noise the best rate is
    r / n_eff (Candes-Plan: r d parameters from n samples), at the threshold just above the bulk edge;
    noiseless recovery is exact as lam -> 0 once n_eff >> r."""
    noisy = derive("quadratic", teacher="finite-rank:1/4")
    assert _at(noisy, 0.2, 3.0, 1.0)[0] == 0.0
    offset = 1e-3  # just off the boundary at kappa = (ell + 1)/2; the law's slope in kappa is at most 2
    for l in (0.8, 1.5):
        assert _at(noisy, l, (l + 1) / 2 + offset, 1.0)[0] == pytest.approx(0.25 - l, abs=2 * offset + 1e-12)
    clean = derive("quadratic", teacher="finite-rank:1/4", noiseless=True)
    assert _at(clean, 0.8, -3.0, 1.0)[0] < _at(clean, 0.8, -2.0, 1.0)[0] < 0


def test_correspondence_with_the_diagonal_network():
    assert kappa_shift() == 1  # lam_quadratic = d lam_diagonal, n -> n_eff
    pairs = {(p.diagonal, p.quadratic): p for p in compare_tables(False, gammas=(1.5,), ells=np.linspace(0.1, 2.9, 8),
                                                                 kappas=np.linspace(-1.9, 3.9, 9))}
    for name in ("plateau", "variance-limited", "sparse (top-K learned)"):
        assert pairs[(name, name)].verdict == "same law"
    assert pairs[("interpolation (noise fitted)", "interpolation (noise fitted)")].verdict == "different exponent"
