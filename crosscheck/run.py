"""The jobs built on the sweep executor: the cross-check, the user's sweep, and their reports.

Each job writes a header (what is swept, the environment) and its points to ``DIR/points.jsonl``,
then builds its report from the store alone, so ``rebuild_report(DIR)`` (``scalinglab report``)
rewrites the same files from the store, and rerunning the recorded command reuses finished points.

Cross-check grids, diagonal network (gamma = 1.5 by default; boundaries then at kappa = ell - 1/2,
(ell - 1)/2, ell - 2, ell = 1):
* quick: ell in {0.4, 0.8, 1.5, 2.5, 5}, kappa in {-2.2, -1.1, -0.05, 0.7, 2.2, 3.7} (no point on a
  boundary for gamma = 1.5), d = 1e4 ... 1e12 (binned SE);
  the peak line n = d at kappa in {-1, -0.5}; simulations at d in {200, 500}.
  Quadratic: the peak line n = d(d+1)/4 at kappa in {-1, 0, 0.5}, d = 1e2, 1e4, 1e6.
* full: a 0.5-spaced grid, d up to 1e14 and simulations at d in {200, 500, 1000}.
Quadratic network (ell = log_d n_eff; at gamma = 1.5 boundaries at kappa = (ell + 1)/2, ell + 1/2,
ell - 1, ell = 1 and ell = 4 gamma/(14 gamma - 5) = 0.375): the same shape, kappa shifted by the derived
correspondence (+1), and simulations (d, alpha = n/d^2, c with lam = c sqrt(n), Delta, design) covering
under-sampled, interpolation threshold (alpha = 1/4), over-sampled and over-regularised points; c = 2.5
puts the threshold lam/(2 n_eff) near the bulk edge 2 sigma. Plus a universality control: the under-sampled point
(alpha = 0.1, c = 0.3, both noises) with a flat teacher of rank d/4 (gamma = 0; effective rank d/4, where the power
law's is O(1)) on the real features, judged like the power-law points (docs/quadratic_real_features.md, section 2).
"""

from __future__ import annotations

import csv
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

from .compare import BOUNDARY_BAND, EXPONENT_TOL
from .models import GAUSSIAN_ALLOWANCE, QUADRATIC_ALLOWANCE, QUADRATIC_RAY_DS, check_model
from .report import figures_from_report, tables_from_report, write_json
from .store import PointStore, read_store
from .sweep import Point, check_executor, environment, run_points
from .tasks import peak_regime

QUICK = dict(ells=(0.4, 0.8, 1.5, 2.5, 5.0), kappas=(-2.2, -1.1, -0.05, 0.7, 2.2, 3.7), ds=tuple(10.0**k for k in (4, 6, 8, 10, 12)),
             peak=(-1.0, -0.5), sims=((200, 0.5), (200, 2.0), (500, 0.5), (500, 2.0)), seeds=8)
FULL = dict(ells=tuple(np.round(np.arange(0.25, 5.01, 0.5), 2)), kappas=tuple(np.round(np.arange(-2.5, 4.01, 0.5), 2)),
            ds=tuple(10.0**k for k in (4, 6, 8, 10, 12, 14)), peak=(-1.5, -1.0, -0.5, -0.25),
            sims=tuple((d, r) for d in (200, 500, 1000) for r in (0.5, 2.0)), seeds=16)
# quadratic simulations: (d, alpha, c, noisy (Delta = --noise, else 0), design, methods)
_Q_POINTS = ((0.1, 0.3), (0.25, 0.05), (1.0, 0.3), (0.5, 6.0))  # under-sampled, threshold, over-sampled, over-regularised
_Q_DESIGNS = (("quadratic", ("network", "convex")), ("gaussian", ("convex",)))
# universality control: (alpha, c) of the flat rank-d/4 teacher's points (the power law's largest real-feature gap)
_Q_CONTROL = (0.1, 0.3)
FLAT_RANK_SHARE = 4


def _quadratic_sims(ds, noiseless_points=_Q_POINTS, gaussian_max_d=60) -> tuple:
    return tuple((d, a, c, noisy, design, methods) for d in ds for a, c in _Q_POINTS for noisy in (True, False)
                 if noisy or (a, c) in noiseless_points for design, methods in _Q_DESIGNS
                 if design == "quadratic" or d <= gaussian_max_d)


# The peak line n = d(d+1)/4 (a pure-noise bulk: ~3 s per SE point at d = 1e6) is followed to d = 1e6, where its
# slopes settle to ~0.02 (measured: 0.997, 0.687, 0.356 between 1e4 and 1e6 at kappa = -1, 0, 0.5).
# Deterministic vs Monte-Carlo SE at (d, GOE samples), n = d^2/2, lam = 0.3 d (the benchmark point): 600 samples give
# a ~7e-4 relative error bar at d = 200 in ~15 s.
QUICK_QUADRATIC = dict(ells=(0.2, 0.7, 1.5, 2.5), kappas=(-1.2, -0.1, 0.95, 2.3, 3.6),
                       ds=QUADRATIC_RAY_DS, peak=(-1.0, 0.0, 0.5), peak_ds=(1e2, 1e4, 1e6),
                       sims=_quadratic_sims((30, 60), _Q_POINTS[::2]), seeds=8, montecarlo=((200, 600),),
                       controls=(30, 60))
FULL_QUADRATIC = dict(QUICK_QUADRATIC, ells=tuple(np.round(np.arange(0.25, 4.01, 0.25), 2)),
                      kappas=tuple(np.round(np.arange(-1.5, 5.01, 0.5), 2)), sims=_quadratic_sims((30, 60, 100)),
                      montecarlo=((100, 2000), (200, 1500), (400, 400)), controls=(30, 60, 100))
CONFIGS = {"diagonal": {"quick": QUICK, "full": FULL}, "quadratic": {"quick": QUICK_QUADRATIC, "full": FULL_QUADRATIC}}
STORE = "points.jsonl"
SWEPT = ("d", "n", "lam", "gamma", "noise")


def _log(progress: bool, text: str) -> None:
    if progress:
        print(text, file=sys.stderr, flush=True)


# -- the cross-check ----------------------------------------------------------------------------

def run_crosscheck(model: str, *, quick: bool, out: Path, gamma: float, noise: float, progress: bool = True,
                   config: dict | None = None, jobs: int = 1, scheduler: str | None = None) -> dict:
    """Run the check on the QUICK or FULL grid (or ``config``, same keys) and write the report to ``out``."""
    from numeric.params import check_gamma, check_nonnegative

    gamma, noise = check_gamma(gamma), check_nonnegative("noise", noise)
    if noise == 0:
        raise ValueError("--noise must be > 0 (the noiseless diagram is always checked as well)")
    check_executor(jobs, scheduler)
    cfg = json.loads(json.dumps(config or CONFIGS[check_model(model)]["quick" if quick else "full"], default=float))
    command = None if config else (f"scalinglab crosscheck {model}{' --quick' if quick else ''} --gamma {gamma!r} "
                                   f"--noise {noise!r} --out {out}")
    header = {"sweep": "crosscheck", "model": model, "mode": "quick" if quick else "full", "gamma": gamma,
              "noise": noise, "config": cfg, "command": command,
              "seeds": {"simulations": "seed k < seeds of a simulation point: numpy SeedSequence([base_seed, k]) with "
                                       "base_seed = crosscheck.tasks.seed_of(point parameters) (sha256, 53 bits), "
                                       "recorded with each simulation point"},
              "environment": environment()}
    started = time.time()
    with PointStore(out / STORE) as store:
        store.set_header(header)
        points = crosscheck_points(store.header)
        _, reused = run_points([p for _, p in points], store, jobs=jobs, scheduler=scheduler, progress=progress,
                               label="crosscheck")
        report = _crosscheck_report(store.header, points, store.get, out)
    s = report["summary"]
    _log(progress, f"{'PASSED' if s['passed'] else 'FAILED'}: {s['agree']}/{s['points']} exponents agree "
                   f"({s['near_boundary_not_counted']} near a boundary and {s['pre_asymptotic_not_counted']} "
                   f"pre-asymptotic, not counted; {s['disagree']} disagree), "
                   f"{s['simulations_agree']}/{s['simulations']} simulations agree"
                   + (f", {s['montecarlo_agree']}/{s['montecarlo']} deterministic vs Monte-Carlo SE agree"
                      if s["montecarlo"] else "") + f"; {len(points)} points "
                   f"({reused} reused) in {time.time() - started:.1f} s; report in {out}")
    return report


def crosscheck_points(header: dict) -> list[tuple[str, Point]]:
    """(report section, point) of every point the header's grid asks for."""
    from analytic import derive

    model, cfg, gamma, noise = header["model"], header["config"], header["gamma"], header["noise"]
    points = []
    for section, delta in (("noisy", noise), ("noiseless", 0.0)):
        diagram = derive(model, noiseless=delta == 0)
        points += [(section, Point("exponent", {"model": model, "noise": delta, "gamma": gamma, "ell": ell,
                                                "kappa": kappa, "ds": cfg["ds"]}))
                   for ell in cfg["ells"] for kappa in cfg["kappas"]
                   if diagram.regime_at(ell, kappa, gamma) is not None]  # exactly on a boundary: no law to compare with
    points += [("peak", Point("peak", {"model": model, "noise": noise, "gamma": gamma, "kappa": kappa,
                                       "ds": cfg.get("peak_ds", cfg["ds"])}))
               for kappa in cfg["peak"] if peak_regime(model, kappa, gamma) is not None]
    if model == "diagonal":
        for d, ratio in cfg["sims"]:
            n = int(round(ratio * d))
            lam = float(np.sqrt(n / d))  # threshold at the noise level: the middle of the phase diagram
            points += [("simulations", Point("simulation", {"d": d, "n": n, "lam": lam, "gamma": gamma, "noise": noise,
                                                            "seeds": cfg["seeds"], "method": method}))
                       for method in ("network", "lasso")]
        return points
    points += [("montecarlo", Point("montecarlo", {"d": d, "n": d * d / 2, "lam": 0.3 * d, "gamma": gamma, "noise": noise,
                                                   "samples": samples, "seed": 0}))
               for d, samples in cfg.get("montecarlo", ())]
    for d, alpha, c, noisy, design, methods in cfg["sims"]:
        n = int(round(alpha * d * d))
        points += [("simulations", Point("simulation", {
            "model": model, "design": design, "d": d, "n": n, "lam": float(c * np.sqrt(n)), "gamma": gamma,
            "noise": noise if noisy else 0.0, "seeds": cfg["seeds"], "method": method})) for method in methods]
    alpha, c = _Q_CONTROL
    for d in cfg.get("controls", ()):
        n = int(round(alpha * d * d))
        points += [("simulations", Point("simulation", {
            "model": model, "design": "quadratic", "d": d, "n": n, "lam": float(c * np.sqrt(n)), "gamma": 0.0,
            "rank": d // FLAT_RANK_SHARE, "noise": delta, "seeds": cfg["seeds"], "method": "convex"}))
            for delta in (noise, 0.0)]
    return points


def _crosscheck_report(header: dict, points: list[tuple[str, Point]], value_of, out: Path) -> dict:
    """Assemble report.json, table.tex and the figures from the header and the stored point values."""
    report = {"model": header["model"], "mode": header["mode"], "gamma": header["gamma"],
              "tolerances": {"exponent": EXPONENT_TOL, "boundary_band": BOUNDARY_BAND,
                             "simulation": "3 s.e. + SE/sqrt(d)" if header["model"] == "diagonal" else
                             f"3 s.e. + {QUADRATIC_ALLOWANCE:g} SE/d (real features), "
                             f"3 s.e. + {GAUSSIAN_ALLOWANCE:g} SE/d (Gaussian design); SE with the O(1/d) GOE correction"},
              "command": header["command"], "seeds": header["seeds"], "environment": header["environment"],
              "exponents": {}, "peak": [], "simulations": []}
    for key, delta in (("noisy", header["noise"]), ("noiseless", 0.0)):
        report["exponents"][key] = {"noise": delta, "gamma": header["gamma"],
                                    "points": [value_of(p.key) for s, p in points if s == key]}
    report["peak"] = [value_of(p.key) for s, p in points if s == "peak"]
    report["simulations"] = [value_of(p.key) for s, p in points if s == "simulations"]
    report["montecarlo"] = [value_of(p.key) for s, p in points if s == "montecarlo"]
    statuses = [p["status"] for sec in report["exponents"].values() for p in sec["points"]] + \
               [p["status"] for p in report["peak"]]
    report["summary"] = {
        "passed": all(s in ("agree", "near boundary", "pre-asymptotic") for s in statuses)
        and all(c["agree"] for c in report["simulations"]) and all(c["status"] == "agree" for c in report["montecarlo"]),
        "points": len(statuses),
        "agree": statuses.count("agree"),
        "near_boundary_not_counted": statuses.count("near boundary"),
        "pre_asymptotic_not_counted": statuses.count("pre-asymptotic"),
        "disagree": statuses.count("disagree"),
        "se_not_converged": statuses.count("SE not converged"),
        "simulations_agree": sum(c["agree"] for c in report["simulations"]),
        "simulations": len(report["simulations"]),
        "montecarlo_agree": sum(c["status"] == "agree" for c in report["montecarlo"]),
        "montecarlo": len(report["montecarlo"]),
        "out": str(out),
    }
    (out / "table.tex").write_text(tables_from_report(report))
    report["summary"]["files"] = ["report.json", "table.tex"] + [Path(p).name for p in figures_from_report(report, out)]
    write_json(out / "report.json", report)
    return report


# -- the user's sweep ---------------------------------------------------------------------------

def parse_values(name: str, text: str) -> list[float]:
    """Comma-separated numbers and geometric ranges START:STOP:NUM (numpy.geomspace, 12 significant digits
    so that 1e3:1e5:3 gives 1000, 10000, 100000 exactly)."""
    values = []
    for item in str(text).split(","):
        parts = item.strip().split(":")
        try:
            if len(parts) == 1:
                values.append(float(parts[0]))
                continue
            start, stop, num = float(parts[0]), float(parts[1]), int(parts[2])
        except (ValueError, IndexError):
            raise ValueError(f"--{name}: cannot parse {item.strip()!r} (a number or START:STOP:NUM)") from None
        if len(parts) != 3 or num < 1 or not (start > 0 and stop > 0):
            raise ValueError(f"--{name}: {item.strip()!r} must be START:STOP:NUM with START, STOP > 0 and NUM >= 1")
        values += [float(f"{x:.12g}") for x in np.geomspace(start, stop, num)]
    return values


def sweep_points(header: dict) -> list[Point]:
    """The Cartesian product of the header's grid, validated (one-line ValueError on the first bad value)."""
    from numeric.params import check_diagonal_params

    what, grid = header["what"], header["grid"]
    points = []
    for d, n, lam, gamma, noise in itertools.product(*(grid[k] or [0.0] for k in SWEPT)):
        d, n, lam, gamma, noise = check_diagonal_params(d, n, lam, gamma, noise)
        params = {"model": header["model"], "d": d, "n": n, "gamma": gamma, "noise": noise}
        if what != "bayes":
            params |= {"lam": lam, "teacher": header["teacher"]}
        if what == "simulate":
            if n < 1 or n != int(n):
                raise ValueError(f"n must be an integer >= 1 for simulations (got {n!r})")
            params |= {"n": int(n), "seeds": header["seeds"], "method": header["method"]}
        points.append(Point(what, params))
    return points


def run_sweep(model: str, *, what: str, grid: dict, out: Path, seeds: int = 8, method: str = "network",
              teacher: str = "signs", jobs: int = 1, scheduler: str | None = None, progress: bool = True) -> dict:
    """Compute ``what`` (se | bayes | simulate) over the product of ``grid`` (d, n, lam, gamma, noise lists)
    and write points.jsonl, summary.json and summary.csv to ``out``."""
    if what not in ("se", "bayes", "simulate"):
        raise ValueError(f"unknown --what {what!r} (choose from se, bayes, simulate)")
    if (what == "bayes") != (not grid.get("lam")):
        raise ValueError("--lam is required for se and simulate sweeps" if what != "bayes"
                         else "--lam is not a parameter of the Bayes-optimal risk")
    if what == "simulate" and (not isinstance(seeds, int) or seeds < 1):
        raise ValueError(f"--seeds must be >= 1 (got {seeds!r})")
    check_executor(jobs, scheduler)
    grid = {k: list(grid.get(k) or []) for k in SWEPT}
    lists = " ".join(f"--{k} {','.join(repr(v) for v in grid[k])}" for k in SWEPT if grid[k])
    extra = f" --seeds {seeds} --method {method}" if what == "simulate" else ""
    header = {"sweep": "diagonal", "model": model, "what": what, "grid": grid, "teacher": teacher,
              "seeds": seeds if what == "simulate" else None, "method": method if what == "simulate" else None,
              "seed_rule": "simulations: base_seed = top 53 bits of sha256 of the point's parameter JSON "
                           "(crosscheck.tasks.seed_of), seed k = numpy SeedSequence([base_seed, k])",
              "command": f"scalinglab sweep {model} --what {what} {lists}"
                         + ("" if what == "bayes" else f" --teacher {teacher}") + extra + f" --out {out}",
              "environment": environment()}
    points = sweep_points(header)  # validate every value before anything is written
    started = time.time()
    with PointStore(out / STORE) as store:
        store.set_header(header)
        _, reused = run_points(points, store, jobs=jobs, scheduler=scheduler, progress=progress, label=f"sweep {what}")
        summary = _sweep_summary(store.header, points, store.get, out)
    _log(progress, f"{summary['converged']}/{summary['points']} points converged ({reused} reused) in "
                   f"{time.time() - started:.1f} s; summary in {out / 'summary.csv'}")
    return summary


def _sweep_summary(header: dict, points: list[Point], value_of, out: Path) -> dict:
    """summary.json (header + one row per point: parameters and result) and summary.csv (the same rows)."""
    rows = [{**p.params, **value_of(p.key)} for p in points]
    summary = {"header": header, "points": len(rows), "converged": sum(bool(r["converged"]) for r in rows),
               "rows": rows}
    write_json(out / "summary.json", summary)
    columns = list(dict.fromkeys(k for r in rows for k in r))
    tmp = out / "summary.csv.tmp"
    with open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows({k: json.dumps(v) if isinstance(v, list) else v for k, v in r.items()} for r in rows)
    tmp.replace(out / "summary.csv")
    return summary


# -- reports from the store alone ---------------------------------------------------------------

def rebuild_report(out: Path) -> dict:
    """Rewrite the report files of the job recorded in ``out/points.jsonl`` from the store alone."""
    header, done = read_store(out / STORE)
    if header is None:
        raise ValueError(f"no sweep store with a header in {out}")
    if header.get("model") == "dynamics":
        from .dynamics_run import dynamics_points, dynamics_report

        missing = sum(p.key not in done for p in dynamics_points(header))
        if missing:
            raise ValueError(f"{missing} dynamics checks are not in the store yet; finish them with: {header['command']}")
        return dynamics_report(header, done.get, out)
    if header["sweep"] == "crosscheck":
        points = crosscheck_points(header)
        pairs = [p for _, p in points]
    else:
        points = pairs = sweep_points(header)
    missing = sum(p.key not in done for p in pairs)
    if missing:
        raise ValueError(f"{missing} of {len(pairs)} points are not in the store yet; finish them with: {header['command']}")
    if header["sweep"] == "crosscheck":
        return _crosscheck_report(header, points, done.get, out)
    return _sweep_summary(header, points, done.get, out)
