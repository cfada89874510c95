"""Shared checks of the bounds layer: the sample-size/confidence inputs of every finite-
sample bound (T4, T4b, T5) and the ordered pairs of a ladder (T3, T5).

Kept apart so :mod:`.finite_sample`, :mod:`.plugin`, :mod:`.input_level` and :mod:`.ladder`
share them without importing one another.
"""
from __future__ import annotations

from typing import Any

from ..errors import BoundInputError, LadderOrderError

__all__ = ["REL_TOL", "check_n_delta", "check_pairs"]

#: relative slack of a checked inequality ``lo <= hi`` (rounding of the sums that form them)
REL_TOL = 1e-9


def check_n_delta(n: float, delta: float) -> None:
    """Raise :class:`~jepatheory.errors.BoundInputError` unless n is an integer >= 2 and
    delta is in (0, 1).

    >>> check_n_delta(100, 0.05)
    """
    if not (isinstance(n, (int, float)) and n >= 2 and float(n) == int(n)):
        raise BoundInputError(f"n = {n!r} must be an integer >= 2")
    if not (0.0 < float(delta) < 1.0):
        raise BoundInputError(f"delta = {delta!r} must be in (0, 1)")


def check_pairs(obj: Any, pairs: list[tuple[str, str]], scale: float,
                probabilistic: dict[str, float] | None = None) -> dict[str, float]:
    """Check ``lo <= hi`` for each pair of attribute names of ``obj`` (up to
    :data:`REL_TOL` relative to the values and to ``scale``); return the ratios hi/lo.
    A violation raises :class:`~jepatheory.errors.LadderOrderError` naming both values."""
    probabilistic = probabilistic or {}
    ratios: dict[str, float] = {}
    for lo_name, hi_name in pairs:
        lo, hi = getattr(obj, lo_name), getattr(obj, hi_name)
        if lo is None or hi is None:
            continue
        if lo > hi + REL_TOL * (abs(hi) + abs(lo)) + REL_TOL * scale:
            note = ""
            if hi_name in probabilistic:
                note = (f" ({hi_name} holds with probability >= 1 - "
                        f"{probabilistic[hi_name]:.3g}; this may be a rare failure)")
            raise LadderOrderError(f"{lo_name} = {lo:.10g} exceeds {hi_name} = {hi:.10g} "
                                   f"(by {lo - hi:.3g}){note}")
        ratios[f"{hi_name}/{lo_name}"] = (hi / lo if lo > 0 else
                                          (float("nan") if hi == 0 else float("inf")))
    return ratios
