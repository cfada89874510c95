"""The help formatter of every parser (kept apart so ``--help`` imports nothing heavy)."""
from __future__ import annotations

import argparse


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Raw description and epilog (examples keep their layout), defaults in option help.

    A default is shown only where it says something: not for ``None``, ``False``, an empty
    list, nor where the help text already names it (``default ...``).
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if default is None or default is False or default == [] or "default" in text:
            return text
        return super()._get_help_string(action)


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
