r"""Finite-horizon goal reaching: exact DP on a model, exact evaluation in the true MDP, and
open-loop planning toward a goal representation by exact search or CEM (THEORY PE, P4).

Success within H steps from s under the goal set G (absorbing in the true MDP):
:math:`V_H = 1_G`, :math:`V_t(s) = 1` on G and :math:`\max_a \sum_{s'}P(s'|s,a)V_{t+1}(s')`
elsewhere. :func:`finite_horizon_dp` runs it on any row-stochastic model kernel and returns
the time-dependent policy; :func:`policy_success` evaluates a time-dependent policy exactly in
the true MDP (the same backward recursion with the policy's action); :func:`sequence_success`
evaluates open-loop action sequences per start state exactly (forward distributions).
Regret = optimal success probability minus achieved, both under rho0.

Planning toward a goal representation (cost (ii)): a :class:`Rollout` maps a start state and
a first action to a representation ``c`` (``first``), advances it by an action (``step``) and
compares it to the goal (``cost``). :func:`plan_sequences` minimizes the terminal cost over
the ``m**H`` sequences when that is at most ``exact_max`` (exact search) and otherwise by the
cross-entropy method over independent categorical action distributions per step.

Receding-horizon MPC (:func:`mpc_policy`): at step t in the true state s, plan over the
remaining ``H - t`` steps with :func:`plan_sequences` and take the plan's first action, then
observe the next state and replan. The planner's first action depends on (t, s) only (its
randomness drawn once per (t, s)), so the closed loop is the time-dependent policy
:math:`\pi_t(s)` = first action of the plan from s over ``H - t`` steps, computed for every
non-goal state; :func:`policy_success` evaluates it exactly in the true MDP. On a
deterministic MDP with an exact deterministic model whose cost is zero only at the goal, with
exact search, MPC succeeds from every start where the open-loop plan does (the open-loop
plan's tail is a zero-cost candidate at every replanning step).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from ..errors import ShapeError
from ..mdp import MDP

__all__ = [
    "Rollout",
    "cem_sequences",
    "exact_sequences",
    "finite_horizon_dp",
    "goal_mask",
    "mpc_policy",
    "optimal_success",
    "plan_sequences",
    "policy_success",
    "sequence_success",
]


def goal_mask(mdp: MDP) -> NDArray[np.bool_]:
    """The goal observations of a goal-reaching family (``meta['goal_states']``)."""
    if "goal_states" not in mdp.meta:
        raise ShapeError(f"{mdp.name}: not a goal-reaching MDP (no meta['goal_states'])")
    g = np.zeros(mdp.n_states, dtype=bool)
    g[np.asarray(mdp.meta["goal_states"], dtype=np.int64)] = True
    return g


def _check_h(H: int) -> int:
    if isinstance(H, bool) or int(H) != H or H < 1:
        raise ShapeError(f"horizon = {H!r} must be a positive integer")
    return int(H)


def finite_horizon_dp(P: NDArray | sp.csr_array, m: int, goal: NDArray[np.bool_], H: int
                      ) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Exact DP for the goal indicator on the kernel ``P`` (``(N*m, N)``, row ``s*m + a``).
    Returns ``V`` (``(H + 1, N)``, ``V[t]`` = success within ``H - t`` more steps) and the
    policy ``(H, N)`` (first maximizing action)."""
    H = _check_h(H)
    N = goal.size
    V = np.zeros((H + 1, N))
    pol = np.zeros((H, N), dtype=np.int64)
    V[H] = goal
    for t in range(H - 1, -1, -1):
        Q = np.asarray(P @ V[t + 1]).reshape(N, m)
        pol[t] = np.argmax(Q, axis=1)
        V[t] = np.where(goal, 1.0, Q.max(axis=1))
    return V, pol


def policy_success(mdp: MDP, policy: NDArray[np.int64], goal: NDArray[np.bool_]
                   ) -> NDArray[np.float64]:
    """Exact success probability within ``H = len(policy)`` steps of the time-dependent
    ``policy[t, s]`` in the true MDP, per start state."""
    N, m = mdp.n_states, mdp.n_actions
    W = goal.astype(float)
    for t in range(policy.shape[0] - 1, -1, -1):
        Q = np.asarray(mdp.P_sa @ W).reshape(N, m)
        W = np.where(goal, 1.0, Q[np.arange(N), policy[t]])
    return W


def optimal_success(mdp: MDP, H: int, goal: NDArray[np.bool_]) -> NDArray[np.float64]:
    """The optimal success probability within H steps, per start state (DP on the truth)."""
    return finite_horizon_dp(mdp.P_sa, mdp.n_actions, goal, H)[0][0]


def _action_blocks(mdp: MDP) -> list[sp.csr_array]:
    m = mdp.n_actions
    return [sp.csr_array(mdp.P_sa[np.arange(a, mdp.P_sa.shape[0], m)]) for a in range(m)]


def sequence_success(mdp: MDP, starts: NDArray[np.int64], seqs: NDArray[np.int64],
                     goal: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Exact probability that the open-loop sequence ``seqs[i]`` (length H) from
    ``starts[i]`` is in the goal set by step H in the true MDP (the goal absorbs)."""
    blocks = _action_blocks(mdp)
    p = np.zeros((starts.size, mdp.n_states))
    p[np.arange(starts.size), starts] = 1.0
    for t in range(seqs.shape[1]):
        nxt = np.empty_like(p)
        for a, Pa in enumerate(blocks):
            rows = seqs[:, t] == a
            if rows.any():
                nxt[rows] = (Pa.T @ p[rows].T).T
        p = nxt
    return p[:, goal].sum(axis=1)


@dataclass(frozen=True)
class Rollout:
    """A model's own representation rollout for cost (ii).

    ``first(starts (B,), actions (B, P)) -> c (B, P, d)``, ``step(c, actions (B, P)) -> c``,
    ``cost(c) -> (B, P)`` (terminal goal distance, squared)."""

    first: Callable[[NDArray[np.int64], NDArray[np.int64]], NDArray[np.float64]]
    step: Callable[[NDArray[np.float64], NDArray[np.int64]], NDArray[np.float64]]
    cost: Callable[[NDArray[np.float64]], NDArray[np.float64]]
    dim: int


def _rollout_cost(ro: Rollout, starts: NDArray[np.int64], A: NDArray[np.int64]
                  ) -> NDArray[np.float64]:
    """Terminal cost of the sequences ``A`` (B, P, H) from ``starts`` (B,)."""
    c = ro.first(starts, A[:, :, 0])
    for t in range(1, A.shape[2]):
        c = ro.step(c, A[:, :, t])
    return ro.cost(c)


def _chunks(B: int, per_start: int, budget: int = 2_000_000) -> int:
    return max(1, min(B, budget // max(per_start, 1)))


def exact_sequences(ro: Rollout, starts: NDArray[np.int64], m: int, H: int
                    ) -> NDArray[np.int64]:
    """The minimizing sequence over all ``m**H`` sequences, per start."""
    H = _check_h(H)
    allseq = np.array(np.unravel_index(np.arange(m ** H), (m,) * H)).T  # (m^H, H)
    out = np.empty((starts.size, H), dtype=np.int64)
    step = _chunks(starts.size, allseq.shape[0] * ro.dim)
    for i in range(0, starts.size, step):
        s = starts[i:i + step]
        A = np.broadcast_to(allseq, (s.size,) + allseq.shape)
        cost = _rollout_cost(ro, s, A)
        out[i:i + step] = allseq[np.argmin(cost, axis=1)]
    return out


def cem_sequences(ro: Rollout, starts: NDArray[np.int64], m: int, H: int,
                  rng: np.random.Generator, *, pop: int = 64, iters: int = 4,
                  elite: int = 8, smooth: float = 0.7) -> NDArray[np.int64]:
    """CEM over action sequences, per start (all starts in one batch): ``iters`` rounds of
    ``pop`` sequences drawn from per-step categorical distributions, refit to the ``elite``
    best (smoothed), keeping the best sequence seen."""
    H = _check_h(H)
    out = np.empty((starts.size, H), dtype=np.int64)
    step = _chunks(starts.size, pop * ro.dim)
    for i in range(0, starts.size, step):
        s = starts[i:i + step]
        B = s.size
        probs = np.full((B, H, m), 1.0 / m)
        best_c = np.full(B, np.inf)
        best = np.zeros((B, H), dtype=np.int64)
        for _ in range(iters):
            cdf = np.cumsum(probs, axis=2)
            u = rng.random((B, pop, H, 1))
            A = np.minimum((u > cdf[:, None, :, :]).sum(axis=3), m - 1)   # (B, pop, H)
            cost = _rollout_cost(ro, s, A)
            j = np.argmin(cost, axis=1)
            better = cost[np.arange(B), j] < best_c
            best_c = np.where(better, cost[np.arange(B), j], best_c)
            best[better] = A[np.arange(B), j][better]
            el = np.argsort(cost, axis=1)[:, :elite]
            E = A[np.arange(B)[:, None], el]                                # (B, elite, H)
            freq = (E[..., None] == np.arange(m)).mean(axis=1)              # (B, H, m)
            probs = smooth * freq + (1 - smooth) * probs
        out[i:i + step] = best
    return out


def plan_sequences(ro: Rollout, starts: NDArray[np.int64], m: int, H: int,
                   rng: np.random.Generator, *, exact_max: int = 1024, **cem_kw: object
                   ) -> tuple[NDArray[np.int64], str]:
    """Exact search when ``m**H <= exact_max``, CEM otherwise; returns (sequences, method)."""
    if m ** _check_h(H) <= exact_max:
        return exact_sequences(ro, starts, m, H), "exact"
    return cem_sequences(ro, starts, m, H, rng, **cem_kw), "cem"  # type: ignore[arg-type]


def mpc_policy(ro: Rollout, goal: NDArray[np.bool_], m: int, H: int, rng: np.random.Generator,
               *, exact_max: int = 1024, **cem_kw: object
               ) -> tuple[NDArray[np.int64], str]:
    """Receding-horizon MPC as its closed-loop policy ``(H, N)``: ``policy[t, s]`` = the first
    action of :func:`plan_sequences` from s over ``H - t`` steps (goal states: action 0, they
    absorb). Returns (policy, method): ``mpc-exact`` when every replanning was exact search,
    ``mpc-cem`` otherwise."""
    H = _check_h(H)
    states = np.flatnonzero(~goal)
    pol = np.zeros((H, goal.size), dtype=np.int64)
    cem = False
    for t in range(H):
        if states.size:
            seqs, method = plan_sequences(ro, states, m, H - t, rng, exact_max=exact_max,
                                          **cem_kw)
            pol[t, states] = seqs[:, 0]
            cem = cem or method == "cem"
    return pol, "mpc-cem" if cem else "mpc-exact"
