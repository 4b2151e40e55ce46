"""Closed-form side of scalinglab: SymPy derivations (never imports ``numeric``).

Public surface: ``derive`` (the phase diagram of log_d R by dominant balance on the state
evolution), ``table_latex`` (booktabs table of a diagram) and ``weight_decay_equivalence``.
"""

from .equivalence import weight_decay_equivalence
from .latex import table_latex
from .phase_diagram import PhaseDiagram, Regime, derive

__all__ = ["derive", "PhaseDiagram", "Regime", "table_latex", "weight_decay_equivalence"]
