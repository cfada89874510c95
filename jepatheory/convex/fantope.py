r"""The Fantope and Ky Fan's maximum principle (the convex hull behind T2 and T6).

.. math::

    \mathcal F_k = \{X = X^\top : 0 \preceq X \preceq I,\ \operatorname{tr} X = k\}
    = \operatorname{conv}\{VV^\top : V^\top V = I_k\},

    \max_{X\in\mathcal F_k} \operatorname{tr}(SX) = \sum_{i\le k}\lambda_i(S)
    \quad\text{(Ky Fan)},\qquad
    \sum_{i\le k}\lambda_i(S) = \min_\theta\ k\theta + \sum_i(\lambda_i(S)-\theta)_+ .

The second identity is the SDP dual of the first (``Z = (S - theta I)_+``), so the
eigenvalues of ``S`` are themselves a verified dual certificate. Used by
:mod:`jepatheory.convex.relax` (THEORY T6; ``proofs/T6.md``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._results import Result
from ..certificates import SDPCheck
from .errors import ConvexInputError

__all__ = ["ky_fan", "project_fantope", "fantope_violation", "FantopeCertificate",
           "fantope_max", "sym"]


def sym(S: ArrayLike, name: str = "S") -> NDArray[np.float64]:
    """``S`` as a dense symmetric float matrix (its symmetric part); rejects bad shapes."""
    S = np.asarray(S.toarray() if hasattr(S, "toarray") else S, dtype=float)
    if S.ndim != 2 or S.shape[0] != S.shape[1]:
        raise ConvexInputError(f"{name}: expected a square matrix, got shape {S.shape}")
    if not np.all(np.isfinite(S)):
        raise ConvexInputError(f"{name}: has non-finite entries")
    return (S + S.T) / 2


def _check_k(k: int, n: int) -> int:
    if int(k) != k or not 1 <= k <= n:
        raise ConvexInputError(f"k: expected an integer in [1, {n}], got {k!r}")
    return int(k)


def ky_fan(S: ArrayLike, k: int) -> float:
    r""":math:`\sum_{i\le k}\lambda_i(S)` for symmetric ``S`` (the Fantope maximum)."""
    S = sym(S)
    k = _check_k(k, S.shape[0])
    return float(np.linalg.eigvalsh(S)[::-1][:k].sum())


def project_fantope(X: ArrayLike, k: int) -> NDArray[np.float64]:
    r"""Euclidean projection of a symmetric matrix onto :math:`\mathcal F_k`.

    With :math:`X = V\,\mathrm{diag}(\lambda)V^\top` the projection is
    :math:`V\,\mathrm{diag}(\min(\max(\lambda-\theta,0),1))V^\top` where ``theta`` solves
    :math:`\sum_i \min(\max(\lambda_i-\theta,0),1) = k` (monotone in theta; bisection to
    machine precision).
    """
    X = sym(X, "X")
    k = _check_k(k, X.shape[0])
    lam, V = np.linalg.eigh(X)
    lo, hi = lam.min() - 1.0, lam.max()
    for _ in range(200):
        mid = (lo + hi) / 2
        if np.clip(lam - mid, 0, 1).sum() > k:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15 * max(1.0, abs(mid)):
            break
    d = np.clip(lam - (lo + hi) / 2, 0, 1)
    d *= k / d.sum() if d.sum() > 0 else 1.0
    d = np.clip(d, 0, 1)
    return (V * d) @ V.T


def fantope_violation(X: ArrayLike, k: int) -> tuple[float, float]:
    """``(primal residual, min eigenvalue of the PSD blocks X and I - X)`` of a point."""
    X = sym(X, "X")
    lam = np.linalg.eigvalsh(X)
    min_eig = float(min(lam[0], 1 - lam[-1]))
    return float(max(abs(lam.sum() - k), -min_eig, 0.0)), min_eig


@dataclass(frozen=True, repr=False)
class FantopeCertificate(Result):
    r"""A solved and verified :math:`\max_{X\in\mathcal F_k}\operatorname{tr}(SX)`.

    ``primal`` = tr(S X) at the solver's X projected onto the Fantope (a feasible value,
    so a lower bound on the maximum); ``dual`` = :math:`k\theta+\sum(\lambda_i-\theta)_+`
    at the solver's theta (a feasible dual value, so an upper bound); ``ky_fan`` the exact
    value by eigenvalues. ``verified`` when primal <= ky_fan <= dual within ``tol`` and
    ``duality_gap = dual - primal <= tol``.
    """

    k: int
    n: int
    solver: str
    status: str
    primal: float
    dual: float
    ky_fan: float
    duality_gap: float
    primal_residual: float
    dual_residual: float
    min_eig_psd: float
    tol: float
    verified: bool
    seconds: float

    @property
    def check(self) -> SDPCheck:
        """``primal <= max <= dual`` as the shared SDP record."""
        return SDPCheck(solver=self.solver, status=self.status, lower=self.primal,
                        upper=self.dual, gap=self.duality_gap, verified=self.verified,
                        seconds=self.seconds)


def fantope_max(S: ArrayLike, k: int, solver: str = "CLARABEL", tol: float = 1e-6
                ) -> FantopeCertificate:
    r"""Solve :math:`\max_{X\in\mathcal F_k}\operatorname{tr}(SX)` as an SDP (CVXPY) and
    verify it against Ky Fan's value :math:`\sum_{i\le k}\lambda_i(S)` (the T2/T6 anchor).
    """
    import cvxpy as cp

    from .solve import solve_problem

    S = sym(S)
    n = S.shape[0]
    k = _check_k(k, n)
    t0 = time.perf_counter()
    X = cp.Variable((n, n), symmetric=True)
    cons = [X >> 0, np.eye(n) - X >> 0, cp.trace(X) == k]
    prob = cp.Problem(cp.Maximize(cp.sum(cp.multiply(S, X))), cons)
    used, status = solve_problem(prob, solver)
    Xv = X.value
    res, min_eig = fantope_violation(Xv, k)
    Xp = project_fantope(Xv, k)
    primal = float(np.sum(S * Xp))
    theta = float(cons[2].dual_value) if cons[2].dual_value is not None else 0.0
    lam = np.linalg.eigvalsh(S)
    # best of the solver's theta and the exact minimizer (any theta is a valid dual point)
    dual_solver = k * theta + float(np.clip(lam - theta, 0, None).sum())
    kf = float(lam[::-1][:k].sum())
    dual = min(dual_solver, k * lam[::-1][k - 1] + float(np.clip(lam - lam[::-1][k - 1], 0,
                                                                    None).sum()))
    gap = dual - primal
    scale = max(1.0, abs(kf))
    ok = bool(primal <= kf + tol * scale and kf <= dual + tol * scale and gap <= tol * scale)
    return FantopeCertificate(k=k, n=n, solver=used, status=status, primal=primal, dual=dual,
                              ky_fan=kf, duality_gap=float(gap), primal_residual=res,
                              dual_residual=float(abs(dual_solver - kf)), min_eig_psd=min_eig,
                              tol=tol, verified=ok, seconds=time.perf_counter() - t0)
