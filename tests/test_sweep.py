"""The sweep mechanism: a durable store that survives SIGKILL, resumable runs, executors that agree
bit for bit (in process, local processes, a real Dask cluster), reports rebuilt from the store."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from crosscheck.cli import main
from crosscheck.run import parse_values, rebuild_report
from crosscheck.store import PointStore, read_store
from crosscheck.tasks import seed_of

# 64 SE points, ~5 s in one process (exact teacher sums up to d = 1e6)
SE_GRID = ["--d", "1e3:1e6:4", "--n", "100:1e5:4", "--lam", "0.01:10:4", "--gamma", "1.5", "--noise", "0.5"]
SMALL = ["--d", "1e3,1e5", "--n", "300", "--lam", "0.1,1", "--gamma", "1.5", "--noise", "0.5"]
SIMULATE = ["--what", "simulate", "--d", "20", "--n", "10,40", "--lam", "0.3", "--gamma", "1.2", "--noise", "0.25",
            "--seeds", "2"]


def sweep(out, *args) -> int:
    return main(["sweep", "diagonal", *args, "--out", str(out), "--json"])


def stored(out) -> dict:
    """key -> value as JSON text (bit-identical floats compare equal, NaN included); every line must parse
    and no key may appear twice."""
    lines = (out / "points.jsonl").read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    points = [e for e in entries if "key" in e]
    keys = [e["key"] for e in points]
    assert len(keys) == len(set(keys)), "a point was stored twice"
    return {e["key"]: json.dumps(e["value"], sort_keys=True) for e in points}


def _complete_points(out) -> int:
    """Points whose line is complete in the store (a killed writer may leave a torn last line)."""
    path = out / "points.jsonl"
    lines = path.read_text().split("\n")[:-1] if path.exists() else []
    return sum('"key"' in line for line in lines)


def test_parse_values():
    assert parse_values("d", "1e3:1e5:3") == [1000.0, 10000.0, 100000.0]
    assert parse_values("lam", "0.1, 2,1:4:2") == [0.1, 2.0, 1.0, 4.0]
    for bad in ("x", "1:2", "0:10:3", "1:10:0", "1:2:3:4"):
        with pytest.raises(ValueError, match="--lam"):
            parse_values("lam", bad)


@pytest.mark.parametrize("args,fragment", [
    (["--what", "se", "--d", "1e3", "--n", "10", "--gamma", "1.5", "--noise", "0.1"], "--lam is required"),
    (["--what", "bayes", *SMALL], "not a parameter"),
    (["--what", "se", "--d", "1e3,0", "--n", "10", "--lam", "1", "--gamma", "1.5", "--noise", "0"], "d must be"),
    (["--what", "se", "--d", "10", "--n", "10", "--lam", "1", "--gamma", "1.5,0.5", "--noise", "0"], "gamma"),
    (["--what", "simulate", "--d", "10", "--n", "2.5", "--lam", "1", "--gamma", "1.5", "--noise", "0"], "integer"),
    (["--what", "se", *SMALL, "--jobs", "0"], "--jobs"),
    (["--what", "se", *SMALL, "--jobs", "2", "--scheduler", "tcp://127.0.0.1:1"], "not both"),
])
def test_invalid_sweeps_are_one_line_exit_2_and_write_nothing(tmp_path, capsys, args, fragment):
    assert sweep(tmp_path / "out", *args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and fragment in err
    assert not (tmp_path / "out").exists()


def test_store_cuts_a_torn_line_ignores_corrupt_ones_and_allows_one_writer(tmp_path):
    path = tmp_path / "points.jsonl"
    with PointStore(path) as store:
        store.set_header({"sweep": "test"})
        store.put("a", {"x": 1.0})
        with pytest.raises(ValueError, match="another run"):
            PointStore(path)
    with open(path, "a") as fh:
        fh.write('not json\n{"key": "b", "value": {"x": 2.0}}\n{"key": "c", "val')
    with PointStore(path) as store:
        assert store.get("a") == {"x": 1.0} and store.get("b") == {"x": 2.0} and store.get("c") is None
        store.set_header({"sweep": "test"})  # unchanged header: not appended again
    assert path.read_text().endswith("}\n") and path.read_text().count("header") == 1
    assert read_store(path) == ({"sweep": "test"}, {"a": {"x": 1.0}, "b": {"x": 2.0}})


def test_rerun_reuses_points_and_report_rebuilds_the_summary(tmp_path, capsys):
    assert sweep(tmp_path, "--what", "se", *SMALL) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["points"] == first["converged"] == 4
    env = first["header"]["environment"]
    assert env["scalinglab"] and set(env["libraries"]) == {"numpy", "scipy", "sympy", "mpmath", "matplotlib"}
    csv_text, lines = (tmp_path / "summary.csv").read_text(), (tmp_path / "points.jsonl").read_text()
    assert csv_text.count("\n") == 5 and lines.count("\n") == 5  # header row / record + 4 points
    assert sweep(tmp_path, "--what", "se", *SMALL) == 0
    capsys.readouterr()
    assert (tmp_path / "points.jsonl").read_text() == lines  # nothing recomputed, no second header
    (tmp_path / "summary.csv").unlink()
    summary_json = (tmp_path / "summary.json").read_text()
    (tmp_path / "summary.json").unlink()
    assert main(["report", str(tmp_path), "--json"]) == 0
    assert (tmp_path / "summary.csv").read_text() == csv_text and (tmp_path / "summary.json").read_text() == summary_json


def test_report_of_an_unfinished_store_says_how_to_finish_it(tmp_path):
    assert sweep(tmp_path, "--what", "se", *SMALL) == 0
    lines = (tmp_path / "points.jsonl").read_text().splitlines(keepends=True)
    (tmp_path / "points.jsonl").write_text("".join(lines[:-1]))
    with pytest.raises(ValueError, match="1 of 4 points .* scalinglab sweep diagonal --what se"):
        rebuild_report(tmp_path)


def test_seeds_come_from_the_point_not_the_method():
    p = {"model": "diagonal", "d": 20, "n": 10, "lam": 0.3, "gamma": 1.2, "noise": 0.25, "teacher": "signs", "seeds": 2}
    assert seed_of({**p, "method": "network"}) == seed_of({**p, "method": "lasso"}) == seed_of(p)
    assert seed_of({**p, "n": 40}) != seed_of(p) and 0 <= seed_of(p) < 2**53


def test_sigkill_at_random_moments_then_resume_equals_an_uninterrupted_run(tmp_path):
    """Three SIGKILLs of the sweep process (alternating one process and --jobs 2) at random moments,
    then a resume: the store holds exactly the points of an uninterrupted run, each once, bit-identical."""
    reference = tmp_path / "reference"
    assert sweep(reference, "--what", "se", *SE_GRID) == 0
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "crosscheck.cli", "sweep", "diagonal", "--what", "se", *SE_GRID,
               "--out", str(out), "--json"]
    rng = random.Random(20261129)
    for jobs in ("1", "2", "1"):
        before = _complete_points(out)
        proc = subprocess.Popen(command + ["--jobs", jobs], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while _complete_points(out) == before and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)  # kill only once this run has stored a point: the kill lands mid-sweep
        time.sleep(rng.uniform(0.0, 0.3))  # the 64 points take ~5 s in all
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL, "the sweep ended before the kill: nothing was interrupted"
    assert 0 < _complete_points(out) < 64, "the kills must leave a partial store for the resume to finish"
    assert subprocess.run(command, stdout=subprocess.DEVNULL).returncode == 0
    assert stored(out) == stored(reference)
    assert len(stored(out)) == 64


def test_ctrl_c_of_a_parallel_sweep_stops_it_and_a_rerun_finishes_it(tmp_path):
    """SIGINT to the whole process group (Ctrl-C in a terminal) of a --jobs 2 sweep mid-run: exit 130 without waiting
    on its workers (they ignore SIGINT and are stopped by the parent; an interrupted worker used to leave the parent
    waiting forever, holding the store's lock), the finished points kept; a rerun completes the store."""
    out = tmp_path / "interrupted"
    grid = ["--d", "10,20,30", "--n", "50,100,200", "--lam", "0.01,0.1,1", "--gamma", "1.5", "--noise", "0.5", "--seeds", "4"]
    command = [sys.executable, "-m", "crosscheck.cli", "sweep", "quadratic", "--what", "simulate", *grid, "--out", str(out),
               "--jobs", "2"]
    for _ in range(3):  # the hang was intermittent (1 in 2-6 interrupts): interrupt three times
        before = _complete_points(out)
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + 120
        while _complete_points(out) == before and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGINT)
        try:
            code = proc.wait(timeout=60)  # a hang guard, not a timing: the interrupt must end the run
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail("the interrupted parallel sweep did not exit")
        assert code == 130 and b"interrupted" in proc.stderr.read()
    assert 0 < _complete_points(out) < 27
    assert subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
    assert len(stored(out)) == 27


def test_executors_agree_bit_for_bit_including_a_dask_cluster(tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    runs = {}
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        for name, executor in (("dask", ["--scheduler", cluster.scheduler_address]), ("jobs1", ["--jobs", "1"]),
                               ("jobs2", ["--jobs", "2"])):
            for what in (["--what", "se", *SMALL], SIMULATE, SIMULATE[:-2] + ["--seeds", "2", "--method", "lasso"]):
                assert sweep(tmp_path / name, *what, *executor) == 0
            runs[name] = stored(tmp_path / name)
    capsys.readouterr()
    assert len(runs["jobs1"]) == 8 and runs["dask"] == runs["jobs1"] == runs["jobs2"]
    sims = [json.loads(k) for k in runs["jobs1"] if json.loads(k)["kind"] == "simulate"]
    for key in sims:  # the seed is the point's: network and lasso runs of one point share it
        value = json.loads(runs["jobs1"][json.dumps(key, sort_keys=True, separators=(",", ":"))])
        assert value["base_seed"] == seed_of(key["params"])
    assert len({seed_of(k["params"]) for k in sims}) == 2


def test_sweep_reports_an_unreachable_scheduler_in_one_line(tmp_path, capsys):
    dask = pytest.importorskip("dask")
    pytest.importorskip("distributed")
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        assert sweep(tmp_path, "--what", "se", *SMALL, "--scheduler", "tcp://127.0.0.1:1") == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "cannot reach the Dask scheduler" in err


@pytest.mark.slow
def test_quick_crosscheck_in_parallel_then_reused(tmp_path, capsys):
    assert main(["crosscheck", "diagonal", "--quick", "--out", str(tmp_path), "--jobs", "2", "--json"]) == 0
    first = (tmp_path / "report.json").read_text()
    before = (tmp_path / "points.jsonl").read_text()
    assert main(["crosscheck", "diagonal", "--quick", "--out", str(tmp_path), "--json"]) == 0
    assert (tmp_path / "points.jsonl").read_text() == before and (tmp_path / "report.json").read_text() == first
    report = json.loads(first)
    assert report["command"].startswith("scalinglab crosscheck diagonal --quick")
    assert report["environment"]["libraries"]["numpy"] and report["seeds"]["simulations"]
