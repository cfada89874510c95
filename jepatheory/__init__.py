"""jepatheory: a symbolic-numeric toolkit for the generalization theory of JEPA-based world
models (see THEORY IDs D1-D6, T1-T6 in the docs and ``proofs/``).

Data flow: :class:`MDP` -> conditional graph (:mod:`jepatheory.graph`) -> co-occurrence
matrix T (:class:`CoOccurrence`) -> spectrum (:func:`top_singular`) -> bounds; exact
solvers in :mod:`jepatheory.solvers`; environment families in :mod:`jepatheory.envs`.
"""
from __future__ import annotations

__version__ = "0.1.0"

import importlib
from typing import TYPE_CHECKING, Any

#: public name -> the module that defines it. Imported on first use (PEP 562), so
#: ``import jepatheory`` (and ``jepatheory --help``) loads no SciPy, SymPy or CVXPY.
_HOME = {
    "CoOccurrence": "cooccurrence", "cooccurrence": "cooccurrence",
    "next_state_marginal": "data", "policy_nu": "data", "uniform_nu": "data",
    "validate_nu": "data",
    "FAMILIES": "envs", "make_env": "envs",
    "DiscountError": "errors", "DistributionError": "errors", "JepaTheoryError": "errors",
    "MDPError": "errors", "NegativeProbabilityError": "errors", "NonFiniteError": "errors",
    "OddMDPWarning": "errors", "RowSumError": "errors", "ShapeError": "errors",
    "check_facts": "facts",
    "bipartite_graph": "graph", "conditional_graph": "graph", "mdp_from_graph": "graph",
    "read_graphml": "graph", "write_graphml": "graph",
    "MDP": "mdp", "load_mdp": "mdp", "save_mdp": "mdp",
    "occupancy": "solvers", "optimal_policy": "solvers", "policy_evaluation": "solvers",
    "policy_iteration": "solvers", "value_iteration": "solvers",
    "Spectrum": "spectrum", "top_singular": "spectrum",
}

if TYPE_CHECKING:  # pragma: no cover - for type checkers and readers
    from .cooccurrence import CoOccurrence, cooccurrence
    from .data import next_state_marginal, policy_nu, uniform_nu, validate_nu
    from .envs import FAMILIES, make_env
    from .errors import (DiscountError, DistributionError, JepaTheoryError, MDPError,
                         NegativeProbabilityError, NonFiniteError, OddMDPWarning, RowSumError,
                         ShapeError)
    from .facts import check_facts
    from .graph import (bipartite_graph, conditional_graph, mdp_from_graph, read_graphml,
                        write_graphml)
    from .mdp import MDP, load_mdp, save_mdp
    from .solvers import (occupancy, optimal_policy, policy_evaluation, policy_iteration,
                          value_iteration)
    from .spectrum import Spectrum, top_singular


def __getattr__(name: str) -> Any:
    if name in _HOME:
        value = getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
        globals()[name] = value
        return value
    try:  # a submodule: ``import jepatheory; jepatheory.envs.grid(...)``
        return importlib.import_module(f".{name}", __name__)
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))


__all__ = [
    "__version__", "MDP", "load_mdp", "save_mdp", "CoOccurrence", "cooccurrence",
    "Spectrum", "top_singular", "check_facts", "make_env", "FAMILIES",
    "conditional_graph", "bipartite_graph", "mdp_from_graph", "read_graphml", "write_graphml",
    "uniform_nu", "policy_nu", "validate_nu", "next_state_marginal",
    "occupancy", "optimal_policy", "policy_evaluation", "policy_iteration", "value_iteration",
    "JepaTheoryError", "MDPError", "ShapeError", "NonFiniteError", "NegativeProbabilityError",
    "RowSumError", "DiscountError", "DistributionError", "OddMDPWarning",
]
