"""Symbolic state evolution of separable penalised regression (LASSO, ridge).

Scalar channel y = a + tau Z (Z ~ N(0,1)) and the proximal map eta(y; zeta) of zeta P:

    mse(a, tau, zeta) = E[(eta(a + tau Z; zeta) - a)^2],   div(a, tau, zeta) = E[eta'(a + tau Z; zeta)].

Fixed point at finite d with x0_i = sqrt(n) c_d i^{-gamma} (spec/diagonal.md):

    tau^2 = Delta + (1/n) sum_i mse(x0_i, tau, zeta)
    A     = zeta (1 - (1/n) sum_i div(x0_i, tau, zeta)),   A = lam (d/n)^{q/2}   (q = degree of P)
    R     = (1/n) sum_i mse(x0_i, tau, zeta)

The Gaussian expectations are derived here by integrating each branch of eta against the Gaussian
density; nothing is typed in closed form.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from .equivalence import penalty_calibration, weight_decay_equivalence
from .symbols import Delta, a, d, i, n, tau, theta, zeta

y = sp.Symbol("y", real=True)
_z = sp.Symbol("z", real=True)
_phi = sp.exp(-(_z**2) / 2) / sp.sqrt(2 * sp.pi)


@dataclass(frozen=True)
class Channel:
    """A separable estimator: penalty P, its proximal map by branches, and the derived moments."""

    name: str
    penalty: sp.Expr  # P(theta)
    branches: tuple  # ((y_low, y_high, eta(y)), ...) covering the real line
    mse: sp.Expr
    div: sp.Expr
    thresholding: bool  # eta has a dead zone, so Gaussian tails enter the asymptotics

    @property
    def calibration(self) -> sp.Expr:
        """A as a function of (lam, d, n)."""
        return penalty_calibration(self.penalty)


def _moments(branches) -> tuple[sp.Expr, sp.Expr]:
    """Integrate (eta - a)^2 and eta' over each branch of y = a + tau z."""
    mse = sp.Integer(0)
    div = sp.Integer(0)
    for low, high, eta in branches:
        zl = (low - a) / tau if low != -sp.oo else -sp.oo
        zh = (high - a) / tau if high != sp.oo else sp.oo
        on_branch = eta.subs(y, a + tau * _z)
        mse += sp.integrate(sp.expand((on_branch - a) ** 2 * _phi), (_z, zl, zh))
        div += sp.integrate(sp.diff(eta, y).subs(y, a + tau * _z) * _phi, (_z, zl, zh))
    return sp.simplify(mse), sp.simplify(div)


def prox_residual(channel: Channel) -> list[sp.Expr]:
    """Stationarity of x -> (x - y)^2/2 + zeta P(x) at x = eta(y) on each branch with eta != 0.

    Returns the residuals x - y + zeta P'(x), which must simplify to 0 (checked in the tests);
    on a dead-zone branch (eta = 0) the returned entry is |y| - zeta, which must be <= 0 there.
    """
    x = sp.Symbol("x", real=True)
    out = []
    for low, high, eta in channel.branches:
        if eta == 0:
            out.append(sp.Max(sp.Abs(low), sp.Abs(high)) - zeta)
            continue
        grad = sp.diff((x - y) ** 2 / 2 + zeta * channel.penalty.subs(theta, x), x)
        if low == -sp.oo and high == sp.oo:
            probe = y  # one branch on the whole line: the residual must vanish identically
        elif low == -sp.oo:
            probe = high - 1
        elif high == sp.oo:
            probe = low + 1
        else:
            probe = (low + high) / 2
        out.append(sp.simplify(grad.subs(x, eta).subs(y, probe)))
    return out


@lru_cache(maxsize=None)
def soft_threshold_channel() -> Channel:
    """LASSO: P = |theta| (derived from weight decay), eta = sign(y)(|y| - zeta)_+."""
    penalty = weight_decay_equivalence().penalty
    branches = ((-sp.oo, -zeta, y + zeta), (-zeta, zeta, sp.Integer(0)), (zeta, sp.oo, y - zeta))
    mse, div = _moments(branches)
    return Channel("l1", penalty, branches, mse, div, thresholding=True)


@lru_cache(maxsize=None)
def ridge_channel() -> Channel:
    """Ridge: P = theta^2/2, eta = y/(1 + zeta)."""
    branches = ((-sp.oo, sp.oo, y / (1 + zeta)),)
    mse, div = _moments(branches)
    return Channel("l2", theta**2 / 2, branches, mse, div, thresholding=False)


CHANNELS = {"l1": soft_threshold_channel, "l2": ridge_channel}


def channel(penalty: str) -> Channel:
    try:
        return CHANNELS[penalty]()
    except KeyError:
        raise ValueError(f"unknown penalty {penalty!r} (choose from {', '.join(CHANNELS)})") from None


def se_equations(ch: Channel, x0: sp.Expr) -> tuple[sp.Eq, sp.Eq]:
    """The two fixed-point equations with the teacher sum written out (for display and LaTeX)."""
    mse_i = ch.mse.subs(a, x0)
    div_i = ch.div.subs(a, x0)
    tau2 = sp.Eq(tau**2, Delta + sp.Sum(mse_i, (i, 1, d)) / n)
    thr = sp.Eq(ch.calibration, zeta * (1 - sp.Sum(div_i, (i, 1, d)) / n))
    return tau2, thr
