"""Solver plumbing for the convex layer: Clarabel first, SCS as the fallback, and a typed
error naming the status when neither returns an optimal point."""
from __future__ import annotations

from typing import Any

from ..errors import SolverError

__all__ = ["solve_problem", "SOLVERS"]

#: tried in this order by ``solver="auto"``
SOLVERS = ("CLARABEL", "SCS")
_OK = ("optimal", "optimal_inaccurate")


def solve_problem(prob: Any, solver: str = "auto", **opts: Any) -> tuple[str, str]:
    """Solve a CVXPY problem; returns ``(solver used, status)``.

    ``solver="auto"`` tries Clarabel, then SCS if Clarabel raises or returns a status other
    than optimal. Infeasible, unbounded or failed solves raise
    :class:`~jepatheory.errors.SolverError` naming the status of every solver tried.
    """
    import cvxpy as cp

    order = SOLVERS if solver.upper() == "AUTO" else (solver.upper(),)
    tried = []
    for name in order:
        if name not in cp.installed_solvers():
            tried.append(f"{name}: not installed")
            continue
        kw = dict(opts)
        if name == "SCS":
            kw.setdefault("eps_abs", 1e-9)
            kw.setdefault("eps_rel", 1e-9)
            kw.setdefault("max_iters", 100000)
        try:
            prob.solve(solver=name, **kw)
        except cp.error.SolverError as exc:
            tried.append(f"{name}: solver error ({exc})")
            continue
        status = str(prob.status)
        if status in ("infeasible", "unbounded", "infeasible_inaccurate", "unbounded_inaccurate"):
            raise SolverError(f"{name}: problem is {status}")
        if status in _OK:
            return name, status
        tried.append(f"{name}: status {status}")
    raise SolverError("no solver returned an optimal point (" + "; ".join(tried) + ")")
