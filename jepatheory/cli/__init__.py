"""The ``jepatheory`` command line: one module per subcommand.

Each subcommand module defines ``register(subparsers)`` (adding its parser with
``set_defaults(func=run)``) and ``run(args) -> int``. Bad input exits 2 with one line
naming the problem; no traceback unless ``JEPATHEORY_DEBUG=1``.

Subcommand modules are imported lazily: ``--help`` lists every command from :data:`HELP`
and only the chosen command's module is imported (``jepatheory --help`` and ``jepatheory
envs`` load neither SymPy nor CVXPY). A command missing from :data:`HELP` still works; its
module is then imported to build the listing.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from ._help import HelpFormatter, chosen

#: Subcommands in the order ``--help`` lists them.
COMMANDS = ["demo", "envs", "spectrum", "prove", "bound", "ladder", "simulate", "sweep",
            "design", "relax", "bench", "phase", "certify", "select-k", "falsify",
            "audit"]

DESCRIPTION = """\
jepatheory: the generalization theory of JEPA-based world models, computed.

JEPA pretraining is spectral learning on the conditional state-action graph: its loss is a
low-rank factorization of the co-occurrence matrix T. This tool builds T for an MDP, checks
the theory's identities, computes the constants of its bounds and runs simulations.

examples:
  jepatheory demo                         the whole story on four-rooms
  jepatheory envs                         list environment families and parameters
  jepatheory spectrum --env grid -p width=30 -p height=30 --k 16 --json
"""

#: The one-line ``--help`` of each subcommand (module ``jepatheory.cli.<name>``), listed
#: without importing the module. A new command: one line here (plus its name in COMMANDS).
HELP: dict[str, str] = {
    "demo": "the whole story on one environment (main job)",
    "envs": "list environment families and their parameters",
    "spectrum": "singular values of T and tail_k",
    "prove": "run the machine checks of every THEORY result",
    "bound": "constants of T3-T5, the bound over k and n, k*",
    "ladder": "regret ladder R0..R4 of a plug-in run, T5 chain",
    "simulate": "train, plan and measure one JEPA model",
    "sweep": "resumable sweeps into SQLite (local or Dask)",
    "design": "convex design of a chain on a support graph",
    "relax": "certified bounds on min eps for tied/shared encoders",
    "bench": "speed/accuracy benchmarks (figures and ratios)",
    "phase": "latent vs input-level over noise x horizon (goal reaching)",
    "certify": "data-only certified regret bound of a planner (K3)",
    "select-k": "choose k from data; rules against the measured best k",
    "falsify": "search for instances where R0 / bound is largest (K5)",
    "audit": "audit a trained JEPA model: eps, angles, collapse, ladder, "
             "RankMe/alpha-ReQ/LiDAR",
}


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with ``argv``, only the command ``argv`` chooses is imported and fully
    registered (the others are listed from :data:`HELP`); without, every command is."""
    parser = argparse.ArgumentParser(prog="jepatheory", description=DESCRIPTION,
                                     formatter_class=HelpFormatter)
    from .. import __version__
    parser.add_argument("--version", action="version", version=f"jepatheory {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.argv = argv  # type: ignore[attr-defined]  # lets ``bench`` import only its target
    pick = None if argv is None else chosen(argv, COMMANDS)
    for name in COMMANDS:
        if argv is not None and name != pick and name in HELP:
            sub.add_parser(name, help=HELP[name])  # listed only; not chosen
            continue
        try:
            mod = importlib.import_module(f".{name.replace('-', '_')}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name.replace('-', '_')}":
                continue  # subcommand not part of this build
            raise
        mod.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse, run, and map every error a user can provoke to exit 2 with one line.

    Bad input (any :class:`~jepatheory.errors.JepaTheoryError`, including the size checks'
    :class:`~jepatheory.errors.ResourceLimitError`; memory exhaustion; unreadable or
    unwritable paths; a corrupt store) prints ``jepatheory COMMAND: error: ...`` and exits 2;
    an internal error exits 1. ``JEPATHEORY_DEBUG=1`` re-raises for the traceback.
    """
    import warnings

    argv = sys.argv[1:] if argv is None else list(argv)
    if all(word.startswith("-") for word in argv):  # no command: --help, --version or the
        parser = build_parser(argv)  # listing; nothing to validate, nothing heavy to load
        parser.parse_args(argv)
        parser.print_help()
        return 0

    from ._common import apply_limits, error_message, harden_parser, translate_warnings
    from ._common import user_error_types

    parser = harden_parser(build_parser(argv))
    from ..errors import OptionValueError
    try:
        args = parser.parse_args(argv)  # a usage error: one line, SystemExit(2)
    except OptionValueError as exc:  # an invalid option value: one line, exit 2
        if os.environ.get("JEPATHEORY_DEBUG"):
            raise
        print(" ".join(str(exc).split()), file=sys.stderr)
        return 2
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    debug = bool(os.environ.get("JEPATHEORY_DEBUG"))
    old_show = warnings.showwarning
    if not debug:
        warnings.showwarning = translate_warnings(args.command)
    try:
        apply_limits(args)
        return int(args.func(args) or 0)
    except BrokenPipeError:  # e.g. `jepatheory spectrum --json | head`: the reader left
        try:
            sys.stdout = open(os.devnull, "w")  # silence the flush at interpreter exit
        except OSError:  # pragma: no cover
            pass
        return 0
    except KeyboardInterrupt:
        print(f"jepatheory {args.command}: interrupted", file=sys.stderr)
        return 130
    except user_error_types() as exc:
        if debug:
            raise
        print(f"jepatheory {args.command}: error: {error_message(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # pragma: no cover - internal errors
        if debug:
            raise
        msg = " ".join(str(exc).split())
        print(f"jepatheory {args.command}: internal error: {type(exc).__name__}: {msg} "
              "(rerun with JEPATHEORY_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1
    finally:
        warnings.showwarning = old_show


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
