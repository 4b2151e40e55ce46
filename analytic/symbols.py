"""The symbols shared by every derivation in ``analytic``.

Scaling variables (method.md): n_eff = d^ell, lam = d^kappa; gamma is the teacher decay.
Scalar channel: a (signal component), tau (effective noise), zeta (threshold / regularisation).
"""

import sympy as sp

ell, kappa = sp.symbols("ell kappa", real=True)
gamma = sp.Symbol("gamma", positive=True)
n, d, lam, Delta = sp.symbols("n d lam Delta", positive=True)
n_eff = sp.Symbol("n_eff", positive=True)  # n/d, the quadratic network's effective sample size
a, tau, zeta = sp.symbols("a tau zeta", positive=True)
theta, w = sp.symbols("theta w", real=True)
i = sp.Symbol("i", positive=True, integer=True)

# gamma > 1/2 is used in sign decisions as gamma = 1/2 + gamma_excess with gamma_excess > 0.
gamma_excess = sp.Symbol("gamma_excess", positive=True)
GAMMA_DOMAIN = {gamma: sp.Rational(1, 2) + gamma_excess}
