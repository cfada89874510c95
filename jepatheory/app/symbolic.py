"""The symbolic section of ``jepatheory demo``: T1, C1, C2 proved for general dimensions, a
fully symbolic instance, the exact lift of a numeric MDP and a LaTeX derivation."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..symbolic.report import derivation_report

if TYPE_CHECKING:  # the context is built in demo.py, which imports this module
    from .demo import DemoContext

__all__ = ["demo_section"]


def demo_section(ctx: DemoContext) -> dict[str, Any]:
    """``jepatheory demo`` section: the machine proofs of T1, C1, C2 for general dimensions,
    a fully symbolic instance, the exact lift of a numeric MDP, and a LaTeX derivation."""
    from ..cooccurrence import CoOccurrence
    from ..symbolic.derive import derive
    from ..symbolic.identities import (
        check_t1_instance,
        prove_c1_general,
        prove_c2_general,
        prove_t1_general,
    )
    from ..symbolic.mdp import lift_mdp, two_state
    ctx.say("== Symbolic layer: T1, C1, C2 proved for every N_L, N_R, k (jepatheory prove)")
    rows = []
    N, m = (2, 2) if ctx.quick else (4, 2)
    for pr in (prove_t1_general(), prove_c1_general(), prove_c2_general(),
               check_t1_instance(N, m, 2)):
        rows.append(dict(id=pr.id, size=pr.size, residual=pr.residual, proved=pr.proved,
                         seconds=round(pr.seconds, 3)))
        ctx.say(f"  {pr.id:<3} {pr.size:<16} residual {pr.residual:<4} "
                f"({pr.seconds:.2f}s, {pr.method})")
    tex = derivation_report(derive(two_state()), "latex")
    path = ctx.out / "symbolic_two_state.tex"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(tex)
        ctx.say(f"  LaTeX derivation of T for the two-state MDP: {path}")
    except OSError:
        pass
    out: dict[str, Any] = dict(proofs=rows, latex=str(path))
    if ctx.mdp.n_states * ctx.mdp.n_actions <= 40:
        smdp = lift_mdp(ctx.mdp, ctx.nu)
        D = derive(smdp, marginals="explicit")
        C = CoOccurrence(ctx.mdp, ctx.nu)
        err = float(max(abs(float(a) - b) for a, b in
                        zip(D.T, C.T.toarray().ravel())))
        out["lift_max_error"] = err
        ctx.say(f"  exact rational lift of {ctx.mdp.name}: max |T_exact - T| = {err:.1e}")
    return out
