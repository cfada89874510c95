"""First-order solver and primal heuristics of T6: projected gradient on the Fantope, and
the actual models (alternating least squares, Riemannian ascent) whose error is the upper
bound."""
from __future__ import annotations


import numpy as np
from numpy.typing import NDArray

from .fantope import project_fantope
from ._dual import grams, model_error, top_eigvecs, trace_pairs

__all__ = ["first_order", "orthonormal", "als_shared", "ascent_tied", "upper_bound_model"]


def first_order(arch: str, A: NDArray, B: NDArray, k: int, iters: int, seed: int
                 ) -> tuple[NDArray, NDArray, NDArray]:
    r"""Primal-dual projected gradient (Chambolle-Pock) on the saddle form
    :math:`\max_{X\in\mathcal F_k}\min_{\lambda\in[0,1]^m}\sum_a\lambda_a\operatorname{tr}A_aX_R
    +(1-\lambda_a)\operatorname{tr}B_aX_L`: projections onto the Fantope (X) and the box
    (lambda); returns the ergodic averages, which carry the O(1/t) duality-gap guarantee."""
    m, N, _ = A.shape
    if arch == "free":
        V = top_eigvecs(A.sum(0), k)
        X = V @ V.T
        return X, X, np.ones(m)
    rng = np.random.default_rng(seed)
    D = (A.reshape(m, -1), B.reshape(m, -1))
    if arch == "tied":
        K = D[0] - D[1]
    else:
        K = np.hstack([D[0], -D[1]])
    normK = float(np.sqrt(np.linalg.eigvalsh(K @ K.T)[-1])) + 1e-12
    sig = tau = 0.99 / normK
    lam = np.full(m, 0.5)
    lam_bar = lam.copy()
    X0 = project_fantope(A.sum(0) + B.sum(0) + 1e-9 * rng.standard_normal((N, N)), k)
    XL, XR = X0.copy(), X0.copy()
    sXL, sXR, slam = np.zeros((N, N)), np.zeros((N, N)), np.zeros(m)
    Bsum = B.sum(0)
    for _ in range(iters):
        if arch == "tied":
            XR = XL = project_fantope(XR + sig * (np.tensordot(lam_bar, A - B, 1) + Bsum), k)
        else:
            XR = project_fantope(XR + sig * np.tensordot(lam_bar, A, 1), k)
            XL = project_fantope(XL + sig * (Bsum - np.tensordot(lam_bar, B, 1)), k)
        grad = trace_pairs(A, XR) - trace_pairs(B, XL)
        new = np.clip(lam - tau * grad, 0, 1)
        lam_bar = 2 * new - lam
        lam = new
        sXL += XL
        sXR += XR
        slam += lam
    return sXL / iters, sXR / iters, slam / iters


# ---------------------------------------------------------------------- upper bounds
def orthonormal(M: NDArray) -> NDArray:
    Q, R = np.linalg.qr(M)
    return Q * np.where(np.diag(R) < 0, -1.0, 1.0)


def als_shared(blocks: NDArray, F: NDArray, k: int, iters: int = 300, tol: float = 1e-13
                ) -> tuple[NDArray, NDArray, float]:
    """Alternating exact maximization of sum_a ||F^T T_a G||^2 (monotone)."""
    prev = np.inf
    for _ in range(iters):
        TtF = blocks.transpose(0, 2, 1) @ F  # (m, N, k)
        W = TtF.transpose(1, 0, 2).reshape(TtF.shape[1], -1)
        G = top_eigvecs(W @ W.T, k)
        TG = blocks @ G
        W = TG.transpose(1, 0, 2).reshape(TG.shape[1], -1)
        F = top_eigvecs(W @ W.T, k)
        e = model_error(blocks, F, G)
        if prev - e <= tol * max(1.0, abs(e)):
            break
        prev = e
    return F, G, model_error(blocks, F, G)


def ascent_tied(blocks: NDArray, F: NDArray, iters: int = 600, tol: float = 1e-13
                 ) -> tuple[NDArray, float]:
    """Riemannian gradient ascent of h(F) = sum_a ||F^T T_a F||^2 on the Stiefel manifold
    (QR retraction, Armijo backtracking; monotone)."""

    Tt = blocks.transpose(0, 2, 1)

    def h(F: NDArray) -> tuple[float, NDArray]:
        M = F.T @ (blocks @ F)
        return float(np.sum(M ** 2)), M

    F = orthonormal(F)
    val, M = h(F)
    step = 1.0
    for _ in range(iters):
        grad = 2 * ((blocks @ F) @ M.transpose(0, 2, 1) + (Tt @ F) @ M).sum(0)
        rg = grad - F @ ((F.T @ grad + grad.T @ F) / 2)
        gn = float(np.sum(rg ** 2))
        if gn <= 1e-30:
            break
        while step > 1e-12:
            Fn = orthonormal(F + step * rg)
            vn, Mn = h(Fn)
            if vn >= val + 1e-4 * step * gn:
                break
            step /= 2
        else:
            break
        gain = vn - val
        F, val, M = Fn, vn, Mn
        step *= 2
        if gain <= tol * max(1.0, val):
            break
    return F, float(np.sum(blocks ** 2) - val)


def upper_bound_model(arch: str, blocks: NDArray, k: int, points: list[tuple[NDArray, NDArray]],
           seed: int, n_random: int = 1) -> float:
    """The best model error from local searches started at the relaxation ``points``
    (X_L, X_R), at the top singular vectors of T and T^T, and at random frames."""
    m, N, _ = blocks.shape
    A, B = grams(blocks)
    V = top_eigvecs(A.sum(0), k)  # top right singular vectors of T
    if arch == "free":
        return model_error(blocks, np.eye(N), V)
    rng = np.random.default_rng(seed)
    starts = [top_eigvecs(XR, k) for _, XR in points] + [V, top_eigvecs(B.sum(0), k)]
    starts += [orthonormal(rng.standard_normal((N, k))) for _ in range(n_random)]
    if arch == "shared":
        starts = [top_eigvecs(XL, k) for XL, _ in points] + starts
        return min(als_shared(blocks, F, k)[2] for F in starts)
    return min(ascent_tied(blocks, F)[1] for F in starts)
