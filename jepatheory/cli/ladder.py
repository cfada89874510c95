"""``jepatheory ladder``: the T3 regret ladder of one plug-in run and the T5 chain."""
from __future__ import annotations

import argparse

from .._results import table
from ..bounds.ladder import plugin_run
from ..cooccurrence import CoOccurrence
from ._common import (ENV_HELP, HelpFormatter, add_env_args, add_output_args, env_info, load_env,
                      print_json, say)

EPILOG = ENV_HELP + """
examples:
  jepatheory ladder --k 8 --n 20000                      four-rooms
  jepatheory ladder --env chain -p n=20 --k 4 --n 5000 --seed 3 --json
  jepatheory ladder --env sbm --k 4 --n 1e5 --plot ladder.png

Samples n transitions from nu, trains the exact-ERM plug-in estimator (truncated SVD of the
empirical T_hat), plans in the clipped model with the empirical q_hat, and prints every
rung: R0 (measured regret) <= R1 <= R2 <= R3 <= R3w <= R4_T4, R4_T4b (high probability), the
side rungs R3_rowmax, R3w_data_free, and the T5 chain of the count model on the same data.
An ordering violation is an error (exit 2) naming the two rungs.

JSON keys: env, n, k, seed, ladder (R0, R_exact, R1_span, R1, R2, R3, R3w, R4_T4, R4_T4b,
R3_rowmax, R3_best, R3w_data_free, eps, eps_used, tail_k, C_pi_star, C_pi_hat, D_pi_star,
D_pi_hat, min_nu, c, trivial_bound, kappa_model, vacuous, ratios, t4, t4b, slack (the named
factors of K1), R3w_floor, R3w_floor_any, eps_route_can_certify, ...), eps_floor (K2 per
environment: floor per k, can_certify, k_min, eps_route_can_certify; null above rank 2000),
chain (R0, R1, R_weissman,
R_rows, R_T5, ...), ratios (ladder and chain).
"""


#: K2's per-environment floor needs tail_k up to the rank; computed up to this rank only.
EPS_FLOOR_MAX_RANK = 2000


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ladder", help="regret ladder R0..R4 of a plug-in run, T5 chain",
                       description="Train the plug-in JEPA model on n sampled transitions, plan "
                       "with q_hat, and print the T3 ladder R0 <= R1 <= R2 <= R3 <= R3w <= R4 "
                       "with the ratios between rungs, and the T5 chain of the count model.",
                       epilog=EPILOG, formatter_class=HelpFormatter)
    add_env_args(p)
    p.add_argument("--k", type=int, default=8, help="latent dimension")
    p.add_argument("--n", default="20000", help="number of sampled transitions")
    p.add_argument("--delta", type=float, default=0.05, help="failure probability of R4, T5")
    add_output_args(p)
    p.add_argument("--plot", metavar="FILE", help="ladder bars (needs the 'plot' extra)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..bounds.curves import parse_grid
    mdp, nu = load_env(args)
    n = parse_grid(args.n, "--n")[0]
    C = CoOccurrence(mdp, nu)
    res = plugin_run(C, n, args.k, args.seed, args.delta)
    ratios = res.check()
    if args.plot:
        from ..bounds.plots import plot_ladder
        plot_ladder(res.ladder, args.plot, res.chain)
    floor = None
    if min(C.n_left, C.n_right) <= EPS_FLOOR_MAX_RANK:  # K2 per environment (dense spectrum)
        from ..bounds.oracle import eps_floor
        floor = eps_floor(C)
    if args.json:
        print_json(dict(env=env_info(mdp), n=res.n, k=res.k, seed=res.seed,
                        ladder=res.ladder.to_dict(), chain=res.chain.to_dict(), ratios=ratios,
                        eps_floor=None if floor is None else floor.to_dict()))
        return 0
    lad, ch = res.ladder, res.chain
    say(args, f"{mdp!r}; plug-in rank-{res.k} model from n = {res.n} samples (seed "
        f"{res.seed}), planned with q_hat")
    say(args, f"c = {lad.c:.6g}, trivial bound R_max/(1-gamma) = {lad.trivial_bound:.6g}; "
        f"C^pi* = {lad.C_pi_star:.6g}, C^pi_hat = {lad.C_pi_hat:.6g}; eps(z,h) = "
        f"{lad.eps:.6g}, eps(z,h') = {lad.eps_used:.6g}, tail_k = {lad.tail_k:.6g}")
    rows = [dict(rung=k, value=v, vacuous=(None if v is None else v >= lad.trivial_bound))
            for k, v in lad.rungs().items()]
    say(args, table(rows))
    say(args, "ratios: " + ", ".join(f"{k} = {v:.3g}" for k, v in ratios["ladder"].items()))
    if lad.slack is not None:
        say(args, "slack (K1): " + ", ".join(f"{k} x{v:.3g}" for k, v in
                                             lad.slack.factors().items() if v is not None))
    if floor is not None:
        say(args, f"eps floor (K2): the eps route can certify from k = {floor.k_min} "
            f"(full rank {floor.full_rank}); at k = {lad.k}: "
            f"{'yes' if lad.eps_route_can_certify else 'no, at any n'}")
    say(args, "T5 chain of the count model on the same data:")
    say(args, table([dict(rung=k, value=v, vacuous=v >= ch.trivial_bound)
                     for k, v in ch.ordered()]))
    say(args, "ratios: " + ", ".join(f"{k} = {v:.3g}" for k, v in ratios["chain"].items()))
    return 0
