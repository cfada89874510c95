r"""Checks of the facts F1-F5 about T (THEORY D2), callable on any MDP.

Each check returns a :class:`FactCheck` with the largest deviation found and whether it is
within tolerance; :func:`check_facts` runs all five. The tolerances are absolute, scaled by
the size of the quantities compared, and meant for float64 round-off (1e-8 by default).

* F1 :math:`T\sqrt q = \sqrt\nu`, :math:`T^\top\sqrt\nu = \sqrt q`, :math:`\sigma_i\in[0,1]`,
  :math:`\sigma_1 = 1`.
* F2 :math:`\|T\|_F^2 = 1 + \chi^2(p\,\|\,\nu\otimes q)` (the chi-square is computed from the
  joint law over the whole product of the supports, independently of T).
* F3 the bipartite Laplacian has eigenvalues :math:`1\mp\sigma_i` plus :math:`|N_L-N_R|` ones
  (dense check, small T only).
* F4 :math:`T^\top T = D_q^{-1/2} W D_q^{-1/2}` with :math:`W\mathbf 1 = q`.
* F5 deterministic dynamics reaching every next state give :math:`T^\top T = I`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ._results import Result, table
from .cooccurrence import CoOccurrence

__all__ = ["FactCheck", "FactsReport", "check_f1", "check_f2", "check_f3", "check_f4",
           "check_f5", "check_facts", "DENSE_CHECK_MAX"]

#: F3 and the chi-square of F2 are checked densely only up to this many entries.
DENSE_CHECK_MAX = 4_000_000


@dataclass(frozen=True, repr=False)
class FactCheck(Result):
    """One fact: its ID, statement, the largest deviation found and the verdict."""

    fact: str
    statement: str
    applicable: bool
    max_error: float
    tol: float
    passed: bool
    note: str = ""


@dataclass(frozen=True, repr=False)
class FactsReport(Result):
    """F1-F5 for one (MDP, nu)."""

    checks: tuple[FactCheck, ...]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def __repr__(self) -> str:
        rows = [dict(fact=c.fact, applicable=c.applicable, max_error=c.max_error,
                     passed=c.passed, note=c.note) for c in self.checks]
        return "FactsReport\n" + table(rows)

    __str__ = __repr__


def _mk(fact: str, statement: str, err: float, tol: float, applicable: bool = True,
        note: str = "") -> FactCheck:
    return FactCheck(fact=fact, statement=statement, applicable=applicable,
                     max_error=float(err), tol=tol,
                     passed=(not applicable) or bool(err <= tol), note=note)


def check_f1(C: CoOccurrence, tol: float = 1e-8) -> FactCheck:
    sq, sn = np.sqrt(C.q_R), np.sqrt(C.nu_L)
    e1 = np.abs(C.T @ sq - sn).max()
    e2 = np.abs(C.T.T @ sn - sq).max()
    spec = C.spectrum(1)
    s1 = spec.singular_values[0]
    e3 = abs(s1 - 1.0)
    return _mk("F1", "T sqrt(q) = sqrt(nu), T^T sqrt(nu) = sqrt(q), sigma_1 = 1 >= sigma_i >= 0",
               max(e1, e2, e3), tol, note=f"sigma_1 = {s1:.12f}")


def check_f2(C: CoOccurrence, tol: float = 1e-8) -> FactCheck:
    J = C.joint()
    fro = C.frobenius_sq
    if C.n_left * C.n_right <= DENSE_CHECK_MAX:
        Jd = J.toarray()
        prod = np.outer(C.nu_L, C.q_R)
        chi2 = float(np.sum((Jd - prod) ** 2 / prod))
        note = "chi^2 summed over the whole product of the supports"
    else:
        row_of = np.repeat(np.arange(J.shape[0]), np.diff(J.indptr))
        chi2 = float(np.sum(J.data**2 / (C.nu_L[row_of] * C.q_R[J.indices]))) - 1.0
        note = "chi^2 from the nonzeros (large T)"
    return _mk("F2", "||T||_F^2 = 1 + chi^2(p || nu x q)", abs(fro - (1 + chi2)),
               tol * max(1.0, fro), note=note)


def check_f3(C: CoOccurrence, tol: float = 1e-8) -> FactCheck:
    n = C.n_left + C.n_right
    stmt = "eig(Lap) = {1 - sigma_i} u {1 + sigma_i} u {1}^|N_L - N_R|"
    if n * n > DENSE_CHECK_MAX:
        return _mk("F3", stmt, 0.0, tol, applicable=False, note=f"skipped: {n} nodes is large")
    ev = np.linalg.eigvalsh(C.laplacian().toarray())
    s = np.linalg.svd(C.T.toarray(), compute_uv=False)
    pred = np.sort(np.concatenate([1 - s, 1 + s, np.ones(abs(C.n_left - C.n_right))]))
    return _mk("F3", stmt, np.abs(np.sort(ev) - pred).max(), tol)


def check_f4(C: CoOccurrence, tol: float = 1e-8) -> FactCheck:
    W = C.next_state_graph()
    deg_err = np.abs(np.asarray(W.sum(axis=1)).ravel() - C.q_R).max()
    Dq = sp.diags_array(1.0 / np.sqrt(C.q_R))
    diff = sp.csr_array(C.T.T @ C.T - Dq @ W @ Dq)
    err = np.abs(diff.data).max() if diff.nnz else 0.0
    return _mk("F4", "T^T T = D_q^-1/2 W D_q^-1/2, W 1 = q", max(err, deg_err), tol)


def check_f5(C: CoOccurrence, tol: float = 1e-8) -> FactCheck:
    P = C.mdp.P_sa[C.left]
    deterministic = bool(np.all(np.diff(P.indptr) == 1))
    stmt = "deterministic dynamics: T^T T = I (flat spectrum)"
    if not deterministic:
        return _mk("F5", stmt, 0.0, tol, applicable=False, note="dynamics are stochastic")
    G = sp.csr_array(C.T.T @ C.T - sp.identity(C.n_right, format="csr"))
    err = np.abs(G.data).max() if G.nnz else 0.0
    return _mk("F5", stmt, err, tol, note="all singular values are 1: no low-rank structure")


def check_facts(C: CoOccurrence, tol: float = 1e-8) -> FactsReport:
    """Run F1-F5 on ``C``."""
    return FactsReport(checks=tuple(f(C, tol) for f in
                                    (check_f1, check_f2, check_f3, check_f4, check_f5)))
