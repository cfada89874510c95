"""Errors of the convex layer (input errors; solver failures use
:class:`jepatheory.errors.SolverError`)."""
from __future__ import annotations

from ..errors import JepaTheoryError

__all__ = ["ConvexInputError"]


class ConvexInputError(JepaTheoryError, ValueError):
    """Bad input to a relaxation or a design (architecture, k, support graph, objective)."""
