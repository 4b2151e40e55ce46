"""Gaussian integrals of the soft-threshold state evolution, in stable float64.

Z ~ N(0, 1), Q(w) = P(Z > w), phi the density, eta(y; zeta) = sign(y)(|y| - zeta)_+.

Tail moments J_k(w) = E[(Z - w)^k 1{Z > w}] = phi(w) r_k(w), r_k(w) = int_0^inf s^k e^{-ws - s^2/2} ds:
    J0 = Q(w),  J1 = phi(w) - w Q(w),  J2 = (1 + w^2) Q(w) - w phi(w).
For w >= SWITCH these closed forms cancel (J2 ~ 2 phi(w)/w^3 while each term is ~ w phi(w)), so
r_k is taken from Laplace's continued fraction 1/r0 = w + 1/(w + 2/(w + 3/(w + ...))): with the
tails K_m = w + m/K_{m+1},  r0 = 1/K1,  r1 = r0/K2,  r2 = 2 r1/K3  (all terms positive). The
fraction is truncated at depth N with K_{N+1} set to the fixed point of K = w + (N+1)/K.

Underflow: phi(w) = 0 in float64 for |w| > 38.6. Every sum built from these functions (the
state-evolution sums of MSE and P) is compared with tau^2 or with 1, and each dropped term is
below 1e-300 of tau^2 (resp. of 1), so the underflowed terms are negligible there; the scaled
moments r_k (``scaled=True``) carry the full information for w >= 0 without underflow.

The ``*_mp`` functions are the independent high-precision counterpart: no stable rewriting, only
the textbook closed forms evaluated with mpmath.erfc / mpmath.exp at a working precision raised by
``guard_digits`` to absorb their cancellation (callers set it with ``mpmath.workdps``; arguments
are mpf). mpmath's exponent range has no underflow: deep tails (phi(40) ~ 1e-348) are carried.
    Q(x) = erfc(x/sqrt 2)/2,  phi(x) = exp(-x^2/2)/sqrt(2 pi),
    T(w, c) = E[(Z - c)^2 1{Z > w}] = (1 + c^2) Q(w) + (w - 2c) phi(w).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
from scipy.special import erfcx, gammainc, ndtr

# Closed forms are used below SWITCH. Measured against mpmath (60 digits) on a grid of step 1e-3:
# their worst relative error grows like w^4 through the cancellation in J2 (amplifying ndtr's own
# rounding): 2.1e-14 near w = 1.97, 7e-14 at w = 3, 9e-13 at w = 5. Hence the switch at 1.5.
SWITCH = 1.5

# (lower end of a range of w, continued-fraction depth used on it). Each depth is the smallest
# that reached 4.5e-16 relative error for r0, r1 and r2 at the lower end (measured against
# mpmath: 122 at w = 1.5, 77 at 2, 56 at 2.5, 43 at 3, 29 at 4, 19 at 6, 12 at 10, 8 at 20), plus
# a margin of 2-3 levels. The truncation error decreases with w, so the lower end is the worst case.
_CF_DEPTHS = ((1.5, 125), (2.0, 80), (2.5, 59), (3.0, 46), (4.0, 32), (6.0, 21), (10.0, 14), (20.0, 10))

# scipy's ndtr(-w) loses ~w^2 ulp in the upper tail (relative error 2e-15 at w = 5, 1.1e-13 at
# w = 36, measured against mpmath); above TAIL_SWITCH, Q(w) = phi(w) sqrt(pi/2) erfcx(w/sqrt 2)
# (both factors accurate to ~1 ulp while phi(w) is a normal float, w < 37.5).
TAIL_SWITCH = 5.0

_SQRT_2PI = math.sqrt(2.0 * math.pi)


def normal_density(w):
    """phi(w) = exp(-w^2/2) / sqrt(2 pi).

    w^2 is split as h^2 + (w - h)(w + h) with h = w clipped to [-40, 40] (phi underflows beyond)
    and rounded to 12 fractional bits, so h^2 is exact and the rounding error of w^2/2 (a relative
    error of up to w^2/2 ulp in phi, 4e-14 at w = 34) is avoided.
    """
    w = np.asarray(w, dtype=float)
    h = np.round(np.clip(w, -40.0, 40.0) * 4096.0) / 4096.0
    with np.errstate(over="ignore"):  # (w - h)(w + h) = inf for |w| > 1e154: exp(-inf) = 0 is right
        return np.exp(-0.5 * h * h) * np.exp(-0.5 * (w - h) * (w + h)) / _SQRT_2PI


def normal_tail(w):
    """Q(w) = P(Z > w), relative accuracy ~1e-15 (see TAIL_SWITCH)."""
    w = np.asarray(w, dtype=float)
    out = np.array(ndtr(-w))
    deep = w > TAIL_SWITCH
    x = w[deep]
    out[deep] = normal_density(x) * math.sqrt(0.5 * math.pi) * erfcx(x / math.sqrt(2.0))
    return out


def _scaled_moments_cf(w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(r0, r1, r2) from the continued fraction, for w >= SWITCH."""
    k1, k2, k3 = (np.empty_like(w) for _ in range(3))
    edges = [lo for lo, _ in _CF_DEPTHS[1:]] + [np.inf]
    for (lo, depth), hi in zip(_CF_DEPTHS, edges):
        sel = (w >= lo) & (w < hi)
        x = w[sel]
        tail = 0.5 * x * (1.0 + np.sqrt(1.0 + 4.0 * (depth + 1) / x / x))  # K_{depth+1}, module docstring
        for m in range(depth, 0, -1):
            tail = x + m / tail
            if m == 3:
                k3[sel] = tail
            elif m == 2:
                k2[sel] = tail
        k1[sel] = tail
    r0 = 1.0 / k1
    r1 = r0 / k2
    return r0, r1, 2.0 * r1 / k3


def tail_moments(w, *, scaled: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(J0, J1, J2)(w) = E[(Z - w)^k 1{Z > w}], or r_k = J_k / phi(w) when ``scaled``.

    Relative accuracy ~1e-14 for w in [-40, 1e4] (unscaled: wherever J_k does not underflow;
    scaled: finite for w > -37). See the module docstring for the scheme.
    """
    w = np.asarray(w, dtype=float)
    low = w < SWITCH
    wl = w[low]
    q, p = normal_tail(wl), normal_density(wl)
    closed = (q, p - wl * q, (1.0 + wl * wl) * q - wl * p)
    high = w[~low]
    cf = _scaled_moments_cf(high)
    out = []
    for jl, rh in zip(closed, cf):
        m = np.empty_like(w)
        with np.errstate(divide="ignore", over="ignore"):  # scaled: inf where phi underflows, as documented
            m[low] = jl / p if scaled else jl
        m[~low] = rh if scaled else rh * normal_density(high)
        out.append(m)
    return tuple(out)


def _tail_square(w: np.ndarray, c: float) -> np.ndarray:
    """T(w, c) = E[(Z - c)^2 1{Z > w}].

    w >= 0: phi(w) [r2 + 2(w - c) r1 + (w - c)^2 r0] (stable moments);
    w < 0:  (1 + c^2) Q(w) + (w - 2c) phi(w)        (no cancellation: Q(w) >= 1/2 there).
    """
    out = np.empty_like(w)
    neg = w < 0
    wn = w[neg]
    out[neg] = (1.0 + c * c) * normal_tail(wn) + (wn - 2.0 * c) * normal_density(wn)
    wp = w[~neg]
    r0, r1, r2 = tail_moments(wp, scaled=True)
    s = wp - c
    out[~neg] = normal_density(wp) * (r2 + 2.0 * s * r1 + s * s * r0)
    return out


def _standardise(a, tau: float, zeta: float) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """b = |a|/tau, c = zeta/tau, u = c - b, v = c + b."""
    b = np.abs(np.asarray(a, dtype=float)) / tau
    c = zeta / tau
    return b, c, c - b, c + b


def thresholded_mse(a, tau: float, threshold: float, shrink: float) -> np.ndarray:
    """E[(g(a + tau Z) - a)^2] for g(Y) = (Y - shrink sign Y) 1{|Y| > threshold}, threshold >= shrink >= 0:
        tau^2 [T(u, s) + T(v, s)] + a^2 (Q(-u) - Q(v)),   b = |a|/tau, s = shrink/tau, u = threshold/tau - b,
    v = threshold/tau + b, T(w, s) = E[(Z - s)^2 1{Z > w}] (``_tail_square``, tail-stable).

    (The event Y > threshold is Z > u, with error tau (Z - s); Y < -threshold is -Z > v, by symmetry the same
    with v; inside, the error is -a.) Vectorised over a; threshold = shrink is the soft-threshold MSE.
    """
    b = np.abs(np.asarray(a, dtype=float)) / tau
    c, s = threshold / tau, shrink / tau
    u, v = c - b, c + b
    return tau * tau * (_tail_square(u, s) + _tail_square(v, s) + b * b * (normal_tail(-u) - normal_tail(v)))


def soft_threshold_mse(a, tau: float, zeta: float) -> np.ndarray:
    """E[(eta(a + tau Z; zeta) - a)^2] = tau^2 [T(u, c) + T(v, c)] + a^2 (Phi(u) - Phi(-v)), c = zeta/tau,
    with Phi(u) - Phi(-v) = Q(-u) - Q(v): ``thresholded_mse`` with threshold = shrink = zeta.

    Vectorised over the magnitudes a (signs do not matter); tau > 0, zeta >= 0.
    """
    return thresholded_mse(a, tau, zeta, zeta)


def active_probability(a, tau: float, zeta: float) -> np.ndarray:
    """P(|a + tau Z| > zeta) = Q(u) + Q(v)."""
    _, _, u, v = _standardise(a, tau, zeta)
    return normal_tail(u) + normal_tail(v)


def gaussian_teacher_mse(sigma, tau: float, zeta: float) -> np.ndarray:
    """E[(eta(y; zeta) - a)^2] for a ~ N(0, sigma^2), y = a + tau Z, vectorised over sigma.

    With s^2 = sigma^2 + tau^2, w = zeta/s and W = y/s ~ N(0, 1), splitting eta(y) - a into
    (eta(y) - E[a|y]) + (E[a|y] - a), E[a|y] = (sigma^2/s^2) y:
        MSE = (sigma^4/s^2) E[W^2 1{|W| <= w}]
              + (2/s^2) [tau^4 J2(w) - 2 sigma^2 tau^2 w J1(w) + sigma^4 w^2 J0(w)]
              + sigma^2 tau^2 / s^2,
    with E[W^2 1{|W| <= w}] = P(chi^2_3 <= w^2) (regularised lower gamma(3/2, w^2/2), no
    cancellation at small w) and the stable tail moments J_k.
    """
    s2 = np.asarray(sigma, dtype=float) ** 2
    t2 = tau * tau
    y2 = s2 + t2
    w = zeta / np.sqrt(y2)
    j0, j1, j2 = tail_moments(w)
    inner = gammainc(1.5, 0.5 * w * w)
    tails = t2 * t2 * j2 - 2.0 * s2 * t2 * w * j1 + s2 * s2 * w * w * j0
    return (s2 * s2 * inner + 2.0 * tails + s2 * t2) / y2


def gaussian_teacher_active_probability(sigma, tau: float, zeta: float) -> np.ndarray:
    """P(|y| > zeta) = 2 Q(zeta / sqrt(sigma^2 + tau^2)) for a ~ N(0, sigma^2)."""
    s2 = np.asarray(sigma, dtype=float) ** 2
    return 2.0 * normal_tail(zeta / np.sqrt(s2 + tau * tau))


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


def _q_mp(x):
    return mpmath.erfc(x / mpmath.sqrt(2)) / 2


def _phi_mp(x):
    return mpmath.exp(-x * x / 2) / mpmath.sqrt(2 * mpmath.pi)


def soft_threshold_terms_mp(a, tau, zeta):
    """(MSE, P) for a fixed magnitude a >= 0:
    MSE = tau^2 [T(u, c) + T(v, c)] + a^2 (Phi(u) - Q(v)),  P = Q(u) + Q(v),
    with c = zeta/tau, u = c - a/tau, v = c + a/tau; Q(u) and Phi(u) = 1 - Q(u) both come from
    Q(|u|) <= 1/2 (the other one is 1 - Q(|u|) in [1/2, 1], without cancellation).
    """
    c = zeta / tau
    b = a / tau
    u, v = c - b, c + b
    q_abs, qv = _q_mp(abs(u)), _q_mp(v)
    qu, big_phi_u = (q_abs, 1 - q_abs) if u >= 0 else (1 - q_abs, q_abs)
    t_u = (1 + c * c) * qu + (u - 2 * c) * _phi_mp(u)
    t_v = (1 + c * c) * qv + (v - 2 * c) * _phi_mp(v)
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
    q, p = _q_mp(w), _phi_mp(w)
    inner = 1 - 2 * q - 2 * w * p
    outer = (1 - k) ** 2 * (q + w * p) - 2 * (1 - k) * w * p + w * w * q
    return k * k * s2 * inner + 2 * s2 * outer + sigma * sigma * tau * tau / s2, 2 * q
