"""Quadratic network and nuclear-norm PSD sensing: gradient, designs, optimality, equivalence, seeds."""

import json
import math

import numpy as np
import pytest

from numeric import convex_psd
from numeric.convex_psd import (
    GaussianDesign,
    QuadraticDesign,
    duality_gap,
    lipschitz_estimate,
    solve_psd,
)
from numeric.simulate import SimResult
from numeric.simulate_quadratic import QuadraticSimResult, simulate_quadratic
from numeric.teachers import quadratic_teacher
from numeric.train_quadratic import (
    DEFAULT_GTOL,
    _loss_change,
    initial_weights,
    network_loss,
    train_quadratic_network,
)

GAMMA = 1.0


def problem(d, n, noise=0.25, seed=1, design="quadratic"):
    """(S*, A, y, X) with y = A(S*) + sqrt(noise) xi; X is None for the Gaussian design."""
    rng = np.random.default_rng(seed)
    S_star = quadratic_teacher(d, GAMMA, rng)
    X = rng.standard_normal((n, d)) if design == "quadratic" else None
    A = QuadraticDesign(X) if design == "quadratic" else GaussianDesign.sample(d, n, rng)
    return S_star, A, A.apply(S_star) + math.sqrt(noise) * rng.standard_normal(n), X


def weight_decay(z, d, n):
    """lam = z 2n/d: z is then the eigenvalue threshold of the SE (lam / (2 d alpha) = zeta, up to 1 - div/n)."""
    return z * 2 * n / d


def full_matrix(A):
    """The n x N matrix of A in svec coordinates, column by column (only for tiny d)."""
    d = A.d
    rows, cols = np.triu_indices(d)
    B = np.empty((A.n, rows.size))
    for k, (i, j) in enumerate(zip(rows, cols)):
        E = np.zeros((d, d))
        E[i, j] = E[j, i] = 1.0 if i == j else 1 / math.sqrt(2)
        B[:, k] = A.apply(E)
    return B


def relative_difference(S, T):
    return float(np.linalg.norm(S - T) / max(np.linalg.norm(T), 1e-300))


# ---------------------------------------------------------------- the network's loss and gradient


@pytest.mark.parametrize("d,p,n,lam", [(5, 5, 12, 0.3), (5, 8, 30, 0.0), (6, 6, 40, 2.0)])
def test_gradient_matches_direct_formula_and_central_differences(d, p, n, lam):
    _, _, y, X = problem(d, n)
    W = initial_weights(p, d, np.random.default_rng(0)) * 3  # away from the small-init regime
    loss, grad = network_loss(X, y, lam, W)
    Z = X @ W.T  # the brief's formulas, with the n x p activations
    f = (np.sum(Z**2, axis=1) - np.sum(W**2)) / math.sqrt(d)
    r = f - y
    assert loss == pytest.approx(0.5 * r @ r + lam * np.sum(W**2), rel=1e-12)
    direct = (2 / math.sqrt(d)) * (Z.T @ (r[:, None] * X) - r.sum() * W) + 2 * lam * W
    # both are sums of O(n) terms of size ~|r| ||x||^2 |W|; 1e-11 relative is a few thousand ulps
    np.testing.assert_allclose(grad, direct, rtol=0, atol=1e-11 * np.max(np.abs(direct)))
    h = 1e-6  # central differences: truncation ~h^2 L''' ~ 1e-11, round-off ~eps L / h ~ 1e-9
    numeric = np.empty(W.size)
    for i in range(W.size):
        e = np.zeros(W.size)
        e[i] = h
        plus = network_loss(X, y, lam, W + e.reshape(W.shape))[0]
        minus = network_loss(X, y, lam, W - e.reshape(W.shape))[0]
        numeric[i] = (plus - minus) / (2 * h)
    assert np.max(np.abs(numeric - grad.ravel())) <= 1e-6 * max(1.0, np.max(np.abs(grad)))


def test_loss_change_resolves_tiny_steps():
    """The change L(W) - L(W_ref) stays exact to first order where L itself has no digits left."""
    d, n, lam = 8, 120, 2.0
    _, A, y, _ = problem(d, n)
    rng = np.random.default_rng(1)
    W_ref = initial_weights(d, d, rng)
    r_ref = A.apply(W_ref.T @ W_ref) - y
    _, grad = _loss_change(W_ref.ravel(), W_ref.shape, A, y, lam, W_ref, r_ref)
    W = W_ref + 1e-12 * rng.standard_normal(W_ref.shape)
    first_order = float(grad @ (W - W_ref).ravel())
    change, _ = _loss_change(W.ravel(), W.shape, A, y, lam, W_ref, r_ref)
    # second-order terms are ~1e-12 relative; differencing L (~100, eps L ~ 1e-14) against a change of
    # ~1e-10 would miss by ~1e-4.
    assert abs(change - first_order) <= 1e-8 * abs(first_order)


# ---------------------------------------------------------------- the two designs


@pytest.mark.parametrize("design", ["quadratic", "gaussian"])
def test_apply_and_adjoint_are_adjoint(design):
    d, n = 6, 40
    _, A, _, X = problem(d, n, design=design)
    rng = np.random.default_rng(2)
    M = rng.standard_normal((d, d))
    S = M + M.T
    r = rng.standard_normal(n)
    assert A.apply(S) @ r == pytest.approx(np.sum(S * A.adjoint(r)), rel=1e-12)
    np.testing.assert_array_equal(A.adjoint(r), A.adjoint(r).T)
    if design == "quadratic":  # against the per-sample definition (x^T S x - Tr S)/sqrt(d)
        direct = np.array([(x @ S @ x - np.trace(S)) / math.sqrt(d) for x in X])
        np.testing.assert_allclose(A.apply(S), direct, rtol=1e-12, atol=1e-12)
    else:  # svec is an isometry and smat its inverse
        T = rng.standard_normal((d, d))
        T = T + T.T
        assert A.svec(S) @ A.svec(T) == pytest.approx(np.sum(S * T), rel=1e-13)
        np.testing.assert_allclose(A.smat(A.svec(S)), S, rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize("design", ["quadratic", "gaussian"])
def test_design_covariance_is_two_over_d_frobenius(design):
    """Monte Carlo: E <A,S><A,S'> = (2/d) <S,S'>_F, each estimate within 4 standard errors."""
    d, n = 4, 200_000
    A = QuadraticDesign(np.random.default_rng(5).standard_normal((n, d))) if design == "quadratic" \
        else GaussianDesign.sample(d, n, np.random.default_rng(5))
    E11, E22, E12 = np.zeros((d, d)), np.zeros((d, d)), np.zeros((d, d))
    E11[0, 0], E22[1, 1] = 1.0, 1.0
    E12[0, 1] = E12[1, 0] = 1 / math.sqrt(2)  # unit Frobenius norm: <A, E12> = sqrt(2) A_12
    M = np.random.default_rng(6).standard_normal((d, d))
    P = np.random.default_rng(7).standard_normal((d, d))
    pairs = [(E11, E11), (E12, E12), (E11, E22), (E11, E12), (M + M.T, M + M.T), (M + M.T, P + P.T),
             (np.eye(d), np.eye(d))]
    for S, T in pairs:
        products = A.apply(S) * A.apply(T)
        sem = np.std(products, ddof=1) / math.sqrt(n)
        assert abs(np.mean(products) - 2 / d * np.sum(S * T)) <= 4 * sem


@pytest.mark.parametrize("design", ["quadratic", "gaussian"])
@pytest.mark.parametrize("n", [20, 80])
def test_power_iteration_estimate_is_close_below_the_top_eigenvalue(design, n):
    _, A, _, _ = problem(6, n, design=design)
    top = np.linalg.eigvalsh(full_matrix(A).T @ full_matrix(A))[-1]
    estimate = lipschitz_estimate(A)
    # a Rayleigh quotient never exceeds lambda_max (1e-12 for round-off); 5% below is 2x looser than
    # the worst measured (2.2%), and the safety factor 1.1 then still gives L >= lambda_max.
    assert 0.95 * top <= estimate <= top * (1 + 1e-12)


# ---------------------------------------------------------------- the convex solver


def kkt_violation(A, y, lam, S):
    """Z = grad f(S) + lam I must vanish on range(S) and be PSD on its kernel; returns both violations
    relative to the scale of Z's terms, ||A*(y)||_F + lam."""
    Z = A.adjoint(A.apply(S) - y) + lam * np.eye(A.d)
    w, U = np.linalg.eigh(S)
    on = w > 1e-9 * max(w[-1], 1.0)  # S's zeros are exact from the prox; this only separates round-off
    scale = np.linalg.norm(A.adjoint(y)) + lam
    range_part = np.linalg.norm(Z @ U[:, on]) / scale
    kernel = U[:, ~on]
    kernel_part = max(0.0, -np.linalg.eigvalsh(kernel.T @ Z @ kernel)[0]) / scale if kernel.size else 0.0
    return range_part, kernel_part


@pytest.mark.parametrize("design", ["quadratic", "gaussian"])
@pytest.mark.parametrize("n", [25, 50, 200])  # d = 10: N = 55 unknowns
@pytest.mark.parametrize("z", [0.0, 0.02, 0.3, 3.0])
def test_convex_solution_satisfies_kkt(design, n, z):
    d = 10
    _, A, y, _ = problem(d, n, design=design)
    lam = weight_decay(z, d, n)
    sol = solve_psd(A, y, lam)
    assert sol.converged, sol.message
    assert sol.residual <= convex_psd.DEFAULT_TOL
    assert np.min(sol.eigenvalues) >= 0.0
    np.testing.assert_allclose(np.sort(np.linalg.eigvalsh(sol.S)), sol.eigenvalues, rtol=0, atol=1e-12)
    range_part, kernel_part = kkt_violation(A, y, lam, sol.S)
    # the residual bound res <= 1e-12 (in units of S) allows gradient errors ~L res max(1, ||S||) ~ 1e-9
    # of the scale; measured <= 7e-12 (range) and 0 (kernel).
    assert range_part <= 1e-9 and kernel_part <= 1e-9
    if lam > 0:
        # P - P* <= gap: first order in the distance to the optimum (measured <= 1e-9 here); its terms
        # are non-negative up to round-off (-2e-16 seen when S is rank one and the gap vanishes)
        assert -1e-14 <= sol.duality_gap <= 1e-7
        assert duality_gap(A, y, lam, sol.S) == pytest.approx(sol.duality_gap, rel=1e-6, abs=1e-15)


def test_underestimated_lipschitz_constant_is_caught_and_raised(monkeypatch):
    d, n = 10, 60
    _, A, y, _ = problem(d, n)
    lam = weight_decay(0.1, d, n)
    reference = solve_psd(A, y, lam)
    true_estimate = lipschitz_estimate(A)
    monkeypatch.setattr(convex_psd, "lipschitz_estimate", lambda design: 0.2 * true_estimate)
    sol = solve_psd(A, y, lam)
    assert sol.converged, sol.message
    assert "L raised" in sol.message and sol.lipschitz > 0.2 * 1.1 * true_estimate
    assert relative_difference(sol.S, reference.S) <= 1e-8  # both within ~1e-9 of the minimiser


def test_huge_weight_decay_gives_exact_zero():
    d, n = 10, 60
    _, A, y, _ = problem(d, n)
    lam = 1.01 * np.linalg.eigvalsh(A.adjoint(y))[-1]  # lam >= lambda_max(A*(y)): S = 0 is optimal
    sol = solve_psd(A, y, lam)
    assert sol.converged and sol.iterations == 1 and not np.any(sol.S)


@pytest.mark.parametrize("design", ["quadratic", "gaussian"])
def test_stopping_early_is_reported_as_not_converged(design):
    _, A, y, _ = problem(10, 30, design=design)
    sol = solve_psd(A, y, weight_decay(0.02, 10, 30), max_iter=3)
    assert not sol.converged and sol.iterations == 3
    assert "> tol" in sol.message and sol.residual > convex_psd.DEFAULT_TOL


# ---------------------------------------------------------------- the network reaches the convex optimum

# Network vs convex: relative Frobenius difference <= 1e-5. Measured <= 2.5e-7 at d = 10 (n = d^2/4, small
# lam: the weakest curvature) and <= 2.5e-9 at d = 30..100 with the default tolerances; 1e-5 is 40x
# above that and still 10^3 below the seed-to-seed scatter of R (~1e-2 relative).
AGREEMENT = 1e-5

CASES = [  # (d, n, z, noise): under-sampled (n < N = d(d+1)/2), over-sampled, over-regularised
    (8, 16, 0.02, 0.25), (8, 16, 0.02, 0.0), (10, 25, 0.3, 0.25), (10, 25, 0.3, 0.0),
    (12, 288, 0.02, 0.25), (12, 288, 0.02, 0.0), (10, 200, 0.0, 0.25),
    (12, 72, 3.0, 0.25), (12, 72, 3.0, 0.0),
]


@pytest.mark.parametrize("d,n,z,noise", CASES)
def test_trained_network_reaches_the_convex_minimiser(d, n, z, noise):
    _, A, y, X = problem(d, n, noise=noise)
    lam = weight_decay(z, d, n)
    sol = solve_psd(A, y, lam)
    assert sol.converged, sol.message
    for seed in (11, 12):  # two random initialisations
        net = train_quadratic_network(X, y, lam, rng=np.random.default_rng(seed))
        assert net.converged, net.message
        assert net.grad_norm <= DEFAULT_GTOL
        np.testing.assert_array_equal(net.S, net.W.T @ net.W)
        assert relative_difference(net.S, sol.S) <= AGREEMENT
        # same objective value: the network's loss is F(W^T W), within round-off of P(S_convex)
        primal = 0.5 * np.sum((A.apply(sol.S) - y) ** 2) + lam * np.trace(sol.S)
        assert net.loss == pytest.approx(primal, rel=1e-8)


@pytest.mark.parametrize("width", [13, 24])
def test_wider_network_reaches_the_same_minimiser(width):
    d, n = 12, 72
    _, A, y, X = problem(d, n)
    lam = weight_decay(0.1, d, n)
    sol = solve_psd(A, y, lam)
    net = train_quadratic_network(X, y, lam, rng=np.random.default_rng(3), width=width)
    assert net.converged, net.message
    assert net.W.shape == (width, d)
    assert relative_difference(net.S, sol.S) <= AGREEMENT


def test_same_generator_state_gives_identical_training():
    _, _, y, X = problem(8, 30)
    first = train_quadratic_network(X, y, 1.0, rng=np.random.default_rng(5))
    second = train_quadratic_network(X, y, 1.0, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(first.W, second.W)


def test_training_stopped_early_is_reported_as_not_converged():
    _, _, y, X = problem(10, 50)
    net = train_quadratic_network(X, y, 0.5, rng=np.random.default_rng(0), max_iter=3)
    assert not net.converged and net.iterations <= 3
    assert net.grad_norm > DEFAULT_GTOL and "> gtol" in net.message


# ---------------------------------------------------------------- seed-averaged simulations

D, NOISE = 10, 0.25


def test_same_arguments_give_identical_numbers():
    first = simulate_quadratic(D, 40, 4.0, GAMMA, NOISE, seeds=2)
    assert first == simulate_quadratic(D, 40, 4.0, GAMMA, NOISE, seeds=2)
    assert first.risks != simulate_quadratic(D, 40, 4.0, GAMMA, NOISE, seeds=2, base_seed=1).risks


@pytest.mark.parametrize("n", [30, 150])
def test_seed_recipe_and_both_methods_see_the_same_data(n):
    lam = weight_decay(0.1, D, n)
    convex = simulate_quadratic(D, n, lam, GAMMA, NOISE, seeds=2, method="convex", base_seed=7)
    network = simulate_quadratic(D, n, lam, GAMMA, NOISE, seeds=2, method="network", base_seed=7)
    assert convex.converged and network.converged, (convex.message, network.message)
    for k in range(2):  # rebuild seed k's data by the documented recipe
        rng = np.random.default_rng(np.random.SeedSequence([7, k]))
        S_star = quadratic_teacher(D, GAMMA, rng)
        X = rng.standard_normal((n, D))
        y = (np.einsum("ij,jk,ik->i", X, S_star, X) - np.trace(S_star)) / math.sqrt(D) \
            + math.sqrt(NOISE) * rng.standard_normal(n)
        S = solve_psd(QuadraticDesign(X), y, lam).S
        # labels formed independently (and BLAS threads unpinned) round differently: the two solves
        # then agree to the solver's accuracy (~1e-10 relative in S), not bit for bit
        assert convex.risks[k] == pytest.approx(float(np.sum((S - S_star) ** 2) / np.sum(S_star**2)), rel=1e-8)
        # the solver's spectrum is the prox's (exact zeros); eigvalsh of S agrees to round-off
        np.testing.assert_allclose(convex.spectra[k], np.linalg.eigvalsh(S)[::-1], rtol=0, atol=1e-12)
    # ||S_net - S_convex|| <= 1e-5 ||S|| moves R by <= 2 sqrt(R) 1e-5 ||S||/||S*|| + 1e-10 < 1e-4 (R, ||S||/||S*|| <= 1)
    np.testing.assert_allclose(network.risks, convex.risks, rtol=0, atol=1e-4)


def test_gaussian_design_recipe():
    n, lam = 60, weight_decay(0.1, D, 60)
    res = simulate_quadratic(D, n, lam, GAMMA, NOISE, seeds=1, method="convex", design="gaussian", base_seed=3)
    assert res.design == "gaussian" and res.width is None and res.converged
    rng = np.random.default_rng(np.random.SeedSequence([3, 0]))
    S_star = quadratic_teacher(D, GAMMA, rng)
    G = math.sqrt(2 / D) * rng.standard_normal((n, D * (D + 1) // 2))
    A = GaussianDesign(G)
    y = G @ A.svec(S_star) + math.sqrt(NOISE) * rng.standard_normal(n)
    S = solve_psd(A, y, lam).S
    assert res.risks[0] == pytest.approx(float(np.sum((S - S_star) ** 2) / np.sum(S_star**2)), rel=1e-8)


def test_mean_standard_error_spectra_and_json():
    res = simulate_quadratic(D, 40, 4.0, GAMMA, NOISE, seeds=4, method="convex", rank=3)
    assert isinstance(res, QuadraticSimResult) and isinstance(res, SimResult)
    risks = np.array(res.risks)
    assert res.excess_risk_mean == pytest.approx(np.mean(risks), rel=1e-14)
    assert res.excess_risk_sem == pytest.approx(np.std(risks, ddof=1) / 2, rel=1e-14)
    assert np.all(risks > 0)
    assert len(res.spectra) == 4 and all(len(s) == D for s in res.spectra)
    assert all(list(s) == sorted(s, reverse=True) and min(s) >= 0 for s in res.spectra)
    payload = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert payload["spectra"] == [list(s) for s in res.spectra]
    assert payload["design"] == "quadratic" and payload["width"] is None and payload["method"] == "convex"
    single = simulate_quadratic(D, 40, 4.0, GAMMA, NOISE, seeds=1, method="network", width=12)
    assert single.to_dict()["excess_risk_sem"] is None and single.width == 12


@pytest.mark.parametrize("method", ["convex", "network"])
def test_huge_weight_decay_gives_zero_estimate_and_unit_risk(method):
    res = simulate_quadratic(D, 40, 1e6, GAMMA, NOISE, seeds=2, method=method)
    assert res.converged, res.message
    # convex: S = 0 exactly (lam > lambda_max(A*(y))), R = 1 exactly; network: |W| <= gtol (n/d) / (2 lam)
    # entrywise, so S ~ 1e-30 and R = 1 to round-off.
    assert res.risks == pytest.approx([1.0, 1.0], abs=1e-12)
    assert max(abs(v) for s in res.spectra for v in s) <= 1e-20


@pytest.mark.parametrize(
    "args,kwargs",
    [
        ((0, 20, 0.1, GAMMA, NOISE), {}),
        ((D, 0, 0.1, GAMMA, NOISE), {}),
        ((D, 2.5, 0.1, GAMMA, NOISE), {}),
        ((D, 20, -0.1, GAMMA, NOISE), {}),
        ((D, 20, 0.1, 0.5, NOISE), {}),
        ((D, 20, 0.1, GAMMA, -1.0), {}),
        ((D, 20, 0.1, GAMMA, NOISE), {"width": D - 1}),
        ((D, 20, 0.1, GAMMA, NOISE), {"width": 12.5}),
        ((D, 20, 0.1, GAMMA, NOISE), {"method": "convex", "width": 12}),
        ((D, 20, 0.1, GAMMA, NOISE), {"seeds": 0}),
        ((D, 20, 0.1, GAMMA, NOISE), {"base_seed": -1}),
        ((D, 20, 0.1, GAMMA, NOISE), {"method": "sgd"}),
        ((D, 20, 0.1, GAMMA, NOISE), {"design": "rademacher"}),
        ((D, 20, 0.1, GAMMA, NOISE), {"design": "gaussian"}),  # method "network" by default
        ((D, 20, 0.1, GAMMA, NOISE), {"rank": 0}),
        ((D, 20, 0.1, GAMMA, NOISE), {"rank": D + 1}),
        ((D, 20, 0.1, 0.0, NOISE), {}),  # gamma = 0 needs a finite rank (a flat teacher)
        ((D, 20, 0.1, -0.5, NOISE), {"rank": 3}),
        ((D, 20, 0.1, GAMMA, NOISE), {"blocks": 0}),
        ((D, 20, 0.1, GAMMA, NOISE), {"blocks": D}),
        ((D, 20, 0.1, GAMMA, NOISE), {"blocks": 2.5}),
        ((D, 20, 0.1, GAMMA, NOISE), {"blocks": True}),
        ((D, 20, 0.1, 0.0, NOISE), {"rank": 3, "blocks": 2}),  # splits the flat teacher's top eigenvalue
        ((D, 20, 0.1, GAMMA, NOISE), {"rank": 3, "blocks": 5}),  # splits its zero eigenvalue
    ],
)
def test_invalid_inputs_raise_one_line_value_error(args, kwargs):
    with pytest.raises(ValueError) as err:
        simulate_quadratic(*args, **kwargs)
    assert "\n" not in str(err.value)


def test_width_below_d_names_the_other_model():
    with pytest.raises(ValueError, match="width-limited"):
        simulate_quadratic(D, 20, 0.1, GAMMA, NOISE, width=D - 1)


@pytest.mark.parametrize("kwargs", [{"gtol": 0.0}, {"max_iter": 0}, {"width": 3}])
def test_training_rejects_bad_budgets_and_widths(kwargs):
    _, _, y, X = problem(5, 10)
    with pytest.raises(ValueError) as err:
        train_quadratic_network(X, y, 0.1, rng=np.random.default_rng(0), **kwargs)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("n", [450, 1800])
def test_network_matches_convex_at_d30(n):
    d = 30
    lam = weight_decay(0.05, d, n)
    convex = simulate_quadratic(d, n, lam, GAMMA, NOISE, seeds=2, method="convex")
    network = simulate_quadratic(d, n, lam, GAMMA, NOISE, seeds=2, method="network")
    assert convex.converged and network.converged
    np.testing.assert_allclose(network.risks, convex.risks, rtol=0, atol=1e-6)


def test_flat_teacher_of_finite_rank():
    """gamma = 0 with a rank: s_k = sqrt(d/r) for k <= r (||S*||_F^2 = d); gamma > 0 with a rank: the power law cut."""
    from numeric.teachers import quadratic_teacher_spectrum

    s = quadratic_teacher_spectrum(12, 0.0, rank=3)
    assert np.allclose(s[:3], 2.0) and not s[3:].any()
    cut = quadratic_teacher_spectrum(12, 1.5, rank=3)
    assert np.sum(cut**2) == pytest.approx(12) and np.allclose(cut[:3] / cut[0], [1, 2**-1.5, 3**-1.5])
    res = simulate_quadratic(12, 40, 0.5, 0.0, 0.1, seeds=2, method="convex", rank=3)
    assert res.converged and 0 < res.excess_risk_mean < 1


@pytest.mark.parametrize("design, method", [("quadratic", "convex"), ("quadratic", "network"), ("gaussian", "convex")])
def test_error_blocks_match_projector_formula_and_sum_to_the_risk(design, method, monkeypatch):
    """The split in the teacher's eigenbasis, recomputed with the projector P onto its top K directions:
    top = ||P E P||^2, cross = 2 ||P E (I - P)||^2, rest = ||(I - P) E (I - P)||^2 (E = S_hat - S*), over ||S*||^2;
    and top + cross + rest = R per seed."""
    from numeric import simulate_quadratic as module

    d, n, K = 10, 60, 3
    kept = []
    original = module.error_blocks
    monkeypatch.setattr(module, "error_blocks", lambda S, T, k: kept.append((S, T)) or original(S, T, k))
    res = simulate_quadratic(d, n, 0.3, GAMMA, NOISE, seeds=3, method=method, design=design, blocks=K)
    assert res.converged, res.message
    b = res.error_blocks
    np.testing.assert_allclose(np.add(np.add(b.top, b.cross), b.rest), res.risks, rtol=1e-12)
    assert len(kept) == 3
    for (S_hat, S_star), top, cross, rest in zip(kept, b.top, b.cross, b.rest):
        w, V = np.linalg.eigh(S_star)
        top_k = V[:, np.argsort(w)[::-1][:K]]
        P = top_k @ top_k.T
        Q, E, norm = np.eye(d) - P, S_hat - S_star, np.sum(S_star**2)
        expected = [np.sum((P @ E @ P) ** 2), 2 * np.sum((P @ E @ Q) ** 2), np.sum((Q @ E @ Q) ** 2)]
        np.testing.assert_allclose([top, cross, rest], np.array(expected) / norm, rtol=1e-10, atol=1e-15)
    out = res.to_dict()["error_blocks"]
    assert out["directions"] == K and out["top"]["per_seed"] == list(b.top)
    assert out["cross"]["sem"] == pytest.approx(np.std(b.cross, ddof=1) / math.sqrt(3))


def test_error_blocks_of_the_zero_estimate_are_the_teacher_spectrum():
    """S_hat = 0 (huge weight decay): E = -S*, diagonal in the teacher's eigenbasis, so top = sum_{k <= K} s_k^2 / d,
    cross = 0, rest = sum_{k > K} s_k^2 / d."""
    from numeric.teachers import quadratic_teacher_spectrum

    d, K = D, 4
    res = simulate_quadratic(d, 40, 1e6, GAMMA, NOISE, seeds=2, method="convex", blocks=K)
    s2 = quadratic_teacher_spectrum(d, GAMMA) ** 2 / d
    b = res.error_blocks
    assert b.top == pytest.approx([s2[:K].sum()] * 2, rel=1e-12) and b.rest == pytest.approx([s2[K:].sum()] * 2, rel=1e-12)
    assert max(b.cross) <= 1e-25
    assert simulate_quadratic(d, 40, 1e6, GAMMA, NOISE, seeds=1, method="convex").to_dict()["error_blocks"] is None
    # an integral float counts like the other integer options (rank, seeds, width)
    same = simulate_quadratic(d, 40, 1e6, GAMMA, NOISE, seeds=2, method="convex", blocks=float(K)).error_blocks
    assert same.top == b.top and same.rest == b.rest
