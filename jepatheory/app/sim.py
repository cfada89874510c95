"""The simulation section of ``jepatheory demo``: train at several k, plan, measure the
regret against the bound and the ladder (THEORY D3, D4, T3)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._results import table
from ..sampling import sample_transitions
from ..sim.measure import DENSE_MODEL_MAX, run_experiment

if TYPE_CHECKING:  # the context is built in demo.py, which imports this module
    from .demo import DemoContext

__all__ = ["demo_section"]


def demo_section(ctx: DemoContext) -> dict[str, Any]:
    """``jepatheory demo`` section: train at several k with ``erm`` and ``spectral`` on the
    demo environment, plan, measure the regret against the bound, the ladder, figures."""
    from ..sim.plots import plot_loss_curves, plot_regret_vs_k
    mdp, C = ctx.mdp, ctx.cooc()
    if mdp.n_states * mdp.n_actions * mdp.n_states > DENSE_MODEL_MAX:
        ctx.say("== Simulated JEPA training: skipped (the dense model measurements need "
                f"N*m*N <= {DENSE_MODEL_MAX}; this environment has {mdp.n_states} states)")
        return dict(skipped=True)
    kmax = min(C.n_left, C.n_right)
    ks = [k for k in ((2, 8, 32) if ctx.quick else (1, 2, 4, 8, 16, 32)) if k <= kmax]
    n = 20_000 if ctx.quick else 50_000
    steps = 1000 if ctx.quick else 2000
    ctx.say(f"== Simulated JEPA training and planning (D3, D4, T3): n = {n}, k in {ks}, "
            "trainers erm (truncated SVD of T_hat) and spectral (minibatch Adam)")
    ds = sample_transitions(C, n, ctx.seed)
    rows, curves = [], {}
    for trainer in ("erm", "spectral"):
        for k in ks:
            res = run_experiment(C, k=k, n=n, trainer=trainer, seed=ctx.seed,
                                 ds=ds, train_kw=dict(steps=steps))
            f = res.flat()
            rows.append({key: f[key] for key in ("trainer", "k", "n", "loss", "erm_loss", "eps",
                                                  "tail_k", "regret", "R1", "R2",
                                                  "R3", "R3w", "R4_T4", "R4_T4b",
                                                  "train_seconds")})
            if trainer == "spectral":
                curves[k] = res.log["loss_curve"]
            else:  # the same ERM model planned by latent value iteration (signed P_hat, D4)
                lat = run_experiment(C, k=k, n=n, trainer="erm", planner="latent",
                                     seed=ctx.seed, ds=ds, ladder=False)
                rows[-1]["regret_latent_vi"] = lat.metrics["regret"]
    count = run_experiment(C, k=1, n=n, trainer="count", seed=ctx.seed, ds=ds)
    ctx.say(table([{key: r[key] for key in ("trainer", "k", "loss", "erm_loss", "eps",
                                            "regret", "R1", "R3w", "R4_T4b")} for r in rows]))
    ctx.say("  the same ERM models planned by latent value iteration on the signed model "
            "(no guarantee, D4): regret " + ", ".join(
                f"k={r['k']}: {r['regret_latent_vi']:.3g}" for r in rows
                if r["trainer"] == "erm"))
    ctx.say(f"  count model (T5): regret {count.metrics['regret']:.4g}, "
            f"R1 {count.metrics['R1']:.4g}, R_T5 {count.metrics['R_T5']:.4g}")
    gaps = [abs(r["loss"] - r["erm_loss"]) / abs(r["erm_loss"]) for r in rows
            if r["trainer"] == "spectral"]
    ctx.say(f"  every ladder checked (R0 <= R1 <= R2 <= R3 <= R3w); spectral training within "
            f"{100 * max(gaps):.2f}% of the exact-ERM loss")
    k_star = None
    try:
        from ..bounds.curves import bound_curve
        bc = bound_curve(C, ns=[n], ks=ks, scan=False)
        k_star = bc.k_star_by_n.get(n)
    except Exception as exc:  # noqa: BLE001 - the section still reports the measurements
        ctx.say(f"  (bound curve unavailable: {exc})")
    ctx.figure("sim_regret_vs_k.png", lambda p: plot_regret_vs_k(
        rows, p, k_star={n: k_star} if k_star else None, count=count.metrics["regret"],
        title=f"{mdp.name}: measured regret, rungs R1 and R3w, bound k* (n = {n})"))
    ctx.figure("sim_loss_curves.png", lambda p: plot_loss_curves(
        curves, p, erm={r["k"]: r["erm_loss"] for r in rows if r["trainer"] == "erm"}))
    return dict(n=n, ks=ks, rows=rows, count=count.metrics, k_star=k_star,
                max_gap_to_erm=max(gaps))
