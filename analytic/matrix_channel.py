"""State evolution of the quadratic network (nuclear-norm PSD sensing) as a channel per teacher direction.

Closed variables (spec/quadratic.md), alpha = n/d^2, R = m = ||S_hat - S*||_F^2 / d:

    sigma^2 = (Delta + 2 m) / (4 alpha),    Y = S* + sigma W,    S_hat = f(Y),  f(x) = (x - zeta)_+,
    lam / (2 d alpha) = zeta (1 - E[div] / n),    E[div] / d^2 = P/(2d) + J/2,
    m = (1/d) E ||f(Y) - S*||_F^2 = (1/d) sum_k E_{x ~ nu_k} (f(x) - s_k)^2,

with nu_k the spectral measure of Y seen from teacher direction k (``free_probability.spike``).
Each direction is a *channel* with signal a = s_k, noise scale tau = sigma and threshold zeta:

    mse(a, zeta, tau) = q^2 (f(mu) - a)^2 [a > tau]  +  int rho(x) w_a(x) (f(x) - a)^2 dx,
    div(a, zeta, tau) = E_rho[(f(mu) - f(y)) / (mu - y)]  if a > tau   (pairs of the outlier with the bulk, per d)
                      = J(zeta) / 2                         otherwise  (the direction is part of the bulk),

so that E[div]/n = (1/n_eff) sum_k div_k with n_eff = n/d, as (1/n) sum_i div_i for LASSO. (The outlier
of a learned direction also carries weight 1 - q^2 ~ sigma^2/a^2 on the other directions: that adds
an O(sigma^2) term per learned direction, the order its own mse already has; constants, not powers.)

``zone_table`` gives, for every strict ordering of (a, zeta, tau), the leading monomials of mse and
div, from limits along a path L -> oo: the algebraic outlier part by SymPy limits, the bulk integrals
by taking the pointwise limit of the integrand (x = tau y, y in [-2, 2]; dominated convergence, since
w_a is bounded away from a = tau) and integrating it with SymPy. Each limit is checked numerically
(mpmath quadrature) at L = 10. ``edge_table`` does the same with the threshold at the bulk edge
(zeta = 2 tau); the bulk's own contribution there is the edge law in eps (``free_probability``).
"""

from __future__ import annotations

from functools import lru_cache
from itertools import permutations

import mpmath
import sympy as sp

from .asymptotics import Leading, bisect_leading, leading_table, path
from .free_probability import edge_laws, pair_integral_at_zero, peak_ratio, semicircle, spike
from .free_probability import s as _s
from .free_probability import sigma as _sigma
from .free_probability import x as _x
from .symbols import Delta, a, d, lam, n, n_eff, tau, zeta

_L = sp.Symbol("L", positive=True)
_y = sp.Symbol("y", real=True)
_CHECK_L, _CHECK_DPS = 10, 30
SCALES = (a, zeta, tau)
EDGE_SCALES = (a, tau)


@lru_cache(maxsize=None)
def _rho1() -> sp.Expr:
    """rho_1(y) = tau rho(tau y): the bulk in units of tau (its radicand tau^2 (4 - y^2) factored out)."""
    r = sp.factor(semicircle().density.subs(_sigma, tau).subs(_x, tau * _y) * tau)
    r = sp.powdenest(r.subs(sp.sqrt(-(tau**2) * _y**2 + 4 * tau**2), tau * sp.sqrt(4 - _y**2)), force=True)
    r = sp.simplify(r.replace(lambda e: e.is_Pow and e.exp == sp.S.Half, lambda e: sp.sqrt(sp.factor(e.base))))
    r = sp.simplify(sp.powdenest(r, force=True))
    if r.has(tau):
        raise ArithmeticError(f"bulk density is not a function of x/tau: {r}")
    return r



def _pieces():
    """The channel's ingredients in the scale symbols (a = s_k, tau = sigma)."""
    sp_, sc = spike(), semicircle()
    to = {_s: a, _sigma: tau}
    return {
        "mu": sp_.outlier.subs(to),
        "q2": sp_.overlap2.subs(to),
        "threshold": sp_.threshold.subs(to),
        "rho": sc.density.subs(to),
        "w": sp_.bulk_weight.subs(to),
        "edge": sc.edge.subs(to),
    }


def _bulk_integral(h: sp.Expr, lo, hi) -> sp.Expr:
    """int_lo^hi h(y) rho_1(y) dy with y = 2 cos(theta), where rho_1(y) dy = (2/pi) sin^2(theta) dtheta
    is checked against rho_1 by differentiation (the substitution makes polynomial h a trig polynomial)."""
    th = sp.Symbol("theta", positive=True)
    jac = sp.simplify(-(_rho1().subs(_y, 2 * sp.cos(th))) * sp.diff(2 * sp.cos(th), th))
    jac = jac.subs(sp.Abs(sp.sin(th)), sp.sin(th))  # sin(theta) >= 0 on [0, pi]
    if sp.simplify(jac - 2 * sp.sin(th) ** 2 / sp.pi) != 0:
        raise ArithmeticError(f"semicircle measure in theta is {jac}")
    integrand = sp.expand(h.subs(_y, 2 * sp.cos(th)) * jac)
    return sp.simplify(sp.integrate(integrand, (th, sp.acos(sp.Rational(hi, 2)), sp.acos(sp.Rational(lo, 2)))))


def _f(u, threshold):
    return sp.Max(u - threshold, 0)


class _Zone:
    """One path L -> oo through a zone: decides the indicator functions, then takes limits."""

    def __init__(self, order: tuple, at_edge: bool):
        self.pc = _pieces()
        self.at_edge = at_edge
        self.sub = path(order)
        if at_edge:
            self.sub[zeta] = self.pc["edge"].subs(self.sub)
        self.outlier = self._lim(a / self.pc["threshold"]) == sp.oo
        mu = self.pc["mu"]
        self.kept = self.outlier and self._lim(mu / zeta) > 1
        ratio = self._lim(zeta / tau)
        # where f vanishes on the bulk [-2 tau, 2 tau]: zeta above (or at) the edge, or f = x - zeta on x > zeta -> 0
        self.bulk_dead = at_edge or ratio == sp.oo
        if not (self.bulk_dead or ratio == 0):
            raise ArithmeticError(f"zone {order}: zeta/tau has no limit 0 or oo")

    def _lim(self, expr):
        return sp.limit(sp.simplify(sp.sympify(expr).subs(self.sub)), _L, sp.oo)

    def _num(self, expr):
        return mpmath.mpf(str(sp.N(sp.sympify(expr).subs(self.sub).subs(_L, _CHECK_L), _CHECK_DPS)))

    # ---- the pieces of mse and div as (algebraic part, [(integrand / rho_1(y), y_lo, y_hi)]),
    # ---- rho_1(y) = tau rho(tau y) being the unit semicircle (free of L, kept out of the limits)
    def mse_parts(self):
        pc = self.pc
        mu = pc["mu"]
        alg = pc["q2"] * (_f(mu, zeta) - a) ** 2 if self.outlier else sp.Integer(0)
        alg = alg.subs(sp.Max(mu - zeta, 0), mu - zeta if self.kept else 0)
        w = pc["w"].subs(_x, tau * _y)
        if self.bulk_dead:
            return alg, [(w * a**2, -2, 2)]
        return alg, [(w * a**2, -2, 0), (w * (tau * _y - zeta - a) ** 2, 0, 2)]

    def div_parts(self):
        pc = self.pc
        if not self.outlier:
            return None  # J(zeta)/2, see pairs_half
        mu = pc["mu"]
        fmu = mu - zeta if self.kept else sp.Integer(0)
        if self.bulk_dead:
            return sp.Integer(0), [(fmu / (mu - tau * _y), -2, 2)]
        return sp.Integer(0), [(fmu / (mu - tau * _y), -2, 0), ((fmu - (tau * _y - zeta)) / (mu - tau * _y), 0, 2)]

    def limit(self, parts, monomial):
        alg, integrals = parts
        total = self._lim(alg / monomial) if alg != 0 else sp.Integer(0)
        for integrand, lo, hi in integrals:
            pointwise = sp.limit(sp.simplify((integrand / monomial).subs(self.sub)), _L, sp.oo)
            if pointwise.has(_L):
                raise ArithmeticError(f"no pointwise limit of {integrand} / {monomial}")
            if pointwise.has(sp.oo, -sp.oo, sp.zoo):
                return sp.oo  # the integrand outgrows the monomial on a set of positive measure
            total += _bulk_integral(pointwise, lo, hi)
        return sp.simplify(total)

    def value(self, parts, monomial):
        alg, integrals = parts
        scale = self._num(monomial)
        with mpmath.workdps(_CHECK_DPS):
            total = self._num(alg) if alg != 0 else mpmath.mpf(0)
            for integrand, lo, hi in integrals:
                fn = sp.lambdify(_y, sp.sympify(integrand).subs(self.sub).subs(_L, _CHECK_L) * _rho1(), "mpmath")
                cut = self._num(zeta / tau) if (lo, hi) == (0, 2) else lo
                total += mpmath.quad(fn, [cut, hi])
            return sp.Float(str(total / scale), _CHECK_DPS)

    def pairs_half(self):
        """J(zeta)/2 for a direction inside the bulk: 0 when f vanishes on the bulk, J(0)/2 when zeta/tau -> 0."""
        return sp.Integer(0) if self.bulk_dead else pair_integral_at_zero() / 2


def _pair(order: tuple, at_edge: bool) -> tuple[Leading, Leading]:
    zone = _Zone(order, at_edge)
    scales = EDGE_SCALES if at_edge else SCALES
    what = f"the matrix channel in zone {order}{' at the edge' if at_edge else ''}"
    mse = bisect_leading(lambda m: zone.limit(zone.mse_parts(), m), lambda m: zone.value(zone.mse_parts(), m),
                         2, order, what="mse of " + what, scales=scales)
    parts = zone.div_parts()
    if parts is None:
        half = zone.pairs_half()
        div = Leading(sp.Integer(1), half) if half != 0 else Leading(None, sp.Integer(0))
    else:
        div = bisect_leading(lambda m: zone.limit(parts, m), lambda m: zone.value(parts, m), 0, order,
                             what="div of " + what, scales=scales)
    return mse, div


_KEY = "matrix-spike-channel|semicircle|f=(x-zeta)_+|v1"


@lru_cache(maxsize=None)
def zone_table() -> dict[tuple, tuple[Leading, Leading]]:
    """{ordering of (a, zeta, tau), largest first: (leading mse, leading div)}."""
    return leading_table("matrix-zones", _KEY, list(permutations(SCALES)), lambda order: _pair(order, False))


@lru_cache(maxsize=None)
def edge_table() -> dict[tuple, tuple[Leading, Leading]]:
    """{ordering of (a, tau): (leading mse, leading div)} with zeta at the bulk edge 2 tau; the bulk's
    own fitted noise and pairs there are the edge laws (``free_probability.edge_laws``)."""
    return leading_table("matrix-edge", _KEY, list(permutations(EDGE_SCALES)), lambda order: _pair(order, True))


def se_equations() -> tuple[sp.Eq, ...]:
    """The closed-variable equations (for display and LaTeX)."""
    m, alpha, sig2, div, P, J = sp.symbols(r"m alpha sigma^2 \mathrm{div} P J", positive=True)
    return (
        sp.Eq(alpha, n / d**2),
        sp.Eq(sig2, (Delta + 2 * m) / (4 * alpha)),
        sp.Eq(lam / (2 * d * alpha), zeta * (1 - div / n)),
        sp.Eq(div / d**2, P / (2 * d) + J / 2),
    )


def calibration() -> sp.Expr:
    """A = lam / (2 d alpha) in (lam, n_eff, d), n = n_eff d: the threshold scale the penalty sets."""
    alpha = (n_eff * d) / d**2
    return sp.simplify(lam / (2 * d * alpha)).subs(n_eff, n)


__all__ = ["zone_table", "edge_table", "edge_laws", "peak_ratio", "se_equations", "calibration", "SCALES", "EDGE_SCALES"]
