"""``jepatheory relax``: certified bounds on min eps for a constrained architecture (T6)."""
from __future__ import annotations

import argparse

from ._common import (ENV_HELP, HelpFormatter, add_env_args, add_output_args, env_info, load_env,
                      print_json, say, wide_table)

EPILOG = ENV_HELP + """
architectures (on the coordinates of T, THEORY T6):
  free     T ~ Phi Psi^T of rank k (min eps = tail_k, T2; the relaxation is tight)
  shared   T_a ~ F W_a G^T: one context encoder f, a linear predictor per action
  tied     T_a ~ F W_a F^T: h = f, a linear predictor per action

examples:
  jepatheory relax --env chain -p n=30 --k 3 --arch tied
  jepatheory relax --env four-rooms --k 4 --arch shared --json
  jepatheory relax --mdp my_mdp.npz --k 2 --arch tied --method first-order
  jepatheory relax --env random-sparse --k 3 --arch shared --relaxation commutator

JSON keys: lower (verified lower bound on min eps), upper (eps of a model found), gap
(upper - lower), tail (tail_k), architecture_gap_lower/upper (bounds on min eps - tail_k),
status, solver, method, relaxation (the one whose bound lower is), duality_gap,
cut_duality_gap, cut_rounds, primal_residual, dual_residual, min_eig_psd, verified,
frobenius_sq, rounds, weights (multipliers of the pieces), seconds, note, env.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("relax", help="certified bounds on min eps for tied/shared encoders",
                       description="Lower bounds on min eps of a constrained JEPA architecture "
                       "by a Fantope relaxation with a verified dual certificate, upper bounds "
                       "from an actual model, and the gap (THEORY T6).",
                       epilog=EPILOG, formatter_class=HelpFormatter)
    add_env_args(p)
    p.add_argument("--k", type=int, default=2, help="latent dimension")
    p.add_argument("--arch", choices=["tied", "shared", "free"], default="tied",
                   help="architecture")
    p.add_argument("--method", choices=["auto", "sdp", "sdp-full", "first-order"],
                   default="auto", help="how to solve the relaxation")
    p.add_argument("--relaxation", choices=["auto", "commutator", "fantope"], default="auto",
                   help="fantope: linear pieces (Ky Fan dual); commutator: tightened by the "
                   "exact-on-projectors commutator cut (slower); auto: commutator for tied, "
                   "fantope for shared")
    p.add_argument("--solver", choices=["auto", "CLARABEL", "SCS"], default="auto",
                   help="SDP solver (auto: Clarabel, SCS fallback)")
    add_output_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..convex.relax import architecture_gap
    from ..cooccurrence import CoOccurrence

    mdp, nu = load_env(args)
    C = CoOccurrence(mdp, nu)
    ag = architecture_gap(C, args.k, args.arch, method=args.method, solver=args.solver,
                          relaxation=args.relaxation, seed=args.seed)
    cert = ag.certificate.to_dict()
    for key in ("lam", "anchor_left", "anchor_right"):
        cert.pop(key, None)
    payload = dict(cert, architecture_gap_lower=ag.lower, architecture_gap_upper=ag.upper,
                   env=env_info(mdp))
    if args.json:
        print_json(payload)
        return 0
    say(args, f"{mdp!r}")
    say(args, wide_table([{k: v for k, v in payload.items()
                           if k not in ("env", "note", "weights")}]))
    if payload["note"]:
        say(args, payload["note"])
    say(args, f"{payload['tail']:.6g} = tail_k <= {payload['lower']:.6g} <= min eps_{args.arch} "
        f"<= {payload['upper']:.6g}  (gap {payload['gap']:.2e}, verified={payload['verified']})")
    return 0
