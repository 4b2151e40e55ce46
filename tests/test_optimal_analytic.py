"""The optimal weight decay derived on the phase diagram, against a brute-force minimum over kappa and against the
laws it must reproduce (Corollary 1's risk; the noiseless exact recovery for n > d)."""

import numpy as np
import pytest
import sympy as sp

from analytic import derive
from analytic.optimal import optimal_weight_decay, optimum_at
from analytic.symbols import ell


@pytest.mark.parametrize("model,gamma_value,noiseless", [("diagonal", 1.5, False), ("diagonal", 2.0, False),
                                                         ("quadratic", 1.5, False), ("diagonal", 1.5, True)])
def test_optimum_is_the_minimum_over_a_kappa_grid(model, gamma_value, noiseless):
    pieces = optimal_weight_decay(model, gamma_value, noiseless)
    diagram = derive(model, noiseless=noiseless)
    kappas = np.linspace(-8, 12, 2001)  # spacing 0.01
    for x in (0.3, 0.7, 1.6, 2.9, 5.3):
        piece = optimum_at(pieces, x)
        grid = [r.exponent_at(x, k, gamma_value) for k in kappas
                if (r := diagram.regime_at(x, k, gamma_value)) is not None and r.line is None]
        best = float(piece.logd_risk.subs(ell, x)) if piece.logd_risk != -sp.oo else -np.inf
        assert min(grid) >= best - 1e-9  # no kappa beats the derived optimum
        if np.isfinite(best):  # and it is reached up to the grid spacing times the largest slope in kappa (<= 2)
            assert min(grid) <= best + 0.02 + 1e-9


def test_corollary_risk_and_where_lambda_opt_sits():
    g = sp.Rational(3, 2)
    pieces = optimal_weight_decay("diagonal", g)
    # R(lam_opt) ~ n^(-1 + 1/(2 gamma)) for n << d^(2 gamma), d/n beyond (Corollary 1 of the paper)
    assert pieces[0].hi == 2 * g and sp.expand(pieces[0].logd_risk + ell * (1 - 1 / (2 * g))) == 0
    assert sp.expand(pieces[-1].logd_risk - (1 - ell)) == 0
    # lam_opt ~ sqrt(n/d) for all n << d^(2 gamma): above n = d as well (the paper's O(n/d^(gamma + 1/2)) is smaller
    # there); beyond d^(2 gamma) the exponent is flat for every lam below sqrt(n/d)
    assert sp.expand(pieces[0].kappa_low - (ell - 1) / 2) == 0 and pieces[0].kappa_high == pieces[0].kappa_low
    assert pieces[-1].kappa_low is None and sp.expand(pieces[-1].kappa_high - (ell - 1) / 2) == 0


def test_noiseless_over_sampled_is_exact_recovery():
    pieces = optimal_weight_decay("diagonal", 1.5, noiseless=True)
    assert optimum_at(pieces, 2.0).logd_risk == -sp.oo
    assert sp.expand(optimum_at(pieces, 0.5).logd_risk + 2 * ell) == 0  # basis pursuit n^(1 - 2 gamma)


def test_bad_gamma():
    with pytest.raises(ValueError, match="gamma must be > 1/2"):
        optimal_weight_decay("diagonal", 0.5)
