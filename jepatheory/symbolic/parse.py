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
than :data:`MAX_EXPONENT` in absolute value, exponents of a symbolic base larger than
:data:`MAX_SYMBOLIC_EXPONENT`, integers with more than :data:`MAX_INT_DIGITS` digits,
numbers (or numeric subexpressions, evaluated in floating point on the side) that overflow
a float, such as ``1e999``, ``(10**1000)**9`` or ``exp(exp(exp(100)))``, texts longer than
:data:`MAX_LENGTH`, more than :data:`MAX_NODES` syntax nodes, trees or parentheses
deeper than :data:`MAX_DEPTH`) raises :class:`~jepatheory.errors.ExpressionError` naming
what was rejected. These bounds keep both the parser and what is later derived from the
expression small: a degree-1000 polynomial parses instantly and expands forever.
"""
from __future__ import annotations

import ast
import math
from collections.abc import Mapping, Sequence
from fractions import Fraction

import sympy as sp

from ..errors import ExpressionError

__all__ = ["FUNCTIONS", "MAX_LENGTH", "MAX_EXPONENT", "MAX_DIGITS", "MAX_DEPTH",
           "MAX_SYMBOLIC_EXPONENT", "MAX_INT_DIGITS", "MAX_NODES", "parse_expression"]

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
#: largest exponent of a base that holds a symbol (p**32 expands to 33 terms; p**1000
#: makes every later simplification crawl)
MAX_SYMBOLIC_EXPONENT = 32
#: most digits of an integer literal
MAX_INT_DIGITS = 100
#: most syntax nodes of one expression
MAX_NODES = 400
_TOO_LARGE = "number too large (more than 308 digits: overflows a float)"
#: float stand-ins of the whitelisted functions, to bound numeric subexpressions
_FLOAT_FUNCS = {"sqrt": math.sqrt, "exp": math.exp, "log": math.log, "sin": math.sin,
                "cos": math.cos, "tan": math.tan, "Abs": abs, "abs": abs, "Min": min,
                "Max": max, "min": min, "max": max, "floor": math.floor,
                "ceiling": math.ceil}

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
    depth = deepest = 0
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        deepest = max(deepest, depth)
    if deepest > MAX_DEPTH:
        raise ExpressionError(f"expression {_short(text)}: parentheses nested deeper than "
                              f"{MAX_DEPTH}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, MemoryError, RecursionError) as exc:
        why = getattr(exc, "msg", None) or "too deeply nested"
        raise ExpressionError(f"expression {_short(text)}: syntax error ({why})") from None
    count = sum(1 for _ in ast.walk(tree))
    if count > MAX_NODES:
        raise ExpressionError(f"expression {_short(text)}: {count} syntax nodes (limit "
                              f"{MAX_NODES})")
    _float_of(tree.body, text, {})
    return _build(tree.body, names, funcs, text, 0)


def _short(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:40] + "..." + text[-12:])


def _float_of(node: ast.AST, text: str, memo: dict[int, float | None]) -> float | None:
    """The value of a numeric subtree in floating point (None when it holds a symbol or
    leaves the functions' domain); an overflow is an :class:`ExpressionError`: the number is
    too large for anything this package derives. Also checks integer literals' digits and
    exponents (numeric exponents <= :data:`MAX_EXPONENT`, exponents of symbolic bases <=
    :data:`MAX_SYMBOLIC_EXPONENT`)."""
    key = id(node)
    if key in memo:
        return memo[key]
    rec = lambda n: _float_of(n, text, memo)  # noqa: E731
    val: float | None = None
    try:
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, int) and not isinstance(v, bool):
                if v.bit_length() > MAX_INT_DIGITS * 3.33:
                    raise _reject(node, text, f"integer with more than {MAX_INT_DIGITS} "
                                  "digits", short=True)
                val = float(v)
            elif isinstance(v, float):
                if not math.isfinite(v):
                    raise _reject(node, text, _TOO_LARGE,
                                  short=True)
                val = v
        elif isinstance(node, ast.Name):
            val = {"pi": math.pi, "E": math.e}.get(node.id)
        elif isinstance(node, ast.UnaryOp):
            o = rec(node.operand)
            val = None if o is None else (-o if isinstance(node.op, ast.USub) else o)
        elif isinstance(node, ast.BinOp):
            a, b = rec(node.left), rec(node.right)
            if isinstance(node.op, (ast.Pow, ast.BitXor)):
                if b is not None and abs(b) > MAX_EXPONENT:
                    raise _reject(node, text, f"exponent larger than {MAX_EXPONENT}")
                if b is not None and a is None and abs(b) > MAX_SYMBOLIC_EXPONENT:
                    raise _reject(node, text, "exponent of a symbolic base larger than "
                                  f"{MAX_SYMBOLIC_EXPONENT}")
                if a is not None and b is not None:
                    try:
                        val = float(a) ** b if a >= 0 or float(b).is_integer() else None
                    except ZeroDivisionError:
                        val = None
                    if isinstance(val, complex):
                        val = None
            elif a is not None and b is not None:
                if isinstance(node.op, ast.Add):
                    val = a + b
                elif isinstance(node.op, ast.Sub):
                    val = a - b
                elif isinstance(node.op, ast.Mult):
                    val = a * b
                elif isinstance(node.op, ast.Div):
                    val = a / b if b != 0 else None
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            args = [rec(a) for a in node.args]
            fn = _FLOAT_FUNCS.get(node.func.id)
            if fn is not None and args and all(a is not None for a in args):
                try:
                    val = float(fn(*args))
                except (ValueError, ZeroDivisionError):
                    val = None
    except OverflowError:
        raise _reject(node, text, _TOO_LARGE, short=True) \
            from None
    if val is not None and not math.isfinite(val):
        raise _reject(node, text, _TOO_LARGE, short=True)
    memo[key] = val
    return val


def _reject(node: ast.AST, text: str, why: str, short: bool = False) -> ExpressionError:
    piece = ast.get_source_segment(text.strip(), node) or type(node).__name__
    return ExpressionError(f"expression {_short(text)}: {why}: {_short(piece)}")


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
        # ** or ^ : exponents and magnitudes were bounded by _float_of before building
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
