"""The command line imports lazily: listing commands loads no SymPy/CVXPY, and the lazy help
tables say what the modules themselves register."""
from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from jepatheory.cli import COMMANDS, HELP, build_parser
from jepatheory.cli import bench as cli_bench

PROBE = """
import sys
from jepatheory.cli import main
try:
    main({argv!r})
except SystemExit:
    pass
heavy = [m for m in ("sympy", "cvxpy", "torch", "matplotlib") if m in sys.modules]
print("HEAVY", ",".join(heavy))
"""


@pytest.mark.parametrize("argv", [["--help"], ["envs"], ["bench", "--help"]])
def test_listing_loads_no_sympy_or_cvxpy(argv):
    res = subprocess.run([sys.executable, "-c", PROBE.format(argv=argv)], capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "HEAVY", res.stdout


def test_import_jepatheory_is_light():
    code = ("import sys, jepatheory; print(sorted(m for m in ('numpy', 'scipy', 'sympy', "
            "'cvxpy', 'networkx') if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"


def _choices(parser: argparse.ArgumentParser) -> dict[str, str]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {c.dest: c.help for c in action._choices_actions}


def test_help_table_matches_the_modules():
    full = _choices(build_parser())  # every module imported and registered
    assert set(HELP) <= set(COMMANDS)
    assert {name: HELP[name] for name in full} == full
    assert _choices(build_parser(["--help"])) == full


def test_bench_help_is_the_full_first_paragraph():
    import importlib

    for name in cli_bench.TARGETS:
        mod = importlib.import_module(f"jepatheory.bench.{name}")
        assert cli_bench.HELP[name] == cli_bench.first_paragraph(mod.__doc__, name)


def test_envs_listing_loads_no_numpy_or_scipy():
    code = PROBE.format(argv=["envs"]).replace('("sympy", "cvxpy", "torch", "matplotlib")',
                                           '("sympy", "cvxpy", "numpy", "scipy")')
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "HEAVY", res.stdout


def test_family_defaults_read_from_source_match_the_signatures():
    import inspect

    from jepatheory.envs import FAMILIES, read_defaults

    for fam in FAMILIES.values():
        module, func = fam.target.split(":")
        sig = {p.name: p.default for p in inspect.signature(fam.build).parameters.values()}
        read = read_defaults(module, func)
        assert read == sig, fam.name
        assert [type(v) for v in read.values()] == [type(v) for v in sig.values()], fam.name
        assert fam.params == sig  # the module is loaded now: the signature itself
