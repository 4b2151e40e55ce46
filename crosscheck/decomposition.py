"""The decomposition cross-check: at each point of a phase-diagram grid, the largest of the four parts of the SE risk
(numeric.decomposition: missed signal, fitted noise, learned noise, shrinkage bias) against the part(s) the derived
regime says dominate (analytic.decomposition).

A derived part is measured by numeric parts (NUMERIC_OF): the derivation's "learned noise" is tau^2 on every
direction that passes the threshold, and with the threshold below the noise every direction passes, including those
whose signal is below the threshold (numerically: fitted noise), so it is measured by learned_noise + fitted_noise;
the other three map one to one. A point agrees when the derived dominant part(s) carry at least MAJORITY of the SE
risk at the largest d (regimes that merge mechanisms with one law, e.g. sparse: shrinkage bias and missed signal, count
together); the share at every d is reported, so the trend towards 1 is visible.
Points within compare.BOUNDARY_BAND of a regime boundary are shown, not judged (there two laws are within a constant
of each other at any finite d), as are points off every regime; a point where the SE did not converge, or its four
parts miss the SE risk by more than numeric.decomposition.SUM_TOL, fails the check ("not converged").
The shares R_part/R are reported at every d, so the trend towards the derived dominance is visible.
"""

from __future__ import annotations

import math
from pathlib import Path

from matplotlib.figure import Figure

from .compare import BOUNDARY_BAND, boundary_distance
from .models import RAY_DS, samples
from .run import CONFIGS

STATUSES = ("agree", "disagree", "near boundary", "no regime", "not converged")
NUMERIC_OF = {"missed_signal": ("missed_signal",), "fitted_noise": ("fitted_noise",),
              "learned_noise": ("learned_noise", "fitted_noise"), "shrinkage_bias": ("shrinkage_bias",)}
# "Dominant" asymptotically means a share -> 1; at a finite d the derived dominant part(s) must at least carry the
# larger half of R (with log factors, e.g. (ln d)^-1 against d^-0.27 (ln d)^0.67 at ell = 0.4, the share converges
# slowly: the rows by d show it).
MAJORITY = 0.5


def derived_share(shares: dict, derived) -> float:
    """The share of R in the numeric parts that measure the derived dominant parts (NUMERIC_OF)."""
    parts = {q for p in derived for q in NUMERIC_OF[p]}
    return math.fsum(shares[q] for q in parts)


def _decompose(model: str, d, n, lam, gamma, noise):
    from numeric.decomposition import decompose_diagonal, decompose_quadratic

    return (decompose_diagonal if model == "diagonal" else decompose_quadratic)(d, n, lam, gamma, noise)


def check_point(model: str, ell: float, kappa: float, gamma: float, noise: float, ds) -> dict:
    """One grid point: derived regime and dominant parts, numeric shares at every d, status."""
    from analytic.decomposition import dominant_parts
    from analytic.phase_diagram import derive

    diagram = derive(model, noiseless=noise == 0)
    regime = diagram.regime_at(ell, kappa, gamma)
    derived = () if regime is None else dominant_parts(regime)
    rows = []
    for d in ds:
        res = _decompose(model, int(d), samples(model, d, ell), d**kappa, gamma, noise)
        total = res.excess_risk
        shares = {k: (v / total if total > 0 else math.nan) for k, v in res.terms().items()}
        rows.append({"d": d, "excess_risk": total, "converged": res.converged, "message": res.message,
                     "sum_error": res.sum_error, "dominant": res.dominant(), "shares": shares,
                     "derived_share": derived_share(shares, derived) if derived else math.nan})
    dist = math.inf if regime is None else boundary_distance(regime, ell, kappa, gamma)
    last = rows[-1]
    if not all(r["converged"] for r in rows):
        status = "not converged"
    elif regime is None:
        status = "no regime"
    elif dist < BOUNDARY_BAND:
        status = "near boundary"
    else:
        status = "agree" if last["derived_share"] >= MAJORITY else "disagree"
    return {"ell": ell, "kappa": kappa, "regime": None if regime is None else regime.name, "derived": list(derived),
            "measured": last["dominant"], "derived_share": last["derived_share"], "boundary_distance": dist,
            "status": status, "by_d": rows}


def check_decomposition(model: str, *, quick: bool = True, gamma: float = 1.5, noises=(0.5, 0.0), ds=None) -> dict:
    """The check over the quick (or full) grid of ``model``, for each noise level; ``passed`` when no point disagrees
    and every SE converged."""
    cfg = CONFIGS[model]["quick" if quick else "full"]
    ds = tuple(ds or RAY_DS[model])
    diagrams = []
    for noise in noises:
        points = [check_point(model, ell, kappa, gamma, noise, ds) for ell in cfg["ells"] for kappa in cfg["kappas"]]
        counts = {s: sum(p["status"] == s for p in points) for s in STATUSES}
        diagrams.append({"noise": noise, "points": points, "counts": counts})
    passed = all(dg["counts"]["disagree"] == 0 and dg["counts"]["not converged"] == 0 for dg in diagrams)
    return {"model": model, "gamma": gamma, "ds": list(ds), "boundary_band": BOUNDARY_BAND, "majority": MAJORITY,
            "numeric_of": {k: list(v) for k, v in NUMERIC_OF.items()}, "diagrams": diagrams, "passed": passed}


SHORT = {"missed_signal": "missed", "fitted_noise": "fitted", "learned_noise": "noise", "shrinkage_bias": "shrink"}


def format_decomposition(result: dict) -> str:
    lines = []
    for dg in result["diagrams"]:
        lines.append(f"{result['model']} network, gamma = {result['gamma']:g}, Delta = {dg['noise']:g}: share of the SE "
                     f"risk in the derived dominant part(s), d = {', '.join(f'{d:.0e}' for d in result['ds'])} (agree: >= "
                     f"{result['majority']} at the largest d)")
        lines.append("   ell   kappa  regime                              derived          largest   shares "
                     "(missed/fitted/noise/shrink)  derived share by d     status")
        for p in dg["points"]:
            sh = p["by_d"][-1]["shares"]
            shares = "/".join(f"{sh[k]:.2f}" for k in SHORT)
            derived = "+".join(SHORT[k] for k in p["derived"]) or "-"
            trend = " ".join("-" if math.isnan(r["derived_share"]) else f"{r['derived_share']:.2f}" for r in p["by_d"])
            lines.append(f"{p['ell']:6.2f} {p['kappa']:6.2f}  {str(p['regime'])[:34]:<34}  {derived:<15}  "
                         f"{SHORT[p['measured']]:<8}  {shares:<28}  {trend:<22} {p['status']}")
        lines.append("  " + ", ".join(f"{k}: {v}" for k, v in dg["counts"].items() if v))
    lines.append("verdict: " + ("PASSED" if result["passed"] else "FAILED"))
    return "\n".join(lines)


COLOURS = {"missed_signal": "tab:blue", "fitted_noise": "tab:orange", "learned_noise": "tab:green",
           "shrinkage_bias": "tab:red"}


def decomposition_figure(result: dict, stem: Path) -> list[str]:
    """One panel per noise level: the (ell, kappa) grid, each point a horizontal bar stacking the four shares at the
    largest d, framed black where the check agrees, red where it disagrees, grey where it is not judged. Saves
    stem.png and stem.pdf."""
    from analytic.decomposition import PART_NAMES

    fig = Figure(figsize=(5.2 * len(result["diagrams"]), 4.6), layout="constrained")
    axes = fig.subplots(1, len(result["diagrams"]), squeeze=False)[0]
    for ax, dg in zip(axes, result["diagrams"]):
        ells = sorted({p["ell"] for p in dg["points"]})
        kappas = sorted({p["kappa"] for p in dg["points"]})
        w = 0.7 * min(b - a for a, b in zip(ells, ells[1:])) if len(ells) > 1 else 0.5
        h = 0.7 * min(b - a for a, b in zip(kappas, kappas[1:])) if len(kappas) > 1 else 0.5
        for p in dg["points"]:
            left = p["ell"] - w / 2
            for part, share in p["by_d"][-1]["shares"].items():
                if math.isfinite(share) and share > 0:
                    ax.barh(p["kappa"], share * w, height=h, left=left, color=COLOURS[part], linewidth=0)
                    left += share * w
            edge = {"agree": "black", "disagree": "red"}.get(p["status"], "0.6")
            ax.add_patch(_frame(p["ell"] - w / 2, p["kappa"] - h / 2, w, h, edge))
        ax.set_xlabel(r"$\ell = \log_d n$" + (r"$_{\mathrm{eff}}$" if result["model"] == "quadratic" else ""))
        ax.set_ylabel(r"$\kappa = \log_d \lambda$")
        ax.set_title(f"{result['model']}, $\\Delta$ = {dg['noise']:g}, d = {result['ds'][-1]:.0e}")
        ax.set_xlim(ells[0] - w, ells[-1] + w)
        ax.set_ylim(kappas[0] - h, kappas[-1] + h)
    handles = [_frame(0, 0, 1, 1, "none", COLOURS[k]) for k in COLOURS]
    fig.legend(handles, [PART_NAMES[k] for k in COLOURS], loc="outside lower center", ncols=4)
    out = []
    for ext in ("png", "pdf"):
        path = stem.with_suffix(f".{ext}")
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=150)
        out.append(str(path))
    return out


def _frame(x, y, w, h, edge, face="none"):
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), w, h, fill=face != "none", facecolor=face, edgecolor=edge, linewidth=1.2)
