"""``jepatheory sweep``: environment x k x n x trainer x seed, each cell stored in SQLite as
it finishes; rerunning the same command resumes (THEORY D6, T3-T5)."""
from __future__ import annotations

import argparse

from ..sim.measure import load_problem
from .._results import table
from ..errors import ShapeError
from ..sim.baselines import BASELINES
from ..sim.encoders import ENCODERS
from ..sim.planners import PLANNERS
from ..sim.sweep import load_results, parse_int_list, parse_str_list, run_sweep, sweep_cells
from ..sim.trainers import TRAINERS
from ._common import ENV_HELP, HelpFormatter, add_memory_arg, print_json, say, seed_int

EPILOG = ENV_HELP + """
examples:
  jepatheory sweep --k 1,2,4 --n 1000,10000 --trainer erm,spectral --seeds 0-4 --store s.db
  jepatheory sweep --env block-mdp --encoder linear --k 4,16 --n 1e3,1e4 \\
      --trainer spectral,count,features --seeds 0-2 --store block.db --workers 2
  jepatheory sweep ... --scheduler tcp://10.0.0.5:8786        run the cells on Dask
  jepatheory sweep ... --store s.db --plot figs/               figures from the store

--env may be repeated for several environments; -p KEY=VALUE applies to every --env.
Interrupt at any moment and rerun the same
command: finished cells are kept, the rest run. Same seed, same numbers, on any scheduler.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="resumable sweeps into SQLite (local or Dask)",
                       description=__doc__, epilog=EPILOG, formatter_class=HelpFormatter)
    g = p.add_argument_group("environment")
    src = g.add_mutually_exclusive_group()
    src.add_argument("--env", action="append", default=None, metavar="NAME",
                     help="family spec, e.g. block-mdp:obs_per_latent=8 (repeatable)")
    src.add_argument("--mdp", default=None, metavar="FILE", help="MDP in an .npz file (cells "
                     "are keyed by the file's content hash)")
    g.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                   help="family parameter for every --env, repeatable (e.g. -p slip=0.2)")
    g.add_argument("--nu", default=None, help="data distribution (default uniform)")
    g = p.add_argument_group("grid")
    g.add_argument("--k", default="1,2,4", help="latent dimensions, e.g. 1,2,4 or 1-8")
    g.add_argument("--n", default="1000,10000", help="sample sizes, e.g. 1e3,1e4")
    g.add_argument("--trainer", default="erm,spectral",
                   help=f"comma list of {', '.join(TRAINERS + BASELINES)}")
    seeds = g.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", default=None, help="seeds, e.g. 0-4 or 0,3 (default 0-4)")
    seeds.add_argument("--seed", type=seed_int, default=None, help="one seed (same as --seeds S)")
    g.add_argument("--encoder", choices=ENCODERS, default="tabular")
    g.add_argument("--planner", choices=PLANNERS, default="projected")
    g.add_argument("--backend", choices=("numpy", "torch"), default="numpy",
                   help="torch: train the gradient cells with jepatheory.torch")
    g.add_argument("--steps", type=int, default=None, help="gradient steps per cell")
    g.add_argument("--rollouts", type=int, default=None, metavar="H",
                   help="uniform-random-policy rollouts of H steps instead of i.i.d. data")
    g = p.add_argument_group("execution")
    g.add_argument("--store", required=True, metavar="FILE", help="SQLite file (resumable)")
    g.add_argument("--workers", type=int, default=None, help="local processes (default: cores)")
    g.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="Dask scheduler address (instead of local processes)")
    g.add_argument("--plot", metavar="DIR", help="write the sweep's figures into DIR")
    g.add_argument("--json", action="store_true", help="print the summary and results as JSON")
    add_memory_arg(g)
    p.set_defaults(func=run)


def _with_params(env: str, params: list[str]) -> str:
    if not params:
        return env
    return env + ("," if ":" in env else ":") + ",".join(params)


def run(args: argparse.Namespace) -> int:
    from ..sim.sweep import check_scheduler_address, check_store
    if args.scheduler:
        check_scheduler_address(args.scheduler)
    if args.param and args.mdp:
        raise ShapeError("-p/--param applies to --env, not to --mdp")
    envs = args.env or ([None] if args.mdp else ["four-rooms"])
    envs = [e if e is None else _with_params(e, args.param) for e in envs]
    check_store(args.store)  # a store that is not ours is refused before any work
    seeds = [args.seed] if args.seed is not None else \
        parse_int_list(args.seeds or "0-4", "--seeds")
    cells = sweep_cells(envs, parse_int_list(args.k, "--k"), parse_int_list(args.n, "--n"),
                        parse_str_list(args.trainer, "--trainer", TRAINERS + BASELINES),
                        seeds, encoder=args.encoder,
                        planner=args.planner, nu=args.nu, mdp_file=args.mdp,
                        train_kw=None if args.steps is None else dict(steps=args.steps),
                        horizon=args.rollouts)
    if any(c["k"] == 0 and c["trainer"] not in BASELINES for c in cells):
        raise ShapeError("--k: latent dimensions must be >= 1")
    if args.backend == "torch":
        bad = sorted({c["trainer"] for c in cells} - set(BASELINES)
                     - {"spectral", "jepa", "collapse"})
        if bad:
            raise ShapeError(f"--trainer {bad[0]}: the torch backend trains spectral, jepa "
                             "and collapse")
        for c in cells:  # numpy cells keep their keys: existing stores stay resumable
            if c["trainer"] not in BASELINES:
                c["backend"] = "torch"
    for env in envs:  # a bad environment or file is one typed error now, not a failed cell each
        load_problem(env, args.mdp, args.nu)
    summary = run_sweep(cells, args.store, workers=args.workers, scheduler=args.scheduler)
    rows = load_results(args.store)
    if args.plot:
        from ..sim.plots import plot_latent_vs_input, plot_regret_vs_k
        from pathlib import Path
        out = Path(args.plot)
        plot_regret_vs_k(rows, out / "regret_vs_k.png")
        plot_latent_vs_input(rows, out / "latent_vs_input.png")
    if args.json:
        print_json(dict(summary=summary.to_dict(), errors=summary.errors,
                        results=[{k: v for k, v in r.items() if k != "loss_curve"}
                                 for r in rows]))
    else:
        say(args, repr(summary))
        keys = ("env", "trainer", "k", "n", "seed", "regret", "eps", "R1", "R3w")
        say(args, table([{k: r.get(k) for k in keys} for r in rows][:40]))
        if len(rows) > 40:
            say(args, f"... {len(rows) - 40} more rows in {args.store}")
    if summary.leased_elsewhere:
        say(args, f"{summary.leased_elsewhere} cell(s) were claimed by another run on "
            f"{args.store}; rerun the same command later to collect them")
    for e in summary.errors:
        say(args, f"error in cell {e['cell']}: {e['error']}")
    return 1 if summary.errors else 0
