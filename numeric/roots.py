"""Root finding for the state-evolution solvers.

float64: the unique sign change of f(log x) (f < 0 below the root, f > 0 above), bracketed by
geometric expansion from a guess and then located by brentq in log x.
mpmath: Newton's method at working precision, Jacobian by forward differences.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
from scipy.optimize import brentq

# brentq stops when the bracket in log x is below 1e-14 (a relative error of 1e-14 in x, ~50
# float64 rounding units): the SE equations then hold to ~1e-13, below the solvers' 1e-11
# residual tolerance. rtol is brentq's smallest allowed value (4 machine epsilons).
LOG_XTOL = 1e-14
LOG_RTOL = 4.0 * np.finfo(float).eps
# The log-step doubles at every expansion; 64 doublings of even a 1e-8 first step span
# more than the float64 exponent range.
MAX_EXPANSIONS = 64


class RootFindingError(ArithmeticError):
    """No root could be bracketed or located; the message says where and why."""


def log_root(f, guess: float, *, first_step: float = math.log(2.0), floor: float | None = None, name: str = "x"):
    """x > 0 with f(log x) = 0. Returns (x, number of evaluations of f).

    ``floor`` is a log x at which f <= 0 is known (the search never goes below it; f(floor) = 0
    returns exp(floor)). Raises RootFindingError if no sign change is found or brentq fails.
    """
    count = 0

    def g(t: float) -> float:
        nonlocal count
        count += 1
        value = f(t)
        if not math.isfinite(value):
            raise RootFindingError(f"{name}: equation is not finite at {name} = {math.exp(t):.6g}")
        return value

    t = math.log(guess) if floor is None else max(math.log(guess), floor)
    ft = g(t)
    step = first_step
    lo = hi = t
    if ft == 0.0:
        return math.exp(t), count
    if ft < 0.0:
        for _ in range(MAX_EXPANSIONS):
            hi = lo + step
            fh = g(hi)
            if fh > 0.0:
                break
            if fh == 0.0:
                return math.exp(hi), count
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
                return math.exp(lo), count
            if floor is not None and lo == floor:
                raise RootFindingError(f"{name}: equation is positive at its lower limit {math.exp(lo):.6g}")
            hi, step = lo, 2.0 * step
        else:
            raise RootFindingError(f"{name}: no sign change found down to {name} = {math.exp(lo):.6g}")
    root, info = brentq(g, lo, hi, xtol=LOG_XTOL, rtol=LOG_RTOL, full_output=True, disp=False)
    if not info.converged:
        raise RootFindingError(f"{name}: brentq did not converge ({info.flag})")
    return math.exp(root), count


def newton_mp(F, x0, *, tol, max_iter: int = 12):
    """Newton for F(x) = 0, x and F(x) lists of mpf; stops when max|F| <= tol.

    The Jacobian is (F(x + h e_j) - F(x))/h with h = 10^(-dps/2): its relative error ~h limits
    each step to a gain of ~dps/2 digits on top of the quadratic one, ample from a float64 start.
    Returns (x, F(x), iterations, converged).
    """
    x = [mpmath.mpf(v) for v in x0]
    fx = F(x)
    h = mpmath.mpf(10) ** (-(mpmath.mp.dps // 2))
    for it in range(max_iter + 1):
        if max(abs(v) for v in fx) <= tol:
            return x, fx, it, True
        if it == max_iter:
            break
        jac = mpmath.matrix(len(x), len(x))
        for j in range(len(x)):
            xj = list(x)
            xj[j] += h
            fj = F(xj)
            for i in range(len(x)):
                jac[i, j] = (fj[i] - fx[i]) / h
        try:
            step = mpmath.lu_solve(jac, mpmath.matrix([-v for v in fx]))
        except ZeroDivisionError:
            break
        x = [xi + step[i] for i, xi in enumerate(x)]
        fx = F(x)
    return x, fx, max_iter, False
