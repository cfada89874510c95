"""Doctests of the package run with the tests (``--doctest-modules`` over ``jepatheory``);
modules whose optional extra is not installed are not collected."""
from __future__ import annotations

import importlib.util

#: module file -> the import its extra provides
OPTIONAL = {
    "jepatheory/plots.py": "matplotlib",
    "jepatheory/bounds/plots.py": "matplotlib",
    "jepatheory/sim/plots.py": "matplotlib",
    "jepatheory/envs/gym.py": "gymnasium",
}

collect_ignore = ["jepatheory/__main__.py"] + [
    path for path, mod in OPTIONAL.items() if importlib.util.find_spec(mod) is None]
