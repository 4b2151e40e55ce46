"""The convex problem a diagonal network with weight decay solves: the LASSO.

    minimise  P(theta) = 1/2 ||y - A theta||^2 + lam ||theta||_1,    A = X / sqrt(d).

lam > 0: coordinate descent with covariance updates on a working set W (support plus KKT violators),
alternated with a Newton step on the current orthant face (the exact minimiser of P with the signs of
the support frozen, taken only as far as the first sign change and never past the exact line minimum,
so P never increases). Coordinate descent finds the support; the face step makes the final digits
exact, so n << d, n ~ d (ill-conditioned) and n >> d all end at round-off accuracy.
Certificate: the relative duality gap (P(theta) - D(u)) / P(theta), with the dual
D(u) = y.u - ||u||^2 / 2 on ||A^T u||_inf <= lam evaluated at the scaled residual u = s r,
r = y - A theta, s = min(1, lam / ||A^T r||_inf). Written out, the gap is
    1/2 (1 - s)^2 ||r||^2 + sum_j |theta_j| (lam - s sign(theta_j) (A^T r)_j),
a sum of non-negative terms, so it is computed without cancellation.

lam = 0: for n >= d (full column rank) ordinary least squares; for n < d the lam -> 0+ limit of the
LASSO, the minimum-l1 interpolator  min ||theta||_1  s.t.  A theta = y  (basis pursuit), solved as a
linear programme with scipy.optimize.linprog (HiGHS) and polished on its support.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve
from scipy.optimize import linprog

from .params import check_nonnegative

# Default relative duality gap. P - P* <= gap, so 1e-10 fixes P to ten digits; by strong convexity of
# P on the support, ||theta - theta_opt||^2 <= 2 gap / sigma_min(A_S^T A_S), which at the sizes used
# here (d <= 1000, P = O(n)) leaves theta accurate to ~1e-5 or better, far below the seed-to-seed
# scatter of the risk (~1e-2 relative). The face-Newton step usually lands at a gap of 1e-14..1e-16,
# so 1e-10 sits four decades above the round-off floor of the gap itself and is reached reliably.
DEFAULT_TOL = 1e-10

# Default cap on inner rounds (one coordinate sweep over W plus one face-Newton step each). Measured
# need: <= ~40 rounds for d <= 1000 at every (n/d, lam) tried; the cap only stops a pathological case.
DEFAULT_MAX_ITER = 2000

# Continuation: lam is reached through lam_max r, lam_max r^2, ..., each solve warm-started from the
# previous one, so that the support changes little per stage and the face-Newton step stays on a
# well-posed (|S| <= n) face even for n <= d at small lam. r = 0.5: see measurements in the report.
CONTINUATION_RATIO = 0.5


@dataclass(frozen=True)
class LassoSolution:
    """LASSO minimiser theta with its relative duality gap and solver diagnostics."""

    theta: np.ndarray
    duality_gap: float
    iterations: int
    converged: bool
    message: str


def solve_lasso(X, y, lam, *, tol: float = DEFAULT_TOL, max_iter: int = DEFAULT_MAX_ITER) -> LassoSolution:
    """argmin_theta 1/2 ||y - X theta / sqrt(d)||^2 + lam ||theta||_1, certified by the duality gap.

    lam = 0 returns the least-squares solution (n >= d) or the minimum-l1 interpolator (n < d); see the
    module docstring for the meaning of ``duality_gap`` in each case.
    """
    A, y = _design(X, y)
    lam = check_nonnegative("lam", lam)
    if not tol > 0:
        raise ValueError(f"tol must be > 0 (got {tol!r})")
    if int(max_iter) != max_iter or max_iter < 1:
        raise ValueError(f"max_iter must be an integer >= 1 (got {max_iter!r})")
    if lam > 0:
        return _lasso(A, y, lam, tol, int(max_iter))
    n, d = A.shape
    return _least_squares(A, y, tol) if n >= d else _min_l1_interpolator(A, y, tol)


def _design(X, y) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.size or X.size == 0:
        raise ValueError(f"X must be (n, d) and y of length n (got shapes {X.shape} and {y.shape})")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise ValueError("X and y must be finite")
    return X / math.sqrt(X.shape[1]), y


def _relative_gap(A, y, lam, theta) -> float:
    """(P(theta) - D(s r)) / P(theta) in the cancellation-free form of the module docstring."""
    r = y - A @ theta
    g = A.T @ r
    g_max = float(np.max(np.abs(g)))
    s = 1.0 if g_max <= lam else lam / g_max
    rr = float(r @ r)
    gap = 0.5 * (1.0 - s) ** 2 * rr + float(np.abs(theta) @ (lam - s * np.sign(theta) * g))
    primal = 0.5 * rr + lam * float(np.sum(np.abs(theta)))
    return gap / primal if primal > 0 else 0.0  # P = 0 only at y = 0, theta = 0: optimal


def _lasso(A, y, lam, tol, max_iter) -> LassoSolution:
    G, c = A.T @ A, A.T @ y
    theta = np.zeros(A.shape[1])
    rounds = 0
    for stage in _continuation(float(np.max(np.abs(c))), lam):
        solution = _lasso_at(A, y, G, c, stage, theta, tol, rounds, max_iter)
        theta, rounds = solution.theta, solution.iterations
    return solution


def _continuation(lam_max, lam) -> list[float]:
    """Warm-start path lam_max r^k (k = 1, 2, ...) above lam, then lam itself."""
    path = []
    stage = lam_max * CONTINUATION_RATIO
    while stage > lam:
        path.append(stage)
        stage *= CONTINUATION_RATIO
    return path + [lam]


def _lasso_at(A, y, G, c, lam, theta, tol, rounds, max_iter) -> LassoSolution:
    """Working-set loop at one lam from the warm start theta; ``rounds`` counts across stages."""
    theta = theta.copy()
    while True:
        gap = _relative_gap(A, y, lam, theta)
        if gap <= tol:
            return LassoSolution(theta, gap, rounds, True, f"relative duality gap {gap:.2e} <= {tol:.0e}")
        if rounds >= max_iter:
            return LassoSolution(
                theta, gap, rounds, False, f"max_iter={max_iter} reached with relative duality gap {gap:.2e} > {tol:.0e}"
            )
        g = A.T @ (y - A @ theta)
        W = np.flatnonzero((theta != 0) | (np.abs(g) > lam))
        x, used = _solve_working_set(G[np.ix_(W, W)], c[W], lam, theta[W].copy(), max_iter - rounds)
        rounds += used
        if np.array_equal(x, theta[W]):
            return LassoSolution(
                theta, gap, rounds, False, f"stalled at relative duality gap {gap:.2e} > {tol:.0e} (round-off floor)"
            )
        theta[W] = x


def _solve_working_set(Q, b, lam, x, budget) -> tuple[np.ndarray, int]:
    """min_x 1/2 x.Q x - b.x + lam ||x||_1 on the working set; returns (x, rounds used)."""
    diag = np.diag(Q).copy()
    g = b - Q @ x
    for k in range(1, budget + 1):
        _coordinate_sweep(Q, diag, lam, x, g)
        x, g, at_face_optimum = _face_newton(Q, b, lam, x)
        if at_face_optimum and np.all(np.abs(g[x == 0]) <= lam):
            return x, k
    return x, budget


def _coordinate_sweep(Q, diag, lam, x, g) -> None:
    """One cyclic pass x_j <- soft(x_j + g_j / Q_jj, lam / Q_jj), keeping g = b - Q x updated in place."""
    for j in range(x.size):
        old = x[j]
        z = old + g[j] / diag[j]
        t = lam / diag[j]
        new = z - t if z > t else (z + t if z < -t else 0.0)
        if new != old:
            g -= (new - old) * Q[j]
            x[j] = new


def _face_newton(Q, b, lam, x) -> tuple[np.ndarray, np.ndarray, bool]:
    """Step towards argmin of the quadratic with signs s = sign(x_S) frozen: Q_SS x_S = b_S - lam s.

    The step length is the exact line minimum along the Newton direction (1 when the solve is exact),
    clipped at the first coordinate that would change sign, which is then set to 0. Returns the new x,
    g = b - Q x, and whether the full Newton step was taken (x is then the face optimum).
    """
    S = np.flatnonzero(x)
    g = b - Q @ x
    if S.size == 0:
        return x, g, True
    s = np.sign(x[S])
    Q_SS = Q[np.ix_(S, S)]
    try:
        p = cho_solve(cho_factor(Q_SS), b[S] - lam * s) - x[S]
    except LinAlgError:  # Q_SS singular (|S| > n): leave the support to coordinate descent
        return x, g, False
    slope = float((g[S] - lam * s) @ p)  # minus the directional derivative of P along p
    curvature = float(p @ (Q_SS @ p))
    if not (slope > 0 and curvature > 0):  # p = 0 up to round-off: x is already the face optimum
        return x, g, True
    t_line = slope / curvature
    toward_zero = x[S] * p < 0
    ratios = -x[S][toward_zero] / p[toward_zero]
    t = min(t_line, float(ratios.min())) if ratios.size else t_line
    x = x.copy()
    x[S] += t * p
    if t < t_line:
        x[S[toward_zero][np.argmin(ratios)]] = 0.0
    return x, b - Q @ x, t == t_line


def _least_squares(A, y, tol) -> LassoSolution:
    """lam = 0, n >= d: argmin ||y - A theta||^2, with one step of iterative refinement.

    Certificate: the least-squares gap 1/2 ||P_A r||^2 (P_A = projector on range A, zero at the
    optimum), relative to P(0) = 1/2 ||y||^2 because P itself vanishes when n = d.
    """
    d = A.shape[1]
    theta, _, rank, _ = np.linalg.lstsq(A, y, rcond=None)
    if rank < d:
        return LassoSolution(theta, math.nan, 1, False, f"lam = 0 with rank(X) = {rank} < d: minimiser not unique")
    theta = theta + np.linalg.lstsq(A, y - A @ theta, rcond=None)[0]
    correction = A @ np.linalg.lstsq(A, y - A @ theta, rcond=None)[0]
    scale = float(y @ y)
    gap = float(correction @ correction) / scale if scale > 0 else 0.0
    converged = gap <= tol
    message = f"least squares (lam = 0, n >= d); relative gap {gap:.2e} {'<=' if converged else '>'} {tol:.0e}"
    return LassoSolution(theta, gap, 2, converged, message)


def _min_l1_interpolator(A, y, tol) -> LassoSolution:
    """lam = 0, n < d: min ||theta||_1 s.t. A theta = y, as the LP over theta = p - q, p, q >= 0.

    HiGHS returns a vertex; theta is re-solved on its support and the dual u (max y.u subject to
    ||A^T u||_inf <= 1) is corrected to A_S^T u = sign(theta_S) and scaled to feasibility. The
    reported gap is max((||theta||_1 - y.u) / ||theta||_1, ||A theta - y|| / ||y||).
    """
    n, d = A.shape
    res = linprog(np.ones(2 * d), A_eq=np.hstack([A, -A]), b_eq=y, bounds=(0, None), method="highs")
    if res.status != 0:
        return LassoSolution(np.full(d, np.nan), math.nan, int(res.nit), False, f"linprog (HiGHS) failed: {res.message}")
    theta = res.x[:d] - res.x[d:]
    S = np.flatnonzero(theta)
    A_S = A[:, S]
    theta = np.zeros(d)
    theta[S] = np.linalg.lstsq(A_S, y, rcond=None)[0]
    u = res.eqlin.marginals
    u = u + np.linalg.lstsq(A_S.T, np.sign(theta[S]) - A_S.T @ u, rcond=None)[0]
    u = u / max(1.0, float(np.max(np.abs(A.T @ u))))
    l1 = float(np.sum(np.abs(theta)))
    y_norm = float(np.linalg.norm(y))
    gap = max(
        (l1 - float(y @ u)) / l1 if l1 > 0 else 0.0,
        float(np.linalg.norm(A @ theta - y)) / y_norm if y_norm > 0 else 0.0,
    )
    converged = gap <= tol
    message = (
        f"minimum-l1 interpolator (lam = 0, n < d) by linprog/HiGHS; relative gap {gap:.2e} "
        f"{'<=' if converged else '>'} {tol:.0e}"
    )
    return LassoSolution(theta, gap, int(res.nit), converged, message)
