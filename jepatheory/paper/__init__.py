"""The paper's own statements, as reported by a public secondary reading of its full text,
reconstructed with every constant (THEORY P1-P6).

* :mod:`~jepatheory.paper.per_action` -- per-action matrices Abar_a (both normalizations),
  their certified spectra, the per-action risk R_a and eps_a (P1, P2);
* :mod:`~jepatheory.convex.worst_action` -- the worst-action bracket with one shared target
  encoder: Fantope relaxation, verified dual, rounded upper bound (P2);
* :mod:`~jepatheory.paper.regret` -- single-step (P3) and T-step (P4) planning regret, exact,
  and their bounds;
* :mod:`~jepatheory.paper.rademacher` -- the Rademacher sample term (P5), the linear-class
  reference model;
* :mod:`~jepatheory.paper.tradeoff` -- the paper-form table, k*(n), the input-level end,
  the crossover (P6);
* :mod:`~jepatheory.paper.checks` -- the P1-P6 checks behind ``jepatheory prove``.
"""
from __future__ import annotations

from .per_action import (
                         NORMALIZATIONS,
                         ActionBlock,
                         ActionSpectrum,
                         PerAction,
                         abar_block,
                         abar_blocks,
                         per_action,
                         per_action_eps,
                         per_action_risk,
)
from .rademacher import (
                         LinearReference,
                         P5Bound,
                         linear_reference,
                         p5_bound,
                         p5_dev,
                         rademacher_linear,
                         rademacher_tabular,
)
from .regret import (
                         SingleStep,
                         TStep,
                         reported_counterexample,
                         shared_encoder_model,
                         single_step,
                         t_step,
                         validate_cost,
)
from .tradeoff import FORMS, PaperBound, paper_bound

__all__ = [
                         "FORMS",
                         "NORMALIZATIONS",
                         "ActionBlock",
                         "ActionSpectrum",
                         "LinearReference",
                         "P5Bound",
                         "PaperBound",
                         "PerAction",
                         "SingleStep",
                         "TStep",
                         "abar_block",
                         "abar_blocks",
                         "linear_reference",
                         "p5_bound",
                         "p5_dev",
                         "paper_bound",
                         "per_action",
                         "per_action_eps",
                         "per_action_risk",
                         "rademacher_linear",
                         "rademacher_tabular",
                         "reported_counterexample",
                         "shared_encoder_model",
                         "single_step",
                         "t_step",
                         "validate_cost",
]
