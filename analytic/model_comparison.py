"""Is the quadratic network's phase diagram the diagonal one with n -> n_eff = n/d? (spec/quadratic.md)

The correspondence of variables is derived, not assumed: both SE are channels with a noise scale
(tau for LASSO, sigma = tau/(2 sqrt(alpha)) for the matrix), a threshold scale A set by the penalty and
a teacher. Matching the two dimensionless ratios that drive every balance,

    (threshold scale) / (noise scale)   and   (largest teacher component) / (noise scale),

as powers of d gives ell_quadratic = ell_diagonal (n -> n_eff) and a shift kappa_quadratic =
kappa_diagonal + c, i.e. lam -> lam d^-c. The derived tables are then compared on a grid of
(ell, kappa, gamma): same law, same exponent with different log factors, or a different exponent.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy as sp

from .dominant_balance import (
    matrix_model,
    matrix_noise_shift,
    power_law_teacher,
    scalar_model,
)
from .phase_diagram import derive
from .state_evolution import channel
from .symbols import d, kappa, n


@lru_cache(maxsize=None)
def kappa_shift() -> sp.Expr:
    """c with kappa_quadratic = kappa_diagonal + c, from equal threshold-to-noise ratios; also checks
    that the teacher-to-noise ratios agree (else there is no correspondence at all)."""
    k_d, k_q = sp.symbols("kappa_d kappa_q", real=True)
    diag, quad = scalar_model(channel("l1")), matrix_model()
    lhs = diag.calibration.subs(kappa, k_d)  # LASSO noise scale tau ~ d^0
    rhs = quad.calibration.subs(kappa, k_q) - matrix_noise_shift()
    (k_q_of_k_d,) = sp.solve(sp.Eq(lhs, rhs), k_q)
    top = lambda norm2, shift: power_law_teacher(norm2)[0].alpha0 - shift  # noqa: E731
    if sp.simplify(top(n, 0) - top(d, matrix_noise_shift())) != 0:
        raise ArithmeticError("teacher-to-noise ratios differ: no n -> n_eff correspondence")
    shift = sp.simplify(k_q_of_k_d - k_d)
    if shift.free_symbols:
        raise ArithmeticError(f"the kappa correspondence is not a shift: {k_q_of_k_d}")
    return shift


@dataclass(frozen=True)
class Pairing:
    """Grid points where the diagonal regime ``diagonal`` meets the quadratic regime ``quadratic``."""

    diagonal: str
    quadratic: str
    diagonal_rate: str
    quadratic_rate: str
    points: int
    max_exponent_gap: float  # max |e_quadratic - e_diagonal| over the points
    same_logs: bool

    @property
    def verdict(self) -> str:
        if self.max_exponent_gap > 1e-9:
            return "different exponent"
        return "same law" if self.same_logs else "same exponent, different log factors"

    def to_dict(self) -> dict:
        return {**self.__dict__, "verdict": self.verdict}


def compare_tables(noiseless: bool = False, gammas=(0.75, 1.0, 1.5, 3.0), ells=None, kappas=None) -> list[Pairing]:
    """Evaluate both derived diagrams on a grid (quadratic coordinates; the diagonal one at kappa - c); the default
    grid includes the interpolation line ell = 1, where both tables have their peak laws."""
    ells = np.append(np.linspace(0.05, 2.95, 30), 1.0) if ells is None else ells
    kappas = np.linspace(-1.95, 3.95, 31) if kappas is None else kappas
    quad, diag = derive("quadratic", noiseless=noiseless), derive("diagonal", noiseless=noiseless)
    shift = float(kappa_shift())
    groups: dict = {}
    logs: dict = {}
    for g in gammas:
        for l in ells:
            for k in kappas:
                rq, rd = quad.regime_at(l, k, g), diag.regime_at(l, k - shift, g)
                if rq is None or rd is None:
                    continue  # on a boundary of either table
                gap = abs(rq.exponent_at(l, k, g) - rd.exponent_at(l, k - shift, g))
                key = (rd.name, rq.name)
                if (rd, rq) not in logs:
                    logs[(rd, rq)] = sp.simplify(rq.log_power - rd.log_power) == 0
                same_logs = logs[(rd, rq)]
                prev = groups.get(key)
                groups[key] = Pairing(rd.name, rq.name, sp.sstr(rd.rate), sp.sstr(rq.rate),
                                      1 + (prev.points if prev else 0), max(gap, prev.max_exponent_gap if prev else 0.0),
                                      same_logs and (prev.same_logs if prev else True))
    return sorted(groups.values(), key=lambda p: (-p.points, p.diagonal, p.quadratic))


def comparison_markdown(noiseless: bool = False) -> str:
    """The comparison as a Markdown table (README / report)."""
    c = kappa_shift()
    rows = [f"Correspondence derived from the SE: n -> n_eff = n/d, lam -> lam d^(-{c}) "
            f"(kappa_quadratic = kappa_diagonal + {c}). {'Delta = 0' if noiseless else 'Delta > 0'}.", "",
            "| diagonal regime | quadratic regime | diagonal law (n, lam) | quadratic law (n_eff, lam) | grid points | verdict |",
            "|---|---|---|---|---|---|"]
    for p in compare_tables(noiseless):
        rows.append(f"| {p.diagonal} | {p.quadratic} | {p.diagonal_rate} | {p.quadratic_rate} | {p.points} | "
                    f"{p.verdict}{'' if p.verdict == 'same law' else f' (max gap {p.max_exponent_gap:.3g})'} |")
    return "\n".join(rows)
