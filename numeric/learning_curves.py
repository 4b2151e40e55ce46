"""The finite-size prediction of the flow's risk: the additive picture of independent logistic curves.

One neuron w with overlap a = w_j^2 on direction j and complement mass sigma0^2 (lam = 0) in the closed form of
``numeric.flow`` (tau = 4t): S = 1 + a (e^{8 lam_j t} - 1)/lam_j + 8 sigma0^2 t, M_jj = a e^{8 lam_j t}/S, i.e.

    mu_j(t) = lam_j a_j / (lam_j (1 + 8 sigma0^2 t) e^{-8 lam_j t} + a_j (1 - e^{-8 lam_j t})),
    lam_j - mu_j(t) = lam_j e^{-8 lam_j t} (lam_j (1 + 8 sigma0^2 t) - a_j) / (same denominator),

written with e^{-8 lam t} (no overflow) and the second form free of cancellation once mu_j -> lam_j. Direction j is
taken up by the best of the m - j + 1 neurons not yet used: a_j = (m - j + 1) sigma0^2/d. Directions j <= min(r, m)
follow their curves, the others are never learned:

    R_pred(t) = sum_{j <= min(r, m)} (lam_j - mu_j(t))^2 + sum_{j > min(r, m)} lam_j^2
                + (m - sum_{j <= min(r, m)} mu_j(t)/lam_j) g(t)^2,     g(t) = sigma0^2/(1 + 8 sigma0^2 t):

the last term is the mass the neurons not (yet) used by a direction keep outside the teacher's span, each a
neuron of the complement block G = W_perp W_perp^T with dG/dt = -8 G^2 (||M_perp||_F^2 = Tr G^2); it decays
only like m/(64 t^2), so with m > r it is what remains once every direction is learned.

t_j solves mu_j(t) = lam_j/2, i.e. e^{8 lam_j t} = lam_j (1 + 8 sigma0^2 t)/a_j - 1 (t_j = 0 if a_j >= lam_j/2).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

from .flow import TAIL_TOL, check_large_dimension, check_times
from .he2_teacher import check_rank, he2_teacher
from .params import check_count, check_positive

# Relative accuracy of the predicted t_j (brentq): far below the 10 % the flow is compared with.
ROOT_RTOL = 1e-12


def _curves(lam: np.ndarray, a: np.ndarray, sigma0: float, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """mu_j(t) and lam_j - mu_j(t) (module docstring), shape len(t) x len(lam)."""
    decay = np.exp(-8.0 * np.outer(t, lam))
    plateau = lam * (1.0 + 8.0 * sigma0**2 * t[:, None])
    denominator = plateau * decay - a * np.expm1(-8.0 * np.outer(t, lam))
    return lam * a / denominator, lam * decay * (plateau - a) / denominator


def logistic_prediction(d, r, alpha, width, times, *, sigma0=1.0, head=None) -> np.ndarray:
    """R_pred(t) at the sorted ``times`` (module docstring).

    ``head`` (default min(r, m)): directions with explicit curves; directions head < j <= min(r, m) are counted as
    unlearned, which changes R_pred by at most 2 mu_{K+1}(t) sum_{K<j<=min(r,m)} lam_j (to first order; mu
    increases with lam_j and a_j); a ValueError asks for a larger head if that exceeds TAIL_TOL R_pred at some time."""
    d, m = check_large_dimension(d), check_count("width", width, 1)
    r = check_rank(r, d)
    sigma0 = check_positive("sigma0", sigma0)
    times = check_times(times)
    learnable = min(r, m)
    k = learnable if head is None else min(learnable, check_count("head", head, 1))
    teacher = he2_teacher(r, alpha, head=k)
    lam = teacher.head
    a = (m - np.arange(k, dtype=float)) * sigma0**2 / d
    learned, gap = _curves(lam, a, sigma0, times)
    spare = (m - np.sum(learned / lam, axis=1)) * (sigma0**2 / (1.0 + 8.0 * sigma0**2 * times)) ** 2
    risk = np.sum(gap**2, axis=1) + teacher.tail_square_sum + spare
    if k < learnable:
        lam_next = teacher.coefficients(k + 1, k + 1)
        mu_next = _curves(lam_next, np.array([(m - k) * sigma0**2 / d]), sigma0, times)[0][:, 0]
        error = 2.0 * mu_next * float(np.sum(teacher.coefficients(k + 1, learnable))) / risk
        if error.max() > TAIL_TOL:
            raise ValueError(f"head = {k} too small: directions beyond it are partly learned by t = "
                             f"{times[np.argmax(error > TAIL_TOL)]:g} (relative error {error.max():.1e}); enlarge head")
    return risk


def predicted_learning_times(d, r, alpha, width, *, sigma0=1.0, count=None) -> np.ndarray:
    """t_j (mu_j(t_j) = lam_j/2) for j = 1..count (default min(r, m, 32); count <= min(r, m)), by brentq."""
    d, m = check_large_dimension(d), check_count("width", width, 1)
    r = check_rank(r, d)
    sigma0 = check_positive("sigma0", sigma0)
    count = min(r, m, 32) if count is None else check_count("count", count, 1)
    if count > min(r, m):
        raise ValueError(f"count must be <= min(r, width) = {min(r, m)}: later directions are never learned")
    lam = he2_teacher(r, alpha, head=1).coefficients(1, count)
    out = np.zeros(count)
    for j in range(count):
        lam_j, a_j = lam[j], (m - j) * sigma0**2 / d
        if a_j >= lam_j / 2:
            continue

        def excess(t: float, lam_j=lam_j, a_j=a_j) -> float:
            return 8.0 * lam_j * t - math.log(lam_j * (1.0 + 8.0 * sigma0**2 * t) / a_j - 1.0)

        lower, upper = 0.0, 1.0 / (8.0 * lam_j)
        while excess(upper) < 0:
            lower, upper = upper, 2.0 * upper
        out[j] = brentq(excess, lower, upper, xtol=1e-300, rtol=ROOT_RTOL)
    return out
