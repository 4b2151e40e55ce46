"""Dominant balance on the state-evolution fixed point (spec/method.md, steps 2-4).

Power-law ansatz for the unknowns, each a power of d times a power of ln d:

    tau^2 ~ d^t (ln d)^tl,   zeta ~ d^z (ln d)^zl,
    T = Q(zeta/tau) ~ d^-s (ln d)^sl      (threshold a log-large multiple of the noise),
    1 - (1/n) sum_i div_i ~ d^-g (ln d)^gl   (saturated divergence: the estimator interpolates).

Every sum over the teacher spectrum becomes a max of such terms (``asymptotics.power_sum``) and
every equation a max-plus equation. A *branch* chooses: the pattern of the scales (threshold
above / below / at the noise), where each breakpoint a_i = scale falls in the spectrum, the term
that balances each equation and the term that dominates R. Inside a branch the equations are
linear in the unknown exponents (``sympy.linsolve``); the branch holds where every choice really
dominates, a conjunction of linear inequalities in (ell, kappa, gamma). Terms are compared
lexicographically: first the power of d, then the power of ln d.

The same engine serves the quadratic network (``matrix_model``): one channel per teacher
eigen-direction (``matrix_channel``), tau^2 = Delta + 2 m with the noise scale sigma = tau / (2 sqrt(alpha)),
and a bulk edge (power laws in eps) in place of the Gaussian tail.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import sympy as sp

from .asymptotics import BELOW_NOISE_ZONES, SCALES, correction_table, noise_tail, power_sum, sign_under_domain, zone_table
from .state_evolution import Channel
from .symbols import a, d, ell, gamma, i, kappa, lam, n, tau, zeta

t, tl, z, zl, s, sl = sp.symbols("t t_l z z_l s s_l", real=True)
UNKNOWNS = (t, tl, z, zl, s, sl)
j = sp.Symbol("j", nonnegative=True)


@dataclass(frozen=True)
class Term:
    """A positive quantity of order d^expo (ln d)^logp."""

    expo: sp.Expr
    logp: sp.Expr
    label: str

    def subs(self, sol: dict) -> "Term":
        return Term(sp.simplify(sp.sympify(self.expo).subs(sol)), sp.simplify(sp.sympify(self.logp).subs(sol)), self.label)

    def shifted(self, expo, logp=0, label=None) -> "Term":
        return Term(sp.expand(self.expo + expo), sp.expand(self.logp + logp), label or self.label)


ONE = Term(sp.Integer(0), sp.Integer(0), "1")


# ----------------------------------------------------------------------------- teacher profiles
@dataclass(frozen=True)
class Segment:
    """Teacher components i = d^j, j in [j_lo, j_hi], with log_d |x0_i| = alpha0 + alpha1 j (None: x0 = 0)."""

    j_lo: sp.Expr
    j_hi: sp.Expr
    alpha0: sp.Expr | None
    alpha1: sp.Expr


def _log_profile(x0: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """log_d x0 at i = d^j, n = d^ell, as alpha0 + alpha1 j (derived by expanding the logarithm)."""
    logd = sp.expand(sp.expand_log(sp.log(x0.subs({n: d**ell, i: d**j})), force=True) / sp.log(d))
    logd = sp.expand(sp.simplify(logd))
    alpha1 = sp.diff(logd, j)
    alpha0 = sp.expand(logd - alpha1 * j)
    if alpha0.has(d) or alpha1.has(j):
        raise ValueError(f"teacher {x0} is not a power law in (n, i)")
    return alpha0, alpha1


def power_law_teacher(norm2: sp.Expr = n) -> tuple[Segment, ...]:
    """x0_i = sqrt(norm2) c_d i^-gamma, i = 1..d (c_d -> zeta(2 gamma)^-1/2 = O(1) for gamma > 1/2):
    norm2 = n for the diagonal network in SE units, d for the quadratic teacher's eigenvalues."""
    alpha0, alpha1 = _log_profile(sp.sqrt(norm2) * i ** (-gamma))
    return (Segment(sp.Integer(0), sp.Integer(1), alpha0, alpha1),)


def finite_rank_teacher(rho: sp.Expr, norm2: sp.Expr = n) -> tuple[Segment, ...]:
    """r = d^rho equal components sqrt(norm2/r), the other d - r zero (same sum of squares norm2)."""
    alpha0, alpha1 = _log_profile(sp.sqrt(norm2 / d**rho))
    return (Segment(sp.Integer(0), rho, alpha0, alpha1), Segment(rho, sp.Integer(1), None, sp.Integer(0)))


# ----------------------------------------------------------------------------- channel patterns
@dataclass(frozen=True)
class Zone:
    """Components with lower < a < upper (scales as Terms; None = unbounded) and their leading terms.

    ``terms`` maps a quantity ("mse", "div", ...) to a tuple of (k, Term): a^k times the a-free Term.
    """

    upper: Term | None
    lower: Term | None
    terms: dict


@dataclass(frozen=True)
class Pattern:
    name: str
    zones: tuple
    equalities: tuple = ()  # (lhs, rhs) pairs that fix unknowns
    conditions: tuple = ()  # (smaller Term, larger Term) pairs that must hold strictly
    correction: Term | None = None  # relative size of the corrections to the pattern's asymptotic laws


def _scale_terms(noise_shift: sp.Expr = sp.Integer(0)) -> dict:
    """zeta ~ d^z (ln d)^zl and the channel's noise scale tau ~ d^{t/2 + noise_shift} (ln d)^{tl/2}."""
    return {zeta: Term(z, zl, "zeta"), tau: Term(t / 2 + noise_shift, tl / 2, "tau")}


def _monomial_term(monomial: sp.Expr, label: str, sc: dict | None = None) -> tuple[int, Term]:
    """a^k zeta^p tau^q -> (k, d^{p z + q t/2} (ln d)^{p zl + q tl/2}) with the scales ``sc``."""
    powers = monomial.as_powers_dict()
    k, p, q = (int(powers.get(v, 0)) for v in SCALES)
    sc = sc or _scale_terms()
    return k, Term(sp.expand(p * sc[zeta].expo + q * sc[tau].expo), sp.expand(p * sc[zeta].logp + q * sc[tau].logp), label)


def _label(monomial: sp.Expr) -> str:
    """Name of a leading mse monomial (after dividing by the dominant denominator)."""
    powers = monomial.as_powers_dict()
    if powers.get(a, 0) > 0 and powers.get(zeta, 0) > 0:
        return "shrinkage bias a_i^2 zeta^2"
    if powers.get(a, 0) > 0:
        return "unlearned signal a_i^2"
    if powers.get(zeta, 0) > 0:
        return "shrinkage zeta^2 of learned components"
    return "noise variance tau^2"


def _zone_from_table(table, order, upper, lower, extra_mse=(), extra_div=(), sc=None) -> Zone:
    mse_lead, div_lead = table[order]
    mse = [] if mse_lead.monomial is None else [_monomial_term(mse_lead.monomial, _label(mse_lead.monomial), sc)]
    div = [] if div_lead.monomial is None else [_monomial_term(div_lead.monomial, "active components", sc)]
    return Zone(upper, lower, {"mse": tuple(mse) + tuple(extra_mse), "div": tuple(div) + tuple(extra_div)})


def _merge_equal_zones(zones: list[Zone]) -> tuple[Zone, ...]:
    """A breakpoint between two zones with the same leading terms changes nothing: drop it."""
    merged = [zones[0]]
    for zone in zones[1:]:
        prev = merged[-1]
        if prev.terms == zone.terms:
            merged[-1] = Zone(prev.upper, zone.lower, prev.terms)
        else:
            merged.append(zone)
    return tuple(merged)


def thresholding_patterns(ch: Channel) -> list[Pattern]:
    """Threshold above the noise, below it, or at a log-large multiple of it (Gaussian tails)."""
    table = zone_table(ch)
    sc = _scale_terms()
    above = [
        _zone_from_table(table, (a, zeta, tau), None, sc[zeta]),
        _zone_from_table(table, (zeta, a, tau), sc[zeta], sc[tau]),
        _zone_from_table(table, (zeta, tau, a), sc[tau], None),
    ]
    below = [
        _zone_from_table(table, (a, tau, zeta), None, sc[tau]),
        _zone_from_table(table, (tau, a, zeta), sc[tau], sc[zeta]),
        _zone_from_table(table, (tau, zeta, a), sc[zeta], None),
    ]
    tail = noise_tail(ch)
    # zeta = c tau with c^2 = (s / rate) ln d: zeta is tau times (ln d)^(1/2); c^-k adds (ln d)^(-k/2)
    tail_mse = (0, Term(t - s, tl + sl - sp.Rational(tail.mse.power, 2), "fitted noise (Gaussian tail)"))
    tail_div = (0, Term(-s, sl - sp.Rational(tail.div.power, 2), "noise components crossing the threshold"))
    at_noise = [
        _zone_from_table(table, (a, zeta, tau), None, sc[zeta]),
        _zone_from_table(table, (zeta, tau, a), sc[zeta], None, (tail_mse,), (tail_div,)),
    ]
    return [
        Pattern("threshold above the noise", _merge_equal_zones(above), conditions=((sc[tau], sc[zeta]),)),
        Pattern("threshold below the noise", _merge_equal_zones(below), conditions=((sc[zeta], sc[tau]),)),
        Pattern(
            "threshold at the noise level",
            tuple(at_noise),
            equalities=((z, t / 2), (zl, tl / 2 + sp.Rational(1, 2))),
            conditions=((Term(-s, sl, "Q(zeta/tau)"), ONE),),
        ),
    ]


def algebraic_patterns(ch: Channel) -> list[Pattern]:
    """Rational moments: numerators kept as sums of monomials, one dominant monomial per denominator."""
    parts = []
    for expr in (ch.mse, ch.div):
        num, den = sp.fraction(sp.together(expr))
        if den.has(a):
            raise ValueError(f"denominator of {expr} depends on the signal a")
        if any(coeff <= 0 for coeff in sp.Poly(sp.expand(num), *SCALES).coeffs()):
            raise ValueError(f"numerator of {expr} has a negative coefficient: no max-plus form")
        monomials = lambda poly: [sp.Mul(*[v**p for v, p in zip(SCALES, m)]) for m in sp.Poly(sp.expand(poly), *SCALES).monoms()]  # noqa: E731
        parts.append((monomials(num), monomials(den)))
    (mse_num, mse_den), (div_num, div_den) = parts
    out = []
    for dm, dd in product(mse_den, div_den):
        conds = tuple((_monomial_term(o, "")[1], _monomial_term(dm, "")[1]) for o in mse_den if o != dm)
        conds += tuple((_monomial_term(o, "")[1], _monomial_term(dd, "")[1]) for o in div_den if o != dd)
        mse = tuple(_monomial_term(m / dm, _label(m / dm)) for m in mse_num)
        div = tuple(_monomial_term(m / dd, "active components") for m in div_num)
        out.append(Pattern(f"denominators ~ {dm}, {dd}", (Zone(None, None, {"mse": mse, "div": div}),), conditions=conds))
    return out


def matrix_patterns() -> list[Pattern]:
    """The quadratic network: threshold above the bulk edge 2 sigma, inside the bulk, or at the edge,
    zeta = 2 sigma (1 - eps) with eps = d^-s (ln d)^sl -> 0, where the bulk above the threshold adds
    the edge laws: fitted noise sigma^2 eps^p2 per direction (summed over the d bulk directions) and
    pairs eps^pJ to the divergence (``free_probability.edge_laws``)."""
    from . import matrix_channel as mc

    sc = _scale_terms(matrix_noise_shift())
    table, edge = mc.zone_table(), mc.edge_table()
    zone = lambda order, upper, lower, *extra: _zone_from_table(table, order, upper, lower, *extra, sc=sc)  # noqa: E731
    above = [zone((a, zeta, tau), None, sc[zeta]), zone((zeta, a, tau), sc[zeta], sc[tau]), zone((zeta, tau, a), sc[tau], None)]
    below = [zone((a, tau, zeta), None, sc[tau]), zone((tau, a, zeta), sc[tau], sc[zeta]), zone((tau, zeta, a), sc[zeta], None)]
    laws = mc.edge_laws()
    p2, pj = laws.second.power, laws.pairs.power
    tail_mse = (0, Term(2 * sc[tau].expo - p2 * s, 2 * sc[tau].logp + p2 * sl, "fitted noise (bulk above threshold)"))
    tail_div = (0, Term(-pj * s, pj * sl, "bulk eigenvalues crossing the threshold"))
    at_edge = [_zone_from_table(edge, (a, tau), None, sc[zeta], sc=sc),
               _zone_from_table(edge, (tau, a), sc[zeta], None, (tail_mse,), (tail_div,), sc=sc)]
    return [
        Pattern("threshold above the bulk edge", _merge_equal_zones(above), conditions=((sc[tau], sc[zeta]),)),
        Pattern("threshold inside the bulk", _merge_equal_zones(below), conditions=((sc[zeta], sc[tau]),)),
        Pattern("threshold at the bulk edge", tuple(at_edge), equalities=((z, sc[tau].expo), (zl, sc[tau].logp)),
                conditions=((Term(-s, sl, "eps"), ONE),),
                correction=Term(-laws.correction * s, laws.correction * sl, "edge-law corrections")),
    ]


@dataclass(frozen=True)
class Model:
    """What the engine needs of a state evolution: its patterns, the prefactor d^mse_shift of the sum
    of per-component errors in tau^2 and R, and the threshold scale A ~ d^calibration the penalty sets."""

    name: str
    patterns: tuple
    mse_shift: sp.Expr
    calibration: sp.Expr
    thresholding: bool


def _log_exponent(expr: sp.Expr) -> sp.Expr:
    """lim_{d -> oo} log_d(expr) at lam = d^kappa, n = d^ell: the power of d (constants dropped)."""
    logd = sp.expand_log(sp.log(expr.subs({lam: d**kappa, n: d**ell})), force=True)
    return sp.expand(sp.limit(logd / sp.log(d), d, sp.oo))


def scalar_model(ch: Channel) -> Model:
    """The diagonal network: tau^2 = Delta + (1/n) sum_i mse_i, A = lam (d/n)^{q/2}."""
    pats = thresholding_patterns(ch) if ch.thresholding else algebraic_patterns(ch)
    return Model(ch.name, tuple(pats), _log_exponent(1 / n), _log_exponent(ch.calibration), ch.thresholding)


def matrix_noise_shift() -> sp.Expr:
    """log_d(sigma / tau) with sigma = tau / (2 sqrt(alpha)), alpha = n/d^2 = n_eff/d (n stands for n_eff)."""
    return _log_exponent(sp.sqrt(1 / (4 * (n / d))))


def matrix_model() -> Model:
    """The quadratic network: tau^2 = 4 alpha sigma^2 = Delta + 2 m, m = (1/d) sum_k mse_k, and
    A = lam / (2 d alpha) (``matrix_channel.calibration``; ell = log_d n_eff, n_eff = n/d)."""
    from . import matrix_channel as mc

    return Model("trace", tuple(matrix_patterns()), _log_exponent(1 / d), _log_exponent(mc.calibration()), True)


# ----------------------------------------------------------------------------- comparisons
def lex_less(small: Term, large: Term, strict: bool = True):
    """Conditions for small < large (d-power first, then ln d-power): True, False or [expr > 0, ...]."""
    diff = sp.simplify(sp.sympify(large.expo) - sp.sympify(small.expo))
    sign = sign_under_domain(diff)
    if sign == 0:
        dl = sp.simplify(sp.sympify(large.logp) - sp.sympify(small.logp))
        lsign = sign_under_domain(dl)
        if lsign is None:
            return [dl > 0]
        return lsign > 0 or (lsign == 0 and not strict)
    if sign is not None:
        return sign > 0
    return [diff > 0]


def _collect(conds: list, new) -> bool:
    """Append the conditions of a comparison; False when it can never hold."""
    if new is False:
        return False
    if new is not True:
        conds.extend(new)
    return True


# ----------------------------------------------------------------------------- sums over the spectrum
def _breakpoint(seg: Segment, scale: Term) -> tuple[sp.Expr, sp.Expr]:
    """(j, jl) where |x0_i| = scale on a sloped segment: i^alpha1 d^alpha0 = d^X (ln d)^Xl."""
    return sp.expand((scale.expo - seg.alpha0) / seg.alpha1), sp.expand(scale.logp / seg.alpha1)


def _placement_options(seg: Segment) -> tuple[str, ...]:
    if seg.alpha0 is None:
        return ("below",)
    return ("above", "cross", "below") if seg.alpha1 != 0 else ("above", "below")


def _placement_comparisons(seg: Segment, scale: Term, where: str) -> list[tuple[Term, Term]]:
    """(smaller, larger) pairs saying a is above / below the scale on the whole segment, or crosses it."""
    if seg.alpha0 is None:
        return []
    top = Term(seg.alpha0 + seg.alpha1 * seg.j_lo, 0, "a(j_lo)")
    bottom = Term(seg.alpha0 + seg.alpha1 * seg.j_hi, 0, "a(j_hi)")
    return {"above": [(scale, bottom)], "below": [(top, scale)], "cross": [(bottom, scale), (scale, top)]}[where]


def _zone_range(seg, zone, place):
    """(lower end, upper end) of j on the segment where zone.lower < a < zone.upper, or None if empty."""
    lo, hi = (seg.j_lo, 0), (seg.j_hi, 0)
    if zone.upper is not None:
        where = place[zone.upper.label]
        if where == "above":
            return None
        if where == "cross":
            lo = _breakpoint(seg, zone.upper)
    if zone.lower is not None:
        where = place[zone.lower.label]
        if where == "below":
            return None
        if where == "cross":
            hi = _breakpoint(seg, zone.lower)
    return lo, hi


def spectrum_sum(segments, zones, place, which: str) -> list[Term]:
    """sum_i of the zone terms over the teacher: one Term per (segment, zone, monomial)."""
    out = []
    for seg, zone in product(segments, zones):
        rng = _zone_range(seg, zone, place[seg])
        if rng is None:
            continue
        (j1, jl1), (j2, jl2) = rng
        for k, term in zone.terms.get(which, ()):
            if seg.alpha0 is None:
                if k > 0:
                    continue  # zero components: a^k = 0
                e, lp, _ = power_sum(sp.Integer(0), (j1, jl1), (j2, jl2))
                out.append(term.shifted(e, lp))
                continue
            e, lp, _ = power_sum(k * seg.alpha1, (j1, jl1), (j2, jl2))
            out.append(term.shifted(k * seg.alpha0 + e, lp))
    return out


# ----------------------------------------------------------------------------- branches
@dataclass(frozen=True)
class Branch:
    """One consistent dominant balance: the solution, the region where it holds and the risk law."""

    pattern: str
    placements: tuple
    balance: str  # the term balancing tau^2
    saturated: bool  # the divergence saturates: (1/n) sum div -> 1 (the estimator interpolates)
    solution: dict
    region: tuple  # expressions that are > 0 inside the region
    risk: Term  # dominant term of R
    risk_terms: tuple  # every term of R, at the solution
    learned: str = ""  # which components are above the threshold


def _unique_solution(eqs, unknowns):
    sols = sp.linsolve(eqs, unknowns)
    if not sols:
        return None
    (sol,) = sols
    if any(v.free_symbols & set(unknowns) for v in sol):
        return None  # under-determined: a balance on a lower-dimensional set only
    return dict(zip(unknowns, sol))


def _learned_description(segments, place, pattern_name) -> str:
    if pattern_name in ("threshold below the noise", "threshold inside the bulk"):
        return "all components pass (threshold below noise)"
    where = place[segments[0]].get("zeta", "below")
    return {"above": "all d components above threshold", "cross": "top K < d components above threshold",
            "below": "no component above threshold"}[where]


def enumerate_branches(model: Model, segments, noisy: bool) -> list[Branch]:
    """All consistent branches of the SE of ``model`` with teacher ``segments``."""
    A = Term(model.calibration, 0, "penalty")
    found = []
    for pat in model.patterns:
        scales = {zone.upper.label: zone.upper for zone in pat.zones if zone.upper is not None}
        scales.update({zone.lower.label: zone.lower for zone in pat.zones if zone.lower is not None})
        seg_choices = []
        for seg in segments:
            names = sorted(scales)
            seg_choices.append([dict(zip(names, combo)) for combo in product(*[_placement_options(seg)] * len(names))])
        for combo in product(*seg_choices):
            place = dict(zip(segments, combo))
            found.extend(_branches_for_placement(model, segments, pat, place, scales, A, noisy))
    return found


def _branches_for_placement(model, segments, pat, place, scales, A, noisy):
    comparisons = list(pat.conditions)
    for seg in segments:
        for name, where in place[seg].items():
            comparisons += _placement_comparisons(seg, scales[name], where)
    mse = [m.shifted(model.mse_shift, 0) for m in spectrum_sum(segments, pat.zones, place, "mse")]
    div = [m.shifted(-ell, 0) for m in spectrum_sum(segments, pat.zones, place, "div")]
    rhs = ([Term(0, 0, "label noise Delta")] if noisy else []) + mse
    out = []
    modes = [None] + list(range(len(div)))
    for bal, mode in product(range(len(rhs)), modes):
        eqs = [sp.Eq(x, y) for x, y in pat.equalities]
        eqs += [sp.Eq(t, rhs[bal].expo), sp.Eq(tl, rhs[bal].logp)]
        if mode is None:  # free: A = zeta
            eqs += [sp.Eq(z, A.expo), sp.Eq(zl, A.logp)]
        else:  # saturated: the chosen divergence term is exactly of order 1, the gap sets A = zeta * gap
            eqs += [sp.Eq(div[mode].expo, 0), sp.Eq(div[mode].logp, 0)]
        if any(e is sp.false for e in eqs):
            continue
        eqs = [e for e in eqs if e is not sp.true]
        unknowns = [u for u in UNKNOWNS if any(e.has(u) for e in eqs)]
        sol = _unique_solution(eqs, unknowns)
        if sol is None:
            continue
        conds: list = []
        ok = all(_collect(conds, lex_less(small.subs(sol), large.subs(sol))) for small, large in comparisons)
        bal_term = rhs[bal].subs(sol)
        ok = ok and all(
            _collect(conds, lex_less(other.subs(sol), bal_term, strict=False)) for k, other in enumerate(rhs) if k != bal
        )
        if mode is None:
            ok = ok and all(_collect(conds, lex_less(term.subs(sol), ONE)) for term in div)
        else:
            ok = ok and all(
                _collect(conds, lex_less(term.subs(sol), ONE, strict=False)) for k, term in enumerate(div) if k != mode
            )
            gap = Term(A.expo - sol[z], A.logp - sol[zl], "1 - df/n")  # A = zeta * gap
            ok = ok and _collect(conds, lex_less(gap, ONE))
        if not ok:
            continue
        risk_terms = tuple(m.subs(sol) for m in mse)
        free = [u for u in UNKNOWNS if u not in sol]
        for r, lead in enumerate(risk_terms):
            if sp.sympify(lead.expo).has(*free) or sp.sympify(lead.logp).has(*free):
                continue  # R would depend on an unknown the equations leave free: not a law
            rconds = list(conds)
            if all(_collect(rconds, lex_less(other, lead, strict=False)) for k, other in enumerate(risk_terms) if k != r):
                rconds = _eliminate(rconds, free)
                if rconds is None:
                    continue
                # terms that depend on a free unknown are below the lead for every admissible value of it
                terms = tuple(x for x in risk_terms if not (sp.sympify(x.expo).has(*free) or sp.sympify(x.logp).has(*free)))
                if pat.correction is not None and s in sol and sp.sympify(mse[r].expo).has(s):  # a law in eps
                    rel = pat.correction.subs(sol)
                    terms += (lead.shifted(rel.expo, rel.logp, f"{pat.correction.label} of {lead.label}"),)
                out.append(
                    Branch(
                        pattern=pat.name,
                        placements=tuple(sorted((str(k2), v) for seg in segments for k2, v in place[seg].items())),
                        balance=rhs[bal].label,
                        saturated=mode is not None,
                        solution={str(k2): v for k2, v in sol.items()},
                        region=tuple(_normalise(c) for c in rconds),
                        risk=lead,
                        risk_terms=terms,
                        learned=_learned_description(segments, place, pat.name) if model.thresholding else "",
                    )
                )
    return out


def _eliminate(conds: list, free: list) -> list | None:
    """Project the region onto (ell, kappa, gamma): the branch holds where *some* value of each
    unknown the equations leave free (e.g. the edge gap eps when the spikes saturate the divergence)
    satisfies every condition. Fourier-Motzkin on linear forms with constant coefficients; a condition
    that still involves a free log power marks a tie of d-powers and makes the branch degenerate
    (None)."""
    exprs = [_normalise(c) for c in conds]
    for var in free:
        if not any(e.has(var) for e in exprs):
            continue
        if var in (tl, zl, sl):
            return None
        lower, upper, rest = [], [], []
        for e in exprs:
            c = sp.simplify(e.coeff(var))
            if c == 0:
                rest.append(e)
            elif sign_under_domain(c) is None or sp.expand(e - c * var).has(var):
                raise ArithmeticError(f"cannot eliminate {var} from {e} > 0")
            else:
                (lower if sign_under_domain(c) > 0 else upper).append((c, sp.expand(e - c * var)))
        # c1 var + r1 > 0 (c1 > 0) and c2 var + r2 > 0 (c2 < 0) have a common var iff r1 (-c2) + r2 c1 > 0
        rest += [sp.expand(r1 * (-c2) + r2 * c1) for c1, r1 in lower for c2, r2 in upper]
        exprs = rest
    return [e > 0 for e in exprs if not (e.is_number and e > 0)] if all(not (e.is_number and e <= 0) for e in exprs) else None


def _normalise(cond: sp.Expr) -> sp.Expr:
    """expr > 0 as the bare expression, expanded."""
    rel = sp.sympify(cond)
    if isinstance(rel, sp.StrictGreaterThan):
        return sp.expand(rel.lhs - rel.rhs)
    if isinstance(rel, sp.StrictLessThan):
        return sp.expand(rel.rhs - rel.lhs)
    raise TypeError(f"unexpected condition {cond}")


# ----------------------------------------------------------------------------- the interpolation peak
def _signed_zone(table, order, upper, lower) -> Zone:
    """Corrections to the below-noise zone ``order``: mse - tau^2 split by sign, and 1 - div."""
    mse, div = table[order]
    terms = {"mse+": (), "mse-": (), "gap": ()}
    if mse.monomial is not None:
        key = "mse+" if mse.coeff > 0 else "mse-"
        terms[key] = (_monomial_term(mse.monomial, "shrinkage zeta^2" if mse.coeff > 0 else "threshold gain -zeta tau"),)
    if div.monomial is not None:
        if div.coeff > 0:
            raise ArithmeticError("div exceeds its leading term below the noise")
        terms["gap"] = (_monomial_term(div.monomial, "inactive fraction zeta/tau"),)
    return Zone(upper, lower, terms)


def peak_branches(ch: Channel, segments, noisy: bool) -> list[Branch]:
    """n = d exactly (ell = 1) with the threshold below the noise.

    There the leading terms cancel identically, (d/n) tau^2 = tau^2 and (d/n) 1 = 1, and the first
    corrections must balance (correction_table):

        0 = Delta + (1/n) sum_i (mse_i - tau^2),     A = zeta (1/n) sum_i (1 - div_i).

    The first equation balances the dominant positive term against the dominant negative one.
    R = (1/n) sum_i mse_i = tau^2 - Delta ~ tau^2 wherever tau^2 >> Delta.
    """
    if not ch.thresholding:
        return []
    table = correction_table(ch)
    sc = _scale_terms()
    (z1, z2, z3) = BELOW_NOISE_ZONES
    zones = _merge_equal_zones([_signed_zone(table, z1, None, sc[tau]), _signed_zone(table, z2, sc[tau], sc[zeta]),
                                _signed_zone(table, z3, sc[zeta], None)])
    at_peak = {ell: 1}
    segs = tuple(Segment(sg.j_lo, sg.j_hi, None if sg.alpha0 is None else sg.alpha0.subs(at_peak), sg.alpha1)
                 for sg in segments)
    scales = {zone.upper.label: zone.upper for zone in zones if zone.upper is not None}
    scales.update({zone.lower.label: zone.lower for zone in zones if zone.lower is not None})
    A = Term(_log_exponent(ch.calibration).subs(at_peak), 0, "penalty")
    names = sorted(scales)
    out = []
    for combo in product(*[[dict(zip(names, c)) for c in product(*[_placement_options(sg)] * len(names))] for sg in segs]):
        place = dict(zip(segs, combo))
        comparisons = [(sc[zeta], sc[tau])]
        for sg in segs:
            for name, where in place[sg].items():
                comparisons += _placement_comparisons(sg, scales[name], where)
        shift = lambda terms: [m.shifted(-1, 0) for m in terms]  # noqa: E731 - the 1/n with n = d
        plus = ([Term(0, 0, "label noise Delta")] if noisy else []) + shift(spectrum_sum(segs, zones, place, "mse+"))
        minus = shift(spectrum_sum(segs, zones, place, "mse-"))
        gaps = shift(spectrum_sum(segs, zones, place, "gap"))
        for p, q, u in product(range(len(plus)), range(len(minus)), range(len(gaps))):
            eqs = [sp.Eq(plus[p].expo, minus[q].expo), sp.Eq(plus[p].logp, minus[q].logp),
                   sp.Eq(A.expo, z + gaps[u].expo), sp.Eq(A.logp, zl + gaps[u].logp)]
            if any(e is sp.false for e in eqs):
                continue
            eqs = [e for e in eqs if e is not sp.true]
            sol = _unique_solution(eqs, [v for v in UNKNOWNS if any(e.has(v) for e in eqs)])
            if sol is None or not {t, tl, z, zl} <= set(sol):
                continue
            conds: list = []
            pairs = list(comparisons) + [(ONE, Term(t, tl, "tau^2"))]  # tau^2 >> Delta, so R ~ tau^2
            pairs += [(o, plus[p]) for k, o in enumerate(plus) if k != p]
            pairs += [(o, minus[q]) for k, o in enumerate(minus) if k != q]
            pairs += [(o, gaps[u]) for k, o in enumerate(gaps) if k != u]
            strict = {id(pr) for pr in pairs[: len(comparisons) + 1]}
            if not all(_collect(conds, lex_less(x.subs(sol), y.subs(sol), strict=id(pr) in strict))
                       for pr in pairs for x, y in [pr]):
                continue
            risk = Term(sol[t], sol[tl], "noise variance tau^2 (interpolation peak)")
            out.append(Branch(
                pattern="threshold below the noise, n = d",
                placements=tuple(sorted((str(k2), v) for sg in segs for k2, v in place[sg].items())),
                balance=f"{plus[p].label} against {minus[q].label}",
                saturated=False,
                solution={str(k2): v for k2, v in sol.items()},
                region=tuple(_normalise(c) for c in conds),
                risk=risk,
                risk_terms=(risk,),
                learned="all components pass (threshold below noise)",
            ))
    return out


def matrix_peak_branches(segments, noisy: bool) -> list[Branch]:
    """The quadratic network on its PSD interpolation line n = n_c (ell = 1), threshold near the centre of a
    pure-noise bulk (free_probability.peak_expansion: zeta = eps sigma, sigma^2 >> 1).

    With alpha = n_c/d^2 the leading terms cancel in both equations (4 alpha_c = 2 M_2(0)/sigma^2 and
    E[div]/n = 1 at eps = 0), and the first corrections balance:

        sigma^2 (4 n_c/d^2 - 2 M_2(0)/sigma^2 + 2 M_2' eps) = Delta + O(1),     lam/(2 d alpha) = zeta (1 - E[div]/n) ~ zeta eps,

    the finite-d pair term 4 n_c/d^2 - 1 (= 1/d, from the diagonal pairs P/(2d)) competing with the threshold's
    gain eps. R = m ~ sigma^2/2. The K ~ (s_1/sigma)^(1/gamma) teacher directions above the bulk (BBP outliers) add
    ~K/d to both corrections; each branch checks that this is below its dominant term or of the same order (then it
    changes constants only).
    """
    if not noisy:
        return []
    from . import matrix_channel as mc
    from .free_probability import peak_expansion

    pe = peak_expansion()
    at_peak = {ell: 1}
    finite = sp.simplify(4 * pe.critical_samples / d**2 - 2 * pe.second)  # what is left of the leading terms
    if sp.limit(finite, d, sp.oo) != 0 or not (pe.second_slope.is_positive and pe.pairs_slope > 0):
        raise ArithmeticError("no cancellation at the PSD interpolation line: no peak to expand")
    e = sp.Symbol("e", real=True)  # log_d eps
    shift = matrix_noise_shift().subs(n, d**ell).subs(at_peak)  # log_d(sigma/tau) at alpha ~ 1
    sig2 = sp.expand(t + 2 * shift)  # log_d sigma^2
    A = Term(_log_exponent(mc.calibration()).subs(at_peak), 0, "penalty")
    gain = Term(sig2 + e, 0, "fitted noise: threshold gain sigma^2 eps (interpolation peak)")
    pairs = Term(sig2 + _log_exponent(finite), 0, "fitted noise: finite-d pairs sigma^2/d (interpolation peak)")
    top = segments[0]
    out = []
    for dominant, other in ((gain, pairs), (pairs, gain)):
        eqs = [sp.Eq(dominant.expo, 0), sp.Eq(z, sig2 / 2 + e), sp.Eq(A.expo, z + e), sp.Eq(tl, 0), sp.Eq(zl, 0)]
        sol = _unique_solution(eqs, [t, tl, z, zl, e])
        if sol is None:
            continue
        conds: list = []
        comparisons = [(other, dominant, True), (ONE, Term(sig2, 0, "sigma^2"), True),  # sigma^2 >> Delta, 1
                       (Term(e, 0, "eps"), ONE, True)]  # the threshold near the centre
        if not all(_collect(conds, lex_less(a_.subs(sol), b_.subs(sol), strict=st)) for a_, b_, st in comparisons):
            continue
        region = [_normalise(c) for c in conds]
        # log_d K is 0 or the count of the top segment above sigma (all of a flat segment: its j_hi); the outliers'
        # K/d must not exceed the dominant term: implied by the region, of the same order (constants), or a new
        # condition (where it fails, e.g. a finite-rank teacher's r outliers, the line is left without a law)
        learned = top.j_hi if top.alpha1 == 0 else sp.expand((sig2.subs(sol) / 2 - top.alpha0) / top.alpha1)
        for k in (sp.Integer(0), learned):
            gap = sp.expand(dominant.expo.subs(sol) - (sig2.subs(sol) + k - 1))
            if sign_under_domain(gap) in (0, 1) or any(sign_under_domain(sp.factor(gap / c)) == 1 for c in region):
                continue
            if not sp.Poly(gap, ell, kappa, gamma).is_linear:
                raise ArithmeticError(f"cannot compare the BBP outliers with the peak balance: {gap}")
            region.append(gap)
        region = tuple(region)
        risk = Term(sig2.subs(sol), 0, dominant.label)
        out.append(Branch(
            pattern="threshold inside a pure-noise bulk, n = d(d+1)/4",
            placements=(),
            balance=f"label noise Delta against {dominant.label}",
            saturated=dominant is pairs,
            solution={str(k): v for k, v in sol.items() if k != e},
            region=region,
            risk=risk,
            risk_terms=(risk,),
            learned="the top K ~ (s_1/sigma)^(1/gamma) directions as outliers, the rest inside the noise bulk",
        ))
    return out
