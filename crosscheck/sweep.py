"""The executor of every sweep: runs the points a store lacks, inline, in local processes or on Dask.

``run_points`` skips the points already in the store, ships the others to the executor as
``tasks.run(kind, params)`` and writes each result to the store as it completes (the calling
process is the only writer). Executors:
* jobs = 1, no scheduler: in this process, in order;
* jobs > 1: a ProcessPoolExecutor with ``jobs`` workers (the platform's default start method; on
  Linux, fork, so workers inherit the derived phase diagrams instead of re-deriving them);
* scheduler = ADDRESS: ``distributed.Client(ADDRESS)``, imported only then.
Values do not depend on the executor: points are deterministic given their parameters (seeds come
from the parameters, simulations use one BLAS thread), and floats cross process boundaries exactly.
Progress: a tqdm bar on stderr when stderr is a terminal, else one log line per finished point.
"""

from __future__ import annotations

import os
import platform
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from tqdm import tqdm

from . import tasks
from .store import VERSION, PointStore, point_key

LIBRARIES = ("numpy", "scipy", "sympy", "mpmath", "matplotlib")


@dataclass(frozen=True)
class Point:
    """One point of a sweep: a kind of ``tasks.KINDS`` and its JSON parameters."""

    kind: str
    params: dict

    @property
    def key(self) -> str:
        return point_key(self.kind, self.params)


@cache
def git_commit() -> str | None:
    """``git rev-parse HEAD`` in the package's folder; None outside a git checkout or without git."""
    try:
        proc = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                              text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = proc.stdout.strip() if proc.returncode == 0 else ""
    return commit or None


def environment() -> dict:
    """Package version, git commit, Python, platform and the versions of the numerical libraries."""
    def lib(name):
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    return {"scalinglab": VERSION, "git_commit": git_commit(), "python": sys.version.split()[0],
            "platform": platform.platform(), "libraries": {name: lib(name) for name in LIBRARIES}}


def check_executor(jobs: int, scheduler: str | None) -> None:
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"--jobs must be an integer >= 1 (got {jobs!r})")
    if scheduler is not None and jobs != 1:
        raise ValueError("give either --jobs or --scheduler, not both")


def run_points(points: list[Point], store: PointStore, *, jobs: int = 1, scheduler: str | None = None,
               progress: bool = True, label: str = "points") -> tuple[list, int]:
    """(values in the order of ``points``, number reused from the store); computes and stores the rest."""
    check_executor(jobs, scheduler)
    unique = {p.key: p for p in points}
    todo = [p for key, p in unique.items() if store.get(key) is None]
    reused = len(unique) - len(todo)
    if not todo:
        results = ()  # nothing to run: do not start workers or connect to a scheduler
    elif scheduler is not None:
        results = _dask(todo, scheduler)
    elif jobs > 1 and len(todo) > 1:
        results = _local(todo, jobs)
    else:
        results = ((p, tasks.run(p.kind, p.params)) for p in todo)
    tty = progress and sys.stderr.isatty()
    with tqdm(total=len(unique), initial=reused, desc=label, unit="pt", file=sys.stderr, disable=not tty,
              dynamic_ncols=True) as bar:
        for done, (point, value) in enumerate(results, start=reused + 1):
            store.put(point.key, value)
            bar.update()
            if progress and not tty:
                print(f"[{done}/{len(unique)}] {tasks.describe(point.kind, point.params, value)}", file=sys.stderr,
                      flush=True)
    return [store.get(p.key) for p in points], reused


def _exit_with_parent(parent: int) -> None:
    """Worker initializer: ignore SIGINT (Ctrl-C reaches the whole process group; a worker interrupted while it holds
    the pool's queue could leave the parent waiting on it forever: the parent handles it, ``_local``), and exit when
    the parent dies (after a SIGKILL of the parent a pool worker would otherwise wait forever on the task queue, whose
    write end it inherited)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _local(points: list[Point], jobs: int):
    pool = ProcessPoolExecutor(max_workers=jobs, initializer=_exit_with_parent, initargs=(os.getpid(),))
    finished = False
    try:
        futures = {pool.submit(tasks.run, p.kind, p.params): p for p in points}
        for future in as_completed(futures):
            yield futures[future], future.result()
        finished = True
    finally:
        if not finished:  # interrupted (Ctrl-C, an error, the consumer stopped): the running points are not waited for
            for process in list(pool._processes.values()):  # (the executor has no public way to stop its workers)
                process.terminate()
        pool.shutdown(wait=True, cancel_futures=True)


def _dask(points: list[Point], address: str):
    try:
        from distributed import Client, as_completed as dask_completed
    except ImportError:
        raise ValueError("--scheduler needs dask.distributed: pip install 'scalinglab[cluster]'") from None
    try:
        client = Client(address, set_as_default=False)  # connect timeout: dask config distributed.comm.timeouts.connect
    except (OSError, TimeoutError, ValueError) as exc:
        raise ValueError(f"cannot reach the Dask scheduler at {address!r}: {exc}") from None
    with client:
        futures = {client.submit(tasks.run, p.kind, p.params, pure=False): p for p in points}
        for future in dask_completed(futures, loop=client.loop):
            yield futures[future], future.result()
