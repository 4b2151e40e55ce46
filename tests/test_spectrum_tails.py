"""The derived power-law range of the learned spectrum (analytic.spectrum_tails) against independent facts:
the Pareto/Zipf relation checked by a Hill estimate on explicit values, other teacher families, the spec's
heuristic scales (diagonal.md "Heuristics behind the table", quadratic.md's closed variables), the claimed peak
law R ~ lam^(-2/3), and basis pursuit's at most n non-zeros."""

import math

import numpy as np
import pytest
import sympy as sp

from analytic.spectrum_tails import density_exponent, predicted_tail, shifted_exponent_limit, tail_table

k = sp.Symbol("k", positive=True)
g = sp.Symbol("g", positive=True)
GAMMA = 1.5
# the Hill estimate below uses 1e5 explicit values above a cut at rank 1e3: its statistical error is
# (a - 1)/sqrt(1e3) ~ 2 %, and the discreteness of the rank sequence adds < 1 %
HILL_RTOL = 0.04


@pytest.mark.parametrize("gamma_value", [0.75, 1.0, 1.5, 3.0])
def test_exponent_matches_a_hill_estimate_on_explicit_values(gamma_value):
    values = np.arange(1, 100_001, dtype=float) ** -gamma_value
    xmin = values[999]
    tail = values[values >= xmin]
    hill = 1 + tail.size / np.sum(np.log(tail / xmin))  # MLE of the Pareto density exponent (CSN eq. 3.1)
    derived = float(density_exponent(3 * k ** (-sp.Float(gamma_value))))
    assert derived == pytest.approx(hill, rel=HILL_RTOL)


def test_exponent_symbolic_and_other_families():
    assert sp.simplify(density_exponent(k ** (-g)) - (1 + 1 / g)) == 0
    assert density_exponent(k ** -2) == sp.Rational(3, 2)  # Zipf with gamma = 2: p(x) ~ x^-3/2
    assert density_exponent(sp.exp(-k)) == 1  # geometric decay: N(>x) = ln(1/x), log-uniform density 1/x
    assert density_exponent(sp.Integer(7)) is None  # a flat (finite-rank) teacher has no counting function


def test_threshold_shift_keeps_the_exponent_only_far_above_the_threshold():
    assert sp.simplify(shifted_exponent_limit(k ** (-g)) - (1 + 1 / g)) == 0
    # numerically, at v = zeta the shifted values' local exponent is half the teacher's (the bend near zeta):
    # values a_k - zeta with zeta = 1e-3, density of v from a finite difference of the counting function
    zeta, v = 1e-3, 1e-3
    count = lambda x: (x + zeta) ** (-1 / GAMMA)  # noqa: E731 - N(>v) of a_k = k^-gamma shifted by zeta
    h = 1e-6
    dens = lambda x: -(count(x + h) - count(x - h)) / (2 * h)  # noqa: E731
    local = -(math.log(dens(v * 1.001)) - math.log(dens(v / 1.001))) / (2 * math.log(1.001))
    assert local == pytest.approx((1 + 1 / GAMMA) / 2, rel=1e-3)


def _heuristic_decades(model, ell_v, kappa_v):
    """D from the spec's scales in the learned values' units: diagonal (theta units) top sqrt(d), threshold
    lam d/n, noise sqrt(Delta d/n); quadratic top sqrt(d) (sum s_k^2 = d), threshold lam/(2 n_eff), noise
    sigma ~ sqrt(d/n_eff) (sigma^2 = (Delta + 2m)/(4 alpha), alpha = n_eff/d); smallest: top d^-gamma."""
    threshold = kappa_v + 1 - ell_v if model == "diagonal" else kappa_v - ell_v
    noise = (1 - ell_v) / 2
    return 0.5 - max(threshold, noise, 0.5 - GAMMA)


# noisy points in the plateau, sparse, dense, variance-limited (both cutoffs) and interpolation regimes
DIAGONAL_POINTS = [(0.4, 2.2), (1.5, 0.7), (5.0, 2.2), (2.5, -1.1), (5.0, -2.2), (0.8, -2.2), (5.0, 3.7)]
QUADRATIC_POINTS = [(0.2, 3.6), (2.5, 2.3), (1.5, -1.2), (2.5, -1.2), (4.0, -1.2), (0.7, -1.2)]


@pytest.mark.parametrize("model, points", [("diagonal", DIAGONAL_POINTS), ("quadratic", QUADRATIC_POINTS)])
def test_decades_match_the_spec_heuristics(model, points):
    for ell_v, kappa_v in points:
        pred = predicted_tail(model, ell_v, kappa_v, GAMMA)
        assert pred["regime"] is not None
        assert pred["decades_exponent"] == pytest.approx(_heuristic_decades(model, ell_v, kappa_v), abs=1e-12), \
            (model, ell_v, kappa_v, pred)
        assert pred["present"] == (pred["decades_exponent"] > 0)


def test_plateau_is_empty_and_dense_keeps_the_whole_law():
    plateau = predicted_tail("diagonal", 0.4, 2.2, GAMMA)
    assert plateau["regime"] == "plateau" and not plateau["present"] and plateau["tail_exponent"] is None
    dense = predicted_tail("diagonal", 5.0, 2.2, GAMMA, noiseless=True)
    # all d components above the threshold: the learned law spans the teacher's whole range top/smallest = d^gamma
    assert dense["decades_exponent"] == pytest.approx(GAMMA)
    assert dense["count_exponent"] == pytest.approx(1.0)  # all d components in the tail
    assert dense["tail_exponent"] == pytest.approx(1 + 1 / GAMMA)


@pytest.mark.parametrize("model", ["diagonal", "quadratic"])
def test_noiseless_basis_pursuit_learns_at_most_n_components(model):
    # min-l1 / min-trace interpolation has at most n_eff non-zero directions (an LP vertex / a rank argument):
    # the tail holds d^count_exponent components, which must be n_eff = d^ell
    for ell_v in (0.3, 0.6):
        pred = predicted_tail(model, ell_v, -1.5, GAMMA, noiseless=True)
        assert pred["regime"] == "interpolation (basis pursuit)"
        assert pred["count_exponent"] == pytest.approx(ell_v)


def test_interpolation_peak_turns_noise_shaped_where_the_claimed_law_says():
    # claimed R ~ lam^(-2/3) at n = d (diagonal.md (ii)): tau ~ d^(-kappa/3) exceeds the top x0_1 = sqrt(n) = d^(1/2)
    # (SE units) for kappa < -3/2, and then no teacher component stands above the noise
    for kappa_v in (-1.2, -0.6):
        pred = predicted_tail("diagonal", 1.0, kappa_v, GAMMA)
        assert pred["regime"] == "interpolation peak (n = d)"
        assert pred["decades_exponent"] == pytest.approx(0.5 + kappa_v / 3)
    below = predicted_tail("diagonal", 1.0, -2.4, GAMMA)
    assert below["lower_cutoff"] == "noise" and not below["present"] and "noise-shaped" in below["note"]


def test_finite_rank_teacher_has_no_power_law_tail():
    table = tail_table("diagonal", teacher="finite-rank:1/2")
    assert table
    for r in table:
        assert r.tail_exponent is None and r.present is sp.false and r.decades_exponent == 0


def test_table_entries_are_consistent():
    for noiseless in (False, True):
        for r in tail_table("diagonal", noiseless=noiseless):
            assert r.lower_cutoff.split(" = ")[0] in ("threshold", "noise", "smallest teacher component")
            assert r.latex.startswith("D = ")
            assert (r.tail_exponent is None) == (r.present is sp.false)
            assert r.to_dict()["condition"]
