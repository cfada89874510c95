r"""Symbolic derivation of T and of the JEPA objectives for a :class:`SymbolicMDP`.

For a symbolic MDP (THEORY "Setting", D1-D3) :func:`derive` computes, as SymPy matrices,

* the joint :math:`p(s,a,s') = \nu(s,a)P(s'|s,a)` (rows = supp nu, in the core flat order),
* the marginals :math:`\nu` and :math:`q(s') = \sum_{s,a}p(s,a,s')`,
* :math:`T = D_\nu^{-1/2} J D_q^{-1/2}` (D2), its action blocks :math:`T_a` and
  :math:`\bar A_a`, the bipartite normalized Laplacian (F3), the next-state graph
  :math:`W` (F4) and :math:`T^\top T`,

and :func:`spectral_loss`, :func:`l2_loss`, :func:`factorization_error` give L, L2 and eps
(D3, T1) for symbolic embeddings :func:`embeddings`.

**Marginals as symbols.** ``marginals="symbols"`` (the default) keeps each
:math:`q(s')` as a positive symbol ``q_j`` and records its definition in
``Derivation.definitions``; :meth:`Derivation.expand_marginals` substitutes the definitions
only where a proof needs them. Substituting them inside square roots up front makes
``expand`` multiply the sums out instead of cancelling them, and ``simplify`` of the T1
difference then takes minutes already at 3x3 (see ``proofs/T1.md``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from ..errors import ShapeError
from .mdp import SymbolicMDP

__all__ = ["Derivation", "derive", "embeddings", "spectral_loss", "l2_loss",
           "factorization_error", "frobenius_sq", "whitening_matrix", "empirical_loss"]


@dataclass(frozen=True)
class Derivation:
    r"""Everything D1-D3 defines, for one symbolic MDP, as SymPy objects.

    ``left`` (flat ``s*m + a``) and ``right`` (states) are the supports (entries of nu or q
    that are not identically 0). ``nu_L`` and ``q_R`` are column vectors on the supports;
    with ``marginals="symbols"`` ``q_R`` holds symbols ``q_j`` whose definitions
    :math:`q_j = \sum_i J_{ij}` are in ``definitions``.
    """

    mdp: SymbolicMDP
    left: tuple[int, ...]
    right: tuple[int, ...]
    joint: sp.Matrix
    nu_L: sp.Matrix
    q_R: sp.Matrix
    T: sp.Matrix
    blocks: tuple[sp.Matrix, ...]
    abar: tuple[sp.Matrix, ...]
    p_action: tuple[sp.Expr, ...]
    laplacian: sp.Matrix
    W: sp.Matrix
    TtT: sp.Matrix
    definitions: dict[sp.Symbol, sp.Expr] = field(default_factory=dict)
    marginals: str = "symbols"

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.left), len(self.right))

    def expand_marginals(self, expr: sp.Basic) -> sp.Basic:
        """Substitute the definitions of the marginal symbols into ``expr``."""
        return expr.subs(self.definitions) if self.definitions else expr

    def items(self) -> list[tuple[str, sp.Basic]]:
        """(name, object) pairs in derivation order (used by the report)."""
        out = [("p(s,a,s')", self.joint), ("nu", self.nu_L), ("q", self.q_R)]
        if self.definitions:
            out.append(("q (definition)", sp.Matrix([self.definitions[s]
                                                    for s in self.q_R if s in self.definitions])))
        out.append(("T", self.T))
        for a, (B, A, pa) in enumerate(zip(self.blocks, self.abar, self.p_action)):
            out += [(f"p(a={a})", pa), (f"T_{a}", B), (f"Abar_{a}", A)]
        out += [("Lap (F3)", self.laplacian), ("W (F4)", self.W), ("T^T T", self.TtT)]
        return out


def derive(smdp: SymbolicMDP, marginals: str = "symbols") -> Derivation:
    r"""Derive p, nu, q, T, the action blocks, the Laplacian and the next-state graph.

    Parameters
    ----------
    smdp : SymbolicMDP
    marginals : ``"symbols"`` (default) or ``"explicit"``
        Keep :math:`q(s')` as positive symbols with recorded definitions, or substitute
        the sums directly.

    Notes
    -----
    D2: :math:`T[(s,a),s'] = p(s,a,s')/\sqrt{\nu(s,a)q(s')}`, :math:`T_a = \sqrt{p(a)}\bar
    A_a`, :math:`\bar A_a[s,s'] = p(s,s'|a)/\sqrt{p(s|a)q(s')}`. F3: :math:`\mathrm{Lap} =
    I - \begin{pmatrix}0&T\\T^\top&0\end{pmatrix}`. F4: :math:`W(s_1',s_2') = \sum_{s,a}
    \nu(s,a)P(s_1'|s,a)P(s_2'|s,a)`.
    """
    if marginals not in ("symbols", "explicit"):
        raise ShapeError(f"derive: marginals={marginals!r}, use 'symbols' or 'explicit'")
    N, m = smdp.n_states, smdp.n_actions
    nu_flat = [smdp.nu[s, a] for s in range(N) for a in range(m)]
    left = tuple(i for i, v in enumerate(nu_flat) if sp.simplify(v) != 0)
    J_full = sp.Matrix([[nu_flat[i] * smdp.P_sa[i, j] for j in range(N)] for i in left])
    q_full = [sp.expand(sum(J_full.col(j))) for j in range(N)]
    right = tuple(j for j, v in enumerate(q_full) if v != 0)
    J = J_full[:, list(right)] if right else J_full
    nu_L = sp.Matrix([nu_flat[i] for i in left])
    definitions: dict[sp.Symbol, sp.Expr] = {}
    if marginals == "symbols":
        qs = []
        for j in right:
            if q_full[j].is_number:
                qs.append(q_full[j])
            else:
                sym = sp.Symbol(f"q_{j}", positive=True)
                definitions[sym] = q_full[j]
                qs.append(sym)
        q_R = sp.Matrix(qs)
    else:
        q_R = sp.Matrix([q_full[j] for j in right])
    nL, nR = len(left), len(right)
    T = sp.Matrix(nL, nR, lambda i, j: J[i, j] / sp.sqrt(nu_L[i] * q_R[j]))
    blocks, abar, p_action = [], [], []
    for a in range(m):
        rows = [r for r, i in enumerate(left) if i % m == a]
        pa = sum((nu_L[r] for r in rows), sp.Integer(0))
        p_action.append(pa)
        Ta = T[rows, :] if rows else sp.zeros(0, nR)
        blocks.append(Ta)
        # Abar_a[s,s'] = p(s,s'|a)/sqrt(p(s|a) q(s')) with p(.|a) = p/p(a)
        abar.append(sp.Matrix(len(rows), nR, lambda r, j, rows=rows, pa=pa:
                              (J[rows[r], j] / pa) / sp.sqrt(nu_L[rows[r]] / pa * q_R[j])))
    Lap = sp.eye(nL + nR) - sp.Matrix(sp.BlockMatrix([[sp.zeros(nL, nL), T],
                                                      [T.T, sp.zeros(nR, nR)]]))
    W = sp.Matrix(nR, nR, lambda j1, j2: sum((J[i, j1] * J[i, j2] / nu_L[i]
                                              for i in range(nL)), sp.Integer(0)))
    return Derivation(mdp=smdp, left=left, right=right, joint=J, nu_L=nu_L, q_R=q_R, T=T,
                      blocks=tuple(blocks), abar=tuple(abar), p_action=tuple(p_action),
                      laplacian=Lap, W=W, TtT=T.T * T, definitions=definitions,
                      marginals=marginals)


def embeddings(n_left: int, n_right: int, k: int) -> tuple[sp.Matrix, sp.Matrix]:
    r"""Fully symbolic embeddings: ``Z[i, l] = z_{i,l}`` (prediction :math:`z(s,a)`, one row
    per left node) and ``H[j, l] = h_{j,l}`` (target :math:`h(s')`), real symbols."""
    Z = sp.Matrix(n_left, k, lambda i, l: sp.Symbol(f"z_{i}_{l}", real=True))
    H = sp.Matrix(n_right, k, lambda j, l: sp.Symbol(f"h_{j}_{l}", real=True))
    return Z, H


def _check_emb(D: Derivation, Z: sp.Matrix, H: sp.Matrix) -> None:
    if Z.shape[0] != len(D.left) or H.shape[0] != len(D.right) or Z.shape[1] != H.shape[1]:
        raise ShapeError(f"embeddings: Z {Z.shape} and H {H.shape} do not fit T {D.shape}")


def spectral_loss(D: Derivation, Z: sp.Matrix, H: sp.Matrix) -> sp.Expr:
    r"""D3: :math:`L(z,h) = -2E_p[z\cdot h] + E_{\nu\otimes q}[(z\cdot h)^2]`."""
    _check_emb(D, Z, H)
    G = Z * H.T
    return sp.Add(*[-2 * D.joint[i, j] * G[i, j] + D.nu_L[i] * D.q_R[j] * G[i, j] ** 2
                    for i in range(G.shape[0]) for j in range(G.shape[1])])


def l2_loss(D: Derivation, Z: sp.Matrix, H: sp.Matrix) -> sp.Expr:
    r"""D3: :math:`L_2(z,h) = E_p\|z(s,a) - h(s')\|^2` (the whitening constraint is not
    imposed here; see :func:`whitening_matrix`)."""
    _check_emb(D, Z, H)
    return sp.Add(*[D.joint[i, j] * sum((Z[i, l] - H[j, l]) ** 2 for l in range(Z.shape[1]))
                    for i in range(Z.shape[0]) for j in range(H.shape[0])])


def factorization_error(D: Derivation, Z: sp.Matrix, H: sp.Matrix) -> sp.Expr:
    r"""T1: :math:`\varepsilon = \|T - \Phi\Psi^\top\|_F^2`, :math:`\Phi = D_\nu^{1/2}Z`,
    :math:`\Psi = D_q^{1/2}H`."""
    _check_emb(D, Z, H)
    Phi = sp.diag(*[sp.sqrt(v) for v in D.nu_L]) * Z
    Psi = sp.diag(*[sp.sqrt(v) for v in D.q_R]) * H
    E = D.T - Phi * Psi.T
    return sp.Add(*[e ** 2 for e in E])


def frobenius_sq(D: Derivation) -> sp.Expr:
    """:math:`\\|T\\|_F^2`."""
    return sp.Add(*[t ** 2 for t in D.T])


def whitening_matrix(D: Derivation, H: sp.Matrix) -> sp.Matrix:
    r""":math:`M = E_q[h h^\top] = \sum_j q_j h_j h_j^\top` (whitened iff M = I)."""
    return H.T * sp.diag(*D.q_R) * H


def empirical_loss(z: sp.Matrix, hp: sp.Matrix) -> sp.Expr:
    r"""D3: the U-statistic :math:`\hat L_n = -\frac2n\sum_i z_i\cdot h'_i +
    \frac1{n(n-1)}\sum_{i\ne j}(z_i\cdot h'_j)^2` for samples ``z`` (n, k), ``hp`` (n, k)."""
    n = z.shape[0]
    G = z * hp.T
    lin = sum(G[i, i] for i in range(n))
    quad = sum(G[i, j] ** 2 for i in range(n) for j in range(n) if i != j)
    return -sp.Rational(2, n) * lin + quad / (n * (n - 1))
