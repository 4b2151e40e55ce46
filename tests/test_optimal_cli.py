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


def test_optimal_scaling_of_the_diagonal_network_matches_the_derived_exponents(capsys):
    # acceptance (issue 5): the SE minimiser's exponents of lam_opt and R(lam_opt) in d, over two decades
    # (d = 1e10 ... 1e12), against the derived kappa_opt = (ell - 1)/2 and log_d R = -ell (1 - 1/(2 gamma)), within the
    # project's exponent tolerance 0.05 (crosscheck.compare.EXPONENT_TOL); the LASSO's log factors (test_optimal.py,
    # test_slopes_undersampled) move these slopes by p/ln d ~ 0.02-0.04 here, inside it, as the acceptance allows
    code = main(shlex.split("optimal diagonal --scaling --ells 0.8,2.5 --gamma 1.5 --noise 0.5 --json"))
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["passed"] and out["ds"] == [1e10, 1e11, 1e12]
    for p in out["points"]:
        assert p["lam_opt"]["status"] == "agree" and p["risk"]["status"] == "agree"
        assert abs(p["lam_opt"]["measured"] - (p["ell"] - 1) / 2) <= 0.05
        assert abs(p["risk"]["measured"] + p["ell"] * (1 - 1 / 3)) <= 0.05


def test_optimal_scaling_detects_a_wrong_derived_optimum(monkeypatch):
    # the check can fail: shift the derived kappa_opt by 0.2 and it must report a disagreement
    import analytic.optimal as ao
    from crosscheck.optimal import check_optimal_scaling

    true = ao.optimal_weight_decay

    def shifted(*args, **kwargs):
        return tuple(ao.OptimalPiece(p.lo, p.hi, p.logd_risk, None if p.kappa_low is None else p.kappa_low + 0.2,
                                     None if p.kappa_high is None else p.kappa_high + 0.2, p.regimes)
                     for p in true(*args, **kwargs))

    monkeypatch.setattr(ao, "optimal_weight_decay", shifted)
    out = check_optimal_scaling("diagonal", [0.8], 1.5, 0.5, ds=(1e10, 1e11, 1e12))
    assert not out["passed"] and out["points"][0]["lam_opt"]["status"] == "disagree"


def test_optimal_scaling_bad_input(capsys):
    assert main(shlex.split("optimal diagonal --scaling --d 100 --gamma 1.5")) == 2
    assert "--scaling" in capsys.readouterr().err
    assert main(shlex.split("optimal diagonal --gamma 1.5")) == 2
    assert "--d and --n" in capsys.readouterr().err
    assert main(shlex.split("optimal diagonal --scaling --ells 0.8 --ds 1e6,1e5 --gamma 1.5")) == 2
    assert "increasing" in capsys.readouterr().err
