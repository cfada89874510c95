r"""General-dimension symbolic proofs of the paper's per-action equivalence (THEORY P1) and of
D1, D2, D5 (THEORY "Corrections": these were checked on instances only).

All statements are for symbolic sizes: m actions (index b), :math:`N_L` context states per
action (index i), :math:`N_R` next states (index j), latent dimension k (index l). The
objects are SymPy ``IndexedBase`` symbols with the stated signs; the marginals are
independent positive symbols, and a definition enters a proof only where it says so.

* P1 (per action): :math:`R_b = \sum_{ij}[-2\,\pi_{bij}c_{bij} + \mu_{bi}r_{bj}c_{bij}^2]`
  equals :math:`\sum_{ij}(\bar A_{bij} - \sqrt{\mu_{bi}}\sqrt{r_{bj}}c_{bij})^2 -
  \sum_{ij}\bar A_{bij}^2` with :math:`\bar A_{bij} = \pi_{bij}/\sqrt{\mu_{bi}r_{bj}}`,
  :math:`c_{bij} = \sum_l z_{bil}f_{jl}` — for r = q (D2) and for r = q_a (per-action).
* P1 (sum over actions): with :math:`p_{(b,i),j} = w_b\pi_{bij}`,
  :math:`\nu_{(b,i)} = w_b\mu_{bi}` (the definitions of p(s,s'|a), p(s|a)), the T1 loss
  summand equals :math:`\sum_b w_b` times the per-action summand: :math:`\sum_a p(a)R_a = L`.
* D1: with :math:`p_{ij} = \nu_iP_{ij}` and the axiom :math:`\sum_jP_{ij} = 1`, the left
  degree is :math:`\nu_i`; with the definition :math:`q_j := \sum_ip_{ij}` the right degree
  is :math:`q_j`.
* D2: :math:`T_{(b,i),j} = \sqrt{w_b}\,\bar A_{bij}` for all sizes (positive symbols).
* D5: :math:`T_{ij} = \nu_iP_{ij}/\sqrt{\nu_iq_j}` has vanishing second derivatives in the
  entries :math:`P_{i'j'}` (KroneckerDelta calculus): T is linear in P for fixed nu, q.

Proof document: ``proofs/P1.md`` (and ``proofs/D1.md``, ``D2.md``, ``D5.md``).
"""
from __future__ import annotations

import time
from typing import Any

import sympy as sp

from .identities import Proof

__all__ = [
    "prove_d1_general",
    "prove_d2_general",
    "prove_d5_general",
    "prove_p1_general",
    "prove_p1_sum_general",
]

m_, NL, NR, k_ = sp.symbols("m N_L N_R k", integer=True, positive=True)
b, i, j, ell = sp.symbols("b i j l", integer=True, nonnegative=True)
b2, i2, j2 = sp.symbols("b' i' j'", integer=True, nonnegative=True)
pi = sp.IndexedBase("pi", nonnegative=True)      # p(s_i, s'_j | a_b)
mu = sp.IndexedBase("mu", positive=True)         # p(s_i | a_b)
w = sp.IndexedBase("w", positive=True)           # p(a_b)
q = sp.IndexedBase("q", positive=True)           # overall target marginal
qa = sp.IndexedBase("q_a", positive=True)        # per-action target marginal
z = sp.IndexedBase("z", real=True)
f = sp.IndexedBase("f", real=True)
P = sp.IndexedBase("P", nonnegative=True)
nu = sp.IndexedBase("nu", positive=True)


def _result(id: str, statement: str, method: str, residual: Any, t0: float,
            size: str = "general") -> Proof:
    res = sp.sympify(residual)
    return Proof(id=id, statement=statement, method=method, residual=str(res),
                 proved=bool(res == 0), seconds=time.perf_counter() - t0, size=size)


def _c() -> sp.Expr:
    """The inner product z(s_i, a_b).f(s'_j), kept as one atom (a Sum over l)."""
    return sp.Sum(z[b, i, ell] * f[j, ell], (ell, 0, k_ - 1))


def prove_p1_general(normalization: str = "q", risk_summand: sp.Expr | None = None) -> Proof:
    r"""P1 for one action b and all :math:`N_L, N_R, k`: :math:`R_b = \varepsilon_b -
    \|\bar A_b\|_F^2`, summand by summand (the sum over l kept as an atom; only positivity of
    the marginals is used). ``normalization`` ``"q"`` or ``"per-action"`` picks
    :math:`r = q` or :math:`r = q_a`. A planted ``risk_summand`` must leave a residual."""
    t0 = time.perf_counter()
    r = q[j] if normalization == "q" else qa[b, j]
    c = _c()
    if risk_summand is None:
        risk_summand = -2 * pi[b, i, j] * c + mu[b, i] * r * c ** 2
    A = pi[b, i, j] / sp.sqrt(mu[b, i] * r)
    PhiPsi = sp.sqrt(mu[b, i]) * sp.sqrt(r) * c
    diff = sp.expand((A - PhiPsi) ** 2 - A ** 2 - risk_summand)
    res = sp.Integer(0) if diff == 0 else sp.Sum(diff, (i, 0, NL - 1), (j, 0, NR - 1))
    return _result("P1", f"R_a = ||Abar_a - Phi_a Psi^T||_F^2 - ||Abar_a||_F^2 "
                   f"(normalization {normalization}) for all N_L, N_R, k",
                   "index-level summand expanded (marginals positive symbols)", res, t0,
                   f"general, {normalization}")


def prove_p1_sum_general(loss_summand: sp.Expr | None = None) -> Proof:
    r"""P1, sum over actions, for all :math:`m, N_L, N_R, k`: the T1 loss summand at left
    node (b, i) and right node j, with :math:`p = w_b\pi_{bij}` and :math:`\nu = w_b\mu_{bi}`,
    equals :math:`w_b` times the per-action risk summand (normalization q); summing over b,
    :math:`L(z,f) = \sum_a p(a) R_a`."""
    t0 = time.perf_counter()
    c = _c()
    p_flat, nu_flat = w[b] * pi[b, i, j], w[b] * mu[b, i]
    if loss_summand is None:
        loss_summand = -2 * p_flat * c + nu_flat * q[j] * c ** 2
    per_action = w[b] * (-2 * pi[b, i, j] * c + mu[b, i] * q[j] * c ** 2)
    diff = sp.expand(loss_summand - per_action)
    res = sp.Integer(0) if diff == 0 else sp.Sum(diff, (b, 0, m_ - 1), (i, 0, NL - 1),
                                                  (j, 0, NR - 1))
    return _result("P1", "sum_a p(a) R_a = L(z, f) (T1 with h = f) for all m, N_L, N_R, k",
                   "index-level summand expanded", res, t0, "general, sum over actions")


def _pull(expr: sp.Expr) -> sp.Expr:
    """Sum(c * g(x), x) -> c * Sum(g(x), x) for factors c free of x (finite linearity)."""
    def pull(s: sp.Sum) -> sp.Expr:
        x = s.limits[0][0]
        fs = sp.Mul.make_args(s.function)
        inside = [t for t in fs if x in t.free_symbols]
        outside = [t for t in fs if x not in t.free_symbols]
        return sp.Mul(*outside) * sp.Sum(sp.Mul(*inside), *s.limits)
    return expr.replace(lambda e: isinstance(e, sp.Sum) and len(e.limits) == 1, pull)


def prove_d1_general(row_sum: sp.Expr | None = None) -> Proof:
    r"""D1 for all :math:`N_L, N_R`: left degree :math:`\sum_j\nu_iP_{ij} = \nu_i` (by
    linearity and the axiom :math:`\sum_j P_{ij} = 1`, applied as a substitution of that
    exact Sum); right degree :math:`\sum_i p_{ij} = q_j` (the definition of q, substituted).
    ``row_sum`` plants a wrong axiom value."""
    t0 = time.perf_counter()
    axiom = sp.Integer(1) if row_sum is None else row_sum
    left = _pull(sp.Sum(nu[i] * P[i, j], (j, 0, NR - 1)))
    left = left.subs(sp.Sum(P[i, j], (j, 0, NR - 1)), axiom)
    q_def = sp.Sum(nu[i] * P[i, j], (i, 0, NL - 1))
    right = sp.Sum(nu[i] * P[i, j], (i, 0, NL - 1))
    res = sp.simplify(left - nu[i]) + sp.simplify(right - q_def)
    return _result("D1", "left degree = nu, right degree = q for all N_L, N_R",
                   "linearity of finite sums, row-sum axiom, definition of q", res, t0)


def prove_d2_general(block: sp.Expr | None = None) -> Proof:
    r"""D2 for all sizes: :math:`T_{(b,i),j} = p/\sqrt{\nu q}` with :math:`p = w_b\pi_{bij}`,
    :math:`\nu = w_b\mu_{bi}` equals :math:`\sqrt{w_b}\bar A_{bij}`,
    :math:`\bar A_{bij} = \pi_{bij}/\sqrt{\mu_{bi}q_j}` (positive symbols)."""
    t0 = time.perf_counter()
    T = w[b] * pi[b, i, j] / sp.sqrt(w[b] * mu[b, i] * q[j])
    if block is None:
        block = sp.sqrt(w[b]) * pi[b, i, j] / sp.sqrt(mu[b, i] * q[j])
    res = sp.simplify(sp.powsimp(sp.expand_power_base(T - block, force=False)))
    return _result("D2", "T_a = sqrt(p(a)) Abar_a for all m, N_L, N_R", "simplify (positive "
                   "symbols)", res, t0)


def prove_d5_general(T_entry: sp.Expr | None = None) -> Proof:
    r"""D5 for all sizes: :math:`\partial^2 T_{ij}/\partial P_{i'j'}\partial P_{i''j''} = 0`
    for :math:`T_{ij} = \nu_iP_{ij}/\sqrt{\nu_iq_j}` with nu, q held fixed (symbolic
    indices; derivatives of Indexed objects are KroneckerDeltas)."""
    t0 = time.perf_counter()
    i3, j3 = sp.symbols("i'' j''", integer=True, nonnegative=True)
    if T_entry is None:
        T_entry = nu[i] * P[i, j] / sp.sqrt(nu[i] * q[j])
    d1 = sp.diff(T_entry, P[i2, j2])
    d2 = sp.diff(d1, P[i3, j3])
    ok_first = d1 != 0      # T depends on P (the statement is not vacuous)
    res = sp.simplify(d2) if ok_first else sp.Symbol("T_independent_of_P")
    return _result("D5", "nu, q fixed: T is linear in P for all N_L, N_R (second "
                   "derivatives vanish)", "KroneckerDelta calculus", res, t0)
