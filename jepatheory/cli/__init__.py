"""The ``jepatheory`` command line: one module per subcommand.

Each subcommand module defines ``register(subparsers)`` (adding its parser with
``set_defaults(func=run)``) and ``run(args) -> int``. Bad input exits 2 with one line
naming the problem; no traceback unless ``JEPATHEORY_DEBUG=1``.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys


#: Subcommands in the order ``--help`` lists them.
COMMANDS = ["demo", "envs", "spectrum", "prove", "bound", "ladder", "simulate", "sweep",
            "design", "relax", "bench"]

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


def build_parser() -> argparse.ArgumentParser:
    from ._common import HelpFormatter

    parser = argparse.ArgumentParser(prog="jepatheory", description=DESCRIPTION,
                                     formatter_class=HelpFormatter)
    from .. import __version__
    parser.add_argument("--version", action="version", version=f"jepatheory {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            mod = importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}":
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

    from ._common import apply_limits, error_message, harden_parser, translate_warnings
    from ._common import user_error_types

    parser = harden_parser(build_parser())
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
