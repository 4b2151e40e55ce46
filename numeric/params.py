"""Validation of the physical parameters shared by every diagonal-network computation.

Each check raises ``ValueError`` with a one-line message naming the parameter, so that the
command line can print it as it is and exit with status 2.
"""

from __future__ import annotations

import math
import os


def _finite(name: str, value) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number (got {value!r})") from None
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite (got {value!r})")
    return x


def check_dimension(d) -> int:
    """d is the number of input coordinates: an integer >= 1."""
    x = _finite("d", d)
    if x < 1 or x != int(x):
        raise ValueError(f"d must be an integer >= 1 (got {d!r})")
    return int(d) if isinstance(d, int) else int(x)  # a Python int stays exact (10**24 is not a float)


def check_gamma(gamma, rank=None) -> float:
    """gamma is the teacher decay; the power-law teacher is square-summable only for gamma > 1/2. A teacher cut at a
    finite ``rank`` is a finite sum: any gamma >= 0 (0: flat, s_k equal for k <= rank)."""
    g = _finite("gamma", gamma)
    if rank is None and g <= 0.5:
        raise ValueError(f"gamma must be > 1/2 for a normalisable power-law teacher (got {gamma!r}; "
                         "a teacher of finite --rank takes any gamma >= 0)")
    if g < 0:
        raise ValueError(f"gamma must be >= 0 (got {gamma!r})")
    return g


def check_nonnegative(name: str, value) -> float:
    x = _finite(name, value)
    if x < 0:
        raise ValueError(f"{name} must be >= 0 (got {value!r})")
    return x


def check_diagonal_params(d, n, lam, gamma, noise, rank=None) -> tuple[int, float, float, float, float]:
    """Validate (d, n, lambda, gamma, Delta) and return them as (int, float, float, float, float); ``rank``: a teacher
    of finite rank (check_gamma)."""
    return (
        check_dimension(d),
        check_nonnegative("n", n),
        check_nonnegative("lam", lam),
        check_gamma(gamma, rank),
        check_nonnegative("noise", noise),
    )


def check_solver_budget(tol_name: str, tol, max_iter) -> tuple[float, int]:
    """A solver's stopping tolerance (> 0) and iteration budget (integer >= 1)."""
    if not tol > 0:
        raise ValueError(f"{tol_name} must be > 0 (got {tol!r})")
    if int(max_iter) != max_iter or max_iter < 1:
        raise ValueError(f"max_iter must be an integer >= 1 (got {max_iter!r})")
    return float(tol), int(max_iter)


def check_rank(rank, d: int) -> int | None:
    """The quadratic teacher's rank: None (the full power law) or an integer in 1..d."""
    if rank is None:
        return None
    r = check_count("rank", rank, 1)
    if r > d:
        raise ValueError(f"rank must be <= d (got rank {rank!r}, d {d})")
    return r


def check_count(name: str, value, minimum: int) -> int:
    """An integer count >= minimum (n of a simulation, seeds, width, rank); bools and strings refused."""
    try:
        ok = not isinstance(value, (bool, str)) and float(value) == int(value) and value >= minimum
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise ValueError(f"{name} must be an integer >= {minimum} (got {value!r})")
    return int(value)


def check_alpha(alpha) -> float:
    """alpha is the decay of the dynamics teacher's coefficients lambda_j ~ j^-alpha: any finite alpha >= 0."""
    return check_nonnegative("alpha", alpha)


def check_memory(what: str, floats: float) -> None:
    """Refuse, before allocating, an array of ``floats`` float64 values larger than half of this machine's memory."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if 8.0 * floats > total / 2:
        raise ValueError(f"{what} needs {8.0 * floats / 2**30:.3g} GiB, more than half of this machine's "
                         f"{total / 2**30:.0f} GiB")


def check_positive(name: str, value) -> float:
    x = _finite(name, value)
    if x <= 0:
        raise ValueError(f"{name} must be > 0 (got {value!r})")
    return x
