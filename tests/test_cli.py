"""The command-line contract: JSON fields, exit codes, one-line errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp

from analytic.symbols import ell, gamma, kappa
from crosscheck.cli import main

BAD = [
    ("se diagonal --d 100 --n 50 --lam 0.1 --gamma 0.4 --noise 0.1 --json", "gamma"),
    ("se diagonal --d 100 --n -5 --lam 0.1 --gamma 1 --noise 0.1 --json", "n must be"),
    ("se diagonal --d 100 --n 50 --lam nan --gamma 1 --noise 0.1 --json", "lam must be finite"),
    ("se diagonal --d 0 --n 50 --lam 0.1 --gamma 1 --noise 0.1", "d must be"),
    ("se diagonal --d 100 --n 50 --lam -1 --gamma 1", "lam must be"),
    ("se nosuchmodel --d 100 --n 50 --lam 0.1 --gamma 1 --noise 0.1 --json", "unknown model"),
    ("bayes diagonal --d 100 --n 50 --gamma 1 --noise -0.1", "noise must be"),
    ("simulate diagonal --d 10 --n 5.5 --lam 0.1 --gamma 1", "n must"),
    ("derive diagonal --penalty l3", "invalid choice"),
    ("claim diagonal --rate 'n**' --where 'n << d'", "cannot parse"),
    ("se diagonal --d 100", "required"),
    ("se quadratic --d 30 --n 100 --lam 1 --gamma 0.5 --noise 0.1", "gamma"),
    ("se quadratic --d 0 --n 100 --lam 1 --gamma 1", "d must be"),
    ("se quadratic --d 30 --n 100 --lam 1 --gamma 1 --digits 40", "diagonal network only"),
    ("se diagonal --d 30 --n 100 --lam 1 --gamma 1 --method montecarlo", "quadratic network only"),
    ("se quadratic --d 30 --n 100 --lam 1 --gamma 1 --samples 10", "montecarlo only"),
    ("simulate quadratic --d 10 --n 50 --lam 1 --gamma 1 --width 5", "width"),
    ("simulate quadratic --d 10 --n 50 --lam 1 --gamma 1 --method lasso", "not a method of the quadratic"),
    ("simulate quadratic --d 10 --n 50 --lam 1 --gamma 1 --design gaussian", "network needs"),
    ("simulate diagonal --d 10 --n 50 --lam 1 --gamma 1 --design gaussian", "quadratic network only"),
    ("simulate diagonal --d 10 --n 50 --lam 1 --gamma 1 --blocks 3", "quadratic network only"),
    ("simulate quadratic --d 10 --n 50 --lam 1 --gamma 0 --rank 4 --blocks 2", "degenerate"),
    ("derive quadratic --penalty l1", "unknown penalty"),
    ("derive diagonal --compare", "--compare"),
    ("claim diagonal --rate 'n_eff**(-1)' --where 'n << d'", "n_eff"),
    ("claim diagonal --rate '__import__(\"os\").getcwd()' --where 'n << d'", "unknown name '__import__'"),
    ("se quadratic --d 1e300 --n 10 --lam 0.1 --gamma 1.5", "too large"),
    ("bayes diagonal --d 1e300 --n 100 --gamma 1.5", "too large"),
    ("simulate diagonal --d 1e9 --n 1e9 --lam 0.1 --gamma 1.5 --seeds 1", "GiB, more than half"),  # before allocating
    ("simulate quadratic --d 400 --n 1e5 --lam 1 --gamma 1.5 --method convex --design gaussian", "Gaussian design"),
    ("sweep diagonal --what se --d 10 --n 10 --lam 0.1 --gamma 1.5 --out /dev/null", "not a folder"),
]


@pytest.mark.parametrize("argv,fragment", BAD)
def test_invalid_input_is_one_line_and_exit_2(argv, fragment, capsys):
    import shlex

    assert main(shlex.split(argv)) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("scalinglab: error:") and fragment in err


def test_json_output_is_standard_json(capsys):
    """--json prints standard JSON: values that are not computed (NaN) or infinite are null, not NaN/Infinity tokens."""
    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")

    assert main(["bayes", "quadratic", "--d", "20", "--n", "50", "--gamma", "1.5", "--json"]) == 0
    data = json.loads(capsys.readouterr().out, parse_constant=refuse)
    assert data["zeta"] is None and data["converged"] is True
    assert main(["se", "quadratic", "--d", "20", "--n", "0", "--lam", "0", "--gamma", "1.5", "--json"]) == 0
    data = json.loads(capsys.readouterr().out, parse_constant=refuse)
    assert data["sigma2"] is None and data["excess_risk"] == 1.0 and data["recovered"] is False


def test_se_json(capsys):
    assert main("se diagonal --d 300 --n 150 --lam 0.2 --gamma 1.2 --noise 0.1 --json".split()) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["converged"] is True and 0 < out["excess_risk"] < 1


def test_se_mpmath_agrees_with_float64(capsys):
    main("se diagonal --d 200 --n 100 --lam 0.05 --gamma 1.0 --noise 0.2 --json".split())
    a = json.loads(capsys.readouterr().out)
    main("se diagonal --d 200 --n 100 --lam 0.05 --gamma 1.0 --noise 0.2 --digits 30 --json".split())
    b = json.loads(capsys.readouterr().out)
    assert b["method"].startswith("mpmath") and b["excess_risk"] == pytest.approx(a["excess_risk"], rel=1e-10)


def test_bayes_below_lasso(capsys):
    main("bayes diagonal --d 400 --n 200 --gamma 1.0 --noise 0.5 --json".split())
    bo = json.loads(capsys.readouterr().out)
    main("se diagonal --d 400 --n 200 --lam 0.3 --gamma 1.0 --noise 0.5 --teacher gaussian --json".split())
    lasso = json.loads(capsys.readouterr().out)
    assert bo["converged"] and 0 < bo["excess_risk"] <= lasso["excess_risk"]


def test_simulate_json(capsys):
    assert main("simulate diagonal --d 30 --n 60 --lam 0.3 --gamma 1.0 --noise 0.1 --seeds 3 --json".split()) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["excess_risk_mean"] > 0 and out["excess_risk_sem"] > 0


def test_derive_json_is_parsable(capsys):
    assert main("derive diagonal --json".split()) == 0
    data = json.loads(capsys.readouterr().out)
    names = {"ell": ell, "kappa": kappa, "gamma": gamma}
    assert len(data["regimes"]) >= 5
    tau2_eq, threshold_eq = data["state_evolution"]  # the equations the regimes were derived from
    assert tau2_eq.startswith(r"\tau^{2} = \Delta") and r"\zeta" in threshold_eq
    for r in data["regimes"]:
        assert {"name", "condition", "logd_risk", "rate", "latex"} <= set(r)
        sp.sympify(r["condition"], locals=names)
        assert sp.sympify(r["logd_risk"], locals=names).free_symbols <= {ell, kappa, gamma}


def test_derive_latex_and_ridge(capsys):
    assert main("derive diagonal --latex".split()) == 0
    assert r"\toprule" in capsys.readouterr().out
    assert main("derive diagonal --penalty l2 --noiseless --json".split()) == 0
    assert json.loads(capsys.readouterr().out)["penalty"] == "l2"


def test_claim_exit_codes(capsys):
    good = "claim diagonal --rate (lam*sqrt(d)/n)**(2-1/gamma) --where sqrt(n/d)<<lam,n/d**(gamma+1/2)<<lam,lam<<n/sqrt(d) --json"
    assert main(good.split()) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "holds"
    bad = "claim diagonal --rate n**(-1+1/(2*gamma)) --where n<<d,lam<<sqrt(n/d) --json"
    assert main(bad.split()) == 1
    v = json.loads(capsys.readouterr().out)
    assert v["verdict"] == "fails" and len(v["points"]) >= 3


def test_quadratic_json_contract(capsys):
    assert main("se quadratic --d 40 --n 800 --lam 5 --gamma 1.5 --noise 0.5 --json".split()) == 0
    se = json.loads(capsys.readouterr().out)
    assert se["converged"] is True and 0 < se["excess_risk"] < 1 and se["method"] == "deterministic"
    assert main("simulate quadratic --d 12 --n 72 --lam 2 --gamma 1.5 --noise 0.5 --seeds 3 --json".split()) == 0
    sim = json.loads(capsys.readouterr().out)
    assert sim["excess_risk_mean"] > 0 and sim["excess_risk_sem"] > 0 and len(sim["spectra"]) == 3
    assert sim["error_blocks"] is None
    assert main("simulate quadratic --d 12 --n 72 --lam 2 --gamma 1.5 --noise 0.5 --seeds 3 --blocks 2 --json".split()) == 0
    blocks = json.loads(capsys.readouterr().out)["error_blocks"]
    assert blocks["directions"] == 2 and sum(blocks[k]["mean"] for k in ("top", "cross", "rest")) == \
        pytest.approx(sim["excess_risk_mean"], rel=1e-12)
    assert main("bayes quadratic --d 40 --n 800 --gamma 1.5 --noise 0.5 --json".split()) == 0
    assert 0 < json.loads(capsys.readouterr().out)["excess_risk"] <= se["excess_risk"]


def test_derive_quadratic_json_and_comparison(capsys):
    assert main("derive quadratic --json".split()) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["penalty"] == "trace" and "n_eff" in data["variables"]["ell"] and data["notes"]
    names = {"ell": ell, "kappa": kappa, "gamma": gamma, "n_eff": sp.Symbol("n_eff", positive=True)}
    for r in data["regimes"]:
        assert sp.sympify(r["logd_risk"], locals=names).free_symbols <= {ell, kappa, gamma}
        assert "n_eff" in r["rate"] or "n" not in r["rate"].replace("n_eff", "")
    assert main("derive quadratic --compare --json".split()) == 0
    cmp = json.loads(capsys.readouterr().out)
    assert cmp["kappa_shift"] == "1" and any(p["verdict"] == "different exponent" for p in cmp["pairings"])


SCRIPT = Path(sys.executable).with_name("scalinglab")


@pytest.mark.skipif(not SCRIPT.exists(), reason="console script not installed next to this python")
def test_console_script_exit_status():
    proc = subprocess.run([str(SCRIPT), "se", "diagonal", "--d", "10", "--n", "5", "--lam", "nan", "--gamma", "1"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "crosscheck.cli", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "crosscheck" in proc.stdout
