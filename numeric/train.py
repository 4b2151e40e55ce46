"""Training the diagonal network itself: full-batch L-BFGS on its weights.

    L(a, w) = 1/2 ||y - A (a * w)||^2 + (lam / 2) (||a||^2 + ||w||^2),    A = X / sqrt(d),
    grad_a L = -(A^T r) * w + lam a,   grad_w L = -(A^T r) * a + lam w,   r = y - A (a * w),

minimised over the concatenation (a, w) by scipy's L-BFGS-B with this analytic gradient, from
a_i, w_i iid N(0, 1) (the initial predictor has E f(x)^2 = ||a * w||^2 / d ~ 1, the teacher's scale).
For lam > 0 every minimiser is balanced (|a_i| = |w_i|) and theta = a * w solves the LASSO of
``convex.solve_lasso``. For lam = 0 the loss has flat valleys; with n < d the network then stops at
some interpolator chosen by the initialisation (implicit bias), not necessarily the minimum-l1 one.

Slow directions: near a_i = w_i = 0 the Hessian block of coordinate i is [[lam, -g_i], [-g_i, lam]]
(g = A^T r), whose eigenvalue lam - |g_i| is small for coordinates just below the LASSO threshold; a
gradient error eps there leaves |a_i|, |w_i| ~ eps / (lam - |g_i|) but theta_i = a_i w_i only of order
their product, so the LASSO zeros are recovered quadratically in the gradient tolerance. Coordinates
with small non-zero theta_i are slow too: along the balanced direction a_i = w_i = t the curvature is
~4 (A^T A)_ii |theta_i|. These dominate the measured error at small lam (see DEFAULT_GTOL).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .convex import scaled_design
from .lbfgs import minimize_with_restarts
from .params import check_nonnegative, check_solver_budget

# Default gradient tolerance, on ||grad L||_inf over (a, w). Measured max |theta_net - theta_lasso|
# (d in {50, 200, 1000}, n/d in {0.5, 2}, lam / sqrt(n/d) in {0.03, 0.3, 3}, one data set each):
#   gtol 1e-6: up to 1.5e-2 (d = 1000, n = 500, lam = 0.03 sqrt(n/d): slow directions), ~5e-5 at mid lam
#   gtol 1e-8: up to 8e-6 (same point), <= 4e-7 at mid lam, for 1.2-2.6x the iterations of 1e-6
#   gtol 1e-10: up to 2e-8, for another 1.2-1.5x.
# 1e-8 keeps the network within 1e-5 of the LASSO (|theta| ~ 10-25 here, so ~1e-6 relative; the risks
# then agree to ~1e-7, far below the seed scatter), at a cost the simulations can afford.
DEFAULT_GTOL = 1e-8

# Default cap on L-BFGS iterations (measured need at gtol = 1e-8: <= ~6000 at d = 1000, n = d/2,
# lam = 0.03 sqrt(n/d); ~1000 at mid lam).
DEFAULT_MAX_ITER = 50_000


@dataclass(frozen=True)
class TrainedNetwork:
    """Trained weights (a, w), the predictor theta = a * w, and how training ended."""

    a: np.ndarray
    w: np.ndarray
    theta: np.ndarray
    loss: float
    grad_norm: float
    iterations: int
    converged: bool
    message: str


def network_loss(X, y, lam, a, w) -> tuple[float, np.ndarray, np.ndarray]:
    """L(a, w) and its analytic gradient (grad_a L, grad_w L), as in the module docstring."""
    A, y = scaled_design(X, y)
    z = np.concatenate([np.asarray(a, dtype=float), np.asarray(w, dtype=float)])
    change, grad = _loss_change(z, A, y, check_nonnegative("lam", lam), np.zeros_like(z), y)
    d = A.shape[1]
    return 0.5 * float(y @ y) + change, grad[:d], grad[d:]  # L(0) = ||y||^2 / 2


def _loss_change(z, A, y, lam, z_ref, r_ref) -> tuple[float, np.ndarray]:
    """(L(z) - L(z_ref), grad L(z)), with r_ref = y - A theta_ref.

    The change is formed from differences, dr = r - r_ref = -A (da * w + a_ref * dw) and dz = z - z_ref:
        L(z) - L(z_ref) = dr.(r_ref + dr / 2) + lam dz.(z_ref + dz / 2),
    so its round-off is relative to the change itself, not eps * L. L-BFGS compares only such
    changes; measured from the last restart point they stay resolvable down to gradients ~1e-12,
    where L itself (O(n)) stalled the line search at ||grad||_inf ~ 3e-9 .. 5e-7 (d = 50 .. 1000).
    """
    d = A.shape[1]
    a, w, a_ref = z[:d], z[d:], z_ref[:d]
    dz = z - z_ref
    dr = -(A @ (dz[:d] * w + a_ref * dz[d:]))
    r = r_ref + dr
    g = A.T @ r
    change = float(dr @ (r_ref + 0.5 * dr)) + lam * float(dz @ (z_ref + 0.5 * dz))
    return change, np.concatenate([lam * a - g * w, lam * w - g * a])


def train_diagonal_network(
    X, y, lam, *, rng: np.random.Generator, gtol: float = DEFAULT_GTOL, max_iter: int = DEFAULT_MAX_ITER
) -> TrainedNetwork:
    """Minimise L(a, w) from a random start by L-BFGS-B until ||grad L||_inf <= gtol.

    When L-BFGS-B stops short of gtol (its line search can no longer resolve a decrease), it is
    restarted from where it stopped, with that point as the new reference of ``_loss_change``;
    training ends when gtol is met, max_iter L-BFGS iterations are spent, or a restart makes no step.
    """
    A, y = scaled_design(X, y)
    lam = check_nonnegative("lam", lam)
    check_solver_budget("gtol", gtol, max_iter)
    d = A.shape[1]
    run = minimize_with_restarts(lambda z, z_ref, r_ref: _loss_change(z, A, y, lam, z_ref, r_ref),
                                 rng.standard_normal(2 * d), lambda z: (z.copy(), y - A @ (z[:d] * z[d:])),
                                 gtol, max_iter)
    z, r, grad_norm = run.x, run.reference[1], run.grad_norm
    converged = grad_norm <= gtol
    verdict = f"||grad||_inf = {grad_norm:.2e} {'<=' if converged else '>'} gtol = {gtol:.0e}"
    last = f"; last L-BFGS-B status: {run.last_status}" if run.last_status is not None else ""
    message = f"{verdict} after {run.iterations} L-BFGS iterations in {run.runs} run(s){last}"
    loss = 0.5 * float(r @ r) + 0.5 * lam * float(z @ z)
    return TrainedNetwork(z[:d], z[d:], z[:d] * z[d:], loss, grad_norm, run.iterations, converged, message)
