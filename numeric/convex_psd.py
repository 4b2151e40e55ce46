"""The convex problem a quadratic network with weight decay solves: nuclear-norm PSD matrix sensing.

    minimise  P(S) = 1/2 ||y - A(S)||^2 + lam Tr S   over symmetric S >= 0 (PSD),

with a linear measurement map A : Sym(d) -> R^n behind one interface (``apply``, ``adjoint``), in two
designs of the same covariance E <A, S><A, S'> = (2/d) <S, S'>_F:

- ``QuadraticDesign(X)``: the network's own features A_mu = (x_mu x_mu^T - I)/sqrt(d), x_mu the rows
  of X (n x d). A(S)_mu = (rowsum((X S) * X)_mu - Tr S)/sqrt(d) and
  A*(r) = (X^T diag(r) X - (sum_mu r_mu) I)/sqrt(d), each O(n d^2); the n x d^2 design is never formed.
- ``GaussianDesign(G)``: the control, i.i.d. Gaussian symmetric A_mu with A_ii ~ N(0, 2/d) and
  A_ij = A_ji ~ N(0, 1/d) (i < j). Stored as G (n x N, N = d(d+1)/2) in the isometric upper-triangle
  coordinates svec(S) = (S_ii, sqrt(2) S_ij)_{i<=j} (row-major ``numpy.triu_indices`` order), where
  <S, S'>_F = svec(S).svec(S') and <A_mu, S> = G_mu . svec(S): G has i.i.d. N(0, 2/d) entries.
  A(S) = G svec(S), A*(r) = smat(G^T r), each O(n d^2 / 2), with 8 n N bytes of memory.

Algorithm: FISTA (accelerated proximal gradient) with step 1/L on f(S) = 1/2 ||A(S) - y||^2,
grad f(S) = A*(A(S) - y), and prox_{t (lam Tr + PSD)}(M) = U (Lambda - t lam)_+ U^T for M = U Lambda U^T
(eigenvalue soft-thresholding onto the PSD cone), t = 1/L. Momentum is reset when it points uphill,
<Y_k - S_{k+1}, S_{k+1} - S_k> > 0 (adaptive gradient restart, O'Donoghue & Candes 2015), which gives
linear convergence where P is restricted strongly convex. L = lambda_max(A* A) is estimated by power
iteration and multiplied by a safety factor; since f is quadratic, every step also measures the
curvature ||A(D)||^2 / ||D||_F^2 along its own displacement D, and L is raised if that ever exceeds it.
A(Y) for the extrapolated point Y = S_k + beta (S_k - S_{k-1}) follows by linearity from A(S_k) and
A(S_{k-1}), so an iteration costs one ``apply``, one ``adjoint`` and one d x d eigendecomposition.

Stopping rule: the relative fixed-point (prox-gradient) residual at the returned S,
    res(S) = ||S - prox(S - grad f(S) / L)||_F / max(1, ||S||_F) <= tol,
which is zero exactly at the minimisers (KKT: Z = grad f(S) + lam I is PSD, Z S = 0). It is tested
cheaply at the extrapolated point each iteration (||Y_k - S_{k+1}||_F; the KKT residual at S_{k+1} is at
most twice L times it) and confirmed at S_{k+1} itself with one more gradient before returning.
Reported too, for lam > 0: the relative duality gap (P(S) - D(u)) / P(S), with the dual
D(u) = y.u - ||u||^2/2 on {lam I - A*(u) PSD} at u = s r, r = y - A(S), s = min(1, lam / lambda_max(A*(r))):
    P - D = 1/2 (1 - s)^2 ||r||^2 + sum_i sigma_i (lam - s v_i^T A*(r) v_i),   S = sum_i sigma_i v_i v_i^T,
a sum of non-negative terms. P(S) - P* <= gap certifies the objective.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .params import check_memory, check_nonnegative, check_solver_budget

# Default relative fixed-point residual. Measured relative Frobenius distance to a reference solved
# to res = 1e-14 (quadratic design, Delta = 0.25 and 0, lam = (0.02 .. 0.3) 2n/d):
#   tol 1e-10: <= 6e-9 at d = 30..100 (n = d^2/2, 2 d^2), but 3.5e-6 at d = 10, n = d^2/4 (few measurements
#              per unknown: the restricted curvature mu is small, and dist <~ (L/mu) res);
#   tol 1e-12: <= 6e-11 at d = 30..100 and 4e-8 at d = 10, n = d^2/4, for 15-30% more iterations.
# 1e-12 keeps S an order of magnitude closer to the minimiser than the trained networks get (train_quadratic)
# and sits 100x above the round-off floor of res, measured 6e-16 .. 1e-14 at d <= 100 (the gradient
# A*(A(S) - y) is a sum of n products of size ~|r| ||x||^2 / sqrt(d)).
DEFAULT_TOL = 1e-12

# Default cap on FISTA iterations; it only stops a pathological run, which is then reported. Measured
# need at the default tol: 25..500 at d = 30..100 (n = d^2/2, 2 d^2), up to ~4600 at d = 10, n = d^2/4 with
# small lam, ~7000 at the hardest point tried (n = d(d+1)/2, lam = 0, Delta = 0, d = 20).
DEFAULT_MAX_ITER = 20_000

# Power iteration for L = lambda_max(A* A): stop when the Rayleigh quotient (which rises towards
# lambda_max from below) grows by less than this fraction in one step, or after _POWER_MAX_STEPS.
# Measured at d = 20..100, n = d^2/2 .. 2 d^2, both designs: 26..60 steps, estimate 0.05%..2.2% below
# lambda_max (the quadratic design at n = 2 d^2 is the slowest: no gap below its top eigenvalue).
_POWER_RTOL = 1e-3
_POWER_MAX_STEPS = 300
# Safety factor on the power-iteration estimate: covers its measured <= 2.2% underestimate 4 times
# over. An overestimate only shortens the step (convergence slows by the same factor); an
# underestimate is caught by the curvature check along each step.
_L_SAFETY = 1.1


class QuadraticDesign:
    """The quadratic network's features: A(S)_mu = (x_mu^T S x_mu - Tr S)/sqrt(d) (module docstring)."""

    def __init__(self, X):
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.size == 0 or not np.all(np.isfinite(X)):
            raise ValueError(f"X must be a finite (n, d) array (got shape {X.shape})")
        self.X = X
        self.n, self.d = X.shape

    def apply(self, S: np.ndarray) -> np.ndarray:
        """A(S) for symmetric S, O(n d^2)."""
        return (np.einsum("ij,ij->i", self.X @ S, self.X) - np.trace(S)) / math.sqrt(self.d)

    def adjoint(self, r: np.ndarray) -> np.ndarray:
        """A*(r) = (X^T diag(r) X - (sum r) I)/sqrt(d), symmetric, O(n d^2)."""
        M = self.X.T @ (r[:, None] * self.X)
        M[np.diag_indices(self.d)] -= r.sum()
        M /= math.sqrt(self.d)
        return 0.5 * (M + M.T)


class GaussianDesign:
    """The Gaussian control design: <A_mu, S> = G_mu . svec(S), G i.i.d. N(0, 2/d) (module docstring)."""

    def __init__(self, G):
        G = np.asarray(G, dtype=float)
        N = G.shape[1] if G.ndim == 2 else 0
        d = round((math.sqrt(8 * N + 1) - 1) / 2)
        if G.ndim != 2 or G.size == 0 or d * (d + 1) // 2 != N or not np.all(np.isfinite(G)):
            raise ValueError(f"G must be a finite (n, d(d+1)/2) array (got shape {G.shape})")
        self.G = G
        self.n, self.d = G.shape[0], d
        self._rows, self._cols = np.triu_indices(d)
        self._scale = np.where(self._rows == self._cols, 1.0, math.sqrt(2.0))

    @classmethod
    def sample(cls, d: int, n: int, rng: np.random.Generator) -> GaussianDesign:
        """Draw G = sqrt(2/d) x (n x N standard normals, one row per measurement); refused first if too large."""
        check_memory(f"the Gaussian design (n x d(d+1)/2, n = {n}, d = {d})", float(n) * d * (d + 1) / 2)
        return cls(math.sqrt(2.0 / d) * rng.standard_normal((n, d * (d + 1) // 2)))

    def svec(self, S: np.ndarray) -> np.ndarray:
        """(S_ii, sqrt(2) S_ij)_{i<=j} in numpy.triu_indices order: <S, S'>_F = svec(S).svec(S')."""
        return S[self._rows, self._cols] * self._scale

    def smat(self, v: np.ndarray) -> np.ndarray:
        """Inverse of svec."""
        M = np.zeros((self.d, self.d))
        M[self._rows, self._cols] = v / self._scale
        return M + np.triu(M, 1).T

    def apply(self, S: np.ndarray) -> np.ndarray:
        return self.G @ self.svec(S)

    def adjoint(self, r: np.ndarray) -> np.ndarray:
        return self.smat(r @ self.G)


@dataclass(frozen=True)
class PSDSolution:
    """Minimiser S (PSD) with its eigenvalues, the stopping residual, the duality gap and diagnostics."""

    S: np.ndarray
    eigenvalues: np.ndarray  # of S, ascending; exact zeros where the prox thresholded
    residual: float  # relative fixed-point residual at S (the stopping rule)
    duality_gap: float  # relative duality gap at S; nan for lam = 0 (no bounded dual point)
    lipschitz: float  # the L used for the final steps
    iterations: int
    converged: bool
    message: str


def _prox(M: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(U (Lambda - threshold)_+ U^T, (Lambda - threshold)_+) for symmetric M = U Lambda U^T."""
    w, U = np.linalg.eigh(M)
    w = w - threshold
    keep = w > 0
    V = U[:, keep]
    return (V * w[keep]) @ V.T, np.where(keep, w, 0.0)


def lipschitz_estimate(design) -> float:
    """lambda_max(A* A) by power iteration on Sym(d) from a fixed random start (deterministic)."""
    M = np.random.default_rng(0).standard_normal((design.d, design.d))
    M = M + M.T
    M /= np.linalg.norm(M)
    quotient = 0.0
    for _ in range(_POWER_MAX_STEPS):
        AM = design.apply(M)
        new = float(AM @ AM)  # = <M, A*A M> with ||M||_F = 1
        M = design.adjoint(AM)
        M /= np.linalg.norm(M)
        if new - quotient <= _POWER_RTOL * new:
            return new
        quotient = new
    return quotient


def solve_psd(design, y, lam, *, tol: float = DEFAULT_TOL, max_iter: int = DEFAULT_MAX_ITER) -> PSDSolution:
    """argmin_{S PSD} 1/2 ||y - A(S)||^2 + lam Tr S by restarted FISTA, stopped by the module's rule."""
    y = np.asarray(y, dtype=float)
    if y.shape != (design.n,) or not np.all(np.isfinite(y)):
        raise ValueError(f"y must be a finite vector of length n = {design.n} (got shape {y.shape})")
    lam = check_nonnegative("lam", lam)
    tol, max_iter = check_solver_budget("tol", tol, max_iter)
    L = _L_SAFETY * lipschitz_estimate(design)
    d = design.d
    S, AS = np.zeros((d, d)), np.zeros(design.n)
    eig = np.zeros(d)
    Y, AY, t = S, AS, 1.0
    raises = 0
    for it in range(1, max_iter + 1):
        S_new, eig_new = _prox(Y - design.adjoint(AY - y) / L, lam / L)
        AS_new = design.apply(S_new)
        step = S_new - Y
        step2 = float(np.sum(step * step))
        curvature = AS_new - AY
        if float(curvature @ curvature) > L * step2:  # f's curvature along this step exceeds L
            L = _L_SAFETY * float(curvature @ curvature) / step2
            raises += 1
            t = 1.0
        scale = max(1.0, float(np.linalg.norm(S_new)))
        if math.sqrt(step2) <= tol * scale:
            check = _residual(design, y, lam, L, S_new, AS_new)
            if check <= tol:
                return _finish(design, y, lam, L, S_new, AS_new, eig_new, check, it, raises, tol, True)
        if float(np.sum(step * (S_new - S))) < 0:  # Y - S_new and S_new - S point the same way: restart
            t = 1.0
        t_new = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
        beta = (t - 1.0) / t_new
        Y, AY = S_new + beta * (S_new - S), AS_new + beta * (AS_new - AS)
        S, AS, eig, t = S_new, AS_new, eig_new, t_new
    check = _residual(design, y, lam, L, S, AS)
    return _finish(design, y, lam, L, S, AS, eig, check, max_iter, raises, tol, check <= tol)


def _residual(design, y, lam, L, S, AS) -> float:
    """||S - prox(S - grad f(S)/L)||_F / max(1, ||S||_F)."""
    moved = _prox(S - design.adjoint(AS - y) / L, lam / L)[0]
    return float(np.linalg.norm(moved - S)) / max(1.0, float(np.linalg.norm(S)))


def duality_gap(design, y, lam, S, AS=None) -> float:
    """Relative duality gap (P - D(s r)) / P at PSD S, in the non-negative form of the module docstring."""
    AS = design.apply(S) if AS is None else AS
    r = y - AS
    G = design.adjoint(r)
    sigma, V = np.linalg.eigh(S)
    top = float(np.linalg.eigvalsh(G)[-1])
    s = 1.0 if top <= lam else lam / top
    rr = float(r @ r)
    along = np.einsum("ij,ij->j", V, G @ V)  # v_i^T A*(r) v_i
    gap = 0.5 * (1.0 - s) ** 2 * rr + float(np.sum(np.maximum(sigma, 0.0) * (lam - s * along)))
    primal = 0.5 * rr + lam * float(np.trace(S))
    return gap / primal if primal > 0 else 0.0


def _finish(design, y, lam, L, S, AS, eig, residual, iterations, raises, tol, converged) -> PSDSolution:
    gap = duality_gap(design, y, lam, S, AS) if lam > 0 else math.nan
    verdict = f"relative fixed-point residual {residual:.2e} {'<=' if converged else '>'} tol = {tol:.0e}"
    extra = f"; L raised {raises} time(s) by the curvature check" if raises else ""
    rank = int(np.count_nonzero(eig))
    message = (f"{verdict} after {iterations} FISTA iterations (rank {rank}, relative duality gap "
               f"{gap:.1e}){extra}")
    return PSDSolution(S, np.sort(eig), residual, gap, L, iterations, converged, message)
