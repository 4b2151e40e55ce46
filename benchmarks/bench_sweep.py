"""Parallel speed-up of the quick cross-check and the cost of the result store, in one process.

    python benchmarks/bench_sweep.py [--jobs 2]

Derives both phase diagrams first (warm SymPy cache), then runs the quick cross-check's points
(``run_points``) and the whole cross-check (points + report + figures) into fresh folders with
--jobs 1 and --jobs N, printing wall times and ratios, and times PointStore.put (flush + fsync)
of a real point against the mean compute time of a point. Timings are single runs on whatever
else the machine is doing (check the load average printed first).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from analytic import derive
from crosscheck.run import QUICK, crosscheck_points, run_crosscheck
from crosscheck.store import PointStore
from crosscheck.sweep import run_points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
    derive(), derive(noiseless=True)
    header = {"model": "diagonal", "config": json.loads(json.dumps(QUICK)), "gamma": 1.5, "noise": 0.5}
    points = [p for _, p in crosscheck_points(header)]
    with tempfile.TemporaryDirectory() as tmp:
        points_time, total_time = {}, {}
        for jobs in (1, args.jobs):
            with PointStore(Path(tmp, f"points-{jobs}", "points.jsonl")) as store:
                start = time.perf_counter()
                run_points(points, store, jobs=jobs, progress=False)
                points_time[jobs] = time.perf_counter() - start
            start = time.perf_counter()
            run_crosscheck("diagonal", quick=True, out=Path(tmp, f"crosscheck-{jobs}"), gamma=1.5, noise=0.5,
                           progress=False, jobs=jobs)
            total_time[jobs] = time.perf_counter() - start
        for name, times in (("points only", points_time), ("whole cross-check", total_time)):
            print(f"{name:>18}: --jobs 1 {times[1]:6.1f} s, --jobs {args.jobs} {times[args.jobs]:6.1f} s, "
                  f"speed-up {times[1] / times[args.jobs]:.2f}x")
        values = [json.loads(line)["value"] for line in Path(tmp, "points-1", "points.jsonl").read_text().splitlines()]
        with PointStore(Path(tmp, "overhead", "points.jsonl")) as store:
            start = time.perf_counter()
            for i, value in enumerate(values * 3):
                store.put(f"k{i}", value)
            put = (time.perf_counter() - start) / (3 * len(values))
    compute = points_time[1] / len(points)
    print(f"{'store':>18}: PointStore.put {put * 1e3:.2f} ms per point vs {compute * 1e3:.0f} ms mean compute "
          f"per point ({len(points)} points): overhead {100 * put / compute:.2f} %")


if __name__ == "__main__":
    main()
