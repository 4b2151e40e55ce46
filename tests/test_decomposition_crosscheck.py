"""The decomposition cross-check (crosscheck.decomposition) and the CLI verbs of issue 5: derive --decomposition /
--tails, crosscheck --decomposition, prune."""

import json
import shlex

import pytest

from crosscheck.cli import main
from crosscheck.decomposition import check_point, decomposition_figure, format_decomposition


@pytest.mark.parametrize("ell,kappa,noise,derived", [
    (1.5, 0.7, 0.5, {"shrinkage_bias", "missed_signal"}),  # sparse
    (5.0, 2.2, 0.5, {"shrinkage_bias"}),                   # dense
    (2.5, -1.1, 0.5, {"learned_noise"}),                   # variance-limited
    (0.4, -2.2, 0.5, {"fitted_noise"}),                    # noise-fitted interpolation
    (0.8, 2.2, 0.0, {"missed_signal"}),                    # plateau
])
def test_numeric_dominant_part_is_the_derived_one(ell, kappa, noise, derived):
    point = check_point("diagonal", ell, kappa, 1.5, noise, (1e6, 1e10))
    assert set(point["derived"]) == derived
    assert point["status"] == "agree" and point["derived_share"] >= 0.5, point
    for row in point["by_d"]:
        assert row["converged"] and row["sum_error"] <= 1e-10
        assert abs(sum(row["shares"].values()) - 1.0) <= 1e-10


def test_the_check_can_fail(monkeypatch):
    # a derivation that called the dense regime noise-fitted: the fitted noise carries ~0 of R there
    import analytic.decomposition as ad

    monkeypatch.setattr(ad, "part_of", lambda label: "fitted_noise")
    point = check_point("diagonal", 5.0, 2.2, 1.5, 0.5, (1e6,))
    assert point["status"] == "disagree" and point["derived_share"] < 1e-6


def test_report_and_figure(tmp_path):
    points = [check_point("diagonal", e, k, 1.5, 0.5, (1e6,)) for e, k in ((1.5, 0.7), (5.0, 2.2))]
    result = {"model": "diagonal", "gamma": 1.5, "ds": [1e6], "boundary_band": 0.15, "majority": 0.5, "passed": True,
              "diagrams": [{"noise": 0.5, "points": points, "counts": {"agree": 2}}]}
    text = format_decomposition(result)
    assert "PASSED" in text and "sparse" in text
    files = decomposition_figure(result, tmp_path / "decomposition")
    assert all((tmp_path / f"decomposition.{ext}").stat().st_size > 0 for ext in ("png", "pdf")) and len(files) == 2


def test_derive_decomposition_and_tails_json(capsys):
    assert main(shlex.split("derive quadratic --decomposition --json")) == 0
    out = json.loads(capsys.readouterr().out)
    assert {r["regime"] for r in out["regimes"]} >= {"plateau", "sparse (top-K learned)", "variance-limited"}
    assert any(row["verdict"] == "same dominant parts" for row in out["same_form"])
    assert main(shlex.split("derive diagonal --tails --json")) == 0
    out = json.loads(capsys.readouterr().out)
    exponents = {t["tail_exponent"] for t in out["tails"]}
    assert "(gamma + 1)/gamma" in exponents


@pytest.mark.parametrize("command,message", [
    ("derive diagonal --tails --decomposition", "separate"),
    ("derive dynamics --decomposition", "diagonal and quadratic"),
    ("crosscheck dynamics --decomposition --quick", "diagonal or quadratic"),
    ("crosscheck diagonal --decomposition --jobs 2", "this process"),
    ("prune diagonal --d 100 --n 50", "--lam"),
    ("prune diagonal --rates --d 100", "--rates"),
    ("prune dynamics --d 100 --n 50 --lam 1", "unknown model"),
    ("prune diagonal --d 100 --n 50 --lam -1", "lam"),
])
def test_bad_input(command, message, capsys):
    assert main(shlex.split(command)) == 2
    assert message in capsys.readouterr().err


def test_prune_point_json(capsys):
    assert main(shlex.split("prune diagonal --d 200 --n 400 --lam 1 --json")) == 0
    out = json.loads(capsys.readouterr().out)
    p = out["prediction"]
    assert p["converged"] and all(p[k] > 0 for k in ("lasso", "debias", "prune", "prune_debias", "rethreshold"))
    # debiasing every coordinate (threshold 0) returns the effective observation, whose risk is d tau^2/n
    assert p["observation"] == pytest.approx(200 * p["se"]["tau2"] / 400, rel=1e-12)


def test_prune_quadratic_point_json(capsys):
    assert main(shlex.split("prune quadratic --d 60 --n 1800 --lam 6 --gamma 1.5 --noise 0.5 --json")) == 0
    p = json.loads(capsys.readouterr().out)["prediction"]
    assert p["converged"] and p["lasso"] == pytest.approx(p["se"]["excess_risk"], rel=1e-8)
    # the risk of Y itself: E (1/d)||sigma W||_F^2 = sigma^2 (d + 1)/d at finite d
    assert p["observation_finite_d"] == pytest.approx(p["se"]["sigma2"] * 61 / 60, rel=1e-12)
