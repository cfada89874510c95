r"""Pretraining data: n i.i.d. transitions :math:`(s,a,s') \sim \nu(s,a)P(s'|s,a)` (THEORY
"Setting"), behaviour-policy rollouts, and the empirical (plug-in) co-occurrence matrix

.. math:: \hat T = D_{\hat\nu}^{-1/2} J_n D_{\hat q}^{-1/2},\qquad J_n = \text{counts}/n

of T4b. :func:`empirical_cooccurrence` returns it as a :class:`CoOccurrence` of the count
model ``P_n(s'|s,a) = n(s,a,s')/n(s,a)`` under ``nu_hat`` (uncovered pairs get a self-loop
that carries no mass), so everything defined for T applies to :math:`\hat T` unchanged.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from .cooccurrence import CoOccurrence
from .data import validate_nu
from .errors import MDPError, OddMDPWarning
from .mdp import MDP
from .solvers import as_policy_matrix

__all__ = ["Dataset", "sample_transitions", "sample_next", "rollouts", "count_model",
           "empirical_cooccurrence"]


@dataclass(frozen=True, eq=False)
class Dataset:
    """Transitions ``(s[i], a[i], s2[i])``; ``pair = s * m + a`` is the flat left index."""

    s: NDArray[np.int64]
    a: NDArray[np.int64]
    s2: NDArray[np.int64]
    n_states: int
    n_actions: int

    @property
    def n(self) -> int:
        return int(self.s.size)

    @property
    def pair(self) -> NDArray[np.int64]:
        return self.s * self.n_actions + self.a

    def counts(self) -> sp.csr_array:
        """``n(s,a,s')`` as a sparse ``(N*m, N)`` matrix (canonical CSR: sorted, no
        duplicates), built from the sorted flat keys ``(s*m + a)*N + s'``."""
        N, m = self.n_states, self.n_actions
        key = self.pair * N + self.s2
        if N * m * N <= 16 * self.n + 4_000_000:  # dense histogram is cheaper than a sort
            hist = np.bincount(key, minlength=N * m * N)
            keys = np.flatnonzero(hist)
            vals = hist[keys].astype(float)
        else:
            keys, cnt = np.unique(key, return_counts=True)
            vals = cnt.astype(float)
        rows = keys // N
        indptr = np.zeros(N * m + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=N * m), out=indptr[1:])
        return sp.csr_array((vals, (keys % N).astype(np.int64), indptr), shape=(N * m, N))

    def nu_hat(self) -> NDArray[np.float64]:
        """Empirical :math:`\\hat\\nu(s,a)`, shape ``(N, m)``."""
        N, m = self.n_states, self.n_actions
        return (np.bincount(self.pair, minlength=N * m) / self.n).reshape(N, m)

    def q_hat(self) -> NDArray[np.float64]:
        """Empirical next-state marginal :math:`\\hat q(s')`."""
        return np.bincount(self.s2, minlength=self.n_states) / self.n

    def head(self, n: int) -> Dataset:
        """The first ``n`` transitions (nested datasets for sweeps over n)."""
        return Dataset(self.s[:n], self.a[:n], self.s2[:n], self.n_states, self.n_actions)


def sample_next(mdp: MDP, pairs: NDArray[np.int64], rng: np.random.Generator
                ) -> NDArray[np.int64]:
    """Draw ``s' ~ P(.|s,a)`` for each flat pair index, vectorized over the CSR rows."""
    P = mdp.P_sa
    cum = np.cumsum(P.data)
    start = P.indptr[pairs]
    base = np.where(start > 0, cum[np.maximum(start - 1, 0)], 0.0)
    row_sum = cum[P.indptr[pairs + 1] - 1] - base
    target = base + rng.random(pairs.size) * row_sum
    pos = np.searchsorted(cum, target, side="right")
    pos = np.clip(pos, start, P.indptr[pairs + 1] - 1)
    return P.indices[pos].astype(np.int64)


def sample_transitions(C: CoOccurrence | MDP, *args: Any, **kw: Any) -> Dataset:
    """``n`` i.i.d. transitions from ``nu(s,a) P(s'|s,a)`` (seeded, vectorized).

    Two forms, the same draws: ``sample_transitions(C, n, seed=0)`` (nu = ``C.nu``, already
    validated) and ``sample_transitions(mdp, nu, n, seed=0)`` (nu validated here; kept, not
    deprecated, because sampling needs no T and building C at N = 1e6 costs T).

    >>> from jepatheory.data import uniform_nu
    >>> from jepatheory.envs import chain
    >>> mdp = chain(5, 0.1)
    >>> a = sample_transitions(CoOccurrence(mdp), 50, 3)
    >>> b = sample_transitions(mdp, uniform_nu(mdp), 50, seed=3)
    >>> bool((a.s2 == b.s2).all())
    True
    """
    if isinstance(C, CoOccurrence):
        mdp, nu_arr, names = C.mdp, C.nu, ("n", "seed")
    elif isinstance(C, MDP):
        mdp, nu_arr, names = C, None, ("nu", "n", "seed")
    else:
        raise TypeError("sample_transitions: the first argument must be a CoOccurrence C "
                        f"or an MDP (followed by nu), got {type(C).__name__}")
    if len(args) > len(names):
        raise TypeError(f"sample_transitions: at most {len(names) + 1} positional arguments")
    bound = dict(zip(names, args))
    for key, value in kw.items():
        if key not in names or key in bound:
            raise TypeError(f"sample_transitions: unexpected or repeated argument {key!r}")
        bound[key] = value
    if "n" not in bound or (nu_arr is None and "nu" not in bound):
        raise TypeError(f"sample_transitions: missing argument(s) "
                        f"{', '.join(k for k in names[:-1] if k not in bound)}")
    n, seed = bound["n"], bound.get("seed", 0)
    if isinstance(n, bool) or not isinstance(n, (int, float, np.integer, np.floating)) \
            or int(n) != n or n < 1:
        raise MDPError(f"sample_transitions: n = {n!r} must be a positive integer")
    rng = np.random.default_rng(seed)
    nu_flat = (validate_nu(mdp, bound["nu"]) if nu_arr is None else nu_arr).ravel()
    cdf = np.cumsum(nu_flat)
    pairs = np.searchsorted(cdf, rng.random(int(n)) * cdf[-1], side="right")
    pairs = np.minimum(pairs, nu_flat.size - 1)
    # never draw a zero-probability pair (searchsorted can land on one only at round-off)
    pairs = np.where(nu_flat[pairs] > 0, pairs, np.flatnonzero(nu_flat > 0)[0])
    m = mdp.n_actions
    s2 = sample_next(mdp, pairs, rng)
    return Dataset(pairs // m, pairs % m, s2, mdp.n_states, m)


def rollouts(mdp: MDP, pi: ArrayLike, n_episodes: int, horizon: int,
             seed: int | np.random.Generator = 0) -> Dataset:
    """Transitions from ``n_episodes`` rollouts of behaviour policy ``pi`` from ``rho0``,
    each ``horizon`` steps long (episodes run in parallel)."""
    rng = np.random.default_rng(seed)
    Pi = as_policy_matrix(mdp, pi).tocsr()
    N, m = mdp.n_states, mdp.n_actions
    probs = Pi.toarray().reshape(N, N, m)[np.arange(N), np.arange(N)] if N <= 2000 else None
    s = rng.choice(N, size=n_episodes, p=mdp.rho0)
    S, A, S2 = [], [], []
    for _ in range(horizon):
        if probs is not None:
            cdf = np.cumsum(probs[s], axis=1)
            a = (rng.random(s.size)[:, None] > cdf).sum(axis=1)
        else:  # large N: read pi(.|s) from the sparse policy matrix row by row
            rows = Pi[s].toarray().reshape(s.size, N, m)[np.arange(s.size), s]
            a = (rng.random(s.size)[:, None] > np.cumsum(rows, axis=1)).sum(axis=1)
        a = np.minimum(a, m - 1)
        s2 = sample_next(mdp, s * m + a, rng)
        S.append(s), A.append(a), S2.append(s2)
        s = s2
    return Dataset(np.concatenate(S), np.concatenate(A), np.concatenate(S2), N, m)


def count_model(mdp: MDP, ds: Dataset) -> MDP:
    """The input-level count model :math:`P_n(s'|s,a) = n(s,a,s')/n(s,a)` (T5) as an MDP
    with the true rewards; pairs never seen keep a self-loop."""
    P = ds.counts()
    per_row = np.diff(P.indptr)
    n_sa = np.bincount(np.repeat(np.arange(P.shape[0]), per_row), weights=P.data,
                       minlength=P.shape[0])
    seen = n_sa > 0
    P.data /= np.repeat(n_sa, per_row)  # row-normalize in place (canonical CSR kept)
    unseen = np.flatnonzero(~seen)
    if unseen.size:
        P = sp.csr_array(P + sp.csr_array((np.ones(unseen.size),
                                           (unseen, unseen // mdp.n_actions)), shape=P.shape))
    return MDP.from_flat(P, mdp.n_states, mdp.n_actions, mdp.r, mdp.gamma, mdp.rho0,
                         x=mdp.x, coords=mdp.coords, names=mdp.names,
                         name=f"{mdp.name}-count-model", meta=dict(mdp.meta), warn=False)


def empirical_cooccurrence(mdp: MDP, ds: Dataset) -> CoOccurrence:
    r""":math:`\hat T = D_{\hat\nu}^{-1/2} J_n D_{\hat q}^{-1/2}` on supp(nu_hat) x supp(q_hat),
    as a :class:`CoOccurrence` (its ``nu`` is ``nu_hat`` and its ``q`` is ``q_hat``).
    Pairs never sampled are uncovered by construction, so no OddMDPWarning is raised."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OddMDPWarning)
        return CoOccurrence(count_model(mdp, ds), ds.nu_hat())
