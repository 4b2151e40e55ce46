"""The optimal weight decay on the derived phase diagram: min over kappa = log_d lam of log_d R at each
ell = log_d n (n_eff for the quadratic network), at a rational gamma, exactly.

On a regime piece (strict linear inequalities in (ell, kappa)) the exponent e = a ell + b kappa + c is linear; at
fixed ell the piece is an open interval of kappa with ends max_i l_i(ell), min_j u_j(ell) (linear in ell), so
inf_kappa e is reached at the lower end if b > 0, at the upper end if b < 0, and e is flat in kappa if b = 0.
The optimum over the plane is the least of these per-piece optima at each ell; every function involved is linear
in ell, so the answer is piecewise linear with breakpoints among their pairwise intersections. Between two
breakpoints the winning piece is decided exactly (rational arithmetic) at the midpoint. The result: on each
ell-interval, log_d R(lam_opt) and the interval of kappa where it is attained (a single kappa, or a range on
which R's exponent is flat in lam: then only sub-leading terms pick lam_opt inside it).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import sympy as sp

from .phase_diagram import derive
from .symbols import ell, gamma, kappa


@dataclass(frozen=True)
class OptimalPiece:
    """For lo < ell < hi: log_d R(lam_opt) = logd_risk, attained for kappa in (kappa_low, kappa_high) (equal ends:
    one kappa; None: unbounded), in the regimes ``regimes``."""

    lo: sp.Rational
    hi: sp.Expr  # sp.oo for the last piece
    logd_risk: sp.Expr
    kappa_low: sp.Expr | None
    kappa_high: sp.Expr | None
    regimes: tuple

    def to_dict(self) -> dict:
        return {"ell_interval": [sp.sstr(self.lo), sp.sstr(self.hi)], "logd_risk": sp.sstr(self.logd_risk),
                "kappa_opt": [None if k is None else sp.sstr(k) for k in (self.kappa_low, self.kappa_high)],
                "regimes": list(self.regimes)}


def _bounds(piece, g) -> tuple[list, list, list]:
    """Lower / upper kappa bounds (linear in ell) and ell-only forms (> 0) of a piece at gamma = g."""
    lower, upper, ell_only = [], [], []
    for form in piece:
        f = sp.expand(sp.sympify(form).subs(gamma, g))
        q = f.coeff(kappa)
        rest = sp.expand(f - q * kappa)
        if q > 0:
            lower.append(sp.expand(-rest / q))
        elif q < 0:
            upper.append(sp.expand(-rest / q))
        else:
            ell_only.append(rest)
    return lower, upper, ell_only


def _at(expr, value):
    if expr in (sp.oo, -sp.oo):
        return expr
    return sp.Rational(expr.subs(ell, value)) if expr.has(ell) else sp.Rational(expr)


def _candidates(diagram, g):
    """Per regime piece: (name, e(ell, kappa), lower bounds, upper bounds, ell-only forms)."""
    out = []
    for regime in diagram.regimes:
        if regime.line is not None:  # a line of measure zero in ell (the interpolation peak)
            continue
        e = sp.expand(regime.logd_risk.subs(gamma, g))
        for piece in regime.pieces:
            out.append((regime.name, e, *_bounds(piece, g)))
    return out


def _optimum_at(cands, x) -> tuple[sp.Rational, list]:
    """min over kappa at ell = x: (value, [(name, kappa_low, kappa_high, winning linear law)])."""
    best, winners = None, []
    for name, e, lower, upper, ell_only in cands:
        if any(_at(f, x) <= 0 for f in ell_only):
            continue
        lo = max(lower, key=lambda f: _at(f, x)) if lower else None
        hi = min(upper, key=lambda f: _at(f, x)) if upper else None
        if lo is not None and hi is not None and _at(lo, x) >= _at(hi, x):
            continue
        b = e.coeff(kappa)
        if b > 0 and lo is None or b < 0 and hi is None:  # R falls faster than any power as lam -> 0 (or oo):
            law, value = -sp.oo, -sp.oo                     # exact recovery (noiseless, over-sampled)
            entry = (name, None, hi, law) if b > 0 else (name, lo, None, law)
        else:
            end = lo if b > 0 else hi if b < 0 else None
            law = sp.expand(e.subs(kappa, end)) if end is not None else e
            value = _at(law, x)
            entry = (name, lo if end is None else end, hi if end is None else end, law)
        if best is None or value < best:
            best, winners = value, [entry]
        elif value == best:
            winners.append(entry)
    return best, winners


def optimal_weight_decay(model: str = "diagonal", gamma_value=sp.Rational(3, 2), noiseless: bool = False,
                         ell_max: int = 12) -> tuple[OptimalPiece, ...]:
    """The optimal-lam table on 0 < ell < ell_max (then the last law continues) at gamma = gamma_value (rational)."""
    g = sp.nsimplify(gamma_value, rational=True)
    if not g > sp.Rational(1, 2):
        raise ValueError(f"gamma must be > 1/2 (got {gamma_value!r})")
    cands = _candidates(derive(model, noiseless=noiseless), g)
    lines = {sp.expand(f) for _, e, lower, upper, ell_only in cands for f in lower + upper + ell_only}
    for _, e, lower, upper, _ in cands:
        lines |= {sp.expand(e.subs(kappa, f)) for f in lower + upper}  # the per-piece optima at either end
        if e.coeff(kappa) == 0:
            lines.add(e)
    cuts = {sp.Integer(0), sp.Integer(ell_max)}
    for f1, f2 in itertools.combinations(lines, 2):
        diff = sp.expand(f1 - f2)
        if diff.has(ell) and not diff.has(kappa):
            root = sp.solve(diff, ell)
            cuts |= {x for x in root if x.is_rational and 0 < x < ell_max}
    cuts = sorted(cuts)
    pieces = []
    for lo, hi in itertools.pairwise(cuts):
        mid = (lo + hi) / 2
        value, winners = _optimum_at(cands, mid)
        if value is None:
            continue
        law = winners[0][3]  # winners tie at the midpoint, hence on the whole interval (no cut inside)
        k_low = None if any(w[1] is None for w in winners) else min((w[1] for w in winners), key=lambda f: _at(f, mid))
        k_high = None if any(w[2] is None for w in winners) else max((w[2] for w in winners), key=lambda f: _at(f, mid))
        names = tuple(dict.fromkeys(w[0] for w in winners))
        piece = OptimalPiece(lo, hi, law, k_low, k_high, names)
        if pieces and _same(pieces[-1], piece):
            pieces[-1] = OptimalPiece(pieces[-1].lo, hi, law, piece.kappa_low, piece.kappa_high,
                                      tuple(dict.fromkeys(pieces[-1].regimes + names)))
        else:
            pieces.append(piece)
    last = pieces[-1]
    pieces[-1] = OptimalPiece(last.lo, sp.oo, last.logd_risk, last.kappa_low, last.kappa_high, last.regimes)
    return tuple(pieces)


def _same(a: OptimalPiece, b: OptimalPiece) -> bool:
    def same(x, y):
        return (x is None and y is None) or (x is not None and y is not None and (x == y or sp.expand(x - y) == 0))

    return same(a.logd_risk, b.logd_risk) and same(a.kappa_low, b.kappa_low) and same(a.kappa_high, b.kappa_high)


def optimum_at(pieces, ell_value) -> OptimalPiece:
    """The piece of the table holding ell = ell_value."""
    x = sp.nsimplify(ell_value, rational=True)
    for p in pieces:
        if p.lo < x < p.hi:
            return p
    raise ValueError(f"ell = {ell_value} is a breakpoint of the optimal-lam table or outside it")
