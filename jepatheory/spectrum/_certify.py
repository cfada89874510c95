"""Certificates that no singular value was skipped (the verifier, apart from the engine
whose output it checks): the randomized deflated-Lanczos proof (:func:`certify_top`) and
the deterministic inertia count (:func:`certify_top_inertia`); see
:mod:`jepatheory.spectrum`."""
from __future__ import annotations

import math
import sys
from typing import Any
from collections.abc import Callable

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from numpy.typing import NDArray

from .._factor import inertia_shifted
from ._linalg import norm_upper
from ._records import Operator

__all__ = ["KW_CONST", "deflated_lanczos_bound", "block_check", "certify_top", "INERTIA_MARGIN",
           "certify_top_inertia"]


#: Kuczynski-Wozniakowski constant for Lanczos (1992, Theorem 4.2).
KW_CONST = 1.648


# --------------------------------------------------------------------------- certificate
def deflated_lanczos_bound(apply: Operator, Q: NDArray, rng: np.random.Generator,
                            delta: float, max_steps: int, target: float) -> dict[str, Any]:
    r"""Upper bound, with probability ``>= 1 - delta``, on :math:`\lambda_{\max}` of the PSD
    operator ``apply`` restricted to :math:`Q^\perp`: Lanczos with full reorthogonalization
    from a Gaussian start in :math:`Q^\perp` and the Kuczynski-Wozniakowski bound with a
    union bound over ``max_steps`` steps. Stops early once the bound is below ``target``."""
    n = Q.shape[0]
    dim = n - Q.shape[1]
    steps = max(1, min(max_steps, dim))

    def proj(x: NDArray) -> NDArray:
        return x - Q @ (Q.T @ x)

    v = proj(rng.standard_normal(n))
    v /= np.linalg.norm(v)
    V = np.empty((n, steps), order="F")  # columns touched only when used
    alpha, beta = np.zeros(steps), np.zeros(steps)
    b, v_prev = 0.0, np.zeros(n)
    log_term = math.log(KW_CONST * math.sqrt(max(dim, 1)) * steps / delta)
    best = dict(upper=math.inf, steps=0, ritz=math.nan, exhausted=False, skipped=False)
    for j in range(steps):
        V[:, j] = v
        # Lanczos on P B P (P = I - Q Q^T): v is in Q^perp by construction, so
        # P B P v = P B v, and the projection is applied once, after the reorthogonalization
        w = apply(v[:, None])[:, 0] - b * v_prev
        alpha[j] = w @ v
        w -= alpha[j] * v
        w -= V[:, :j + 1] @ (V[:, :j + 1].T @ w)
        w = proj(w)
        b = float(np.linalg.norm(w))
        ritz = float(sla.eigh_tridiagonal(alpha[:j + 1], beta[:j], eigvals_only=True)[-1]) \
            if j else float(alpha[0])
        if b <= 1e-13 * max(abs(ritz), 1e-300) or j + 1 >= dim:
            # the Krylov space is invariant (or all of Q^perp): a Gaussian start has a
            # component in every eigenspace almost surely, so its largest Ritz value is
            # lambda_max of the deflated operator (up to rounding)
            exact = max(ritz, 0.0) * (1 + 1e-12) + 1e-300
            best.update(exhausted=True, upper=exact, steps=j + 1, ritz=ritz, eps=0.0)
            break
        if ritz >= target:
            # a Ritz value is a lower bound on lambda_max: a direction orthogonal to Q is
            # above the cut, so the block missed an eigenvalue (or the cut is inside a cluster)
            best.update(skipped=True, ritz=ritz, steps=j + 1)
            break
        eps = (log_term / (2 * (j + 1) - 1)) ** 2
        if eps < 1:
            upper = max(ritz, 0.0) / (1 - eps)
            if upper < best["upper"]:
                best.update(upper=upper, steps=j + 1, ritz=ritz, eps=eps)
            if upper < target:
                break
        beta[j] = b
        v_prev, v = v, w / b
    return best


def block_check(G: sp.csr_array, theta: NDArray, Y: NDArray, p: int,
                 GY: NDArray | None = None) -> tuple[NDArray, float, float, float]:
    r"""Step 1 of the proof for the top ``p`` Ritz pairs: ``(Q, ||R||_2, orthogonality
    error, need)`` with :math:`R = GQ - Q\,\mathrm{diag}\,\theta` and
    ``need`` :math:`= \theta_p - \|R\|_2` (every matched eigenvalue is above it). ``GY``,
    when given, is the product G Y already at hand."""
    Q = Y[:, :p]
    R = (G @ Q if GY is None else GY[:, :p]) - Q * theta[:p]
    r2 = float(np.sqrt(max(np.linalg.eigvalsh(R.T @ R).max(initial=0.0), 0.0)))
    del R
    orth_err = float(np.abs(Q.T @ Q - np.eye(p)).max(initial=0.0))
    return Q, r2, orth_err, float(theta[p - 1] - r2)


def certify_top(apply: Operator, to_op: Callable[[float], float],
                to_lambda: Callable[[float], float], G: sp.csr_array, theta: NDArray,
                Y: NDArray, p: int, rng: np.random.Generator, delta: float = 1e-10,
                max_steps: int = 300, GY: NDArray | None = None) -> dict[str, Any]:
    r"""Prove that the top ``p`` Ritz values ``theta`` (vectors ``Y``) of the symmetric G are
    its ``p`` largest eigenvalues, each within :math:`\|R\|_2`, with probability
    ``>= 1 - delta`` (see the module docstring, steps 1-3).

    ``apply`` is a PSD operator with the eigenvectors of G whose eigenvalues are an
    increasing function ``to_op`` of those of G (G itself, or :math:`(s_0 I - G)^{-1}`);
    ``to_lambda`` is its inverse; ``GY`` is G Y if already computed.
    """
    Q, r2, orth_err, need = block_check(G, theta, Y, p, GY)
    if need <= 0:
        return dict(proved=False, reason="theta_p - ||R||_2 <= 0", block_residual=r2,
                    by="lanczos")
    target = to_op(need)  # operator bound below this <=> lambda_{p+1}(G) < need
    kw = deflated_lanczos_bound(apply, Q, rng, delta, max_steps, target)
    lam_next = to_lambda(kw["upper"]) if math.isfinite(kw["upper"]) else math.inf
    proved = bool(lam_next < need and orth_err < 1e-8)
    return dict(proved=proved, by="lanczos", p=int(p), block_residual=r2,
                orthogonality_error=orth_err,
                lambda_next_upper=float(lam_next), theta_p_minus_residual=need,
                lanczos_steps=int(kw["steps"]), kw_eps=float(kw.get("eps", math.nan)),
                complement_ritz=float(kw["ritz"]), skip_detected=bool(kw["skipped"]),
                complement_exhausted=bool(kw["exhausted"]),
                failure_probability=float(delta))


#: Backward error allowed for the indefinite factorization, relative to ||G||_inf: the cut
#: must sit at least this far below theta_p - ||R||_2 (rounding in a stable LDL^T is
#: ~1e-16 ||G|| times modest growth).
INERTIA_MARGIN = 1e-12


def inertia_margin() -> float:
    """:data:`INERTIA_MARGIN` as currently set on :mod:`jepatheory.spectrum` (the public home
    where callers and tests adjust it), else this module's value."""
    pkg = sys.modules.get("jepatheory.spectrum")
    return float(getattr(pkg, "INERTIA_MARGIN", INERTIA_MARGIN))


def certify_top_inertia(G: sp.csr_array, theta: NDArray, Y: NDArray, p: int,
                        threads: int = 1, GY: NDArray | None = None) -> dict[str, Any]:
    r"""Deterministic version of :func:`certify_top` (no random start, no failure
    probability): step 2 is replaced by a count. With the cut
    :math:`c = (\theta_p - \|R\|_2 + \theta_{p+1})/2` inside the gap after the p-th Ritz
    value, an :math:`LDL^\top` factorization of :math:`cI - G`
    (:func:`~jepatheory._factor.inertia_shifted`) counts the eigenvalues of G above c
    (Sylvester's law of inertia). The p matched eigenvalues of step 1 are above
    :math:`\theta_p - \|R\|_2 > c`; if the count is exactly p (and no pivot was perturbed),
    there is no other, so :math:`\lambda_{p+1}(G) \le c`: the matched eigenvalues are the
    top p. Rounding: the count is that of :math:`G + E`, :math:`\|E\| \le`
    ``INERTIA_MARGIN`` :math:`\|G\|_\infty`, which the margin
    :math:`\theta_p - \|R\|_2 - c` must exceed. A count above p proves a skipped value
    (``skip_detected``).

    ``Y`` and ``GY`` may be restricted to a common set of rows outside which both vanish
    (the Ritz vectors of a principal submatrix, :mod:`._localized`): the block residual and
    the orthogonality error only read them."""
    Q, r2, orth_err, need = block_check(G, theta, Y, p, GY)
    del Q
    base = dict(by="inertia", p=int(p), block_residual=r2, orthogonality_error=orth_err,
                theta_p_minus_residual=need, skip_detected=False, failure_probability=0.0)
    nxt = float(theta[p]) if p < theta.size else -math.inf
    if need <= 0 or not nxt < need:
        return dict(base, proved=False, reason="no gap after theta_p - ||R||_2")
    c = 0.5 * (need + max(nxt, 0.0))
    slack = inertia_margin() * norm_upper(G)
    if need - c <= slack:
        return dict(base, proved=False, reason="gap below the rounding margin", cut=c)
    inert = inertia_shifted(G, c, threads)
    ok_pivots = inert.perturbed_pivots == 0
    proved = bool(ok_pivots and inert.negative == p and orth_err < 1e-8)
    return dict(base, proved=proved, cut=c, margin=need - c, rounding_allowance=slack,
                eigenvalues_above_cut=inert.negative, perturbed_pivots=inert.perturbed_pivots,
                lambda_next_upper=c + slack, inertia_seconds=inert.seconds,
                inertia_factor_nnz=inert.nnz,
                skip_detected=bool(ok_pivots and inert.negative > p))
