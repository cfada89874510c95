"""Compatibility home of the bounds section of ``jepatheory demo``, which lives in
:mod:`jepatheory.app.bounds` (the app layer). This module belongs to the app layer too:
library code never imports it."""
from __future__ import annotations

from ..app.bounds import demo_section

__all__ = ["demo_section"]
