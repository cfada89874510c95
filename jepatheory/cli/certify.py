"""``jepatheory certify``: a data-only certified bound on the planning regret (THEORY K3)."""
from __future__ import annotations

import argparse
import math

from .._results import table
from ..bounds.curves import parse_grid
from ..certify.pipeline import PLANNER_NAMES, certify, scan_half_trivial
from ..certify.robust import check_delta
from ..cooccurrence import CoOccurrence
from ..errors import BoundInputError
from ._common import (
    ENV_HELP,
    HelpFormatter,
    add_env_args,
    add_output_args,
    env_info,
    load_env,
    print_json,
    say,
)

EPILOG = ENV_HELP + """
examples:
  jepatheory certify --n 1e6 --json                          four-rooms, projected planner, k=8
  jepatheory certify --env block-mdp --n 1e5 --planner count --delta 0.1
  jepatheory certify --env gym -p id=FrozenLake-v1 --n 1e5 --planner latent --k 4
  jepatheory certify --env chain -p n=20 --scan --planner count --json

Samples n transitions from nu, builds the planner's policy on the first half (a rank-k
plug-in JEPA model planned by 'projected', 'latent' or 'cem', or the count model), and
certifies its regret from the data alone: the robust L1 certificate (Weissman sets around
the count model of all n transitions, exact sort-and-shift inner problems, valid for every
policy at once) and the held-out Bellman-residual certificate (second half), each at
delta/2. 'upper' is the smaller; with probability >= 1 - delta the regret is below it. R0 is
the regret measured in the true MDP (the toolkit knows it; a user with data only does not).
Pairs without samples have radius 2 (the whole simplex); they are listed in 'unsampled'.
--scan: the smallest n of the grid (--n, default 1e3..1e7) at which upper < trivial/2.

JSON keys: upper, upper_robust, upper_bellman, R0, trivial_bound, vacuous, delta, n,
planner, k, seed, covered (R0 <= upper), n_unsampled, unsampled ([s, a] pairs, at most 20),
V_star, V_pi, seconds, robust (V_up, V_lo, n_union, mean_radius, iterations, vi_gap_up,
vi_gap_lo), bellman (V_up, V_lo, b, b_lo, n_train, n_holdout, n_events), env;
with --scan: scan (n_grid, upper, first_n_below_half, trivial_bound, planner).
"""

#: Default n grid of --scan: half decades 1e3 .. 1e7.
SCAN_GRID = "1000,3162,10000,31623,100000,316228,1000000,3162278,10000000"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("certify", help="data-only certified regret bound of a planner (K3)",
                       description="Certify the planning regret of a JEPA planner (or the count "
                       "model) from sampled data alone: robust L1 sets and a held-out Bellman "
                       "residual; compared with the measured regret R0.",
                       epilog=EPILOG, formatter_class=HelpFormatter)
    add_env_args(p)
    p.add_argument("--n", default=None, help="number of sampled transitions (default 1e5; "
                   "with --scan a comma list, default 1e3..1e7)")
    p.add_argument("--delta", type=float, default=0.05, help="failure probability, in (0, 1)")
    p.add_argument("--planner", default="projected", metavar="NAME",
                   help=f"one of {', '.join(PLANNER_NAMES)}")
    p.add_argument("--k", type=int, default=8, help="latent dimension of the JEPA model")
    p.add_argument("--split", type=float, default=0.5,
                   help="share of the data the policy is built on (the rest is held out)")
    p.add_argument("--support", type=int, default=None, metavar="A",
                   help="known bound on the number of successors of every pair (radius with "
                   "A log 2 instead of N log 2)")
    p.add_argument("--scan", action="store_true",
                   help="smallest n at which upper falls below half the trivial bound")
    add_output_args(p)
    p.set_defaults(func=run)


def validate(args: argparse.Namespace) -> None:
    check_delta(args.delta, "--delta")
    if args.planner not in PLANNER_NAMES:
        raise BoundInputError(f"--planner {args.planner!r} is not one of "
                              f"{', '.join(PLANNER_NAMES)}")
    if args.k < 1:
        raise BoundInputError(f"--k = {args.k} must be a positive integer")
    if not (math.isfinite(args.split) and 0 < args.split < 1):
        raise BoundInputError(f"--split = {args.split!r} must be in (0, 1)")


def run(args: argparse.Namespace) -> int:
    validate(args)
    mdp, nu = load_env(args)
    C = CoOccurrence(mdp, nu)
    if args.scan:
        grid = parse_grid(args.n or SCAN_GRID, "--n")
        sc = scan_half_trivial(C, grid, seed=args.seed, delta=args.delta,
                               planner=args.planner, k=args.k, split=args.split)
        if args.json:
            print_json({"env": env_info(mdp), "scan": sc.to_dict()})
            return 0
        say(args, table([{"n": n, "upper": u, "half_trivial": sc.trivial_bound / 2}
                         for n, u in zip(sc.n_grid, sc.upper)]))
        say(args, f"first n with upper < trivial/2: {sc.first_n_below_half}")
        return 0
    n = parse_grid(args.n or "100000", "--n")
    if len(n) != 1:
        raise BoundInputError(f"--n {args.n!r}: give one sample size (a list only with --scan)")
    cert = certify(C, n[0], seed=args.seed, delta=args.delta, planner=args.planner, k=args.k,
                   split=args.split, support=args.support)
    if args.json:
        print_json(dict(cert.to_dict(), env=env_info(mdp)))
        return 0
    say(args, f"{mdp!r}; planner {cert.planner}" + (f" (k = {cert.k})" if cert.k else "")
        + f", n = {cert.n}, delta = {cert.delta}, seed {cert.seed}")
    say(args, table([{"quantity": q, "value": v} for q, v in (
        ("upper", cert.upper), ("upper_robust", cert.upper_robust),
        ("upper_bellman", cert.upper_bellman), ("R0 (measured)", cert.R0),
        ("trivial_bound", cert.trivial_bound))]))
    say(args, f"vacuous: {cert.vacuous}; upper / trivial = {cert.upper / cert.trivial_bound:.3g}"
        f"; unsampled pairs (radius 2): {cert.n_unsampled}"
        + (f", e.g. {cert.unsampled[:5]}" if cert.n_unsampled else ""))
    return 0
