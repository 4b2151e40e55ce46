"""Comparisons: analytic exponent vs the SE slope at a point, and SE vs simulations.

Tolerances (stated once, used everywhere):
* EXPONENT_TOL = 0.05: |measured - analytic| allowed inside a regime (acceptance of the project).
* BOUNDARY_BAND = 0.15: within this distance (in the (ell, kappa) plane) of a regime boundary the
  finite-d slope mixes two laws (crossover corrections ~ d^-distance with d <= 1e12 leave >= 2 %
  contamination at 0.15 only for constants of order 1); such points are shown, flagged and not
  counted.
* PREASYMPTOTIC_RATIO = 0.1: a point is pre-asymptotic (shown, flagged, not counted) while a
  sub-leading term of its derived law, constants set to 1, is within a factor 10 of the leading
  one at the largest d reached; rays are extended in d (up to models.D_MAX) to get past that. A ray
  that reached D_MAX with its slope still moving by more than rays.SETTLE_TOL (not settled: no
  measurement yet) is pre-asymptotic too; the report gives its trend.
* SE vs simulation: |sim - SE| <= 3 s.e. + a finite-size allowance fixed in advance per model
  (``models.allowance``): SE/sqrt(d) for the diagonal network (the O(1/sqrt d) fluctuation of the AMP
  prediction, spec/method.md); the quadratic network against its finite-d corrected SE
  (``models.comparison_se``) with 5 SE/d on its real features (spec/quadratic.md) and none on the
  Gaussian design of the same covariance.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import sympy as sp

from analytic.symbols import ell as ELL, gamma as GAMMA, kappa as KAPPA

from . import models
from .rays import SETTLE_TOL, RayMeasurement, measure_ray

EXPONENT_TOL = 0.05
BOUNDARY_BAND = 0.15
PREASYMPTOTIC_RATIO = 0.1
ROUNDING = 1e-12  # relative slack of SE vs simulation for float64 rounding (e.g. R = 1 at S_hat = 0, s.e. 0)


def subleading_ratio(regime, ell: float, kappa: float, gamma: float, d: float) -> float:
    """max over the sub-leading terms of the derived law of d^(e_s - e) (ln d)^(p_s - p), constants = 1."""
    at = {ELL: ell, KAPPA: kappa, GAMMA: gamma}
    e, p = float(regime.logd_risk.subs(at)), float(regime.log_power.subs(at))
    ratio = 0.0
    for es, ps, _ in regime.subleading:
        de, dp = float(sp.sympify(es).subs(at)) - e, float(sp.sympify(ps).subs(at)) - p
        ratio = max(ratio, math.exp(de * math.log(d) + dp * math.log(math.log(d))))
    return ratio


def boundary_distance(regime, ell: float, kappa: float, gamma: float) -> float:
    """Euclidean distance in (ell, kappa) from the point to the boundary of its piece of the regime."""
    best = 0.0
    for piece in regime.pieces:
        dists = []
        for c in piece:
            val = float(c.subs({ELL: ell, KAPPA: kappa, GAMMA: gamma}))
            grad = [float(sp.diff(c, v).subs(GAMMA, gamma)) for v in (ELL, KAPPA)]
            norm = math.hypot(*grad)
            dists.append(val / norm if norm > 0 else math.inf)
        if min(dists) > 0:
            best = max(best, min(dists))
    return best


@dataclass(frozen=True)
class PointCheck:
    ell: float
    kappa: float
    regime: str
    analytic_exponent: float
    log_power: float
    measured_exponent: float
    difference: float
    trend: float
    boundary_distance: float
    status: str  # agree | disagree | near boundary | pre-asymptotic | SE not converged
    method: str  # what was compared
    ray: dict

    def to_dict(self) -> dict:
        return asdict(self)


def check_point(diagram, ell: float, kappa: float, gamma: float, noise: float, ds) -> PointCheck:
    regime = diagram.regime_at(ell, kappa, gamma)
    if regime is None:
        raise ArithmeticError(f"({ell}, {kappa}) lies on a regime boundary; pick a generic point")
    e = float(regime.logd_risk.subs({ELL: ell, KAPPA: kappa, GAMMA: gamma}))
    p = float(regime.log_power.subs(GAMMA, gamma))
    until = lambda d: subleading_ratio(regime, ell, kappa, gamma, d) <= PREASYMPTOTIC_RATIO  # noqa: E731
    ray: RayMeasurement = measure_ray(ell, kappa, gamma, noise, ds, log_power=p, until=until, model=diagram.model)
    dist = boundary_distance(regime, ell, kappa, gamma) if regime.line is None else math.inf
    diff = ray.exponent - e
    if not ray.converged:
        status = "SE not converged"
    elif dist < BOUNDARY_BAND:
        status = "near boundary"
    elif abs(diff) > EXPONENT_TOL and (not until(ray.ds[-1]) or abs(ray.trend) > SETTLE_TOL):
        status = "pre-asymptotic"  # crossovers of the derived law not past, or the slope not settled at D_MAX
    else:
        status = "agree" if abs(diff) <= EXPONENT_TOL else "disagree"
    method = (f"slope of log(R (ln d)^{-p:g}) vs log d (log-corrected law)" if p else "slope of log R vs log d")
    method += f", d = {ray.ds[-2]:.0e}..{ray.ds[-1]:.0e}" if ray.converged else ", too few converged d"
    if ray.messages:
        method += "; " + "; ".join(ray.messages)
    return PointCheck(ell, kappa, regime.name, e, p, ray.exponent, diff, ray.trend, dist, status, method, ray.to_dict())


@dataclass(frozen=True)
class SimulationCheck:
    d: int
    n: int
    lam: float
    gamma: float
    noise: float
    method: str
    se_risk: float
    sim_mean: float
    sim_sem: float
    allowance: float
    agree: bool
    seeds: int
    base_seed: int
    model: str = "diagonal"
    design: str = "quadratic"  # quadratic network: real features, or the Gaussian-design control
    rank: int | None = None  # quadratic network: a teacher cut at this rank (gamma = 0: flat), None the power law

    def to_dict(self) -> dict:
        return asdict(self)


def compare_with_simulation(d: int, n: int, lam: float, gamma: float, noise: float, *, seeds: int,
                            method: str, base_seed: int = 0, model: str = "diagonal",
                            design: str = "quadratic", rank: int | None = None) -> SimulationCheck:
    """Finite-d SE against the mean excess risk of trained networks (or convex solves) on the same (d, n, lam);
    ``rank`` (quadratic): the teacher cut at that rank (with gamma = 0 a flat teacher)."""
    teacher = {} if rank is None else {"rank": rank}
    se = models.comparison_se(model, d, n, lam, gamma, noise, **teacher)
    extra = {} if model == "diagonal" else {"design": design, **teacher}
    sim = models.simulate(model, d, n, lam, gamma, noise, seeds=seeds, method=method, base_seed=base_seed, **extra)
    allowance = models.allowance(model, se.excess_risk, d, design)
    # + ROUNDING: R = 1 exactly (S_hat = 0) comes out as 1 - 1e-16 on one side and 1 on the other
    agree = se.converged and sim.converged and \
        abs(sim.excess_risk_mean - se.excess_risk) <= 3 * sim.excess_risk_sem + allowance + ROUNDING * se.excess_risk
    return SimulationCheck(d, n, lam, gamma, noise, method, se.excess_risk, sim.excess_risk_mean, sim.excess_risk_sem,
                           allowance, bool(agree), seeds, base_seed, model, design, rank)
