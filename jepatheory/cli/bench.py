"""``jepatheory bench TARGET``: speed and accuracy figures, measured against a baseline in
the same run and printed as ratios."""
from __future__ import annotations

import argparse
import importlib

import functools
import math

from ._common import HelpFormatter, add_memory_arg


def _checked(run, args: argparse.Namespace) -> int:  # noqa: ANN001 - a target's run
    """Refuse a benchmark whose grid does not fit before it builds anything: the targets
    build square grids of --n-states, or --width x --height (see jepatheory.limits)."""
    from ..limits import check_memory, estimate_env_bytes
    if getattr(args, "max_memory", None) is not None:
        from ..limits import set_max_memory
        set_max_memory(args.max_memory)
    n = getattr(args, "n_states", None)
    w, h = getattr(args, "width", None), getattr(args, "height", None)
    if isinstance(n, int):
        side = math.isqrt(n) + 1
        w, h = side, side
    if isinstance(w, int) and isinstance(h, int):
        # the estimate is about twice a grid's measured peak: it covers the baseline copy
        need = estimate_env_bytes("grid", dict(width=w, height=h)) or 0
        check_memory(need, f"bench {args.target} (grid {w} x {h})")
    return run(args)

#: bench targets: module jepatheory.bench.<name> with add_args(parser) and run(args)
TARGETS = ["spectrum", "symbolic", "bound", "train", "convex"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="speed/accuracy benchmarks (figures and ratios)",
                       description=__doc__, formatter_class=HelpFormatter,
                       epilog="examples:\n  jepatheory bench spectrum --quick\n"
                              "  jepatheory bench spectrum --n-states 1000000 --json")
    bsub = p.add_subparsers(dest="target", metavar="TARGET")
    for name in TARGETS:
        try:
            mod = importlib.import_module(f"jepatheory.bench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"jepatheory.bench.{name}":
                continue
            raise
        bp = bsub.add_parser(name, help=(mod.__doc__ or name).strip().splitlines()[0],
                             description=mod.__doc__, formatter_class=HelpFormatter)
        mod.add_args(bp)
        bp.add_argument("--json", action="store_true", help="print one JSON object")
        bp.add_argument("--seed", type=int, default=0, help="random seed")
        add_memory_arg(bp)
        bp.set_defaults(func=functools.partial(_checked, mod.run))
    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])
