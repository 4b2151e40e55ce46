"""Report files of a cross-check: JSON with every number, figures (PNG + PDF), LaTeX tables.

Every figure is drawn from the JSON-ready report alone (``figures_from_report``), so it can be
re-made from a saved ``report.json``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure  # no pyplot: no global state, no backend choice imposed on callers

from analytic import derive, table_latex


def write_json(path: Path, data) -> None:
    """Write atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=float))
    os.replace(tmp, path)


def regime_map(diagram, gamma, ells, kappas):
    """Index of the derived regime (into the returned names) and its exponent on an (ell, kappa) grid."""
    names = [r.name for r in diagram.regimes if r.line is None]
    grid = np.full((len(kappas), len(ells)), np.nan)
    expo = np.full_like(grid, np.nan)
    for a, k in enumerate(kappas):
        for b, l in enumerate(ells):
            r = diagram.regime_at(l, k, gamma) if l != 1 else None
            if r is not None and r.line is None:
                grid[a, b] = names.index(r.name)
                expo[a, b] = r.exponent_at(l, k, gamma)
    return names, grid, expo


def phase_diagram_figure(section: dict, stem: Path, model: str = "diagonal") -> list[str]:
    """Measured exponents (colour) at the checked points over the analytic regimes and boundaries."""
    diagram = derive(model, noiseless=section["noise"] == 0)
    gamma = section["gamma"]
    pts = section["points"]
    ells = np.linspace(0.02, max(p["ell"] for p in pts) + 0.5, 240)
    kappas = np.linspace(min(p["kappa"] for p in pts) - 0.5, max(p["kappa"] for p in pts) + 0.5, 240)
    names, grid, expo = regime_map(diagram, gamma, ells, kappas)
    vmin = min(np.nanmin(expo), min(p["measured_exponent"] for p in pts))
    fig = Figure(figsize=(7.2, 5.2))
    ax = fig.subplots()
    ax.imshow(expo, origin="lower", extent=(ells[0], ells[-1], kappas[0], kappas[-1]), aspect="auto",
              cmap="viridis", vmin=vmin, vmax=0, alpha=0.35)
    ax.contour(ells, kappas, grid, levels=np.arange(len(names)) + 0.5, colors="k", linewidths=1.0)
    for idx, name in enumerate(names):
        mask = grid == idx
        if mask.any():
            ys, xs = np.nonzero(mask)
            ax.text(ells[int(np.median(xs))], kappas[int(np.median(ys))], name, fontsize=7, ha="center",
                    bbox=dict(fc="white", ec="none", alpha=0.6, pad=1))
    edge = {"agree": "white", "near boundary": "orange", "pre-asymptotic": "orange", "disagree": "red",
            "SE not converged": "red"}
    sc = ax.scatter([p["ell"] for p in pts], [p["kappa"] for p in pts], c=[p["measured_exponent"] for p in pts],
                    cmap="viridis", vmin=vmin, vmax=0, s=90, edgecolors=[edge[p["status"]] for p in pts], linewidths=2)
    ax.axvline(1.0, color="k", ls=":", lw=0.8)
    fig.colorbar(sc, label=r"measured exponent $\log_d R$ (SE slope at the largest $d$)")
    ax.set_xlabel(r"$\ell = \log_d n$" if model == "diagonal" else r"$\ell = \log_d n_{\mathrm{eff}}$, $n_{\mathrm{eff}} = n/d$")
    ax.set_ylabel(r"$\kappa = \log_d \lambda$")
    ax.set_title(f"{model} network, $\\gamma$ = {gamma}, $\\Delta$ = {section['noise']}: SE slopes vs derived regimes\n"
                 "(background: analytic exponent; edge: white agree, orange near a boundary or pre-asymptotic, red disagree)", fontsize=9)
    return save_figure(fig, stem)


def _series(c: dict) -> str:
    return c["method"] + (" (Gaussian design)" if c.get("design") == "gaussian" else "") + \
        (" (flat finite-rank teacher)" if c.get("rank") is not None else "")


def simulation_figure(checks: list[dict], stem: Path) -> list[str]:
    """SE (bars) and simulation means +- 3 s.e. per (d, n, lam, Delta) point, one marker per method."""
    where = lambda c: (c["d"], c["n"], c["lam"], c["noise"], c.get("rank"))  # noqa: E731
    cases = list(dict.fromkeys(where(c) for c in checks))
    series = list(dict.fromkeys(_series(c) for c in checks))
    fig = Figure(figsize=(max(7.2, 0.5 * len(cases)), 3.8))
    ax = fig.subplots()
    x = np.arange(len(cases))
    se = {where(c): c["se_risk"] for c in checks}
    ax.scatter(x, [se[w] for w in cases], marker="_", s=600, color="k", label="state evolution", zorder=3)
    for j, name in enumerate(series):
        off = (j - (len(series) - 1) / 2) * 0.2
        sel = [c for c in checks if _series(c) == name]
        ax.errorbar([cases.index(where(c)) + off for c in sel], [c["sim_mean"] for c in sel],
                    yerr=[3 * c["sim_sem"] for c in sel], fmt="o", color=f"C{j}", label=f"{name} (mean ± 3 s.e.)")
    ax.set_xticks(x, [f"d={d}\nn={n}\nλ={lam:.2g}\nΔ={noise:g}" + ("" if rank is None else f"\nflat r={rank}")
                      for d, n, lam, noise, rank in cases], fontsize=6)
    ax.set_yscale("log")
    ax.set_ylabel("excess risk R")
    ax.legend(fontsize=7)
    ax.set_title("finite-d SE vs trained networks and convex solves", fontsize=9)
    return save_figure(fig, stem)


def finite_size_figure(checks: list[dict], stem: Path) -> list[str]:
    """Relative gap (simulation - SE)/SE against d for each design, with the stated allowance: the
    quadratic features' non-Gaussianity should fade like 1/d, the Gaussian design's gap stay at zero."""
    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.subplots()
    for j, name in enumerate(dict.fromkeys(_series(c) for c in checks)):
        sel = [c for c in checks if _series(c) == name and c["se_risk"] > 0]
        ax.errorbar([c["d"] * (1 + 0.03 * j) for c in sel], [(c["sim_mean"] - c["se_risk"]) / c["se_risk"] for c in sel],
                    yerr=[3 * c["sim_sem"] / c["se_risk"] for c in sel], fmt="o", color=f"C{j}", label=name)
    ds = np.array(sorted({c["d"] for c in checks}), dtype=float)
    ratio = [c["allowance"] / c["se_risk"] for c in checks if c.get("design") != "gaussian" and c["se_risk"] > 0]
    if ratio:
        const = max(r * c["d"] for r, c in zip(ratio, [c for c in checks if c.get("design") != "gaussian" and c["se_risk"] > 0]))
        ax.plot(ds, const / ds, "k--", lw=1, label=f"stated allowance {const:g}/d (real features)")
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xscale("log")
    ax.set_xlabel("d")
    ax.set_ylabel("(simulation - SE) / SE   (bars: 3 s.e.)")
    ax.legend(fontsize=7)
    ax.set_title("finite-size gap of the SE, by design", fontsize=9)
    return save_figure(fig, stem)


def save_figure(fig, stem: Path) -> list[str]:
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in ("png", "pdf"):
        path = stem.with_suffix("." + ext)
        fig.savefig(path, dpi=150, bbox_inches="tight")
        paths.append(str(path))
    return paths


def agreement_latex(section: dict) -> str:
    rows = [r"\begin{tabular}{rrlrrrrl}", r"\toprule",
            r"$\ell$ & $\kappa$ & regime & analytic & measured & $|\Delta e|$ & distance & status \\", r"\midrule"]
    for p in section["points"]:
        rows.append(f"{p['ell']:g} & {p['kappa']:g} & {p['regime']} & {p['analytic_exponent']:.3f} & "
                    f"{p['measured_exponent']:.3f} & {abs(p['difference']):.3f} & {p['boundary_distance']:.2f} & {p['status']} \\\\")
    rows += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(rows)


def figures_from_report(report: dict, out: Path) -> list[str]:
    paths = []
    model = report.get("model", "diagonal")
    for key, section in report["exponents"].items():
        paths += phase_diagram_figure(section, out / f"phase_diagram_{key}", model)
    if report.get("simulations"):
        paths += simulation_figure(report["simulations"], out / "se_vs_simulation")
        if model == "quadratic":
            paths += finite_size_figure(report["simulations"], out / "finite_size_gap")
    return paths


def tables_from_report(report: dict) -> str:
    parts = []
    for key, section in report["exponents"].items():
        diagram = derive(report.get("model", "diagonal"), noiseless=section["noise"] == 0)
        parts += [f"% derived regimes, {key} (Delta = {section['noise']})", table_latex(diagram), "",
                  f"% SE slopes vs derived exponents, {key}, gamma = {section['gamma']}", agreement_latex(section), ""]
    return "\n".join(parts)
