"""``jepatheory bench TARGET``: speed and accuracy figures, measured against a baseline in
the same run and printed as ratios."""
from __future__ import annotations

import argparse
import importlib

from ._common import HelpFormatter

#: bench targets: module jepatheory.bench.<name> with add_args(parser) and run(args)
TARGETS = ["spectrum", "symbolic", "bound", "train", "convex", "certify"]


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
        bp.set_defaults(func=mod.run)
    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])
