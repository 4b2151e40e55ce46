"""Online SGD steps per second: ``online_sgd`` (seeds stacked) vs a plain per-step numpy loop (one seed).

    python benchmarks/bench_sgd.py [--d 1000] [--r 100] [--width 100] [--seeds 8] [--steps 400]

For batch 1 and batch d, at c = lr d Tr A / B = 0.1 (stable, measured limit ~0.4) and sigma0 = 0.3: the
throughput in seed-steps per second (steps x seeds / wall time) of ``online_sgd`` with ``--seeds`` seeds and with
one seed, and of the reference loop written below (fresh draws, labels, W <- W - lr (2/B) [(e z)^T X - (sum e) W]),
and the ratio to the reference. ``online_sgd`` runs with records = 2 (risk at the first and last step only: the
exact risk costs O(m^2 d) per record and seed, not part of a step). Batch d runs steps/20 steps (each costs d
single-sample steps). One BLAS thread throughout, as in the simulations; single timings on a shared machine.
"""

from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np
from threadpoolctl import threadpool_limits

from numeric.he2_student import initial_weights
from numeric.he2_teacher import he2_teacher
from numeric.sgd import online_sgd

ALPHA, SIGMA0, C = 1.0, 0.3, 0.1


def reference_loop(d: int, r: int, m: int, steps: int, lr: float, batch: int) -> np.ndarray:
    """Straightforward online SGD of one seed, one numpy expression per line."""
    teacher = he2_teacher(r, ALPHA)
    lam, trace = teacher.head, teacher.trace
    rng = np.random.default_rng([0, 1])
    W = initial_weights(d, m, SIGMA0, seed=0)
    for _ in range(steps):
        X = rng.standard_normal((batch, d))
        y = X[:, :r] ** 2 @ lam - trace
        z = X @ W.T
        e = np.sum(z**2, axis=1) - np.sum(W**2) - y
        W = W - lr * (2.0 / batch) * ((e[:, None] * z).T @ X - e.sum() * W)
    return W


def bench(d: int, r: int, m: int, seeds: int, steps: int, batch: int) -> None:
    lr = C * batch / (d * he2_teacher(r, ALPHA).trace)
    rates = {}
    for name, count in ((f"online_sgd x{seeds}", seeds), ("online_sgd x1", 1)):
        start = time.perf_counter()
        res = online_sgd(d, r, ALPHA, m, steps, lr, batch=batch, seeds=count, sigma0=SIGMA0, records=2)
        rates[name] = steps * count / (time.perf_counter() - start)
        assert not res.diverged.any(), "diverged: the benchmark measures stable runs"
    with threadpool_limits(limits=1, user_api="blas"):
        start = time.perf_counter()
        W = reference_loop(d, r, m, steps, lr, batch)
        rates["reference x1"] = steps / (time.perf_counter() - start)
    assert math.isfinite(float(np.sum(W)))
    base = rates["reference x1"]
    for name, rate in rates.items():
        print(f"{batch:>6} {name:>16} {rate:>14.1f} {rate / base:>8.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--d", type=int, default=1000)
    parser.add_argument("--r", type=int, default=100)
    parser.add_argument("--width", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--steps", type=int, default=400)
    args = parser.parse_args()
    print(f"one BLAS thread (threadpoolctl), {os.cpu_count()} CPUs; d = {args.d}, r = {args.r}, m = {args.width}, "
          f"alpha = {ALPHA}, sigma0 = {SIGMA0}, c = lr d Tr A / B = {C}")
    print(f"{'batch':>6} {'code':>16} {'seed-steps/s':>14} {'vs ref':>8}")
    bench(args.d, args.r, args.width, args.seeds, args.steps, 1)
    bench(args.d, args.r, args.width, args.seeds, max(1, args.steps // 20), args.d)


if __name__ == "__main__":
    main()
