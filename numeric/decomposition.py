"""Decomposition of the SE excess risk R into four non-negative parts, for both networks.

Every teacher direction has a scalar channel, the law of what the estimator puts in that direction; its error splits
as MSE = bias + var, bias = mass (E f - s)^2, var = the variance of f under the channel. A direction is LEARNED iff
its signal exceeds the threshold in channel units. Then
    R = missed_signal + fitted_noise + learned_noise + shrinkage_bias,
missed_signal / fitted_noise = bias / var summed over the unlearned directions, learned_noise / shrinkage_bias =
var / bias summed over the learned ones (the "unlearned directions" part is missed_signal + fitted_noise).

Diagonal (spec/diagonal.md): component i has Y = x0_i + tau Z and the soft threshold eta(Y; zeta); learned iff
|x0_i| > zeta; R = (1/n) sum_i MSE_i at the fixed point of numeric.se_lasso.lasso_se. With b = |x0|/tau, c = zeta/tau,
u = c - b, v = c + b, X = (Z - u)_+ and X' = (-Z - v)_+ (disjoint supports, eta/tau = X - X'):
    |E eta - x0| / tau = int_{|u|}^{v} (1/2 - Q(s)) ds             (>= 0: the shrinkage towards 0)
    Var eta / tau^2 = V(u) + V(v) + 2 J1(u) J1(v),                 V(w) = Var (Z - w)_+,  J1(w) = E (Z - w)_+,
    V(w) = phi(w) (r2(w) - phi(w) r1(w)^2) for w >= 0,   V(w) = erf(|w|/sqrt 2) + V(|w|) for w < 0,
    J1(w) = J1(|w|) + |w| for w < 0
(r_k the scaled tail moments of numeric.gaussian; Var(X - X') = Var X + Var X' + 2 E X E X' as X X' = 0; for w < 0,
(Z - w)_+ = Z - w + (-Z - |w|)_+ and Cov(Z, (-Z - |w|)_+) = -Q(|w|) by Stein's lemma). Every term is non-negative,
so nothing cancels except inside V(w) (w >= 0), where phi r1^2 <= 0.32 r2 (at w = 0; less above) costs at most a
factor 1.5 of relative precision. The shrinkage integral is done by Gauss-Legendre in s on 0.5 erf(s/sqrt 2) when
v - |u| <= SHRINK_SPAN (positive integrand: no cancellation, e.g. b << c or c << b with small c, where the closed
forms b - int Q or c - int Q would cancel), else in closed form (v - |u|)/2 - (J1(|u|) - J1(v)), where the
subtracted part is at most phi(0) < 0.4 (v - |u|)/2 (loses at most a factor 1.7). No other precision is lost; terms
below ~1e-300 tau^2 underflow to 0 as in numeric.gaussian. For d > teacher_sums.HEAD the sums use the binned
TeacherGrid of the SE (same transition refinement), split exactly between the last learned index and the next
(teacher_sums ``split``: no Euler-Maclaurin run crosses the step, and a transition narrower than SPLIT_SPACING
integers per width is summed exactly). Measured against direct sums of the first 3e6 terms plus a smooth binned
tail: each term to <= 4e-14 of R at d = 1e8 ... 1e24, zeta/tau from 6 to 2e27 (tests: d = 1e5 binned vs exact).

Quadratic (spec/quadratic.md): direction o_k has the spectral measure mu_k of Y = S* + sigma W, density
sigma^2 rho_Y(x)/((u - s_k)^2 + t) on the bulk (per atom j of mass p_j: rho_Y w_j, w_j = sigma^2 p_j/|.|^2), f(x) =
(x - zeta)_+; learned iff s_k > zeta. Per atom, with A_j = int rho w_j and E_j f = int f rho w_j / A_j:
    bias_j = A_j (E_j f - a_j)^2,   var_j = int rho w_j (f - E_j f)^2,   sum_j (bias_j + var_j) = m = R
(computed as two passes of free_probability.FreeConvolution.atom_moments: centred at a_j, then at E_j f (given as the
offset E_j f - a_j, which a float64 centre next to a_j would round away when R ~ 1e-30), so var_j is
an integral of non-negative terms, no difference of large numbers). The FreeConvolution is the one of the SE's fixed
point (sigma^2, zeta) with the SE's quadrature (se_matrix.SE_NODES) and its merging rule (merge_atoms at the power of
two below sigma^2), with two differences: (1) the teacher eigenvalues are merged separately below and above zeta, so
no merged group straddles the threshold and every atom (a Gauss point of a group lies inside the group's range) is
classified exactly: ``learned`` is exact; this changes R only by the merging error (<= 5e-10 relative, stated in
free_probability; sum_error measures it); (2) isolated spikes are integrated as bumps (spikes="exact": the
point-eigenvalue residues of spikes="limit" give totals, not per-atom shares; the SE's own R is unchanged, ~1e-15).
Cost: one free convolution plus two passes of O(atoms x nodes) on top of the SE solve: 0.1-1.5 s at d = 1e3-1e4
(tens to ~1000 atoms after merging, 500-5000 nodes); the worst seen is d = 1e4 deep in the over-sampled regime
(n = d^3.5, sigma^2 ~ 1e-7: ~5800 atoms stay unmerged, 33000 nodes): 2.3 s + 2 x 4 s after the SE's own 7 s.
The teacher is listed (d floats): d <= se_matrix.TEACHER_ARRAY_MAX_D.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import erf

from .free_probability import MERGE_TOLERANCE, free_convolution_semicircle, merge_atoms, weighted_atoms
from .gaussian import normal_density, tail_moments
from .se_lasso import lasso_se, plain_dict
from .se_matrix import QUADRATURE_TOL, SE_NODES, TEACHER_ARRAY_MAX_D, quadratic_se
from .teacher_sums import teacher_grid
from .teachers import VARIANTS, quadratic_teacher_spectrum

# The four terms must add up to the SE's R to this (relative), else ``converged`` is False. They are the SE's own sums
# split in four. Diagonal: both use the grid split at the threshold and agree to ~1e-15 (before the SE's grid was split
# too, its binned R was off by up to 1.6e-8 where the step is sharper than one index, zeta/tau >~ 1e6). Quadratic: the
# merging error of the threshold-split spectrum, <= 5e-10 by free_probability.MERGE_TOLERANCE (measured ~1e-15).
SUM_TOL = 1e-9
# Gauss-Legendre for the shrinkage integral on spans <= SHRINK_SPAN: the integrand 0.5 erf(s/sqrt 2) is entire with
# derivatives of order one, so 24 nodes on a span of 2 reach rounding level (tests: against mpmath quadrature).
SHRINK_SPAN = 2.0
SHRINK_NODES = 24


@dataclass(frozen=True)
class RiskDecomposition:
    """R = missed_signal + fitted_noise + learned_noise + shrinkage_bias at the SE fixed point (module docstring).

    learned: number of learned directions (diagonal: count; quadratic: d x mass of learned atoms). sum_error:
    |sum of the four - excess_risk| / excess_risk. converged: the SE converged and sum_error <= SUM_TOL.
    """

    model: str
    d: int
    n: float
    lam: float
    gamma: float
    noise: float
    excess_risk: float
    missed_signal: float
    fitted_noise: float
    learned_noise: float
    shrinkage_bias: float
    learned: float
    sum_error: float
    converged: bool
    message: str

    TERMS = ("missed_signal", "fitted_noise", "learned_noise", "shrinkage_bias")

    def terms(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in self.TERMS}

    def dominant(self) -> str:
        """Name of the largest of the four terms."""
        terms = self.terms()
        return max(terms, key=terms.get)

    def to_dict(self) -> dict:
        return plain_dict(self)


# ---------------------------------------------------------------------------------------------- diagonal


def _j1(w: np.ndarray) -> np.ndarray:
    """J1(w) = E (Z - w)_+ = J1(|w|) + max(-w, 0) (both terms >= 0)."""
    return tail_moments(np.abs(w))[1] + np.maximum(-w, 0.0)


def _relu_variance(w: np.ndarray) -> np.ndarray:
    """V(w) = Var (Z - w)_+ (module docstring)."""
    aw = np.abs(w)
    _, r1, r2 = tail_moments(aw, scaled=True)
    phi = normal_density(aw)  # underflows to 0 beyond w ~ 38 (r_k stay finite): V = 0 there
    return phi * (r2 - phi * r1 * r1) + np.where(w < 0, erf(aw / math.sqrt(2.0)), 0.0)


def _shrinkage(lo: np.ndarray, span: np.ndarray) -> np.ndarray:
    """int_lo^{lo + span} (1/2 - Q(s)) ds for lo, span >= 0 (module docstring)."""
    hi = lo + span
    short = span <= SHRINK_SPAN
    out = np.empty_like(span)
    x, w = np.polynomial.legendre.leggauss(SHRINK_NODES)
    half = 0.5 * span[short][:, None]
    s = lo[short][:, None] + half * (1.0 + x)
    out[short] = np.sum(half * w * 0.5 * erf(s / math.sqrt(2.0)), axis=1)
    lo_l, hi_l = lo[~short], hi[~short]
    out[~short] = 0.5 * span[~short] - (tail_moments(lo_l)[1] - tail_moments(hi_l)[1])
    return out


def soft_threshold_bias_variance(a, tau: float, zeta: float) -> tuple[np.ndarray, np.ndarray]:
    """((E eta - a)^2, Var eta) of eta(a + tau Z; zeta), vectorised over the magnitudes a (module docstring)."""
    a = np.abs(np.asarray(a, dtype=float))
    if tau == 0:  # no noise: eta(a) = (a - zeta)_+ exactly
        return np.minimum(a, zeta) ** 2, np.zeros_like(a)
    b, c = a / tau, zeta / tau
    u, v = c - b, c + b
    shrink = tau * _shrinkage(np.abs(u), 2.0 * np.minimum(b, c))  # v - |u|, without its cancellation at c >> b
    var = tau * tau * (_relu_variance(u) + _relu_variance(v) + 2.0 * _j1(u) * _j1(v))
    return shrink * shrink, var


def decompose_diagonal(d, n, lam, gamma, noise, *, teacher: str = "signs", binning: str = "auto") -> RiskDecomposition:
    """The four parts of the LASSO SE risk R = (1/n) sum_i MSE_i (module docstring); signs teacher only.

    ``binning`` as in numeric.se_lasso.lasso_se (the decomposition uses the same summation).
    """
    if teacher != "signs":
        raise ValueError(f"decompose_diagonal supports teacher='signs' only (got {teacher!r}; "
                         f"the SE itself supports {', '.join(VARIANTS)})")
    result = lasso_se(d, n, lam, gamma, noise, binning=binning, teacher=teacher)  # validates every other argument
    d, n, lam, gamma, noise = int(d), float(n), float(lam), float(gamma), float(noise)
    head = ("diagonal", d, n, lam, gamma, noise, result.excess_risk)
    if n == 0:  # the estimator is 0: every direction unlearned, error = its signal
        return RiskDecomposition(*head, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, True, result.message)
    if not (math.isfinite(result.tau2) and math.isfinite(result.zeta)):
        return _failed(head, result.message)
    tau, zeta = math.sqrt(result.tau2), result.zeta
    grid = teacher_grid(d, n, gamma, binning=binning, transition=(zeta, tau) if tau > 0 else None, split=zeta)
    bias, var = soft_threshold_bias_variance(grid.magnitudes, tau, zeta)
    learned = grid.magnitudes > zeta
    parts = [grid.total(np.where(mask, x, 0.0)) / n for mask, x in ((~learned, bias), (~learned, var), (learned, var),
                                                                     (learned, bias))]
    return _assemble(head, parts, grid.total(learned.astype(float)), result.converged, result.message)


# ---------------------------------------------------------------------------------------------- quadratic


def decompose_quadratic(d, n, lam, gamma, noise, *, rank=None) -> RiskDecomposition:
    """The four parts of the quadratic-network SE risk R = m (module docstring), deterministic SE."""
    result = quadratic_se(d, n, lam, gamma, noise, rank=rank)  # validates every argument
    d, n, lam, gamma, noise = int(d), float(n), float(lam), float(gamma), float(noise)
    head = ("quadratic", d, n, lam, gamma, noise, result.excess_risk)
    if n == 0:
        return RiskDecomposition(*head, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, True, result.message)
    if not (math.isfinite(result.sigma2) and math.isfinite(result.zeta)):
        return _failed(head, result.message)
    if result.recovered:  # exact recovery, as decompose_diagonal at n = d, Delta = 0: R and every term -> 0
        return RiskDecomposition(*head[:-1], 0.0, 0.0, 0.0, 0.0, 0.0, float(d), 0.0, True, result.message)
    if d > TEACHER_ARRAY_MAX_D:
        raise ValueError(f"decompose_quadratic lists the teacher spectrum: d must be <= {TEACHER_ARRAY_MAX_D} (got {d})")
    zeta = result.zeta
    a, p = split_teacher_atoms(d, gamma, rank, result.sigma2, zeta)
    fc = free_convolution_semicircle(a, result.sigma2, masses=p, nodes=SE_NODES, spikes="exact")
    mass, first, _ = fc.atom_moments(zeta, np.zeros(fc.atoms.size))  # first = int rho w_j (f - a_j)
    bias = first * first / mass
    var = fc.atom_moments(zeta, first / mass)[2]  # centred at E_j f = a_j + first/mass (kept as an offset)
    learned = fc.atoms > zeta
    parts = [float(np.sum(x[mask])) for mask, x in ((~learned, bias), (~learned, var), (learned, var), (learned, bias))]
    quadrature_ok = fc.mass_error <= QUADRATURE_TOL
    message = result.message if quadrature_ok else f"{result.message}; quadrature mass error {fc.mass_error:.3g}"
    return _assemble(head, parts, d * float(np.sum(fc.masses[learned])), result.converged and quadrature_ok, message)


def split_teacher_atoms(d: int, gamma: float, rank, sigma2: float, zeta: float) -> tuple[np.ndarray, np.ndarray]:
    """The teacher spectrum merged as in se_matrix.teacher_atoms (merge_atoms at the power of two below sigma2), but
    separately for the eigenvalues <= zeta and > zeta, so that no merged group straddles the threshold."""
    a, p = weighted_atoms(quadratic_teacher_spectrum(d, gamma, rank))
    reference = 2.0 ** math.floor(math.log2(sigma2))
    out_a, out_p = [], []
    for side in (a <= zeta, a > zeta):
        if side.any():
            merged_a, merged_p = merge_atoms(a[side], p[side], reference, MERGE_TOLERANCE)
            out_a.append(merged_a)
            out_p.append(merged_p * p[side].sum())  # merge_atoms normalises its output to mass 1
    return weighted_atoms(np.concatenate(out_a), np.concatenate(out_p))


# ---------------------------------------------------------------------------------------------- shared


def _assemble(head, parts, learned, se_converged, se_message) -> RiskDecomposition:
    risk = head[-1]
    total = math.fsum(parts)
    sum_error = abs(total - risk) / risk if risk > 0 else abs(total)
    ok = se_converged and sum_error <= SUM_TOL
    if not se_converged:
        message = f"SE not converged: {se_message}"
    elif sum_error > SUM_TOL:
        message = f"the four terms miss the SE's R by {sum_error:.3g} (relative), above {SUM_TOL:.3g}"
    else:
        message = se_message
    return RiskDecomposition(*head, *parts, float(learned), float(sum_error), bool(ok), message)


def _failed(head, message) -> RiskDecomposition:
    nan = math.nan
    return RiskDecomposition(*head, nan, nan, nan, nan, nan, nan, False, f"no SE fixed point: {message}")
