"""Figures and LaTeX of the dynamics cross-check, drawn from the JSON-ready report alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from .report import save_figure


def risk_vs_time_figure(report: dict, stem: Path) -> list[str]:
    """Exact-flow risk vs t at the largest d for each alpha, with the derived law of the time regime."""
    fig = Figure(figsize=(6.8, 4.4))
    ax = fig.subplots()
    for k, check in enumerate(report["time_exponent"]):
        row = check["rows"][-1]
        t, risk = np.array(row["times"]), np.array(row["risk"])
        ax.loglog(t, risk, "o", ms=3, color=f"C{k}",
                  label=f"flow, $\\alpha$ = {check['alpha']:g}, d = 1e{row['log10_d']:.0f}, r = {row['r']:.2g}")
        e = check["derived_exponent"]
        ax.loglog(t, risk[0] * (t / t[0]) ** e, "-", color=f"C{k}", lw=1,
                  label=f"derived $t^{{{e:.3f}}}$ (through the first point)")
    ax.set_xlabel("t (time of gradient flow)")
    ax.set_ylabel(r"$R = \|M - A\|_F^2$")
    ax.legend(fontsize=6)
    ax.set_title("exact flow in the time regime vs the derived law $R \\propto (t/\\ln d)^{-(2\\alpha-1)/\\alpha}$",
                 fontsize=9)
    return save_figure(fig, stem)


def exponent_trend_figure(report: dict, stem: Path) -> list[str]:
    """Fitted time exponent vs 1/log10 d for each alpha: the approach to the derived exponent."""
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.subplots()
    for k, check in enumerate(report["time_exponent"]):
        x = [1 / r["log10_d"] for r in check["rows"]]
        ax.plot(x, [r["slope"] for r in check["rows"]], "-", color=f"C{k}", label=f"flow, $\\alpha$ = {check['alpha']:g}")
        for xi, row in zip(x, check["rows"]):  # hollow: the tail certificate failed (head too small for r = d^beta)
            ax.plot(xi, row["slope"], "o", color=f"C{k}", mfc=f"C{k}" if row["converged"] else "white")
        ax.axhline(check["derived_exponent"], color=f"C{k}", ls="--", lw=1)
        ax.axhspan(check["derived_exponent"] - check["tolerance"], check["derived_exponent"] + check["tolerance"],
                   color=f"C{k}", alpha=0.1)
    ax.set_xlabel(r"$1/\log_{10} d$")
    ax.set_ylabel(r"fitted slope of $\log R$ vs $\log t$")
    ax.set_xlim(left=0)
    ax.legend(fontsize=7)
    ax.set_title("time exponent as d grows (dashed: derived $-(2\\alpha-1)/\\alpha$, band: tolerance;\n"
                 "hollow: tail not certified)", fontsize=9)
    return save_figure(fig, stem)


def staircase_figure(check: dict, stem: Path) -> list[str]:
    """Per-direction overlaps M_jj/lam_j vs t (the staircase) with the derived learning times."""
    fig = Figure(figsize=(6.8, 4.2))
    ax = fig.subplots()
    t = np.array(check["times"])
    overlaps = np.array(check["overlaps"])
    for j, row in enumerate(check["rows"]):
        ax.semilogx(t, overlaps[:, j], color=f"C{j % 10}", lw=1)
        ax.axvline(row["derived"], color=f"C{j % 10}", ls=":", lw=0.8)
    ax.set_xlabel("t")
    ax.set_ylabel(r"$M_{jj}/\lambda_j$")
    ax.set_title(f"directions learned one by one (d = {check['d']}, r = {check['r']}, m = {check['width']}, "
                 f"$\\alpha$ = {check['alpha']:g}); dotted: derived $t_j$", fontsize=9)
    return save_figure(fig, stem)


def sgd_figure(check: dict, stem: Path) -> list[str]:
    """Left: seed-mean SGD risk (+- 3 s.e.) per step size and the exact flow. Right: the relative deviation
    R_SGD/R_flow - 1 against t with the derived inflation kappa c/(1 - kappa c) (dashed)."""
    fig = Figure(figsize=(10.0, 4.0))
    left, right = fig.subplots(1, 2)
    for k, run in enumerate(check["runs"]):
        t = np.array(run["times"])
        label = f"c = $\\eta d\\,$Tr$A/B$ = {run['c']:.2g}"
        left.errorbar(t, run["sgd_mean"], yerr=3 * np.array(run["sgd_sem"]), fmt="o", ms=3, color=f"C{k}",
                      label=f"SGD, {label}")
        if run["flow"] is not None:
            left.plot(t, run["flow"], "-", color=f"C{k}", lw=0.8)
            keep = t > 0
            right.semilogx(t[keep], (np.array(run["sgd_mean"]) / np.array(run["flow"]) - 1)[keep], "o-", ms=3,
                           color=f"C{k}", label=label)
        right.axhline(run["derived_deviation"], color=f"C{k}", ls="--", lw=1)
    for ax in (left, right):
        ax.set_xlabel(r"t = $\eta$ n")
        ax.set_xscale("log")
        ax.legend(fontsize=7)
    left.set_yscale("log")
    left.set_ylabel(f"R (SGD: mean of {check['seeds']} seeds; lines: exact flow)")
    right.set_ylabel(r"$R_{SGD}/R_{flow} - 1$ (dashed: derived $\kappa c/(1 - \kappa c)$)")
    fig.suptitle(f"online SGD vs gradient flow from the same initial weights, d = {check['d']}, r = {check['r']}, "
                 f"m = {check['width']}, batch {check['batch']}", fontsize=9)
    return save_figure(fig, stem)


def finite_size_figure(check: dict, stem: Path) -> list[str]:
    """Flow and sum-of-logistics prediction at realistic d, with the fit window and the bare law."""
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.subplots()
    t = np.array(check["times"])
    ax.loglog(t, check["flow"], "k-", lw=1.5, label="exact flow")
    ax.loglog(t, check["prediction"], "C1--", lw=1.2, label="sum of logistic curves at the derived $t_j$")
    for x in check["window_times"]:
        ax.axvline(x, color="0.6", ls=":", lw=0.8)
    ax.set_xlabel("t")
    ax.set_ylabel("R")
    ax.legend(fontsize=7)
    ax.set_title(f"finite size: d = {check['d']}, r = {check['r']}, $\\alpha$ = {check['alpha']:g}: fitted slopes "
                 f"{check['measured_slope']:.3f} (flow), {check['predicted_slope']:.3f} (prediction), "
                 f"bare {check['bare_exponent']:.3f}", fontsize=8)
    return save_figure(fig, stem)


def slow_decay_figure(checks: list[dict], stem: Path) -> list[str]:
    """alpha <= 1/2: exact flow (solid) vs the derived law (dashed) for each d, one panel per alpha."""
    fig = Figure(figsize=(5.0 * len(checks), 4.0))
    axes = np.atleast_1d(fig.subplots(1, len(checks)))
    for ax, check in zip(axes, checks):
        t = np.array(check["times"])
        for k, row in enumerate(check["rows"]):
            ax.semilogx(t, row["flow"], "-", color=f"C{k}", label=f"flow, d = 1e{row['log10_d']:.0f}")
            ax.semilogx(t, row["derived"], "--", color=f"C{k}", lw=1,
                        label=f"derived, half-time ratio {row['half_time_ratio']:.3f}")
        ax.set_ylim(0, 1.1)
        ax.set_xlabel("t")
        ax.set_ylabel("R")
        ax.legend(fontsize=6)
        ax.set_title(f"$\\alpha$ = {check['alpha']:g}: {check['regime']} (r = m = {check['r']})", fontsize=9)
    return save_figure(fig, stem)


def dynamics_figures(report: dict, out: Path) -> list[str]:
    paths = []
    if report["time_exponent"]:
        paths += risk_vs_time_figure(report, out / "risk_vs_time")
        paths += exponent_trend_figure(report, out / "time_exponent_trend")
    if report.get("slow_decay"):
        paths += slow_decay_figure(report["slow_decay"], out / "slow_decay")
    for k, check in enumerate(report["learning_times"]):
        paths += staircase_figure(check, out / f"staircase_{k}")
    for k, check in enumerate(report["sgd_flow"]):
        paths += sgd_figure(check, out / f"sgd_vs_flow_{k}")
    for k, check in enumerate(report["finite_size"]):
        paths += finite_size_figure(check, out / f"finite_size_{k}")
    return paths


def checks_latex(report: dict) -> str:
    """One row per judged quantity: what, measured, reference, tolerance, status."""
    rows = [r"\begin{tabular}{lllll}", r"\toprule", r"check & measured & reference & tolerance & status \\", r"\midrule"]
    for c in report["time_exponent"]:
        rows.append(rf"time exponent, $\alpha={c['alpha']:g}$, $d=10^{{{c['rows'][-1]['log10_d']:.0f}}}$ & "
                    rf"{c['measured_exponent']:.4f} & {c['derived_exponent']:.4f} & {c['tolerance']:g} & {c['status']} \\")
    for c in report.get("slow_decay", []):
        rows.append(rf"$R = 1/2$ time, $\alpha={c['alpha']:g}$, $d=10^{{{c['rows'][-1]['log10_d']:.0f}}}$ & "
                    rf"ratio {c['rows'][-1]['half_time_ratio']:.3f} & 1 & {c['tolerance']:g} & {c['status']} \\")
    for c in report["flow_ode"]:
        rows.append(rf"flow vs ODE, $d={c['d']}$, $r={c['r']}$, $m={c['width']}$, $\alpha={c['alpha']:g}$ & "
                    rf"{c['max_relative_difference']:.1e} & 0 & {c['tolerance']:g} & {c['status']} \\")
    for c in report["learning_times"]:
        rows.append(rf"learning times, $d={c['d']}$, $r={c['r']}$ & worst $|t_j/t_j^{{\rm derived}} - 1|$ = "
                    rf"{c['worst_ratio']:.3f} & 0 & {c['tolerance']:g} & {c['status']} \\")
    for c in report["width_floor"]:
        rows.append(rf"width floor, $m={c['width']}$, $r={c['r']}$ & {c['risk']:.6g} & {c['floor']:.6g} & "
                    rf"{c['tolerance']:g} rel. & {c['status']} \\")
    for c in report.get("spare_mass", []):
        rows.append(rf"spare mass $(m-r)g(t)^2$, $d={c['d']:.0e}$, $m={c['width']}$, $r={c['r']}$ & "
                    rf"{c['max_relative_difference']:.1e} & 0 & {c['tolerance']:g} & {c['status']} \\")
    for c in report["finite_size"]:
        rows.append(rf"finite-size slope, $d={c['d']}$, $\alpha={c['alpha']:g}$ & {c['measured_slope']:.3f} & "
                    rf"{c['predicted_slope']:.3f} & {c['tolerance']:g} & {c['status']} \\")
    for c in report["sgd_flow"]:
        devs = ", ".join(f"{r['deviation']:+.3f}" for r in c["runs"])
        etas = ", ".join(f"{r['eta']:.2g}" for r in c["runs"])
        rows.append(rf"SGD vs flow, $d={c['d']}$, $\eta$ = {etas} & "
                    rf"{devs} & shrinking & -- & {c['status']} \\")
    for c in report["sgd_stability"]:
        rows.append(rf"SGD stability, $d={c['d']}$, $B={c['batch']}$ & {c['measured_bracket']} & "
                    rf"{c['derived_limit']:.3g} & {c['tolerance']} & {c['status']} \\")
    rows += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(rows)
