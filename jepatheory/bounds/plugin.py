r"""T4b: the plug-in bound (matrix concentration) for the estimator built from
:math:`[\hat T]_k` and planned with :math:`\hat q`.

Plug-in estimator: :math:`\hat T = D_{\hat\nu}^{-1/2} J_n D_{\hat q}^{-1/2}`, model from the
truncated SVD :math:`[\hat T]_k`, planner with :math:`\hat q`. Its population error is
:math:`\varepsilon' = \|T - D_a[\hat T]_kD_b\|_F^2` with
:math:`D_a=\mathrm{diag}\sqrt{\nu/\hat\nu}`,
:math:`D_b=\mathrm{diag}\sqrt{\hat q/q}` (this is :math:`\varepsilon(z,h')` of D4).

* Deterministic: :math:`\|T-[\hat T]_k\|_F\le\sqrt{\mathrm{tail}_k}+2\sqrt{2k}\|\hat T-T\|_2`.
* Matrix Bernstein for :math:`\tilde T = D_\nu^{-1/2}J_nD_q^{-1/2}`:
  :math:`\|\tilde T-T\|_2\le\Delta_n=\sqrt{2v\log((N_L+N_R)/\delta_1)/n}
  + 2L_c\log((N_L+N_R)/\delta_1)/(3n)`, with
  :math:`v=\max(\|\mathrm{diag}(\sum_j p/(\nu q))-TT^\top\|,
  \|\mathrm{diag}(\sum_i p/(\nu q))-T^\top T\|)`
  and :math:`L_c=\max_{p>0}1/\sqrt{\nu q}+1`.
* Marginals (Bernstein + union over the supports):
  :math:`\rho_\nu=\max|\hat\nu/\nu-1|
  \le\max_{sa}\big(\sqrt{2(1-\nu)\ell/(n\nu)}+2\ell/(3n\nu)\big)`,
  :math:`\ell=\log(2N_L/\delta_2)`; :math:`\rho_q` likewise with :math:`N_R,\delta_3`.
  :math:`\alpha=(1-\rho_\nu)^{-1/2}-1`, :math:`\beta=1-\sqrt{1-\rho_q}`,
  :math:`g'=(1-\rho_q)^{-1/2}-1`.
* :math:`\|\hat T-T\|\le\hat D=\Delta_n+(1+\Delta_n)(\alpha(1+g')+g')`;
  :math:`\sqrt{\varepsilon'}\le\sqrt{\mathrm{tail}_k}+2\sqrt{2k}\hat D
  +\sqrt k(\alpha+(1+\alpha)\beta)`.

delta is split in thirds: :math:`\delta_1=\delta_2=\delta_3=\delta/3`. When
:math:`\rho\ge1` the bound is infinite (the sample is too small to pin the marginals).

THEORY T4b; proof: ``proofs/T4b.md`` (including the deterministic step with the constant
:math:`2\sqrt{2k}`); status: proved on paper and checked numerically.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .._results import Result
from ..cooccurrence import CoOccurrence
from ..errors import BoundInputError
from .core import check_n_delta

__all__ = ["PluginVariance", "PluginConstants", "T4bBound", "plugin_variance",
           "plugin_constants", "t4b_bound", "marginal_deviation", "marginal_deviation_at",
           "V_DENSE_MAX", "V_ITERATIVE_MAX"]

#: v is computed exactly by a dense eigensolver up to this many rows/columns ...
V_DENSE_MAX = 2000
#: ... by an iterative one up to this many; beyond, the bound v <= max diagonal is used.
V_ITERATIVE_MAX = 300_000


@dataclass(frozen=True, repr=False)
class PluginVariance(Result):
    r"""The n-free ingredients of the matrix Bernstein step: v, L_c and how v was found
    (``"dense"``, ``"iterative"``, or ``"diagonal bound"``: the PSD matrices are below their
    diagonals, so their max diagonal is a valid upper bound on v)."""

    v: float
    v_left: float
    v_right: float
    Lc: float
    dim: int
    min_nu: float
    min_q: float
    method: str
    #: smallest positive entry and support size of nu and q (for rho_nu, rho_q at any n)
    nu_min_positive: float | None = None
    nu_support: int | None = None
    q_min_positive: float | None = None
    q_support: int | None = None


def _positive_stats(p: np.ndarray, p_min: float | None, support: int | None
                    ) -> tuple[float, int]:
    """``(smallest positive entry, support size)`` of p, unless already known."""
    if p_min is not None and support is not None:
        return p_min, support
    pos = p[p > 0]
    return float(pos.min()), int(pos.size)


def _psd_norm(diag: np.ndarray, G: sp.csr_array, B: sp.csr_array, method: str) -> float:
    """Largest eigenvalue of diag(d) - G G^T with G sparse (a PSD matrix)."""
    n = diag.size
    if method == "dense":
        Gd = G.toarray()
        M = np.diag(diag) - Gd @ Gd.T
        return float(np.linalg.eigvalsh(M)[-1])
    if method == "iterative":
        op = spla.LinearOperator((n, n), matvec=lambda x: diag * x - G @ (B @ x), dtype=float)
        val = spla.eigsh(op, k=1, which="LA", tol=1e-8, return_eigenvectors=False,
                         v0=np.ones(n), maxiter=20 * n)
        return float(val[0])
    return float(diag.max())


def plugin_variance(C: CoOccurrence, method: str = "auto") -> PluginVariance:
    r"""v and :math:`L_c` of the matrix Bernstein step (independent of n, k, delta)."""
    T = C.T
    NL, NR = T.shape
    row_of = np.repeat(np.arange(NL), np.diff(T.indptr))
    # P(s'|s,a)/q(s') on the nonzeros: T / sqrt(nu q) = P / q
    ratio = T.data / (np.sqrt(C.nu_L)[row_of] * np.sqrt(C.q_R)[T.indices])
    Pq = sp.csr_array((ratio, T.indices, T.indptr), shape=T.shape)
    left = np.asarray(Pq.sum(axis=1)).ravel()
    right = np.asarray(Pq.sum(axis=0)).ravel()
    Tt = sp.csr_array(T.T)
    if method == "auto":
        big = max(NL, NR)
        method = ("dense" if big <= V_DENSE_MAX else
                  "iterative" if big <= V_ITERATIVE_MAX else "diagonal bound")
    if method not in ("dense", "iterative", "diagonal bound"):
        raise BoundInputError(f"plugin_variance: unknown method {method!r}")
    vl = _psd_norm(left, T, Tt, method)
    vr = _psd_norm(right, Tt, T, method)
    if method != "diagonal bound":  # the diagonal bound is always valid: never exceed it
        vl, vr = min(vl, float(left.max())), min(vr, float(right.max()))
    Lc = float(1.0 / np.sqrt(C.nu_L[row_of] * C.q_R[T.indices]).min()) + 1.0
    nu_pos, q_pos = _positive_stats(C.nu_L, None, None), _positive_stats(C.q_R, None, None)
    return PluginVariance(v=max(vl, vr), v_left=vl, v_right=vr, Lc=Lc, dim=NL + NR,
                          min_nu=float(C.nu_L.min()), min_q=float(C.q_R.min()), method=method,
                          nu_min_positive=nu_pos[0], nu_support=nu_pos[1],
                          q_min_positive=q_pos[0], q_support=q_pos[1])


def marginal_deviation(p: np.ndarray, n: int, delta: float) -> float:
    r"""Bernstein + union bound on :math:`\max_i |\hat p_i/p_i - 1|` over the support of p
    (w.p. :math:`\ge 1-\delta`):
    :math:`\max_i \sqrt{2(1-p_i)\ell/(np_i)} + 2\ell/(3np_i)`, :math:`\ell=\log(2|p|/\delta)`.
    Both terms decrease in :math:`p_i`, so the maximum is at the smallest positive entry
    (:func:`marginal_deviation_at`)."""
    return marginal_deviation_at(*_positive_stats(np.asarray(p, dtype=float), None, None),
                                 n, delta)


def marginal_deviation_at(p_min: float, support: int, n: int, delta: float) -> float:
    r""":func:`marginal_deviation` from the smallest positive entry ``p_min`` and the support
    size alone: :math:`\sqrt{2(1-p)\ell/(np)} + 2\ell/(3np)` at :math:`p = p_{\min}`."""
    ell = math.log(2 * support / delta)
    return float(math.sqrt(2 * (1 - p_min) * ell / (n * p_min)) + 2 * ell / (3 * n * p_min))


@dataclass(frozen=True, repr=False)
class PluginConstants(Result):
    r"""The k-free constants of T4b at (n, delta)."""

    n: int
    delta: float
    v: float
    Lc: float
    Delta_n: float
    rho_nu: float
    rho_q: float
    alpha: float
    beta: float
    g_prime: float
    Dhat: float
    v_method: str


def plugin_constants(C: CoOccurrence, n: int, delta: float,
                     variance: PluginVariance | None = None) -> PluginConstants:
    r""":math:`\Delta_n, \rho_\nu, \rho_q, \alpha, \beta, g', \hat D` of T4b (delta split in
    thirds)."""
    check_n_delta(n, delta)
    n = int(n)
    pv = variance if variance is not None else plugin_variance(C)
    d3 = delta / 3
    ell = math.log(pv.dim / d3)
    Delta = math.sqrt(2 * pv.v * ell / n) + 2 * pv.Lc * ell / (3 * n)
    rho_nu = marginal_deviation_at(*_positive_stats(C.nu_L, pv.nu_min_positive, pv.nu_support),
                                   n, d3)
    rho_q = marginal_deviation_at(*_positive_stats(C.q_R, pv.q_min_positive, pv.q_support),
                                  n, d3)
    if rho_nu < 1 and rho_q < 1:
        alpha = (1 - rho_nu) ** -0.5 - 1
        beta = 1 - math.sqrt(1 - rho_q)
        gp = (1 - rho_q) ** -0.5 - 1
        Dhat = Delta + (1 + Delta) * (alpha * (1 + gp) + gp)
    else:
        alpha = beta = gp = Dhat = float("inf")
    return PluginConstants(n=n, delta=float(delta), v=pv.v, Lc=pv.Lc, Delta_n=Delta,
                           rho_nu=rho_nu, rho_q=rho_q, alpha=alpha, beta=beta, g_prime=gp,
                           Dhat=Dhat, v_method=pv.method)


@dataclass(frozen=True, repr=False)
class T4bBound(Result):
    r"""T4b at one (k, n, delta): :math:`\sqrt{\varepsilon'}\le` ``sqrt_eps_bound``."""

    k: int
    n: int
    delta: float
    tail_k: float
    Dhat: float
    spectral_term: float
    marginal_term: float
    sqrt_eps_bound: float
    eps_bound: float
    constants: PluginConstants


def t4b_bound(tail_k: float, k: int, const: PluginConstants) -> T4bBound:
    r""":math:`\sqrt{\varepsilon'}\le\sqrt{\mathrm{tail}_k}+2\sqrt{2k}\hat D
    +\sqrt k(\alpha+(1+\alpha)\beta)` (T4b)."""
    if k < 0:
        raise BoundInputError(f"t4b_bound: k = {k!r} must be >= 0")
    spec = 2 * math.sqrt(2 * k) * const.Dhat
    marg = math.sqrt(k) * (const.alpha + (1 + const.alpha) * const.beta)
    s = math.sqrt(max(tail_k, 0.0)) + spec + marg
    return T4bBound(k=int(k), n=const.n, delta=const.delta, tail_k=float(tail_k),
                    Dhat=const.Dhat, spectral_term=spec, marginal_term=marg, sqrt_eps_bound=s,
                    eps_bound=s * s, constants=const)
