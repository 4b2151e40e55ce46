"""Gaussian integrals of the soft-threshold state evolution in mpmath, by the plain closed forms.

This is the independent high-precision counterpart of ``numeric.gaussian``: no stable rewriting,
only the textbook formulas evaluated with mpmath.erfc / mpmath.exp at a working precision raised
by ``guard_digits`` to absorb their cancellation. mpmath's exponent range has no underflow, so
deep Gaussian tails (phi(40) ~ 1e-348 and far beyond) are carried exactly.

Callers set the working precision (``mpmath.workdps``); arguments are mpf.
    Q(x) = erfc(x/sqrt 2)/2,  phi(x) = exp(-x^2/2)/sqrt(2 pi),
    T(w, c) = E[(Z - c)^2 1{Z > w}] = (1 + c^2) Q(w) + (w - 2c) phi(w).
"""

from __future__ import annotations

import math

import mpmath


def guard_digits(large: float, small: float = 1.0) -> int:
    """Extra decimal digits for the closed forms: 10 + 4 log10(large) + 3 log10(1/small).

    ``large`` bounds the standardised threshold c = zeta/tau (and w = zeta/s): at w ~ c the terms
    of T(w, c) are ~ c phi(c) while T ~ 2 phi(c)/c^3, a cancellation of c^4/2 (4 log10 c digits; it
    does not grow with b = |a|/tau, where the terms stay comparable to T). ``small`` bounds w = zeta/s
    from below for the Gaussian teacher, where 1 - 2Q(w) - 2 w phi(w) ~ 0.53 w^3 loses 3 log10(1/w)
    digits. The 10 further digits cover the sums and the Newton solve.
    """
    lost = 4.0 * math.log10(max(large, 1.0)) + 3.0 * math.log10(max(1.0 / small, 1.0))
    return 10 + math.ceil(lost)


def _q(x):
    return mpmath.erfc(x / mpmath.sqrt(2)) / 2


def _phi(x):
    return mpmath.exp(-x * x / 2) / mpmath.sqrt(2 * mpmath.pi)


def soft_threshold_terms_mp(a, tau, zeta):
    """(MSE, P) for a fixed magnitude a >= 0:
    MSE = tau^2 [T(u, c) + T(v, c)] + a^2 (Phi(u) - Q(v)),  P = Q(u) + Q(v),
    with c = zeta/tau, u = c - a/tau, v = c + a/tau and Phi(u) = 1 - Q(u) (u >= 0) or Q(-u) (u < 0).
    """
    c = zeta / tau
    b = a / tau
    u, v = c - b, c + b
    qu, qv = _q(u), _q(v)
    big_phi_u = 1 - qu if u >= 0 else _q(-u)
    t_u = (1 + c * c) * qu + (u - 2 * c) * _phi(u)
    t_v = (1 + c * c) * qv + (v - 2 * c) * _phi(v)
    return tau * tau * (t_u + t_v) + a * a * (big_phi_u - qv), qu + qv


def gaussian_teacher_terms_mp(sigma, tau, zeta):
    """(MSE, P) for a ~ N(0, sigma^2): with s^2 = sigma^2 + tau^2, k = sigma^2/s^2, w = zeta/s,
    MSE = k^2 s^2 [1 - 2Q(w) - 2 w phi(w)]
          + 2 s^2 [(1 - k)^2 (Q(w) + w phi(w)) - 2 (1 - k) w phi(w) + w^2 Q(w)] + sigma^2 tau^2 / s^2,
    P = 2 Q(w).  (The first bracket is E[W^2 1{|W| <= w}], the second E[((1-k)W - w)^2 1{W > w}].)
    """
    s2 = sigma * sigma + tau * tau
    k = sigma * sigma / s2
    w = zeta / mpmath.sqrt(s2)
    q, p = _q(w), _phi(w)
    inner = 1 - 2 * q - 2 * w * p
    outer = (1 - k) ** 2 * (q + w * p) - 2 * (1 - k) * w * p + w * w * q
    return k * k * s2 * inner + 2 * s2 * outer + sigma * sigma * tau * tau / s2, 2 * q
