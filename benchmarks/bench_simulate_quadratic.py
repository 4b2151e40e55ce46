"""Wall time of training the quadratic network vs solving its convex problem, on the same data.

    python benchmarks/bench_simulate_quadratic.py [--d 100] [--z 0.1] [--sweep]

At n = 2 d^2 and lam = z 2n/d (z is the SE's eigenvalue threshold up to the factor 1 - E div/n; 0.1 is a mid
weight decay), one seed: prints both times, the ratio network / convex, the relative Frobenius difference
of their solutions ||S_net - S_convex||_F / ||S_convex||_F, and the iteration counts. ``--sweep`` also
times one seed of ``simulate_quadratic`` (data, solve, risk) at d = 30, 60, 100 for n = d^2/2 and 2 d^2,
for the network, the convex solve on the real features and the convex solve on the Gaussian design.
Timings are single runs on whatever else the machine is doing, with one BLAS thread as in
simulate_quadratic (OpenBLAS threads contending for two shared cores slowed these products 20-75x).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from threadpoolctl import threadpool_limits

from numeric.convex_psd import solve_psd
from numeric.simulate_quadratic import sample_quadratic_problem, simulate_quadratic
from numeric.train_quadratic import train_quadratic_network

GAMMA, NOISE = 1.0, 0.25


def compare(d: int, z: float) -> None:
    n = 2 * d * d
    lam = z * 2 * n / d
    rng = np.random.default_rng(np.random.SeedSequence([0, 0]))
    _, A, y = sample_quadratic_problem(d, n, GAMMA, NOISE, rng)
    start = time.perf_counter()
    net = train_quadratic_network(A.X, y, lam, rng=rng)
    t_net = time.perf_counter() - start
    start = time.perf_counter()
    sol = solve_psd(A, y, lam)
    t_convex = time.perf_counter() - start
    diff = np.linalg.norm(net.S - sol.S) / np.linalg.norm(sol.S)
    flags = "" if net.converged and sol.converged else "  NOT CONVERGED"
    print(f"{'d':>4} {'n':>6} {'lam':>8} {'network s':>10} {'convex s':>9} {'ratio':>6} {'rel diff S':>10} "
          f"{'L-BFGS it':>9} {'FISTA it':>8} {'rank':>5}")
    print(f"{d:>4} {n:>6} {lam:>8.3f} {t_net:>10.2f} {t_convex:>9.2f} {t_net / t_convex:>6.1f} {diff:>10.1e} "
          f"{net.iterations:>9} {sol.iterations:>8} {np.count_nonzero(sol.eigenvalues):>5}{flags}")


def sweep(z: float) -> None:
    print(f"\ntime per seed of simulate_quadratic (lam = {z} 2n/d, gamma = {GAMMA}, Delta = {NOISE})")
    print(f"{'d':>4} {'n':>6} {'network s':>10} {'convex s':>9} {'gaussian s':>10} {'R network':>10} "
          f"{'R convex':>9} {'R gaussian':>10}")
    for d in (30, 60, 100):
        for n in (d * d // 2, 2 * d * d):
            times, risks, ok = [], [], True
            for method, design in (("network", "quadratic"), ("convex", "quadratic"), ("convex", "gaussian")):
                start = time.perf_counter()
                res = simulate_quadratic(d, n, z * 2 * n / d, GAMMA, NOISE, seeds=1, method=method, design=design)
                times.append(time.perf_counter() - start)
                risks.append(res.excess_risk_mean)
                ok = ok and res.converged
            print(f"{d:>4} {n:>6} {times[0]:>10.2f} {times[1]:>9.2f} {times[2]:>10.2f} {risks[0]:>10.5f} "
                  f"{risks[1]:>9.5f} {risks[2]:>10.5f}{'' if ok else '  NOT CONVERGED'}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--d", type=int, default=100)
    parser.add_argument("--z", type=float, default=0.1, help="lam = z 2n/d")
    parser.add_argument("--sweep", action="store_true", help="also time simulate_quadratic at d = 30, 60, 100")
    args = parser.parse_args()
    print(f"one BLAS thread (threadpoolctl), {os.cpu_count()} CPUs")
    with threadpool_limits(limits=1, user_api="blas"):
        compare(args.d, args.z)
    if args.sweep:
        sweep(args.z)


if __name__ == "__main__":
    main()
