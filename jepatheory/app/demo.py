"""The main job, ``jepatheory demo``: the whole story on one environment, section by section.

Each section is a function ``section(ctx) -> dict`` that prints its part (through
``ctx.say``), may write figures into ``ctx.out``, and returns its JSON-ready summary, which
lands under its name in ``report.json``. Later layers add sections to :data:`SECTIONS`.
"""
from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._results import table
from ..cooccurrence import CoOccurrence
from ..errors import MissingExtraError
from ..facts import check_facts
from ..graph import conditional_graph
from ..mdp import MDP
from ..solvers import optimal_policy

__all__ = ["DemoContext", "SECTIONS", "run_demo", "section_graph", "section_spectrum",
           "section_facts"]


@dataclass
class DemoContext:
    mdp: MDP
    nu: np.ndarray
    out: Path
    seed: int = 0
    quick: bool = False
    say: Callable[..., None] = print
    C: CoOccurrence | None = None
    figures: list[str] = field(default_factory=list)
    store: dict[str, Any] = field(default_factory=dict)

    def cooc(self) -> CoOccurrence:
        if self.C is None:
            self.C = CoOccurrence(self.mdp, self.nu)
        return self.C

    def figure(self, name: str, draw: Callable[[Path], Any]) -> None:
        """Draw a figure into the output folder if matplotlib is installed."""
        path = self.out / name
        try:
            draw(path)
            self.figures.append(str(path))
        except MissingExtraError as exc:
            if not self.store.get("_warned_plot"):
                self.say(f"  (figures skipped: {exc})")
                self.store["_warned_plot"] = True


def section_graph(ctx: DemoContext) -> dict[str, Any]:
    mdp = ctx.mdp
    ctx.say(f"== Environment and conditional graph (D1)\n  {mdp!r}")
    C = ctx.cooc()
    info: dict[str, Any] = dict(n_states=mdp.n_states, n_actions=mdp.n_actions,
                                gamma=mdp.gamma, n_left=C.n_left, n_right=C.n_right,
                                nnz_T=int(C.T.nnz), uncovered=int(C.uncovered.size),
                                unreachable=int(C.unreachable.size))
    if mdp.P_sa.nnz <= 200_000:
        G = conditional_graph(mdp, ctx.nu)
        info.update(graph_nodes=G.number_of_nodes(), graph_edges=G.number_of_edges())
        ctx.say(f"  NetworkX MultiDiGraph: {G.number_of_nodes()} states, "
                f"{G.number_of_edges()} (s -a-> s') edges")
    ctx.say(f"  T: {C.n_left} x {C.n_right}, nnz {C.T.nnz}; uncovered pairs "
            f"{C.uncovered.size}, unreachable states {C.unreachable.size}")
    plan = optimal_policy(mdp)
    info["V_star_rho0"] = plan.value(mdp.rho0)
    ctx.store["plan"] = plan
    ctx.say(f"  optimal value V*(rho0) = {info['V_star_rho0']:.6g} "
            f"(policy iteration, {plan.iterations} iterations)")
    from ..plots import plot_graph
    ctx.figure("graph.png", lambda p: plot_graph(mdp, p, plan.V, "V* on the state graph"))
    return info


def section_spectrum(ctx: DemoContext) -> dict[str, Any]:
    from .spectrum import spectrum_payload, spectrum_rows
    C = ctx.cooc()
    k = min(16, C.n_left, C.n_right)
    payload = spectrum_payload(C, k)
    ctx.say(f"== Spectrum of T (D2, T2): top {k}, method {payload['method']}, "
            f"max error bound {payload['max_error']:.1e}")
    ctx.say(table(spectrum_rows(payload)))
    ctx.say(f"  ||T||_F^2 = {payload['frobenius_sq']:.6g}  (= 1 + chi^2(p || nu x q), F2)")
    from ..plots import plot_spectrum
    from .spectrum import spectrum_of
    ctx.figure("spectrum.png", lambda p: plot_spectrum(spectrum_of(C, k), p, title=C.mdp.name))
    return {k_: payload[k_] for k_ in ("singular_values", "tail", "frobenius_sq", "residuals",
                                       "method", "certified")}


def section_facts(ctx: DemoContext) -> dict[str, Any]:
    rep = check_facts(ctx.cooc())
    ctx.say("== Facts F1-F5 about T")
    ctx.say(table([dict(fact=c.fact, statement=c.statement, applicable=c.applicable,
                        max_error=c.max_error, passed=c.passed) for c in rep.checks]))
    return dict(passed=rep.passed, checks=[c.to_dict() for c in rep.checks])


def _lazy(module: str, name: str = "demo_section") -> Callable[[DemoContext], dict[str, Any]]:
    """The section function ``name`` of ``module``, imported only when the section runs."""
    def section(ctx: DemoContext) -> dict[str, Any]:
        return getattr(importlib.import_module(module), name)(ctx)
    section.__name__ = f"{name}[{module}]"
    return section


#: (name, function) in the order the demo runs them: the story from the graph to planning.
SECTIONS: list[tuple[str, Callable[[DemoContext], dict[str, Any]]]] = [
    ("graph", section_graph),
    ("spectrum", section_spectrum),
    ("facts", section_facts),
    ("derivation", _lazy("jepatheory.app.symbolic")),
    ("bounds", _lazy("jepatheory.app.bounds")),
    ("simulation", _lazy("jepatheory.app.sim")),
    ("relaxation", _lazy("jepatheory.app.convex", "relax_section")),
    ("design", _lazy("jepatheory.app.convex", "design_section")),
]


def check_sections(only: list[str] | None) -> list[str] | None:
    """``only`` with blanks dropped; an unknown or empty selection is an error (an empty
    report with exit 0 would look like success)."""
    from ..errors import EnvParameterError
    if only is None:
        return None
    names = [n for n, _ in SECTIONS]
    picked = [s.strip() for s in only if s.strip()]
    unknown = [s for s in picked if s not in names]
    if unknown or not picked:
        raise EnvParameterError(f"--sections {','.join(only)!r}: unknown section(s) "
                                f"{', '.join(map(repr, unknown)) or '(none given)'}; known: "
                                f"{', '.join(names)}")
    return picked


def run_demo(ctx: DemoContext, only: list[str] | None = None) -> dict[str, Any]:
    """Run every section (or those in ``only``), returning the report."""
    only = check_sections(only)
    report: dict[str, Any] = dict(env=dict(name=ctx.mdp.name, **{
        k: v for k, v in ctx.mdp.meta.items() if not isinstance(v, list)}), seed=ctx.seed)
    timings = {}
    for name, fn in SECTIONS:
        if only and name not in only:
            continue
        t0 = time.perf_counter()
        report[name] = fn(ctx)
        timings[name] = time.perf_counter() - t0
        ctx.say("")
    report["seconds"] = timings
    report["figures"] = ctx.figures
    return report
