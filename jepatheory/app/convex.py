"""The convex sections of ``jepatheory demo``: T6 relaxation certificates and D5 fastest
mixing design."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import networkx as nx

from .._results import table
from ..closed_forms import path_fastest_mixing_slem
from ..convex.design import fastest_mixing
from ..convex.relax import relax

if TYPE_CHECKING:  # the context is built in demo.py, which imports this module
    from .demo import DemoContext

__all__ = ["relax_section", "design_section"]


def relax_section(ctx: DemoContext) -> dict[str, Any]:
    """Demo: T6 certificates at k = 2 on the demo environment (free and tied):
    tail_k <= lower <= min eps_arch <= upper, verified."""
    C = ctx.cooc()
    archs = ("free", "tied")  # shared needs tens of seconds: 'jepatheory relax --arch shared'
    rows = []
    for arch in archs:
        c = relax(C, 2, arch, seed=ctx.seed)
        rows.append(dict(k=2, arch=arch, tail=c.tail, lower=c.lower, upper=c.upper, gap=c.gap,
                         duality_gap=c.duality_gap, verified=c.verified, method=c.method,
                         seconds=c.seconds))
    ctx.say("== Constrained architectures (T6): relaxation certificates, "
            "tail_k <= lower <= min eps_arch <= upper")
    ctx.say(table(rows))
    return dict(certificates=rows)


def design_section(ctx: DemoContext) -> dict[str, Any]:
    """Demo: fastest mixing on a path (closed form cos(pi/n)) and on a grid, certified."""
    rows = []
    for name, G, exact in [("path-12", nx.path_graph(12), path_fastest_mixing_slem(12)),
                           ("grid-6x6", nx.grid_2d_graph(6, 6), None)]:
        c = fastest_mixing(G)
        rows.append(dict(graph=name, slem=c.slem, lower=c.lower, gap=c.gap,
                         closed_form=exact, seconds=c.seconds))
    ctx.say("== Convex environment design (D5): fastest mixing chains, lower <= min SLEM <= slem")
    ctx.say(table(rows))
    return dict(fastest_mixing=rows)
