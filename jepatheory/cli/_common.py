"""Shared command-line plumbing: environment arguments, JSON/CSV output, error handling."""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from .._results import to_jsonable
from ..data import NU_KINDS, make_nu
from ..envs import DEFAULT_ENV, make_env, parse_env_params
from ..mdp import MDP, load_mdp

ENV_HELP = """\
environment:
  --env NAME -p KEY=VALUE ...   a built-in family (see 'jepatheory envs'), e.g.
                                --env chain -p n=30 -p slip=0.2   or   --env chain:n=30,slip=0.2
  --mdp FILE.npz                your own MDP: arrays P (S,A,S), r (S,A), gamma, rho0 (S),
                                optional nu (S,A) and x (S,d)
"""


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    pass


def add_env_args(p: argparse.ArgumentParser, nu: bool = True) -> None:
    g = p.add_argument_group("environment")
    src = g.add_mutually_exclusive_group()
    src.add_argument("--env", default=None, metavar="NAME",
                     help=f"built-in family (default {DEFAULT_ENV}); parameters with -p")
    src.add_argument("--mdp", default=None, metavar="FILE", help="MDP in an .npz file")
    g.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                   help="family parameter, repeatable (e.g. -p slip=0.2)")
    if nu:
        g.add_argument("--nu", default=None, choices=NU_KINDS,
                       help="data distribution nu (default: the file's nu, else uniform)")


def add_output_args(p: argparse.ArgumentParser, seed: bool = True) -> None:
    g = p.add_argument_group("output")
    g.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    if seed:
        g.add_argument("--seed", type=int, default=0, help="random seed (same seed, same numbers)")


def load_env(args: argparse.Namespace) -> tuple[MDP, np.ndarray]:
    """(mdp, nu) from --env/-p or --mdp, and --nu."""
    nu = None
    if getattr(args, "mdp", None):
        if args.param:
            from ..errors import EnvParameterError
            raise EnvParameterError("-p/--param applies to --env, not to --mdp")
        mdp, nu = load_mdp(args.mdp)
    else:
        name = args.env or DEFAULT_ENV
        base = name.split(":", 1)[0]
        params = parse_env_params(base, args.param)
        mdp = make_env(name, **params)
    kind = getattr(args, "nu", None)
    if kind is not None or nu is None:
        nu = make_nu(mdp, kind or "uniform")
    return mdp, nu


def env_info(mdp: MDP) -> dict[str, Any]:
    meta = {k: v for k, v in mdp.meta.items() if not isinstance(v, list)}
    return dict(name=mdp.name, n_states=mdp.n_states, n_actions=mdp.n_actions,
                gamma=mdp.gamma, r_max=mdp.r_max, params=meta)


def print_json(obj: Any) -> None:
    json.dump(to_jsonable(obj), sys.stdout, indent=2)
    sys.stdout.write("\n")


def write_json(path: str | Path, obj: Any) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_jsonable(obj), indent=2) + "\n")
    return path


def write_csv(path: str | Path, rows: list[dict[str, Any]]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        if rows:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            for r in rows:
                w.writerow({k: to_jsonable(v) for k, v in r.items()})
    return path


def say(args: argparse.Namespace, *msg: Any) -> None:
    """Human output: to stdout, or to stderr when --json owns stdout."""
    out = sys.stderr if getattr(args, "json", False) else sys.stdout
    print(*msg, file=out)
