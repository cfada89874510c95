"""Frozen result records that print as tables and export to dict/JSON."""
from __future__ import annotations

import dataclasses
import json
import math
import os
from typing import Any

import numpy as np


def to_jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays, dataclasses and containers to JSON-ready values.

    Non-finite floats become ``None`` for NaN and the strings ``"inf"``/``"-inf"`` so the
    output stays strict JSON; paths become strings and sets sorted lists.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if hasattr(value, "to_dict"):
            return value.to_dict()
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return [to_jsonable(v) for v in sorted(value, key=repr)]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if math.isnan(f):
            return None
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return f
    return value


def _fmt(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    if isinstance(value, np.ndarray):
        if value.size <= 8:
            return np.array2string(value, precision=4, separator=", ")
        return f"array(shape={value.shape})"
    if isinstance(value, (list, tuple)) and len(value) > 8:
        return f"[{len(value)} items]"
    if dataclasses.is_dataclass(value):
        return type(value).__name__ + "(...)"
    return str(value)


class Result:
    """Mixin for frozen dataclasses: ``to_dict``, ``to_json`` and a table ``__repr__``.

    Fields whose name starts with ``_`` and fields listed in ``_hidden`` are left out of
    the table (they are still in ``to_dict`` unless also listed in ``_no_export``).
    """

    _hidden: tuple[str, ...] = ()
    _no_export: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            if f.name.startswith("_") or f.name in self._no_export:
                continue
            out[f.name] = to_jsonable(getattr(self, f.name))
        return out

    def to_json(self, **kw: Any) -> str:
        return json.dumps(self.to_dict(), **kw)

    def __repr__(self) -> str:
        rows = [
            (f.name, _fmt(getattr(self, f.name)))
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
            if not f.name.startswith("_") and f.name not in self._hidden
        ]
        width = max((len(k) for k, _ in rows), default=0)
        lines = [type(self).__name__]
        lines += [f"  {k.ljust(width)}  {v}" for k, v in rows]
        return "\n".join(lines)

    __str__ = __repr__


def table(rows: list[dict[str, Any]], columns: list[str] | None = None) -> str:
    """Render a list of dicts as an aligned text table."""
    if not rows:
        return "(empty)"
    columns = columns or list(rows[0])
    cells = [[_fmt(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    head = "  ".join(c.rjust(w) for c, w in zip(columns, widths))
    sep = "  ".join("-" * w for w in widths)
    body = ["  ".join(v.rjust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join([head, sep, *body])
