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
from itertools import permutations, product
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


def _candidates(degree: int, laurent: bool = False, scales: tuple = SCALES):
    """Monomials of total degree ``degree`` in the scales; powers >= 0, or in [-2, degree + 2] if laurent."""
    lo, hi = (-2, degree + 2) if laurent else (0, degree)
    out = []
    for powers in product(range(lo, hi + 1), repeat=len(scales) - 1):
        last = degree - sum(powers)
        if lo <= last <= hi:
            out.append(sp.Mul(*[v**p for v, p in zip(scales, powers + (last,))]))
    return out


def homogeneity_degree(expr: sp.Expr) -> int:
    s = sp.Symbol("s", positive=True)
    ratio = sp.simplify(expr.subs({a: s * a, zeta: s * zeta, tau: s * tau}, simultaneous=True) / expr)
    q = sp.simplify(sp.expand_log(sp.log(ratio), force=True) / sp.log(s))
    if q.free_symbols or not q.is_integer or q < 0:
        raise ValueError(f"channel moment {expr} is not homogeneous of integer degree in (a, zeta, tau)")
    return int(q)


def path(order: tuple) -> dict:
    """The path realising a strict ordering of the scales (largest first): scale -> L^exponent."""
    return {sym: _L**p for sym, p in zip(order, _PATH)}


def bisect_leading(ratio_limit, ratio_value, degree: int, order: tuple, laurent: bool = False, what: str = "F",
                   scales: tuple = SCALES) -> Leading:
    """Leading monomial of a homogeneous F of the given degree along ``path(order)``: bisect the
    candidate monomials (sorted by their size on the path) with ratio_limit(m) = lim_{L->oo} F/m on
    the path; the limit found is checked against ratio_value(m) = F/m evaluated at L = _CHECK_L."""
    exponents = dict(zip(order, _PATH))
    on_path = path(order)
    size = lambda m: sum(p * exponents[v] for v, p in m.as_powers_dict().items() if v in exponents)  # noqa: E731
    ranked = sorted(_candidates(degree, laurent, scales), key=size)
    lo, hi = 0, len(ranked) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        limit = ratio_limit(ranked[mid].subs(on_path))
        if limit == 0:  # F is smaller than this monomial
            hi = mid - 1
        elif limit.is_finite:
            value = ratio_value(ranked[mid].subs(on_path))
            if abs(value - limit) > _CHECK_RTOL * abs(limit):
                raise ArithmeticError(f"limit {limit} of {what} disagrees with its value {value} at L={_CHECK_L}")
            return Leading(ranked[mid], limit)
        else:
            lo = mid + 1
    if hi < 0 and ratio_limit(_L ** (-10 * _PATH[0])) == 0:
        return Leading(None, sp.Integer(0))  # vanishes faster than any power of L
    raise ArithmeticError(f"no leading monomial for {what} in zone {order}")


def _leading(expr: sp.Expr, order: tuple, laurent: bool = False) -> Leading:
    """Leading monomial of a closed-form channel moment along a zone (SymPy limits, numeric check)."""
    on_path = sp.simplify(expr.subs(path(order)))

    def value(m):
        with mpmath.workdps(60):
            return sp.N((on_path / m).subs(_L, _CHECK_L), 50)

    return bisect_leading(lambda m: sp.limit(on_path / m, _L, sp.oo), value, homogeneity_degree(expr), order, laurent,
                          str(expr))


def channel_key(ch: Channel) -> str:
    """What a channel's derived tables depend on: its moment expressions."""
    return f"{sp.srepr(ch.mse)}|{sp.srepr(ch.div)}"


def _cache_file(kind: str, key: str) -> Path | None:
    """Where a derived table is memoised: keyed by what it was derived from and the SymPy version."""
    root = os.environ.get("SCALINGLAB_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "scalinglab"
    )
    digest = hashlib.sha256(f"{kind}|{key}|{sp.__version__}|1".encode()).hexdigest()
    return Path(root) / f"{kind}-{digest[:24]}.json"


def _memoised(kind: str, key: str, compute):
    """Run ``compute`` (returning SymPy objects in plain containers) once per machine; cache as srepr."""
    file = _cache_file(kind, key)
    try:
        return sp.sympify(json.loads(file.read_text()), locals=vars(sp))
    except (OSError, ValueError):
        pass
    result = compute()
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_suffix(".tmp")
        tmp.write_text(json.dumps(_srepr_tree(result)))
        tmp.replace(file)
    except OSError:
        pass  # a read-only home only costs the re-derivation next time
    return result


def _srepr_tree(obj):
    if isinstance(obj, (list, tuple)):
        return [_srepr_tree(x) for x in obj]
    return sp.srepr(obj)


def leading_table(kind: str, key: str, orders, pair) -> dict[tuple, tuple[Leading, Leading]]:
    """{order: pair(order)} for pairs of Leading, memoised per machine (``_memoised``)."""

    def compute():
        rows = []
        for order in orders:
            rows.append([x for lead in pair(order) for x in (sp.nan if lead.monomial is None else lead.monomial, lead.coeff)])
        return rows

    rows = _memoised(kind, key, compute)
    lead = lambda mono, coeff: Leading(None if mono is sp.nan else mono, coeff)  # noqa: E731
    return {order: (lead(r[0], r[1]), lead(r[2], r[3])) for order, r in zip(orders, rows)}


@lru_cache(maxsize=None)
def zone_table(ch: Channel) -> dict[tuple, tuple[Leading, Leading]]:
    """{ordering (largest first): (leading of mse, leading of div)} over all orderings of (a, zeta, tau)."""
    return leading_table("zones", channel_key(ch), list(permutations(SCALES)),
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

    return leading_table("corrections", channel_key(ch), BELOW_NOISE_ZONES, pair)


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
