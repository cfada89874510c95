"""Size estimates and memory checks made *before* anything large is allocated.

Every entry point that can be asked for an arbitrarily large object (an environment
family, an ``.npz`` file, a convex design, a sweep grid, a benchmark) estimates the bytes
it will need and calls :func:`check_memory` first. The check compares the estimate with
the memory this run may use:

* the override, if one is set: :func:`set_max_memory` (the command line's
  ``--max-memory``) or the environment variable ``JEPATHEORY_MAX_MEMORY`` (``4G``,
  ``512M``, ``2.5e9``; ``inf`` turns the check off);
* otherwise the smallest of the kernel's ``MemAvailable`` (``/proc/meminfo``), the cgroup
  limit (``memory.max`` minus ``memory.current``) and the address-space limit
  (``RLIMIT_AS`` minus what the process already maps).

A request that does not fit raises :class:`~jepatheory.errors.ResourceLimitError` naming
the estimate, the available memory and the override. Estimates are deliberately generous
(peak working set of the build, not the size of the result): refusing a build that would
have fit by a factor of two is cheap, starting one that is killed at 17 GB is not.
"""
from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

from .errors import ResourceLimitError

__all__ = ["ENV_VAR", "MAX_CELLS", "parse_bytes", "format_bytes", "set_max_memory",
           "max_memory", "available_memory", "check_memory", "check_count",
           "estimate_env_bytes", "estimate_npz_member_bytes", "time_limit"]

#: Environment variable holding the override (same syntax as ``--max-memory``).
ENV_VAR = "JEPATHEORY_MAX_MEMORY"
#: Most cells one sweep (or phase grid) may list; each cell is a dict and a store row.
MAX_CELLS = 1_000_000

_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 2**10, "kib": 2**10, "m": 2**20, "mb": 2**20,
          "mib": 2**20, "g": 2**30, "gb": 2**30, "gib": 2**30, "t": 2**40, "tb": 2**40,
          "tib": 2**40}
_override: float | None = None  # set by set_max_memory; None: read the environment


def parse_bytes(text: str | float | int, name: str = "--max-memory") -> float:
    """``"4G"``, ``"512M"``, ``"2.5e9"``, ``"inf"`` -> bytes (``inf``: no limit)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    else:
        s = str(text).strip().lower().replace("_", "")
        num = s.rstrip("kmgtib")
        unit = s[len(num):]
        if s in ("inf", "none", "unlimited"):
            return math.inf
        try:
            value = float(num) * _UNITS[unit]
        except (ValueError, KeyError):
            raise ResourceLimitError(f"{name} {text!r}: not a size (e.g. 4G, 512M, 2.5e9, "
                                     "inf)") from None
    if not value > 0 or math.isnan(value):
        raise ResourceLimitError(f"{name} {text!r}: must be a positive size or inf")
    return value


def format_bytes(n: float) -> str:
    if math.isinf(n):
        return "unlimited"
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} B"


def set_max_memory(value: str | float | None) -> None:
    """Set (or with ``None`` clear) the override for this process."""
    global _override
    _override = None if value is None else parse_bytes(value)


def max_memory() -> float | None:
    """The override in bytes (``inf``: checks off), or None when there is none."""
    if _override is not None:
        return _override
    env = os.environ.get(ENV_VAR)
    if env:
        return parse_bytes(env, ENV_VAR)
    return None


def _read_int(path: str) -> int | None:
    try:
        with open(path) as fh:
            text = fh.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _mapped_bytes() -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def available_memory() -> tuple[float, str]:
    """(bytes this run may still allocate, where the figure comes from)."""
    over = max_memory()
    if over is not None:
        return over, "the override" if _override is not None else ENV_VAR
    found: list[tuple[float, str]] = []
    avail = _meminfo_available()
    if avail is not None:
        found.append((avail, "MemAvailable"))
    cg_max, cg_cur = (_read_int("/sys/fs/cgroup/memory.max"),
                      _read_int("/sys/fs/cgroup/memory.current"))
    if cg_max is not None and cg_cur is not None:
        found.append((max(cg_max - cg_cur, 0), "the cgroup limit"))
    try:
        import resource
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            found.append((max(soft - _mapped_bytes(), 0), "RLIMIT_AS"))
    except (ImportError, ValueError, OSError):  # pragma: no cover - non-POSIX
        pass
    if not found:  # pragma: no cover - no way to tell: do not refuse
        return math.inf, "unknown"
    return min(found)


def check_memory(need_bytes: float, what: str) -> None:
    """Raise :class:`ResourceLimitError` when ``need_bytes`` does not fit."""
    avail, source = available_memory()
    if need_bytes <= avail:
        return
    raise ResourceLimitError(
        f"{what} needs about {format_bytes(need_bytes)}, more than the "
        f"{format_bytes(avail)} available ({source}); override with --max-memory SIZE or "
        f"{ENV_VAR}=SIZE (e.g. 64G, or inf to turn the check off)")


def check_count(count: int, what: str, limit: int = MAX_CELLS) -> None:
    """Refuse a grid of more than ``limit`` items (checked before it is materialized)."""
    if count > limit:
        raise ResourceLimitError(f"{what}: {count:.3g} items, more than the limit of "
                                 f"{limit:,}; split it into smaller runs")


# ---------------------------------------------------------------------------------------
# environment families

def _num(params: Mapping[str, Any], key: str, default: float) -> float:
    v = params.get(key, default)
    try:
        f = float(v)
    except (TypeError, ValueError, OverflowError):
        return float(default)  # the family's own validation names the bad value
    return f if math.isfinite(f) and f >= 0 else float(default)  # likewise


def _kernel_bytes(N: float, m: float, nnz_per_row: float | None = None) -> float:
    """Peak bytes of a flat (N*m, N) sparse kernel with ``nnz_per_row`` entries per row, its
    construction temporaries, the validation copies and the co-occurrence matrix built from
    it (about 150 bytes per stored entry; measured peaks at 1e6 states are 0.6x (chain) and
    0.5x (grid) of this estimate)."""
    nnz = N * m * (m if nnz_per_row is None else nnz_per_row)
    return 150.0 * nnz + 64.0 * N * m


def estimate_env_bytes(family: str, params: Mapping[str, Any]) -> float | None:
    """Peak bytes to build family ``family`` with ``params`` and its co-occurrence matrix,
    or None when the family has no estimate (then no check is made)."""
    p = params
    if family in ("chain", "ring"):
        return _kernel_bytes(_num(p, "n", 20), 2)
    if family in ("grid", "maze"):
        N = _num(p, "width", 10 if family == "grid" else 8) * \
            _num(p, "height", 10 if family == "grid" else 8)
        extra = 400.0 * N if family == "maze" else 0.0  # the depth-first stack and walls
        return _kernel_bytes(N, 4) + 24.0 * N + extra
    if family == "rooms":
        text = str(p.get("map", ""))
        rows = text.replace("/", "\n").split("\n")
        N = len(rows) * max((len(r) for r in rows), default=0)
        return _kernel_bytes(N, 4) + 24.0 * N
    if family == "tree":
        depth, b = _num(p, "depth", 4), _num(p, "branching", 2)
        if depth < 1 or b < 1:
            return None
        # (b^(depth+1) - 1)/(b - 1) nodes; computed in logs so depth = 1e9 does not overflow
        log_n = (depth + 1) * math.log(b) if b > 1 else math.log(depth + 1)
        N = math.exp(min(log_n, 700.0))
        m = b + 1
        return _kernel_bytes(N, m) + 600.0 * N  # networkx keeps ~600 bytes per node
    if family == "expander":
        n, d = _num(p, "n", 64), _num(p, "degree", 4)
        return _kernel_bytes(n, d) + 300.0 * n * d
    if family == "random-sparse":
        n, a, b = _num(p, "n", 50), _num(p, "actions", 4), _num(p, "branching", 3)
        return _kernel_bytes(n, a, b) + 8.0 * n  # rng.choice(n) per row allocates n
    if family == "sbm":
        n = _num(p, "clusters", 4) * _num(p, "size", 10)
        a = _num(p, "actions", 2)
        return 4 * 8.0 * n * a * n  # dense P, its validation copies and T
    if family == "block-mdp":
        L = _num(p, "latent_width", 4) * _num(p, "latent_height", 4)
        k, d = _num(p, "obs_per_latent", 8), _num(p, "d_x", 16)
        N = L * k
        return _kernel_bytes(N, 4, 4 * k) + 3 * 8.0 * N * d
    return None


def estimate_npz_member_bytes(shape: tuple[int, ...], itemsize: int) -> float:
    """Bytes of an array of ``shape`` (a float: a hostile header may declare 1e30)."""
    return float(math.prod(float(s) for s in shape)) * itemsize


class time_limit:  # noqa: N801 - used as a context manager, reads like a function
    """``with time_limit(30, DerivationTimeoutError, "derivation"):`` raises the error when
    the body runs longer than ``seconds`` (SIGALRM; on a thread other than the main one,
    or without SIGALRM, the body runs unlimited). Pure-Python work such as SymPy's is
    interrupted between bytecodes."""

    def __init__(self, seconds: float | None, error: type[Exception], what: str) -> None:
        self.seconds, self.error, self.what = seconds, error, what
        self._old: Any = None
        self._armed = False

    def _fire(self, signum: int, frame: Any) -> None:
        raise self.error(f"{self.what} did not finish within {self.seconds:g} s "
                         "(raise the limit with --timeout, or simplify the input)")

    def __enter__(self) -> time_limit:
        import signal
        import threading
        if (self.seconds is None or not hasattr(signal, "SIGALRM")
                or threading.current_thread() is not threading.main_thread()):
            return self
        self._old = signal.signal(signal.SIGALRM, self._fire)
        signal.setitimer(signal.ITIMER_REAL, float(self.seconds))
        self._armed = True
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._armed:
            import signal
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._old)
