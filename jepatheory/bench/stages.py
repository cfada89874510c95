"""Timing a benchmark stage by stage: seconds and peak resident memory, printed as they go
(used by ``bench bound`` and ``bench paper``)."""
from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable
from typing import Any

__all__ = ["Stages", "peak_gib"]


def peak_gib() -> float:
    """Peak resident memory of this process in GiB (``ru_maxrss`` is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


class Stages:
    """``stage(name, fn)`` runs ``fn()``, records ``dict(stage, seconds, peak_GiB)`` in
    :attr:`rows` and prints one line to stderr; returns what ``fn`` returned."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def __call__(self, name: str, fn: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        out = fn()
        self.rows.append(dict(stage=name, seconds=time.perf_counter() - t0, peak_GiB=peak_gib()))
        print(f"  {name}: {self.rows[-1]['seconds']:.2f} s, peak "
              f"{self.rows[-1]['peak_GiB']:.2f} GiB", file=sys.stderr, flush=True)
        return out
