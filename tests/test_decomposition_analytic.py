"""The derived decomposition of R per regime (analytic.decomposition) against the spec's heuristics."""

import pytest
import sympy as sp

from analytic.decomposition import PARTS, decomposition, decomposition_latex, dominant_parts_at, part_of, same_form
from analytic.symbols import ell, gamma, kappa


def test_labels_map_to_parts():
    assert part_of("unlearned signal a_i^2") == "missed_signal"
    assert part_of("shrinkage zeta^2 of learned components") == "shrinkage_bias"
    assert part_of("shrinkage bias a_i^2 zeta^2") == "shrinkage_bias"
    assert part_of("noise variance tau^2 (interpolation peak)") == "learned_noise"
    assert part_of("fitted noise (Gaussian tail)") == "fitted_noise"
    assert part_of("edge-law corrections of fitted noise (bulk above threshold)") == "fitted_noise"
    with pytest.raises(ValueError):
        part_of("label noise Delta")


@pytest.mark.parametrize("model", ["diagonal", "quadratic"])
def test_dominant_parts_follow_the_heuristics(model):
    # spec/diagonal.md heuristics: K learned components with K ~ (lam sqrt(d)/n)^(-1/gamma), R ~ K^(1-2 gamma)
    # (missed signal) + K (lam sqrt(d)/n)^2 (shrinkage); nothing learned: R = 1 (all missed); all d components
    # learned: shrinkage (lam^2 d^2/n^2); threshold below the noise: R ~ d/n, the noise on each component
    expected = {"plateau": {"missed_signal"}, "sparse (top-K learned)": {"missed_signal", "shrinkage_bias"},
                "dense (all learned, shrinkage bias)": {"shrinkage_bias"}, "variance-limited": {"learned_noise"},
                "interpolation (noise fitted)": {"fitted_noise"}}
    table = {r.regime: r for r in decomposition(model)}
    for name, parts in expected.items():
        assert set(table[name].dominant) == parts, name


@pytest.mark.parametrize("model,noiseless", [("diagonal", False), ("diagonal", True), ("quadratic", False)])
def test_subleading_parts_are_below_the_law_inside_the_regime(model, noiseless):
    # at a point inside each regime every resolved non-dominant part has a smaller exponent than R's law
    import numpy as np

    from analytic.phase_diagram import derive

    diagram = derive(model, noiseless=noiseless)
    regimes = {r.name: r for r in diagram.regimes}
    rng = np.random.default_rng(0)
    for r in decomposition(model, noiseless):
        if regimes[r.regime].line is not None:
            continue
        for _ in range(4000):  # a random point inside the regime
            point = {ell: rng.uniform(0.05, 6), kappa: rng.uniform(-4, 6), gamma: 1.5}
            if regimes[r.regime].holds_at(point[ell], point[kappa], 1.5):
                break
        else:
            pytest.fail(f"no point found in {r.regime}")
        law = float(r.logd_risk.subs(point))
        for part, rates in r.rates.items():
            for e, p in rates:
                value = float(sp.sympify(e).subs(point))
                assert value <= law + 1e-12 if part in r.dominant else value < law + 1e-12, (r.regime, part)


def test_same_form_for_both_networks_where_both_have_the_regime():
    # the paper's claim, derived: the shared regimes are dominated by the same parts (Delta > 0)
    rows = {row["regime"]: row for row in same_form()}
    shared = [row for row in rows.values() if row["diagonal"] is not None and row["quadratic"] is not None]
    assert len(shared) == 5 and all(row["verdict"] == "same dominant parts" for row in shared)


def test_dominant_parts_at_a_point_and_latex():
    assert dominant_parts_at("diagonal", 0.4, 3.7, 1.5) == ("plateau", ("missed_signal",))
    assert dominant_parts_at("diagonal", 5.0, -2.2, 1.5)[1] == ("learned_noise",)
    tex = decomposition_latex("diagonal")
    assert tex.startswith(r"\begin{tabular}") and "shrinkage bias" in tex and set(PARTS) >= {"fitted_noise"}
