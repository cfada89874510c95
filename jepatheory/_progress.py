"""A dependency-free progress bar on stderr.

Shown only when stderr is a terminal (or ``JEPATHEORY_PROGRESS=1``) and not silenced with
``JEPATHEORY_PROGRESS=0``; in logs and CI it prints nothing.
"""
from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def _enabled() -> bool:
    flag = os.environ.get("JEPATHEORY_PROGRESS")
    if flag is not None:
        return flag not in ("0", "", "false", "no")
    return sys.stderr.isatty()


class Progress:
    """Manual progress bar: ``with Progress(total, "svd") as bar: bar.update()``."""

    def __init__(self, total: int | None, desc: str = "", enabled: bool | None = None):
        self.total = total
        self.desc = desc
        self.n = 0
        self.enabled = _enabled() if enabled is None else enabled
        self._t0 = time.perf_counter()
        self._last = 0.0

    def update(self, step: int = 1, note: str = "") -> None:
        self.n += step
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self._last < 0.1 and (self.total is None or self.n < self.total):
            return
        self._last = now
        el = now - self._t0
        if self.total:
            frac = min(self.n / self.total, 1.0)
            bar = "#" * int(24 * frac) + "." * (24 - int(24 * frac))
            eta = el / frac - el if frac > 0 else float("nan")
            msg = f"\r{self.desc} [{bar}] {self.n}/{self.total} {el:5.1f}s eta {eta:5.1f}s {note}"
        else:
            msg = f"\r{self.desc} {self.n} {el:5.1f}s {note}"
        sys.stderr.write(msg[:120].ljust(80))
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress(it: Iterable[T], total: int | None = None, desc: str = "") -> Iterator[T]:
    """Wrap an iterable with a :class:`Progress` bar."""
    if total is None and hasattr(it, "__len__"):
        total = len(it)  # type: ignore[arg-type]
    with Progress(total, desc) as bar:
        for item in it:
            yield item
            bar.update()
