"""``jepatheory prove``: run every machine check of the theory and print one table.

Each THEORY result (D1-D5, F1-F5, T1, C1, C2, T2-T6) has registered checks (symbolic proofs,
exact instance checks, numeric checks on random instances); the table gives the result
ID, its statement, its status (proved symbolically / proved on paper and checked
numerically / conjecture), the time and whether the check passed. The exit status is 1 if
any check fails. ``--derive`` prints a symbolic derivation report instead.
"""
from __future__ import annotations

import argparse
import time
import warnings

from .._results import table
from ..checks import CheckResult, run_checks
from ..errors import ExpressionError, OddMDPWarning
from ._common import HelpFormatter, add_output_args, print_json, say

EPILOG = """\
examples:
  jepatheory prove                         all checks, one table
  jepatheory prove --only T1,C1,F2         only these IDs (and their sub-checks, e.g. T3.R1)
  jepatheory prove --json                  one JSON object: {"passed", "seconds", "checks": [...]}
  jepatheory prove --derive two-state      derivation report of T, L, L2, eps (text)
  jepatheory prove --derive slip-chain:3 --latex report.tex --k 1
  jepatheory prove --derive 'P=[[[1-p, p]], [[p, 1-p]]]' --params p

JSON keys (checks): id, statement, status, proof (the proofs/ file), passed, evidence,
seconds, details.  Derivation families: two-state, slip-chain:N, slip-ring:N,
symbolic:N,M (every probability a symbol), or P=<nested list> parsed by the restricted
parser with the parameters named in --params.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("prove", help="run the machine checks of every THEORY result",
                       description=__doc__, epilog=EPILOG, formatter_class=HelpFormatter)
    p.add_argument("--only", default=None, metavar="ID,...",
                   help="comma-separated result IDs (prefix match on sub-checks: T3 runs T3.*)")
    p.add_argument("--derive", default=None, metavar="FAMILY",
                   help="print a derivation report for a symbolic MDP instead of checking")
    p.add_argument("--params", default="", metavar="NAMES",
                   help="comma-separated parameter names (probabilities in (0,1)) for "
                   "--derive P=...")
    p.add_argument("--k", type=int, default=None,
                   help="with --derive: also L, L2, eps for symbolic embeddings of dimension k")
    p.add_argument("--latex", default=None, metavar="FILE",
                   help="with --derive: write the LaTeX report to FILE ('-' for stdout)")
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                   help="with --derive: stop a derivation that runs longer (exit 2)")
    add_output_args(p)
    p.set_defaults(func=run)


def _row(r: CheckResult) -> dict:
    return dict(id=r.id, statement=r.statement if len(r.statement) <= 60
                else r.statement[:57] + "...", status=r.status, time=f"{r.seconds:.2f}s",
                passed="yes" if r.passed else "NO")


def _family(spec: str, params: str):  # -> SymbolicMDP
    from ..symbolic import fully_symbolic_mdp, slip_chain, slip_ring, symbolic_mdp, two_state
    from ..symbolic.parse import parse_expression
    name, _, arg = spec.partition(":")
    try:
        if name == "two-state":
            return two_state()
        if name in ("slip-chain", "slip-ring"):
            n = int(arg or 3)
            if not 2 <= n <= 8:
                raise ExpressionError(f"--derive {spec}: n must be in 2..8")
            return slip_chain(n) if name == "slip-chain" else slip_ring(n)
        if name == "symbolic":
            N, _, m = (arg or "2,2").partition(",")
            N, m = int(N), int(m or 1)
            if not (1 <= N <= 4 and 1 <= m <= 3):
                raise ExpressionError(f"--derive {spec}: N <= 4 and m <= 3")
            return fully_symbolic_mdp(N, m)
    except ValueError as exc:
        if isinstance(exc, ExpressionError):
            raise
        raise ExpressionError(f"--derive {spec!r}: {exc}") from None
    if spec.startswith("P="):
        names = [s.strip() for s in params.split(",") if s.strip()]
        nested = _parse_nested(spec[2:], names, parse_expression)
        return symbolic_mdp(nested, params=names, name="user MDP")
    raise ExpressionError(f"--derive {spec!r}: use two-state, slip-chain:N, slip-ring:N, "
                          "symbolic:N,M or P=[[[...]]]")


def _parse_nested(text: str, names: list[str], parse) -> list:
    """Split a nested list literal into entry strings, each parsed by the restricted parser.
    Brackets nest the lists; a comma separates entries only outside parentheses, so
    ``Min(p, 1/2)`` is one entry."""
    import sympy as sp
    table_ = {n: sp.Symbol(n) for n in names}
    stack: list[list] = []
    root: list = []
    cur = ""
    parens = 0
    for ch in text.strip():
        if ch == "(":
            parens += 1
        elif ch == ")":
            parens -= 1
            if parens < 0:
                raise ExpressionError(f"P={text!r}: unbalanced ')'")
        if parens > 0 or ch == ")":
            cur += ch
        elif ch == "[":
            new: list = []
            (stack[-1] if stack else root).append(new)
            stack.append(new)
        elif ch in ",]":
            if cur.strip():
                if not stack:
                    raise ExpressionError(f"P={text!r}: entry outside brackets")
                stack[-1].append(str(parse(cur, table_)))
            cur = ""
            if ch == "]":
                if not stack:
                    raise ExpressionError(f"P={text!r}: unbalanced ']'")
                stack.pop()
        else:
            cur += ch
    if stack or len(root) != 1 or cur.strip():
        raise ExpressionError(f"P={text!r}: not a nested list [[[...]]]")
    return root[0]


def _derive(args: argparse.Namespace) -> int:
    from ..errors import DerivationTimeoutError
    from ..limits import time_limit
    from ..symbolic import derivation_report, derive
    if not args.timeout > 0:
        raise ExpressionError(f"--timeout {args.timeout}: must be > 0 seconds")
    what = f"the derivation of {args.derive[:50]!r}"
    with time_limit(args.timeout, DerivationTimeoutError, what):
        smdp = _family(args.derive, args.params)
        D = derive(smdp)
        text = None if args.latex == "-" or args.json else \
            derivation_report(D, "text", k=args.k)
        tex = derivation_report(D, "latex", k=args.k) if args.latex else None
    if args.latex:
        if args.latex == "-":
            print(tex, end="")
        else:
            with open(args.latex, "w") as fh:
                fh.write(tex)
            say(args, f"wrote {args.latex}")
    if args.json:
        print_json(dict(name=smdp.name, items={n: str(o) for n, o in D.items()},
                        definitions={str(k): str(v) for k, v in D.definitions.items()}))
    elif args.latex != "-":
        say(args, text)
    return 0


def run(args: argparse.Namespace) -> int:
    if args.derive:
        return _derive(args)
    ids = [s.strip() for s in args.only.split(",") if s.strip()] if args.only else None
    t0 = time.perf_counter()

    def progress(r: CheckResult) -> None:
        if not args.json:
            return
        say(args, f"  {r.id:<12} {'ok' if r.passed else 'FAILED'}  {r.seconds:.2f}s")

    with warnings.catch_warnings():  # the checks build odd-but-legal MDPs on purpose
        warnings.simplefilter("ignore", OddMDPWarning)
        results = run_checks(ids, seed=args.seed, on_result=progress)
    total = time.perf_counter() - t0
    if ids and not results:
        raise ExpressionError(f"--only {args.only}: no registered check has these IDs")
    ok = all(r.passed for r in results)
    if args.json:
        print_json(dict(passed=ok, seconds=total, n_checks=len(results),
                        checks=[r.to_dict() for r in results]))
    else:
        say(args, table([_row(r) for r in results],
                        ["id", "statement", "status", "time", "passed"]))
        failed = [r for r in results if not r.passed]
        for r in failed:
            say(args, f"FAILED {r.id}: {r.evidence}")
        say(args, f"{len(results) - len(failed)}/{len(results)} checks passed in {total:.1f}s "
            "(proofs in proofs/, one document per result ID)")
    return 0 if ok else 1
