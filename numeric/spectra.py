"""The learned spectrum |theta_hat_i| of the diagonal network: the SE's prediction and trained networks.

Prediction (spec: shared/spec/diagonal.md, "Spectrum of the trained weights"). The LASSO SE says
theta_hat_i ~ s eta(x0_i + tau Z; zeta), s = sqrt(d/n), x0_i = theta*_i sqrt(n/d). The learned magnitudes
|theta_hat_i| therefore follow the mixture over i = 1..d (weight 1/d each) of s |eta(x0_i + tau Z; zeta)|.
Each component is |y| thresholded, y = m_i + s_i Z with m_i = |x0_i|, s_i = tau ("signs" teacher; the
sign of x0_i does not matter since Z is symmetric) or m_i = 0, s_i^2 = sigma_i^2 + tau^2 ("gaussian"
teacher, x0_i ~ N(0, sigma_i^2)). With u = v / s (eta-units) and t = zeta + u:
    atom  = F(0) = (1/d) sum_i P(|y_i| <= zeta) = 1 - (1/d) sum_i P_i,   P_i the SE's active probability,
    F(v)  = (1/d) sum_i P(|y_i| <= t) = (1/d) sum_i [Phi((t - m_i)/s_i) - Phi((-t - m_i)/s_i)],
    1 - F(v) = (1/d) sum_i [Q((t - m_i)/s_i) + Q((t + m_i)/s_i)],
    f(v)  = (1/(d s)) sum_i [phi((t - m_i)/s_i) + phi((t + m_i)/s_i)] / s_i    (v > 0),
    mean  = (s/d) sum_i s_i [J1((zeta - m_i)/s_i) + J1((zeta + m_i)/s_i)],  J1(w) = E[(Z - w)_+].
(|eta| = u > 0 iff y = +-(zeta + u), whence the two terms of f.) F is evaluated as a sum of non-negative
interval probabilities (erf sums, or a difference of two upper tails), 1 - F and f in log space
(scipy.special.log_ndtr, logsumexp), so deep tails do not underflow before the true value does.

Cost: every evaluation point of cdf / sf / density costs O(d) special-function calls, vectorised in
chunks of CHUNK elements: measured 40-65 ns per element, i.e. ~0.05 ms per point at d = 1e3 and ~40 ms
at d = 1e6; a quantile is ~55 bisection steps (~3 s at d = 1e6). Building the comparison grid
(``_Table``) took 0.06-0.2 s at d = 1e3.

Comparison (``compare_spectra``): Kolmogorov-Smirnov sup_v |F_emp - F| (the jump of F at 0 included)
and Wasserstein-1 int_0^inf |F_emp - F| dv, with a parametric bootstrap band (see its docstring).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
from scipy.special import erf, log_ndtr, logsumexp

from .gaussian import normal_tail, tail_moments
from .params import check_count, check_diagonal_params
from .se_lasso import SEResult, lasso_se, lasso_se_estimates
from .simulate import check_simulation, seeded_fits
from .teachers import VARIANTS, teacher_magnitudes

METHODS = ("lasso", "network")

# Elements (points x components) per vectorised block: ~8 MB per float64 temporary.
CHUNK = 1 << 20

# The distribution's support is cut at u_top = max_i (m_i + TAIL_SIGMAS s_i) - zeta: beyond it each
# component's tail is Q(9) + Q(9 + 2 m_i/s_i) <= 2.3e-19, so 1 - F(v_top) <= 2.3e-19 (below the float64
# resolution of F near 1).
TAIL_SIGMAS = 9.0

# The comparison integrates the piecewise-linear interpolant F_lin of F on an adaptive node grid
# (``_Table``), refined until |F - F_lin| <= TABLE_TOL at every interval's check points.
# 1e-5 is 1e-3 of the smallest KS band met here (the 95 % band is >~ 1/sqrt(N) ~ 1e-2 for N <= 1e4
# values) and keeps W1 (int |F - F_lin| <= TABLE_TOL * v_top) within ~1e-3 relative of its band.
# MAX_NODES caps the grid (the error still present is then reported); START_NODES is the initial grid.
TABLE_TOL = 1e-5
MAX_NODES = 1 << 20
START_NODES = 257
ERROR_FACTOR = 1.25

# Quantile bisection stops when the bracket is below this many float64 ulps of its upper end.
QUANTILE_ULPS = 4.0
QUANTILE_MAX_STEPS = 2000

# Default threshold under which a trained network's |a_i w_i| counts as an exact zero. The network
# at its default gtol = 1e-8 is within 8e-6 of the LASSO solution (measured, numeric/train.py), so a
# LASSO zero comes out below 8e-6; a non-zero LASSO value below 1e-4 has probability ~ f(0+) 1e-4,
# negligible against the bands.
NETWORK_ZERO_TOL = 1e-4

LEVEL = 0.95  # the bootstrap band is this quantile of the distances of iid predicted samples


def _chunks(points: int, d: int):
    step = max(1, CHUNK // max(d, 1))
    for start in range(0, points, step):
        yield slice(start, min(points, start + step))


def _inside(t: np.ndarray, m: np.ndarray, s: np.ndarray) -> np.ndarray:
    """P(|m + s Z| <= t) for t >= 0 (column) and m >= 0, s > 0 (rows); a = (t + m)/s >= 0, b = (t - m)/s.

    b >= 0: [erf(b/sqrt 2) + erf(a/sqrt 2)] / 2  (non-negative terms);  b < 0: Q(-b) - Q(a), a >= -b
    (absolute error ~1e-16 Q(-b)).
    """
    a = (t + m) / s
    b = (t - m) / s
    out = np.empty(np.broadcast(a, b).shape)
    pos = b >= 0
    out[pos] = 0.5 * (erf(b[pos] / math.sqrt(2.0)) + erf(a[pos] / math.sqrt(2.0)))
    neg = ~pos
    out[neg] = normal_tail(-b[neg]) - normal_tail(a[neg])
    return out


def check_points(name: str, x) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if np.any(np.isnan(x)):
        raise ValueError(f"{name} must not contain nan")
    return x


class SpectrumLaw:
    """What ``compare_spectra`` needs of a predicted law of learned values v >= 0 (an atom at 0 plus a continuous
    part): ``d``, ``atom``, ``cdf(v)``, ``table()`` (a ``_Table`` of F), ``sample(size, rng)`` (iid draws) and
    ``stratified(rng)`` (one finite-d draw of all d values, for the stratified band). Subclasses: the diagonal
    ``PredictedSpectrum`` here and the quadratic ``spectra_quadratic.PredictedQuadraticSpectrum``."""

    def quantile(self, p) -> np.ndarray:
        """Smallest v >= 0 with F(v) >= p, by bisection on F to QUANTILE_ULPS ulps (0 for p <= atom, inf for
        p = 1); needs ``atom``, ``v_top`` (F(v_top) = 1 up to the law's tail) and a vectorised ``cdf``."""
        p = check_points("p", p)
        if np.any((p < 0) | (p > 1)):
            raise ValueError("p must lie in [0, 1]")
        flat = p.ravel()
        out = np.zeros(flat.shape)
        out[flat == 1] = math.inf
        todo = np.flatnonzero((flat > self.atom) & (flat < 1))
        lo, hi = np.zeros(todo.size), np.full(todo.size, self.v_top)
        target = flat[todo]
        for _ in range(QUANTILE_MAX_STEPS):
            open_ = hi - lo > QUANTILE_ULPS * np.spacing(hi)
            if not np.any(open_):
                break
            mid = 0.5 * (lo[open_] + hi[open_])
            below = self.cdf(mid) < target[open_]
            lo[open_] = np.where(below, mid, lo[open_])
            hi[open_] = np.where(below, hi[open_], mid)
        out[todo] = hi
        return out.reshape(p.shape)


class PredictedSpectrum(SpectrumLaw):
    """Law of |theta_hat_i| predicted by the LASSO SE (module docstring): an atom at 0 plus a density.

    Attributes: d, n, lam, gamma, noise, teacher, se (the SEResult), tau, zeta (eta-units), scale = sqrt(d/n),
    atom, mean, v_top (1 - F(v_top) <= 2.3e-19).
    """

    def __init__(self, d: int, n: float, lam: float, gamma: float, noise: float, teacher: str, se: SEResult):
        self.d, self.n, self.lam, self.gamma, self.noise, self.teacher, self.se = d, n, lam, gamma, noise, teacher, se
        self.tau, self.zeta, self.scale = math.sqrt(se.tau2), float(se.zeta), math.sqrt(d / n)
        x0 = teacher_magnitudes(d, gamma) * math.sqrt(n / d)  # |x0_i| (signs) or sigma_i (gaussian)
        if teacher == "signs":
            self._m, self._s = x0, np.full(d, self.tau)
        else:
            self._m, self._s = np.zeros(d), np.sqrt(x0 * x0 + se.tau2)
        self.atom = float(np.mean(_inside(np.array([[self.zeta]]), self._m, self._s)))
        j_minus = tail_moments((self.zeta - self._m) / self._s)[1]
        j_plus = tail_moments((self.zeta + self._m) / self._s)[1]
        self.mean = float(self.scale * np.mean(self._s * (j_minus + j_plus)))
        self.v_top = self.scale * max(float(np.max(self._m + TAIL_SIGMAS * self._s)) - self.zeta, float(np.min(self._s)))
        self._table = None

    def _map(self, f, v, fill_negative: float) -> np.ndarray:
        """Apply f(t column, m, s) -> per-point values on the flattened v >= 0, chunked; v < 0 -> fill."""
        v = np.asarray(v, dtype=float)
        flat = v.ravel()
        out = np.full(flat.shape, fill_negative)
        idx = np.flatnonzero(flat >= 0)
        for sl in _chunks(idx.size, self.d):
            t = self.zeta + flat[idx[sl]][:, None] / self.scale
            out[idx[sl]] = f(t)
        return out.reshape(v.shape)

    def cdf(self, v) -> np.ndarray:
        """F(v) = P(|theta_hat| <= v): 0 for v < 0, atom at v = 0, continuous increasing for v > 0."""
        v = check_points("v", v)
        return self._map(lambda t: np.mean(_inside(t, self._m, self._s), axis=1), v, 0.0)

    def log_sf(self, v) -> np.ndarray:
        """log(1 - F(v)) = log((1/d) sum_i [Q((t - m_i)/s_i) + Q((t + m_i)/s_i)]), by log_ndtr and logsumexp."""
        v = check_points("v", v)

        def f(t):
            terms = np.logaddexp(log_ndtr((self._m - t) / self._s), log_ndtr(-(t + self._m) / self._s))
            return logsumexp(terms, axis=1) - math.log(self.d)

        return self._map(f, v, 0.0)

    def sf(self, v) -> np.ndarray:
        """1 - F(v), computed in log space (relative accuracy in the far tail)."""
        return np.exp(self.log_sf(v))

    def log_density(self, v) -> np.ndarray:
        """log f(v) for v >= 0 (the density of the continuous part; -inf for v < 0)."""
        v = check_points("v", v)
        log_norm = math.log(self.d * self.scale * math.sqrt(2.0 * math.pi))

        def f(t):
            w1, w2 = (t - self._m) / self._s, (t + self._m) / self._s
            terms = np.logaddexp(-0.5 * w1 * w1, -0.5 * w2 * w2) - np.log(self._s)
            return logsumexp(terms, axis=1) - log_norm

        return self._map(f, v, -math.inf)

    def density(self, v) -> np.ndarray:
        """f(v) of the continuous part, v > 0 (its integral is 1 - atom); 0 for v < 0."""
        return np.exp(self.log_density(v))

    def sample(self, size: int, rng: np.random.Generator) -> np.ndarray:
        """``size`` iid draws: i uniform in 1..d, Z ~ N(0, 1), s |eta(m_i + s_i Z; zeta)|.

        (``se_lasso.lasso_se_estimates`` draws one value per coordinate i, a stratified sample of the same
        mixture; it is used for the stratified band of ``compare_spectra``.)
        """
        size = check_count("size", size, 1)
        is_generator = isinstance(rng, np.random.Generator)
        if not is_generator:
            raise ValueError(f"rng must be a numpy Generator (got {type(rng).__name__})")
        i = rng.integers(self.d, size=size)
        y = np.abs(self._m[i] + self._s[i] * rng.standard_normal(size))
        return self.scale * np.maximum(y - self.zeta, 0.0)

    def stratified(self, rng: np.random.Generator) -> np.ndarray:
        """One SE draw per coordinate: |theta_hat_i|, i = 1..d (``se_lasso.lasso_se_estimates``)."""
        return np.abs(lasso_se_estimates(self.d, self.n, self.gamma, self.se, rng, self.teacher))

    def table(self) -> _Table:
        """The node grid used by ``compare_spectra`` (built once): start nodes a uniform grid and the bump centres
        s (m_i - zeta) > 0 of the components."""
        if self._table is None:
            centres = self.scale * (self._m - self.zeta)
            start = np.concatenate([np.linspace(0.0, self.v_top, START_NODES),
                                    centres[(centres > 0) & (centres < self.v_top)]])
            self._table = _Table.build(self.cdf, start)
        return self._table

    def to_dict(self) -> dict:
        return {
            "d": self.d, "n": float(self.n), "lam": float(self.lam), "gamma": float(self.gamma),
            "noise": float(self.noise), "teacher": self.teacher, "tau": self.tau, "zeta": self.zeta,
            "scale": self.scale, "atom": self.atom, "mean": self.mean, "v_top": self.v_top,
            "median": float(self.quantile(0.5)), "se": self.se.to_dict(),
        }


@dataclass(frozen=True)
class _Table:
    """F (exact) at nodes 0 = v_0 < ... < v_K = v_top, and the largest |F - F_lin| seen at the check points.

    Built adaptively from the law's start nodes (for the diagonal law: a uniform grid of START_NODES points and the
    bump centres s (m_i - zeta) > 0 of the components); each interval is checked at its two third-points and split
    there while |F - F_lin| > TABLE_TOL at either. (A single bump of mass 1/d inside an interval moves F
    away from the chord by >= 1/(3d) at one of the third-points, so none is missed for d < 1/(3 TABLE_TOL);
    where F is smooth the third-point deviation is 8/9 of the chord's largest error, so ``error`` reports
    ERROR_FACTOR times the largest accepted deviation: measured against F at 2e4 random points in four
    phases, the true largest error was 1.07-1.13 times that deviation.)
    """

    nodes: np.ndarray
    values: np.ndarray
    error: float

    @staticmethod
    def build(cdf, start: np.ndarray) -> _Table:
        """Refine the sorted unique ``start`` nodes (0 first, the top of the support last) against ``cdf``."""
        nodes = np.unique(start)
        values = cdf(nodes)
        pending = np.ones(nodes.size - 1, dtype=bool)
        error = 0.0
        while np.any(pending) and nodes.size < MAX_NODES:
            left = np.flatnonzero(pending)
            lo, hi = nodes[left], nodes[left + 1]
            thirds = np.concatenate([lo + (hi - lo) / 3.0, lo + 2.0 * (hi - lo) / 3.0])
            exact = cdf(thirds)
            chord = np.concatenate([(2.0 * values[left] + values[left + 1]) / 3.0,
                                    (values[left] + 2.0 * values[left + 1]) / 3.0])
            gap = np.abs(exact - chord).reshape(2, -1).max(axis=0)
            split = gap > TABLE_TOL
            error = max(error, ERROR_FACTOR * float(np.max(gap[~split], initial=0.0)))
            keep = np.concatenate([~split, ~split])
            nodes = np.concatenate([nodes, thirds[~keep]])
            values = np.concatenate([values, exact[~keep]])
            order = np.argsort(nodes, kind="stable")
            new = np.zeros(nodes.size, dtype=bool)
            new[nodes.size - int(np.sum(~keep)):] = True
            nodes, values, new = nodes[order], values[order], new[order]
            pending = new[1:] | new[:-1]  # intervals with a fresh end point are the split ones
        if np.any(pending):  # the node budget ran out: report the error still present
            error = max(error, float(np.max(np.abs(np.diff(values)[pending]))))
        return _Table(nodes, values, error)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """Piecewise-linear F (1 beyond v_top; F(0) is the atom)."""
        return np.interp(x, self.nodes, self.values, right=1.0)


def _distances(x: np.ndarray, fx: np.ndarray, atom: float, table: _Table) -> tuple[float, float]:
    """(KS, W1) of the sorted sample x (F values fx at x) against F.

    KS = max(|k/N - atom|, max_j |C_j/N - F(w_j)|, max_j |C_{j-1}/N - F(w_j)|) over the distinct positive
    values w_j (C_j = #{x <= w_j}, k = #{x = 0}): F is continuous and increasing on v > 0, F_emp a step.
    W1 = int_0^inf |F_emp - F| dv over the merged points (nodes and sample), F linear between them:
    per piece of length h with e0, e1 = F - F_emp at its ends, h |e0 + e1|/2 if they share a sign,
    else h (e0^2 + e1^2) / (2 (|e0| + |e1|)).
    """
    size = x.size
    zeros = int(np.searchsorted(x, 0.0, side="right"))
    w, first = np.unique(x[zeros:], return_index=True)
    fw = fx[zeros:][first]
    counts = np.searchsorted(x, w, side="right")
    before = np.concatenate([[zeros], counts[:-1]])
    ks = abs(zeros / size - atom)
    if w.size:
        ks = max(ks, float(np.max(np.abs(counts / size - fw))), float(np.max(np.abs(before / size - fw))))
    points = np.concatenate([table.nodes, w])
    values = np.concatenate([table.values, fw])
    order = np.argsort(points, kind="stable")
    points, values = points[order], values[order]
    level = np.searchsorted(x, points[:-1], side="right") / size  # F_emp on [points_l, points_l+1)
    e0, e1 = values[:-1] - level, values[1:] - level
    h = np.diff(points)
    same = e0 * e1 >= 0
    with np.errstate(invalid="ignore", divide="ignore"):
        piece = np.where(same, 0.5 * np.abs(e0 + e1), (e0 * e0 + e1 * e1) / (2.0 * (np.abs(e0) + np.abs(e1))))
    w1 = float(np.sum(h * np.where(h > 0, piece, 0.0)))
    return float(ks), w1


@dataclass(frozen=True)
class SpectrumComparison:
    """KS and W1 distances of a measured spectrum to the predicted law, with bootstrap bands.

    ``ks_band`` / ``w1_band``: the LEVEL quantile of the distances of ``bootstrap`` iid samples of the same
    size drawn from the predicted law. ``*_stratified``: the same for stratified samples (one SE draw per
    coordinate, ``se_lasso.lasso_se_estimates``, repeated size/d times; nan if d does not divide the size).
    ``table_error`` bounds |F - F_lin| of the interpolant used in W1 and in the bootstrap's F.
    """

    size: int
    ks: float
    w1: float
    ks_band: float
    w1_band: float
    ks_band_stratified: float
    w1_band_stratified: float
    agree: bool
    atom_predicted: float
    atom_measured: float
    bootstrap: int
    seed: int
    table_error: float

    def to_dict(self) -> dict:
        """Plain Python bools / ints / floats (nan stays a float)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        return {key: v if isinstance(v, (bool, int)) else float(v) for key, v in out.items()}


def _band(draws: list[tuple[float, float]]) -> tuple[float, float]:
    arr = np.array(draws)
    return float(np.quantile(arr[:, 0], LEVEL)), float(np.quantile(arr[:, 1], LEVEL))


def compare_spectra(sample, predicted: SpectrumLaw, *, bootstrap: int = 200, seed: int = 0) -> SpectrumComparison:
    """KS = sup_v |F_emp(v) - F(v)| and W1 = int_0^inf |F_emp - F| dv of ``sample`` (|theta_hat_i| >= 0).

    ``predicted``: any ``SpectrumLaw`` (diagonal ``PredictedSpectrum``, quadratic ``PredictedQuadraticSpectrum``).
    Band: the 95 % quantiles of KS and W1 over ``bootstrap`` iid samples of the same size from the predicted
    law (``predicted.sample``), each measured against F the same way; ``agree`` = both observed distances
    within their band. By construction each distance exceeds its band for 5 % of samples that do follow
    the law (about 5-10 % for ``agree``, the two being positively correlated). The finite-d SE is itself off
    by O(1/sqrt d) in F: the band shrinks as 1/sqrt(size), so pooling many seeds eventually resolves that
    bias and ``agree`` fails. A single solve's d values are one coupled estimate, not iid draws: the
    stratified band (``predicted.stratified``: one finite-d SE draw of all d values) is the tighter reference
    for them, reported alongside.
    Reproducible: the bootstrap draws come from numpy.random.default_rng(seed).
    """
    is_prediction = isinstance(predicted, SpectrumLaw)
    if not is_prediction:
        raise ValueError(f"predicted must be a SpectrumLaw (got {type(predicted).__name__})")
    x = np.asarray(sample, dtype=float)
    if x.ndim != 1 or x.size == 0 or not np.all(np.isfinite(x)) or np.any(x < 0):
        raise ValueError("sample must be a non-empty 1-D array of finite values >= 0")
    bootstrap = check_count("bootstrap", bootstrap, 20)
    seed = check_count("seed", seed, 0)
    table = predicted.table()
    x = np.sort(x)
    ks, w1 = _distances(x, predicted.cdf(x), predicted.atom, table)
    rng = np.random.default_rng(seed)
    iid = []
    for _ in range(bootstrap):
        draw = np.sort(predicted.sample(x.size, rng))
        iid.append(_distances(draw, table.cdf(draw), predicted.atom, table))
    ks_band, w1_band = _band(iid)
    ks_strat = w1_strat = math.nan
    if x.size % predicted.d == 0:
        strat = []
        for _ in range(bootstrap):
            draw = np.concatenate([predicted.stratified(rng) for _ in range(x.size // predicted.d)])
            draw.sort()
            strat.append(_distances(draw, table.cdf(draw), predicted.atom, table))
        ks_strat, w1_strat = _band(strat)
    return SpectrumComparison(
        int(x.size), ks, w1, ks_band, w1_band, ks_strat, w1_strat, bool(ks <= ks_band and w1 <= w1_band),
        predicted.atom, float(np.mean(x == 0)), bootstrap, seed, table.error,
    )


def predicted_spectrum_diagonal(d, n, lam, gamma, noise, *, teacher: str = "signs") -> PredictedSpectrum:
    """The SE's law of |theta_hat_i| (module docstring) at the fixed point of ``lasso_se``."""
    d, n, lam, gamma, noise = check_diagonal_params(d, n, lam, gamma, noise)
    if teacher not in VARIANTS:
        raise ValueError(f"teacher must be one of {', '.join(VARIANTS)} (got {teacher!r})")
    if n == 0:
        raise ValueError("n must be > 0 (n = 0: theta_hat = 0, the spectrum is the atom at 0)")
    se = lasso_se(d, n, lam, gamma, noise, teacher=teacher)
    if not se.converged:
        raise ValueError(f"the LASSO SE did not converge: {se.message}")
    if not se.tau2 > 0:
        raise ValueError("the SE fixed point has tau = 0 (exact recovery): no continuous spectrum to predict")
    return PredictedSpectrum(d, n, lam, gamma, noise, teacher, se)


def measured_spectrum_diagonal(
    d, n, lam, gamma, noise, *, seeds: int = 8, base_seed: int = 0, method: str = "lasso", teacher: str = "signs",
    zero_tol: float | None = None,
) -> list[np.ndarray]:
    """|theta_hat_i| of ``seeds`` LASSO solves or trained networks (theta_hat = a * w), one array per seed.

    Seed k uses the data of ``simulate.simulate_diagonal`` (rng = default_rng(SeedSequence([base_seed, k])),
    then ``sample_problem``, then the network's initialisation). Values <= ``zero_tol`` are set to 0
    (default: 0 for the LASSO, whose zeros are exact; NETWORK_ZERO_TOL for the network). A solve that does
    not converge raises RuntimeError.
    """
    d, n, lam, gamma, noise, seeds, base_seed = check_simulation(d, n, lam, gamma, noise, seeds, base_seed, method, METHODS)
    if teacher not in VARIANTS:
        raise ValueError(f"teacher must be one of {', '.join(VARIANTS)} (got {teacher!r})")
    if zero_tol is None:
        zero_tol = NETWORK_ZERO_TOL if method == "network" else 0.0
    if not (isinstance(zero_tol, (int, float)) and math.isfinite(zero_tol) and zero_tol >= 0):
        raise ValueError(f"zero_tol must be a finite number >= 0 (got {zero_tol!r})")
    spectra = []
    for k, *_, fit in seeded_fits(d, n, lam, gamma, noise, seeds, method, teacher, base_seed):
        if not fit.converged:
            raise RuntimeError(f"seed {k}: {method} solve did not converge ({fit.message})")
        values = np.abs(fit.theta)
        values[values <= zero_tol] = 0.0
        spectra.append(values)
    return spectra
