"""The student of the training dynamics (spec/dynamics.md) and its exact risk.

    f(x) = sum_{k<=m} (<w_k, x>^2 - ||w_k||^2) = x^T M x - Tr M,   M = W^T W,   W in R^{m x d},
    W0 iid N(0, sigma0^2/d),   R = E(f - f*)^2 / 2 = ||M - A||_F^2.

With the teacher on the first coordinates, W = [W_U | W_perp] (W_U: the first K columns, the
teacher's head directions; W_perp: all other columns, only through G = W_perp W_perp^T = F F^T):

    R = ||W_U^T W_U - Lam||_F^2 + 2 ||F^T W_U||_F^2 + ||F^T F||_F^2 + sum_{j>K} lam_j^2 ,

a sum of non-negative terms (no cancellation when R is small). The last term counts the teacher
directions outside the head as not learned; ``numeric.flow`` bounds the error of doing so.
"""

from __future__ import annotations

import numpy as np

from .params import check_count, check_dimension, check_positive


def initial_weights(d: int, width: int, sigma0: float, seed: int) -> np.ndarray:
    """W0 in R^{m x d} with iid N(0, sigma0^2/d) entries from numpy's default_rng(seed)."""
    d, m = check_dimension(d), check_count("width", width, 1)
    sigma0 = check_positive("sigma0", sigma0)
    return np.random.default_rng(seed).standard_normal((m, d)) * (sigma0 / np.sqrt(d))


def risk_of_blocks(w_head: np.ndarray, factor: np.ndarray, head: np.ndarray, tail_square_sum: float) -> float:
    """R from W_U (m x K), a factor F (m x q) of the complement Gram G = F F^T, lam_1..lam_K and
    sum_{j>K} lam_j^2 (module docstring)."""
    gram_head = w_head.T @ w_head
    gram_head[np.diag_indices_from(gram_head)] -= head
    cross = factor.T @ w_head
    perp = factor.T @ factor
    return float(np.sum(gram_head**2) + 2.0 * np.sum(cross**2) + np.sum(perp**2) + tail_square_sum)


def risk_of_weights(weights: np.ndarray, head: np.ndarray, tail_square_sum: float = 0.0) -> float:
    """R of the dense student W (m x d), teacher head lam_1..lam_K on the first K coordinates.

    Uses the m x m Gram of the complement, cost O(m^2 d) (never a d x d matrix)."""
    k = head.size
    w_head, w_perp = weights[:, :k], weights[:, k:]
    gram = w_perp @ w_perp.T
    gram_head = w_head.T @ w_head
    gram_head[np.diag_indices_from(gram_head)] -= head
    return float(np.sum(gram_head**2) + 2.0 * np.einsum("ik,ij,jk->", w_head, gram, w_head)
                 + np.sum(gram**2) + tail_square_sum)
