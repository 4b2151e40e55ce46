"""Simulated excess risk of the quadratic network (or its convex equivalent), averaged over seeds.

Seed k draws, from numpy.random.default_rng(SeedSequence([base_seed, k])) and in this order:
  1. the teacher S* = O diag(s) O^T (``teachers.quadratic_teacher``: a d x d Gaussian matrix for O);
  2. the design: design "quadratic" draws X (n x d, iid N(0, 1)), A_mu = (x_mu x_mu^T - I)/sqrt(d);
     design "gaussian" draws G (n x d(d+1)/2, iid N(0, 2/d) in svec coordinates, ``convex_psd.GaussianDesign``);
  3. the noise xi (n, iid N(0, 1)), with labels y_mu = <A_mu, S*> + sqrt(Delta) xi_mu
     (for the quadratic design <A_mu, S*> = f*(x_mu) = (x_mu^T S* x_mu - Tr S*)/sqrt(d));
  4. (method "network" only) the initial weights W (width x d, ``train_quadratic.initial_weights``).
Both methods therefore see the same data for the same seed. The estimate S_hat is either W^T W of the
network trained by L-BFGS ("network", ``train_quadratic``) or the minimiser of the convex problem
min_{S PSD} 1/2 ||y - A(S)||^2 + lam Tr S ("convex", ``convex_psd``). Its excess risk is exact,
    R = ||S_hat - S*||_F^2 / ||S*||_F^2     (= E(f - f*)^2 / E f*^2, and ||S*||_F^2 = d),
and the result reports the mean over seeds, the standard error std(R, ddof=1) / sqrt(seeds), the
per-seed risks and the eigenvalues of each S_hat (the learned spectra). With ``blocks=K`` it also splits R in the
teacher's eigenbasis V (eigenvalues decreasing), E = V^T (S_hat - S*) V:
    R = (||E_KK||^2 + 2 ||E_K,rest||^2 + ||E_rest,rest||^2) / ||S*||_F^2      (top, cross, rest)
where K indexes the top K teacher directions: it tells whether an error sits in the learned directions or in the
bulk (e.g. real features against the Gaussian design, docs/quadratic_real_features.md, section 3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from .convex_psd import GaussianDesign, QuadraticDesign, solve_psd
from .params import check_count, check_rank
from .simulate import SimResult, check_simulation, finite_or_none, standard_error
from .teachers import quadratic_teacher, quadratic_teacher_spectrum
from .train_quadratic import check_width, train_quadratic_network

METHODS = ("network", "convex")
DESIGNS = ("quadratic", "gaussian")
BLOCKS = ("top", "cross", "rest")  # the parts of ErrorBlocks


@dataclass(frozen=True)
class ErrorBlocks:
    """Per seed, the shares of R in the top-``directions`` block of the teacher's eigenbasis, the two cross blocks
    and the rest (module docstring); they sum to the seed's R."""

    directions: int
    top: tuple[float, ...]
    cross: tuple[float, ...]
    rest: tuple[float, ...]

    def to_dict(self) -> dict:
        out = {"directions": self.directions}
        for name in BLOCKS:
            values = getattr(self, name)
            out[name] = {"mean": float(np.mean(values)), "sem": finite_or_none(standard_error(values)),
                         "per_seed": list(values)}
        return out


@dataclass(frozen=True)
class QuadraticSimResult(SimResult):
    """``SimResult`` plus the design, the network width (None for "convex"), per seed the eigenvalues of S_hat in
    decreasing order (as computed: the network's W^T W may show round-off of either sign where the convex solution
    has exact zeros), and the error's split by teacher directions (None unless asked for)."""

    design: str
    width: int | None
    spectra: tuple[tuple[float, ...], ...]
    error_blocks: ErrorBlocks | None = None

    def to_dict(self) -> dict:
        out = super().to_dict()
        out["spectra"] = [[finite_or_none(v) for v in spectrum] for spectrum in self.spectra]
        out["error_blocks"] = None if self.error_blocks is None else self.error_blocks.to_dict()
        return out


def check_blocks(blocks, d: int, gamma: float, rank: int | None) -> int | None:
    """``blocks``: None, or the number K of top teacher directions, 1 <= K < d, not splitting a degenerate teacher
    eigenvalue (the split would depend on a basis the teacher does not fix)."""
    if blocks is None:
        return None
    message = f"blocks must be an integer in [1, d - 1] = [1, {d - 1}] (got {blocks!r})"
    try:
        blocks = check_count("blocks", blocks, 1)
    except ValueError:
        raise ValueError(message) from None
    if blocks >= d:
        raise ValueError(message)
    s = quadratic_teacher_spectrum(d, gamma, rank)
    if not s[blocks - 1] > s[blocks]:
        raise ValueError(f"blocks = {blocks} splits a degenerate teacher eigenvalue (s_{blocks} = s_{blocks + 1} = "
                         f"{s[blocks]:.6g}): choose K where the teacher's spectrum drops")
    return blocks


def error_blocks(S_hat: np.ndarray, S_star: np.ndarray, directions: int) -> tuple[float, float, float]:
    """(top, cross, rest) shares of ||S_hat - S*||_F^2 / ||S*||_F^2 (module docstring)."""
    _, V = np.linalg.eigh(S_star)
    V = V[:, ::-1]
    E = V.T @ (S_hat - S_star) @ V
    K, norm = directions, float(np.sum(S_star**2))
    return (float(np.sum(E[:K, :K] ** 2)) / norm, 2.0 * float(np.sum(E[:K, K:] ** 2)) / norm,
            float(np.sum(E[K:, K:] ** 2)) / norm)


def sample_quadratic_problem(d: int, n: int, gamma: float, noise: float, rng: np.random.Generator, *,
                             design: str = "quadratic", rank: int | None = None):
    """Draw (S*, design, y) in the order of the module docstring (steps 1-3)."""
    S_star = quadratic_teacher(d, gamma, rng, rank)
    A = QuadraticDesign(rng.standard_normal((n, d))) if design == "quadratic" else GaussianDesign.sample(d, n, rng)
    return S_star, A, A.apply(S_star) + math.sqrt(noise) * rng.standard_normal(n)


def seeded_fits_quadratic(d, n, lam, gamma, noise, seeds, method, design="quadratic", width=None, rank=None,
                          base_seed=0):
    """For seed k = 0 .. seeds - 1: rng = default_rng(SeedSequence([base_seed, k])), the problem drawn from it
    (``sample_quadratic_problem``), then the fit (the network of width p initialised from the same rng, or the convex
    solve); yields (k, S*, A, y, fit). Arguments are the caller's, already validated.

    Everything runs with one BLAS thread, the caller's work on each yielded fit included (it is yielded inside the
    limit): these products (n x d by d x d) ran 20-75x slower with OpenBLAS threads contending for the 2 shared
    cores (measured at d = 30, 60 for both methods), and the rounding of the labels and of every step, hence the
    optimiser's path, no longer depends on the machine's thread count (measured: 346 vs 347 L-BFGS iterations with
    1 vs 2 threads)."""
    for k in range(seeds):
        rng = np.random.default_rng(np.random.SeedSequence([base_seed, k]))
        with threadpool_limits(limits=1, user_api="blas"):
            S_star, A, y = sample_quadratic_problem(d, n, gamma, noise, rng, design=design, rank=rank)
            fit = train_quadratic_network(A.X, y, lam, rng=rng, width=width) if method == "network" else solve_psd(A, y, lam)
            yield k, S_star, A, y, fit


def simulate_quadratic(
    d, n, lam, gamma, noise, *, seeds: int = 8, method: str = "network", design: str = "quadratic",
    width: int | None = None, rank: int | None = None, base_seed: int = 0, blocks: int | None = None,
) -> QuadraticSimResult:
    """Mean excess risk ||S_hat - S*||_F^2 / ||S*||_F^2 over ``seeds`` independent draws (module docstring).

    ``width`` (network only) defaults to d and must be >= d; ``rank`` truncates the teacher spectrum; ``blocks`` K
    splits each seed's R by the top K teacher directions (``check_blocks``, ``error_blocks``).
    """
    d, n, lam, gamma, noise, seeds, base_seed = check_simulation(d, n, lam, gamma, noise, seeds, base_seed, method, METHODS,
                                                                 rank)
    if design not in DESIGNS:
        raise ValueError(f"unknown design {design!r} (choose from {', '.join(DESIGNS)})")
    if method == "network" and design == "gaussian":
        raise ValueError(
            "design 'gaussian' has no network (a network needs the real quadratic features): use method 'convex'"
        )
    if method == "convex" and width is not None:
        raise ValueError("width applies to method 'network' only (the convex problem has no width)")
    p = check_width(d if width is None else width, d) if method == "network" else None
    rank = check_rank(rank, d)
    blocks = check_blocks(blocks, d, gamma, rank)
    risks, spectra, failures, split = [], [], [], []
    for k, S_star, _, _, fit in seeded_fits_quadratic(d, n, lam, gamma, noise, seeds, method, design, p, rank, base_seed):
        eigenvalues = np.linalg.eigvalsh(fit.S) if method == "network" else fit.eigenvalues
        if not fit.converged:
            failures.append(f"seed {k}: {fit.message}")
        risks.append(float(np.sum((fit.S - S_star) ** 2) / np.sum(S_star**2)))
        spectra.append(tuple(float(v) for v in eigenvalues[::-1]))
        if blocks is not None:
            split.append(error_blocks(fit.S, S_star, blocks))
    sem = standard_error(risks)
    message = f"all {seeds} seeds converged" if not failures else "NOT CONVERGED - " + "; ".join(failures)
    return QuadraticSimResult(
        float(np.mean(risks)), sem, tuple(risks), method, seeds, base_seed, not failures, message,
        design, p, tuple(spectra), None if blocks is None else ErrorBlocks(blocks, *map(tuple, zip(*split))),
    )
