"""Training the quadratic network itself: full-batch L-BFGS on its first-layer weights.

    f(x; W) = (||W x||^2 - ||W||_F^2)/sqrt(d) = (x^T S x - Tr S)/sqrt(d),   S = W^T W,  W in R^{p x d},
    L(W) = 1/2 sum_mu (y_mu - f(x_mu; W))^2 + lam ||W||_F^2 = F(W^T W),
    F(S) = 1/2 ||A(S) - y||^2 + lam Tr S      (A of ``convex_psd.QuadraticDesign``: A(S)_mu = f(x_mu)),
    grad L(W) = 2 W grad F(S) = 2 W (A*(r) + lam I),   r = f - y,   A*(r) = (X^T diag(r) X - (sum r) I)/sqrt(d),

which is the same matrix as (2/sqrt(d)) (Z^T diag(r) X - (sum r) W) + 2 lam W with Z = X W^T; evaluated
through S it costs O(p d^2 + n d^2) (<= O(n d p) for n >= d) and never forms the n x d^2 design. For p >= d the
minimisers of L are the factorisations of those of the convex problem min_{S PSD} F(S)
(``convex_psd.solve_psd``), and L has no spurious local minima (spec/quadratic.md). For lam = 0 with
fewer measurements than PSD interpolation needs, the convex minimiser is not unique and the network
stops at an interpolator chosen by its initialisation (implicit bias), not necessarily the convex solver's.

Initialisation: W_ij iid N(0, sigma0^2), sigma0 = (p (p + d + 1))^{-1/4}, so that E ||W^T W||_F^2 = d =
||S*||_F^2: the initial predictor has the teacher's scale, E f(x)^2 = 2 ||S||_F^2 / d ~ 2 = E f*(x)^2.

Round-off: near the optimum L-BFGS compares losses that differ in their last digits (L ~ n Delta). As in
``train.py`` the loss is therefore evaluated as a change from a reference point W_ref (the start of the
current L-BFGS run), with D = W - W_ref:
    dS = S - S_ref = (D^T (W + W_ref) + (W + W_ref)^T D)/2,   dr = A(dS),   r = r_ref + dr,
    L(W) - L(W_ref) = dr.(r_ref + dr/2) + lam <D, W + W_ref>,
whose round-off is relative to the change, not to L.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .convex_psd import QuadraticDesign
from .lbfgs import minimize_with_restarts
from .params import check_count, check_nonnegative, check_solver_budget

# Default gradient tolerance, on ||grad L||_inf / (n/d): the Hessian of F is A*A ~ (2n/d) I, so the
# gradient per n/d samples measures the distance to the optimum in units of S whatever n. Measured
# relative Frobenius distance of W^T W from the convex minimiser (solved to residual 1e-14), d = 10..100,
# n = d^2/4 .. 2 d^2, lam = (0.02 .. 0.3) 2n/d, Delta = 0.25 and 0, p = d:
#   gtol 1e-7: <= 3.4e-7;  1e-8: <= 3e-8;  1e-9: <= 2.5e-9 at d = 30..100 and <= 2.5e-7 at d = 10,
#   n = d^2/4, small lam (few measurements per unknown: weak curvature); 1e-10: <= 5e-9.
# Each decade costs 5-15% more iterations. 1e-9 keeps the network ~1e-7 from the convex solution, far
# below the seed-to-seed scatter of R, and 400x inside the 1e-5 the tests ask for.
DEFAULT_GTOL = 1e-9

# Default cap on L-BFGS iterations. Measured need at the default gtol: 40..900 at d = 30..100 for
# n = d^2/2 .. 2 d^2, ~2900 at d = 100, n = d^2/4, lam = 0.04 n/d, Delta = 0, ~6200 at n = d(d+1)/2,
# lam = 0, Delta = 0 (d = 20). The cap only stops a pathological run, which is then reported.
DEFAULT_MAX_ITER = 50_000


@dataclass(frozen=True)
class TrainedQuadraticNetwork:
    """Trained weights W (p x d), S = W^T W, and how training ended."""

    W: np.ndarray
    S: np.ndarray
    loss: float
    grad_norm: float  # ||grad L||_inf / (n/d), the quantity compared with gtol
    iterations: int
    converged: bool
    message: str


def initial_weights(p: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """W_ij iid N(0, sigma0^2), sigma0 = (p (p + d + 1))^{-1/4} (module docstring)."""
    return (p * (p + d + 1)) ** -0.25 * rng.standard_normal((p, d))


def network_loss(X, y, lam, W) -> tuple[float, np.ndarray]:
    """L(W) and its analytic gradient grad L(W), as in the module docstring."""
    design, y = QuadraticDesign(X), np.asarray(y, dtype=float)
    W = np.asarray(W, dtype=float)
    change, grad = _loss_change(W.ravel(), W.shape, design, y, check_nonnegative("lam", lam), np.zeros_like(W), -y)
    return 0.5 * float(y @ y) + change, grad.reshape(W.shape)  # W_ref = 0: S = 0, r = -y


def _loss_change(w, shape, design, y, lam, W_ref, r_ref) -> tuple[float, np.ndarray]:
    """(L(W) - L(W_ref), grad L(W)) with r_ref = A(S_ref) - y (module docstring)."""
    W = w.reshape(shape)
    D, Wsum = W - W_ref, W + W_ref
    half = D.T @ Wsum
    dr = design.apply(0.5 * (half + half.T))
    r = r_ref + dr
    change = float(dr @ (r_ref + 0.5 * dr)) + lam * float(np.sum(D * Wsum))
    grad_F = design.adjoint(r)
    grad_F[np.diag_indices(design.d)] += lam
    return change, (2.0 * (W @ grad_F)).ravel()


def train_quadratic_network(
    X, y, lam, *, rng: np.random.Generator, width: int | None = None, gtol: float = DEFAULT_GTOL,
    max_iter: int = DEFAULT_MAX_ITER,
) -> TrainedQuadraticNetwork:
    """Minimise L(W) from a random start by L-BFGS-B until ||grad L||_inf / (n/d) <= gtol.

    ``width`` p defaults to d and must be >= d. When L-BFGS-B stops short of gtol (its line search can
    no longer resolve a decrease), it is restarted from where it stopped, with that point as the new
    reference of ``_loss_change``; training ends when gtol is met, max_iter L-BFGS iterations are
    spent, or a restart makes no step.
    """
    design, y = QuadraticDesign(X), np.asarray(y, dtype=float)
    if y.shape != (design.n,) or not np.all(np.isfinite(y)):
        raise ValueError(f"y must be a finite vector of length n = {design.n} (got shape {y.shape})")
    lam = check_nonnegative("lam", lam)
    gtol, max_iter = check_solver_budget("gtol", gtol, max_iter)
    n, d = design.n, design.d
    p = d if width is None else check_width(width, d)
    scale = n / d  # gradients are reported per n/d samples (DEFAULT_GTOL)
    shape = (p, d)

    def reference(w):
        W = w.reshape(shape)
        return W.copy(), design.apply(W.T @ W) - y

    run = minimize_with_restarts(lambda w, W_ref, r_ref: _loss_change(w, shape, design, y, lam, W_ref, r_ref),
                                 initial_weights(p, d, rng).ravel(), reference, gtol * scale, max_iter)
    W, r, grad_norm = run.x.reshape(shape), run.reference[1], run.grad_norm / scale
    S = W.T @ W
    converged = grad_norm <= gtol
    verdict = f"||grad L||_inf / (n/d) = {grad_norm:.2e} {'<=' if converged else '>'} gtol = {gtol:.0e}"
    last = f"; last L-BFGS-B status: {run.last_status}" if run.last_status is not None else ""
    message = f"{verdict} after {run.iterations} L-BFGS iterations in {run.runs} run(s), width {p}{last}"
    loss = 0.5 * float(r @ r) + lam * float(np.trace(S))
    return TrainedQuadraticNetwork(W, S, loss, grad_norm, run.iterations, converged, message)


def check_width(width, d: int) -> int:
    """The network width p: an integer >= d (p < d is a different, width-limited model)."""
    p = check_count("width", width, 1)
    if p < d:
        raise ValueError(
            f"width must be >= d = {d} (got {p}): width < d is the width-limited model, not implemented here"
        )
    return p
