"""Wall time of training the diagonal network vs solving its LASSO, on the same data, in one process.

    python benchmarks/bench_simulate.py [--d 500] [--seeds 1]

For n = d/2 and n = 2d at lam = 0.3 sqrt(n/d) (a mid weight decay), prints both times, the ratio
network / lasso, and max |theta_net - theta_lasso|. Timings are single runs on whatever else the machine
is doing. Both run with one BLAS thread, as in simulate_diagonal (OpenBLAS threads contending for two
cores slow these small products down 5-90x).
"""

from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np
from threadpoolctl import threadpool_limits

from numeric.convex import solve_lasso
from numeric.simulate import sample_problem
from numeric.train import train_diagonal_network


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--d", type=int, default=500)
    parser.add_argument("--seeds", type=int, default=1)
    args = parser.parse_args()
    d = args.d
    print(f"one BLAS thread (threadpoolctl), {os.cpu_count()} CPUs")
    print(f"{'d':>5} {'n':>5} {'lam':>7} {'seed':>4} {'network s':>10} {'lasso s':>9} {'ratio':>7} "
          f"{'max|dtheta|':>11} {'L-BFGS it':>9} {'kinks':>6}")
    for n in (d // 2, 2 * d):
        lam = 0.3 * math.sqrt(n / d)
        for k in range(args.seeds):
            rng = np.random.default_rng(np.random.SeedSequence([0, k]))
            _, X, y = sample_problem(d, n, 1.0, 0.25, rng)
            start = time.perf_counter()
            net = train_diagonal_network(X, y, lam, rng=rng)
            t_net = time.perf_counter() - start
            start = time.perf_counter()
            lasso = solve_lasso(X, y, lam)
            t_lasso = time.perf_counter() - start
            flags = "" if net.converged and lasso.converged else "  NOT CONVERGED"
            print(f"{d:>5} {n:>5} {lam:>7.4f} {k:>4} {t_net:>10.3f} {t_lasso:>9.3f} {t_net / t_lasso:>7.1f} "
                  f"{np.max(np.abs(net.theta - lasso.theta)):>11.2e} {net.iterations:>9} {lasso.iterations:>6}{flags}")


if __name__ == "__main__":
    with threadpool_limits(limits=1, user_api="blas"):
        main()
