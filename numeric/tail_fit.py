"""Power-law tail fits of learned spectra after Clauset, Shalizi & Newman, SIAM Rev. 51, 661 (2009) ("CSN").

Model: p(x) = (a - 1)/xmin (x/xmin)^(-a) for x >= xmin (continuous, CSN eq. 2.2).

* MLE for a given xmin (CSN eq. 3.1): a_hat = 1 + n_tail / sum_{x_i >= xmin} ln(x_i/xmin), with the asymptotic
  standard error (a_hat - 1)/sqrt(n_tail) (CSN eq. 3.2). Because sum ln(x_i/xmin) ~ Gamma(n_tail, a - 1),
  E[a_hat] - 1 = (a - 1) n_tail/(n_tail - 1); the unbiased 1 + (n_tail - 1)/sum is NOT used (the bias is
  1/(n_tail - 1) of a - 1, i.e. <= 2 % for n_tail >= 50, well inside the standard error 1/sqrt(n_tail)).
* xmin (CSN §3.3): the candidate minimising the Kolmogorov-Smirnov distance
  D = sup_{x >= xmin} |S_n(x) - P(x)| between the empirical CDF of the tail and the fitted power law.
  Candidates are the distinct data values leaving >= ``min_tail`` points in the tail (a KS minimum over tails
  of a handful of points is meaningless: D of a 5-point tail is dominated by noise ~ 1/sqrt(5) and the scan
  would drift into the extreme tail, so a tail must hold enough points for D ~ 1/sqrt(n_tail) to discriminate).
  Even the default 50 lets the scan settle on the far tail of a light-tailed law, where it is locally a steep
  power law (exponential, n = 3000: xmin at the top 5-10 %, a ~ 5, gof p = 0.24/0.04/0.78 for three seeds); to
  ask whether a fixed fraction of the spectrum is a power law, raise min_tail (n/4 rejects the exponential).
  Above ``max_candidates`` distinct values only a rank-quantile grid of that many candidates is scanned.
  The scan is vectorised: suffix sums of ln x give every candidate's MLE in O(n), the KS distance costs
  O(n_tail) per candidate, so O(n^2/2) exponentials per scan (~0.2 s at n = 1e4 on one core; a whole fit with
  bootstrap = gof_sets = 200 does 401 scans: ~3 s at n = 1e3, ~80 s at n = 1e4).
* Uncertainty: nonparametric bootstrap of the whole procedure (resample the positive data with replacement,
  re-select xmin, refit): standard deviation and 2.5/97.5 % percentiles of the exponent and of xmin. Quote these:
  the asymptotic error is conditional on xmin and, with xmin selected by the scan, understates the error of the
  whole procedure by ~20 % (pure power law, n = 2000, 300 seeds: std of (a_hat - a)/se = 1.21, 89 % coverage of
  +-1.96 se; see tests/test_tail_fit.py).
* Goodness of fit (CSN §4.1): semi-parametric bootstrap. Each synthetic set has n_tail' ~ Binomial(n, n_tail/n)
  points drawn from the fitted power law and n - n_tail' resampled from the data below xmin; each is refitted
  with its own xmin selection, p = fraction of synthetic sets with D >= the observed D. CSN: p >= 0.1 means the
  power law is plausible. The p-value itself has Monte-Carlo resolution ~ sqrt(p(1-p)/gof_sets) <= 1/(2 sqrt
  gof_sets) (0.035 for 200 sets), so p within ~0.07 of 0.1 is borderline. For a pure power law the p-value is
  conservative (median ~0.7 over 30 seeds, n = 1000, not uniform): false rejections are rarer than p suggests.
* Likelihood ratio vs an exponential tail p(x) = lam exp(-lam (x - xmin)) on the same tail (CSN §5, App. C):
  R = sum_i [ln p_pl(x_i) - ln p_exp(x_i)], Vuong's normalised ratio R/(sigma sqrt(n_tail)) (sigma: standard
  deviation of the pointwise differences) and its two-sided p = erfc(|ratio|/sqrt 2); ratio > 0 favours the
  power law, and the sign is meaningful only when p is small (CSN use p < 0.1).

Learned spectra carry an atom at 0 (thresholded components): non-positive values are dropped before fitting
and counted in ``n_zero``.

Rank-ordered values s_k ~ k^(-gamma) (k = 1..N) have a counting survival function #{s_k >= s} ~ s^(-1/gamma),
i.e. a density tail ~ s^(-(1 + 1/gamma)): ``rank_exponent_to_density_exponent`` and its inverse convert.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import erfc

# CSN's plausibility threshold for the goodness-of-fit p-value (and for the likelihood-ratio p-value).
PLAUSIBLE_P = 0.1
# Elements per block of the vectorised KS scan (candidates x tail points): 2^16 float64 = 512 kB per temporary,
# small enough to stay in cache (2^20 was no faster).
_KS_BLOCK = 1 << 16


def rank_exponent_to_density_exponent(gamma: float) -> float:
    """a = 1 + 1/gamma: s_k ~ k^(-gamma) <=> P(S > s) ~ s^(-1/gamma) <=> p(s) ~ s^(-(1 + 1/gamma))."""
    g = float(gamma)
    if not (math.isfinite(g) and g > 0):
        raise ValueError(f"gamma must be finite and > 0, got {gamma!r}")
    return 1.0 + 1.0 / g


def density_exponent_to_rank_exponent(a: float) -> float:
    """gamma = 1/(a - 1), inverse of ``rank_exponent_to_density_exponent`` (needs a > 1)."""
    e = float(a)
    if not (math.isfinite(e) and e > 1):
        raise ValueError(f"density exponent must be finite and > 1, got {a!r}")
    return 1.0 / (e - 1.0)


@dataclass(frozen=True)
class TailFit:
    """CSN power-law tail fit p(x) ~ x^(-exponent), x >= xmin (see module docstring for every field)."""

    exponent: float  # MLE a_hat = 1 + n_tail / sum ln(x_i/xmin)
    exponent_se: float  # asymptotic (a_hat - 1)/sqrt(n_tail)
    bootstrap_se: float  # std of the exponent over bootstrap refits (nan if bootstrap=0)
    interval: tuple[float, float]  # 95 % bootstrap percentile interval (asymptotic +-1.96 se if bootstrap=0)
    xmin: float
    xmin_interval: tuple[float, float]  # 2.5/97.5 % bootstrap percentiles of xmin (nan if bootstrap=0)
    n_tail: int
    n_total: int  # positive values used (after dropping n_zero)
    n_zero: int  # non-positive values dropped
    ks_distance: float
    gof_p: float | None  # CSN semi-parametric bootstrap p-value (None if gof_sets=0)
    vuong_ratio: float  # normalised log-likelihood ratio power law vs exponential (> 0 favours power law)
    vuong_p: float  # two-sided p-value of the ratio
    plausible: bool | None  # gof_p >= 0.1 (None if gof_sets=0)
    message: str

    def to_dict(self) -> dict:
        """Plain floats, ints, bools, lists and None (nan stays a float)."""
        return {
            "exponent": float(self.exponent),
            "exponent_se": float(self.exponent_se),
            "bootstrap_se": float(self.bootstrap_se),
            "interval": [float(v) for v in self.interval],
            "xmin": float(self.xmin),
            "xmin_interval": [float(v) for v in self.xmin_interval],
            "n_tail": int(self.n_tail),
            "n_total": int(self.n_total),
            "n_zero": int(self.n_zero),
            "ks_distance": float(self.ks_distance),
            "gof_p": None if self.gof_p is None else float(self.gof_p),
            "vuong_ratio": float(self.vuong_ratio),
            "vuong_p": float(self.vuong_p),
            "plausible": None if self.plausible is None else bool(self.plausible),
            "message": self.message,
        }


def _ks_distances(logx: np.ndarray, js: np.ndarray, alphas: np.ndarray) -> np.ndarray:
    """D_j = max_{i >= j} max(S_hi - F, F - S_lo) for sorted ln x, candidates js (ascending), alphas = a_j - 1.

    With F_j(x_i) = 1 - exp(-alpha_j (ln x_i - ln x_j)), the empirical CDF just before / at x_i is
    S_lo = k/n_t, S_hi = (k+1)/n_t (k = i - j, n_t = n - j; exact with ties since x is sorted), so
    D_j = h + max_i |(n - i - 1/2)/n_t - exp(-alpha_j (ln x_i - ln x_j))| with h = 1/(2 n_t).
    """
    n = logx.size
    out = np.empty(js.size)
    start = 0
    while start < js.size:
        j0 = int(js[start])
        width = n - j0
        stop = min(js.size, start + max(1, _KS_BLOCK // width))
        jb, ab = js[start:stop], alphas[start:stop]
        nt = (n - jb).astype(float)
        # entries with i < j are zeroed without a mask: t clipped to 0 gives exp = 1, and the target, > 1 only
        # there, is clipped to 1
        t = logx[None, j0:] - logx[jb, None]  # (b, width)
        np.maximum(t, 0.0, out=t)
        t *= -ab[:, None]
        np.exp(t, out=t)
        target = (n - np.arange(j0, n) - 0.5)[None, :] / nt[:, None]
        np.minimum(target, 1.0, out=target)
        t -= target
        np.abs(t, out=t)
        out[start:stop] = t.max(axis=1) + 0.5 / nt
        start = stop
    return out


def _fit_sorted(x: np.ndarray, xmin: float | None, min_tail: int, max_candidates: int):
    """(a_hat, xmin, n_tail, D) for sorted positive x, scanning xmin if None; None if no admissible tail."""
    n = x.size
    logx = np.log(x)
    logx = logx - logx[0]  # shift: keeps the suffix sums small (less cancellation in S_j), ratios unchanged
    if xmin is not None:
        j = int(np.searchsorted(x, xmin, side="left"))
        nt = n - j
        if nt < 2:
            return None
        s = float(np.sum(logx[j:]) - nt * math.log(xmin / x[0]))
        if not s > 0:
            return None
        alpha = nt / s
        tail = logx[j:] - math.log(xmin / x[0])
        f = -np.expm1(-alpha * tail)
        k = np.arange(nt)
        d = float(np.max(np.maximum((k + 1) / nt - f, f - k / nt)))
        return 1.0 + alpha, float(xmin), nt, d
    first = np.flatnonzero(np.r_[True, x[1:] != x[:-1]])  # first index of each distinct value
    first = first[n - first >= min_tail]
    if first.size > max_candidates:  # rank-quantile grid of candidates
        first = np.unique(first[np.round(np.linspace(0, first.size - 1, max_candidates)).astype(int)])
    suffix = np.cumsum(logx[::-1])[::-1]
    nt = n - first
    s = suffix[first] - nt * logx[first]
    ok = s > 0  # a tail of identical values has no MLE
    first, nt, s = first[ok], nt[ok], s[ok]
    if first.size == 0:
        return None
    alphas = nt / s
    d = _ks_distances(logx, first, alphas)
    b = int(np.argmin(d))
    return 1.0 + float(alphas[b]), float(x[first[b]]), int(nt[b]), float(d[b])


def _vuong(tail: np.ndarray, xmin: float, a: float) -> tuple[float, float]:
    """Vuong's normalised log-likelihood ratio (power law vs exponential, both MLE on the tail) and its p."""
    y = tail - xmin
    mean = float(np.mean(y))
    if not mean > 0:
        return math.nan, math.nan
    lam = 1.0 / mean
    diff = (math.log((a - 1.0) / xmin) - a * np.log(tail / xmin)) - (math.log(lam) - lam * y)
    sigma = float(np.std(diff))
    if not sigma > 0:
        return math.nan, math.nan
    ratio = float(np.sum(diff)) / (sigma * math.sqrt(tail.size))
    return ratio, float(erfc(abs(ratio) / math.sqrt(2.0)))


def fit_power_law_tail(
    values,
    *,
    xmin: float | None = None,
    min_tail: int = 50,
    bootstrap: int = 200,
    gof_sets: int = 200,
    seed: int = 0,
    max_candidates: int = 10_000,
) -> TailFit:
    """CSN fit of p(x) ~ x^(-a), x >= xmin: MLE a = 1 + n_tail/sum ln(x_i/xmin), KS-selected xmin, bootstrap
    errors, semi-parametric goodness-of-fit p-value and Vuong test vs an exponential (see module docstring).

    A given ``xmin`` is kept fixed in every bootstrap and synthetic refit; its tail must hold >= ``min_tail`` values.
    """
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError("values must be a 1-D array of real numbers") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"values must be a non-empty 1-D array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("values must be finite (no NaN or inf)")
    for name, v, lo in (
        ("min_tail", min_tail, 2),
        ("bootstrap", bootstrap, 0),
        ("gof_sets", gof_sets, 0),
        ("max_candidates", max_candidates, 1),
    ):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")
    if xmin is not None and not (math.isfinite(float(xmin)) and float(xmin) > 0):
        raise ValueError(f"xmin must be finite and > 0, got {xmin!r}")
    n_zero = int(np.count_nonzero(arr <= 0))
    n_negative = int(np.count_nonzero(arr < 0))
    x = np.sort(arr[arr > 0])
    n = x.size
    if n < min_tail:
        raise ValueError(f"need >= min_tail={min_tail} positive values, got {n} (dropped {n_zero} <= 0)")
    fixed = None if xmin is None else float(xmin)
    fit = _fit_sorted(x, fixed, min_tail, max_candidates)
    if fit is None:
        raise ValueError("no admissible tail: fewer than 2 distinct values at or above xmin")
    a, xm, nt, d = fit
    if fixed is not None and nt < min_tail:
        raise ValueError(f"only {nt} values >= xmin={fixed!r}, need >= min_tail={min_tail}")
    se = (a - 1.0) / math.sqrt(nt)
    tail = x[x >= xm]
    vuong_ratio, vuong_p = _vuong(tail, xm, a)

    boot_rng, gof_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    boot_a, boot_xmin = [], []
    for _ in range(bootstrap):
        r = _fit_sorted(np.sort(boot_rng.choice(x, size=n, replace=True)), fixed, min_tail, max_candidates)
        if r is not None:
            boot_a.append(r[0])
            boot_xmin.append(r[1])
    if boot_a:
        bootstrap_se = float(np.std(boot_a, ddof=1)) if len(boot_a) > 1 else math.nan
        interval = tuple(float(v) for v in np.percentile(boot_a, [2.5, 97.5]))
        xmin_interval = tuple(float(v) for v in np.percentile(boot_xmin, [2.5, 97.5]))
    else:
        bootstrap_se = math.nan
        interval = (a - 1.959963984540054 * se, a + 1.959963984540054 * se)
        xmin_interval = (math.nan, math.nan)

    gof_p = None
    if gof_sets > 0:
        body = x[x < xm]
        n_ge = n_ok = 0
        for _ in range(gof_sets):
            m = int(gof_rng.binomial(n, nt / n))
            synth_tail = xm * np.exp(-np.log1p(-gof_rng.random(m)) / (a - 1.0))  # inverse CDF, x >= xm
            synth_body = gof_rng.choice(body, size=n - m, replace=True) if n - m > 0 else np.empty(0)
            r = _fit_sorted(np.sort(np.concatenate([synth_body, synth_tail])), fixed, min_tail, max_candidates)
            if r is not None:  # a synthetic set without admissible tail (never seen in practice) is skipped
                n_ok += 1
                n_ge += r[3] >= d
        gof_p = n_ge / n_ok if n_ok else math.nan
    plausible = None if gof_p is None else bool(gof_p >= PLAUSIBLE_P)

    parts = [f"a = {a:.4g} +- {se:.2g} (asymptotic) above xmin = {xm:.4g}, n_tail = {nt} of {n}"]
    if bootstrap:
        parts.append(f"bootstrap se {bootstrap_se:.2g} from {len(boot_a)}/{bootstrap} refits")
    else:
        parts.append("interval is the asymptotic +-1.96 se (bootstrap=0)")
    if gof_p is None:
        parts.append("goodness of fit not computed (gof_sets=0)")
    else:
        verdict = "plausible" if plausible else "rejected"
        parts.append(f"power law {verdict}: gof p = {gof_p:.3g} (resolution ~{1 / math.sqrt(gof_sets):.2g})")
    if not math.isfinite(vuong_p):
        parts.append("likelihood ratio vs exponential undefined")
    elif vuong_p < PLAUSIBLE_P:
        parts.append(
            f"likelihood ratio favours {'power law' if vuong_ratio > 0 else 'exponential'} (p = {vuong_p:.2g})"
        )
    else:
        parts.append(f"likelihood ratio vs exponential inconclusive (p = {vuong_p:.2g})")
    if n_zero:
        parts.append(f"dropped {n_zero} non-positive values ({n_negative} negative)")
    return TailFit(
        exponent=float(a),
        exponent_se=float(se),
        bootstrap_se=bootstrap_se,
        interval=(float(interval[0]), float(interval[1])),
        xmin=float(xm),
        xmin_interval=(float(xmin_interval[0]), float(xmin_interval[1])),
        n_tail=int(nt),
        n_total=int(n),
        n_zero=n_zero,
        ks_distance=float(d),
        gof_p=gof_p,
        vuong_ratio=float(vuong_ratio),
        vuong_p=float(vuong_p),
        plausible=plausible,
        message="; ".join(parts),
    )
