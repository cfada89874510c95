"""``jepatheory envs``: list the environment families and their parameters."""
from __future__ import annotations

import argparse

from ..envs import DEFAULT_ENV, FAMILIES
from ._help import HelpFormatter

EPILOG = """\
examples:
  jepatheory envs
  jepatheory envs --json
  jepatheory spectrum --env chain -p n=50 -p slip=0.2

Slip: the intended move with probability 1 - slip, each other move with slip/(m-1).
slip = 0 gives deterministic dynamics and a flat spectrum (F5): no low-rank structure.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("envs", help="list environment families and their parameters",
                       description=__doc__, epilog=EPILOG, formatter_class=HelpFormatter)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--seed", type=int, default=0, help="unused (accepted for uniformity)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    fams = {name: dict(summary=f.summary, params=f.params, extra=f.extra)
            for name, f in FAMILIES.items()}
    if args.json:
        from ._common import print_json

        print_json(dict(default=DEFAULT_ENV, families=fams))
        return 0
    for name, f in fams.items():
        mark = " (default)" if name == DEFAULT_ENV else ""
        extra = f" [needs extra '{f['extra']}']" if f["extra"] else ""
        print(f"{name}{mark}: {f['summary']}{extra}")
        ps = ", ".join(f"{k}={'<map>' if k == 'map' else v!r}" for k, v in f["params"].items())
        print(f"    {ps}")
    return 0
