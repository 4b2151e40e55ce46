"""The optimal weight decay from the state evolution: lam_opt = argmin_{lam > 0} R_SE(lam) (issue 5).

R_SE(lam) is the excess risk of the LASSO SE (``se_lasso.lasso_se``, model "diagonal") or of the nuclear-norm SE
(``se_matrix.quadratic_se``, model "quadratic") at weight decay lam. It is minimised in t = log lam:

1. a coarse geometric scan, one point per decade (at least ``SCAN_POINTS``), over a bracket that contains the
   scales where the optimum is expected (diagonal, Corollary 1 of spec/diagonal.md: sqrt(n/d) for n << d and
   n/d^(gamma + 1/2) for n >> d; quadratic: sqrt(n (1 + Delta)), from lam/(2 d alpha) = zeta (...) with
   zeta ~ sigma = sqrt((Delta + 2 m)/(4 alpha))), widened a decade at a time until the smallest R is interior;
2. bounded Brent (``scipy.optimize.minimize_scalar``) in t between the neighbours of the best scan point, to an
   absolute tolerance in t, i.e. a relative tolerance ``rtol`` in lam. Near its minimum R is quadratic in t, so a
   relative error 1e-3 in lam changes R by ~ (1/2) R''/R (1e-3)^2 ~ 1e-6 relative (R''/R = O(1) in t).

The reported bracket is the pair of evaluated points closest to the best one on either side; every evaluated R
is >= R(lam_opt), so (for unimodal R) the minimiser lies in it, and ``converged`` requires its width in log lam
to be <= rtol (plus every SE call converged and the minimum interior).

Scaling (``optimal_scaling``): along n = d^ell, the local slopes d log lam_opt / d log d and
d log R(lam_opt) / d log d (``fits.local_slope``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass

from scipy.optimize import minimize_scalar

from .fits import SlopeFit, local_slope
from .params import check_dimension, check_gamma, check_nonnegative
from .se_bayes import bayes_se
from .se_lasso import lasso_se
from .se_matrix import quadratic_se
from .se_quadratic_bayes import bayes_se_quadratic
from .teachers import VARIANTS

MODELS = ("diagonal", "quadratic")
# Minimum number of points of the coarse scan (one per decade; the bracket is widened around the expected scales).
SCAN_POINTS = 9
_DECADE = math.log(10.0)
# The scan is widened by one decade at a time, at most this many times on each side (40 decades beyond the
# expected scales: past that the minimum is taken to be at the edge, lam -> 0+ or lam -> infinity).
MAX_WIDEN = 40
# Two SE risks are "equal" when they differ by less than this relative amount. The SE solvers converge to
# relative residuals <= 1e-11 (diagonal) and <= 1e-8 (quadratic, merged spectrum); 1e-9 sits above the diagonal
# noise, so a scan whose risks all agree to 1e-9 on one side is flat there (lam -> 0+ plateau or the R = 1 plateau).
FLAT_RTOL = 1e-9
# Brent's stopping rule (fminbound) leaves a final bracket of width <= 4 (sqrt(eps) |t| + xatol/3); with
# xatol = 0.7 rtol that is 0.93 rtol + 6e-8 |t|, <= rtol for |t| < 1000 (lam between e^-1000 and e^1000).
_XATOL_FRACTION = 0.7


@dataclass(frozen=True)
class OptimalResult:
    """lam_opt = argmin R_SE(lam), R(lam_opt), the Bayes-optimal R_BO at the same (d, n, gamma, Delta), the ratio.

    ``bracket``: (lam_lo, lam_hi), evaluated points on either side of lam_opt with larger R (see the module
    docstring); ``log_width`` = log(lam_hi/lam_lo). ``at_lower_edge``: R decreased down to the smallest lam tried
    (lam_opt is then that lam, read as lam -> 0+; ``risk_zero`` is the SE's R at lam = 0, nan if it has none, and
    when it is below R(lam_opt) it is reported as ``risk``, the infimum over lam > 0; the scan stops at once when
    R(0) = 0, and otherwise when R reaches R(0) or stops changing, to FLAT_RTOL).
    ``flat``: R is the same (to FLAT_RTOL) at every scanned lam (e.g. n = 0), no minimiser. ``unimodal``: the
    coarse scan had a single local minimum. ``converged``: every SE call of the minimisation converged, the
    minimum is interior and log_width <= rtol; otherwise ``message`` says why. ``bayes_converged``: the Bayes SE
    (for R_BO) converged; ``se_calls`` counts the SE solves of the minimisation (R at lam = 0 included, the one
    Bayes SE not); it does not enter ``converged`` (it does not affect lam_opt), ``message`` reports it.
    """

    model: str
    d: int
    n: float
    gamma: float
    noise: float
    lam_opt: float
    risk: float
    risk_bayes: float
    ratio: float
    bracket: tuple[float, float]
    log_width: float
    se_calls: int
    at_lower_edge: bool
    flat: bool
    unimodal: bool
    risk_zero: float
    converged: bool
    bayes_converged: bool
    message: str

    def to_dict(self) -> dict:
        out = asdict(self)
        out["bracket"] = [float(v) for v in self.bracket]
        return out


def optimal_lambda(model, d, n, gamma, noise, *, rtol: float = 1e-3, teacher: str = "signs") -> OptimalResult:
    """Minimise R_SE(lam) over lam > 0 in log lam to relative tolerance ``rtol`` in lam (module docstring).

    ``teacher`` ("signs" or "gaussian", diagonal only) is passed to lasso_se. R_BO is the Bayes risk of the
    Gaussian prior, a lower bound on R(lam_opt) for teacher="gaussian"; for "signs" (magnitudes known) it is what
    the best linear (Wiener) estimator achieves, and a non-linear estimator may in principle go below it.
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)} (got {model!r})")
    d, gamma = check_dimension(d), check_gamma(gamma)
    n, noise = check_nonnegative("n", n), check_nonnegative("noise", noise)
    if not (isinstance(rtol, (int, float)) and 0 < rtol < 1):
        raise ValueError(f"rtol must be in (0, 1) (got {rtol!r})")
    if teacher not in VARIANTS:
        raise ValueError(f"teacher must be one of {', '.join(VARIANTS)} (got {teacher!r})")
    if model == "quadratic" and teacher != "signs":
        raise ValueError("teacher applies to the diagonal model only (the quadratic SE has a fixed spectrum)")
    if n == 0:
        return OptimalResult(model, d, n, gamma, noise, math.nan, 1.0, 1.0, 1.0, (0.0, math.inf), math.inf, 0,
                             False, True, True, 1.0, False, True,
                             "n = 0: R = 1 for every lam (the estimator is 0), there is no minimiser")
    return _Search(model, d, n, gamma, noise, rtol, teacher).run()


class _Search:
    """One minimisation: a memo of R(t), t = log lam, with the SE calls' convergence."""

    def __init__(self, model, d, n, gamma, noise, rtol, teacher):
        self.model, self.d, self.n, self.gamma, self.noise = model, d, n, gamma, noise
        self.rtol, self.teacher = rtol, teacher
        self.memo: dict[float, float] = {}
        self.failures: list[str] = []
        self.zero_calls = 0
        self.bayes_converged = False

    def se(self, lam: float):
        if self.model == "diagonal":
            return lasso_se(self.d, self.n, lam, self.gamma, self.noise, teacher=self.teacher)
        return quadratic_se(self.d, self.n, lam, self.gamma, self.noise)

    def risk(self, t: float) -> float:
        if t not in self.memo:
            r = self.se(math.exp(t))
            if not r.converged:
                self.failures.append(f"lam = {math.exp(t):.6g}: {r.message}")
            # a failed solve (nan) must not look like a minimum to the scan or to Brent
            self.memo[t] = r.excess_risk if math.isfinite(r.excess_risk) else math.inf
        return self.memo[t]

    def scales(self) -> tuple[float, float]:
        d, n, g = self.d, self.n, self.gamma
        if self.model == "diagonal":  # in logs: n/d^(gamma+1/2) overflows nowhere, but d^gamma may for d ~ 1e300
            a = 0.5 * (math.log(n) - math.log(d))
            b = math.log(n) - (g + 0.5) * math.log(d)
            return min(a, b), max(a, b)
        c = 0.5 * (math.log(n) + math.log1p(self.noise))
        return c, c

    def bayes(self) -> tuple[float, str]:
        if self.model == "diagonal":
            r = bayes_se(self.d, self.n, self.gamma, self.noise)
        else:
            r = bayes_se_quadratic(self.d, self.n, self.gamma, self.noise)
        self.bayes_converged = r.converged
        return r.excess_risk, "" if r.converged else f"Bayes SE not converged ({r.message})"

    def risk_at_zero(self) -> float:
        """R at lam = 0 if the SE has a finite answer there (nan otherwise)."""
        self.zero_calls += 1
        r = self.se(0.0)
        return r.excess_risk if r.converged and math.isfinite(r.excess_risk) else math.nan

    def run(self) -> OptimalResult:
        lo, hi = self.scales()
        half = max(0.5 * (SCAN_POINTS - 1) - 0.5 * (hi - lo) / _DECADE, 2.0)  # decades beyond the scales
        k_lo, k_hi = math.floor(lo / _DECADE - half), math.ceil(hi / _DECADE + half)
        grid = {k: self.risk(k * _DECADE) for k in range(k_lo, k_hi + 1)}
        edge, widened, zero = None, {-1: 0, 1: 0}, math.nan
        while True:
            keys = sorted(grid)
            best = min(keys, key=lambda k: (grid[k], k))  # ties: the smallest lam
            if keys[0] < best < keys[-1]:
                break
            side = -1 if best == keys[0] else 1
            if side < 0 and widened[side] == 0:
                zero = self.risk_at_zero()
                if zero == 0.0:  # R(0) = 0 (noiseless, n >= d): nothing to gain below, lam -> 0+
                    edge = side
                    break
            if widened[side] >= MAX_WIDEN:
                edge = side
                break
            new = best + side
            grid[new] = self.risk(new * _DECADE)
            widened[side] += 1
            # a plateau towards the edge: R no longer changes, or (lam -> 0+) has reached R(0)
            if abs(grid[new] - grid[best]) <= FLAT_RTOL * grid[best] or (
                    side < 0 and abs(grid[new] - zero) <= FLAT_RTOL * zero):
                edge = side
                break
        keys = sorted(grid)
        values = [grid[k] for k in keys]
        risk_bayes, bayes_msg = self.bayes()
        top, bottom = max(values), min(values)
        if not math.isfinite(bottom):
            return self._result(math.nan, math.nan, risk_bayes, (math.nan, math.nan), False, False, False, math.nan,
                                [bayes_msg, "no SE call of the scan converged"])
        unimodal = _local_minima(values) <= 1
        if top - bottom <= FLAT_RTOL * top:
            return self._result(math.nan, bottom, risk_bayes, (math.exp(keys[0] * _DECADE), math.exp(keys[-1]
                                * _DECADE)), False, True, unimodal, math.nan, [bayes_msg,
                                f"R is flat ({bottom:.6g}) over the whole scan: no minimiser"])
        best = min(keys, key=lambda k: (grid[k], k))
        if best in (keys[0], keys[-1]) or edge is not None:
            lower = best == keys[0] or edge == -1
            where = "lam -> 0+" if lower else "lam -> infinity"
            note = (f"R decreases monotonically towards {where} (no interior minimum, {widened[-1 if lower else 1]} decade(s)"
                    f" added); lam_opt is the last lam tried")
            risk = grid[best]
            if lower and math.isfinite(zero):
                note += f"; R(lam = 0) = {zero:.6g}"
                if zero <= risk:  # the infimum, approached as lam -> 0+
                    note += ", reported as R(lam_opt) (the infimum over lam > 0)"
                    risk = zero
            return self._result(math.exp(best * _DECADE), risk, risk_bayes, (math.exp(keys[0] * _DECADE),
                                math.exp(keys[-1] * _DECADE)), lower, False, unimodal, zero, [bayes_msg, note])
        a, c = (best - 1) * _DECADE, (best + 1) * _DECADE
        xatol = _XATOL_FRACTION * self.rtol
        fit = minimize_scalar(self.risk, bounds=(a, c), method="bounded", options={"xatol": xatol, "maxiter": 200})
        t_best = min(self.memo, key=lambda t: (self.memo[t], t))
        left = max((t for t in self.memo if t < t_best), default=-math.inf)
        right = min((t for t in self.memo if t > t_best), default=math.inf)
        notes = [bayes_msg]
        if not fit.success:
            notes.append(f"Brent did not converge ({fit.message})")
        if not unimodal:
            notes.append("the coarse scan has several local minima: the smallest is refined")
        if right - left > self.rtol:
            notes.append(f"bracket width {right - left:.3g} in log lam above rtol {self.rtol:.3g}")
        return self._result(math.exp(t_best), self.memo[t_best], risk_bayes, (math.exp(left), math.exp(right)),
                            False, False, unimodal, math.nan, notes, interior=right - left <= self.rtol)

    def _result(self, lam, risk, risk_bayes, bracket, at_lower_edge, flat, unimodal, risk_zero, notes, *,
                interior=False) -> OptimalResult:
        bayes_note = [m for m in notes[:1] if m]  # notes[0]: the Bayes SE's, which does not affect lam_opt
        notes = [m for m in notes[1:] if m]
        if self.failures:
            notes.append(f"{len(self.failures)} SE call(s) not converged, first: {self.failures[0]}")
        converged = interior and not self.failures and not notes
        message = "; ".join((["converged"] if converged else notes) + bayes_note)
        ratio = risk / risk_bayes if risk_bayes > 0 else (1.0 if risk == 0 else math.inf)
        if risk == 0 and risk_bayes == 0:
            ratio = math.nan
        width = math.log(bracket[1] / bracket[0]) if bracket[0] > 0 else math.inf
        return OptimalResult(self.model, self.d, self.n, self.gamma, self.noise, lam, risk, risk_bayes, ratio,
                             bracket, width, len(self.memo) + self.zero_calls, at_lower_edge,
                             flat, unimodal, risk_zero, converged, self.bayes_converged, message)


def _local_minima(values) -> int:
    """Number of strict local minima (edges included) of a sequence, ties within FLAT_RTOL merged."""
    count, i, m = 0, 0, len(values)
    while i < m:
        j = i
        while j + 1 < m and abs(values[j + 1] - values[i]) <= FLAT_RTOL * abs(values[i]):
            j += 1
        left_ok = i == 0 or values[i - 1] > values[i]
        right_ok = j == m - 1 or values[j + 1] > values[i]
        count += left_ok and right_ok
        i = j + 1
    return count


@dataclass(frozen=True)
class OptimalScaling:
    """For n = d^ell: the optimisations along ``ds`` and the local slopes of log lam_opt and log R(lam_opt).

    ``lam_slopes`` is None when some lam_opt is not an interior minimum (at the lam -> 0+ edge, or flat): its
    value is then the last lam tried, not a property of R. ``risk_slopes`` uses R(lam_opt) (the infimum at an edge).
    ``converged``: every optimisation converged; ``message`` lists the ones that did not.
    """

    ell: float
    results: tuple[OptimalResult, ...]
    lam_slopes: SlopeFit | None
    risk_slopes: SlopeFit
    converged: bool
    message: str

    def to_dict(self) -> dict:
        return {"ell": float(self.ell), "results": [r.to_dict() for r in self.results],
                "lam_slopes": None if self.lam_slopes is None else self.lam_slopes.to_dict(),
                "risk_slopes": self.risk_slopes.to_dict(), "converged": bool(self.converged),
                "message": self.message}


def optimal_scaling(model, ells, ds, gamma, noise, *, rtol: float = 1e-3, teacher: str = "signs") -> dict:
    """{ell: OptimalScaling} for n = d^ell at each d of ``ds`` (increasing, >= 2 values): local slopes vs log d.

    An error of rtol in lam moves a slope between neighbouring d by <= 2 rtol / log(d_{k+1}/d_k) (1e-3 at
    rtol = 1e-3 and a decade step); R(lam_opt) is off by ~rtol^2 relative, negligible in its slope.
    """
    ds = [check_dimension(d) for d in ds]
    if len(ds) < 2 or any(b <= a for a, b in itertools.pairwise(ds)):
        raise ValueError("ds must hold >= 2 strictly increasing dimensions")
    out = {}
    for ell in ells:
        ell = check_nonnegative("ell", ell)
        results = tuple(optimal_lambda(model, d, float(d) ** ell, gamma, noise, rtol=rtol, teacher=teacher)
                        for d in ds)
        if not all(math.isfinite(r.risk) and r.risk > 0 for r in results):
            bad = next(r for r in results if not (math.isfinite(r.risk) and r.risk > 0))
            raise ArithmeticError(f"ell = {ell}: no positive finite R(lam_opt) at d = {bad.d} ({bad.message})")
        interior = all(not (r.at_lower_edge or r.flat) and math.isfinite(r.lam_opt) for r in results)
        lam_fit = local_slope(ds, [r.lam_opt for r in results]) if interior else None
        risk_fit = local_slope(ds, [r.risk for r in results])
        failed = [f"d = {r.d}: {r.message}" for r in results if not r.converged]
        message = "converged" if not failed else f"{len(failed)} not converged; first: {failed[0]}"
        out[ell] = OptimalScaling(ell, results, lam_fit, risk_fit, not failed, message)
    return out
