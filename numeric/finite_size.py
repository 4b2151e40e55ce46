"""The O(1/d) correction of the GOE (beta = 1) to the free-probability SE integrals of numeric.se_matrix.

Y = S + sigma W, W real symmetric (W_ij ~ N(0, 1/d), W_ii ~ N(0, 2/d)), G = (Y - z)^{-1}, g_d = (1/d) Tr G
(here g ~ -1/z, rho = (1/pi) Im g(x + i0)). Gaussian integration by parts gives exactly
(S - z) E G - sigma^2 E[g_d G] - (sigma^2/d) E G^2 = I. With omega = z + sigma^2 g, h_k = (1/d) Tr (S - omega)^{-k},
L = log(1 - sigma^2 h_2), to first order in 1/d:

    E g_d = g + dg/d,   dg = sigma^2 h_3/(1 - sigma^2 h_2)^2 = -(1/2) dL/dz,   g' = h_2/(1 - sigma^2 h_2)
    T = (1/d) E Tr S G = 1 + z E g_d + sigma^2 (E g_d)^2 + (sigma^2/d) g'   =>   dT = (z + 2 sigma^2 g) dg + sigma^2 g'.

L is real off the bulk (1 - sigma^2 h_2 > 0 there); on it, in the subordination variables of numeric.free_probability
(omega = u + i v, v = sqrt(t), S_3 = sum p (u - a)/|.|^4, S_4 = sum p/|.|^4),

    1 - sigma^2 h_2 = 2 sigma^2 v (v S_4 + i S_3),   theta = Im L = atan2(S_3, v S_4) in (-pi/2, pi/2),

and the density correction d rho = (1/pi) Im dg = -(1/(2 pi)) theta' (with deltas at the edges) integrates by parts
to bulk integrals. For f(x) = (x - zeta)_+ and the SE integrals of numeric.se_matrix (P, J/2 = -(1/(2 pi)) Im int f g^2,
m = int f^2 rho - 2 int f (1/pi) Im T + (1/d) sum s^2):

    dP   = theta(zeta)/(2 pi)
    dJ/2 = -(1/(2 pi)) Im int_{x > zeta} (g + f g') L dx
    dm   = (1/pi) int_{x > zeta} f theta dx - (1/pi) Im int_{x > zeta} ((x + 2 sigma^2 g) + f (1 + 2 sigma^2 g')) L dx
           + 2 sigma^2 P

(the connected part of the two-point function in J is O(1/d^2) relative). The corrected SE uses P + dP/d,
J/2 + (dJ/2)/d and m + dm/d.

Spikes (spikes="limit": support components of a single teacher eigenvalue, kept as point eigenvalues). Each has
mass 1/d and the GOE changes its statistics at O(1/d) relative (e.g. its variance is 2 sigma^2/d, the free bump's
q^2 sigma^2/d), an O(1/d^2) change per spike; but their number grows with d (gamma = 1, sigma^2 = 0.18: 4, 9 and 32
at d = 50, 200 and 2000), and measured they carry about half of the O(1/d) coefficient of m at d <= 200. The 1/d
expansion of the resolvent holds at distances large against a bump's width, so a bump's correction is a contour
integral: int Im F(x + i0) dx over the bump = (i/2) oint F dz, taken in omega on a circle around the atom through the
most open points of the gaps to its neighbours, where z = omega - sigma^2 h_1 and the forms are meromorphic:
dg dz = sigma^2 h_3/(1 - sigma^2 h_2) d omega, g' dz = h_2 d omega. This applies to bumps entirely above zeta
(f = z - zeta analytic); a bump containing zeta is not corrected. The bump's mass correction oint dg dz = 0 is the
check of these integrals.

Quadrature. At a square-root edge g' ~ 1/v and L ~ log v, so the integrands have a logarithmic endpoint singularity,
on which the quadratic clustering of free_probability's pieces converges only as nodes^-2. The correction therefore
uses its own nodes on the same pieces: the piece map of free_probability applied twice (u - edge ~ tau^4 at a special
end), which turns the singularity into s log s (error ~ nodes^-4).
"""

from __future__ import annotations

import math

import numpy as np

from .free_probability import FreeConvolution, _kernel_sums, _piece_map, _solve_t

# Gauss-Legendre nodes per piece for the correction integrals. Measured on the GOE (S = 0, closed forms at zeta = -3,
# -1.5, 0, 0.7, 1.9): the largest error of dJ/2 and dm is 6e-5 with 24 nodes and 4e-6 with 48 (nodes^-4, the
# twice-clustered map of the module docstring; the SE's own quadratically clustered 24 nodes would give 8e-3).
CORRECTION_NODES = 48
# Spike contours: the trapezoidal rule on a circle converges geometrically (periodic analytic integrand), at a rate
# set by the nearest singularity (the neighbouring atoms, the bump's edges) relative to the radius. Points are doubled
# from SPIKE_POINTS until two results agree within SPIKE_TOL (absolute, on coefficients of size 1e-3..1: far below
# what MC can resolve), at most SPIKE_MAX_POINTS (measured: 128 points reach 1e-16 at d = 50 and 200, 512 at d = 2000).
SPIKE_POINTS = 64
SPIKE_TOL = 1e-12
SPIKE_MAX_POINTS = 2**14
# Accuracy of the corrected SE's G = log(4 alpha sigma^2/(Delta + 2 m)) at a sigma^2, where numeric.se_matrix._solve
# stops (RESIDUAL_TOL is 1e-8). The nodes nearest a square-root edge sit ~1e-13 (relative) from it, where float64
# rounding of their position is ~1e-3 of their distance to the edge, and g' ~ 1/v amplifies it: G jitters by up to
# 1.3e-9 between sigma^2 1e-11 apart (flat rank-15 teacher, d = 60; 6e-12 at the benchmark point, d = 400), and the
# interpolation through such values took 18 evaluations instead of 6. The correction's own quadrature error (4e-6 of
# dm, i.e. ~1e-7/d of R) is larger still.
CORRECTED_G_TOL = 2e-9
# A support component is bulk when its mass exceeds this many eigenvalues (1/d each): halfway between one and two,
# so that rounding of merged masses cannot flip it.
_ONE_EIGENVALUE = 1.5


def _check_bulk(fc: FreeConvolution, d: int) -> None:
    """Every quadrature piece must belong to a support component holding more than one eigenvalue (mass > 1/d): the
    bump of a single eigenvalue (spikes="exact") is no bulk, and its correction is the spike contour's."""
    pieces = fc._pieces
    if pieces.anchor.size == 0:
        return
    ends = np.concatenate([pieces.anchor, pieces.far])
    comp = np.concatenate([pieces.component, pieces.component])
    size = int(comp.max()) + 1
    lo, hi = np.full(size, ends.max()), np.zeros(size, dtype=ends.dtype)
    np.minimum.at(lo, comp, ends)
    np.maximum.at(hi, comp, ends)
    cum = np.concatenate([[0.0], np.cumsum(fc.masses)])
    mass = (cum[hi + 1] - cum[lo])[np.unique(pieces.component)]
    if np.any(mass <= _ONE_EIGENVALUE / d):
        raise ValueError("the GOE correction needs the isolated eigenvalues as point spikes: build the free convolution "
                         "with spikes='limit'")


class _Nodes:
    """Correction integrands at Gauss nodes on the given pieces (rows), u from a[anchor] + lo to a[anchor] + hi:
    x, dx = x'(u) du, rho dx, g, g', L = log(1 - sigma^2 h_2) and theta = Im L (module docstring)."""

    def __init__(self, fc: FreeConvolution, rows, lo, hi, special_lo, special_hi):
        sigma2 = self.sigma2 = fc.sigma2
        tau, w = np.polynomial.legendre.leggauss(CORRECTION_NODES)
        s_lo, s_hi = np.asarray(special_lo)[:, None], np.asarray(special_hi)[:, None]
        phi1, d1 = _piece_map(tau[None, :], s_lo, s_hi)
        phi, d2 = _piece_map(2.0 * phi1 - 1.0, s_lo, s_hi)  # clustered twice (module docstring)
        length = (np.asarray(hi) - np.asarray(lo))[:, None]
        e = np.asarray(lo)[:, None] + length * phi
        du = length * d2 * 2.0 * d1 * w
        rows = np.asarray(rows)
        inter = fc._inter.take(rows)
        t0, floor = fc.start_t(rows, e)
        t = _solve_t(inter, e, t0, sigma2, floor)
        s1, _, s3, s4 = _kernel_sums(inter, e, t)
        v = np.sqrt(t)
        inside = v > 0  # a node rounded onto an edge (t = 0) has weight ~ 0 and L = log 0: dropped
        v = np.where(inside, v, 1.0)
        self.x = fc.atoms[fc._pieces.anchor[rows]][:, None] + (e + sigma2 * s1)
        self.dx = np.where(inside, 2.0 * sigma2 * (t * s4 * s4 + s3 * s3) / s4 * du, 0.0)  # x'(u) du
        self.mass = self.dx * v / (math.pi * sigma2)  # rho dx
        self.g = -s1 + 1j * v / sigma2
        ell = 2.0 * sigma2 * v * (v * s4 + 1j * s3)  # 1 - sigma^2 h_2
        self.L = np.log(ell)
        self.theta = np.arctan2(s3, v * s4)
        self.gprime = (1.0 / ell - 1.0) / sigma2

    def integrals(self, zeta: float, rows=slice(None)) -> np.ndarray:
        """Over x > zeta on the given rows: Im int (g + f g') L dx, int f theta dx,
        Im int ((x + 2 sigma^2 g) + f (1 + 2 sigma^2 g')) L dx and int rho dx (f = x - zeta there)."""
        x = self.x[rows]
        up = x > zeta
        x, dx, g, gp, L = x[up], self.dx[rows][up], self.g[rows][up], self.gprime[rows][up], self.L[rows][up]
        f, s2 = x - zeta, self.sigma2
        return np.array([np.sum(dx * np.imag((g + f * gp) * L)), np.sum(dx * f * self.theta[rows][up]),
                         np.sum(dx * np.imag(((x + 2.0 * s2 * g) + f * (1.0 + 2.0 * s2 * gp)) * L)),
                         np.sum(self.mass[rows][up])])


def _theta_at(fc: FreeConvolution, i: int, e: float) -> float:
    """theta = Im L at u = a[anchor of piece i] + e (module docstring)."""
    inter = fc._inter.take(np.array([i]))
    t = _solve_t(inter, np.array([[e]]), np.zeros((1, 1)), fc.sigma2)
    _, _, s3, s4 = _kernel_sums(inter, np.array([[e]]), t)
    return math.atan2(s3[0, 0], math.sqrt(t[0, 0]) * s4[0, 0])


def _spike_contour(fc: FreeConvolution, k: int):
    """(centre, radius, interactions) of a circle in omega (offsets from the atom a_j of spike k) around the atom and
    its bump, crossing the real axis at the most open points of the gaps to the neighbouring atoms."""
    sp, a = fc._spikes, fc.atoms
    j = int(sp.atom[k])
    # the most open points of the gaps (a_{j-1}, a_j) and (a_j, a_{j+1}): the minima of h_0 = sum p/(u - a)^2, which
    # the free convolution found (once per tree) to tell open gaps from closed ones; as offsets from a_j
    left = float(fc._tree.gap_minima(np.array([j - 1]))[0][0]) + (a[j - 1] - a[j]) if j > 0 else None
    right = float(fc._tree.gap_minima(np.array([j]))[0][0]) if j + 1 < a.size else None
    reach = 2.0 * max(-sp.lo[k], sp.hi[k])  # an outermost atom: twice its bump's reach, or the other side's distance
    left = -max(reach, right if right is not None else 0.0) if left is None else left
    right = max(reach, -left) if right is None else right
    inter = fc._tree.interactions(np.array([j]), np.array([left]), np.array([right]))
    return (left + right) / 2.0, (right - left) / 2.0, inter


def _spike_basis(fc: FreeConvolution, k: int, contour, points: int) -> np.ndarray:
    """(i/2) oint F dz on spike k's contour (trapezoidal rule, ``points`` points) for F = dg, y dg, y^2 dg, g dg,
    y g dg, dT, y dT with y = z - a_j: the real-axis integrals int Im F(x + i0) dx over the spike's bump (section
    'spikes' of the module docstring). In omega: z = omega - sigma^2 h_1, dz = (1 - sigma^2 h_2) d omega, so
    dg dz = sigma^2 h_3/(1 - sigma^2 h_2) d omega and g' dz = h_2 d omega."""
    centre, radius, inter = contour
    a_j, sigma2 = float(fc.atoms[fc._spikes.atom[k]]), fc.sigma2
    phi = 2.0 * math.pi * np.arange(points) / points
    delta = centre + radius * np.exp(1j * phi)  # omega - a_j
    dw = 1j * (delta - centre) * (2.0 * math.pi / points)
    r = inter.base[:, None] + delta[None, :]  # omega - s_b
    w = inter.weight[:, None]
    h1, h2, h3 = -np.sum(w / r, axis=0), np.sum(w / r**2, axis=0), -np.sum(w / r**3, axis=0)
    y = delta - sigma2 * h1
    dg = sigma2 * h3 / (1.0 - sigma2 * h2) * dw
    dT = (a_j + y + 2.0 * sigma2 * h1) * dg + sigma2 * h2 * dw
    return np.real(0.5j * np.array([np.sum(v) for v in (dg, y * dg, y * y * dg, h1 * dg, y * h1 * dg, dT, y * dT)]))


def _spike_integrals(fc: FreeConvolution) -> tuple[np.ndarray, float]:
    """(spikes x 7 basis integrals of ``_spike_basis``, largest remaining error): the trapezoidal rule is doubled
    from SPIKE_POINTS until two successive results agree within SPIKE_TOL; the first basis integral (the bump's
    mass correction) must then vanish."""
    sp = fc._spikes
    count = 0 if sp is None else sp.atom.size
    out, worst = np.zeros((count, 7)), 0.0
    for k in range(count):
        contour = _spike_contour(fc, k)
        points = SPIKE_POINTS
        old = _spike_basis(fc, k, contour, points)
        while True:
            points *= 2
            new = _spike_basis(fc, k, contour, points)
            error = float(np.max(np.abs(new - old)))
            if error <= SPIKE_TOL or points >= SPIKE_MAX_POINTS:
                break
            old = new
        out[k] = new
        worst = max(worst, error, abs(new[0]))
    return out, worst


class GOECorrection:
    """The O(1/d) coefficients (dP, dJ/2, dm) of a free convolution ``fc`` (teacher masses 1/d) as a function of the
    threshold: ``correction(zeta)``. The bulk nodes and the spike integrals are set up once; each threshold adds one
    crossing and one piece. ``spike_error``: the largest remaining error of the spike contour integrals."""

    def __init__(self, fc: FreeConvolution, d: int):
        self.fc, self.d = fc, d
        pieces = fc._pieces
        _check_bulk(fc, d)
        self.nodes = _Nodes(fc, np.arange(pieces.anchor.size), pieces.lo, pieces.hi, pieces.special_lo,
                            pieces.special_hi)
        self.x_ends = fc.atoms[pieces.anchor][:, None] + fc._ends  # x at the piece ends
        self.spikes, self.spike_error = _spike_integrals(fc)

    def __call__(self, zeta: float) -> tuple[float, float, float]:
        fc = self.fc
        sums = self.nodes.integrals(zeta, self.x_ends[:, 0] >= zeta)
        dP = 0.0
        i, _, _, e = fc._cut(zeta)  # the split x(u) = zeta that the SE integrals use (found once per zeta)
        if i >= 0:
            cut = _Nodes(fc, [i], np.array([e]), fc._pieces.hi[[i]], [False], fc._pieces.special_hi[[i]])
            sums = sums + cut.integrals(zeta)
            dP = _theta_at(fc, i, e) / (2.0 * math.pi)
        half_j, theta_int, log_int, p_bulk = sums
        dJ = -half_j / (2.0 * math.pi)
        dm = (theta_int - log_int) / math.pi + 2.0 * fc.sigma2 * p_bulk
        if self.spikes.size:  # bumps entirely above zeta, f = y + c with y = z - a_j, c = a_j - zeta
            up = fc._spikes.x_lo >= zeta
            dg, ydg, yydg, gdg, ygdg, dT, ydT = self.spikes[up].T
            c = fc.atoms[fc._spikes.atom[up]] - zeta
            dJ -= float(np.sum(ygdg + c * gdg)) / math.pi
            dm += float(np.sum((yydg + 2.0 * c * ydg + c * c * dg) - 2.0 * (ydT + c * dT))) / math.pi
        return dP, float(dJ), float(dm)


def goe_correction(fc: FreeConvolution, zeta: float, d: int) -> tuple[float, float, float]:
    """(dP, dJ/2, dm): the O(1/d) coefficients of the GOE correction at threshold zeta (corrected = leading + coef/d).

    ``fc``: numeric.free_probability.free_convolution_semicircle of the teacher spectrum (masses 1/d) at sigma^2, with
    spikes="limit" if any eigenvalue is isolated (ValueError otherwise)."""
    return GOECorrection(fc, d)(zeta)


class GOECorrected:
    """SE model for numeric.se_matrix._solve: the points of ``base`` (e.g. se_matrix._Deterministic, whose points carry
    the free convolution as ``.fc``) with P, J/2 and m corrected to O(1/d) (module docstring)."""

    samples = 0
    g_tol = CORRECTED_G_TOL

    def __init__(self, base, d: int):
        self.base, self.d = base, d

    def at(self, sigma2: float) -> "_CorrectedPoint":
        # a degenerate teacher eigenvalue (mass > one eigenvalue, e.g. the zeros of a finite-rank teacher) that is a
        # support component of its own stays a bulk: the spike contours correct single eigenvalues only
        return _CorrectedPoint(self.base.at(sigma2, point_mass=_ONE_EIGENVALUE / self.d), self.d)


class _CorrectedPoint:
    """A point of the base model (``divergence``, ``error``, ``top``, ``fc``) with the correction added; the spike
    contours' error joins the quadrature error that numeric.se_matrix._solve checks."""

    def __init__(self, point, d: int):
        self.point, self.d = point, d
        self.top = point.top  # the correction vanishes beyond the spectrum
        self.correction = GOECorrection(point.fc, d)
        self.quadrature_error = max(point.quadrature_error, self.correction.spike_error)
        self._cache = {}

    def _coefficients(self, zeta):
        if zeta not in self._cache:
            self._cache[zeta] = self.correction(zeta)
        return self._cache[zeta]

    def divergence(self, zeta):
        P, half_j = self.point.divergence(zeta)
        dP, d_half_j, _ = self._coefficients(zeta)
        return P + dP / self.d, half_j + d_half_j / self.d

    def error(self, zeta):
        return self.point.error(zeta) + self._coefficients(zeta)[2] / self.d
