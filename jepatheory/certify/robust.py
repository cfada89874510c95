r"""K3: the robust L1 certificate of the regret of any policy, from data alone.

Around the count model :math:`\hat P(\cdot|s,a) = n(s,a,\cdot)/n(s,a)` take Weissman's L1 sets

.. math::

    U(s,a) = \{p\in\Delta_N : \|p - \hat P(\cdot|s,a)\|_1 \le \beta(s,a)\},\qquad
    \beta(s,a) = \min\Big\{2, \sqrt{\tfrac{2(N\log 2 + \log(M/\delta))}{n(s,a)}}\Big\},

:math:`\beta = 2` (the whole simplex) where :math:`n(s,a) = 0`, M the number of sampled
pairs (:math:`\le N_L`). Conditionally on the sampled (s, a) sequence the next states of a
pair are i.i.d. from :math:`P(\cdot|s,a)`, so Weissman's inequality
:math:`\Pr(\|\hat P - P\|_1 \ge \beta) \le 2^N e^{-n\beta^2/2}` at :math:`\delta/M` per sampled
pair and a union bound give: with probability :math:`\ge 1-\delta`, :math:`P(\cdot|s,a)\in
U(s,a)` for every pair. On that event, with the robust optimistic and pessimistic operators

.. math::

    (\bar{\mathcal T} V)(s) = \max_a\big[r(s,a) + \gamma\max_{p\in U(s,a)} p\cdot V\big],
    \qquad (\underline{\mathcal T}^\pi V)(s) = r(s,\pi(s)) + \gamma\min_{p\in U(s,\pi(s))} p\cdot V,

both monotone :math:`\gamma`-contractions, :math:`V^* \le \bar V` and
:math:`V^\pi \ge \underline V^\pi` (fixed points), for **every** policy at once, so

.. math:: V^*(\rho_0) - V^\pi(\rho_0) \le \bar V(\rho_0) - \underline V^\pi(\rho_0).

Inner problems exactly by UCRL2's sort-and-shift: move :math:`\min(\beta/2, 1-\hat p(s_{\rm top}))`
of mass onto the state of largest V and take it from the states of smallest V in the row.
It is vectorized over all rows: one sort of V per iteration, one sort of the nonzeros by
(row, rank of V) (reused while the order of V does not change), cumulative sums over that
order. Value iteration starts at the trivial bounds :math:`\max r/(1-\gamma)` (upper) and
:math:`\min r/(1-\gamma)` (lower): the iterates are then monotone and every iterate is on
the safe side of the fixed point, so stopping early never invalidates the bound; in
addition a rounding pad of ``ROUNDING_PAD`` times the trivial bound is added, and
:math:`\gamma\,\mathrm{res}/(1-\gamma)` (how far the reported value can be from the exact
fixed point) is reported as ``vi_gap``.

Only the rewards r, gamma and rho0 of the MDP passed are read (they are assumed known);
the kernel enters through the data alone.

THEORY K3; proof: ``proofs/K3.md``.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from .._results import Result
from ..errors import BoundInputError, ShapeError
from ..mdp import MDP
from ..sampling import Dataset

__all__ = [
    "ROUNDING_PAD",
    "L1Sets",
    "RobustCertificate",
    "RobustValue",
    "RowSorter",
    "check_delta",
    "inner_max",
    "robust_certificate",
    "robust_lower",
    "robust_upper",
    "weissman_radius",
    "weissman_sets",
]

#: Added to each robust value (times R_max/(1-gamma)) for floating-point rounding.
ROUNDING_PAD = 1e-10


def check_delta(delta: float, name: str = "delta") -> float:
    """``delta`` as a float in (0, 1), else :class:`BoundInputError` naming it."""
    try:
        d = float(delta)
    except (TypeError, ValueError):
        raise BoundInputError(f"{name} = {delta!r} is not a number") from None
    if not (math.isfinite(d) and 0 < d < 1):
        raise BoundInputError(f"{name} = {delta!r} must be in (0, 1)")
    return d


def weissman_radius(n_sa: ArrayLike, n_states: int, n_union: int, delta: float
                    ) -> NDArray[np.float64]:
    r""":math:`\min\{2, \sqrt{2(N\log 2+\log(M/\delta))/n(s,a)}\}`, 2 where the count is 0."""
    cnt = np.asarray(n_sa, dtype=float)
    num = 2 * (n_states * math.log(2) + math.log(max(n_union, 1) / delta))
    with np.errstate(divide="ignore"):
        w = np.sqrt(np.where(cnt > 0, num / np.where(cnt > 0, cnt, 1.0), np.inf))
    return np.minimum(w, 2.0)


@dataclass(frozen=True, repr=False)
class L1Sets(Result):
    """Weissman L1 sets around the count model: ``P_hat`` (N*m, N) row-normalized counts
    (rows of unsampled pairs empty), ``n_sa`` counts, ``radius`` per row, ``n_union`` the
    number of sampled pairs the union bound runs over."""

    P_hat: sp.csr_array
    n_sa: NDArray[np.float64]
    radius: NDArray[np.float64]
    n_states: int
    n_actions: int
    delta: float
    n: int
    n_union: int

    _hidden = ("P_hat", "n_sa", "radius")
    _no_export = ("P_hat", "n_sa", "radius")

    @property
    def unsampled(self) -> NDArray[np.int64]:
        """Flat indices s*m + a of the pairs never sampled (their radius is 2)."""
        return np.flatnonzero(self.n_sa == 0)


def weissman_sets(ds: Dataset, delta: float, support: int | None = None) -> L1Sets:
    r"""The L1 sets of the data ``ds`` at confidence ``delta`` (K3).

    ``support``: a known bound a on the number of successors of every pair (local
    dynamics); the radius then uses :math:`a\log 2` in place of :math:`N\log 2`. This is
    valid without knowing *which* successors: the empirical row lives on the true support,
    so Weissman's union runs over the :math:`2^a` subsets of that fixed set."""
    delta = check_delta(delta)
    if support is not None and (isinstance(support, bool) or int(support) != support
                                or not 1 <= support <= ds.n_states):
        raise BoundInputError(f"support = {support!r} must be an integer in [1, "
                              f"{ds.n_states}]")
    P = ds.counts()
    per_row = np.diff(P.indptr)
    n_sa = np.bincount(np.repeat(np.arange(P.shape[0]), per_row), weights=P.data,
                       minlength=P.shape[0])
    if not (n_sa > 0).any():
        raise BoundInputError(f"n = {ds.n}: no pair is sampled")
    P = sp.csr_array(P, copy=True)
    P.data = P.data / np.repeat(n_sa, per_row)
    M = int((n_sa > 0).sum())
    a = ds.n_states if support is None else int(support)
    return L1Sets(P_hat=P, n_sa=n_sa, radius=weissman_radius(n_sa, a, M, delta),
                  n_states=ds.n_states, n_actions=ds.n_actions, delta=delta, n=ds.n,
                  n_union=M)


class RowSorter:
    """Sort-and-shift for a fixed sparse row set ``P`` (csr, rows sum to 1 or are empty) and
    radii ``beta``: ``max_p(V)`` returns, for every row, :math:`\\max\\{p\\cdot V : p\\in\\Delta,
    \\|p - P_{row}\\|_1\\le\\beta_{row}\\}` exactly. The permutation of the nonzeros by
    (row, rank of V) is cached and reused while the order of V is unchanged."""

    def __init__(self, P: sp.csr_array, beta: NDArray[np.float64]):
        P = sp.csr_array(P)
        P.sum_duplicates()
        self.P = P
        self.n_rows, self.n_cols = P.shape
        self.half = np.asarray(beta, dtype=float) / 2
        counts = np.diff(P.indptr)
        self.row_of = np.repeat(np.arange(self.n_rows, dtype=np.int64), counts)
        self.start = P.indptr[:-1]
        self._order: NDArray[np.int64] | None = None
        self._perm: NDArray[np.int64] | None = None
        self.resorts = 0

    def _permutation(self, order: NDArray[np.int64]) -> NDArray[np.int64]:
        if self._order is not None and np.array_equal(order, self._order):
            return self._perm  # type: ignore[return-value]
        rank = np.empty(self.n_cols, dtype=np.int64)
        rank[order] = np.arange(self.n_cols)
        key = self.row_of * self.n_cols + rank[self.P.indices]
        self._perm = np.argsort(key, kind="stable")
        self._order = order
        self.resorts += 1
        return self._perm

    def max_p(self, V: NDArray[np.float64]) -> NDArray[np.float64]:
        P = self.P
        order = np.argsort(V, kind="stable")
        top = int(order[-1])
        v_top = float(V[top])
        perm = self._permutation(order)
        p = P.data[perm]
        v = V[P.indices[perm]]
        base = P @ V                                   # p_hat . V per row
        at_top = np.zeros(self.n_rows)
        hit = P.indices == top
        np.add.at(at_top, self.row_of[hit], P.data[hit])
        add = np.minimum(self.half, np.maximum(1.0 - at_top, 0.0))
        cum = np.cumsum(p)
        before = cum - p                              # mass before the entry, all rows
        row_base = np.concatenate(([0.0], cum))[self.start]  # mass before the row
        before -= np.repeat(row_base, np.diff(P.indptr))
        remove = np.clip(add[self.row_of] - before, 0.0, p)
        taken = np.bincount(self.row_of, weights=remove * v, minlength=self.n_rows)
        return base + add * v_top - taken

    def min_p(self, V: NDArray[np.float64]) -> NDArray[np.float64]:
        return -self.max_p(-V)


def inner_max(U: L1Sets, V: ArrayLike) -> NDArray[np.float64]:
    r""":math:`\max_{p\in U(s,a)} p\cdot V` for every pair (flat s*m+a), exactly."""
    V = np.asarray(V, dtype=float)
    if V.shape != (U.n_states,):
        raise ShapeError(f"V: expected shape ({U.n_states},), got {V.shape}")
    return RowSorter(U.P_hat, U.radius).max_p(V)


@dataclass(frozen=True, repr=False)
class RobustValue(Result):
    """A robust fixed point ``V`` (on the safe side), its value at rho0, the iterations, the
    last sup-norm change ``residual`` and ``vi_gap`` = gamma residual / (1 - gamma)."""

    V: NDArray[np.float64]
    value: float
    iterations: int
    residual: float
    vi_gap: float
    seconds: float
    resorts: int
    policy: NDArray[np.int64] | None = None

    _hidden = ("V", "policy")
    _no_export = ("V", "policy")


def _check_mdp(U: L1Sets, mdp: MDP) -> None:
    if (mdp.n_states, mdp.n_actions) != (U.n_states, U.n_actions):
        raise ShapeError(f"robust: sets for {U.n_states} states x {U.n_actions} actions, MDP "
                         f"has {mdp.n_states} x {mdp.n_actions}")


def _iterate(step, V0: NDArray, gamma: float, tol: float, max_iter: int
             ) -> tuple[NDArray, int, float]:
    V, res, it = V0, float("inf"), 0
    stop = tol * (1 - gamma) / gamma if gamma > 0 else float("inf")
    for it in range(1, max_iter + 1):  # noqa: B007 - the count is returned
        V_new = step(V)
        res = float(np.max(np.abs(V_new - V))) if V.size else 0.0
        V = V_new
        if res <= stop:
            break
    return V, it, res


def robust_upper(U: L1Sets, mdp: MDP, *, tol: float | None = None, max_iter: int = 100_000
                 ) -> RobustValue:
    r"""Optimistic robust values :math:`\bar V \ge V^*` on the event of the sets (K3), by
    monotone value iteration from :math:`\max r/(1-\gamma)`; stops when the certified
    distance to the fixed point, :math:`\gamma\,\mathrm{res}/(1-\gamma)`, is at most ``tol``
    (default :math:`10^{-6} R_{\max}/(1-\gamma)`)."""
    _check_mdp(U, mdp)
    t0 = time.perf_counter()
    N, m, g = mdp.n_states, mdp.n_actions, mdp.gamma
    triv = max(mdp.r_max, 1e-300) / (1 - g)
    tol = 1e-6 * triv if tol is None else float(tol)
    sorter = RowSorter(U.P_hat, U.radius)
    r = mdp.r

    def step(V: NDArray) -> NDArray:
        Q = r + g * sorter.max_p(V).reshape(N, m)
        return np.minimum(Q.max(axis=1), V)           # monotone: never above the last iterate

    V0 = np.full(N, float(r.max()) / (1 - g))
    V, it, res = _iterate(step, V0, g, tol, max_iter)
    V = V + ROUNDING_PAD * triv
    Q = r + g * sorter.max_p(V).reshape(N, m)
    return RobustValue(V=V, value=float(mdp.rho0 @ V), iterations=it, residual=res,
                       vi_gap=g * res / (1 - g), seconds=time.perf_counter() - t0,
                       resorts=sorter.resorts, policy=np.argmax(Q, axis=1).astype(np.int64))


def robust_lower(U: L1Sets, mdp: MDP, pi: ArrayLike, *, tol: float | None = None,
                 max_iter: int = 100_000) -> RobustValue:
    r"""Pessimistic robust values :math:`\underline V^\pi \le V^\pi` of the deterministic
    policy ``pi`` (N,) on the event of the sets, by monotone value iteration from
    :math:`\min r/(1-\gamma)`."""
    _check_mdp(U, mdp)
    pi = np.asarray(pi)
    N, m, g = mdp.n_states, mdp.n_actions, mdp.gamma
    if pi.shape != (N,) or not np.issubdtype(pi.dtype, np.integer) or pi.min() < 0 \
            or pi.max() >= m:
        raise ShapeError(f"pi: expected {N} integer actions in [0, {m}), got shape {pi.shape}")
    t0 = time.perf_counter()
    triv = max(mdp.r_max, 1e-300) / (1 - g)
    tol = 1e-6 * triv if tol is None else float(tol)
    rows = np.arange(N) * m + pi
    sorter = RowSorter(U.P_hat[rows], U.radius[rows])
    r_pi = mdp.r[np.arange(N), pi]

    def step(V: NDArray) -> NDArray:
        return np.maximum(r_pi + g * sorter.min_p(V), V)

    V0 = np.full(N, float(mdp.r.min()) / (1 - g))
    V, it, res = _iterate(step, V0, g, tol, max_iter)
    V = V - ROUNDING_PAD * triv
    return RobustValue(V=V, value=float(mdp.rho0 @ V), iterations=it, residual=res,
                       vi_gap=g * res / (1 - g), seconds=time.perf_counter() - t0,
                       resorts=sorter.resorts, policy=pi.astype(np.int64))


@dataclass(frozen=True, repr=False)
class RobustCertificate(Result):
    r"""K3 for one policy: ``upper`` :math:`=\bar V(\rho_0) - \underline V^\pi(\rho_0)`, valid
    with probability :math:`\ge 1-\delta` for every policy at once."""

    upper: float
    V_up: float
    V_lo: float
    delta: float
    n: int
    n_union: int
    n_unsampled: int
    mean_radius: float
    iterations_up: int
    iterations_lo: int
    vi_gap_up: float
    vi_gap_lo: float
    seconds: float


def robust_certificate(U: L1Sets, mdp: MDP, pi: ArrayLike, *, tol: float | None = None,
                       upper_values: RobustValue | None = None) -> RobustCertificate:
    """The K3 certificate of ``pi`` (``upper_values``: a :func:`robust_upper` to reuse)."""
    t0 = time.perf_counter()
    up = robust_upper(U, mdp, tol=tol) if upper_values is None else upper_values
    lo = robust_lower(U, mdp, pi, tol=tol)
    sampled = U.n_sa > 0
    return RobustCertificate(upper=max(up.value - lo.value, 0.0), V_up=up.value,
                             V_lo=lo.value, delta=U.delta, n=U.n, n_union=U.n_union,
                             n_unsampled=int((~sampled).sum()),
                             mean_radius=float(U.radius[sampled].mean()),
                             iterations_up=up.iterations, iterations_lo=lo.iterations,
                             vi_gap_up=up.vi_gap, vi_gap_lo=lo.vi_gap,
                             seconds=time.perf_counter() - t0 + (0 if upper_values is None
                                                                 else up.seconds))
