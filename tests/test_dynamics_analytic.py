"""Gradient-flow / SGD dynamics, symbolic side (analytic.riccati, analytic.dynamics_laws), each derivation
against an independent fact: numeric matrices, ODE residuals, root finding, Gauss-Hermite quadrature,
direct sums (mpmath) and other teacher families."""

import mpmath
import numpy as np
import pytest
import sympy as sp
from scipy.optimize import brentq

from analytic import riccati as rc
from analytic import table_latex
from analytic.design import gaussian_expectation, symmetric_matrix
from analytic.dynamics_laws import (
    alpha,
    beta,
    d,
    derive_dynamics,
    dynamics_table_latex,
    ell_coefficient,
    m,
    mu,
    r,
    sample_complexity,
    time_exponent,
    varsigma,
    width_floor_exponent,
)

RNG = np.random.default_rng(0)


def test_wick_risk_and_gradient():
    der = rc.population_risk(3, 2)
    D = der.W.T * der.W - der.A
    assert sp.expand(der.risk - sum(D[i, j] ** 2 for i in range(3) for j in range(3))) == 0
    assert (der.mean_stochastic_gradient - der.gradient).applyfunc(sp.expand) == sp.zeros(2, 3)
    W, A = RNG.normal(size=(2, 3)), RNG.normal(size=(3, 3))
    A = (A + A.T) / 2
    values = {der.W[k, i]: W[k, i] for k in range(2) for i in range(3)}
    values.update({der.A[i, j]: A[i, j] for i in range(3) for j in range(3)})
    grad = np.array(der.gradient.subs(values), dtype=float)
    assert np.allclose(grad, 4 * W @ (W.T @ W - A))


def test_riccati_from_product_rule():
    W, A = rc._weights(2, 3), symmetric_matrix("A", 3)
    assert (rc.riccati_from_product_rule(3, 2) - rc.riccati_rhs(W.T * W, A)).applyfunc(sp.expand) == sp.zeros(3, 3)


def test_closed_form_solves_riccati_with_kernel():
    a1 = sp.Symbol("a1", positive=True)
    residual, initial = rc.closed_form_residual(sp.diag(a1, 0), symmetric_matrix("m", 2))  # K = tau on ker A
    assert residual == sp.zeros(2, 2) and initial == sp.zeros(2, 2)
    a2 = sp.Symbol("a2", positive=True)
    assert rc.inverse_flow_residual(sp.diag(a1, a2), symmetric_matrix("m", 2)) == sp.zeros(2, 2)
    assert rc.inverse_flow_residual(sp.diag(a1, 0), symmetric_matrix("m", 2)) == sp.zeros(2, 2)


def test_closed_form_against_numerical_ode():
    from scipy.integrate import solve_ivp

    A = np.diag([0.7, 0.2, 0.0])
    W0 = RNG.normal(scale=0.3, size=(2, 3))
    M0 = W0.T @ W0 + 1e-3 * np.eye(3)  # invertible M0 (the formula holds for any PSD M0)
    Msym = rc.closed_form(sp.diag(sp.Rational(7, 10), sp.Rational(1, 5), 0), sp.Matrix(M0))
    T = 1.3
    num = solve_ivp(lambda _, y: (A @ y.reshape(3, 3) + y.reshape(3, 3) @ A - 2 * y.reshape(3, 3) @ y.reshape(3, 3))
                    .ravel(), (0, T), M0.ravel(), rtol=1e-10, atol=1e-12).y[:, -1].reshape(3, 3)
    assert np.allclose(np.array(Msym.subs(rc.tau, T), dtype=float), num, atol=1e-8)


def test_logistic_is_the_one_direction_closed_form():
    M = rc.logistic()
    assert sp.simplify(M.diff(rc.t) - 8 * (rc.lam * M - M**2)) == 0 and sp.simplify(M.subs(rc.t, 0) - rc.a) == 0
    assert sp.simplify(rc.learning_curve().subs(rc.sigma0, 0) - M) == 0
    # the complement mass slows the curve by lam (1 + 8 sigma0^2 t) in the denominator
    curve = rc.learning_curve()
    assert sp.simplify(curve.subs(rc.t, 0) - rc.a) == 0


@pytest.mark.parametrize("lam,a,sig", [(0.5, 1e-3, 0.1), (0.05, 1e-4, 0.3), (1.0, 1e-6, 0.0)])
def test_learning_time_is_the_half_crossing(lam, a, sig):
    curve = sp.lambdify(rc.t, rc.learning_curve().subs({rc.lam: lam, rc.a: a, rc.sigma0: sig}), "mpmath")
    root = brentq(lambda x: float(curve(x)) - lam / 2, 1e-9, 1e4 / lam, xtol=1e-14)
    assert rc.learning_time_value(lam, a, sig) == pytest.approx(root, rel=1e-9)
    if sig == 0:
        assert sp.simplify(rc.learning_time(sigma0_value=0) - sp.log(rc.lam / rc.a - 1) / (8 * rc.lam)) == 0
    ell = float(rc.log_factor(lam, a, sig, root))
    assert ell / (8 * lam) == pytest.approx(root, rel=10 * a / lam)  # ell = 8 lam t_j up to O(a/lam)


def test_learning_time_rejects_learned_start():
    with pytest.raises(ValueError):
        rc.learning_time_value(0.5, 0.3)


def test_residual_overlap_and_initial_overlap():
    limit, projected = rc.residual_overlap(3)
    assert sp.simplify(limit - projected) == 0
    m_, dim, j, sig = 6, 50, 3, 0.7
    W0 = RNG.normal(scale=sig / np.sqrt(dim), size=(20000, m_, j))
    Q, _ = np.linalg.qr(W0[:, :, : j - 1])
    w = W0[:, :, j - 1]
    resid = w - np.einsum("nij,nj->ni", Q, np.einsum("nij,ni->nj", Q, w))
    mc = np.mean(np.sum(resid**2, axis=1))
    assert mc == pytest.approx(float(rc.initial_overlap(j, m_, dim, sig)), rel=0.02)


def _random_symmetric(dim, scale=3):
    B = RNG.integers(-scale, scale + 1, size=(dim, dim))
    return sp.Matrix(B + B.T)


@pytest.mark.parametrize("words", [("D",), ("D", "M"), ("D", "D", "M"), ("", "MM", "D", "D"), ("MD", "D", "M")])
def test_trace_form_wick_against_isserlis(words):
    dim = 3
    xs = sp.symbols(f"x0:{dim}", real=True)
    x = sp.Matrix(xs)
    mats = {"D": _random_symmetric(dim), "M": _random_symmetric(dim)}

    def mat(word):
        out = sp.eye(dim)
        for c in word:
            out = out * mats[c]
        return out

    poly = sp.Mul(*[(x.T * mat(w) * x)[0] for w in words])
    assert rc.evaluate_traces(rc.form_moment(words), mats) == gaussian_expectation(poly, xs)


def test_second_order_coefficient_against_quadrature():
    """E[R(W - eta G_1)] is a quartic in eta; its coefficients from Gauss-Hermite quadrature (exact here)."""
    dim, width = 2, 2
    W = RNG.normal(scale=0.6, size=(width, dim))
    A = np.diag([0.8, 0.3])
    M, D = W.T @ W, W.T @ W - A
    nodes, weights = np.polynomial.hermite_e.hermegauss(12)
    weights = weights / weights.sum()
    etas = np.array([-0.2, -0.1, 0.0, 0.1, 0.2])
    means = np.zeros_like(etas)
    for x1, w1 in zip(nodes, weights):
        for x2, w2 in zip(nodes, weights):
            x = np.array([x1, x2])
            X = np.outer(x, x) - np.eye(dim)
            e = x @ D @ x - np.trace(D)
            G = 2 * e * W @ X
            for k, et in enumerate(etas):
                Wn = W - et * G
                means[k] += w1 * w2 * np.sum((Wn.T @ Wn - A) ** 2)
    coeffs = np.polynomial.polynomial.polyfit(etas, means, 4)
    mats = {"M": sp.Matrix(M), "D": sp.Matrix(D)}
    first = float(rc.evaluate_traces(rc.first_order_drift().subs(rc.Delta, 0), mats))
    second = float(rc.evaluate_traces(rc.second_order(1).subs(rc.Delta, 0), mats))
    assert coeffs[0] == pytest.approx(np.sum(D**2), rel=1e-10)
    assert coeffs[1] == pytest.approx(first, rel=1e-8)
    assert coeffs[2] == pytest.approx(second, rel=1e-8)
    assert first == pytest.approx(-16 * np.trace(D @ M @ D), rel=1e-12)


def test_sgd_stability():
    st = rc.sgd_stability()
    lam_j = sp.Symbol("lam_j", positive=True)
    assert st.kappa == 2 and st.kappa_noise == 1 and st.excess_rate == 8 * lam_j
    c = sp.Symbol("c", positive=True)
    infl = st.inflation.subs(rc.eta, c * rc.batch / (rc.d * rc.TRACE_A))
    assert sp.simplify(infl - 1 / (1 - st.kappa * c)) == 0  # eta is limited in units of B / (d Tr A)
    assert st.eta_max_value(200, 1.5, 0.8, batch_size=1) == pytest.approx(1 / (2 * 200 * 1.5))
    assert st.eta_max_value(200, 1.5, 0.8, batch_size=10**4) == pytest.approx(1 / (4 * 0.8))  # full-batch limit
    assert rc.full_batch_limit() == 1 / (4 * rc.lam)


@pytest.mark.parametrize("a_value", [sp.Rational(3, 4), sp.Integer(1), sp.Rational(5, 4), sp.Rational(3, 2), 2.0])
def test_time_exponent(a_value):  # 5/4: SymPy's solve also lists complex branches of K^(-5/4); the positive root
    assert sp.simplify(time_exponent(a_value) + (2 * a_value - 1) / a_value) == 0
    assert sp.simplify(width_floor_exponent(a_value) + (2 * a_value - 1)) == 0


def test_other_teacher_families():
    j, q = sp.Symbol("j", positive=True), sp.Rational(1, 3)
    expo = time_exponent(teacher=q**j)  # exponential decay: J(t) ~ log t, R ~ t^-2
    assert expo == -2 and sp.limit(-(2 * alpha - 1) / alpha, alpha, sp.oo) == expo
    assert sp.simplify(time_exponent(alpha) + (2 * alpha - 1) / alpha) == 0
    assert time_exponent(sp.Rational(1, 2)) == 0 and time_exponent(sp.Rational(1, 4)) == 0


def _partial_sum(p, lo, hi):
    """sum_{j=lo}^{hi} j^-p exactly, via the Hurwitz zeta function (digamma at p = 1)."""
    if p == 1:
        return mpmath.digamma(hi + 1) - mpmath.digamma(lo)
    return mpmath.zeta(p, lo) - mpmath.zeta(p, hi + 1)


@pytest.mark.parametrize("a_value,K,rr", [(1.0, 10**3, 10**6), (1.5, 50, 10**5), (0.75, 10**3, 10**7)])
def test_power_sums_numerically(a_value, K, rr):
    """The front-regime law c^2 (K^(1-2a) - r^(1-2a))/(2a-1) against the direct sum (mpmath)."""
    diagram = derive_dynamics()
    regime = diagram.regime_at(s=0.1, mu=0.9, beta=0.8, alpha=a_value, varsigma=1)  # small init: sigma0^2 = 1/d
    assert regime.name == "power law"
    direct = _partial_sum(2 * a_value, K, rr) / mpmath.zeta(2 * a_value)
    law = regime.rate.subs(alpha, sp.nsimplify(a_value))
    # the rate's t enters only via J(t) = (8 c t / ell)^(1/a): evaluate at the t with J = K
    c = 1 / mpmath.sqrt(mpmath.zeta(2 * a_value))
    ell = mpmath.log(1e6 / 10)
    t_K = ell * K**a_value / (8 * c)
    value = law.subs({sp.Symbol("t", positive=True): t_K, d: 1e6, m: 10, r: rr})
    assert float(value) == pytest.approx(float(direct), rel=2 / K + 1e-6)


def test_normalisation_flat_and_marginal_numerically():
    for a_value, rr in [(0.25, 10**6), (0.5, 10**6)]:
        diagram = derive_dynamics()
        floor = diagram.regime_at(s=0.95, mu=0.3, beta=0.8, alpha=a_value)
        assert floor.name == "width floor" and floor.logd_risk == 0
        mm = 10**3
        direct = _partial_sum(2 * a_value, mm, rr) / _partial_sum(2 * a_value, 1, rr)
        law = float(floor.rate.subs({alpha: sp.nsimplify(a_value), m: mm, r: rr}))
        assert law == pytest.approx(float(direct), rel=0.1)  # leading order: corrections O(1/log r), O(r^(2a-1))


def test_derived_diagram_regimes():
    D = derive_dynamics()
    s = sp.Symbol("s", real=True)
    small = {"mu": 0.9, "beta": 0.8, "varsigma": 2}  # sigma0^2 = d^-2: the spare neurons' mass m sigma0^4 is negligible
    front = D.regime_at(s=0.5, alpha=1, **small)
    assert sp.simplify(front.logd_risk.subs(alpha, 1) + s) == 0 and front.log_power.subs(alpha, 1) == 1
    assert D.regime_at(s=-0.1, alpha=1, **small).name == "plateau"
    floor = D.regime_at(s=0.9, mu=0.4, beta=0.8, alpha=1.5)
    assert floor.name == "width floor" and sp.simplify(floor.logd_risk.subs(alpha, sp.Rational(3, 2)) + 2 * mu) == 0
    marginal = D.regime_at(s=0.2, alpha=0.5, **small)
    assert marginal.name.startswith("logarithmic") and marginal.logd_risk == 0
    flat = D.regime_at(s=0.3, alpha=0.25, **small)  # t_1 ~ r^(1/4), t_r ~ r^(1/2)
    assert flat.name.startswith("tail") and flat.logd_risk == 0
    assert D.regime_at(s=0.1, alpha=0.25, **small).name == "plateau"
    # after t_r (and t >> 1/sigma0^2) the m - r unused neurons keep g(t)^2 = 1/(8t)^2 each: R ~ m/t^2, not exp
    late = D.regime_at(s=2.5, alpha=1, **small)
    assert late.name.startswith("all learned") and sp.simplify(late.logd_risk - (mu - 2 * s)) == 0
    assert D.regime_at(s=1.5, alpha=1, **small).logd_risk == mu - 2 * varsigma  # t << 1/sigma0^2: m sigma0^4
    # sigma0 = O(1) (varsigma = 0) and a wide student: the spare mass m/(64 t^2) leads until J(t) ~ m
    wide = D.regime_at(s=0.5, mu=0.9, beta=0.8, alpha=1)
    assert wide.name == "spare neurons' mass" and sp.simplify(wide.logd_risk - (mu - 2 * s)) == 0
    samples = D.regime_at(nu=1.5, alpha=2, **small)
    nu = sp.Symbol("nu", real=True)
    assert sp.simplify(samples.logd_risk.subs(alpha, 2) + sp.Rational(3, 2) * (nu - 1)) == 0
    assert ell_coefficient() == 1 - mu
    out = D.to_dict()
    assert set(out["variables"]) == {"s", "mu", "beta", "nu", "alpha", "varsigma"}
    assert set(out["regimes"][0]) >= {"name", "condition", "logd_risk", "log_power", "rate", "latex", "mechanisms"}
    assert table_latex(D) == dynamics_table_latex(D) and r"\toprule" in table_latex(D)


@pytest.mark.parametrize("a_value,law", [
    (2, d * r**2 * sp.log(d / m)), (1, d * r * sp.log(r) * sp.log(d / m)),
    (sp.Rational(3, 4), d * r * sp.log(d / m)), (sp.Rational(1, 2), d * r * sp.log(d / m)),
    (sp.Rational(1, 4), d * r * sp.log(d / m)),
])
def test_sample_complexity(a_value, law):
    ratio = sp.limit(sp.simplify(sample_complexity(a_value) / law), r, sp.oo)
    assert ratio.is_finite and ratio != 0 and not ratio.has(d, m, r)


def test_trace_of_teacher_changes_with_alpha():
    from analytic.dynamics_laws import _teacher_constant, _trace, alpha_cases

    traces = {str(cs.condition): _trace(cs, _teacher_constant(cs)) for cs in alpha_cases([-2 * alpha, -alpha])}
    flat = next(v for k, v in traces.items() if "alpha < 1/2" in k)
    assert sp.simplify(flat.e - beta / 2) == 0  # Tr A ~ sqrt(r) for alpha < 1/2 (not r^(1 - alpha))


def test_spare_mass_solves_its_flow_and_matches_the_exact_flow():
    """g(t) = sigma0^2/(1 + 8 sigma0^2 t) solves dg/dt = -8 g^2, and after every teacher direction is learned the
    exact flow's risk is (m - r) g(t)^2 (the unused neurons), algebraic rather than exponential."""
    from analytic.dynamics_laws import spare_mass
    from analytic.riccati import sigma0, t
    from numeric.flow import gradient_flow
    from numeric.learning_curves import predicted_learning_times

    g = spare_mass()
    assert sp.simplify(sp.diff(g, t) + 8 * g**2) == 0 and g.subs(t, 0) == sigma0**2
    d_, r_, m_, s0 = 10**6, 10, 40, 1.0
    t_r = predicted_learning_times(d_, r_, 1.0, m_, sigma0=s0, count=r_)[-1]
    times = [10 * t_r, 100 * t_r]
    risk = gradient_flow(d_, r_, 1.0, m_, times, sigma0=s0, head=r_).risk
    law = [(m_ - r_) * float(g.subs({sigma0: s0, t: x})) ** 2 for x in times]
    assert risk == pytest.approx(law, rel=1e-3)  # the initial Gram's spread around sigma0^2 I: O(1/sqrt d)
