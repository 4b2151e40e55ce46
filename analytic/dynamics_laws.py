"""Scaling laws of gradient flow / online SGD for the quadratic network, by dominant balance on the
additive picture (directions learned one by one, in order, at t_j = ell/(8 lam_j), ``riccati``):

    R(t) ~ sum_{K < j <= r} lam_j^2,   K = min(J(t), m),   J(t) = #{j : t_j <= t},   lam_j = c j^{-alpha},

with c fixed by sum_{j<=r} lam_j^2 = 1. Every sum over the spectrum is replaced by its leading term from
the antiderivative (upper end if p + 1 > 0, lower end if p + 1 < 0, a logarithm if p = -1; sum_{j>=1} j^p
= zeta(-p) when the lower end j = 1 dominates). Scaling variables: t = d^s, m = d^mu, r = d^beta, n = d^nu.
The alpha axis is cut where a sum changes its dominant end (roots of p + 1 in alpha); in each piece and
each branch of K (plateau J < 1, front K = J, width K = m, all learned K >= r) the law is d^e (ln d)^l with
the region as linear inequalities. Online SGD: t = eta n with eta = c_eta/(d Tr A), Tr A = c sum_j j^-alpha.
When all r directions are learned R decays exponentially (slowest direction): logd_risk = -oo.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import sympy as sp
from scipy.optimize import linprog

from .latex import tex
from .riccati import lam as lam_sym
from .riccati import learning_time, log_factor, logistic, riccati_rhs, sgd_stability
from .riccati import sigma0 as sigma0_sym
from .riccati import t as t_flow

s, mu, beta, nu = sp.symbols("s mu beta nu", real=True)
varsigma = sp.Symbol("varsigma", real=True)  # sigma0^2 = d^-varsigma (the initialisation scale; sigma0 = O(1): 0)
alpha = sp.Symbol("alpha", nonnegative=True)
t, m, n, r, d = sp.symbols("t m n r d", positive=True)
c_eta = sp.Symbol("c_eta", positive=True)  # eta = c_eta / (d Tr A)
_x, _j = sp.symbols("x j", positive=True)

__all__ = [
    "DynamicsDiagram",
    "DynamicsRegime",
    "derive_dynamics",
    "dynamics_table_latex",
    "ell_coefficient",
    "learning_time",
    "sample_complexity",
    "sgd_stability",
    "time_exponent",
    "width_floor_exponent",
]


@dataclass(frozen=True)
class Scale:
    """coeff * d^e * (ln d)^logs; ``rate`` is the same quantity written in (t, m, n, r, d)."""

    e: sp.Expr
    logs: sp.Expr
    coeff: sp.Expr
    rate: sp.Expr


ONE = Scale(sp.Integer(0), sp.Integer(0), sp.Integer(1), sp.Integer(1))


@dataclass(frozen=True)
class AlphaCase:
    """An open interval (lo, hi) of alpha, or the point lo when hi is None."""

    lo: sp.Expr
    hi: sp.Expr | None

    @property
    def condition(self) -> list:
        if self.hi is None:
            return [sp.Eq(alpha, self.lo)]
        return [sp.StrictGreaterThan(alpha, self.lo)] + ([sp.StrictLessThan(alpha, self.hi)] if self.hi != sp.oo else [])

    def sign(self, expr: sp.Expr) -> int:
        """Sign of an expression linear in alpha on this case (decided at the ends of the interval)."""
        if self.hi is None:
            return int(sp.sign(expr.subs(alpha, self.lo)))
        if any(self.lo < root < self.hi for root in sp.solve(expr, alpha)):
            raise ArithmeticError(f"sign of {expr} changes on {self}")
        return int(sp.sign(expr.subs(alpha, self.inside)))

    @property
    def inside(self) -> sp.Expr:
        """A point of the case."""
        if self.hi is None:
            return self.lo
        return self.lo + 1 if self.hi == sp.oo else (self.lo + self.hi) / 2

    def fix(self, expr):
        return sp.sympify(expr).subs(alpha, self.lo) if self.hi is None else expr


def alpha_cases(exponents) -> list[AlphaCase]:
    """Cut alpha > 0 at the roots of the given p + 1 (linear in alpha): intervals and the points between."""
    roots = sorted({root for p in exponents for root in sp.solve(sp.Eq(p + 1, 0), alpha) if root > 0})
    edges = [sp.Integer(0)] + roots + [sp.oo]
    cases = []
    for k, (lo, hi) in enumerate(itertools.pairwise(edges)):
        if k:
            cases.append(AlphaCase(lo, None))
        cases.append(AlphaCase(lo, hi))
    return cases


def power_sum(p: sp.Expr, lower: Scale, upper: Scale, case: AlphaCase) -> Scale:
    """Leading sum_{j=K1}^{K2} j^p from the antiderivative F of x^p (see the module docstring)."""
    p = case.fix(p)
    F = sp.integrate(_x**p, _x, conds="none")
    sign = case.sign(p + 1)
    if sign == 0:
        if F != sp.log(_x):
            raise ArithmeticError(f"unexpected antiderivative {F}")
        return Scale(sp.Integer(0), sp.Integer(1), sp.expand(upper.e - lower.e), sp.log(upper.rate) - sp.log(lower.rate))
    if sp.simplify(F * (p + 1) / _x ** (p + 1)) != 1:
        raise ArithmeticError(f"unexpected antiderivative {F}")
    full = F.subs(_x, upper.rate) - F.subs(_x, lower.rate)  # the law keeps both ends of a sum from K
    if sign > 0:
        end = upper
    elif lower == ONE:
        value = sp.summation(_j**p, (_j, 1, sp.oo))
        if isinstance(value, sp.Piecewise):  # convergent on this case: take the branch that holds here
            value = next(v for v, cond in value.args if cond.subs(alpha, case.inside) == sp.true)
        return Scale(sp.Integer(0), sp.Integer(0), value, value)
    else:
        end = lower
    rate = F.subs(_x, end.rate) if lower == ONE else full
    return Scale(sp.expand(end.e * (p + 1)), sp.expand(end.logs * (p + 1)), end.coeff ** (p + 1) / (sign * (p + 1)), rate)


def ell_coefficient() -> sp.Expr:
    """lim ell / ln d for ell = ln(lam_j/a_j) + ln(1 + 8 sigma0^2 t_j) with lam_j = d^L (L <= 0),
    a_j ~ m sigma0^2/d (j << m), t_j ~ d^{-L} (t_j = ell/(8 lam_j) up to logs), L = 0 and L < 0 alike."""
    mu_ = sp.Symbol("mu_", positive=True)
    found = set()
    for L in (sp.Integer(0), -sp.Symbol("L", positive=True)):  # lam_j = O(1), lam_j -> 0
        ell = log_factor(d**L, d ** (mu_ - 1) * sigma0_sym**2, sigma0_sym, d ** (-L))
        found.add(sp.simplify(sp.limit(sp.expand_log(ell, force=True) / sp.log(d), d, sp.oo)))
    if len(found) != 1:
        raise ArithmeticError(f"ell / ln d depends on lam_j: {found}")
    return found.pop().subs(mu_, mu)


@dataclass(frozen=True)
class DynamicsRegime:
    """R ~ d^logd_risk (ln d)^log_power where ``condition`` holds (pieces: forms > 0; line: alpha point)."""

    name: str
    view: str  # "time" (variable s) or "samples" (variable nu, online SGD)
    logd_risk: sp.Expr
    log_power: sp.Expr
    forms: tuple  # pieces: the region is the union of the pieces, each a tuple of forms > 0
    alpha_condition: tuple
    rate: sp.Expr
    mechanisms: tuple

    @property
    def line(self):
        eqs = [c for c in self.alpha_condition if isinstance(c, sp.Eq)]
        return eqs[0] if eqs else None

    @property
    def pieces(self) -> tuple:
        ranges = tuple(c.lhs - c.rhs if isinstance(c, sp.StrictGreaterThan) else c.rhs - c.lhs
                       for c in self.alpha_condition if not isinstance(c, sp.Eq))
        return tuple(ranges + piece for piece in self.forms)

    @property
    def condition(self) -> sp.Boolean:
        region = sp.Or(*[sp.And(*[sp.StrictGreaterThan(f, 0) for f in piece]) for piece in self.forms])
        return sp.And(*self.alpha_condition, region)

    def holds_at(self, **point) -> bool:
        """At s (or nu), mu, beta, alpha and varsigma (default 0: sigma0 = O(1), the toolkit's default)."""
        point = {"varsigma": 0, **point}
        values = {sym: sp.nsimplify(point[sym.name]) for sym in (s, mu, beta, nu, alpha, varsigma) if sym.name in point}
        return bool(self.condition.subs(values) == sp.true)

    def to_dict(self) -> dict:
        from .latex import regime_latex

        return {"name": self.name, "view": self.view, "condition": sp.sstr(self.condition),
                "logd_risk": sp.sstr(self.logd_risk), "log_power": sp.sstr(self.log_power),
                "rate": sp.sstr(self.rate), "latex": regime_latex(self), "mechanisms": list(self.mechanisms)}


@dataclass(frozen=True)
class DynamicsDiagram:
    model: str
    teacher: str
    regimes: tuple
    equations: tuple
    notes: tuple = field(default=())

    def regime_at(self, **point) -> DynamicsRegime | None:
        """The regime at s=..., mu=..., beta=..., alpha=... (time view) or with nu=... instead of s (samples)."""
        view = "samples" if "nu" in point else "time"
        hits = [g for g in self.regimes if g.view == view and g.holds_at(**point)]
        if len(hits) > 1:
            raise ArithmeticError(f"regimes overlap at {point}: {[g.name for g in hits]}")
        return hits[0] if hits else None

    def to_dict(self) -> dict:
        return {"model": self.model, "teacher": self.teacher, "flow": list(self.equations),
                "variables": {"s": "log_d t (t = flow time, = eta * steps for SGD)", "mu": "log_d m (student width)",
                              "varsigma": "-log_d sigma0^2 (initialisation W0 ~ N(0, sigma0^2/d); sigma0 = O(1): 0)",
                              "beta": "log_d r (teacher rank, 0 <= beta < 1)", "nu": "log_d n (online SGD samples)",
                              "alpha": "teacher decay, lam_j = c_alpha j^-alpha, ||A||_F = 1"},
                "regimes": [g.to_dict() for g in self.regimes], "notes": list(self.notes)}


def _teacher_constant(case: AlphaCase) -> Scale:
    """c with c^2 sum_{j<=r} j^{-2 alpha} = 1."""
    S = power_sum(-2 * alpha, ONE, Scale(beta, sp.Integer(0), sp.Integer(1), r), case)
    return Scale(-S.e / 2, -S.logs / 2, S.coeff ** sp.Rational(-1, 2), S.rate ** sp.Rational(-1, 2))


def _trace(case: AlphaCase, c: Scale) -> Scale:
    """Tr A = c sum_{j<=r} j^{-alpha}."""
    S = power_sum(-alpha, ONE, Scale(beta, sp.Integer(0), sp.Integer(1), r), case)
    return Scale(sp.expand(c.e + S.e), sp.expand(c.logs + S.logs), c.coeff * S.coeff, c.rate * S.rate)


def _time_of(j, case: AlphaCase, c, ell=None) -> sp.Expr:
    """t_j = ell / (8 lam_j), lam_j = c j^-alpha (the asymptotic learning time of ``riccati``), ell = ln(d/m)."""
    return (sp.log(d / m) if ell is None else ell) / (8 * c * j ** (-case.fix(alpha)))


def _positive_root(roots: list) -> sp.Expr:
    """The one positive root (SymPy lists the complex branches of rational powers, e.g. K^(-5/4) = y, too)."""
    positive = [x for x in roots if not x.has(sp.I) and x.is_positive is not False]  # symbolic alpha: undecided
    if len(positive) != 1:
        raise ArithmeticError(f"expected one positive root, got {roots}")
    return positive[0]


def _front(case: AlphaCase, c: Scale, time: Scale) -> Scale:
    """J(t): solve t = ell j^alpha / (8 c) for j (t_j = ell/(8 lam_j)), ell = (1 - mu) ln d = ln(d/m)."""
    ell, tt, cc = sp.symbols("ell tt cc", positive=True)
    J = _positive_root(sp.solve(sp.Eq(tt, _time_of(_j, case, cc, ell)), _j))
    a_ = case.fix(alpha)
    e = sp.expand((time.e + c.e) / a_)
    lpow = sp.expand((time.logs + c.logs - 1) / a_)
    coeff = J.subs({tt: time.coeff, cc: c.coeff, ell: ell_coefficient()})
    return Scale(e, lpow, coeff, J.subs({tt: time.rate, cc: c.rate, ell: sp.log(d / m)}))


def _tail_rate(case: AlphaCase, c: Scale) -> sp.Expr:
    """After t_r: lam - M_rr ~ lam e^{-8 lam (t - t_r)} (logistic), so R ~ lam_r^2 e^{-16 lam_r (t - t_r)}."""
    gap = sp.limit((lam_sym - logistic()) * sp.exp(8 * lam_sym * (t_flow - learning_time(sigma0_value=0))),
                   t_flow, sp.oo)
    lam_r = c.rate * r ** (-case.fix(alpha))
    return gap.subs(lam_sym, lam_r) ** 2 * sp.exp(-16 * lam_r * (t - _time_of(r, case, c.rate)))


@cache
def spare_mass() -> sp.Expr:
    """||w||^2 of a neuron that no teacher direction pulls (w in ker A): the flow restricted to it,
    dM/dt = 4(AM + MA - 2M^2) with M = g e e^T, A e = 0, gives dg/dt = -8 g^2, so g(t) = sigma0^2/(1 + 8 sigma0^2 t)
    from g(0) = sigma0^2 (a fresh neuron's mass outside the teacher's span, d >> r). Its share of R is g^2
    (||M_perp||_F^2 = Tr G^2): unused neurons add (m - K) g(t)^2."""
    g = sp.Symbol("g", positive=True)
    e2 = sp.diag(0, 1)
    flow = riccati_rhs(g * e2, sp.diag(lam_sym, 0))[1, 1]
    fn = sp.Function("G")
    ode = sp.Eq(fn(t_flow).diff(t_flow), flow.subs(g, fn(t_flow)))
    return sp.simplify(sp.dsolve(ode, fn(t_flow), ics={fn(0): sigma0_sym**2}).rhs)


def _spare_zones(time: Scale) -> list[tuple[sp.Expr, sp.Expr, str]]:
    """(log_d g^2 + ..., ln d power, zone form > 0) of spare_mass()^2 at t = d^time.e (ln d)^time.logs, sigma0^2 =
    d^-varsigma: the leading power in the two zones t << 1/sigma0^2 and t >> 1/sigma0^2, by limits."""
    g2 = spare_mass() ** 2
    D, u = sp.symbols("D u", positive=True)  # D = d, u > 0 the zone's margin
    out = []
    for sign, label in ((-1, "t << 1/sigma0^2: g = sigma0^2"), (1, "t >> 1/sigma0^2: g = 1/(8t)")):
        # along s = varsigma + sign*u: log_D g^2 / log_D -> a linear form in (varsigma, u)
        sv = sp.Symbol("sv", positive=True)
        expr = g2.subs({sigma0_sym: D ** (-sv / 2), t_flow: D ** (sv + sign * u)})
        lead = sp.limit(sp.expand_log(sp.log(expr), force=True) / sp.log(D), D, sp.oo)
        e = sp.expand(lead.subs(u, sign * (time.e - varsigma)).subs(sv, varsigma))
        logs = sp.Integer(0) if sign < 0 else -2 * time.logs
        out.append((e, logs, sp.expand(sign * (time.e - varsigma)), label))
    return out


def _branches(case: AlphaCase, view: str) -> list[DynamicsRegime]:
    c = _teacher_constant(case)
    if view == "time":
        time = Scale(s, sp.Integer(0), sp.Integer(1), t)
    else:  # t = eta n = c_eta n / (d Tr A)
        tr = _trace(case, c)
        time = Scale(sp.expand(nu - 1 - tr.e), -tr.logs, c_eta / tr.coeff, c_eta * n / (d * tr.rate))
    J = _front(case, c, time)
    a_ = case.fix(alpha)
    top = Scale(beta, sp.Integer(0), sp.Integer(1), r)
    width = Scale(mu, sp.Integer(0), sp.Integer(1), m)

    def risk(K):
        return power_sum(-2 * alpha, K, top, case)

    front_e = sp.expand(J.e * a_)  # sign of log_d J, times alpha > 0
    prefix = "" if view == "time" else "samples: "
    law = {-1: "power law", 0: "logarithmic (marginal)", 1: "tail-dominated, no power law"}[case.sign(1 - 2 * alpha)]
    cond = tuple(case.condition)
    g2 = spare_mass() ** 2
    spare_rate = {"t": g2.subs(t_flow, time.rate)}
    out = []

    def compete(name, e, lpow, forms, rate, what, spare_count, spare_name):
        """The teacher's term (e, lpow) against the spare neurons' mass spare_count * g(t)^2 (exponent mu: the
        unused neurons are ~m of them in these branches), zone by zone; each law where it leads."""
        for e_s, l_s, zone, label in _spare_zones(time):
            e_s = sp.expand(mu + e_s)
            out.append(DynamicsRegime(prefix + name, view, e, lpow, (forms + (zone, sp.expand(e - e_s)),), cond, rate,
                                      (what, f"leads the spare neurons' mass ({label})")))
            out.append(DynamicsRegime(prefix + spare_name, view, e_s, l_s, (forms + (zone, sp.expand(e_s - e)),), cond,
                                      spare_count * spare_rate["t"], (f"{spare_count} unused neurons, {label}",
                                                                      f"leads: {what}")))

    compete("plateau", sp.Integer(0), sp.Integer(0), (-front_e,), sp.Integer(1),
            "J(t) < 1: no direction learned, R = sum_j lam_j^2 = 1", m, "spare neurons' mass")
    S = risk(J)
    e, lpow = sp.factor(sp.expand(2 * c.e + S.e)), sp.factor(sp.expand(2 * c.logs + S.logs))
    rate = sp.powsimp(sp.expand(c.rate**2 * S.rate, log=False, power_base=False, power_exp=False), force=True)
    compete(law, e, lpow, (front_e, sp.expand((mu - J.e) * a_), sp.expand((beta - J.e) * a_)), rate,
            "K = J(t) (learning front); R = c^2 sum_{j=K}^r j^(-2 alpha)", m, "spare neurons' mass")  # m - J ~ m
    S = risk(width)
    out.append(DynamicsRegime(prefix + "width floor", view, sp.factor(sp.expand(2 * c.e + S.e)),
                              sp.factor(sp.expand(2 * c.logs + S.logs)), ((sp.expand((J.e - mu) * a_), beta - mu),), cond,
                              sp.powsimp(sp.expand(c.rate**2 * S.rate, log=False, power_base=False, power_exp=False),
                                         force=True),
                              ("K = m < r: directions j > m never learned, every neuron used; "
                               "R = c^2 sum_{j=m}^r j^(-2 alpha)",)))
    learned_decay = sp.sstr(_tail_rate(case, c))
    for e_s, l_s, zone, label in _spare_zones(time):  # m > r: the m - r unused neurons outlast the teacher's error
        out.append(DynamicsRegime(prefix + "all learned: spare neurons' mass", view, sp.expand(mu + e_s), l_s,
                                  ((sp.expand((J.e - beta) * a_), mu - beta, zone),), cond,
                                  (m - r) * spare_rate["t"],
                                  ("J(t) > r, m > r: every direction learned (their error decays exponentially, "
                                   f"{learned_decay}); the m - r unused neurons keep g(t)^2 each, {label}",)))
    return _merged(out, case)


_BOX = 100  # |s|, |nu|, mu, |varsigma| <= _BOX, 0 <= beta <= 1: far beyond any exponent of interest, LPs bounded
_EPS = 1e-6  # genuine pieces have slack >= 1e-3 (rational vertices with small denominators); empty ones ~1e-9


def _piece_is_empty(piece: tuple, case: AlphaCase) -> bool:
    """No ball of radius > _EPS (in the slack of the forms) fits in the piece inside the box, at the alpha values of
    the case (its point, or five values inside its interval): exact in the forms, sampled in alpha (as
    phase_diagram does). HiGHS maximises the common slack eps of every form; LP round-off is ~1e-9."""
    variables = (s, nu, mu, beta, varsigma)
    if case.hi is None:
        alphas = [case.lo]
    else:
        top = case.lo + 10 if case.hi == sp.oo else case.hi
        alphas = [case.lo + (top - case.lo) * sp.Rational(k, 6) for k in range(1, 6)]
    for a_value in alphas:
        rows, rhs = [], []
        for f in piece:  # f = coeff . x + const >= eps  <=>  -coeff . x + eps <= const
            f = sp.expand(sp.sympify(f).subs(alpha, a_value))
            rows.append([-float(f.coeff(v)) for v in variables] + [1.0])
            rhs.append(float(f.subs({v: 0 for v in variables})))
        bounds = [(-_BOX, _BOX), (-_BOX, _BOX), (0, _BOX), (0, 1), (-_BOX, _BOX), (None, 1)]
        res = linprog(np.r_[np.zeros(len(variables)), -1.0], A_ub=np.array(rows), b_ub=np.array(rhs), bounds=bounds,
                      method="highs")
        if res.status == 0 and -res.fun > _EPS:
            return False
    return True


def _merged(regimes: list[DynamicsRegime], case: AlphaCase) -> list[DynamicsRegime]:
    """One regime per law (name, exponent, log power, rate): the union of its non-empty pieces."""
    laws: dict = {}
    for g in regimes:
        pieces = tuple(p for p in g.forms if not _piece_is_empty(p, case))
        if not pieces:
            continue
        g = DynamicsRegime(g.name, g.view, g.logd_risk, g.log_power, pieces, g.alpha_condition, g.rate, g.mechanisms)
        key = (g.name, sp.srepr(g.logd_risk), sp.srepr(g.log_power), sp.srepr(g.rate))
        if key in laws:
            old = laws[key]
            laws[key] = DynamicsRegime(old.name, old.view, old.logd_risk, old.log_power, old.forms + g.forms,
                                       old.alpha_condition, old.rate, tuple(dict.fromkeys(old.mechanisms + g.mechanisms)))
        else:
            laws[key] = g
    return list(laws.values())


def _law_exponent(lam_j: sp.Expr, variable: str) -> sp.Expr:
    """d ln R / d ln t (variable "t": R = int_J^oo lam^2, lam(J) = ell/(8t)) or d ln R / d ln m (R = int_m^oo lam^2)."""
    K, tt, ell = sp.symbols("K tt ell", positive=True)
    R = sp.integrate(lam_j.subs(_j, _x) ** 2, (_x, K, sp.oo), conds="none")
    if variable == "m":
        return sp.simplify(sp.limit(K * sp.diff(sp.log(R), K), K, sp.oo))
    J = _positive_root(sp.solve(sp.Eq(lam_j.subs(_j, K), ell / (8 * tt)), K))
    return sp.simplify(sp.limit(tt * sp.diff(sp.log(R.subs(K, J)), tt), tt, sp.oo))


def _exact(value) -> sp.Expr:
    """A numeric alpha as an exact rational (0.75 -> 3/4): SymPy's integrals of x^(-2 alpha) need it."""
    value = sp.sympify(value)
    return sp.nsimplify(value, rational=True) if value.is_Float else value


def time_exponent(alpha_value=alpha, teacher: sp.Expr | None = None) -> sp.Expr:
    """d log R / d log t in the front regime: -(2 alpha - 1)/alpha for lam_j ~ j^-alpha (alpha > 1/2); for a
    given teacher law lam(j) (in the symbol j) derived the same way; 0 for alpha <= 1/2 (R = O(1) until t_r)."""
    if teacher is None:
        a_ = _exact(alpha_value)
        if a_.is_number and a_ <= sp.Rational(1, 2):
            return sp.Integer(0)
        teacher = _j ** (-(alpha if not a_.is_number else a_))
        out = _law_exponent(teacher, "t")
        return sp.simplify(out.subs(alpha, a_)) if not a_.is_number else out
    return _law_exponent(teacher.subs(sp.Symbol("j", positive=True), _j), "t")


def width_floor_exponent(alpha_value=alpha, teacher: sp.Expr | None = None) -> sp.Expr:
    """d log R(oo) / d log m for R(oo) = sum_{j>m} lam_j^2 (m < r): -(2 alpha - 1) for a power law."""
    law = _j ** (-_exact(alpha_value)) if teacher is None else teacher.subs(sp.Symbol("j", positive=True), _j)
    return _law_exponent(law, "m")


def sample_complexity(alpha_value) -> sp.Expr:
    """n at which the front reaches r: n_r = t_r d Tr A / c_eta (leading form, in d, r, m)."""
    case = _case_of(sp.nsimplify(alpha_value))
    c = _teacher_constant(case)
    t_r = _time_of(r, case, c.rate)
    return (t_r * d * _trace(case, c).rate / c_eta).subs(alpha, alpha_value)


def _case_of(value) -> AlphaCase:
    for case in alpha_cases([-2 * alpha, -alpha]):
        if (case.hi is None and value == case.lo) or (case.hi is not None and case.lo < value < case.hi):
            return case
    raise ValueError(f"alpha = {value} outside alpha > 0")


def flow_equations() -> tuple:
    M, A, W = sp.symbols("M A W", commutative=False)
    return (tex(sp.Eq(sp.Symbol(r"\dot W"), 4 * W * (A - M))),
            tex(sp.Eq(sp.Symbol(r"\dot M"), 4 * (A * M + M * A - 2 * M**2))),
            r"t_j = \frac{\ell_j}{8\lambda_j},\ \ell_j = \ln\frac{\lambda_j d}{(m-j+1)\sigma_0^2} + \ln(1 + 8\sigma_0^2 t_j)")


@cache
def derive_dynamics() -> DynamicsDiagram:
    """The time view (cases cut at the roots of the exponent of sum lam^2) and the samples view (also
    cut where Tr A changes its dominant end)."""
    regimes = []
    for case in alpha_cases([-2 * alpha]):
        regimes += _branches(case, "time")
    for case in alpha_cases([-2 * alpha, -alpha]):
        regimes += _branches(case, "samples")
    stab = sgd_stability()
    flat = _case_of(sp.Rational(1, 4))
    flat_trace = _trace(flat, _teacher_constant(flat)).e
    notes = (f"ell_j / ln d -> {ell_coefficient()} (for mu < 1): the log factor is ln(d/m), not ln d",
             (f"spec table: Tr A ~ r^(1-alpha) for alpha < 1; derived log_d Tr A = {flat_trace} for 0 < alpha < 1/2 "
             "(c_alpha ~ r^(alpha-1/2)), r^(1-alpha) only for 1/2 < alpha < 1; the sample complexity d r log d holds"),
             *[f"Tr A ~ {sp.sstr(_trace(cs, _teacher_constant(cs)).rate)} for alpha in {cs.condition}"
               for cs in alpha_cases([-2 * alpha, -alpha])],
             *[f"sample complexity at alpha = {v}: n ~ {sp.sstr(sample_complexity(v))}" for v in
               (sp.Rational(1, 4), sp.Rational(1, 2), sp.Rational(3, 4), 1, 2)],
             f"SGD: kappa = {stab.kappa}, R_SGD/R_flow = {stab.inflation}, eta_max = {stab.eta_max}",
             *stab.notes)
    return DynamicsDiagram("dynamics", "power-law", tuple(regimes), flow_equations(), notes)


def dynamics_table_latex(diagram: DynamicsDiagram) -> str:
    from .latex import table_latex

    return table_latex(diagram)
