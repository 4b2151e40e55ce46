"""Seed-averaged simulations: reproducibility, shared data across methods, statistics, validation."""

import json
import math

import numpy as np
import pytest

from numeric.convex import solve_lasso
from numeric.simulate import simulate_diagonal
from numeric.teachers import diagonal_teacher

D, GAMMA, NOISE = 40, 1.0, 0.25


def test_same_arguments_give_identical_numbers():
    first = simulate_diagonal(D, 20, 0.2, GAMMA, NOISE, seeds=2, method="network")
    second = simulate_diagonal(D, 20, 0.2, GAMMA, NOISE, seeds=2, method="network")
    assert first == second
    other = simulate_diagonal(D, 20, 0.2, GAMMA, NOISE, seeds=2, method="network", base_seed=1)
    assert other.risks != first.risks


@pytest.mark.parametrize("n", [20, 80])
def test_seed_recipe_and_both_methods_see_the_same_data(n):
    lam = 0.3 * math.sqrt(n / D)
    lasso = simulate_diagonal(D, n, lam, GAMMA, NOISE, seeds=2, method="lasso", base_seed=7)
    network = simulate_diagonal(D, n, lam, GAMMA, NOISE, seeds=2, method="network", base_seed=7)
    assert lasso.converged and network.converged, (lasso.message, network.message)
    for k in range(2):  # rebuild seed k's data by the documented recipe
        rng = np.random.default_rng(np.random.SeedSequence([7, k]))
        theta_star = diagonal_teacher(D, GAMMA, rng, "signs")
        X = rng.standard_normal((n, D))
        y = X @ theta_star / math.sqrt(D) + math.sqrt(NOISE) * rng.standard_normal(n)
        theta = solve_lasso(X, y, lam).theta
        assert lasso.risks[k] == float(np.sum((theta - theta_star) ** 2) / D)
    # |theta_net - theta_lasso| <= 1e-5 (train.py) moves R = ||theta - theta*||^2 / d by
    # <= 2 sqrt(R) 1e-5 + 1e-10 < 1e-4 at these R (< 1).
    np.testing.assert_allclose(network.risks, lasso.risks, rtol=0, atol=1e-4)


def test_mean_and_standard_error_match_numpy():
    res = simulate_diagonal(D, 30, 0.3, GAMMA, NOISE, seeds=5, method="lasso")
    risks = np.array(res.risks)
    assert len(risks) == res.seeds == 5
    assert res.excess_risk_mean == pytest.approx(np.mean(risks), rel=1e-14)
    assert res.excess_risk_sem == pytest.approx(np.std(risks, ddof=1) / math.sqrt(5), rel=1e-14)
    assert np.all(risks > 0)


def test_single_seed_has_nan_sem_and_json_ready_dict():
    res = simulate_diagonal(D, 30, 0.3, GAMMA, NOISE, seeds=1, method="lasso")
    assert math.isnan(res.excess_risk_sem)
    payload = res.to_dict()
    assert payload["excess_risk_sem"] is None
    assert json.loads(json.dumps(payload, allow_nan=False))["risks"] == list(res.risks)


@pytest.mark.parametrize("method", ["lasso", "network"])
def test_huge_weight_decay_gives_zero_predictor_and_unit_risk(method):
    res = simulate_diagonal(D, 30, 1e6, GAMMA, NOISE, seeds=2, method=method)
    assert res.converged, res.message
    # LASSO: theta_hat = 0 exactly (lam > lam_max), R = ||theta*||^2 / d = 1 to the teacher's round-off;
    # network: |a_i|, |w_i| <= gtol / lam, so |theta_i| <= 1e-28 and R = 1 to the same round-off.
    assert res.risks == pytest.approx([1.0, 1.0], abs=1e-12)


@pytest.mark.parametrize(
    "args,kwargs",
    [
        ((D, 0, 0.1, GAMMA, NOISE), {}),
        ((D, 2.5, 0.1, GAMMA, NOISE), {}),
        ((D, 20, -0.1, GAMMA, NOISE), {}),
        ((D, 20, 0.1, 0.5, NOISE), {}),
        ((D, 20, 0.1, GAMMA, -1.0), {}),
        ((0, 20, 0.1, GAMMA, NOISE), {}),
        ((D, 20, 0.1, GAMMA, NOISE), {"method": "sgd"}),
        ((D, 20, 0.1, GAMMA, NOISE), {"teacher": "uniform"}),
        ((D, 20, 0.1, GAMMA, NOISE), {"seeds": 0}),
        ((D, 20, 0.1, GAMMA, NOISE), {"base_seed": -1}),
    ],
)
def test_invalid_inputs_raise_one_line_value_error(args, kwargs):
    with pytest.raises(ValueError) as err:
        simulate_diagonal(*args, **kwargs)
    assert "\n" not in str(err.value)
