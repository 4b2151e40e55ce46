"""Power-law teachers of the diagonal network.

theta*_i = sqrt(d) c_d i^{-gamma} s_i (i = 1..d), with c_d = (sum_{j<=d} j^{-2 gamma})^{-1/2} so that
E f*(x)^2 = ||theta*||^2 / d = 1. ``variant="signs"`` draws s_i = +-1; ``variant="gaussian"`` draws
theta*_i ~ N(0, d c_d^2 i^{-2 gamma}) instead.
"""

from __future__ import annotations

import math

import numpy as np

from .params import check_dimension, check_gamma, check_nonnegative, check_rank

VARIANTS = ("signs", "gaussian")

# Below this d the normalising sum is added term by term (exact to rounding). Above it the terms
# beyond _DIRECT_SUM_MAX_D are summed by Euler-Maclaurin (``_tail_sum``). (The Hurwitz-zeta difference
# zeta(2g) - zeta(2g, d+1) used before cancels catastrophically as gamma -> 1/2, where zeta(2g) ~
# 1/(2g - 1): 1e-12 relative error at gamma = 0.500001, found by tests/test_fuzz.py.)
_DIRECT_SUM_MAX_D = 100_000


def _tail_sum(a: int, b: int, s: float) -> float:
    """sum_{j=a}^{b} j^{-s} by Euler-Maclaurin for a >= 1e5: the integral (in the cancellation-free
    form a^{1-s} expm1((1-s) ln(b/a))/(1-s)), the end-point half terms and the B2, B4 corrections;
    the next term is ~s^5 a^{-s-5}/30240, below 1e-25 relative to the sum for s <= 20."""
    u = (1.0 - s) * math.log(b / a)
    integral = a * a ** -s * (math.expm1(u) / u if u != 0.0 else 1.0) * math.log(b / a)
    f = lambda x: x ** -s  # noqa: E731
    f1 = lambda x: -s * x ** (-s - 1.0)  # noqa: E731
    f3 = lambda x: -s * (s + 1.0) * (s + 2.0) * x ** (-s - 3.0)  # noqa: E731
    return integral + 0.5 * (f(a) + f(b)) + (f1(b) - f1(a)) / 12.0 - (f3(b) - f3(a)) / 720.0


def sum_of_powers(first: int, last: int, s: float) -> float:
    """sum_{j=first}^{last} j^{-s} (0 if last < first): terms added one by one (smallest first) up to
    j = _DIRECT_SUM_MAX_D, Euler-Maclaurin (``_tail_sum``) beyond."""
    if last < first:
        return 0.0
    stop = min(last, _DIRECT_SUM_MAX_D)
    j = np.arange(stop, first - 1, -1, dtype=float) if first <= stop else np.zeros(0)
    head = float(np.sum(j ** (-float(s))))
    if last <= _DIRECT_SUM_MAX_D:
        return head
    return head + _tail_sum(float(max(first, _DIRECT_SUM_MAX_D + 1)), float(last), float(s))


def power_sum(d: int, gamma: float) -> float:
    """S_d = sum_{j=1}^{d} j^{-2 gamma} (any gamma >= 0: a finite sum)."""
    return sum_of_powers(1, check_dimension(d), 2.0 * check_nonnegative("gamma", gamma))


def teacher_scale(d: int, gamma: float) -> float:
    """c_d = S_d^{-1/2}."""
    return power_sum(d, gamma) ** -0.5


def teacher_magnitudes(d: int, gamma: float) -> np.ndarray:
    """|theta*_i| = sqrt(d) c_d i^{-gamma} for i = 1..d (the signs variant)."""
    d = check_dimension(d)
    i = np.arange(1, d + 1, dtype=float)
    return np.sqrt(d) * teacher_scale(d, gamma) * i ** (-check_gamma(gamma))


def diagonal_teacher(d: int, gamma: float, rng: np.random.Generator, variant: str = "signs") -> np.ndarray:
    """Draw theta* of the given variant (see module docstring)."""
    scale = teacher_magnitudes(d, gamma)
    if variant == "signs":
        return scale * rng.choice((-1.0, 1.0), size=scale.size)
    if variant == "gaussian":
        return scale * rng.standard_normal(scale.size)
    raise ValueError(f"unknown teacher variant {variant!r} (choose from {', '.join(VARIANTS)})")


def quadratic_teacher_spectrum(d: int, gamma: float, rank: int | None = None) -> np.ndarray:
    """Eigenvalues s_k = c k^{-gamma} of the quadratic network's teacher S*, k = 1..d (zero beyond
    ``rank``), with c set so that ||S*||_F^2 = sum_k s_k^2 = d (spec/quadratic.md). With a rank, any gamma >= 0
    (gamma = 0: a flat rank-r teacher, s_k = sqrt(d/r))."""
    d = check_dimension(d)
    rank = check_rank(rank, d)
    r = d if rank is None else rank
    gamma = check_gamma(gamma, rank)
    s = np.zeros(d)
    s[:r] = np.sqrt(d) * teacher_scale(r, gamma) * np.arange(1, r + 1, dtype=float) ** -gamma
    return s


def quadratic_teacher(d: int, gamma: float, rng: np.random.Generator, rank: int | None = None) -> np.ndarray:
    """S* = O diag(s) O^T with O Haar-orthogonal (QR of a Gaussian matrix, signs fixed by R's diagonal)."""
    s = quadratic_teacher_spectrum(d, gamma, rank)
    q, r = np.linalg.qr(rng.standard_normal((s.size, s.size)))
    O = q * np.sign(np.diag(r))
    return (O * s) @ O.T
