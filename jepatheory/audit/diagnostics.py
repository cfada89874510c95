r"""Practitioners' representation diagnostics, computed on population embeddings.

The three label-free (or nearly label-free) diagnostics that joint-embedding practitioners
watch to detect collapse, each evaluated here on the *population* embedding matrix of a
finite environment: rows are states weighted by a distribution ``w`` (the next-state
marginal q for the target encoder h, nu for the predictions z), i.e. on
:math:`D_w^{1/2} H` instead of a minibatch.

* :func:`rankme` -- RankMe (Garrido, Balestriero, Najman, LeCun, "RankMe: Assessing the
  downstream performance of pretrained self-supervised representations by their rank",
  ICML 2023): with :math:`\sigma_1,\dots,\sigma_k` the singular values of the embedding
  matrix and :math:`p_i = \sigma_i/\|\sigma\|_1 + \epsilon`,

  .. math:: \mathrm{RankMe} = \exp\Big(-\sum_i p_i \log p_i\Big),\qquad \epsilon = 10^{-7},

  a smooth effective rank in :math:`[1, k]` (about 1 for a collapsed embedding).
* :func:`alpha_req` -- alpha-ReQ (Agrawal, Mondal, Ghosh, Richards, "alpha-ReQ: Assessing
  Representation Quality in Self-Supervised Learning by measuring eigenspectrum decay",
  NeurIPS 2022): the eigenvalues :math:`\lambda_1 \ge \dots \ge \lambda_k` of the centred
  embedding covariance are fitted by a power law :math:`\lambda_i \approx c\, i^{-\alpha}`
  (least squares of :math:`\log\lambda_i` on :math:`\log i` over the eigenvalues above
  :math:`10^{-12}\lambda_1`); the diagnostic is :math:`\alpha` (the paper finds
  :math:`\alpha` near 1 best; large :math:`\alpha` = fast decay = near collapse, small
  :math:`\alpha` = white, noise-dominated). NaN when fewer than two eigenvalues are kept.
* :func:`lidar` -- LiDAR (Thilak, Huang, Saremi, Dinh, Goh, Susskind, Littwin, "LiDAR:
  Sensing Linear Probing Performance in Joint Embedding SSL Architectures", ICLR 2024): the
  effective rank of the linear-discriminant matrix
  :math:`\Sigma_{\mathrm{lda}} = \Sigma_w^{-1/2}\Sigma_b\Sigma_w^{-1/2}`, with
  :math:`\Sigma_b` the between-class and :math:`\Sigma_w` the within-class covariance
  (plus :math:`\delta I`, :math:`\delta = 10^{-4}`),
  :math:`p_i = \lambda_i/\sum_j\lambda_j + \epsilon`,
  :math:`\mathrm{LiDAR} = \exp(-\sum_i p_i\log p_i)`. The paper's classes are surrogate
  classes (a clean input and its augmentations); here the class of an observation state is
  its *latent state* (``mdp.meta["latent_of"]`` of the block MDP: the observations one
  latent state emits play the augmentations). Without a latent map every state is its own
  class, :math:`\Sigma_w = \delta I` and LiDAR is the effective rank of the covariance.

None of the three is invariant under a change of basis :math:`(z, h) \to (zG, hG^{-\top})`
that leaves the model (and every theory quantity of :mod:`jepatheory.audit`) unchanged.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import ModelInputError

__all__ = [
    "LIDAR_DELTA",
    "LIDAR_EPS",
    "RANKME_EPS",
    "alpha_req",
    "effective_rank",
    "lidar",
    "rankme",
]

#: epsilon of RankMe (Garrido et al. 2023, eq. 1).
RANKME_EPS = 1e-7
#: ridge delta of LiDAR's within-class covariance and its entropy epsilon (Thilak et al.).
LIDAR_DELTA = 1e-4
LIDAR_EPS = 1e-8


def _weighted(emb: ArrayLike, w: ArrayLike | None) -> tuple[NDArray, NDArray]:
    E = np.asarray(emb, dtype=float)
    if E.ndim != 2 or E.shape[0] == 0:
        raise ModelInputError(f"embeddings: expected a non-empty (n, k) array, got {E.shape}")
    if w is None:
        wv = np.full(E.shape[0], 1.0 / E.shape[0])
    else:
        wv = np.asarray(w, dtype=float).ravel()
        if wv.shape != (E.shape[0],) or (wv < 0).any() or not np.isfinite(wv).all():
            raise ModelInputError(f"weights: expected {E.shape[0]} nonnegative values")
        wv = wv / wv.sum()
    return E, wv


def effective_rank(values: ArrayLike, eps: float) -> float:
    r""":math:`\exp(-\sum_i p_i\log p_i)`, :math:`p_i = v_i/\sum_j v_j + \epsilon`
    (1.0 for an all-zero spectrum)."""
    v = np.clip(np.asarray(values, dtype=float), 0.0, None)
    tot = v.sum()
    if tot <= 0:
        return 1.0
    p = v / tot + eps
    return float(np.exp(-np.sum(p * np.log(p))))


def rankme(emb: ArrayLike, w: ArrayLike | None = None) -> float:
    """RankMe of the embedding matrix ``diag(sqrt(w)) emb`` (see the module docstring)."""
    E, wv = _weighted(emb, w)
    sv = np.linalg.svd(E.T @ (wv[:, None] * E), compute_uv=False)  # = sigma^2 of D^1/2 E
    return effective_rank(np.sqrt(np.clip(sv, 0.0, None)), RANKME_EPS)


def _covariance(E: NDArray, wv: NDArray) -> NDArray:
    mu = wv @ E
    C = E.T @ (wv[:, None] * E) - np.outer(mu, mu)
    return (C + C.T) / 2


def alpha_req(emb: ArrayLike, w: ArrayLike | None = None) -> float:
    """alpha-ReQ power-law decay exponent of the centred covariance spectrum (see the
    module docstring)."""
    E, wv = _weighted(emb, w)
    lam = np.sort(np.linalg.eigvalsh(_covariance(E, wv)))[::-1]
    if lam.size == 0 or lam[0] <= 0:
        return float("nan")
    keep = lam > 1e-12 * lam[0]
    if keep.sum() < 2:
        return float("nan")
    i = np.flatnonzero(keep) + 1.0
    slope = np.polyfit(np.log(i), np.log(lam[keep]), 1)[0]
    return float(-slope)


def lidar(emb: ArrayLike, labels: ArrayLike | None = None, w: ArrayLike | None = None,
          delta: float = LIDAR_DELTA) -> float:
    """LiDAR with ``labels`` as the classes (None: every row its own class); see the
    module docstring."""
    E, wv = _weighted(emb, w)
    n, k = E.shape
    lab = np.arange(n) if labels is None else np.asarray(labels).ravel()
    if lab.shape != (n,):
        raise ModelInputError(f"labels: expected {n} class labels, got shape {lab.shape}")
    _, cls = np.unique(lab, return_inverse=True)
    n_cls = int(cls.max()) + 1
    wc = np.bincount(cls, weights=wv, minlength=n_cls)
    sums = np.zeros((n_cls, k))
    np.add.at(sums, cls, wv[:, None] * E)
    mu_c = np.divide(sums, wc[:, None], out=np.zeros_like(sums), where=wc[:, None] > 0)
    mu = wv @ E
    Dc = mu_c - mu
    Sb = Dc.T @ (wc[:, None] * Dc)
    R = E - mu_c[cls]
    Sw = R.T @ (wv[:, None] * R) + delta * np.eye(k)
    lam_w, U = np.linalg.eigh((Sw + Sw.T) / 2)
    inv_sqrt = (U / np.sqrt(np.clip(lam_w, delta, None))) @ U.T
    M = inv_sqrt @ Sb @ inv_sqrt
    return effective_rank(np.linalg.eigvalsh((M + M.T) / 2), LIDAR_EPS)
