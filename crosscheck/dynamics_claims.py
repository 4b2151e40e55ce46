"""Test a user's claim about the training dynamics, "R ~ RATE where CONDITIONS", against the exact flow.

RATE is a product of powers of t (time), m (width) and n (online-SGD samples, read as t = eta n with the
small-step rule eta = c/(d Tr A): the same exponent as t), times constants in d, r, alpha and logs. Its
exponents in t and in m are what is tested. CONDITIONS are orderings A << B between t, n, m, r, d and the
derived learning times t1 (first direction), tr (last teacher direction), tm (direction m); ``<`` reads
as ``<<`` and means a factor SEPARATION apart.

* an exponent in t is measured as the least-squares slope of log R vs log t of the exact flow over the
  window of t the conditions allow (clipped to the directions the flow follows exactly), at d = 10^6,
  10^12, ... up to the given d, with r = d^beta and a student as wide as the followed head;
* an exponent in m as the local slope of log R vs log m between the two largest of m = 8 ... 64 at the
  time the conditions give (at least SEPARATION t_m: every direction the student can hold is learned),
  r = 10^6.

Verdict: ``holds`` when the slope at the largest d (largest m) is within EXPONENT_TOL of the claim;
``fails`` when it is not and the gap is more than three times the slope's last change with d (with m):
the remaining drift cannot close it; ``inconclusive`` otherwise. Exit codes as for the other claims.
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp

from .claims import orderings
from .expressions import parse_expression
from .compare import EXPONENT_TOL

SEPARATION = 10.0
MIN_WINDOW = 4.0  # a slope needs at least a factor 4 in t (the staircase averages over >= 5 directions there)
HEAD_REACH = 2  # the window ends where direction head/2 is learned (the tail certificate holds there)
POINTS = 30
WIDTHS = (8, 16, 32, 64)
# width claims: r = 1e6 >> m, so sum_{j>m} lam_j^2 has its power-law form; the first WIDTH_HEAD directions are
# followed exactly, the others certified unlearned (numeric.flow)
WIDTH_RANK, WIDTH_HEAD = 10**6, 2048
_t, _m, _n, _r, _d = sp.symbols("t m n r d", positive=True)
_alpha = sp.Symbol("alpha", nonnegative=True)
_t1, _tr, _tm = sp.symbols("t1 tr tm", positive=True)
_LOCALS = {"t": _t, "m": _m, "n": _n, "r": _r, "d": _d, "alpha": _alpha, "t1": _t1, "tr": _tr, "tm": _tm}


def _parse(text: str, what: str) -> sp.Expr:
    return parse_expression(text, what, _LOCALS)


def claimed_exponents(rate: str, alpha: float) -> dict:
    """{variable: exponent} of RATE in t (n counts as t) and m; other factors must not depend on them."""
    expr = _parse(rate, "rate").subs(_alpha, sp.nsimplify(alpha, rational=True)).subs(_n, _t)
    unknown = expr.free_symbols - {_t, _m, _r, _d}
    if unknown:
        raise ValueError(f"rate may use t, n, m, r, d, alpha only (got {sorted(map(str, unknown))})")
    out = {}
    for var in (_t, _m):
        if not expr.has(var):
            continue
        e = sp.simplify(var * sp.diff(sp.log(expr), var))
        if e.free_symbols:
            raise ValueError(f"rate is not a power law in {var} (d log R / d log {var} = {e})")
        out[str(var)] = float(e)
    if not out:
        raise ValueError("rate must depend on t (or n) or m: that is the exponent tested")
    return out


def window(conditions: str, scales: dict, var: str) -> tuple[float, float]:
    """The interval of ``var`` (t or m) the orderings allow, given the numeric scales (t1, tr, tm, r, d, m)."""
    lo, hi = 0.0, math.inf
    for small, large in orderings(conditions):
        item = f"{small.strip()} << {large.strip()}"
        a, b = _parse(small, "condition"), _parse(large, "condition")
        here = {_LOCALS[k]: v for k, v in scales.items()}
        if a == _LOCALS[var] and not b.has(_LOCALS[var]):
            hi = min(hi, float(b.subs(here)) / SEPARATION)
        elif b == _LOCALS[var] and not a.has(_LOCALS[var]):
            lo = max(lo, float(a.subs(here)) * SEPARATION)
        elif not (a.has(_LOCALS[var]) or b.has(_LOCALS[var])):
            if not float(a.subs(here)) * SEPARATION <= float(b.subs(here)):
                raise ValueError(f"condition {item!r} does not hold at the checked parameters {scales}")
        else:
            raise ValueError(f"condition {item!r} must compare {var} with a scale (e.g. 't1 << t')")
    return lo, hi



def _scales(d: int, r: int, m: int, alpha: float, sigma0: float) -> dict:
    """t1, tr, tm (derived learning times of directions 1, r, m; a direction beyond min(r, m) is never learned,
    so min(r, m) stands for it) and r, d, m as numbers."""
    from analytic.riccati import initial_overlap, learning_time_value
    from numeric.he2_teacher import he2_teacher

    teacher = he2_teacher(r, alpha, head=1)

    def t_of(j):
        j = min(j, r, m)
        return learning_time_value(float(teacher.coefficients(j, j)[0]), float(initial_overlap(j, m, d, sigma0)), sigma0)

    return {"t1": t_of(1), "tr": t_of(r), "tm": t_of(m), "r": float(r), "d": float(d), "m": float(m)}


def _time_slope(d: int, r: int, head: int, alpha: float, sigma0: float, conditions: str) -> dict:
    """Slope of log R vs log t of the exact flow (width = head) over the window the conditions allow, clipped to
    [t1, t of direction head/HEAD_REACH] (the flow follows the first ``head`` directions exactly)."""
    from numeric.flow import gradient_flow

    scales = _scales(d, r, head, alpha, sigma0)
    lo, hi = window(conditions, scales, "t")
    lo, hi = max(lo, scales["t1"]), min(hi, _scales(d, r, head // HEAD_REACH, alpha, sigma0)["tm"])
    row = {"d": d, "r": r, "window": [lo, hi], "slope": math.nan}
    if not hi >= MIN_WINDOW * lo:
        return row | {"note": f"window narrower than a factor {MIN_WINDOW:g} at this d"}
    times = np.geomspace(lo, hi, POINTS)
    res = gradient_flow(d, r, alpha, head, times, sigma0=sigma0, seed=0, head=head)
    if res.converged:
        row["slope"] = float(np.polyfit(np.log(times), np.log(res.risk), 1)[0])
    return row | {"times": times.tolist(), "risks": res.risk.tolist(), "note": res.message}


def _width_slope(d: int, alpha: float, sigma0: float, conditions: str) -> dict:
    """Local slopes of log R vs log m between consecutive WIDTHS at the time the conditions give (default
    SEPARATION t_m), r = WIDTH_RANK; the measured exponent is the last one, its trend the last change."""
    from numeric.flow import gradient_flow

    risks, times = [], []
    for m in WIDTHS:
        scales = _scales(d, WIDTH_RANK, m, alpha, sigma0)
        lo, hi = window(conditions, scales, "t")
        t = max(lo, SEPARATION * scales["tm"])
        if t > hi:
            return {"d": d, "r": WIDTH_RANK, "slope": math.nan, "trend": math.nan,
                    "note": f"no time satisfies the conditions at m = {m}"}
        res = gradient_flow(d, WIDTH_RANK, alpha, m, [t], sigma0=sigma0, seed=0, head=WIDTH_HEAD)
        risks.append(float(res.risk[0]) if res.converged else math.nan)
        times.append(t)
    local = np.diff(np.log(risks)) / np.diff(np.log(WIDTHS))
    return {"d": d, "r": WIDTH_RANK, "widths": list(WIDTHS), "times": times, "risks": risks,
            "local_slopes": local.tolist(), "slope": float(local[-1]), "trend": float(local[-1] - local[-2])}


def check_dynamics_claim(rate: str, conditions: str, *, alpha: float = 1.0, d: float = 1e24, beta: float = 0.5,
                         sigma0: float = 1.0, head: int = 600) -> dict:
    """Measure the claimed exponent on the exact flow (module docstring) and give the verdict."""
    from numeric.params import check_alpha, check_positive

    alpha, sigma0 = check_alpha(alpha), check_positive("sigma0", sigma0)
    if not 0 <= beta < 1:
        raise ValueError(f"beta must be in [0, 1) (got {beta!r})")
    top = int(d)
    if not 1e3 <= top <= 1e30:
        raise ValueError(f"d must be between 1e3 and 1e30 (got {d!r})")
    claimed = claimed_exponents(rate, alpha)
    if len(claimed) > 1:
        raise ValueError("test one variable at a time: the rate may depend on t (or n) or on m, not both")
    ((var, exponent),) = claimed.items()
    ds = [x for x in (10**6, 10**9, 10**12, 10**18, 10**24) if x < top] + [top]
    if var == "t":
        rows = [_time_slope(x, max(1, round(x**beta)), head, alpha, sigma0, conditions) for x in ds]
        method = (f"least-squares slope of log R vs log t of the exact flow (width = head = {head}, r = d^{beta:g}) "
                  f"over the allowed window, clipped to [t1, t of direction {head // HEAD_REACH}]")
    else:
        rows = [_width_slope(top, alpha, sigma0, conditions)]
        method = (f"local slope of log R vs log m between m = {WIDTHS[-2]} and {WIDTHS[-1]} (r = {WIDTH_RANK:g}), "
                  f"trend = its change from the previous pair of widths, at t = max(window start, {SEPARATION:g} t_m)")
    slope = rows[-1]["slope"]
    if var == "m":
        trend = rows[-1]["trend"]
    else:
        measured = [r["slope"] for r in rows if math.isfinite(r["slope"])]
        trend = measured[-1] - measured[-2] if len(measured) > 1 and math.isfinite(slope) else math.nan
    diff = slope - exponent
    if not math.isfinite(slope):
        verdict = "inconclusive"
    elif abs(diff) <= EXPONENT_TOL:
        verdict = "holds"
    else:  # the gap must exceed what the remaining drift (three times the last change) could close
        verdict = "fails" if math.isfinite(trend) and abs(diff) > 3 * abs(trend) else "inconclusive"
    return {"verdict": verdict, "model": "dynamics", "rate": rate, "where": conditions, "variable": var,
            "claimed_exponent": exponent, "measured_exponent": slope, "difference": diff, "trend": trend,
            "alpha": alpha, "beta": beta, "sigma0": sigma0, "tolerance": EXPONENT_TOL, "method": method, "rows": rows}


def format_dynamics_verdict(v: dict) -> str:
    lines = [f"claim (training dynamics): R ~ {v['rate']}  where  {v['where']}   (alpha = {v['alpha']:g}, "
             f"r = d^{v['beta']:g}, sigma0 = {v['sigma0']:g})",
             f"claimed d log R / d log {v['variable']} = {v['claimed_exponent']:.4f}",
             f"{'d':>8} {'window / widths':>28} {'measured':>9}"]
    for r in v["rows"]:
        span = f"[{r['window'][0]:.3g}, {r['window'][1]:.3g}]" if "window" in r else str(r.get("widths", ""))
        lines.append(f"{r['d']:8.0e} {span:>28} {r['slope']:9.4f}  {r.get('note', '')[:60]}")
    lines.append(f"verdict: {v['verdict'].upper()} (difference {v['difference']:+.4f}, trend {v['trend']:+.4f}, "
                 f"tolerance {v['tolerance']}); {v['method']}")
    return "\n".join(lines)
