"""The finite-d SE against trained networks and LASSO solves (spec/method.md, Simulations).

Agreement: |mean - SE| <= 3 s.e. + SE/sqrt(d) (crosscheck.compare). The default run checks d = 200;
the slow run (pytest -m slow) covers d in {200, 500, 1000}, n/d in {0.5, 2}, noisy and noiseless.
"""

import pytest

from crosscheck.compare import compare_with_simulation


@pytest.mark.parametrize("method", ["network", "lasso"])
@pytest.mark.parametrize("ratio", [0.5, 2.0])
def test_se_matches_simulations_d200(method, ratio):
    d = 200
    n = int(ratio * d)
    check = compare_with_simulation(d, n, (n / d) ** 0.5, 1.5, 0.5, seeds=8, method=method)
    assert check.agree, check


@pytest.mark.slow
@pytest.mark.parametrize("noise", [0.5, 0.0])
@pytest.mark.parametrize("method", ["network", "lasso"])
@pytest.mark.parametrize("ratio", [0.5, 2.0])
@pytest.mark.parametrize("d", [200, 500, 1000])
def test_se_matches_simulations(d, ratio, method, noise):
    n = int(ratio * d)
    check = compare_with_simulation(d, n, 0.5 * (n / d) ** 0.5, 1.5, noise, seeds=16, method=method)
    assert check.agree, check
