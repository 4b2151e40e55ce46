"""The dense gradient flow integrated numerically: an independent check of ``numeric.flow`` (not a solver).

    dW/dt = 4 (W A - (W W^T) W),   A = diag(lam_1..lam_r, 0, ...),   W(0) = initial_weights(d, m, sigma0, seed),

the m x d state integrated by scipy's DOP853 (rtol = 1e-12), O(m^2 d) per right-hand side (never a d x d matrix);
R = ||W^T W - A||_F^2 by ``risk_of_weights``. It shares only W0, the teacher and the risk formula with the exact
flow: no closed form, no factored state.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from .flow import check_times
from .he2_student import initial_weights, risk_of_weights
from .he2_teacher import check_rank, he2_teacher
from .params import check_count, check_dimension, check_positive

# Largest d m integrated: beyond, use numeric.flow (this is a check, not a solver).
MAX_ENTRIES = 2 * 10**6
# Relative tolerance of DOP853: the error per step is ~1e-12 of each entry, and the global error stays ~1e-10 over
# the few thousand steps of a learning curve, well inside the 1e-8 agreement the check asserts.
RTOL = 1e-12
# Absolute tolerance relative to the initial entry scale sigma0/sqrt(d): entries never learned shrink (the
# complement decays like 1/sqrt(1 + 8 sigma0^2 t)) but not by more than ~1e2 over the checked times, so a relative
# error <= 1e-12 * 1e2 = 1e-10 on them; a pure rtol would stall on entries passing through 0.
ATOL_SCALE = 1e-14


def flow_ode(d, r, alpha, width, times, *, sigma0=1.0, seed=0) -> np.ndarray:
    """R(t) at the sorted ``times`` of the dense flow (module docstring); ArithmeticError if the integrator fails."""
    d, m = check_dimension(d), check_count("width", width, 1)
    r = check_rank(r, d)
    sigma0 = check_positive("sigma0", sigma0)
    seed = check_count("seed", seed, 0)
    times = check_times(times)
    if d * m > MAX_ENTRIES:
        raise ValueError(f"flow_ode is a check, not a solver: d*width must be <= {MAX_ENTRIES:.0e} (got {d * m:.1e})")
    teacher = he2_teacher(r, alpha)
    lam = teacher.head
    w0 = initial_weights(d, m, sigma0, seed)

    def rhs(_t, y):
        w = y.reshape(m, d)
        out = -(w @ w.T) @ w
        out[:, :r] += w[:, :r] * lam
        return 4.0 * out.ravel()

    solution = solve_ivp(rhs, (0.0, float(times[-1])), w0.ravel(), method="DOP853", t_eval=times, rtol=RTOL,
                         atol=ATOL_SCALE * sigma0 / np.sqrt(d))
    if not solution.success:
        raise ArithmeticError(f"flow_ode: DOP853 failed ({solution.message})")
    return np.array([risk_of_weights(y.reshape(m, d), lam) for y in solution.y.T])
