"""``scalinglab spectrum``: the predicted spectrum, the measured one and the tail verdicts (issue 5, first slice)."""

import json
import shlex

from crosscheck.cli import main


def _run(argv, capsys):
    code = main(shlex.split(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_over_sampled_spectrum_keeps_the_teachers_tail(capsys):
    # n >> d, threshold far below the noise: the learned magnitudes are the teacher's plus small noise
    code, out, _ = _run("spectrum diagonal --d 10000 --n 100000 --lam 0.03 --gamma 1 --noise 0.1 --json", capsys)
    data = json.loads(out)
    tail = data["predicted"]["tail"]
    assert code == 0 and tail["power_law_tail"] is True
    low, high = tail["interval"]
    assert low <= data["teacher_density_exponent"] <= high  # 1 + 1/gamma = 2 inside the bootstrap interval


def test_noise_level_threshold_has_no_power_law_tail_and_simulation_agrees(capsys, tmp_path):
    argv = (f"spectrum diagonal --d 300 --n 150 --lam 0.07 --gamma 1.5 --noise 0.25 --simulate --method lasso "
            f"--seeds 3 --out {tmp_path} --json")
    code, out, _ = _run(argv, capsys)
    data = json.loads(out)
    comparison = data["measured"]["comparison"]
    assert code == 0 and comparison["agree"]
    assert comparison["ks"] <= comparison["ks_band"] and comparison["size"] == 900
    atom = data["predicted"]["atom"]  # the zeros' fraction: within 4 binomial s.e. of the prediction
    assert abs(comparison["atom_measured"] - atom) <= 4 * (atom * (1 - atom) / comparison["size"]) ** 0.5
    assert (tmp_path / "spectrum.png").exists() and (tmp_path / "spectrum.json").exists()


def test_quadratic_spectrum_and_bad_input(capsys):
    code, out, _ = _run("spectrum quadratic --d 30 --n 900 --lam 10 --gamma 1.5 --noise 0.5 --simulate --method convex "
                        "--seeds 2 --json", capsys)
    data = json.loads(out)
    comparison = data["measured"]["comparison"]
    assert 0 < data["predicted"]["atom"] < 1 and comparison["size"] == 60
    assert code == 0 and comparison["agree"] and comparison["ks"] <= comparison["ks_band"], comparison
    code, _, err = _run("spectrum quadratic --d 30 --n 900 --lam 10 --gamma 1.5 --simulate --method lasso", capsys)
    assert code == 2 and "not a method of the quadratic network" in err and err.count("\n") == 1
    code, _, err = _run("spectrum diagonal --d 30 --n 0 --lam 1 --gamma 1.5", capsys)
    assert code == 2 and "n must be > 0" in err
