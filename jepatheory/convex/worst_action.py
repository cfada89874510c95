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
* Local search (:func:`refine_encoder`): from the best of these V, Riemannian descent on the
  Grassmannian for the smoothed max :math:`\beta^{-1}\log\sum_a e^{\beta e_a(V)}`,
  :math:`e_a(V) = \|\bar A_a\|^2-\|\bar A_aV\|^2`, with :math:`\beta` increasing over the run;
  a step is accepted only if it strictly lowers the true :math:`\max_a e_a` (at a kink, a
  prox-linear step balancing the active actions is tried instead). It only produces
  another explicit orthonormal V (candidate ``"local search from <start>"``), so ``upper``,
  the min over the candidates, stays an upper bound and never gets worse.

The certificate is checked here, not read from the solver: ``lower`` is :math:`g` at the
solver's dual (projected onto the simplex) recomputed by ``eigvalsh`` (minus a rounding
allowance), ``upper`` an exact evaluation at an explicit V, ``gap = upper - lower``.
With ``"per-action"`` the columns differ per action (:math:`\Psi_a = D_{q_a}^{1/2}F`): no
shared projection, no Fantope relaxation; the lower bound is
:math:`\max_a\mathrm{tail}_k(\bar A_a)` and the upper bounds evaluate explicit F. The local
search is not run there: :math:`e_a` depends on F through a per-action orthonormalization of
:math:`D_{q_a}^{1/2}F`, not through one shared V.
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

__all__ = ["FANTOPE_MAX", "REFINE_STEPS", "REFINE_WORK", "EncoderRefinement", "WorstAction",
           "dual_value", "evaluate_encoder", "refine_encoder", "shared_eps", "worst_action"]

#: The Fantope SDP is solved only up to this many columns (N_R); above it the dual is
#: evaluated at candidate weights and refined by multiplicative weights.
FANTOPE_MAX = 80
#: Dense Gram matrices G_a are formed only up to this many columns.
DENSE_MAX = 3000
#: Iterations of the local search on the Grassmannian (:func:`refine_encoder`).
REFINE_STEPS = 100
#: Budget of the local search in multiply-adds: every evaluation of all ``Abar_a V`` (plus
#: its gradient and retraction) costs about ``2 nnz k + N_R k^2``; the search stops when the
#: budget is spent and is skipped when it does not cover two evaluations (large N_R or k).
REFINE_WORK = 2e9


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
    return np.maximum(_eps_from(blocks, [b.A @ V for b in blocks]), 0.0)


@dataclass(frozen=True, repr=False)
class EncoderRefinement(Result):
    r"""Result of :func:`refine_encoder`: the orthonormal ``V`` reached, its errors ``eps``
    (:func:`shared_eps`), ``value`` :math:`=\max_a e_a(V)\le` ``value_start`` (the value at
    the orthonormalized start), ``accepted`` steps out of ``iterations``."""

    V: NDArray[np.float64]
    eps: NDArray[np.float64]
    value_start: float
    value: float
    iterations: int
    accepted: int
    evaluations: int
    status: str

    _hidden = ("V", "eps")
    _no_export = ("V",)

    @property
    def improvement(self) -> float:
        """``value_start - value`` (>= 0)."""
        return self.value_start - self.value


def _orthonormal(V: NDArray) -> NDArray:
    """An orthonormal basis of span V (QR retraction, signs fixed by diag R >= 0)."""
    Q, R = np.linalg.qr(V)
    s = np.sign(np.diag(R))
    s[s == 0] = 1.0
    return Q * s


def _eps_from(blocks: list[ActionBlock], AV: list[NDArray]) -> NDArray:
    """eps_a = ||A_a||^2 - ||A_a V||^2 from the products ``AV[a] = A_a V`` (not clipped)."""
    return np.array([b.frobenius_sq - float(np.sum(X * X)) for b, X in zip(blocks, AV)])


def _simplex_qp(c: NDArray, Q: NDArray, iters: int = 60) -> NDArray:
    """argmax over the simplex of w.c - w^T Q w (Q PSD), by projected gradient ascent."""
    m = len(c)
    w = np.full(m, 1.0 / m)
    L = 2.0 * max(float(np.linalg.eigvalsh((Q + Q.T) / 2)[-1]), 1e-300)
    for _ in range(iters):
        w = _project_simplex(w + (c - 2.0 * Q @ w) / L)
    return w


def _project_simplex(y: NDArray) -> NDArray:
    """Euclidean projection onto the probability simplex."""
    u = np.sort(y)[::-1]
    css = np.cumsum(u) - 1.0
    idx = np.arange(1, len(y) + 1)
    rho = idx[u - css / idx > 0][-1]
    return np.maximum(y - css[rho - 1] / rho, 0.0)


def refine_encoder(blocks: list[ActionBlock], V: NDArray, steps: int = REFINE_STEPS,
                   beta: tuple[float, float] = (10.0, 1e4), max_backtracks: int = 20,
                   max_work: float = REFINE_WORK, target: float = -np.inf,
                   patience: int = 3) -> EncoderRefinement:
    r"""Local search on the Grassmannian for :math:`\min_V\max_a e_a(V)`,
    :math:`e_a(V) = \|\bar A_a\|_F^2 - \|\bar A_aV\|_F^2` (normalization ``"q"``, shared
    columns; V orthonormal, shape ``(N_R, k)``), started at ``V``.

    Iteration j: softmax weights :math:`w_a\propto\exp(\beta_j(e_a-\max_b e_b)/s)` (s the
    start value, :math:`\beta_j` geometric from ``beta[0]`` to ``beta[1]``), the descent
    direction of the smoothed max projected on the tangent space,
    :math:`D = (I-VV^\top)\sum_a w_aG_aV`, :math:`G_a=\bar A_a^\top\bar A_a`, and the QR
    retraction :math:`V\leftarrow\mathrm{qf}(V+tD)` with backtracking on t: a step is accepted
    only if it strictly lowers the true :math:`\max_a e_a` (so ``value <= value_start``). If
    no t is accepted (V at a kink of the max, where the softmax weights do not balance the
    active actions), the prox-linear step is tried instead:
    :math:`d = 2\tau\sum_aw_ag_a`, :math:`g_a = (I-VV^\top)G_aV`, w maximizing
    :math:`\sum_aw_a(e_a-\max e) - 2\tau\|\sum_aw_ag_a\|^2` over the simplex (the dual of
    :math:`\min_d\max_a(e_a-2\langle g_a,d\rangle)+\|d\|^2/2\tau`), again with backtracking on
    :math:`\tau`. The search stops after ``steps`` iterations, after ``patience`` iterations
    in a row without an accepted step, when the value reaches ``target`` (a known lower
    bound), or when the work budget ``max_work`` is spent (see :data:`REFINE_WORK`). Only
    the sparse products ``A @ V`` and ``A.T @ (A V)`` are used (no Gram matrix).

    >>> import numpy as np
    >>> from jepatheory import CoOccurrence
    >>> from jepatheory.envs import make_env
    >>> from jepatheory.paper.per_action import abar_blocks
    >>> C = CoOccurrence(make_env("four-rooms"))
    >>> blocks = abar_blocks(C)
    >>> V0 = np.linalg.qr(np.random.default_rng(0).normal(size=(C.n_right, 2)))[0]
    >>> r = refine_encoder(blocks, V0, steps=30)
    >>> bool(r.value < r.value_start), bool(np.allclose(r.V.T @ r.V, np.eye(2)))
    (True, True)
    """
    V = np.asarray(V, dtype=float)
    if V.ndim != 2 or not blocks or V.shape[0] != blocks[0].A.shape[1] or V.shape[1] < 1:
        raise PaperFormError(f"refine_encoder: V of shape {V.shape} must be (N_R, k) with "
                             f"N_R = {blocks[0].A.shape[1] if blocks else '?'} and k >= 1")
    if not np.all(np.isfinite(V)):
        raise PaperFormError("refine_encoder: V has non-finite entries")
    if not (isinstance(steps, (int, np.integer)) and steps >= 0):
        raise PaperFormError(f"refine_encoder: steps = {steps!r} must be an integer >= 0")
    if not (0 < beta[0] <= beta[1]):
        raise PaperFormError(f"refine_encoder: beta = {beta!r} must satisfy 0 < b0 <= b1")
    V = _orthonormal(V)
    n, k = V.shape
    nnz = sum(b.A.nnz for b in blocks)
    per_eval = 2.0 * nnz * k + float(n) * k * k
    max_evals = int(max_work // max(per_eval, 1.0))
    AV = [b.A @ V for b in blocks]
    e = _eps_from(blocks, AV)
    val0 = val = float(e.max())
    fmax = max(b.frobenius_sq for b in blocks)
    scale = max(val0, 1e-12 * fmax, 1e-300)
    betas = np.geomspace(beta[0], beta[1], steps) if steps > 0 else np.zeros(0)
    t0 = 1.0 / max(fmax, 1e-300)
    t = t0
    evals, accepted, it, status = 1, 0, 0, "steps done"
    if max_evals < 2:
        status = "skipped (work budget)"
        betas = betas[:0]
    elif val0 <= 0:
        status = "zero error"
        betas = betas[:0]
    tp, failed = t0, 0
    for bj in betas:
        if val <= target + 1e-12 * scale:
            status = "reached target"
            break
        it += 1
        g = [b.A.T @ X for b, X in zip(blocks, AV)]
        g = [ga - V @ (V.T @ ga) for ga in g]             # tangent components of G_a V
        w = np.exp(bj * (e - val) / scale)
        w /= w.sum()
        D = sum(wa * ga for wa, ga in zip(w, g))

        def backtrack(direction: Any, step: float) -> tuple[bool, float]:
            """Halve ``step`` until V + direction(step) strictly lowers the max (accepted:
            the next step doubles) or the tries run out (reset to t0; an exhausted work
            budget keeps the last step)."""
            nonlocal V, AV, e, val, accepted, evals
            for _ in range(max_backtracks):
                if evals >= max_evals:
                    return False, step
                Vn = _orthonormal(V + direction(step))
                AVn = [b.A @ Vn for b in blocks]
                en = _eps_from(blocks, AVn)
                evals += 1
                if float(en.max()) < val:
                    V, AV, e, val = Vn, AVn, en, float(en.max())
                    accepted += 1
                    return True, min(2.0 * step, 1e3 * t0)
                step *= 0.5
            return False, t0

        done = False
        if np.linalg.norm(D) > 1e-15 * max(scale, 1.0):
            done, t = backtrack(lambda step, D=D: step * D, t)
        if not done:
            # kink of the max: the prox-linear step, min_d max_a (e_a - 2<g_a, d>) +
            # |d|^2/(2 tp), i.e. d = 2 tp sum_a w_a g_a, w = argmax over the simplex of
            # w.(e - max e) - 2 tp w^T H w, H_ab = <g_a, g_b> (a descent direction for all
            # near-active actions at once)
            H = np.array([[float(np.sum(ga * gb)) for gb in g] for ga in g])

            def prox(step: float, H: NDArray = H, g: list[NDArray] = g) -> NDArray:
                wp = _simplex_qp((e - val) / scale, 2.0 * step * H / scale)
                return 2.0 * step * sum(wa * ga for wa, ga in zip(wp, g))

            done, tp = backtrack(prox, tp)
        failed = 0 if done else failed + 1
        if failed >= patience:
            status = "stationary"
            break
        if evals >= max_evals:
            status = "work budget spent"
            break
    eps = shared_eps(blocks, V)
    return EncoderRefinement(V=V, eps=eps, value_start=max(val0, 0.0), value=float(eps.max()),
                             iterations=it, accepted=accepted, evaluations=evals, status=status)


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
                 per_action_tails: NDArray | None = None,
                 refine_steps: int = REFINE_STEPS) -> WorstAction:
    r"""P2: a certified bracket on :math:`\min_{z,f}\max_a\varepsilon_a` (see the module
    docstring). ``per_action_tails`` (from :meth:`CoOccurrence.per_action`) avoids
    recomputing the per-action spectra. With ``"q"`` the best candidate V is refined by
    :func:`refine_encoder` (``refine_steps`` iterations, 0 to skip); the result is one more
    candidate, and ``checks`` records ``local_search_steps`` (accepted),
    ``local_search_iterations``, ``local_search_upper_before`` and
    ``local_search_improvement`` (>= 0). ``"per-action"`` has no local search."""
    t0 = time.perf_counter()
    check_normalization(normalization)
    blocks = abar_blocks(C, normalization)
    if not (isinstance(k, (int, np.integer)) and 1 <= k):
        raise PaperFormError(f"worst_action: k = {k!r} must be an integer >= 1")
    k = int(k)
    if not (isinstance(refine_steps, (int, np.integer)) and refine_steps >= 0):
        raise PaperFormError(f"worst_action: refine_steps = {refine_steps!r} must be an "
                             "integer >= 0")
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
        # p(a) (tail_k(T)), uniform and the vertices (each action's own tail_k): the
        # weights then reproduce every part of `lower` they can
        for lam0 in [pa / pa.sum(), np.full(len(blocks), 1 / len(blocks)),
                     *np.eye(len(blocks))]:
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
    if refine_steps > 0:
        ref = refine_encoder(blocks, cands[by], steps=refine_steps, target=float(lower))
        # ref.eps is shared_eps at the orthonormal ref.V (the QR retraction's output)
        evals[f"local search from {by}"] = ref.eps
        checks["local_search_steps"] = float(ref.accepted)
        checks["local_search_iterations"] = float(ref.iterations)
        checks["local_search_upper_before"] = upper
        by, eps_up = min(evals.items(), key=lambda kv: kv[1].max())
        upper = float(eps_up.max())
        checks["local_search_improvement"] = checks["local_search_upper_before"] - upper
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
