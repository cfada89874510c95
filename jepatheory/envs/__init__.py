"""Environment families (THEORY D5, D6) and a registry the command line uses.

Every family is a function returning a validated :class:`~jepatheory.mdp.MDP`; its keyword
parameters (with defaults) are the family's parameters. Slip semantics for the grid-like
families: the intended move with probability ``1 - slip``, each other move with
``slip / (m - 1)``. With ``slip = 0`` the dynamics are deterministic and, by F5, every
singular value of T is 1: there is no low-rank structure and no latent-dimension
trade-off. Use a slip, stochastic blocks or rich observations to get one.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import numbers
import operator
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import EnvParameterError

if TYPE_CHECKING:
    from ..mdp import MDP

#: public name -> the family module defining it. The modules (numpy, SciPy) load on first
#: use (PEP 562), so listing the families (``jepatheory envs``) loads neither.
_HOME = {
    "block_mdp": "block",
    "expander": "graphs", "random_sparse": "graphs", "sbm": "graphs", "tree": "graphs",
    "FOUR_ROOMS": "grids", "chain": "grids", "four_rooms": "grids", "grid": "grids",
    "maze": "grids", "ring": "grids", "rooms": "grids",
    "from_gymnasium": "gym", "gym_env": "gym",
    "noisy_block": "noisy", "noisy_features": "noisy",
    "render_observations": "render", "rendered": "render",
    "SB35_OPTIMAL_VALUES": "textbook", "SB35_RANDOM_VALUES": "textbook",
    "sutton_barto_3_5": "textbook",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        value = getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "FAMILIES", "Family", "make_env", "parse_env_params", "split_env_spec", "DEFAULT_ENV",
    "chain", "ring", "grid", "four_rooms", "rooms", "maze", "expander", "tree",
    "random_sparse", "sbm", "block_mdp", "noisy_block", "noisy_features", "sutton_barto_3_5",
    "gym_env", "from_gymnasium",
    "FOUR_ROOMS", "SB35_RANDOM_VALUES", "SB35_OPTIMAL_VALUES",
    "render_observations", "rendered",
]

DEFAULT_ENV = "four-rooms"


_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
        ast.Div: operator.truediv}


def _literal(node: ast.expr, names: dict[str, Any]) -> Any:
    """The value of a default written as a literal, a named module constant or arithmetic
    on them (``1 / 3``); anything else raises ValueError."""
    if isinstance(node, ast.Name):
        if node.id in names:
            return names[node.id]
        raise ValueError(node.id)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left, right = _literal(node.left, names), _literal(node.right, names)
        if not all(isinstance(v, numbers.Real) for v in (left, right)):
            raise ValueError(ast.dump(node))
        return _OPS[type(node.op)](left, right)
    return ast.literal_eval(node)


def read_defaults(module: str, func: str) -> dict[str, Any]:
    """Parameter name -> default of ``func`` in family module ``module``, read from its source
    without importing it (the source's numpy and SciPy stay unloaded)."""
    tree = ast.parse(Path(__file__).with_name(f"{module}.py").read_text(encoding="utf-8"))
    names: dict[str, Any] = {}
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)):
            try:
                names[node.targets[0].id] = _literal(node.value, names)
            except (ValueError, TypeError, SyntaxError):
                pass
        elif isinstance(node, ast.FunctionDef) and node.name == func:
            a = node.args
            pos = a.posonlyargs + a.args
            pos_defaults = [inspect.Parameter.empty] * (len(pos) - len(a.defaults)) \
                + [_literal(d, names) for d in a.defaults]
            out = {p.arg: d for p, d in zip(pos, pos_defaults)}
            out.update({p.arg: inspect.Parameter.empty if d is None else _literal(d, names)
                        for p, d in zip(a.kwonlyargs, a.kw_defaults)})
            return out
    raise ValueError(f"{module}.{func} not found")


@dataclass(frozen=True)
class Family:
    name: str
    target: str  # "module:function" in this package
    summary: str
    extra: str | None = None

    @property
    def build(self) -> Callable[..., MDP]:
        """The family's constructor (its module is imported on first use)."""
        module, func = self.target.split(":")
        return getattr(importlib.import_module(f".{module}", __name__), func)

    @property
    def params(self) -> dict[str, Any]:
        """Parameter name -> default (read from the source while the module is unloaded)."""
        module, func = self.target.split(":")
        if f"{__name__}.{module}" not in sys.modules:
            try:
                return read_defaults(module, func)
            except (OSError, ValueError, SyntaxError):
                pass  # no source (a byte-code install): import it
        return {p.name: p.default for p in inspect.signature(self.build).parameters.values()}


_FAMS = [
    Family("chain", "grids:chain", "path of n states, left/right with slip"),
    Family("ring", "grids:ring", "cycle of n states, two directions with slip"),
    Family("grid", "grids:grid",
           "open 2-D grid, 4 actions with slip (vectorized to 1e6+ states)"),
    Family("four-rooms", "grids:four_rooms",
           "Sutton-Precup-Singh four-rooms, 104 states, slip 1/3"),
    Family("rooms", "grids:rooms",
           "rooms and doors from an ASCII map ('#' walls, 'G' goal, '/' rows)"),
    Family("maze", "grids:maze", "perfect maze (random spanning tree of a grid), 4 actions"),
    Family("expander", "graphs:expander", "random regular graph, action i = i-th neighbour"),
    Family("tree", "graphs:tree", "complete tree, actions parent/children"),
    Family("random-sparse", "graphs:random_sparse",
           "random successors with Dirichlet probabilities"),
    Family("sbm", "graphs:sbm", "stochastic-block clustered MDP (sharp low rank)"),
    Family("block-mdp", "block:block_mdp", "rich-observation block MDP with features x (D6)"),
    Family("rendered", "render:rendered", "a grid-like family (base=) observed as small noisy "
           "grey "
           "images with distractors (x = flattened pixels; CNN encoders)"),
    Family("sutton-barto-3.5", "textbook:sutton_barto_3_5",
           "textbook 5x5 gridworld, deterministic"),
    Family("noisy-block", "noisy:noisy_block", "deterministic latent maze, M noisy emissions, "
           "exogenous distractor chain; goal reaching (PE)"),
    Family("noisy-features", "noisy:noisy_features", "deterministic latent maze, features "
           "e(l) + sigma xi, exogenous feature dims; goal reaching (PE)"),
    Family("gym", "gym:gym_env", "gymnasium toy_text import (FrozenLake-v1, CliffWalking-v1, "
           "Taxi-v3/v4, whichever this gymnasium registers)", extra="gym"),
]
FAMILIES: dict[str, Family] = {f.name: f for f in _FAMS}


def _int_value(raw: str) -> int:
    """``"30"`` or ``"1e5"`` -> int; a fractional, infinite or 100-digit value is refused."""
    if len(raw) > 100:
        raise ValueError
    try:
        return int(raw)
    except ValueError:
        v = float(raw)  # 1e5; 1e400 -> inf, refused below
        if not v.is_integer():
            raise
        return int(v)


def _convert(family: str, key: str, raw: Any, default: Any) -> Any:
    if not isinstance(raw, str):
        numeric = isinstance(default, (int, float)) and not isinstance(default, bool)
        if numeric and not isinstance(raw, numbers.Real):
            raise EnvParameterError(f"{family}: parameter {key}={raw!r} is not a number")
        if isinstance(default, str):
            raise EnvParameterError(f"{family}: parameter {key}={raw!r} is not a string")
        if isinstance(default, float) and isinstance(raw, numbers.Real):
            return float(raw)  # numpy float32 would lose the row sums of P
        return raw
    try:
        if isinstance(default, bool):
            low = raw.lower()
            if low not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError
            return low in ("1", "true", "yes")
        if isinstance(default, int):
            return _int_value(raw)
        if isinstance(default, float):
            if len(raw) > 100:
                raise ValueError
            return float(Fraction(raw))  # accepts 0.25 and 1/3; never evaluates code
    except (ValueError, ZeroDivisionError, OverflowError):
        kind = type(default).__name__
        raise EnvParameterError(f"{family}: parameter {key}={raw!r} is not a valid {kind}") \
            from None
    return raw


def parse_env_params(name: str, items: Iterable[str]) -> dict[str, Any]:
    """Parse ``["slip=0.2", "n=30"]`` into typed keyword arguments for family ``name``.

    An empty item, an item without ``=`` or a parameter given twice is an error (the last
    value silently winning would run another experiment than the one asked for)."""
    fam = _family(name)
    defaults = fam.params
    out: dict[str, Any] = {}
    raws: dict[str, str] = {}
    for item in items:
        if not item.strip():
            raise EnvParameterError(f"{name}: empty parameter item (two commas in a row, or a "
                                    "trailing comma?)")
        if "=" not in item:
            raise EnvParameterError(f"{name}: parameter {item!r} is not KEY=VALUE")
        key, raw = item.split("=", 1)
        key = key.strip().replace("-", "_")
        if key not in defaults:
            raise EnvParameterError(f"{name}: unknown parameter {key!r}; "
                                    f"known: {', '.join(defaults)}")
        if key in out:
            raise EnvParameterError(f"{name}: parameter {key!r} given twice ({key}="
                                    f"{raws[key]} and {key}={raw.strip()})")
        raws[key] = raw.strip()
        out[key] = _convert(name, key, raw.strip(), defaults[key])
    return out


def split_env_spec(spec: str) -> tuple[str, list[str]]:
    """``"chain:n=30,slip=0.2"`` -> ``("chain", ["n=30", "slip=0.2"])``. A ``map`` value
    (rooms) keeps its commas: everything after ``map=`` belongs to the map."""
    if ":" not in spec:
        return spec, []
    name, rest = spec.split(":", 1)
    if rest == "":
        return name, []
    items: list[str] = []
    for part in rest.split(","):
        if items and items[-1].lstrip().startswith("map=") and "=" not in part:
            items[-1] += "," + part
        else:
            items.append(part)
    return name, items


def _family(name: str) -> Family:
    if name not in FAMILIES:
        raise EnvParameterError(f"unknown environment {name!r}; known: {', '.join(FAMILIES)}")
    return FAMILIES[name]


def make_env(name: str = DEFAULT_ENV, **params: Any) -> MDP:
    """Build family ``name`` with ``params`` (strings are converted by the defaults' types).

    ``name`` may also carry parameters: ``"chain:n=30,slip=0.2"``; a parameter both there
    and in ``params`` is an error. The memory the build needs is estimated first
    (:func:`jepatheory.limits.estimate_env_bytes`) and a build that does not fit raises
    :class:`~jepatheory.errors.ResourceLimitError` before any array is allocated.
    """
    from ..limits import check_memory, estimate_env_bytes

    if ":" in name:
        name, items = split_env_spec(name)
        inline = parse_env_params(name, items)
        both = sorted(set(inline) & set(params))
        if both:
            k = both[0]
            raise EnvParameterError(f"{name}: parameter {k!r} given twice ({k}={inline[k]!r} "
                                    f"in the name and {k}={params[k]!r} separately)")
        params = {**inline, **params}
    fam = _family(name)
    defaults = fam.params
    for key in params:
        if key not in defaults:
            raise EnvParameterError(f"{name}: unknown parameter {key!r}; "
                                    f"known: {', '.join(defaults)}")
    typed = {k: _convert(name, k, v, defaults[k]) for k, v in params.items()}
    seed = typed.get("seed", 0)
    if "seed" in typed and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)
                            or seed < 0):
        raise EnvParameterError(f"{name}: parameter seed={seed!r} must be an integer >= 0")
    need = estimate_env_bytes(name, {**defaults, **typed})
    if need is not None:
        shown = ", ".join(f"{k}={v}" for k, v in typed.items() if k != "map")
        check_memory(need, f"environment {name}" + (f" ({shown})" if shown else ""))
    return fam.build(**typed)
