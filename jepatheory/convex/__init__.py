"""The convex layer: certified relaxations for constrained JEPA architectures (THEORY T6)
and convex design of environments on a support graph (THEORY D5).

* :mod:`~jepatheory.convex.fantope` -- the Fantope, Ky Fan's principle, projections;
* :mod:`~jepatheory.convex.relax` -- :func:`relax`, :func:`architecture_gap`,
  :func:`dual_bound` (T6);
* :mod:`~jepatheory.convex.design` -- :func:`fastest_mixing`, :func:`design_chain`,
  :func:`design_actions`, :func:`design_grid_slip` (D5);
* :mod:`~jepatheory.convex.checks` -- the T6 checks behind ``jepatheory prove``.

CVXPY (Clarabel, then SCS) is imported only when a solve needs it.
"""
from __future__ import annotations

from typing import Any

from .errors import ConvexInputError
from .fantope import FantopeCertificate, fantope_max, ky_fan, project_fantope
from .relax import (ARCHS, ArchitectureGap, RelaxationCertificate, architecture_gap,
                    dual_bound, relax)

__all__ = ["ConvexInputError", "FantopeCertificate", "fantope_max", "ky_fan",
           "project_fantope", "ARCHS", "ArchitectureGap", "RelaxationCertificate",
           "architecture_gap", "dual_bound", "relax", "fastest_mixing", "design_chain",
           "design_actions",
           "design_grid_slip", "MixingCertificate", "Design", "to_graph"]

_DESIGN = ("fastest_mixing", "design_chain", "design_actions", "design_grid_slip",
           "MixingCertificate", "Design", "to_graph")


def __getattr__(name: str) -> Any:
    if name in _DESIGN:
        from . import design
        return getattr(design, name)
    raise AttributeError(f"module 'jepatheory.convex' has no attribute {name!r}")
