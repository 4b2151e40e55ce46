"""``scalinglab optimal``: lam_opt and R(lam_opt) from the SE (numeric.optimal) beside the derived optimum of the
phase diagram at the same ell (analytic.optimal), and the Bayes-optimal risk.

The derived optimum gives log_d R(lam_opt) and the range of kappa = log_d lam where it is reached (one kappa, or a
range on which the exponent is flat in lam); the SE minimiser's log_d lam_opt and log_d R at this d are printed
next to them. They differ by log factors at finite d (e.g. lam_opt ~ sqrt(n/d) (ln d)^(1/2) at n << d): the
exponents are compared over decades of d by ``optimal_scaling``, not at one point.
"""

from __future__ import annotations

import math

import sympy as sp

from .models import SAMPLE_SHIFT


def run_optimal(model: str, d, n, gamma, noise, *, rtol: float = 1e-3) -> dict:
    from analytic.optimal import optimal_weight_decay, optimum_at
    from analytic.symbols import ell as ELL
    from numeric.optimal import optimal_lambda

    res = optimal_lambda(model, d, n, gamma, noise, rtol=rtol)
    out = {"model": model, **res.to_dict()}
    if not (res.d > 1 and res.n > 0):
        return out | {"derived": None}
    ell_value = math.log(res.n) / math.log(res.d) - SAMPLE_SHIFT[model]
    try:
        piece = optimum_at(optimal_weight_decay(model, sp.nsimplify(gamma, rational=True), noiseless=noise == 0),
                           ell_value)
    except ValueError as exc:  # ell on a breakpoint of the table, or ell <= 0
        return out | {"derived": {"message": str(exc)}}
    at = {ELL: ell_value}
    kappa = [None if k is None else float(k.subs(at)) for k in (piece.kappa_low, piece.kappa_high)]
    log_risk = -math.inf if piece.logd_risk == -sp.oo else float(piece.logd_risk.subs(at))
    measured = {"log_d_lam_opt": math.log(res.lam_opt) / math.log(res.d) if res.lam_opt > 0 else None,
                "log_d_risk": math.log(res.risk) / math.log(res.d) if res.risk > 0 else None}
    return out | {"derived": {"ell": ell_value, **piece.to_dict(), "kappa_opt_here": kappa, "logd_risk_here": log_risk},
                  "measured_exponents_at_this_d": measured}


def format_optimal(out: dict) -> str:
    lines = [f"{out['model']} network, d = {out['d']}, n = {out['n']:g}, gamma = {out['gamma']:g}, Delta = {out['noise']:g}",
             f"lam_opt = {out['lam_opt']:.6g}, R(lam_opt) = {out['risk']:.6g}, Bayes-optimal R = {out['risk_bayes']:.6g} "
             f"(ratio {out['ratio']:.4g}); {out['message']}"]
    derived = out.get("derived")
    if derived and "logd_risk" in derived:
        k_low, k_high = derived["kappa_opt_here"]
        span = (f"kappa = {k_low:.4f}" if k_low == k_high and k_low is not None else
                f"kappa in ({'-oo' if k_low is None else f'{k_low:.4f}'}, {'oo' if k_high is None else f'{k_high:.4f}'})")
        m = out["measured_exponents_at_this_d"]
        lines.append(f"derived at ell = {derived['ell']:.4f}: log_d R(lam_opt) = {derived['logd_risk']} = "
                     f"{derived['logd_risk_here']:.4f}, reached for {span} ({', '.join(derived['regimes'])}); here "
                     f"log_d lam_opt = {m['log_d_lam_opt'] if m['log_d_lam_opt'] is None else round(m['log_d_lam_opt'], 4)}"
                     f", log_d R = {m['log_d_risk'] if m['log_d_risk'] is None else round(m['log_d_risk'], 4)} "
                     "(log factors shift both at finite d)")
    elif derived:
        lines.append(f"derived: {derived['message']}")
    return "\n".join(lines)
