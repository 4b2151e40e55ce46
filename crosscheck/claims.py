"""Test a user's asymptotic claim "R ~ RATE where CONDITIONS" against the state evolution.

RATE is an expression in n, d, lam, gamma (and n_eff = n/d for the quadratic network; products of
powers, sums read as max, log(.) factors read as powers of ln d); CONDITIONS a comma-separated list of
orderings A << B (``<`` reads as ``<<``, ``>``/``>>`` likewise) between power laws in n, n_eff, d, lam,
or linear inequalities in ell, kappa. With d^ell = n (diagonal) or n_eff (quadratic) and lam = d^kappa
every claim becomes an exponent e(ell, kappa) on a polygon of the (ell, kappa) plane. Points are sampled inside the polygon (away from its edges), the SE
slope is measured along each ray and compared with the claimed exponent.

Verdict: ``holds`` when every point agrees within EXPONENT_TOL; ``fails`` when some point
disagrees by more than EXPONENT_TOL, by more than three times the last change of its slope (the
remaining drift cannot close the gap), and lies past the crossovers of the derived law (its
sub-leading terms below PREASYMPTOTIC_RATIO of the leading one); ``inconclusive`` otherwise. Rays are extended in d
until the slope settles (crosscheck.rays).
"""

from __future__ import annotations

import random

import numpy as np
import sympy as sp
from scipy.optimize import linprog

from analytic import derive
from analytic.symbols import ell as ELL, gamma as GAMMA, kappa as KAPPA

from .compare import EXPONENT_TOL, PREASYMPTOTIC_RATIO, subleading_ratio
from .expressions import parse_expression
from .models import RAY_DS, SAMPLE_SHIFT, check_model
from .rays import measure_ray

_n, _d, _lam, _neff = sp.symbols("n d lam n_eff", positive=True)
_LOCALS = {"n": _n, "d": _d, "lam": _lam, "lambda_": _lam, "n_eff": _neff, "gamma": GAMMA, "ell": ELL, "kappa": KAPPA}
BOX = (0.05, 4.0, -4.0, 4.0)  # ell in [0.05, 4], kappa in [-4, 4]: where points are sampled
MARGIN = 0.1  # sampled points keep this distance from every edge of the claimed region


def _parse(text: str, what: str) -> sp.Expr:
    if any(op in text for op in "<>="):
        raise ValueError(f"{what} {text!r} must be one expression (one ordering per condition, e.g. 'n << d')")
    expr = parse_expression(text.replace("λ", "lam"), what, _LOCALS)
    if expr.has(sp.zoo, sp.oo, -sp.oo, sp.nan, sp.I) or expr.is_zero:
        raise ValueError(f"{what} {text!r} is not a positive finite expression")
    return expr


def power_law(expr: sp.Expr, model: str = "diagonal") -> tuple[sp.Expr, sp.Expr]:
    """(log_d exponent, ln d power) of a product of powers of n (n_eff), d, lam and logs of power laws,
    with d^ell = n (diagonal) or n_eff = n/d (quadratic: n = d^(ell + 1)).

    Exponents may depend on gamma only; numeric factors must be positive (they drop out)."""
    if expr.has(_neff) and model != "quadratic":
        raise ValueError("n_eff = n/d is the quadratic network's sample size; the diagonal network has n")
    shift = SAMPLE_SHIFT[check_model(model)]
    expo, logp = sp.Integer(0), sp.Integer(0)
    for factor in sp.Mul.make_args(sp.powsimp(sp.expand_power_base(expr, force=True), force=True)):
        base, ex = factor.as_base_exp()
        if ex.free_symbols - {GAMMA}:
            raise ValueError(f"exponent of {factor} must be a number or depend on gamma only")
        if isinstance(base, sp.log) and not base.is_number:
            if not base.args[0].has(_n, _d, _lam, _neff):
                raise ValueError(f"{base} is not the logarithm of a power law in n, d, lam")
            logp += ex  # ln(power law) ~ ln d
            continue
        if base.is_number:
            if not base.is_positive:
                raise ValueError(f"numeric factor {factor} must be positive")
            continue
        if base.free_symbols - {_n, _d, _lam, _neff, GAMMA}:
            raise ValueError(f"unknown symbols in {factor}: use n, d, lam, gamma (n_eff for the quadratic network)")
        on_ray = {_n: _d ** (ELL + shift), _neff: _d**ELL, _lam: _d**KAPPA}
        e = sp.expand_log(sp.log(base.subs(on_ray)), force=True) / sp.log(_d)
        e = sp.simplify(e)
        if e.has(_d):
            raise ValueError(f"{base} is not a power law in n, d, lam")
        expo += ex * e
    if (expo.free_symbols - {ELL, KAPPA, GAMMA}) or not sp.Poly(expo, ELL, KAPPA).is_linear:
        raise ValueError(f"{expr} is not a power law in n, d, lam")
    return sp.expand(expo), sp.simplify(logp)


def claimed_law(rate: str, model: str = "diagonal") -> list[tuple[sp.Expr, sp.Expr]]:
    """The additive terms of RATE as (exponent, log power); the claim is their max."""
    expr = _parse(rate, "rate")
    if expr.free_symbols - {_n, _d, _lam, _neff, GAMMA}:
        raise ValueError(f"rate must be an expression in n, d, lam, gamma (n_eff: quadratic) (got {rate!r})")
    return [power_law(term, model) for term in sp.Add.make_args(sp.expand(expr))]


def _split(text: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch in ",;" and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    return [p.strip() for p in parts + [cur] if p.strip()]


def orderings(conditions: str) -> list[tuple[str, str]]:
    """(smaller, larger) texts of each comma-separated ordering A << B (also <, <=, >>, >, >=)."""
    out = []
    if not _split(conditions):
        raise ValueError(f"no condition given ({conditions!r}): --where needs at least one ordering such as 'A << B'")
    for item in _split(conditions):
        for op in ("<<", ">>", "<=", ">=", "<", ">"):
            if op in item:
                lhs, rhs = item.split(op, 1)
                break
        else:
            raise ValueError(f"condition {item!r} has no ordering (<<, <, >>, >)")
        out.append((lhs, rhs) if op[0] == "<" else (rhs, lhs))
    return out


def region(conditions: str, model: str = "diagonal") -> list[sp.Expr]:
    """Linear forms in (ell, kappa) that are > 0 exactly where every condition holds."""
    forms = []
    for small, large in orderings(conditions):
        a, b = _parse(small, "condition"), _parse(large, "condition")
        if a.has(ELL, KAPPA) or b.has(ELL, KAPPA):
            forms.append(sp.expand(b - a))
            continue
        # log factors do not move a region of the (ell, kappa) plane: only the powers of d count
        (ea, _), (eb, _) = power_law(a, model), power_law(b, model)
        form = sp.expand(eb - ea)
        if not form.has(ELL, KAPPA):
            raise ValueError(f"condition '{small.strip()} << {large.strip()}' does not involve the samples or lam: it "
                             "selects no region of the (ell, kappa) plane")
        forms.append(form)
    return forms


def _numeric_rows(forms, gamma):
    rows = []
    for f in forms:
        e = sp.expand(f.subs(GAMMA, gamma))
        rows.append((float(e.coeff(ELL)), float(e.coeff(KAPPA)), float(e.subs({ELL: 0, KAPPA: 0}))))
    return np.array(rows).reshape(-1, 3)


def sample_points(forms, gamma: float, count: int = 5, seed: int = 0) -> list[tuple[float, float]]:
    """The Chebyshev centre of the region (within BOX) and random points at distance >= MARGIN from its edges."""
    rows = _numeric_rows(forms, gamma)
    l0, l1, k0, k1 = BOX
    box = np.array([[1, 0, -l0], [-1, 0, l1], [0, 1, -k0], [0, -1, k1]], dtype=float)
    allrows = np.vstack([rows, box]) if len(rows) else box
    norms = np.hypot(allrows[:, 0], allrows[:, 1])
    res = linprog([0, 0, -1], A_ub=np.column_stack([-allrows[:, :2], norms]), b_ub=allrows[:, 2],
                  bounds=[(None, None), (None, None), (0, None)], method="highs")
    if res.status != 0 or -res.fun <= MARGIN:
        raise ValueError("the claimed region is empty (or thinner than 0.1 in (ell, kappa)) inside the sampled box")
    points = [(float(res.x[0]), float(res.x[1]))]
    rng = random.Random(seed)
    for _ in range(20000):
        if len(points) > count:
            break
        p = (rng.uniform(l0, l1), rng.uniform(k0, k1))
        if all((r[0] * p[0] + r[1] * p[1] + r[2]) / nrm >= MARGIN for r, nrm in zip(allrows, norms)):
            points.append(p)
    return [(round(a, 3), round(b, 3)) for a, b in points]


def check_claim(rate: str, conditions: str, *, gamma: float, noise: float, points: int = 5, seed: int = 0,
                model: str = "diagonal") -> dict:
    from numeric.params import check_gamma, check_nonnegative

    gamma, noise = check_gamma(gamma), check_nonnegative("noise", noise)
    terms = claimed_law(rate, model)
    forms = region(conditions, model)
    diagram = derive(model, noiseless=noise == 0)
    out = []
    for l, k in sample_points(forms, gamma, count=points, seed=seed):
        at = {ELL: l, KAPPA: k, GAMMA: gamma}
        claimed = max(((float(e.subs(at)), float(p.subs(at))) for e, p in terms))
        regime = diagram.regime_at(l, k, gamma)
        until = None if regime is None else (  # noqa: E731 - go past the derived law's crossovers
            lambda d, r=regime, l=l, k=k: subleading_ratio(r, l, k, gamma, d) <= PREASYMPTOTIC_RATIO)
        ray = measure_ray(l, k, gamma, noise, RAY_DS[model], log_power=claimed[1], until=until, model=model)
        diff = ray.exponent - claimed[0]
        asymptotic = ray.converged and (until is None or until(ray.ds[-1]))
        gap_is_real = abs(diff) > 3 * abs(ray.trend) and asymptotic
        status = "agrees" if abs(diff) <= EXPONENT_TOL else ("disagrees" if gap_is_real else "unsettled")
        if not ray.converged:
            status = "unsettled"
        out.append({
            "ell": l, "kappa": k, "claimed_exponent": claimed[0], "claimed_log_power": claimed[1],
            "measured_exponent": ray.exponent, "difference": diff, "trend": ray.trend, "status": status,
            "derived_regime": None if regime is None else regime.name,
            "derived_exponent": None if regime is None else float(regime.logd_risk.subs(at)),
            "derived_log_power": None if regime is None else float(regime.log_power.subs(at)),
            "ds": list(ray.ds), "risks": list(ray.risks), "local_slopes": list(ray.slopes),
        })
    statuses = {p["status"] for p in out}
    verdict = "holds" if statuses == {"agrees"} else ("fails" if "disagrees" in statuses else "inconclusive")
    law = sp.Max(*[e for e, _ in terms]) if len(terms) > 1 else terms[0][0]
    return {
        "verdict": verdict,
        "claimed_exponent": sp.sstr(law),
        "claimed_log_power": sp.sstr(terms[0][1]) if len(terms) == 1 else [sp.sstr(p) for _, p in terms],
        "model": model, "rate": rate, "where": conditions, "gamma": gamma, "noise": noise,
        "region": [sp.sstr(sp.StrictGreaterThan(f, 0)) for f in forms],
        "tolerance": EXPONENT_TOL,
        "method": f"SE slope between the two largest d along {'n' if model == 'diagonal' else 'n_eff'} = d^ell, "
                  "lam = d^kappa, after removing the claimed "
                  "(ln d)^p; rays extended in d until the slope settles",
        "points": out,
    }


def format_verdict(v: dict) -> str:
    lines = [f"claim ({v['model']} network): R ~ {v['rate']}  where  {v['where']}   (gamma = {v['gamma']}, Delta = {v['noise']})",
             f"claimed log_d R = {v['claimed_exponent']}",
             f"{'ell':>6} {'kappa':>7} {'claimed':>8} {'measured':>9} {'diff':>7} {'trend':>7}  status      derived law",]
    for p in v["points"]:
        derived = "-" if p["derived_regime"] is None else (
            f"{p['derived_regime']}: {p['derived_exponent']:.3f}" + (f" (ln d)^{p['derived_log_power']:g}" if p["derived_log_power"] else ""))
        lines.append(f"{p['ell']:6.3f} {p['kappa']:7.3f} {p['claimed_exponent']:8.3f} {p['measured_exponent']:9.3f} "
                     f"{p['difference']:7.3f} {p['trend']:7.3f}  {p['status']:<11} {derived}")
    dmax = max(p["ds"][-1] for p in v["points"])
    lines.append(f"verdict: {v['verdict'].upper()} (tolerance {v['tolerance']} on the exponent, d up to {dmax:.0e})")
    return "\n".join(lines)
