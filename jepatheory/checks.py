"""The registry of machine checks behind ``jepatheory prove``.

Each layer registers the checks of the THEORY results it implements, in a module
``checks.py`` of its own (``jepatheory.symbolic.checks``, ``jepatheory.bounds.checks``,
``jepatheory.convex.checks``, ``jepatheory.sim.checks``); :func:`all_checks` imports those
that exist. A check is a function ``fn(seed: int) -> CheckOutcome`` that *computes* its
evidence (a symbolic difference simplified to 0, the worst margin over random instances,
a verified certificate) and says whether it passed.

Statuses (THEORY: each result's status must be one of :data:`STATUSES`).
"""
from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._results import Result

__all__ = ["STATUSES", "Check", "CheckOutcome", "CheckResult", "register", "is_registered",
           "all_checks", "run_checks", "PROVIDERS"]

STATUSES = (
    "proved symbolically",
    "proved on paper and checked numerically",
    "conjecture (checked numerically only)",
)

#: Modules that register checks when imported (missing ones are skipped).
PROVIDERS = ("jepatheory.symbolic.checks", "jepatheory.bounds.checks",
             "jepatheory.convex.checks", "jepatheory.sim.checks", "jepatheory.paper.checks")


@dataclass(frozen=True, repr=False)
class CheckOutcome(Result):
    """What a check found: verdict, a one-line summary of the evidence, and numbers."""

    passed: bool
    evidence: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Check:
    id: str
    statement: str
    status: str
    proof: str
    fn: Callable[[int], CheckOutcome]

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"check {self.id}: status {self.status!r} not in {STATUSES}")


@dataclass(frozen=True, repr=False)
class CheckResult(Result):
    id: str
    statement: str
    status: str
    proof: str
    passed: bool
    evidence: str
    seconds: float
    details: dict[str, Any] = field(default_factory=dict)


_REGISTRY: dict[str, Check] = {}


def register(id: str, statement: str, status: str, proof: str
             ) -> Callable[[Callable[[int], CheckOutcome]], Callable[[int], CheckOutcome]]:
    """Decorator: register ``fn`` as the check of result ``id`` (e.g. ``"T1"``, ``"T3.R1"``).

    ``proof`` is the path of its document relative to the repository (``proofs/T1.md``).
    Registering the same id twice replaces the earlier check.
    """
    def deco(fn: Callable[[int], CheckOutcome]) -> Callable[[int], CheckOutcome]:
        _REGISTRY[id] = Check(id=id, statement=statement, status=status, proof=proof, fn=fn)
        return fn
    return deco


def is_registered(id: str) -> bool:
    """Whether a check of result ``id`` (or of one of its parts ``id.*``) is registered."""
    return any(i == id or i.startswith(id + ".") for i in _REGISTRY)


def all_checks() -> list[Check]:
    """Import every provider and return the registered checks in registration order."""
    for mod in PROVIDERS:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name is None or not mod.startswith(exc.name):
                raise
    return list(_REGISTRY.values())


def run_checks(ids: list[str] | None = None, seed: int = 0,
               on_result: Callable[[CheckResult], None] | None = None) -> list[CheckResult]:
    """Run the checks (all, or those whose id starts with one of ``ids``).

    A check that raises counts as failed, with the exception as its evidence.
    """
    out = []
    for c in all_checks():
        if ids and not any(c.id == i or c.id.startswith(i + ".") for i in ids):
            continue
        t0 = time.perf_counter()
        try:
            o = c.fn(seed)
            passed, evidence, details = o.passed, o.evidence, o.details
        except Exception as exc:  # a failing check is a result, not a crash
            passed, evidence, details = False, f"raised {type(exc).__name__}: {exc}", {}
        res = CheckResult(id=c.id, statement=c.statement, status=c.status, proof=c.proof,
                          passed=bool(passed), evidence=evidence,
                          seconds=time.perf_counter() - t0, details=details)
        out.append(res)
        if on_result:
            on_result(res)
    return out
