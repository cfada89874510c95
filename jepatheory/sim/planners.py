r"""Planners for a learned model :math:`(z, h)` (THEORY D4), evaluated in the true MDP.

The model kernel is :math:`\hat P(s'|s,a) = q(s')\,z(s,a)\cdot h(s')` with the marginal the
planner knows (pass :math:`\hat q` for a planner that only has data; D4 then analyses it with
:math:`h' = h\hat q/q`).

* :func:`latent_value_iteration` -- the latent backup :math:`E_{\hat P}[V|s,a] = z(s,a)\cdot
  w_V`, :math:`w_V = E_q[hV]`: value iteration on k-vectors. :math:`\hat P` is signed, so
  there is no contraction guarantee; the check reports the sup-norm Lipschitz constant
  :math:`\gamma\max_{s,a}\sum_{s'}|\hat P(s'|s,a)|` (< 1 guarantees convergence) and whether
  the iteration converged.
* :func:`projected_planner` -- the guaranteed planner: :math:`\tilde P` = clip and
  renormalize :math:`\hat P`, :math:`\hat\pi` optimal for :math:`(\tilde P, r, \gamma)`.
* :func:`cem_planner` -- model-predictive control by the cross-entropy method in latent
  space (the way DINO-WM and V-JEPA 2 plan). A predicted state distribution is
  :math:`q(\cdot)\,c\cdot h(\cdot)` for a coefficient vector :math:`c\in\mathbb R^k`; after
  action a from state s it is :math:`c = z(s,a)`, and one more model step maps c to
  :math:`M_a^\top c` with :math:`M_a = \sum_{s'} q(s')h(s')z(s',a)^\top`; predicted rewards
  are :math:`c\cdot E_q[h\,r(\cdot,a)]`. CEM optimizes the predicted discounted return over a
  horizon from every state at once; the MPC policy executes the first action and replans,
  so its closed-loop policy is the map state -> first planned action, which is evaluated
  exactly in the true MDP.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from .._results import Result
from ..errors import ShapeError
from ..mdp import MDP
from ..model import clip_renormalize, model_kernel
from ..solvers import optimal_policy, policy_evaluation

__all__ = ["PLANNERS", "PlanOutcome", "latent_value_iteration", "projected_planner",
           "cem_planner", "kernel_planner", "plan", "model_mdp", "row_l1_max"]

PLANNERS = ("latent", "projected", "cem")


@dataclass(frozen=True, repr=False)
class PlanOutcome(Result):
    """A planner's policy, its own value estimate ``V_model`` (the model's value of that
    policy) and diagnostics."""

    planner: str
    policy: NDArray[np.int64]
    V_model: NDArray[np.float64]
    seconds: float
    iterations: int = 0
    converged: bool = True
    contraction: float = float("nan")
    extra: dict[str, Any] = field(default_factory=dict)

    _hidden = ("policy", "V_model", "extra")


def _check(mdp: MDP, z: NDArray, h: NDArray, q: NDArray) -> None:
    N, m = mdp.n_states, mdp.n_actions
    if z.ndim != 2 or z.shape[0] != N * m or h.shape != (N, z.shape[1]) or q.shape != (N,):
        raise ShapeError(f"planner: expected z ({N * m}, k), h ({N}, k), q ({N},); got "
                         f"{z.shape}, {h.shape}, {q.shape}")


def row_l1_max(z: NDArray, h: NDArray, q: NDArray, chunk: int = 4096) -> float:
    r""":math:`\max_{s,a}\sum_{s'}|q(s')z(s,a)\cdot h(s')|`, in row chunks (no dense P_hat)."""
    Hq = h * q[:, None]
    best = 0.0
    for i in range(0, z.shape[0], chunk):
        best = max(best, float(np.abs(z[i:i + chunk] @ Hq.T).sum(axis=1).max(initial=0.0)))
    return best


def model_mdp(mdp: MDP, P: NDArray | sp.csr_array, name: str) -> MDP:
    """The MDP ``(P, r, gamma, rho0)`` of a (stochastic) model kernel."""
    return MDP.from_flat(sp.csr_array(P), mdp.n_states, mdp.n_actions, mdp.r, mdp.gamma,
                         mdp.rho0, name=f"{mdp.name}-{name}", warn=False)


def _latent_eval(mdp: MDP, z: NDArray, Hq: NDArray, pi: NDArray) -> NDArray:
    """Value of ``pi`` in the signed model, in latent form: with :math:`Z_\\pi` the rows
    :math:`z(s,\\pi(s))`, :math:`V = r_\\pi + \\gamma Z_\\pi w`,
    :math:`(I - \\gamma H^\\top D_q Z_\\pi) w = H^\\top D_q r_\\pi` (a k x k system)."""
    N, m = mdp.n_states, mdp.n_actions
    Zpi = z[np.arange(N) * m + pi]
    r_pi = mdp.r[np.arange(N), pi]
    A = np.eye(z.shape[1]) - mdp.gamma * Hq.T @ Zpi
    w = np.linalg.lstsq(A, Hq.T @ r_pi, rcond=None)[0]
    return r_pi + mdp.gamma * Zpi @ w


def latent_value_iteration(mdp: MDP, z: NDArray, h: NDArray, q: NDArray, *,
                           tol: float = 1e-8, max_iter: int = 2000) -> PlanOutcome:
    r"""Value iteration with the latent backup :math:`Q = r + \gamma\,z\cdot E_q[hV]`."""
    z, h, q = np.asarray(z, float), np.asarray(h, float), np.asarray(q, float)
    _check(mdp, z, h, q)
    t0 = time.perf_counter()
    N, m, g = mdp.n_states, mdp.n_actions, mdp.gamma
    Hq = h * q[:, None]
    lip = g * row_l1_max(z, h, q)
    V = np.zeros(N)
    converged, it, res = False, 0, np.inf
    bound = 1e6 * (1 + mdp.r_max) / (1 - g)
    for it in range(1, max_iter + 1):  # noqa: B007 - the count after the loop
        w = Hq.T @ V
        V_new = (mdp.r + g * (z @ w).reshape(N, m)).max(axis=1)
        res = float(np.max(np.abs(V_new - V)))
        V = V_new
        if not np.isfinite(res) or np.abs(V).max() > bound:
            break
        if res <= tol:
            converged = True
            break
    if not np.isfinite(V).all():
        V = np.zeros(N)
    Q = mdp.r + g * (z @ (Hq.T @ V)).reshape(N, m)
    pi = np.argmax(Q, axis=1)
    V_pi = _latent_eval(mdp, z, Hq, pi)
    return PlanOutcome("latent", pi, V_pi, time.perf_counter() - t0, it, converged, lip,
                       dict(residual=res, contraction_guaranteed=bool(lip < 1)))


def kernel_planner(mdp: MDP, P: NDArray | sp.csr_array, name: str = "kernel") -> PlanOutcome:
    """Optimal policy of a stochastic model kernel ``P`` (count model, feature model, P_tilde);
    ``V_model`` is its value in the model."""
    t0 = time.perf_counter()
    model = model_mdp(mdp, P, name)
    res = optimal_policy(model)
    return PlanOutcome(name, res.policy, res.V, time.perf_counter() - t0, res.iterations,
                       True, mdp.gamma)


def projected_planner(mdp: MDP, z: NDArray, h: NDArray, q: NDArray) -> PlanOutcome:
    r"""The guaranteed planner on :math:`\tilde P` (D4)."""
    z, h, q = np.asarray(z, float), np.asarray(h, float), np.asarray(q, float)
    _check(mdp, z, h, q)
    out = kernel_planner(mdp, clip_renormalize(model_kernel(z, h, q)), "projected")
    return PlanOutcome("projected", out.policy, out.V_model, out.seconds, out.iterations,
                       True, mdp.gamma, dict(stochastic=True))


def cem_planner(mdp: MDP, z: NDArray, h: NDArray, q: NDArray, *, horizon: int = 20,
                population: int = 64, elites: int = 8, iterations: int = 4,
                smoothing: float = 0.7, seed: int = 0) -> PlanOutcome:
    r"""CEM/MPC in latent space from every state at once (see the module docstring)."""
    z, h, q = np.asarray(z, float), np.asarray(h, float), np.asarray(q, float)
    _check(mdp, z, h, q)
    if horizon < 1 or population < 1 or not 1 <= elites <= population:
        raise ShapeError(f"cem: horizon={horizon}, population={population}, elites={elites} "
                         "must satisfy horizon, population >= 1 and 1 <= elites <= population")
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    N, m, g, k = mdp.n_states, mdp.n_actions, mdp.gamma, z.shape[1]
    Hq = h * q[:, None]
    z3 = z.reshape(N, m, k)
    M = np.einsum("si,saj->aij", Hq, z3)           # M_a = sum_s' q h z(s',a)^T
    w_r = Hq.T @ mdp.r                             # (k, m): E_q[h r(., a)]
    probs = np.full((N, horizon, m), 1.0 / m)
    best_J = np.full(N, -np.inf)
    best_a0 = np.zeros(N, dtype=np.int64)
    rows = np.arange(N)[:, None]
    for _ in range(iterations):
        cdf = np.cumsum(probs, axis=2)
        u = rng.random((N, population, horizon, 1))
        acts = np.minimum((u > cdf[:, None, :, :]).sum(axis=3), m - 1)  # (N, P, H)
        a0 = acts[:, :, 0]
        J = mdp.r[rows, a0]
        c = z3[rows, a0]                           # (N, P, k)
        disc = 1.0
        for t in range(1, horizon):
            disc *= g
            at = acts[:, :, t]
            J = J + disc * np.einsum("npk,knp->np", c, w_r[:, at])
            c_next = np.empty_like(c)
            for j in range(m):
                mask = at == j
                c_next[mask] = c[mask] @ M[j]
            c = c_next
        J = np.nan_to_num(J, nan=-np.inf)
        order = np.argsort(-J, axis=1, kind="stable")[:, :elites]
        top = np.take_along_axis(J, order[:, :1], axis=1)[:, 0]
        better = top > best_J
        best_J = np.where(better, top, best_J)
        best_a0 = np.where(better, acts[np.arange(N), order[:, 0], 0], best_a0)
        elite = np.take_along_axis(acts, order[:, :, None], axis=1)   # (N, E, H)
        freq = (elite[..., None] == np.arange(m)).mean(axis=1)        # (N, H, m)
        probs = smoothing * freq + (1 - smoothing) * probs
    pi = best_a0
    V_pi = _latent_eval(mdp, z, Hq, pi)
    return PlanOutcome("cem", pi, V_pi, time.perf_counter() - t0, iterations, True,
                       g * row_l1_max(z, h, q),
                       dict(horizon=horizon, population=population, elites=elites,
                            predicted_return_rho0=float(mdp.rho0 @ best_J)))


def plan(name: str, mdp: MDP, z: NDArray, h: NDArray, q: NDArray, seed: int = 0,
         **kw: Any) -> PlanOutcome:
    """Dispatch: ``latent``, ``projected`` or ``cem``."""
    if name == "latent":
        return latent_value_iteration(mdp, z, h, q, **kw)
    if name == "projected":
        return projected_planner(mdp, z, h, q)
    if name == "cem":
        return cem_planner(mdp, z, h, q, seed=seed, **kw)
    raise ShapeError(f"unknown planner {name!r}; known: {', '.join(PLANNERS)}")


def true_value(mdp: MDP, policy: NDArray) -> NDArray[np.float64]:
    """:math:`V^\\pi` in the true MDP."""
    return policy_evaluation(mdp, policy)
