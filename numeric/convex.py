"""The convex problem a diagonal network with weight decay solves: the LASSO.

    minimise  P(theta) = 1/2 ||y - A theta||^2 + lam ||theta||_1,    A = X / sqrt(d).

lam > 0: the exact homotopy (LARS-lasso) path. From lam_max = ||A^T y||_inf down to lam, on the active
set S with signs s the solution is theta_S(l) = (A_S^T A_S)^{-1} (A_S^T y - l s); l decreases
until a coordinate joins (|(A^T r)_j| reaches l) or leaves (theta_j reaches 0). Along the path
|S| <= n and A_S^T A_S stays invertible, so n << d, n ~ d (ill-conditioned, the interpolation peak)
and n >> d are handled alike and the cost is a finite number of kinks (measured: <= 2.9 d at d <= 1000).
The Cholesky factor of A_S^T A_S is updated at each kink, and theta_S and the correlations are
re-solved from it at every kink (no drift); at the end theta_S gets one step of iterative refinement
with the residual computed from A. Certificate: the relative duality gap (P(theta) - D(u)) / P(theta),
with the dual D(u) = y.u - ||u||^2 / 2 on ||A^T u||_inf <= lam evaluated at the scaled residual
u = s r, r = y - A theta, s = min(1, lam / ||A^T r||_inf). Written out, the gap is
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
from scipy.linalg.blas import dtrsv
from scipy.optimize import linprog

from .params import check_nonnegative, check_solver_budget

# Default relative duality gap. P - P* <= gap, so 1e-10 fixes P to ten digits; by strong convexity of
# P on the support, ||theta - theta_opt||^2 <= 2 gap P / sigma_min(A_S^T A_S), which leaves the risk
# accurate to far more digits than the seed-to-seed scatter (~1e-2 relative) needs. The gap has a
# round-off floor of its own, ~ (error of A^T r) / lam ~ 1e-14 / lam: measured at d <= 1000 it is
# 1e-16..1e-13 for lam >= 0.1 sqrt(n/d), <= 3e-11 down to lam = 1e-4 sqrt(n/d) for n != d, but
# 1.6e-10 at n = d = 1000, lam = 1e-4 and ~1e-9 at lam = 1e-6 (n <= d): such solves are reported
# unconverged at the default and need e.g. tol = 1e-8. 1e-10 is the tightest value above the floor
# over the range the simulations use.
DEFAULT_TOL = 1e-10

# Default cap on homotopy kinks. Measured at d <= 1000: <= 1.05 d kinks for n = 2d, <= 0.85 d for
# n = d/2, 2.9 d at n = d with lam = 1e-4; the cap (100 d at d = 1000) only stops a cycling path,
# which is then reported.
DEFAULT_MAX_ITER = 100_000

# A joining column whose Cholesky pivot is below this fraction of its squared norm lies in the span
# of the active columns to within round-off (it would make cond(G_SS) >~ 1e13; Gaussian designs stay
# far from this, e.g. n = d = 1000 at lam = 1e-4 runs through): X is not in general position, and the
# path stops there, flagged.
_MIN_PIVOT = 1e-13


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

    ``iterations`` counts homotopy kinks. lam = 0 returns the least-squares solution (n >= d; iterations =
    least-squares solves) or the minimum-l1 interpolator (n < d; iterations = simplex iterations); the
    docstrings of ``_least_squares`` and ``_min_l1_interpolator`` say what ``duality_gap`` is there.
    """
    A, y = scaled_design(X, y)
    lam = check_nonnegative("lam", lam)
    check_solver_budget("tol", tol, max_iter)
    if lam > 0:
        return _lasso(A, y, lam, tol, int(max_iter))
    n, d = A.shape
    return _least_squares(A, y, tol) if n >= d else _min_l1_interpolator(A, y, tol)


def scaled_design(X, y) -> tuple[np.ndarray, np.ndarray]:
    """Check X (n, d) and y (n,) and return (A, y) with A = X / sqrt(d), the design of every objective here."""
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


def _certified(A, y, lam, theta, kinks, tol, what) -> LassoSolution:
    gap = _relative_gap(A, y, lam, theta)
    converged = gap <= tol
    verdict = f"relative duality gap {gap:.2e} {'<=' if converged else '>'} {tol:.0e}"
    return LassoSolution(theta, gap, kinks, converged, f"{what}; {verdict}")


def _lasso(A, y, lam, tol, max_iter) -> LassoSolution:
    """Follow the homotopy path from lam_max down to lam (see the module docstring)."""
    d = A.shape[1]
    c = A.T @ y
    first = int(np.argmax(np.abs(c)))
    level = float(abs(c[first]))
    theta = np.zeros(d)
    if lam >= level:
        return _certified(A, y, lam, theta, 0, tol, "lam >= lam_max = ||A^T y||_inf: theta = 0")
    active = _ActiveSet(A.T @ A)
    active.add(first)
    signs = [float(np.sign(c[first]))]
    for kink in range(1, max_iter + 1):
        S, s = active.index, np.array(signs)
        v, theta_S = active.solve(s), active.solve(c[S] - level * s)
        a, G_theta = active.times(v), active.times(theta_S)
        g = c - G_theta  # = A^T r; equals level * s on S; d theta_S / d(-l) = v, d g / d(-l) = -a
        free = np.ones(d, dtype=bool)
        free[S] = False
        with np.errstate(divide="ignore", invalid="ignore"):
            rise = np.where(free & (a < 1), np.maximum(level - g, 0.0) / (1.0 - a), np.inf)  # g_j -> +l
            fall = np.where(free & (a > -1), np.maximum(level + g, 0.0) / (1.0 + a), np.inf)  # g_j -> -l
            leave = np.where(s * v < 0, np.maximum(s * theta_S, 0.0) / (-s * v), np.inf)  # theta_j -> 0
        j_rise, j_fall, p_leave = int(np.argmin(rise)), int(np.argmin(fall)), int(np.argmin(leave))
        steps = (level - lam, leave[p_leave], rise[j_rise], fall[j_fall])
        event = int(np.argmin(steps))
        level -= steps[event]
        if event == 0:
            theta[S] = _refined(A, y, lam, active, S, s, theta_S + steps[0] * v)
            return _certified(A, y, lam, theta, kink, tol, f"homotopy path, {kink} kinks, |S| = {S.size}")
        if event == 1:
            active.remove(p_leave)
            del signs[p_leave]
            continue
        joining = j_rise if event == 2 else j_fall
        if not active.add(joining):
            theta[S] = theta_S + steps[event] * v
            return LassoSolution(
                theta, _relative_gap(A, y, lam, theta), kink, False,
                f"active set became rank-deficient at lam = {level:.3e} (|S| = {S.size}): X not in general position",
            )
        signs.append(1.0 if event == 2 else -1.0)
    theta[S] = theta_S
    return LassoSolution(
        theta, _relative_gap(A, y, lam, theta), max_iter, False,
        f"max_iter={max_iter} kinks reached at lam = {level:.3e} > {lam:.3e}",
    )


def _refined(A, y, lam, active, S, s, theta_S) -> np.ndarray:
    """One step of iterative refinement of A_S^T A_S theta_S = A_S^T y - lam s, residual taken from A."""
    A_S = A[:, S]
    return theta_S + active.solve(A_S.T @ (y - A_S @ theta_S) - lam * s)


class _ActiveSet:
    """Active index list S with the Cholesky factor L L^T = G_SS (an exact-size Fortran array, as
    LAPACK wants it) and the rows G[S, :] (a preallocated C buffer): a join costs one triangular solve,
    a leave one rank-one update, both O(|S|^2)."""

    def __init__(self, G: np.ndarray):
        self._G = G
        self._idx: list[int] = []
        self._L = np.zeros((0, 0), order="F")
        self._rows = np.empty_like(G, order="C")

    @property
    def index(self) -> np.ndarray:
        return np.array(self._idx, dtype=int)

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """G_SS^{-1} rhs for one right-hand side (BLAS-2 triangular solves: measured 2-3x faster than
        LAPACK potrs here, whose threading overhead dominates at these sizes)."""
        return dtrsv(self._L, dtrsv(self._L, rhs, lower=1), lower=1, trans=1)

    def times(self, v: np.ndarray) -> np.ndarray:
        """G[:, S] v."""
        return v @ self._rows[: len(self._idx)]

    def add(self, j: int) -> bool:
        """Append j; False (and no change) if G_SS would not stay positive definite."""
        m = len(self._idx)
        row = dtrsv(self._L, self._G[self._idx, j], lower=1) if m else np.zeros(0)
        pivot = self._G[j, j] - row @ row
        if not pivot > _MIN_PIVOT * self._G[j, j]:
            return False
        L = np.empty((m + 1, m + 1), order="F")
        L[:m, :m], L[:m, m], L[m, :m], L[m, m] = self._L, 0.0, row, math.sqrt(pivot)
        self._L = L
        self._rows[m] = self._G[j]
        self._idx.append(j)
        return True

    def remove(self, p: int) -> None:
        """Delete position p: L loses row and column p, and its trailing block becomes
        chol(L33 L33^T + l l^T), l = L[p+1:, p], by a rank-one update (Givens form)."""
        old, m = self._L, len(self._idx)
        x = old[p + 1 :, p].copy()
        L = np.empty((m - 1, m - 1), order="F")
        L[:p, :p], L[:p, p:] = old[:p, :p], 0.0
        L[p:, :p], L[p:, p:] = old[p + 1 :, :p], old[p + 1 :, p + 1 :]
        T = L[p:, p:]
        for k in range(x.size):
            r = math.hypot(T[k, k], x[k])
            cos, sin = r / T[k, k], x[k] / T[k, k]
            T[k, k] = r
            column, rest = T[k + 1 :, k], x[k + 1 :]
            column += sin * rest
            column /= cos
            rest *= cos
            rest -= sin * column
        self._L = L
        self._rows[p : m - 1] = self._rows[p + 1 : m]
        del self._idx[p]


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
        return LassoSolution(np.full(d, np.nan), math.nan, int(res.nit), False, f"linprog/HiGHS failed: {res.message}")
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
