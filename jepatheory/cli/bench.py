"""``jepatheory bench TARGET``: speed and accuracy figures, measured against a baseline in
the same run and printed as ratios."""
from __future__ import annotations

import argparse
import importlib

import functools
import math

from ._common import add_memory_arg
from ._help import HelpFormatter, chosen


def _checked(run, args: argparse.Namespace) -> int:  # noqa: ANN001 - a target's run
    """Refuse a benchmark whose grid does not fit before it builds anything: the targets
    build square grids of --n-states, or --width x --height (see jepatheory.limits)."""
    from ..limits import check_memory, estimate_env_bytes
    if getattr(args, "max_memory", None) is not None:
        from ..limits import set_max_memory
        set_max_memory(args.max_memory)
    n = getattr(args, "n_states", None)
    w, h = getattr(args, "width", None), getattr(args, "height", None)
    if isinstance(n, int):
        side = math.isqrt(n) + 1
        w, h = side, side
    if isinstance(w, int) and isinstance(h, int):
        # the estimate is about twice a grid's measured peak: it covers the baseline copy
        need = estimate_env_bytes("grid", dict(width=w, height=h)) or 0
        check_memory(need, f"bench {args.target} (grid {w} x {h})")
    return run(args)

#: bench targets: module jepatheory.bench.<name> with add_args(parser) and run(args)
TARGETS = ["spectrum", "symbolic", "bound", "train", "convex", "paper", "phase", "certify"]

#: The full one-line help of each target, listed without importing its module (only the
#: chosen target is imported). A new target: its name in TARGETS and one line here.
HELP: dict[str, str] = {
    "spectrum": "Spectrum of T on the 4-action slip grid: time, memory and proved accuracy.",
    "symbolic": "Symbolic proofs: time of the general-dimension T1/C1/C2 proofs (target <= 5 s) "
                "and of the fully symbolic N=4, m=2 instance checks (target <= 30 s), against "
                "the naive route (marginal sums substituted inside the square roots, then "
                "expand) measured in the same run.",
    "bound": "Full constant table of the bounds (k up to 64, pi* by value iteration, C^pi*) "
             "on the 4-action slip grid with 10^6 states; time and peak memory per stage.",
    "train": "Gradient training speed: lazy vs dense Adam throughput, and exact ERM vs "
             "gradient training time to equal loss (THEORY D3, T2, T4b).",
    "convex": "Convex layer: T6 relaxation certificates and D5 fastest-mixing design, time "
              "vs size.",
    "paper": "Paper-form figures on the 4-action slip grid: per-action spectra against the "
             "stacked spectrum, and the paper-form table against the theory-form bound table, "
             "as ratios measured in the same run.",
    "phase": "Phase experiment speed: the default grid on 2 local workers vs 1, and CEM per "
             "planning call at H = 25 vs exact DP on the same model (THEORY PE).",
    "certify": "Certificates (THEORY K3, K4): certify on four-rooms at n = 1e6, the robust fixed "
               "point at N = 1e5 states x 4 actions (a 316 x 316 slip grid, 50 samples per "
               "pair, Weissman radius with the successor-support bound a = 5), and select-k "
               "--suite on local workers.",
}


def first_paragraph(doc: str | None, default: str) -> str:
    """The first paragraph of a docstring on one line (the full help line of a target)."""
    text = (doc or "").strip().split("\n\n")[0]
    return " ".join(text.split()) or default


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="speed/accuracy benchmarks (figures and ratios)",
                       description=__doc__, formatter_class=HelpFormatter,
                       epilog="examples:\n  jepatheory bench spectrum --quick\n"
                              "  jepatheory bench spectrum --n-states 1000000 --json")
    bsub = p.add_subparsers(dest="target", metavar="TARGET")
    argv = getattr(sub, "argv", None)  # set by build_parser(argv); None: register all
    lazy = argv is not None and "bench" in argv
    pick = chosen(argv[argv.index("bench") + 1:], TARGETS) if lazy else None
    for name in TARGETS:
        if lazy and name != pick and name in HELP:
            bsub.add_parser(name, help=HELP[name])  # listed only; not chosen
            continue
        try:
            mod = importlib.import_module(f"jepatheory.bench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"jepatheory.bench.{name}":
                continue
            raise
        bp = bsub.add_parser(name, help=HELP.get(name) or first_paragraph(mod.__doc__, name),
                             description=mod.__doc__, formatter_class=HelpFormatter)
        mod.add_args(bp)
        bp.add_argument("--json", action="store_true", help="print one JSON object")
        bp.add_argument("--seed", type=int, default=0, help="random seed")
        add_memory_arg(bp)
        bp.set_defaults(func=functools.partial(_checked, mod.run))
    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])
