r"""Closed forms for parametric families, and the bound expressions as SymPy functions.

* :func:`two_state_singular_values`: for the two-state chain (leave 0 w.p. a, 1 w.p. b,
  uniform nu), :math:`\sigma_1 = 1`, :math:`\sigma_2 = |1-a-b|/\sqrt{(1-a+b)(1+a-b)}`.
* :func:`slip_ring_singular_values`: ring of n states, actions right/left with slip p,
  uniform nu: :math:`\sigma_j^2 = 1 - 4p(1-p)\sin^2(2\pi j/n)`, j = 0..n-1
  (:math:`T^\top T = (p^2+(1-p)^2)I + p(1-p)(S^2+S^{-2})`, S the cyclic shift).
* :func:`singular_values_sq`: exact squared singular values of T for any small symbolic
  MDP (roots of the characteristic polynomial of :math:`T^\top T`). Slip chains (ends stay
  put): n = 3 gives :math:`\{1, 1-3p(1-p), 1-3p(1-p)\}`, n = 4 gives
  :math:`\{1, (1-2p)^2, 1-2p(1-p), 1-2p(1-p)\}`.
* :func:`laplacian_eigenvalues`: combinatorial Laplacians of paths
  :math:`2-2\cos(\pi j/n)`, cycles :math:`2-2\cos(2\pi j/n)`, grids (sums of two paths).
* :func:`dev_expr`, :func:`t4_bound_expr`, :func:`r3w_expr`: T3/T4 bound expressions as
  functions of (k, n, delta, gamma, ...); :func:`k_star_power_law`: the k balancing
  :math:`\mathrm{tail}_k` against the sample term for :math:`\sigma_i^2 = C i^{-a}`.
"""
from __future__ import annotations

import sympy as sp

from ..errors import ShapeError
from .derive import derive
from .mdp import SymbolicMDP

__all__ = ["two_state_singular_values", "slip_ring_singular_values", "singular_values_sq",
           "laplacian_eigenvalues", "dev_expr", "t4_bound_expr", "r3w_expr",
           "tail_power_law", "k_star_power_law", "SYMBOLS"]

#: Symbols of the bound expressions.
SYMBOLS = dict(
    k=sp.Symbol("k", positive=True), n=sp.Symbol("n", positive=True),
    delta=sp.Symbol("delta", positive=True), gamma=sp.Symbol("gamma", positive=True),
    B=sp.Symbol("B", positive=True), d=sp.Symbol("d", positive=True),
    R=sp.Symbol("R_max", positive=True), a=sp.Symbol("a", positive=True),
    C=sp.Symbol("C", positive=True), NL=sp.Symbol("N_L", positive=True),
    NR=sp.Symbol("N_R", positive=True), Cpi=sp.Symbol("C_pi", positive=True),
    eps=sp.Symbol("epsilon", positive=True),
)


def two_state_singular_values(a: sp.Expr | None = None, b: sp.Expr | None = None
                              ) -> tuple[sp.Expr, sp.Expr]:
    """(sigma_1, sigma_2) of T for :func:`~jepatheory.symbolic.mdp.two_state`."""
    a = a if a is not None else sp.Symbol("a", positive=True)
    b = b if b is not None else sp.Symbol("b", positive=True)
    return sp.Integer(1), sp.Abs(1 - a - b) / sp.sqrt((1 - a + b) * (1 + a - b))


def slip_ring_singular_values(n: int | sp.Symbol, p: sp.Expr | None = None
                              ) -> list[sp.Expr] | sp.Expr:
    """sigma_j^2 of T for :func:`~jepatheory.symbolic.mdp.slip_ring` (all j for an int n;
    the expression in a symbol j otherwise)."""
    p = p if p is not None else sp.Symbol("p", positive=True)
    if isinstance(n, int):
        return [1 - 4 * p * (1 - p) * sp.sin(2 * sp.pi * j / n) ** 2 for j in range(n)]
    j = sp.Symbol("j", integer=True, nonnegative=True)
    return 1 - 4 * p * (1 - p) * sp.sin(2 * sp.pi * j / n) ** 2


def singular_values_sq(smdp: SymbolicMDP) -> list[sp.Expr]:
    r"""Squared singular values of T (with multiplicity) for a small symbolic MDP: the roots
    of :math:`\det(\lambda I - T^\top T)` with the marginals substituted."""
    D = derive(smdp, marginals="explicit")
    if D.TtT.shape[0] > 4:
        raise ShapeError(f"singular_values_sq: T^T T is {D.TtT.shape}; closed-form roots are "
                         "attempted up to 4 x 4")
    lam = sp.Symbol("lambda")
    poly = sp.factor(sp.simplify(D.TtT.charpoly(lam).as_expr()))
    roots = sp.roots(sp.Poly(poly, lam))
    out: list[sp.Expr] = []
    for r, mult in roots.items():
        out += [sp.simplify(r)] * mult
    return out


def laplacian_eigenvalues(kind: str, n: int, m: int | None = None) -> list[sp.Expr]:
    """Combinatorial Laplacian eigenvalues of ``path`` (n nodes), ``cycle`` (n) or
    ``grid`` (n x m), exact, ascending by index."""
    if kind == "path":
        return [2 - 2 * sp.cos(sp.pi * j / n) for j in range(n)]
    if kind == "cycle":
        return [2 - 2 * sp.cos(2 * sp.pi * j / n) for j in range(n)]
    if kind == "grid":
        if m is None:
            raise ShapeError("laplacian_eigenvalues: grid needs n and m")
        return [a + b for a in laplacian_eigenvalues("path", n)
                for b in laplacian_eigenvalues("path", m)]
    raise ShapeError(f"laplacian_eigenvalues: kind={kind!r}, use path, cycle or grid")


def dev_expr(floor_half: bool = True) -> sp.Expr:
    r"""T4: :math:`\mathrm{dev}(n,\delta) = (4B+B^2)\sqrt{\frac{d\log(1+2n)+\log(2/\delta)}
    {2\lfloor n/2\rfloor}} + \frac{8B(1+B)}{n}` (``floor_half=False`` uses n/2)."""
    S = SYMBOLS
    half = sp.floor(S["n"] / 2) if floor_half else S["n"] / 2
    return ((4 * S["B"] + S["B"] ** 2) *
            sp.sqrt((S["d"] * sp.log(1 + 2 * S["n"]) + sp.log(2 / S["delta"])) / (2 * half))
            + 8 * S["B"] * (1 + S["B"]) / S["n"])


def tail_power_law(continuous: bool = True) -> sp.Expr:
    r""":math:`\mathrm{tail}_k` for :math:`\sigma_i^2 = C i^{-a}` (a > 1): the integral
    :math:`\int_k^\infty C x^{-a}dx = C k^{1-a}/(a-1)` (``continuous``), else the exact
    Hurwitz-zeta sum :math:`C\zeta(a, k+1)`."""
    S = SYMBOLS
    if continuous:
        return S["C"] * S["k"] ** (1 - S["a"]) / (S["a"] - 1)
    return S["C"] * sp.zeta(S["a"], S["k"] + 1)


def t4_bound_expr(tabular: bool = True) -> sp.Expr:
    r"""T4: :math:`\varepsilon(\hat\theta) \le \mathrm{tail}_k + 2\,\mathrm{dev}` (empirical
    gap 0) with d = k(N_L+N_R) (tabular) and a power-law tail, as a function of k, n, ..."""
    S = SYMBOLS
    d = S["k"] * (S["NL"] + S["NR"]) if tabular else S["d"]
    return tail_power_law() + 2 * dev_expr(floor_half=False).subs(S["d"], d)


def r3w_expr(n_policies: int = 2) -> sp.Expr:
    r"""T3 headline rung: :math:`R_{3w} = c\sum_\pi\sqrt{C^\pi}\sqrt\varepsilon`,
    :math:`c = \gamma R_{\max}/(1-\gamma)^2` (the same C^pi for both policies here)."""
    S = SYMBOLS
    c = S["gamma"] * S["R"] / (1 - S["gamma"]) ** 2
    return c * n_policies * sp.sqrt(S["Cpi"]) * sp.sqrt(S["eps"])


def k_star_power_law() -> tuple[sp.Expr, sp.Expr]:
    r"""The k minimizing :math:`C k^{1-a}/(a-1) + 2A\sqrt k` (the T4 bound with the
    log(2/delta) term dropped, :math:`A = (4B+B^2)\sqrt{(N_L+N_R)\log(1+2n)/n}`):
    :math:`k^* = (C/A)^{2/(2a-1)}`. Returns (k*, A)."""
    S = SYMBOLS
    A = (4 * S["B"] + S["B"] ** 2) * sp.sqrt((S["NL"] + S["NR"]) * sp.log(1 + 2 * S["n"])
                                              / S["n"])
    Asym = sp.Symbol("A", positive=True)
    f = tail_power_law() + 2 * Asym * sp.sqrt(S["k"])
    sols = sp.solve(sp.Eq(sp.diff(f, S["k"]), 0), S["k"])
    return sp.simplify(sols[0].subs(Asym, A)), A
