"""Shared command-line plumbing: environment arguments, JSON/CSV output, error handling.

Validation of option values lives here, in one place: the argparse ``type=`` validators
(:func:`seed_int`, :func:`positive_int`, :func:`probability`, :func:`finite_float`,
:func:`output_file`, :func:`output_dir`, :func:`output_prefix`) and :func:`harden_parser`,
which ``main`` applies to every subcommand's parser (also to subcommands added later):
an ``int`` option becomes :func:`positive_int` (``--seed``: :func:`seed_int`), a ``float``
option :func:`finite_float` (``--delta``: :func:`probability`), the output options
``--csv/--out/--plot/--latex`` are checked before any work starts, and a usage error is
one line. :func:`error_message` turns any exception a user can provoke into that line.
"""
from __future__ import annotations

import argparse
import csv
import functools
import json
import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..envs import DEFAULT_ENV, make_env, parse_env_params
from ..errors import OutputPathError

if TYPE_CHECKING:  # numpy, SciPy (data, mdp) load with the commands that use them
    import numpy as np

    from ..mdp import MDP

ENV_HELP = """\
environment:
  --env NAME -p KEY=VALUE ...   a built-in family (see 'jepatheory envs'), e.g.
                                --env chain -p n=30 -p slip=0.2   or   --env chain:n=30,slip=0.2
  --mdp FILE.npz                your own MDP: arrays P (S,A,S), r (S,A), gamma, rho0 (S),
                                optional nu (S,A) and x (S,d)
"""


from ._help import HelpFormatter  # noqa: E402,F401  (re-exported: every parser's formatter)


def add_env_args(p: argparse.ArgumentParser, nu: bool = True) -> None:
    g = p.add_argument_group("environment")
    src = g.add_mutually_exclusive_group()
    src.add_argument("--env", default=None, metavar="NAME",
                     help=f"built-in family (default {DEFAULT_ENV}); parameters with -p")
    src.add_argument("--mdp", default=None, metavar="FILE", help="MDP in an .npz file")
    g.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                   help="family parameter, repeatable (e.g. -p slip=0.2)")
    if nu:
        from ..data import NU_KINDS

        g.add_argument("--nu", default=None, choices=NU_KINDS,
                       help="data distribution nu (default: the file's nu, else uniform)")


def add_output_args(p: argparse.ArgumentParser, seed: bool = True) -> None:
    g = p.add_argument_group("output")
    g.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    if seed:
        g.add_argument("--seed", type=seed_int, default=0,
                       help="random seed, an integer >= 0 (same seed, same numbers)")
    add_memory_arg(g)


def add_memory_arg(g: Any) -> None:
    """``--max-memory SIZE``: the memory this run may use (see :mod:`jepatheory.limits`)."""
    g.add_argument("--max-memory", default=None, metavar="SIZE",
                   help="memory this run may use, e.g. 8G or inf (default: what the machine "
                   "has available, or $JEPATHEORY_MAX_MEMORY); larger requests are refused "
                   "before anything is allocated")


# ---------------------------------------------------------------------------------------
# option validators (argparse type=): each raises ArgumentTypeError naming the value

#: Largest integer option (exact in a float, so 1e15 and 1000000000000000 agree).
MAX_INT = 2**53


def _as_number(text: str) -> float:
    s = str(text).strip()
    if len(s) > 40:
        raise argparse.ArgumentTypeError(f"{s[:20]}...: not a number (too long)")
    try:
        return float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not a number") from None


def _int_value(text: str, lo: int, what: str) -> int:
    s = str(text).strip()
    try:
        v = int(s)
    except ValueError:
        f = _as_number(s)
        if not math.isfinite(f) or not f.is_integer():
            raise argparse.ArgumentTypeError(f"{s!r} is not {what}") from None
        v = int(f)
    if v < lo or v > MAX_INT:
        raise argparse.ArgumentTypeError(f"{s!r} is not {what}"
                                         + (f" (at most {MAX_INT:.3g})" if v > MAX_INT else ""))
    return v


def seed_int(text: str) -> int:
    """A random seed: an integer >= 0 (``1e3`` accepted)."""
    return _int_value(text, 0, "a seed (an integer >= 0)")


def positive_int(text: str) -> int:
    """An integer >= 1; ``1e5`` is accepted, ``1.5``, ``0``, ``-3``, ``nan`` are not."""
    return _int_value(text, 1, "a positive integer")


def nonneg_int(text: str) -> int:
    """An integer >= 0 (``1e5`` accepted)."""
    return _int_value(text, 0, "an integer >= 0")


def finite_float(text: str) -> float:
    """A finite real number (``nan`` and ``inf`` are refused)."""
    v = _as_number(text)
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return v


def probability(text: str) -> float:
    """A probability strictly between 0 and 1 (a failure probability delta)."""
    v = _as_number(text)
    if not 0.0 < v < 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a probability in (0, 1)")
    return v


def check_output_file(path: str | Path, what: str = "output file") -> Path:
    """``path`` can be written as a file: not a directory, in an existing writable folder.
    Missing folders are never created (a typo must not create a directory tree)."""
    p = Path(path)
    if str(path) == "":
        raise OutputPathError(f"{what}: empty path")
    if p.is_dir():
        raise OutputPathError(f"{what} {str(path)!r} is a directory, not a file")
    parent = p.parent
    if not parent.exists():
        raise OutputPathError(f"{what} {str(path)!r}: folder {str(parent)!r} does not exist "
                              "(create it first)")
    if not parent.is_dir():
        raise OutputPathError(f"{what} {str(path)!r}: {str(parent)!r} is not a folder")
    if (p.exists() and not os.access(p, os.W_OK)) or \
            (not p.exists() and not os.access(parent, os.W_OK | os.X_OK)):
        raise OutputPathError(f"{what} {str(path)!r} is not writable")
    return p


def check_output_dir(path: str | Path, what: str = "output folder",
                     create_parents: bool = False) -> Path:
    """``path`` is (or can be made, as one new folder in an existing one) a writable folder.
    ``create_parents``: the tool's own default output folder may create its parents."""
    p = Path(path)
    if str(path) == "":
        raise OutputPathError(f"{what}: empty path")
    if p.exists() and not p.is_dir():
        raise OutputPathError(f"{what} {str(path)!r} exists and is not a folder")
    if not p.exists():
        parent = p.parent
        if not create_parents and not parent.is_dir():
            raise OutputPathError(f"{what} {str(path)!r}: folder {str(parent)!r} does not "
                                  "exist (create it first)")
    elif not os.access(p, os.W_OK | os.X_OK):
        raise OutputPathError(f"{what} {str(path)!r} is not writable")
    return p


def make_output_dir(path: str | Path, what: str = "output folder",
                    create_parents: bool = False) -> Path:
    """:func:`check_output_dir`, then create the folder (only the last level unless
    ``create_parents``)."""
    p = check_output_dir(path, what, create_parents)
    p.mkdir(parents=create_parents, exist_ok=True)
    return p


def _argtype(check: Any, text: str) -> Any:
    try:
        return check(text)
    except OutputPathError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def output_file(text: str) -> str:
    """An output file (``-`` is stdout where the option allows it)."""
    if text == "-":
        return text
    return str(_argtype(lambda t: check_output_file(t, "file"), text))


def output_dir(text: str, default: str | None = None) -> str:
    """An output folder; only the tool's own default may create missing parents."""
    return str(_argtype(lambda t: check_output_dir(t, "folder", t == default), text))


def output_prefix(text: str, default: str | None = None) -> str:
    """An output prefix ``PREFIX`` (files ``PREFIX.npz`` ...): its folder must exist, except
    for the tool's own default."""
    if text == default:
        return text
    _argtype(lambda t: check_output_file(t + ".npz", "output prefix"), text)
    return text


#: output options, by destination: what their value names (by metavar)
_OUTPUT_DESTS = ("csv", "out", "plot", "latex")


def _checked(check: Any, prog: str, option: str, text: str) -> Any:
    """Run a validator; its complaint becomes :class:`~jepatheory.errors.OptionValueError`,
    which argparse does not catch: ``main`` prints it as one line and returns 2 (like the
    library's typed errors), while argparse's own usage errors stay ``SystemExit(2)``."""
    from ..errors import OptionValueError
    try:
        return check(text)
    except argparse.ArgumentTypeError as exc:
        raise OptionValueError(f"{prog}: error: argument {option}: {exc}") from None


def _harden_action(a: argparse.Action, prog: str) -> None:
    check: Any = None
    if a.type is int:
        check = seed_int if a.dest == "seed" else positive_int
    elif a.type is float:
        check = probability if a.dest == "delta" else finite_float
    elif a.type in (seed_int, positive_int, nonneg_int, finite_float, probability,
                    output_file):
        check = a.type
    elif a.dest in _OUTPUT_DESTS and a.type is None and a.nargs is None \
            and isinstance(a.default, (str, type(None))):
        meta = (a.metavar or "").upper()
        if meta == "DIR" or (a.dest == "out" and not meta):
            check = functools.partial(output_dir, default=a.default)
        elif meta == "PREFIX":
            check = functools.partial(output_prefix, default=a.default)
        else:
            check = output_file
    if check is not None and a.option_strings:
        a.type = functools.partial(_checked, check, prog, "/".join(a.option_strings))
        a.type.__name__ = getattr(check, "__name__", "value")  # type: ignore[union-attr]


def _one_line_error(parser: argparse.ArgumentParser, message: str) -> None:
    msg = " ".join(str(message).split())
    parser.exit(2, f"{parser.prog}: error: {msg} (see '{parser.prog} --help')\n")


def harden_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Apply the shared validators to every option of ``parser`` and its subparsers (see
    the module docstring) and make usage errors one line."""
    parser.error = functools.partial(_one_line_error, parser)  # type: ignore[method-assign]
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            for sp in dict.fromkeys(a.choices.values()):
                harden_parser(sp)
        else:
            _harden_action(a, parser.prog)
    return parser


def error_message(exc: BaseException) -> str:
    """One line for an exception a user can provoke (the CLI prints it, exit 2)."""
    import sqlite3

    from ..errors import ResourceLimitError
    if isinstance(exc, ResourceLimitError):
        msg = str(exc)
    elif isinstance(exc, MemoryError):
        detail = str(exc) or "the request does not fit in memory"
        msg = (f"out of memory: {detail}; use smaller sizes, or see --max-memory for the "
               "size checks")
    elif isinstance(exc, OSError) and exc.filename is not None:
        msg = f"{exc.filename}: {exc.strerror or exc}"
    elif isinstance(exc, RecursionError):
        msg = "input nested too deeply to process"
    elif isinstance(exc, sqlite3.DatabaseError):
        msg = f"the store is not a readable SQLite database ({exc})"
    elif isinstance(exc, OverflowError):
        msg = f"a number is too large ({exc})"
    else:
        msg = str(exc) or type(exc).__name__
    return " ".join(msg.split())


#: exceptions main() reports as bad input (exit 2): everything the package raises on
#: purpose, plus what hostile sizes and paths provoke in the libraries underneath
def user_error_types() -> tuple[type[BaseException], ...]:
    import sqlite3

    from ..errors import JepaTheoryError
    return (JepaTheoryError, MemoryError, OSError, RecursionError, sqlite3.DatabaseError,
            OverflowError)


def apply_limits(args: argparse.Namespace) -> None:
    """``--max-memory``, and the size checks that only need the parsed options."""
    from .. import limits
    if getattr(args, "max_memory", None) is not None:
        limits.set_max_memory(args.max_memory)
    n = getattr(args, "n", None)
    if isinstance(n, int) and not isinstance(n, bool):
        # a sampled transition is about six int64/float64 entries and their copies
        limits.check_memory(64.0 * n, f"--n {n} sampled transitions")


_THIRD_PARTY = (
    ("Solution may be inaccurate",
     "the convex solver stopped at reduced accuracy: the reported optimum is approximate; "
     "certified figures (lower bounds, gaps) come from the verified certificate, not from "
     "the solver's status"),
    ("out of date", None),
    ("deprecat", None),
)


def translate_warnings(command: str) -> Any:
    """A ``warnings.showwarning`` replacement: third-party warnings become one line saying
    what they mean for the result; the package's own warnings keep their text."""
    seen: set[str] = set()

    def show(message: Any, category: type[Warning], filename: str, lineno: int,
             file: Any = None, line: str | None = None) -> None:
        text = " ".join(str(message).split())
        text = text.replace("\x1b[33m", "").replace("\x1b[0m", "")
        own = "jepatheory" in filename and "site-packages" not in filename
        if not own:
            for needle, meaning in _THIRD_PARTY:
                if needle.lower() in text.lower():
                    text = meaning or (f"{text.removeprefix('WARN: ')} (a notice of the "
                                       "library underneath; the result is unaffected)")
                    break
        if text in seen:
            return
        seen.add(text)
        print(f"jepatheory {command}: warning ({category.__name__}): {text}",
              file=sys.stderr if file is None else file)

    return show


def load_env(args: argparse.Namespace) -> tuple[MDP, np.ndarray]:
    """(mdp, nu) from --env/-p or --mdp, and --nu."""
    from ..data import make_nu
    from ..mdp import load_mdp

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


K_RULE = ("k is at most the number of singular values of T, min(n_left, n_right); a "
          "larger explicit k is an error, the default is cut at it")


def check_k(ks: list[int], C: Any, option: str = "--k") -> None:
    """The one rule for a latent dimension above the rank (:data:`K_RULE`)."""
    from ..errors import SpectrumError
    kmax = min(C.n_left, C.n_right)
    over = [k for k in ks if k > kmax]
    if over:
        raise SpectrumError(f"{option} {over[0]}: T has only {kmax} singular values "
                            f"(min(n_left, n_right) = min({C.n_left}, {C.n_right})); use "
                            f"{option} <= {kmax}")


def env_info(mdp: MDP) -> dict[str, Any]:
    meta = {k: v for k, v in mdp.meta.items() if not isinstance(v, list)}
    return dict(name=mdp.name, n_states=mdp.n_states, n_actions=mdp.n_actions,
                gamma=mdp.gamma, r_max=mdp.r_max, params=meta)


def print_json(obj: Any) -> None:
    from .._results import to_jsonable

    json.dump(to_jsonable(obj), sys.stdout, indent=2)
    sys.stdout.write("\n")


def write_json(path: str | Path, obj: Any) -> Path:
    from .._results import to_jsonable

    path = check_output_file(path)
    path.write_text(json.dumps(to_jsonable(obj), indent=2) + "\n")
    return path


def write_csv(path: str | Path, rows: list[dict[str, Any]]) -> Path:
    from .._results import to_jsonable

    path = check_output_file(path)
    with path.open("w", newline="") as fh:
        if rows:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            for r in rows:
                w.writerow({k: to_jsonable(v) for k, v in r.items()})
    return path


#: widest line the human output prints
WIDTH = 100


def wide_table(rows: list[dict[str, Any]], width: int = WIDTH) -> str:
    """:func:`~jepatheory._results.table`, split into column groups of at most ``width``
    characters (one table per group, separated by a blank line); a single cell wider than
    ``width`` is shortened with '...'."""
    from .._results import table
    if not rows:
        return table(rows)
    columns = list(rows[0])

    def col_width(c: str) -> int:
        return len(table([{c: r.get(c, "")} for r in rows]).splitlines()[0])

    groups: list[list[str]] = [[]]
    used = 0
    for c in columns:
        w = min(col_width(c), width)
        if groups[-1] and used + 2 + w > width:
            groups.append([])
            used = 0
        used += w + (2 if groups[-1] else 0)
        groups[-1].append(c)
    out = []
    for g in groups:
        text = table(rows, g)
        out.append("\n".join(line if len(line) <= width else line[:width - 3] + "..."
                             for line in text.splitlines()))
    return "\n\n".join(out)


def say(args: argparse.Namespace, *msg: Any) -> None:
    """Human output: to stdout, or to stderr when --json owns stdout."""
    out = sys.stderr if getattr(args, "json", False) else sys.stdout
    print(*msg, file=out)
