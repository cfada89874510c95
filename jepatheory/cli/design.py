"""``jepatheory design``: design transition probabilities on a support graph (D5)."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ._common import wide_table, HelpFormatter, add_output_args, print_json, say

EPILOG = """\
objectives (symmetric doubly stochastic chain on the graph's edges, uniform nu; T = P):
  fastest-mixing   minimize the SLEM = sigma_2(T) (certified: lower <= optimum <= slem)
  nuclear          minimize ||T||_* (JEPA-friendly: small tail_k)
  flat             maximize the sum of the n - k smallest eigenvalues (hard for JEPA)

multi-action designs:
  --graph A.graphml --graph B.graphml ...   one support graph per action (same nodes),
                                            each P_a symmetric doubly stochastic; T is
                                            [P_1; ...; P_m] / sqrt(m)
  --grid WxH                                the four moves on a W x H grid with a designed
                                            slip distribution over (intended, right turn,
                                            opposite, left turn, stay), the same for every
                                            action, P(intended) >= --min-intended;
                                            fastest-mixing or nuclear

examples:
  jepatheory design --graph support.graphml --objective fastest-mixing --json
  jepatheory design --graph support.graphml --objective nuclear --k 4 --out designed
  jepatheory spectrum --mdp designed.npz    (after --out designed)
  jepatheory design --graph left.graphml --graph right.graphml --objective flat --k 3
  jepatheory design --grid 6x6 --objective nuclear --min-intended 0.6 --json

The graph is any GraphML file NetworkX reads (edge directions, multiplicities and
self-loops are ignored). The designed MDP is written as PREFIX.npz (for --mdp) and
PREFIX.graphml (the D1 view).

JSON keys: objective_value, slem (sigma_2 of the designed T), lower and gap (certified for
fastest-mixing), tail (tail_k), sigma (top singular values), mdp_path, graphml_path,
n_states, n_edges, method, status, seconds; multi-action designs add n_actions and, for
--grid, slip (the designed slip distribution).
"""


DEFAULT_OUT = "jepatheory-out/design/designed"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("design", help="convex design of a chain on a support graph",
                       description=__doc__, epilog=EPILOG, formatter_class=HelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--graph", action="append", metavar="FILE.graphml",
                     help="support graph; repeat it for one graph per action")
    src.add_argument("--grid", metavar="WxH",
                     help="design the slip distribution of the four moves on a W x H grid")
    p.add_argument("--objective", choices=["fastest-mixing", "nuclear", "flat"],
                   default="fastest-mixing", help="design objective")
    p.add_argument("--k", type=int, default=2, help="rank for tail_k (and the flat cut)")
    p.add_argument("--no-self-loops", action="store_true",
                   help="forbid holding probabilities (P_ii = 0)")
    p.add_argument("--max-hold", type=float, default=None,
                   help="cap on holding probabilities (flat: default 0.5)")
    p.add_argument("--min-intended", type=float, default=0.5,
                   help="--grid: lower bound on the probability of the intended move")
    p.add_argument("--gamma", type=float, default=0.9, help="discount of the designed MDP")
    p.add_argument("--out", default=DEFAULT_OUT, metavar="PREFIX",
                   help="write PREFIX.npz and PREFIX.graphml (PREFIX's folder must exist, "
                   "except for the default)")
    add_output_args(p)
    p.set_defaults(func=run)


def _read_graph(name: str) -> Any:
    import networkx as nx

    from ..errors import MDPFileError

    path = Path(name)
    if not path.exists():
        raise MDPFileError(f"{path}: no such file")
    if not path.is_file():
        raise MDPFileError(f"{path}: not a file")
    try:
        return nx.read_graphml(path)
    except Exception as exc:
        raise MDPFileError(f"{path}: not a readable GraphML file ({exc})") from None


def _grid_size(text: str) -> tuple[int, int]:
    from ..convex.errors import ConvexInputError

    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ConvexInputError(f"--grid: expected WxH with positive integers, got {text!r}")
    return int(parts[0]), int(parts[1])


def run(args: argparse.Namespace) -> int:
    from ..convex.design import design_actions, design_chain, design_grid_slip
    from ..graph import write_graphml
    from ..mdp import save_mdp

    extra: dict[str, Any] = {}
    if args.grid:
        w, h = _grid_size(args.grid)
        d = design_grid_slip(w, h, args.objective, args.k, min_intended=args.min_intended,
                             gamma=args.gamma)
        extra["slip"] = d.mdp.meta.get("slip")
    elif len(args.graph) > 1:
        d = design_actions([_read_graph(g) for g in args.graph], args.objective, args.k,
                           self_loops=not args.no_self_loops, max_hold=args.max_hold,
                           gamma=args.gamma)
    else:
        d = design_chain(_read_graph(args.graph[0]), args.objective, args.k,
                         self_loops=not args.no_self_loops, max_hold=args.max_hold,
                         gamma=args.gamma)
    out = Path(args.out)
    if args.out == DEFAULT_OUT:  # the tool's own output folder; any other must exist
        out.parent.mkdir(parents=True, exist_ok=True)
    npz = save_mdp(out.with_suffix(".npz"), d.mdp, d.nu)
    gml = write_graphml(d.mdp, out.with_suffix(".graphml"), d.nu)
    payload = dict(d.to_dict(), mdp_path=str(npz), graphml_path=str(gml),
                   n_edges=d.mdp.meta.get("n_edges"), **extra)
    payload.pop("certificate", None)
    if args.json:
        print_json(payload)
        return 0
    say(args, wide_table([{k: v for k, v in payload.items() if k not in ("sigma", "slip")}]))
    if "slip" in payload:
        say(args, "slip distribution: " + ", ".join(f"{k} {v:.4f}"
                                                    for k, v in payload["slip"].items()))
    say(args, f"designed MDP: {npz} (use --mdp), {gml}")
    return 0
