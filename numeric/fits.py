"""Exponent fits from SE sweeps: local slopes of log R against log x.

For a law R ~ C x^e (log x)^p, y = R (log x)^(-p) is a pure power of x, so the local slopes
    e_k = [log y_{k+1} - log y_k] / [log x_{k+1} - log x_k],   k = 1 .. m-1,
all equal e. For a sweep they converge to e as x grows; ``exponent`` is the last one (between the
two largest x) and ``trend`` = e_{m-1} - e_{m-2}, the change of the local slope over the last
intervals of the sweep, measures how far from converged it still is (nan with fewer than 3 points).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SlopeFit:
    """Local slopes d log(R (log x)^(-log_power)) / d log x of a sweep (see module docstring)."""

    exponent: float
    exponents: tuple[float, ...]
    xs: tuple[float, ...]
    values: tuple[float, ...]
    log_power: float
    trend: float

    def to_dict(self) -> dict:
        """Plain floats and lists (nan stays a float)."""
        return {
            "exponent": float(self.exponent),
            "exponents": [float(v) for v in self.exponents],
            "xs": [float(v) for v in self.xs],
            "values": [float(v) for v in self.values],
            "log_power": float(self.log_power),
            "trend": float(self.trend),
        }


def local_slope(xs, values, *, log_power: float = 0.0) -> SlopeFit:
    """Local slopes of log(values (log x)^(-log_power)) vs log x; xs increasing, values > 0."""
    x = np.asarray(xs, dtype=float)
    v = np.asarray(values, dtype=float)
    if x.ndim != 1 or x.shape != v.shape or x.size < 2:
        raise ValueError("xs and values must be 1-D of the same length >= 2")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(v)) and math.isfinite(log_power)):
        raise ValueError("xs, values and log_power must be finite")
    if np.any(v <= 0) or np.any(x <= 0) or np.any(np.diff(x) <= 0):
        raise ValueError("values must be > 0 and xs > 0 strictly increasing")
    if log_power != 0 and x[0] <= 1:
        raise ValueError("log_power != 0 needs xs > 1 (log x > 0)")
    lx = np.log(x)
    ly = np.log(v) - log_power * np.log(lx) if log_power != 0 else np.log(v)
    slopes = np.diff(ly) / np.diff(lx)
    trend = float(slopes[-1] - slopes[-2]) if slopes.size >= 2 else math.nan
    return SlopeFit(
        float(slopes[-1]),
        tuple(float(s) for s in slopes),
        tuple(float(a) for a in x),
        tuple(float(a) for a in v),
        float(log_power),
        trend,
    )
