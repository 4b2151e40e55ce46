"""Pruning and debiasing of the trained quadratic network (trace-norm PSD solution), from data and from the matrix SE.

SE prediction (spec/quadratic.md). At the fixed point (sigma^2, zeta) of ``se_matrix.quadratic_se`` the estimate is
S_hat = f(Y), f(x) = (x - zeta)_+ on the eigenvalues of Y = S* + sigma W. A spectral post-processor g applied to the
eigenvalues of Y has the risk
    m_g = E (1/d)||g(Y) - S*||_F^2 = int rho_Y(x) sum_k w_k(x) (g(x) - s_k)^2 dx,
computed by ``FreeConvolution.soft_threshold_error(a, shrink=b)`` for g(x) = (x - b) 1{x > a} (non-negative terms,
the quadrature split at a, the only kink or jump of g; spikes integrated as bumps, spikes="exact"):
    lasso         (x - zeta)_+                      (a, b) = (zeta, zeta)      (reproduces the SE's R)
    debias        x 1{x > zeta}                     (zeta, 0)                  (survivors unshrunk)
    prune         (x - zeta)_+ 1{x > t}             (max(t, zeta), zeta)
    prune_debias  x 1{x > max(t, zeta)}             (max(t, zeta), 0)
with t = 2 sigma (1 + c), c = d^(-2/3) (``edge_margin``): 2 sigma is the upper edge of the pure-noise semicircle, the
matrix analogue of the diagonal's universal threshold; the largest eigenvalue of sigma W sits at
2 sigma + sigma d^(-2/3) TW_1 (Tracy-Widom), and 2 sigma (1 + c) = 2 sigma + 2 sigma d^(-2/3) puts the cut at
TW_1 = 2, its ~99 % quantile (2.02): a pure-noise direction survives with probability ~1 %, while any direction
whose eigenvalue of Y separates from the bulk by more than the Tracy-Widom scale is kept. Checks: g = 0 (a above
the spectrum) gives 1 = ||S*||^2/d; g = x (a below it) gives the risk of Y itself, sigma^2 in the d -> infinity
free convolution, while at finite d, W_ii ~ N(0, 2/d), W_ij ~ N(0, 1/d):
    E (1/d)||sigma W||_F^2 = (sigma^2/d)(d (2/d) + d (d - 1)(1/d)) = sigma^2 (d + 1)/d     (``observation_finite_d``).

Data-driven effective observation. Rescale the design to rows of variance 1/n as the SE does (A~ = A/sqrt(2n/d),
x0 = sqrt(2n/d) S*, so that <A~_mu, x0> = <A_mu, S*>). The AMP / debiased observation x_u = x_hat + A~^*(r)/(1 - df/n),
r = y - A(S_hat), back in S units (divide by sqrt(2n/d)):
    Y_u = S_hat + c A^*(r),   c = d / (2 (n - df)),   A^*(r) = sum_mu r_mu A_mu = (X^T diag(r) X - (sum r) I)/sqrt(d),
and x_u - x0 ~ tau Z (Z GOE of unit Frobenius variance, Z = sqrt(d/2) W) gives Y_u - S* ~ tau d/(2 sqrt n) W, i.e.
sigma^2 = tau^2 d^2/(4 n) = tau^2/(4 alpha): the SE's sigma^2 = (Delta + 2 m)/(4 alpha). The noise level comes from
the residual (||r/(1 - df/n)||^2/n -> tau^2):  sigma_hat = d ||r|| / (2 (n - df)).
The threshold: the KKT conditions of min 1/2||y - A(S)||^2 + lam Tr S over S PSD are Z = lam I - A^*(r) PSD,
Z S_hat = 0; so on the range of S_hat A^*(r) = lam I and Y_u has eigenvalues s_i + c lam there, and c (lam - z_k)
<= c lam on the complement (z_k >= 0 the eigenvalues of Z): with zeta_u = c lam, (Y_u - zeta_u)_+ = S_hat exactly
(the data-driven zeta matches the SE's calibration zeta = lam d/(2 (n - E div))). df = the divergence of the soft
threshold at Y_u, df = #{mu_i > zeta_u} + (1/2) sum_{i != j} (f(mu_i) - f(mu_j))/(mu_i - mu_j): through the pairs
(above, below) it depends on Y_u's eigenvalues below zeta_u, which depend on c. We solve the scalar equation
    2 c (n - df(c)) = d,   df(c) = div of (x - c lam)_+ at eig(S_hat + c A^*(r))
by brentq in log c (one d x d eigendecomposition per step; unique for a KKT point: df decreases in c, the
pairs contributing s_i/(s_i + c z_k)). The same definition is used for the trained network's S_hat = W^T W.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from .free_probability import free_convolution_semicircle
from .params import check_dimension, check_gamma, check_nonnegative
from .se_lasso import plain_dict
from .se_matrix import (SE_NODES, QUADRATURE_TOL, MatrixSEResult, goe_observation, quadratic_se, spectral_divergence,
                        teacher_atoms)
from .teachers import quadratic_teacher_spectrum

POSTPROCESSORS = ("lasso", "debias", "prune", "prune_debias")
# brentq in log c for the effective observation: 1e-12 relative in c, far below the seed-to-seed scatter of c (~1e-2).
_C_RTOL = 1e-12
# Doubling steps when bracketing c from below (c starts at d/(2n), its df = 0 value): 2^60 covers any sensible n - df.
_C_MAX_DOUBLINGS = 60


def edge_margin(d: int) -> float:
    """c = d^(-2/3): the pruning cut t = 2 sigma (1 + c) sits TW_1 = 2 Tracy-Widom units above the bulk edge."""
    return float(d) ** (-2.0 / 3.0)


def rules(zeta: float, t: float) -> dict:
    """(cut a, shrink b) of g(x) = (x - b) 1{x > a} for each post-processor at threshold zeta and pruning cut t."""
    top = max(t, zeta)
    return {"lasso": (zeta, zeta), "debias": (zeta, 0.0), "prune": (top, zeta), "prune_debias": (top, 0.0)}


def spectral_postprocess(mu, zeta: float, t: float) -> dict:
    """g(mu) of every post-processor on eigenvalues mu (vectorised)."""
    mu = np.asarray(mu, dtype=float)
    return {name: np.where(mu > a, mu - b, 0.0) for name, (a, b) in rules(zeta, t).items()}


@dataclass(frozen=True)
class PostprocessQuadraticSE:
    """SE-predicted risks m_g = E(1/d)||g(Y) - S*||_F^2 at the quadratic SE fixed point (module docstring).

    ``observation`` = sigma^2 (the risk of Y itself, d -> infinity), ``observation_finite_d`` = sigma^2 (d + 1)/d,
    ``threshold`` = t = 2 sigma (1 + margin), ``mass_error`` the quadrature's mass check.
    """

    lasso: float
    debias: float
    prune: float
    prune_debias: float
    observation: float
    observation_finite_d: float
    margin: float
    threshold: float
    mass_error: float
    se: MatrixSEResult
    converged: bool
    message: str

    def risks(self) -> dict:
        return {name: getattr(self, name) for name in POSTPROCESSORS}

    def to_dict(self) -> dict:
        keys = (*POSTPROCESSORS, "observation", "observation_finite_d", "margin", "threshold", "mass_error")
        return {**{k: float(getattr(self, k)) for k in keys}, "se": plain_dict(self.se), "converged": self.converged,
                "message": self.message}


def se_convolution(d: int, gamma: float, rank, sigma2: float):
    """The SE's merged teacher spectrum at sigma2 (as se_matrix and spectra_quadratic) convolved, spikes="exact"."""
    atoms, masses = teacher_atoms(d, gamma, rank, 2.0 ** math.floor(math.log2(sigma2)))
    return free_convolution_semicircle(atoms, sigma2, masses=masses, nodes=SE_NODES, spikes="exact")


def postprocess_quadratic_se(d, n, lam, gamma, noise, *, rank=None, margin: float | None = None,
                             se: MatrixSEResult | None = None) -> PostprocessQuadraticSE:
    """SE prediction of every post-processor (module docstring); ``margin`` defaults to edge_margin(d).

    ``se``: a converged quadratic_se(d, n, lam, gamma, noise, rank=rank) result to reuse. No finite fixed point
    (not converged, n = 0, or the noiseless sigma^2 -> 0 limit) gives nan risks and says so in ``message``.
    """
    d = check_dimension(d)
    n, lam = check_nonnegative("n", n), check_nonnegative("lam", lam)
    gamma, noise = check_gamma(gamma, rank), check_nonnegative("noise", noise)
    margin = edge_margin(d) if margin is None else check_nonnegative("margin", margin)
    se = quadratic_se(d, n, lam, gamma, noise, rank=rank) if se is None else se
    sigma2, zeta = se.sigma2, se.zeta
    if not (se.converged and math.isfinite(sigma2) and sigma2 > 0 and math.isfinite(zeta)) \
            or se.recovered:
        nan = math.nan
        return PostprocessQuadraticSE(nan, nan, nan, nan, nan, nan, margin, nan, nan, se, False,
                                      f"no finite SE fixed point: {se.message}")
    fc = se_convolution(d, gamma, rank, sigma2)
    t = 2.0 * math.sqrt(sigma2) * (1.0 + margin)
    risks = {name: fc.soft_threshold_error(a, shrink=b) for name, (a, b) in rules(zeta, t).items()}
    ok = fc.mass_error <= QUADRATURE_TOL
    message = "converged" if ok else f"quadrature mass error {fc.mass_error:.3g} above {QUADRATURE_TOL:.3g}"
    return PostprocessQuadraticSE(**risks, observation=sigma2, observation_finite_d=sigma2 * (d + 1) / d, margin=margin,
                                  threshold=t, mass_error=fc.mass_error, se=se, converged=ok, message=message)


def montecarlo_postprocess(d: int, gamma: float, sigma2: float, zeta: float, t: float, samples: int,
                           rng: np.random.Generator, rank=None) -> dict:
    """Brute-force finite-d evaluation: Y = diag(s) + sigma W (W GOE, W_ij ~ N(0, 1/d), W_ii ~ N(0, 2/d)), exact
    eigendecomposition, (1/d)||g(Y) - S*||_F^2 per sample for each post-processor and for g = x ("observation").
    Returns {name: (mean, standard error)}."""
    s = quadratic_teacher_spectrum(d, gamma, rank)
    out = {name: [] for name in (*POSTPROCESSORS, "observation")}
    for _ in range(samples):
        mu, U = np.linalg.eigh(goe_observation(s, sigma2, rng.standard_normal((d, d))))
        values = spectral_postprocess(mu, zeta, t) | {"observation": mu}
        for name, v in values.items():
            out[name].append(float(np.sum(((U * v) @ U.T - np.diag(s)) ** 2)) / d)
    return {k: (float(np.mean(v)), float(np.std(v, ddof=1) / math.sqrt(samples))) for k, v in out.items()}


# ---------------------------------------------------------------------------------------------- from data


def soft_threshold_jacobian(mu, zeta: float) -> tuple[np.ndarray, np.ndarray]:
    """The Jacobian of U (Lambda - zeta)_+ U^T in the eigenbasis: (1{mu_i > zeta}, omega) with
    omega_ij = (f(mu_i) - f(mu_j))/(mu_i - mu_j) for i != j (equal pairs: f', 1 above and 0 below), omega_ii = 0."""
    mu = np.asarray(mu, dtype=float)
    f = np.maximum(mu - zeta, 0.0)
    above = mu > zeta
    dmu = mu[:, None] - mu[None, :]
    same = dmu == 0
    omega = np.where(same, (above[:, None] & above[None, :]).astype(float), (f[:, None] - f[None, :]) / np.where(same, 1.0, dmu))
    np.fill_diagonal(omega, 0.0)
    return above.astype(float), omega


@dataclass(frozen=True)
class QuadraticObservation:
    """Y_u = S_hat + c A^*(r), c = d/(2 (n - df)); zeta = c lam; sigma_hat = d ||r||/(2 (n - df)) (module docstring)."""

    Y: np.ndarray
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    zeta: float
    df: float
    c: float
    sigma_hat: float
    converged: bool
    message: str


def effective_observation_quadratic(design, y, S_hat, lam: float) -> QuadraticObservation:
    """Solve 2 c (n - df(c)) = d for c (module docstring) and return Y_u; ``design`` is a convex_psd design."""
    y = np.asarray(y, dtype=float)
    S_hat = np.asarray(S_hat, dtype=float)
    d, n = S_hat.shape[0], y.size
    r = y - design.apply(S_hat)
    G = design.adjoint(r)

    def df(c):
        return spectral_divergence(np.linalg.eigvalsh(S_hat + c * G), c * lam)

    def h(log_c):
        c = math.exp(log_c)
        return 2.0 * c * (n - df(c)) - d

    lo = math.log(d / (2.0 * n))  # df >= 0, so h(lo) <= 0
    hi, converged, message = lo, False, ""
    for _ in range(_C_MAX_DOUBLINGS):
        hi += math.log(2.0)
        if h(hi) > 0:
            converged = True
            break
        lo = hi
    if not converged:
        message = f"no c with 2 c (n - df) = d up to c = {math.exp(hi):.3g}: df >= n (the fit interpolates)"
        c = math.exp(hi)
    else:
        log_c, info = brentq(h, lo, hi, rtol=_C_RTOL, full_output=True, disp=False)
        converged = bool(info.converged)
        message = "converged" if converged else f"brentq in log c did not converge ({info.flag})"
        c = math.exp(log_c)
    Y = S_hat + c * G
    mu, U = np.linalg.eigh(Y)
    dfc = spectral_divergence(mu, c * lam)
    sigma_hat = d * float(np.linalg.norm(r)) / (2.0 * (n - dfc)) if dfc < n else math.nan
    return QuadraticObservation(Y, mu, U, c * lam, dfc, c, sigma_hat, converged, message)


def postprocess_estimates_quadratic(obs: QuadraticObservation, S_hat, margin: float) -> dict:
    """The data-driven post-processors (matrices) on Y_u's eigenvalues, cut t = 2 sigma_hat (1 + margin); "lasso" is
    S_hat itself (= (Y_u - zeta)_+ for a KKT point)."""
    t = 2.0 * obs.sigma_hat * (1.0 + margin)
    U = obs.eigenvectors
    out = {name: (U * v) @ U.T for name, v in spectral_postprocess(obs.eigenvalues, obs.zeta, t).items()}
    out["lasso"] = np.asarray(S_hat, dtype=float)
    return out


def refit_quadratic(design, y, S_hat, zero_tol: float) -> np.ndarray:
    """Least squares on the learned eigenspace (measured only): S = U M U^T, U the eigenvectors of S_hat with
    eigenvalue > zero_tol (r of them), M symmetric r x r minimising ||y - A(U M U^T)||, minimum-norm if r(r+1)/2 > n.
    <A_mu, U M U^T> = <U^T A_mu U, M>, with U^T A_mu U = (z z^T - I)/sqrt(d), z = U^T x_mu, for the quadratic features
    and smat(G_mu) projected for the Gaussian design; M in the isometric svec coordinates of Sym(r)."""
    S_hat = np.asarray(S_hat, dtype=float)
    w, V = np.linalg.eigh(S_hat)
    U = V[:, w > zero_tol]
    d, r = S_hat.shape[0], U.shape[1]
    if r == 0:
        return np.zeros_like(S_hat)
    rows, cols = np.triu_indices(r)
    scale = np.where(rows == cols, 1.0, math.sqrt(2.0))
    if hasattr(design, "X"):  # QuadraticDesign
        Z = design.X @ U
        F = (Z[:, rows] * Z[:, cols] - (rows == cols)) * scale / math.sqrt(d)
    else:  # GaussianDesign
        F = np.array([(U.T @ design.smat(g) @ U)[rows, cols] * scale for g in design.G])
    coef = np.linalg.lstsq(F, np.asarray(y, dtype=float), rcond=None)[0]
    M = np.zeros((r, r))
    M[rows, cols] = coef / scale
    M = M + np.triu(M, 1).T
    return (U @ M) @ U.T
