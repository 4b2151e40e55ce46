"""Quadratic network, symbolic side: trace-norm equivalence and the design covariance (Wick)."""

import numpy as np
import pytest
import sympy as sp

from analytic.design import design_covariance, gaussian_expectation
from analytic.equivalence import trace_norm_equivalence


@pytest.mark.parametrize("p,dim", [(2, 2), (3, 2), (4, 3)])
def test_weight_decay_is_a_trace_penalty(p, dim):
    eq = trace_norm_equivalence(p, dim)
    assert eq["penalty_residual"] == 0 and eq["feature_residual"] == 0 and eq["symmetric_psd_factor"]


def test_isserlis_moments():
    x, y = sp.symbols("x y", real=True)
    # E x^4 = 3, E x^6 = 15, E x^2 y^2 = 1, odd moments vanish
    assert gaussian_expectation(x**4 + x**6 + x**2 * y**2 + x**3 * y, (x, y)) == 3 + 15 + 1


@pytest.mark.parametrize("dim", [2, 3, 4])
def test_design_covariance_is_two_over_d_frobenius(dim):
    second_moment, frobenius = design_covariance(dim)
    assert sp.simplify(second_moment - 2 * frobenius / dim) == 0


def test_design_covariance_by_monte_carlo():
    """Independent check: sample x, compare the empirical E<A,S><A,S'> with (2/d)<S,S'>_F."""
    rng = np.random.default_rng(0)
    dim, samples = 5, 400_000
    S = rng.standard_normal((dim, dim)); S = (S + S.T) / 2
    T = rng.standard_normal((dim, dim)); T = (T + T.T) / 2
    x = rng.standard_normal((samples, dim))
    fs = (np.einsum("ni,ij,nj->n", x, S, x) - np.trace(S)) / np.sqrt(dim)
    ft = (np.einsum("ni,ij,nj->n", x, T, x) - np.trace(T)) / np.sqrt(dim)
    estimate, err = np.mean(fs * ft), np.std(fs * ft) / np.sqrt(samples)
    assert abs(estimate - 2 * np.sum(S * T) / dim) < 4 * err
