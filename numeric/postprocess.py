"""Pruning and debiasing of a trained diagonal network (LASSO output), from data and from the state evolution.

Effective observation. In the units of the SE (x = theta sqrt(n/d), design X/sqrt(n)) the LASSO fixed point sees
each coordinate through Y_i = x0_i + tau Z_i and returns eta(Y_i; zeta) (spec/diagonal.md). The data-driven Y is
the AMP / debiased-LASSO observation x_u = x_hat + (X/sqrt n)^T r / (1 - df/n), r = y - X theta_hat / sqrt(d),
df = #{theta_hat_i != 0}; back in theta units (theta = sqrt(d/n) x)
    theta_u = theta_hat + sqrt(d) X^T r / (n - df),        theta_u - theta* ~ N(0, tau^2 d/n) per coordinate.
On the support the KKT condition X^T r / sqrt(d) = lam sign(theta_hat) makes this theta_hat + lam d sign/(n - df),
i.e. x_u = x_hat + zeta sign(x_hat) by the SE's threshold equation zeta (1 - df/n) = lam sqrt(d/n): theta_u
undoes exactly the soft threshold. The noise level is read from the residual: the AMP residual
r/(1 - df/n) has ||.||^2/n -> tau^2, hence
    tau_hat = sqrt(n) ||r|| / (n - df),        std(theta_u - theta*) ~ sqrt(d/n) tau_hat = sqrt(d) ||r|| / (n - df).

Post-processors (functions of Y and of the LASSO output; SE units):
    debias        Y 1{|Y| > zeta}                      (survivors take the unshrunk value: hard threshold at zeta)
    prune         eta(Y; zeta) 1{|Y| > t}              (t = c tau; survivors keep the LASSO value)
    prune_debias  Y 1{|Y| > max(t, zeta)}              (survivors of both, unshrunk)
    rethreshold   Y 1{|Y| > t}                         (hard threshold of the observation itself: for t < zeta it
                                                        re-admits coordinates the LASSO set to zero)
with c = sqrt(2 ln d) by default (``universal_factor``): the largest of d pure-noise |tau Z_i| is ~ tau sqrt(2 ln d),
so coordinates carrying no signal are removed with probability -> 1 (E #false survivors = 2 d Q(sqrt(2 ln d)) =
O(1/sqrt(ln d))) while every |x0_i| >~ tau sqrt(2 ln d) is kept: the Donoho-Johnstone universal threshold.
Each is E[(g(Y) - x0)^2] = "thresholded_mse" below with (threshold, shrink) = (zeta, 0), (max(t, zeta), zeta),
(max(t, zeta), 0), (t, 0); the soft threshold itself is (zeta, zeta). The SE predicts R_g = (1/n) sum_i E[(g(Y_i) - x0_i)^2]
at the LASSO's (tau, zeta), summed on the TeacherGrid with the transition at the threshold (the only place where
the summand is not smooth in x0 on the index scale), so any d up to the float64 range is affordable.
The "refit" (least squares on the LASSO support) is measured only (``refit``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .convex import scaled_design
from .gaussian import thresholded_mse
from .params import check_diagonal_params, check_nonnegative
from .se_lasso import SEResult, lasso_se, plain_dict
from .teacher_sums import teacher_grid

POSTPROCESSORS = ("lasso", "debias", "prune", "prune_debias", "rethreshold")


def universal_factor(d: int) -> float:
    """c = sqrt(2 ln d), the pruning threshold in units of tau (module docstring); 0 for d = 1."""
    return math.sqrt(2.0 * math.log(d))


def rules(tau: float, zeta: float, factor: float) -> dict:
    """(threshold, shrink) of each post-processor at the fixed point (tau, zeta) with pruning threshold t = factor tau."""
    t = factor * tau
    top = max(t, zeta)
    return {"lasso": (zeta, zeta), "debias": (zeta, 0.0), "prune": (top, zeta), "prune_debias": (top, 0.0),
            "rethreshold": (t, 0.0)}


@dataclass(frozen=True)
class PostprocessSE:
    """SE-predicted excess risks R = (1/n) sum_i E[(g(Y_i) - x0_i)^2] of each post-processor at the LASSO fixed point.

    ``observation`` = d tau^2 / n is the risk of theta_u itself (every coordinate debiased, threshold 0).
    ``threshold`` is t = factor tau in SE units (theta units: multiply by sqrt(d/n)). ``se`` is the LASSO SE
    (its excess_risk is recomputed here as ``lasso``; they agree to the SE's residual).
    """

    lasso: float
    debias: float
    prune: float
    prune_debias: float
    rethreshold: float
    observation: float
    factor: float
    threshold: float
    se: SEResult
    converged: bool
    message: str

    def risks(self) -> dict:
        return {name: getattr(self, name) for name in POSTPROCESSORS}

    def to_dict(self) -> dict:
        out = {name: float(getattr(self, name)) for name in (*POSTPROCESSORS, "observation", "factor", "threshold")}
        return {**out, "se": plain_dict(self.se), "converged": self.converged, "message": self.message}


def postprocess_se(d, n, lam, gamma, noise, *, factor: float | None = None, binning: str = "auto",
                   se: SEResult | None = None) -> PostprocessSE:
    """SE prediction of every post-processor (module docstring); ``factor`` defaults to universal_factor(d).

    ``se``: a converged lasso_se(d, n, lam, gamma, noise) result to reuse (otherwise it is solved here). An SE that
    did not converge, or n = 0 (no fixed point: R = 1 for all), gives nan risks and says so in ``message``; the
    noiseless least-squares point (tau = zeta = 0) gives R = 0 for all.
    """
    d, n, lam, gamma, noise = check_diagonal_params(d, n, lam, gamma, noise)
    factor = universal_factor(d) if factor is None else check_nonnegative("factor", factor)
    se = lasso_se(d, n, lam, gamma, noise, binning=binning) if se is None else se
    tau2, zeta = se.tau2, se.zeta
    if se.converged and tau2 == 0 and zeta == 0:  # lam = 0, n >= d, Delta = 0: Y = x0 exactly and every rule returns it
        return PostprocessSE(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, factor, 0.0, se, True,
                             f"tau = zeta = 0, every post-processor recovers theta* ({se.message})")
    if not (se.converged and math.isfinite(tau2) and tau2 > 0 and math.isfinite(zeta)):
        nan = math.nan
        return PostprocessSE(nan, nan, nan, nan, nan, nan, factor, nan, se, False, f"no LASSO fixed point: {se.message}")
    tau = math.sqrt(tau2)
    risks = {}
    for name, (threshold, shrink) in rules(tau, zeta, factor).items():
        grid = teacher_grid(d, n, gamma, binning=binning, transition=(threshold, tau))
        risks[name] = grid.total(thresholded_mse(grid.magnitudes, tau, threshold, shrink)) / n
    return PostprocessSE(**risks, observation=d * tau2 / n, factor=factor, threshold=factor * tau, se=se,
                         converged=True, message="converged")


@dataclass(frozen=True)
class EffectiveObservation:
    """theta_u = theta_hat + sqrt(d) X^T r / (n - df) and the estimated std of theta_u - theta* (theta units)."""

    theta_u: np.ndarray
    noise_std: float
    tau_hat: float
    df: int


def effective_observation(X, y, theta_hat, support) -> EffectiveObservation:
    """Debiased observation of the module docstring; ``support`` is the boolean mask of non-zero theta_hat.

    Raises ValueError if df >= n (the factor 1/(n - df) is undefined: the support interpolates the data).
    """
    A, y = scaled_design(X, y)
    n, d = A.shape
    theta_hat = np.asarray(theta_hat, dtype=float)
    support = np.asarray(support, dtype=bool)
    if theta_hat.shape != (d,) or support.shape != (d,):
        raise ValueError(f"theta_hat and support must have shape ({d},) (got {theta_hat.shape}, {support.shape})")
    df = int(np.count_nonzero(support))
    if df >= n:
        raise ValueError(f"df = {df} >= n = {n}: the debiasing factor 1/(n - df) is undefined")
    r = y - A @ theta_hat
    theta_u = theta_hat + d * (A.T @ r) / (n - df)  # = theta_hat + sqrt(d) X^T r / (n - df)
    rnorm = float(np.linalg.norm(r))
    return EffectiveObservation(theta_u, math.sqrt(d) * rnorm / (n - df), math.sqrt(n) * rnorm / (n - df), df)


def postprocess_estimates(obs: EffectiveObservation, theta_hat, support, factor: float) -> dict:
    """The data-driven post-processors (theta units) with pruning threshold t = factor * obs.noise_std.

    On the support theta_u is the unshrunk value, off it the LASSO gives 0: debias = theta_u on the support,
    prune = theta_hat where |theta_u| > t, prune_debias = theta_u where both hold, rethreshold = theta_u where
    |theta_u| > t (support or not).
    """
    theta_hat = np.asarray(theta_hat, dtype=float)
    support = np.asarray(support, dtype=bool)
    above = np.abs(obs.theta_u) > factor * obs.noise_std
    keep = support & above
    return {
        "lasso": theta_hat,
        "debias": np.where(support, obs.theta_u, 0.0),
        "prune": np.where(keep, theta_hat, 0.0),
        "prune_debias": np.where(keep, obs.theta_u, 0.0),
        "rethreshold": np.where(above, obs.theta_u, 0.0),
    }


def refit(X, y, support) -> np.ndarray:
    """Least squares on the support: argmin ||y - X_S theta_S / sqrt(d)||, zero elsewhere (minimum-norm if |S| > n)."""
    A, y = scaled_design(X, y)
    support = np.asarray(support, dtype=bool)
    theta = np.zeros(A.shape[1])
    if support.any():
        theta[support] = np.linalg.lstsq(A[:, support], y, rcond=None)[0]
    return theta
