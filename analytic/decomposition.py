"""The error decomposition on the derived phase diagram: which part of R dominates in each regime.

Per teacher direction (coordinate i of the diagonal network, eigen-direction k of the quadratic teacher) the SE
error splits into bias^2 and variance of what the estimator puts there; a direction is *learned* when its signal
exceeds the threshold. Four parts, summing to R (numeric.decomposition computes them at finite d):

    missed signal   (bias^2 of unlearned directions: the signal a_i^2 left out),
    fitted noise    (variance of unlearned directions: noise that crosses the threshold),
    learned noise   (variance of learned directions: tau^2 each),
    shrinkage bias  (bias^2 of learned directions: zeta^2 each).

With the threshold below the noise every direction passes and carries tau^2, also those whose signal is below the
threshold: there the derivation's "learned noise" (the tau^2 term of every zone) is, in the numeric split, learned
noise + fitted noise (crosscheck.decomposition.NUMERIC_OF).

The dominant balance keeps, per zone of the spectrum, the leading monomial of the channel's error, and names it by
the scales in it (``dominant_balance._label``): a^2 -> missed signal, zeta^2 -> shrinkage bias, tau^2 -> learned
noise; the Gaussian-tail (diagonal) or bulk-edge (quadratic) term of the directions below the threshold -> fitted
noise. So each regime's law comes with its dominant part(s) (one per merged mechanism) and the rates of the
sub-leading parts the balance resolves; parts below the leading order of every zone are not resolved (None).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from .latex import condition_latex, tex
from .phase_diagram import derive

PARTS = ("missed_signal", "fitted_noise", "learned_noise", "shrinkage_bias")
PART_NAMES = {"missed_signal": "missed signal", "fitted_noise": "fitted noise", "learned_noise": "learned noise",
              "shrinkage_bias": "shrinkage bias"}


def part_of(label: str) -> str:
    """The part of R a dominant-balance term belongs to, from the scales its label names (see module doc)."""
    base = label.split(" of ", 1)[1] if label.startswith("edge-law corrections of ") else label
    if base.startswith("fitted noise"):
        return "fitted_noise"
    if "zeta" in base:
        return "shrinkage_bias"
    if "a_i^2" in base:
        return "missed_signal"
    if "tau^2" in base:
        return "learned_noise"
    raise ValueError(f"term {label!r} is not a part of the decomposition")


@dataclass(frozen=True)
class RegimeDecomposition:
    """One regime: its law, the dominant part(s) and, per part, the (log_d, ln d power) of every term the balance
    resolves (the dominant parts carry the regime's law; an empty tuple: below the leading order of every zone)."""

    regime: str
    condition: str
    logd_risk: sp.Expr
    dominant: tuple
    rates: dict  # part -> tuple of (logd, log_power)
    latex: str

    def to_dict(self) -> dict:
        return {"regime": self.regime, "condition": self.condition, "logd_risk": sp.sstr(self.logd_risk),
                "dominant": list(self.dominant),
                "rates": {p: [{"logd": sp.sstr(e), "log_power": sp.sstr(k)} for e, k in r] for p, r in self.rates.items()},
                "latex": self.latex}


def dominant_parts(regime) -> tuple:
    """The parts of R that dominate a derived regime, one per distinct mechanism (in order)."""
    return tuple(dict.fromkeys(part_of(label) for label in regime.dominant))


def _decompose(regime) -> RegimeDecomposition:
    dominant = dominant_parts(regime)
    rates: dict = {p: () for p in PARTS}
    for p in dominant:
        rates[p] = ((regime.logd_risk, regime.log_power),)
    for logd, log_power, label in regime.subleading:
        p = part_of(label)
        if p not in dominant:
            rates[p] += ((logd, log_power),)
    names = r",\ ".join(rf"\text{{{PART_NAMES[p]}}}" for p in dominant)
    return RegimeDecomposition(regime.name, sp.sstr(regime.condition), regime.logd_risk, dominant, rates,
                               rf"R \asymp {tex(regime.rate)}\ \text{{dominated by}}\ {names}\quad \text{{for}}\quad "
                               rf"{condition_latex(regime)}")


def decomposition(model: str = "diagonal", noiseless: bool = False) -> list[RegimeDecomposition]:
    """The decomposition of every regime of the derived phase diagram of ``model``."""
    return [_decompose(r) for r in derive(model, noiseless=noiseless).regimes]


def dominant_parts_at(model: str, ell_value, kappa_value, gamma_value, noiseless: bool = False) -> tuple:
    """(regime name, dominant parts) at a point of the plane; (None, ()) off every regime."""
    diagram = derive(model, noiseless=noiseless)
    regime = diagram.regime_at(ell_value, kappa_value, gamma_value)
    if regime is None:
        return None, ()
    return regime.name, dominant_parts(regime)


def same_form(noiseless: bool = False) -> list[dict]:
    """The claim that the decomposition has the same form for both networks: for every regime name of either
    table, the dominant parts in each (None where the network has no such regime)."""
    tables = {m: {r.regime: r.dominant for r in decomposition(m, noiseless)} for m in ("diagonal", "quadratic")}
    names = list(dict.fromkeys([*tables["diagonal"], *tables["quadratic"]]))
    out = []
    for name in names:
        diag, quad = tables["diagonal"].get(name), tables["quadratic"].get(name)
        verdict = ("same dominant parts" if diag is not None and quad is not None and set(diag) == set(quad) else
                   "different dominant parts" if diag is not None and quad is not None else
                   f"only the {'diagonal' if quad is None else 'quadratic'} network has this regime")
        out.append({"regime": name, "diagonal": None if diag is None else list(diag),
                    "quadratic": None if quad is None else list(quad), "verdict": verdict})
    return out


def decomposition_latex(model: str = "diagonal", noiseless: bool = False) -> str:
    """A booktabs table: regime, law, dominant part(s), resolved rates of the other parts."""
    rows = [r"\begin{tabular}{llll}", r"\toprule", r"regime & $\log_d R$ & dominated by & other parts ($\log_d$) \\",
            r"\midrule"]
    for r in decomposition(model, noiseless):
        others = [rf"{PART_NAMES[p]}: ${tex(e)}$" for p, v in r.rates.items() if p not in r.dominant for e, _ in v]
        rows.append(rf"{r.regime} & ${tex(r.logd_risk)}$ & {', '.join(PART_NAMES[p] for p in r.dominant)} & "
                    rf"{'; '.join(others) if others else '--'} \\")
    rows += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(rows)
