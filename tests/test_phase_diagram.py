"""The derived phase diagrams: they tile the plane and reproduce independently known laws."""

import random

import pytest
import sympy as sp

from analytic import derive, table_latex
from analytic.symbols import ell, gamma, kappa

L1_CASES = [dict(penalty="l1", noiseless=False), dict(penalty="l1", noiseless=True)]


def _law(diagram, l, k, g):
    r = diagram.regime_at(l, k, g)
    assert r is not None, f"no regime at ell={l}, kappa={k}, gamma={g}"
    return float(r.logd_risk.subs({ell: l, kappa: k, gamma: g})), float(r.log_power.subs(gamma, g)), r.name


def _random_points(count, seed):
    rng = random.Random(seed)
    for _ in range(count):
        yield rng.uniform(0.02, 6.0), rng.uniform(-4.0, 4.0), rng.uniform(0.52, 4.0)


@pytest.mark.parametrize("case", L1_CASES + [dict(penalty="l2", noiseless=False)], ids=["l1", "l1-noiseless", "l2"])
def test_regimes_tile_the_plane(case):
    """Every generic point lies in exactly one open regime (regime_at raises on overlaps)."""
    diagram = derive(**case)
    for point in _random_points(300, seed=1):
        assert diagram.regime_at(*point) is not None, point


def test_lasso_noisy_laws():
    dg = derive()
    # plateau when the threshold exceeds the largest component: lam >> n / sqrt(d)
    assert _law(dg, 0.5, 0.2, 1.0)[:2] == (0.0, 0.0)
    # over-sampled, small lam: d/n (least-squares variance)
    assert _law(dg, 2.0, -1.0, 1.0)[0] == pytest.approx(-1.0)
    # sparse: (lam sqrt(d)/n)^(2 - 1/gamma)
    e, p, name = _law(dg, 0.5, -0.1, 1.5)
    assert name.startswith("sparse") and e == pytest.approx((2 - 1 / 1.5) * (-0.1 + 0.5 - 0.5))
    # under-sampled, small lam: the min-l1 interpolator fits the noise, R ~ 1/ln d
    assert _law(dg, 0.5, -2.0, 1.0)[:2] == (0.0, -1.0)


def test_lasso_noiseless_basis_pursuit_is_best_k_term_approximation():
    """Noiseless compressed sensing: K ~ n / ln(d/n) terms recovered, R ~ K^(1 - 2 gamma)."""
    dg = derive(noiseless=True)
    for g in (0.75, 1.0, 2.0):
        e, p, _ = _law(dg, 0.5, -3.0, g)
        assert e == pytest.approx(0.5 * (1 - 2 * g)) and p == pytest.approx(2 * g - 1)


def test_peak_law_on_the_line_n_equals_d():
    dg = derive()
    peak = [r for r in dg.regimes if r.line is not None]
    assert len(peak) == 1 and sp.simplify(peak[0].logd_risk + 2 * kappa / 3) == 0
    assert dg.regime_at(1, -1, 1.0) is peak[0] and dg.regime_at(1.01, -1, 1.0) is not peak[0]


def test_ridge_has_no_scaling_law_below_n_equal_d():
    """Isotropic ridge: R = O(1) for n << d at any lam; Delta d / n above, (lam d/n)^2 bias for large lam."""
    dg = derive(penalty="l2")
    for l, k in [(0.3, -2.0), (0.7, 0.5), (0.9, -0.2)]:
        assert _law(dg, l, k, 1.0)[:2] == (0.0, 0.0)
    assert _law(dg, 2.0, -1.0, 1.0)[0] == pytest.approx(-1.0)
    assert _law(dg, 2.0, 0.8, 1.0)[0] == pytest.approx(2 * (0.8 + 1 - 2.0))
    # ridge is blind to the teacher decay
    assert all(not r.logd_risk.has(gamma) for r in dg.regimes)


def test_finite_rank_teacher_is_sparse_recovery():
    """r = d^(1/2) equal spikes: no learning with n << r; with noise the best rate is r/n (lam at the
    noise level); noiseless recovery becomes exact as lam -> 0 once n >> r."""
    noisy = derive(teacher="finite-rank:1/2")
    assert _law(noisy, 0.3, -3.0, 1.0)[:2] == (0.0, 0.0)
    l = 0.8
    offset = 1e-3  # just off the boundary at kappa = (ell - 1)/2; the law's slope in kappa is at most 2
    e_best = _law(noisy, l, (l - 1) / 2 + offset, 1.0)[0]
    assert e_best == pytest.approx(0.5 - l, abs=2 * offset + 1e-12)
    clean = derive(teacher="finite-rank:1/2", noiseless=True)
    e_small, e_smaller = _law(clean, 0.8, -2.0, 1.0)[0], _law(clean, 0.8, -3.0, 1.0)[0]
    assert e_smaller < e_small < 0


def test_serialisation_round_trip():
    dg = derive()
    for r in dg.regimes:
        data = r.to_dict()
        cond = sp.sympify(data["condition"], locals={"ell": ell, "kappa": kappa, "gamma": gamma})
        assert sp.simplify(sp.sympify(data["logd_risk"], locals={"ell": ell, "kappa": kappa, "gamma": gamma}) - r.logd_risk) == 0
        for point in [(0.5, -2.0, 1.0), (2.0, -1.0, 1.0), (0.5, 0.0, 1.5), (1, -1, 1)]:
            subs = dict(zip((ell, kappa, gamma), map(sp.nsimplify, point)))
            assert bool(cond.subs(subs)) == r.holds_at(*point)


def test_latex_table():
    text = table_latex(derive())
    assert text.count(r"\toprule") == 1 and text.count(r"\bottomrule") == 1
    assert text.count(r"\\") >= len(derive().regimes) + 1
    for r in derive().regimes:
        assert r.name in text


@pytest.mark.parametrize("rho", ["abc", "", "1/0", "nan", "oo", "-1", "2", "3/2"])
def test_invalid_finite_rank_exponent_is_a_value_error(rho):
    # regression (found by tests/test_fuzz.py): sympy's TypeError / ZeroDivisionError escaped, and
    # rho outside [0, 1] (rank d^rho not between 1 and d) was derived as if it meant something
    with pytest.raises(ValueError, match="finite-rank teacher needs a rational RHO"):
        derive(teacher=f"finite-rank:{rho}")
