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
