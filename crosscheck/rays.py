"""Exponents measured from the state evolution along a ray n = d^ell (n_eff = d^ell for the quadratic
network, ``models.samples``), lam = d^kappa.

The local slope  e(d) = d log[R (ln d)^-p] / d log d  between successive d of a geometric grid
converges to the exponent of R ~ d^e (ln d)^p; the slope between the two largest d is the
measurement and the change of slope over the last decades (``trend``) says how converged it is.
When |trend| > SETTLE_TOL, or while the caller's ``until(d)`` is false (e.g. a sub-leading term of
the derived law is still comparable with the leading one), the ray is extended by factors of 100
in d, up to D_MAX[model], so that slow (logarithmic) crossovers are followed as far as they can be.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from numeric.fits import local_slope

from .models import D_MAX, samples, state_evolution

SETTLE_TOL = 0.01  # a slope that moved by less than this over the last factor of 100 in d is settled
MIN_POINTS = 3  # a slope and its trend need three d


@dataclass(frozen=True)
class RayMeasurement:
    ell: float
    kappa: float
    gamma: float
    noise: float
    log_power: float  # p removed before fitting (the analytic law's log factor)
    ds: tuple
    risks: tuple
    slopes: tuple  # local slopes between successive d
    exponent: float  # slope between the two largest d
    trend: float  # last local slope minus the one before it
    converged: bool  # at least MIN_POINTS d converged (failures beyond them are in messages)
    messages: tuple

    def to_dict(self) -> dict:
        return asdict(self)


def measure_ray(ell: float, kappa: float, gamma: float, noise: float, ds, log_power: float = 0.0,
                n_of_d=None, until=None, model: str = "diagonal") -> RayMeasurement:
    """SE excess risk at n = d^ell (or n_of_d(d)), lam = d^kappa for each d, and its local slopes;
    extended to larger d while the slope has not settled (see module docstring).

    The ray stops at the first d whose SE does not converge (e.g. R below the float64 range, ~1e-296):
    the slopes use the converged d before it, the failure is kept in ``messages``, and ``converged``
    is false only when fewer than MIN_POINTS d converged (no slope to report)."""
    risks, used, messages = [], [], []

    def solve(d) -> bool:
        n = n_of_d(d) if n_of_d is not None else samples(model, d, ell)
        res = state_evolution(model, int(d), n, d**kappa, gamma, noise)
        if not res.converged or getattr(res, "recovered", False):  # a floor, not a fixed point
            messages.append(f"d={d:g} dropped, SE not converged: {res.message}")
            return False
        risks.append(res.excess_risk)
        used.append(float(d))
        return True

    stopped = not all(solve(float(d)) for d in ds)  # all() stops at the first failure
    if len(used) < MIN_POINTS:
        nan = float("nan")
        return RayMeasurement(ell, kappa, gamma, noise, log_power, tuple(used), tuple(risks), (), nan, nan, False,
                              tuple(messages))
    fit = local_slope(used, risks, log_power=log_power)
    while not stopped and (abs(fit.trend) > SETTLE_TOL or (until is not None and not until(used[-1]))) \
            and used[-1] * 100 <= D_MAX[model]:
        stopped = not solve(used[-1] * 100)
        fit = local_slope(used, risks, log_power=log_power)
    return RayMeasurement(
        ell=ell, kappa=kappa, gamma=gamma, noise=noise, log_power=log_power, ds=tuple(used),
        risks=tuple(risks), slopes=tuple(fit.exponents), exponent=fit.exponent, trend=fit.trend,
        converged=True, messages=tuple(messages),
    )
