"""Finite-d state evolution of the quadratic network: nuclear-norm (trace) regularised PSD matrix sensing
(spec/quadratic.md, "State evolution (finite d)").

Closed variables, alpha = n/d^2, teacher eigenvalues s_k with sum_k s_k^2 = d, R = m = ||S_hat - S*||_F^2/d:

    Y = S* + sqrt(sigma^2) W,  W GOE with semicircle on [-2, 2],      sigma^2 = (Delta + 2 m)/(4 alpha)
    S_hat = f(Y),  f(x) = (x - zeta)_+ on the eigenvalues of Y
    lam/(2 d alpha) = zeta (1 - E[div]/n),  E[div]/d^2 = P/(2d) + J/2,  P = int_{x > zeta} rho_Y,
        J = double integral of (f(x) - f(y))/(x - y) rho_Y(x) rho_Y(y),  J/2 = int f(x) Re g(x) rho_Y(x) dx
    m = E (1/d)||f(Y) - S*||_F^2

(J/2 = int f Re g rho because the principal-value Hilbert transform of rho_Y is Re g.)

method="deterministic": rho_Y, Re g and the overlaps by free probability (numeric.free_probability), with
    m = int rho_Y(x) sum_k w_k(x) (f(x) - s_k)^2 dx,   w_k = sigma^2 (1/d)/((u - s_k)^2 + t)
an integral of non-negative terms (accurate when R << 1). Teacher eigenvalues closer together than the noise are
merged (free_probability.merge_atoms, at the power of two just below sigma^2, so that the merged spectrum is
valid at sigma^2 and piecewise constant in it); above TEACHER_ARRAY_MAX_D the merged power-law spectrum is built
from the index range of each group without ever listing the d eigenvalues. Isolated teacher eigenvalues (their own
support components) are point eigenvalues with exact residue contributions (spikes="limit", free_probability section
'residues'); spikes="exact" integrates their bumps instead (same R to ~1e-15, slower).
method="montecarlo": S* = diag(s) (rotation invariance), B GOE samples W_b (W_ij ~ N(0, 1/d), W_ii ~ N(0, 2/d)),
the same for every trial sigma^2 and zeta (common random numbers), exact eigendecompositions, and on each sample
    m_b = (1/d) sum_{i,k} (f(mu_i) - s_k)^2 U_ki^2,
    div_b = #{mu_i > zeta} + (1/2) sum_{i != j} (f(mu_i) - f(mu_j))/(mu_i - mu_j).
Its standard error is the delta method on the per-sample influence of (m_b, div_b) on the fixed point.

Both solve the fixed point in log sigma^2 (bracket, then inverse interpolation) on G = log(4 alpha sigma^2/(Delta + 2 m)), which
has the root and signs of F = 1 - (Delta + 2 m)/(4 alpha sigma^2) (m evaluated at the calibrated zeta), and calibrate
zeta for each trial sigma^2: by brentq on [0, top] for the first, then warm-started from the zetas already found.
lam = 0: zeta = 0 if E[div](0) < n, else the interpolation threshold E[div](zeta) = n. lam -> infinity: zeta beyond
the spectrum, S_hat = 0, R = 1.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from threadpoolctl import threadpool_limits

from .free_probability import (
    MERGE_TOLERANCE,
    SPIKES,
    free_convolution_semicircle,
    gauss_pairs,
    merge_atoms,
    weighted_atoms,
)
from .finite_size import GOECorrected
from .params import check_dimension, check_gamma, check_nonnegative, check_rank
from .se_lasso import RootFindingError, plain_dict
from .teachers import quadratic_teacher_spectrum, teacher_scale

METHODS = ("deterministic", "montecarlo")
# Gauss nodes per quadrature piece of the deterministic method. Measured against 64 nodes (d = 1e4 and 1e6,
# gamma 0.75 and 1.5, sigma^2 = 0.01, 1, 100): P, J and m agree within 5e-11 relative with 24 nodes.
SE_NODES = 24
# Converged: both relative residuals (the fixed point and the calibration) below this, and the quadrature mass
# check (free_probability.FreeConvolution.mass_error) below QUADRATURE_TOL. brentq locates log sigma^2 to 1e-12 and
# zeta to ~1e-15 and the quadrature is accurate to ~1e-11, but the merged spectrum is rebuilt at each power of two of
# sigma^2, where m may jump by the merging error (<= 5e-10 relative, free_probability.MERGE_TOLERANCE): a root at
# such a jump leaves a residual of that size.
RESIDUAL_TOL = 1e-8
QUADRATURE_TOL = 1e-9
# Monte Carlo: converged means the residuals are below this (the equations are solved for the sample averages,
# exactly up to brentq's 1e-14; the statistical error is reported separately as excess_risk_err).
MC_RESIDUAL_TOL = 1e-9
# The deterministic method refuses a sigma^2 at which more teacher eigenvalues than this stay resolved (neither merged
# nor isolated: small noise at large d, e.g. Delta = 0 at d = 1e6): memory grows by ~_BYTES_PER_ATOM per resolved
# eigenvalue (measured: 1.5 GB peak for 29465 at d = 1e5, 45 s; 390000 at d = 1e6 were killed at 24 GB), so the SE
# returns converged = False with this reason instead of exhausting the machine.
MAX_RESOLVED_ATOMS = 100_000
_BYTES_PER_ATOM = 5e4
# Above this d the power-law spectrum is merged from index ranges (listing d floats would cost d * 8 bytes).
TEACHER_ARRAY_MAX_D = 10**7
# Analytic groups with more members than this get their moments from Gauss-Legendre in k plus the first
# Euler-Maclaurin correction (the next term is ~ F'''/720 per end: below 1e-16 relative for such groups).
_ENUMERATE_MAX = 4096
# Monte Carlo: GOE samples are generated and diagonalised in batches of at most this many matrix entries (memory).
_MC_BATCH_FLOATS = 4_000_000
# Gauss-Legendre nodes per sub-range (ratio <= 2 in k) of an analytic group's moment sums (_index_sum): the integrand
# k (s(k) - centre)^j is analytic there; measured against 64 nodes (gamma 0.6-3, groups from 5e3 to 1e8, j = 1-3):
# <= 2.5e-15 relative.
_GROUP_NODES = 16


class ResourceLimit(ArithmeticError):
    """The deterministic SE would need more resolved teacher eigenvalues than MAX_RESOLVED_ATOMS."""


@dataclass(frozen=True)
class MatrixSEResult:
    """Fixed point of the quadratic-network SE.

    excess_risk: R = m; sigma2: the effective noise; zeta: the threshold; active_fraction: P = int_{x > zeta} rho_Y
    (the expected fraction of eigenvalues of S_hat that are positive); residual: the largest relative residual of the
    two equations; converged: residual (and, deterministic, the quadrature check) below the stated tolerance, else
    message says why; iterations: evaluations of the fixed-point equation; excess_risk_err: Monte-Carlo standard
    error of R (nan for the deterministic method); quadrature_error: the deterministic quadrature's relative mass
    error (nan for Monte Carlo); samples: GOE samples (0 for the deterministic method); recovered: Delta = 0 and
    sigma^2 -> 0 (exact recovery): R -> 0, and the numbers reported are those at the search floor, not a fixed point.
    """

    excess_risk: float
    sigma2: float
    zeta: float
    active_fraction: float
    converged: bool
    iterations: int
    residual: float
    method: str
    message: str
    excess_risk_err: float = math.nan
    quadrature_error: float = math.nan
    samples: int = 0
    recovered: bool = False

    def to_dict(self) -> dict:
        return plain_dict(self)


# Deterministic vs Monte-Carlo SE (the criterion): agreement within 1e-3 relative or the Monte-Carlo error
# bar, whichever is larger; MC_SIGMAS = 3 error bars so that an honest error bar passes 99.7 % of the time.
MC_REL, MC_SIGMAS = 1e-3, 3.0


def montecarlo_tolerance(mc: MatrixSEResult) -> float:
    """max(MC_REL R_MC, MC_SIGMAS s.e.(R_MC)): how far a deterministic SE may sit from the Monte-Carlo SE ``mc``."""
    return max(MC_REL * mc.excess_risk, MC_SIGMAS * mc.excess_risk_err)


def quadratic_se(d, n, lam, gamma, noise, *, rank=None, method: str = "deterministic", samples: int = 200,
                 seed: int = 0, nodes: int = SE_NODES, merge: float = MERGE_TOLERANCE,
                 spikes: str = "limit", rtol: float | None = None, finite_d: bool = False) -> MatrixSEResult:
    """Solve the SE (module docstring) for the power-law teacher s_k = c k^-gamma (zero beyond ``rank``).

    ``samples``/``seed``: GOE samples of the Monte-Carlo method (reproducible from the seed). ``nodes``/``merge``:
    quadrature nodes per piece and merging tolerance of the deterministic method. ``spikes``: "limit" (default) keeps
    every isolated teacher eigenvalue as a point eigenvalue of Y with its exact residue contributions
    (free_probability, section 'residues': no approximation, no quadrature of its bump); "exact" integrates the bumps.
    ``rtol``: None (default) solves to the tight tolerances (~1e-12 in sigma^2); a value in [_LOG_XTOL, 1) solves
    log sigma^2 to that (faster, e.g. 1e-6; residuals up to rtol then count as converged), see ``_solve``.
    ``finite_d``: add the O(1/d) correction of the real (beta = 1) GOE to P, J/2 and m (numeric.finite_size), so that
    the deterministic SE is the finite-d GOE average up to O(1/d^2) (the Monte-Carlo SE is that average, sampled).
    """
    d = check_dimension(d)
    n, lam = check_nonnegative("n", n), check_nonnegative("lam", lam)
    rank = check_rank(rank, d)
    gamma, noise = check_gamma(gamma, rank), check_nonnegative("noise", noise)
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)} (got {method!r})")
    if spikes not in SPIKES:
        raise ValueError(f"spikes must be one of {', '.join(SPIKES)} (got {spikes!r})")
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 2:
        raise ValueError(f"samples must be an integer >= 2 (got {samples!r})")
    if rtol is not None and not (isinstance(rtol, (int, float)) and _LOG_XTOL <= rtol < 1.0):
        raise ValueError(f"rtol must be None or a number in [{_LOG_XTOL:g}, 1) (got {rtol!r})")
    if finite_d and (method != "deterministic" or spikes != "limit"):
        raise ValueError("finite_d corrects the deterministic method with spikes='limit' (Monte Carlo is exact at finite d)")
    if n == 0:
        return MatrixSEResult(1.0, math.inf, math.nan, 0.0, True, 0, 0.0, method, "n = 0: S_hat = 0, R = 1",
                              0.0 if method == "montecarlo" else math.nan, math.nan, 0)
    alpha = n / d**2
    if method == "deterministic":
        model = _Deterministic(d, gamma, rank, nodes, merge, spikes)
        if finite_d:
            model = GOECorrected(model, d)
    else:
        model = _MonteCarlo(quadratic_teacher_spectrum(d, gamma, rank), int(samples), seed)
    return _solve(model, d, n, alpha, lam, noise, method, rtol=rtol)


# ---------------------------------------------------------------------------------------------- the solver


def calibrate(divergence, top: float, d: int, n: float, lam: float, *, hint: float | None = None,
              step: float = 0.0, rtol: float | None = None) -> float:
    """The threshold zeta >= 0 solving zeta (1 - D(zeta)) = lam/(2 d alpha), D = E[div]/n = (P/(2d) + J/2)/alpha.

    ``divergence(zeta)`` -> (P, J/2); ``top`` >= the top of the spectrum (P = J = 0 beyond it). lam = 0: zeta = 0
    if D(0) < 1, else the interpolation threshold D(zeta) = 1. zeta (1 - D) - c is < 0 at 0 and > 0 at the top and
    increases wherever D < 1 (D decreases in zeta), so the root is unique.

    Without ``hint`` brentq searches [0, top]. A ``hint`` in (0, top) (e.g. the zeta of a nearby sigma^2) warm-starts
    it: from hint, steps of ``step`` x hint (at least _MIN_STEP) towards the root, growing by _WIDEN, until the sign
    changes (clamped to [0, top], where the sign is known), then ``_root`` on that bracket. The root is unique,
    so it is the same root, found in fewer evaluations. ``rtol``: relative tolerance on zeta (default _ZETA_RTOL for
    brentq, _WARM_RTOL for the warm start).
    """
    alpha = n / d**2
    c = lam / (2 * d * alpha)
    rtol = _ZETA_RTOL if rtol is None else rtol

    def D(z):
        P, half_j = divergence(z)
        return (P / (2 * d) + half_j) / alpha

    if c >= top:  # beyond the spectrum: P = J = 0 and zeta = c
        return c
    if c == 0:
        g = lambda z: 1.0 - D(z)  # noqa: E731
    else:
        g = lambda z: z * (1.0 - D(z)) - c  # noqa: E731
    values = {}

    def known(z):  # the root finders re-evaluate the bracket ends: reuse them
        if z not in values:
            values[z] = g(z)
        return values[z]

    if hint is None or not 0.0 < hint < top:
        if c == 0 and known(0.0) > 0.0:  # D(0) < 1
            return 0.0
        return brentq(known, 0.0, top, xtol=1e-300, rtol=rtol)
    a, h = hint, max(step, _MIN_STEP) * hint
    up = known(a) < 0.0
    if known(a) == 0.0:
        return a
    for _ in range(_MAX_STEPS):
        b = min(a + h, top) if up else max(a - h, 0.0)
        if (known(b) >= 0.0) if up else (known(b) <= 0.0):
            break
        if b == 0.0:  # lam = 0 and 1 - D(0) > 0: no interpolation threshold, zeta = 0 (as without hint)
            return 0.0
        a, h = b, h * _WIDEN
    else:
        raise RootFindingError(f"zeta: no sign change within {_MAX_STEPS} steps from the hint {hint:.6g}")
    if known(b) == 0.0:
        return b
    lo, hi = min(a, b), max(a, b)
    return _root(known, lo, hi, max(rtol, _WARM_RTOL) * hi, "zeta")


# brentq in zeta to 4 machine epsilons (its smallest allowed rtol)
_ZETA_RTOL = 4.0 * np.finfo(float).eps
# Warm start: smallest first step (relative to the hint; far above rounding noise of D, ~1e-16) and the growth factor
# of the steps (the sign change is found within log(distance/first step)/log(_WIDEN) steps).
_MIN_STEP = 1e-13
_WIDEN = 8.0
# Warm start: _root stops when its predicted correction to zeta is below this (relative; the correction is itself
# estimated from D, whose rounding noise, ~1e-16, must stay well below it). R moves by ~1e-14 relative at most.
_WARM_RTOL = 1e-14


def _solve(model, d, n, alpha, lam, noise, method, *, rtol: float | None = None,
           warm_start: bool = True) -> MatrixSEResult:
    """The fixed point G = 0 (module docstring; ``_bracket``, then ``_root``), each trial sigma^2 calibrated by
    ``calibrate``; converged means the residuals |F| and the calibration's are below the tolerance (unchanged checks).

    ``rtol``: None solves tightly (log sigma^2 to _LOG_XTOL, zeta to _ZETA_RTOL or _WARM_RTOL, residuals below
    RESIDUAL_TOL); a value solves log sigma^2 to rtol, zeta to rtol x _ZETA_SHARE and accepts residuals up to
    max(rtol, the tight tolerance). ``warm_start``: start each calibration from the zetas of the sigma^2 already
    evaluated (``_zeta_hint``; the first from zeta >= c); False calibrates every sigma^2 from scratch on [0, top] (same
    roots, more evaluations).
    """
    history, memos = {}, {}
    c = lam / (2 * d * alpha)
    log_xtol = _LOG_XTOL if rtol is None else rtol
    zeta_rtol = None if rtol is None else rtol * _ZETA_SHARE

    def state(log_s2: float):
        if log_s2 not in history:
            point = model.at(math.exp(log_s2))
            memos[log_s2] = divergence = functools.cache(point.divergence)  # the last zeta is asked for again
            hint, step = _zeta_hint(history, log_s2) if warm_start else (None, 0.0)
            if warm_start and hint is None and c > 0:  # zeta (1 - D) = c with 0 <= D < 1: zeta >= c
                hint, step = c, _HINT_FIRST
            zeta = calibrate(divergence, point.top, d, n, lam, hint=hint, step=step, rtol=zeta_rtol)
            history[log_s2] = (point, zeta, point.error(zeta))
        return history[log_s2]

    def F(log_s2: float) -> float:  # 1 - (Delta + 2 m)/(4 alpha sigma^2): < 0 below the root, > 0 above
        _, _, m = state(log_s2)
        return 1.0 - (noise + 2.0 * m) / (4.0 * alpha * math.exp(log_s2))

    def G(log_s2: float) -> float:  # -log(1 - F) = log(4 alpha sigma^2/(Delta + 2 m)): the root and signs of F
        _, _, m = state(log_s2)
        return log_s2 + math.log(4.0 * alpha) - math.log(max(noise + 2.0 * m, _TINY))

    guess = (noise + 2.0) / (4.0 * alpha)  # m = 1 (S_hat = 0)
    # m >= 0 puts the root above Delta/(4 alpha). With Delta = 0 the search stops at RECOVERY_RATIO x guess: F > 0
    # there means 2 m(sigma^2) < 4 alpha sigma^2 already at that tiny noise, i.e. sigma^2 -> 0 and R -> 0.
    floor = math.log(noise / (4.0 * alpha)) if noise > 0 else math.log(guess * RECOVERY_RATIO)
    # Delta > 0: the search starts from the floor (m = 0), closer to the root than the guess in log sigma^2 when
    # R < (sqrt(Delta (Delta + 2)) - Delta)/2 (0.25 at Delta = 0.25). Measured on the 36 Delta = 0.25 cases of the
    # d = 30, 100 test grid against starting from the guess: 1 to 2 evaluations fewer on 23, as many on 10, one more
    # on 3 (R = 1: lam beyond the spectrum).
    start = floor if noise > 0 else math.log(guess)
    try:
        lo, hi = _bracket(G, start, floor)
        # lo == hi: G = 0 at a bracketing point
        log_s2 = lo if lo == hi else _root(G, lo, hi, log_xtol, "sigma^2", max(log_xtol, model.g_tol))
    except RootFindingError as exc:
        if noise == 0 and floor in history and F(floor) >= 0:
            point, zeta, m = history[floor]
            return MatrixSEResult(float(m), math.exp(floor), float(zeta), float(point.divergence(zeta)[0]), True,
                                  len(history), 0.0, method, f"noiseless recovery: F >= 0 down to sigma^2 = "
                                  f"{math.exp(floor):.3g}, so sigma^2 -> 0 and R -> 0 (R reported at that sigma^2)",
                                  0.0 if method == "montecarlo" else math.nan, point.quadrature_error, model.samples,
                                  recovered=True)
        return MatrixSEResult(math.nan, math.nan, math.nan, math.nan, False, len(history), math.nan, method,
                              f"no fixed point: {exc}", math.nan, math.nan, model.samples)
    except ResourceLimit as exc:
        return MatrixSEResult(math.nan, math.nan, math.nan, math.nan, False, len(history), math.nan, method,
                              str(exc), math.nan, math.nan, model.samples)
    except ArithmeticError as exc:
        return MatrixSEResult(math.nan, math.nan, math.nan, math.nan, False, len(history), math.nan, method,
                              f"no fixed point: {exc}", math.nan, math.nan, model.samples)
    sigma2 = math.exp(log_s2)
    point, zeta, m = state(log_s2)
    P, half_j = memos[log_s2](zeta)
    D = (P / (2 * d) + half_j) / alpha
    calibration = abs(zeta * (1.0 - D) - c) / max(zeta, c) if max(zeta, c) > 0 else max(D - 1.0, 0.0)
    fixed_point = abs(F(log_s2))
    residual = max(fixed_point, calibration)
    tol = RESIDUAL_TOL if method == "deterministic" else MC_RESIDUAL_TOL
    tol = tol if rtol is None else max(tol, rtol)
    quad = point.quadrature_error
    ok = residual <= tol and not (quad > QUADRATURE_TOL)
    message = "converged" if ok else (f"residual {residual:.3g} above {tol:.3g}" if residual > tol
                                      else f"quadrature error {quad:.3g} above {QUADRATURE_TOL:.3g}")
    err = model.standard_error(history, log_s2, d, n, alpha, lam) if method == "montecarlo" else math.nan
    return MatrixSEResult(float(m), float(sigma2), float(zeta), float(P), bool(ok), len(history), float(residual),
                          method, message, float(err), float(quad), model.samples)


def _zeta_hint(history, log_s2: float) -> tuple[float | None, float]:
    """(hint, step) for ``calibrate`` at log_s2: the zeta of the evaluated log sigma^2 nearest to it (None if there is
    none or its zeta is 0), moved along log zeta linear in log sigma^2 through the second nearest; step: the size of
    that move (the extrapolation's error is smaller, so the first bracket usually holds the root)."""
    known = sorted((k for k in history if history[k][1] > 0.0), key=lambda k: abs(k - log_s2))[:2]
    if not known:
        return None, 0.0
    zeta = history[known[0]][1]
    if len(known) < 2:
        return zeta, _HINT_SLOPE * abs(log_s2 - known[0])
    slope = math.log(zeta / history[known[1]][1]) / (known[0] - known[1])
    move = slope * (log_s2 - known[0])
    return zeta * math.exp(move), _HINT_SHARE * abs(move)


# Warm start with one evaluated neighbour: zeta ~ the noise scale sigma moves by at most ~ half the change of
# log sigma^2 (the evaluations hardly depend on this value: 0.1, 0.2 and 0.5 within 1% over the d = 30, 100 test grid).
_HINT_SLOPE = 0.5
# No neighbour yet and lam > 0: the search starts at the lower bound zeta = c, first step _HINT_FIRST x c.
_HINT_FIRST = 0.5
# With two: the linear extrapolation in log zeta misses by a fraction of its move (curvature): measured <~15% (d = 400),
# and the number of evaluations hardly depends on this value (0.05 or 0.25: within 2% over the d = 30 test grid).
_HINT_SHARE = 0.25
# rtol given: zeta is solved this much tighter than log sigma^2, so that its error does not limit the outer solve.
_ZETA_SHARE = 1e-3


def _bracket(G, x0: float, floor: float) -> tuple[float, float]:
    """(lo, hi) in log sigma^2 with G(lo) <= 0 <= G(hi), G = log(4 alpha sigma^2/(Delta + 2 m)); G(floor) <= 0 is
    expected (else RootFindingError).

    Below the root G < 0, above it G > 0; G is nearly linear in log sigma^2 where Delta + 2 m is a power of sigma^2.
    From x0 the steps go towards the root: first the fixed-point step sigma^2 -> (Delta + 2 m)/(4 alpha), i.e.
    x -> x - G (from above an upper bound of the root, from below a lower bound, when m increases with sigma^2), then
    secant steps overshooting by _OVERSHOOT, each at most _STEP_GROWTH times the previous one (far from the root G
    need not be linear: a long extrapolation can land at a tiny sigma^2, where the merged spectrum keeps all d
    eigenvalues and one evaluation takes minutes at d = 1e6); a step that does not go the right way becomes a
    doubling step. Steps down stop at the floor; G < 0 all the way up means m grows faster than sigma^2 (no fixed
    point: the risk diverges).
    """
    gx = G(x0)
    if gx == 0.0:
        return x0, x0
    up = gx < 0.0
    cur, prev, step = (x0, gx), None, math.log(2.0)
    for _ in range(_MAX_STEPS):
        x_cur, g_cur = cur
        if prev is None:
            x = x_cur - g_cur
        else:
            secant = x_cur - g_cur * (x_cur - prev[0]) / (g_cur - prev[1]) if g_cur != prev[1] else math.nan
            limit = _STEP_GROWTH * abs(x_cur - prev[0])
            x = x_cur + max(-limit, min(limit, (1.0 + _OVERSHOOT) * (secant - x_cur)))
        if not (math.isfinite(x) and (x > x_cur if up else x < x_cur)):
            x, step = (x_cur + step if up else x_cur - step), 2.0 * step
        x = max(x, floor)
        gx = G(x)
        if (gx >= 0.0) if up else (gx <= 0.0):
            return (x_cur, x) if up else (x, x_cur)
        if x == floor:
            raise RootFindingError(f"sigma^2: F > 0 down to its lower limit {math.exp(floor):.6g}")
        prev, cur = cur, (x, gx)
    if up:
        raise RootFindingError(f"sigma^2: F < 0 up to sigma^2 = {math.exp(cur[0]):.6g} (no fixed point: the risk "
                               "diverges)")
    raise RootFindingError("sigma^2: no bracket found")


def _root(G, lo: float, hi: float, xtol: float, name: str, gtol: float = 0.0) -> float:
    """An evaluated x in [lo, hi] within ~xtol of the root of G, given G(lo) < 0 < G(hi) (G increasing through it).

    Inverse quadratic interpolation through the three latest points (secant through two while there are only two;
    G is nearly linear, see _bracket), replaced by bisection when the step leaves the bracket or when the bracket has
    not halved within _HALVING steps. Stops when the correction predicted at the latest point is below xtol
    (superlinear convergence: that point is then off by about that correction), or at G = 0, or when the bracket is
    narrower than xtol, or when the latest |G| is <= ``gtol`` (G's own accuracy: below it the interpolation through
    noisy values jumps instead of converging). Unlike brentq it needs no evaluation to confirm a sign change next to
    the root; the caller's residual check stays the test of convergence. ``name``: the unknown, for the
    RootFindingError message.
    """
    points = sorted([(lo, G(lo)), (hi, G(hi))], key=lambda p: abs(p[1]), reverse=True)  # the better one last
    width, since = hi - lo, 0
    for _ in range(_ROOT_STEPS):
        b = points[-1][0]
        if abs(points[-1][1]) <= gtol:
            return b
        x = _interpolate(points[-3:])
        if abs(x - b) <= xtol:
            return b
        since += 1
        if not lo < x < hi or since > _HALVING:
            x = (lo + hi) / 2.0
        gx = G(x)
        if gx == 0.0 or hi - lo <= xtol:
            return x
        lo, hi = (x, hi) if gx < 0.0 else (lo, x)
        if hi - lo <= width / 2.0:
            width, since = hi - lo, 0
        points.append((x, gx))
    raise RootFindingError(f"{name}: no convergence within {_ROOT_STEPS} steps (bracket [{lo:.17g}, {hi:.17g}])")


def _interpolate(points) -> float:
    """x at g = 0 of the polynomial through the points (x_i, g_i) as a function of g (inverse interpolation):
    sum_i x_i prod_{j != i} g_j/(g_j - g_i); nan if two g coincide."""
    xs, gs = [p[0] for p in points], [p[1] for p in points]
    if len(set(gs)) < len(gs):
        return math.nan
    return sum(xs[i] * math.prod(gs[j] / (gs[j] - gs[i]) for j in range(len(gs)) if j != i) for i in range(len(gs)))


# Interpolation steps of _root without halving the bracket before a bisection is forced.
_HALVING = 3
# Bracket search: secant steps go 20% beyond the predicted root so that one of them usually lands below it, and
# grow by at most _STEP_GROWTH per step (so a root at 1e-100 x the start is still reached in a few steps).
_OVERSHOOT = 0.2
_STEP_GROWTH = 4.0
_MAX_STEPS = 64
# _root's safety bound (a bisection at least every _HALVING + 1 steps: 200 steps narrow any bracket by >= 2^-50)
_ROOT_STEPS = 200
# log sigma^2 to 1e-12 (relative 1e-12 in sigma^2): the fixed-point residual is then ~1e-12, below RESIDUAL_TOL.
_LOG_XTOL = 1e-12
# _root in sigma^2 also stops at |G| <= the model's g_tol (its accuracy; this for the free-probability and Monte-Carlo
# SE): sigma^2 is then within ~1e-11 (relative) of the fixed point, R to ~1e-11, 1000x below RESIDUAL_TOL.
_G_TOL = 1e-11
# G's logarithm of Delta + 2 m is taken of at least this (m = 0 exactly would give log 0).
_TINY = np.finfo(float).tiny


# Delta = 0: the search for sigma^2 stops RECOVERY_RATIO below the start (Delta + 2)/(4 alpha) (the S_hat = 0 value):
# F >= 0 down there is reported as exact recovery (R at that sigma^2, ~RECOVERY_RATIO x R(S_hat = 0) or less).
# 1e-100: the noiseless dense regime has R ~ lam^2/n_eff^2, e.g. 1e-21 at d = 1e4 (a floor of 1e-12 returned the floor
# instead of the fixed point, measured); 1e-250 overflowed intermediate sums in free_probability.
RECOVERY_RATIO = 1e-100


# ---------------------------------------------------------------------------------------------- deterministic


class _Deterministic:
    samples = 0
    g_tol = _G_TOL  # the accuracy of G at a sigma^2 (``_solve``)

    def __init__(self, d, gamma, rank, nodes, merge, spikes):
        self.d, self.gamma, self.rank, self.nodes, self.merge, self.spikes = d, gamma, rank, nodes, merge, spikes

    def at(self, sigma2: float, point_mass: float = 1.0) -> "_DeterministicPoint":
        """The SE integrals at sigma^2; ``point_mass``: see free_convolution_semicircle (spikes="limit")."""
        reference = 2.0 ** math.floor(math.log2(sigma2))  # merged spectrum valid for all sigma^2 >= reference
        a, p = teacher_atoms(self.d, self.gamma, self.rank, reference, self.merge)
        if a.size > MAX_RESOLVED_ATOMS:
            raise ResourceLimit(f"at sigma^2 = {sigma2:.3g} the noise resolves {a.size} teacher eigenvalues (more than "
                                f"{MAX_RESOLVED_ATOMS}: ~{a.size * _BYTES_PER_ATOM / 1e9:.0f} GB of memory); not solved")
        return _DeterministicPoint(free_convolution_semicircle(a, sigma2, masses=p, nodes=self.nodes,
                                                               spikes=self.spikes, point_mass=point_mass))


class _DeterministicPoint:
    def __init__(self, fc):
        self.fc = fc
        self.top = max(hi for _, hi in fc.support)
        self.quadrature_error = fc.mass_error

    def divergence(self, zeta):
        return self.fc.threshold_integrals(zeta)

    def error(self, zeta):
        return self.fc.soft_threshold_error(zeta)


@functools.lru_cache(maxsize=32)
def teacher_atoms(d: int, gamma: float, rank: int | None, sigma2: float, tolerance: float = MERGE_TOLERANCE):
    """The merged teacher spectrum (atoms, masses) at noise sigma2: free_probability.merge_atoms of the d eigenvalues
    for d <= TEACHER_ARRAY_MAX_D, else built from index ranges (``power_law_atoms``)."""
    if d <= TEACHER_ARRAY_MAX_D:
        a, p = _teacher_array(d, gamma, rank)
        return merge_atoms(a, p, sigma2, tolerance)
    return power_law_atoms(d, gamma, rank, sigma2, tolerance)


@functools.lru_cache(maxsize=4)
def _teacher_array(d, gamma, rank):
    return weighted_atoms(quadratic_teacher_spectrum(d, gamma, rank))


def power_law_atoms(d: int, gamma: float, rank: int | None, sigma2: float, tolerance: float = MERGE_TOLERANCE):
    """Merged atoms of s_k = c k^-gamma (k = 1..r, r = rank or d; mass 1/d each) and of the d - r zeros, with the
    merging rule of free_probability.merge_atoms applied to index ranges: the eigenvalues are never listed.

    Groups are grown greedily from k = r downwards (increasing s) exactly as merge_groups does on the array; a group
    with at most _ENUMERATE_MAX members has its moments summed directly, a larger one by Gauss-Legendre in log k on
    sub-ranges of ratio <= 2 plus the Euler-Maclaurin end correction.
    """
    r = d if rank is None else rank
    c = math.sqrt(d / r) * math.sqrt(d) * teacher_scale(r, gamma)
    s = lambda k: c * np.asarray(k, dtype=float) ** -gamma  # noqa: E731
    limit = tolerance * sigma2
    starts, ends = [], []
    k = r
    while k >= 1:  # group [j, k] with j <= k (s_j >= s_k), grown by galloping as in merge_groups
        ok = lambda j, k=k: (s(j) - s(k)) ** 2 <= limit * (k - j + 1) / d  # noqa: E731
        step = 1
        while k - step >= 1 and ok(k - step):
            step *= 2
        good, bad = step // 2, min(step, k)
        while bad - good > 1:
            mid = (good + bad) // 2
            good, bad = (mid, bad) if ok(k - mid) else (good, mid)
        starts.append(k - good)
        ends.append(k)
        k -= good + 1
    lo, hi = np.array(starts[::-1]), np.array(ends[::-1])  # ascending k (descending s)
    mass, mean, var, third = _group_moments(lo, hi, s, gamma, d)
    pts, wts = gauss_pairs(mass, mean, var, third)
    a, p = pts.ravel(), wts.ravel()
    if r < d:
        a, p = np.append(a, 0.0), np.append(p, (d - r) / d)
    keep = p > 0
    return weighted_atoms(a[keep], p[keep] / p[keep].sum())


def _group_moments(lo, hi, s, gamma, d):
    """Mass, mean and central second and third moments of {s_k : lo <= k <= hi} per group (mass 1/d each)."""
    size = hi - lo + 1
    mass = size / d
    mean, var, third = np.empty(lo.size), np.empty(lo.size), np.empty(lo.size)
    small = np.flatnonzero(size <= _ENUMERATE_MAX)
    if small.size:
        k = np.concatenate([np.arange(a, b + 1) for a, b in zip(lo[small], hi[small])])
        g = np.repeat(np.arange(small.size), size[small])
        v = s(k)
        mu = np.bincount(g, v) / size[small]
        dev = v - mu[g]
        mean[small], var[small] = mu, np.bincount(g, dev**2) / size[small]
        third[small] = np.bincount(g, dev**3) / size[small]
    for i in np.flatnonzero(size > _ENUMERATE_MAX):
        centre = float(s(math.sqrt(lo[i] * hi[i])))
        moments = [_index_sum(lo[i], hi[i], gamma, s, centre, j) / size[i] for j in (1, 2, 3)]
        m1, m2, m3 = moments
        mean[i], var[i], third[i] = centre + m1, m2 - m1**2, m3 - 3 * m1 * m2 + 2 * m1**3
    return mass, mean, var, third


def _index_sum(a, b, gamma, s, centre, j):
    """sum_{k=a}^{b} F(k), F(k) = (s(k) - centre)^j: midpoint Euler-Maclaurin, the integral by Gauss-Legendre in log k
    on sub-ranges of ratio <= 2, minus [F'(b + 1/2) - F'(a - 1/2)]/24."""
    x, w = np.polynomial.legendre.leggauss(_GROUP_NODES)
    t0, t1 = math.log(a - 0.5), math.log(b + 0.5)
    edges = np.linspace(t0, t1, max(1, math.ceil((t1 - t0) / math.log(2.0))) + 1)
    half = np.diff(edges)[:, None] / 2.0
    t = (edges[:-1, None] + edges[1:, None]) / 2.0 + half * x
    k = np.exp(t)
    integral = float(np.sum(half * w * k * (s(k) - centre) ** j))
    dF = lambda kk: j * (s(kk) - centre) ** (j - 1) * (-gamma) * s(kk) / kk  # noqa: E731
    return integral - float(dF(b + 0.5) - dF(a - 0.5)) / 24.0


# ---------------------------------------------------------------------------------------------- Monte Carlo


class _MonteCarlo:
    g_tol = _G_TOL  # the same GOE samples at every sigma^2: G is as smooth as for the deterministic SE

    def __init__(self, s: np.ndarray, samples: int, seed: int):
        self.s, self.samples, self.seed = s, samples, seed

    def at(self, sigma2: float) -> "_MonteCarloPoint":
        return _MonteCarloPoint(self.s, self.samples, self.seed, sigma2)

    def standard_error(self, history, log_s2, d, n, alpha, lam) -> float:
        """Delta method: the per-sample influence of (m_b, D_b = div_b/n) on the fixed point R = m.

        Perturbing the sample means by (dm, dD) at fixed sigma^2 moves zeta by zeta dD/G_zeta (G = zeta (1 - D) - c)
        and Phi = 4 alpha sigma^2 - Delta - 2 m by -2 (dm + m_zeta dzeta); the fixed point then moves by
        dsigma^2 = -dPhi/Phi' and R = (4 alpha sigma^2 - Delta)/2 by 2 alpha dsigma^2.
        """
        point, zeta, m = history[log_s2]
        m_b, div_b = point.per_sample(zeta)
        D_b = div_b / alpha
        # Phi' along the calibrated path: secant through the nearest other evaluation (common random numbers make
        # Phi smooth in sigma^2)
        # (points closer than 1e-4 in log sigma^2 would make it rounding noise: then one more evaluation, 1e-3 away)
        far = [k for k in history if abs(k - log_s2) >= 1e-4]
        near = min(far, key=lambda k: abs(k - log_s2)) if far else log_s2 + 1e-3
        if far:
            m_near = history[near][2]
        else:
            other = self.at(math.exp(near))
            m_near = other.error(calibrate(other.divergence, other.top, d, n, lam))
        s2, s2n = math.exp(log_s2), math.exp(near)
        dphi = (4 * alpha * (s2 - s2n) - 2 * (m - m_near)) / (s2 - s2n)
        dzeta, m_zeta = np.zeros_like(D_b), 0.0
        if zeta > 0:  # (zeta = 0 with lam = 0 and D(0) < 1 stays 0 under small perturbations)
            # central differences in zeta. The sample mean of div jumps by ~1/(B n) in D where a sample eigenvalue
            # crosses zeta (B samples), so a step h adds up to 1/(2 B n h) to the slope: h = 1e-3 zeta keeps a crossing
            # inside [zeta - h, zeta + h] at <~ 1e-3 of dD/dzeta ~ D/zeta (1e-6 zeta made it ~25 %, once in ~50 calls
            # at d = 100, B = 200), and the curvature error O(h^2) at ~1e-6.
            h = 1e-3 * zeta
            D = lambda z: point.mean_divergence(z) / alpha  # noqa: E731
            G_zeta = (1.0 - D(zeta)) - zeta * (D(zeta + h) - D(zeta - h)) / (2 * h)
            m_zeta = (point.error(zeta + h) - point.error(zeta - h)) / (2 * h)
            dzeta = zeta * (D_b - D_b.mean()) / G_zeta
        influence = 4 * alpha * ((m_b - m_b.mean()) + m_zeta * dzeta) / dphi
        return float(np.std(influence, ddof=1) / math.sqrt(influence.size))


def spectral_divergence(mu, zeta: float) -> float:
    """div of U (Lambda - zeta)_+ U^T on Sym(d) (Frobenius-orthonormal basis), f = (mu - zeta)_+:
    #{mu_i > zeta} + (1/2) sum_{i != j} (f(mu_i) - f(mu_j))/(mu_i - mu_j) = K + K (K - 1)/2 + sum_{mu_i > zeta >= mu_j}
    (mu_i - zeta)/(mu_i - mu_j), K = #{mu_i > zeta} (pairs both above give 1, both below 0)."""
    mu = np.asarray(mu, dtype=float)
    above = mu > zeta
    count = int(np.count_nonzero(above))
    hi, lo = mu[above], mu[~above]
    mixed = float(np.sum((hi[:, None] - zeta) / (hi[:, None] - lo[None, :]))) if hi.size and lo.size else 0.0
    return count + count * (count - 1) / 2.0 + mixed


def goe_observation(s: np.ndarray, sigma2: float, g: np.ndarray) -> np.ndarray:
    """diag(s) + sigma W, W = (g + g^T)/sqrt(2 d) the GOE (W_ij ~ N(0, 1/d), W_ii ~ N(0, 2/d)), from standard normals g
    of shape (d, d) or a batch (b, d, d); rotation invariance lets the teacher S* be diagonal."""
    d = s.size
    y = (math.sqrt(sigma2) / math.sqrt(2.0 * d)) * (g + np.swapaxes(g, -1, -2))
    y[..., np.arange(d), np.arange(d)] += s
    return y


class _MonteCarloPoint:
    """Eigenvalues mu (increasing) of diag(s) + sigma W_b per sample, with the overlap sums
    c_i = sum_k s_k U_ki^2 and q_i = sum_k s_k^2 U_ki^2, so that sum_k (f_i - s_k)^2 U_ki^2 = f_i^2 - 2 f_i c_i + q_i
    (its rounding error, ~1e-16 sum_k s_k^2 / d per sample, is far below the sampling error)."""

    quadrature_error = math.nan

    def __init__(self, s, samples, seed, sigma2):
        self.s = s
        self.d = d = s.size
        self.mu, self.c, self.q = [], [], []
        batch = max(1, _MC_BATCH_FLOATS // (d * d))
        # single-threaded BLAS: for these sizes batched eigh on one thread beats threaded eigh one at a time
        with threadpool_limits(1):
            for first in range(0, samples, batch):
                g = np.stack([np.random.default_rng([seed, b]).standard_normal((d, d))
                              for b in range(first, min(first + batch, samples))])
                mu, u = np.linalg.eigh(goe_observation(s, sigma2, g))
                u2 = u * u
                self.mu += list(mu)
                self.c += list(np.einsum("k,bki->bi", s, u2))
                self.q += list(np.einsum("k,bki->bi", s * s, u2))
        self.top = max(float(mu[-1]) for mu in self.mu) + 1.0

    def _error(self, b, zeta):
        f = np.maximum(self.mu[b] - zeta, 0.0)
        return float(np.sum(f * f - 2.0 * f * self.c[b] + self.q[b])) / self.d

    def per_sample(self, zeta):
        """(m_b, div_b/d^2) for every sample."""
        m = np.array([self._error(b, zeta) for b in range(len(self.mu))])
        return m, np.array([spectral_divergence(mu, zeta) for mu in self.mu]) / self.d**2

    def mean_divergence(self, zeta):
        """Sample mean of div_b/d^2."""
        return float(np.mean([spectral_divergence(mu, zeta) for mu in self.mu])) / self.d**2

    def divergence(self, zeta):
        """(P, J/2) with P/(2d) + J/2 = the sample mean of div_b/d^2; P = mean fraction of eigenvalues above zeta."""
        P = float(np.mean([np.count_nonzero(mu > zeta) for mu in self.mu])) / self.d
        return P, self.mean_divergence(zeta) - P / (2 * self.d)

    def error(self, zeta):
        return float(np.mean([self._error(b, zeta) for b in range(len(self.mu))]))
