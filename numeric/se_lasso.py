"""LASSO state evolution of the diagonal network at finite d (spec: shared/spec/diagonal.md).

With x0_i = sqrt(n) c_d i^{-gamma} s_i, Z ~ N(0, 1) and eta the soft threshold, the fixed point is
    tau^2 = Delta + (1/n) sum_i MSE_i,        MSE_i = E[(eta(x0_i + tau Z; zeta) - x0_i)^2],
    lam sqrt(d/n) = zeta (1 - (1/n) sum_i P_i),    P_i = P(|x0_i + tau Z| > zeta),
and R = (1/n) sum_i MSE_i is taken from its own sum (not tau^2 - Delta, which loses R << Delta).
teacher="gaussian" replaces the fixed |x0_i| by x0_i ~ N(0, n c_d^2 i^{-2 gamma}), averaged in
closed form.

float64: for fixed tau the threshold equation has one root zeta >= lam sqrt(d/n); it is solved by
brentq in log zeta inside a brentq in log tau on the first equation (``log_root``: the unique sign
change bracketed by geometric expansion from a guess). An exact solve at d > teacher_sums.HEAD is
started from the binned solution.
mpmath (``digits``): an independent solve of F1 = (Delta + (1/n) sum MSE_i)/tau^2 - 1 = 0,
F2 = 1 - (1/n) sum P_i - lam sqrt(d/n)/zeta = 0 with the plain closed forms (gaussian.*_mp) and
exact sums, by Newton on (log tau, log zeta) (``newton_mp``) from the float64 solution, at
digits + guard_digits working digits, stopping at max|F| <= 10^(5 - digits).
F1 and F2 are the relative residuals reported by both paths.

The result type and the solver helpers here are shared with ``numeric.se_bayes``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, fields
from fractions import Fraction

import mpmath
import numpy as np
from scipy.optimize import brentq

from .gaussian import (
    active_probability,
    gaussian_teacher_active_probability,
    gaussian_teacher_mse,
    gaussian_teacher_terms_mp,
    guard_digits,
    soft_threshold_mse,
    soft_threshold_terms_mp,
)
from .params import check_diagonal_params, check_dimension, check_gamma, check_nonnegative
from .teacher_sums import HEAD, summation_method, teacher_grid, teacher_magnitudes_mp
from .teachers import VARIANTS, diagonal_teacher

# Converged means both relative residuals are below this. brentq brackets the roots to 1e-14 in
# log tau and log zeta, and the sums carry ~1e-14 relative rounding (binned: <= 1.1e-14 quadrature
# error). Measured on a sweep of 8064 parameter sets (d = 1 ... 1e13, n/d = 1e-6 ... 1e4, lam = 0
# ... 1e8, gamma = 0.51 ... 8, noise = 0 ... 100, both teachers): worst residual 1.7e-13. The
# tolerance leaves a factor ~60 above that.
RESIDUAL_TOL = 1e-11
# First log-step of the bracket search for zeta: the guess (previous zeta/tau times tau) is close
# once the outer iteration settles, so a small step gives a tight bracket.
_ZETA_STEP = 1e-3
# First log-step for tau when starting from a binned solution (accurate to ~1e-13).
_POLISH_STEP = 1e-9
# brentq stops when the bracket in log x is below 1e-14 (a relative error of 1e-14 in x, ~50
# float64 rounding units): the SE equations then hold to ~1e-13, below the solvers' 1e-11
# residual tolerance. rtol is brentq's smallest allowed value (4 machine epsilons).
LOG_XTOL = 1e-14
LOG_RTOL = 4.0 * np.finfo(float).eps
# The log-step doubles at every expansion; 64 doublings of even a 1e-8 first step span
# more than the float64 exponent range.
MAX_EXPANSIONS = 64
# mpmath solves are offered from 30 significant digits on (float64 gives ~15).
MIN_DIGITS = 30

# per-component (MSE, P) of each teacher: float64 (vectorised) and mpmath (one component)
_COMPONENTS = {
    "signs": (soft_threshold_mse, active_probability),
    "gaussian": (gaussian_teacher_mse, gaussian_teacher_active_probability),
}
_TERMS_MP = {"signs": soft_threshold_terms_mp, "gaussian": gaussian_teacher_terms_mp}


@dataclass(frozen=True)
class SEResult:
    """Fixed point (tau^2, zeta) and excess risk R = (1/n) sum_i MSE_i of a state evolution.

    zeta and active_fraction = (1/n) sum_i P_i are nan for the Bayes-optimal SE. ``residual`` is
    the largest relative residual of the fixed-point equations at the returned point;
    ``converged`` says it is below the solver's stated tolerance (otherwise ``message`` says why).
    ``iterations``: float64 - evaluations of the outer equation; mpmath - Newton steps.
    """

    excess_risk: float
    tau2: float
    zeta: float
    active_fraction: float
    converged: bool
    iterations: int
    residual: float
    method: str
    message: str

    def to_dict(self) -> dict:
        return plain_dict(self)


_KINDS = {"converged": bool, "recovered": bool, "iterations": int, "samples": int, "method": str, "message": str,
          "model": str, "d": int}


def plain_dict(result) -> dict:
    """A result dataclass as plain Python floats / bools / ints / strs (nan and inf stay floats)."""
    return {f.name: _KINDS.get(f.name, float)(getattr(result, f.name)) for f in fields(result)}


def check_digits(digits) -> int | None:
    """``digits`` is None (float64) or an integer >= MIN_DIGITS (mpmath)."""
    if digits is not None and (isinstance(digits, bool) or not isinstance(digits, int) or digits < MIN_DIGITS):
        raise ValueError(f"digits must be None or an integer >= {MIN_DIGITS} (got {digits!r})")
    return digits


def no_data(method: str) -> SEResult:
    """n = 0: the estimator is 0 and R = ||theta*||^2/d = 1 exactly."""
    return SEResult(1.0, math.nan, math.nan, math.nan, True, 0, 0.0, method, "n = 0: the estimator is 0, R = 1")


def failed(method: str, message: str) -> SEResult:
    """No fixed point to report: every number is nan, ``message`` says why."""
    return SEResult(math.nan, math.nan, math.nan, math.nan, False, 0, math.nan, method, message)


def verdict(residual, tolerance) -> tuple[bool, str]:
    """(converged, message) for a residual against the solver's tolerance."""
    if residual <= tolerance:
        return True, "converged"
    return False, f"residual {float(residual):.3g} above tolerance {float(tolerance):.3g}"


class RootFindingError(ArithmeticError):
    """No root could be bracketed or located; the message says where and why."""


def log_root(f, guess: float, *, first_step: float = math.log(2.0), floor: float | None = None, name: str = "x"):
    """x > 0 with f(log x) = 0. Returns (x, number of evaluations of f).

    ``floor`` is a log x at which f <= 0 is known (the search never goes below it; f(floor) = 0
    returns exp(floor)). Raises RootFindingError if no sign change is found or brentq fails.
    """
    seen: dict[float, float] = {}  # brentq re-evaluates the bracket ends: reuse those values so
    # their signs stay those found here even if f carries rounding noise (it may depend on history)

    def g(t: float) -> float:
        if t not in seen:
            seen[t] = f(t)
            if not math.isfinite(seen[t]):
                raise RootFindingError(f"{name}: equation is not finite at {name} = {math.exp(t):.6g}")
        return seen[t]

    t = math.log(guess) if floor is None else max(math.log(guess), floor)
    ft = g(t)
    step = first_step
    lo = hi = t
    if ft == 0.0:
        return math.exp(t), len(seen)
    if ft < 0.0:
        for _ in range(MAX_EXPANSIONS):
            hi = lo + step
            fh = g(hi)
            if fh > 0.0:
                break
            if fh == 0.0:
                return math.exp(hi), len(seen)
            lo, step = hi, 2.0 * step
        else:
            raise RootFindingError(f"{name}: no sign change found up to {name} = {math.exp(hi):.6g}")
    else:
        for _ in range(MAX_EXPANSIONS):
            lo = hi - step if floor is None else max(hi - step, floor)
            fl = g(lo)
            if fl < 0.0:
                break
            if fl == 0.0:
                return math.exp(lo), len(seen)
            if floor is not None and lo == floor:
                raise RootFindingError(f"{name}: equation is positive at its lower limit {math.exp(lo):.6g}")
            hi, step = lo, 2.0 * step
        else:
            raise RootFindingError(f"{name}: no sign change found down to {name} = {math.exp(lo):.6g}")
    root, info = brentq(g, lo, hi, xtol=LOG_XTOL, rtol=LOG_RTOL, full_output=True, disp=False)
    if not info.converged:
        raise RootFindingError(f"{name}: brentq did not converge ({info.flag})")
    return math.exp(root), len(seen)


def newton_mp(F, x0, *, tol, max_iter: int = 12):
    """Newton for F(x) = 0, x and F(x) lists of mpf; stops when max|F| <= tol or after max_iter.

    The Jacobian is (F(x + h e_j) - F(x))/h with h = 10^(-dps/2). Its relative error ~h makes a
    step shrink the error e to ~max(C e, h) e: at least dps/2 digits per step, two or three steps
    from a float64 start. Returns (x, F(x), steps); the caller judges max|F(x)| against ``tol``.
    """
    x = [mpmath.mpf(v) for v in x0]
    fx = F(x)
    h = mpmath.mpf(10) ** (-(mpmath.mp.dps // 2))
    steps = 0
    while max(abs(v) for v in fx) > tol and steps < max_iter:
        jac = mpmath.matrix(len(x), len(x))
        for j in range(len(x)):
            xj = list(x)
            xj[j] += h
            fj = F(xj)
            for i in range(len(x)):
                jac[i, j] = (fj[i] - fx[i]) / h
        try:
            step = mpmath.lu_solve(jac, mpmath.matrix([-v for v in fx]))
        except ZeroDivisionError:  # singular Jacobian: stop, the residual tells
            break
        x = [xi + step[i] for i, xi in enumerate(x)]
        fx = F(x)
        steps += 1
    return x, fx, steps


def lasso_se(d, n, lam, gamma, noise, *, digits: int | None = None, binning: str = "auto", teacher: str = "signs") -> SEResult:
    """Solve the LASSO SE; ``digits`` (>= 30) selects the mpmath path (exact sums).

    Cost: float64 binned ~0.03 s at any d; float64 exact ~1-3 s at d = 1e6; mpmath ~7 evaluations
    of d closed-form terms (~8 s at d = 1e4, 50 digits).
    """
    d, n, lam, gamma, noise = check_diagonal_params(d, n, lam, gamma, noise)
    if teacher not in VARIANTS:
        raise ValueError(f"teacher must be one of {', '.join(VARIANTS)} (got {teacher!r})")
    digits = check_digits(digits)
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
    return _solve_mp(d, n, lam, gamma, noise, digits, teacher, start)


def _special_case(d: int, n: float, lam: float, noise: float, method: str) -> SEResult | None:
    """Closed-form answers: no data, and lam = 0 with n >= d (no threshold, zeta = 0)."""
    if n == 0:
        return no_data(method)
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
    """Nested brentq (see module docstring); ``start`` = (tau, zeta) of an earlier solve or None.

    Overflow while the bracket search probes extreme tau is expected and caught (a non-finite
    equation ends the solve as not converged, with a message), so numpy's warnings are silenced here.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        return _solve_float64_quiet(d, n, lam, gamma, noise, sums, teacher, start, method)


def _solve_float64_quiet(d, n, lam, gamma, noise, sums, teacher, start, method) -> SEResult:
    mse, prob = _COMPONENTS[teacher]
    zeta_min = lam * math.sqrt(d / n)
    sharp = teacher == "signs"  # fixed magnitudes: a transition of width tau around zeta

    def mean(f, tau, zeta):
        # split at zeta: no smooth run ends inside a transition narrower than a few integers (1.6e-8 errors in R
        # at d = 1e20, zeta/tau ~ 1e9 without it, found by numeric.decomposition's exact split)
        grid = teacher_grid(d, n, gamma, binning=sums, transition=(zeta, tau) if sharp else None,
                            split=zeta if sharp else None)
        return grid.total(f(grid.magnitudes, tau, zeta)) / n

    ratio = [1.0 if start is None else start[1] / start[0]]  # zeta/tau of the last inner solve

    def zeta_of(tau):
        # unknown s = log(zeta/base); base = zeta_min makes the lower limit s = 0 exact
        base = zeta_min if zeta_min > 0 else tau

        def gap(s):  # 1 - Pbar - zeta_min/zeta: < 0 below the root, > 0 above
            return 1.0 - mean(prob, tau, base * math.exp(s)) - zeta_min / base * math.exp(-s)

        guess = max(ratio[0] * tau / base, 1.0) if zeta_min > 0 else ratio[0]
        scaled, _ = log_root(gap, guess, first_step=_ZETA_STEP, floor=0.0 if zeta_min > 0 else None,
                             name="zeta/lam sqrt(d/n)" if zeta_min > 0 else "zeta/tau")
        ratio[0] = base * scaled / tau
        return base * scaled

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
        return failed(method, str(exc))
    risk, active = mean(mse, tau, zeta), mean(prob, tau, zeta)
    tau2 = tau * tau
    residual = max(abs(noise + risk - tau2) / tau2, abs(zeta * (1.0 - active) - zeta_min) / zeta)
    converged, message = verdict(residual, RESIDUAL_TOL)
    return SEResult(risk, tau2, zeta, active, converged, evaluations, residual, method, message)


def _solve_mp(d: int, n: float, lam: float, gamma: float, noise: float, digits: int, teacher: str, start: SEResult) -> SEResult:
    """Newton polish of the float64 solution ``start`` at ``digits`` significant digits."""
    method = f"mpmath-{digits}"
    if not (math.isfinite(start.tau2) and start.tau2 > 0 and math.isfinite(start.zeta) and start.zeta > 0):
        return failed(method, f"no float64 starting point for the mpmath solve ({start.message})")
    tau0, zeta0 = math.sqrt(start.tau2), start.zeta
    top = math.sqrt(n)  # bounds the largest magnitude x0_1 = sqrt(n) c_d (c_d <= 1)
    w_small = zeta0 / math.hypot(top, tau0) if teacher == "gaussian" else 1.0
    with mpmath.workdps(digits + guard_digits(zeta0 / tau0, w_small)):
        terms = _TERMS_MP[teacher]
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
        x, fx, iterations = newton_mp(residuals, [math.log(tau0), math.log(zeta0)], tol=tol)
        risk, active = means(*x)
        residual = max(abs(v) for v in fx)
        converged, message = verdict(residual, tol)
        return SEResult(float(risk), float(mpmath.exp(2 * x[0])), float(mpmath.exp(x[1])), float(active),
                        converged, iterations, float(residual), method, message)


def lasso_se_estimates(d, n, gamma, result: SEResult, rng: np.random.Generator, teacher: str = "signs") -> np.ndarray:
    """theta_hat_i = sqrt(d/n) eta(x0_i + tau Z_i; zeta), i = 1..d, with x0 = theta* sqrt(n/d).

    ``rng`` draws theta* = diagonal_teacher(d, gamma, rng, teacher) first, then Z ~ N(0, I_d).
    n = 0 gives the zero estimator.
    """
    d, gamma = check_dimension(d), check_gamma(gamma)
    n = check_nonnegative("n", n)
    if n == 0:
        return np.zeros(d)
    if not (result.converged and math.isfinite(result.tau2) and math.isfinite(result.zeta)):
        raise ValueError(f"needs a converged LASSO SE result (got: {result.message})")
    x0 = diagonal_teacher(d, gamma, rng, variant=teacher) * math.sqrt(n / d)
    y = x0 + math.sqrt(result.tau2) * rng.standard_normal(d)
    return math.sqrt(d / n) * np.sign(y) * np.maximum(np.abs(y) - result.zeta, 0.0)
