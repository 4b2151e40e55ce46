"""Cross-check of the derived power-law tails of the learned spectrum (analytic.spectrum_tails) against the SE.

At each point (ell, kappa) of the phase-diagram grid (crosscheck.run: QUICK / FULL, QUICK_QUADRATIC /
FULL_QUADRATIC), at dimension d with n = d^(ell + SAMPLE_SHIFT) and lam = d^kappa:

* predicted: the derived range D(ell, kappa, gamma): the teacher's law spans D log10(d) decades of learned values,
  with density exponent 1 + 1/gamma (``analytic.spectrum_tails.predicted_tail``);
* measured: one stratified SE draw of the d learned values (``PredictedSpectrum.stratified``: one value per
  coordinate / eigen-direction, fixed seed) and its CSN tail fit (``numeric.tail_fit``). A stratified draw is what
  one trained network of dimension d shows (each teacher component exactly once); iid ``sample`` draws would add
  multinomial noise in which top components appear, and quantiles at (i - 1/2)/d cost O(d^2) and carry no
  sampling fluctuation, which makes CSN's bootstrap p-value meaningless;
* verdict: the teacher's tail is *found* when CSN's gof p >= 0.1, the fit spans >= MIN_DECADES decade above xmin
  (the rule of ``scalinglab spectrum``) and the bootstrap interval widened by EXPONENT_TOL contains 1 + 1/gamma.
  A tail is detectable only when it holds MIN_TAIL values: N(> cutoff) = 10^(decades / gamma) >= MIN_TAIL, i.e.
  predicted decades >= limit = max(MIN_DECADES, gamma log10 MIN_TAIL). "agree": predicted decades >= limit +
  DETECTION_BAND and the tail found, or predicted decades <= limit - DETECTION_BAND (including D <= 0) and no
  tail found; within DETECTION_BAND of the limit, or within BOUNDARY_BAND of a regime or cutoff boundary
  (``compare.boundary_distance``), or where the SE has no spectrum (exact recovery / not converged): "flagged",
  shown, not judged; anything else "disagree".
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from .compare import BOUNDARY_BAND, EXPONENT_TOL, boundary_distance
from .models import SAMPLE_SHIFT, check_model
from .report import save_figure
from .run import FULL, FULL_QUADRATIC, QUICK, QUICK_QUADRATIC
from .spectrum import MIN_DECADES, _law, exponent_in_interval

# Dimensions. Diagonal: the CSN fit of d values with the settings below costs ~0.9 s at d = 1e4 and ~6 s at
# d = 1e5 when every component is active, so 1e4 keeps the quick run (60 diagonal points) within its budget;
# the full run affords 1e5. Quadratic: one deterministic SE at d = 1e3 costs 0.6-3 s (and a stratified draw one
# d x d eigendecomposition, 0.1 s): 1e3 for both.
DIMENSION = {("diagonal", True): 10**4, ("diagonal", False): 10**5, ("quadratic", True): 10**3, ("quadratic", False): 10**3}
MIN_TAIL = 50  # CSN's KS scan needs >= 50 tail points to discriminate (numeric.tail_fit default)
MIN_VALUES = 100  # fewer positive learned values than this: no fit (as ``scalinglab spectrum``), no tail found
# CSN resampling: 50 bootstrap refits and 50 goodness-of-fit sets resolve p to ~0.07 (p near 0.1 is then borderline,
# tail_fit's docstring) and the 95 % interval to a few per cent of its width; a 100-candidate rank-quantile xmin grid
# keeps one fit of 1e4 values below a second.
BOOTSTRAP = 50
GOF_SETS = 50
CANDIDATES = 100
# The derived cutoff is known up to constants and powers of ln d: the threshold at the noise level carries a factor
# sqrt(2 ln d) (~0.6 decade at d = 1e4), and the shift x -> x - zeta bends the law within a factor of a few of
# zeta, where CSN's xmin cannot start. Together about one decade: predicted decades within 1 of the detection limit
# are flagged, not judged.
DETECTION_BAND = 1.0
# Diagnostic only: the law bends within a factor of a few of its cutoff (shift, noise broadening), so a fit with xmin
# fixed at 10x the cutoff scale sees the teacher's law if it is there.
DIAGNOSTIC_FACTOR = 10.0


def detection_limit(gamma: float) -> float:
    """Fewest predicted decades at which the tail holds MIN_TAIL values: 10^(decades/gamma) = MIN_TAIL, and at
    least MIN_DECADES."""
    return max(MIN_DECADES, gamma * math.log10(MIN_TAIL))


def _draw(model: str, d: int, ell: float, kappa: float, gamma: float, noise: float, seed: int):
    """One stratified SE draw of the learned values (|theta_hat_i| or the eigenvalues of S_hat) and the numeric
    cutoff scale max(threshold, noise level, smallest teacher value) in the same units (``spectrum._law``)."""
    n, lam = float(d) ** (ell + SAMPLE_SHIFT[model]), float(d) ** kappa
    law, threshold, noise_level, teacher = _law(model, d, n, lam, gamma, noise)
    cutoff = max(threshold, noise_level, float(teacher[teacher > 0].min()))
    return law.stratified(np.random.default_rng(seed)), cutoff


def _diagnostic(values: np.ndarray, cutoff: float, seed: int) -> dict:
    """CSN fit with xmin fixed at DIAGNOSTIC_FACTOR x the cutoff scale: is the teacher's law there above the
    cutoff even where the free xmin scan settles elsewhere? (Shown, never used in the verdict.)"""
    from numeric.tail_fit import fit_power_law_tail

    positive = values[values > 0]
    xmin = DIAGNOSTIC_FACTOR * cutoff
    if np.count_nonzero(positive >= xmin) < MIN_TAIL:
        return {"fitted": False, "xmin": xmin, "message": f"fewer than {MIN_TAIL} values above {xmin:.3g}"}
    fit = fit_power_law_tail(positive, xmin=xmin, min_tail=MIN_TAIL, bootstrap=BOOTSTRAP, gof_sets=GOF_SETS,
                             seed=seed, max_candidates=CANDIDATES)
    return {"fitted": True, **fit.to_dict(), "decades": math.log10(float(positive.max()) / xmin)}


def _fit(values: np.ndarray, seed: int) -> dict:
    from numeric.tail_fit import fit_power_law_tail

    positive = values[values > 0]
    if positive.size < MIN_VALUES:
        return {"fitted": False, "positive": int(positive.size),
                "message": f"only {positive.size} non-zero values (< {MIN_VALUES}): no tail fit"}
    fit = fit_power_law_tail(positive, min_tail=MIN_TAIL, bootstrap=BOOTSTRAP, gof_sets=GOF_SETS, seed=seed,
                             max_candidates=CANDIDATES)
    return {"fitted": True, "positive": int(positive.size), **fit.to_dict(),
            "decades": math.log10(float(positive.max()) / fit.xmin)}


def _distance(model: str, ell: float, kappa: float, gamma: float, noiseless: bool) -> float:
    """Distance in (ell, kappa) to the nearest boundary of the regime or of the tail range's cutoff piece."""
    from analytic import derive
    from analytic.spectrum_tails import tail_range_at

    regime = derive(model, noiseless=noiseless).regime_at(ell, kappa, gamma)
    piece = tail_range_at(model, ell, kappa, gamma, noiseless)
    if regime is None or piece is None:
        return 0.0
    if regime.line is not None:
        return math.inf
    return min(boundary_distance(regime, ell, kappa, gamma), boundary_distance(piece, ell, kappa, gamma))


def tail_point(model: str, ell: float, kappa: float, *, gamma: float, noise: float, d: int, seed: int = 0,
               exponent: float | None = None) -> dict:
    """Predicted vs measured tail at one point, with its verdict (module docstring). ``exponent`` replaces the
    derived 1 + 1/gamma as the exponent the measured tail must show (to see the check fail on a wrong value)."""
    from analytic.spectrum_tails import predicted_tail

    noiseless = noise == 0
    pred = predicted_tail(model, ell, kappa, gamma, noiseless)
    limit = detection_limit(gamma)
    point = {"ell": ell, "kappa": kappa, "d": d, "noise": noise, "regime": pred["regime"],
             "lower_cutoff": pred["lower_cutoff"], "decades_exponent": pred["decades_exponent"],
             "predicted_decades": None if pred["decades_exponent"] is None else pred["decades_exponent"] * math.log10(d),
             "detection_limit": limit, "boundary_distance": _distance(model, ell, kappa, gamma, noiseless)}
    expected = exponent if exponent is not None else pred["tail_exponent"]
    if expected is None:  # no tail predicted: the teacher's law is what would be found if anything
        expected = 1.0 + 1.0 / gamma
    point["expected_exponent"] = expected
    try:
        values, cutoff = _draw(model, d, ell, kappa, gamma, noise, seed)
    except ValueError as err:  # exact recovery or no SE convergence: no spectrum to measure
        return {**point, "fit": {"fitted": False, "message": str(err)}, "found": None, "status": "flagged",
                "reason": f"no SE spectrum: {err}"}
    fit = _fit(values, seed)
    found = bool(fit["fitted"] and fit["plausible"] and fit["decades"] >= MIN_DECADES)
    exponent_ok = bool(fit["fitted"]) and exponent_in_interval(fit, expected)
    teacher_tail = found and exponent_ok
    decades = point["predicted_decades"]
    if pred["regime"] is None:
        status, reason = "flagged", "on a boundary: no single tail law"
    elif point["boundary_distance"] < BOUNDARY_BAND:
        status, reason = "flagged", f"within {BOUNDARY_BAND} of a regime or cutoff boundary"
    elif abs(decades - limit) < DETECTION_BAND:
        status, reason = "flagged", f"predicted decades within {DETECTION_BAND} of the detection limit {limit:.2f}"
    elif decades >= limit:
        status = "agree" if teacher_tail else "disagree"
        reason = "tail predicted" + ("" if teacher_tail else ": " + ("exponent off" if found else "no tail found"))
    else:
        status = "agree" if not found else "disagree"
        reason = "no detectable tail predicted" + ("" if not found else ": a tail is found")
    point["cutoff_scale"] = cutoff
    if status == "disagree":
        point["diagnostic"] = _diagnostic(values, cutoff, seed)
    return {**point, "fit": fit, "found": found, "exponent_ok": exponent_ok, "teacher_tail": teacher_tail,
            "status": status, "reason": reason}


def run_tails(model: str, *, quick: bool = True, gamma: float = 1.5, noise: float = 0.5, d: int | None = None,
              seed: int = 0) -> dict:
    """The check over the QUICK (or FULL) grid of ``model`` at Delta = noise and Delta = 0 (JSON-able dict)."""
    from analytic import derive
    from numeric.params import check_gamma, check_nonnegative

    model = check_model(model)
    gamma, noise = check_gamma(gamma), check_nonnegative("noise", noise)
    d = int(d or DIMENSION[(model, bool(quick))])
    grid = {("diagonal", True): QUICK, ("diagonal", False): FULL, ("quadratic", True): QUICK_QUADRATIC,
            ("quadratic", False): FULL_QUADRATIC}[(model, bool(quick))]
    started = time.time()
    points = []
    for delta in dict.fromkeys((noise, 0.0)):
        diagram = derive(model, noiseless=delta == 0)
        for ell in grid["ells"]:
            for kappa in grid["kappas"]:
                if diagram.regime_at(ell, kappa, gamma) is None:
                    continue  # exactly on a boundary: no law to compare with
                points.append(tail_point(model, float(ell), float(kappa), gamma=gamma, noise=delta, d=d, seed=seed))
    counts = {s: sum(p["status"] == s for p in points) for s in ("agree", "disagree", "flagged")}
    return {"model": model, "mode": "quick" if quick else "full", "gamma": gamma, "noise": noise, "d": d,
            "seed": seed, "samples": "one stratified SE draw per point (numpy default_rng(seed))",
            "tolerances": {"exponent_tol": EXPONENT_TOL, "boundary_band": BOUNDARY_BAND,
                           "detection_band": DETECTION_BAND, "detection_limit": detection_limit(gamma),
                           "min_tail": MIN_TAIL, "min_decades": MIN_DECADES, "bootstrap": BOOTSTRAP,
                           "gof_sets": GOF_SETS, "candidates": CANDIDATES},
            "points": points, "counts": counts, "passed": counts["disagree"] == 0,
            "seconds": time.time() - started}


def _fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def format_tails(result: dict) -> str:
    """One line per point: regime, cutoff, predicted vs measured decades, exponent and interval, p, verdict."""
    lines = [f"{result['model']} network, gamma = {result['gamma']:g}, d = {result['d']:g}: predicted tail = "
             f"D log10 d decades (detection limit {result['tolerances']['detection_limit']:.2f} +- "
             f"{result['tolerances']['detection_band']:g}), teacher exponent {1 + 1 / result['gamma']:.3f}",
             f"{'Delta':>5} {'ell':>5} {'kappa':>6} {'regime':32} {'cutoff':28} {'pred':>5} {'meas':>5} {'a_hat':>6} "
             f"{'95% interval':>15} {'xmin':>9} {'ntail':>6} {'p':>5} {'status':9} reason"]
    for p in result["points"]:
        f = p["fit"]
        fitted = f.get("fitted")
        interval = f"[{f['interval'][0]:.2f}, {f['interval'][1]:.2f}]" if fitted else "-"
        lines.append(
            f"{p['noise']:5g} {p['ell']:5g} {p['kappa']:6g} {str(p['regime']):32.32} {str(p['lower_cutoff']):28.28} "
            f"{_fmt(p['predicted_decades'], '5.2f')} {_fmt(f.get('decades'), '5.2f')} {_fmt(f.get('exponent'), '6.3f')} "
            f"{interval:>15} {_fmt(f.get('xmin'), '9.3g')} {_fmt(f.get('n_tail'), '6d')} {_fmt(f.get('gof_p'), '5.2f')} "
            f"{p['status']:9} {p['reason']}")
        diag = p.get("diagnostic")
        if diag is not None:
            lines.append(f"{'':>19}diagnostic, xmin fixed at {DIAGNOSTIC_FACTOR:g} x cutoff scale = {diag['xmin']:.3g}: " + (
                f"a = {diag['exponent']:.3f} [{diag['interval'][0]:.2f}, {diag['interval'][1]:.2f}], "
                f"{diag['n_tail']} values over {diag['decades']:.2f} decades, p = {diag['gof_p']:.2f}"
                if diag["fitted"] else diag["message"]))
    c = result["counts"]
    lines.append(f"{'PASSED' if result['passed'] else 'FAILED'}: {c['agree']} agree, {c['disagree']} disagree, "
                 f"{c['flagged']} flagged (not judged); {result['seconds']:.1f} s")
    return "\n".join(lines)


COLOUR_FLOOR = 2.0
_MARKERS = {"agree": ("o", "C2"), "disagree": ("X", "C3"), "flagged": ("s", "0.5")}


def tails_figure(result: dict, stem: Path) -> list[str]:
    """One panel per noise level: the (ell, kappa) plane coloured by the predicted decades D log10 d, the
    boundaries of the tail ranges (regimes and cutoff changes) as lines, the grid points marked by verdict
    (filled: the teacher's tail found). Saves stem.png and stem.pdf."""
    from analytic.spectrum_tails import tail_table

    noises = list(dict.fromkeys(p["noise"] for p in result["points"]))
    fig = Figure(figsize=(6.2 * len(noises), 4.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(noises)))
    pts = result["points"]
    ells = [p["ell"] for p in pts]
    kappas = [p["kappa"] for p in pts]
    L = np.linspace(0.02, max(ells) * 1.08, 160)
    K = np.linspace(min(kappas) - 0.4, max(kappas) + 0.4, 160)
    gamma, logd = result["gamma"], math.log10(result["d"])
    for ax, delta in zip(axes, noises):
        table = [r for r in tail_table(result["model"], noiseless=delta == 0) if r.line is None]
        decades = np.full((K.size, L.size), np.nan)
        label = np.full((K.size, L.size), np.nan)
        for a, kv in enumerate(K):
            for b, lv in enumerate(L):
                for idx, r in enumerate(table):
                    if r.holds_at(lv, kv, gamma):
                        decades[a, b], label[a, b] = r.decades_at(lv, kv, gamma) * logd, idx
                        break
        # colours clipped below at -COLOUR_FLOOR decades: the plateau's very negative D would wash out the rest
        mesh = ax.pcolormesh(L, K, decades, cmap="viridis", shading="auto", vmin=-COLOUR_FLOOR)
        fig.colorbar(mesh, ax=ax, label=f"predicted decades D log10 d (d = {result['d']:g}), clipped at -{COLOUR_FLOOR:g}")
        ax.contour(L, K, np.nan_to_num(label, nan=-1), levels=np.arange(-0.5, len(table)), colors="w", linewidths=0.6)
        for status, (marker, colour) in _MARKERS.items():
            sel = [p for p in pts if p["noise"] == delta and p["status"] == status]
            for found in (True, False):
                sub = [p for p in sel if bool(p.get("teacher_tail")) == found]
                if sub:
                    ax.scatter([p["ell"] for p in sub], [p["kappa"] for p in sub], marker=marker, s=45,
                               facecolors=colour if found else "none", edgecolors=colour,
                               label=f"{status}{' (tail found)' if found else ''}")
        ax.set_xlabel(r"$\ell = \log_d n_{\mathrm{eff}}$")
        ax.set_ylabel(r"$\kappa = \log_d \lambda$")
        ax.set_title(f"{result['model']}, Delta = {delta:g}, gamma = {gamma:g}", fontsize=9)
        ax.legend(fontsize=6, loc="upper left", framealpha=0.6)
    return save_figure(fig, Path(stem))
