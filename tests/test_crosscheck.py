"""The meeting point: claim parsing, exponent measurement, comparisons, the report pipeline."""

import json
import math

import pytest
import sympy as sp

from analytic import derive
from analytic.symbols import ell, gamma, kappa
from crosscheck.claims import claimed_law, power_law, region, sample_points
from crosscheck.compare import boundary_distance, check_point, subleading_ratio
from crosscheck.rays import measure_ray
from crosscheck.report import figures_from_report
from crosscheck.run import run_crosscheck

n, d, lam = sp.symbols("n d lam", positive=True)


def test_power_law_parsing():
    e, p = power_law(n ** (-1 + 1 / (2 * gamma)))
    assert sp.simplify(e - (-ell + ell / (2 * gamma))) == 0 and p == 0
    e, p = power_law((lam * sp.sqrt(d) / n) ** (2 - 1 / gamma))
    assert sp.simplify(e - (2 - 1 / gamma) * (kappa + sp.Rational(1, 2) - ell)) == 0
    assert power_law(sp.log(d) ** 2 / n) == (-ell, 2)
    terms = claimed_law("d/n + lam**2*d**2/n**2")
    assert sorted(sp.sstr(t[0]) for t in terms) == sorted(["1 - ell", "-2*ell + 2*kappa + 2"])
    with pytest.raises(ValueError):
        claimed_law("n**x")


def test_region_parsing_and_sampling():
    forms = region("n << d, lam < sqrt(n/d)")
    assert {sp.expand(f) for f in forms} == {1 - ell, ell / 2 - sp.Rational(1, 2) - kappa}
    assert region("ell > 1") == [ell - 1]
    for l, k in sample_points(forms, 1.5):
        assert l < 1 - 0.09 and k < (l - 1) / 2 - 0.09
    with pytest.raises(ValueError):
        sample_points(region("n << d, n >> d"), 1.5)


def test_ray_recovers_least_squares_variance():
    """n = d^2, small lam: R = Delta d/(n - d) ~ d/n, slope -1 (independent of the derivation)."""
    ray = measure_ray(2.0, -1.0, 1.5, 0.5, [1e4, 1e6, 1e8])
    assert ray.converged and ray.exponent == pytest.approx(-1.0, abs=1e-3)
    assert ray.risks[-1] == pytest.approx(0.5 * 1e8 / (1e16 - 1e8), rel=1e-3)


def test_check_point_and_distances():
    dg = derive()
    pc = check_point(dg, 2.5, -1.0, 1.5, 0.5, [1e4, 1e6, 1e8, 1e10])
    assert pc.status == "agree" and pc.regime == "variance-limited"
    # distance from (2.5, -1) to the line kappa = (ell - 1)/2 is |(-1) - 0.75| / sqrt(1 + 1/4)
    assert pc.boundary_distance == pytest.approx(min(1.5, 1.75 / math.sqrt(1.25)), rel=1e-9)
    regime = dg.regime_at(0.5, -2.0, 1.5)
    assert subleading_ratio(regime, 0.5, -2.0, 1.5, 1e30) < subleading_ratio(regime, 0.5, -2.0, 1.5, 1e8)
    assert boundary_distance(regime, 0.5, -2.0, 1.5) == pytest.approx(0.5)


def test_pipeline_writes_a_report_that_rebuilds_its_figures(tmp_path):
    config = dict(ells=(0.5, 2.5), kappas=(-1.1,), ds=(1e4, 1e6, 1e8), peak=(-1.0,), sims=((40, 2.0),), seeds=3)
    report = run_crosscheck("diagonal", quick=True, out=tmp_path, gamma=1.5, noise=0.5, progress=False, config=config)
    s = report["summary"]
    assert s["points"] == 5 and s["simulations"] == 2
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["summary"]["passed"] == s["passed"]
    for name in ("table.tex", "phase_diagram_noisy.png", "phase_diagram_noiseless.pdf", "se_vs_simulation.png"):
        assert (tmp_path / name).stat().st_size > 0
    for f in tmp_path.glob("*.png"):
        f.unlink()
    rebuilt = figures_from_report(saved, tmp_path)
    assert len(rebuilt) == 6 and all((tmp_path / p).exists() for p in rebuilt)


def test_rerun_reuses_finished_points_and_survives_a_torn_line(tmp_path):
    config = dict(ells=(2.5,), kappas=(-1.1,), ds=(1e4, 1e6, 1e8), peak=(), sims=((30, 2.0),), seeds=2)
    first = run_crosscheck("diagonal", quick=True, out=tmp_path, gamma=1.5, noise=0.5, progress=False, config=config)
    store = tmp_path / "points.jsonl"
    lines = store.read_text().splitlines()
    assert len(lines) == 5  # the header, two exponent points, two simulations
    with open(store, "a") as fh:
        fh.write('{"key": "torn')  # an interruption in the middle of a write
    second = run_crosscheck("diagonal", quick=True, out=tmp_path, gamma=1.5, noise=0.5, progress=False, config=config)
    assert store.read_text().count("\n") == 5 and store.read_text().endswith("\n")  # torn tail cut, nothing redone
    same = lambda x: json.loads(json.dumps(x))  # noqa: E731 - compare as stored (tuples become lists)
    assert same(second["exponents"]) == same(first["exponents"])
    assert same(second["simulations"]) == same(first["simulations"])
