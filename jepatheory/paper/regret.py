r"""Single-step (P3) and T-step (P4) planning regret of a per-action JEPA model, measured
exactly in the true MDP, and the bounds with every constant.

Model. An embedding pair (z, f) induces :math:`\hat P(s'|s,a) = r(s')\,z(s,a)\cdot f(s')`
(r = q, or :math:`q_a` with ``normalization="per-action"``); on the rows of action a,
:math:`E_a = \bar A_a - \Phi_a\Psi_r^\top` has entries
:math:`E_a[s,s'] = \sqrt{p(s|a)/r(s')}\,(P - \hat P)(s'|s,a)`, so that
:math:`\varepsilon_a = \|E_a\|_F^2` (P1).

P3 (single step, a cost :math:`c:S\to[0,c_{\max}]`). :math:`a^*(x)` minimizes
:math:`(P_ac)(x)`, :math:`\hat a(x)` minimizes :math:`(\hat P_ac)(x)`; for an evaluation
distribution :math:`\mu` on states,

.. math::

    E_\mu[\mathrm{regret}] \le 2E_\mu\max_a|((P_a-\hat P_a)c)(x)|
      \le 2c_{\max}\sqrt{C_\mu}\,\sqrt{\textstyle\sum_x\max_a\|E_a[x,:]\|^2}
      \le 2c_0\sqrt{\max_a\varepsilon_a},

    C_\mu = \sum_x\mu(x)^2\max_a\frac{1}{p(x|a)},\qquad c_0 = c_{\max}\sqrt{m\,C_\mu}.

Correction of the reported statement: with :math:`c_0` a coverage constant alone
(:math:`c_0 = c_{\max}\sqrt{C_\mu}`, no :math:`\sqrt m`) the last step is false when the
actions' errors sit on different states (:func:`reported_counterexample`); the factor
:math:`\sqrt m` (or :math:`\sum_a\varepsilon_a` in place of :math:`m\max_a\varepsilon_a`) is
needed. The R in "sqrt(max_a R)" is :math:`\varepsilon_a = R_a + \|\bar A_a\|_F^2` (the
factorization error), not the risk :math:`R_a` itself (which is negative at good models).

P4 (T steps, terminal cost :math:`c(x_T)`, the guaranteed planner :math:`\tilde P` = clip and
renormalize :math:`\hat P`, start distribution :math:`\mu`):

.. math::

    \text{open loop: } E_\mu[J_P(\hat a_{1:T}) - \min_{a_{1:T}}J_P] \le
      2c_{\max}\sum_{t=1}^T\sqrt{C_t}\,\sqrt{\max_a\varepsilon_a}
      \le 2T\,c_{\max}\sqrt{C_\infty}\sqrt{\max_a\varepsilon_a},

    \text{closed loop (MPC/DP): } V^{\hat\pi} - V^* \le
      2T\,c_{\max}\sqrt{C_\infty}\sqrt{\textstyle\sum_x\max_a\|E_a[x]\|^2},

:math:`C_\infty = \max_{x,a}1/p(x|a)` (every :math:`C_t = \max_a\sum_x d_t(x)^2/p(x|a)` is
below it). Linear in T for a terminal (goal-reaching) cost; for a cumulative cost
:math:`\sum_tc(x_t)` the value spans grow to :math:`(T-t+1)c_{\max}` and the same argument
gives :math:`T(T+1)/2`. Proofs: ``proofs/P3.md``, ``proofs/P4.md``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._results import Result
from ..cooccurrence import CoOccurrence
from ..errors import PaperFormError
from ..model import clip_renormalize
from .per_action import abar_blocks, check_normalization

__all__ = [
    "MAX_PLANS",
    "PLANNERS",
    "SingleStep",
    "TStep",
    "coverage_inf",
    "coverage_mu",
    "model_kernel_per_action",
    "reported_counterexample",
    "row_errors",
    "shared_encoder_model",
    "single_step",
    "t_step",
    "validate_cost",
]

#: open-loop planning enumerates m^T plans up to this many
MAX_PLANS = 1 << 16
PLANNERS = ("open-loop", "closed-loop")


def validate_cost(cost: ArrayLike, n_states: int, c_max: float = 1.0) -> NDArray[np.float64]:
    """The cost as a float vector of length N with entries in [0, c_max]; raises
    :class:`PaperFormError` naming the first offending entry."""
    if not (isinstance(c_max, (int, float)) and np.isfinite(c_max) and c_max > 0):
        raise PaperFormError(f"c_max = {c_max!r} must be a finite number > 0")
    c = np.asarray(cost, dtype=float).ravel()
    if c.shape != (n_states,):
        raise PaperFormError(f"cost: expected {n_states} entries, got {c.size}")
    bad = np.flatnonzero(~np.isfinite(c) | (c < 0) | (c > c_max))
    if bad.size:
        raise PaperFormError(f"cost[{bad[0]}] = {float(c[bad[0]])!r} is outside [0, c_max = "
                             f"{c_max}]")
    return c


def _check_horizon(T: int) -> int:
    if not (isinstance(T, (int, np.integer)) and not isinstance(T, bool) and T >= 1):
        raise PaperFormError(f"horizon = {T!r} must be an integer >= 1")
    return int(T)


def shared_encoder_model(C: CoOccurrence, V: NDArray, normalization: str = "q"
                         ) -> tuple[NDArray, NDArray]:
    r"""(z, f) of the best per-action predictor for the shared target encoder with
    :math:`\Psi = V` (orthonormal columns on supp q): :math:`\Phi_a = \bar A_aV`,
    :math:`f = V/\sqrt q`, :math:`z(s,a) = (\bar A_aV)[s]/\sqrt{p(s|a)}` (P2 rounding)."""
    check_normalization(normalization)
    N, m = C.mdp.n_states, C.mdp.n_actions
    k = V.shape[1]
    f = np.zeros((N, k))
    f[C.right] = V / np.sqrt(C.q_R)[:, None]
    z = np.zeros((N * m, k))
    for b in abar_blocks(C, normalization):
        Fb = f[b.cols] * np.sqrt(b.r)[:, None]
        Q, R = np.linalg.qr(Fb)
        # Phi_a Psi_r^T = Abar_a Q Q^T with Psi_r = Q R: Phi_a = Abar_a Q R^{-T}
        Z = (b.A @ Q) @ np.linalg.pinv(R).T
        z[b.rows * m + b.action] = Z / np.sqrt(b.p_s)[:, None]
    return z, f


def model_kernel_per_action(C: CoOccurrence, z: NDArray, f: NDArray,
                            normalization: str = "q") -> NDArray[np.float64]:
    r"""Dense :math:`\hat P[s, a, s'] = r(s')\,z(s,a)\cdot f(s')` (signed), shape (N, m, N);
    rows of uncovered pairs are 0."""
    N, m = C.mdp.n_states, C.mdp.n_actions
    out = np.zeros((N, m, N))
    for b in abar_blocks(C, normalization):
        r_full = np.zeros(N)
        r_full[b.cols] = b.r
        out[b.rows, b.action] = (z[b.rows * m + b.action] @ f.T) * r_full[None, :]
    return out


def _dense_P(C: CoOccurrence) -> NDArray[np.float64]:
    P = C.mdp.P_sa
    P = P.toarray() if hasattr(P, "toarray") else np.asarray(P)
    return P.reshape(C.mdp.n_states, C.mdp.n_actions, C.mdp.n_states)


def _p_s_given_a(C: CoOccurrence) -> NDArray[np.float64]:
    pa = C.nu.sum(axis=0)
    return np.divide(C.nu, pa[None, :], out=np.zeros_like(C.nu), where=pa[None, :] > 0)


def coverage_mu(C: CoOccurrence, mu: ArrayLike) -> float:
    r""":math:`C_\mu = \sum_x\mu(x)^2\max_a 1/p(x|a)` (inf if mu charges an uncovered x)."""
    mu = np.asarray(mu, float)
    ps = _p_s_given_a(C)
    on = mu > 0
    if (ps[on] <= 0).any():
        return float("inf")
    return float(np.sum(mu[on] ** 2 * np.max(1.0 / ps[on], axis=1)))


def coverage_inf(C: CoOccurrence) -> float:
    r""":math:`C_\infty = \max_{x,a}1/p(x|a)` over all states (inf with an uncovered pair)."""
    ps = _p_s_given_a(C)
    return float("inf") if (ps <= 0).any() else float(np.max(1.0 / ps))


def row_errors(C: CoOccurrence, z: NDArray, f: NDArray, normalization: str = "q"
               ) -> tuple[NDArray, NDArray]:
    r"""``(eps, rowsq)``: :math:`\varepsilon_a` per action and :math:`\|E_a[x,:]\|^2` as an
    (N, m) array (0 on uncovered pairs)."""
    N, m = C.mdp.n_states, C.mdp.n_actions
    rowsq = np.zeros((N, m))
    eps = np.zeros(m)
    for b in abar_blocks(C, normalization):
        Phi = np.sqrt(b.p_s)[:, None] * z[b.rows * m + b.action]
        Psi = np.sqrt(b.r)[:, None] * f[b.cols]
        E = b.A.toarray() - Phi @ Psi.T
        rs = np.sum(E * E, axis=1)
        rowsq[b.rows, b.action] = rs
        eps[b.action] = rs.sum()
    return eps, rowsq


@dataclass(frozen=True, repr=False)
class SingleStep(Result):
    """P3 at one model and cost: the measured regret and each rung of the bound."""

    regret: float
    model_gap: float
    rowmax_bound: float
    bound: float
    reported_form: float
    c_max: float
    C_mu: float
    c0: float
    max_eps: float
    eps: NDArray[np.float64]
    normalization: str

    _hidden = ("eps",)


def single_step(C: CoOccurrence, z: NDArray, f: NDArray, cost: ArrayLike,
                mu: ArrayLike | None = None, c_max: float = 1.0,
                normalization: str = "q") -> SingleStep:
    r"""P3: regret of :math:`\hat a(x) = \arg\min_a(\hat P_ac)(x)` under :math:`\mu` (default
    rho0) and the chain ``regret <= model_gap <= rowmax_bound <= bound``; ``reported_form``
    is :math:`2c_{\max}\sqrt{C_\mu\max_a\varepsilon_a}` (no :math:`\sqrt m`), which is NOT
    a bound in general."""
    check_normalization(normalization)
    N, m = C.mdp.n_states, C.mdp.n_actions
    c = validate_cost(cost, N, c_max)
    mu = C.mdp.rho0 if mu is None else np.asarray(mu, float)
    P = _dense_P(C)
    Ph = model_kernel_per_action(C, z, f, normalization)
    true_v, model_v = P @ c, Ph @ c                     # (N, m)
    a_hat = np.argmin(model_v, axis=1)
    regret_x = true_v[np.arange(N), a_hat] - true_v.min(axis=1)
    gap_x = 2 * np.max(np.abs(true_v - model_v), axis=1)
    eps, rowsq = row_errors(C, z, f, normalization)
    Cmu = coverage_mu(C, mu)
    on = mu > 0
    rowmax = 2 * c_max * np.sqrt(Cmu * float(np.sum(np.max(rowsq, axis=1))))
    c0 = c_max * np.sqrt(m * Cmu)
    mx = float(eps.max())
    return SingleStep(regret=float(mu[on] @ regret_x[on]), model_gap=float(mu[on] @ gap_x[on]),
                      rowmax_bound=float(rowmax), bound=float(2 * c0 * np.sqrt(mx)),
                      reported_form=float(2 * c_max * np.sqrt(Cmu * mx)), c_max=float(c_max),
                      C_mu=Cmu, c0=float(c0), max_eps=mx, eps=eps,
                      normalization=normalization)


@dataclass(frozen=True, repr=False)
class TStep(Result):
    """P4 over horizons 1..T: measured regret per horizon and the bound per horizon."""

    planner: str
    horizons: list[int]
    regret: NDArray[np.float64]
    bound: NDArray[np.float64]
    C_inf: float
    max_eps: float
    rowmax_sq: float
    c_max: float
    slope: float
    bound_slope: float

    _hidden = ("regret", "bound")


def _open_loop_values(K: NDArray, c: NDArray, T: int) -> NDArray:
    """J_K for every plan of length T from every state: shape (m^T, N), plan index in base m
    (first action most significant)."""
    N, m, _ = K.shape
    V = c[None, :]
    for _ in range(T):
        # new plan = (a, suffix): value (K_a V_suffix)(x)
        V = np.einsum("xay,py->apx", K, V).reshape(m * V.shape[0], N)
    return V


def t_step(C: CoOccurrence, z: NDArray, f: NDArray, cost: ArrayLike, horizon: int,
           planner: str = "open-loop", mu: ArrayLike | None = None, c_max: float = 1.0,
           normalization: str = "q") -> TStep:
    r"""P4: exact T-step regret of planning with :math:`\tilde P` (clip/renormalize of
    :math:`\hat P`) for the terminal cost, horizons 1..``horizon``; open loop (all
    :math:`m^T` plans enumerated, per start state) or closed loop (finite-horizon DP on the
    model, evaluated exactly under P: what MPC with full replanning executes)."""
    T = _check_horizon(horizon)
    if planner not in PLANNERS:
        raise PaperFormError(f"planner {planner!r} is not one of {', '.join(PLANNERS)}")
    N, m = C.mdp.n_states, C.mdp.n_actions
    if planner == "open-loop" and m ** T > MAX_PLANS:
        raise PaperFormError(f"horizon = {T}: open-loop enumeration of m^T = {m ** T} plans "
                             f"exceeds {MAX_PLANS}; use planner='closed-loop'")
    c = validate_cost(cost, N, c_max)
    mu = C.mdp.rho0 if mu is None else np.asarray(mu, float)
    P = _dense_P(C)
    Ph = model_kernel_per_action(C, z, f, normalization)
    Pt = clip_renormalize(Ph.reshape(N * m, N)).reshape(N, m, N)
    eps, rowsq = row_errors(C, z, f, normalization)
    Cinf = coverage_inf(C)
    mx, rm = float(eps.max()), float(np.sum(np.max(rowsq, axis=1)))
    regrets, bounds = [], []
    for t in range(1, T + 1):
        if planner == "open-loop":
            Jp, Jm = _open_loop_values(P, c, t), _open_loop_values(Pt, c, t)
            pick = np.argmin(Jm, axis=0)
            reg = Jp[pick, np.arange(N)] - Jp.min(axis=0)
            bnd = 2 * t * c_max * np.sqrt(Cinf * mx)
        else:
            Vs, Vm, Vpi = c.copy(), c.copy(), c.copy()
            for _ in range(t):
                Qm = Pt @ Vm
                pi = np.argmin(Qm, axis=1)
                Vm = Qm.min(axis=1)
                Vpi = (P @ Vpi)[np.arange(N), pi]
                Vs = (P @ Vs).min(axis=1)
            reg = Vpi - Vs
            bnd = 2 * t * c_max * np.sqrt(Cinf * rm)
        regrets.append(float(mu @ reg))
        bounds.append(float(bnd))
    hs = np.arange(1, T + 1)
    slope = float(np.polyfit(hs, regrets, 1)[0]) if T > 1 else float(regrets[0])
    return TStep(planner=planner, horizons=list(map(int, hs)), regret=np.array(regrets),
                 bound=np.array(bounds), C_inf=Cinf, max_eps=mx, rowmax_sq=rm,
                 c_max=float(c_max), slope=slope,
                 bound_slope=float(bounds[-1] / T))


def reported_counterexample(m: int = 8, g: float = 0.05) -> SingleStep:
    r"""A covered instance where the measured single-step regret exceeds the reported form
    :math:`2c_{\max}\sqrt{C_\mu\max_a\varepsilon_a}` (no :math:`\sqrt m`), while the corrected
    bound :math:`2c_0\sqrt{\max_a\varepsilon_a}` holds.

    m = N states and m actions, cost 1 except at state 0, uniform nu and mu. Action 0 reaches
    state 0 with probability 1/N + g, every other action uniformly (so a* = 0 everywhere).
    The model errs only at the pair (x = a, a) for a >= 1, lowering the predicted cost of a
    by :math:`\delta = 1.01g` along :math:`q\,c` (the Cauchy-Schwarz-tight direction); then
    :math:`\hat a(a) = a`, the regret is :math:`g(N-1)/N`, every
    :math:`\varepsilon_a = \delta^2/(N E_q[c^2])` and :math:`C_\mu = 1`: the reported form
    is about :math:`2\delta/\sqrt{N-1}`, below the regret for N >= 6."""
    from ..mdp import MDP
    N = m
    P = np.full((N, m, N), 1.0 / N)
    P[:, 0, 0] = 1.0 / N + g
    P[:, 0, 1:] = (1.0 - P[0, 0, 0]) / (N - 1)
    c = np.ones(N)
    c[0] = 0.0
    mdp = MDP.from_arrays(P, np.zeros((N, m)), 0.9, np.full(N, 1.0 / N),
                          name=f"reported-form counterexample (m = {m})")
    C = CoOccurrence(mdp)
    q = C.q
    delta = 1.01 * g
    Ph = P.copy()
    for a in range(1, m):
        Ph[a, a] -= delta * q * c / float(q @ c ** 2)
    z = (Ph / q[None, None, :]).reshape(N * m, N)
    f = np.eye(N)
    return single_step(C, z, f, c, mu=np.full(N, 1.0 / N))
