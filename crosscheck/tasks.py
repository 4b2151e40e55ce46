"""The point functions of every sweep: module-level, picklable, called as ``run(kind, params)``.

Each takes plain JSON parameters and returns a JSON-ready dict, so a point computes the same value
in the calling process, a local worker process or a Dask worker. Randomness comes only from
``seed_of(params)`` (simulations), a function of the point's physical parameters, never of the
order or place in which points run.
"""

from __future__ import annotations

import hashlib
import json

from . import dynamics


def seed_of(params: dict) -> int:
    """The simulation base seed of a point: the top 53 bits of sha256 of its canonical parameter JSON
    (53 so that it is exact as a float, which simulate_diagonal's integer check requires).

    ``method`` is left out so that network and LASSO solves of one point see the same data (as
    simulate_diagonal documents for a shared seed); the package version is left out so that seeds
    stay put across releases.
    """
    physical = {k: v for k, v in params.items() if k != "method"}
    digest = hashlib.sha256(json.dumps(physical, sort_keys=True, separators=(",", ":")).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 11


def se(params: dict) -> dict:
    from .models import state_evolution

    p = params
    options = {"teacher": p["teacher"]} if p.get("model", "diagonal") == "diagonal" else {}
    return state_evolution(p.get("model", "diagonal"), p["d"], p["n"], p["lam"], p["gamma"], p["noise"], **options).to_dict()


def bayes(params: dict) -> dict:
    from .models import bayes as bayes_risk

    p = params
    return bayes_risk(p.get("model", "diagonal"), p["d"], p["n"], p["gamma"], p["noise"]).to_dict()


def simulate(params: dict) -> dict:
    from .models import simulate as simulate_model

    p = params
    model = p.get("model", "diagonal")
    options = {"teacher": p["teacher"]} if model == "diagonal" else {"design": p.get("design", "quadratic")}
    return simulate_model(model, p["d"], p["n"], p["lam"], p["gamma"], p["noise"], seeds=p["seeds"],
                          method=p["method"], base_seed=seed_of(p), **options).to_dict()


def exponent(params: dict) -> dict:
    """SE slope vs the derived exponent at (ell, kappa) (crosscheck.compare.check_point)."""
    from analytic import derive

    from .compare import check_point

    p = params
    diagram = derive(p["model"], noiseless=p["noise"] == 0)
    return check_point(diagram, p["ell"], p["kappa"], p["gamma"], p["noise"], p["ds"]).to_dict()


def peak_regime(model: str, kappa: float, gamma: float):
    """The derived law on the interpolation line (ell = 1) at kappa (None where no peak law holds)."""
    from analytic import derive

    return next((r for r in derive(model).regimes if r.line is not None and r.holds_at(1, kappa, gamma)), None)


def peak_samples(model: str):
    """n(d) on the interpolation line: n = d (diagonal), the derived n_c(d) = d(d+1)/4 (quadratic)."""
    if model == "diagonal":
        return float, "n = d"
    import sympy as sp

    from analytic.free_probability import peak_expansion
    from analytic.symbols import d

    n_c = peak_expansion().critical_samples
    return sp.lambdify(d, n_c), f"n = {sp.sstr(n_c)}"


def peak(params: dict) -> dict:
    """On the interpolation line exactly: the measured slope of R vs d against the derived peak law."""
    from analytic.symbols import ell as ELL, gamma as GAMMA, kappa as KAPPA

    from .compare import EXPONENT_TOL
    from .rays import measure_ray

    p = params
    regime = peak_regime(p["model"], p["kappa"], p["gamma"])
    e = float(regime.logd_risk.subs({ELL: 1, KAPPA: p["kappa"], GAMMA: p["gamma"]}))
    n_of_d, line = peak_samples(p["model"])
    ray = measure_ray(1.0, p["kappa"], p["gamma"], p["noise"], p["ds"], log_power=float(regime.log_power),
                      n_of_d=n_of_d, model=p["model"])
    diff = ray.exponent - e
    status = "SE not converged" if not ray.converged else "agree" if abs(diff) <= EXPONENT_TOL else "disagree"
    return {"ell": 1.0, "kappa": p["kappa"], "regime": regime.name, "analytic_exponent": e,
            "measured_exponent": ray.exponent, "difference": diff, "trend": ray.trend, "status": status,
            "method": f"{line} exactly, slope of log R vs log d", "ray": ray.to_dict()}


def montecarlo(params: dict) -> dict:
    """The deterministic SE (free-probability limit, and with the O(1/d) GOE correction) against the Monte-Carlo SE
    (GOE samples) at one point; the corrected one is judged (numeric.se_matrix.montecarlo_tolerance), the limit's
    O(1/d) gap is shown."""
    from numeric.se_matrix import montecarlo_tolerance, quadratic_se

    p = params
    args = (p["d"], p["n"], p["lam"], p["gamma"], p["noise"])
    mc = quadratic_se(*args, method="montecarlo", samples=p["samples"], seed=p["seed"])
    limit, corrected = quadratic_se(*args), quadratic_se(*args, finite_d=True)
    tolerance = montecarlo_tolerance(mc)
    ok = mc.converged and corrected.converged and abs(corrected.excess_risk - mc.excess_risk) <= tolerance
    return {**{k: p[k] for k in ("d", "n", "lam", "gamma", "noise", "samples", "seed")},
            "montecarlo": mc.excess_risk, "montecarlo_err": mc.excess_risk_err, "deterministic": limit.excess_risk,
            "deterministic_finite_d": corrected.excess_risk, "tolerance": tolerance,
            "relative_gap_limit": limit.excess_risk / mc.excess_risk - 1,
            "relative_gap_finite_d": corrected.excess_risk / mc.excess_risk - 1,
            "status": "agree" if ok else "disagree" if mc.converged and corrected.converged else "SE not converged"}


def simulation(params: dict) -> dict:
    """Finite-d SE against trained networks or LASSO solves (crosscheck.compare.compare_with_simulation)."""
    from .compare import compare_with_simulation

    p = params
    extra = {"model": p["model"], "design": p["design"]} if "model" in p else {}  # diagonal keys predate models
    if "rank" in p:  # the flat-teacher control (crosscheck.run); power-law points have no rank key
        extra["rank"] = p["rank"]
    return compare_with_simulation(p["d"], p["n"], p["lam"], p["gamma"], p["noise"], seeds=p["seeds"],
                                   method=p["method"], base_seed=seed_of(p), **extra).to_dict()


KINDS = {"se": se, "bayes": bayes, "simulate": simulate, "exponent": exponent, "peak": peak, "simulation": simulation,
         "montecarlo": montecarlo,
         **{kind: getattr(dynamics, kind) for kind in dynamics.CHECKS}}


def run(kind: str, params: dict) -> dict:
    """Compute one point (what executors ship to workers: a module-level function pickles by name)."""
    return KINDS[kind](params)


def describe(kind: str, params: dict, value: dict) -> str:
    """One log line for a finished point."""
    p, v = params, value
    if kind in dynamics.CHECKS:
        where = " ".join(f"{k}={p[k]:g}" for k in ("d", "r", "alpha", "width") if k in p)
        return f"[{kind}] {where}: {v['status']}"
    if kind in ("exponent", "peak"):
        where = f"noise={p['noise']:g} ell={v['ell']:g} kappa={v['kappa']:g}"
        return (f"[{kind}] {where}: {v['regime']}: analytic {v['analytic_exponent']:.3f} "
                f"measured {v['measured_exponent']:.3f} ({v['status']})")
    if kind == "simulation":
        design = f" {v['design']} design" if v.get("model") == "quadratic" else ""
        design += f", flat rank-{v['rank']} teacher" if v.get("rank") is not None else ""
        return (f"[simulation] d={v['d']} n={v['n']} lam={v['lam']:.3g} {v['method']}{design}: SE {v['se_risk']:.4g} vs "
                f"{v['sim_mean']:.4g} ± {v['sim_sem']:.2g} ({'agree' if v['agree'] else 'DISAGREE'})")
    if kind == "montecarlo":
        return (f"[montecarlo] d={p['d']} n={p['n']:g} lam={p['lam']:.3g}: MC {v['montecarlo']:.6g} ± "
                f"{v['montecarlo_err']:.2g}, deterministic + O(1/d) {v['relative_gap_finite_d']:+.1e}, limit "
                f"{v['relative_gap_limit']:+.1e} relative ({v['status']})")
    where = " ".join(f"{k}={p[k]:g}" for k in ("d", "n", "lam", "gamma", "noise") if k in p)
    risk = v["excess_risk_mean"] if kind == "simulate" else v["excess_risk"]
    return f"[{kind}] {where}: R = {risk if risk is None else format(risk, '.6g')}" + \
        ("" if v["converged"] else " (NOT CONVERGED)")
