"""The result of a state-evolution solve (LASSO or Bayes-optimal)."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class SEResult:
    """Fixed point (tau^2, zeta) and excess risk R = (1/n) sum_i MSE_i of a state evolution.

    zeta and active_fraction = (1/n) sum_i P_i are nan for the Bayes-optimal SE. ``residual`` is
    the largest relative residual of the fixed-point equations at the returned point;
    ``converged`` says it is below the solver's stated tolerance (otherwise ``message`` says why).
    ``iterations``: float64 - evaluations of the outer equation; mpmath - Newton steps.
    """

    excess_risk: float
    tau2: float
    zeta: float
    active_fraction: float
    converged: bool
    iterations: int
    residual: float
    method: str
    message: str

    def to_dict(self) -> dict:
        """Plain Python floats / bools / ints / strs (nan and inf stay floats)."""
        kinds = {"converged": bool, "iterations": int, "method": str, "message": str}
        return {f.name: kinds.get(f.name, float)(getattr(self, f.name)) for f in fields(self)}
