"""Sums over the power-law teacher: S = sum_{i=1}^d f(x0_i), x0_i = sqrt(n) c_d i^{-gamma}.

A sum is represented by a ``TeacherGrid`` (magnitudes a_k, weights w_k) with S ~ sum_k w_k f(a_k).

"exact": a_k = x0_k for k = 1..d, w_k = 1.
"binned" (d > HEAD; relative error <= 1.1e-14 in the study recorded below): exact for i <= HEAD
and wherever f is not smooth on the scale of one index (see ``transition``); every other run of
integers A..B is replaced by the midpoint Euler-Maclaurin formula
    sum_{i=A}^{B} F(i) = int_{A-1/2}^{B+1/2} F(x) dx - [F'(B+1/2) - F'(A-1/2)]/24 + O(F'''),
with F'(B+1/2) ~ F(B+1) - F(B) (so the correction is four extra nodes of weight +-1/24) and the
integral done in t = log x by Gauss-Legendre on geometric bins (ratio <= RATIO) refined where f
has a transition.

``transition=(centre, width)`` says that f(a) changes on the scale ``width`` for a within
TRANSITION_HALF_WIDTH widths of ``centre`` (for the soft threshold: centre zeta, width tau). There
bin edges are placed every ``width`` in a, and indices where one ``width`` spans fewer than
MIN_SPACING integers are summed exactly.

``split=a*`` cuts the integer runs between the last index with x0_i > a* and the next one (the indices
around the cut are summed exactly), so that sums of f(a) 1{a > a*} are exact too (binning across the step
would smear it).

``teacher_magnitudes_mp`` gives the exact x0_i (and c_d) in mpmath for the high-precision solves.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import mpmath
import numpy as np
from numpy.polynomial.legendre import leggauss

from .params import check_dimension, check_gamma
from .teachers import teacher_scale

BINNINGS = ("auto", "exact", "binned")

# Error study (binned vs exact at d = 1e6; gamma in {0.55, 0.75, 1, 1.5, 2, 3}, n in {1e2, 1e4, 1e6,
# 1e8}, the transition zeta = x0_i at i in {3, 300, 3e3, 3e4, 3e5, 3e6}, c = zeta/tau in {0.3, 1, 3,
# 10, 40, 300, 3000}; sums of P, MSE (signs teacher), the Bayes summand and the Gaussian-teacher MSE
# and P). Worst relative error with the values below: 1.1e-14. Changing one knob at a time:
#   HEAD 1000 -> 7e-14, 500 -> 1.4e-12, 200 -> 2.6e-9 (Euler-Maclaurin remainder at the head edge);
#   RATIO 1.5 with NODES 10 -> 4e-12; from there RATIO 2 -> 4e-8 or NODES 8 -> 2e-10 (the
#   Gaussian-teacher sums, whose transition only the geometric bins resolve);
#   no exact window (MIN_SPACING -> 0) -> 2e-8 at c = 3000; MIN_SPACING 2 is already enough;
#   TRANSITION_HALF_WIDTH 8 -> 1.3e-14, 6 -> 3.6e-13.
HEAD = 2_000
RATIO = 1.25
NODES = 12
TRANSITION_HALF_WIDTH = 10.0
MIN_SPACING = 4.0
# ``split``: a step where one transition width spans fewer integers than this is summed exactly over the whole
# transition (at most ~2 TRANSITION_HALF_WIDTH SPLIT_SPACING = 1280 terms); with more, the Euler-Maclaurin remainder
# at the run ends next to the step is ~ F/(5760 SPLIT_SPACING^3) ~ 1e-9 of one term.
SPLIT_SPACING = 64.0
# Runs shorter than this are summed exactly (the Euler-Maclaurin form would need as many nodes).
SHORT_RUN = 32
# "auto" sums exactly up to here. An exact float64 LASSO SE solve takes 0.04 s at d = 1e4 and
# 0.2-0.7 s at d = 1e5 (binned: 0.03 s at any d) while binning costs only ~1e-14: 1e4 keeps the
# default fast and exact wherever exactness is cheap.
AUTO_EXACT_MAX_D = 10_000


@dataclass(frozen=True, eq=False)
class TeacherGrid:
    """S ~ sum_k weights[k] f(magnitudes[k]); ``method`` is "exact" or "binned"."""

    magnitudes: np.ndarray
    weights: np.ndarray
    method: str

    def total(self, values: np.ndarray) -> float:
        """sum_k w_k values_k (pairwise summation)."""
        return float(np.sum(self.weights * values))


def summation_method(d: int, binning: str = "auto") -> str:
    """"exact" or "binned": what ``binning`` means at this d."""
    if binning not in BINNINGS:
        raise ValueError(f"binning must be one of {', '.join(BINNINGS)} (got {binning!r})")
    if binning == "exact" or d <= HEAD or (binning == "auto" and d <= AUTO_EXACT_MAX_D):
        return "exact"
    return "binned"


@functools.lru_cache(maxsize=4)
def _index_powers(d: int, gamma: float) -> np.ndarray:
    """i^{-gamma} for i = 1..d (read-only, cached: the exact grid is reused by every evaluation)."""
    out = np.arange(1, d + 1, dtype=float) ** (-gamma)
    out.setflags(write=False)
    return out


@functools.lru_cache(maxsize=1)
def _legendre(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    return leggauss(nodes)


def teacher_grid(d, n, gamma, *, binning: str = "auto", transition: tuple[float, float] | None = None,
                 split: float | None = None) -> TeacherGrid:
    """Grid for sums over x0_i = sqrt(n) c_d i^{-gamma}, i = 1..d (see the module docstring)."""
    d, gamma = check_dimension(d), check_gamma(gamma)
    top = math.sqrt(n) * teacher_scale(d, gamma)
    method = summation_method(d, binning)
    if method == "exact":
        powers = _index_powers(d, gamma)
        return TeacherGrid(top * powers, np.ones(d), method)
    index, weights = _binned_indices(d, gamma, top, transition, split)
    return TeacherGrid(top * index ** (-gamma), weights, method)


def teacher_sum(f, d, n, gamma, *, binning: str = "auto", transition=None) -> float:
    """S = sum_{i=1}^d f(x0_i) with ``f`` vectorised over magnitudes."""
    grid = teacher_grid(d, n, gamma, binning=binning, transition=transition)
    return grid.total(f(grid.magnitudes))


def teacher_magnitudes_mp(d: int, n: float, gamma: float) -> list:
    """x0_i = sqrt(n) c_d i^{-gamma}, c_d = (sum_{j<=d} j^{-2 gamma})^{-1/2}, at the current precision."""
    powers = [mpmath.mpf(i) ** (-mpmath.mpf(gamma)) for i in range(1, d + 1)]
    top = mpmath.sqrt(mpmath.mpf(n)) / mpmath.sqrt(mpmath.fsum(p * p for p in powers))
    return [top * p for p in powers]


def _binned_indices(d: int, gamma: float, top: float, transition, split=None) -> tuple[np.ndarray, np.ndarray]:
    """(index positions x_k, weights w_k) with sum_{i=1}^d F(i) ~ sum_k w_k F(x_k)."""
    exact = [(1, HEAD)]
    breaks = np.empty(0)
    if transition is not None and transition[0] > 0 and top > 0:
        centre, width = transition

        def index_of(a):  # x with x0(x) = a
            return (top / np.asarray(a, dtype=float)) ** (1.0 / gamma)

        hi = centre + TRANSITION_HALF_WIDTH * width
        lo = centre - TRANSITION_HALF_WIDTH * width
        steps = centre + width * np.arange(-TRANSITION_HALF_WIDTH, TRANSITION_HALF_WIDTH + 1)
        breaks = np.log(index_of(steps[steps > 0]))
        # one width spans i(a) width / (gamma a) integers: fewer than MIN_SPACING for a > a_cut
        a_cut = (width * top ** (1.0 / gamma) / (gamma * MIN_SPACING)) ** (gamma / (gamma + 1.0))
        if a_cut < hi:
            first = math.ceil(min(float(index_of(hi)), d + 1.0))
            last = math.floor(min(float(index_of(max(a_cut, lo))), float(d)))
            exact.append((max(first, HEAD + 1), last))
    if split is not None and 0 < split < top:
        # the last index above the split is floor((top/split)^(1/gamma)); one index either side absorbs its rounding,
        # so every smooth run (and its Euler-Maclaurin end nodes) lies on one side of the step. The exact ranges are
        # then re-formed as disjoint runs (the complement of the complement), since this one may overlap the others.
        # A run end inside a transition where one width spans few integers would leave an Euler-Maclaurin remainder
        # ~ F'''/5760 per end (measured: 2e-9 of the sum at d = 1e20 with ~5 integers per width), so there the whole
        # transition is summed exactly.
        x_split = (top / split) ** (1.0 / gamma)
        last = math.floor(min(x_split, float(d)))
        window = (max(last - 1, 1), min(last + 2, d))
        if transition is not None and transition[1] > 0 and x_split <= d:
            width = transition[1]
            if x_split * width / (gamma * split) < SPLIT_SPACING:
                near = (top / (split + TRANSITION_HALF_WIDTH * width)) ** (1.0 / gamma)
                far = (top / max(split - TRANSITION_HALF_WIDTH * width, split / 2.0)) ** (1.0 / gamma)
                window = (max(min(math.ceil(near), last - 1), 1), min(max(math.floor(min(far, float(d))), last) + 2, d))
        exact = _complement(_complement(exact + [window], d), d)
    runs = _complement(exact, d)
    exact += [r for r in runs if r[1] - r[0] + 1 < SHORT_RUN]
    smooth = [r for r in runs if r[1] - r[0] + 1 >= SHORT_RUN]
    idx = [np.arange(a, b + 1, dtype=float) for a, b in exact if b >= a]
    wts = [np.ones(b - a + 1) for a, b in exact if b >= a]
    for a, b in smooth:
        x, w = _integral_nodes(math.log(a - 0.5), math.log(b + 0.5), breaks)
        idx += [x, np.array([a - 1.0, a, b, b + 1.0])]
        wts += [w, np.array([-1.0, 1.0, 1.0, -1.0]) / 24.0]
    return np.concatenate(idx), np.concatenate(wts)


def _complement(ranges: list[tuple[int, int]], d: int) -> list[tuple[int, int]]:
    """Maximal integer runs in [1, d] outside the given (possibly empty) inclusive ranges."""
    runs, start = [], 1
    for a, b in sorted(r for r in ranges if r[1] >= r[0]):
        if a > start:
            runs.append((start, a - 1))
        start = max(start, b + 1)
    if start <= d:
        runs.append((start, d))
    return runs


def _integral_nodes(t0: float, t1: float, breaks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nodes/weights for int_{e^t0}^{e^t1} F(x) dx = int F(e^t) e^t dt, Gauss-Legendre per bin."""
    uniform = np.linspace(t0, t1, max(1, math.ceil((t1 - t0) / math.log(RATIO))) + 1)
    edges = np.unique(np.concatenate([uniform, breaks[(breaks > t0) & (breaks < t1)]]))
    xi, wi = _legendre(NODES)
    half = 0.5 * np.diff(edges)[:, None]
    t = 0.5 * (edges[1:] + edges[:-1])[:, None] + half * xi
    x = np.exp(t)
    return x.ravel(), (half * wi * x).ravel()
