"""``jepatheory demo``: the main job on the default environment (four-rooms with slip)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..app.demo import SECTIONS, DemoContext, check_sections, run_demo
from ._common import (ENV_HELP, HelpFormatter, add_env_args, add_output_args, load_env,
                      make_output_dir, print_json, write_json)

DEFAULT_OUT = "jepatheory-out/demo"

EPILOG = ENV_HELP + """
examples:
  jepatheory demo                               four-rooms, report in ./jepatheory-out/demo
  jepatheory demo --env block-mdp --out runs/block
  jepatheory demo --quick --json                smaller budgets, JSON report on stdout

The output folder gets report.json (every number printed) and figures (with the 'plot'
extra installed).
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="the whole story on one environment (main job)",
                       description=__doc__, epilog=EPILOG, formatter_class=HelpFormatter)
    add_env_args(p)
    p.add_argument("--out", default=DEFAULT_OUT, help="output folder (its parent must exist "
                   "unless it is the default)")
    p.add_argument("--quick", action="store_true", help="smaller budgets (for tests)")
    p.add_argument("--sections", default=None,
                   help="comma-separated subset of: " + ",".join(n for n, _ in SECTIONS))
    add_output_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    only = check_sections(args.sections.split(",")) if args.sections is not None else None
    mdp, nu = load_env(args)
    out = make_output_dir(Path(args.out), "--out", create_parents=args.out == DEFAULT_OUT)
    stream = sys.stderr if args.json else sys.stdout

    def say(*msg: object) -> None:
        print(*msg, file=stream, flush=True)

    ctx = DemoContext(mdp=mdp, nu=nu, out=out, seed=args.seed, quick=args.quick, say=say)
    report = run_demo(ctx, only)
    path = write_json(out / "report.json", report)
    say(f"report: {path}")
    if args.json:
        print_json(report)
    return 0
