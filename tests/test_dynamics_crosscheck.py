"""The dynamics cross-check, its report and store, the dynamics claims and the flow/sgd/derive command lines."""

import json
import shlex

import pytest

from crosscheck.cli import main
from crosscheck.dynamics import finite_size, sgd_stability, slow_decay, time_exponent, width_floor
from crosscheck.dynamics_claims import check_dynamics_claim, claimed_exponents, window
from crosscheck.dynamics_run import QUICK_DYNAMICS, run_dynamics_crosscheck
from crosscheck.run import rebuild_report

SMALL = {
    "flow_ode": [{"d": 60, "r": 6, "alpha": 1.0, "width": 5, "sigma0": 1.0, "seed": 0, "times": [0.5, 4.0, 16.0]}],
    "learning_times": [{"d": 10**24, "r": 8, "alpha": 1.0, "width": 12, "sigma0": 1.0, "seed": 0, "seeds": 2,
                        "count": 8, "judged": True, "times": [round(0.5 * 1.2**k, 6) for k in range(60)]}],
    "time_exponent": [{"alpha": 1.0, "beta": 0.5, "ds": [1e18, 1e24], "width": 120, "head": 120, "sigma0": 1.0,
                       "seed": 0, "window": [8, 40], "points": 16}],
    "slow_decay": [],
    "width_floor": [{"d": 500, "r": 20, "alpha": 1.0, "width": 6, "sigma0": 1.0, "seed": 0, "t_final": 2000.0}],
    "spare_mass": [],
    "finite_size": [],
    "sgd_flow": [],
    "sgd_stability": [],
}


def test_small_dynamics_crosscheck_report_store_and_rebuild(tmp_path):
    report = run_dynamics_crosscheck(quick=True, out=tmp_path, progress=False, config=SMALL)
    s = report["summary"]
    assert s["passed"] and s["checks"] == 4 and s["agree"] == 4
    for name in ("report.json", "table.tex", "risk_vs_time.png", "time_exponent_trend.png", "staircase_0.png"):
        assert (tmp_path / name).exists(), name
    table = (tmp_path / "table.tex").read_text()
    assert "power law" in table and "time exponent" in table
    again = run_dynamics_crosscheck(quick=True, out=tmp_path, progress=False, config=SMALL)  # every point reused
    assert again["summary"] == report["summary"]
    rebuilt = rebuild_report(tmp_path)
    assert rebuilt["summary"]["agree"] == 4


def test_time_exponent_check_can_disagree():
    # at d = 1e6 with a window over the first directions the slope is still far from -1: the check must say so
    p = dict(SMALL["time_exponent"][0], ds=[1e6], window=[2, 8], width=60, head=60)
    out = time_exponent(p)
    assert out["status"] == "disagree" and abs(out["difference"]) > 0.02


def test_width_floor_check_fails_for_the_wrong_width():
    p = SMALL["width_floor"][0]
    assert width_floor(p)["status"] == "agree"
    wrong = width_floor(dict(p, width=p["width"] + 1))  # its own floor is right: compare with the m = 6 floor instead
    assert abs(wrong["risk"] - width_floor(p)["floor"]) / width_floor(p)["floor"] > 0.05


def test_slow_decay_and_finite_size_checks():
    p = dict(QUICK_DYNAMICS["slow_decay"][1], ds=[1e24], r=32, width=32, points=80)
    out = slow_decay(p)
    assert out["status"] == "agree" and abs(out["rows"][-1]["half_time_ratio"] - 1) <= 0.1
    p = dict(QUICK_DYNAMICS["finite_size"][1], seeds=2)
    out = finite_size(p)
    assert out["status"] == "agree" and out["measured_slope"] < out["bare_exponent"]  # steeper at d = 1e3


def test_sgd_stability_brackets_the_derived_limit():
    p = dict(QUICK_DYNAMICS["sgd_stability"][0], d=60, r=6, width=6, seeds=3, horizon=10.0, factors=[0.5, 2.0])
    out = sgd_stability(p)
    assert out["derived_limit"] == pytest.approx(0.5)
    assert out["diverged_fraction"] == [0.0, 1.0] and out["status"] == "agree"


def test_claim_parsing_and_windows():
    assert claimed_exponents("t**(-(2*alpha-1)/alpha)", 1.5) == {"t": pytest.approx(-4 / 3)}
    assert claimed_exponents("(n/(d*log(d)))**(-1)", 1.0) == {"t": -1.0}
    assert claimed_exponents("m**(-(2*alpha-1))", 1.0) == {"m": -1.0}
    scales = {"t1": 2.0, "tr": 1000.0, "tm": 50.0, "r": 100.0, "d": 1e6, "m": 40.0}
    assert window("t1 << t, t << tr", scales, "t") == (20.0, 100.0)
    with pytest.raises(ValueError, match="does not hold"):
        window("r << m", scales, "t")
    with pytest.raises(ValueError, match="power law"):
        claimed_exponents("exp(-t)", 1.0)


def test_width_claim_holds_and_a_wrong_one_fails():
    good = check_dynamics_claim("m**(-(2*alpha-1))", "t >> tm", alpha=1.5)
    assert good["verdict"] == "holds"
    bad = check_dynamics_claim("m**(-1)", "t >> tm", alpha=1.5)
    assert bad["verdict"] == "fails"


def _run(argv, capsys):
    code = main(shlex.split(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_flow_and_sgd_json(capsys):
    code, out, _ = _run("flow quadratic --d 1e24 --r 1e12 --alpha 1 --width 50 --head 50 --t 1,10,100 --json", capsys)
    data = json.loads(out)
    assert code == 0 and data["converged"] and len(data["risk"]) == 3 and data["d"] == 10**24
    assert data["risk"][0] > data["risk"][-1]
    code, out, _ = _run("sgd quadratic --d 40 --r 4 --alpha 1 --width 4 --steps 200 --lr 1e-3 --seeds 3 --sigma0 0.3 "
                        "--json", capsys)
    data = json.loads(out)
    assert code == 0 and data["diverged_seeds"] == 0 and len(data["risk_mean"]) == len(data["risk_sem"])
    code, out, _ = _run("sgd quadratic --d 40 --r 4 --alpha 1 --width 4 --steps 2000 --lr 0.5 --seeds 2 --json", capsys)
    assert code == 1 and json.loads(out)["diverged_seeds"] == 2


def test_derive_dynamics_json(capsys):
    code, out, _ = _run("derive dynamics --json", capsys)
    data = json.loads(out)
    assert code == 0 and data["model"] == "dynamics" and set(data["variables"]) >= {"s", "mu", "beta", "alpha"}
    power = [r for r in data["regimes"] if r["name"] == "power law"]
    assert power and power[0]["logd_risk"] == "-s*(2*alpha - 1)/alpha"


BAD = [
    ("flow quadratic --d 100 --r 200 --alpha 1 --width 5 --t 1", "r must be <= d"),
    ("flow quadratic --d 0 --r 1 --alpha 1 --width 5 --t 1", "d must be"),
    ("flow quadratic --d 100 --r 10 --alpha -1 --width 5 --t 1", "alpha must be"),
    ("flow quadratic --d 100 --r 10 --alpha nan --width 5 --t 1", "alpha must be finite"),
    ("flow quadratic --d 100 --r 10 --alpha 1 --width 5 --t 1,-2", "times must be"),
    ("flow quadratic --d 100.5 --r 10 --alpha 1 --width 5 --t 1", "--d must be an integer"),
    ("flow diagonal --d 100 --r 10 --alpha 1 --width 5 --t 1", "unknown model"),
    ("sgd quadratic --d 100 --r 10 --alpha 1 --width 5 --steps 10 --lr -1", "lr must be"),
    ("sgd quadratic --d 100 --r 10 --alpha 1 --width 0 --steps 10 --lr 0.1", "width must be"),
    ("derive dynamics --noiseless", "apply to the diagonal and quadratic"),
    ("crosscheck dynamics --gamma 2", "--gamma applies"),
    ("claim dynamics --rate 't*m' --where 't1 << t'", "one variable at a time"),
    ("claim diagonal --rate 'n**(-1)' --where 'n << d' --alpha 2", "--alpha applies to the dynamics"),
]


@pytest.mark.parametrize("argv,fragment", BAD)
def test_bad_dynamics_input_is_one_line_and_exit_2(argv, fragment, capsys):
    code, _, err = _run(argv, capsys)
    assert code == 2 and err.count("\n") == 1 and fragment in err, err
