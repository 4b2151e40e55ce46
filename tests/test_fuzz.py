"""Property-based fuzzing (hypothesis) of the public numeric, analytic and command-line surface.

Default run (``pytest``): small derandomized samples of every property (no example database, so CI
sees the same examples every time). Large sample of the state-evolution properties (>= 1000
examples, float64, and an mpmath sample at small d):

    pytest -m slow tests/test_fuzz.py

Properties and the bounds they use (R = excess risk, tau^2, zeta the SE fixed point):

* lasso_se / bayes_se over d = 1 .. 1e7 (binning "auto"), n = 1 .. 1e9 (real, and n = d), lam = 0 or
  1e-12 .. 1e12, gamma = 1/2 + 1e-6 .. 10, Delta = 0 .. 1e6: no exception; either
  ``converged`` with residual <= RESIDUAL_TOL, finite R >= 0 and the reported fields satisfying both
  fixed-point equations to that tolerance, zeta >= lam sqrt(d/n), 0 <= (1/n) sum P_i <= min(1, d/n);
  or ``converged`` False with a message saying why.
* R_BO <= 1: R_BO = sum_i s_i t/(n s_i + t) <= sum_i s_i = 1 (s_i = c_d^2 i^{-2 gamma}); slack 1e-12
  for the rounding of the sums (binned quadrature <= 1.1e-14).
* R_BO <= R_LASSO (gaussian teacher, same d, n, Delta, any lam): the Bayes and LASSO SEs share the
  prior N(0, u_i) per component and mmse_i(tau) <= mse_i(tau, zeta) for every zeta, so
  tau_L^2 = Delta + mse(tau_L) >= Delta + mmse(tau_L); since (Delta + mmse(t))/t is strictly
  decreasing, tau_L >= tau_BO and R = tau^2 - Delta gives R_BO <= R_L exactly at the fixed points.
  The computed R carry their stated accuracy (float64 vs mpmath 1e-10 relative, tests/test_se_lasso
  MP_RTOL), hence the slack 1e-10 (R_BO + R_L).
* Bayes monotonicity: with s_i as above, F(t) = Delta/t + sum_i s_i/(n s_i + t) - 1 increases in
  Delta and decreases in n at every t, so the root t* moves up with Delta and down with n, and
  R = sum_i s_i t*/(n s_i + t*) increases with t*, decreases with n: R_BO is non-increasing in n and
  non-decreasing in Delta (same 1e-10 relative slack).
* Plateau: with c_d <= 1 every |x0_i| <= sqrt(n). If zeta >= lam sqrt(d/n) >= sqrt(n) + 40 sqrt(Delta + 2)
  (signs teacher) then, self-consistently with tau^2 = Delta + R <= Delta + 2, every |x0_i + tau Z|
  exceeds zeta with probability <= 2 Q(40) ~ 1e-349, so the estimator is 0 up to Gaussian tails and
  R = (1/n) sum x0_i^2 = 1. For the gaussian teacher y_i ~ N(0, u_i + tau^2) with u_i <= n, so
  lam sqrt(d/n) >= 40 sqrt(n + Delta + 2) does the same. Bound: |R - 1| <= 1e-12.
* Invalid parameters raise ValueError with a one-line message naming the parameter; the CLI exits 2
  with exactly one stderr line and never raises, for se, bayes, derive, claim and simulate.
* numeric.fits.local_slope recovers the exponent of exact laws C x^e (ln x)^p; the derived phase
  diagrams tile the (ell, kappa) plane (exactly one regime away from boundaries); claims.power_law
  returns sum_k p_k log_d(base_k) for products of powers.

Not asserted: LASSO R monotone in Delta at fixed lam (false in general, tests/test_se_lasso.py).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import warnings

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, event, given, note, settings
from hypothesis import strategies as st

from analytic import derive
from analytic.symbols import ell as ELL, gamma as GAMMA, kappa as KAPPA
from crosscheck.claims import _d, _lam, _n, power_law
from crosscheck.cli import main
from numeric import se_bayes, se_lasso
from numeric.fits import local_slope
from numeric.se_bayes import bayes_se
from numeric.se_lasso import lasso_se

# accuracy of R stated by the module (float64 vs mpmath, tests/test_se_lasso.py MP_RTOL)
R_RTOL = 1e-10
BO_ONE_SLACK = 1e-12
PLATEAU_TOL = 1e-12
PLATEAU_MARGIN = 40.0  # Gaussian-tail margin in units of tau

FAST = settings(derandomize=True, database=None, deadline=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _fast(n):
    return settings(FAST, max_examples=n)


def _log_uniform(lo_exp, hi_exp):
    return st.floats(lo_exp, hi_exp, allow_nan=False).map(lambda e: 10.0**e)


# ----------------------------------------------------------------------------- valid parameters
dims = st.one_of(st.integers(1, 30), st.integers(0, 7000).map(lambda k: max(1, round(10 ** (k / 1000)))))
lams = st.one_of(st.just(0.0), _log_uniform(-12, 12))
gammas = st.one_of(st.floats(0.5 + 1e-6, 10.0), st.sampled_from([0.5 + 1e-6, 0.51, 1.0, 1.5, 10.0]))
noises = st.one_of(st.just(0.0), _log_uniform(-12, 6), st.floats(0.0, 1e6))


@st.composite
def se_params(draw, max_d=10**7):
    d = min(draw(dims), max_d)
    n = draw(st.one_of(_log_uniform(0, 9), st.integers(1, 10**9).map(float), st.just(float(d)),
                       st.floats(0.5, 2.0).map(lambda r: max(1.0, r * d))))
    return d, n, draw(lams), draw(gammas), draw(noises)


def _check_result(r, d, n, lam, noise, tol):
    """Either converged with in-range, self-consistent numbers, or explicitly flagged."""
    assert isinstance(r.converged, bool)
    if not r.converged:
        event("flagged non-convergence")
        assert r.message and r.message != "converged", r
        assert not (r.residual <= tol), r  # a flagged result really is above the tolerance (or nan/inf)
        return
    assert r.residual <= tol, r
    assert math.isfinite(r.excess_risk) and r.excess_risk >= 0.0, r
    if n > 0 and math.isfinite(r.tau2) and r.tau2 > 0:  # nan for n = 0; 0 for exact recovery
        assert abs(noise + r.excess_risk - r.tau2) <= (tol + 1e-14) * r.tau2, r
        assert r.tau2 >= noise * (1 - 1e-12), r
    if not math.isnan(r.zeta):  # the LASSO threshold equation zeta (1 - Pbar) = lam sqrt(d/n)
        zeta_min = lam * math.sqrt(d / n)
        assert r.zeta >= zeta_min * (1 - 1e-12), r
        assert -1e-12 <= r.active_fraction <= min(1.0, d / n) * (1 + 1e-12), r
        if r.zeta > 0:
            assert abs(r.zeta * (1 - r.active_fraction) - zeta_min) <= (tol + 1e-14) * r.zeta, r


def _lasso(d, n, lam, gamma, noise, teacher):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = lasso_se(d, n, lam, gamma, noise, teacher=teacher)
    _check_result(r, d, n, lam, noise, se_lasso.RESIDUAL_TOL)
    return r


def _bayes(d, n, gamma, noise):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = bayes_se(d, n, gamma, noise)
    _check_result(r, d, n, 0.0, noise, se_bayes.RESIDUAL_TOL)
    if r.converged:
        assert r.excess_risk <= 1.0 + BO_ONE_SLACK, r
    return r


def _se_properties(d, n, lam, gamma, noise, n_factor, noise_step, kill):
    note(f"d={d!r}, n={n!r}, lam={lam!r}, gamma={gamma!r}, noise={noise!r}")
    _lasso(d, n, lam, gamma, noise, "signs")
    lasso_g = _lasso(d, n, lam, gamma, noise, "gaussian")
    bo = _bayes(d, n, gamma, noise)
    if bo.converged and lasso_g.converged:
        assert bo.excess_risk <= lasso_g.excess_risk + R_RTOL * (bo.excess_risk + lasso_g.excess_risk), (bo, lasso_g)
    more_data = _bayes(d, n * n_factor, gamma, noise)
    if bo.converged and more_data.converged:
        assert more_data.excess_risk <= bo.excess_risk * (1 + R_RTOL), (bo, more_data)
    noisier = _bayes(d, n, gamma, noise + noise_step)
    if bo.converged and noisier.converged:
        assert noisier.excess_risk >= bo.excess_risk * (1 - R_RTOL), (bo, noisier)
    # the plateau: a threshold above every component plus PLATEAU_MARGIN noise levels
    for teacher, top in (("signs", math.sqrt(n) + PLATEAU_MARGIN * math.sqrt(noise + 2.0)),
                         ("gaussian", PLATEAU_MARGIN * math.sqrt(n + noise + 2.0))):
        big = kill * top * math.sqrt(n / d)
        r = _lasso(d, n, big, gamma, noise, teacher)
        assert r.converged, (teacher, big, r)
        assert abs(r.excess_risk - 1.0) <= PLATEAU_TOL, (teacher, big, r)


se_extras = dict(n_factor=st.one_of(st.floats(1.0, 10.0), _log_uniform(0, 3)),
                 noise_step=st.one_of(_log_uniform(-6, 3), st.floats(0.0, 1.0)),
                 kill=st.one_of(st.just(1.0), _log_uniform(0, 6)))


@_fast(25)
@given(params=se_params(), **se_extras)
def test_se_properties(params, n_factor, noise_step, kill):
    _se_properties(*params, n_factor, noise_step, kill)


@pytest.mark.slow
@settings(FAST, max_examples=1200)
@given(params=se_params(), **se_extras)
def test_se_properties_large_sample(params, n_factor, noise_step, kill):
    _se_properties(*params, n_factor, noise_step, kill)


@pytest.mark.slow
@settings(FAST, max_examples=60)
@given(params=se_params(max_d=40), teacher=st.sampled_from(["signs", "gaussian"]))
def test_mpmath_path_properties(params, teacher):
    d, n, lam, gamma, noise = params
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fast = lasso_se(d, n, lam, gamma, noise, teacher=teacher)
        slow = lasso_se(d, n, lam, gamma, noise, teacher=teacher, digits=30)
        bo_fast, bo_slow = bayes_se(d, n, gamma, noise), bayes_se(d, n, gamma, noise, digits=30)
    _check_result(slow, d, n, lam, noise, 1e-25)
    _check_result(bo_slow, d, n, 0.0, noise, 1e-25)
    for a, b in ((fast, slow), (bo_fast, bo_slow)):
        if a.converged and b.converged and b.excess_risk > 0:
            assert abs(a.excess_risk / b.excess_risk - 1) <= R_RTOL, (a, b)


# ----------------------------------------------------------------------------- invalid parameters
NAMES = ("d", "n", "lam", "gamma", "noise")


def _not_a_number(s: str) -> bool:
    try:
        float(s)
    except (TypeError, ValueError):
        return True
    return False


junk = st.one_of(st.sampled_from([math.nan, math.inf, -math.inf, None, [1.0], 1j, "", "abc", "1,5"]),
                 st.text(max_size=8).filter(_not_a_number))
BAD = {
    "d": st.one_of(junk, st.integers(-10**9, 0), st.floats(-1e9, 1e9).filter(lambda x: x != int(x)),
                   st.floats(-1e300, 0.999)),
    "n": st.one_of(junk, st.floats(max_value=-1e-300, allow_nan=False, allow_infinity=False)),
    "lam": st.one_of(junk, st.floats(max_value=-1e-300, allow_nan=False, allow_infinity=False)),
    "gamma": st.one_of(junk, st.floats(max_value=0.5, allow_nan=False, allow_infinity=False)),
    "noise": st.one_of(junk, st.floats(max_value=-1e-300, allow_nan=False, allow_infinity=False)),
}


@st.composite
def invalid_params(draw, names=NAMES):
    good = dict(zip(NAMES, draw(se_params(max_d=1000))))
    which = draw(st.sampled_from(names))
    good[which] = draw(BAD[which])
    return which, good


def _one_line_value_error(call, which):
    with pytest.raises(ValueError) as info:
        call()
    msg = str(info.value)
    assert msg and "\n" not in msg and which in msg, msg


@_fast(150)
@given(case=invalid_params(), teacher=st.sampled_from(["signs", "gaussian"]))
def test_invalid_parameters_raise_one_line_value_error(case, teacher):
    which, p = case
    _one_line_value_error(lambda: lasso_se(p["d"], p["n"], p["lam"], p["gamma"], p["noise"], teacher=teacher), which)


@_fast(100)
@given(case=invalid_params(names=("d", "n", "gamma", "noise")))
def test_invalid_bayes_parameters_raise_one_line_value_error(case):
    which, p = case
    _one_line_value_error(lambda: bayes_se(p["d"], p["n"], p["gamma"], p["noise"]), which)


# ----------------------------------------------------------------------------- the command line
def _run(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = main(argv)  # must never raise
    return rc, out.getvalue(), err.getvalue()


def _check_exit(rc, out, err, allowed):
    assert rc in allowed, (rc, out, err)
    if rc == 2:
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("scalinglab: error: "), err
        assert "Traceback" not in err
    return rc


cli_junk = st.one_of(st.sampled_from(["nan", "inf", "-inf", "-1", "-1e-300", "abc", "", "1e400", "0x10", "1/2",
                                      "--", "--json"]),
                     st.text(alphabet="0123456789.-+eE", min_size=1, max_size=6).filter(_not_a_number))


def _cli_value(valid):
    """(text, is_valid): a valid value rendered as argparse float text, or junk."""
    return st.one_of(valid.map(lambda v: (repr(float(v)), True)), cli_junk.map(lambda s: (s, False)))


@st.composite
def cli_physical(draw, command):
    d, n, lam, gamma, noise = draw(se_params(max_d=10**5))
    argv, valid = [command, draw(st.sampled_from(["diagonal"] * 6 + ["linear", ""]))], True
    valid &= argv[1] == "diagonal"
    names = [("--d", st.just(d), BAD["d"]), ("--n", st.just(n), BAD["n"]), ("--gamma", st.just(gamma), BAD["gamma"]),
             ("--noise", st.just(noise), BAD["noise"])]
    if command == "se":
        names.append(("--lam", st.just(lam), BAD["lam"]))
    for flag, good, bad in names:
        kind = draw(st.sampled_from(["good"] * 5 + ["bad", "junk", "missing"]))
        if kind == "missing":
            valid &= flag == "--noise"  # --noise defaults to 0
            continue
        if kind == "good":
            text = repr(float(draw(good)))
        elif kind == "junk":
            text = draw(cli_junk)
            valid = False
        else:
            v = draw(bad.filter(lambda x: isinstance(x, (int, float)) and not isinstance(x, bool)))
            text, valid = repr(float(v)), False
        argv += [f"{flag}={text}"] if draw(st.booleans()) else [flag, text]
    if draw(st.booleans()):
        argv.append("--json")
    if command == "se" and draw(st.integers(0, 9)) == 0:
        argv += ["--digits", draw(st.sampled_from(["10", "29", "x", "-3", "3.5"]))]
        valid = False
    if command == "se" and draw(st.booleans()):
        b = draw(st.sampled_from(["auto", "binned", "exact", "fast"]))
        argv += ["--binning", b]
        valid &= b != "fast"
        assume(not (b == "exact" and d > 20000))  # keep an exact float64 solve cheap
    if draw(st.booleans()):
        t = draw(st.sampled_from(["signs", "gaussian", "cauchy"]))
        argv += ["--teacher", t]
        valid &= t != "cauchy"
    return argv, valid


@_fast(40)
@given(case=st.one_of(cli_physical("se"), cli_physical("bayes")))
def test_cli_se_and_bayes_exit_codes(case):
    argv, valid = case
    note(repr(argv))
    rc, out, err = _run(argv)
    _check_exit(rc, out, err, allowed={0, 1} if valid else {2})
    if valid and "--json" in argv:
        assert "excess_risk" in json.loads(out)  # NaN/Infinity are accepted by json.loads


@st.composite
def cli_simulate(draw):
    argv = ["simulate", "diagonal", "--d", str(draw(st.integers(1, 6))), "--lam", repr(draw(st.floats(0, 3))),
            "--gamma", repr(draw(st.floats(0.6, 3))), "--noise", repr(draw(st.floats(0, 1))),
            "--seeds", str(draw(st.integers(1, 2))), "--method", draw(st.sampled_from(["network", "lasso"]))]
    n = draw(st.integers(1, 6))
    valid = True
    kind = draw(st.sampled_from(["good"] * 3 + ["half", "seeds", "junk", "method"]))
    if kind == "half":
        argv += ["--n", f"{n}.5"]
        valid = False
    else:
        argv += ["--n", str(n)]
    if kind == "seeds":
        argv += ["--seeds", draw(st.sampled_from(["0", "-2", "1.5", "x"]))]
        valid = False
    if kind == "junk":
        argv += [draw(st.sampled_from(["--lam", "--gamma", "--noise", "--d"])), draw(cli_junk)]
        valid = False
    if kind == "method":
        argv += ["--method", "sgd"]
        valid = False
    argv += ["--seed", str(draw(st.integers(0, 3))), "--json"]
    return argv, valid


@_fast(12)
@given(case=cli_simulate())
def test_cli_simulate_exit_codes(case):
    argv, valid = case
    note(repr(argv))
    _check_exit(*_run(argv), allowed={0, 1} if valid else {2})


# derive: in the default run only the cached power-law l1 diagrams are valid (a new diagram costs
# 4-18 s of SymPy); the slow run also derives ridge and finite-rank teachers
def _derive_argv(slow):
    penalties = ["l1", "l3", ""] + (["l2"] if slow else [])
    rhos = ["abc", "", "1/0", "nan", "oo", "-1", "2", "3/2", "1e400", "x**2"] + (["1/2", "1/3", "0.25"] if slow else [])
    teachers = st.one_of(st.just("power-law"), st.sampled_from(rhos).map(lambda r: f"finite-rank:{r}"),
                         st.sampled_from(["gaussian", "finite-rank", "power-law:2", ""]))

    @st.composite
    def build(draw):
        argv = ["derive", draw(st.sampled_from(["diagonal"] * 4 + ["linear"]))]
        if draw(st.booleans()):
            argv.append("--noiseless")
        if draw(st.booleans()):
            argv += ["--penalty", draw(st.sampled_from(penalties))]
        if draw(st.booleans()):
            argv += ["--teacher", draw(teachers)]
        for flag in ("--json", "--latex"):
            if draw(st.booleans()):
                argv.append(flag)
        if draw(st.integers(0, 7)) == 0:
            argv.append(draw(st.sampled_from(["--bogus", "extra", "--gamma=1"])))
        return argv

    return build()


def _check_derive(argv):
    rc = _check_exit(*_run(argv), allowed={0, 2})
    valid = (argv[1] == "diagonal" and not any(a in argv for a in ("--bogus", "extra", "--gamma=1", "l3", "")))
    teacher = argv[argv.index("--teacher") + 1] if "--teacher" in argv else "power-law"
    valid &= teacher == "power-law" or teacher in ("finite-rank:1/2", "finite-rank:1/3", "finite-rank:0.25")
    assert rc == (0 if valid else 2), argv


@_fast(30)
@given(argv=_derive_argv(slow=False))
def test_cli_derive_flags(argv):
    note(repr(argv))
    _check_derive(argv)


@pytest.mark.slow
@settings(FAST, max_examples=60)
@given(argv=_derive_argv(slow=True))
def test_cli_derive_flags_large_sample(argv):
    note(repr(argv))
    _check_derive(argv)


# claim: RATE and WHERE from a small grammar
_ATOMS = st.sampled_from(["n", "d", "lam", "gamma", "1", "2", "3", "0.5", "1/2", "10"])


def _expr(depth=2):
    if depth == 0:
        return _ATOMS
    sub = _expr(depth - 1)
    return st.one_of(
        _ATOMS,
        st.tuples(sub, st.sampled_from(["*", "/", "**"]), sub).map(lambda t: f"({t[0]}{t[1]}{t[2]})"),
        sub.map(lambda s: f"sqrt({s})"),
        sub.map(lambda s: f"log({s})"),
    )


_CONDITION = st.tuples(_expr(1), st.sampled_from(["<<", "<", ">>", ">"]), _expr(1)).map("".join)
_WHERE = st.lists(_CONDITION, min_size=1, max_size=3).map(", ".join)


# Inputs that once crashed crosscheck/claims.py (found by this fuzzing): now one-line errors, exit 2.
CLAIM_BUGS = [
    ("n**d", "n<<d"),  # TypeError: exponent containing d cannot be converted to float
    ("log(n)**n", "n<<d"),  # TypeError: log power containing n
    ("n", "d**lam<<n"),  # TypeError in the region's rows
    ("n", "n<<d<<lam"),  # AttributeError: 'Implies' object has no attribute 'expand'
    ("n", "n < d < lam"),  # AttributeError: 'StrictLessThan' object has no attribute 'as_base_exp'
    ("n", "n<<n, n<<(n**n)"),  # TypeError (found by the slow grammar fuzz)
    ("0", "n<<d"), ("log(0)", "n<<d"), ("1/log(1)", "n<<d"), ("n**(1/0)", "n<<d"), ("sqrt(-n)", "n<<d"),  # were "holds"
]


@pytest.mark.parametrize("rate,where", CLAIM_BUGS)
def test_claim_known_crashes(rate, where):
    _check_exit(*_run(["claim", "diagonal", "--rate", rate, "--where", where]), allowed={2})


@st.composite
def claim_argv(draw):
    argv = ["claim", "diagonal", "--rate", draw(_expr(2)), "--where", draw(_WHERE), "--json"]
    if draw(st.integers(0, 4)) == 0:
        argv += ["--gamma", draw(st.sampled_from(["0.5", "1.5", "x", "3"]))]
    return argv


def _check_claim(argv):
    note(repr(argv))
    try:
        _check_exit(*_run(argv), allowed={0, 1, 2, 3})
    except Exception as exc:  # a crash: say which class, the known ones are in CLAIM_BUGS
        raise AssertionError(f"claim raised {exc!r} for {argv!r}") from exc


@_fast(12)
@given(argv=claim_argv())
def test_cli_claim_grammar(argv):
    _check_claim(argv)


@pytest.mark.slow
@settings(FAST, max_examples=60)
@given(argv=claim_argv())
def test_cli_claim_grammar_large_sample(argv):
    _check_claim(argv)


# ----------------------------------------------------------------------------- other public functions
@_fast(200)
@given(e=st.floats(-5, 5), p=st.one_of(st.just(0.0), st.floats(-4, 4)), c=_log_uniform(-10, 10),
       start=st.floats(-5, 50), gaps=st.lists(st.floats(0.05, 5), min_size=1, max_size=11))
def test_local_slope_recovers_exact_power_laws(e, p, c, start, gaps):
    if p != 0:
        start = max(start, 0.1)  # log_power needs x > 1
    lx = start + np.concatenate([[0.0], np.cumsum(gaps)])
    x = np.exp(lx)
    v = c * x**e * np.log(x) ** p
    assume(np.all(np.isfinite(v)) and np.all(v > 0) and np.all(np.diff(x) > 0))
    fit = local_slope(x, v, log_power=p)
    tol = 1e-9 * (1 + abs(e) + abs(p))
    assert len(fit.exponents) == len(gaps)
    assert all(abs(s - e) <= tol for s in fit.exponents), fit
    assert abs(fit.exponent - e) <= tol
    assert math.isnan(fit.trend) if len(gaps) == 1 else abs(fit.trend) <= 2 * tol


_BASES = [  # (sympy base, log_d of the base)
    (_n, ELL), (_d, sp.Integer(1)), (_lam, KAPPA), (_n / _d, ELL - 1), (sp.sqrt(_n), ELL / 2),
    (_lam * sp.sqrt(_d) / _n, KAPPA + sp.Rational(1, 2) - ELL), (_d**GAMMA, GAMMA), (_n * _lam, ELL + KAPPA),
    (_n**(1 - GAMMA) / sp.sqrt(_d), ELL * (1 - GAMMA) - sp.Rational(1, 2)),
]
_POWERS = st.one_of(st.tuples(st.integers(-6, 6), st.integers(1, 4)).map(lambda t: sp.Rational(*t)),
                    st.sampled_from([-GAMMA, 1 - 1 / (2 * GAMMA), 2 - 1 / GAMMA, GAMMA / 2]))


@_fast(60)
@given(factors=st.lists(st.tuples(st.integers(0, len(_BASES) - 1), _POWERS), min_size=1, max_size=4),
       logs=st.lists(st.tuples(st.sampled_from([_n, _d, _n / _d, _lam * _d]), st.integers(-3, 3)), max_size=2),
       const=st.sampled_from([sp.Integer(1), sp.Integer(7), sp.Rational(1, 3), sp.sqrt(2), sp.pi]))
def test_power_law_of_products(factors, logs, const):
    expr = const
    expected_e, expected_p = sp.Integer(0), sp.Integer(0)
    for k, power in factors:
        base, logd = _BASES[k]
        expr *= base**power
        expected_e += power * logd
    for arg, power in logs:
        expr *= sp.log(arg) ** power
        expected_p += power
    note(str(expr))
    expo, logp = power_law(expr)
    assert sp.simplify(expo - expected_e) == 0, (expr, expo, expected_e)
    assert sp.simplify(logp - expected_p) == 0, (expr, logp, expected_p)


@pytest.fixture(scope="module")
def diagrams():
    out = []
    for noiseless in (False, True):
        dg = derive("diagonal", noiseless=noiseless)
        forms = [sp.lambdify((ELL, KAPPA, GAMMA), c, "math") for r in dg.regimes for piece in r.pieces for c in piece]
        out.append((dg, forms))
    return out


def _near_boundary(forms, point, line_too=True):
    """Within 1e-6 of an edge; with line_too=False the edge ell = 1 itself (forms vanishing on the
    whole line, e.g. ell - 1) does not count."""
    l, k, g = point
    if line_too:
        return abs(l - 1.0) < 1e-6 or any(abs(f(l, k, g)) < 1e-6 for f in forms)
    return any(abs(f(l, k, g)) < 1e-6 and abs(f(l, k + 0.37, g)) + abs(f(l, k - 0.61, g)) > 1e-6 for f in forms)


@_fast(300)
@given(l=st.floats(1e-3, 6.0), k=st.floats(-10.0, 10.0), g=st.floats(0.5 + 1e-3, 10.0), which=st.integers(0, 1))
def test_derived_regimes_tile_the_plane(diagrams, l, k, g, which):
    dg, forms = diagrams[which]
    assume(not _near_boundary(forms, (l, k, g)))
    hits = [r.name for r in dg.regimes if r.line is None and r.holds_at(l, k, g)]
    assert len(hits) == 1, (l, k, g, hits)
    assert dg.regime_at(l, k, g).name == hits[0]


@_fast(100)
@given(k=st.floats(-10.0, 10.0), g=st.floats(0.5 + 1e-3, 10.0))
def test_derived_regimes_cover_the_line_n_equals_d(diagrams, k, g):
    # noisy diagram only: it has a law on n = d (the peak, or the regimes crossing the line); the
    # noiseless diagram has none there for lam << 1 (n = d separates basis pursuit from the dense
    # regime, a boundary)
    dg, forms = diagrams[0]
    assume(not _near_boundary(forms, (1.0, k, g), line_too=False))
    assert dg.regime_at(1.0, k, g) is not None, (k, g)
