"""The numpy verifier of the T6 relaxations: action blocks, model errors, the concave pieces
and the verified dual bound (:func:`dual_bound`: Ky Fan sums of tangent planes), checked by
eigenvalues and independent of any solver (see :mod:`jepatheory.convex.relax`)."""
from __future__ import annotations


import numpy as np
from numpy.typing import NDArray

from ..cooccurrence import CoOccurrence
from .errors import ConvexInputError
from .fantope import ky_fan

__all__ = ["action_blocks", "model_error", "grams", "trace_pairs", "commutators", "pieces", "phi",
           "lagrangian", "tangent_bound", "lam_weights", "g_bound", "dual_bound", "polish_lambda",
           "top_eigvecs"]


# ---------------------------------------------------------------------- blocks
def action_blocks(C: CoOccurrence) -> NDArray[np.float64]:
    """Dense action blocks ``T_full[a, s, s']`` of T on all N states, shape (m, N, N)."""
    N, m = C.mdp.n_states, C.mdp.n_actions
    if N > 4000:
        raise ConvexInputError(f"action_blocks: N = {N} states is too large for dense blocks")
    out = np.zeros((m, N, N))
    T = C.T.tocoo()
    flat = C.left[T.row]
    out[flat % m, flat // m, C.right[T.col]] = T.data
    return out


def model_error(blocks: NDArray[np.float64], F: NDArray[np.float64],
                G: NDArray[np.float64] | None = None) -> float:
    r""":math:`\sum_a\|T_a - Q_LT_aQ_R\|_F^2` for orthonormal F (left) and G (right, default F):
    the eps of the best model :math:`T_a \approx F W_a G^\top` with these encoders."""
    G = F if G is None else G
    M = F.T @ (blocks @ G)
    return float(np.sum(blocks ** 2) - np.sum(M ** 2))


# ---------------------------------------------------------------------- dual g(lambda)
def grams(blocks: NDArray[np.float64]) -> tuple[NDArray, NDArray]:
    A = blocks.transpose(0, 2, 1) @ blocks  # T_a^T T_a
    B = blocks @ blocks.transpose(0, 2, 1)  # T_a T_a^T
    return A, B


def trace_pairs(A: NDArray, X: NDArray) -> NDArray:
    """tr(A_a X) for every a (X symmetric)."""
    return A.reshape(A.shape[0], -1) @ X.ravel()


# ---------------------------------------------------------------------- commutator cut
def commutators(XL: NDArray, XR: NDArray, blocks: NDArray) -> NDArray:
    """:math:`E_a = X_LT_a - T_aX_R` for every action, shape (m, N, N)."""
    return XL @ blocks - blocks @ XR


def pieces(XL: NDArray, XR: NDArray, blocks: NDArray, A: NDArray, B: NDArray) -> NDArray:
    r"""The concave pieces :math:`f_{a1}=\operatorname{tr}A_aX_R`,
    :math:`f_{a2}=\operatorname{tr}B_aX_L` and the commutator piece
    :math:`f_{a3}=\tfrac12(f_{a1}+f_{a2})-\tfrac12\|X_LT_a-T_aX_R\|_F^2`, shape (m, 3)."""
    a, b = trace_pairs(A, XR), trace_pairs(B, XL)
    E = commutators(XL, XR, blocks)
    c = (a + b) / 2 - np.sum(E.reshape(E.shape[0], -1) ** 2, axis=1) / 2
    return np.stack([a, b, c], axis=1)


def phi(arch: str, XL: NDArray, XR: NDArray, blocks: NDArray, A: NDArray, B: NDArray,
         cut: bool) -> float:
    """Relaxation objective at a Fantope point: sum_a of the min over the pieces used."""
    if arch == "free":
        return float(trace_pairs(A, XR).sum())
    f = pieces(XL, XR, blocks, A, B)
    return float((f if cut else f[:, :2]).min(axis=1).sum())


def lagrangian(w: NDArray, XL: NDArray | None, XR: NDArray | None, blocks: NDArray | None,
                A: NDArray, B: NDArray) -> tuple[float, NDArray, NDArray]:
    r"""Constant and gradient matrices of :math:`\sum_{a,j}w_{aj}\,\ell_{aj}` where
    :math:`\ell_{aj}` is the tangent plane of :math:`f_{aj}` at :math:`(X_L,X_R)`:
    returns :math:`(c, G_L, G_R)` with :math:`\sum_{a,j}w_{aj}f_{aj}(Y_L,Y_R)\le
    c+\langle G_L,Y_L\rangle+\langle G_R,Y_R\rangle` for all symmetric :math:`Y_L,Y_R`.
    The point and blocks are used only when some :math:`w_{a3}>0`."""
    w3 = w[:, 2]
    GR = np.tensordot(w[:, 0] + w3 / 2, A, 1)
    GL = np.tensordot(w[:, 1] + w3 / 2, B, 1)
    const = 0.0
    if np.any(w3 != 0):
        E = commutators(XL, XR, blocks)
        const = float(w3 @ np.sum(E.reshape(E.shape[0], -1) ** 2, axis=1)) / 2
        TtE = np.tensordot(w3, blocks.transpose(0, 2, 1) @ E, 1)
        ETt = np.tensordot(w3, E @ blocks.transpose(0, 2, 1), 1)
        GR = GR + (TtE + TtE.T) / 2
        GL = GL - (ETt + ETt.T) / 2
    return const, GL, GR


def tangent_bound(arch: str, w: NDArray, XL: NDArray | None, XR: NDArray | None,
           blocks: NDArray | None, A: NDArray, B: NDArray, k: int) -> float:
    """:func:`dual_bound` on precomputed Gram matrices."""
    if arch == "free":
        return ky_fan(A.sum(0), k)
    const, GL, GR = lagrangian(w, XL, XR, blocks, A, B)
    if arch == "tied":
        return const + ky_fan(GL + GR, k)
    return const + ky_fan(GL, k) + ky_fan(GR, k)


def lam_weights(lam: NDArray) -> NDArray:
    """Weights (lambda, 1 - lambda, 0) of the pieces: the linear relaxation's multipliers."""
    return np.stack([lam, 1 - lam, np.zeros_like(lam)], axis=1)


def g_bound(arch: str, lam: NDArray, A: NDArray, B: NDArray, k: int) -> float:
    """g(lambda): :func:`dual_bound` with no weight on the commutator piece."""
    return tangent_bound(arch, lam_weights(lam), None, None, None, A, B, k)


def dual_bound(arch: str, blocks: NDArray, k: int, weights: NDArray,
               anchor_left: NDArray | None = None, anchor_right: NDArray | None = None
               ) -> float:
    r"""A verified upper bound on :math:`\max_{Q}\sum_a\|Q_LT_aQ_R\|_F^2` (T6).

    For projectors, :math:`\|Q_LTQ_R\|_F^2` is below each of the concave functions
    :math:`f_1=\operatorname{tr}AQ_R`, :math:`f_2=\operatorname{tr}BQ_L` and equals
    :math:`f_3=\tfrac12(f_1+f_2)-\tfrac12\|Q_LT-TQ_R\|_F^2` (expand the square). For any
    weights :math:`w_a` in the simplex and any anchor :math:`X^0`, concavity gives
    :math:`\min_jf_{aj}(Y)\le\sum_jw_{aj}f_{aj}(Y)\le\sum_jw_{aj}[f_{aj}(X^0)+
    \langle\nabla f_{aj}(X^0),Y-X^0\rangle]`, whose maximum over the Fantope is a constant
    plus Ky Fan sums. Valid for *every* weights/anchor; the solver only chooses good ones.
    With :math:`w_{a3}=0` it is :math:`g(\lambda)`, :math:`\lambda=w_{\cdot1}`.
    ``weights``: shape (m, 3), rows in the simplex (checked); anchors default to 0.
    """
    m, N, _ = blocks.shape
    w = np.asarray(weights, dtype=float)
    if w.shape != (m, 3) or not np.all(np.isfinite(w)):
        raise ConvexInputError(f"weights: expected a finite ({m}, 3) array, got shape {w.shape}")
    bad = np.flatnonzero((w.min(axis=1) < 0) | (np.abs(w.sum(axis=1) - 1) > 1e-12))
    if bad.size:
        raise ConvexInputError(f"weights: row {int(bad[0])} = {w[bad[0]].tolist()} is not in "
                               "the simplex")
    XL = np.zeros((N, N)) if anchor_left is None else np.asarray(anchor_left, dtype=float)
    XR = XL if anchor_right is None else np.asarray(anchor_right, dtype=float)
    A, B = grams(blocks)
    return tangent_bound(arch, w, XL, XR, blocks, A, B, k)


def polish_lambda(arch: str, lam: NDArray, A: NDArray, B: NDArray, k: int,
                   sweeps: int = 3, width: float = 0.05) -> tuple[NDArray, float]:
    """Coordinatewise golden-section descent on g over the box (never increases g)."""
    lam = np.clip(lam, 0, 1)
    best = g_bound(arch, lam, A, B, k)
    if arch == "free":
        return lam, best
    ones = np.ones_like(lam)  # g(1) = KF_k(T^T T): the free bound, tail_k exactly
    g1 = g_bound(arch, ones, A, B, k)
    if g1 <= best:
        lam, best = ones, g1
    for _ in range(sweeps):
        improved = False
        for a in range(lam.size):
            lo, hi = max(0.0, lam[a] - width), min(1.0, lam[a] + width)
            phi = (np.sqrt(5) - 1) / 2
            x1, x2 = hi - phi * (hi - lo), lo + phi * (hi - lo)

            def at(x: float) -> float:
                l2 = lam.copy()
                l2[a] = x  # noqa: B023 - at() is used within this iteration only
                return g_bound(arch, l2, A, B, k)

            f1, f2 = at(x1), at(x2)
            for _ in range(30):
                if f1 < f2:
                    hi, x2, f2 = x2, x1, f1
                    x1 = hi - phi * (hi - lo)
                    f1 = at(x1)
                else:
                    lo, x1, f1 = x1, x2, f2
                    x2 = lo + phi * (hi - lo)
                    f2 = at(x2)
            x, fx = (x1, f1) if f1 < f2 else (x2, f2)
            if fx < best - 1e-15:
                lam[a], best, improved = x, fx, True
        if not improved:
            break
    return lam, best


def top_eigvecs(S: NDArray, k: int) -> NDArray:
    return np.linalg.eigh((S + S.T) / 2)[1][:, ::-1][:, :k]
