"""``jepatheory design``: design transition probabilities on a support graph (D5)."""
from __future__ import annotations

import argparse
from pathlib import Path

from .._results import table
from ._common import HelpFormatter, add_output_args, print_json, say

EPILOG = """\
objectives (symmetric doubly stochastic chain on the graph's edges, uniform nu; T = P):
  fastest-mixing   minimize the SLEM = sigma_2(T) (certified: lower <= optimum <= slem)
  nuclear          minimize ||T||_* (JEPA-friendly: small tail_k)
  flat             maximize the sum of the n - k smallest eigenvalues (hard for JEPA)

examples:
  jepatheory design --graph support.graphml --objective fastest-mixing --json
  jepatheory design --graph support.graphml --objective nuclear --k 4 --out designed
  jepatheory spectrum --mdp designed.npz

The graph is any GraphML file NetworkX reads (edge directions, multiplicities and
self-loops are ignored). The designed MDP is written as PREFIX.npz (for --mdp) and
PREFIX.graphml (the D1 view).

JSON keys: objective_value, slem (sigma_2 of the designed T), lower and gap (certified for
fastest-mixing), tail (tail_k), sigma (top singular values), mdp_path, graphml_path,
n_states, n_edges, method, status, seconds.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("design", help="convex design of a chain on a support graph",
                       description=__doc__, epilog=EPILOG, formatter_class=HelpFormatter)
    p.add_argument("--graph", required=True, metavar="FILE.graphml", help="support graph")
    p.add_argument("--objective", choices=["fastest-mixing", "nuclear", "flat"],
                   default="fastest-mixing", help="design objective")
    p.add_argument("--k", type=int, default=2, help="rank for tail_k (and the flat cut)")
    p.add_argument("--no-self-loops", action="store_true",
                   help="forbid holding probabilities (P_ii = 0)")
    p.add_argument("--max-hold", type=float, default=None,
                   help="cap on holding probabilities (flat: default 0.5)")
    p.add_argument("--gamma", type=float, default=0.9, help="discount of the designed MDP")
    p.add_argument("--out", default="designed", metavar="PREFIX",
                   help="write PREFIX.npz and PREFIX.graphml")
    add_output_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import networkx as nx

    from ..convex.design import design_chain
    from ..errors import MDPFileError
    from ..graph import write_graphml
    from ..mdp import save_mdp

    path = Path(args.graph)
    if not path.exists():
        raise MDPFileError(f"{path}: no such file")
    try:
        G = nx.read_graphml(path)
    except Exception as exc:
        raise MDPFileError(f"{path}: not a readable GraphML file ({exc})") from None
    d = design_chain(G, args.objective, args.k, self_loops=not args.no_self_loops,
                     max_hold=args.max_hold, gamma=args.gamma)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    npz = save_mdp(out.with_suffix(".npz"), d.mdp, d.nu)
    gml = write_graphml(d.mdp, out.with_suffix(".graphml"), d.nu)
    payload = dict(d.to_dict(), mdp_path=str(npz), graphml_path=str(gml),
                   n_edges=d.mdp.meta.get("n_edges"))
    payload.pop("certificate", None)
    if args.json:
        print_json(payload)
        return 0
    say(args, table([{k: v for k, v in payload.items() if k != "sigma"}]))
    say(args, f"designed MDP: {npz} (use --mdp), {gml}")
    return 0
