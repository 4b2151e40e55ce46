"""Simulated excess risk of the diagonal network, averaged over seeds.

Seed k draws, from numpy.random.default_rng(SeedSequence([base_seed, k])) and in this order, the
teacher theta*, the data X (n x d, iid N(0, 1)) and xi (n, iid N(0, 1)) with
y = X theta* / sqrt(d) + sqrt(Delta) xi, and (method "network" only) the initial weights. Both methods
therefore see the same data for the same seed. The estimate theta_hat is either the trained network's
a * w ("network") or the certified LASSO solution ("lasso"); its excess risk is exact,
    R = ||theta_hat - theta*||^2 / d,
and the result reports the mean over seeds with the standard error std(R, ddof=1) / sqrt(seeds).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from .convex import solve_lasso
from .params import check_count, check_diagonal_params, check_memory
from .teachers import VARIANTS, diagonal_teacher
from .train import train_diagonal_network

METHODS = ("network", "lasso")


@dataclass(frozen=True)
class SimResult:
    """Excess risk over seeds: mean, standard error, per-seed values and how the solves ended."""

    excess_risk_mean: float
    excess_risk_sem: float
    risks: tuple[float, ...]
    method: str
    seeds: int
    base_seed: int
    converged: bool
    message: str

    def to_dict(self) -> dict:
        """Plain JSON types; a non-finite float (the sem of a single seed, a failed solve) becomes None."""
        out = asdict(self)
        out["risks"] = [finite_or_none(r) for r in self.risks]
        return {key: finite_or_none(v) for key, v in out.items()}


def standard_error(values) -> float:
    """std(values, ddof=1) / sqrt(count); NaN for a single value."""
    v = np.asarray(values, dtype=float)
    return float(np.std(v, ddof=1) / math.sqrt(v.size)) if v.size > 1 else math.nan


def finite_or_none(value):
    return None if isinstance(value, float) and not math.isfinite(value) else value


def sample_problem(d: int, n: int, gamma: float, noise: float, rng: np.random.Generator, teacher: str = "signs"):
    """Draw (theta*, X, y) in the order of the module docstring: y = X theta* / sqrt(d) + sqrt(noise) xi."""
    theta_star = diagonal_teacher(d, gamma, rng, teacher)
    X = rng.standard_normal((n, d))
    return theta_star, X, X @ theta_star / math.sqrt(d) + math.sqrt(noise) * rng.standard_normal(n)


def check_simulation(d, n, lam, gamma, noise, seeds, base_seed, method, methods, rank=None) -> tuple:
    """Validate the arguments every simulation shares (one-line ValueErrors); n, seeds and base_seed are counts;
    ``rank``: a teacher of finite rank (check_gamma)."""
    d, _, lam, gamma, noise = check_diagonal_params(d, n, lam, gamma, noise, rank)
    if method not in methods:
        raise ValueError(f"unknown method {method!r} (choose from {', '.join(methods)})")
    check_memory(f"the n x d inputs (n = {n:.6g}, d = {d})", float(n) * d)  # every simulation holds them
    return d, check_count("n", n, 1), lam, gamma, noise, check_count("seeds", seeds, 1), check_count("base_seed", base_seed, 0)


def seeded_fits(d, n, lam, gamma, noise, seeds, method, teacher="signs", base_seed=0):
    """For seed k = 0 .. seeds - 1: rng = default_rng(SeedSequence([base_seed, k])), the problem drawn from it
    (``sample_problem``), then the fit (the network initialised from the same rng, or the LASSO); yields
    (k, theta*, X, y, fit). Arguments are the caller's, already validated (``check_simulation``)."""
    for k in range(seeds):
        rng = np.random.default_rng(np.random.SeedSequence([base_seed, k]))
        theta_star, X, y = sample_problem(d, n, gamma, noise, rng, teacher)
        # one BLAS thread: these small matrix-vector products run 5-90x slower with OpenBLAS threads
        # contending for 2 cores (measured in benchmarks/bench_simulate.py), and the rounding, hence
        # the optimiser's path, no longer depends on the machine's thread count.
        with threadpool_limits(limits=1, user_api="blas"):
            fit = train_diagonal_network(X, y, lam, rng=rng) if method == "network" else solve_lasso(X, y, lam)
        yield k, theta_star, X, y, fit


def simulate_diagonal(
    d, n, lam, gamma, noise, *, seeds: int = 8, method: str = "network", teacher: str = "signs", base_seed: int = 0
) -> SimResult:
    """Mean excess risk ||theta_hat - theta*||^2 / d over ``seeds`` independent draws (module docstring)."""
    d, n, lam, gamma, noise, seeds, base_seed = check_simulation(d, n, lam, gamma, noise, seeds, base_seed, method, METHODS)
    if teacher not in VARIANTS:
        raise ValueError(f"unknown teacher variant {teacher!r} (choose from {', '.join(VARIANTS)})")
    risks, failures = [], []
    for k, theta_star, _, _, fit in seeded_fits(d, n, lam, gamma, noise, seeds, method, teacher, base_seed):
        if not fit.converged:
            failures.append(f"seed {k}: {fit.message}")
        risks.append(float(np.sum((fit.theta - theta_star) ** 2) / d))
    sem = standard_error(risks)
    message = f"all {seeds} seeds converged" if not failures else "NOT CONVERGED - " + "; ".join(failures)
    return SimResult(float(np.mean(risks)), sem, tuple(risks), method, seeds, base_seed, not failures, message)
