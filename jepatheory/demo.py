"""Compatibility home of the demo driver, which lives in :mod:`jepatheory.app.demo`."""
from __future__ import annotations

from .app.demo import (SECTIONS, DemoContext, check_sections, run_demo, section_facts,
                       section_graph, section_spectrum)

__all__ = ["DemoContext", "SECTIONS", "check_sections", "run_demo", "section_graph",
           "section_spectrum", "section_facts"]
