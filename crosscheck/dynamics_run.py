"""``scalinglab crosscheck dynamics``: the grid of dynamics checks, run through the sweep store and
executor (resumable, --jobs, --scheduler) and reported like the other cross-checks.

Grids (quick: about a minute with --jobs 2; full: more d, alphas, batches and seeds, ~10 minutes):
* flow_ode: exact flow vs DOP853 at d <= 300, students narrower than, equal to and wider than r.
* learning_times: measured vs derived t_j with the staircase of overlaps.
* time_exponent: alpha in {0.75, 1, 1.5}, r = d^BETA, d = 10^6 ... 10^24, the teacher's tail beyond the
  head certified unlearned (numeric.flow).
* slow_decay: alpha in {0.25, 1/2} (no power law): the flow vs the derived law, d = 10^6 ... 10^24.
* width_floor: m < r, R(oo) vs sum_{j>m} lam_j^2.
* spare_mass: m > r after t_r: R vs the derived (m - r) g(t)^2 of the unused neurons.
* finite_size: the flow's slope at d = 10^3, 10^4 vs the sum-of-logistics prediction.
* sgd_flow, sgd_stability: online SGD at d = 200.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from .report import write_json
from .store import PointStore
from .sweep import Point, environment, run_points

BETA = 0.5
QUICK_DYNAMICS = {
    "flow_ode": [dict(d=100, r=10, alpha=1.0, width=10, sigma0=1.0, seed=0, times=[0.5, 2.0, 8.0, 32.0]),
                 dict(d=200, r=20, alpha=0.5, width=8, sigma0=0.1, seed=1, times=[1.0, 10.0, 50.0, 200.0]),
                 dict(d=300, r=6, alpha=1.5, width=12, sigma0=1.0, seed=2, times=[0.5, 4.0, 16.0, 64.0])],
    "learning_times": [{"d": d, "r": 20, "alpha": 1.0, "width": 30, "sigma0": s0, "seed": 0, "seeds": 10, "count": 20,
                        "judged": d >= 10**6, "times": [round(0.05 * 1.1**k, 6) for k in range(150)]}
                       for d, s0 in ((1000, 0.3), (10**6, 1.0), (10**24, 1.0))],
    "time_exponent": [{"alpha": a, "beta": BETA, "ds": [1e6, 1e12, 1e18, 1e24], "width": 300, "head": 300,
                       "sigma0": 1.0, "seed": 0, "window": [10, 100], "points": 40} for a in (0.75, 1.0, 1.5)],
    "slow_decay": [{"alpha": a, "ds": [1e6, 1e12, 1e24], "r": 128, "width": 128, "sigma0": 1.0, "seed": 0,
                    "t_range": [0.5, 2000.0], "points": 160} for a in (0.25, 0.5)],
    "width_floor": [{"d": 1000, "r": 40, "alpha": 1.0, "width": m, "sigma0": 1.0, "seed": 0, "t_final": 1e4}
                    for m in (10, 20)],
    "spare_mass": [{"d": d, "r": 10, "alpha": 1.0, "width": 40, "sigma0": s0, "seed": 0, "t_factors": [10, 100, 1000]}
                   for d, s0 in ((10**6, 1.0), (10**24, 0.1))],
    "finite_size": [{"d": d, "r": r, "alpha": 1.0, "width": m, "head": min(r, m), "sigma0": s0, "seed": 0,
                     "seeds": seeds, "window": w, "points": 30, "curve": c, "judged": judged}
                    for d, r, m, s0, seeds, w, c, judged in (
                        (1000, 31, 62, 0.1, 8, [3, 20], [0.05, 300.0], False),
                        (1000, 31, 62, 0.03, 8, [3, 20], [0.05, 300.0], True),
                        (10_000, 100, 200, 0.03, 4, [3, 30], [0.05, 1000.0], True),
                        (10**24, 10**12, 300, 1e-3, 1, [10, 100], [1.0, 1500.0], True))],
    "sgd_flow": [{"d": 200, "r": 20, "alpha": 1.0, "width": 20, "sigma0": 0.3, "seed": 0, "batch": 1, "horizon": 4.0,
                  "window": [1.0, 4.0], "seeds": 8, "records": 24, "cs": [0.1, 0.03, 0.01]}],
    "sgd_stability": [{"d": 200, "r": 20, "alpha": 1.0, "width": 20, "sigma0": 0.3, "seed": 0, "batch": b,
                       "horizon": 20.0, "seeds": 8, "factors": [0.5, 0.75, 1.0, 1.5, 2.0]} for b in (1, 200)],
}
FULL_DYNAMICS = {
    **QUICK_DYNAMICS,
    "learning_times": [dict(QUICK_DYNAMICS["learning_times"][0], d=d, sigma0=0.3 if d < 10**6 else 1.0,
                            judged=d >= 10**6) for d in (1000, 10**4, 10**6, 10**12, 10**24)],
    "time_exponent": [dict(QUICK_DYNAMICS["time_exponent"][0], alpha=a, ds=[10.0**k for k in (6, 9, 12, 15, 18, 21, 24)])
                      for a in (0.6, 0.75, 1.0, 1.25, 1.5, 2.0)],
    "slow_decay": [dict(QUICK_DYNAMICS["slow_decay"][0], alpha=a, r=256, width=256, points=240) for a in (0.1, 0.25, 0.4, 0.5)],
    "sgd_flow": [dict(QUICK_DYNAMICS["sgd_flow"][0], seeds=16, cs=[0.1, 0.05, 0.025, 0.0125])],
    "sgd_stability": [dict(QUICK_DYNAMICS["sgd_stability"][0], batch=b) for b in (1, 10, 200)],
}
CONFIGS = {"quick": QUICK_DYNAMICS, "full": FULL_DYNAMICS}
KINDS = tuple(QUICK_DYNAMICS)
STORE = "points.jsonl"


def dynamics_points(header: dict) -> list[Point]:
    return [Point(kind, params) for kind in KINDS for params in header["config"].get(kind, [])]


def run_dynamics_crosscheck(*, quick: bool, out: Path, progress: bool = True, jobs: int = 1,
                            scheduler: str | None = None, config: dict | None = None) -> dict:
    cfg = json.loads(json.dumps(config or CONFIGS["quick" if quick else "full"]))
    header = {"sweep": "crosscheck", "model": "dynamics", "mode": "quick" if quick else "full", "config": cfg,
              "command": None if config else f"scalinglab crosscheck dynamics{' --quick' if quick else ''} --out {out}",
              "seeds": {"initial weights": "numeric.he2_student.initial_weights(d, width, sigma0, seed) for the "
                                           "recorded seed; SGD samples from default_rng([seed, 1]) (numeric.sgd)"},
              "environment": environment()}
    started = time.time()
    with PointStore(out / STORE) as store:
        store.set_header(header)
        points = dynamics_points(store.header)
        _, reused = run_points(points, store, jobs=jobs, scheduler=scheduler, progress=progress, label="dynamics")
        report = dynamics_report(store.header, store.get, out)
    s = report["summary"]
    if progress:
        print(f"{'PASSED' if s['passed'] else 'FAILED'}: {s['agree']}/{s['checks']} dynamics checks agree "
              f"({s['disagree']} disagree, {s['shown_not_judged']} shown only); {len(points)} points ({reused} "
              f"reused) in {time.time() - started:.1f} s; report in {out}", file=sys.stderr, flush=True)
    return report


def dynamics_report(header: dict, value_of, out: Path) -> dict:
    """report.json, table.tex and the figures from the header and the stored check values."""
    from analytic.dynamics_laws import derive_dynamics, dynamics_table_latex

    from .dynamics import (FINITE_SIZE_TOL, FLOOR_TOL, HALF_TIME_TOL, LEARNING_TIME_TOL, MIN_LOG, ODE_TOL, SPARE_TOL,
                           STABILITY_FACTOR, TIME_EXPONENT_TOL)
    from .dynamics_report import checks_latex, dynamics_figures

    report = {"model": "dynamics", "mode": header["mode"], "command": header["command"], "seeds": header["seeds"],
              "environment": header["environment"],
              "tolerances": {"flow_vs_ode": ODE_TOL, "learning_time": LEARNING_TIME_TOL, "learning_time_min_log": MIN_LOG,
                             "time_exponent": TIME_EXPONENT_TOL, "width_floor": FLOOR_TOL,
                             "finite_size_slope": FINITE_SIZE_TOL, "half_time": HALF_TIME_TOL, "spare_mass": SPARE_TOL,
                             "sgd_stability_factor": STABILITY_FACTOR}}
    for kind in KINDS:
        report[kind] = [value_of(Point(kind, params).key) for params in header["config"].get(kind, [])]
    statuses = [c["status"] for kind in KINDS for c in report[kind]]
    report["summary"] = {"passed": "disagree" not in statuses and "agree" in statuses, "checks": len(statuses),
                         "agree": statuses.count("agree"), "disagree": statuses.count("disagree"),
                         "shown_not_judged": statuses.count("shown"), "out": str(out)}
    (out / "table.tex").write_text(dynamics_table_latex(derive_dynamics()) + "\n\n" + checks_latex(report) + "\n")
    report["summary"]["files"] = ["report.json", "table.tex"] + [Path(p).name for p in dynamics_figures(report, out)]
    write_json(out / "report.json", report)
    return report
