"""Bayes-optimal state evolution of the quadratic network (rotationally invariant prior with the
teacher's spectrum; spec/quadratic.md).

The denoising problem Y = S* + sigma W (W GOE, semicircle on [-2, 2]) has, per (1/d)||.||_F^2,

    mmse(sigma^2) = sigma^2 - (4 pi^2 / 3) sigma^4 int rho_Y(x)^3 dx,

with rho_Y the free convolution of the teacher spectrum with the semicircle (free_probability).
The fixed point is  sigma^2 = (Delta + 2 mmse(sigma^2)) / (4 alpha),  alpha = n/d^2, and the
normalised excess risk is R_BO = mmse (R = 1 for the zero estimator since ||S*||_F^2 = d).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

from .free_probability import free_convolution_semicircle
from .params import check_dimension, check_gamma, check_nonnegative
from .se_lasso import SEResult
from .se_matrix import QUADRATURE_TOL
from .teachers import quadratic_teacher_spectrum

# brentq in sigma^2 to 1e-13 relative (and absolute 1e-13 of the root's lower bound, so that a tiny root is resolved);
# converged means the fixed-point residual is below 1e-10 relative (the quadrature of int rho^3 is accurate to
# ~1e-12, free_probability tests) and the quadrature's mass check below se_matrix.QUADRATURE_TOL.
_RTOL = 1e-13
RESIDUAL_TOL = 1e-10
# Delta = 0: the root bracket's lower end, relative to the upper bound; F > 0 there means sigma^2 -> 0 (exact recovery).
# (At Delta > 0 the lower end is the exact bound Delta/(4 alpha), where F = -2 mmse < 0.)
NOISELESS_FLOOR = 1e-12


def _mmse(s, sigma2: float) -> tuple[float, float]:
    """(mmse, the free convolution's relative mass error) at sigma^2 (module docstring)."""
    fc = free_convolution_semicircle(s, sigma2)
    return float(sigma2 - (4 * math.pi**2 / 3) * sigma2**2 * np.sum(fc.weight * fc.density**2)), fc.mass_error


def denoising_mmse(s, sigma2: float) -> float:
    """mmse of estimating S* (eigenvalues s) from S* + sigma W, per (1/d)||.||_F^2."""
    return _mmse(s, sigma2)[0]


def bayes_se_quadratic(d, n, gamma, noise, *, rank: int | None = None) -> SEResult:
    """Fixed point sigma^2 = (Delta + 2 mmse)/(4 alpha) and R_BO = mmse (module docstring)."""
    d, gamma, noise = check_dimension(d), check_gamma(gamma, rank), check_nonnegative("noise", noise)
    n = check_nonnegative("n", n)
    s = quadratic_teacher_spectrum(d, gamma, rank)
    if n == 0:
        return SEResult(1.0, math.inf, math.nan, math.nan, True, 0, 0.0, "float64", "n = 0: R = 1")
    alpha = n / d**2
    F = lambda v: 4 * alpha * v - noise - 2 * denoising_mmse(s, v)  # noqa: E731 - increasing through its root
    # mmse <= mean(s^2) = 1 bounds the root: F(hi) > 0 (1 % margin; 1e-300 keeps hi > 0 at Delta = 0, alpha huge)
    hi = (noise + 2.0 * np.mean(s**2)) / (4 * alpha) * 1.01 + 1e-300
    lo = noise / (4 * alpha) if noise > 0 else hi * NOISELESS_FLOOR
    if noise == 0 and F(lo) > 0:
        # 2 mmse(v) < 4 alpha v already at tiny v: the only fixed point is v -> 0 (exact recovery)
        return SEResult(0.0, 0.0, math.nan, math.nan, True, 0, 0.0, "float64",
                        "noiseless and over-sampled: sigma^2 -> 0, R_BO = 0")
    v, info = brentq(F, lo, hi, xtol=max(_RTOL * lo, 1e-300), rtol=_RTOL, full_output=True)
    mmse, quadrature = _mmse(s, v)
    residual = abs(4 * alpha * v - noise - 2 * mmse) / max(4 * alpha * v, 1e-300)
    ok = info.converged and residual <= RESIDUAL_TOL and quadrature <= QUADRATURE_TOL
    message = ("converged" if ok else f"not converged: residual {residual:.2e}" if residual > RESIDUAL_TOL
               else f"not converged: quadrature mass error {quadrature:.2e} above {QUADRATURE_TOL:.0e}")
    return SEResult(mmse, v, math.nan, math.nan, bool(ok), int(info.iterations), float(residual), "float64", message)
