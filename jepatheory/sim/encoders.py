r"""Encoders for simulated JEPA training (THEORY D3, D6), in NumPy with analytic gradients.

An encoder maps an index pair ``(s, a)`` to :math:`\mathbb R^k`, with ``n_heads`` output
heads (``n_heads = m`` for the prediction :math:`z(s,a) = g(f(s),a)`, ``1`` for a state
encoder :math:`h(s')` or :math:`f(s)`):

* ``tabular``: a free table, row ``s * n_heads + a`` (d = k N n_heads parameters);
* ``linear``:  :math:`z(s,a) = W_a^\top [x(s); 1]` on the observation features (one-hot x
  when the MDP has none; the constant feature lets h represent the top singular function
  of T, which is constant by F1), d = k (d_x + 1) n_heads as in T4;
* ``mlp``: :math:`W_{2,a}^\top \tanh(W_1^\top [x(s); 1])`, one hidden layer shared by the
  heads.

``forward(s, a)`` returns the outputs and a cache; ``backward(cache, g)`` returns the
gradient of :math:`\sum_i g_i\cdot \mathrm{out}_i` per parameter, either dense or as
:class:`SparseRows` (the tabular table: only the rows in the batch), which the optimizer
updates lazily (see :mod:`jepatheory.sim.trainers`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import ShapeError
from ..mdp import MDP

__all__ = ["ENCODERS", "Encoder", "SparseRows", "make_encoder", "features", "scatter_rows"]

ENCODERS = ("tabular", "linear", "mlp")


@dataclass(frozen=True)
class SparseRows:
    """Gradient supported on ``rows`` (unique, sorted) of a table: ``values[i]`` is row
    ``rows[i]``."""

    rows: NDArray[np.int64]
    values: NDArray[np.float64]


def features(mdp: MDP) -> NDArray[np.float64]:
    """``[x(s), 1]`` (one-hot x when the MDP has no features)."""
    x = np.eye(mdp.n_states) if mdp.x is None else np.asarray(mdp.x, dtype=float)
    return np.hstack([x, np.ones((mdp.n_states, 1))])


def scatter_rows(idx: NDArray[np.int64], g: NDArray[np.float64]) -> SparseRows:
    """Sum the rows of ``g`` that share an index (sorted segment sums, no ``np.add.at``)."""
    order = np.argsort(idx, kind="stable")
    sidx = idx[order]
    starts = np.flatnonzero(np.r_[True, sidx[1:] != sidx[:-1]])
    return SparseRows(sidx[starts], np.add.reduceat(g[order], starts, axis=0))


@dataclass
class Encoder:
    """Parameters and the forward/backward maps of one encoder (see the module docstring).

    A class because it holds mutable parameters that the optimizer updates in place."""

    kind: str
    k: int
    n_heads: int
    n_states: int
    params: dict[str, NDArray[np.float64]]
    x: NDArray[np.float64] | None = None
    hidden: int = 0
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_params(self) -> int:
        return int(sum(p.size for p in self.params.values()))

    def copy(self) -> Encoder:
        return Encoder(self.kind, self.k, self.n_heads, self.n_states,
                       {n: p.copy() for n, p in self.params.items()}, self.x, self.hidden,
                       dict(self.meta))

    def forward(self, s: NDArray[np.int64], a: NDArray[np.int64] | None = None
                ) -> tuple[NDArray[np.float64], tuple]:
        a = np.zeros_like(s) if a is None else a
        if self.kind == "tabular":
            rows = s * self.n_heads + a
            return self.params["table"][rows], (rows,)
        if self.kind == "linear":
            X = self.x[s]
            W = self.params["W"]
            if self.n_heads == 1:
                return X @ W[0], (X, a)
            out = np.empty((s.size, self.k))
            for j in range(self.n_heads):
                mask = a == j
                out[mask] = X[mask] @ W[j]
            return out, (X, a)
        # mlp
        X = self.x[s]
        Hd = np.tanh(X @ self.params["W1"])
        W2 = self.params["W2"]
        if self.n_heads == 1:
            out = Hd @ W2[0]
        else:
            out = np.empty((s.size, self.k))
            for j in range(self.n_heads):
                mask = a == j
                out[mask] = Hd[mask] @ W2[j]
        return out, (X, Hd, a)

    def backward(self, cache: tuple, g: NDArray[np.float64]) -> dict[str, Any]:
        if self.kind == "tabular":
            return {"table": scatter_rows(cache[0], g)}
        if self.kind == "linear":
            X, a = cache
            gW = np.zeros_like(self.params["W"])
            for j in range(self.n_heads):
                mask = a == j if self.n_heads > 1 else slice(None)
                gW[j] = X[mask].T @ g[mask]
            return {"W": gW}
        X, Hd, a = cache
        W2 = self.params["W2"]
        gW2 = np.zeros_like(W2)
        gH = np.empty_like(Hd)
        for j in range(self.n_heads):
            mask = a == j if self.n_heads > 1 else slice(None)
            gW2[j] = Hd[mask].T @ g[mask]
            gH[mask] = g[mask] @ W2[j].T
        gpre = gH * (1 - Hd**2)
        return {"W1": X.T @ gpre, "W2": gW2}

    def full(self) -> NDArray[np.float64]:
        """Outputs on every index: shape ``(n_states * n_heads, k)``, row ``s*n_heads + a``."""
        s = np.repeat(np.arange(self.n_states), self.n_heads)
        a = np.tile(np.arange(self.n_heads), self.n_states)
        return self.forward(s, a)[0]


def make_encoder(kind: str, mdp: MDP, k: int, n_heads: int, rng: np.random.Generator,
                 scale: float = 0.1, hidden: int = 64) -> Encoder:
    """A freshly initialized encoder of ``kind`` (``tabular``, ``linear`` or ``mlp``)."""
    if kind not in ENCODERS:
        raise ShapeError(f"encoder: unknown kind {kind!r}; known: {', '.join(ENCODERS)}")
    if int(k) != k or k < 1:
        raise ShapeError(f"encoder: k = {k!r} must be a positive integer")
    N = mdp.n_states
    if kind == "tabular":
        table = scale * rng.standard_normal((N * n_heads, k))
        return Encoder(kind, k, n_heads, N, {"table": table})
    x = features(mdp)
    d = x.shape[1]
    if kind == "linear":
        W = scale * rng.standard_normal((n_heads, d, k)) / np.sqrt(d)
        return Encoder(kind, k, n_heads, N, {"W": W}, x=x)
    W1 = rng.standard_normal((d, hidden)) / np.sqrt(d)
    W2 = scale * rng.standard_normal((n_heads, hidden, k)) / np.sqrt(hidden)
    return Encoder(kind, k, n_heads, N, {"W1": W1, "W2": W2}, x=x, hidden=hidden)
