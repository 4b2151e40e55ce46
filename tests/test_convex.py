"""LASSO solver: optimality checked independently of the solver's own certificate."""

import math

import numpy as np
import pytest
from scipy.optimize import linprog, minimize

from numeric.convex import DEFAULT_TOL, solve_lasso
from numeric.teachers import diagonal_teacher


def problem(d, n, seed=1, noise=0.25):
    rng = np.random.default_rng(seed)
    theta_star = diagonal_teacher(d, 1.0, rng)
    X = rng.standard_normal((n, d))
    return X, X @ theta_star / math.sqrt(d) + math.sqrt(noise) * rng.standard_normal(n)


def kkt_violation(X, y, lam, theta):
    """max_j distance of (A^T r)_j from lam * subdifferential of |theta_j|, relative to lam."""
    A = X / math.sqrt(X.shape[1])
    g = A.T @ (y - A @ theta)
    on = theta != 0
    off_support = np.maximum(np.abs(g[~on]) - lam, 0.0)
    on_support = np.abs(g[on] - lam * np.sign(theta[on]))
    return float(np.max(np.concatenate([off_support, on_support]))) / lam


def primal(X, y, lam, theta):
    A = X / math.sqrt(X.shape[1])
    return 0.5 * float(np.sum((y - A @ theta) ** 2)) + lam * float(np.sum(np.abs(theta)))


SHAPES = [(60, 30), (60, 60), (60, 180)]  # n < d, n = d (interpolation peak), n > d


@pytest.mark.parametrize("d,n", SHAPES)
@pytest.mark.parametrize("scale", [1e-3, 1e-2, 1e-1, 1.0])
def test_kkt_conditions_hold_across_regimes(d, n, scale):
    X, y = problem(d, n)
    lam = scale * math.sqrt(n / d)
    sol = solve_lasso(X, y, lam)
    assert sol.converged, sol.message
    assert sol.duality_gap <= DEFAULT_TOL
    # 1e-8: the certified gap (<= 1e-10) keeps the KKT residual at the same order; measured 3e-16..1.3e-12.
    assert kkt_violation(X, y, lam, sol.theta) <= 1e-8


@pytest.mark.parametrize("d,n", [(30, 15), (30, 30), (30, 90)])
@pytest.mark.parametrize("scale", [0.01, 0.1, 1.0])
def test_agrees_with_split_formulation_solved_by_lbfgsb(d, n, scale):
    """theta = p - q, p, q >= 0: min 1/2 ||y - A(p - q)||^2 + lam 1.(p + q), a smooth bound-constrained problem."""
    X, y = problem(d, n)
    A = X / math.sqrt(d)
    lam = scale * math.sqrt(n / d)

    def objective(pq):
        r = y - A @ (pq[:d] - pq[d:])
        g = A.T @ r
        return 0.5 * r @ r + lam * pq.sum(), np.concatenate([lam - g, lam + g])

    res = minimize(objective, np.zeros(2 * d), jac=True, method="L-BFGS-B", bounds=[(0, None)] * (2 * d),
                   options={"maxiter": 100_000, "maxfun": 100_000, "ftol": 0.0, "gtol": 1e-13, "maxcor": 50})
    reference = res.x[:d] - res.x[d:]
    sol = solve_lasso(X, y, lam)
    # 1e-6: the split solve stops at the round-off of its objective, measured 3e-10..1e-8 from ours.
    assert np.max(np.abs(sol.theta - reference)) <= 1e-6
    # ours is the minimiser: never worse than the reference beyond round-off of P (1e-13 relative).
    assert primal(X, y, lam, sol.theta) <= primal(X, y, lam, reference) * (1 + 1e-13)


def test_zero_exactly_at_and_above_lam_max():
    X, y = problem(40, 30)
    lam_max = float(np.max(np.abs(X.T @ y))) / math.sqrt(40)
    above = solve_lasso(X, y, lam_max * (1 + 1e-12))
    assert above.converged and not np.any(above.theta)
    below = solve_lasso(X, y, lam_max * (1 - 1e-3))
    assert below.converged and np.count_nonzero(below.theta) == 1


def test_lam_zero_overdetermined_is_least_squares():
    X, y = problem(40, 100)
    A = X / math.sqrt(40)
    sol = solve_lasso(X, y, 0.0)
    assert sol.converged, sol.message
    normal = np.linalg.solve(A.T @ A, A.T @ y)
    # 1e-10 relative: cond(A^T A) ~ 30 here, so the normal equations are accurate to ~1e-14.
    assert np.max(np.abs(sol.theta - normal)) <= 1e-10 * np.max(np.abs(normal))


def test_lam_zero_underdetermined_is_minimum_l1_interpolator():
    d, n = 80, 40
    X, y = problem(d, n)
    A = X / math.sqrt(d)
    sol = solve_lasso(X, y, 0.0)
    assert sol.converged, sol.message
    assert "minimum-l1 interpolator" in sol.message
    # interpolates: residual at round-off (1e-12 relative, cond(A A^T) ~ 30)
    assert np.linalg.norm(A @ sol.theta - y) <= 1e-12 * np.linalg.norm(y)
    # same l1 norm as an interior-point solve of the LP (a different algorithm); HiGHS-IPM's
    # default tolerances are ~1e-8 relative.
    ipm = linprog(np.ones(2 * d), A_eq=np.hstack([A, -A]), b_eq=y, bounds=(0, None), method="highs-ipm")
    assert ipm.status == 0
    assert abs(np.sum(np.abs(sol.theta)) - ipm.fun) <= 1e-7 * ipm.fun
    # and the LASSO tends to it as lam -> 0+: theta(lam) - theta_BP = O(lam ||(A_S^T A_S)^-1||),
    # ~1e-4 at lam = 1e-6 here. (tol 1e-8: at lam = 1e-6 the gap's own round-off floor is ~1e-9.)
    tiny = solve_lasso(X, y, 1e-6, tol=1e-8)
    assert tiny.converged, tiny.message
    assert np.max(np.abs(tiny.theta - sol.theta)) <= 1e-3


def test_duplicated_column_is_flagged_not_silent():
    X, y = problem(50, 40)
    X[:, 7] = X[:, 3]
    sol = solve_lasso(X, y, 0.01)
    assert not sol.converged
    assert "general position" in sol.message


def test_exhausted_iterations_are_flagged():
    X, y = problem(60, 60)
    sol = solve_lasso(X, y, 0.01, max_iter=3)
    assert not sol.converged
    assert "max_iter=3" in sol.message
    assert sol.iterations == 3


@pytest.mark.parametrize(
    "X,y,lam,kwargs",
    [
        (np.ones((3, 2)), np.ones(4), 0.1, {}),
        (np.ones(3), np.ones(3), 0.1, {}),
        (np.full((3, 2), np.nan), np.ones(3), 0.1, {}),
        (np.ones((3, 2)), np.ones(3), -0.1, {}),
        (np.ones((3, 2)), np.ones(3), 0.1, {"tol": 0.0}),
        (np.ones((3, 2)), np.ones(3), 0.1, {"max_iter": 0}),
    ],
)
def test_invalid_inputs_raise_one_line_value_error(X, y, lam, kwargs):
    with pytest.raises(ValueError) as err:
        solve_lasso(X, y, lam, **kwargs)
    assert "\n" not in str(err.value)
