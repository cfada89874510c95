r"""Derivation reports: the objects of a :class:`~jepatheory.symbolic.derive.Derivation`
(p, nu, q, T, action blocks, Laplacian, next-state graph) and, optionally, the JEPA
objectives for symbolic embeddings, as pretty text or LaTeX a user can paste into a paper.

:func:`render_latex` renders one LaTeX formula with matplotlib's mathtext (no TeX install
needed) to check that it is well formed, and returns the PNG bytes.
"""
from __future__ import annotations

import io

import sympy as sp

from ..errors import ExpressionError
from .derive import Derivation, embeddings, factorization_error, l2_loss, spectral_loss

__all__ = ["derivation_report", "render_latex", "latex"]


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
