"""Per-sample leverage of the trace-norm PSD solution on the real quadratic features (why they are not Gaussian).

Leave-one-out: with S_hat_{-mu} the solution without sample mu, r_mu = y_mu - <A_mu, S_hat> and
r~_mu = y_mu - <A_mu, S_hat_{-mu}>,
    r_mu = r~_mu / (1 + H_mu),                                        (definition of H_mu)
measured by ``leave_one_out_leverage`` (one refit per sample). Linear response of the effective observation
Y_u = S_hat + c A^*(r), S_hat = (Y_u - zeta_u)_+, c = d/(2 (n - df)) (``postprocess_quadratic``): adding sample mu
moves Y_u by c A_mu r~_mu and S_hat by the soft threshold's Jacobian, so
    H_mu = c sum_e omega_e <A_mu, e>^2,                                                         (``leverage``)
over the Frobenius-orthonormal eigenbasis of Y_u (e_ii = v_i v_i^T with omega_ii = 1{mu_i > zeta_u};
e_ij = (v_i v_j^T + v_j v_i^T)/sqrt 2 with omega_ij = (f(mu_i) - f(mu_j))/(mu_i - mu_j), f(x) = (x - zeta_u)_+).
For the real features <A, e_ii> = (g_i^2 - 1)/sqrt d and <A, e_ij> = sqrt 2 g_i g_j / sqrt d with g = V^T x i.i.d.
N(0, 1), so
    H = (c/d) [ sum_i omega_ii (g_i^2 - 1)^2 + sum_{i != j} omega_ij g_i^2 g_j^2 ],   E_x H = df/(n - df) exactly.
On a Gaussian design of the same covariance H concentrates at df/(n - df) (a sum of ~df independent terms), which
is what the state evolution's single Onsager factor 1 - df/n assumes. On the real features the terms of a learned
eigenvector v_k share the one variable g_k^2 = (v_k . x)^2: H ~ sum_k (W_k/(n - df)) g_k^2 + const with
W_k = sum_j omega_kj ~ d, a chi-square in O(1) variables, so H_mu fluctuates by O(df_k/(n - df)) = O(1/n_eff)
per learned direction. Samples with a large (v_k . x)^2 have a large leverage and their residuals are shrunk more,
so the effective observation is biased along the learned directions (``effective_observation_bias``);
docs/quadratic_real_features.md, section 4.
"""

from __future__ import annotations

import math

import numpy as np

from .convex_psd import QuadraticDesign, solve_psd
from .postprocess_quadratic import QuadraticObservation, soft_threshold_jacobian

# Refits for the leave-one-out leverage: the solver's tight default (relative fixed-point residual 1e-12) keeps the
# refit's error far below r - r~ = H r / (1 + H).
_REFIT_TOL = 1e-12


def leverage(obs: QuadraticObservation, X: np.ndarray) -> np.ndarray:
    """H(x) = (c/d) [sum_i omega_ii (g_i^2 - 1)^2 + sum_{i != j} omega_ij g_i^2 g_j^2], g = V^T x, for each row x of X
    (the samples, or fresh inputs); V, omega and c from the effective observation ``obs``."""
    X = np.asarray(X, dtype=float)
    d = obs.eigenvalues.size
    if X.ndim != 2 or X.shape[1] != d:
        raise ValueError(f"X must be an (m, {d}) array (got shape {X.shape})")
    diagonal, omega = soft_threshold_jacobian(obs.eigenvalues, obs.zeta)
    g2 = (X @ obs.eigenvectors) ** 2
    return (obs.c / d) * (((g2 - 1.0) ** 2) @ diagonal + np.sum((g2 @ omega) * g2, axis=1))


def leave_one_out_leverage(X: np.ndarray, y: np.ndarray, lam: float, S_hat: np.ndarray, rows) -> np.ndarray:
    """Measured H_mu = r~_mu / r_mu - 1 for the given sample indices, by refitting without each (module docstring)."""
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    design = QuadraticDesign(X)
    r = y - design.apply(S_hat)
    out = []
    for mu in rows:
        keep = np.arange(y.size) != mu
        refit = solve_psd(QuadraticDesign(X[keep]), y[keep], lam, tol=_REFIT_TOL)
        if not refit.converged:
            raise ArithmeticError(f"leave-one-out refit without sample {mu} did not converge: {refit.message}")
        r_loo = y[mu] - float(QuadraticDesign(X[mu:mu + 1]).apply(refit.S)[0])
        out.append(r_loo / r[mu] - 1.0)
    return np.array(out)


def effective_observation_bias(obs: QuadraticObservation, n: int, S_hat: np.ndarray, S_star: np.ndarray, u: np.ndarray,
                               X_fresh: np.ndarray) -> tuple[float, float]:
    """(measured, predicted) bias of the effective observation along the unit direction u:
    measured u^T Y_u u - u^T S* u; predicted u^T (S_hat - S*) u + c n E_x[<A, S* - S_hat> <A, u u^T> / (1 + H(x))],
    the linear response with per-sample leverage (module docstring), E_x over the fresh inputs X_fresh (n: samples). With H
    constant = df/(n - df) (a Gaussian design) the prediction is 0 to sampling error, since E <A, D><A, u u^T> =
    (2/d) u^T D u."""
    X_fresh = np.asarray(X_fresh, dtype=float)
    d = u.size
    delta = S_star - S_hat
    a_delta = (np.einsum("ij,ij->i", X_fresh @ delta, X_fresh) - np.trace(delta)) / math.sqrt(d)
    z = ((X_fresh @ u) ** 2 - 1.0) / math.sqrt(d)
    response = obs.c * n * float(np.mean(a_delta * z / (1.0 + leverage(obs, X_fresh))))
    return float(u @ obs.Y @ u - u @ S_star @ u), float(-(u @ delta @ u) + response)
