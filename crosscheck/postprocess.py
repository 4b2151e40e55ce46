"""``scalinglab prune diagonal``: pruning / debiasing of the trained diagonal network, SE-predicted and measured.

run_postprocess: at one (d, n, lam) the SE prediction of every post-processor of numeric.postprocess and, with
simulate=True, the measured risks over seeds for the LASSO solve and the trained network (data drawn as in
numeric.simulate), the statistics of the debiased observation theta_u, and the refit (least squares on the
support, measured only). Measured and predicted agree when |mean - SE| <= AGREE_SE s.e. + the diagonal finite-size
allowance of crosscheck.models; the refit is judged against the SE of "debias" by the same rule.

postprocess_rates: along rays n = d^ell, lam = d^kappa placed inside each regime of the derived phase diagram
(analytic.derive names the regime of each ray) and along lam = lam_opt(d) (numeric.optimal), the SE risks of the
LASSO and of each post-processor for d = 1e4 ... 1e10, their local slopes (numeric.fits) and a verdict:
"improves the rate" / "worse rate" when the slope of log R vs log d changes by more than RATE_TOL, otherwise
"improves the constant only" / "worse constant" / "no gain" by the ratio of risks at d = 1e10 (CONSTANT_TOL).
Because a factor (ln d)^p moves a local slope by ~p / ln d (0.05 at d = 1e10), every ray is continued to d = 1e20 and
ln(R_pp / R_lasso) is fitted to c + a ln d + p ln ln d over all its points (``ratio_law``): the "extended" verdict
separates a change of rate (|a| > RATE_TOL) from a log factor (|p| > LOG_TOL).
"""

from __future__ import annotations

import math

import numpy as np

from numeric.convex import solve_lasso
from numeric.fits import local_slope
from numeric.optimal import optimal_lambda
from numeric.params import check_diagonal_params, check_gamma, check_nonnegative
from numeric.postprocess import (
    POSTPROCESSORS,
    effective_observation,
    postprocess_estimates,
    postprocess_se,
    refit,
)
from numeric.postprocess_quadratic import POSTPROCESSORS as POSTPROCESSORS_QUADRATIC
from numeric.postprocess_quadratic import (
    effective_observation_quadratic,
    montecarlo_postprocess,
    postprocess_estimates_quadratic,
    postprocess_quadratic_se,
    refit_quadratic,
    se_convolution,
)
from numeric.simulate import METHODS, check_simulation, seeded_fits, standard_error
from numeric.simulate_quadratic import DESIGNS, seeded_fits_quadratic
from numeric.simulate_quadratic import METHODS as QUADRATIC_METHODS
from numeric.spectra import NETWORK_ZERO_TOL
from numeric.spectra_quadratic import CONVEX_ZERO_TOL

from .models import QUADRATIC_RAY_DS, allowance, samples

# Agreement of a seed mean with the SE: within this many standard errors (plus the finite-size allowance).
AGREE_SE = 3.0
# The trained network's theta = a w is never exactly 0: off the LASSO support it is ~ (gtol / margin)^2, measured
# <= 3e-11 at d = 1000 (gtol 1e-8), while the smallest LASSO survivors there are >= 4e-3. A coordinate is in the
# network's support when |theta_i| > NETWORK_ZERO, five decades from either; the report counts the coordinates whose
# membership differs from the LASSO support of the same data.
NETWORK_ZERO = 1e-6
# A slope change (|Delta e|) above this is a change of rate: the cross-check's tolerance on exponents inside a
# regime (spec/method.md: |Delta e| <= 0.05).
RATE_TOL = 0.05
# Within this relative difference of R at the largest d the two estimators are called equal ("no gain"): a 2% change
# is below the seed-to-seed scatter of a d = 1000 simulation (~5% s.e. at 8 seeds), no user would see it.
CONSTANT_TOL = 0.02
# Rays: d = 1e4 ... 1e10, one point per decade (binned SE, ~0.1 s per point; ~10 s at lam_opt), then 1e15 and 1e20
# to tell a power of d from a power of ln d: between d and 10 d a factor (ln d)^p shifts the local slope by
# ~p / ln d, 0.046 p at d = 1e10 -- as large as RATE_TOL for p = 1 -- but 0.022 p at d = 1e20.
BRIEF_D_MAX = 1e10
RATE_DS = tuple(10.0**k for k in range(4, 11)) + (1e15, 1e20)
# |p| above this in R_pp / R_lasso ~ d^a (ln d)^p (ratio_law) is reported as a log factor.
LOG_TOL = 0.5
# Distance of a ray from the nearest regime boundary in kappa when a regime is unbounded on that side.
_OFFSET = 0.3


def _summary(values) -> dict:
    v = np.asarray(values, dtype=float)
    return {"mean": float(np.mean(v)), "sem": standard_error(v), "values": [float(x) for x in v]}


def _judge(measured: dict, predicted: float, d: int) -> dict:
    gap = measured["mean"] - predicted
    bound = AGREE_SE * measured["sem"] + allowance("diagonal", predicted, d)
    return {**measured, "se": predicted, "gap": gap, "gap_in_sem": gap / measured["sem"] if measured["sem"] > 0 else math.nan,
            "bound": bound, "agree": bool(abs(gap) <= bound)}


def run_postprocess(d, n, lam, gamma, noise, *, simulate: bool = False, seeds: int = 8, base_seed: int = 0,
                    methods=METHODS) -> dict:
    """SE-predicted risks of each post-processor at (d, n, lam, gamma, Delta); measured over seeds if ``simulate``."""
    d, n, lam, gamma, noise = check_diagonal_params(d, n, lam, gamma, noise)
    pred = postprocess_se(d, n, lam, gamma, noise)
    out = {"kind": "point", "d": d, "n": n, "lam": lam, "gamma": gamma, "noise": noise, "prediction": pred.to_dict()}
    if not simulate:
        return out
    for method in methods:
        d, n, lam, gamma, noise, seeds, base_seed = check_simulation(d, n, lam, gamma, noise, seeds, base_seed, method,
                                                                     METHODS)
    if not pred.converged:
        return out | {"measured": None, "message": f"no SE prediction to compare with: {pred.message}"}
    factor = pred.factor
    out["measured"] = {}
    for method in methods:
        risks = {name: [] for name in (*POSTPROCESSORS, "refit")}
        stats = {"residual_var_ratio": [], "residual_mean": [], "noise_std_ratio": [], "ks_pvalue": [], "df": [],
                 "support_mismatch": []}
        failures = []
        for k, theta_star, X, y, fit in seeded_fits(d, n, lam, gamma, noise, seeds, method, base_seed=base_seed):
            theta_hat = fit.theta
            support = theta_hat != 0 if method == "lasso" else np.abs(theta_hat) > NETWORK_ZERO
            if not fit.converged:
                failures.append(f"seed {k}: {fit.message}")
            try:
                obs = effective_observation(X, y, theta_hat, support)
            except ValueError as exc:
                failures.append(f"seed {k}: {exc}")
                continue
            estimates = postprocess_estimates(obs, theta_hat, support, factor)
            estimates["refit"] = refit(X, y, support)
            for name, theta in estimates.items():
                risks[name].append(float(np.sum((theta - theta_star) ** 2) / d))
            stats["df"].append(obs.df)
            stats["support_mismatch"].append(int(np.count_nonzero(support != (solve_lasso(X, y, lam).theta != 0)))
                                             if method == "network" else 0)
            _observation_stats(stats, obs, theta_star, pred, d, n)
        if not risks["lasso"]:
            out["measured"][method] = {"converged": False, "message": "; ".join(failures)}
            continue
        judged = {name: _judge(_summary(v), getattr(pred, name), d) for name, v in risks.items() if name != "refit"}
        judged["refit"] = _judge(_summary(risks["refit"]), pred.debias, d)  # does the SE of "debias" describe it?
        out["measured"][method] = {
            "risks": judged, "observation": {key: _summary(v) for key, v in stats.items()},
            "converged": not failures, "message": "all seeds converged" if not failures else "; ".join(failures),
        }
    return out


def _observation_stats(stats: dict, obs, theta_star, pred, d: int, n: float) -> None:
    """Append this seed's statistics of e = theta_u - theta*: var(e) / (tau^2 d/n), mean(e) / sqrt(tau^2 d/n),
    the estimated std over the SE one, and the KS p-value of e / std(e) against N(0, 1): a test of the shape, since
    at df ~ n the factor 1/(n - df) makes the scale fluctuate from seed to seed (the scale is the first two numbers;
    with the scale estimated from the same sample the p-value is conservative, i.e. too large)."""
    from scipy.stats import kstest

    scale = math.sqrt(pred.se.tau2 * d / n)
    e = (obs.theta_u - theta_star) / scale
    stats["residual_var_ratio"].append(float(np.var(e)))
    stats["residual_mean"].append(float(np.mean(e)))
    stats["noise_std_ratio"].append(obs.noise_std / scale)
    stats["ks_pvalue"].append(float(kstest(e / np.std(e), "norm").pvalue))


# -- rates along rays ---------------------------------------------------------------------------------

def ray_points(gamma: float, noise: float) -> list[tuple[str, float, float]]:
    """(intended regime, ell, kappa) inside each regime, placed from the boundaries of the derived diagram at
    this gamma (Delta > 0: kappa = ell - 1/2, (ell - 1)/2, ell - gamma - 1/2 and ell = 1; Delta = 0: kappa = ell - 1/2,
    ell (1 - gamma) - 1/2, ell - gamma - 1/2): midway between two boundaries, or _OFFSET from the only one."""
    dense_ell = 2.0 * gamma + 1.0
    if noise > 0:
        return [
            ("plateau", 0.8, 0.8 - 0.5 + _OFFSET),
            ("interpolation (noise fitted)", 0.8, (0.8 - 1.0) / 2 - _OFFSET),
            ("sparse (top-K learned), n < d", 0.8, 0.5 * ((0.8 - 1.0) / 2 + 0.8 - 0.5)),
            ("sparse (top-K learned), n > d", 1.5, 0.5 * ((1.5 - 1.0) / 2 + 1.5 - 0.5)),
            ("variance-limited", 1.5, (1.5 - 1.0) / 2 - _OFFSET),
            ("dense (all learned, shrinkage bias)", dense_ell, 0.5 * ((dense_ell - 1.0) / 2 + dense_ell - gamma - 0.5)),
        ]
    return [
        ("plateau", 0.8, 0.8 - 0.5 + _OFFSET),
        ("interpolation (basis pursuit)", 0.8, 0.8 * (1.0 - gamma) - 0.5 - _OFFSET),
        ("sparse (top-K learned), n < d", 0.8, 0.5 * (0.8 * (1.0 - gamma) - 0.5 + 0.8 - 0.5)),
        ("sparse (top-K learned), n > d", 1.5, 0.5 * (1.5 - gamma - 0.5 + 1.5 - 0.5)),
        ("dense (all learned, shrinkage bias)", 1.5, 1.5 - gamma - 0.5 - _OFFSET),
    ]


def classify(lasso_slope: float, slope: float, ratio: float) -> str:
    """Verdict for a post-processor vs the LASSO from the slopes of log R vs log d and R_pp / R_lasso at the largest d."""
    if slope < lasso_slope - RATE_TOL:
        return "improves the rate"
    if slope > lasso_slope + RATE_TOL:
        return "worse rate"
    return _constant_verdict(ratio)


def _constant_verdict(ratio: float) -> str:
    if ratio < 1.0 - CONSTANT_TOL:
        return "improves the constant only"
    if ratio > 1.0 + CONSTANT_TOL:
        return "worse constant"
    return "no gain"


def ratio_law(ds, ratios) -> dict:
    """Least-squares fit  ln(R_pp / R_lasso) = c + a ln d + p ln ln d  over the whole ray (module docstring of
    ``postprocess_rates``): a is the change of rate, p the power of ln d; the verdict uses a (RATE_TOL), then p
    (LOG_TOL), then the ratio at the largest d (CONSTANT_TOL). ``max_misfit`` is the largest |residual| of the fit."""
    ln_d = np.log(np.asarray(ds, dtype=float))
    design = np.column_stack([np.ones_like(ln_d), ln_d, np.log(ln_d)])
    target = np.log(np.asarray(ratios, dtype=float))
    coef = np.linalg.lstsq(design, target, rcond=None)[0]
    a, p = float(coef[1]), float(coef[2])
    if a < -RATE_TOL:
        verdict = "improves the rate"
    elif a > RATE_TOL:
        verdict = "worse rate"
    elif p < -LOG_TOL:
        verdict = "improves by a log factor"
    elif p > LOG_TOL:
        verdict = "worse by a log factor"
    else:
        verdict = _constant_verdict(float(ratios[-1]))
    return {"rate_change": a, "log_power": p, "max_misfit": float(np.max(np.abs(target - design @ coef))),
            "verdict": verdict}


def _ray(name, ell, kappa, gamma, noise, ds, lam_of=None) -> dict:
    """SE risks of every post-processor along n = d^ell, lam = d^kappa (or lam_of(d, n)), slopes and verdicts:
    ``verdicts`` from the local slopes between the two largest d <= BRIEF_D_MAX (classify), ``extended`` from
    ratio_law over every d of the ray."""
    rows, messages = [], []
    for d in ds:
        n = d**ell
        lam = d**kappa if lam_of is None else lam_of(int(d), n, messages)
        if lam is None:
            continue
        pred = postprocess_se(int(d), n, lam, gamma, noise)
        if not pred.converged or not all(v > 0 for v in pred.risks().values()):
            messages.append(f"d = {d:g} dropped (no positive R to take a log of): {pred.message}")
            continue
        rows.append({"d": d, "n": n, "lam": lam, "zeta_over_tau": pred.se.zeta / math.sqrt(pred.se.tau2),
                     "factor": pred.factor, **pred.risks()})
    out = {"regime": name, "ell": ell, "kappa": kappa, "rows": rows, "messages": messages}
    brief = [r for r in rows if r["d"] <= BRIEF_D_MAX]
    if len(brief) < 3:
        return out | {"slopes": None}
    xs = [r["d"] for r in brief]
    fits = {p: local_slope(xs, [r[p] for r in brief]) for p in POSTPROCESSORS}
    last = brief[-1]
    out["slopes"] = {p: {"exponent": f.exponent, "trend": f.trend, "slopes": list(f.exponents)} for p, f in fits.items()}
    others = [p for p in POSTPROCESSORS if p != "lasso"]
    out["verdicts"] = {p: classify(fits["lasso"].exponent, fits[p].exponent, last[p] / last["lasso"]) for p in others}
    out["ratios"] = {p: last[p] / last["lasso"] for p in others}
    out["extended"] = {p: ratio_law([r["d"] for r in rows], [r[p] / r["lasso"] for r in rows]) for p in others}
    return out


def postprocess_rates(gamma: float = 1.5, noise: float = 0.5, *, ds=RATE_DS, optimal_ells=(0.8, 1.5)) -> dict:
    """The regime table: per ray (regime named by analytic.derive at (ell, kappa, gamma), with its derived LASSO
    exponent) the SE slopes of log R vs log d of the LASSO and of each post-processor and the verdicts; then the
    same along lam = lam_opt(d) at n = d^ell for each ell in ``optimal_ells`` (and ell = 2 gamma + 1)."""
    from analytic import derive

    gamma, noise = check_gamma(gamma), check_nonnegative("noise", noise)
    diagram = derive("diagonal", noiseless=noise == 0)
    rays = []
    for intended, ell, kappa in ray_points(gamma, noise):
        ray = _ray(intended, ell, kappa, gamma, noise, ds)
        regime = diagram.regime_at(ell, kappa, gamma)
        ray["derived_regime"] = None if regime is None else regime.name
        ray["derived_lasso_exponent"] = None if regime is None else regime.exponent_at(ell, kappa, gamma)
        rays.append(ray)

    def lam_opt(d, n, messages):
        res = optimal_lambda("diagonal", d, n, gamma, noise)
        if res.at_lower_edge:  # the infimum is the lam -> 0+ limit (least squares for n > d): evaluate it there
            messages.append(f"d = {d:g}: R decreases down to lam -> 0+, evaluated at lam = 0")
            return 0.0
        if not res.converged:
            messages.append(f"d = {d:g}: lam_opt {res.lam_opt:.3g} ({res.message})")
        return res.lam_opt if math.isfinite(res.lam_opt) and res.lam_opt > 0 else None

    for ell in (*optimal_ells, 2.0 * gamma + 1.0):
        ray = _ray(f"lam = lam_opt, n = d^{ell:g}", ell, math.nan, gamma, noise, ds, lam_of=lam_opt)
        for row in ray["rows"]:
            row["kappa"] = math.log(row["lam"]) / math.log(row["d"]) if row["lam"] > 0 else None
        rays.append(ray | {"derived_regime": "optimal lam", "derived_lasso_exponent": None})
    return {"kind": "rates", "gamma": gamma, "noise": noise, "factor": "sqrt(2 ln d)", "rays": rays}


# -- text -----------------------------------------------------------------------------------------------

def format_postprocess(result: dict) -> str:
    """Plain-text table of run_postprocess or postprocess_rates output."""
    return _format_rates(result) if result["kind"] == "rates" else _format_point(result)


def _format_point(res: dict) -> str:
    p = res["prediction"]
    lines = [f"d = {res['d']}, n = {res['n']:g}, lam = {res['lam']:g}, gamma = {res['gamma']:g}, Delta = {res['noise']:g}: "
             f"tau^2 = {p['se']['tau2']:.5g}, zeta = {p['se']['zeta']:.5g}, prune threshold t = {p['factor']:.3f} tau; "
             f"{p['message']}",
             "SE-predicted R: " + ", ".join(f"{k} {p[k]:.5g}" for k in (*POSTPROCESSORS, "observation"))]
    for method, m in (res.get("measured") or {}).items():
        if "risks" not in m:
            lines.append(f"{method}: {m['message']}")
            continue
        lines.append(f"{method} ({m['message']}):")
        lines.append(f"  {'':14}{'measured':>12}{'s.e.':>10}{'SE':>12}{'gap/s.e.':>10}{'bound':>10}  agree")
        for name, r in m["risks"].items():
            ref = " (vs SE of debias)" if name == "refit" else ""
            lines.append(f"  {name:14}{r['mean']:12.5g}{r['sem']:10.2g}{r['se']:12.5g}{r['gap_in_sem']:10.2f}"
                         f"{r['bound']:10.2g}  {r['agree']}{ref}")
        o = m["observation"]
        lines.append(f"  theta_u - theta*: var / (tau^2 d/n) = {o['residual_var_ratio']['mean']:.4f} "
                     f"+- {o['residual_var_ratio']['sem']:.4f}, mean / sd = {o['residual_mean']['mean']:.4f}, "
                     f"estimated sd / SE sd = {o['noise_std_ratio']['mean']:.4f}, KS p-values "
                     f"{min(o['ks_pvalue']['values']):.3f} ... {max(o['ks_pvalue']['values']):.3f}, df = "
                     f"{o['df']['mean']:.1f}, support mismatch with LASSO = {o['support_mismatch']['mean']:.2f}")
    return "\n".join(lines)


def _format_rates(res: dict) -> str:
    lines = [f"post-processing rates, gamma = {res['gamma']:g}, Delta = {res['noise']:g}, prune at {res['factor']} tau; "
             f"slope = d log R / d log d between the two largest d <= {BRIEF_D_MAX:g} (trend = change over the last "
             "decade); x = R_pp / R_lasso there; fit over d <= 1e20: R_pp / R_lasso ~ d^a (ln d)^p"]
    for ray in res["rays"]:
        derived = ray["derived_lasso_exponent"]
        head = (f"{ray['regime']}: ell = {ray['ell']:g}, kappa = {ray['kappa']:g} (derived: {ray['derived_regime']}, "
                f"log_d R = {derived:.4f})" if derived is not None else f"{ray['regime']}")
        lines.append(head)
        if ray["slopes"] is None:
            msgs = ray["messages"]
            lines.append(f"  fewer than 3 points with 0 < R < inf ({len(msgs)} notes; last: {msgs[-1] if msgs else '-'})")
            continue
        for p in POSTPROCESSORS:
            s = ray["slopes"][p]
            text = f"  {p:13} slope {s['exponent']:8.4f} (trend {s['trend']:+.4f})"
            if p != "lasso":
                e = ray["extended"][p]
                text += (f"  x{ray['ratios'][p]:<9.3g} {ray['verdicts'][p]:27}| a = {e['rate_change']:+.3f}, "
                         f"p = {e['log_power']:+.2f} (misfit {e['max_misfit']:.2g}): {e['verdict']}")
            lines.append(text)
        if ray["messages"]:
            lines.append(f"  notes ({len(ray['messages'])}): {ray['messages'][0]}" + (" ..." if len(ray["messages"]) > 1 else ""))
    return "\n".join(lines)


# -- quadratic network ------------------------------------------------------------------------------------
# ``scalinglab``-style entry points for numeric.postprocess_quadratic (no CLI command yet): run_postprocess_quadratic
# measures the post-processors on Y_u (convex solve and trained network on the real quadratic features, convex solve
# on the Gaussian design of the same covariance) against the SE; postprocess_rates_quadratic gives their SE slopes
# along rays n = d^(ell + 1), lam = d^kappa inside the derived quadratic regimes, d = 1e2, 1e3, 1e4
# (crosscheck.models.QUADRATIC_RAY_DS: one SE point costs up to ~20 s at d = 1e4).

QUADRATIC_RUNS = (("convex", "quadratic"), ("network", "quadratic"), ("convex", "gaussian"))


def run_postprocess_quadratic(d, n, lam, gamma, noise, *, simulate: bool = False, seeds: int = 4, base_seed: int = 0,
                              runs=QUADRATIC_RUNS, mc_samples: int = 0, mc_seed: int = 0) -> dict:
    """SE-predicted risks of each quadratic post-processor (and, if ``mc_samples``, their brute-force GOE values at
    the SE's sigma^2, zeta, t); with ``simulate`` the measured risks on Y_u over seeds for each (method, design) run,
    judged by AGREE_SE s.e. + crosscheck.models.allowance("quadratic", ..., design, corrected=False) (the predictions
    are free-probability limits), the refit (least squares on the learned eigenspace,
    numeric.postprocess_quadratic.refit_quadratic, judged against the SE of "debias"), and the statistics of Y_u:
    ||Y_u - S*||^2/d (judged against sigma^2 (d + 1)/d), sigma_hat^2/sigma^2, zeta_u/zeta, df/E[div] and the KS
    distance of Y_u's eigenvalues to the free convolution's F_Y (p-value as if iid: eigenvalues repel, so it is
    conservative)."""
    from scipy.stats import kstest

    d, n, lam, gamma, noise, seeds, base_seed = check_simulation(d, n, lam, gamma, noise, seeds, base_seed, "convex",
                                                                 QUADRATIC_METHODS)
    for method, design in runs:
        if method not in QUADRATIC_METHODS or design not in DESIGNS or (method, design) == ("network", "gaussian"):
            raise ValueError(f"unknown run ({method!r}, {design!r}): choose from {QUADRATIC_RUNS}")
    pred = postprocess_quadratic_se(d, n, lam, gamma, noise)
    out = {"kind": "point_quadratic", "d": d, "n": n, "lam": lam, "gamma": gamma, "noise": noise,
           "prediction": pred.to_dict(), "measured": {}}
    if not pred.converged:
        return out
    se = pred.se
    if mc_samples:
        rng = np.random.default_rng(mc_seed)
        out["montecarlo"] = montecarlo_postprocess(d, gamma, se.sigma2, se.zeta, pred.threshold, int(mc_samples), rng)
    if not simulate:
        return out
    fc = se_convolution(d, gamma, None, se.sigma2)
    cdf_y = np.vectorize(lambda x: min(1.0, max(0.0, 1.0 - fc.threshold_integrals(float(x))[0])))
    expected_div = n - lam * d / (2.0 * se.zeta) if se.zeta > 0 else math.nan  # the SE's calibration equation
    for method, design in runs:
        risks = {name: [] for name in (*POSTPROCESSORS_QUADRATIC, "observation", "refit")}
        stats = {k: [] for k in ("sigma_hat2_ratio", "zeta_ratio", "df_ratio", "ks", "ks_pvalue")}
        failures = []
        for k, S_star, A, y, fit in seeded_fits_quadratic(d, n, lam, gamma, noise, seeds, method, design, width=d,
                                                          base_seed=base_seed):  # (one BLAS thread, as there)
            obs = effective_observation_quadratic(A, y, fit.S, lam)
            est = postprocess_estimates_quadratic(obs, fit.S, pred.margin)
            est["refit"] = refit_quadratic(A, y, fit.S, NETWORK_ZERO_TOL if method == "network" else CONVEX_ZERO_TOL)
            if not fit.converged:
                failures.append(f"seed {k}: {fit.message}")
            if not obs.converged:
                failures.append(f"seed {k}: Y_u: {obs.message}")
            for name, S in est.items():
                risks[name].append(float(np.sum((S - S_star) ** 2)) / d)
            risks["observation"].append(float(np.sum((obs.Y - S_star) ** 2)) / d)
            stats["sigma_hat2_ratio"].append(obs.sigma_hat**2 / se.sigma2)
            stats["zeta_ratio"].append(obs.zeta / se.zeta if se.zeta > 0 else math.nan)
            stats["df_ratio"].append(obs.df / expected_div)
            ks = kstest(obs.eigenvalues, cdf_y)
            stats["ks"].append(float(ks.statistic))
            stats["ks_pvalue"].append(float(ks.pvalue))
        # the refit (measured only) is judged against the SE of "debias", as for the diagonal network
        reference = pred.risks() | {"observation": pred.observation_finite_d, "refit": pred.debias}
        judged = {name: _judge_quadratic(_summary(v), reference[name], d, design) for name, v in risks.items()}
        out["measured"][f"{method}/{design}"] = {
            "risks": judged, "observation": {key: _summary(v) for key, v in stats.items()},
            "converged": not failures, "message": "all seeds converged" if not failures else "; ".join(failures),
        }
    return out


def _judge_quadratic(measured: dict, predicted: float, d: int, design: str) -> dict:
    gap = measured["mean"] - predicted
    bound = AGREE_SE * measured["sem"] + allowance("quadratic", predicted, d, design, corrected=False)
    return {**measured, "se": predicted, "gap": gap, "relative_gap": gap / predicted,
            "gap_in_sem": gap / measured["sem"] if measured["sem"] > 0 else math.nan, "bound": bound,
            "agree": bool(abs(gap) <= bound)}


def ray_points_quadratic(gamma: float, noise: float) -> list[tuple[str, float, float]]:
    """(intended regime, ell, kappa) inside the derived quadratic regimes (``scalinglab derive quadratic``; ell =
    log_d n_eff): boundaries kappa = (ell + 1)/2 (sparse/dense vs variance-limited/noise-fitted), kappa = ell + 1/2
    (plateau), kappa = ell - gamma + 1/2 (sparse vs dense), ell = 1 (noise-fitted vs variance-limited); midway between
    two boundaries or _OFFSET from the only one. Delta > 0 only (the noise-fitted and variance-limited regimes)."""
    if noise <= 0:
        raise ValueError("postprocess_rates_quadratic places its rays for Delta > 0")
    dense_ell = 2.0 * gamma + 0.5
    return [
        ("sparse (top-K learned)", 0.8, 0.5 * ((0.8 + 1.0) / 2 + 0.8 + 0.5)),
        ("interpolation (noise fitted)", 0.8, (0.8 + 1.0) / 2 - _OFFSET),
        ("variance-limited", 1.5, (1.5 + 1.0) / 2 - _OFFSET),
        ("dense (all learned, shrinkage bias)", dense_ell, 0.5 * ((dense_ell + 1.0) / 2 + dense_ell - gamma + 0.5)),
    ]


def postprocess_rates_quadratic(gamma: float = 1.5, noise: float = 0.5, *, ds=None) -> dict:
    """Per ray (regime named by analytic.derive("quadratic")) the SE risks of each post-processor at d in ``ds``
    (default crosscheck.models.QUADRATIC_RAY_DS), n = d^(ell + 1), lam = d^kappa; the slope of log R vs log d
    between the two largest d (numeric.fits.local_slope) and the verdict of ``classify``."""
    from analytic import derive

    gamma, noise = check_gamma(gamma), check_nonnegative("noise", noise)
    ds = QUADRATIC_RAY_DS if ds is None else tuple(ds)
    diagram = derive("quadratic")
    rays = []
    for intended, ell, kappa in ray_points_quadratic(gamma, noise):
        rows, messages = [], []
        for d in ds:
            n, lam = samples("quadratic", d, ell), d**kappa
            pred = postprocess_quadratic_se(int(d), n, lam, gamma, noise)
            if not pred.converged or not all(v > 0 for v in pred.risks().values()):
                messages.append(f"d = {d:g} dropped: {pred.message}")
                continue
            rows.append({"d": d, "n": n, "lam": lam, "sigma2": pred.se.sigma2, "zeta": pred.se.zeta,
                         "threshold": pred.threshold, **pred.risks()})
        regime = diagram.regime_at(ell, kappa, gamma)
        ray = {"regime": intended, "ell": ell, "kappa": kappa, "rows": rows, "messages": messages,
               "derived_regime": None if regime is None else regime.name,
               "derived_lasso_exponent": None if regime is None else regime.exponent_at(ell, kappa, gamma)}
        if len(rows) < 3:
            rays.append(ray | {"slopes": None})
            continue
        xs = [r["d"] for r in rows]
        fits = {p: local_slope(xs, [r[p] for r in rows]) for p in POSTPROCESSORS_QUADRATIC}
        last = rows[-1]
        others = [p for p in POSTPROCESSORS_QUADRATIC if p != "lasso"]
        ray["slopes"] = {p: {"exponent": f.exponent, "trend": f.trend, "slopes": list(f.exponents)} for p, f in fits.items()}
        ray["ratios"] = {p: last[p] / last["lasso"] for p in others}
        ray["verdicts"] = {p: classify(fits["lasso"].exponent, fits[p].exponent, ray["ratios"][p]) for p in others}
        rays.append(ray)
    return {"kind": "rates_quadratic", "gamma": gamma, "noise": noise, "margin": "d^(-2/3)", "rays": rays}


def format_postprocess_quadratic(result: dict) -> str:
    """Plain-text table of run_postprocess_quadratic or postprocess_rates_quadratic output."""
    if result["kind"] == "rates_quadratic":
        lines = [f"quadratic post-processing rates, gamma = {result['gamma']:g}, Delta = {result['noise']:g}, prune at "
                 f"t = 2 sigma (1 + {result['margin']}); slope = d log R / d log d between the two largest d; "
                 "x = R_pp / R_lasso at the largest d"]
        for ray in result["rays"]:
            derived = ray["derived_lasso_exponent"]
            lines.append(f"{ray['regime']}: ell = {ray['ell']:g}, kappa = {ray['kappa']:g} (derived: "
                         f"{ray['derived_regime']}, log_d R = {derived if derived is None else round(float(derived), 4)})")
            if ray["slopes"] is None:
                lines.append(f"  fewer than 3 points ({'; '.join(ray['messages']) or '-'})")
                continue
            for p in POSTPROCESSORS_QUADRATIC:
                s = ray["slopes"][p]
                values = " ".join(f"{r[p]:.4g}" for r in ray["rows"])
                text = f"  {p:13} R = {values:40} slope {s['exponent']:8.4f} (trend {s['trend']:+.4f})"
                if p != "lasso":
                    text += f"  x{ray['ratios'][p]:<9.3g} {ray['verdicts'][p]}"
                lines.append(text)
        return "\n".join(lines)
    p = result["prediction"]
    lines = [f"d = {result['d']}, n = {result['n']:g}, lam = {result['lam']:g}, gamma = {result['gamma']:g}, "
             f"Delta = {result['noise']:g}: sigma^2 = {p['se']['sigma2']:.5g}, zeta = {p['se']['zeta']:.5g}, prune cut "
             f"t = {p['threshold']:.4g} = 2 sigma (1 + {p['margin']:.3g}); {p['message']}",
             "SE-predicted R: " + ", ".join(f"{k} {p[k]:.5g}" for k in (*POSTPROCESSORS_QUADRATIC, "observation_finite_d"))]
    if "montecarlo" in result:
        lines.append("GOE Monte Carlo at the SE's (sigma^2, zeta, t): " + ", ".join(
            f"{k} {m:.5g} +- {s:.2g}" for k, (m, s) in result["montecarlo"].items()))
    for run, m in result["measured"].items():
        lines.append(f"{run} ({m['message']}):")
        lines.append(f"  {'':14}{'measured':>12}{'s.e.':>10}{'SE':>12}{'rel.gap':>9}{'gap/s.e.':>10}{'bound':>10}  agree")
        for name, r in m["risks"].items():
            lines.append(f"  {name:14}{r['mean']:12.5g}{r['sem']:10.2g}{r['se']:12.5g}{r['relative_gap']:+9.3f}"
                         f"{r['gap_in_sem']:10.2f}{r['bound']:10.2g}  {r['agree']}")
        o = m["observation"]
        lines.append("  Y_u: " + ", ".join(f"{k} {o[k]['mean']:.4f} +- {o[k]['sem']:.4f}" for k in o))
    return "\n".join(lines)
