"""Free probability of a spike in a semicircle, derived with SymPy (spec/quadratic.md).

Y = S* + sigma W with W a GOE matrix (semicircle on [-2, 2]). At large d the teacher eigenvalues
much smaller than sigma only widen the bulk, which is then the semicircle of radius 2 sigma, and each
teacher direction theta_k of eigenvalue s sees, through its spectral measure nu_s (the law of the
eigenvalues of Y weighted by their squared overlap with theta_k):

* the Stieltjes transform g(z) of the bulk: the root of Pastur's equation with S* = 0,
  sigma^2 g^2 - z g + 1 = 0, with g ~ 1/z at infinity; the density rho = -Im g(x + i0)/pi and the
  edges +-2 sigma where the discriminant vanishes;
* the resolvent entry G(z) = theta^T (z - Y)^-1 theta = g/(1 - s g) (rank-one Sherman-Morrison), so
  nu_s has density rho(x)/|1 - s g(x)|^2 on the bulk and, when 1 - s g(mu) = 0 has a root outside
  the bulk, an atom (the outlier) at mu with mass q^2 = -1/(s^2 g'(mu)) (the residue);
* the bulk near its edge, for a threshold zeta = 2 sigma (1 - eps), eps -> 0: the mass
  P = int_{x > zeta} rho, the moments M_k = int (x - zeta)_+^k rho, and the pair integral
  J = iint (f(x) - f(y))/(x - y) rho(x) rho(y), f = (x - zeta)_+, as powers of eps.

Nothing is typed in closed form: every law above is solved, differentiated, integrated or expanded
here, and the tests compare each with an independent fact (Catalan moments, the BBP threshold
s = sigma, the known overlap 1 - sigma^2/s^2, numerical quadrature).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import mpmath
import sympy as sp

x = sp.Symbol("x", real=True)
z = sp.Symbol("z")
s, sigma, eps, v = sp.symbols("s sigma epsilon v", positive=True)
_g = sp.Symbol("g")
_w = sp.Symbol("w", positive=True)  # sqrt(4 sigma^2 - x^2) inside the bulk


@dataclass(frozen=True)
class Semicircle:
    """The bulk of Y for S* = 0."""

    stieltjes: sp.Expr  # g(z), the branch with g ~ 1/z
    density: sp.Expr  # rho(x) on the support
    edge: sp.Expr  # the right edge (the support is [-edge, edge])
    modulus2: sp.Expr  # |g(x + i0)|^2 on the support
    edge_value: sp.Expr  # g at the right edge


def _on_support(expr: sp.Expr) -> sp.Expr:
    """Boundary value at z = x + i0 inside the bulk: sqrt(z^2 - 4 sigma^2) -> i w with
    w = sqrt(4 sigma^2 - x^2) > 0 (the sign that makes the density positive)."""
    on = expr.subs(z, x).subs(sp.sqrt(x**2 - 4 * sigma**2), sp.I * _w)
    if on.has(sp.sqrt(x**2 - 4 * sigma**2)) or not on.has(_w):
        raise ArithmeticError(f"no square-root branch to continue in {expr}")
    return on


def _vanishes(expr: sp.Expr, assumptions: dict) -> bool:
    """expr == 0 under ``assumptions`` (a substitution making the free symbols positive): by
    simplification, or else at 8 rational points to 60 digits (nested radicals defeat simplify)."""
    e = sp.simplify(sp.sympify(expr).subs(assumptions))
    if e == 0:
        return True
    points = [{sym: sp.Rational(k + 2, 3 + j) for j, sym in enumerate(sorted(e.free_symbols, key=str))} for k in range(8)]
    return all(abs(sp.N(e.subs(pt), 60)) < sp.Float("1e-50") for pt in points)


def _back(expr: sp.Expr) -> sp.Expr:
    return sp.simplify(expr.subs(_w, sp.sqrt(4 * sigma**2 - x**2)))


@lru_cache(maxsize=None)
def semicircle() -> Semicircle:
    """Solve sigma^2 g^2 - z g + 1 = 0 and read off density, edges, |g|^2 and g(edge)."""
    pastur = sigma**2 * _g**2 - z * _g + 1
    roots = sp.solve(pastur, _g)
    (g,) = [r for r in roots if sp.limit(z * r, z, sp.oo) == 1]
    edges = sp.solve(sp.discriminant(pastur, _g), z)
    (edge,) = [e for e in edges if e.is_positive]
    g_on = _on_support(g)
    if sp.simplify(pastur.subs({_g: g_on, z: x}).subs(_w, sp.sqrt(4 * sigma**2 - x**2))) != 0:
        raise ArithmeticError("the boundary value of g does not solve Pastur's equation")
    re, im = sp.expand(g_on).as_real_imag()
    density = _back(-im / sp.pi)
    modulus2 = _back(re**2 + im**2)
    edge_value = sp.simplify(g.subs(z, edge))
    return Semicircle(g, density, edge, modulus2, edge_value)


@dataclass(frozen=True)
class Spike:
    """Spectral measure of a teacher direction of eigenvalue s (BBP outlier plus a bulk part)."""

    outlier: sp.Expr  # mu(s)
    threshold: sp.Expr  # the outlier exists for s > threshold
    overlap2: sp.Expr  # q^2(s), the outlier's mass in nu_s (s > threshold)
    bulk_weight: sp.Expr  # nu_s(dx) / rho(x) dx on the bulk, = 1/|1 - s g(x)|^2


@lru_cache(maxsize=None)
def spike() -> Spike:
    """Outlier: 1 - s g(mu) = 0 outside the bulk; mass -1/(s^2 g'(mu)); bulk weight 1/|1 - s g|^2.

    The equation is solved for s > sigma (s = sigma + delta, delta > 0); the threshold is where the
    outlier reaches the bulk edge, and below it g(mu) = 1/s has no solution on the physical branch.
    """
    sc = semicircle()
    g = sc.stieltjes
    delta = sp.Symbol("delta", positive=True)
    above = {s: sigma + delta}
    candidates = sp.solve(sp.Eq(g.subs(z, _g), 1 / s), _g)
    (mu,) = [sp.simplify(c) for c in candidates]
    if not _vanishes(g.subs(z, mu) - 1 / s, above):
        raise ArithmeticError("outlier is not a root of 1 - s g on the physical branch above threshold")
    (threshold,) = [t for t in sp.solve(sp.Eq(mu, sc.edge), s) if t.is_positive]
    below = {s: threshold / 2}
    if _vanishes(g.subs(z, mu) - 1 / s, below):
        raise ArithmeticError("1 - s g(mu) = 0 also below threshold: no BBP transition")
    # the radicand at mu is (s^2 - sigma^2)^2 / s^2: take its root with s > sigma before simplifying
    radicand = sp.factor(sp.simplify(mu**2 - 4 * sigma**2))
    root = sp.factor(sp.powdenest(sp.sqrt(radicand.subs(above)), force=True)).subs(delta, s - sigma)
    dg = sp.diff(g, z).subs(sp.sqrt(z**2 - 4 * sigma**2), sp.Symbol("r")).subs(z, mu).subs(sp.Symbol("r"), root)
    overlap2 = sp.factor(sp.simplify(-1 / (s**2 * dg)))
    if not _vanishes(overlap2 + 1 / (s**2 * sp.diff(g, z).subs(z, mu)), above):
        raise ArithmeticError("outlier mass: root of the radicand taken on the wrong branch")
    g_on = _on_support(g)
    re, im = sp.expand(g_on).as_real_imag()
    weight = _back(1 / (1 - 2 * s * re + s**2 * (re**2 + im**2)))
    return Spike(sp.simplify(mu), threshold, sp.simplify(overlap2), sp.factor(weight))


@dataclass(frozen=True)
class EdgeLaw:
    """quantity ~ coeff * sigma^degree * eps^power as eps -> 0 (threshold zeta = 2 sigma (1 - eps))."""

    coeff: sp.Expr
    power: sp.Expr
    degree: int


def _edge_integral(k: int) -> EdgeLaw:
    """M_k = int_zeta^edge (x - zeta)^k rho(x) dx, with x = edge (1 - eps v): leading term in eps."""
    sc = semicircle()
    zeta_ = sc.edge * (1 - eps)
    xv = sc.edge * (1 - eps * v)
    integrand = ((xv - zeta_) ** k * sc.density.subs(x, xv) * sc.edge * eps)  # dx = edge eps dv
    coeff_v, power = sp.simplify(integrand).leadterm(eps)
    coeff = sp.simplify(sp.integrate(coeff_v, (v, 0, 1)))
    degree = k
    coeff = sp.simplify(coeff / sigma**degree)
    if coeff.has(sigma) or not coeff.is_positive:
        raise ArithmeticError(f"edge integral M_{k} is not homogeneous of degree {k}: {coeff}")
    return EdgeLaw(coeff, power, degree)


@dataclass(frozen=True)
class EdgeLaws:
    mass: EdgeLaw  # P = M_0
    first: EdgeLaw  # M_1
    second: EdgeLaw  # M_2: the fitted noise (1/d) Tr f(Y)^2 of the bulk
    pairs: EdgeLaw  # J
    correction: sp.Expr  # the laws hold up to relative corrections of order eps^correction


@lru_cache(maxsize=None)
def edge_laws() -> EdgeLaws:
    """P, M_1, M_2 and J near the edge.

    J = P^2 + 2 int_{x > zeta} (x - zeta) rho(x) [int_{y < zeta} rho(y)/(x - y) dy] dx; as eps -> 0 the
    inner integral tends to the (finite) Stieltjes transform at the edge, g(edge), so the second term
    is 2 g(edge) M_1 to leading order, and the smaller of the two powers of eps wins. The relative
    correction is the gap between the two powers (P^2 against 2 g M_1: eps^(1/2)); the inner integral
    differs from g(edge) by the same order (the sliver of mass P ~ eps^(3/2) above zeta at distance ~ eps).
    """
    sc = semicircle()
    mass, first, second = (_edge_integral(k) for k in (0, 1, 2))
    cross = EdgeLaw(sp.simplify(2 * sc.edge_value * sigma * first.coeff), first.power, 0)
    square = EdgeLaw(mass.coeff**2, 2 * mass.power, 0)
    if (square.power - cross.power).is_positive:
        pairs = cross
    elif (cross.power - square.power).is_positive:
        pairs = square
    else:
        pairs = EdgeLaw(cross.coeff + square.coeff, cross.power, 0)
    correction = sp.Abs(square.power - cross.power) or sp.Integer(1)
    return EdgeLaws(mass, first, second, pairs, correction)


@lru_cache(maxsize=None)
def pair_integral_at_zero() -> sp.Expr:
    """J at zeta = 0 (f = x_+): the pairs with both eigenvalues positive give P(0)^2; a positive x
    and a negative y give x/(x - y); reflecting y -> -y (rho is even) and symmetrising in (x, y)
    turns that into (1/2) iint_{x, y > 0} (x + y)/(x + y) = P(0)^2 / 2, counted twice. So
    J(0) = 2 P(0)^2 with P(0) = int_0^edge rho."""
    sc = semicircle()
    even = sp.simplify(sc.density.subs(x, -x) - sc.density) == 0
    if not even:
        raise ArithmeticError("the bulk density is not even: the reflection argument fails")
    p0 = sp.simplify(sp.integrate(sc.density, (x, 0, sc.edge)))
    return sp.simplify(2 * p0**2)


@lru_cache(maxsize=None)
def peak_ratio() -> sp.Expr:
    """alpha = n/d^2 at which the PSD interpolator (lam -> 0, zeta -> 0, pure-noise bulk) saturates
    the calibration: E[div]/n = J(0)/(2 alpha) = 1 (spec/quadratic.md: the peak is not at n = N)."""
    al = sp.Symbol("alpha", positive=True)
    (root,) = sp.solve(sp.Eq(pair_integral_at_zero() / (2 * al), 1), al)
    return root


@dataclass(frozen=True)
class PeakExpansion:
    """The pure-noise bulk (radius 2 sigma) with the threshold near its centre, zeta = eps sigma, eps -> 0: what the
    SE needs at the PSD interpolation peak (lam -> 0, sigma >> every teacher eigenvalue but the top few)."""

    mass: sp.Expr  # P(0) = int_{x > 0} rho
    pairs: sp.Expr  # J(0)
    second: sp.Expr  # M_2(0)/sigma^2 = int_{x > 0} x^2 rho / sigma^2 (the fitted noise (1/d) Tr f(Y)^2 per sigma^2)
    second_slope: sp.Expr  # -d(M_2/sigma^2)/d eps at 0: M_2/sigma^2 = second - second_slope eps + O(eps^2)
    pairs_kernel: sp.Expr  # d/dzeta of (f(x) - f(y))/(x - y) at zeta = 0, summed over the sign quadrants (x, y > 0)
    pairs_slope: sp.Float  # -dJ/d eps at 0 = -sigma iint_{x, y > 0} pairs_kernel rho rho (> 0; by quadrature)
    critical_samples: sp.Expr  # n at which E[div] = d^2 (P/(2d) + J/2) = n at zeta = 0


_xp, _yp, _zt = sp.symbols("x_p y_p zeta_t", positive=True)


@lru_cache(maxsize=None)
def peak_expansion() -> PeakExpansion:
    """Expand P, J and M_2 of the semicircle around zeta = 0 (rho is even, so every integral folds onto x > 0).

    M_2: Leibniz's rule on int_zeta^edge (x - zeta)^2 rho (the boundary term vanishes). J: d/dzeta of
    (f(x) - f(y))/(x - y), f = (x - zeta)_+, is -(H(x - zeta) - H(y - zeta))/(x - y), non-zero only for pairs on
    opposite sides of zeta; at zeta = 0 the two opposite quadrants, reflected onto x, y > 0, give the kernel
    -2/(x + y), so dJ/dzeta = iint kernel rho rho (finite: a 1/r singularity in two dimensions).
    """
    from .symbols import d

    sc = semicircle()
    unit, edge = sc.density.subs(sigma, 1), sc.edge.subs(sigma, 1)  # homogeneous: work in units of sigma
    p0 = sp.simplify(sp.integrate(unit, (x, 0, edge)))
    theta = sp.Symbol("theta", positive=True)  # x = edge cos(theta): SymPy's direct integral of x^2 rho stalls
    second = sp.simplify(sp.integrate((x**2 * unit).subs(x, edge * sp.cos(theta)) * edge * sp.sin(theta),
                                      (theta, 0, sp.pi / 2)))
    m2 = sp.Integral((x - eps) ** 2 * unit, (x, eps, edge))
    second_slope = sp.simplify(-sp.diff(m2, eps).subs(eps, 0).doit())
    y = sp.Symbol("y", real=True)
    dF = sp.diff((sp.Max(x - _zt, 0) - sp.Max(y - _zt, 0)) / (x - y), _zt).subs(_zt, 0)
    kernel = sp.simplify(sum(dF.subs({x: sx * _xp, y: sy * _yp}) for sx in (1, -1) for sy in (1, -1)))
    if kernel.has(sp.Heaviside) or not (-kernel).is_positive:
        raise ArithmeticError(f"the pair kernel at zeta = 0 is not a negative function: {kernel}")
    integrand = sp.lambdify((_xp, _yp), kernel * unit.subs(x, _xp) * unit.subs(x, _yp), "mpmath")
    pairs_slope = sp.Float(-mpmath.quad(integrand, [0, float(edge)], [0, float(edge)]), 15)
    critical = sp.factor(d**2 * pair_integral_at_zero() / 2 + d * p0 / 2)
    return PeakExpansion(p0, pair_integral_at_zero(), second, second_slope, kernel, pairs_slope, critical)
