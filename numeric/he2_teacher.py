"""The He2 teacher of the training dynamics (spec/dynamics.md).

    f*(x) = x^T A x - Tr A,   A = sum_{j<=r} lam_j theta_j theta_j^T,   lam_j = c_alpha j^-alpha,
    c_alpha = (sum_{j<=r} j^(-2 alpha))^(-1/2),  so ||A||_F = 1 and E f*^2 = 2.

theta_j = e_j (the first r coordinates) without loss of generality: x ~ N(0, I_d) and the Gaussian
initialisation of the student are rotation invariant. Only the first ``head`` coefficients are kept
as an array (r may be 10^12 at d = 10^24); the others enter through sum_{j>head} lam_j^2 and Tr A,
computed by ``numeric.teachers.sum_of_powers`` (exact sums up to 1e5 terms, Euler-Maclaurin beyond).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .params import check_alpha, check_count, check_dimension
from .teachers import sum_of_powers


@dataclass(frozen=True)
class He2Teacher:
    """lam_1..lam_K (K = min(r, head)) and the sums over the rest of the spectrum."""

    r: int
    alpha: float
    scale: float  # c_alpha
    head: np.ndarray  # lam_j, j = 1..K
    tail_square_sum: float  # sum_{j>K} lam_j^2
    trace: float  # Tr A = sum_{j<=r} lam_j

    def coefficients(self, first: int, last: int) -> np.ndarray:
        """lam_j for j = first..last (any j <= r, not only the head)."""
        j = np.arange(first, min(last, self.r) + 1, dtype=float)
        return self.scale * j ** -self.alpha

    def square_sum_beyond(self, k: int) -> float:
        """sum_{j>k} lam_j^2: the risk of the best rank-k approximation of A (the width floor for m = k)."""
        return self.scale**2 * sum_of_powers(k + 1, self.r, 2.0 * self.alpha)


def check_rank(r, d) -> int:
    """The teacher rank r: an integer with 1 <= r <= d."""
    r, d = check_count("r", r, 1), check_dimension(d)
    if r > d:
        raise ValueError(f"r must be <= d (got r {r}, d {d})")
    return r


def he2_teacher(r: int, alpha: float, head: int | None = None) -> He2Teacher:
    """The teacher of rank r and decay alpha; ``head`` (default r) coefficients stored explicitly."""
    r, alpha = check_count("r", r, 1), check_alpha(alpha)
    k = r if head is None else min(r, check_count("head", head, 1))
    scale = sum_of_powers(1, r, 2.0 * alpha) ** -0.5
    head_coeffs = scale * np.arange(1, k + 1, dtype=float) ** -alpha
    tail = scale**2 * sum_of_powers(k + 1, r, 2.0 * alpha)
    trace = scale * sum_of_powers(1, r, alpha)
    if not (math.isfinite(scale) and math.isfinite(trace)):
        raise ArithmeticError(f"teacher sums overflowed at r = {r}, alpha = {alpha}")
    return He2Teacher(r=r, alpha=alpha, scale=scale, head=head_coeffs, tail_square_sum=tail, trace=trace)
