"""Wall times of the exact gradient flow (numeric/flow.py; a script, not a test).

1. d = 500, r = 50, m = 40, alpha = 1, sigma0 = 0.5, 30 times from 0.05 to 1.5x the last predicted learning time: the
   exact flow vs the dense DOP853 integration (numeric/flow_ode.py) from the same W0 — seconds per time point, their
   ratio, and the largest relative difference of R.
2. The exact flow at d = 10^3, 10^6, 10^12, 10^24 (same r, m, times): seconds per time point, showing that the cost
   does not depend on d (the initial draw of the dense W0 at d = 10^3 and the Bartlett draw above are included).
Run: python benchmarks/bench_flow.py
"""

from __future__ import annotations

import math
import time

import numpy as np

from numeric.flow import gradient_flow
from numeric.flow_ode import flow_ode
from numeric.learning_curves import predicted_learning_times

R, WIDTH, ALPHA, SIGMA0 = 50, 40, 1.0, 0.5


def timed(function, *args, **options):
    start = time.perf_counter()
    value = function(*args, **options)
    return value, time.perf_counter() - start


def main() -> None:
    d = 500
    last = predicted_learning_times(d, R, ALPHA, WIDTH, sigma0=SIGMA0, count=WIDTH).max()
    times = np.geomspace(0.05, 1.5 * last, 30)
    print(f"part 1: d = {d}, r = {R}, m = {WIDTH}, alpha = {ALPHA}, sigma0 = {SIGMA0}, {times.size} times up to "
          f"t = {times[-1]:.1f}")
    exact, t_exact = timed(gradient_flow, d, R, ALPHA, WIDTH, times, sigma0=SIGMA0)
    dense, t_dense = timed(flow_ode, d, R, ALPHA, WIDTH, times, sigma0=SIGMA0)
    per = times.size
    print(f"exact flow {t_exact / per * 1e3:8.2f} ms/time   dense ODE {t_dense / per * 1e3:8.2f} ms/time   "
          f"ratio {t_dense / t_exact:6.1f}   max |R_exact/R_ode - 1| = {np.max(np.abs(exact.risk / dense - 1)):.1e}"
          f"   (R from {exact.risk[0]:.3f} to {exact.risk[-1]:.2e})")
    print("\npart 2: exact flow, same r, m, times")
    for d in (10**3, 10**6, 10**12, 10**24):
        result, seconds = timed(gradient_flow, d, R, ALPHA, WIDTH, times, sigma0=SIGMA0)
        print(f"d = 1e{round(math.log10(d)):<3d} {seconds / per * 1e3:8.2f} ms/time   R(t_end) = {result.risk[-1]:.3e}"
              f"   {result.message}")


if __name__ == "__main__":
    main()
