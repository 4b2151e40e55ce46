"""Wall times of the quadratic-network SE (numeric/se_matrix.py; a script, not a test).

1. Deterministic (free probability) vs Monte Carlo at equal accuracy, d = 400 and 2000: the Monte-Carlo SE is run
   with a pilot number of GOE samples, the samples needed for a 1e-3 relative standard error of R are extrapolated
   from its error bar (error ~ 1/sqrt(samples)), and the time of an SE with that many samples is extrapolated from
   the pilot's time (linear in the samples). The deterministic SE is accurate to ~1e-10 (no sampling noise); it is
   also run with rtol = LOOSE_RTOL (still 1000x tighter than the Monte-Carlo target), with its measured deviation
   from the tight solve, and with finite_d=True (the O(1/d) GOE correction, numeric.finite_size: the limit itself
   is O(1/d) from the finite-d GOE average, 2e-3 at d = 400, so at equal accuracy *to the finite-d SE* the
   corrected row is the one to compare at d = 400); each gets its ratio to the Monte-Carlo time. Both methods share the solver
   (se_matrix._solve: the fixed point in sigma^2, the calibration in zeta), so its speed-ups shorten both; the ratio
   moves only with the cost per evaluation (free-probability quadrature vs GOE eigendecompositions).
2. The largest d for which one deterministic SE point takes < 10 s (d = 10^4, 10^6, 10^8, ... until it does not).
3. Large d along the cross-check's rays n = d^(1 + ell), lam = d^kappa (gamma = 1.5, Delta = 0.5 and 0): seconds and R
   of one SE point for d = 10^4, 10^6, 10^8, 10^12, 10^16; a ray stops when its next point is predicted to exceed
   RAY_BUDGET seconds (the time grows by up to ~RAY_GROWTH per step in d, measured). At d = 10^4 a point that took
   < 2 s is also solved with spikes="exact" (isolated eigenvalues' bumps integrated) to show that the point-eigenvalue
   spikes (the default) change nothing.

Every time is also given as a ratio to a reference run in the same process: the deterministic SE at d = 400 (part 1's
first row; without part 1 it is run alone first). Each time is one run: on a shared machine expect +-30%.
Parameters: n = d^2/2 (alpha = 1/2), lam = 0.3 d, gamma = 1, Delta = 0.25 for part 1; n = d^1.5, lam = d for part 2.
Run: python benchmarks/bench_se_quadratic.py [--part 1|2|3] (default: all three)
"""

from __future__ import annotations

import argparse
import math
import time

from numeric.se_matrix import quadratic_se

TARGET = 1e-3  # relative standard error of R the Monte-Carlo SE must reach
RAYS = [(0.2, -1.2), (0.55, -0.1), (0.7, -0.1), (1.5, 0.95), (1.5, 1.7), (2.5, 2.3), (4.0, 2.7), (0.7, 0.95),
        (2.5, 3.6)]
RAY_DIMENSIONS = (10**4, 10**6, 10**8, 10**12, 10**16)
RAY_GAMMA = 1.5
RAY_BUDGET = 20.0  # seconds per point (keeps the run to minutes)
RAY_GROWTH = 15.0  # largest measured ratio of the times of consecutive points on a ray (d x 100)
PILOT_SAMPLES = {400: 40, 2000: 4}
LOOSE_RTOL = 1e-6  # quadratic_se(rtol=...): log sigma^2 to 1e-6
GAMMA, NOISE = 1.0, 0.25


def timed(d: int, n: float, lam: float, **options):
    start = time.perf_counter()
    result = quadratic_se(d, n, lam, GAMMA, NOISE, **options)
    return result, time.perf_counter() - start


def part1() -> float:
    """Deterministic vs Monte Carlo at d = 400 and 2000; returns the reference time (deterministic, d = 400)."""
    reference = None
    print(f"part 1: n = d^2/2, lam = 0.3 d, gamma = {GAMMA}, noise = {NOISE}; Monte Carlo at {TARGET:g} relative")
    print(f"{'run':44s} {'seconds':>10s} {'x reference':>12s}  {'R':>14s}  notes")
    for d in (400, 2000):
        n, lam = d * d / 2, 0.3 * d
        det, t_det = timed(d, n, lam)
        reference = reference or t_det
        print(f"{f'deterministic d={d}':44s} {t_det:10.3f} {t_det / reference:12.1f}  {det.excess_risk:14.10f}  "
              f"{det.message}, {det.iterations} evaluations")
        loose, t_loose = timed(d, n, lam, rtol=LOOSE_RTOL)
        print(f"{f'deterministic d={d}, rtol={LOOSE_RTOL:g}':44s} {t_loose:10.3f} {t_loose / reference:12.1f}  "
              f"{loose.excess_risk:14.10f}  {loose.message}, {loose.iterations} evaluations; "
              f"|R/R(tight) - 1| = {abs(loose.excess_risk / det.excess_risk - 1):.1e}")
        corrected, t_corr = timed(d, n, lam, finite_d=True)
        print(f"{f'deterministic d={d}, finite_d (O(1/d) GOE)':44s} {t_corr:10.3f} {t_corr / reference:12.1f}  "
              f"{corrected.excess_risk:14.10f}  {corrected.message}, {corrected.iterations} evaluations; "
              f"the limit's O(1/d) gap |R(limit)/R - 1| = {abs(det.excess_risk / corrected.excess_risk - 1):.1e}")
        pilot = PILOT_SAMPLES[d]
        mc, t_mc = timed(d, n, lam, method="montecarlo", samples=pilot)
        rel = mc.excess_risk_err / mc.excess_risk
        needed = max(pilot, math.ceil(pilot * (rel / TARGET) ** 2))
        t_needed = t_mc * needed / pilot
        print(f"{f'montecarlo d={d}, {pilot} samples (pilot)':44s} {t_mc:10.3f} {t_mc / reference:12.1f}  "
              f"{mc.excess_risk:14.10f}  +- {mc.excess_risk_err:.2e} ({rel:.1e} relative)")
        print(f"{f'montecarlo d={d}, {needed} samples (1e-3, extrap.)':44s} {t_needed:10.3f} {t_needed / reference:12.1f}  "
              f"{'':14s}  deterministic is {t_needed / t_det:.0f}x faster ({t_needed / t_loose:.0f}x with "
              f"rtol={LOOSE_RTOL:g}, {t_needed / t_corr:.0f}x with finite_d); |MC - det|/det = "
              f"{abs(mc.excess_risk / det.excess_risk - 1):.1e}, with finite_d "
              f"{abs(mc.excess_risk / corrected.excess_risk - 1):.1e}")
    return reference


def part2(reference: float) -> None:
    print("\npart 2: n = d^1.5, lam = d: one deterministic SE point")
    d, fastest = 10**4, None
    while True:
        result, seconds = timed(d, d**1.5, float(d))
        print(f"{f'deterministic d=1e{round(math.log10(d))}':44s} {seconds:10.3f} {seconds / reference:12.1f}  "
              f"{result.excess_risk:14.10f}  {result.message}, {result.iterations} evaluations")
        if seconds >= 10.0 or d >= 10**16:
            break
        fastest, d = d, d * 100
    print(f"largest d tried (factors of 100) with one SE point under 10 s: {fastest:.0e}")


def part3() -> None:
    print(f"\npart 3: rays n = d^(1+ell), lam = d^kappa, gamma = {RAY_GAMMA}: seconds and R of one SE point")
    for noise in (0.5, 0.0):
        for ell, kappa in RAYS:
            cells = []
            for d in RAY_DIMENSIONS:
                start = time.perf_counter()
                result = quadratic_se(d, float(d) ** (1 + ell), float(d) ** kappa, RAY_GAMMA, noise)
                seconds = time.perf_counter() - start
                flag = "" if result.converged else " (not converged)"
                cells.append(f"1e{round(math.log10(d))}: {seconds:6.2f}s R={result.excess_risk:.6e}{flag}")
                if d == RAY_DIMENSIONS[0] and seconds < 2.0:
                    exact = quadratic_se(d, float(d) ** (1 + ell), float(d) ** kappa, RAY_GAMMA, noise, spikes="exact")
                    cells[-1] += f" (|limit/exact - 1| = {abs(result.excess_risk / exact.excess_risk - 1):.0e})"
                if seconds * RAY_GROWTH > RAY_BUDGET and d != RAY_DIMENSIONS[-1]:
                    cells.append("larger d skipped")
                    break
            print(f"Delta={noise} ell={ell} kappa={kappa}: " + "; ".join(cells), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", type=int, choices=(1, 2, 3), action="append",
                        help="run only this part (repeatable; default: all)")
    parts = parser.parse_args().part or [1, 2, 3]
    if 1 in parts:
        reference = part1()
    else:  # the reference run alone
        reference = timed(400, 400 * 400 / 2, 0.3 * 400)[1]
        print(f"reference (deterministic d=400, part 1's parameters): {reference:.3f} s")
    if 2 in parts:
        part2(reference)
    if 3 in parts:
        part3()


if __name__ == "__main__":
    main()
