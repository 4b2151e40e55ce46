"""The exact gradient flow of the He2 student (spec/dynamics.md) at any d, cost independent of d.

dW/dt = 4 W (A - W^T W). With tau = 4t the flow has the closed form W(tau) = S^{-1/2} W0 e^{A tau} (up to a left
rotation, which leaves M = W^T W invariant), S = I_m + 2 W0 K(tau) W0^T, K(tau) = (e^{2 A tau} - I)/(2A), and it is a
semigroup: the same map advances any state by any step h.

State: W_U (m x K), the student on the teacher's head directions j <= K = min(r, head), and a factor F (m x q) of
the complement Gram G = W_perp W_perp^T = F F^T, q = min(m, d - K). The directions K < j <= r (the "tail") are
treated as part of the complement (lam = 0); ``_tail_bound`` bounds the resulting error of R.

Step map over h (in tau), row-wise stable (Householder QR with sorted rows and column pivoting, Cox & Higham 1998):

    Z = [I_m ; sqrt(2h) F^T ; diag(sqrt(2 K_j)) W_U^T],   2 K_j = (e^{2 lam_j h} - 1)/lam_j,   Z^T Z = S_h,
    Z P = Q R,   L = P R^T  (L L^T = S_h),   L^{-1} Z^T = Q^T, so
    W_U' = L^{-1} W_U e^{Lam h} = Q_Y^T diag(sqrt(lam_j / (1 - e^{-2 lam_j h}))),   F' = L^{-1} F = Q_F^T / sqrt(2h),

Q_F, Q_Y the rows of Q of the F and W_U blocks. Each step keeps 2 lam_1 h <= MAX_EXPONENT (e^{2 lam h} finite); longer
intervals are split, so any tau is reachable (at a cost of ~2 lam_1 tau / MAX_EXPONENT steps of O((m + K) m^2)).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import scipy.linalg
from scipy.optimize import brentq
from threadpoolctl import threadpool_limits

from .he2_student import initial_weights, risk_of_blocks
from .he2_teacher import He2Teacher, check_rank, he2_teacher
from .params import check_count, check_dimension, check_positive

# Largest 2 lam_1 h of one step: e^600 ~ 1e260 is finite in float64 (overflow at e^709).
MAX_EXPONENT = 600.0
# Largest relative error bound of R from treating the tail directions as lam = 0 (``_tail_bound``): far below
# every comparison the toolkit makes (ODE check 1e-8, slopes 1e-2), so a certified run is exact for them.
TAIL_TOL = 1e-6
# Above this many entries of W0 (160 MB) the initial state is drawn in factored form (``initial_state``).
DENSE_ENTRIES = 2 * 10**7
# Largest d accepted: float64 resolves the complement scale sigma0^2/d and d - K far beyond it.
MAX_D = 10**30
# Degrees of freedom above which sqrt(chi2_df) is drawn as sqrt(df) + N(0, 1/2): numpy's chi2 sample is a float of
# size df, so its fluctuation sqrt(2 df) is resolved only to ulp(df)/sqrt(2 df) ~ 1.6e-16 sqrt(df) (1.6e-6 of a
# standard deviation at 1e20); the normal approximation's error in law is O(df^-1/2) <= 1e-10 there.
CHI2_NORMAL_DF = 1e20
# Safety factor of the tail estimate (it is an expectation): measured, the unscaled estimate is 1.2-3x the actual
# change of R when head is enlarged (d = 1e12 and 1e24, r = 1e12, m = 10 and 300).
TAIL_SAFETY = 10.0
# Tail directions summed explicitly in the certificate (``_tail_sums``); beyond, monotone bounds (1 ms per time).
TAIL_TERMS = 100_000
# Default and largest number of head coefficients kept explicitly (the tail certificate says when more are
# needed; the risk forms a K x K Gram: 200 MB at the largest).
DEFAULT_HEAD = 1024
MAX_HEAD = 5000
# Learning times: bracketing grid ratio (a transition of direction j lasts ~1/(8 lam_j), a fraction 1/l_j ~ 1/10 of
# t_j, so consecutive grid points bracket it) and the relative accuracy of the root in t.
GRID_RATIO = 1.2
LEARNING_RTOL = 1e-6
# The bracketing grid starts at GRID_START/(8 lam_1): no direction moves by more than e^GRID_START before it.
GRID_START = 0.01


@dataclass(frozen=True)
class FlowResult:
    """R(t), the overlaps M_jj/lam_j (j <= K) and the learning times t_j of the exact flow, at the sorted times."""

    d: int
    r: int
    alpha: float
    width: int
    sigma0: float
    seed: int
    head: int  # K = min(r, head): directions kept explicitly
    times: np.ndarray  # t (sorted)
    risk: np.ndarray  # R(t)
    overlaps: np.ndarray  # len(times) x K: M_jj(t)/lam_j
    learning_times: np.ndarray  # first t with M_jj = lam_j/2, j = 1..J; NaN if not reached by max(times)
    tail_error: float  # max over times of the relative error bound of R from the tail (0 if K = r)
    converged: bool  # tail_error <= TAIL_TOL
    message: str

    def to_dict(self) -> dict:
        """Plain JSON types: arrays become lists, NaN becomes None."""
        return {key: plain_json(value) for key, value in asdict(self).items()}


def plain_json(value):
    """Arrays to lists and non-finite floats to None, recursively (the JSON form of a result field)."""
    if isinstance(value, np.ndarray):
        return [plain_json(v) for v in value.tolist()]
    if isinstance(value, list):
        return [plain_json(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def check_times(times) -> np.ndarray:
    """A non-empty list of finite times t >= 0, returned sorted as a float array."""
    try:
        t = np.asarray(times, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ValueError(f"times must be numbers (got {times!r})") from None
    if t.size == 0 or not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError(f"times must be a non-empty list of finite numbers >= 0 (got {times!r})")
    return np.sort(t)


def check_large_dimension(d) -> int:
    """d: an integer 1 <= d <= MAX_D (a Python int, kept exact, or a float such as 1e24)."""
    d = check_dimension(d)
    if d > MAX_D:
        raise ValueError(f"d must be <= {MAX_D:.0e} (got {d!r})")
    return d


def _two_k(lam: np.ndarray, h: float) -> np.ndarray:
    """2 K_j = (e^{2 lam_j h} - 1)/lam_j = 2h expm1(x)/x, x = 2 lam_j h (-> 2h as lam_j -> 0)."""
    x = 2.0 * lam * h
    return 2.0 * h * np.where(x > 0, np.expm1(x) / np.where(x > 0, x, 1.0), 1.0)


def _growth(lam: np.ndarray, h: float) -> np.ndarray:
    """sqrt(lam_j / (1 - e^{-2 lam_j h})) = 1/sqrt(2h (-expm1(-x))/x), x = 2 lam_j h (-> 1/sqrt(2h) as lam_j -> 0)."""
    x = 2.0 * lam * h
    return 1.0 / np.sqrt(2.0 * h * np.where(x > 0, -np.expm1(-x) / np.where(x > 0, x, 1.0), 1.0))


def _step(w_head: np.ndarray, factor: np.ndarray, lam: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
    """One step of the map in the module docstring (h > 0 in tau, 2 lam_1 h <= MAX_EXPONENT)."""
    m, q = factor.shape
    z = np.vstack([np.eye(m), math.sqrt(2.0 * h) * factor.T, np.sqrt(_two_k(lam, h))[:, None] * w_head.T])
    order = np.argsort(-np.linalg.norm(z, axis=1), kind="stable")
    q_sorted = scipy.linalg.qr(z[order], mode="economic", pivoting=True)[0]
    q_full = np.empty_like(q_sorted)
    q_full[order] = q_sorted
    new_factor = q_full[m:m + q].T / math.sqrt(2.0 * h)
    new_head = q_full[m + q:].T * _growth(lam, h)
    return new_head, new_factor


def advance(w_head: np.ndarray, factor: np.ndarray, lam: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
    """The state after a step h >= 0 in tau, split into ceil(2 lam_1 h / MAX_EXPONENT) equal exact steps."""
    if h <= 0:
        return w_head, factor
    top = float(lam.max()) if lam.size else 0.0
    pieces = max(1, math.ceil(2.0 * top * h / MAX_EXPONENT))
    for _ in range(pieces):
        w_head, factor = _step(w_head, factor, lam, h / pieces)
    return w_head, factor


def _sqrt_chi2(rng: np.random.Generator, df: np.ndarray) -> np.ndarray:
    """sqrt of chi2 samples with df degrees of freedom (normal approximation above CHI2_NORMAL_DF)."""
    if df.max() <= CHI2_NORMAL_DF:
        return np.sqrt(rng.chisquare(df))
    return np.sqrt(df) + rng.standard_normal(df.size) * math.sqrt(0.5)


def initial_state(d: int, width: int, head: int, sigma0: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(W_U, F) of W0 with iid N(0, sigma0^2/d) entries, K = ``head`` teacher columns.

    d m <= DENSE_ENTRIES: the dense W0 = ``initial_weights(d, m, sigma0, seed)`` (the W0 of ``flow_ode`` and SGD),
    W_U = W0[:, :K], F = R^T from W0[:, K:]^T = Q R. Above: W_U iid N(0, sigma0^2/d) from default_rng([seed, 0]),
    drawn column by column (the same first columns for every K), and F = (sigma0/sqrt(d)) L from default_rng([seed,
    1]), L the Bartlett factor of a Wishart_m(d - K, I) (lower triangular, L_ii = sqrt(chi2_{d-K-i+1}), N(0, 1) below
    the diagonal), or the dense m x (d - K) complement if d - K <= m. The two draws have the same law but different
    random streams. Runs differing only in K then start from nearly the same W0 (F's law changes by O(K/d)), so
    enlarging ``head`` checks the tail certificate directly."""
    m, k = width, head
    if d * m <= DENSE_ENTRIES:
        w0 = initial_weights(d, m, sigma0, seed)
        if d == k:
            return w0, np.zeros((m, 0))
        return w0[:, :k].copy(), np.linalg.qr(w0[:, k:].T, mode="r").T
    scale = sigma0 / math.sqrt(d)
    w_head = np.random.default_rng([seed, 0]).standard_normal((k, m)).T * scale
    rng = np.random.default_rng([seed, 1])
    if d - k <= m:
        return w_head, rng.standard_normal((m, d - k)) * scale
    bartlett = np.tril(rng.standard_normal((m, m)), -1)
    bartlett[np.diag_indices(m)] = _sqrt_chi2(rng, float(d - k) - np.arange(m, dtype=float))
    return w_head, bartlett * scale


def _tail_sums(teacher: He2Teacher, tau: float) -> tuple[float, float, float]:
    """Over the tail j > K, with x_j = 2 lam_j tau: (sum lam_j e^{x_j}, sum (e^{x_j} - 1 - x_j)/lam_j, sum expm1(x_j)).

    Explicit for K < j <= K + TAIL_TERMS; beyond, x_j <= x0 (the next term's) and each summand is at most lam_j times
    e^{x0}, 4 tau^2 (e^{x0} - 1 - x0)/x0^2, 2 tau expm1(x0)/x0 (increasing functions of x), with sum_j lam_j from
    Tr A. inf once an exponential overflows (no certificate)."""
    k = teacher.head.size
    lam = teacher.coefficients(k + 1, k + TAIL_TERMS)
    x = 2.0 * lam * tau
    with np.errstate(over="ignore"):
        sums = np.array([np.sum(lam * np.exp(x)), np.sum(_excess(x) * x / lam * x), np.sum(np.expm1(x))])
        if k + TAIL_TERMS < teacher.r:
            rest = max(teacher.trace - float(np.sum(teacher.head)) - float(np.sum(lam)), 0.0)
            x0 = 2.0 * float(teacher.coefficients(k + TAIL_TERMS + 1, k + TAIL_TERMS + 1)[0]) * tau
            x0 = max(x0, 1e-300)
            sums += rest * np.array([np.exp(x0), 4.0 * tau**2 * _excess(np.array([x0]))[0],
                                     2.0 * tau * np.expm1(x0) / x0])
    return float(sums[0]), float(sums[1]), float(sums[2])


def _excess(x: np.ndarray) -> np.ndarray:
    """(e^x - 1 - x)/x^2 (-> 1/2 as x -> 0; series x/6 + 1/2 below 1e-4, error x^2/24)."""
    small = x < 1e-4
    safe = np.where(small, 1.0, x)
    return np.where(small, 0.5 + x / 6.0, (np.expm1(safe) - safe) / safe**2)


def _tail_bound(w_head, factor, teacher: He2Teacher, d: int, tau: float, risk: float) -> float:
    """Estimated bound on |R_true - R|/R from treating the directions K < j <= r as lam = 0, at tau.

    A true tail column is e^{lam_j tau} times its lam = 0 column, and S gains sum_{j>K} 2 (K_j - tau) w_j w_j^T. By
    the rotation invariance of the complement each tail column carries 1/(d - K) of every complement quadratic form
    (an estimate in expectation, not a worst case). With the sums of ``_tail_sums`` (E1, Phi, E) and the current
    state, all terms O(m^3):
    (1) the cross term 2 sum_{j>K} lam_j M_jj ~ 2 g E1, g = Tr G/(d - K) the mean complement diagonal;
    (2) the change of S: X = L^{-1} dS L^{-T} ~ Phi G/(d - K), so dM = -W^T X (I + X)^{-1} W, ||dM||_F <= ||X|| ||M||_F
        and |dR| <= 2 ||X|| ||B||_* + (||X|| ||M||_F)^2 with B = W (M - A) W^T = (W W^T)^2 - W_U Lam W_U^T;
    (3) the growth of the tail entries of M (no A there): 2 E (||F^T W_U||^2 + ||F^T F||^2)/(d - K) +
        E^2 ||F^T F||^2/(d - K)^2.
    (Bounding every tail lam_j by lam_{K+1}, as first planned, overstates (2) by up to 10^10 when r >> K.)
    Multiplied by TAIL_SAFETY for the sample's deviation from the expectation."""
    k = teacher.head.size
    if k == teacher.r:
        return 0.0
    first_sum, phi, grow = _tail_sums(teacher, tau)
    rest = d - k
    gram_head, cross_block, gram = w_head.T @ w_head, factor.T @ w_head, factor.T @ factor
    cross, perp = float(np.sum(cross_block**2)), float(np.sum(gram**2))
    norm_m = math.sqrt(np.sum(gram_head**2) + 2.0 * cross + perp)
    outer = w_head @ w_head.T + factor @ factor.T  # W W^T
    b = outer @ outer - (w_head * teacher.head) @ w_head.T
    nuclear = float(np.sum(np.abs(np.linalg.eigvalsh(b))))
    x_norm = phi * (float(np.linalg.eigvalsh(gram)[-1]) if gram.size else 0.0) / rest
    first = 2.0 * float(np.trace(gram)) / rest * first_sum
    second = 2.0 * x_norm * nuclear + (x_norm * norm_m) ** 2
    third = 2.0 * grow * (cross + perp) / rest + (grow / rest) ** 2 * perp
    bound = TAIL_SAFETY * (first + second + third) / risk
    return bound if math.isfinite(bound) else math.inf


def gradient_flow(d, r, alpha, width, times, *, sigma0=1.0, seed=0, head=None, learning_times=0) -> FlowResult:
    """Exact gradient flow dW/dt = 4 W (A - W^T W) from W0 iid N(0, sigma0^2/d) (module docstring), at ``times``.

    ``head``: teacher directions kept explicitly (default min(r, DEFAULT_HEAD)); the rest are certified by
    ``_tail_bound`` (converged = False if the bound exceeds TAIL_TOL). ``learning_times``: J, measure t_j (first t
    with M_jj = lam_j/2) for j = 1..J, only up to max(times) (NaN beyond); None means min(K, m, 32)."""
    d = check_large_dimension(d)
    r = check_rank(r, d)
    m = check_count("width", width, 1)
    sigma0 = check_positive("sigma0", sigma0)
    seed = check_count("seed", seed, 0)
    k = min(r, DEFAULT_HEAD if head is None else check_count("head", head, 1))
    if k > MAX_HEAD:
        raise ValueError(f"head must be <= {MAX_HEAD} (the K x K Gram of the risk; got {head!r})")
    teacher = he2_teacher(r, alpha, head=k)
    times = check_times(times)
    n_learn = min(k, m, 32) if learning_times is None else check_count("learning_times", learning_times, 0)
    if n_learn > min(k, m):
        raise ValueError(f"learning_times must be <= min(head, width) = {min(k, m)} (got {learning_times!r})")
    lam = teacher.head
    w_head, factor = initial_state(d, m, k, sigma0, seed)

    t_max = float(times[-1])
    grid = np.zeros(0)
    if n_learn and t_max > 0:
        t_first = GRID_START / (8.0 * lam[0])
        count = max(0, math.ceil(math.log(t_max / t_first) / math.log(GRID_RATIO))) if t_max > t_first else 0
        grid = t_max * GRID_RATIO ** -np.arange(count, 0, -1, dtype=float)
    points = np.union1d(times, grid)
    requested = np.isin(points, times)

    with threadpool_limits(limits=1, user_api="blas"):  # small QRs: one thread is 3x faster than two on 2 cores
        risk, overlaps, bounds, learned = _run(points, requested, w_head, factor, teacher, d, n_learn)
    risk = np.array([risk[i] for i in np.searchsorted(points[requested], times)])
    overlaps = np.array([overlaps[i] for i in np.searchsorted(points[requested], times)])
    tail_error = max(bounds)
    converged = tail_error <= TAIL_TOL
    notes = [f"tail certificate {tail_error:.1e} {'<=' if converged else '>'} {TAIL_TOL:g}"]
    if not converged:
        notes.append(f"not converged: enlarge head (K = {k} of r = {r}) or shorten the times")
    missing = np.flatnonzero(np.isnan(learned))
    if missing.size:
        notes.append(f"t_j not reached by t = {t_max:g} for j >= {missing[0] + 1} (measured up to max(times) only)")
    return FlowResult(d=d, r=r, alpha=teacher.alpha, width=m, sigma0=sigma0, seed=seed, head=k, times=times,
                      risk=risk, overlaps=overlaps, learning_times=learned, tail_error=tail_error,
                      converged=converged, message="; ".join(notes))


def _run(points, requested, w_head, factor, teacher: He2Teacher, d: int, n_learn: int):
    """Advance through ``points``; at the requested ones record R, the overlaps and the tail bound; locate t_j."""
    lam = teacher.head
    risk, overlaps, bounds = [], [], []
    learned = np.full(n_learn, np.nan)
    ratio = np.sum(w_head[:, :n_learn] ** 2, axis=0) / lam[:n_learn]
    learned[ratio >= 0.5] = 0.0
    t_now = 0.0
    for t, keep in zip(points, requested):
        pending = np.flatnonzero(np.isnan(learned))
        if not keep and pending.size == 0:
            continue
        new_head, new_factor = advance(w_head, factor, lam, 4.0 * (t - t_now))
        ratio = np.sum(new_head[:, :n_learn] ** 2, axis=0) / lam[:n_learn]
        for j in pending[ratio[pending] >= 0.5]:
            learned[j] = _crossing(w_head, factor, lam, j, t_now, t)
        w_head, factor, t_now = new_head, new_factor, t
        if keep:
            value = risk_of_blocks(w_head, factor, lam, teacher.tail_square_sum)
            risk.append(value)
            overlaps.append(np.sum(w_head**2, axis=0) / lam)
            bounds.append(_tail_bound(w_head, factor, teacher, d, 4.0 * t, value))
    return risk, overlaps, bounds, learned


def _crossing(w_head, factor, lam, j: int, t_start: float, t_end: float) -> float:
    """The t in (t_start, t_end] where M_jj = lam_j/2 (brentq to LEARNING_RTOL), advancing from the state at t_start."""

    def excess(t: float) -> float:
        w = advance(w_head, factor, lam, 4.0 * (t - t_start))[0]
        return float(np.sum(w[:, j] ** 2)) / lam[j] - 0.5

    return brentq(excess, t_start, t_end, xtol=1e-3 * LEARNING_RTOL * t_end, rtol=LEARNING_RTOL)


def width_floor(r, alpha, width) -> float:
    """R(t -> inf) of a student of width m < r: sum_{j>m} lam_j^2 (the best rank-m approximation of A; 0 if m >= r)."""
    r, m = check_count("r", r, 1), check_count("width", width, 1)
    return he2_teacher(r, alpha, head=1).square_sum_beyond(m)

