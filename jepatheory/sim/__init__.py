"""Simulated JEPA training, latent planning and sweeps: the experimental side that checks
the theory's predictions (THEORY D3, D4, D6, T3-T5) against measurements.

Data flow: (MDP, nu) -> sampled transitions (:mod:`jepatheory.sampling`) -> trainer
(:mod:`.trainers`, encoders in :mod:`.encoders`) -> embeddings (z, h) -> planner
(:mod:`.planners`) -> policy evaluated in the true MDP -> measurements and the T3 ladder
(:mod:`.measure`) -> sweeps into SQLite (:mod:`.sweep`) -> figures (:mod:`.plots`).
Input-level baselines (count model, next-feature regression) are in :mod:`.baselines`.
"""
from __future__ import annotations

from .baselines import BASELINES, count_kernel, feature_kernel
from .encoders import ENCODERS, Encoder, make_encoder
from .measure import Measurement, run_cell, run_experiment
from .planners import (
                       PLANNERS,
                       PlanOutcome,
                       cem_planner,
                       latent_value_iteration,
                       plan,
                       projected_planner,
)
from .trainers import TRAINERS, Trained, TrainLog, train

__all__ = ["BASELINES", "count_kernel", "feature_kernel", "ENCODERS", "Encoder",
           "make_encoder", "Measurement", "run_cell", "run_experiment",
           "PLANNERS", "PlanOutcome", "cem_planner", "latent_value_iteration", "plan",
           "projected_planner", "TRAINERS", "Trained", "TrainLog", "train"]
