r"""A restricted parser for user-supplied expression strings.

``sympy.sympify`` and ``parse_expr`` call Python's ``eval``: untrusted text must never reach
them. :func:`parse_expression` parses the text with :mod:`ast` (which only *reads* Python
syntax), walks the tree and builds the SymPy object itself, allowing only

* numbers (integers, decimals; decimals become exact rationals),
* the symbol names the caller declares (``symbols``),
* ``+ - * / **`` and unary ``+ -`` (``^`` is accepted as a power),
* calls of whitelisted functions (:data:`FUNCTIONS`) on allowed arguments.

Everything else (attribute access, subscripts, lambdas, comprehensions, keyword
arguments, strings, names with underscores at both ends, unknown names, exponents larger
than :data:`MAX_EXPONENT` in absolute value, numeric powers with more than
:data:`MAX_DIGITS` digits, texts longer than :data:`MAX_LENGTH`, trees
deeper than :data:`MAX_DEPTH`) raises :class:`~jepatheory.errors.ExpressionError` naming
what was rejected.
"""
from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from fractions import Fraction

import sympy as sp

from ..errors import ExpressionError

__all__ = ["FUNCTIONS", "MAX_LENGTH", "MAX_EXPONENT", "MAX_DIGITS", "MAX_DEPTH", "parse_expression"]

#: Functions a user expression may call, by name.
FUNCTIONS: dict[str, sp.Basic] = {
    "sqrt": sp.sqrt, "exp": sp.exp, "log": sp.log, "sin": sp.sin, "cos": sp.cos,
    "tan": sp.tan, "Abs": sp.Abs, "abs": sp.Abs, "Min": sp.Min, "Max": sp.Max,
    "min": sp.Min, "max": sp.Max, "floor": sp.floor, "ceiling": sp.ceiling,
}
#: Constants a user expression may name.
CONSTANTS: dict[str, sp.Basic] = {"pi": sp.pi, "E": sp.E}
MAX_LENGTH = 2000
MAX_EXPONENT = 1000
MAX_DIGITS = 10_000
MAX_DEPTH = 60

_BINOPS = {ast.Add: sp.Add, ast.Sub: None, ast.Mult: sp.Mul, ast.Div: None, ast.Pow: None,
           ast.BitXor: None}


def _symbol_table(symbols: Mapping[str, sp.Basic] | Sequence[sp.Symbol | str] | None
                  ) -> dict[str, sp.Basic]:
    if symbols is None:
        return {}
    if isinstance(symbols, Mapping):
        table = {str(k): v for k, v in symbols.items()}
    else:
        table = {}
        for s in symbols:
            sym = sp.Symbol(s) if isinstance(s, str) else s
            table[str(sym)] = sym
    for name in table:
        if not name.isidentifier() or name.startswith("__"):
            raise ExpressionError(f"symbol name {name!r} is not a plain identifier")
    return table


def parse_expression(text: str, symbols: Mapping[str, sp.Basic] | Sequence[sp.Symbol | str]
                     | None = None, functions: Mapping[str, sp.Basic] | None = None
                     ) -> sp.Expr:
    """Parse ``text`` into a SymPy expression without ever evaluating Python code.

    Parameters
    ----------
    text : str
        E.g. ``"1 - p"``, ``"p/2 + w**2"``, ``"sqrt(p*(1-p))"``.
    symbols : mapping name -> SymPy object, or a sequence of symbols/names
        The only names the text may use (besides :data:`FUNCTIONS` and ``pi``, ``E``).
    functions : mapping, optional
        Replaces the function whitelist.

    Raises
    ------
    ExpressionError
        On anything outside the grammar above, naming the offending piece.

    Examples
    --------
    >>> import sympy as sp
    >>> p = sp.Symbol("p", positive=True)
    >>> parse_expression("(1 - p)/2", {"p": p})
    1/2 - p/2
    """
    if not isinstance(text, str):
        raise ExpressionError(f"expression must be a string, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression is {len(text)} characters long (limit {MAX_LENGTH})")
    names = _symbol_table(symbols)
    funcs = dict(FUNCTIONS if functions is None else functions)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"expression {text!r}: syntax error ({exc.msg})") from None
    return _build(tree.body, names, funcs, text, 0)


def _reject(node: ast.AST, text: str, why: str) -> ExpressionError:
    piece = ast.get_source_segment(text.strip(), node) or type(node).__name__
    return ExpressionError(f"expression {text!r}: {why}: {piece!r}")


def _build(node: ast.AST, names: dict[str, sp.Basic], funcs: Mapping[str, sp.Basic],
           text: str, depth: int) -> sp.Expr:
    if depth > MAX_DEPTH:
        raise ExpressionError(f"expression {text!r}: nested deeper than {MAX_DEPTH}")
    rec = lambda n: _build(n, names, funcs, text, depth + 1)  # noqa: E731
    if isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise _reject(node, text, "only numbers are allowed as constants")
        if isinstance(v, float):
            return sp.Rational(Fraction(repr(v)).numerator, Fraction(repr(v)).denominator)
        return sp.Integer(v)
    if isinstance(node, ast.Name):
        if node.id.startswith("_"):
            raise _reject(node, text, "names starting with '_' are not allowed")
        if node.id in names:
            return names[node.id]
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        allowed = sorted(names) + sorted(CONSTANTS)
        raise _reject(node, text, f"unknown name (allowed: {', '.join(allowed) or 'none'})")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = rec(node.operand)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        a, b = rec(node.left), rec(node.right)
        if isinstance(node.op, ast.Add):
            return a + b
        if isinstance(node.op, ast.Sub):
            return a - b
        if isinstance(node.op, ast.Mult):
            return a * b
        if isinstance(node.op, ast.Div):
            if b == 0:
                raise _reject(node, text, "division by zero")
            return a / b
        # ** or ^ : bound the exponent so that 10**10**10 cannot exhaust memory
        if b.is_number:
            bv = sp.Abs(b)
            if bv.is_finite is False or bool(sp.N(bv) > MAX_EXPONENT):
                raise _reject(node, text, f"exponent larger than {MAX_EXPONENT}")
            if a.is_number and a != 0 and abs(float(sp.N(sp.log(sp.Abs(a), 10)))) * \
                    float(sp.N(bv)) > MAX_DIGITS:
                raise _reject(node, text, f"power with more than {MAX_DIGITS} digits")
        return a ** b
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise _reject(node, text, "only calls of whitelisted functions by name are allowed")
        fname = node.func.id
        if fname not in funcs:
            raise _reject(node, text, f"function {fname!r} is not allowed "
                          f"(allowed: {', '.join(sorted(funcs))})")
        if node.keywords:
            raise _reject(node, text, "keyword arguments are not allowed")
        if not node.args or len(node.args) > 8:
            raise _reject(node, text, "a function takes 1 to 8 arguments")
        return funcs[fname](*[rec(a) for a in node.args])
    if isinstance(node, ast.Attribute):
        raise _reject(node, text, "attribute access is not allowed")
    if isinstance(node, ast.Lambda):
        raise _reject(node, text, "lambda is not allowed")
    raise _reject(node, text, f"{type(node).__name__} is not allowed")
