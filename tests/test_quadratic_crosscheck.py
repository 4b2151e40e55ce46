"""The cross-check of the quadratic network: rays in n_eff, claims in n_eff, SE vs simulations, the report."""

import json

import pytest
import sympy as sp

from analytic import derive
from analytic.symbols import ell, kappa
from crosscheck.claims import check_claim, power_law
from crosscheck.compare import check_point, compare_with_simulation
from crosscheck.models import allowance, samples
from crosscheck.rays import measure_ray
from crosscheck.run import run_crosscheck

n, d, lam, n_eff = sp.symbols("n d lam n_eff", positive=True)


def test_rates_in_n_eff_and_n_mean_the_same_ray():
    assert power_law(d / n_eff, "quadratic") == power_law(d**2 / n, "quadratic") == (1 - ell, 0)
    assert sp.simplify(power_law(lam**2 / n_eff**2, "quadratic")[0] - (2 * kappa - 2 * ell)) == 0
    assert samples("quadratic", 100.0, 0.5) == pytest.approx(100.0**1.5)
    with pytest.raises(ValueError, match="n_eff"):
        power_law(n_eff, "diagonal")


def test_variance_limited_ray_has_the_least_squares_exponent():
    """n_eff = d^1.5 (n = d^2.5), small lam: the PSD least-squares variance d/n_eff, slope -1/2. The K ~ d^(ell/(2 gamma))
    teacher directions above the noise add ~K/d = d^(-1/2) relative to R, so the local slope approaches -1/2 from below,
    its gap shrinking ~3x per decade (measured -0.528 at d = 1e3..1e4, -0.509 at 1e4..1e5): 0.02 covers the last pair."""
    ray = measure_ray(1.5, -0.1, 1.5, 0.5, [1e3, 1e4, 1e5], model="quadratic")
    assert ray.converged and ray.exponent == pytest.approx(-0.5, abs=0.02)
    assert ray.slopes[-1] > ray.slopes[-2]  # approaching from below


def test_check_point_in_the_sparse_regime():
    diagram = derive("quadratic")
    pc = check_point(diagram, 2.5, 2.3, 1.5, 0.5, [1e3, 1e4, 1e5])
    assert pc.regime == "sparse (top-K learned)" and pc.analytic_exponent == pytest.approx(-(2 / 3) * 1.4)
    assert pc.status == "agree", pc


def test_claim_in_n_eff_holds_and_the_diagonal_law_is_not_confirmed():
    holds = check_claim("d/n_eff", "n_eff >> d, n_eff << d**2, lam << sqrt(n)", gamma=1.5, noise=0.5, points=2,
                        model="quadratic")
    assert holds["verdict"] == "holds", holds["points"]
    # the diagonal network's interpolation law 1/log(d) is not the quadratic one (n_eff/d)^(2/5): the SE slopes there
    # are still moving at d = 1e4 (README item 4), so no point may agree with the claim, and none settles on it
    other = check_claim("1/log(d)", "d**(1/2) << n_eff, n_eff << d, lam << sqrt(n)", gamma=1.5, noise=0.5, points=2,
                        model="quadratic")
    assert other["verdict"] != "holds" and all(p["status"] != "agrees" for p in other["points"]), other["points"]
    assert all(p["derived_regime"] == "interpolation (noise fitted)" for p in other["points"])


@pytest.mark.parametrize("design", ["quadratic", "gaussian"])
def test_se_vs_simulation_record(design):
    check = compare_with_simulation(12, 72, 2.0, 1.5, 0.5, seeds=3, method="convex", model="quadratic", design=design)
    assert check.model == "quadratic" and check.design == design and check.sim_sem > 0
    assert check.allowance == pytest.approx(allowance("quadratic", check.se_risk, 12, design))
    assert allowance("quadratic", 1.0, 60, "quadratic") == pytest.approx(5 / 60)
    assert allowance("quadratic", 1.0, 60, "gaussian") == 0.0  # the finite-d corrected SE: 3 s.e. only
    assert allowance("quadratic", 1.0, 60, "gaussian", corrected=False) == pytest.approx(1 / 60)


def test_quadratic_report(tmp_path):
    config = dict(ells=(1.5,), kappas=(-0.1,), ds=(1e2, 1e3, 1e4), peak=(),
                  sims=((12, 0.5, 0.3, True, "quadratic", ("network", "convex")), (12, 0.5, 0.3, True, "gaussian", ("convex",))),
                  seeds=3, controls=(12,))
    report = run_crosscheck("quadratic", quick=True, out=tmp_path, gamma=1.5, noise=0.5, progress=False, config=config)
    s = report["summary"]
    assert s["points"] == 2 and s["simulations"] == 5
    # the universality control: a flat rank-d/4 teacher on the real features, Delta = --noise and 0, convex solves
    controls = [c for c in report["simulations"] if c["rank"] is not None]
    assert [(c["rank"], c["gamma"], c["design"], c["method"], c["noise"]) for c in controls] == \
        [(3, 0.0, "quadratic", "convex", 0.5), (3, 0.0, "quadratic", "convex", 0.0)]
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["model"] == "quadratic" and "real features" in saved["tolerances"]["simulation"]
    for name in ("table.tex", "phase_diagram_noisy.png", "se_vs_simulation.png", "finite_size_gap.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert r"n_{\mathrm{eff}}" in (tmp_path / "table.tex").read_text()


def test_deterministic_vs_montecarlo_check():
    """The report's check at a small d: the corrected deterministic SE is judged, the limit's O(1/d) gap is shown."""
    from crosscheck.tasks import montecarlo
    from numeric.se_matrix import MC_REL, MC_SIGMAS

    v = montecarlo({"d": 40, "n": 800.0, "lam": 12.0, "gamma": 1.0, "noise": 0.25, "samples": 400, "seed": 0})
    assert v["tolerance"] == pytest.approx(max(MC_REL * v["montecarlo"], MC_SIGMAS * v["montecarlo_err"]))
    assert v["status"] == "agree", v
    # the uncorrected limit is O(1/d) below the finite-d average (~1/d relative here), the corrected one is not
    assert v["relative_gap_limit"] < -0.25 / 40 and abs(v["relative_gap_finite_d"]) < abs(v["relative_gap_limit"])


def test_peak_line_samples():
    from crosscheck.tasks import peak_samples

    n_of_d, text = peak_samples("quadratic")
    assert n_of_d(100) == 100 * 101 / 4 and text == "n = d*(d + 1)/4"
    assert peak_samples("diagonal")[0](100.0) == 100.0


@pytest.mark.parametrize("gamma, kappa", [(0.75, -1.0), (1.5, -1.0), (3.0, -2.0)])
def test_noiseless_peak_line_follows_the_adjoining_laws(gamma, kappa):
    """Delta = 0: no peak branch (nothing feeds a pure-noise bulk); on n = d(d+1)/4 the SE follows the larger of
    the adjoining noiseless laws (basis pursuit below, dense above) taken at ell = 1 -- measured, README."""
    from crosscheck.compare import EXPONENT_TOL
    from crosscheck.tasks import peak_samples

    diagram = derive("quadratic", noiseless=True)
    assert not [r for r in diagram.regimes if r.line is not None]
    sides = [diagram.regime_at(1.0 + s, kappa, gamma) for s in (-1e-3, 1e-3)]
    expected = max(r.exponent_at(1.0, kappa, gamma) for r in sides)
    ray = measure_ray(1.0, kappa, gamma, 0.0, [1e2, 1e3, 1e4], n_of_d=peak_samples("quadratic")[0], model="quadratic")
    assert ray.converged and ray.exponent == pytest.approx(expected, abs=EXPONENT_TOL), (ray, [r.name for r in sides])
