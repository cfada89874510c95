r"""Derivation reports: the objects of a :class:`~jepatheory.symbolic.derive.Derivation`
(p, nu, q, T, action blocks, Laplacian, next-state graph) and, optionally, the JEPA
objectives for symbolic embeddings, as pretty text or LaTeX a user can paste into a paper.

:func:`render_latex` renders one LaTeX formula with matplotlib's mathtext (no TeX install
needed) to check that it is well formed, and returns the PNG bytes.
"""
from __future__ import annotations

import io
from typing import Any

import sympy as sp

from ..errors import ExpressionError
from .derive import Derivation, embeddings, factorization_error, l2_loss, spectral_loss

__all__ = ["derivation_report", "render_latex", "latex", "demo_section"]


def latex(obj: sp.Basic) -> str:
    """SymPy LaTeX of ``obj`` (matrices with ``pmatrix``, which mathtext cannot draw, are
    written as ``\\left[\\begin{array}`` like SymPy's default)."""
    return sp.latex(obj, mat_delim="[", mat_str="array")


def derivation_report(D: Derivation, fmt: str = "text", k: int | None = None) -> str:
    r"""Report of the derivation ``D``; with ``k``, also L, L2 and eps for symbolic embeddings
    with k latent dimensions.

    ``fmt="text"``: SymPy pretty printing; ``fmt="latex"``: a LaTeX ``align*`` block per
    object, ready to paste.
    """
    if fmt not in ("text", "latex"):
        raise ExpressionError(f"report format {fmt!r}: use 'text' or 'latex'")
    items = D.items()
    if k is not None:
        Z, H = embeddings(len(D.left), len(D.right), k)
        items += [("L(z,h) (D3)", spectral_loss(D, Z, H)),
                  ("L2(z,h) (D3)", l2_loss(D, Z, H)),
                  ("eps(z,h) (T1)", factorization_error(D, Z, H))]
    dom = ", ".join(f"{p} in ({lo}, {hi})" for p, (lo, hi) in sorted(
        D.mdp.domains.items(), key=lambda kv: str(kv[0])))
    if fmt == "text":
        out = [f"Derivation for {D.mdp.name}  (assumptions: {dom or 'none'})",
               f"supports: N_L = {len(D.left)}, N_R = {len(D.right)}"]
        for name, obj in items:
            out += ["", f"{name} =", sp.pretty(obj, use_unicode=False)]
        return "\n".join(out) + "\n"
    out = [f"% Derivation for {D.mdp.name}; assumptions: {dom or 'none'}",
           "\\begin{align*}"]
    for name, obj in items:
        label = name.replace("_", r"\_").replace("^", r"\^{}")
        out.append(f"  \\text{{{label}}} &= {latex(obj)} \\\\")
    out.append("\\end{align*}")
    return "\n".join(out) + "\n"


def render_latex(obj: str | sp.Basic, dpi: int = 80) -> list[bytes]:
    """Render LaTeX with matplotlib mathtext and return the PNG bytes of each formula.

    ``obj`` is a LaTeX string (one formula) or a SymPy object: a matrix is rendered entry
    by entry (mathtext has no ``array`` environment), anything else as ``sympy.latex``.
    Raises :class:`~jepatheory.errors.ExpressionError` naming the formula that does not
    parse."""
    from .._optional import pyplot
    plt = pyplot()
    from matplotlib import mathtext
    if isinstance(obj, str):
        formulas = [obj]
    elif isinstance(obj, sp.MatrixBase):
        formulas = [sp.latex(e) for e in obj]
    else:
        formulas = [sp.latex(obj)]
    out = []
    try:
        for f in formulas:
            buf = io.BytesIO()
            try:
                mathtext.math_to_image(f"${f}$", buf, dpi=dpi, format="png")
            except ValueError as exc:
                msg = (str(exc).strip().splitlines() or ["parse error"])[0]
                raise ExpressionError(f"LaTeX {f[:60]!r} does not render: {msg}") from None
            out.append(buf.getvalue())
    finally:
        plt.close("all")
    return out


def demo_section(ctx: Any) -> dict[str, Any]:
    """``jepatheory demo`` section: the machine proofs of T1, C1, C2 for general dimensions,
    a fully symbolic instance, the exact lift of a numeric MDP, and a LaTeX derivation."""
    from ..cooccurrence import CoOccurrence
    from .derive import derive
    from .identities import (check_t1_instance, prove_c1_general, prove_c2_general,
                             prove_t1_general)
    from .mdp import lift_mdp, two_state
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
