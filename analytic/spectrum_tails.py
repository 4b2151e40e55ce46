"""Where the learned spectrum keeps the teacher's power-law tail, per regime of the derived phase diagram.

The learned values are the teacher's values shifted by the threshold and broadened by the noise
(diagonal: |theta_hat_i| ~ sqrt(d/n) |eta(x0_i + tau Z; zeta)|; quadratic: eigenvalues (y - zeta)_+ of
Y = S* + sigma W). So they follow the teacher from its top value down to the largest of

    the threshold zeta ~ d^z,   the noise scale (tau ~ d^(t/2); quadratic: sigma = tau / (2 sqrt alpha)),
    the teacher's smallest component,

and the power-law range spans, in powers of d (the same common factor sqrt(d/n) drops out),

    D(ell, kappa, gamma) = log_d(top) - max(z, log_d noise, log_d smallest)     (D log10 d decades).

t and z are the regime's solved scales (``dominant_balance.Branch.solution``, kept per merged branch in
``Regime.branch_scales``); top and smallest come from the teacher profile (``dominant_balance.Segment``):
diagonal SE units x0_i = sqrt(n) c_d i^-gamma (top d^(ell/2), smallest d^(ell/2 - gamma)), quadratic
eigenvalues s_k with sum s_k^2 = d (top d^(1/2)). Which candidate is the largest is decided inside each
branch region by the exact LPs of ``phase_diagram`` (a branch whose region straddles two orderings is split).

Tail exponent (``density_exponent``): rank-ordered values a_k = A k^-gamma have the counting function
N(>x) = (A/x)^(1/gamma), density p = -dN/dx ~ x^-(1 + 1/gamma); after the shift x -> x - zeta the local
exponent -d ln p / d ln v tends to the same value for v >> zeta (a SymPy limit). D <= 0: nothing of the
teacher's law is visible (plateau: nothing above the threshold; or every learned value at the noise level).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

import sympy as sp

from .dominant_balance import Segment, finite_rank_teacher, matrix_noise_shift, power_law_teacher
from .latex import condition_latex, tex
from .phase_diagram import _feasible_gammas, _implied, _minimal, _rank_exponent, derive, region_condition
from .symbols import d, n
from .symbols import ell as ELL, gamma as GAMMA, kappa as KAPPA

CUTOFFS = ("threshold", "noise", "smallest teacher component")
_k, _x, _v, _A, _shift = sp.symbols("k x v A zeta_shift", positive=True)


# ----------------------------------------------------------------------------- the exponent
def density_exponent(values: sp.Expr, k: sp.Symbol = _k) -> sp.Expr | None:
    """Density exponent a of rank-ordered values a_k = ``values``(k): N(>x) = k(x) solving a_k = x,
    p(x) = -dN/dx, a = -d ln p / d ln x (its x -> 0+ limit, the bulk of many components, if not constant).
    None when a_k does not vary with k (a flat, finite-rank teacher has no counting function to follow)."""
    if not sp.sympify(values).has(k) or sp.simplify(sp.diff(values, k)) == 0:
        return None
    roots = sp.solve(sp.Eq(values, _x), k)
    if len(roots) != 1:
        raise ArithmeticError(f"cannot invert a_k = {values} to a counting function")
    density = -sp.diff(roots[0], _x)
    local = sp.simplify(-_x * sp.diff(sp.log(density), _x))
    return local if not local.has(_x) else sp.limit(local, _x, 0, "+")


def shifted_exponent_limit(values: sp.Expr, k: sp.Symbol = _k) -> sp.Expr | None:
    """The local density exponent of the learned values v = a_k - zeta (a_k > zeta) for v / zeta -> oo.

    N_v(>v) = N(>v + zeta), so p_v(v) = p(v + zeta) and -d ln p_v / d ln v = a(v + zeta) v / (v + zeta):
    the threshold bends the law only within a factor of order one of zeta."""
    if density_exponent(values, k) is None:
        return None
    roots = sp.solve(sp.Eq(values, _x), k)
    density = -sp.diff(roots[0], _x).subs(_x, _v + _shift)
    local = sp.simplify(-_v * sp.diff(sp.log(density), _v))
    return sp.simplify(sp.limit(local, _v, sp.oo))


# ----------------------------------------------------------------------------- per regime
@dataclass(frozen=True)
class TailRange:
    """The teacher's power law in the learned spectrum on one piece of a regime.

    ``pieces``: regions (tuples of expressions > 0), the regime's branch region intersected with the
    ordering that makes ``lower_cutoff`` the largest candidate; ``decades_exponent`` D: the law spans
    D log10(d) decades; ``present``: D > 0 there (True / False / the relational when it depends on the point).
    ``scales``: log_d of top, threshold, noise, smallest teacher component."""

    regime: str
    pieces: tuple
    line: sp.Eq | None
    decades_exponent: sp.Expr
    lower_cutoff: str
    tail_exponent: sp.Expr | None
    present: sp.Boolean
    scales: dict
    note: str

    @property
    def condition(self) -> sp.Boolean:
        return region_condition(self.pieces, self.line)

    @property
    def latex(self) -> str:
        expo = "" if self.tail_exponent is None else rf",\ p(v) \sim v^{{-{tex(self.tail_exponent)}}}"
        return rf"D = {tex(self.decades_exponent)}{expo} \quad \text{{for}} \quad {condition_latex(self)}"

    @cached_property
    def _forms(self):
        """The pieces' linear forms and D compiled to float functions of (ell, kappa, gamma)."""
        compile_ = lambda e: sp.lambdify((ELL, KAPPA, GAMMA), e, "math")  # noqa: E731
        return [[compile_(c) for c in piece] for piece in self.pieces], compile_(self.decades_exponent)

    def holds_at(self, ell: float, kappa: float, gamma: float) -> bool:
        """Whether the point lies in one of the pieces (floating-point test of the inequalities)."""
        if self.line is not None and float(ell) != float(self.line.rhs):
            return False
        point = (float(ell), float(kappa), float(gamma))
        return any(all(f(*point) > 0 for f in piece) for piece in self._forms[0])

    def decades_at(self, ell: float, kappa: float, gamma: float) -> float:
        """D at a point (the law spans D log10(d) decades)."""
        return float(self._forms[1](float(ell), float(kappa), float(gamma)))

    def to_dict(self) -> dict:
        return {"regime": self.regime, "condition": sp.sstr(self.condition), "lower_cutoff": self.lower_cutoff,
                "decades_exponent": sp.sstr(self.decades_exponent),
                "tail_exponent": None if self.tail_exponent is None else sp.sstr(self.tail_exponent),
                "present": sp.sstr(self.present), "scales": {k: sp.sstr(v) for k, v in self.scales.items()},
                "note": self.note, "latex": self.latex}


def _segments(model: str, teacher: str) -> tuple[Segment, ...]:
    """The teacher profile in the units of the model's learned values (as ``phase_diagram.derive`` uses it)."""
    norm2 = n if model == "diagonal" else d
    if teacher == "power-law":
        return power_law_teacher(norm2)
    if teacher.startswith("finite-rank:"):
        return finite_rank_teacher(_rank_exponent(teacher.split(":", 1)[1]), norm2)
    raise ValueError(f"unknown teacher {teacher!r} (power-law or finite-rank:RHO)")


def _teacher_law(segments) -> tuple[sp.Expr, sp.Expr, sp.Expr | None]:
    """(log_d top, log_d smallest non-zero component, density exponent of the power-law segment or None)."""
    live = [s for s in segments if s.alpha0 is not None]
    top = sp.expand(live[0].alpha0 + live[0].alpha1 * live[0].j_lo)
    bottom = sp.expand(live[-1].alpha0 + live[-1].alpha1 * live[-1].j_hi)
    sloped = [s for s in live if s.alpha1 != 0]
    exponent = shifted_exponent_limit(_A * _k ** sloped[0].alpha1) if sloped else None
    if exponent is not None and sp.simplify(exponent - density_exponent(_A * _k ** sloped[0].alpha1)) != 0:
        raise ArithmeticError("the threshold shift changed the tail exponent")
    return top, bottom, exponent


def _ordering_pieces(region: list, candidates: dict, domain: list) -> list[tuple[str, list]]:
    """Split a region by which candidate (equal expressions grouped, names joined by ' = ') is largest."""
    groups: dict = {}
    for name, expr in candidates.items():
        key = next((k for k in groups if sp.simplify(groups[k][1] - expr) == 0), None)
        if key is None:
            groups[name] = ([name], sp.expand(expr))
        else:
            groups[key][0].append(name)
    out = []
    for key, (names, expr) in groups.items():
        extra = [sp.expand(expr - other) for k2, (_, other) in groups.items() if k2 != key]
        piece = list(region) + extra
        if _feasible_gammas(piece + domain):
            out.append((" = ".join(names), piece))
    return out


def _present(D: sp.Expr, piece: list, domain: list) -> sp.Boolean:
    gammas = _feasible_gammas(piece + domain)
    if _implied(D, piece + domain, gammas) and _feasible_gammas(piece + domain + [D]):
        return sp.true
    if _implied(-D, piece + domain, gammas):
        return sp.false
    return sp.StrictGreaterThan(D, 0)


def _note(cutoff: str, present: sp.Boolean, exponent) -> str:
    if exponent is None:
        return "the teacher has no power law (finite rank): no tail to inherit"
    if present is sp.false:
        if cutoff.startswith("threshold"):
            return "nothing learned: the threshold is above the top teacher component (atom at 0 only)"
        return "noise-shaped: every learned value is at or below the noise scale"
    return {"threshold": "tail cut by the threshold (top-K components learned)",
            "noise": "tail cut by the noise: below it the learned values are noise-broadened",
            "smallest teacher component": "all teacher components above threshold and noise: the whole law is kept",
            "threshold = noise": "tail cut at the threshold, which sits at the noise level (up to a power of ln d)",
            }.get(cutoff, f"tail cut where {cutoff} meet")


def tail_table(model: str = "diagonal", noiseless: bool = False, teacher: str = "power-law") -> list[TailRange]:
    """Per regime piece of ``derive(model, noiseless=...)``: D, the lower cutoff, the tail exponent and presence."""
    return list(_tail_table(model, bool(noiseless), teacher))


@lru_cache(maxsize=None)
def _tail_table(model: str, noiseless: bool, teacher: str) -> tuple[TailRange, ...]:
    diagram = derive(model, noiseless=noiseless, teacher=teacher)
    top, bottom, exponent = _teacher_law(_segments(model, teacher))
    shift = sp.Integer(0) if model == "diagonal" else matrix_noise_shift()
    grouped: dict = {}
    for regime in diagram.regimes:
        at = {} if regime.line is None else {regime.line.lhs: regime.line.rhs}
        domain = [ELL] if regime.line is None else []
        for region, solution, _pattern in regime.branch_scales:
            sol = {sp.Symbol(k, real=True): v for k, v in solution}
            t_, z_ = (sp.expand(sol[sp.Symbol(u, real=True)]) for u in ("t", "z"))
            scales = {"top": top, "threshold": z_, "noise": sp.expand(t_ / 2 + shift), "smallest": bottom}
            scales = {k: sp.expand(sp.sympify(v).subs(at)) for k, v in scales.items()}
            cands = dict(zip(CUTOFFS, (scales["threshold"], scales["noise"], scales["smallest"])))
            if exponent is None:  # a flat teacher: its whole law is one value, no range to follow
                cands = {"none (flat teacher)": scales["top"]}
            for cutoff, piece in _ordering_pieces(list(region), cands, domain):
                D = sp.expand(scales["top"] - next(v for k, v in cands.items() if cutoff.startswith(k)))
                key = (regime.name, sp.srepr(D), cutoff, sp.srepr(regime.line))
                entry = grouped.setdefault(key, {"regime": regime, "D": D, "cutoff": cutoff, "scales": scales,
                                                 "pieces": [], "domain": domain})
                entry["pieces"].append(tuple(piece))
    out = []
    for e in grouped.values():
        by_presence: dict = {}
        for piece in dict.fromkeys(e["pieces"]):
            gammas = _feasible_gammas(list(piece) + e["domain"])
            minimal = _minimal(list(piece) + e["domain"], gammas)
            by_presence.setdefault(_present(e["D"], list(piece), e["domain"]), []).append(minimal)
        for present, pieces in by_presence.items():
            tail_exp = exponent if present is not sp.false else None
            out.append(TailRange(e["regime"].name, tuple(dict.fromkeys(pieces)), e["regime"].line, e["D"], e["cutoff"],
                                 tail_exp, present, e["scales"], _note(e["cutoff"], present, exponent)))
    return tuple(out)


def tail_range_at(model: str, ell: float, kappa: float, gamma: float, noiseless: bool = False,
                  teacher: str = "power-law") -> TailRange | None:
    """The tail range holding at a point of its regime (the interpolation peak first on ell = 1, as ``regime_at``);
    None on a boundary between regimes or between two cutoffs."""
    regime = derive(model, noiseless=noiseless, teacher=teacher).regime_at(ell, kappa, gamma)
    if regime is None:
        return None
    hits = [r for r in tail_table(model, noiseless, teacher)
            if r.regime == regime.name and r.line == regime.line and r.holds_at(ell, kappa, gamma)]
    if len(hits) > 1:
        raise ArithmeticError(f"tail ranges overlap at {(ell, kappa, gamma)}")
    return hits[0] if hits else None


def predicted_tail(model: str, ell: float, kappa: float, gamma: float, noiseless: bool = False,
                   teacher: str = "power-law") -> dict:
    """The derived tail at a point, as floats: D (decades per decade of d), the cutoff, the exponent 1 + 1/gamma,
    log_d of the scales. ``regime`` is None (and every value None) on a boundary: no single tail law there."""
    r = tail_range_at(model, ell, kappa, gamma, noiseless, teacher)
    if r is None:
        return {"regime": None, "present": None, "decades_exponent": None, "lower_cutoff": None,
                "tail_exponent": None, "count_exponent": None, "scales": None,
                "note": "on a boundary (regimes or cutoffs): no single tail law"}
    at = {ELL: ell, KAPPA: kappa, GAMMA: gamma}
    D = r.decades_at(ell, kappa, gamma)
    a = None if r.tail_exponent is None else float(r.tail_exponent.subs(at))
    return {"regime": r.regime, "present": D > 0, "decades_exponent": D, "lower_cutoff": r.lower_cutoff,
            "tail_exponent": a,
            # N(>x) ~ x^-(a - 1): the tail holds d^(D (a - 1)) learned teacher components
            "count_exponent": None if a is None else max(D, 0.0) * (a - 1.0),
            "scales": {k: float(sp.sympify(v).subs(at)) for k, v in r.scales.items()}, "note": r.note}


def tail_table_latex(model: str = "diagonal", noiseless: bool = False) -> str:
    """A booktabs table: regime, lower cutoff, D (decades = D log10 d), tail exponent, region."""
    rows = [r"\begin{tabular}{lllll}", r"\toprule",
            r"regime & cutoff & $D$ & density exponent & region \\", r"\midrule"]
    for t in tail_table(model, noiseless):
        expo = "--" if t.tail_exponent is None else f"${tex(t.tail_exponent)}$"
        rows.append(rf"{t.regime} & {t.lower_cutoff} & ${tex(t.decades_exponent)}$ & {expo} & ${condition_latex(t)}$ \\")
    rows += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(rows)
