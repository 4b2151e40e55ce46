"""LASSO state evolution of the diagonal network at finite d (spec: shared/spec/diagonal.md).

With x0_i = sqrt(n) c_d i^{-gamma} s_i, Z ~ N(0, 1) and eta the soft threshold, the fixed point is
    tau^2 = Delta + (1/n) sum_i MSE_i,        MSE_i = E[(eta(x0_i + tau Z; zeta) - x0_i)^2],
    lam sqrt(d/n) = zeta (1 - (1/n) sum_i P_i),    P_i = P(|x0_i + tau Z| > zeta),
and R = (1/n) sum_i MSE_i is taken from its own sum (not tau^2 - Delta, which loses R << Delta).
teacher="gaussian" replaces the fixed |x0_i| by x0_i ~ N(0, n c_d^2 i^{-2 gamma}), averaged in
closed form.

float64: for fixed tau the threshold equation has one root zeta >= lam sqrt(d/n); it is solved by
brentq in log zeta inside a brentq in log tau on the first equation (``numeric.roots``). An exact
solve at d > teacher_sums.HEAD is started from the binned solution. mpmath (``digits``): see
``numeric.se_lasso_mp``.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from .gaussian import (
    active_probability,
    gaussian_teacher_active_probability,
    gaussian_teacher_mse,
    soft_threshold_mse,
)
from .params import check_diagonal_params, check_dimension, check_gamma, check_nonnegative
from .roots import RootFindingError, log_root
from .se_lasso_mp import lasso_se_mp
from .se_result import SEResult
from .teacher_sums import HEAD, summation_method, teacher_grid
from .teachers import VARIANTS, diagonal_teacher

__all__ = ["SEResult", "lasso_se", "lasso_se_estimates"]

# Converged means both relative residuals are below this. brentq brackets the roots to 1e-14 in
# log tau and log zeta; the residuals measured on the test grid (d = 100 ... 1e6, every regime)
# stay below 1e-13, and the sums themselves carry ~1e-14 relative rounding (binned: <= 1.1e-14
# quadrature error). The tolerance leaves a factor 100 above that.
RESIDUAL_TOL = 1e-11
# First log-step of the bracket search for zeta: the guess (previous zeta/tau times tau) is close
# once the outer iteration settles, so a small step gives a tight bracket.
_ZETA_STEP = 1e-3
# First log-step for tau when starting from a binned solution (accurate to ~1e-13).
_POLISH_STEP = 1e-9
MIN_DIGITS = 30

_COMPONENTS = {
    "signs": (soft_threshold_mse, active_probability),
    "gaussian": (gaussian_teacher_mse, gaussian_teacher_active_probability),
}


def lasso_se(d, n, lam, gamma, noise, *, digits: int | None = None, binning: str = "auto", teacher: str = "signs") -> SEResult:
    """Solve the LASSO SE; ``digits`` (>= 30) selects the mpmath path (exact sums)."""
    d, n, lam, gamma, noise = check_diagonal_params(d, n, lam, gamma, noise)
    if teacher not in VARIANTS:
        raise ValueError(f"teacher must be one of {', '.join(VARIANTS)} (got {teacher!r})")
    if digits is not None and (isinstance(digits, bool) or not isinstance(digits, int) or digits < MIN_DIGITS):
        raise ValueError(f"digits must be None or an integer >= {MIN_DIGITS} (got {digits!r})")
    sums = summation_method(d, binning)  # also validates binning
    method = f"mpmath-{digits}" if digits is not None else f"float64-{sums}"
    special = _special_case(d, n, lam, noise, method)
    if special is not None:
        return special
    if digits is None:
        start = None
        if sums == "exact" and d > HEAD:
            warm = _solve_float64(d, n, lam, gamma, noise, "binned", teacher, None, method)
            start = (math.sqrt(warm.tau2), warm.zeta) if warm.converged else None
        return _solve_float64(d, n, lam, gamma, noise, sums, teacher, start, method)
    start = lasso_se(d, n, lam, gamma, noise, binning=binning, teacher=teacher)
    return lasso_se_mp(d, n, lam, gamma, noise, digits, teacher, start)


def _special_case(d: int, n: float, lam: float, noise: float, method: str) -> SEResult | None:
    """Closed-form answers: no data, and lam = 0 with n >= d (no threshold, zeta = 0)."""
    if n == 0:
        return SEResult(1.0, math.nan, math.nan, math.nan, True, 0, 0.0, method, "n = 0: the estimator is 0, R = 1")
    if lam > 0 or n < d:
        return None
    if n > d:
        # zeta = 0: MSE_i = tau^2, tau^2 = Delta/(1 - d/n) and R = (d/n) tau^2, in exact rationals
        tau2 = Fraction(noise) * Fraction(n) / (Fraction(n) - d)
        risk = tau2 * d / Fraction(n)
        return SEResult(float(risk), float(tau2), 0.0, d / n, True, 0, 0.0, method, "lam = 0, n > d: least squares")
    if noise == 0:
        return SEResult(0.0, 0.0, 0.0, 1.0, True, 0, 0.0, method, "lam = 0, n = d, noise = 0: exact interpolation")
    return SEResult(
        math.inf, math.inf, 0.0, 1.0, False, 0, math.inf, method,
        "lam = 0, n = d, noise > 0: the interpolation peak, the risk is infinite (no fixed point)",
    )


def _solve_float64(d, n, lam, gamma, noise, sums, teacher, start, method) -> SEResult:
    """Nested brentq (see module docstring); ``start`` = (tau, zeta) of an earlier solve or None."""
    mse, prob = _COMPONENTS[teacher]
    zeta_min = lam * math.sqrt(d / n)
    sharp = teacher == "signs"  # fixed magnitudes: a transition of width tau around zeta

    def mean(f, tau, zeta):
        grid = teacher_grid(d, n, gamma, binning=sums, transition=(zeta, tau) if sharp else None)
        return grid.total(f(grid.magnitudes, tau, zeta)) / n

    ratio = [1.0 if start is None else start[1] / start[0]]  # zeta/tau of the last inner solve

    def zeta_of(tau):
        def gap(log_zeta):  # 1 - Pbar - zeta_min/zeta: < 0 below the root, > 0 above
            zeta = math.exp(log_zeta)
            return 1.0 - mean(prob, tau, zeta) - zeta_min / zeta

        floor = math.log(zeta_min) if zeta_min > 0 else None
        guess = max(ratio[0] * tau, zeta_min)
        zeta, _ = log_root(gap, guess, first_step=_ZETA_STEP, floor=floor, name="zeta")
        ratio[0] = zeta / tau
        return zeta

    def outer(log_tau):  # 1 - (Delta + Mbar)/tau^2: < 0 below the root, > 0 above
        tau = math.exp(log_tau)
        return 1.0 - (noise + mean(mse, tau, zeta_of(tau))) / (tau * tau)

    try:
        if start is None:
            tau, evaluations = log_root(outer, math.sqrt(noise + 1.0), name="tau")
        else:
            tau, evaluations = log_root(outer, start[0], first_step=_POLISH_STEP, name="tau")
        zeta = zeta_of(tau)
    except RootFindingError as exc:
        return SEResult(math.nan, math.nan, math.nan, math.nan, False, 0, math.nan, method, str(exc))
    risk, active = mean(mse, tau, zeta), mean(prob, tau, zeta)
    tau2 = tau * tau
    residual = max(abs(noise + risk - tau2) / tau2, abs(zeta * (1.0 - active) - zeta_min) / zeta)
    converged = residual <= RESIDUAL_TOL
    message = "converged" if converged else f"residual {residual:.3g} above tolerance {RESIDUAL_TOL:g}"
    return SEResult(risk, tau2, zeta, active, converged, evaluations, residual, method, message)


def lasso_se_estimates(d, n, gamma, result: SEResult, rng: np.random.Generator, teacher: str = "signs") -> np.ndarray:
    """theta_hat_i = sqrt(d/n) eta(x0_i + tau Z_i; zeta), i = 1..d, x0 = theta* sqrt(n/d) drawn from rng."""
    d, gamma = check_dimension(d), check_gamma(gamma)
    n = check_nonnegative("n", n)
    if n == 0:
        return np.zeros(d)
    if not (result.converged and math.isfinite(result.tau2) and math.isfinite(result.zeta)):
        raise ValueError(f"needs a converged LASSO SE result (got: {result.message})")
    x0 = diagonal_teacher(d, gamma, rng, variant=teacher) * math.sqrt(n / d)
    y = x0 + math.sqrt(result.tau2) * rng.standard_normal(d)
    return math.sqrt(d / n) * np.sign(y) * np.maximum(np.abs(y) - result.zeta, 0.0)
