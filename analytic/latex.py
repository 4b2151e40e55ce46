"""LaTeX for derived formulas: one regime's law and region, and the whole table (booktabs)."""

from __future__ import annotations

import sympy as sp

from .symbols import ell, kappa, lam, n_eff

_NAMES = {ell: r"\ell", kappa: r"\kappa", lam: r"\lambda", n_eff: r"n_{\mathrm{eff}}"}


def tex(expr) -> str:
    return sp.latex(expr, symbol_names=_NAMES)


def condition_latex(regime) -> str:
    pieces = []
    for piece in regime.pieces:
        pieces.append(r",\ ".join(tex(sp.StrictGreaterThan(c, 0)) for c in piece))
    text = r"\ \text{or}\ ".join(f"({p})" if len(regime.pieces) > 1 else p for p in pieces)
    return rf"{tex(regime.line)},\ {text}" if regime.line is not None else text


def regime_latex(regime) -> str:
    """R \\asymp rate  for  conditions."""
    return rf"R \asymp {tex(regime.rate)} \quad \text{{for}} \quad {condition_latex(regime)}"


def table_latex(diagram) -> str:
    """A booktabs table: regime, log_d R, rate, region."""
    rows = [
        r"\begin{tabular}{llll}",
        r"\toprule",
        r"regime & $\log_d R$ & $R \asymp$ & region \\",
        r"\midrule",
    ]
    for r in diagram.regimes:
        logd = tex(r.logd_risk) + (rf" \ (\times (\ln d)^{{{tex(r.log_power)}}})" if r.log_power != 0 else "")
        rows.append(rf"{r.name} & ${logd}$ & ${tex(r.rate)}$ & ${condition_latex(r)}$ \\")
    rows += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(rows)
