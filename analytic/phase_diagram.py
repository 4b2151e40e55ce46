"""The phase diagram: regimes of log_d R in the (ell, kappa) plane, derived by dominant balance.

A regime is a law R ~ d^e (ln d)^p with e linear in (ell, kappa) and the region where it holds
(a union of open polyhedra, as strict linear inequalities with gamma-dependent coefficients).
Branches of ``dominant_balance`` with the same law are merged into one regime.

Region bookkeeping (emptiness, implied and redundant inequalities) is decided by exact rational
linear programmes at sample values of gamma (``GAMMA_SAMPLES``) inside a large box; the laws and
the inequalities themselves stay symbolic in gamma.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from itertools import product

import numpy as np
import sympy as sp
from scipy.optimize import linprog

from .asymptotics import sign_under_domain
from .dominant_balance import (
    Branch,
    enumerate_branches,
    finite_rank_teacher,
    matrix_model,
    matrix_peak_branches,
    peak_branches,
    power_law_teacher,
    scalar_model,
)
from .free_probability import peak_expansion
from .latex import tex
from .state_evolution import channel, se_equations
from .symbols import d, ell, gamma, i, kappa, lam, n, n_eff

GAMMA_SAMPLES = tuple(sp.Rational(x) for x in ("51/100", "3/5", "3/4", "1", "3/2", "2", "3", "5", "10"))
_BOX = 1000  # 0 <= ell <= _BOX, |kappa| <= _BOX: far beyond any exponent of interest, keeps every LP bounded
# A region counts as non-empty when a ball of radius > _EPS fits (in the max-norm sense of the slack):
# vertices of these polyhedra are rationals with small denominators, so genuine regions have slack
# >= 1e-3 even at gamma = 0.51, while LP round-off is ~1e-12.
_EPS = 1e-9


def _rows(constraints, g) -> np.ndarray:
    """Each linear form c0 + c1 ell + c2 kappa at gamma = g as the row (c1, c2, c0)."""
    rows = []
    for c in constraints:
        e = sp.expand(sp.sympify(c).subs(gamma, g))
        rows.append([float(e.coeff(ell)), float(e.coeff(kappa)), float(e.subs({ell: 0, kappa: 0}))])
    return np.array(rows, dtype=float).reshape(-1, 3)


def _max_slack(constraints, g) -> float:
    """max epsilon <= 1 such that every form >= epsilon inside the box, at gamma = g (HiGHS LP)."""
    rows = _rows(constraints, g)
    # variables (ell, kappa, eps); maximise eps subject to -(c1 ell + c2 kappa) + eps <= c0
    A = np.hstack([-rows[:, :2], np.ones((len(rows), 1))])
    res = linprog([0, 0, -1], A_ub=A, b_ub=rows[:, 2], bounds=[(0, _BOX), (-_BOX, _BOX), (None, 1)], method="highs")
    if res.status != 0:
        raise ArithmeticError(f"region LP failed: {res.message}")
    return -res.fun


def _feasible_gammas(constraints) -> tuple:
    return tuple(g for g in GAMMA_SAMPLES if _max_slack(constraints, g) > _EPS)


def _implied(constraint, region, gammas) -> bool:
    """region lies inside {constraint >= 0} at every sampled gamma where region is non-empty."""
    for g in gammas:
        rows = _rows(region, g)
        target = _rows([constraint], g)[0]
        res = linprog(target[:2], A_ub=-rows[:, :2], b_ub=rows[:, 2], bounds=[(0, _BOX), (-_BOX, _BOX)], method="highs")
        if res.status != 0:
            raise ArithmeticError(f"region LP failed: {res.message}")
        if res.fun + target[2] < -_EPS:
            return False
    return True


def _canonical(expr: sp.Expr) -> sp.Expr:
    """The half-plane expr > 0 written as a primitive polynomial, scaled so that |coeff of kappa| = 1
    before clearing denominators (equal half-planes compare equal)."""
    expr = sp.expand(expr)
    for sym in (kappa, ell):
        coeff = sp.simplify(expr.coeff(sym))
        sign = sign_under_domain(coeff) if coeff != 0 else 0
        if sign:
            expr = expr / (sign * coeff)
            break
    num, den = sp.fraction(sp.together(sp.expand(expr)))
    sign = sign_under_domain(den) or 1
    content, factors = sp.factor_list(num)
    kept = sp.Integer(sign) * sp.sign(content)
    for factor, power in factors:
        fsign = sign_under_domain(factor) if not factor.has(ell, kappa) else None
        if fsign:  # a factor of fixed sign (e.g. 2 gamma - 1) does not change the half-plane
            kept *= fsign**power
        else:
            kept *= factor**power
    return sp.expand(sp.Poly(kept, ell, kappa, gamma).primitive()[1].as_expr())


def _minimal(region, gammas) -> tuple:
    """Drop inequalities implied by the others (checked at every sampled gamma)."""
    kept = list(dict.fromkeys(_canonical(c) for c in region))
    for c in list(kept):
        others = [o for o in kept if o is not c]
        if others and _implied(c, others, gammas):
            kept = others
    return tuple(sorted(kept, key=sp.default_sort_key))


def region_condition(pieces, line=None) -> sp.Boolean:
    """The union of the pieces (each a tuple of expressions > 0), on ``line`` if given, as a SymPy relational."""
    ands = [sp.And(*[sp.StrictGreaterThan(c, 0) for c in piece]) for piece in pieces]
    cond = sp.Or(*ands) if len(ands) > 1 else ands[0]
    return sp.And(line, cond) if line is not None else cond


@dataclass(frozen=True)
class Regime:
    """R ~ d^logd_risk (ln d)^log_power where ``condition`` holds."""

    name: str
    logd_risk: sp.Expr
    log_power: sp.Expr
    pieces: tuple  # tuple of regions; each region a tuple of expressions > 0
    mechanisms: tuple  # descriptions of the merged branches
    subleading: tuple  # (logd, log_power, label) of the other terms of R in these branches
    line: sp.Eq | None = None  # the regime lives on this line only (the interpolation peak, ell = 1)
    dominant: tuple = ()  # labels of the term of R that dominates, one per distinct mechanism
    samples: sp.Symbol = n  # what d^ell counts: n (diagonal) or n_eff = n/d (quadratic)
    # the solved scales of each merged branch: (region (exprs > 0), ((unknown name, exponent), ...), pattern)
    branch_scales: tuple = field(default=(), compare=False, repr=False)

    @property
    def condition(self) -> sp.Boolean:
        return region_condition(self.pieces, self.line)

    @property
    def rate(self) -> sp.Expr:
        """The law in (n, d, lam): d^e with ell = log_d n, kappa = log_d lam, times (ln d)^p."""
        e = sp.expand(self.logd_risk)
        e_ell, e_kappa = e.coeff(ell), e.coeff(kappa)
        e0 = sp.expand(e - e_ell * ell - e_kappa * kappa)
        law = sp.powsimp(d**e0 * self.samples**e_ell * lam**e_kappa, force=True)
        return law * sp.log(d) ** self.log_power if self.log_power != 0 else law

    @cached_property
    def _exponent(self):
        return sp.lambdify((ell, kappa, gamma), self.logd_risk, "math")

    def exponent_at(self, ell_value, kappa_value, gamma_value) -> float:
        """log_d R of this regime's law at a point (float)."""
        return float(self._exponent(float(ell_value), float(kappa_value), float(gamma_value)))

    @cached_property
    def _forms(self):
        """The region's linear forms compiled to float functions of (ell, kappa, gamma)."""
        return [[sp.lambdify((ell, kappa, gamma), c, "math") for c in piece] for piece in self.pieces]

    def holds_at(self, ell_value, kappa_value, gamma_value) -> bool:
        """Whether (ell, kappa, gamma) lies in the regime (floating-point test of the inequalities)."""
        point = (float(ell_value), float(kappa_value), float(gamma_value))
        if self.line is not None and point[0] != float(self.line.rhs):
            return False
        return any(all(f(*point) > 0 for f in piece) for piece in self._forms)

    def to_dict(self) -> dict:
        from .latex import regime_latex

        return {
            "name": self.name,
            "condition": sp.sstr(self.condition),
            "logd_risk": sp.sstr(self.logd_risk),
            "log_power": sp.sstr(self.log_power),
            "rate": sp.sstr(self.rate),
            "latex": regime_latex(self),
            "mechanisms": list(self.mechanisms),
            "subleading": [{"logd": sp.sstr(e), "log_power": sp.sstr(p), "term": lab} for e, p, lab in self.subleading],
        }


@dataclass(frozen=True)
class PhaseDiagram:
    model: str
    penalty: str
    noisy: bool
    teacher: str
    regimes: tuple
    equations: tuple = ()  # LaTeX of the state-evolution equations the regimes were derived from
    notes: tuple = ()  # derived facts that are not regimes (e.g. where the PSD interpolator saturates)

    def regime_at(self, ell_value, kappa_value, gamma_value) -> Regime | None:
        """The regime at a point; on the line n = d the peak law takes precedence where it holds."""
        peak = [r for r in self.regimes if r.line is not None and r.holds_at(ell_value, kappa_value, gamma_value)]
        if peak:
            return peak[0]
        hits = [r for r in self.regimes if r.line is None and r.holds_at(ell_value, kappa_value, gamma_value)]
        if len(hits) > 1:
            raise ArithmeticError(f"regimes overlap at {(ell_value, kappa_value, gamma_value)}: {[r.name for r in hits]}")
        return hits[0] if hits else None

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "penalty": self.penalty,
            "noise": "Delta > 0" if self.noisy else "Delta = 0",
            "teacher": self.teacher,
            "state_evolution": list(self.equations),
            "variables": {"ell": "log_d n" if self.model == "diagonal" else "log_d n_eff, n_eff = n/d",
                          "kappa": "log_d lam", "gamma": "teacher decay"},
            "regimes": [r.to_dict() for r in self.regimes],
            "notes": list(self.notes),
        }


def _law_key(b: Branch):
    return (sp.srepr(sp.expand(b.risk.expo)), sp.srepr(sp.expand(b.risk.logp)))


def _describe(b: Branch) -> str:
    parts = [b.pattern]
    if b.learned:
        parts.append(b.learned)
    if ", n = d" in b.pattern:
        parts.append(f"{b.pattern.split(', ', 1)[1]} exactly: the leading terms cancel, first corrections balance")
    if b.saturated:
        parts.append("divergence saturated (df = n: the estimator interpolates)")
    parts.append(f"tau^2 set by {b.balance}; R dominated by {b.risk.label}")
    return "; ".join(parts)


def _name(branches: list[Branch]) -> str:
    b = branches[0]
    if sp.simplify(b.risk.expo) == 0 and sp.simplify(b.risk.logp) == 0:
        return "plateau"
    if ", n = d" in b.pattern:  # on the interpolation line; saturated: the finite-d term holds R down
        return f"interpolation peak ({b.pattern.split(', ', 1)[1]}{', finite-d saturation' if b.saturated else ''})"
    if "fitted noise" in b.risk.label:
        return "interpolation (noise fitted)"
    if b.saturated:
        return "interpolation (basis pursuit)"
    if "noise variance" in b.risk.label:
        return "variance-limited"
    if b.learned.startswith("top K"):
        return "sparse (top-K learned)"
    return "dense (all learned, shrinkage bias)" if b.learned else "shrinkage bias"


def _merge(regions: list, gammas) -> tuple:
    """Union of open polyhedra with one law: one polyhedron when the inequalities implied by every
    piece already cut out exactly the union (checked: each piece's complement within that hull is
    empty at every sampled gamma), otherwise the list of pieces."""
    if len(regions) == 1:
        return (_minimal(regions[0], gammas),)
    candidates = list(dict.fromkeys(_canonical(c) for r in regions for c in r))
    hull = [c for c in candidates if all(_implied(c, r, _feasible_gammas(r)) for r in regions)]
    if hull and _covers(hull, regions, gammas):
        return (_minimal(hull, gammas),)
    return tuple(_minimal(r, gammas) for r in regions)


def _covers(hull, regions, gammas) -> bool:
    """hull \\ union(regions) is empty: for every way of violating one inequality per piece, the
    hull intersected with those violations has no interior (exact LPs at sampled gamma)."""
    for violated in product(*regions):
        cons = list(hull) + [-c for c in violated]
        if _feasible_gammas(cons):
            return False
    return True


MODELS = ("diagonal", "quadratic")
PENALTIES = {"diagonal": ("l1", "l2"), "quadratic": ("trace",)}


def derive(model: str = "diagonal", penalty: str | None = None, noiseless: bool = False,
           teacher: str = "power-law") -> PhaseDiagram:
    """Derive the phase diagram of log_d R: the diagonal network (LASSO SE, or ridge with penalty l2)
    or the quadratic network (trace-norm PSD sensing SE, ell = log_d n_eff)."""
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r} (available: {', '.join(MODELS)})")
    penalty = penalty or PENALTIES[model][0]
    if penalty not in PENALTIES[model]:
        raise ValueError(f"unknown penalty {penalty!r} for the {model} network (choose from {', '.join(PENALTIES[model])})")
    return _derive(model, penalty, bool(noiseless), teacher)


@lru_cache(maxsize=None)
def _derive(model: str, penalty: str, noiseless: bool, teacher: str) -> PhaseDiagram:
    norm2 = n if model == "diagonal" else d  # sum of squares of the teacher in SE units
    if teacher == "power-law":
        segments = power_law_teacher(norm2)
    elif teacher.startswith("finite-rank:"):
        segments = finite_rank_teacher(_rank_exponent(teacher.split(":", 1)[1]), norm2)
    else:
        raise ValueError(f"unknown teacher {teacher!r} (power-law or finite-rank:RHO)")
    if model == "diagonal":
        ch = channel(penalty)
        regimes = _regimes(enumerate_branches(scalar_model(ch), segments, noisy=not noiseless), line=None)
        regimes += _regimes(peak_branches(ch, segments, noisy=not noiseless), line=sp.Eq(ell, 1))
        equations = tuple(tex(e) for e in se_equations(ch, sp.IndexedBase("x_0")[i]))
        notes = ()
    else:
        from . import matrix_channel as mc

        regimes = _regimes(enumerate_branches(matrix_model(), segments, noisy=not noiseless), line=None, samples=n_eff)
        regimes += _regimes(matrix_peak_branches(segments, noisy=not noiseless), line=sp.Eq(ell, 1), samples=n_eff)
        equations = tuple(tex(e) for e in mc.se_equations())
        alpha_c, n_c = mc.peak_ratio(), peak_expansion().critical_samples
        notes = (f"PSD interpolation threshold (lam -> 0, pure-noise bulk): alpha = n/d^2 = J(0)/2 = {alpha_c}; with the "
                 f"diagonal pairs P(0)/(2d) of E[div], n_c = {n_c} exactly, half the d(d+1)/2 free parameters of a "
                 "symmetric matrix; the peak laws on ell = 1 hold on that line (Delta > 0; at Delta = 0 nothing feeds a "
                 "pure-noise bulk, sigma^2 ~ R << 1, so there is no peak and ell = 1 is a boundary)",)
    regimes.sort(key=lambda r: (r.line is not None, sp.default_sort_key(r.logd_risk)))
    return PhaseDiagram(model, penalty, not noiseless, teacher, tuple(regimes), equations, notes)


def _rank_exponent(text: str) -> sp.Rational:
    """rho of ``finite-rank:RHO`` (rank r = d^rho, so 1 <= r <= d): a rational number in [0, 1]."""
    try:
        rho = sp.Rational(text)
    except (TypeError, ValueError, ZeroDivisionError, SyntaxError):
        rho = None
    if rho is None or not rho.is_Rational or not 0 <= rho <= 1:
        raise ValueError(f"finite-rank teacher needs a rational RHO in [0, 1] (rank d^RHO), got {text!r}")
    return rho


def _regimes(branches: list[Branch], line, samples: sp.Symbol = n) -> list[Regime]:
    """Merge the non-empty branches with one law into a regime."""
    domain = [ell] if line is None else []
    groups: dict = {}
    for b in branches:
        gammas = _feasible_gammas(list(b.region) + domain)
        if gammas:
            groups.setdefault(_law_key(b), []).append((b, gammas))
    regimes = []
    for members in groups.values():
        bs = [b for b, _ in members]
        gammas = tuple(sorted({g for _, gs in members for g in gs}))
        regions = list(dict.fromkeys(
            tuple(sorted({_canonical(c) for c in b.region} | {_canonical(c) for c in domain}, key=sp.default_sort_key))
            for b in bs))
        sub = {(sp.sstr(t.expo), sp.sstr(t.logp), t.label): t for b in bs for t in b.risk_terms if t != b.risk}
        regimes.append(
            Regime(
                name=_name(bs),
                logd_risk=sp.factor(sp.expand(bs[0].risk.expo)),
                log_power=sp.simplify(bs[0].risk.logp),
                pieces=_merge(regions, gammas),
                mechanisms=tuple(dict.fromkeys(_describe(b) for b in bs)),
                subleading=tuple((sp.factor(t.expo), sp.simplify(t.logp), t.label) for t in sub.values()
                                 if (t.expo, t.logp) != (bs[0].risk.expo, bs[0].risk.logp)),
                line=line,
                samples=samples,
                dominant=tuple(dict.fromkeys(b.risk.label for b in bs)),
                branch_scales=tuple(dict.fromkeys((b.region, tuple(sorted(b.solution.items())), b.pattern) for b in bs)),
            )
        )
    return regimes
