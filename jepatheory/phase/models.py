r"""The models of the phase experiment, fitted on the same data (THEORY PE, D6, T5).

Latent (JEPA) models, with the induced kernel
:math:`\tilde P` = clip-renormalize of :math:`\hat q(s')\,z(s,a)\cdot h(s')` (D4) for cost (i)
and the latent rollout for cost (ii): :math:`c_1 = z(s,a_1)`,
:math:`c_{t+1} = M_a c_t` with :math:`M_a = \sum_{s'}\hat q(s')z(s',a)h(s')^\top` (the
prediction's coefficient after one more model step), predicted embedding
:math:`\hat z_H = G c_H`, :math:`G = E_{\hat q}[hh^\top]`, goal :math:`z_{goal}` = the mean of
h over the goal's observations; cost :math:`\|\hat z_H - z_{goal}\|^2`.

* ``jepa-tabular``: exact ERM (truncated SVD of the plug-in T_hat, T4b), a table per
  observation;
* ``jepa-linear``: minibatch Adam on the spectral loss with linear encoders on the features;
* ``jepa-mlp``: the torch backend (:func:`jepatheory.torch.train_torch`, trainer
  ``spectral``, MLP encoders on the features; the ``torch`` extra). Not in the default grid
  (:data:`MODELS`); ask for it with ``--models``.

Input-level models, with their own kernels for cost (i) and, for cost (ii), the distance of
the predicted observation's features to the goal's mean features:

* ``count``: the count model (T5); cost (ii) rolls out its most likely next observation;
* ``features``: next-feature ridge regression :math:`\mu(s,a) = W_a^\top[x(s);1]` with the
  kernel of :func:`jepatheory.sim.baselines.feature_kernel` for cost (i); cost (ii) feeds
  the predicted features back, :math:`y_{t+1} = W_a^\top[y_t;1]`;
* ``features-mlp``: the same with an MLP, :math:`\mu(s,a) = g([x(s); \mathrm{onehot}(a)])`
  (:func:`jepatheory.torch.regression.train_next_features`: two tanh hidden layers of 64,
  the optimizer and steps of ``jepa-mlp``; the ``torch`` extra), the input-level model of
  capacity comparable to ``jepa-mlp``; its kernel is
  :func:`jepatheory.sim.baselines.gaussian_kernel` around :math:`\mu` with the training
  residual as variance. Not in the default grid.

Parameter counts: the tables' and weights' sizes (count model: N m N entries).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import ShapeError
from ..mdp import MDP
from ..model import clip_renormalize, model_kernel
from ..sampling import Dataset
from ..sim.baselines import count_kernel, feature_kernel, gaussian_kernel
from ..sim.encoders import features
from ..sim.trainers import train_erm, train_spectral
from .planning import Rollout

__all__ = ["ALL_MODELS", "INPUT_MODELS", "LATENT_MODELS", "MODELS", "NEURAL_MODELS",
           "TRAINED_MODELS", "PhaseModel", "fit_model", "torch_missing"]

#: Models trained with the torch backend (optional: skipped when torch is missing).
NEURAL_MODELS = ("jepa-mlp", "features-mlp")
LATENT_MODELS = ("jepa-tabular", "jepa-linear", "jepa-mlp")
INPUT_MODELS = ("count", "features", "features-mlp")
#: The default grid's models.
MODELS = ("jepa-tabular", "jepa-linear", "count", "features")
ALL_MODELS = MODELS + NEURAL_MODELS
#: Models fitted by gradient steps (their cells record ``steps``).
TRAINED_MODELS = ("jepa-linear",) + NEURAL_MODELS


def torch_missing() -> str | None:
    """None if the torch extra is installed, else its one-line install message."""
    from .._optional import require
    from ..errors import MissingExtraError
    try:
        require("torch")
    except MissingExtraError as exc:
        return str(exc)
    return None


@dataclass(frozen=True)
class PhaseModel:
    """A fitted model: its kernel (cost (i)), its rollout (cost (ii)), its size."""

    name: str
    kind: str            # "latent" or "input"
    params: int
    kernel: NDArray[np.float64]
    rollout: Rollout


def goal_weights(mdp: MDP, ds: Dataset) -> NDArray[np.float64]:
    """Weights of the goal observations for the goal representation: q_hat on the goal's
    observations seen in the data (uniform over all of them if none was seen)."""
    g = np.asarray(mdp.meta["goal_states"], dtype=np.int64)
    w = np.zeros(mdp.n_states)
    q = ds.q_hat()[g]
    w[g] = q / q.sum() if q.sum() > 0 else 1.0 / g.size
    return w


def _mat(c: NDArray, B: NDArray) -> NDArray:
    """``c @ B`` over the last axis as one contiguous 2-D BLAS product (a strided stack of
    small products is an order of magnitude slower)."""
    flat = np.ascontiguousarray(c).reshape(-1, c.shape[-1])
    return (flat @ B).reshape(c.shape[:-1] + (B.shape[1],))


def _latent_rollout(z: NDArray, h: NDArray, q: NDArray, w_goal: NDArray, m: int) -> Rollout:
    N, k = h.shape
    Zs = z.reshape(N, m, k)
    M = np.einsum("s,sai,sj->aij", q, Zs, h)              # M_a = sum q z(s',a) h(s')^T
    G = h.T @ (q[:, None] * h)
    z_goal = w_goal @ h

    def first(s: NDArray, A: NDArray) -> NDArray:
        return Zs[s[:, None], A]

    Mcat = np.concatenate([M[a].T for a in range(m)], axis=1)   # (k, m k)

    def step(c: NDArray, A: NDArray) -> NDArray:
        every = _mat(c, Mcat).reshape(c.shape[:-1] + (m, k))   # all m successors (BLAS)
        return np.take_along_axis(every, A[..., None, None], axis=2)[:, :, 0]

    def cost(c: NDArray) -> NDArray:
        return np.sum((_mat(c, G) - z_goal) ** 2, axis=-1)

    return Rollout(first, step, cost, k)


def _ridge(mdp: MDP, ds: Dataset, ridge: float = 1e-3) -> NDArray[np.float64]:
    """Per-action ridge weights ``(m, d + 1, d)`` of x(s') on [x(s); 1]."""
    X = features(mdp)
    Y = X[:, :-1]
    d = X.shape[1]
    W = np.zeros((mdp.n_actions, d, Y.shape[1]))
    for a in range(mdp.n_actions):
        sel = ds.a == a
        if sel.any():
            Xa, Ya = X[ds.s[sel]], Y[ds.s2[sel]]
            W[a] = np.linalg.solve(Xa.T @ Xa + ridge * np.eye(d), Xa.T @ Ya)
    return W


def _feature_rollout(mdp: MDP, W: NDArray, w_goal: NDArray) -> Rollout:
    X = features(mdp)[:, :-1]
    m = mdp.n_actions
    x_goal = w_goal @ X

    def first(s: NDArray, A: NDArray) -> NDArray:
        ext = np.hstack([X[s], np.ones((s.size, 1))])
        mu = np.einsum("bi,aij->baj", ext, W)                 # (B, m, d): every action
        return mu[np.arange(s.size)[:, None], A]

    d = X.shape[1]
    Wcat = np.concatenate(list(W), axis=1)                     # (d + 1, m d)

    def step(c: NDArray, A: NDArray) -> NDArray:
        every = (_mat(c, Wcat[:-1]) + Wcat[-1]).reshape(c.shape[:-1] + (m, d))
        return np.take_along_axis(every, A[..., None, None], axis=2)[:, :, 0]

    def cost(c: NDArray) -> NDArray:
        return np.sum((c - x_goal) ** 2, axis=-1)

    return Rollout(first, step, cost, X.shape[1])


def _mlp_rollout(mdp: MDP, net: Any, w_goal: NDArray) -> Rollout:
    r"""Cost (ii) of ``features-mlp``: feed the predicted features back,
    :math:`y_{t+1} = g([y_t; \mathrm{onehot}(a_t)])`."""
    X = features(mdp)[:, :-1]
    x_goal = w_goal @ X

    def first(s: NDArray, A: NDArray) -> NDArray:
        return net.predict(np.broadcast_to(X[s][:, None, :], A.shape + (X.shape[1],)), A)

    def step(c: NDArray, A: NDArray) -> NDArray:
        return net.predict(c, A)

    def cost(c: NDArray) -> NDArray:
        return np.sum((c - x_goal) ** 2, axis=-1)

    return Rollout(first, step, cost, X.shape[1])


def _count_rollout(mdp: MDP, P: NDArray, w_goal: NDArray) -> Rollout:
    X = features(mdp)[:, :-1]
    N, m = mdp.n_states, mdp.n_actions
    nxt = np.asarray(P.argmax(axis=1)).reshape(N, m)     # most likely next observation
    x_goal = w_goal @ X

    def first(s: NDArray, A: NDArray) -> NDArray:
        return nxt[s[:, None], A][..., None].astype(float)

    def step(c: NDArray, A: NDArray) -> NDArray:
        return nxt[c[..., 0].astype(np.int64), A][..., None].astype(float)

    def cost(c: NDArray) -> NDArray:
        return np.sum((X[c[..., 0].astype(np.int64)] - x_goal) ** 2, axis=-1)

    return Rollout(first, step, cost, 1)


def fit_model(mdp: MDP, ds: Dataset, name: str, k: int, seed: int = 0, steps: int = 1500
              ) -> PhaseModel:
    """Fit model ``name`` (one of :data:`ALL_MODELS`) on ``ds``; ``k`` and ``steps`` matter
    for the latent models only (``jepa-mlp`` raises
    :class:`~jepatheory.errors.MissingExtraError` without torch)."""
    if name not in ALL_MODELS:
        raise ShapeError(f"unknown model {name!r}; known: {', '.join(ALL_MODELS)}")
    N, m = mdp.n_states, mdp.n_actions
    w_goal = goal_weights(mdp, ds)
    q = ds.q_hat()
    if name in LATENT_MODELS:
        if name == "jepa-tabular":
            tr = train_erm(mdp, ds, k)
        elif name == "jepa-mlp":
            from ..torch import train_torch   # lazy: the torch extra
            tr = train_torch("spectral", mdp, ds, k, "mlp", steps=steps, batch=512,
                             seed=seed)
        else:
            tr = train_spectral(mdp, ds, k, "linear", steps=steps, seed=seed, batch=512)
        z, h = tr.emb.z, tr.emb.h
        P = clip_renormalize(model_kernel(z, h, q))
        return PhaseModel(name, "latent", int(tr.log.n_params), P,
                          _latent_rollout(z, h, q, w_goal, m))
    if name == "count":
        P = count_kernel(mdp, ds).toarray()
        return PhaseModel(name, "input", N * m * N, P, _count_rollout(mdp, P, w_goal))
    if name == "features-mlp":
        from ..torch.regression import train_next_features   # lazy: the torch extra
        Y = features(mdp)[:, :-1]
        net = train_next_features(mdp, ds, Y, steps=steps, batch=512, seed=seed)
        mu = net.predict(np.repeat(Y[:, None, :], m, axis=1),
                         np.broadcast_to(np.arange(m), (N, m)))
        P = gaussian_kernel(mu, Y, q, net.residual)
        return PhaseModel(name, "input", net.n_params, P, _mlp_rollout(mdp, net, w_goal))
    W = _ridge(mdp, ds)
    P = feature_kernel(mdp, ds)
    return PhaseModel(name, "input", int(W.size) + 1, P, _feature_rollout(mdp, W, w_goal))
