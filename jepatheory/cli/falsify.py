"""``jepatheory falsify``: search for MDPs where the regret outgrows a bound (K5)."""
from __future__ import annotations

import argparse
import math

from ..certify.falsify import BOUNDS, falsify
from ..errors import BoundInputError
from ._common import HelpFormatter, print_json, say

EPILOG = f"""
examples:
  jepatheory falsify --bound R3w --budget 60 --seed 0 --json
  jepatheory falsify --bound R4_T4b --budget 300 --out worst.npz

Maximizes R0 / bound over random and locally perturbed small MDPs, data distributions and
models for --budget seconds, and saves the instance with the largest ratio (an .npz that
--mdp reads, with the model z, h). Bounds: {', '.join(BOUNDS)}. R3w is deterministic (T3):
a ratio above 1 would refute it. R4_T4b holds with probability >= 1 - delta: a ratio above
1 is a rare failure or a refutation. Every ratio above 1 is listed in 'violations'.

JSON keys: bound, max_ratio, evaluations, seconds, seed, available, reason, violations,
instance (path of the npz), best (R0, bound, R_exact, R1, trivial_bound, n_states,
n_actions, gamma, k, noise, n), errors.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("falsify", help="search for instances where R0 / bound is largest (K5)",
                       description="Falsification search: maximize the measured regret over a "
                       "bound on random and perturbed MDPs and models.", epilog=EPILOG,
                       formatter_class=HelpFormatter)
    p.add_argument("--bound", default="R3w", metavar="NAME", help=f"one of {', '.join(BOUNDS)}")
    p.add_argument("--budget", type=float, default=30.0, help="seconds of search")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="npz for the worst instance (default falsify-BOUND-seedS.npz)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.bound not in BOUNDS:
        raise BoundInputError(f"--bound {args.bound!r} is not one of {', '.join(BOUNDS)}")
    if not (math.isfinite(args.budget) and 0 < args.budget <= 86400):
        raise BoundInputError(f"--budget = {args.budget!r} must be in (0, 86400] seconds")
    out = args.out or f"falsify-{args.bound}-seed{args.seed}.npz"
    res = falsify(args.bound, args.budget, args.seed, out=out)
    if args.json:
        print_json(res.to_dict())
        return 0
    if not res.available:
        say(args, f"{args.bound}: not evaluated: {res.reason}")
        return 0
    say(args, f"{args.bound}: max R0 / bound = {res.max_ratio:.4g} over {res.evaluations} "
        f"instances in {res.seconds:.1f} s; worst instance: {res.instance}")
    say(args, f"ratios above 1: {len(res.violations)}" + (" (REFUTES the rung unless it is "
        "a probabilistic failure)" if res.violations else ""))
    return 0
