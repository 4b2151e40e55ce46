"""Free additive convolution of a weighted spectrum with a semicircle, by subordination on the real axis.

Y = S + sigma W: S has the eigenvalue distribution mu = sum_j p_j delta(a_j) (atoms a_j, masses p_j > 0 summing
to 1; p_j = 1/d for each eigenvalue of a d x d matrix), W is GOE with the semicircle law on [-2, 2]. Pastur's
equation g(z) = sum_j p_j/(z - sigma^2 g(z) - a_j) is solved on the real axis by subordination
(spec/quadratic.md): for real u, t = v^2 >= 0 solves

    h_t(u) = sum_j p_j / ((u - a_j)^2 + t) = 1/sigma^2          (t = 0 where h_0(u) <= 1/sigma^2),

and then, with |.|^2 = (u - a_j)^2 + t and S_1 = sum p (u-a)/|.|^2, S_2 = h_t, S_3 = sum p (u-a)/|.|^4,
S_4 = sum p/|.|^4:

    x(u) = u + sigma^2 S_1            (the eigenvalue; Re g(x) = S_1 = (x - u)/sigma^2),
    rho_Y(x) = v / (pi sigma^2),       dx/du = 2 sigma^2 (t S_4^2 + S_3^2) / S_4   (> 0, no cancellation),
    w_j(x) = sigma^2 p_j / |.|^2       (mean squared overlap of the eigenvector at x with the eigenspace of a_j;
                                        sum_j w_j = 1 is the equation for t, sum_j w_j a_j = 2u - x).

The support of rho_Y is the image of {u : h_0(u) > 1/sigma^2}: components [u_lo, u_hi] in u, each holding the atoms
inside it and exactly their total mass (exact separation; the component masses are the quadrature check).

Quadrature. Each component is cut at its atoms and at the minima of h_0 between atoms that may come close to a
gap; a single-atom component (an isolated spike's bump) is one piece. Each piece gets the substitution
u = lo + (hi - lo)(1 - cos theta)/2 (it removes the square-root edges) and Gauss-Legendre nodes in theta.
Integrals of functions with a kink at x = zeta, e.g. (x - zeta)_+, are computed with the piece that contains zeta
cut at the u where x(u) = zeta (``threshold_integrals``, ``soft_threshold_error``), so they stay spectrally accurate.

Large d. (1) ``merge_atoms`` replaces each run of atoms of total mass P and width w with w^2 <= tol sigma^2 P (w is
small against the radius sqrt(sigma^2 P) of the bump that mass would make alone, hence against the local smoothing
scale sqrt(t)) by the 2-point Gauss rule of the run: mass, mean, second and third moments are kept; runs of one
or two atoms, e.g. the isolated top eigenvalues, stay exact. (2) The sums over atoms are evaluated with a
Barnes-Hut tree (``_Tree``): a block of atoms whose span is small against its distance to the query interval is
replaced by its Gauss rule of TREE_POINTS points (exact for polynomials of degree 2 TREE_POINTS - 1; the error
is ~ rho^(-2 TREE_POINTS) with rho >= 5.8 the Bernstein-ellipse parameter at the admissibility distance), so a sum
costs O(log K) instead of O(K) for K atoms. (3) Every node of every piece is evaluated in one vectorised pass
per Newton step. All positions are stored as an anchor atom plus an offset, so bumps of width sqrt(sigma^2/d)
around eigenvalues of size sqrt(d) keep their relative precision.

Isolated atoms (``spikes="limit"``). An atom that is a support component of its own (a bump of mass p_j) contributes
to the soft-threshold SE integrals exactly as a point eigenvalue x_j = a_j + sigma^2 sum_{i != j} p_i/(a_j - a_i) (the
bump's centre of mass) with squared overlaps q_j^2 = 1 - sigma^2 sum_{i != j} p_i/(a_j - a_i)^2 with its own direction
and sigma^2 p_i/(a_j - a_i)^2 with the others, plus O(p_j^2) terms that the residue theorem gives in closed form
(section 'residues'). So these bumps need no quadrature (and no approximation: p_j -> 0 is not needed); only the bump
containing the threshold gets a short complex path.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

# Gauss-Legendre nodes per piece in theta for ``free_convolution_semicircle``. The error (tests: moments of random
# spectra with sigma small against the spacing of the atoms) is 5e-14 with 96 nodes; the SE (numeric.se_matrix)
# uses fewer, with the error it measured stated there.
DEFAULT_NODES = 96
# Merging: a run of atoms of mass P and width w is merged when w^2 <= MERGE_TOLERANCE sigma^2 P, i.e. w is at most
# sqrt(MERGE_TOLERANCE) = 3% of the radius sqrt(sigma^2 P) of the bump that mass would make alone, hence of the local
# smoothing scale sqrt(t). The error of the Gauss pair scales as MERGE_TOLERANCE^2..3. Measured against every atom
# kept (d = 2000 and 10^4, sigma^2 = 0.05 and 1, thresholds 0, 0.3, 1, 3): relative error <= 5e-10 in m = int rho
# sum_k w_k (f - s_k)^2 and <= 4e-9 in J/2 and P (1e-2 would give 4e-8 and 4e-7; 2e-3 gives 2e-9 and 2e-8).
MERGE_TOLERANCE = 1e-3
# Barnes-Hut: a block of half-width R is used through its TREE_POINTS-point Gauss rule when its centre is at least
# TREE_ADMISSIBLE * R from the query interval; the Bernstein-ellipse parameter is then >= 3 + sqrt(8) = 5.83, and
# the error per block <= 5.83^(-2 * 8) ~ 6e-13 of its contribution (tests: tree vs direct sums, 1e-12).
TREE_POINTS = 8
TREE_ADMISSIBLE = 3.0
# Gaps between neighbouring atoms whose two-atom lower bound of h_0 exceeds GAP_EXAMINE / sigma^2 are closed with
# h_0 >= 4/sigma^2 on them (the density is far from a zero there); the others are examined: their minimum of h_0
# is located, the gap is open if it is below 1/sigma^2, and otherwise the piece is cut there (a near-gap).
GAP_EXAMINE = 4.0
# Pieces inside a band of atoms are joined up to this many local smoothing scales sqrt(t) (see _cut_components):
# the nearest singularities of the integrand are then >= sqrt(t) off the real axis, about one piece length.
PIECE_SCALE = 1.0
# Quadrature self-check: a component whose quadrature mass misses its atoms' mass by more than this (relative) has
# its pieces bisected, at most REFINEMENTS times. 1e-11 is ~100 rounding errors of a sum over thousands of nodes.
# A near-critical gap (two edges close together) slows the convergence of the pieces at those edges, so the first
# EDGE_REFINEMENTS rounds bisect only the pieces that end at an edge or a near-gap: a geometric refinement there.
MASS_TOLERANCE = 1e-11
REFINEMENTS = 6
EDGE_REFINEMENTS = 4
# Newton for t (on 1/h_t - sigma^2, concave and increasing in t: monotone from the left, quadratic near the root)
# stops when |sigma^2 h_t - 1| <= 1e-14 (a few rounding errors of the sum); 60 steps is far more than needed.
_T_TOL, _T_STEPS = 1e-14, 60
# Safeguarded Newton for edges, gap minima and the zeta cut: stop at a relative step of 1e-15 (rounding level).
_ROOT_TOL, _ROOT_STEPS = 1e-15, 100
# Rows x nodes handled per vectorised chunk (bounds memory: ~16 MB per float array).
_CHUNK = 2_000_000
# _Tree.at_atoms keeps atom sets up to this many bytes per tree, oldest dropped first (a solve asks for two per sigma^2:
# the multi-atom components' atoms and the isolated ones, mostly the same at every sigma^2 of a fixed-point search).
# ~3.3 kB per atom (measured at 29465 atoms, d = 1e5): the budget holds both sets up to ~40000 atoms; _tree keeps 4
# trees, so at most ~1 GB stays cached.
_AT_ATOMS_BYTES = 256 * 2**20


# ---------------------------------------------------------------------------------------------- atoms, merging


def weighted_atoms(s, masses=None) -> tuple[np.ndarray, np.ndarray]:
    """(a, p): distinct atoms in increasing order and their masses (summing to 1); ``masses`` default 1/len(s)."""
    s = np.asarray(s, dtype=float)
    if s.ndim != 1 or s.size == 0 or not np.all(np.isfinite(s)):
        raise ValueError("s must be a non-empty 1-D array of finite eigenvalues")
    if masses is None:
        p = np.full(s.size, 1.0 / s.size)
    else:
        p = np.asarray(masses, dtype=float)
        if p.shape != s.shape or not np.all(np.isfinite(p)) or np.any(p <= 0):
            raise ValueError("masses must be positive, finite and of the same shape as s")
        if abs(p.sum() - 1.0) > 1e-9:  # masses are a probability distribution, up to rounding of their sum
            raise ValueError(f"masses must sum to 1 (got {p.sum()!r})")
        p = p / p.sum()
    order = np.argsort(s, kind="stable")
    a, p = s[order], p[order]
    first = np.concatenate([[True], np.diff(a) > 0])
    starts = np.flatnonzero(first)
    return a[first], np.add.reduceat(p, starts)


def gauss_pairs(mass, mean, var, third) -> tuple[np.ndarray, np.ndarray]:
    """2-point Gauss rules (positions (G, 2), weights (G, 2)) of groups with the given mass, mean and central
    second and third moments (per unit mass); a group of zero variance gets one point (the other has weight 0)."""
    mass, mean, var, third = (np.asarray(v, dtype=float) for v in (mass, mean, var, third))
    safe = np.where(var > 0, var, 1.0)
    b = np.where(var > 0, third / safe, 0.0)
    root = np.sqrt(b * b + 4.0 * np.maximum(var, 0.0))
    lo, hi = (b - root) / 2.0, (b + root) / 2.0  # roots of y^2 - b y - var (centred)
    span = np.where(hi > lo, hi - lo, 1.0)
    w_lo = np.where(hi > lo, mass * hi / span, mass)
    w_hi = np.where(hi > lo, -mass * lo / span, 0.0)
    return np.stack([mean + lo, mean + hi], axis=1), np.stack([w_lo, w_hi], axis=1)


def merge_groups(a: np.ndarray, p: np.ndarray, sigma2: float, tolerance: float = MERGE_TOLERANCE) -> np.ndarray:
    """Start indices of the greedy runs of ``a`` (increasing) with width^2 <= tolerance sigma^2 mass."""
    cum = np.concatenate([[0.0], np.cumsum(p)])
    limit = tolerance * sigma2
    n, starts, i = a.size, [], 0

    def ok(i, j):  # run a[i..j] inclusive
        return (a[j] - a[i]) ** 2 <= limit * (cum[j + 1] - cum[i])

    while i < n:
        starts.append(i)
        step = 1
        while i + step < n and ok(i, i + step):
            step *= 2
        good, bad = step // 2, min(step, n - i)  # a[i..i+good] is fine; i+bad fails or is past the end
        while bad - good > 1:
            mid = (good + bad) // 2
            good, bad = (mid, bad) if ok(i, i + mid) else (good, mid)
        i += good + 1
    return np.asarray(starts, dtype=np.int64)


def merge_atoms(a, p, sigma2: float, tolerance: float = MERGE_TOLERANCE) -> tuple[np.ndarray, np.ndarray]:
    """Merge runs of atoms much closer together than the noise (module docstring) into their 2-point Gauss rules.

    ``a`` increasing with masses ``p`` (``weighted_atoms``). Runs of one or two atoms are returned unchanged.
    """
    a, p = np.asarray(a, dtype=float), np.asarray(p, dtype=float)
    starts = merge_groups(a, p, sigma2, tolerance)
    sizes = np.diff(np.concatenate([starts, [a.size]]))
    mass = np.add.reduceat(p, starts)
    mean = np.add.reduceat(p * a, starts) / mass
    dev = a - np.repeat(mean, sizes)
    var = np.add.reduceat(p * dev**2, starts) / mass
    third = np.add.reduceat(p * dev**3, starts) / mass
    pts, wts = gauss_pairs(mass, mean, var, third)
    small = sizes <= 2  # one or two atoms: their own Gauss rule, kept exactly
    keep = np.repeat(small, sizes)
    out_a = np.concatenate([a[keep], pts[~small].ravel()])
    out_p = np.concatenate([p[keep], wts[~small].ravel()])
    order = np.argsort(out_a, kind="stable")
    out_a, out_p = out_a[order], out_p[order]
    nonzero = out_p > 0
    return weighted_atoms(out_a[nonzero], out_p[nonzero] / out_p[nonzero].sum())


# ---------------------------------------------------------------------------------------------- Barnes-Hut tree


def _gauss_reduce(x: np.ndarray, w: np.ndarray, centre: np.ndarray, half: np.ndarray, q: int):
    """q-point Gauss rules of the discrete measures (rows of x, w) by Lanczos with full reorthogonalisation on the
    scaled points (x - centre)/half in [-1, 1]. A breakdown (fewer than q support points) leaves zero weights."""
    rows, m = x.shape
    total = w.sum(axis=1)
    scale = np.where(half > 0, half, 1.0)
    xs = (x - centre[:, None]) / scale[:, None]
    basis = np.zeros((rows, q, m))
    basis[:, 0] = np.sqrt(w / np.where(total > 0, total, 1.0)[:, None])
    alpha, beta = np.zeros((rows, q)), np.zeros((rows, q))
    for k in range(q):
        r = xs * basis[:, k]
        alpha[:, k] = np.einsum("rm,rm->r", r, basis[:, k])
        r -= alpha[:, k, None] * basis[:, k]
        if k > 0:
            r -= beta[:, k - 1, None] * basis[:, k - 1]
        r -= np.einsum("rj,rjm->rm", np.einsum("rjm,rm->rj", basis[:, : k + 1], r), basis[:, : k + 1])
        if k + 1 < q:
            norm = np.sqrt(np.einsum("rm,rm->r", r, r))
            # below 1e-12 the next Lanczos vector is rounding noise: the measure has k+1 support points
            ok = norm > 1e-12
            beta[:, k] = np.where(ok, norm, 0.0)
            basis[:, k + 1] = np.where(ok[:, None], r / np.where(ok, norm, 1.0)[:, None], 0.0)
    jac = np.zeros((rows, q, q))
    idx = np.arange(q)
    jac[:, idx, idx] = alpha
    jac[:, idx[:-1], idx[1:]] = beta[:, :-1]
    jac[:, idx[1:], idx[:-1]] = beta[:, :-1]
    val, vec = np.linalg.eigh(jac)
    weights = total[:, None] * vec[:, 0, :] ** 2
    return centre[:, None] + scale[:, None] * val, weights


class _Tree:
    """Blocks of 2^l consecutive atoms, each with its span and a Gauss rule of <= TREE_POINTS points."""

    def __init__(self, a: np.ndarray, p: np.ndarray, q: int = TREE_POINTS):
        self.a, self.p = a, p
        self._gap_min = self._gap_h = None  # gap_minima, filled on demand
        self._at_atoms = {}  # at_atoms, by atom set
        lo, hi, pts, wts = a, a, a[:, None], p[:, None]
        self.levels = [(lo, hi, pts, wts)]
        while lo.size > 1:
            if lo.size % 2:  # a childless dummy keeps the pairing; it has no points (weight 0)
                lo, hi = np.append(lo, hi[-1]), np.append(hi, hi[-1])
                pts = np.vstack([pts, np.full((1, pts.shape[1]), hi[-1])])
                wts = np.vstack([wts, np.zeros((1, wts.shape[1]))])
            lo, hi = lo[0::2], np.maximum(hi[0::2], hi[1::2])
            pts = pts.reshape(lo.size, -1)
            wts = wts.reshape(lo.size, -1)
            if pts.shape[1] > q:
                pts, wts = self._reduce(pts, wts, lo, hi, q)
            self.levels.append((lo, hi, pts, wts))

    def gap_minima(self, gaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(offset from a[j] of the minimum of h_0 = sum p/(u - a)^2 in the gap (a_j, a_j+1), h_0 there) for the given
        gaps j, by safeguarded Newton on h_0' = -2 S_3 (increasing between the poles: h_0 is convex). Neither depends on
        sigma^2: each gap is solved once per tree (the SE's fixed point evaluates several sigma^2 on the same atoms)."""
        if self._gap_min is None:
            self._gap_min, self._gap_h = np.full(self.a.size - 1, np.nan), np.full(self.a.size - 1, np.nan)
        new = gaps[np.isnan(self._gap_min[gaps])]
        if new.size:
            g = self.a[new + 1] - self.a[new]
            zero = np.zeros(new.size)
            sums = _real_axis(self, new, zero, g)
            cube = self.p[new] ** (1 / 3)
            start = g * cube / (cube + self.p[new + 1] ** (1 / 3))  # minimum of the two-atom terms

            def grad(x, rows):
                s = sums(x, rows)
                return -2.0 * s[2], 6.0 * s[3]

            self._gap_min[new] = _bracketed_newton(grad, zero, g, start)
            self._gap_h[new] = sums(self._gap_min[new], np.arange(new.size))[1]
        return self._gap_min[gaps], self._gap_h[gaps]

    def at_atoms(self, atoms: np.ndarray) -> "_Interactions":
        """interactions(atoms, 0, 0): the spectrum seen from the atoms themselves. It does not depend on sigma^2, so the
        atom sets asked for last are kept, within _AT_ATOMS_BYTES (measured: rebuilding them took 11 % of a quadratic
        SE solve at d = 400)."""
        key = atoms.tobytes()
        if key in self._at_atoms:
            return self._at_atoms[key]
        zero = np.zeros(atoms.size)
        inter = self.interactions(atoms, zero, zero)
        size = inter.nbytes
        while self._at_atoms and sum(i.nbytes for i in self._at_atoms.values()) + size > _AT_ATOMS_BYTES:
            del self._at_atoms[next(iter(self._at_atoms))]
        if size <= _AT_ATOMS_BYTES:
            self._at_atoms[key] = inter
        return inter

    @staticmethod
    def _reduce(pts, wts, lo, hi, q):
        count = np.count_nonzero(wts > 0, axis=1)
        out_p = np.empty((pts.shape[0], q))
        out_w = np.empty((pts.shape[0], q))
        few = count <= q
        order = np.argsort(wts[few] <= 0, axis=1, kind="stable")[:, :q]  # the points with weight first
        out_p[few] = np.take_along_axis(pts[few], order, axis=1)
        out_w[few] = np.take_along_axis(wts[few], order, axis=1)
        many = ~few
        if np.any(many):
            out_p[many], out_w[many] = _gauss_reduce(pts[many], wts[many], (lo[many] + hi[many]) / 2.0,
                                                     (hi[many] - lo[many]) / 2.0, q)
        return out_p, np.maximum(out_w, 0.0)

    def interactions(self, anchor: np.ndarray, e_lo: np.ndarray, e_hi: np.ndarray) -> "_Interactions":
        """Effective atoms for each query interval [a[anchor] + e_lo, a[anchor] + e_hi]: (query, offset of the
        anchor from the point, weight), sorted by query."""
        a = self.a
        mid, half = (e_lo + e_hi) / 2.0, (e_hi - e_lo) / 2.0
        query = np.arange(anchor.size)
        block = np.zeros(anchor.size, dtype=np.int64)
        out_q, out_base, out_w = [], [], []
        for level in range(len(self.levels) - 1, -1, -1):
            lo, hi, pts, wts = self.levels[level]
            centre, radius = (lo[block] + hi[block]) / 2.0, (hi[block] - lo[block]) / 2.0
            dist = np.abs((a[anchor[query]] - centre) + mid[query]) - half[query]
            take = (dist >= TREE_ADMISSIBLE * radius) | (level == 0)
            tq, tb = query[take], block[take]
            w = wts[tb]
            base = a[anchor[tq]][:, None] - pts[tb]
            keep = w > 0
            out_q.append(np.broadcast_to(tq[:, None], w.shape)[keep])
            out_base.append(base[keep])
            out_w.append(w[keep])
            query, block = query[~take], block[~take]
            if level > 0:
                nchild = self.levels[level - 1][0].size
                query = np.repeat(query, 2)
                block = (2 * np.repeat(block, 2) + np.tile([0, 1], block.size))
                inside = block < nchild
                query, block = query[inside], block[inside]
        q, base, w = np.concatenate(out_q), np.concatenate(out_base), np.concatenate(out_w)
        order = np.argsort(q, kind="stable")
        counts = np.bincount(q, minlength=anchor.size)
        return _Interactions(base[order], w[order], np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)


@functools.lru_cache(maxsize=4)
def _tree(a_bytes: bytes, p_bytes: bytes) -> _Tree:
    """_Tree of the atoms (a, p) given as float64 bytes, cached: it does not depend on sigma^2, and a fixed-point
    search evaluates several sigma^2 with the same (merged) atoms (~12% of a build at d = 400)."""
    return _Tree(np.frombuffer(a_bytes), np.frombuffer(p_bytes))


@dataclass(frozen=True, eq=False)
class _Interactions:
    base: np.ndarray  # a[anchor] - point, per interaction (sorted by query)
    weight: np.ndarray
    starts: np.ndarray  # first interaction of each query
    counts: np.ndarray

    @property
    def nbytes(self) -> int:
        return self.base.nbytes + self.weight.nbytes + self.starts.nbytes + self.counts.nbytes

    def take(self, queries: np.ndarray) -> "_Interactions":
        """The interactions of a subset of queries (in the given order)."""
        idx = np.concatenate([np.zeros(0, dtype=np.int64)] +
                             [np.arange(s, s + c) for s, c in zip(self.starts[queries], self.counts[queries])])
        counts = self.counts[queries]
        return _Interactions(self.base[idx], self.weight[idx], np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)


def _chunks(inter: _Interactions, width: int):
    """Consecutive query ranges whose interactions x ``width`` stay below _CHUNK."""
    limit = max(1, _CHUNK // max(width, 1))
    ends = np.cumsum(inter.counts)
    q0 = 0
    while q0 < inter.counts.size:
        start = ends[q0] - inter.counts[q0]
        q1 = max(q0 + 1, int(np.searchsorted(ends, start + limit, side="right")))
        yield q0, q1
        q0 = q1


def _segment_sum(values: np.ndarray, inter: _Interactions, q0: int, q1: int) -> np.ndarray:
    starts = inter.starts[q0:q1] - inter.starts[q0]
    return np.add.reduceat(values, starts, axis=0)


def _kernel_sums(inter: _Interactions, e: np.ndarray, t: np.ndarray, full: bool = True):
    """S_1, S_2, S_3, S_4 (module docstring) at offsets e (queries x nodes) from each query's anchor, with t."""
    out = [np.empty_like(e) for _ in range(4 if full else 2)]
    for q0, q1 in _chunks(inter, e.shape[1]):
        lo, hi = inter.starts[q0], inter.starts[q1 - 1] + inter.counts[q1 - 1]
        rep = np.repeat(np.arange(q1 - q0), inter.counts[q0:q1])
        r = inter.base[lo:hi, None] + e[q0:q1][rep]
        den = r * r + t[q0:q1][rep]
        k2 = inter.weight[lo:hi, None] / den
        k4 = k2 / den
        if full:
            out[0][q0:q1] = _segment_sum(k2 * r, inter, q0, q1)
            out[1][q0:q1] = _segment_sum(k2, inter, q0, q1)
            out[2][q0:q1] = _segment_sum(k4 * r, inter, q0, q1)
            out[3][q0:q1] = _segment_sum(k4, inter, q0, q1)
        else:
            out[0][q0:q1] = _segment_sum(k2, inter, q0, q1)
            out[1][q0:q1] = _segment_sum(k4, inter, q0, q1)
    return out


def _single_term_bound(inter: _Interactions, e: np.ndarray, sigma2: float) -> np.ndarray:
    """max over the effective atoms of sigma^2 w - (u - y)^2: for an exact atom a lower bound of t (its term alone
    reaches 1/sigma^2 below it), so a start that is > 0 wherever a node sits on an atom."""
    out = np.empty_like(e)
    for q0, q1 in _chunks(inter, e.shape[1]):
        lo, hi = inter.starts[q0], inter.starts[q1 - 1] + inter.counts[q1 - 1]
        rep = np.repeat(np.arange(q1 - q0), inter.counts[q0:q1])
        r = inter.base[lo:hi, None] + e[q0:q1][rep]
        values = sigma2 * inter.weight[lo:hi, None] - r * r
        out[q0:q1] = np.maximum.reduceat(values, inter.starts[q0:q1] - inter.starts[q0], axis=0)
    return out


def _solve_t(inter: _Interactions, e: np.ndarray, t0: np.ndarray, sigma2: float, floor: np.ndarray | None = None,
             tol: float = _T_TOL) -> np.ndarray:
    """t >= 0 with sigma^2 h_t = 1 at every node: Newton on psi(t) = 1/h_t - sigma^2, which is concave and
    increasing, so that from any start one step lands left of the root and the iterates then increase to it
    quadratically. ``floor`` (default 0) is a lower bound of the root that steps are clipped to."""
    floor = np.zeros_like(t0) if floor is None else floor
    t = np.maximum(np.maximum(t0, floor), _single_term_bound(inter, e, sigma2))
    active = np.ones(e.shape[0], dtype=bool)
    for _ in range(_T_STEPS):
        sub = inter if active.all() else inter.take(np.flatnonzero(active))
        s2, s4 = _kernel_sums(sub, e[active], t[active], full=False)
        res = sigma2 * s2 - 1.0
        t_old = t[active]
        t[active] = np.maximum(t_old + res * s2 / s4, floor[active])
        # converged, or at/outside a support edge (h_0 <= 1/sigma^2: t = 0)
        done = np.all((np.abs(res) <= tol) | ((t_old == 0) & (res <= 0)), axis=1)
        active[np.flatnonzero(active)[done]] = False
        if not active.any():
            return t
    raise ArithmeticError("Newton for t(u) did not converge")


def _bracketed_newton(fun, lo, hi, x0):
    """Roots of increasing functions, one per row: fun(x, rows) -> (f, f') for those rows, f(lo) <= 0 <= f(hi).

    Newton steps that leave the bracket are replaced by bisection. A row stops when its step is below
    _ROOT_TOL relative (or its bracket is that narrow), or when f = 0.
    """
    lo, hi, x = lo.copy(), hi.copy(), x0.copy()
    rows = np.arange(x.size)
    for _ in range(_ROOT_STEPS):
        f, df = fun(x[rows], rows)
        xr, lr, hr = x[rows], lo[rows], hi[rows]
        lr, hr = np.where(f < 0, xr, lr), np.where(f > 0, xr, hr)
        with np.errstate(divide="ignore", invalid="ignore"):
            new = xr - f / df
        bad = ~((new > lr) & (new < hr)) | ~np.isfinite(new)
        new = np.where(bad, (lr + hr) / 2.0, new)
        new = np.where(f == 0, xr, new)
        scale = _ROOT_TOL * np.maximum(np.abs(lr), np.abs(hr))
        done = (np.abs(new - xr) <= _ROOT_TOL * np.abs(new)) | (hr - lr <= scale) | (f == 0)
        x[rows], lo[rows], hi[rows] = new, lr, hr
        rows = rows[~done]
        if rows.size == 0:
            return x
    raise ArithmeticError("safeguarded Newton did not converge")


# ---------------------------------------------------------------------------------------------- support and pieces


@dataclass(frozen=True, eq=False)
class _Pieces:
    anchor: np.ndarray  # atom index each piece's offsets refer to
    far: np.ndarray  # atom index of the high end's anchor, and its offset from a[anchor]
    far_offset: np.ndarray
    lo: np.ndarray  # offsets of the piece ends from a[anchor]
    hi: np.ndarray
    component: np.ndarray
    edge_lo: np.ndarray  # True where the end is a support edge (t = 0 there)
    edge_hi: np.ndarray
    special_lo: np.ndarray  # True where the end is a support edge or a near-gap (nodes are clustered there)
    special_hi: np.ndarray


def _real_axis(tree: _Tree, anchor, e_lo, e_hi):
    """fun(x, rows) -> (S_1, S_2, S_3, S_4) on the real axis (t = 0; S_k = sum p/(u - a)^k, S_1 = sum p/(u - a)) at
    offsets x from a[anchor[rows]] inside the query intervals [e_lo, e_hi]."""
    inter = tree.interactions(anchor, e_lo, e_hi)

    def sums(x, rows):
        sub = inter if rows.size == anchor.size else inter.take(rows)
        return [s[:, 0] for s in _kernel_sums(sub, x[:, None], np.zeros((x.size, 1)))]

    return sums


def _edge_equation(sums, sign, sigma):
    """sign (h_0^{-1/2} - sigma) and its derivative: increasing in u for sign = +1 right of the atoms it leaves."""
    def fun(x, rows):
        s = sums(x, rows)
        return sign[rows] * (s[1] ** -0.5 - sigma), sign[rows] * s[1] ** -1.5 * s[2]
    return fun


def _support_pieces(tree: _Tree, sigma2: float):
    """Support components in u and the quadrature pieces (module docstring)."""
    a, p = tree.a, tree.p
    K = a.size
    sigma = math.sqrt(sigma2)
    target = 1.0 / sigma2
    gap = np.diff(a)
    bound = (p[:-1] ** (1 / 3) + p[1:] ** (1 / 3)) ** 3 / gap**2  # min over the gap of the two-atom terms
    exam = np.flatnonzero(bound < GAP_EXAMINE * target)
    gmin = np.full(K - 1, np.nan)  # offset of the minimum of h_0 from a[j], examined gaps only
    is_open = np.zeros(K - 1, dtype=bool)
    right_edge, left_edge = np.full(K - 1, np.nan), np.full(K - 1, np.nan)
    if exam.size:
        gmin[exam], h_min = tree.gap_minima(exam)
        op = h_min < target
        is_open[exam] = op
        j = exam[op]
        if j.size:
            gm = gmin[j]
            ones = np.ones(j.size)
            # right edge of the lower component: h_0^{-1/2} - sigma increases on (a_j, u_min)
            fun = _edge_equation(_real_axis(tree, j, np.zeros(j.size), gm), ones, sigma)
            right_edge[j] = _bracketed_newton(fun, np.zeros(j.size), gm, np.minimum(np.sqrt(sigma2 * p[j]), gm / 2))
            # left edge of the upper component, offsets from a_{j+1}: sigma - h_0^{-1/2} increases on (u_min, a_{j+1})
            neg = gm - gap[j]
            fun = _edge_equation(_real_axis(tree, j + 1, neg, np.zeros(j.size)), -ones, sigma)
            left_edge[j] = _bracketed_newton(fun, neg, np.zeros(j.size),
                                             np.maximum(-np.sqrt(sigma2 * p[j + 1]), neg / 2))
    # outer edges: within sigma of the extreme atoms (h_0 <= 1/(u - a)^2 there)
    lo_out, hi_out = np.array([-sigma, 0.0]), np.array([0.0, sigma])
    fun = _edge_equation(_real_axis(tree, np.array([0, K - 1]), lo_out, hi_out), np.array([-1.0, 1.0]), sigma)
    ext = _bracketed_newton(fun, lo_out, hi_out, np.array([-min(math.sqrt(sigma2 * p[0]), sigma / 2),
                                                           min(math.sqrt(sigma2 * p[-1]), sigma / 2)]))
    comp_start = np.concatenate([[0], np.flatnonzero(is_open) + 1])
    comp_end = np.concatenate([np.flatnonzero(is_open), [K - 1]])
    lo_edge = np.concatenate([[ext[0]], left_edge[is_open]])  # offsets from a[comp_start]
    hi_edge = np.concatenate([right_edge[is_open], [ext[1]]])  # offsets from a[comp_end]
    pieces = _cut_components(tree, sigma2, comp_start, comp_end, lo_edge, hi_edge, gmin, is_open)
    return pieces, (comp_start, comp_end)


def _cut_components(tree, sigma2, comp_start, comp_end, lo_edge, hi_edge, gmin, is_open) -> _Pieces:
    """Pieces: a single-atom component is one piece; a multi-atom one is cut at its examined closed gaps (near-gaps)
    and at its atoms, except that consecutive stretches between atoms are joined while the joined length stays
    below PIECE_SCALE sqrt(t) at every atom they touch (the integrand is smooth on the scale sqrt(t) there)."""
    a, p = tree.a, tree.p
    K = a.size
    comp_of_atom = np.repeat(np.arange(comp_start.size), comp_end - comp_start + 1)
    multi = np.flatnonzero((comp_start != comp_end)[comp_of_atom])
    scale = np.zeros(K)
    if multi.size:
        zero = np.zeros(multi.size)
        inter = tree.at_atoms(multi)
        t0 = sigma2 * p[multi][:, None]  # t >= sigma^2 p_j at u = a_j
        # a scale for joining decisions: 1e-2 relative is plenty
        scale[multi] = np.sqrt(_solve_t(inter, zero[:, None], t0, sigma2, floor=t0, tol=1e-2)[:, 0])
    # cut points (anchor atom, offset, kind) in increasing u: 0 low edge, 1 atom, 2 near-gap minimum, 3 high edge
    cut_gaps = np.flatnonzero(~is_open & ~np.isnan(gmin))
    anc = np.concatenate([comp_start, comp_end, multi, cut_gaps])
    off = np.concatenate([lo_edge, hi_edge, np.zeros(multi.size), gmin[cut_gaps]])
    kind = np.concatenate([np.zeros(comp_start.size, int), np.full(comp_end.size, 3), np.ones(multi.size, int),
                           np.full(cut_gaps.size, 2)])
    comp = comp_of_atom[anc]
    order = np.lexsort((kind, anc, comp))
    anc, off, kind, comp = anc[order], off[order], kind[order], comp[order]
    # drop atom cut points that can be joined over (greedy, left to right within each run between hard cuts)
    keep = np.ones(anc.size, dtype=bool)
    pos = a[anc]
    run_start, run_scale = pos[0], math.inf  # run_scale = inf: the run starts at an edge or a near-gap
    for i in range(1, anc.size - 1):
        # only stretches from atom to atom are joined: next to an edge or a near-gap the nearest atom stays a cut
        if kind[i] == 1 and kind[i + 1] == 1 and run_scale < math.inf:
            limit = min(run_scale, scale[anc[i + 1]])
            if pos[i + 1] - run_start <= PIECE_SCALE * limit:
                keep[i] = False  # joined: the piece runs on to the next atom
                run_scale = limit
                continue
        run_start, run_scale = pos[i], (scale[anc[i]] if kind[i] == 1 else math.inf)
    anc, off, kind, comp = anc[keep], off[keep], kind[keep], comp[keep]
    same = comp[:-1] == comp[1:]
    lo_a, lo_o, hi_a, hi_o = anc[:-1][same], off[:-1][same], anc[1:][same], off[1:][same]
    k_lo, k_hi = kind[:-1][same], kind[1:][same]
    return _Pieces(lo_a, hi_a, a[hi_a] - a[lo_a], lo_o, (a[hi_a] - a[lo_a]) + hi_o, comp[:-1][same],
                   k_lo == 0, k_hi == 3, k_lo != 1, k_hi != 1)


# ---------------------------------------------------------------------------------------------- the quadrature


def _piece_map(tau, special_lo, special_hi):
    """(phi, dphi/dtau) of the map u = lo + length phi(tau) (``_piece_nodes``), broadcast over the arguments."""
    theta = (tau + 1.0) * np.pi / 2.0
    both, low, high = special_lo & special_hi, special_lo & ~special_hi, ~special_lo & special_hi
    phi = np.where(both, (1.0 - np.cos(theta)) / 2.0,
                   np.where(low, 1.0 - np.cos(theta / 2.0), np.where(high, np.sin(theta / 2.0), (1.0 + tau) / 2.0)))
    dphi = np.where(both, np.sin(theta) * np.pi / 4.0,
                    np.where(low, np.sin(theta / 2.0) * np.pi / 4.0,
                             np.where(high, np.cos(theta / 2.0) * np.pi / 4.0, 0.5 + 0.0 * theta)))
    return phi, dphi


@functools.lru_cache(maxsize=8)
def _leggauss(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [-1, 1], cached and read-only (numpy recomputes them on every call, which
    took ~13% of a quadratic SE solve at d = 400: twice per threshold cut)."""
    tau, w = np.polynomial.legendre.leggauss(nodes)
    tau.flags.writeable = w.flags.writeable = False
    return tau, w


def _piece_nodes(lo, length, special_lo, special_hi, nodes: int, ends: bool = False):
    """Offsets e (pieces x nodes) and weights du of Gauss-Legendre in tau on u = lo + length phi(tau).

    phi clusters the nodes quadratically at a special end (a square-root edge or a near-gap) and nowhere else,
    with theta = (tau + 1) pi/2: both ends (1 - cos theta)/2, low end 1 - cos(theta/2), high end sin(theta/2),
    neither (1 + tau)/2. A linear map resolves an interior singularity at distance y from the piece's centre with
    Bernstein parameter ~ 2y/length; clustering would spend the nodes at the ends instead.
    ``ends``: also return the two ends (tau = -1, 1) as nodes of weight 0.
    """
    tau, w = _leggauss(nodes)
    if ends:
        tau, w = np.concatenate([[-1.0], tau, [1.0]]), np.concatenate([[0.0], w, [0.0]])
    phi, dphi = _piece_map(tau[None, :], np.asarray(special_lo)[:, None], np.asarray(special_hi)[:, None])
    length = np.asarray(length)[:, None]
    return np.asarray(lo)[:, None] + length * phi, length * dphi * w


@dataclass(frozen=True, eq=False)
class _NodeSet:
    """Quadrature nodes of a set of pieces (rows) sharing one interaction list per row."""

    e: np.ndarray  # offsets from the piece anchor
    t: np.ndarray
    s1: np.ndarray
    weight: np.ndarray  # rho x'(u) du


def _evaluate(inter: _Interactions, e: np.ndarray, du: np.ndarray, t0: np.ndarray, sigma2: float,
              floor: np.ndarray | None = None) -> _NodeSet:
    t = _solve_t(inter, e, t0, sigma2, floor)
    s1, _, s3, s4 = _kernel_sums(inter, e, t)
    weight = (2.0 * np.sqrt(t) / np.pi) * (t * s4 * s4 + s3 * s3) / s4 * du
    return _NodeSet(e, t, s1, weight)


def _start_t(masses: np.ndarray, pieces: _Pieces, rows: np.ndarray, e: np.ndarray, sigma2: float) -> np.ndarray:
    # t >= sigma^2 p_j - (u - a_j)^2 for every atom j (one term of h_t alone reaches 1/sigma^2 below that); the
    # bound from the two atoms the piece's ends are anchored at is a start left of the root, and > 0 at an atom
    near = sigma2 * masses[pieces.anchor[rows]][:, None] - e * e
    far = sigma2 * masses[pieces.far[rows]][:, None] - (e - pieces.far_offset[rows][:, None]) ** 2
    return np.maximum(np.maximum(near, far), 0.0)


@dataclass(frozen=True, eq=False)
class FreeConvolution:
    """Quadrature of rho_Y: nodes x_j, weights w_j (sum w_j f(x_j) ~ int f rho_Y) and the overlap 2u - x.

    ``atoms``/``masses``: the (possibly merged) spectrum used. ``mass_error``: largest relative error of the
    quadrature mass of a support component (exact separation: it must equal the mass of the atoms inside).
    """

    x: np.ndarray  # eigenvalue positions x(u) at the nodes
    density: np.ndarray  # rho_Y(x) at the nodes
    weight: np.ndarray  # rho_Y(x) x'(u) du quadrature weights
    overlap: np.ndarray  # E[u_x^T S u_x] = 2u - x at the nodes
    support: tuple  # support intervals in x
    sigma2: float
    atoms: np.ndarray = field(repr=False, default=None)
    masses: np.ndarray = field(repr=False, default=None)
    mass_error: float = 0.0
    nodes: int = DEFAULT_NODES
    _tree: _Tree = field(repr=False, default=None)
    _pieces: _Pieces = field(repr=False, default=None)
    _inter: _Interactions = field(repr=False, default=None)
    _set: _NodeSet = field(repr=False, default=None)  # interior nodes (pieces x nodes)
    _ends: np.ndarray = field(repr=False, default=None)  # x - a[anchor] at the piece ends (pieces x 2)
    _spikes: "_Spikes" = field(repr=False, default=None)  # isolated atoms kept as point eigenvalues (spikes="limit")
    _last_cut: dict = field(repr=False, default_factory=dict)  # {zeta: _cut(zeta)} of the last zeta asked for

    def integrate(self, f) -> float:
        """int f(x) rho_Y(x) dx."""
        return float(np.sum(self.weight * f(self.x)))

    # -- threshold at x = zeta --------------------------------------------------------------------------------

    def _cut(self, zeta: float):
        """(index of the piece containing zeta or -1, node set of its two halves split at x(u) = zeta, x - zeta at
        the piece's anchor, the split u_zeta - a[anchor] (nan if no piece)). The last one is kept:
        threshold_integrals, soft_threshold_error and the finite-d correction at the same zeta share it."""
        if zeta not in self._last_cut:
            self._last_cut.clear()
            self._last_cut[zeta] = self._new_cut(zeta)
        return self._last_cut[zeta]

    def _new_cut(self, zeta: float):
        a = self.atoms
        pieces = self._pieces
        base = a[pieces.anchor]
        inside = np.flatnonzero(((base - zeta) + self._ends[:, 0] < 0) & ((base - zeta) + self._ends[:, 1] > 0))
        if inside.size == 0:
            return -1, None, 0.0, math.nan
        i = int(inside[0])
        inter = self._inter.take(np.array([i]))
        lo, hi = pieces.lo[i], pieces.hi[i]
        s_lo, s_hi = pieces.special_lo[i: i + 1], pieces.special_hi[i: i + 1]
        shift = base[i] - zeta  # x - zeta = shift + (x - a[anchor])
        row = np.array([i])
        tau = np.concatenate([[-1.0], _leggauss(self.nodes)[0], [1.0]])
        xs = np.concatenate([[self._ends[i, 0]], self.x_offsets[i], [self._ends[i, 1]]])
        k = int(np.searchsorted(shift + xs, 0.0))  # shift + xs[k-1] < 0 <= shift + xs[k]
        f_lo, f_hi = shift + xs[k - 1], shift + xs[k]
        start = tau[k - 1] + (tau[k] - tau[k - 1]) * (-f_lo) / (f_hi - f_lo)

        def fun(tau, rows):
            e, dudtau = _map_point(lo, hi - lo, s_lo, s_hi, tau)
            t0, floor = self.start_t(row, e)
            t = _solve_t(inter, e, t0, self.sigma2, floor)
            s1, _, s3, s4 = _kernel_sums(inter, e, t)
            xprime = 2.0 * self.sigma2 * (t * s4 * s4 + s3 * s3) / s4
            return (shift + e + self.sigma2 * s1)[:, 0], (xprime * dudtau)[:, 0]

        tau_cut = _bracketed_newton(fun, tau[k - 1: k], tau[k: k + 1], np.array([start]))
        e_cut = float(_map_point(lo, hi - lo, s_lo, s_hi, tau_cut)[0][0, 0])
        e, du = _piece_nodes(np.array([lo, e_cut]), np.array([e_cut - lo, hi - e_cut]),
                             np.array([s_lo[0], False]), np.array([False, s_hi[0]]), self.nodes)
        both = self._inter.take(np.array([i, i]))
        t0, floor = self.start_t(np.array([i, i]), e)
        return i, _evaluate(both, e, du, t0, self.sigma2, floor), shift, e_cut

    def start_t(self, rows, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(start, floor) for _solve_t at offsets e (rows x points) inside the given pieces: floor the lower bound of
        _start_t, start t interpolated linearly from each piece's quadrature nodes, at least the floor (_solve_t
        converges from any start; a close one saves ~2/3 of the Newton steps of a threshold cut)."""
        rows = np.asarray(rows)
        known = np.empty_like(e)
        for k, r in enumerate(rows):
            known[k] = np.interp(e[k], self._set.e[r], self._set.t[r])
        floor = _start_t(self.masses, self._pieces, rows, e, self.sigma2)
        return np.maximum(known, floor), floor

    @property
    def x_offsets(self) -> np.ndarray:
        """x - a[anchor] at the interior nodes (pieces x nodes)."""
        return self._set.e + self.sigma2 * self._set.s1

    def _spike_terms(self, zeta: float) -> tuple[float, float, float]:
        """(P, J/2, m) of the point-eigenvalue spikes (section 'residues'): their residues, on the side of zeta their
        bump lies on, and for the bump containing zeta the path correction from the crossing u_zeta."""
        sp = self._spikes
        if sp is None or sp.atom.size == 0:
            return 0.0, 0.0, 0.0
        a, p = self.atoms[sp.atom], self.masses[sp.atom]
        half_j, above, below = residue_terms(p, sp.G, sp.h, a - zeta, a, self.sigma2, zeta)
        inside = (sp.x_lo < zeta) & (zeta < sp.x_hi)  # at most one bump contains zeta
        up = sp.x_lo >= zeta
        if inside.any():
            k = int(np.flatnonzero(inside)[0])
            e, t = self._spike_crossing(k, zeta)
            side = 1 if e >= 0 else -1
            j = sp.atom[k] + side
            gap = abs(self.atoms[j] - a[k]) if 0 <= j < self.atoms.size else math.inf
            c = _cut_point(e, math.sqrt(self.sigma2 * p[k]), gap) if t > 0 else e
            up[k] = c < 0  # the atom (offset 0) lies above c: its residue counts on the upper side
            if t > 0:
                inter = sp.inter.take(np.array([k]))
                corr = _path_correction(inter.base, inter.weight, float(a[k]), c, e + 1j * math.sqrt(t), self.sigma2,
                                        zeta)
            else:
                corr = (0.0, 0.0, 0.0)
        else:
            corr = (0.0, 0.0, 0.0)
        return (float(np.sum(p[up])) + corr[0], float(np.sum(half_j[up])) + corr[1],
                float(np.sum(above[up]) + np.sum(below[~up])) + corr[2])

    def _spike_crossing(self, k: int, zeta: float) -> tuple[float, float]:
        """(e, t): u_zeta = a + e inside spike k's bump (x(u_zeta) = zeta) and t there, by safeguarded Newton."""
        sp = self._spikes
        inter = sp.inter.take(np.array([k]))
        shift = self.atoms[sp.atom[k]] - zeta
        sigma2 = self.sigma2

        def fun(e, rows):
            t = _solve_t(inter, e[:, None], np.zeros((1, 1)), sigma2)
            s1, _, s3, s4 = _kernel_sums(inter, e[:, None], t)
            slope = np.where(t > 0, 2.0 * sigma2 * (t * s4 * s4 + s3 * s3) / s4, 1.0)
            return (shift + e[:, None] + sigma2 * s1)[:, 0], slope[:, 0]

        lo, hi = sp.lo[k: k + 1], sp.hi[k: k + 1]
        start = lo + (hi - lo) * (zeta - sp.x_lo[k]) / (sp.x_hi[k] - sp.x_lo[k])
        e = _bracketed_newton(fun, lo.copy(), hi.copy(), start)
        t = _solve_t(inter, e[:, None], np.zeros((1, 1)), sigma2)
        return float(e[0]), float(t[0, 0])

    def threshold_integrals(self, zeta: float) -> tuple[float, float]:
        """(P, J/2) at threshold zeta: P = int_{x > zeta} rho_Y and
        J/2 = int (x - zeta)_+ Re g(x) rho_Y(x) dx = (1/2) double integral of ((x-zeta)_+ - (y-zeta)_+)/(x - y)."""
        spike_p, spike_j, _ = self._spike_terms(zeta)
        base = self.atoms[self._pieces.anchor][:, None]
        xz = (base - zeta) + self.x_offsets
        above = xz > 0
        cut = self._cut(zeta)
        if cut[0] >= 0:
            above[cut[0]] = False
        P = float(np.sum(self._set.weight[above]))
        half_j = float(np.sum((self._set.weight * xz * self._set.s1)[above]))
        if cut[0] >= 0:
            _, sub, shift, _ = cut
            xo = shift + sub.e[1] + self.sigma2 * sub.s1[1]
            P += float(np.sum(sub.weight[1]))
            half_j += float(np.sum(sub.weight[1] * xo * sub.s1[1]))
        return P + spike_p, half_j + spike_j

    def soft_threshold_error(self, zeta: float, shrink: float | None = None) -> float:
        """int rho_Y(x) sum_j w_j(x) ((x - zeta)_+ - a_j)^2 dx: (1/d)||f(Y) - S||_F^2 for f(x) = (x - zeta)_+, as an
        integral of non-negative terms (exact identity sum_{i,j} (f(mu_i) - a_j)^2 (u_i . theta_j)^2).
        ``shrink`` b (default zeta): f(x) = (x - b) 1{x > zeta} instead, e.g. a hard threshold (b = 0); b != zeta needs
        spikes="exact" (the point-eigenvalue residues are those of the soft threshold)."""
        shrink = zeta if shrink is None else shrink
        if shrink != zeta and self._spikes is not None and self._spikes.atom.size:
            raise ValueError("soft_threshold_error with shrink != zeta needs a FreeConvolution built with spikes='exact'")
        cut = self._cut(zeta)
        rows = np.arange(self._pieces.anchor.size)
        sets = [(self._inter, self._set, rows)]
        if cut[0] >= 0:
            i, sub, _, _ = cut
            keep = rows != i
            sets = [(self._inter.take(rows[keep]), _subset(self._set, keep), rows[keep]),
                    (self._inter.take(np.array([i, i])), sub, np.array([i, i]))]
        total = 0.0
        for inter, ns, which in sets:
            anchor = self.atoms[self._pieces.anchor[which]][:, None]
            xo = ns.e + self.sigma2 * ns.s1
            f_minus_anchor = np.where((anchor - zeta) + xo > 0, xo - shrink, -anchor)  # f(x) - a[anchor]
            total += float(np.sum(ns.weight * self.sigma2 * _error_sums(inter, ns.e, ns.t, f_minus_anchor)))
        return total + self._spike_terms(zeta)[2]

    def atom_moments(self, zeta: float, offset: np.ndarray) -> np.ndarray:
        """Per atom j, rows k = 0, 1, 2: int rho_Y(x) w_j(x) (f(x) - c_j)^k dx with c_j = a_j + offset_j, f(x) =
        (x - zeta)_+, w_j(x) = sigma^2 p_j/((u - a_j)^2 + t) (the mass of atom j's eigenspace in the spectral measure at
        x). With offset = 0 the k = 2 row sums to ``soft_threshold_error``. The centre is given as an offset from the
        atom, so that f - c_j keeps its relative precision when it is far below a_j (sigma^2 ~ 1e-37: a centre rounded
        to float64 next to a_j ~ 1 would add mass (1e-16)^2 ~ R to the variance). The sums over atoms are direct (no
        tree), so that each atom gets its own share: O(atoms x nodes). Needs spikes="exact" (point-eigenvalue spikes
        carry no per-atom split)."""
        if self._spikes is not None and self._spikes.atom.size:
            raise ValueError("atom_moments needs a FreeConvolution built with spikes='exact'")
        cut = self._cut(zeta)
        rows = np.arange(self._pieces.anchor.size)
        sets = [(self._set, rows)]
        if cut[0] >= 0:
            keep = rows != cut[0]
            sets = [(_subset(self._set, keep), rows[keep]), (cut[1], np.array([cut[0], cut[0]]))]
        a, offset = self.atoms, np.asarray(offset, dtype=float)
        out = np.zeros((3, a.size))
        for ns, which in sets:
            anchor = np.broadcast_to(a[self._pieces.anchor[which]][:, None], ns.e.shape).ravel()
            xo = (ns.e + self.sigma2 * ns.s1).ravel()
            f_minus_anchor = np.where((anchor - zeta) + xo > 0, xo - zeta, -anchor)
            e, t, weight = ns.e.ravel(), ns.t.ravel(), ns.weight.ravel()
            step = max(1, _CHUNK // a.size)
            for i in range(0, e.size, step):
                c = slice(i, i + step)
                r = (anchor[c, None] - a[None, :]) + e[c, None]  # u - a_j
                w = weight[c, None] * self.sigma2 * self.masses[None, :] / (r * r + t[c, None])
                diff = f_minus_anchor[c, None] + ((anchor[c, None] - a[None, :]) - offset[None, :])
                out += np.stack([w.sum(axis=0), (w * diff).sum(axis=0), (w * diff * diff).sum(axis=0)])
        return out


def _map_point(lo, length, special_lo, special_hi, tau):
    """(e, du/dtau) at points tau of one piece's map, as (points x 1) arrays."""
    phi, dphi = _piece_map(np.asarray(tau), np.asarray(special_lo[0]), np.asarray(special_hi[0]))
    return (lo + length * phi)[:, None], (length * dphi)[:, None]


def _subset(ns: _NodeSet, rows) -> _NodeSet:
    return _NodeSet(ns.e[rows], ns.t[rows], ns.s1[rows], ns.weight[rows])


def _error_sums(inter: _Interactions, e, t, F):
    """sum_j p_j (F + a[anchor] - a_j)^2 / ((u - a_j)^2 + t) per node."""
    out = np.empty_like(e)
    for q0, q1 in _chunks(inter, e.shape[1]):
        lo, hi = inter.starts[q0], inter.starts[q1 - 1] + inter.counts[q1 - 1]
        rep = np.repeat(np.arange(q1 - q0), inter.counts[q0:q1])
        r = inter.base[lo:hi, None] + e[q0:q1][rep]
        diff = F[q0:q1][rep] + inter.base[lo:hi, None]
        out[q0:q1] = _segment_sum(inter.weight[lo:hi, None] * diff * diff / (r * r + t[q0:q1][rep]), inter, q0, q1)
    return out


def _evaluate_pieces(tree: _Tree, pieces: _Pieces, nodes: int, sigma2: float):
    """(interactions, node set with the two ends of every piece as nodes of weight 0)."""
    p = tree.p
    inter = tree.interactions(pieces.anchor, pieces.lo, pieces.hi)
    length = pieces.hi - pieces.lo
    e, du = _piece_nodes(pieces.lo, length, pieces.special_lo, pieces.special_hi, nodes, ends=True)
    rows = np.arange(length.size)
    floor = _start_t(p, pieces, rows, e, sigma2)
    floor[:, 0] = np.where(pieces.edge_lo, 0.0, floor[:, 0])
    floor[:, -1] = np.where(pieces.edge_hi, 0.0, floor[:, -1])
    # start: t at the piece's midpoint (loosely, 1e-3), shaped like t near square-root edges (t ~ distance)
    mid, _ = _piece_nodes(pieces.lo, length, pieces.special_lo, pieces.special_hi, 1)
    t_mid = _solve_t(inter, mid, _start_t(p, pieces, rows, mid, sigma2), sigma2, tol=1e-3)
    phi = (e - pieces.lo[:, None]) / length[:, None]
    shape = np.where(pieces.special_lo[:, None], np.minimum(2.0 * phi, 1.0), 1.0) * \
        np.where(pieces.special_hi[:, None], np.minimum(2.0 * (1.0 - phi), 1.0), 1.0)
    return inter, _evaluate(inter, e, du, np.maximum(t_mid * shape, floor), sigma2, floor)


def _bisect(pieces: _Pieces, rows: np.ndarray) -> _Pieces:
    """The given pieces split at their midpoints (the new ends are ordinary points: no clustering, t > 0)."""
    mid = (pieces.lo[rows] + pieces.hi[rows]) / 2.0
    no = np.zeros(rows.size, dtype=bool)
    pick = lambda f: np.concatenate([f[rows], f[rows]])  # noqa: E731
    return _Pieces(pick(pieces.anchor), pick(pieces.far), pick(pieces.far_offset),
                   np.concatenate([pieces.lo[rows], mid]), np.concatenate([mid, pieces.hi[rows]]),
                   pick(pieces.component), np.concatenate([pieces.edge_lo[rows], no]),
                   np.concatenate([no, pieces.edge_hi[rows]]), np.concatenate([pieces.special_lo[rows], no]),
                   np.concatenate([no, pieces.special_hi[rows]]))


def _join(first, second, order):
    """Rows of two same-typed results stacked and reordered."""
    if isinstance(first, _Interactions):
        counts = np.concatenate([first.counts, second.counts])
        starts = np.concatenate([first.starts, second.starts + first.base.size])
        both = _Interactions(np.concatenate([first.base, second.base]), np.concatenate([first.weight, second.weight]),
                             starts, counts)
        return both.take(order)
    cls = type(first)
    return cls(*(np.concatenate([getattr(first, f), getattr(second, f)])[order] for f in first.__dataclass_fields__))


@dataclass(frozen=True, eq=False)
class _Spikes:
    """Isolated atoms (single-atom support components) kept as point eigenvalues (section 'residues')."""

    atom: np.ndarray  # atom indices
    G: np.ndarray  # sum_{i != j} p_i/(a_j - a_i)
    h: np.ndarray  # sum_{i != j} p_i/(a_j - a_i)^2
    lo: np.ndarray  # the bump's edges in u (offsets from the atom) and in x
    hi: np.ndarray
    x_lo: np.ndarray
    x_hi: np.ndarray
    inter: _Interactions  # the spectrum seen from each bump (queries on [lo, hi])


def _spikes(tree: _Tree, pieces: _Pieces, sigma2: float) -> _Spikes:
    """Point-eigenvalue data of the atoms whose single-atom components are the given (one-piece) ``pieces``."""
    atom = pieces.anchor
    own = tree.at_atoms(atom)
    self_leaf = own.base == 0.0  # the atom itself: a level-0 leaf at offset 0 (no other block sits at offset 0)
    rep = np.repeat(np.arange(atom.size), own.counts)
    r = np.where(self_leaf, 1.0, own.base)
    w = np.where(self_leaf, 0.0, own.weight)
    G = np.bincount(rep, w / r, minlength=atom.size)
    h = np.bincount(rep, w / (r * r), minlength=atom.size)
    inter = tree.interactions(atom, pieces.lo, pieces.hi)
    ends = np.stack([pieces.lo, pieces.hi], axis=1)
    s1 = _kernel_sums(inter, ends, np.zeros_like(ends), full=True)[0]  # at the edges, t = 0
    x = tree.a[atom][:, None] + (ends + sigma2 * s1)
    return _Spikes(atom, G, h, pieces.lo, pieces.hi, x[:, 0], x[:, 1], inter)


def free_convolution_semicircle(s, sigma2: float, *, masses=None, nodes: int = DEFAULT_NODES,
                                merge: float | None = None, spikes: str = "exact",
                                point_mass: float = 1.0) -> FreeConvolution:
    """Quadrature for the spectrum of Y = S + sigma W (module docstring).

    ``s``: eigenvalues of S (or atoms, with ``masses`` summing to 1). ``merge``: None keeps every atom; a tolerance
    (e.g. MERGE_TOLERANCE) merges runs of close atoms first (``merge_atoms``). ``nodes``: Gauss nodes per piece.
    The pieces of a component whose quadrature mass misses its atoms' mass by more than MASS_TOLERANCE (relative)
    are bisected, up to REFINEMENTS times; ``mass_error`` reports what remains.

    ``spikes``: "exact" integrates every component by quadrature; "limit" keeps each isolated atom (a support component
    of its own) as a point eigenvalue x_j = a_j + sigma^2 G_j of mass p_j (section 'residues'): a node of weight p_j
    in ``x``/``weight`` (``density`` nan there, ``overlap`` a_j - sigma^2 G_j). ``threshold_integrals`` and
    ``soft_threshold_error`` stay exact (the residues are the bump's exact contributions); ``integrate(f)`` gets
    p_j f(x_j) for the bump, whose error is p_j f''(x_j) R_j^2/8 + ... with R_j = 2 q_j sigma sqrt(p_j) the bump's
    (semicircle) radius. ``point_mass``: with "limit", only isolated atoms of mass <= point_mass become points (a
    degenerate eigenvalue, e.g. the zeros of a finite-rank teacher, keeps its bump as quadrature: numeric.finite_size
    corrects a bulk, not a point that stands for many eigenvalues).
    """
    a, p = weighted_atoms(s, masses)
    if not (np.isfinite(sigma2) and sigma2 > 0):
        raise ValueError(f"sigma2 must be finite and > 0 (got {sigma2!r})")
    if spikes not in SPIKES:
        raise ValueError(f"spikes must be one of {', '.join(SPIKES)} (got {spikes!r})")
    if merge is not None:
        a, p = merge_atoms(a, p, sigma2, merge)
    tree = _tree(a.tobytes(), p.tobytes())
    pieces, (comp_start, comp_end) = _support_pieces(tree, sigma2)
    point = (comp_start == comp_end) & (p[comp_start] <= point_mass) if spikes == "limit" else \
        np.zeros(comp_start.size, dtype=bool)
    as_point = point[pieces.component]
    spike = _spikes(tree, _take(pieces, as_point), sigma2)
    pieces = _take(pieces, ~as_point)
    inter, full = _evaluate_pieces(tree, pieces, nodes, sigma2)
    atom_mass = np.add.reduceat(p, comp_start)
    for round_ in range(REFINEMENTS + 1):
        comp_mass = np.bincount(pieces.component, weights=full.weight.sum(axis=1), minlength=comp_start.size)
        error = np.where(point, 0.0, np.abs(comp_mass - atom_mass) / atom_mass)
        bad = error[pieces.component] > MASS_TOLERANCE
        if not bad.any() or round_ == REFINEMENTS:
            break
        if round_ < EDGE_REFINEMENTS:  # first towards the edges and near-gaps only
            bad &= pieces.special_lo | pieces.special_hi
        bad = np.flatnonzero(bad)
        good = np.setdiff1d(np.arange(pieces.anchor.size), bad)
        halves = _bisect(pieces, bad)
        new_inter, new_full = _evaluate_pieces(tree, halves, nodes, sigma2)
        # order: each bad piece replaced in place by its two halves
        key = np.concatenate([good.astype(float), bad + 0.25, bad + 0.75])
        order = np.argsort(key, kind="stable")
        pieces = _join(_take(pieces, good), halves, order)
        inter = _join(inter.take(good), new_inter, order)
        full = _join(_subset(full, good), new_full, order)
    mass_error = float(np.max(error))
    ends = (full.e + sigma2 * full.s1)[:, [0, -1]]
    ns = _NodeSet(full.e[:, 1:-1], full.t[:, 1:-1], full.s1[:, 1:-1], full.weight[:, 1:-1])
    base = a[pieces.anchor][:, None]
    spike_a = a[spike.atom]
    x = np.concatenate([(base + (ns.e + sigma2 * ns.s1)).ravel(), spike_a + sigma2 * spike.G])
    overlap = np.concatenate([(base + (ns.e - sigma2 * ns.s1)).ravel(), spike_a - sigma2 * spike.G])
    density = np.concatenate([(np.sqrt(ns.t) / (np.pi * sigma2)).ravel(), np.full(spike.atom.size, np.nan)])
    weight = np.concatenate([ns.weight.ravel(), p[spike.atom]])
    # support in x: x = u + sigma^2 sum p/(u - a) at the edges (t = 0), component by component
    comps = np.flatnonzero(~point)
    first = np.searchsorted(pieces.component, comps, side="left")
    last = np.searchsorted(pieces.component, comps, side="right") - 1
    x_lo = np.concatenate([a[pieces.anchor[first]] + ends[first, 0], spike.x_lo])
    x_hi = np.concatenate([a[pieces.anchor[last]] + ends[last, 1], spike.x_hi])
    order = np.argsort(x_lo, kind="stable")
    return FreeConvolution(x, density, weight, overlap, tuple(zip(x_lo[order].tolist(), x_hi[order].tolist())),
                           float(sigma2), a, p, mass_error, nodes, tree, pieces, inter, ns, ends, spike)


def _take(pieces: _Pieces, rows) -> _Pieces:
    return _Pieces(*(getattr(pieces, f)[rows] for f in pieces.__dataclass_fields__))


# ---------------------------------------------------------------------------------------------- residues
#
# The soft-threshold SE integrals without real-axis quadrature. For a polynomial F the integrand F(z) g(z) of
# int F rho = -(1/pi) Im int F(x) g(x + i0) dx becomes, in the subordination variable omega (z = omega + sigma^2 G(omega),
# g(z) = G(omega) = sum_j p_j/(omega - a_j)), the meromorphic function F(z(omega)) G(omega) z'(omega) whose only
# poles are the atoms. Likewise rho Re g = -(1/2 pi) Im g^2 and rho w_j = -(1/pi) Im p_j/(omega - a_j). Closing the
# contour around the atoms (residues) and cutting it at the threshold (a path from a real point c to
# omega_zeta = u + i sqrt(t), the preimage of x = zeta) gives, with G_j = sum_{i != j} p_i/(a_j - a_i),
# h_j = sum_{i != j} p_i/(a_j - a_i)^2, q_j^2 = 1 - sigma^2 h_j and x_j = a_j + sigma^2 G_j (the exact residues):
#
#   P     = sum_{a_j > c} p_j                                                   + (1/pi) Im int_c^omega_zeta G z'
#   J/2   = sum_{a_j > c} [p_j G_j (x_j - zeta) + p_j^2 (2 q_j^2 - 1)/2]        + (1/pi) Im int (z - zeta) G^2 z'/2
#   m     = sum_{a_j > c} p_j [(2 sigma^2 G_j - zeta)^2 + sigma^2 (1 - sigma^2 G_j^2) - 3 sigma^4 p_j h_j]
#         + sum_{a_j < c} p_j [a_j^2 - 2 a_j sigma^2 G_j + sigma^2 (1 - p_j)]
#         + (1/pi) Im int (z - zeta) [G (z - zeta - 2 omega) + 2] z'
#
# (m uses sum_i p_i (F - a_i)^2/(omega - a_i) = (F - omega)^2 G + 2 (F - omega) + omega - sum_i p_i a_i.) These are
# exact for any spectrum. For an isolated atom (its own support component, entirely on one side of zeta) they are its
# bump's contributions: the bump is a point eigenvalue at its centre of mass x_j with mass p_j, squared overlap q_j^2
# with its own direction and sigma^2 p_i/(a_j - a_i)^2 with the others, plus the O(p_j^2) terms shown; this is the
# d -> infinity (point-mass) limit of the bump, and it is exact, not an approximation. G_j and h_j do not depend on
# sigma^2 or zeta, so one pass over the atoms serves a whole SE solve; the threshold only enters through c and a short
# path, on which the integrand is evaluated with Gauss-Legendre panels graded towards the real axis.

# Path panels: Gauss-Legendre nodes per panel. Each panel [s, 2 s] of the path from c keeps the nearest pole at >= 3
# half-lengths (Bernstein parameter >= 3 + sqrt(8)): 16 nodes give an error ~ 5.8^-32 of the panel's integrand scale.
PATH_NODES = 16
SPIKES = ("exact", "limit")


def residue_terms(p, G, h, a_minus_zeta, a, sigma2: float, zeta: float):
    """Per-atom residues (section 'residues'): (J/2 if above, m if above, m if below) at threshold zeta."""
    q2 = 1.0 - sigma2 * h
    half_j = p * G * (a_minus_zeta + sigma2 * G) + 0.5 * p * p * (2.0 * q2 - 1.0)
    above = p * ((2.0 * sigma2 * G - zeta) ** 2 + sigma2 * (1.0 - sigma2 * G * G) - 3.0 * sigma2 * sigma2 * p * h)
    below = p * (a * a - 2.0 * a * sigma2 * G + sigma2 * (1.0 - p))
    return half_j, above, below


def _cut_point(e: float, w: float, gap: float) -> float:
    """The real start c (offset from the atom) of the path to omega_zeta = a + e + i sqrt(t).

    Straight below u_zeta (vertical path) unless u_zeta is within w/2 of the atom, w = sigma sqrt(p) the radius where
    the atom's own term sigma^2 p/|omega - a|^2 of sigma^2 h reaches 1: nearer, the integrand grows like
    (w/|omega - a|)^k and its Im part would cancel to many digits. Then c = a + 2 w on u_zeta's side (at most half the
    ``gap`` to the next atom there): omega_zeta lies on the atom's arc (|omega_zeta - a| ~ w), and the straight path
    from c keeps >= 0.89 w from the atom."""
    if abs(e) >= 0.5 * w:
        return e
    return math.copysign(min(2.0 * w, 0.5 * gap), e if e != 0 else 1.0)


def _path_correction(base, weight, anchor_pos: float, c: float, end: complex, sigma2: float, zeta: float):
    """(1/pi) Im of the path integrals c -> end (offsets from the anchor atom at anchor_pos) of the P, J/2 and m
    integrands G z', (z - zeta) G^2 z'/2 and (z - zeta) [G (z - zeta - 2 omega) + 2] z' (section 'residues');
    ``base``/``weight``: the spectrum's effective atoms seen from the anchor (offsets a[anchor] - point)."""
    dist = float(np.min(np.abs(c + base[weight > 0])))  # from c to the nearest pole
    s, w = _graded_panels(min(0.5, dist / (2.0 * abs(end - c))))
    off = c + s * (end - c)
    r = off[:, None] + base[None, :]
    inv = weight / r
    g = inv.sum(axis=1)
    zp = 1.0 - sigma2 * (inv / r).sum(axis=1)
    F = (anchor_pos - zeta) + off + sigma2 * g  # z - zeta
    dw = (end - c) * w
    corr = [g * zp, 0.5 * F * g * g * zp, F * (g * (F - 2.0 * (anchor_pos + off)) + 2.0) * zp]
    return tuple(float(np.imag(np.sum(v * dw))) / math.pi for v in corr)


def _graded_panels(first: float):
    """Gauss-Legendre nodes and weights on [0, 1] in panels [0, first], [first, 2 first], ... (doubling)."""
    x, w = _leggauss(PATH_NODES)
    edges = [0.0]
    s = max(first, 1e-300)
    while s < 1.0:
        edges.append(s)
        s *= 2.0
    edges.append(1.0)
    edges = np.array(edges)
    half = np.diff(edges)[:, None] / 2.0
    return ((edges[:-1, None] + edges[1:, None]) / 2.0 + half * x).ravel(), (half * w).ravel()
