"""What each network model brings to the cross-check: its state evolution, its simulations, how
d^ell counts samples, and the finite-size allowance of SE vs simulation.

* samples: d^ell is n for the diagonal network and n_eff = n/d for the quadratic one (spec/method.md),
  so a ray (ell, kappa) has n = d^(ell + SAMPLE_SHIFT) and lam = d^kappa.
* allowance (not fitted to the simulations it judges): the diagonal SE is a d-dimensional AMP prediction with
  O(1/sqrt d) fluctuations, allowance SE/sqrt(d). The quadratic network is compared with its finite-d SE
  (``comparison_se``: the deterministic SE with the O(1/d) correction of the real GOE, numeric.finite_size, which
  agrees with the Monte-Carlo SE to O(1/d^2)). On the Gaussian design of the same covariance that SE has no stated
  allowance (GAUSSIAN_ALLOWANCE = 0: 3 s.e., the issue's criterion; measured at d = 30, 60, 100 over the cross-check's
  points: |z| <= 2.5, where the uncorrected SE missed by up to 4.7 s.e. near the threshold). On real features
  (x x^T - I)/sqrt(d) the spec says the SE is low by roughly 3/d relative at d = 30-60 ("Finite d is not
  Gaussian"): allowance QUADRATIC_ALLOWANCE * SE / d with the constant 5 fixed from that statement before any
  comparison. It is measured to be too small for the power-law teacher at under-sampled points (README quadratic
  item 5, docs/quadratic_real_features.md: the gap is 3.5-60 % at d = 100, set by the teacher's O(1) effective
  rank; at gamma = 1.5, Delta = 0, alpha = 0.1 it decays like 1/d beyond d ~ 100 with gap * d ~ 35 up to d = 400),
  and to hold for a flat teacher of rank d/4 (the universality control of crosscheck.run).
"""

from __future__ import annotations

import math

MODELS = ("diagonal", "quadratic")
SAMPLE_SHIFT = {"diagonal": 0, "quadratic": 1}
# Rays start on this grid of d and are extended by factors of 100 up to D_MAX while their slope moves
# (crosscheck.rays). Diagonal: the binned LASSO SE costs ~0.1 s at any d, checked against exact sums
# at d = 1e6; beyond, its geometric bins keep their relative error, and a solve that leaves the
# float64 range is flagged. Quadratic: d <= 1e4, because one SE point costs up to ~20 s at d = 1e4 and
# minutes at d = 1e5 when n_eff >= d^1.5 or Delta = 0 (benchmarks/bench_se_quadratic.py); a ray whose
# slope has not settled by then is reported pre-asymptotic (crosscheck.compare).
QUADRATIC_RAY_DS = tuple(10.0**k for k in (2, 3, 4))
RAY_DS = {"diagonal": tuple(10.0**k for k in (4, 6, 8, 10, 12)), "quadratic": QUADRATIC_RAY_DS}
D_MAX = {"diagonal": 1e30, "quadratic": 1e4}
QUADRATIC_ALLOWANCE = 5.0
GAUSSIAN_ALLOWANCE = 0.0
# The uncorrected free-probability SE (the d -> infinity spectra, e.g. the pruning predictions of
# numeric.postprocess_quadratic) misses the O(1/d) GOE terms: +0.5 to +1.0 SE/d against the Monte-Carlo SE at
# d = 25 ... 200 (tests/test_se_matrix.py); on the Gaussian design it gets this allowance instead of none.
FREE_LIMIT_ALLOWANCE = 1.0
SIM_METHODS = {"diagonal": ("network", "lasso"), "quadratic": ("network", "convex")}


def check_model(model: str) -> str:
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r} (available: {', '.join(MODELS)})")
    return model


def samples(model: str, d: float, ell: float) -> float:
    """n on the ray n_eff-or-n = d^ell."""
    return d ** (ell + SAMPLE_SHIFT[check_model(model)])


def state_evolution(model: str, d, n, lam, gamma, noise, **options):
    """The model's finite-d SE (result with excess_risk, converged, message, to_dict())."""
    if check_model(model) == "diagonal":
        from numeric.se_lasso import lasso_se

        return lasso_se(d, n, lam, gamma, noise, **options)
    from numeric.se_matrix import quadratic_se

    return quadratic_se(d, n, lam, gamma, noise, **options)


def bayes(model: str, d, n, gamma, noise, **options):
    if check_model(model) == "diagonal":
        from numeric.se_bayes import bayes_se

        return bayes_se(d, n, gamma, noise, **options)
    from numeric.se_quadratic_bayes import bayes_se_quadratic

    return bayes_se_quadratic(d, n, gamma, noise, **options)


def comparison_se(model: str, d, n, lam, gamma, noise, **options):
    """The SE that simulations at this d are judged against (module docstring): finite-d corrected (quadratic).
    ``options``: e.g. the teacher's rank (quadratic)."""
    return state_evolution(model, d, n, lam, gamma, noise, **(options if model == "diagonal" else
                                                               {"finite_d": True, **options}))


def simulate(model: str, d, n, lam, gamma, noise, **options):
    """Mean excess risk of trained networks or convex solves over seeds (SimResult-like)."""
    if check_model(model) == "diagonal":
        from numeric.simulate import simulate_diagonal

        return simulate_diagonal(d, n, lam, gamma, noise, **options)
    from numeric.simulate_quadratic import simulate_quadratic

    return simulate_quadratic(d, n, lam, gamma, noise, **options)


def allowance(model: str, se_risk: float, d: int, design: str = "quadratic", corrected: bool = True) -> float:
    """Finite-size allowance of |simulation - SE| on top of 3 s.e. (module docstring); ``corrected`` False: the SE is
    the free-probability limit without the O(1/d) GOE correction (FREE_LIMIT_ALLOWANCE on the Gaussian design)."""
    if check_model(model) == "diagonal":
        return se_risk / math.sqrt(d)
    if design == "gaussian":
        return (GAUSSIAN_ALLOWANCE if corrected else FREE_LIMIT_ALLOWANCE) * se_risk / d
    return QUADRATIC_ALLOWANCE * se_risk / d
