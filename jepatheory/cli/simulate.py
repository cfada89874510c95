"""``jepatheory simulate``: one run -- sample n transitions, train a JEPA model, plan in it,
measure the regret in the true MDP and the T3 ladder (THEORY D3, D4, T3-T5)."""
from __future__ import annotations

import argparse

from .._results import table
from ..sim.baselines import BASELINES
from ..sim.encoders import ENCODERS
from ..errors import ShapeError
from ..cooccurrence import CoOccurrence
from ..sim.measure import RUNG_KEYS, rollout_dataset, rollout_nu, run_experiment
from ..sim.planners import PLANNERS
from ..sim.trainers import TRAINERS
from ._common import (ENV_HELP, HelpFormatter, add_env_args, add_output_args, env_info, load_env,
                      print_json, say, write_json)

EPILOG = ENV_HELP + """
examples:
  jepatheory simulate --k 8 --n 20000                       four-rooms, exact ERM, projected
  jepatheory simulate --env block-mdp --k 16 --n 5000 --trainer spectral --encoder linear
  jepatheory simulate --k 8 --n 20000 --trainer jepa --planner cem --json
  jepatheory simulate --k 1 --n 20000 --trainer count         input-level count model (T5)
  jepatheory simulate --k 8 --n 20000 --rollouts 50            behaviour-policy rollout data
  jepatheory simulate --env block-mdp --k 8 --n 20000 --backend torch --encoder mlp \
      --trainer jepa --reg sigreg                                torch JEPA with SIGReg

trainers: erm (truncated SVD of the plug-in T_hat; tabular), spectral (minibatch Adam on the
U-statistic spectral loss), jepa (whitened l2, EMA target, VICReg-style term), tied (target =
EMA of the context encoder, linear predictor), collapse (no anti-collapse term, D3); input-level
baselines: count, features.

JSON keys: env, k, n, trainer, encoder, planner, seed; loss (U-statistic pretraining loss),
erm_loss (exact ERM on the same data), eps (= eps(z, h'), the planner knows q_hat), eps_h,
tail_k, regret (of the chosen planner, named by regret_planner), V_star, pe_error,
pe_error_max, model_l1,
model_l1_hat, contraction, converged, train_seconds, train_steps, plan_seconds; the rungs
R0 R1 R2 R3 R3w R4_T4 R4_T4b (the projected planner's T3 ladder, checked; named by
ladder_planner: R0 equals regret only when the planner is projected), R3_rowmax,
R3w_data_free; ladder (the full ladder) and loss_curve.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="train, plan and measure one JEPA model",
                       description=__doc__, epilog=EPILOG, formatter_class=HelpFormatter)
    add_env_args(p)
    g = p.add_argument_group("experiment")
    g.add_argument("--k", type=int, default=8, help="latent dimension")
    g.add_argument("--n", type=int, default=20_000, help="number of sampled transitions")
    g.add_argument("--trainer", choices=TRAINERS + BASELINES, default="erm")
    g.add_argument("--encoder", choices=ENCODERS + ("cnn",), default="tabular",
                   help="cnn: --backend torch on rendered observations (-p render=16)")
    g.add_argument("--backend", choices=("numpy", "torch"), default="numpy",
                   help="torch: jepatheory.torch trainers (spectral, jepa, collapse)")
    g.add_argument("--reg", choices=("whiten", "vicreg", "sigreg", "none"), default=None,
                   help="anti-collapse term of --trainer jepa with --backend torch")
    g.add_argument("--planner", choices=PLANNERS, default="projected")
    g.add_argument("--steps", type=int, default=None, help="gradient steps (gradient trainers)")
    g.add_argument("--delta", type=float, default=0.05, help="confidence of the R4 rungs")
    g.add_argument("--rollouts", type=int, default=None, metavar="H",
                   help="data from uniform-random-policy rollouts of H steps instead of i.i.d. "
                   "draws from nu (nu becomes the rollouts' mean marginal; R4 rungs then lack "
                   "their i.i.d. premise)")
    g.add_argument("--out", metavar="FILE", help="also write the JSON to FILE")
    add_output_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    mdp, nu = load_env(args)
    kw = {} if args.steps is None else dict(steps=args.steps)
    if args.steps is not None and args.steps < 1:
        raise ShapeError(f"--steps {args.steps}: must be >= 1")
    if args.backend == "numpy" and (args.encoder == "cnn" or args.reg is not None):
        raise ShapeError("--encoder cnn and --reg need --backend torch")
    if args.reg is not None:
        kw["reg"] = args.reg
    ds = None
    if args.rollouts is not None:
        if args.rollouts < 1:
            raise ShapeError(f"--rollouts {args.rollouts}: the horizon must be >= 1")
        nu = rollout_nu(mdp, args.rollouts)
        ds = rollout_dataset(mdp, args.n, args.rollouts, args.seed)
    res = run_experiment(CoOccurrence(mdp, nu), k=args.k, n=args.n, trainer=args.trainer,
                         encoder=args.encoder, planner=args.planner, seed=args.seed,
                         delta=args.delta, train_kw=kw, ds=ds, backend=args.backend)
    payload = dict(res.flat(), env_info=env_info(mdp), ladder=res.ladder,
                   loss_curve=res.log.get("loss_curve", []), regret_planner=args.planner,
                   ladder_planner="projected")
    if args.out:
        write_json(args.out, payload)
    if args.json:
        print_json(payload)
        return 0
    f = res.flat()
    say(args, f"{mdp.name}: trainer {args.trainer}, encoder {args.encoder}, planner "
              f"{args.planner}, k = {args.k}, n = {args.n}, seed {args.seed}")
    keys = ("loss", "erm_loss", "eps", "eps_h", "tail_k", "regret", "pe_error", "model_l1",
            "contraction", "train_seconds")
    label = {"regret": f"regret ({args.planner} planner)"}
    say(args, table([dict(metric=label.get(k_, k_), value=f.get(k_)) for k_ in keys]))
    rungs = [dict(rung=r if r != "R0" else "R0 (projected planner)", value=f.get(r))
             for r in RUNG_KEYS if r in f]
    if f.get("R_T5") is not None:
        rungs.append(dict(rung="R_T5", value=f["R_T5"]))
    say(args, table(rungs))
    return 0
