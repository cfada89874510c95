r"""The action-conditioned co-occurrence matrix T (THEORY D2) and the objects built from
it: action blocks, the bipartite normalized Laplacian (F3), the next-state graph (F4).

.. math::

    T[(s,a), s'] = \frac{p(s,a,s')}{\sqrt{\nu(s,a)\, q(s')}}
                 = \sqrt{\nu(s,a)}\,\frac{P(s'|s,a)}{\sqrt{q(s')}},

on :math:`\mathrm{supp}(\nu)\times\mathrm{supp}(q)` (shape ``(N_L, N_R)``). Pairs outside
``supp(nu)`` are *uncovered*: they carry no data and no row of T (odd but legal: an
:class:`~jepatheory.errors.OddMDPWarning` is issued). States outside
``supp(q)`` are never a next state under the data: they carry no column. Both are
reported (``uncovered``, ``unreachable``). Next states of covered pairs are always in
``supp(q)``, so restricting columns loses no mass.
"""
from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from .data import next_state_marginal, uniform_nu, validate_nu
from .errors import DistributionError, OddMDPWarning
from .mdp import MDP
from .spectrum import Spectrum, SpectrumOptions, top_singular, truncate

__all__ = ["CoOccurrence", "cooccurrence"]


class CoOccurrence:
    r"""T for an MDP and a data distribution ``nu``; caches its spectrum.

    Attributes
    ----------
    nu : (N, m) data distribution;  q : (N,) next-state marginal
    left : flat indices ``s*m + a`` of supp(nu) (row order of T)
    right : states of supp(q) (column order of T)
    nu_L, q_R : the marginals on the supports
    T : csr_array (N_L, N_R)
    uncovered : flat indices of pairs with nu = 0;  unreachable : states with q = 0
    """

    def __init__(self, mdp: MDP, nu: ArrayLike | None = None):
        self.mdp = mdp
        self.nu = uniform_nu(mdp) if nu is None else validate_nu(mdp, nu)
        nu_flat = self.nu.ravel()
        self.q = next_state_marginal(mdp, nu_flat)
        self.left = np.flatnonzero(nu_flat > 0)
        self.right = np.flatnonzero(self.q > 0)
        self.uncovered = np.flatnonzero(nu_flat <= 0)
        self.unreachable = np.flatnonzero(self.q <= 0)
        if self.uncovered.size:
            # odd but legal (THEORY "Setting"); one fixed text so it shows once per call site
            warnings.warn("nu has uncovered (s,a) pairs (nu = 0): they get no row of T; "
                          "see CoOccurrence.uncovered", OddMDPWarning, stacklevel=2)
        self.nu_L = nu_flat[self.left]
        self.q_R = self.q[self.right]
        P = mdp.P_sa
        if self.left.size != P.shape[0]:
            P = P[self.left]
        if self.right.size != mdp.n_states:
            P = P[:, self.right]
        P = sp.csr_array(P)
        # T = diag(sqrt(nu_L)) P diag(1/sqrt(q_R)), applied on the nonzeros directly
        T = P.copy()
        row_of = np.repeat(np.arange(T.shape[0]), np.diff(T.indptr))
        T.data = T.data * np.sqrt(self.nu_L)[row_of] / np.sqrt(self.q_R)[T.indices]
        self.T: sp.csr_array = T
        self._spectra: dict[tuple[int, SpectrumOptions], Spectrum] = {}

    # ----------------------------------------------------------------- sizes
    @property
    def n_left(self) -> int:
        return int(self.left.size)

    @property
    def n_right(self) -> int:
        return int(self.right.size)

    @property
    def left_states(self) -> NDArray[np.int64]:
        return self.left // self.mdp.n_actions

    @property
    def left_actions(self) -> NDArray[np.int64]:
        return self.left % self.mdp.n_actions

    @property
    def frobenius_sq(self) -> float:
        r""":math:`\|T\|_F^2 = 1 + \chi^2(p\,\|\,\nu\otimes q)` (F2)."""
        return float(np.dot(self.T.data, self.T.data))

    def __repr__(self) -> str:
        return (f"CoOccurrence(mdp={self.mdp.name!r}, n_left={self.n_left}, "
                f"n_right={self.n_right}, nnz={self.T.nnz}, uncovered={self.uncovered.size}, "
                f"unreachable={self.unreachable.size})")

    # ----------------------------------------------------------------- pieces
    def joint(self) -> sp.csr_array:
        r"""The joint :math:`p(s,a,s') = \nu(s,a)P(s'|s,a)` on the supports (N_L, N_R)."""
        J = self.T.copy()
        row_of = np.repeat(np.arange(J.shape[0]), np.diff(J.indptr))
        J.data = J.data * np.sqrt(self.nu_L)[row_of] * np.sqrt(self.q_R)[J.indices]
        return J

    def action_rows(self, a: int) -> NDArray[np.int64]:
        """Row positions (in T) of the left nodes with action ``a``."""
        return np.flatnonzero(self.left_actions == a)

    def p_action(self, a: int) -> float:
        r""":math:`p(a) = \sum_s \nu(s,a)`."""
        return float(self.nu[:, a].sum())

    def action_block(self, a: int) -> sp.csr_array:
        r"""The action block :math:`T_a` (rows of T with action ``a``)."""
        return sp.csr_array(self.T[self.action_rows(a)])

    def abar(self, a: int) -> sp.csr_array:
        r""":math:`\bar A_a = T_a / \sqrt{p(a)}`, with
        :math:`\bar A_a[s,s'] = p(s,s'|a)/\sqrt{p(s|a) q(s')}` (D2)."""
        pa = self.p_action(a)
        if pa <= 0:
            raise DistributionError(f"abar: action {a} has no data (p(a) = 0)")
        return self.action_block(a) / np.sqrt(pa)

    def laplacian(self) -> sp.csr_array:
        r"""Bipartite normalized Laplacian :math:`I - \begin{pmatrix}0&T\\T^\top&0\end{pmatrix}`
        on the N_L + N_R nodes (F3)."""
        n = self.n_left + self.n_right
        A = sp.block_array([[None, self.T], [self.T.T, None]], format="csr")
        return sp.csr_array(sp.identity(n, format="csr") - A)

    def next_state_graph(self) -> sp.csr_array:
        r"""Next-state graph weights :math:`w(s_1',s_2')=\sum_{s,a}\nu(s,a)P(s_1'|s,a)P(s_2'|s,a)`
        on supp(q) (self-loops included); its degree is q (F4)."""
        P = self.joint()  # rows: nu P
        row_of = np.repeat(np.arange(P.shape[0]), np.diff(P.indptr))
        Pn = P.copy()
        Pn.data = Pn.data / self.nu_L[row_of]  # back to P rows
        return sp.csr_array(Pn.T @ P)

    # ----------------------------------------------------------------- spectrum
    def spectrum(self, k: int, method: str = "auto", options: SpectrumOptions | None = None,
                 *, reuse: bool = False, **kw: Any) -> Spectrum:
        """Top-k singular triplets of T; see :func:`jepatheory.spectrum.top_singular`.

        The solver keywords (``method``, ``options`` or keywords of
        :class:`~jepatheory.spectrum.SpectrumOptions`) form one record, which is part of
        the cache key: the same ``(k, options)`` returns the same object. With
        ``reuse=True`` a spectrum cached for ``k' >= k`` with equal options serves as a
        truncated view (:func:`~jepatheory.spectrum.truncate`): the bounds use this for
        per-k quantities. It is not the default because a top-k solve and the top k of a
        top-k' solve agree only to rounding (the dense path takes the top-k eigenpairs of
        the Gram matrix), and every published number must stay reproducible call by call.
        """
        opts = SpectrumOptions(method=method, **kw) if options is None else \
            replace(options, **({"method": method} if method != "auto" else {}), **kw)
        key = (int(k), opts)
        if key in self._spectra:
            return self._spectra[key]
        if reuse:
            larger = [kk for kk, o in self._spectra if o == opts and kk >= int(k)]
            if larger:
                return truncate(self._spectra[(min(larger), opts)], int(k))
        self._spectra[key] = top_singular(self.T, int(k), options=opts)
        return self._spectra[key]

    def tail(self, k: int) -> float:
        r""":math:`\mathrm{tail}_k = \sum_{i>k}\sigma_i^2 = \|T\|_F^2 - \sum_{i\le k}\sigma_i^2`."""
        return self.spectrum(k).tail_k(k)

    def per_action(self, k: int, normalization: str = "q", **kw: Any) -> Any:
        """Certified spectra of every per-action matrix Abar_a (THEORY P1, P2); see
        :func:`jepatheory.paper.per_action.per_action`."""
        from .paper.per_action import per_action
        return per_action(self, k, normalization, **kw)

    # ----------------------------------------------------------------- embeddings
    def lift_left(self, values_L: NDArray[Any], fill: float = 0.0) -> NDArray[Any]:
        """Place per-row values (N_L, ...) on all N*m flat pairs (``fill`` elsewhere)."""
        out = np.full((self.mdp.n_states * self.mdp.n_actions,) + values_L.shape[1:], fill,
                      dtype=np.result_type(values_L, float))
        out[self.left] = values_L
        return out

    def lift_right(self, values_R: NDArray[Any], fill: float = 0.0) -> NDArray[Any]:
        """Place per-column values (N_R, ...) on all N states."""
        out = np.full((self.mdp.n_states,) + values_R.shape[1:], fill,
                      dtype=np.result_type(values_R, float))
        out[self.right] = values_R
        return out


def cooccurrence(mdp: MDP, nu: ArrayLike | None = None) -> CoOccurrence:
    """Build :class:`CoOccurrence` (``nu`` defaults to uniform)."""
    return CoOccurrence(mdp, nu)
