"""Per-sample leverage of the PSD trace-norm solution on real quadratic features (numeric.leverage_quadratic)."""

import math

import numpy as np
import pytest

from numeric.convex_psd import solve_psd
from numeric.leverage_quadratic import effective_observation_bias, leave_one_out_leverage, leverage
from numeric.postprocess_quadratic import QuadraticObservation, effective_observation_quadratic
from numeric.simulate_quadratic import sample_quadratic_problem


def _fit(d, alpha=0.1, c=0.3, noise=0.0, gamma=1.5, seed=0):
    n = int(round(alpha * d * d))
    lam = c * math.sqrt(n)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0]))
    S_star, design, y = sample_quadratic_problem(d, n, gamma, noise, rng)
    fit = solve_psd(design, y, lam)
    assert fit.converged, fit.message
    obs = effective_observation_quadratic(design, y, fit.S, lam)
    assert obs.converged, obs.message
    return S_star, design, y, lam, fit.S, obs


def test_mean_leverage_over_inputs_is_df_over_n_minus_df():
    """E_x (d/2) <A, e>^2 = 1 for every unit e, so E_x H = c sum_e omega_e (2/d) = df/(n - df) exactly; checked
    by Monte Carlo within 4 standard errors."""
    S_star, design, y, lam, S_hat, obs = _fit(16)
    n = design.n
    H = leverage(obs, np.random.default_rng(5).standard_normal((400_000, 16)))
    assert abs(H.mean() - obs.df / (n - obs.df)) <= 4 * H.std() / math.sqrt(H.size)


def test_leverage_formula_follows_the_leave_one_out_refits():
    """The linear-response H_mu against H_mu measured by refitting without sample mu (d = 40, alpha = 0.1, Delta = 0,
    20 samples): they track each other (correlation measured 0.89-0.96 over three seeds at d = 40, 0.87-0.95 at
    d = 30; 0.57-0.87 at d = 24, nearer interpolation) and H_mu is far from the constant df/(n - df) that a Gaussian
    design gives."""
    S_star, design, y, lam, S_hat, obs = _fit(40)
    rows = np.arange(20)
    measured = leave_one_out_leverage(design.X, y, lam, S_hat, rows)
    predicted = leverage(obs, design.X[rows])
    assert np.corrcoef(measured, predicted)[0, 1] > 0.8
    assert measured.std() > 0.5 * measured.mean()


def test_bias_prediction_vanishes_without_leverage_and_for_an_exact_estimate():
    """No active eigenvalue (zeta above the spectrum: df = 0, c = d/(2n), H = 0): the response is c n (2/d) u^T D u
    = u^T D u up to sampling, so the predicted bias is 0 within its Monte-Carlo error; S_hat = S* gives exactly 0."""
    d, n = 10, 200
    rng = np.random.default_rng(3)
    S_star = np.diag(np.linspace(2.0, 0.1, d))
    S_hat = np.zeros((d, d))
    u = np.eye(d)[0]
    Y = np.diag(rng.uniform(-1.0, 1.0, d))
    mu, V = np.linalg.eigh(Y)
    obs = QuadraticObservation(Y, mu, V, zeta=5.0, df=0.0, c=d / (2 * n), sigma_hat=1.0, converged=True, message="")
    X = rng.standard_normal((400_000, d))
    assert not leverage(obs, X[:10]).any()
    measured, predicted = effective_observation_bias(obs, n, S_hat, S_star, u, X)
    assert measured == pytest.approx(Y[0, 0] - 2.0)
    assert abs(predicted) <= 4 * 2.0 * math.sqrt(10.0 / X.shape[0])  # per-input terms ~ s1 (g^2 - 1)^2: variance <~ 10 s1^2
    assert effective_observation_bias(obs, n, S_star, S_star, u, X[:1000])[1] == 0.0


def test_bad_inputs_and_an_unconverged_refit_are_refused(monkeypatch):
    import numeric.leverage_quadratic as module

    S_star, design, y, lam, S_hat, obs = _fit(12)
    with pytest.raises(ValueError, match=r"\(m, 12\)"):
        leverage(obs, np.zeros((3, 11)))
    monkeypatch.setattr(module, "_REFIT_TOL", 1e-30)  # unreachable: the refit stops at its iteration budget
    with pytest.raises(ArithmeticError, match="did not converge"):
        leave_one_out_leverage(design.X, y, lam, S_hat, [0])
