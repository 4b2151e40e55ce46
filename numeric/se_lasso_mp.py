"""LASSO state evolution in mpmath: an independent high-precision solve of the same equations.

    F1 = (Delta + (1/n) sum_i MSE_i) / tau^2 - 1 = 0,    F2 = 1 - (1/n) sum_i P_i - lam sqrt(d/n)/zeta = 0,
with MSE_i, P_i from the plain closed forms of ``numeric.gaussian_mp`` and exact sums over i = 1..d
(x0_i and c_d computed in mpmath). Newton on (log tau, log zeta) from the float64 solution; the
working precision is digits + guard_digits(c, w) and Newton stops at max|F| <= 10^(5 - digits).
F1 and F2 are the relative residuals reported (as in the float64 solver).
"""

from __future__ import annotations

import functools
import math

import mpmath

from .gaussian_mp import gaussian_teacher_terms_mp, guard_digits, soft_threshold_terms_mp
from .roots import newton_mp
from .se_result import SEResult

_TERMS = {"signs": soft_threshold_terms_mp, "gaussian": gaussian_teacher_terms_mp}


def teacher_magnitudes_mp(d: int, n: float, gamma: float) -> list:
    """x0_i = sqrt(n) c_d i^{-gamma}, c_d = (sum_{j<=d} j^{-2 gamma})^{-1/2}, at the current precision."""
    powers = [mpmath.mpf(i) ** (-mpmath.mpf(gamma)) for i in range(1, d + 1)]
    top = mpmath.sqrt(mpmath.mpf(n)) / mpmath.sqrt(mpmath.fsum(p * p for p in powers))
    return [top * p for p in powers]


def lasso_se_mp(d: int, n: float, lam: float, gamma: float, noise: float, digits: int, teacher: str, start: SEResult) -> SEResult:
    """Newton polish of the float64 solution ``start`` at ``digits`` significant digits."""
    method = f"mpmath-{digits}"
    if not (math.isfinite(start.tau2) and start.tau2 > 0 and math.isfinite(start.zeta) and start.zeta > 0):
        return SEResult(math.nan, math.nan, math.nan, math.nan, False, 0, math.nan, method,
                        f"no float64 starting point for the mpmath solve ({start.message})")
    tau0, zeta0 = math.sqrt(start.tau2), start.zeta
    top = math.sqrt(n)  # bounds the largest magnitude x0_1 = sqrt(n) c_d (c_d <= 1)
    w_small = zeta0 / math.hypot(top, tau0) if teacher == "gaussian" else 1.0
    with mpmath.workdps(digits + guard_digits(zeta0 / tau0, w_small)):
        terms = _TERMS[teacher]
        magnitudes = teacher_magnitudes_mp(d, n, gamma)
        delta, zeta_min = mpmath.mpf(noise), mpmath.mpf(lam) * mpmath.sqrt(mpmath.mpf(d) / mpmath.mpf(n))

        @functools.lru_cache(maxsize=4)
        def means(log_tau, log_zeta):  # ((1/n) sum MSE_i, (1/n) sum P_i)
            tau, zeta = mpmath.exp(log_tau), mpmath.exp(log_zeta)
            pairs = [terms(a, tau, zeta) for a in magnitudes]
            return mpmath.fsum(m for m, _ in pairs) / n, mpmath.fsum(p for _, p in pairs) / n

        def residuals(x):
            risk, active = means(*x)
            return [(delta + risk) / mpmath.exp(2 * x[0]) - 1, 1 - active - zeta_min / mpmath.exp(x[1])]

        tol = mpmath.mpf(10) ** (5 - digits)
        x, fx, iterations, converged = newton_mp(residuals, [math.log(tau0), math.log(zeta0)], tol=tol)
        risk, active = means(*x)
        residual = max(abs(v) for v in fx)
        message = "converged" if converged else f"Newton stopped at residual {mpmath.nstr(residual, 3)} (tolerance {mpmath.nstr(tol, 3)})"
        return SEResult(float(risk), float(mpmath.exp(2 * x[0])), float(mpmath.exp(x[1])), float(active),
                        converged, iterations, float(residual), method, message)
