"""``jepatheory phase``: latent vs input-level world models over observation noise x planning
horizon on goal reaching (THEORY PE, P4, D6), resumable in SQLite, with the verdict."""
from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from .._results import table
from ..envs import parse_env_params
from ..errors import ShapeError
from ..phase.models import ALL_MODELS, MODELS
from ..phase.run import (
    FAMILIES,
    NOISE_PARAM,
    PLANNERS,
    STORE_KIND,
    aggregate,
    build_env,
    phase_cells,
    run_phase_cell,
    verdict,
)
from ..sim.sweep import cell_key, load_results, parse_int_list, parse_str_list, run_sweep
from ._common import HelpFormatter, print_json, say

EPILOG = """
examples:
  jepatheory phase --quick --store q.db --json
  jepatheory phase --quick --planner mpc --store q-mpc.db --json
  jepatheory phase --env noisy-block -p M=4 --noise 0,0.25,0.5,1 --horizon 1,5,10,15,25 \\
      --n 3000 --k 16,32 --seeds 0-4 --store block.db --workers 2 --plot figs/
  jepatheory phase --env noisy-features -p distractors=4 -p stickiness=0.9 -p exo_dims=4 \\
      --noise 0,0.5,1 --store feat.db --scheduler tcp://10.0.0.5:8786

--noise sets the family's noise parameter (noisy-block: noise in [0, 1], the emission mixing;
noisy-features: sigma >= 0, the feature noise). Costs: 'goal' = exact DP for the true goal
indicator on each model's kernel; 'distance' = each model's own goal distance (latent:
||z_H - z_goal||; input-level: predicted features vs the goal's), exact search for 4^H <=
1024 sequences, CEM beyond; --planner mpc adds 'distance-mpc' (replan after every step, the
closed loop evaluated exactly). Success and regret are exact in the true MDP. Interrupt at any
moment and rerun the same command: finished cells are kept.
"""

QUICK = {"noise": "0,0.5,1", "horizon": "1,10,25", "n": "3000", "k": "32",
             "models": "jepa-tabular,jepa-linear,count,features", "seeds": "0-1"}
DEFAULT = {"noise": "0,0.25,0.5,1", "horizon": "1,5,10,15,25", "n": "3000", "k": "16,32",
               "models": ",".join(MODELS), "seeds": "0-2"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("phase", help="latent vs input-level over noise x horizon (goal reaching)",
                       description=__doc__, epilog=EPILOG, formatter_class=HelpFormatter)
    g = p.add_argument_group("environment")
    g.add_argument("--env", default="noisy-block", help=f"one of {', '.join(FAMILIES)}")
    g.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                   help="family parameter, repeatable (e.g. -p M=8 -p distractors=3)")
    g = p.add_argument_group("grid")
    g.add_argument("--noise", default=None, help="noise levels (default " + DEFAULT["noise"] + ")")
    g.add_argument("--horizon", default=None, help="planning horizons (default 1,5,10,15,25)")
    g.add_argument("--n", default=None, help="transitions per model (default 3000)")
    g.add_argument("--k", default=None, help="latent dimensions (default 16,32)")
    g.add_argument("--models", default=None, help=f"comma list of {', '.join(ALL_MODELS)} "
                   f"(default {','.join(MODELS)}; jepa-mlp and features-mlp, the MLP JEPA and the "
                   "next-feature MLP of comparable size, need the torch extra)")
    g.add_argument("--seeds", default=None, help="data seeds (default 0-2; --quick 0-1)")
    g.add_argument("--seed", default="0", help="added to every data seed")
    g.add_argument("--steps", default="1500", help="gradient steps of jepa-linear and jepa-mlp")
    g.add_argument("--data-horizon", default="20", help="steps per data rollout")
    g.add_argument("--cem-pop", default="64", help="CEM population per start")
    g.add_argument("--cem-iters", default="4", help="CEM rounds")
    g.add_argument("--planner", default="open-loop",
                   help="cost (ii) planner: open-loop (plans per start, the default) or mpc "
                        "(also receding-horizon MPC, replanning every step: the "
                        "'distance-mpc' rows)")
    g.add_argument("--quick", action="store_true",
                   help="3 noise x 3 horizons x 4 models x 2 seeds (minutes on 2 cores)")
    g = p.add_argument_group("execution")
    g.add_argument("--store", required=True, metavar="FILE", help="SQLite file (resumable)")
    g.add_argument("--workers", default=None, help="local processes (default: cores)")
    g.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="Dask scheduler address (instead of local processes)")
    g.add_argument("--plot", metavar="DIR", help="write the figures into DIR")
    g.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def _int(text: str, name: str, lo: int, hi: int) -> int:
    try:
        v = float(text)
        ok = math.isfinite(v) and v == int(v) and lo <= v <= hi
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ShapeError(f"{name} = {text!r} must be an integer in [{lo}, {hi}]")
    return int(v)


def _ints(text: str, name: str, lo: int, hi: int) -> list[int]:
    vals = parse_int_list(text, name)
    bad = [v for v in vals if not lo <= v <= hi]
    if bad:
        raise ShapeError(f"{name}: {bad[0]} must be in [{lo}, {hi}]")
    return vals


def _floats(text: str, name: str, lo: float, hi: float) -> list[float]:
    out = []
    for part in (t.strip() for t in str(text).split(",")):
        try:
            v = float(part)
        except ValueError:
            raise ShapeError(f"{name}: {part!r} is not a number") from None
        if not (math.isfinite(v) and lo <= v <= hi):
            raise ShapeError(f"{name}: {part!r} must be in [{lo:g}, {hi:g}]")
        out.append(v)
    return sorted(set(out))


def parse_args(args: argparse.Namespace) -> dict[str, Any]:
    """Validated grid of the command (every bad value: one typed error naming it)."""
    base = QUICK if args.quick else DEFAULT

    def get(key: str) -> Any:
        return getattr(args, key) if getattr(args, key) is not None else base[key]

    if args.env not in FAMILIES:
        raise ShapeError(f"--env {args.env!r}: use {' or '.join(FAMILIES)}")
    params = parse_env_params(args.env, args.param)
    hi = 1.0 if NOISE_PARAM[args.env] == "noise" else 1e3
    seed = _int(args.seed, "--seed", 0, 2**31)
    cfg = {"env": args.env, "params": params,
               "noises": _floats(get("noise"), "--noise", 0.0, hi),
               "horizons": _ints(get("horizon"), "--horizon", 1, 200),
               "ns": _ints(get("n"), "--n", 2, 10_000_000),
               "ks": _ints(get("k"), "--k", 1, 4096),
               "models": parse_str_list(get("models"), "--models", ALL_MODELS),
               "seeds": [seed + s for s in parse_int_list(get("seeds"), "--seeds")],
               "steps": _int(args.steps, "--steps", 1, 1_000_000),
               "data_horizon": _int(args.data_horizon, "--data-horizon", 1, 100_000),
               "cem": {"pop": _int(args.cem_pop, "--cem-pop", 2, 100_000),
                        "iters": _int(args.cem_iters, "--cem-iters", 1, 1000)}}
    cfg["cem"]["elite"] = max(2, cfg["cem"]["pop"] // 8)
    if args.planner not in PLANNERS:
        raise ShapeError(f"--planner {args.planner!r}: use {' or '.join(PLANNERS)}")
    cfg["planner"] = args.planner
    cfg["workers"] = None if args.workers is None else _int(args.workers, "--workers", 1, 1024)
    if Path(args.store).is_dir():
        raise ShapeError(f"--store {args.store!r} is a directory")
    if args.plot and Path(args.plot).exists() and not Path(args.plot).is_dir():
        raise ShapeError(f"--plot {args.plot!r} is a file, not a directory")
    build_env(args.env, params, cfg["noises"][-1])   # a bad family parameter fails here
    return cfg


def run(args: argparse.Namespace) -> int:
    cfg = parse_args(args)
    cells = phase_cells(cfg["env"], cfg["params"], cfg["noises"], cfg["horizons"], cfg["ns"],
                        cfg["ks"], cfg["models"], cfg["seeds"], steps=cfg["steps"],
                        data_horizon=cfg["data_horizon"], cem=cfg["cem"],
                        planner=cfg["planner"])
    summary = run_sweep(cells, args.store, workers=cfg["workers"], scheduler=args.scheduler,
                        fn=run_phase_cell, kind=STORE_KIND)
    keys = {cell_key(c) for c in cells}
    results = [r for r in load_results(args.store) if cell_key(r["cell"]) in keys]
    rows = aggregate(results)
    ver = verdict(rows)
    if args.plot:
        from ..phase.plots import plot_all
        plot_all(rows, ver, args.plot)
    cell_keys = ("noise", "horizon", "n", "k", "model", "cost", "kind", "params", "success",
                 "success_se", "regret", "regret_se", "optimal", "method", "plan_ms", "seeds")
    if args.json:
        print_json({"env": cfg["env"], "env_params": cfg["params"],
                        "summary": summary.to_dict(), "errors": summary.errors,
                        "cells": [{k: r[k] for k in cell_keys} for r in rows], "verdict": ver})
    else:
        say(args, repr(summary))
        say(args, table([{k: r[k] for k in ("cost", "noise", "horizon", "n", "model", "k",
                                            "params", "success", "regret", "regret_se")}
                         for r in rows]))
        say(args, "verdict (best latent vs best input-level, 2 standard errors):")
        say(args, table([{k: v[k] for k in ("cost", "noise", "horizon", "n", "outcome",
                                            "latent_model", "latent_regret", "input_model",
                                            "input_regret", "diff")} for v in ver]))
    for e in summary.errors:
        say(args, f"error in cell {e['cell']}: {e['error']}")
    return 1 if summary.errors else 0
