"""Weight decay on a diagonal network is an l1 penalty on theta = a * w.

    min over (a, w) with a w = theta of (a^2 + w^2)/2  =  |theta|,   attained at |a| = |w| = sqrt|theta|,

so  1/2 sum_mu (y_mu - f(x_mu; a, w))^2 + (lam/2)(||a||^2 + ||w||^2)  has the minimisers of the LASSO
1/2 sum_mu (y_mu - theta.x_mu/sqrt(d))^2 + lam ||theta||_1.  The rescaling to state-evolution units,
theta = sqrt(d/n) x0, turns a degree-q penalty lam P(theta) into lam (d/n)^{q/2} P(x0).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from .symbols import d, lam, n, theta


@dataclass(frozen=True)
class PenaltyEquivalence:
    """The effective penalty on theta and the balanced factorisation that attains it."""

    penalty: sp.Expr  # P(theta) with min{(a^2+w^2)/2 : a w = theta} = P(theta)
    minimiser_a: sp.Expr  # |a| at the optimum, as a function of |theta|
    second_derivative: sp.Expr  # d^2/da^2 of the reduced objective at the minimiser (> 0)


def weight_decay_equivalence() -> PenaltyEquivalence:
    """Derive min_{a w = theta} (a^2 + w^2)/2 by eliminating w = theta / a and minimising over a > 0."""
    t = sp.Symbol("t", positive=True)  # |theta|; the sign is carried by a or w
    ap = sp.Symbol("a_abs", positive=True)
    reduced = (ap**2 + (t / ap) ** 2) / 2
    critical = [c for c in sp.solve(sp.diff(reduced, ap), ap) if c.is_positive]
    if len(critical) != 1:
        raise ArithmeticError(f"expected one positive critical point, found {critical}")
    a_star = critical[0]
    value = sp.simplify(reduced.subs(ap, a_star))
    curvature = sp.simplify(sp.diff(reduced, ap, 2).subs(ap, a_star))
    return PenaltyEquivalence(
        penalty=value.subs(t, sp.Abs(theta)),
        minimiser_a=a_star.subs(t, sp.Abs(theta)),
        second_derivative=curvature.subs(t, sp.Abs(theta)),
    )


def penalty_calibration(penalty: sp.Expr) -> sp.Expr:
    """Effective state-evolution penalty A with lam P(theta) = A P(x0) when theta = sqrt(d/n) x0."""
    x0 = sp.Symbol("x0", positive=True)
    ratio = sp.simplify(lam * penalty.subs(theta, sp.sqrt(d / n) * x0) / penalty.subs(theta, x0))
    if ratio.has(x0):
        raise ValueError(f"penalty {penalty} is not homogeneous")
    return ratio


def trace_norm_equivalence(p: int = 3, dim: int = 2) -> dict:
    """Weight decay on a quadratic network is a trace penalty on S = W^T W (spec/quadratic.md).

    For W in R^{p x dim} with rows w_j:  ||W||_F^2 = Tr(W^T W)  and
    sum_j ((w_j . x)^2 - ||w_j||^2) = x^T S x - Tr S,  so lam ||W||_F^2 = lam Tr S = lam ||S||_*
    on the PSD cone (which every S is on, and which p >= dim covers). Returned: the residuals of the
    two identities for a symbolic W of the given shape (each simplifies to 0) and S itself.
    """
    W = sp.Matrix(p, dim, lambda r, c: sp.Symbol(f"w_{r}{c}", real=True))
    x = sp.Matrix(dim, 1, lambda r, _: sp.Symbol(f"x_{r}", real=True))
    S = W.T * W
    frobenius = sum(v**2 for v in W)
    network = sum((W[r, :] * x)[0] ** 2 - sum(W[r, c] ** 2 for c in range(dim)) for r in range(p))
    return {
        "S": S,
        "penalty_residual": sp.expand(frobenius - S.trace()),
        "feature_residual": sp.expand(network - ((x.T * S * x)[0] - S.trace())),
        "symmetric_psd_factor": sp.simplify(S - S.T) == sp.zeros(dim, dim),
    }
