"""Free convolution with a semicircle (numeric/free_probability.py): exact moments, overlaps, sampling."""

import numpy as np
import pytest

from numeric.free_probability import free_convolution_semicircle
from numeric.teachers import teacher_magnitudes


@pytest.mark.parametrize("sigma2", [0.04, 1.0, 9.0])
def test_semicircle_alone(sigma2):
    fc = free_convolution_semicircle(np.zeros(7), sigma2)
    r = 2 * np.sqrt(sigma2)
    assert len(fc.support) == 1 and fc.support[0] == pytest.approx((-r, r), rel=1e-12)
    # moments of the semicircle: Catalan numbers times sigma^(2k)
    for k, catalan in [(0, 1), (1, 1), (2, 2), (3, 5)]:
        assert fc.integrate(lambda x: x ** (2 * k)) == pytest.approx(catalan * sigma2**k, rel=1e-10)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("sigma2", [0.01, 0.3, 5.0])
def test_moments_follow_free_cumulants(seed, sigma2):
    """Only the second free cumulant changes: m1, m2 + s2, m3 + 3 s2 m1, m4 + 4 s2 m2 + 2 s2 m1^2 + 2 s2^2."""
    s = np.random.default_rng(seed).gamma(0.7, size=25) - 0.3
    fc = free_convolution_semicircle(s, sigma2)
    m = [np.mean(s**k) for k in range(5)]
    expected = [1, m[1], m[2] + sigma2, m[3] + 3 * sigma2 * m[1],
                m[4] + 4 * sigma2 * m[2] + 2 * sigma2 * m[1] ** 2 + 2 * sigma2**2]
    for k, e in enumerate(expected):
        assert fc.integrate(lambda x: x**k) == pytest.approx(e, rel=1e-9, abs=1e-11)


def test_eigenvector_overlap():
    """E[u_x^T S u_x] integrates to ||S||_F^2 / d, and equals s when S = s I."""
    s = teacher_magnitudes(60, 1.2)
    fc = free_convolution_semicircle(s, 0.2)
    assert np.sum(fc.weight * fc.x * fc.overlap) == pytest.approx(np.mean(s**2), rel=1e-9)
    flat = free_convolution_semicircle(np.full(5, 1.7), 0.5)
    assert flat.overlap == pytest.approx(np.full_like(flat.overlap, 1.7), rel=1e-9)


def test_matches_sampled_spectra():
    """Eigenvalues of diag(s) + sigma W (W GOE, semicircle on [-2, 2]) at d = 400, 4 samples: the
    empirical CDF matches int_{x <= c} rho_Y within 0.01 (O(1/d) finite-size plus sampling noise)."""
    d, sigma2 = 400, 0.25
    s = teacher_magnitudes(d, 1.0)
    fc = free_convolution_semicircle(s, sigma2)
    rng = np.random.default_rng(3)
    eig = []
    for _ in range(4):
        G = rng.standard_normal((d, d))
        W = (G + G.T) / np.sqrt(2 * d)
        eig.append(np.linalg.eigvalsh(np.diag(s) + np.sqrt(sigma2) * W))
    eig = np.concatenate(eig)
    for c in np.quantile(eig, [0.1, 0.3, 0.5, 0.7, 0.9, 0.99]):
        assert np.mean(eig <= c) == pytest.approx(fc.integrate(lambda x: (x <= c).astype(float)), abs=0.01)


@pytest.mark.parametrize("bad", [dict(s=[], sigma2=1.0), dict(s=[0.0, np.nan], sigma2=1.0), dict(s=[1.0], sigma2=0.0)])
def test_invalid_input(bad):
    with pytest.raises(ValueError):
        free_convolution_semicircle(**bad)


# ---- weighted and merged spectra, the tree, thresholds (the large-d machinery) ----

from numeric.free_probability import MERGE_TOLERANCE, _Tree, merge_atoms, weighted_atoms  # noqa: E402
from numeric.teachers import quadratic_teacher_spectrum  # noqa: E402


@pytest.mark.parametrize("sigma2", [0.01, 0.5])
def test_weighted_atoms_follow_free_cumulants(sigma2):
    """Atoms with unequal masses: the moments are those of the weighted spectrum plus the semicircle's."""
    rng = np.random.default_rng(4)
    a, p = rng.gamma(0.8, size=15), rng.uniform(0.1, 1.0, size=15)
    p /= p.sum()
    fc = free_convolution_semicircle(a, sigma2, masses=p, nodes=32)
    m = [np.sum(p * a**k) for k in range(5)]
    expected = [1, m[1], m[2] + sigma2, m[3] + 3 * sigma2 * m[1],
                m[4] + 4 * sigma2 * m[2] + 2 * sigma2 * m[1] ** 2 + 2 * sigma2**2]
    for k, e in enumerate(expected):
        assert fc.integrate(lambda x: x**k) == pytest.approx(e, rel=1e-11, abs=1e-13)
    assert fc.mass_error < 1e-11
    # repeated eigenvalues are one atom with their total mass
    assert free_convolution_semicircle(np.repeat(a, 3), sigma2, nodes=32).integrate(lambda x: x**4) == pytest.approx(
        free_convolution_semicircle(a, sigma2, nodes=32).integrate(lambda x: x**4), rel=1e-12)


def test_merging_keeps_moments_and_isolated_eigenvalues():
    s = quadratic_teacher_spectrum(20_000, 1.0)
    a, p = weighted_atoms(s)
    am, pm = merge_atoms(a, p, 0.5)
    assert am.size < 2_000
    for k in range(4):  # a 2-point Gauss rule per group keeps the moments 0..3
        assert np.sum(pm * am**k) == pytest.approx(np.mean(s**k), rel=1e-12)
    top = np.sort(s)[-100:]  # the top eigenvalues are far apart: kept exactly, with mass 1/d
    assert np.all(np.isin(top, am)) and np.all(pm[np.isin(am, top)] == pytest.approx(1 / s.size, rel=1e-12))


@pytest.mark.parametrize("d", [2000, 10_000])
def test_merged_vs_exact_quadrature(d):
    """Merged (MERGE_TOLERANCE) vs every atom kept, at fixed sigma^2: m within 1e-9 and P, J/2 within 1e-8 relative
    (measured: <= 5e-10 and <= 4e-9)."""
    s = quadratic_teacher_spectrum(d, 1.0)
    sigma2 = 0.05
    exact = free_convolution_semicircle(s, sigma2, nodes=24)
    merged = free_convolution_semicircle(s, sigma2, nodes=24, merge=MERGE_TOLERANCE)
    assert merged.atoms.size < exact.atoms.size / 2
    for zeta in (0.0, 0.3, 1.0, 3.0):
        assert merged.threshold_integrals(zeta) == pytest.approx(exact.threshold_integrals(zeta), rel=1e-8, abs=1e-15)
        assert merged.soft_threshold_error(zeta) == pytest.approx(exact.soft_threshold_error(zeta), rel=1e-9)


def test_tree_sums_match_direct_sums():
    s = quadratic_teacher_spectrum(3000, 0.8)
    a, p = weighted_atoms(s)
    tree = _Tree(a, p)
    rng = np.random.default_rng(2)
    anchor = rng.integers(0, a.size, 200)
    e = rng.normal(size=200) * 0.1
    t = rng.uniform(1e-6, 1e-2, size=200)
    from numeric.free_probability import _kernel_sums

    sums = _kernel_sums(tree.interactions(anchor, e, e), e[:, None], t[:, None])
    r = (a[anchor] + e)[:, None] - a[None, :]
    den = r**2 + t[:, None]
    direct = [np.sum(p * r / den, 1), np.sum(p / den, 1), np.sum(p * r / den**2, 1), np.sum(p / den**2, 1)]
    for tree_sum, exact in zip(sums, direct):
        scale = np.sum(np.abs(p * r / den), 1)  # signed sums: relative to their absolute terms
        assert np.max(np.abs(tree_sum[:, 0] - exact) / np.maximum(np.abs(exact), 1e-3 * scale)) < 1e-10


def test_isolated_spike_is_a_bump_of_its_own_mass():
    """A spike far above a bulk: its own support component, of mass exactly its weight, with its centre of mass
    exactly at s + sigma^2 sum_j p_j/(s - s_j) (the residue identity, as in the BBP test below)."""
    a = np.array([0.0, 10.0])
    p = np.array([0.999, 0.001])
    fc = free_convolution_semicircle(a, 1.0, masses=p, nodes=16)
    assert len(fc.support) == 2
    lo, hi = fc.support[1]
    assert fc.integrate(lambda x: (x > lo - 1e-9).astype(float)) == pytest.approx(0.001, rel=1e-12)
    centre = fc.integrate(lambda x: x * (x > lo - 1e-9)) / 0.001
    assert centre == pytest.approx(10 + 0.999 / 10, rel=1e-12)


def test_threshold_integrals_are_smooth_in_zeta():
    """P(zeta) and J/2 are computed with the piece containing zeta cut there: finite differences of P match the
    density, and J/2 = int (x - zeta)_+ Re g rho agrees with a fine reference."""
    s = quadratic_teacher_spectrum(60, 1.2)
    fc = free_convolution_semicircle(s, 0.2, nodes=24)
    fine = free_convolution_semicircle(s, 0.2, nodes=128)
    for zeta in (0.1, 0.77, 2.5):
        assert fc.threshold_integrals(zeta) == pytest.approx(fine.threshold_integrals(zeta), rel=1e-12)
    h = 1e-5
    dP = (fc.threshold_integrals(0.77 - h)[0] - fc.threshold_integrals(0.77 + h)[0]) / (2 * h)
    assert dP == pytest.approx(np.interp(0.77, fine.x, fine.density), rel=1e-4)


# ---- isolated atoms as point eigenvalues (spikes="limit"): exact residues ----


def _se_integrals(fc, zeta):
    return (*fc.threshold_integrals(zeta), fc.soft_threshold_error(zeta))


@pytest.mark.parametrize("d, gamma, rank, sigma2", [(60, 1.2, None, 0.2), (300, 1.5, None, 0.01),
                                                    (30, 1.0, 4, 0.02), (2000, 1.5, None, 1e-5)])
def test_point_spikes_give_the_exact_se_integrals(d, gamma, rank, sigma2):
    """P, J/2 and m with every isolated atom kept as a point eigenvalue (its residues) agree with the quadrature of its
    bump to rounding (measured <= 8e-15), for thresholds in the bulk, in gaps and inside the spikes' bumps."""
    s = quadratic_teacher_spectrum(d, gamma, rank)
    exact = free_convolution_semicircle(s, sigma2, nodes=48)
    point = free_convolution_semicircle(s, sigma2, nodes=48, spikes="limit")
    sp = point._spikes
    assert sp.atom.size >= 3 and len(point.support) == len(exact.support)
    zetas = [-0.1, 0.0, 0.05, 0.3, 1.0, 2.5]
    zetas += [lo + f * (hi - lo) for lo, hi in zip(sp.x_lo[:4], sp.x_hi[:4]) for f in (0.1, 0.5, 0.77, 0.97)]
    for zeta in zetas:
        # 1e-10: far above the measured 8e-15, so that only a wrong formula or path fails
        assert _se_integrals(point, zeta) == pytest.approx(_se_integrals(exact, zeta), rel=1e-10, abs=1e-15)


def test_spike_in_a_semicircle_bbp_position_and_overlap():
    """A spike s of mass p above a semicircle bulk (atom 0 of mass 1 - p): the bump's centre of mass is exactly
    x = s + sigma^2 (1 - p)/s (the residue identity) and its mean squared overlap with its own direction tends to the
    BBP value 1 - sigma^2/s^2 as p -> 0 (here 1 - sigma^2 (1 - p)/s^2, the difference being O(p))."""
    sigma2, s = 1.0, 2.5
    for p in (1e-3, 1e-5):
        exact = free_convolution_semicircle([0.0, s], sigma2, masses=[1 - p, p], nodes=48)
        point = free_convolution_semicircle([0.0, s], sigma2, masses=[1 - p, p], nodes=48, spikes="limit")
        bump = exact.x > exact.support[1][0] - 1e-12
        assert np.sum(exact.weight[bump]) == pytest.approx(p, rel=1e-12)
        centre = np.sum(exact.weight[bump] * exact.x[bump]) / p
        assert centre == pytest.approx(s + sigma2 * (1 - p) / s, rel=1e-12)
        assert point.x[-1] == pytest.approx(centre, rel=1e-12)
        # own-direction weight w = sigma^2 p/((u - s)^2 + t) averaged over the bump (u = (x + overlap)/2)
        u = (exact.x[bump] + exact.overlap[bump]) / 2
        t = (np.pi * sigma2 * exact.density[bump]) ** 2
        q2_bump = np.sum(exact.weight[bump] * sigma2 * p / ((u - s) ** 2 + t)) / p
        q2 = 1 - sigma2 * point._spikes.h[-1]  # (the bulk, a single atom, is a point eigenvalue too)
        assert q2 == pytest.approx(1 - sigma2 * (1 - p) / s**2, rel=1e-12)
        assert abs(q2_bump - q2) < 5 * p  # O(p) (measured ~1.1 p)
        assert q2 == pytest.approx(1 - sigma2 / s**2, abs=2 * p)


def test_point_spike_weights_are_consistent():
    """At a point eigenvalue the weights q_k^2 and sigma^2 p_j/(a_k - a_j)^2 sum to 1 (by construction), and each
    spike direction's total weight over the spectrum, q_k^2 p_k + int_rest rho w_k, is p_k (the rest by quadrature:
    its nodes include the spike in all sums)."""
    s = quadratic_teacher_spectrum(200, 1.5)
    sigma2 = 0.02
    fc = free_convolution_semicircle(s, sigma2, nodes=48, spikes="limit")
    a, p, sp = fc.atoms, fc.masses, fc._spikes
    rest = np.isfinite(fc.density)
    u = (fc.x[rest] + fc.overlap[rest]) / 2
    t = (np.pi * sigma2 * fc.density[rest]) ** 2
    for k in range(4):
        ak, pk = a[sp.atom[k]], p[sp.atom[k]]
        others = np.arange(a.size) != sp.atom[k]
        assert (1 - sigma2 * sp.h[k]) + sigma2 * np.sum(p[others] / (ak - a[others]) ** 2) == pytest.approx(1, abs=1e-13)
        on_rest = np.sum(fc.weight[rest] * sigma2 * pk / ((u - ak) ** 2 + t))
        # point spikes of the other isolated atoms: their weight on direction k is sigma^2 p_k/(a_j - a_k)^2
        on_spikes = sum(p[j] * sigma2 * pk / (a[j] - ak) ** 2 for j in sp.atom if j != sp.atom[k])
        assert (1 - sigma2 * sp.h[k]) * pk + on_rest + on_spikes == pytest.approx(pk, rel=1e-10)
    assert fc.integrate(lambda x: np.ones_like(x)) == pytest.approx(1.0, rel=1e-12)


def test_spikes_option_is_checked():
    with pytest.raises(ValueError):
        free_convolution_semicircle([0.0, 1.0], 0.1, spikes="auto")


def test_gap_minima_are_the_minima_of_h0_and_are_reused():
    """The most open point of each gap (free convolution's support search and the finite-d spike contours): h_0' = 0
    there (h_0 = sum p/(u - a)^2, convex between the poles), h_0 the direct sum, and a second call recomputes nothing."""
    from numeric.free_probability import _Tree, weighted_atoms
    from numeric.teachers import quadratic_teacher_spectrum

    a, p = weighted_atoms(quadratic_teacher_spectrum(300, 1.0))
    tree = _Tree(a, p)
    gaps = np.arange(0, a.size - 1, 7)
    offset, h = tree.gap_minima(gaps)
    u = a[gaps] + offset
    assert np.all((u > a[gaps]) & (u < a[gaps + 1]))
    r = u[:, None] - a[None, :]
    slope = -2 * np.sum(p / r**3, axis=1)
    assert np.all(np.abs(slope) <= 1e-9 * np.sum(np.abs(p / r**3), axis=1))
    assert np.allclose(h, np.sum(p / r**2, axis=1), rtol=1e-10)
    tree._gap_min[gaps[0]] = 1e-300  # a marker: a cached gap is not solved again
    assert tree.gap_minima(gaps[:1])[0][0] == 1e-300


def test_interactions_at_atoms_are_the_point_queries_and_are_kept(monkeypatch):
    """_Tree.at_atoms(j) = interactions(j, 0, 0) (sigma^2-independent), kept per atom set within a byte budget: the
    same object comes back; over the budget the oldest sets go first, and a set larger than it is not kept."""
    import numeric.free_probability as fp
    from numeric.free_probability import _Tree, weighted_atoms
    from numeric.teachers import quadratic_teacher_spectrum

    a, p = weighted_atoms(quadratic_teacher_spectrum(300, 1.0))
    tree = _Tree(a, p)
    atoms = np.arange(5, a.size, 11)
    kept = tree.at_atoms(atoms)
    direct = tree.interactions(atoms, np.zeros(atoms.size), np.zeros(atoms.size))
    for field in ("base", "weight", "starts", "counts"):
        assert np.array_equal(getattr(kept, field), getattr(direct, field))
    assert tree.at_atoms(atoms.copy()) is kept
    monkeypatch.setattr(fp, "_AT_ATOMS_BYTES", kept.nbytes + 1)
    small = tree.at_atoms(np.array([0]))  # over the budget together: the older set goes
    assert tree.at_atoms(np.array([0])) is small and tree.at_atoms(atoms) is not kept
    monkeypatch.setattr(fp, "_AT_ATOMS_BYTES", 1)
    assert tree.at_atoms(np.array([1])) is not tree.at_atoms(np.array([1]))  # larger than the budget: not kept
