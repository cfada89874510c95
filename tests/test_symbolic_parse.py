"""The restricted parser: what it builds, and that it never runs code."""
from __future__ import annotations

import pytest
import sympy as sp

from jepatheory.errors import ExpressionError
from jepatheory.symbolic.parse import MAX_EXPONENT, MAX_SYMBOLIC_EXPONENT, parse_expression

p, w = sp.symbols("p w", positive=True)
NAMES = {"p": p, "w": w}


@pytest.mark.parametrize("text, expected", [
    ("1 - p", 1 - p),
    ("p/2 + w**2", p / 2 + w**2),
    ("p^2", p**2),
    ("sqrt(p*(1-p))", sp.sqrt(p * (1 - p))),
    ("0.25*p", p / 4),                      # decimals become exact rationals
    ("-(p - 1)", 1 - p),
    ("exp(log(w))", w),
    ("2**10", sp.Integer(1024)),
    ("pi*p", sp.pi * p),
])
def test_parses_to_exact_sympy(text, expected):
    assert parse_expression(text, NAMES) == expected


@pytest.mark.parametrize("text, fragment", [
    ("__import__('os').system('true')", "only calls"),
    ("__import__('os')", "not allowed"),
    ("p.__class__", "attribute"),
    ("(lambda: 1)()", "only calls"),
    ("lambda x: x", "lambda"),
    ("__builtins__", "'_'"),
    ("_p", "'_'"),
    ("open('x')", "not allowed"),
    ("eval('1')", "not allowed"),
    ("exec('1')", "not allowed"),
    ("q + 1", "unknown name"),
    ("'text'", "numbers"),
    ("[p, w]", "List"),
    ("p[0]", "Subscript"),
    ("sqrt(x=p)", "keyword"),
    ("p if w else 1", "IfExp"),
    ("10**10**10", "exponent"),
    ("p**100000", "exponent"),
    ("(9**999)**999", "digits"),
    ("[x for x in ()]", "ListComp"),
    ("p == w", "Compare"),
    ("1/0", "division by zero"),
    ("p +", "syntax"),
    ("sqrt()", "1 to 8"),
    ("True", "numbers"),
])
def test_rejects_code_and_oversized_input(text, fragment):
    with pytest.raises(ExpressionError, match=None) as exc:
        parse_expression(text, NAMES)
    assert fragment in str(exc.value)


def test_rejects_long_and_deep_input():
    with pytest.raises(ExpressionError, match="characters long"):
        parse_expression("p+" * 2000 + "p", NAMES)
    with pytest.raises(ExpressionError, match="nested deeper"):
        parse_expression("-" * 70 + "p", NAMES)
    with pytest.raises(ExpressionError):
        parse_expression(123, NAMES)  # type: ignore[arg-type]


def test_exponent_limit_is_the_documented_one():
    # a symbolic base: MAX_SYMBOLIC_EXPONENT (the derivations expand the polynomial)
    assert parse_expression(f"p**{MAX_SYMBOLIC_EXPONENT}", NAMES) == p**MAX_SYMBOLIC_EXPONENT
    with pytest.raises(ExpressionError, match="symbolic base"):
        parse_expression(f"p**{MAX_SYMBOLIC_EXPONENT + 1}", NAMES)
    # a numeric base: MAX_EXPONENT, and the value must fit a float
    assert parse_expression(f"2**{MAX_EXPONENT}/2**{MAX_EXPONENT}", NAMES) == 1
    with pytest.raises(ExpressionError, match="exponent larger"):
        parse_expression(f"1**{MAX_EXPONENT + 1}", NAMES)


def test_symbol_names_must_be_plain():
    with pytest.raises(ExpressionError):
        parse_expression("p", {"__p": p})
    assert parse_expression("a + b", ["a", "b"]) == sp.Symbol("a") + sp.Symbol("b")


def test_never_calls_eval(monkeypatch):
    import builtins

    def boom(*a, **k):
        raise AssertionError("eval was called")
    monkeypatch.setattr(builtins, "eval", boom)
    monkeypatch.setattr(sp, "sympify", boom)
    assert parse_expression("sqrt(p) + 1/w", NAMES) == sp.sqrt(p) + 1 / w
