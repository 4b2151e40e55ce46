"""Bayes-optimal state evolution for the Gaussian prior theta*_i ~ N(0, d c_d^2 i^{-2 gamma}).

With u_i = x0_i^2 = n c_d^2 i^{-2 gamma} (the prior variance in SE units) the Wiener filter gives
    tau^2 = Delta + (1/n) sum_i u_i tau^2 / (u_i + tau^2),   R_BO = (1/n) sum_i u_i tau^2 / (u_i + tau^2)
(R_BO from its own sum). Dividing by tau^2, F(tau) = Delta/tau^2 + (1/n) sum_i u_i/(u_i + tau^2) - 1
is strictly decreasing, so the root is unique: brentq in log tau (float64), Newton in log tau from
the float64 root (mpmath, exact sums, stop at |F| <= 10^(5 - digits)). F is the relative residual.
"""

from __future__ import annotations

import math

import mpmath

from .params import check_diagonal_params
from .se_lasso import RootFindingError, SEResult, check_digits, failed, log_root, newton_mp, no_data, verdict
from .teacher_sums import summation_method, teacher_grid, teacher_magnitudes_mp

# Converged means |F| below this; brentq brackets log tau to 1e-14 and the sums round at ~1e-15
# relative, so |F| ~ 1e-14 is reached (measured); the tolerance leaves a factor 1000.
RESIDUAL_TOL = 1e-11
# No cancellation in these sums (all terms positive): the guard only covers the sums and Newton.
_GUARD_DIGITS = 10


def bayes_se(d, n, gamma, noise, *, digits: int | None = None, binning: str = "auto") -> SEResult:
    """Solve the Bayes-optimal SE; ``digits`` (>= 30) selects the mpmath path (exact sums)."""
    d, n, _, gamma, noise = check_diagonal_params(d, n, 0.0, gamma, noise)
    digits = check_digits(digits)
    sums = summation_method(d, binning)
    method = f"mpmath-{digits}" if digits is not None else f"float64-{sums}"
    if n == 0:
        return no_data(method)
    if noise == 0 and n >= d:
        # F(tau) < d/n - 1 <= 0 for every tau > 0: the only fixed point is tau = 0
        return SEResult(0.0, 0.0, math.nan, math.nan, True, 0, 0.0, method, "noise = 0, n >= d: exact recovery, R = 0")
    start = _solve_float64(d, n, gamma, noise, sums, method)
    if digits is None or not start.converged:
        return start
    return _solve_mp(d, n, gamma, noise, digits, start)


def _solve_float64(d, n, gamma, noise, sums, method) -> SEResult:
    grid = teacher_grid(d, n, gamma, binning=sums)
    u = grid.magnitudes**2

    excess = (n - d) / n  # 1 - d/n: exactly 0 at n = d

    def increasing(log_tau):  # -F(tau) = (1 - d/n) + (1/n) sum_i t2/(u_i + t2) - Delta/t2
        # (written without 1 - (1/n) sum_i u_i/(u_i + t2), which cancels to rounding noise when
        # t2 << u_i, e.g. n = d with tiny Delta: a spurious root, or t2 underflowing to 0)
        t2 = math.exp(2.0 * log_tau)
        # Delta/t2 in logs, capped at e^700: t2 may underflow where Delta/t2 is still finite (or huge)
        noise_term = math.exp(min(math.log(noise) - 2.0 * log_tau, 700.0)) if noise > 0 else 0.0
        return excess + grid.total(t2 / (u + t2)) / n - noise_term

    try:
        tau, evaluations = log_root(increasing, math.sqrt(noise + 1.0), name="tau")
    except RootFindingError as exc:
        return failed(method, str(exc))
    tau2 = tau * tau
    risk = grid.total(u * tau2 / (u + tau2)) / n
    residual = abs(noise + risk - tau2) / tau2
    converged, message = verdict(residual, RESIDUAL_TOL)
    return SEResult(risk, tau2, math.nan, math.nan, converged, evaluations, residual, method, message)


def _solve_mp(d, n, gamma, noise, digits, start: SEResult) -> SEResult:
    method = f"mpmath-{digits}"
    with mpmath.workdps(digits + _GUARD_DIGITS):
        u = [a * a for a in teacher_magnitudes_mp(d, n, gamma)]
        delta = mpmath.mpf(noise)

        def residual(x):
            t2 = mpmath.exp(2 * x[0])
            return [delta / t2 + mpmath.fsum(ui / (ui + t2) for ui in u) / n - 1]

        tol = mpmath.mpf(10) ** (5 - digits)
        x, fx, iterations = newton_mp(residual, [0.5 * math.log(start.tau2)], tol=tol)
        t2 = mpmath.exp(2 * x[0])
        risk = mpmath.fsum(ui * t2 / (ui + t2) for ui in u) / n
        converged, message = verdict(abs(fx[0]), tol)
        return SEResult(float(risk), float(t2), math.nan, math.nan, converged, iterations, float(abs(fx[0])), method, message)
