r"""Exact MDP solvers on sparse kernels: policy evaluation, value and policy iteration,
and the discounted state-action occupancy :math:`d^\pi` (used by T3).

Policies are arrays ``pi[s, a]`` (rows sum to 1) or integer arrays of actions
``pi[s]`` (deterministic); :func:`as_policy_matrix` converts both to the sparse
``(N, N*m)`` matrix :math:`\Pi` with :math:`\Pi[s, s m + a] = \pi(a\mid s)`, so that
:math:`P_\pi = \Pi P_{sa}` and :math:`r_\pi = \Pi\, \mathrm{vec}(r)`.
"""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numpy.typing import ArrayLike, NDArray

from ._results import Result
from ._spmv import matmul
from .errors import DistributionError, ShapeError, UnknownMethodError
from .mdp import MDP, check_distribution

__all__ = [
    "as_policy_matrix",
    "policy_kernel",
    "policy_evaluation",
    "q_from_v",
    "row_max",
    "greedy_policy",
    "value_iteration",
    "policy_iteration",
    "optimal_policy",
    "occupancy",
    "PlanResult",
    "DIRECT_SOLVE_MAX_N",
]

#: Above this many states linear systems are solved iteratively instead of by sparse LU.
DIRECT_SOLVE_MAX_N = 200_000
#: Iterative path: the Neumann series is truncated where its remainder is at most this
#: fraction of ``||b|| / (1 - gamma)`` (a rigorous bound, see :func:`_solve`) ...
NEUMANN_TOL = 1e-13
#: ... when that takes at most this many products (gamma <= ~0.994); GMRES otherwise.
NEUMANN_MAX_STEPS = 5000


def as_policy_matrix(mdp: MDP, pi: ArrayLike) -> sp.csr_array:
    """The sparse ``(N, N*m)`` policy matrix of a deterministic or stochastic policy."""
    N, m = mdp.n_states, mdp.n_actions
    arr = np.asarray(pi)
    rows = np.arange(N)
    if arr.ndim == 1:
        if arr.shape != (N,):
            raise ShapeError(f"policy: expected {N} actions, got shape {arr.shape}")
        if not np.issubdtype(arr.dtype, np.integer):
            if not np.all(np.mod(arr, 1) == 0):
                raise ShapeError("policy: a 1-D policy must hold integer actions")
            arr = arr.astype(np.int64)
        if arr.min() < 0 or arr.max() >= m:
            bad = int(np.flatnonzero((arr < 0) | (arr >= m))[0])
            raise ShapeError(f"policy[{bad}] = {arr[bad]} is not an action in [0, {m})")
        return sp.csr_array((np.ones(N), (rows, rows * m + arr)), shape=(N, N * m))
    arr = np.asarray(arr, dtype=float)
    if arr.shape != (N, m):
        raise ShapeError(f"policy: expected shape ({N}, {m}), got {arr.shape}")
    if (arr < 0).any() or not np.isfinite(arr).all():
        s, a = np.argwhere((arr < 0) | ~np.isfinite(arr))[0]
        raise DistributionError(f"policy[{s}, {a}] = {float(arr[s, a])!r} is not a probability")
    dev = np.abs(arr.sum(axis=1) - 1)
    if (dev > 1e-8).any():
        s = int(np.argmax(dev))
        raise DistributionError(f"policy[{s}, :] sums to {arr[s].sum():.10g}, not 1")
    cols = rows[:, None] * m + np.arange(m)[None, :]
    return sp.csr_array((arr.ravel(), (np.repeat(rows, m), cols.ravel())), shape=(N, N * m))


def policy_kernel(mdp: MDP, pi: ArrayLike) -> tuple[sp.csr_array, NDArray[np.float64]]:
    r"""``(P_pi, r_pi)``: the state kernel and reward of policy ``pi``."""
    Pi = as_policy_matrix(mdp, pi)
    return sp.csr_array(Pi @ mdp.P_sa), Pi @ mdp.r.ravel()


def _solve(M: sp.csr_array, b: NDArray[np.float64], gamma: float) -> NDArray[np.float64]:
    r"""Solve :math:`(I - \gamma M)x = b` for M a stochastic matrix or its transpose.

    Up to ``DIRECT_SOLVE_MAX_N`` unknowns: sparse LU. Above: the Neumann series
    :math:`x = \sum_t \gamma^t M^t b`, truncated after T terms with
    :math:`\gamma^T \le` ``NEUMANN_TOL``. Its remainder is at most
    :math:`\gamma^T\|b\|/(1-\gamma)` in the sup norm when M is stochastic and in the l1
    norm when M is a transposed stochastic matrix (both norms of M are 1 there), so the
    truncation error is certified. For gamma so close to 1 that this needs more than
    ``NEUMANN_MAX_STEPS`` products: restarted GMRES (rtol 1e-12).
    """
    n = M.shape[0]
    if n <= DIRECT_SOLVE_MAX_N:
        A = sp.identity(n, format="csc") - gamma * sp.csc_array(M)
        return np.asarray(spla.spsolve(sp.csc_array(A), b))
    steps = 1 if gamma == 0 else int(np.ceil(np.log(NEUMANN_TOL) / np.log(gamma)))
    if steps <= NEUMANN_MAX_STEPS:
        product = matmul(M)  # on MKL's threads with the 'fast' extra
        x = np.array(b, dtype=float)
        for _ in range(steps):  # Horner: x <- b + gamma M x, T times
            x = product(gamma * x)
            x += b
        return x
    A = sp.csr_array(sp.identity(n, format="csr") - gamma * M)
    x, info = spla.gmres(A, b, rtol=1e-12, atol=0.0, restart=50, maxiter=2000)
    if info != 0:  # pragma: no cover - gmres on I - gamma P converges for gamma < 1
        x, info = spla.bicgstab(A, b, x0=x, rtol=1e-12, atol=0.0, maxiter=20000)
    return np.asarray(x)


def policy_evaluation(mdp: MDP, pi: ArrayLike) -> NDArray[np.float64]:
    r""":math:`V^\pi = (I - \gamma P_\pi)^{-1} r_\pi` (sparse LU; above ``DIRECT_SOLVE_MAX_N``
    states a Neumann series with a certified truncation, or GMRES for gamma near 1)."""
    P_pi, r_pi = policy_kernel(mdp, pi)
    return _solve(P_pi, r_pi, mdp.gamma)


def q_from_v(mdp: MDP, V: NDArray[np.float64],
             product: Callable[[NDArray], NDArray] | None = None) -> NDArray[np.float64]:
    r""":math:`Q(s,a) = r(s,a) + \gamma \sum_{s'} P(s'|s,a) V(s')`, shape ``(N, m)``.
    ``product`` computes :math:`P_{sa}x` (default ``mdp.P_sa @ x``; value iteration passes
    a multithreaded one, :func:`jepatheory._spmv.matmul`)."""
    # gamma scales V (N entries) rather than PV (N m); one N x m array per call, updated in
    # place (value iteration calls this on every sweep)
    x = mdp.gamma * np.asarray(V, dtype=float)
    Q = np.asarray(mdp.P_sa @ x if product is None else product(x), dtype=float)
    Q = Q.reshape(mdp.n_states, mdp.n_actions)
    Q += mdp.r
    return Q


#: Actions within this fraction of max|Q| of the best are ties (rounding-level differences,
#: e.g. from the order of floating-point sums in a threaded product, must not change pi).
TIE_REL = 1e-12


def greedy_policy(Q: NDArray[np.float64], rel: float = TIE_REL) -> NDArray[np.int64]:
    """The greedy deterministic policy of ``Q`` (N, m): in each state the lowest action
    index among those within ``rel * max(1, max|Q|)`` of the best value, so that rounding
    noise cannot flip a tie."""
    if Q.shape[1] == 0:
        return np.zeros(Q.shape[0], dtype=np.int64)
    scale = max(1.0, float(np.max(np.abs(Q), initial=0.0)))
    top = row_max(Q)
    return np.argmax(Q >= (top - rel * scale)[:, None], axis=1).astype(np.int64)


def row_max(Q: NDArray[np.float64]) -> NDArray[np.float64]:
    """``Q.max(axis=1)`` for an ``(N, m)`` array; for few actions a running
    :func:`numpy.maximum` over the columns, several times faster than numpy's reduction
    over a short inner axis (same values, NaN propagates the same way)."""
    m = Q.shape[1]
    if m == 0 or m > 16:
        return Q.max(axis=1)
    out = Q[:, 0].copy()
    for a in range(1, m):
        np.maximum(out, Q[:, a], out=out)
    return out


@dataclass(frozen=True, repr=False)
class PlanResult(Result):
    """Optimal values and a greedy deterministic policy (ties, up to :data:`TIE_REL` of
    max|Q|: lowest action index; :func:`greedy_policy`)."""

    V: NDArray[np.float64]
    Q: NDArray[np.float64]
    policy: NDArray[np.int64]
    iterations: int
    method: str
    residual: float

    def value(self, rho0: NDArray[np.float64]) -> float:
        return float(rho0 @ self.V)


def value_iteration(mdp: MDP, tol: float = 1e-10, max_iter: int = 100_000,
                    V0: NDArray[np.float64] | None = None) -> PlanResult:
    r"""Value iteration until :math:`\|V_{t+1}-V_t\|_\infty \le tol (1-\gamma)/(2\gamma)`,
    which makes the greedy policy's value within ``tol`` of optimal."""
    N, g = mdp.n_states, mdp.gamma
    V = np.zeros(N) if V0 is None else np.array(V0, dtype=float)
    thresh = tol * (1 - g) / (2 * g) if g > 0 else np.inf
    it = 0
    res = np.inf
    product = matmul(mdp.P_sa)  # on MKL's threads with the 'fast' extra
    for it in range(1, max_iter + 1):  # noqa: B007 - the count after the loop
        Q = q_from_v(mdp, V, product)
        V_new = row_max(Q)
        res = float(np.max(np.abs(V_new - V)))
        V = V_new
        if res <= thresh:
            break
    Q = q_from_v(mdp, V, product)
    return PlanResult(V=V, Q=Q, policy=greedy_policy(Q), iterations=it,
                      method="value_iteration", residual=res)


def policy_iteration(mdp: MDP, pi0: ArrayLike | None = None, max_iter: int = 1000) -> PlanResult:
    """Howard's policy iteration with exact evaluation; stops when the greedy policy is
    stable (improvement below 1e-12 relative). Optimal up to solver precision."""
    N = mdp.n_states
    if pi0 is None:
        pi = value_iteration(mdp, tol=1e-3, max_iter=200).policy
    else:
        pi = np.asarray(pi0, dtype=np.int64)
    V = policy_evaluation(mdp, pi)
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - the count after the loop
        Q = q_from_v(mdp, V)
        best = row_max(Q)
        cur = Q[np.arange(N), pi]
        improve = best > cur + 1e-12 * (1 + np.abs(cur))
        if not improve.any():
            break
        pi = np.where(improve, greedy_policy(Q), pi)
        V = policy_evaluation(mdp, pi)
    Q = q_from_v(mdp, V)
    res = float(np.max(np.abs(row_max(Q) - V)))
    return PlanResult(V=V, Q=Q, policy=pi, iterations=it, method="policy_iteration",
                      residual=res)


def optimal_policy(mdp: MDP, method: str = "pi") -> PlanResult:
    """Optimal values and policy: ``method`` is ``"pi"`` (policy iteration, default) or
    ``"vi"`` (value iteration)."""
    if method in ("pi", "policy_iteration"):
        return policy_iteration(mdp)
    if method in ("vi", "value_iteration"):
        return value_iteration(mdp)
    raise UnknownMethodError(f"optimal_policy: unknown method {method!r} (use 'pi' or 'vi')")


def occupancy(mdp: MDP, pi: ArrayLike, rho0: ArrayLike | None = None) -> NDArray[np.float64]:
    r"""Normalized discounted state-action occupancy of ``pi`` under the true kernel:

    .. math:: d^\pi(s,a) = (1-\gamma)\sum_t \gamma^t \Pr(s_t=s, a_t=a \mid \rho_0, \pi),

    returned with shape ``(N, m)``; it sums to 1.
    """
    rho = mdp.rho0 if rho0 is None else np.asarray(rho0, dtype=float)
    if rho0 is not None:
        check_distribution("rho0", rho, mdp.n_states)
    Pi = as_policy_matrix(mdp, pi)
    P_pi = sp.csr_array(Pi @ mdp.P_sa)
    d_s = (1 - mdp.gamma) * _solve(sp.csr_array(P_pi.T), rho, mdp.gamma)
    d_s = np.clip(d_s, 0.0, None)
    d_sa = (Pi.T @ d_s).reshape(mdp.n_states, mdp.n_actions)
    return d_sa / d_sa.sum()
