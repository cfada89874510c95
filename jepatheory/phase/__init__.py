"""Latent vs input-level world models over observation noise x planning horizon on goal
reaching (THEORY PE, P4, D6): finite-horizon planning, exact evaluation, the models at equal
data, the store cells and the verdict."""
from __future__ import annotations

from .models import (
    ALL_MODELS,
    INPUT_MODELS,
    LATENT_MODELS,
    MODELS,
    NEURAL_MODELS,
    PhaseModel,
    fit_model,
)
from .planning import (
                       Rollout,
                       cem_sequences,
                       exact_sequences,
                       finite_horizon_dp,
                       goal_mask,
                       mpc_policy,
                       optimal_success,
                       plan_sequences,
                       policy_success,
                       sequence_success,
)
from .run import (
                       COSTS,
                       FAMILIES,
                       NOISE_PARAM,
                       PLANNERS,
                       STORE_KIND,
                       aggregate,
                       build_env,
                       paper_k_star,
                       phase_cell_cost,
                       phase_cells,
                       run_phase_cell,
                       verdict,
)

__all__ = [
                       "ALL_MODELS",
                       "COSTS",
                       "FAMILIES",
                       "INPUT_MODELS",
                       "LATENT_MODELS",
                       "MODELS",
                       "NEURAL_MODELS",
                       "NOISE_PARAM",
                       "PLANNERS",
                       "STORE_KIND",
                       "PhaseModel",
                       "Rollout",
                       "aggregate",
                       "build_env",
                       "cem_sequences",
                       "exact_sequences",
                       "finite_horizon_dp",
                       "fit_model",
                       "goal_mask",
                       "mpc_policy",
                       "optimal_success",
                       "paper_k_star",
                       "phase_cell_cost",
                       "phase_cells",
                       "plan_sequences",
                       "policy_success",
                       "run_phase_cell",
                       "sequence_success",
                       "verdict",
]
