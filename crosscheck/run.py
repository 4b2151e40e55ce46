"""The main job: check derived exponents against SE slopes over the phase diagram, and the SE
against trained networks, then write the report (JSON, figures, LaTeX) to an output folder.

Grids (gamma = 1.5 by default; boundaries then at kappa = ell - 1/2, (ell - 1)/2, ell - 2, ell = 1):
* quick: ell in {0.4, 0.8, 1.5, 2.5, 5}, kappa in {-2.2, -1.1, -0.05, 0.7, 2.2, 3.7} (no point on a
  boundary for gamma = 1.5), d = 1e4 ... 1e12 (binned SE);
  the peak line n = d at kappa in {-1, -0.5}; simulations at d in {200, 500}.
* full: a 0.5-spaced grid, d up to 1e14 and simulations at d in {200, 500, 1000}.
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

import numpy as np

from analytic import derive
from analytic.symbols import ell as ELL, gamma as GAMMA, kappa as KAPPA

from .compare import BOUNDARY_BAND, EXPONENT_TOL, check_point, compare_with_simulation
from .rays import measure_ray
from .report import figures_from_report, tables_from_report, write_json
from .store import PointStore

QUICK = dict(ells=(0.4, 0.8, 1.5, 2.5, 5.0), kappas=(-2.2, -1.1, -0.05, 0.7, 2.2, 3.7), ds=tuple(10.0**k for k in (4, 6, 8, 10, 12)),
             peak=(-1.0, -0.5), sims=((200, 0.5), (200, 2.0), (500, 0.5), (500, 2.0)), seeds=8)
FULL = dict(ells=tuple(np.round(np.arange(0.25, 5.01, 0.5), 2)), kappas=tuple(np.round(np.arange(-2.5, 4.01, 0.5), 2)),
            ds=tuple(10.0**k for k in (4, 6, 8, 10, 12, 14)), peak=(-1.5, -1.0, -0.5, -0.25),
            sims=tuple((d, r) for d in (200, 500, 1000) for r in (0.5, 2.0)), seeds=16)


def _log(progress: bool, text: str) -> None:
    if progress:
        print(text, file=sys.stderr, flush=True)


def run_crosscheck(model: str, *, quick: bool, out: Path, gamma: float, noise: float, progress: bool = True,
                   config: dict | None = None) -> dict:
    """Run the check on the QUICK or FULL grid (or ``config``, same keys) and write the report to ``out``."""
    from numeric.params import check_gamma, check_nonnegative

    gamma, noise = check_gamma(gamma), check_nonnegative("noise", noise)
    if noise == 0:
        raise ValueError("--noise must be > 0 (the noiseless diagram is always checked as well)")
    cfg = config or (QUICK if quick else FULL)
    store = PointStore(out / "points.jsonl")  # finished points survive an interruption; a rerun reuses them
    started = time.time()
    report = {"model": model, "mode": "quick" if quick else "full", "gamma": gamma,
              "tolerances": {"exponent": EXPONENT_TOL, "boundary_band": BOUNDARY_BAND,
                             "simulation": "3 s.e. + SE/sqrt(d)"},
              "environment": {"python": sys.version.split()[0], "platform": platform.platform()},
              "exponents": {}, "peak": [], "simulations": []}
    for key, delta in (("noisy", noise), ("noiseless", 0.0)):
        diagram = derive(model, noiseless=delta == 0)
        points = []
        for ell in cfg["ells"]:
            for kappa in cfg["kappas"]:
                if diagram.regime_at(ell, kappa, gamma) is None:
                    continue  # exactly on a boundary: no law to compare with
                pc, reused = store.cached(
                    store.key("exponent", delta, gamma, ell, kappa, list(cfg["ds"])),
                    lambda: check_point(diagram, ell, kappa, gamma, delta, cfg["ds"]).to_dict())
                points.append(pc)
                _log(progress, f"[{key}] ell={ell:g} kappa={kappa:g}: {pc['regime']}: analytic "
                               f"{pc['analytic_exponent']:.3f} measured {pc['measured_exponent']:.3f} ({pc['status']})"
                               + (" [reused]" if reused else ""))
        report["exponents"][key] = {"noise": delta, "gamma": gamma, "points": points}
    report["peak"] = _check_peak(model, cfg, gamma, noise, progress, store)
    for d, ratio in cfg["sims"]:
        n = int(round(ratio * d))
        lam = float(np.sqrt(n / d))  # threshold at the noise level: the middle of the phase diagram
        for method in ("network", "lasso"):
            sc, reused = store.cached(
                store.key("simulation", d, n, lam, gamma, noise, cfg["seeds"], method),
                lambda: compare_with_simulation(d, n, lam, gamma, noise, seeds=cfg["seeds"], method=method).to_dict())
            report["simulations"].append(sc)
            _log(progress, f"[simulation] d={d} n={n} lam={lam:.3g} {method}: SE {sc['se_risk']:.4g} vs "
                           f"{sc['sim_mean']:.4g} ± {sc['sim_sem']:.2g} ({'agree' if sc['agree'] else 'DISAGREE'})"
                           + (" [reused]" if reused else ""))
    statuses = [p["status"] for sec in report["exponents"].values() for p in sec["points"]] + \
               [p["status"] for p in report["peak"]]
    report["summary"] = {
        "passed": all(s in ("agree", "near boundary") for s in statuses) and all(c["agree"] for c in report["simulations"]),
        "points": len(statuses),
        "agree": statuses.count("agree"),
        "near_boundary_not_counted": statuses.count("near boundary"),
        "disagree": statuses.count("disagree"),
        "se_not_converged": statuses.count("SE not converged"),
        "simulations_agree": sum(c["agree"] for c in report["simulations"]),
        "simulations": len(report["simulations"]),
        "seconds": round(time.time() - started, 1),
        "out": str(out),
    }
    write_json(out / "report.json", report)
    (out / "table.tex").write_text(tables_from_report(report))
    report["summary"]["files"] = ["report.json", "table.tex"] + [Path(p).name for p in figures_from_report(report, out)]
    write_json(out / "report.json", report)
    s = report["summary"]
    _log(progress, f"{'PASSED' if s['passed'] else 'FAILED'}: {s['agree']}/{s['points']} exponents agree "
                   f"({s['near_boundary_not_counted']} near a boundary, not counted; {s['disagree']} disagree), "
                   f"{s['simulations_agree']}/{s['simulations']} simulations agree; report in {out}")
    return report


def _check_peak(model, cfg, gamma, noise, progress, store) -> list[dict]:
    """On n = d exactly: the measured slope of R vs d against the derived peak law."""
    peak = [r for r in derive(model).regimes if r.line is not None]
    out = []
    for kappa in cfg["peak"]:
        regime = next((r for r in peak if r.holds_at(1, kappa, gamma)), None)
        if regime is None:
            continue
        e = float(regime.logd_risk.subs({ELL: 1, KAPPA: kappa, GAMMA: gamma}))

        def compute():
            ray = measure_ray(1.0, kappa, gamma, noise, cfg["ds"], log_power=float(regime.log_power), n_of_d=float)
            diff = ray.exponent - e
            status = ("SE not converged" if not ray.converged else "agree" if abs(diff) <= EXPONENT_TOL else "disagree")
            return {"ell": 1.0, "kappa": kappa, "regime": regime.name, "analytic_exponent": e,
                    "measured_exponent": ray.exponent, "difference": diff, "trend": ray.trend, "status": status,
                    "method": "n = d exactly, slope of log R vs log d", "ray": ray.to_dict()}

        point, reused = store.cached(store.key("peak", noise, gamma, kappa, list(cfg["ds"])), compute)
        out.append(point)
        _log(progress, f"[peak] n=d kappa={kappa:g}: analytic {e:.3f} measured {point['measured_exponent']:.3f} "
                       f"({point['status']})" + (" [reused]" if reused else ""))
    return out
