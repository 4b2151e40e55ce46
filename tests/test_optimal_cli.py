"""``scalinglab optimal``: the SE minimiser beside the derived optimum."""

import json
import shlex

from crosscheck.cli import main


def test_optimal_json_has_the_minimiser_and_the_derived_optimum(capsys):
    code = main(shlex.split("optimal diagonal --d 10000 --n 100 --gamma 1.5 --noise 0.5 --json"))
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["converged"] and out["risk"] >= out["risk_bayes"] > 0
    derived = out["derived"]
    assert derived["logd_risk"] == "-2*ell/3" and derived["kappa_opt_here"][0] == derived["kappa_opt_here"][1]
    # one point: lam_opt sits above the derived sqrt(n/d) by the log factor (ln d)^(1/2) the SE shows, not below it
    assert out["measured_exponents_at_this_d"]["log_d_lam_opt"] >= derived["kappa_opt_here"][0] - 0.05


def test_optimal_bad_input(capsys):
    assert main(shlex.split("optimal diagonal --d 100 --n 10 --gamma 0.4")) == 2
    assert "gamma" in capsys.readouterr().err
