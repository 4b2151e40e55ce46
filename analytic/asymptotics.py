"""Leading asymptotic behaviour of the scalar channel and of power-law sums (SymPy limits).

* ``zone_table``: for each strict ordering of the scales (a, zeta, tau) the leading monomial of mse
  and of div, from lim_{L->oo} F(L^{p_a}, L^{p_tau}, L^{p_zeta}) / monomial along a path that realises
  the ordering; each limit is checked numerically at a large L (SymPy's limit of sums of erf terms is
  not always reliable unless the expression is simplified first, so we simplify and then verify).
* ``noise_tail``: for a thresholding channel, the pure-noise component a = 0 as c = zeta/tau -> oo:
  F(0, 1, c) ~ C Q(c) c^{-k} with Q the Gaussian tail, and c^2 ~ ln(1/Q) / r with r = -lim ln Q / c^2.
* ``power_sum``: sum_{i=K1}^{K2} i^p ~ K2^{p+1}/(p+1) if p > -1, K1^{p+1}/|p+1| if p < -1 (from the
  antiderivative), which is how every sum over the teacher spectrum is replaced by a power.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from itertools import permutations
from pathlib import Path

import mpmath
import sympy as sp

from .state_evolution import Channel
from .symbols import GAMMA_DOMAIN, a, tau, zeta

SCALES = (a, zeta, tau)
# Path exponents for (largest, middle, smallest): any strictly decreasing triple realises the order;
# with (25, 5, 1) distinct candidate monomials (exponents in [-4, 5]) have distinct sizes on the path.
_PATH = (25, 5, 1)
_L = sp.Symbol("L", positive=True)
# The numerical check evaluates F/monomial at L = 10 (scale ratios >= 10^2) and asks for agreement with
# the limit to 5 %: far looser than the O(L^-2) corrections, far tighter than a wrong monomial (>= 10^2 off).
_CHECK_L, _CHECK_RTOL = 10, 0.05
_MAX_TAIL_POWER = 8


@dataclass(frozen=True)
class Leading:
    """F ~ coeff * monomial along a zone; monomial is None when F vanishes faster than any power."""

    monomial: sp.Expr | None
    coeff: sp.Expr


def _candidates(degree: int, laurent: bool = False):
    """Monomials a^i zeta^j tau^k of total degree ``degree``; i, j, k >= 0, or in [-2, degree + 2] if laurent."""
    lo, hi = (-2, degree + 2) if laurent else (0, degree)
    return [a**p * zeta**q * tau ** (degree - p - q) for p in range(lo, hi + 1) for q in range(lo, hi + 1)
            if lo <= degree - p - q <= hi]


def homogeneity_degree(expr: sp.Expr) -> int:
    s = sp.Symbol("s", positive=True)
    ratio = sp.simplify(expr.subs({a: s * a, zeta: s * zeta, tau: s * tau}, simultaneous=True) / expr)
    q = sp.simplify(sp.expand_log(sp.log(ratio), force=True) / sp.log(s))
    if q.free_symbols or not q.is_integer or q < 0:
        raise ValueError(f"channel moment {expr} is not homogeneous of integer degree in (a, zeta, tau)")
    return int(q)


def _leading(expr: sp.Expr, order: tuple, laurent: bool = False) -> Leading:
    """Bisect the candidate monomials (sorted by their size on the path) with SymPy limits."""
    exponents = dict(zip(order, _PATH))
    path = {sym: _L**p for sym, p in exponents.items()}
    on_path = sp.simplify(expr.subs(path))
    size = lambda m: sum(p * exponents[v] for v, p in m.as_powers_dict().items() if v in exponents)  # noqa: E731
    ranked = sorted(_candidates(homogeneity_degree(expr), laurent), key=size)
    lo, hi = 0, len(ranked) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        limit = sp.limit(on_path / ranked[mid].subs(path), _L, sp.oo)
        if limit == 0:  # F is smaller than this monomial
            hi = mid - 1
        elif limit.is_finite:
            _check(on_path / ranked[mid].subs(path), limit)
            return Leading(ranked[mid], limit)
        else:
            lo = mid + 1
    if hi < 0 and sp.limit(on_path * _L ** (10 * _PATH[0]), _L, sp.oo) == 0:
        return Leading(None, sp.Integer(0))  # vanishes faster than any power of L
    raise ArithmeticError(f"no leading monomial for {expr} in zone {order}")


def _check(ratio: sp.Expr, limit: sp.Expr) -> None:
    with mpmath.workdps(60):
        value = sp.N(ratio.subs(_L, _CHECK_L), 50)
    if abs(value - limit) > _CHECK_RTOL * abs(limit):
        raise ArithmeticError(f"SymPy limit {limit} disagrees with the value {value} at L={_CHECK_L}")


def _cache_file(kind: str, ch: Channel) -> Path | None:
    """Where a derived table is memoised: keyed by the channel's expressions and the SymPy version."""
    root = os.environ.get("SCALINGLAB_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "scalinglab"
    )
    key = hashlib.sha256(f"{kind}|{sp.srepr(ch.mse)}|{sp.srepr(ch.div)}|{sp.__version__}|1".encode()).hexdigest()
    return Path(root) / f"{kind}-{key[:24]}.json"


def _memoised(kind: str, ch: Channel, compute):
    """Run ``compute`` (returning SymPy objects in plain containers) once per machine; cache as srepr."""
    path = _cache_file(kind, ch)
    try:
        return sp.sympify(json.loads(path.read_text()), locals=vars(sp))
    except (OSError, ValueError):
        pass
    result = compute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(_srepr_tree(result)))
        tmp.replace(path)
    except OSError:
        pass  # a read-only home only costs the re-derivation next time
    return result


def _srepr_tree(obj):
    if isinstance(obj, (list, tuple)):
        return [_srepr_tree(x) for x in obj]
    return sp.srepr(obj)


def _leading_table(kind: str, ch: Channel, orders, pair) -> dict[tuple, tuple[Leading, Leading]]:
    """{order: pair(order)} for pairs of Leading, memoised per machine (``_memoised``)."""

    def compute():
        rows = []
        for order in orders:
            rows.append([x for lead in pair(order) for x in (sp.nan if lead.monomial is None else lead.monomial, lead.coeff)])
        return rows

    rows = _memoised(kind, ch, compute)
    lead = lambda mono, coeff: Leading(None if mono is sp.nan else mono, coeff)  # noqa: E731
    return {order: (lead(r[0], r[1]), lead(r[2], r[3])) for order, r in zip(orders, rows)}


@lru_cache(maxsize=None)
def zone_table(ch: Channel) -> dict[tuple, tuple[Leading, Leading]]:
    """{ordering (largest first): (leading of mse, leading of div)} over all orderings of (a, zeta, tau)."""
    return _leading_table("zones", ch, list(permutations(SCALES)),
                          lambda order: (_leading(ch.mse, order), _leading(ch.div, order)))


#: zones with the threshold below the noise (tau largest), used at the interpolation peak
BELOW_NOISE_ZONES = ((a, tau, zeta), (tau, a, zeta), (tau, zeta, a))


@lru_cache(maxsize=None)
def correction_table(ch: Channel) -> dict[tuple, tuple[Leading, Leading]]:
    """Leading (signed) terms of mse - (its zone-leading term) and div - (its zone-leading term) in
    the zones with the threshold below the noise: needed where the leading terms cancel exactly
    (n = d, the interpolation peak). Monomials may carry negative powers (e.g. zeta/tau)."""
    table = zone_table(ch)

    def pair(order):
        m0, v0 = table[order]
        return (_leading(sp.expand(ch.mse - m0.coeff * m0.monomial), order, laurent=True),
                _leading(sp.expand(ch.div - v0.coeff * v0.monomial), order, laurent=True))

    return _leading_table("corrections", ch, BELOW_NOISE_ZONES, pair)


@dataclass(frozen=True)
class NoiseTail:
    """F(0, tau, c tau) ~ coeff * tau^degree * Q(c) * c^(-power) as c -> oo."""

    coeff: sp.Expr
    power: int


@dataclass(frozen=True)
class TailLaw:
    mse: NoiseTail
    div: NoiseTail
    rate: sp.Expr  # Q(c) = exp(-rate c^2 (1 + o(1))), so Q = d^-s gives c^2 ~ (s / rate) ln d


def gaussian_tail(c: sp.Expr) -> sp.Expr:
    return sp.erfc(c / sp.sqrt(2)) / 2


def _tail(expr: sp.Expr, c: sp.Symbol) -> NoiseTail:
    base = sp.simplify(expr.subs({a: 0, tau: 1, zeta: c}) / gaussian_tail(c))
    for k in range(_MAX_TAIL_POWER + 1):
        limit = sp.limit(base * c**k, c, sp.oo)
        if limit.is_finite and limit != 0:
            return NoiseTail(limit, k)
        if limit != 0:
            break
    raise ArithmeticError(f"no algebraic tail law for {expr} relative to Q(c)")


@lru_cache(maxsize=None)
def noise_tail(ch: Channel) -> TailLaw:
    if not ch.thresholding:
        raise ValueError(f"channel {ch.name} has no dead zone and no Gaussian tail")
    c = sp.Symbol("c", positive=True)
    density = sp.exp(-(c**2) / 2) / sp.sqrt(2 * sp.pi)
    if sp.limit(gaussian_tail(c) * c / density, c, sp.oo) != 1:  # Mills: Q(c) ~ phi(c)/c
        raise ArithmeticError("Gaussian tail asymptotics failed")
    rate = -sp.limit(sp.log(density / c) / c**2, c, sp.oo)
    return TailLaw(_tail(ch.mse, c), _tail(ch.div, c), rate)


def sign_under_domain(expr: sp.Expr) -> int | None:
    """Sign of expr for every gamma > 1/2 (and ell > 0), or None when it depends on the point."""
    from .symbols import ell

    ellp = sp.Symbol("ell_pos", positive=True)
    e = sp.simplify(sp.sympify(expr).subs(GAMMA_DOMAIN).subs(ell, ellp))
    if e.is_zero:
        return 0
    if e.is_positive:
        return 1
    if e.is_negative:
        return -1
    return None


def power_sum(p: sp.Expr, lower: tuple, upper: tuple) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """Leading (d-exponent, ln d-exponent, coefficient) of sum_{i=K1}^{K2} i^p.

    K = d^j (ln d)^jl is given as the pair (j, jl); K1 = 1 is (0, 0). Uses the antiderivative of x^p:
    the upper end dominates when p + 1 > 0, the lower when p + 1 < 0 (the sum from i = 1 is then O(1)).
    """
    x = sp.Symbol("x", positive=True)
    antiderivative = sp.integrate(x**p, x, conds="none")
    sign = sign_under_domain(p + 1)
    if sign is None or sign == 0:
        raise ValueError(f"cannot decide the sign of {p + 1} for gamma > 1/2")
    end = upper if sign > 0 else lower
    grow = sp.simplify(antiderivative * (p + 1) / x ** (p + 1))  # = 1 when the antiderivative is x^{p+1}/(p+1)
    if grow != 1:
        raise ArithmeticError(f"unexpected antiderivative {antiderivative}")
    return (sp.expand(end[0] * (p + 1)), sp.expand(end[1] * (p + 1)), 1 / sp.Abs(p + 1))
