"""jepatheory: a symbolic-numeric toolkit for the generalization theory of JEPA-based world
models (see THEORY IDs D1-D6, T1-T6 in the docs and ``proofs/``).

Data flow: :class:`MDP` -> conditional graph (:mod:`jepatheory.graph`) -> co-occurrence
matrix T (:class:`CoOccurrence`) -> spectrum (:func:`top_singular`) -> bounds; exact
solvers in :mod:`jepatheory.solvers`; environment families in :mod:`jepatheory.envs`.
"""
from __future__ import annotations

__version__ = "0.1.0"

from .cooccurrence import CoOccurrence, cooccurrence
from .data import next_state_marginal, policy_nu, uniform_nu, validate_nu
from .envs import FAMILIES, make_env
from .errors import (DiscountError, DistributionError, JepaTheoryError, MDPError,
                     NegativeProbabilityError, NonFiniteError, OddMDPWarning, RowSumError,
                     ShapeError)
from .facts import check_facts
from .graph import bipartite_graph, conditional_graph, mdp_from_graph, read_graphml, write_graphml
from .mdp import MDP, load_mdp, save_mdp
from .solvers import occupancy, optimal_policy, policy_evaluation, policy_iteration, value_iteration
from .spectrum import Spectrum, top_singular

__all__ = [
    "__version__", "MDP", "load_mdp", "save_mdp", "CoOccurrence", "cooccurrence",
    "Spectrum", "top_singular", "check_facts", "make_env", "FAMILIES",
    "conditional_graph", "bipartite_graph", "mdp_from_graph", "read_graphml", "write_graphml",
    "uniform_nu", "policy_nu", "validate_nu", "next_state_marginal",
    "occupancy", "optimal_policy", "policy_evaluation", "policy_iteration", "value_iteration",
    "JepaTheoryError", "MDPError", "ShapeError", "NonFiniteError", "NegativeProbabilityError",
    "RowSumError", "DiscountError", "DistributionError", "OddMDPWarning",
]
