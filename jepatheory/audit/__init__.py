"""Audit a trained JEPA world model on a finite environment: the theory's quantities
(eps, eps_a, excess over tail_k, principal angles, collapse, the T3 ladder, R0) and the
practitioners' diagnostics (RankMe, alpha-ReQ, LiDAR). See :mod:`jepatheory.audit.core`."""
from .adapters import (
    CallableModel,
    WorldModel,
    embeddings_of,
    from_callables,
    from_protocol,
    observations,
)
from .core import (
    COLLAPSE_TOL,
    Audit,
    audit,
    eps_per_action,
    model_singular_values,
    principal_angles,
)
from .diagnostics import alpha_req, effective_rank, lidar, rankme

__all__ = [
    "COLLAPSE_TOL",
    "Audit",
    "CallableModel",
    "WorldModel",
    "alpha_req",
    "audit",
    "effective_rank",
    "embeddings_of",
    "eps_per_action",
    "from_callables",
    "from_protocol",
    "lidar",
    "model_singular_values",
    "observations",
    "principal_angles",
    "rankme",
]
