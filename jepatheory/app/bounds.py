"""The bounds section of ``jepatheory demo``: the bound table with k* on the demo
environment, and the regret ladder of one plug-in run with the T5 chain."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._results import table
from ..bounds.curves import bound_curve
from ..bounds.ladder import plugin_run

if TYPE_CHECKING:  # the context is built in demo.py, which imports this module
    from .demo import DemoContext

__all__ = ["demo_section"]


def demo_section(ctx: DemoContext) -> dict[str, Any]:
    """Bound table over k (T4, T4b, T5, vacuity, k*) and one ladder (T3) on ``ctx.mdp``."""
    C = ctx.cooc()
    rank = min(C.n_left, C.n_right)
    ks = [k for k in (1, 2, 4, 8, 16, 32) if k <= rank] or [1]
    ns = [10**4, 10**6] if ctx.quick else [10**4, 10**6, 10**8]
    curve = bound_curve(C, ns, ks, 0.05, kappa="rescale" if ctx.quick else "auto",
                        plan=ctx.store.get("plan"))
    ctx.say(f"== Bounds (T3, T4, T4b, T5): c = {curve.c:.4g}, trivial bound R_max/(1-gamma) = "
            f"{curve.trivial_bound:.4g}, C^pi* = {curve.C_pi_star:.4g}, min nu = "
            f"{curve.min_nu:.3g}")
    ctx.say(curve.table(["n", "k", "tail", "kappa", "R4_T4", "R4_T4b", "R_T5", "vacuous"]))
    ctx.say("  k*(n) = " + ", ".join(f"{k} at n={n:.0e}" for n, k in curve.k_star_by_n.items()))
    if curve.scan is not None:
        ctx.say(f"  {curve.scan.statement}")
    k = min(8, rank)
    run = plugin_run(C, 5000 if ctx.quick else 20000, k, ctx.seed)
    ratios = run.check()
    lad, ch = run.ladder, run.chain
    ctx.say(f"  ladder of one plug-in run (k={run.k}, n={run.n}, planner with q_hat):")
    ctx.say(table([dict(rung=name, value=v) for name, v in lad.rungs().items()]))
    ctx.say("  count model (T5): " + ", ".join(f"{name} = {v:.4g}" for name, v in ch.ordered()))
    from ..bounds.plots import plot_bound_vs_k, plot_ladder
    ctx.figure("bound_vs_k.png", lambda p: plot_bound_vs_k(curve, p))
    ctx.figure("ladder.png", lambda p: plot_ladder(lad, p, ch))
    return dict(k_star_by_n={str(n): v for n, v in curve.k_star_by_n.items()},
                C_pi_star=curve.C_pi_star, min_nu=curve.min_nu,
                trivial_bound=curve.trivial_bound, rows=curve.rows,
                scan=None if curve.scan is None else curve.scan.to_dict(),
                ladder=lad.to_dict(), chain=ch.to_dict(), ratios=ratios)
