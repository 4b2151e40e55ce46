"""``scalinglab spectrum {diagonal,quadratic}``: the learned spectrum (|theta_hat_i|, or the eigenvalues of S_hat)
predicted by the SE, optionally measured on trained networks, its power-law tail and a figure.

* predicted: numeric.spectra.predicted_spectrum_diagonal / numeric.spectra_quadratic.predicted_spectrum_quadratic
  (atom at 0 + the continuous part); noise level: tau sqrt(d/n) (diagonal), the bulk edge 2 sigma (quadratic);
* its tail: a CSN fit (numeric.tail_fit) of TAIL_DRAWS stratified SE draws (one per coordinate, repeated), the
  teacher's own density exponent 1 + 1/gamma beside it;
* measured (--simulate): pooled |theta_hat_i| of ``seeds`` solves vs the prediction (KS and W1 against the iid
  and stratified 95 % bootstrap bands), and the CSN fit of their tail;
* verdict "power-law tail present": the CSN goodness-of-fit p-value >= 0.1 (power law plausible) and the fitted
  tail spans at least MIN_DECADES decade of |theta_hat| (a narrower range cannot tell a power law from a curve);
  "teacher's tail" in addition needs 1 + 1/gamma inside the bootstrap interval widened by compare.EXPONENT_TOL (a
  threshold at the noise level gives a plausible power law with a noise-shaped exponent, 3.3-3.9 at gamma = 1).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from .compare import EXPONENT_TOL
from .report import save_figure, write_json

TAIL_DRAWS = 4  # stratified SE draws per coordinate for the predicted tail fit (d * 4 values)
MIN_DECADES = 1.0
GOF_SETS = 100  # CSN goodness-of-fit synthetic sets: p resolved to ~0.1, enough for the 0.1 verdict line
BOOTSTRAP = 100
CANDIDATES = 400  # xmin scanned on a 400-point rank-quantile grid (cost ~ candidates x tail size per refit)


def exponent_in_interval(fit: dict, exponent: float) -> bool:
    """The fitted tail's bootstrap interval, widened by compare.EXPONENT_TOL, contains ``exponent``."""
    return bool(fit["interval"][0] - EXPONENT_TOL <= exponent <= fit["interval"][1] + EXPONENT_TOL)


def _tail(values: np.ndarray, seed: int, teacher_exponent: float) -> dict:
    from numeric.tail_fit import fit_power_law_tail

    positive = values[values > 0]
    if positive.size < 100:
        return {"fitted": False, "message": f"only {positive.size} non-zero values: no tail fit"}
    fit = fit_power_law_tail(positive, bootstrap=BOOTSTRAP, gof_sets=GOF_SETS, seed=seed,
                             max_candidates=CANDIDATES).to_dict()
    decades = math.log10(float(positive.max()) / fit["xmin"])
    present = bool(fit["plausible"]) and decades >= MIN_DECADES
    # a tail can be a power law without being the teacher's (a threshold at the noise level gives a noise-shaped one)
    teacher = exponent_in_interval(fit, teacher_exponent)
    return {"fitted": True, **fit, "decades": decades, "power_law_tail": present,
            "teacher_exponent_in_interval": teacher, "teacher_tail": present and teacher}


def _law(model: str, d, n, lam, gamma, noise):
    """(predicted law, threshold, noise level, teacher values) in the units of the learned values."""
    if model == "diagonal":
        from numeric.spectra import predicted_spectrum_diagonal
        from numeric.teachers import teacher_magnitudes

        law = predicted_spectrum_diagonal(d, n, lam, gamma, noise)
        return law, law.zeta * law.scale, law.tau * law.scale, teacher_magnitudes(law.d, law.gamma)
    if model == "quadratic":
        from numeric.spectra_quadratic import predicted_spectrum_quadratic
        from numeric.teachers import quadratic_teacher_spectrum

        law = predicted_spectrum_quadratic(d, n, lam, gamma, noise)
        return law, law.zeta, 2 * math.sqrt(law.sigma2), quadratic_teacher_spectrum(law.d, law.gamma)  # bulk edge 2 sigma
    raise ValueError(f"unknown model {model!r} (available: diagonal, quadratic)")


def _measured(model: str, d, n, lam, gamma, noise, seeds, base_seed, method):
    if model == "diagonal":
        from numeric.spectra import measured_spectrum_diagonal

        if method not in ("network", "lasso"):
            raise ValueError(f"--method {method} is not a method of the diagonal network (network, lasso)")
        return measured_spectrum_diagonal(d, n, lam, gamma, noise, seeds=seeds, base_seed=base_seed, method=method)
    from numeric.spectra_quadratic import measured_spectrum_quadratic

    if method not in ("network", "convex"):
        raise ValueError(f"--method {method} is not a method of the quadratic network (network, convex)")
    return measured_spectrum_quadratic(d, n, lam, gamma, noise, seeds=seeds, base_seed=base_seed, method=method)


def run_spectrum(model: str, d, n, lam, gamma, noise, *, simulate: bool = False, seeds: int = 8, base_seed: int = 0,
                 method: str = "network", out: Path | None = None, seed: int = 0) -> dict:
    """The predicted (and measured) spectrum, tail fits and verdicts as a JSON-ready dict; figure + JSON in ``out``."""
    from numeric.spectra import compare_spectra
    from numeric.tail_fit import rank_exponent_to_density_exponent

    predicted, threshold, noise_level, teacher = _law(model, d, n, lam, gamma, noise)
    teacher_exponent = rank_exponent_to_density_exponent(predicted.gamma)
    rng = np.random.default_rng(seed)
    draws = np.concatenate([predicted.stratified(rng) for _ in range(TAIL_DRAWS)])
    probs = [0.5, 0.9, 0.99, 0.999]
    result = {
        "model": model, "d": predicted.d, "n": predicted.n, "lam": predicted.lam, "gamma": predicted.gamma,
        "noise": predicted.noise,
        "predicted": {"atom": predicted.atom, "threshold": threshold, "noise_level": noise_level,
                      "quantiles": dict(zip(map(str, probs), predicted.quantile(probs).tolist())),
                      "tail": _tail(draws, seed, teacher_exponent)},
        "teacher_density_exponent": teacher_exponent,
    }
    measured = None
    if simulate:
        measured = np.concatenate(_measured(model, d, n, lam, gamma, noise, seeds, base_seed, method))
        comparison = compare_spectra(measured, predicted, bootstrap=BOOTSTRAP, seed=seed).to_dict()
        result["measured"] = {"method": method, "seeds": seeds, "base_seed": base_seed, "comparison": comparison,
                              "tail": _tail(measured, seed, teacher_exponent)}
    if out is not None:
        out = Path(out)
        write_json(out / "spectrum.json", result)
        result["files"] = ["spectrum.json"] + [Path(p).name for p in spectrum_figure(result, predicted, teacher, draws,
                                                                                    measured, out / "spectrum")]
    return result


def spectrum_figure(result: dict, predicted, teacher: np.ndarray, draws: np.ndarray, measured, stem: Path) -> list[str]:
    """Left: rank plot of the learned values (log-log) with the teacher's and the fitted tail. Right: the
    predicted density (and atom) with the measured histogram."""
    fig = Figure(figsize=(11.0, 4.3))
    left, right = fig.subplots(1, 2)
    d = predicted.d
    ranks = np.arange(1, d + 1)
    left.loglog(ranks[teacher > 0], teacher[teacher > 0], "k:", lw=1, label="teacher")
    pred_sorted = np.sort(draws)[::-1][::TAIL_DRAWS]  # one stratified draw's worth of ranks
    left.loglog(ranks[pred_sorted > 0], pred_sorted[pred_sorted > 0], "C0-", label="predicted (SE draws)")
    if measured is not None:
        seeds = result["measured"]["seeds"]
        meas_sorted = np.sort(measured)[::-1][::seeds]
        left.loglog(ranks[meas_sorted > 0], meas_sorted[meas_sorted > 0], "C1.", ms=3,
                    label=f"measured ({result['measured']['method']}, {seeds} seeds pooled)")
    left.axhline(result["predicted"]["threshold"], color="0.5", lw=0.8, ls="--", label="threshold")
    left.axhline(result["predicted"]["noise_level"], color="0.5", lw=0.8, ls="-.", label="noise level")
    left.set_xlabel("rank i")
    left.set_ylabel(r"$|\hat\theta|_{(i)}$" if result["model"] == "diagonal" else r"eigenvalue of $\hat S$, by rank")
    left.legend(fontsize=7)
    tail = result["predicted"]["tail"]
    if tail["fitted"]:
        left.set_title(f"predicted tail: density exponent {tail['exponent']:.2f} "
                       f"[{tail['interval'][0]:.2f}, {tail['interval'][1]:.2f}] (teacher "
                       f"{result['teacher_density_exponent']:.2f}); power-law tail: {tail['power_law_tail']}",
                       fontsize=8)
    top = float(predicted.quantile(0.999)[0]) if np.ndim(predicted.quantile(0.999)) else float(predicted.quantile(0.999))
    v = np.linspace(0, top, 400)[1:]
    right.semilogy(v, predicted.density(v), "C0-", label=f"predicted density (atom {predicted.atom:.3f} at 0)")
    if measured is not None:
        positive = measured[(measured > 0) & (measured <= top)]
        weights = np.full(positive.size, 1.0 / measured.size)
        right.hist(positive, bins=60, weights=weights / (top / 60), color="C1", alpha=0.4,
                   label=f"measured (atom {np.mean(measured == 0):.3f})")
    right.set_ylim(bottom=1e-6)
    right.set_xlabel(r"$|\hat\theta|$" if result["model"] == "diagonal" else r"eigenvalue of $\hat S$")
    right.set_ylabel("density")
    right.legend(fontsize=7)
    fig.suptitle(f"{result['model']} network: d = {d}, n = {result['n']:g}, lambda = {result['lam']:g}, "
                 f"gamma = {result['gamma']:g}, Delta = {result['noise']:g}", fontsize=9)
    return save_figure(fig, stem)


def format_spectrum(result: dict) -> str:
    p = result["predicted"]
    lines = [f"{result['model']} network, d = {result['d']}, n = {result['n']:g}, lam = {result['lam']:g}, "
             f"gamma = {result['gamma']:g}, Delta = {result['noise']:g}",
             f"predicted: atom at 0 {p['atom']:.4f}, threshold {p['threshold']:.4g}, noise level "
             f"{p['noise_level']:.4g}, quantiles {json.dumps({k: round(v, 4) for k, v in p['quantiles'].items()})}"]
    for label, tail in (("predicted", p["tail"]), ("measured", result.get("measured", {}).get("tail"))):
        if tail is None:
            continue
        if not tail["fitted"]:
            lines.append(f"{label} tail: {tail['message']}")
            continue
        lines.append(f"{label} tail: density exponent {tail['exponent']:.3f} (95 % [{tail['interval'][0]:.3f}, "
                     f"{tail['interval'][1]:.3f}]) above xmin = {tail['xmin']:.4g} ({tail['n_tail']} values, "
                     f"{tail['decades']:.2f} decades), CSN p = {tail['gof_p']:.2f}: power-law tail "
                     f"{'PRESENT' if tail['power_law_tail'] else 'NOT present'}; the teacher's exponent "
                     f"{result['teacher_density_exponent']:.3f} is {'' if tail['teacher_exponent_in_interval'] else 'NOT '}"
                     f"inside the interval (+-{EXPONENT_TOL})")
    if "measured" in result:
        c = result["measured"]["comparison"]
        lines.append(f"measured vs predicted ({c['size']} values): KS {c['ks']:.4f} (band {c['ks_band']:.4f}), "
                     f"W1 {c['w1']:.4f} (band {c['w1_band']:.4f}): {'AGREE' if c['agree'] else 'DISAGREE'}")
    return "\n".join(lines)
