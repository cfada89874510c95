r"""Certified bounds on min eps for constrained JEPA architectures (THEORY T6).

Architectures, all written on the coordinates of T (D2), block ``T_a`` = the rows of T
with action ``a`` laid out on all N states (zero rows/columns outside the supports):

* ``free`` (T2): :math:`T \approx \Phi\Psi^\top` of rank k;
  :math:`\min\varepsilon = \mathrm{tail}_k`.
* ``shared`` context encoder with a linear action-conditioned predictor:
  :math:`T_a \approx F W_a G^\top` (F shared by all actions, G the target encoder);
* ``tied`` encoder (h = f) with a linear predictor per action:
  :math:`T_a \approx F W_a F^\top`, i.e. :math:`\bar A_a \approx F W_a F^\top` (T6).

On raw encoders this is the model ``z(s,a) = W_a^T f(s)`` with the tie/sharing taken in the
whitened coordinates; it is *exactly* h = f when :math:`\nu(s,a) = q(s)\pi(a)` (tied) and
exactly a shared f when :math:`\nu(s,a)=\nu_S(s)\pi(a)` (shared).
For orthonormal F, G (projectors :math:`Q_L=FF^\top, Q_R=GG^\top`) the best W_a gives

.. math::

    \min\varepsilon = \|T\|_F^2 - \max_{Q_L,Q_R}\sum_a \|Q_L T_a Q_R\|_F^2
    \qquad (Q_L = Q_R \text{ when tied}).

**Relaxation** (lower bound on min eps). With :math:`A_a=T_a^\top T_a`,
:math:`B_a=T_aT_a^\top` and :math:`Q\preceq I`,
:math:`\|Q_LT_aQ_R\|_F^2\le\min(\operatorname{tr}A_aQ_R,\operatorname{tr}B_aQ_L)`; replacing
projectors by the Fantope :math:`\mathcal F_k` gives the concave maximization

.. math::

    \rho = \max_{X_L,X_R\in\mathcal F_k}\sum_a \min(\operatorname{tr}A_aX_R,
    \operatorname{tr}B_aX_L)
    = \min_{\lambda\in[0,1]^m} g(\lambda),

    g_{\rm shared}(\lambda) = \mathrm{KF}_k\Big(\sum_a\lambda_aA_a\Big)
      + \mathrm{KF}_k\Big(\sum_a(1-\lambda_a)B_a\Big),\quad
    g_{\rm tied}(\lambda) = \mathrm{KF}_k\Big(\sum_a\lambda_aA_a+(1-\lambda_a)B_a\Big)

(minimax over compact convex sets; KF_k = sum of the top-k eigenvalues, Ky Fan). Any
:math:`\lambda` in the box gives the **verified** lower bound
:math:`\|T\|_F^2-g(\lambda)\le\min\varepsilon`, checked by one eigendecomposition and
independent of the solver; any Fantope point gives a primal value, and their difference is
the duality gap. Since :math:`g(\mathbf 1)=\mathrm{KF}_k(T^\top T)`, the bound is never
below tail_k; for ``free`` it equals tail_k (T2, tight).

**Upper bound**: the error of an actual model (alternating least squares for ``shared``,
Riemannian gradient ascent with backtracking for ``tied``, truncated SVD for ``free``).
``gap = upper - lower`` certifies min eps to within ``gap``. Proof: ``proofs/T6.md``.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._results import Result
from ..cooccurrence import CoOccurrence
from .errors import ConvexInputError
from .fantope import fantope_violation, ky_fan, project_fantope

__all__ = ["ARCHS", "METHODS", "SDP_FULL_MAX_N", "RelaxationCertificate", "ArchitectureGap",
           "relax", "architecture_gap",
           "action_blocks", "model_error", "demo_section", "SDP_MAX_N"]

ARCHS = ("free", "shared", "tied")
METHODS = ("auto", "sdp", "sdp-full", "first-order")
#: above this many states even the subspace SDP's dense eigendecompositions are
#: impractical: ``method="auto"`` falls back to the first-order method and says so
SDP_MAX_N = 1500
#: above this many states the full N x N Fantope SDP is impractical (90 s at N = 104 for
#: the free architecture with Clarabel, memory ~ N^4): ``"sdp-full"`` uses the subspace SDP
SDP_FULL_MAX_N = 60


@dataclass(frozen=True, repr=False)
class RelaxationCertificate(Result):
    r"""Verified bounds ``lower <= min eps_arch <= upper`` (T6).

    Fields: ``tail`` = tail_k (T2); ``lower`` = :math:`\|T\|_F^2 - g(\lambda)` (verified by
    eigenvalues); ``upper`` = eps of the best model found; ``gap = upper - lower``;
    ``relaxation_primal`` = :math:`\|T\|_F^2 -` (relaxation value at the solver's point
    projected onto the Fantope); ``duality_gap`` = relaxation_primal - lower (>= 0, the
    accuracy of the convex solve); ``primal_residual`` (Fantope and epigraph violation of
    the raw solver point); ``dual_residual`` (violation of
    :math:`\lambda_a+\mu_a=1,\ \lambda,\mu\ge0` by the raw multipliers);
    ``min_eig_psd`` (smallest eigenvalue of the PSD blocks X, I - X at the raw point);
    ``verified`` = duality gap within ``tol`` and tail <= lower <= upper (within ``tol``).
    """

    arch: str
    k: int
    n_states: int
    n_actions: int
    method: str
    solver: str
    status: str
    frobenius_sq: float
    tail: float
    lower: float
    upper: float
    gap: float
    relaxation_primal: float
    duality_gap: float
    primal_residual: float
    dual_residual: float
    min_eig_psd: float
    tol: float
    verified: bool
    seconds: float
    rounds: int = 1
    note: str = ""
    lam: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    _hidden = ("lam",)


@dataclass(frozen=True, repr=False)
class ArchitectureGap(Result):
    r"""Bounds on the architecture gap :math:`\min\varepsilon_{\rm arch} - \mathrm{tail}_k`
    (>= 0): ``lower <= gap <= upper`` (T6), for the ladder and the bound calculator, which
    may add ``upper`` to tail_k wherever T2's tail_k assumed the free architecture."""

    arch: str
    k: int
    tail: float
    lower: float
    upper: float
    verified: bool
    certificate: RelaxationCertificate


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


def _check(arch: str, k: int, N: int) -> None:
    if arch not in ARCHS:
        raise ConvexInputError(f"arch: expected one of {ARCHS}, got {arch!r}")
    if int(k) != k or not 1 <= k < N:
        raise ConvexInputError(f"k: expected an integer in [1, {N - 1}], got {k!r}")


def model_error(blocks: NDArray[np.float64], F: NDArray[np.float64],
                G: NDArray[np.float64] | None = None) -> float:
    r""":math:`\sum_a\|T_a - Q_LT_aQ_R\|_F^2` for orthonormal F (left) and G (right, default F):
    the eps of the best model :math:`T_a \approx F W_a G^\top` with these encoders."""
    G = F if G is None else G
    M = F.T @ (blocks @ G)
    return float(np.sum(blocks ** 2) - np.sum(M ** 2))


# ---------------------------------------------------------------------- dual g(lambda)
def _grams(blocks: NDArray[np.float64]) -> tuple[NDArray, NDArray]:
    A = blocks.transpose(0, 2, 1) @ blocks  # T_a^T T_a
    B = blocks @ blocks.transpose(0, 2, 1)  # T_a T_a^T
    return A, B


def _g(arch: str, lam: NDArray, A: NDArray, B: NDArray, k: int) -> float:
    if arch == "tied":
        return ky_fan(np.tensordot(lam, A, 1) + np.tensordot(1 - lam, B, 1), k)
    if arch == "shared":
        return ky_fan(np.tensordot(lam, A, 1), k) + ky_fan(np.tensordot(1 - lam, B, 1), k)
    return ky_fan(A.sum(0), k)


def _tr(A: NDArray, X: NDArray) -> NDArray:
    """tr(A_a X) for every a (X symmetric)."""
    return A.reshape(A.shape[0], -1) @ X.ravel()


def _f(arch: str, XL: NDArray, XR: NDArray, A: NDArray, B: NDArray) -> float:
    a = _tr(A, XR)
    if arch == "free":
        return float(a.sum())
    b = _tr(B, XL)
    return float(np.minimum(a, b).sum())


def _polish_lambda(arch: str, lam: NDArray, A: NDArray, B: NDArray, k: int,
                   sweeps: int = 3, width: float = 0.05) -> tuple[NDArray, float]:
    """Coordinatewise golden-section descent on g over the box (never increases g)."""
    lam = np.clip(lam, 0, 1)
    best = _g(arch, lam, A, B, k)
    if arch == "free":
        return lam, best
    ones = np.ones_like(lam)  # g(1) = KF_k(T^T T): the free bound, tail_k exactly
    g1 = _g(arch, ones, A, B, k)
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
                l2[a] = x
                return _g(arch, l2, A, B, k)

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


# ---------------------------------------------------------------------- relaxation solves
def _sdp(arch: str, A: NDArray, B: NDArray, k: int, solver: str
         ) -> tuple[NDArray, NDArray, NDArray, str, str, float, float, float]:
    import cvxpy as cp

    from .solve import solve_problem

    m, N, _ = A.shape
    I = np.eye(N)
    XR = cp.Variable((N, N), symmetric=True)
    XL = XR if arch != "shared" else cp.Variable((N, N), symmetric=True)
    cons = [XR >> 0, I - XR >> 0, cp.trace(XR) == k]
    if arch == "shared":
        cons += [XL >> 0, I - XL >> 0, cp.trace(XL) == k]
    if arch == "free":
        obj = cp.sum(cp.multiply(A.sum(0), XR))
        ca, cb = [], []
    else:
        t = cp.Variable(m)
        ca = [t[a] <= cp.sum(cp.multiply(A[a], XR)) for a in range(m)]
        cb = [t[a] <= cp.sum(cp.multiply(B[a], XL)) for a in range(m)]
        obj = cp.sum(t)
    prob = cp.Problem(cp.Maximize(obj), cons + ca + cb)
    used, status = solve_problem(prob, solver)
    XRv = XR.value
    XLv = XL.value if arch != "free" else XRv
    pres, mineig = fantope_violation(XRv, k)
    if arch == "shared":
        p2, m2 = fantope_violation(XLv, k)
        pres, mineig = max(pres, p2), min(mineig, m2)
    if arch == "free":
        return XLv, XRv, np.ones(m), used, status, pres, 0.0, mineig
    lam = np.array([float(c.dual_value) for c in ca])
    mu = np.array([float(c.dual_value) for c in cb])
    tv = t.value
    epi = max(0.0, float(np.max(tv - _tr(A, XRv))),
              float(np.max(tv - _tr(B, XLv))))
    dres = float(max(np.max(np.abs(lam + mu - 1)), -lam.min(), -mu.min(), 0.0))
    return XLv, XRv, lam, used, status, max(pres, epi), dres, mineig


def _subspace_sdp(arch: str, A: NDArray, B: NDArray, k: int, solver: str, tol: float,
                  extra: int = 12, rounds: int = 25
                  ) -> tuple[NDArray, NDArray, NDArray, str, str, float, float, float, int]:
    r"""The relaxation solved on subspaces: the SDP restricted to :math:`X = VYV^\top`
    (V orthonormal, Y in a small Fantope) is feasible for the full problem, and its
    multipliers give the next lambda; V is refreshed from the top eigenvectors of the
    Lagrangian matrices at lambda, keeping the current solution's range. Stops when the
    verified dual bound g(lambda) meets the primal value within ``tol``."""
    m, N, _ = A.shape
    lam = np.full(m, 0.5)
    best = (-np.inf, None)
    best_dual = (np.inf, lam)
    keepL = keepR = np.zeros((N, 0))
    used = status = ""
    pres = dres = 0.0
    mineig = 1.0
    r = min(N, k + extra)
    for it in range(rounds):
        CR = np.tensordot(lam, A, 1) + (np.tensordot(1 - lam, B, 1) if arch == "tied" else 0)
        VR = _span(np.hstack([keepR, _top_eigvecs(CR, r)]), N)
        if arch == "shared":
            VL = _span(np.hstack([keepL, _top_eigvecs(np.tensordot(1 - lam, B, 1), r)]), N)
        else:
            VL = VR
        Ar = VR.T @ A @ VR
        Bl = VL.T @ B @ VL
        if arch in ("tied", "free"):
            XLr, XRr, lam_new, used, status, pres, dres, mineig = _sdp(arch, Ar, Bl, k, solver)
        else:
            # shared: two independent subspaces; _sdp takes A on X_R and B on X_L
            XLr, XRr, lam_new, used, status, pres, dres, mineig = _sdp_pair(Ar, Bl, k, solver)
        YR = project_fantope(XRr, k)
        YL = YR if arch != "shared" else project_fantope(XLr, k)
        XR = VR @ YR @ VR.T
        XL = XR if arch != "shared" else VL @ YL @ VL.T
        prim = _f(arch, XL, XR, A, B)
        if prim > best[0]:
            best = (prim, (XL, XR))
        lam_new = np.clip(lam_new, 0, 1)
        gval = _g(arch, lam_new, A, B, k)
        if gval < best_dual[0]:
            best_dual = (gval, lam_new)
        lam = lam_new
        keepR = _top_eigvecs(XR, min(N, 2 * k))
        keepL = _top_eigvecs(XL, min(N, 2 * k))
        if best_dual[0] - best[0] <= tol * max(1.0, float(np.trace(A.sum(0)))):
            break
    XL, XR = best[1]
    return XL, XR, best_dual[1], used, status, pres, dres, mineig, it + 1


def _span(M: NDArray, N: int) -> NDArray:
    """Orthonormal basis of the span of the columns of M (rank-revealing)."""
    U, s, _ = np.linalg.svd(M, full_matrices=False)
    return U[:, s > 1e-10 * s[0]]


def _sdp_pair(A: NDArray, B: NDArray, k: int, solver: str
              ) -> tuple[NDArray, NDArray, NDArray, str, str, float, float, float]:
    """The shared relaxation when X_R and X_L live on bases of different sizes."""
    import cvxpy as cp

    from .solve import solve_problem

    m, nR, _ = A.shape
    nL = B.shape[1]
    XR = cp.Variable((nR, nR), symmetric=True)
    XL = cp.Variable((nL, nL), symmetric=True)
    t = cp.Variable(m)
    ca = [t[a] <= cp.sum(cp.multiply(A[a], XR)) for a in range(m)]
    cb = [t[a] <= cp.sum(cp.multiply(B[a], XL)) for a in range(m)]
    cons = [XR >> 0, np.eye(nR) - XR >> 0, cp.trace(XR) == k,
            XL >> 0, np.eye(nL) - XL >> 0, cp.trace(XL) == k]
    prob = cp.Problem(cp.Maximize(cp.sum(t)), cons + ca + cb)
    used, status = solve_problem(prob, solver)
    p1, e1 = fantope_violation(XR.value, k)
    p2, e2 = fantope_violation(XL.value, k)
    lam = np.array([float(c.dual_value) for c in ca])
    mu = np.array([float(c.dual_value) for c in cb])
    dres = float(max(np.max(np.abs(lam + mu - 1)), -lam.min(), -mu.min(), 0.0))
    return XL.value, XR.value, lam, used, status, max(p1, p2), dres, min(e1, e2)


def _first_order(arch: str, A: NDArray, B: NDArray, k: int, iters: int, seed: int
                 ) -> tuple[NDArray, NDArray, NDArray]:
    r"""Primal-dual projected gradient (Chambolle-Pock) on the saddle form
    :math:`\max_{X\in\mathcal F_k}\min_{\lambda\in[0,1]^m}\sum_a\lambda_a\operatorname{tr}A_aX_R
    +(1-\lambda_a)\operatorname{tr}B_aX_L`: projections onto the Fantope (X) and the box
    (lambda); returns the ergodic averages, which carry the O(1/t) duality-gap guarantee."""
    m, N, _ = A.shape
    if arch == "free":
        V = _top_eigvecs(A.sum(0), k)
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
        grad = _tr(A, XR) - _tr(B, XL)
        new = np.clip(lam - tau * grad, 0, 1)
        lam_bar = 2 * new - lam
        lam = new
        sXL += XL
        sXR += XR
        slam += lam
    return sXL / iters, sXR / iters, slam / iters


# ---------------------------------------------------------------------- upper bounds
def _orth(M: NDArray) -> NDArray:
    Q, R = np.linalg.qr(M)
    return Q * np.where(np.diag(R) < 0, -1.0, 1.0)


def _top_eigvecs(S: NDArray, k: int) -> NDArray:
    return np.linalg.eigh((S + S.T) / 2)[1][:, ::-1][:, :k]


def _als_shared(blocks: NDArray, F: NDArray, k: int, iters: int = 300, tol: float = 1e-13
                ) -> tuple[NDArray, NDArray, float]:
    """Alternating exact maximization of sum_a ||F^T T_a G||^2 (monotone)."""
    prev = np.inf
    for _ in range(iters):
        TtF = blocks.transpose(0, 2, 1) @ F  # (m, N, k)
        W = TtF.transpose(1, 0, 2).reshape(TtF.shape[1], -1)
        G = _top_eigvecs(W @ W.T, k)
        TG = blocks @ G
        W = TG.transpose(1, 0, 2).reshape(TG.shape[1], -1)
        F = _top_eigvecs(W @ W.T, k)
        e = model_error(blocks, F, G)
        if prev - e <= tol * max(1.0, abs(e)):
            break
        prev = e
    return F, G, model_error(blocks, F, G)


def _ascent_tied(blocks: NDArray, F: NDArray, iters: int = 600, tol: float = 1e-13
                 ) -> tuple[NDArray, float]:
    """Riemannian gradient ascent of h(F) = sum_a ||F^T T_a F||^2 on the Stiefel manifold
    (QR retraction, Armijo backtracking; monotone)."""

    Tt = blocks.transpose(0, 2, 1)

    def h(F: NDArray) -> tuple[float, NDArray]:
        M = F.T @ (blocks @ F)
        return float(np.sum(M ** 2)), M

    F = _orth(F)
    val, M = h(F)
    step = 1.0
    for _ in range(iters):
        grad = 2 * ((blocks @ F) @ M.transpose(0, 2, 1) + (Tt @ F) @ M).sum(0)
        rg = grad - F @ ((F.T @ grad + grad.T @ F) / 2)
        gn = float(np.sum(rg ** 2))
        if gn <= 1e-30:
            break
        while step > 1e-12:
            Fn = _orth(F + step * rg)
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


def _upper(arch: str, blocks: NDArray, k: int, XL: NDArray, XR: NDArray, seed: int,
           n_random: int = 1) -> float:
    m, N, _ = blocks.shape
    A, B = _grams(blocks)
    V = _top_eigvecs(A.sum(0), k)  # top right singular vectors of T
    if arch == "free":
        return model_error(blocks, np.eye(N), V)
    rng = np.random.default_rng(seed)
    starts = [_top_eigvecs(XR, k), V, _top_eigvecs(B.sum(0), k)]
    starts += [_orth(rng.standard_normal((N, k))) for _ in range(n_random)]
    if arch == "shared":
        starts = [_top_eigvecs(XL, k)] + starts
        return min(_als_shared(blocks, F, k)[2] for F in starts)
    return min(_ascent_tied(blocks, F)[1] for F in starts)


# ---------------------------------------------------------------------- main entry
def relax(C: CoOccurrence, k: int, arch: str = "tied", *, method: str = "auto",
          solver: str = "auto", tol: float | None = None, seed: int = 0,
          iters: int = 2000) -> RelaxationCertificate:
    r"""Certified bounds on :math:`\min\varepsilon` of architecture ``arch`` at rank ``k``
    (THEORY T6; ``proofs/T6.md``).

    Parameters
    ----------
    C : CoOccurrence
    k : latent dimension
    arch : ``"free"``, ``"shared"`` or ``"tied"`` (see the module docstring)
    method : ``"sdp"`` (the relaxation as an SDP restricted to subspaces refreshed from the
        dual, CVXPY; Clarabel, SCS fallback), ``"sdp-full"`` (the textbook N x N Fantope
        SDP, up to :data:`SDP_FULL_MAX_N` states), ``"first-order"`` (primal-dual projected
        gradient on the Fantope, same verified dual certificate) or ``"auto"`` (``"sdp"``
        up to :data:`SDP_MAX_N` states, first-order above, with a note saying so)
    solver : ``"auto"``, ``"CLARABEL"`` or ``"SCS"``
    tol : tolerance of the verification, relative to max(1, ||T||_F^2); default 1e-6 for
        the SDP, 1e-3 for the first-order method (O(1/t) convergence)
    iters : iterations of the first-order method

    Returns
    -------
    RelaxationCertificate
        ``tail <= lower <= min eps_arch <= upper``; ``lower`` is verified by eigenvalues.

    Raises
    ------
    ConvexInputError
        unknown arch or method, k out of range.
    SolverError
        the SDP solver failed or reported an infeasible/unbounded problem.
    """
    t0 = time.perf_counter()
    N, m = C.mdp.n_states, C.mdp.n_actions
    _check(arch, k, N)
    if method not in METHODS:
        raise ConvexInputError(f"method: expected one of {METHODS}, got {method!r}")
    blocks = action_blocks(C)
    A, B = _grams(blocks)
    fro = float(np.sum(blocks ** 2))
    sv2 = np.clip(np.linalg.eigvalsh(A.sum(0))[::-1], 0, None)  # sigma_i^2
    tail = float(np.sum(sv2[k:]))
    note = ""
    rounds = 1
    if method == "auto":
        method = "sdp" if N <= SDP_MAX_N else "first-order"
        if method == "first-order":
            note = (f"SDP impractical above N = {SDP_MAX_N} states (N = {N}); used projected "
                    "gradient on the Fantope with its own dual certificate")
            warnings.warn(note, stacklevel=2)
    if method == "sdp-full" and N > SDP_FULL_MAX_N:
        note = (f"full-size SDP impractical above N = {SDP_FULL_MAX_N} states (N = {N}, "
                "memory ~ N^4); used the subspace SDP")
        warnings.warn(note, stacklevel=2)
        method = "sdp"
    tol_ = tol if tol is not None else (1e-3 if method == "first-order" else 1e-6)
    if method == "sdp":
        XL, XR, lam, used, status, pres, dres, mineig, rounds = _subspace_sdp(
            arch, A, B, k, solver, tol_ / 10)
    elif method == "sdp-full":
        XL, XR, lam, used, status, pres, dres, mineig = _sdp(arch, A, B, k, solver)
    else:
        XL, XR, lam = _first_order(arch, A, B, k, iters, seed)
        used, status = "projected-gradient", "done"
        pres, mineig = fantope_violation(XR, k)
        dres = 0.0
        rounds = iters
    tol = tol_
    XRp = project_fantope(XR, k)
    XLp = XRp if arch == "tied" else project_fantope(XL, k)
    primal = _f(arch, XLp, XRp, A, B)
    lam, dual = _polish_lambda(arch, lam, A, B, k)
    if arch == "free":
        dual = ky_fan(A.sum(0), k)
    lower = fro - dual
    upper = min(_upper(arch, blocks, k, XL, XR, seed), fro)
    scale = max(1.0, fro)
    dgap = dual - primal
    verified = bool(dgap <= tol * scale and tail <= lower + tol * scale
                    and lower <= upper + tol * scale)
    return RelaxationCertificate(
        arch=arch, k=int(k), n_states=N, n_actions=m, method=method, solver=used,
        status=status, frobenius_sq=fro, tail=tail, lower=float(lower), upper=float(upper),
        gap=float(upper - lower), relaxation_primal=float(fro - primal),
        duality_gap=float(dgap), primal_residual=float(pres), dual_residual=float(dres),
        min_eig_psd=float(mineig), tol=tol, verified=verified,
        seconds=time.perf_counter() - t0, rounds=int(rounds), note=note,
        lam=np.asarray(lam, dtype=float))


def architecture_gap(C: CoOccurrence, k: int, arch: str = "tied", **kw: Any) -> ArchitectureGap:
    r"""Bounds on :math:`\min\varepsilon_{\rm arch}-\mathrm{tail}_k \ge 0` (T6): ``lower`` and
    ``upper`` with ``lower <= gap <= upper``; zero for ``free`` (T2). Keyword arguments go
    to :func:`relax`."""
    cert = relax(C, k, arch, **kw)
    lo = 0.0 if arch == "free" else max(0.0, cert.lower - cert.tail)  # T2: exactly 0
    return ArchitectureGap(arch=arch, k=int(k), tail=cert.tail, lower=lo,
                           upper=max(lo, cert.upper - cert.tail), verified=cert.verified,
                           certificate=cert)


def demo_section(ctx: Any) -> dict[str, Any]:
    """Demo: T6 certificates at k = 2 on the demo environment (free and tied):
    tail_k <= lower <= min eps_arch <= upper, verified."""
    from .._results import table

    C = ctx.cooc()
    archs = ("free", "tied")  # shared needs tens of seconds: 'jepatheory relax --arch shared'
    rows = []
    for arch in archs:
        c = relax(C, 2, arch, seed=ctx.seed)
        rows.append(dict(k=2, arch=arch, tail=c.tail, lower=c.lower, upper=c.upper, gap=c.gap,
                         duality_gap=c.duality_gap, verified=c.verified, method=c.method,
                         seconds=c.seconds))
    ctx.say("== Constrained architectures (T6): relaxation certificates, "
            "tail_k <= lower <= min eps_arch <= upper")
    ctx.say(table(rows))
    return dict(certificates=rows)
