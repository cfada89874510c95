"""``jepatheory audit``: audit a trained JEPA world model against the exact operator of a
finite environment -- eps, eps per action, excess over tail_k, principal angles, collapse,
the T3 ladder with the measured regret R0, and RankMe / alpha-ReQ / LiDAR."""
from __future__ import annotations

import argparse

from .._results import table
from ..audit import audit
from ..audit.files import load_model
from ..cooccurrence import CoOccurrence
from ..errors import ModelInputError
from ..sim.planners import PLANNERS
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
model:
  --model FILE.npz        arrays z (N*m, k), row s*m+a, and h (N, k); shapes and sizes are
                          checked from the headers before loading (no pickles)
  --model FILE.pt         a checkpoint of a built-in architecture (jepatheory.torch
                          save_checkpoint), loaded with torch.load(weights_only=True)
  --model pkg.mod:factory --allow-import: imports your module and calls factory(mdp), which
                          returns (z, h), from_callables(f, g, h) or an object with
                          encode(obs) and predict(emb, action)

examples:
  jepatheory audit --env four-rooms --model model.npz
  jepatheory audit --env block-mdp --model jepa.pt --planner latent --json
  jepatheory audit --mdp my_env.npz --model mypkg.wm:load --allow-import --json

JSON keys: eps, eps_per_action, tail_k, excess, tail_k_per_action, principal_angles
(T: left/right; abar: per action), collapse (collapsed, model_singular_values, sv_h, sv_z,
...), rankme, rankme_z, alpha_req, lidar, ladder (the T3 ladder of the projected planner),
R0 (measured regret of --planner), planner, certificate, certificate_reason, notes, env_info.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="audit a trained JEPA model: eps, angles, collapse, "
                       "ladder, RankMe/alpha-ReQ/LiDAR", description=__doc__, epilog=EPILOG,
                       formatter_class=HelpFormatter)
    add_env_args(p)
    g = p.add_argument_group("model")
    g.add_argument("--model", required=True, metavar="FILE|module:callable",
                   help="the model to audit (see below)")
    g.add_argument("--allow-import", action="store_true",
                   help="allow --model module:callable (imports and runs your code)")
    g.add_argument("--planner", choices=PLANNERS, default="projected",
                   help="planner whose regret R0 is measured")
    g.add_argument("--ladder", choices=("auto", "on", "off"), default="auto",
                   help="T3 ladder: auto = only when the dense model fits")
    g.add_argument("--n", type=int, default=None,
                   help="sample n transitions from nu for the data-only certificate")
    add_output_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.n is not None and args.n < 2:
        raise ModelInputError(f"--n {args.n}: the certificate needs at least 2 transitions")
    mdp, nu = load_env(args)
    model = load_model(args.model, mdp, allow_import=args.allow_import)
    ds = None
    if args.n is not None:
        from ..sampling import sample_transitions
        ds = sample_transitions(mdp, nu, args.n, args.seed)
    lad = {"auto": None, "on": True, "off": False}[args.ladder]
    res = audit(CoOccurrence(mdp, nu), model, planner=args.planner, ds=ds, ladder=lad,
                seed=args.seed)
    if args.json:
        print_json(dict(res.to_dict(), env_info=env_info(mdp)))
        return 0
    say(args, res)
    pa = res.principal_angles["T"]
    say(args, f"largest principal angle to T's top-{res.k} subspaces: left "
        f"{pa['left'].max():.4g} rad, right {pa['right'].max():.4g} rad")
    if res.ladder is not None:
        rows = [{"rung": r, "value": res.ladder.get(r)} for r in
                ("R0", "R1", "R2", "R3", "R3w", "R3w_data_free")]
        say(args, table(rows))
    for note in res.notes:
        say(args, f"note: {note}")
    return 0
