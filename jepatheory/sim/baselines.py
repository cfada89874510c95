r"""Input-level baselines (THEORY T5, D6), each a stochastic kernel a planner can use.

* :func:`count_kernel` -- the count model :math:`P_n(s'|s,a) = n(s,a,s')/n(s,a)` (T5; uncovered
  pairs keep a self-loop), via :func:`jepatheory.sampling.count_model`.
* :func:`feature_kernel` -- a model that predicts the next observation's features from
  :math:`(x(s), a)`: per action a ridge regression :math:`\mu(s,a) = W_a^\top[x(s);1]` of
  :math:`x(s')`, with an isotropic Gaussian observation model fitted to the residuals, turned
  into a kernel over the observed next states,
  :math:`P(s'|s,a)\propto\hat q(s')\exp(-\|x(s')-\mu(s,a)\|^2/2\sigma^2)`. With one-hot
  features (an MDP without x) :math:`\mu(s,a)` is the count model's row and the kernel is a
  smoothed count model.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from ..mdp import MDP
from ..sampling import Dataset, count_model
from .encoders import features

__all__ = ["count_kernel", "feature_kernel", "gaussian_kernel", "BASELINES"]

BASELINES = ("count", "features")


def count_kernel(mdp: MDP, ds: Dataset) -> sp.csr_array:
    """The count model's ``(N*m, N)`` kernel (T5)."""
    return count_model(mdp, ds).P_sa


def feature_kernel(mdp: MDP, ds: Dataset, ridge: float = 1e-3) -> NDArray[np.float64]:
    """Kernel of the next-feature regression model (dense ``(N*m, N)``)."""
    X = features(mdp)                     # [x, 1]
    Y = X[:, :-1]                         # predict x(s') (the constant needs no model)
    N, m = mdp.n_states, mdp.n_actions
    d = X.shape[1]
    mu = np.zeros((N, m, Y.shape[1]))
    resid = 0.0
    for a in range(m):
        sel = ds.a == a
        Xa, Ya = X[ds.s[sel]], Y[ds.s2[sel]]
        W = np.linalg.solve(Xa.T @ Xa + ridge * np.eye(d), Xa.T @ Ya) if sel.any() else \
            np.zeros((d, Y.shape[1]))
        mu[:, a] = X @ W
        resid += float(np.sum((Ya - Xa @ W) ** 2))
    sigma2 = max(resid / (ds.n * Y.shape[1]), 1e-12)
    return gaussian_kernel(mu, Y, ds.q_hat(), sigma2)


def gaussian_kernel(mu: NDArray[np.float64], Y: NDArray[np.float64], q_hat: NDArray[np.float64],
                    sigma2: float) -> NDArray[np.float64]:
    r"""The kernel of a next-feature predictor :math:`\mu(s,a)` (``mu`` of shape (N, m, d)):
    :math:`\hat P(s'|s,a)\propto\hat q(s')\exp(-\|Y(s')-\mu(s,a)\|^2/2\sigma^2)` over the
    observed next states (supp :math:`\hat q`), dense ``(N*m, N)``."""
    N, m = mu.shape[0], mu.shape[1]
    supp = np.flatnonzero(q_hat > 0)
    D = (np.sum(mu.reshape(N * m, 1, -1) ** 2, axis=2) - 2 * mu.reshape(N * m, -1) @ Y[supp].T
         + np.sum(Y[supp] ** 2, axis=1)[None, :])
    logits = np.log(q_hat[supp])[None, :] - D / (2 * max(float(sigma2), 1e-12))
    logits -= logits.max(axis=1, keepdims=True)
    W = np.exp(logits)
    P = np.zeros((N * m, N))
    P[:, supp] = W / W.sum(axis=1, keepdims=True)
    return P
