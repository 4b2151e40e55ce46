"""Online SGD of the quadratic student (numeric/sgd.py) against dense formulas and the exact flow."""

import json

import numpy as np
import pytest

from numeric.he2_student import initial_weights, risk_of_weights
from numeric.he2_teacher import he2_teacher
from numeric.sgd import online_sgd, stability_scan


def dense_sgd_risks(d, r, alpha, m, steps, lr, batch, noise, sigma0, seed):
    """R after each step of W <- W - lr (2/B) sum_b (f - y) W (x x^T - I), with d x d matrices, same draws."""
    lam = he2_teacher(r, alpha).head
    A = np.diag(np.concatenate([lam, np.zeros(d - r)]))
    W = initial_weights(d, m, sigma0, seed)
    X = np.random.default_rng([seed, 1]).standard_normal((steps, batch, d))
    xi = np.random.default_rng([seed, 2]).standard_normal((steps, batch)) if noise else np.zeros((steps, batch))
    risks = [risk_of_weights(W, lam)]
    for step in range(steps):
        grad = np.zeros_like(W)
        for x, noise_b in zip(X[step], xi[step]):
            f = x @ W.T @ W @ x - np.trace(W.T @ W)
            y = x @ A @ x - np.trace(A) + np.sqrt(noise) * noise_b
            grad += 2.0 * (f - y) * W @ (np.outer(x, x) - np.eye(d)) / batch
        W = W - lr * grad
        risks.append(risk_of_weights(W, lam))
    return np.array(risks)


@pytest.mark.parametrize("batch, noise", [(1, 0.0), (4, 0.0), (3, 0.5)])
def test_steps_equal_the_dense_gradient(batch, noise):
    d, r, m, steps, lr, sigma0 = 7, 3, 4, 6, 0.02, 0.8
    res = online_sgd(d, r, 1.0, m, steps, lr, batch=batch, noise=noise, seeds=2, sigma0=sigma0, base_seed=5,
                     records=50)  # a fine grid: every step recorded
    assert np.allclose(res.times, lr * np.arange(steps + 1), rtol=1e-14)
    for row, seed in enumerate((5, 6)):
        expected = dense_sgd_risks(d, r, 1.0, m, steps, lr, batch, noise, sigma0, seed)
        assert np.allclose(res.risks[row], expected, rtol=1e-10, atol=0)  # round-off only: a few flops per entry
        assert not np.allclose(expected, expected[0], rtol=1e-3)  # the steps moved R, so the comparison means something


def test_mean_single_sample_gradient_is_the_flow_field():
    """E 2(f - y) W (x x^T - I) = 4 W (M - A), by Monte Carlo over 2e5 samples (5 standard errors per entry)."""
    d, r, m, n = 5, 2, 3, 200_000
    lam = he2_teacher(r, 1.0).head
    A = np.diag(np.concatenate([lam, np.zeros(d - r)]))
    W = initial_weights(d, m, 1.0, seed=1)
    X = np.random.default_rng(2).standard_normal((n, d))
    Z = X @ W.T
    e = np.sum(Z**2, axis=1) - np.sum(W**2) - (np.einsum("nd,de,ne->n", X, A, X) - np.trace(A))
    samples = 2.0 * e[:, None, None] * (Z[:, :, None] * X[:, None, :] - W)
    mean, sem = samples.mean(axis=0), samples.std(axis=0, ddof=1) / np.sqrt(n)
    assert np.all(np.abs(mean - 4.0 * W @ (W.T @ W - A)) < 5.0 * sem)


def test_reproducible_and_each_seed_independent_of_the_others():
    args = (30, 5, 1.0, 6, 500, 1e-3)
    a, b = online_sgd(*args, seeds=3, base_seed=2), online_sgd(*args, seeds=3, base_seed=2)
    assert np.array_equal(a.risks, b.risks)
    alone = online_sgd(*args, seeds=1, base_seed=4)
    assert np.allclose(alone.risks[0], a.risks[2], rtol=1e-12)
    assert np.allclose(a.risk_mean, a.risks.mean(axis=0), rtol=1e-13)
    assert np.allclose(a.risk_sem, a.risks.std(axis=0, ddof=1) / np.sqrt(3), rtol=1e-12)
    assert a.risk_mean[-1] < 0.9 * a.risk_mean[0] and not a.diverged.any()


def test_divergence_is_flagged_and_left_out_of_the_mean():
    d, r = 20, 4
    trace = he2_teacher(r, 1.0).trace
    lr = 10.0 / (d * trace)  # c = 10, 25 times the measured limit c ~ 0.4
    res = online_sgd(d, r, 1.0, 4, 2000, lr, seeds=3, sigma0=0.5)
    assert res.diverged.all() and np.all((res.diverged_at > 0) & (res.diverged_at <= lr * 2000))
    late = res.times >= res.diverged_at.max()
    assert np.all(res.survivors[late] == 0) and np.all(np.isnan(res.risk_mean[late]))
    assert res.survivors[0] == 3 and np.isfinite(res.risk_mean[0])
    text = json.dumps(res.to_dict(), allow_nan=False)  # NaN written as null
    assert '"diverged": [true, true, true]' in text


def test_label_noise_raises_the_risk_on_the_same_inputs():
    args = (40, 5, 1.0, 5, 4000, 2e-3)
    clean = online_sgd(*args, seeds=4, sigma0=0.5)
    noisy = online_sgd(*args, noise=0.5, seeds=4, sigma0=0.5)
    assert not noisy.diverged.any()
    assert noisy.risk_mean[-1] > clean.risk_mean[-1]
    assert np.array_equal(noisy.risks[:, 0], clean.risks[:, 0])  # same W0


def test_sgd_approaches_the_exact_flow_as_lr_shrinks():
    """d = 60: over t in [0.5, 2], max |R_SGD/R_flow - 1| (8 seeds, paired W0) shrinks with c = lr d Tr A."""
    scan = stability_scan(60, 10, 1.0, 10, [0.01, 0.03, 0.1], 2.0, seeds=8, sigma0=0.5, records=20,
                          window=(0.5, 2.0))
    dev = np.array([np.max(np.abs(ratio[(res.times >= 0.5)] - 1.0)) for ratio, res in zip(scan.ratio, scan.results)])
    assert not scan.diverged_fraction.any()
    assert dev[0] < dev[1] < dev[2] and dev[2] > 4.0 * dev[0] and dev[0] < 0.1
    assert np.all(scan.inflation > 1.0)  # SGD noise inflates R: measured kappa ~ 2
    assert json.dumps(scan.to_dict(), allow_nan=False)


@pytest.mark.parametrize("kwargs, word", [
    ({"d": 0}, "d must"), ({"d": 10.5}, "d must"), ({"r": 11}, "r must be <= d"), ({"width": 0}, "width"),
    ({"steps": 0}, "steps"), ({"lr": 0.0}, "lr"), ({"lr": float("nan")}, "lr"), ({"batch": 0}, "batch"),
    ({"noise": -1.0}, "noise"), ({"noise": float("nan")}, "noise"), ({"seeds": 0}, "seeds"),
    ({"sigma0": 0.0}, "sigma0"), ({"alpha": float("nan")}, "alpha"), ({"records": 1}, "records"),
])
def test_bad_input_raises_one_line_value_error(kwargs, word):
    args = {"d": 10, "r": 3, "alpha": 1.0, "width": 3, "steps": 5, "lr": 1e-3} | kwargs
    with pytest.raises(ValueError, match=word) as err:
        online_sgd(**args)
    assert "\n" not in str(err.value)


def test_scan_rejects_a_bad_window():
    with pytest.raises(ValueError, match="window"):
        stability_scan(10, 3, 1.0, 3, [0.1], 1.0, window=(1.0, 0.5))
