"""Wall times of the LASSO state-evolution solver (a script, not a test).

Every time is also given as a ratio to a reference run in the same process: the float64 exact
solve at d = 1e4. Parameters: n = d/2, lam = 0.3, gamma = 1, Delta = 0.25.
Run: python benchmarks/bench_se.py
"""

from __future__ import annotations

import time

from numeric.se_lasso import lasso_se

N_OVER_D, LAM, GAMMA, NOISE = 0.5, 0.3, 1.0, 0.25


def timed(d: int, **options):
    start = time.perf_counter()
    result = lasso_se(d, N_OVER_D * d, LAM, GAMMA, NOISE, **options)
    return result, time.perf_counter() - start


def main() -> None:
    runs = [
        ("float64 exact  d=1e4 (reference)", 10**4, {"binning": "exact"}),
        ("float64 exact  d=1e6", 10**6, {"binning": "exact"}),
        ("float64 binned d=1e6", 10**6, {"binning": "binned"}),
        ("float64 binned d=1e8", 10**8, {"binning": "binned"}),
        ("float64 binned d=1e12", 10**12, {"binning": "binned"}),
        ("mpmath-50      d=1e4", 10**4, {"digits": 50}),
    ]
    results = {}
    reference = None
    print(f"n = {N_OVER_D} d, lam = {LAM}, gamma = {GAMMA}, noise = {NOISE}")
    print(f"{'run':34s} {'seconds':>9s} {'x reference':>12s}  {'R':>22s}  converged")
    for label, d, options in runs:
        result, seconds = timed(d, **options)
        reference = reference or seconds
        results[label] = result
        print(f"{label:34s} {seconds:9.3f} {seconds / reference:12.1f}  {result.excess_risk:22.16g}  {result.converged}")
    exact, binned = results["float64 exact  d=1e6"], results["float64 binned d=1e6"]
    print(f"binned vs exact at d = 1e6: relative error in R {abs(binned.excess_risk / exact.excess_risk - 1):.2e}")
    float64 = results["float64 exact  d=1e4 (reference)"]
    mp = results["mpmath-50      d=1e4"]
    print(f"float64 vs mpmath-50 at d = 1e4: relative error in R {abs(float64.excess_risk / mp.excess_risk - 1):.2e}")


if __name__ == "__main__":
    main()
