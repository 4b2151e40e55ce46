"""Second moments of the quadratic-network design A = (x x^T - I)/sqrt(d), x ~ N(0, I_d).

    E <A, S> <A, S'> = (2/d) <S, S'>_F   for symmetric S, S',

derived here for symbolic symmetric S, S' by taking the Gaussian expectation of the polynomial
(x^T S x - Tr S)(x^T S' x - Tr S') / d term by term with Isserlis' theorem for independent
coordinates, E prod_i x_i^{k_i} = prod_i (k_i - 1)!! (0 if some k_i is odd).
"""

from __future__ import annotations

import sympy as sp


def gaussian_expectation(poly: sp.Expr, xs) -> sp.Expr:
    """E[poly(x)] for x ~ N(0, I): Isserlis / Wick on every monomial."""
    out = sp.Integer(0)
    for powers, coeff in sp.Poly(sp.expand(poly), *xs).terms():
        moment = sp.Integer(1)
        for k in powers:
            moment *= 0 if k % 2 else sp.factorial2(k - 1)
        out += coeff * moment
    return sp.expand(out)


def symmetric_matrix(name: str, dim: int) -> sp.Matrix:
    return sp.Matrix(dim, dim, lambda r, c: sp.Symbol(f"{name}_{min(r, c)}{max(r, c)}", real=True))


def design_covariance(dim: int) -> tuple[sp.Expr, sp.Expr]:
    """(E <A,S><A,S'>, <S,S'>_F) for symbolic symmetric S, S' of size dim."""
    xs = sp.symbols(f"x0:{dim}", real=True)
    x = sp.Matrix(xs)
    S, T = symmetric_matrix("S", dim), symmetric_matrix("T", dim)
    feature = lambda M: (x.T * M * x)[0] - M.trace()  # noqa: E731 - sqrt(d) <A, M>
    second_moment = gaussian_expectation(feature(S) * feature(T), xs) / dim
    return sp.expand(second_moment), sp.expand(sum(S[r, c] * T[r, c] for r in range(dim) for c in range(dim)))
