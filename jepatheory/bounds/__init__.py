"""Bounds of the theory for a concrete MDP: the T3 regret ladder, the finite-sample bound
T4, the plug-in bound T4b, the input-level baseline T5, kappa_k, and the bound curves over
k and n with k*.

Data flow: MDP, nu -> T (:class:`~jepatheory.cooccurrence.CoOccurrence`) -> spectrum ->
tail_k, kappa_k -> eps bounds (T4, T4b) -> regret bounds (T3: ``c sum_pi sqrt(C^pi)
sqrt(eps)``), against the count model (T5).
"""
from __future__ import annotations

from .constants import concentrability, min_nu, regret_constant, row_factor, trivial_bound
from .finite_sample import T4Bound, encoder_dimension, kappa_grid_index, t4_bound, t4_dev
from .input_level import CountChain, T5Bound, count_model_chain, t5_bound, t5_curve, weissman_rows
from .kappa import Kappa, kappa_k, kappa_rescaled_curve
from .ladder import Ladder, PluginRun, planner_policy, plugin_run, regret_ladder
from .plugin import (
                          PluginConstants,
                          PluginVariance,
                          T4bBound,
                          plugin_constants,
                          plugin_variance,
                          t4b_bound,
)

__all__ = [
    "regret_ladder", "Ladder", "planner_policy", "plugin_run", "PluginRun",
    "count_model_chain", "CountChain",
    "t5_bound", "t5_curve", "T5Bound", "weissman_rows", "t4_bound", "t4_dev", "T4Bound",
    "encoder_dimension", "kappa_grid_index", "plugin_constants", "plugin_variance",
    "t4b_bound", "PluginConstants", "PluginVariance", "T4bBound", "kappa_k", "Kappa",
    "kappa_rescaled_curve", "regret_constant", "trivial_bound", "concentrability",
    "row_factor", "min_nu",
]
