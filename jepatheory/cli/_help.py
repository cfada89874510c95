"""The help formatter of every parser (kept apart so ``--help`` imports nothing heavy)."""
from __future__ import annotations

import argparse


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Raw description and epilog (examples keep their layout), defaults in option help."""


def chosen(argv: list[str], names: object) -> str | None:
    """The first positional word of ``argv`` if it names one of ``names`` (else None).

    >>> chosen(["--json", "spectrum", "--k", "4"], ["envs", "spectrum"])
    'spectrum'
    >>> chosen(["--help"], ["envs"]) is None
    True
    """
    for word in argv:
        if not word.startswith("-"):
            return word if word in names else None  # type: ignore[operator]
    return None
