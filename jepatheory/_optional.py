"""Lazy imports of optional extras with an actionable message."""
from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingExtraError

_EXTRA_OF = {
    "matplotlib": "plot",
    "gymnasium": "gym",
    "dask": "dask",
    "distributed": "dask",
    "torch": "torch",
    "hypothesis": "test",
    "pypardiso": "fast",
}


def require(module: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        top = module.split(".")[0]
        extra = _EXTRA_OF.get(top, top)
        raise MissingExtraError(
            f"{top} is not installed: install the '{extra}' extra, "
            f"e.g. pip install 'jepatheory[{extra}]'"
        ) from exc


def pyplot() -> ModuleType:
    """matplotlib.pyplot on the non-interactive Agg backend."""
    mpl = require("matplotlib")
    mpl.use("Agg")
    return require("matplotlib.pyplot")
