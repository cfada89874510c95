"""``jepatheory select-k``: rules for choosing k from data against the measured best k (K4)."""
from __future__ import annotations

import argparse

from .._results import table
from ..bounds.curves import parse_grid
from ..certify.pipeline import PLANNER_NAMES
from ..certify.robust import check_delta
from ..certify.select_k import RULES, SUITE, parse_k_list, run_suite, select_k, summarize
from ..cooccurrence import CoOccurrence
from ..errors import BoundInputError
from ..sim.sweep import parse_int_list
from ._common import (
    ENV_HELP,
    HelpFormatter,
    add_env_args,
    env_info,
    load_env,
    print_json,
    say,
)

EPILOG = ENV_HELP + f"""
examples:
  jepatheory select-k --n 1e5 --k 1,2,4,8,16,32 --seeds 0-2 --json     four-rooms
  jepatheory select-k --env sbm --n 1e4 --k 1,2,4,8 --planner latent
  jepatheory select-k --suite --workers 2 --json                       the full suite
  jepatheory select-k --suite quick --json

Samples n transitions, splits them in half, builds the rank-k plug-in JEPA model and the
planner's policy on the first half for every k of the grid, and reports each rule's k:
bound (a-priori k* of T4/T4b), holdout (held-out spectral loss), certificate (k minimizing
the data-only certificate of K3), knee (largest gap sigma_k - sigma_k+1 of T_hat), paper
(the paper-form k*, when jepatheory.paper provides it; else null with the reason), next to
best_k (smallest regret measured in the true MDP) and the regret each choice costs. A rule
agrees when its k is within one grid step of a best k.
--suite [NAME] runs the suite ({', '.join(SUITE)}; default 'default': 14 environments x 3
sample sizes x 2 seeds) and reports each rule's agreement rate and mean regret cost.

JSON keys: env, n, k_values, planner, cells (one per seed and n: chosen, reasons, regret,
upper, holdout_loss, best_k, best_ks, agrees, cost), agreement, mean_cost,
mean_cost_share, evaluated, recommended; with --suite: suite, n_cells, n_envs, agreement,
mean_cost, mean_cost_share, evaluated, recommended, seconds, workers, cells.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("select-k", help="choose k from data; rules against the measured best k",
                       description="Rules for choosing the latent dimension k from data "
                       "(a-priori bound, held-out loss, certificate, spectral knee, paper), "
                       "compared with the k of smallest measured regret.",
                       epilog=EPILOG, formatter_class=HelpFormatter)
    add_env_args(p)
    p.add_argument("--n", default="1e4", help="sample sizes, comma list")
    p.add_argument("--k", default="1,2,4,8,16,32", help="k grid, comma list")
    p.add_argument("--seeds", default="0", help="seeds, e.g. 0-4 or 0,3")
    p.add_argument("--delta", type=float, default=0.05, help="failure probability, in (0, 1)")
    p.add_argument("--planner", default="projected", metavar="NAME",
                   help=f"one of {', '.join(n for n in PLANNER_NAMES if n != 'count')}")
    p.add_argument("--suite", nargs="?", const="default", default=None, metavar="NAME",
                   help="run a suite of environments instead of one")
    p.add_argument("--workers", type=int, default=1, help="local processes for --suite")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_delta(args.delta, "--delta")
    ks = parse_k_list(args.k)
    if args.planner not in PLANNER_NAMES or args.planner == "count":
        raise BoundInputError(f"--planner {args.planner!r} is not one of projected, latent, cem")
    if not 1 <= args.workers <= 64:
        raise BoundInputError(f"--workers = {args.workers} must be in 1..64")
    if args.suite is not None:
        if args.suite not in SUITE:
            raise BoundInputError(f"unknown suite {args.suite!r}; known: {', '.join(SUITE)}")
        res = run_suite(args.suite, ks=ks, delta=args.delta, planner=args.planner,
                        workers=args.workers)
        if args.json:
            print_json(res.to_dict())
            return 0
        say(args, f"suite {res.suite}: {res.n_cells} cells over {res.n_envs} environments, "
            f"{res.seconds:.1f} s on {res.workers} worker(s)")
        _summary(args, res.to_dict())
        return 0
    ns = parse_grid(args.n, "--n")
    seeds = parse_int_list(args.seeds, "--seeds")
    mdp, nu = load_env(args)
    C = CoOccurrence(mdp, nu)
    cells = [select_k(C, n, ks, seed=s, delta=args.delta, planner=args.planner).to_dict()
             for n in ns for s in seeds]
    summ = summarize(cells)
    if args.json:
        print_json(dict(env=env_info(mdp), n=ns, k_values=cells[0]["k_values"],
                        planner=args.planner, cells=cells, **summ))
        return 0
    for c in cells:
        say(args, f"n = {c['n']}, seed {c['seed']}: best_k = {c['best_k']} (regret "
            f"{min(c['regret'].values()):.4g}); chosen {c['chosen']}")
    _summary(args, summ)
    return 0


def _summary(args: argparse.Namespace, s: dict) -> None:
    say(args, table([{"rule": r, "agreement": s["agreement"][r], "mean_cost": s["mean_cost"][r],
                          "cost_share": s["mean_cost_share"][r], "cells": s["evaluated"][r]}
                     for r in RULES]))
    say(args, f"recommended (smallest mean regret cost, evaluated everywhere): "
        f"{s['recommended']}")
