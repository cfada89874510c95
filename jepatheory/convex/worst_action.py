r"""Worst-action approximation error of one shared target encoder (THEORY P2).

With normalization ``"q"`` every :math:`\bar A_a` acts on the same columns (supp q) and the
target encoder enters only through :math:`\Psi = D_q^{1/2}F`; for a fixed :math:`\Psi` the
best per-action predictor leaves :math:`\min_{Z_a}\|\bar A_a-\Phi_a\Psi^\top\|_F^2 =
\|\bar A_a(I-\Pi)\|_F^2`, :math:`\Pi` the projection on the span of :math:`\Psi`. Hence

.. math::

    \mathrm{OPT}_k = \min_{z,f}\max_a\varepsilon_a
       = \min_{\Pi\ \text{rank-}k\ \text{projection}}\ \max_a\ \big(\|\bar A_a\|_F^2 -
         \operatorname{tr}(G_a\Pi)\big),\qquad G_a = \bar A_a^\top\bar A_a .

* Relaxation (Fantope, the convex hull of the rank-k projections): replace :math:`\Pi` by
  :math:`X\in\mathcal F_k`; the objective is a max of functions linear in X, so convex.
  Its value :math:`\mathrm{REL}_k\le\mathrm{OPT}_k`.
* Dual (minimax over the compact convex Fantope and the simplex; Ky Fan):
  :math:`\mathrm{REL}_k = \max_{\lambda\in\Delta}\ g(\lambda)`,
  :math:`g(\lambda) = \sum_a\lambda_a\|\bar A_a\|^2 - \sum_{i\le k}\lambda_i(\sum_a\lambda_aG_a)
  = \mathrm{tail}_k(T_\lambda)`, :math:`T_\lambda` the blocks
  :math:`\sqrt{\lambda_a}\bar A_a` stacked. Every :math:`\lambda\in\Delta` is a verified
  lower bound (eigenvalues only): the vertices give :math:`\max_a\mathrm{tail}_k(\bar A_a)`,
  :math:`\lambda = p(a)` gives :math:`\mathrm{tail}_k(T)`.
* Rounding: any orthonormal :math:`V` (top-k eigenvectors of the solver's X, each action's
  top-k right singular vectors, T's, the best response to the dual :math:`\lambda`, a
  multiplicative-weights refinement) gives the upper bound
  :math:`\max_a(\|\bar A_a\|^2-\|\bar A_aV\|^2)\ge\mathrm{OPT}_k`.

The certificate is checked here, not read from the solver: ``lower`` is :math:`g` at the
solver's dual (projected onto the simplex) recomputed by ``eigvalsh`` (minus a rounding
allowance), ``upper`` an exact evaluation at an explicit V, ``gap = upper - lower``.
With ``"per-action"`` the columns differ per action (:math:`\Psi_a = D_{q_a}^{1/2}F`): no
shared projection, no Fantope relaxation; the lower bound is
:math:`\max_a\mathrm{tail}_k(\bar A_a)` and the upper bounds evaluate explicit F.
Proof: ``proofs/P2.md``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._results import Result
from ..cooccurrence import CoOccurrence
from ..errors import PaperFormError
from ..paper.per_action import ActionBlock, abar_blocks, check_normalization

__all__ = ["FANTOPE_MAX", "WorstAction", "dual_value", "evaluate_encoder", "shared_eps",
           "worst_action"]

#: The Fantope SDP is solved only up to this many columns (N_R); above it the dual is
#: evaluated at candidate weights and refined by multiplicative weights.
FANTOPE_MAX = 80
#: Dense Gram matrices G_a are formed only up to this many columns.
DENSE_MAX = 3000


@dataclass(frozen=True, repr=False)
class WorstAction(Result):
    r"""Certified bracket :math:`\mathrm{lower}\le\min_{z,f}\max_a\varepsilon_a\le
    \mathrm{upper}` at latent dimension k."""

    k: int
    normalization: str
    tail_max: float
    tail_T: float | None
    relaxation_dual: float | None
    relaxation_primal: float | None
    lower: float
    upper: float
    upper_by: str
    gap: float
    relative_gap: float
    weights: NDArray[np.float64] | None
    eps_at_upper: NDArray[np.float64]
    solver: str
    status: str
    checks: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    _hidden = ("weights", "eps_at_upper", "checks")


def _grams(blocks: list[ActionBlock]) -> tuple[NDArray, NDArray]:
    G = np.stack([(b.A.T @ b.A).toarray() for b in blocks])
    f = np.array([b.frobenius_sq for b in blocks])
    return G, f


def dual_value(G: NDArray, f: NDArray, lam: NDArray, k: int) -> tuple[float, NDArray]:
    r"""``(g(lambda), V)``: :math:`g = \sum\lambda_af_a - \sum_{i\le k}\lambda_i(\sum\lambda_a
    G_a)` (a verified lower bound on the relaxation for every lambda in the simplex) minus a
    rounding allowance, and the top-k eigenvectors V (the best response)."""
    lam = np.clip(np.asarray(lam, float), 0, None)
    lam = lam / lam.sum()
    S = np.tensordot(lam, G, axes=1)
    S = (S + S.T) / 2
    ev, U = np.linalg.eigh(S)
    top = ev[::-1][:k].sum()
    allowance = 10 * S.shape[0] * np.finfo(float).eps * max(1.0, float(np.abs(ev).max()))
    return float(lam @ f - top - allowance), U[:, ::-1][:, :k]


def shared_eps(blocks: list[ActionBlock], V: NDArray) -> NDArray:
    """eps_a = ||A_a||^2 - ||A_a V||^2 for an orthonormal V on the shared columns."""
    out = []
    for b in blocks:
        AV = b.A @ V
        out.append(b.frobenius_sq - float(np.sum(AV * AV)))
    return np.maximum(np.array(out), 0.0)


def evaluate_encoder(C: CoOccurrence, F: NDArray, normalization: str = "q",
                     blocks: list[ActionBlock] | None = None) -> NDArray[np.float64]:
    r""":math:`\min_{Z_a}\varepsilon_a(Z_a, F)` for every action, for a target encoder ``F``
    (shape ``(N, k)`` on all states): :math:`\|\bar A_a\|^2 - \|\bar A_aQ_a\|^2` with
    :math:`Q_a` an orthonormal basis of the span of :math:`D_r^{1/2}F` (exact)."""
    blocks = abar_blocks(C, normalization) if blocks is None else blocks
    out = []
    for b in blocks:
        Psi = np.sqrt(b.r)[:, None] * F[b.cols]
        Q, R = np.linalg.qr(Psi)
        keep = np.abs(np.diag(R)) > 1e-12 * max(1.0, float(np.abs(R).max())) if R.size else []
        Q = Q[:, keep]
        AQ = b.A @ Q
        out.append(max(b.frobenius_sq - float(np.sum(AQ * AQ)), 0.0))
    return np.array(out)


def _top_right(A: Any, k: int) -> NDArray:
    from ..spectrum import top_singular
    s = top_singular(A, min(k, *A.shape))
    return s.V


def worst_action(C: CoOccurrence, k: int, normalization: str = "q", solver: str = "auto",
                 fantope_max: int = FANTOPE_MAX, mw_steps: int = 60,
                 per_action_tails: NDArray | None = None) -> WorstAction:
    r"""P2: a certified bracket on :math:`\min_{z,f}\max_a\varepsilon_a` (see the module
    docstring). ``per_action_tails`` (from :meth:`CoOccurrence.per_action`) avoids
    recomputing the per-action spectra."""
    t0 = time.perf_counter()
    check_normalization(normalization)
    blocks = abar_blocks(C, normalization)
    if not (isinstance(k, (int, np.integer)) and 1 <= k):
        raise PaperFormError(f"worst_action: k = {k!r} must be an integer >= 1")
    k = int(k)
    if per_action_tails is None:
        per_action_tails = np.array([_tail(b, k) for b in blocks])
    tail_max = float(np.max(per_action_tails))
    checks: dict[str, float] = {}
    status, solver_used = "not run", "none"
    if normalization == "per-action":
        cands = {}
        for b in blocks:
            V = _top_right(b.A, k)
            F = np.zeros((C.mdp.n_states, V.shape[1]))
            F[b.cols] = V / np.sqrt(b.r)[:, None]
            cands[f"top-k of action {b.action}"] = evaluate_encoder(C, F, normalization,
                                                                      blocks)
        by, eps_up = min(cands.items(), key=lambda kv: kv[1].max())
        upper = float(eps_up.max())
        return WorstAction(k=k, normalization=normalization, tail_max=tail_max, tail_T=None,
                           relaxation_dual=None, relaxation_primal=None, lower=tail_max,
                           upper=upper, upper_by=by, gap=upper - tail_max,
                           relative_gap=(upper - tail_max) / max(upper, 1e-300),
                           weights=None, eps_at_upper=eps_up, solver="none",
                           status="no relaxation (columns differ per action)", checks=checks,
                           seconds=time.perf_counter() - t0)
    n_R = C.n_right
    k = min(k, n_R)
    cands: dict[str, NDArray] = {}
    Vt = _top_right(C.T, k)
    cands["top-k of T"] = Vt
    for b in blocks:
        cands[f"top-k of action {b.action}"] = _top_right(b.A, k) if min(b.A.shape) >= k \
            else None
    cands = {key: v for key, v in cands.items() if v is not None and v.shape[1] > 0}
    pa = np.array([b.p_action for b in blocks])
    spec_T = C.spectrum(k) if k <= min(C.n_left, C.n_right) else None
    tail_T = float(spec_T.tail_k(k)) if spec_T is not None else None
    dual, primal, lam = None, None, None
    lower = max(tail_max, tail_T if tail_T is not None else -np.inf)
    if n_R <= DENSE_MAX:
        G, f = _grams(blocks)
        best_lam, best_g = None, -np.inf
        for lam0 in [pa / pa.sum(), np.full(len(blocks), 1 / len(blocks))]:
            g, V = dual_value(G, f, lam0, k)
            if g > best_g:
                best_g, best_lam = g, lam0
        if n_R <= fantope_max:
            sol = _solve_fantope(G, f, k, solver)
            status, solver_used = sol["status"], sol["solver"]
            if sol["lam"] is not None:
                g, _ = dual_value(G, f, sol["lam"], k)
                checks["dual_simplex_residual"] = float(abs(np.clip(sol["lam"], 0, None).sum()
                                                          - 1))
                if g > best_g:
                    best_g, best_lam = g, sol["lam"]
            if sol["X"] is not None:
                from .fantope import fantope_violation, project_fantope
                Xp = project_fantope(sol["X"], k)
                res, min_eig = fantope_violation(Xp, k)
                checks["primal_residual"], checks["primal_min_eig"] = res, min_eig
                primal = float(np.max(f - np.tensordot(G, Xp, axes=([1, 2], [0, 1]))))
                _ev, U = np.linalg.eigh(Xp)
                cands["rounded Fantope X"] = U[:, ::-1][:, :k]
        # multiplicative weights on the per-action errors (a minimax refinement)
        lam_mw = best_lam.copy()
        eta = 2.0 / max(float(f.max()), 1e-12)
        best_mw_V, best_mw = None, np.inf
        for _ in range(mw_steps):
            g, V = dual_value(G, f, lam_mw, k)
            if g > best_g:
                best_g, best_lam = g, lam_mw.copy()
            e = shared_eps(blocks, V)
            if e.max() < best_mw:
                best_mw, best_mw_V = float(e.max()), V
            lam_mw = lam_mw * np.exp(eta * (e - e.max()))
            lam_mw /= lam_mw.sum()
        if best_mw_V is not None:
            cands["dual best response / weights"] = best_mw_V
        dual, lam = best_g, best_lam
        lower = max(lower, dual)
    evals = {key: shared_eps(blocks, V) for key, V in cands.items()}
    by, eps_up = min(evals.items(), key=lambda kv: kv[1].max())
    upper = float(eps_up.max())
    checks["lower_le_upper"] = float(upper - lower)
    return WorstAction(k=k, normalization=normalization, tail_max=tail_max, tail_T=tail_T,
                       relaxation_dual=dual, relaxation_primal=primal, lower=float(lower),
                       upper=upper, upper_by=by, gap=float(upper - lower),
                       relative_gap=float((upper - lower) / max(upper, 1e-300)), weights=lam,
                       eps_at_upper=eps_up, solver=solver_used, status=status, checks=checks,
                       seconds=time.perf_counter() - t0)


def _tail(b: ActionBlock, k: int) -> float:
    from ..spectrum import top_singular
    kk = min(k, *b.A.shape)
    return float(top_singular(b.A, kk).tail_k(kk))


def _solve_fantope(G: NDArray, f: NDArray, k: int, solver: str) -> dict[str, Any]:
    """min_X max_a f_a - tr(G_a X) over the Fantope, as an epigraph SDP (CVXPY)."""
    import cvxpy as cp

    from ..errors import SolverError
    from .solve import solve_problem
    n = G.shape[1]
    X = cp.Variable((n, n), symmetric=True)
    t = cp.Variable()
    cons = [f[a] - cp.trace(G[a] @ X) <= t for a in range(G.shape[0])]
    prob = cp.Problem(cp.Minimize(t), cons + [X >> 0, np.eye(n) - X >> 0, cp.trace(X) == k])
    try:
        used, status = solve_problem(prob, solver)
    except SolverError as exc:
        return {"status": str(exc), "solver": "failed", "X": None, "lam": None}
    lam = np.array([float(np.asarray(c.dual_value)) for c in cons])
    return {"status": status, "solver": used, "X": np.asarray(X.value), "lam": lam}
