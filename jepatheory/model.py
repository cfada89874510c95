r"""JEPA embeddings, their losses, and the induced world model (THEORY D3, T1, D4).

Embeddings live on the full index sets: ``z`` has shape ``(N*m, k)`` (row ``s*m + a`` is the
prediction :math:`z(s,a) = g(f(s),a)`) and ``h`` shape ``(N, k)``. With
:math:`\Phi = D_\nu^{1/2}Z` and :math:`\Psi = D_q^{1/2}H` on the supports of a
:class:`~jepatheory.cooccurrence.CoOccurrence` ``C``:

* spectral JEPA loss :math:`L(z,h) = -2E_p[z\cdot h] + E_{\nu\otimes q}[(z\cdot h)^2]`
  (computed from its definition, not from T);
* factorization error :math:`\varepsilon(z,h) = \|T-\Phi\Psi^\top\|_F^2` (T1:
  :math:`\varepsilon = L + \|T\|_F^2`), computed without forming dense matrices;
* whitened l2 loss :math:`L_2 = E_p\|z - h(s')\|^2` (C1: :math:`L_2 = L + k` when
  :math:`E_q[hh^\top] = I_k`);
* induced model :math:`\hat P(s'|s,a) = q(s')\,z(s,a)\cdot h(s')` and the guaranteed planner's
  :math:`\tilde P` = clip negatives and renormalize rows (uniform if all zero).

A planner that only knows :math:`\hat q` uses :math:`\hat P = \hat q\, z\cdot h = q\, z\cdot h'`
with :math:`h' = h\,\hat q/q` (:func:`h_prime`); its bounds use :math:`\varepsilon(z,h')`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ._results import Result
from .cooccurrence import CoOccurrence
from .errors import ShapeError, SpectrumError

__all__ = ["Embeddings", "truncated_embeddings", "jepa_loss", "factorization_error",
           "l2_loss", "empirical_loss", "h_prime", "model_kernel", "clip_renormalize",
           "residual_matrix", "plugin_embeddings", "DENSE_MODEL_MAX"]

#: The induced model P_hat is formed densely only up to this many entries (N*m*N).
DENSE_MODEL_MAX = 50_000_000


@dataclass(frozen=True, repr=False)
class Embeddings(Result):
    """``z`` (N*m, k) and ``h`` (N, k) on the full index sets."""

    z: NDArray[np.float64]
    h: NDArray[np.float64]

    _hidden = ("z", "h")
    _no_export = ("z", "h")

    @property
    def k(self) -> int:
        return int(self.z.shape[1])

    def __repr__(self) -> str:
        return f"Embeddings(k={self.k}, n_pairs={self.z.shape[0]}, n_states={self.h.shape[0]})"


def _check(C: CoOccurrence, z: NDArray, h: NDArray) -> None:
    N, m = C.mdp.n_states, C.mdp.n_actions
    if z.ndim != 2 or z.shape[0] != N * m:
        raise ShapeError(f"z: expected shape ({N * m}, k), got {z.shape}")
    if h.ndim != 2 or h.shape != (N, z.shape[1]):
        raise ShapeError(f"h: expected shape ({N}, {z.shape[1]}), got {h.shape}")
    if not (np.isfinite(z).all() and np.isfinite(h).all()):
        raise ShapeError("z, h: embeddings contain NaN or infinity")


def truncated_embeddings(C: CoOccurrence, k: int) -> Embeddings:
    r"""The T2 minimizer in whitened form: :math:`\Phi = U_k S_k`, :math:`\Psi = V_k`, i.e.
    :math:`z = U_kS_k/\sqrt{\nu}`, :math:`h = V_k/\sqrt q` (so :math:`E_q[hh^\top]=I_k`).
    Rows outside the supports are 0."""
    spec = C.spectrum(k)
    if spec.U is None or spec.V is None:  # pragma: no cover - top_singular always sets them
        raise SpectrumError("truncated_embeddings: spectrum has no singular vectors")
    zL = spec.U * spec.singular_values / np.sqrt(C.nu_L)[:, None]
    hR = spec.V / np.sqrt(C.q_R)[:, None]
    return Embeddings(z=C.lift_left(zL), h=C.lift_right(hR))


def _phi_psi(C: CoOccurrence, z: NDArray, h: NDArray) -> tuple[NDArray, NDArray]:
    _check(C, z, h)
    return np.sqrt(C.nu_L)[:, None] * z[C.left], np.sqrt(C.q_R)[:, None] * h[C.right]


def factorization_error(C: CoOccurrence, z: NDArray, h: NDArray) -> float:
    r""":math:`\varepsilon(z,h) = \|T - \Phi\Psi^\top\|_F^2
    = \|T\|_F^2 - 2\,\mathrm{tr}(\Phi^\top T\Psi) + \mathrm{tr}(\Phi^\top\Phi\,\Psi^\top\Psi)`."""
    Phi, Psi = _phi_psi(C, z, h)
    val = C.frobenius_sq - 2 * float(np.sum(Phi * (C.T @ Psi))) + float(
        np.sum((Phi.T @ Phi) * (Psi.T @ Psi)))
    return max(val, 0.0)


def residual_matrix(C: CoOccurrence, z: NDArray, h: NDArray) -> NDArray[np.float64]:
    r"""Dense :math:`E = T - \Phi\Psi^\top` (small problems; used by the T3 ladder)."""
    Phi, Psi = _phi_psi(C, z, h)
    if C.n_left * C.n_right > DENSE_MODEL_MAX:
        raise MemoryError(f"residual_matrix: {C.n_left} x {C.n_right} is too large")
    return C.T.toarray() - Phi @ Psi.T


def jepa_loss(C: CoOccurrence, z: NDArray, h: NDArray) -> float:
    r"""Spectral JEPA loss from its definition (D3):
    :math:`-2\sum p(s,a,s')\,z\cdot h(s') + \mathrm{tr}\big((Z^\top D_\nu Z)(H^\top D_q H)\big)`."""
    _check(C, z, h)
    J = C.joint()
    zL, hR = z[C.left], h[C.right]
    lin = float(np.sum(zL * (J @ hR)))
    quad = float(np.sum((zL.T @ (C.nu_L[:, None] * zL)) * (hR.T @ (C.q_R[:, None] * hR))))
    return -2 * lin + quad


def l2_loss(C: CoOccurrence, z: NDArray, h: NDArray) -> float:
    r""":math:`L_2(z,h) = E_p\|z(s,a) - h(s')\|^2` (no whitening constraint imposed here)."""
    _check(C, z, h)
    J = C.joint()
    zL, hR = z[C.left], h[C.right]
    return float(C.nu_L @ np.sum(zL**2, 1) - 2 * np.sum(zL * (J @ hR))
                 + C.q_R @ np.sum(hR**2, 1))


def empirical_loss(z: NDArray, h: NDArray, pair: NDArray[np.int64], s2: NDArray[np.int64]
                   ) -> float:
    r"""U-statistic :math:`\hat L_n = -\frac2n\sum_i z_i\cdot h'_i
    + \frac{1}{n(n-1)}\sum_{i\ne j}(z_i\cdot h'_j)^2` in :math:`O(n k^2)`."""
    Z, H = z[pair], h[s2]
    n = Z.shape[0]
    if n < 2:
        raise ShapeError("empirical_loss: needs at least 2 transitions")
    lin = float(np.sum(Z * H))
    full = float(np.sum((Z.T @ Z) * (H.T @ H)))
    diag = float(np.sum(np.sum(Z * H, 1) ** 2))
    return -2 * lin / n + (full - diag) / (n * (n - 1))


def h_prime(h: NDArray, q: NDArray, q_hat: NDArray) -> NDArray[np.float64]:
    r""":math:`h' = h\,\hat q/q` (0 where q = 0): the target embedding the true-q analysis sees
    when the planner only knows :math:`\hat q` (D4)."""
    ratio = np.divide(q_hat, q, out=np.zeros_like(q, dtype=float), where=q > 0)
    return h * ratio[:, None]


def model_kernel(z: NDArray, h: NDArray, q: NDArray) -> NDArray[np.float64]:
    r"""Dense :math:`\hat P[(s,a), s'] = q(s')\,z(s,a)\cdot h(s')`, shape ``(N*m, N)`` (signed;
    rows need not sum to 1)."""
    if z.shape[0] * h.shape[0] > DENSE_MODEL_MAX:
        raise MemoryError(f"model_kernel: {z.shape[0]} x {h.shape[0]} is too large for dense")
    return (z @ h.T) * q[None, :]


def clip_renormalize(P_hat: NDArray) -> NDArray[np.float64]:
    r""":math:`\tilde P`: clip negatives, renormalize rows, uniform where a row is all zero.
    D4 fact: :math:`\|\tilde P - P\|_1 \le \|\hat P - P\|_1 + |1-\sum\hat P| \le 2\|\hat P-P\|_1`
    row by row, for any stochastic P."""
    Pc = np.clip(P_hat, 0.0, None)
    sums = Pc.sum(axis=1, keepdims=True)
    N = Pc.shape[1]
    return np.where(sums > 0, Pc / np.where(sums > 0, sums, 1.0), 1.0 / N)




def plugin_embeddings(C_hat: CoOccurrence, k: int) -> Embeddings:
    r"""The plug-in estimator of T4b: the truncated SVD of :math:`\hat T` (``C_hat`` from
    :func:`jepatheory.sampling.empirical_cooccurrence`), in whitened form
    :math:`z = U_kS_k/\sqrt{\hat\nu}`, :math:`h = V_k/\sqrt{\hat q}`; planned with
    :math:`\hat q` its kernel is :math:`\hat q\,z\cdot h = D_{\hat\nu}^{-1/2}[\hat T]_k
    D_{\hat q}^{1/2}`. ``k`` is capped at the rank bound of :math:`\hat T`."""
    return truncated_embeddings(C_hat, min(int(k), C_hat.n_left, C_hat.n_right))
