"""Power-law teachers of the diagonal network.

theta*_i = sqrt(d) c_d i^{-gamma} s_i (i = 1..d), with c_d = (sum_{j<=d} j^{-2 gamma})^{-1/2} so that
E f*(x)^2 = ||theta*||^2 / d = 1. ``variant="signs"`` draws s_i = +-1; ``variant="gaussian"`` draws
theta*_i ~ N(0, d c_d^2 i^{-2 gamma}) instead.
"""

from __future__ import annotations

import numpy as np
from scipy.special import zeta

from .params import check_dimension, check_gamma

VARIANTS = ("signs", "gaussian")

# Below this d the normalising sum is added term by term (exact to rounding); above it the
# Hurwitz-zeta difference zeta(2g) - zeta(2g, d+1) is used, accurate to ~1e-15 relative there.
_DIRECT_SUM_MAX_D = 100_000


def power_sum(d: int, gamma: float) -> float:
    """S_d = sum_{j=1}^{d} j^{-2 gamma}."""
    d, gamma = check_dimension(d), check_gamma(gamma)
    if d <= _DIRECT_SUM_MAX_D:
        j = np.arange(d, 0, -1, dtype=float)  # smallest terms first
        return float(np.sum(j ** (-2.0 * gamma)))
    return float(zeta(2.0 * gamma, 1.0) - zeta(2.0 * gamma, d + 1.0))


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
