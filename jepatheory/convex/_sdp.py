"""The CVXPY formulations of the T6 relaxations: the Fantope SDP (with the commutator
cut) restricted to subspaces refreshed from the dual, and its solution record."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .fantope import fantope_violation, project_fantope
from ._dual import lagrangian, phi, tangent_bound, top_eigvecs

__all__ = ["simplex_rows", "sym_vec", "commutator_map", "solve_sdp", "span_of", "SubspaceSolution",
           "subspace_sdp"]


def simplex_rows(w: NDArray) -> NDArray:
    """Solver multipliers mapped onto the simplex row by row (clip, renormalize)."""
    w = np.clip(np.nan_to_num(np.asarray(w, dtype=float)), 0, None)
    s = w.sum(axis=1, keepdims=True)
    w = np.where(s > 0, w / np.where(s > 0, s, 1), np.array([0.5, 0.5, 0.0]))
    return w / w.sum(axis=1, keepdims=True)


def sym_vec(r: int) -> NDArray:
    """The projection (I + swap)/2 of vec(Y) onto symmetric matrices, (r^2, r^2)."""
    S = np.eye(r * r).reshape(r, r, r * r).transpose(1, 0, 2).reshape(r * r, r * r)
    return (np.eye(r * r) + S) / 2


def commutator_map(arch: str, VL: NDArray, VR: NDArray, TtVL: NDArray, TVR: NDArray,
                    YL: Any, YR: Any) -> Any:
    r"""A CVXPY expression e(Y) with :math:`\|e(Y)\|_2=\|X_LT_a-T_aX_R\|_F` for symmetric
    Y. The commutator is :math:`V_LY_LM-KY_RV_R^\top` with :math:`M=V_L^\top T_a`,
    :math:`K=T_aV_R`; the Gram matrix of its map on :math:`(\mathrm{vec}\,Y_L,
    \mathrm{vec}\,Y_R)` is built from r x r products (:math:`MM^\top\otimes I`,
    :math:`I\otimes K^\top K`, :math:`-MV_R\otimes V_L^\top K`), restricted to symmetric
    Y and factored, so the second-order cone has at most dim(Y) entries. Above 1600
    entries of vec(Y) (the full-size SDP) the commutator's own N x N entries are used."""
    import cvxpy as cp

    rL, rR = VL.shape[1], VR.shape[1]
    M, K = TtVL.T, TVR
    if rL * rL + (rR * rR if arch == "shared" else 0) > 600:  # e.g. V = I: N^2 entries
        return cp.vec(VL @ YL @ M - K @ YR @ VR.T, order="F")
    GLL = np.kron(M @ M.T, np.eye(rL))
    GRR = np.kron(np.eye(rR), K.T @ K)
    GLR = -np.kron(M @ VR, VL.T @ K)
    PL, PR = sym_vec(rL), sym_vec(rR)
    if arch == "shared":
        G = np.block([[PL @ GLL @ PL, PL @ GLR @ PR], [PR @ GLR.T @ PL, PR @ GRR @ PR]])
        y = cp.hstack([cp.vec(YL, order="F"), cp.vec(YR, order="F")])
    else:
        G = PR @ (GLL + GRR + GLR + GLR.T) @ PR
        y = cp.vec(YR, order="F")
    lam, V = np.linalg.eigh((G + G.T) / 2)
    keep = lam > 1e-13 * max(lam[-1], 1e-300)
    return (np.sqrt(lam[keep])[:, None] * V[:, keep].T) @ y


# ---------------------------------------------------------------------- relaxation solves
def solve_sdp(arch: str, blocks: NDArray, A: NDArray, B: NDArray, VL: NDArray, VR: NDArray, k: int,
         solver: str, cut: bool) -> tuple[NDArray, NDArray, NDArray, str, str, float, float, float]:
    r"""The relaxation on :math:`X_L=V_LY_LV_L^\top`, :math:`X_R=V_RY_RV_R^\top` (``V = I``:
    the full problem). The commutator :math:`X_LT_a-T_aX_R` has columns in
    :math:`\mathrm{span}(V_L,T_aV_R)` and rows in :math:`\mathrm{span}(T_a^\top V_L,V_R)`,
    so its norm is taken on those bases: small matrices only. Returns the points, the
    multipliers ``w`` (m, 3) of the pieces, the solver, status and residuals."""
    import cvxpy as cp

    from .solve import solve_problem

    m = blocks.shape[0]
    rL, rR = VL.shape[1], VR.shape[1]
    TVR = blocks @ VR                       # (m, N, rR)
    TtVL = blocks.transpose(0, 2, 1) @ VL   # (m, N, rL)
    Ar = VR.T @ A @ VR
    Bl = VL.T @ B @ VL
    YR = cp.Variable((rR, rR), symmetric=True)
    YL = YR if arch != "shared" else cp.Variable((rL, rL), symmetric=True)
    cons = [YR >> 0, np.eye(rR) - YR >> 0, cp.trace(YR) == k]
    if arch == "shared":
        cons += [YL >> 0, np.eye(rL) - YL >> 0, cp.trace(YL) == k]
    if arch == "free":
        prob = cp.Problem(cp.Maximize(cp.sum(cp.multiply(Ar.sum(0), YR))), cons)
        used, status = solve_problem(prob, solver)
        pres, mineig = fantope_violation(YR.value, k)
        w = np.tile([1.0, 0.0, 0.0], (m, 1))
        return YR.value, YR.value, w, used, status, pres, 0.0, mineig
    t = cp.Variable(m)
    pieces: list[list[Any]] = [[], [], []]
    for a in range(m):
        fa = cp.sum(cp.multiply(Ar[a], YR))
        fb = cp.sum(cp.multiply(Bl[a], YL))
        pieces[0].append(t[a] <= fa)
        pieces[1].append(t[a] <= fb)
        if cut:
            pieces[2].append(t[a] <= (fa + fb) / 2 - cp.sum_squares(commutator_map(
                arch, VL, VR, TtVL[a], TVR[a], YL, YR)) / 2)
    prob = cp.Problem(cp.Maximize(cp.sum(t)), cons + [c for p in pieces for c in p])
    used, status = solve_problem(prob, solver)
    YRv, YLv = YR.value, YL.value
    pres, mineig = fantope_violation(YRv, k)
    if arch == "shared":
        p2, m2 = fantope_violation(YLv, k)
        pres, mineig = max(pres, p2), min(mineig, m2)
    raw = np.zeros((m, 3))
    for j, p in enumerate(pieces):
        if p:
            raw[:, j] = [float(np.ravel(c.dual_value)[0]) for c in p]
    tv = t.value
    epi = max(0.0, float(np.max(tv - np.einsum("aij,ij->a", Ar, YRv))),
              float(np.max(tv - np.einsum("aij,ij->a", Bl, YLv))))
    dres = float(max(np.max(np.abs(raw.sum(axis=1) - 1)), -raw.min(), 0.0))
    return YLv, YRv, simplex_rows(raw), used, status, max(pres, epi), dres, mineig


def span_of(M: NDArray) -> NDArray:
    """Orthonormal basis of the span of the columns of M (rank-revealing)."""
    if M.shape[1] == 0:
        return M
    U, s, _ = np.linalg.svd(M, full_matrices=False)
    return U[:, s > 1e-10 * s[0]]


@dataclass(frozen=True)
class SubspaceSolution:
    """What the subspace SDP returns: the best primal point ``(X_L, X_R)``, the dual
    ``weights`` (m x 3) and ``anchor`` (X^0_L, X^0_R) of the smallest verified bound
    ``dual``, the solver ``used`` and its ``status``, the residuals of the raw solver point
    (``primal_residual``, ``dual_residual``, ``min_eig_psd``) and the subspace ``rounds``."""

    point: tuple[NDArray, NDArray]
    weights: NDArray
    anchor: tuple[NDArray, NDArray]
    dual: float
    used: str
    status: str
    primal_residual: float
    dual_residual: float
    min_eig_psd: float
    rounds: int


def subspace_sdp(arch: str, blocks: NDArray, A: NDArray, B: NDArray, k: int, solver: str,
                  tol: float, cut: bool, full: bool = False, extra: int | None = None,
                  rounds: int = 25, start: tuple[NDArray, NDArray, NDArray] | None = None
                  ) -> SubspaceSolution:
    r"""The relaxation solved on subspaces: the problem restricted to
    :math:`X = VYV^\top` (V orthonormal, Y in a small Fantope) is feasible for the full
    problem, and its multipliers give the next weights; V is refreshed from the top
    eigenvectors of the Lagrangian matrices :math:`G_L, G_R` at the current point, keeping
    the current solution's range. Stops when the verified bound (:func:`dual_bound`) meets
    the primal value within ``tol``, or when neither moves. ``full``: one round on V = I
    (the textbook SDP). ``start``: initial weights and point ``(w, X_L, X_R)``.

    Returns the best primal point (Fantope-projected), the best weights and their anchor,
    the best bound, then solver, status, residuals and the number of rounds."""
    m, N, _ = blocks.shape
    w = np.tile([0.5, 0.5, 0.0], (m, 1))
    XL = XR = np.zeros((N, N))
    keepL = keepR = np.zeros((N, 0))
    if start is not None:
        w, XL, XR = start
        keepR = top_eigvecs(XR, min(N, 2 * k))
        keepL = top_eigvecs(XL, min(N, 2 * k))
    best_primal = (-np.inf, (XL, XR))
    best_dual = (np.inf, w, (XL, XR))
    used = status = ""
    pres = dres = 0.0
    mineig = 1.0
    r = min(N, k + (extra if extra is not None else 8 if cut else 12))
    scale = max(1.0, float(np.trace(A.sum(0))))
    previous = (np.inf, -np.inf)
    for it in range(1 if full else rounds):
        if full:
            VL = VR = np.eye(N)
        else:
            _, GL, GR = lagrangian(w, XL, XR, blocks, A, B)
            if arch == "shared":
                VR = span_of(np.hstack([keepR, top_eigvecs(GR, r)]))
                VL = span_of(np.hstack([keepL, top_eigvecs(GL, r)]))
            else:
                VR = VL = span_of(np.hstack([keepR, top_eigvecs(GL + GR, r)]))
        YL, YR, w, used, status, pres, dres, mineig = solve_sdp(arch, blocks, A, B, VL, VR, k,
                                                           solver, cut)
        XR = VR @ YR @ VR.T
        XL = XR if arch != "shared" else VL @ YL @ VL.T
        XRp = VR @ project_fantope(YR, k) @ VR.T
        XLp = XRp if arch != "shared" else VL @ project_fantope(YL, k) @ VL.T
        prim = phi(arch, XLp, XRp, blocks, A, B, cut)
        if prim > best_primal[0]:
            best_primal = (prim, (XLp, XRp))
        ub = tangent_bound(arch, w, XL, XR, blocks, A, B, k)
        if ub < best_dual[0]:
            best_dual = (ub, w, (XL, XR))
        keepR = top_eigvecs(XR, min(N, 2 * k))
        keepL = top_eigvecs(XL, min(N, 2 * k))
        if best_dual[0] - best_primal[0] <= tol * scale:
            break
        if it and max(previous[0] - best_dual[0], best_primal[0] - previous[1]) <= tol * scale:
            break  # neither bound moves: stalled at the solver's accuracy
        previous = (best_dual[0], best_primal[0])
    return SubspaceSolution(point=best_primal[1], weights=best_dual[1], anchor=best_dual[2],
                            dual=best_dual[0], used=used, status=status, primal_residual=pres,
                            dual_residual=dres, min_eig_psd=mineig, rounds=it + 1)
