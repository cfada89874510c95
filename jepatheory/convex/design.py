r"""Convex design of transition probabilities on a support graph (THEORY D5).

Single chain: a symmetric, doubly stochastic P supported on the edges of an undirected
graph G (self-loops = holding probabilities, allowed by default). With uniform nu the
marginals are fixed (q uniform) and T = P is *linear* in the design, so spectral objectives
of T are convex:

* ``fastest-mixing`` -- minimize the SLEM :math:`\mu(P)=\|P-\tfrac1n\mathbf 1\mathbf 1^\top\|_2
  = \sigma_2(T)` (Boyd, Diaconis & Xiao 2004, *Fastest mixing Markov chain on a graph*,
  SIAM Review 46(4));
* ``nuclear`` -- minimize :math:`\|T\|_*` (JEPA-friendly: the convex surrogate of low rank,
  small tail_k);
* ``flat`` -- maximize the sum of the n - k smallest eigenvalues of P (concave), with the
  holding probability capped by ``max_hold``: a flat spectrum, large tail_k, hard for JEPA
  (F5's limit is P = I, excluded by the cap).

Multi-action design: one support graph per action (:func:`design_actions`; uniform nu, each
P_a symmetric doubly stochastic, T = [P_a]/sqrt(m) linear), or actions as moves on a grid
with a designed slip distribution (:func:`design_grid_slip`; the slip pattern relative to
the intended move keeps q uniform, so T stays linear).

Fastest mixing is solved by a primal barrier method specialised to the edge-weight form
:math:`P(w) = I - \sum_e w_e u_eu_e^\top` (rank-one LMI terms: a Newton step costs
O(n^3 + p^3) for p edges), and certified two ways: the SLEM of the returned P, by
eigenvalues (an upper bound on the optimum), and a feasible point of the dual

.. math::

    \max\ \langle Z_1-Z_2, I-\tfrac1n J\rangle - \mathbf 1^\top\eta\quad
    \text{s.t.}\ Z_{1,2}\succeq0,\ \operatorname{tr}Z_1+\operatorname{tr}Z_2=1,\ \eta\ge0,\
    u_e^\top(Z_1-Z_2)u_e\le\eta_i+\eta_j\ \ \forall e=\{i,j\},

repaired to exact feasibility and evaluated (a lower bound, weak duality). ``gap`` =
upper - lower bounds the error of the reported optimum.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
from numpy.typing import NDArray

from .._results import Result
from ..certificates import SDPCheck
from ..mdp import MDP
from .errors import ConvexInputError
from .solve import solve_problem

__all__ = ["OBJECTIVES", "MixingCertificate", "Design", "support_graph", "fastest_mixing",
           "slem", "design_chain", "design_actions", "design_grid_slip", "to_graph"]

OBJECTIVES = ("fastest-mixing", "nuclear", "flat")


# ---------------------------------------------------------------------- results
@dataclass(frozen=True, repr=False)
class MixingCertificate(Result):
    r"""A verified fastest-mixing chain: ``lower <= min SLEM <= slem``, ``gap = slem -
    lower``. ``slem`` is computed from the eigenvalues of the returned P (exactly
    feasible by construction); ``lower`` from a repaired dual point (weak duality)."""

    n: int
    n_edges: int
    slem: float
    lower: float
    gap: float
    method: str
    status: str
    iterations: int
    verified: bool
    seconds: float
    P: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 0)))
    _hidden = ("P",)
    _no_export = ("P",)

    @property
    def check(self) -> SDPCheck:
        """``lower <= min SLEM <= slem`` as the shared SDP record (``solver`` = the method)."""
        return SDPCheck(solver=self.method, status=self.status, lower=self.lower,
                        upper=self.slem, gap=self.gap, verified=self.verified,
                        seconds=self.seconds)


@dataclass(frozen=True, repr=False)
class Design(Result):
    """A designed environment: the validated MDP, its data distribution, and the figures
    of the objective (``objective_value``), ``slem`` (sigma_2 of T), the top singular
    values ``sigma`` and ``tail`` (tail_k at the requested k)."""

    objective: str
    k: int
    n_states: int
    n_actions: int
    objective_value: float
    slem: float
    tail: float
    sigma: NDArray[np.float64]
    lower: float
    gap: float
    method: str
    status: str
    seconds: float
    mdp: MDP | None = None
    nu: NDArray[np.float64] | None = None
    certificate: MixingCertificate | None = None
    _hidden = ("mdp", "nu", "certificate")
    _no_export = ("mdp", "nu")


# ---------------------------------------------------------------------- graphs
def support_graph(G: Any) -> nx.Graph:
    """The undirected simple support graph of ``G`` (any NetworkX graph), nodes relabelled
    0..n-1 in the graph's node order (the original label is kept as node attribute
    ``name``); self-loops, edge directions and multiplicities dropped."""
    if not isinstance(G, nx.Graph):
        raise ConvexInputError(f"support graph: expected a NetworkX graph, got {type(G).__name__}")
    for u, v, d in G.edges(data=True):
        if "weight" in d:
            try:
                wt = float(d["weight"])
            except (TypeError, ValueError):
                wt = float("nan")
            if not np.isfinite(wt) or wt < 0:
                raise ConvexInputError(
                    f"support graph: edge {u!r} -- {v!r} has weight {d['weight']!r}; edge "
                    "weights must be finite and >= 0 (the design uses the support only: "
                    "remove the edge or give it a valid weight)")
    H = nx.Graph()
    nodes = list(G.nodes())
    idx = {v: i for i, v in enumerate(nodes)}
    H.add_nodes_from((i, dict(name=str(v))) for i, v in enumerate(nodes))
    H.add_edges_from((idx[u], idx[v]) for u, v in G.edges() if u != v)
    if H.number_of_nodes() < 2:
        raise ConvexInputError(f"support graph: needs at least 2 nodes, got {H.number_of_nodes()}")
    if not nx.is_connected(H):
        raise ConvexInputError("support graph: must be connected (a disconnected graph has "
                               "SLEM 1 for every chain)")
    return H


def estimate_design_bytes(n: int, p: int, method: str = "cvxpy", m: int = 1) -> float:
    """Peak bytes of a design on ``n`` nodes and ``p`` edges (``m`` actions): the barrier
    method keeps the dense incidence (n, p), its Newton system (p, p) and (n, n) blocks; an
    SDP solver through cvxpy factors a KKT system over the n(n+1)/2 entries of each
    semidefinite block and the p edge weights."""
    if method == "barrier":
        return 8.0 * (2.0 * p * p + 4.0 * n * p + 20.0 * n * n)
    blocks = m * n * (n + 1) / 2.0 + m * p
    return 8.0 * (3.0 * blocks * blocks + 4.0 * m * n * p)


def check_design_size(n: int, p: int, method: str, what: str, m: int = 1) -> None:
    """Refuse (:class:`~jepatheory.errors.ResourceLimitError`) a design that does not fit."""
    from ..limits import check_memory
    check_memory(estimate_design_bytes(n, p, method, m),
                 f"{what} on {n} nodes and {p} edges ({method})")


def _names(H: nx.Graph) -> list[str]:
    return [str(H.nodes[i].get("name", i)) for i in range(H.number_of_nodes())]


def _incidence(H: nx.Graph) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    E = np.array(sorted((min(u, v), max(u, v)) for u, v in H.edges()), dtype=np.int64)
    U = np.zeros((H.number_of_nodes(), len(E)))
    U[E[:, 0], np.arange(len(E))] = 1.0
    U[E[:, 1], np.arange(len(E))] = -1.0
    return E, U


def slem(P: NDArray[np.float64]) -> float:
    r"""Second largest eigenvalue modulus of a symmetric stochastic P,
    :math:`\|P - \tfrac1n\mathbf 1\mathbf 1^\top\|_2` (= sigma_2 of T under uniform nu)."""
    n = P.shape[0]
    ev = np.linalg.eigvalsh((P + P.T) / 2 - 1.0 / n)
    return float(max(ev[-1], -ev[0], 0.0))


# ---------------------------------------------------------------------- barrier method
def _dual_bound(R1: NDArray, R2: NDArray, eta: NDArray, E: NDArray, n: int) -> float:
    """Repair (Z1, Z2, eta) to exact dual feasibility and return its objective."""
    Zs = []
    for R in (R1, R2):
        lam, V = np.linalg.eigh((R + R.T) / 2)
        Zs.append((V * np.clip(lam, 0, None)) @ V.T)
    Z1, Z2 = Zs
    c = np.trace(Z1) + np.trace(Z2)
    Z1, Z2, eta = Z1 / c, Z2 / c, np.clip(eta, 0, None) / c
    D = Z1 - Z2
    i, j = E[:, 0], E[:, 1]
    ue = D[i, i] + D[j, j] - 2 * D[i, j]
    viol = np.clip(ue - eta[i] - eta[j], 0, None)
    add = np.zeros(n)
    np.maximum.at(add, i, viol)
    np.maximum.at(add, j, viol)
    eta = eta + add
    K0 = np.eye(n) - 1.0 / n
    return float(np.sum(D * K0) - eta.sum())


def _barrier_fmmc(H: nx.Graph, tol: float, max_newton: int = 1000
                  ) -> tuple[NDArray, float, int, str]:
    r"""Minimize t s.t. -tI <= P(w) - J/n <= tI, w >= 0, 1 - deg(w) >= 0 by the barrier
    method; returns (w, verified dual lower bound, Newton steps, status)."""
    n = H.number_of_nodes()
    E, U = _incidence(H)
    p = len(E)
    absU = np.abs(U)
    K0 = np.eye(n) - 1.0 / n
    nu_ = 3 * n + p  # barrier parameter

    def parts(w: NDArray, t: float) -> tuple[Any, ...] | None:
        s = 1 - absU @ w
        if np.any(w <= 0) or np.any(s <= 0) or t <= 0:
            return None
        M = K0 - (U * w) @ U.T
        try:
            L1 = np.linalg.cholesky(t * np.eye(n) - M)
            L2 = np.linalg.cholesky(t * np.eye(n) + M)
        except np.linalg.LinAlgError:
            return None
        return s, M, L1, L2

    def phi(tau: float, w: NDArray, t: float, pr: tuple[Any, ...]) -> float:
        s, _, L1, L2 = pr
        return float(tau * t - 2 * np.sum(np.log(np.diag(L1))) - 2 * np.sum(np.log(np.diag(L2)))
                     - np.sum(np.log(w)) - np.sum(np.log(s)))

    dmax = max(d for _, d in H.degree())
    w = np.full(p, 1.0 / (dmax + 1))
    t = float(np.abs(np.linalg.eigvalsh(K0 - (U * w) @ U.T)).max()) * 1.1 + 0.1
    tau = nu_ / max(t, 1e-3)
    steps = 0
    status = "optimal"
    R1 = R2 = np.eye(n)
    s = 1 - absU @ w
    while True:
        for _ in range(100):
            pr = parts(w, t)
            s, M, L1, L2 = pr
            I = np.eye(n)
            R1 = np.linalg.solve(L1.T, np.linalg.solve(L1, I))
            R2 = np.linalg.solve(L2.T, np.linalg.solve(L2, I))
            RU1, RU2 = R1 @ U, R2 @ U
            M1, M2 = U.T @ RU1, U.T @ RU2
            g = np.empty(p + 1)
            g[:p] = -np.diag(M1) + np.diag(M2) - 1 / w + absU.T @ (1 / s)
            g[p] = tau - np.trace(R1) - np.trace(R2)
            Hs = np.empty((p + 1, p + 1))
            Hs[:p, :p] = M1 ** 2 + M2 ** 2 + np.diag(1 / w ** 2) + (absU.T * (1 / s ** 2)) @ absU
            c = np.sum(RU1 * RU1, axis=0) - np.sum(RU2 * RU2, axis=0)
            Hs[:p, p] = Hs[p, :p] = c
            Hs[p, p] = np.sum(R1 * R1) + np.sum(R2 * R2)
            try:
                dx = -np.linalg.solve(Hs, g)
            except np.linalg.LinAlgError:
                dx = -np.linalg.lstsq(Hs, g, rcond=None)[0]
            dec = float(-g @ dx)
            steps += 1
            if dec / 2 <= 1e-13 or steps >= max_newton:
                break
            f0 = phi(tau, w, t, pr)
            a = 1.0
            # near the centre (decrement < 0.1, self-concordance: quadratic convergence)
            # take the Newton step without the Armijo test, which loses its meaning once
            # the decrease falls below the rounding error of phi ~ tau * t
            pure = dec < 0.1
            while a > 1e-14:
                wn, tn = w + a * dx[:p], t + a * dx[p]
                prn = parts(wn, tn)
                if prn is not None and (pure or phi(tau, wn, tn, prn) <= f0 - 0.25 * a * dec):
                    break
                a /= 2
            else:
                break
            w, t = wn, tn
        if nu_ / tau <= tol / 20 or steps >= max_newton:
            if steps >= max_newton:
                status = "max_iterations"
            break
        tau *= 8
    lower = _dual_bound(R1 / tau, R2 / tau, 1 / (tau * s), E, n)
    return w, lower, steps, status


def fastest_mixing(G: Any, *, self_loops: bool = True, method: str = "auto",
                   solver: str = "auto", tol: float = 1e-6) -> MixingCertificate:
    r"""The fastest mixing symmetric chain on ``G`` (Boyd, Diaconis & Xiao 2004):

    .. math::

        \min_P \|P-\tfrac1n\mathbf 1\mathbf 1^\top\|_2\ \ \text{s.t.}\ P=P^\top\ge0,\
        P\mathbf 1=\mathbf 1,\ P_{ij}=0\ \text{for}\ \{i,j\}\notin E,

    with ``P_ii`` free (``self_loops=True``) or 0. THEORY D5; closed forms: path on n nodes
    :math:`\cos(\pi/n)`; edge-transitive graphs reduce to one weight (cycle, complete graph,
    star, hypercube). ``method``: ``"barrier"`` (default for self-loops), ``"cvxpy"``
    (the two-block SDP :math:`-tI\preceq P-J/n\preceq tI`; Clarabel, SCS fallback) or
    ``"textbook"`` (``norm(P - J/n, 2)`` as CVXPY's spectral norm; slow, for comparison).

    Returns a :class:`MixingCertificate` with ``lower <= optimum <= slem``; ``verified``
    when ``gap <= tol``.
    """
    t0 = time.perf_counter()
    H = support_graph(G)
    n = H.number_of_nodes()
    fallback = method == "auto" and self_loops
    if method == "auto":
        method = "barrier" if self_loops else "cvxpy"
    check_design_size(H.number_of_nodes(), H.number_of_edges(),
                      "barrier" if method == "barrier" else "cvxpy", "fastest mixing")
    E, U = _incidence(H)
    if method == "barrier":
        if not self_loops:
            raise ConvexInputError("fastest_mixing: the barrier method needs self_loops=True")
        w, lower, its, status = _barrier_fmmc(H, tol)
        P = np.eye(n) - (U * w) @ U.T
        if fallback and not slem(P) - lower <= tol:
            # the barrier's dual point is not central enough to certify (seen on rare
            # degenerate graphs): solve the SDP too and keep the best of both bounds
            P2, lower2, status2 = _cvxpy_fmmc(H, self_loops, "cvxpy", solver)
            if slem(P2) < slem(P):
                P = P2
            lower = max(lower, lower2)
            method, status = "barrier+cvxpy", f"{status}; {status2}"
    elif method in ("cvxpy", "textbook"):
        P, lower, status = _cvxpy_fmmc(H, self_loops, method, solver)
        its = 0
    else:
        raise ConvexInputError(f"method: expected auto, barrier, cvxpy or textbook, got {method!r}")
    P = np.clip((P + P.T) / 2, 0, None)
    P = P / P.sum(1, keepdims=True)  # exact stochasticity (the repair is O(solver error))
    P = (P + P.T) / 2
    up = slem(P)
    gap = up - lower
    return MixingCertificate(n=n, n_edges=len(E), slem=up, lower=float(lower), gap=float(gap),
                             method=method, status=status, iterations=int(its),
                             verified=bool(-1e-9 <= gap <= tol), seconds=time.perf_counter() - t0,
                             P=P)


def _cvxpy_fmmc(H: nx.Graph, self_loops: bool, form: str, solver: str
                ) -> tuple[NDArray, float, str]:
    import cvxpy as cp

    n = H.number_of_nodes()
    E, U = _incidence(H)
    w = cp.Variable(len(E), nonneg=True)
    P = np.eye(n) - U @ cp.diag(w) @ U.T
    J = np.ones((n, n)) / n
    cons = [np.abs(U) @ w <= 1] if self_loops else [np.abs(U) @ w == 1]
    if form == "textbook":
        t = cp.norm(P - J, 2)
        prob = cp.Problem(cp.Minimize(t), cons)
    else:
        t = cp.Variable()
        cons += [P - J << t * np.eye(n), P - J >> -t * np.eye(n)]
        prob = cp.Problem(cp.Minimize(t), cons)
    used, status = solve_problem(prob, solver)
    Pv = np.eye(n) - (U * w.value) @ U.T
    lower = -np.inf
    if form != "textbook":
        Z1, Z2 = cons[-2].dual_value, cons[-1].dual_value
        eta = cons[0].dual_value if self_loops else np.zeros(n)
        if Z1 is not None and Z2 is not None and self_loops:
            lower = _dual_bound(Z1, Z2, np.asarray(eta, dtype=float), E, n)
        elif Z1 is not None:
            lower = _dual_bound(Z1, Z2, np.zeros(n), E, n) if self_loops else float(prob.value)
    if not np.isfinite(lower):
        lower = float(prob.value)
    return Pv, float(lower), f"{used}:{status}"


# ---------------------------------------------------------------------- designs -> MDPs
def _reward(n: int, m: int, goal: int | None) -> NDArray[np.float64]:
    g = n - 1 if goal is None else int(goal)
    if not 0 <= g < n:
        raise ConvexInputError(f"goal: expected a state in [0, {n - 1}], got {goal!r}")
    r = np.zeros((n, m))
    r[g] = 1.0
    return r


def _finish(objective: str, k: int, kernels: NDArray[np.float64], value: float, lower: float,
            method: str, status: str, t0: float, *, gamma: float, goal: int | None,
            name: str, meta: dict[str, Any], cert: MixingCertificate | None = None,
            coords: NDArray | None = None, names: list[str] | None = None) -> Design:
    """Build the validated MDP from kernels (m, n, n) and measure its spectrum."""
    from ..cooccurrence import CoOccurrence
    from ..data import uniform_nu

    m, n, _ = kernels.shape
    P = np.clip(kernels, 0, None)
    P = P / P.sum(2, keepdims=True)
    mdp = MDP.from_arrays(P.transpose(1, 0, 2), _reward(n, m, goal), gamma, name=name,
                          coords=coords, names=names,
                          meta=dict(family="design", objective=objective, **meta),
                          warn=False)
    nu = uniform_nu(mdp)
    C = CoOccurrence(mdp, nu)
    kk = min(max(k, 2), min(C.n_left, C.n_right))
    spec = C.spectrum(kk)
    s = np.asarray(spec.singular_values)
    return Design(objective=objective, k=int(k), n_states=n, n_actions=m,
                  objective_value=float(value), slem=float(s[1]) if s.size > 1 else 0.0,
                  tail=float(spec.tail_k(min(k, kk))), sigma=s, lower=float(lower),
                  gap=float(value - lower) if np.isfinite(lower) else float("nan"),
                  method=method, status=status, seconds=time.perf_counter() - t0, mdp=mdp,
                  nu=nu, certificate=cert)


def _check_objective(objective: str, k: int, n: int) -> None:
    if objective not in OBJECTIVES:
        raise ConvexInputError(f"objective: expected one of {OBJECTIVES}, got {objective!r}")
    if int(k) != k or not 1 <= k < n:
        raise ConvexInputError(f"k: expected an integer in [1, {n - 1}], got {k!r}")


def design_chain(G: Any, objective: str = "fastest-mixing", k: int = 2, *,
                 self_loops: bool = True, max_hold: float | None = None,
                 gamma: float = 0.9, goal: int | None = None, solver: str = "auto",
                 method: str = "auto") -> Design:
    r"""Design a symmetric doubly stochastic chain on the support graph ``G`` (D5) and
    return it as a one-action MDP (uniform nu, q uniform, T = P).

    Objectives (see the module docstring): ``fastest-mixing`` (min sigma_2 of T, certified
    by :func:`fastest_mixing`), ``nuclear`` (min :math:`\|T\|_*`), ``flat`` (max the sum of
    the n - k smallest eigenvalues of P, holding probability <= ``max_hold``, default 1/2).
    ``k`` is the rank at which ``tail`` is reported (and the flat objective's cut).
    The reward is 1 at state ``goal`` (default the last node), 0 elsewhere.
    """
    t0 = time.perf_counter()
    H = support_graph(G)
    n = H.number_of_nodes()
    _check_objective(objective, k, n)
    if max_hold is not None and not 0 <= max_hold <= 1:
        raise ConvexInputError(f"max_hold: expected a probability, got {max_hold!r}")
    meta = dict(n_edges=H.number_of_edges(), self_loops=bool(self_loops))
    if not (objective == "fastest-mixing" and max_hold is None):
        check_design_size(n, H.number_of_edges(), "cvxpy", f"design {objective}")
    if objective == "fastest-mixing" and max_hold is None:
        cert = fastest_mixing(H, self_loops=self_loops, method=method, solver=solver)
        return _finish(objective, k, cert.P[None], cert.slem, cert.lower, cert.method,
                       cert.status, t0, gamma=gamma, goal=goal, name="fastest-mixing",
                       meta=meta, cert=cert, names=_names(H))
    import cvxpy as cp

    E, U = _incidence(H)
    w = cp.Variable(len(E), nonneg=True)
    P = np.eye(n) - U @ cp.diag(w) @ U.T
    deg = np.abs(U) @ w
    cons = [deg <= 1] if self_loops else [deg == 1]
    hold = 0.5 if (objective == "flat" and max_hold is None) else max_hold
    if hold is not None and self_loops:
        cons.append(deg >= 1 - hold)
    if objective == "fastest-mixing":
        t = cp.Variable()
        J = np.ones((n, n)) / n
        cons += [P - J << t * np.eye(n), P - J >> -t * np.eye(n)]
        prob = cp.Problem(cp.Minimize(t), cons)
    elif objective == "nuclear":
        prob = cp.Problem(cp.Minimize(cp.normNuc(P)), cons)
    else:
        prob = cp.Problem(cp.Maximize(cp.lambda_sum_smallest(P, n - k)), cons)
    used, status = solve_problem(prob, solver)
    Pv = np.eye(n) - (U * np.clip(w.value, 0, None)) @ U.T
    Pv = np.clip(Pv, 0, None)
    Pv = Pv / Pv.sum(1, keepdims=True)
    ev = np.linalg.eigvalsh((Pv + Pv.T) / 2)
    value = {"fastest-mixing": slem(Pv), "nuclear": float(np.abs(ev).sum()),
             "flat": float(np.sort(ev)[: n - k].sum())}[objective]
    meta["max_hold"] = hold
    return _finish(objective, k, Pv[None], value, float("nan"), f"cvxpy:{used}", status, t0,
                   gamma=gamma, goal=goal, name=f"{objective}-chain", meta=meta,
                   names=_names(H))


def design_actions(graphs: list[Any], objective: str = "fastest-mixing", k: int = 2, *,
                   self_loops: bool = True, max_hold: float | None = None,
                   gamma: float = 0.9, goal: int | None = None, solver: str = "auto"
                   ) -> Design:
    r"""Multi-action design: one support graph per action on the same node set, each
    :math:`P_a` symmetric doubly stochastic; with uniform nu,
    :math:`T = [P_1;\dots;P_m]/\sqrt m` (rows regrouped) is linear in the design.

    ``fastest-mixing`` minimizes :math:`\sigma_2(T) = \|[P_a - J/n]_a\|_2/\sqrt m`,
    ``nuclear`` minimizes :math:`\|T\|_*`, ``flat`` maximizes
    :math:`\sum_a` (sum of the n - k smallest eigenvalues of P_a), holding <= ``max_hold``.
    """
    import cvxpy as cp

    t0 = time.perf_counter()
    if not graphs:
        raise ConvexInputError("design_actions: expected at least one support graph")
    nodes = [list(G.nodes()) if isinstance(G, nx.Graph) else None for G in graphs]
    if any(v is None or set(v) != set(nodes[0]) for v in nodes):
        raise ConvexInputError("design_actions: every action's graph needs the same node set")
    Hs = []
    for _a, G in enumerate(graphs):
        Ga = nx.Graph()
        Ga.add_nodes_from(G.nodes())
        Ga.add_edges_from((u, v) for u, v in G.edges() if u != v)
        Hs.append(Ga)
    union = nx.compose_all(Hs)
    support_graph(union)  # connectivity of the data's graph
    n = union.number_of_nodes()
    m = len(graphs)
    _check_objective(objective, k, n)
    check_design_size(n, sum(H.number_of_edges() for H in Hs), "cvxpy",
                      f"design {objective} with {m} actions", m=m)
    idx = {v: i for i, v in enumerate(nodes[0])}
    Ps, cons, ws = [], [], []
    hold = 0.5 if (objective == "flat" and max_hold is None) else max_hold
    for Ga in Hs:
        Ha = nx.relabel_nodes(Ga, idx)
        if Ha.number_of_edges() == 0:
            Ps.append(np.eye(n))
            continue
        E, U = _incidence(Ha)
        w = cp.Variable(len(E), nonneg=True)
        ws.append(w)
        deg = np.abs(U) @ w
        cons += [deg <= 1] if self_loops else [deg == 1]
        if hold is not None and self_loops:
            cons.append(deg >= 1 - hold)
        Ps.append(np.eye(n) - U @ cp.diag(w) @ U.T)
    J = np.ones((n, n)) / n
    stacked = cp.vstack([P - J for P in Ps]) / np.sqrt(m)
    if objective == "fastest-mixing":
        prob = cp.Problem(cp.Minimize(cp.sigma_max(stacked)), cons)
    elif objective == "nuclear":
        prob = cp.Problem(cp.Minimize(cp.normNuc(cp.vstack(Ps) / np.sqrt(m))), cons)
    else:
        prob = cp.Problem(cp.Maximize(sum(cp.lambda_sum_smallest(P, n - k) for P in Ps
                                          if not isinstance(P, np.ndarray))), cons)
    used, status = solve_problem(prob, solver)
    K = np.stack([np.asarray(P.value if hasattr(P, "value") else P, dtype=float) for P in Ps])
    design = _finish(objective, k, K, float(prob.value), float("nan"), f"cvxpy:{used}", status,
                     t0, gamma=gamma, goal=goal, name=f"{objective}-{m}-actions",
                     meta=dict(self_loops=bool(self_loops), max_hold=hold),
                     names=[str(v) for v in nodes[0]])
    return design


_MOVES = np.array([[-1, 0], [0, 1], [1, 0], [0, -1]])  # up, right, down, left (row, col)
SLIP_KINDS = ("intended", "right-turn", "opposite", "left-turn", "stay")


def design_grid_slip(width: int, height: int, objective: str = "fastest-mixing", k: int = 2,
                     *, min_intended: float = 0.5, gamma: float = 0.9,
                     goal: int | None = None, solver: str = "auto",
                     progress: bool | None = None) -> Design:
    r"""Actions as moves on a ``height x width`` grid (up, right, down, left; walls stay)
    with a designed slip distribution :math:`\pi` over the move relative to the intended
    one (intended, right turn, opposite, left turn, stay), the same for every action;
    :math:`\pi(\text{intended})\ge` ``min_intended``.

    Because every relative slip visits each direction once over the four actions,
    :math:`\sum_a P_a` has constant column sums, so q is uniform under uniform nu and
    :math:`T = [P_a]/2` is linear in :math:`\pi`. Objectives: ``fastest-mixing``
    (min sigma_2 of T) and ``nuclear`` (min :math:`\|T\|_*`); ``flat`` needs symmetric
    kernels (use :func:`design_actions`). Both are convex in the five slip probabilities
    and solved by cutting planes (:func:`minimize_on_slip_simplex`): ``lower`` and ``gap``
    certify the optimum. ``solver`` is accepted for compatibility and unused.
    """
    from ..limits import check_memory

    t0 = time.perf_counter()
    for nm, v in (("width", width), ("height", height)):
        if int(v) != v or v < 1:
            raise ConvexInputError(f"{nm}: expected a positive integer, got {v!r}")
    n = int(width) * int(height)
    if n < 2:
        raise ConvexInputError("design_grid_slip: the grid needs at least 2 cells")
    _check_objective(objective, k, n)
    if objective == "flat":
        raise ConvexInputError("design_grid_slip: objective 'flat' needs symmetric kernels; "
                               "use design_actions with one graph per action")
    if not 0 <= min_intended <= 1:
        raise ConvexInputError(f"min_intended: expected a probability, got {min_intended!r}")
    # 5 move matrices and 20 dense (n, n) blocks twice, plus the SVD workspace
    check_memory(8.0 * 50 * n * n, f"design --grid {width}x{height} ({n} cells)")
    rc = np.array([(i, j) for i in range(height) for j in range(width)])
    M = np.zeros((5, n, n))  # deterministic move matrices: 4 directions + stay
    for d, mv in enumerate(_MOVES):
        nxt = rc + mv
        ok = (nxt[:, 0] >= 0) & (nxt[:, 0] < height) & (nxt[:, 1] >= 0) & (nxt[:, 1] < width)
        tgt = np.where(ok, nxt[:, 0] * width + nxt[:, 1], np.arange(n))
        M[d, np.arange(n), tgt] = 1.0
    M[4] = np.eye(n)
    # P_a = sum_rel pi[rel] M[direction (a + rel) mod 4]  (rel 4 = stay)
    basis = np.zeros((4, 5, n, n))
    for a in range(4):
        for rel in range(4):
            basis[a, rel] = M[(a + rel) % 4]
        basis[a, 4] = M[4]
    B = basis.transpose(1, 0, 2, 3).reshape(5, 4 * n, n) / 2.0  # T(pi) = sum_r pi_r B_r
    J = np.ones((4 * n, n)) / (2.0 * n)  # sigma_1 u v^T = sqrt(nu) sqrt(q)^T

    def f_and_grad(p: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        T = np.tensordot(p, B, axes=1)
        if objective == "fastest-mixing":
            U, sv, Vt = np.linalg.svd(T - J, full_matrices=False)
            G = np.outer(U[:, 0], Vt[0])  # a subgradient of sigma_max
            return float(sv[0]), np.einsum("rij,ij->r", B, G)
        U, sv, Vt = np.linalg.svd(T, full_matrices=False)
        G = U @ Vt  # a subgradient of the nuclear norm
        return float(sv.sum()), np.einsum("rij,ij->r", B, G)

    p, value, lower, rounds = minimize_on_slip_simplex(f_and_grad, min_intended,
                                                       progress=progress)
    K = np.einsum("r,arij->aij", p, basis)
    coords = rc[:, ::-1].astype(float)
    status = "optimal" if value - lower <= SLIP_TOL * (1 + abs(value)) else "gap above tol"
    return _finish(objective, k, K, value, lower, "cutting-plane", status,
                   t0, gamma=gamma, goal=goal, name=f"grid-slip-{objective}",
                   meta=dict(width=int(width), height=int(height), cut_rounds=rounds,
                             slip=dict(zip(SLIP_KINDS, p.tolist()))), coords=coords)


#: relative gap at which the slip design stops (upper - lower <= tol (1 + |upper|))
SLIP_TOL = 1e-7


def minimize_on_slip_simplex(f_and_grad: Any, min_intended: float, *, tol: float = SLIP_TOL,
                             max_rounds: int = 400, progress: Any = None
                             ) -> tuple[NDArray[np.float64], float, float, int]:
    r"""Minimize a convex ``f`` over :math:`\{\pi \in \Delta_5 : \pi_0 \ge`
    ``min_intended``:math:`\}` by Kelley's cutting planes, returning ``(pi, f(pi), lower,
    rounds)`` with the certificate :math:`\text{lower} \le \min f \le f(\pi)`.

    Each evaluation gives the cut :math:`f(x) \ge f(\pi_j) + g_j^\top (x - \pi_j)`
    (convexity; ``g_j`` a subgradient), so the LP minimum of the cuts' maximum over the
    polytope is a lower bound on the optimum, and the best point evaluated an upper bound.
    The polytope has dimension 4: the cuts close the gap in tens of rounds, each one SVD.
    """
    from scipy.optimize import linprog

    from .._progress import Progress

    vertices = []
    for r in range(5):  # the polytope's vertices: pi_0 = min_intended, rest on one kind
        v = np.zeros(5)
        v[0] = min_intended
        v[r] += 1 - min_intended
        vertices.append(v)
    start = [np.mean(vertices, axis=0)] + vertices
    cuts_A, cuts_b = [], []
    best_p, best_f, lower = start[0], np.inf, -np.inf
    bar = Progress(max_rounds, "design", enabled=progress)
    rounds = 0
    try:
        queue = list(start)
        while rounds < max_rounds:
            rounds += 1
            p = queue.pop(0) if queue else None
            if p is None:
                # LP over (pi, t): min t  s.t.  g_j . pi - t <= g_j . pi_j - f_j
                c = np.r_[np.zeros(5), 1.0]
                res = linprog(c, A_ub=np.array(cuts_A), b_ub=np.array(cuts_b),
                              A_eq=np.r_[np.ones(5), 0.0][None], b_eq=[1.0],
                              bounds=[(min_intended, 1.0)] + [(0.0, 1.0)] * 4 + [(None, None)],
                              method="highs")
                if res.status != 0:
                    break
                lower = max(lower, float(res.x[5]))
                p = np.clip(res.x[:5], 0, None)
                p = p / p.sum()
                if best_f - lower <= tol * (1 + abs(best_f)):
                    break
            fv, g = f_and_grad(p)
            if fv < best_f:
                best_p, best_f = p, fv
            cuts_A.append(np.r_[g, -1.0])
            cuts_b.append(float(g @ p - fv))
            bar.update(note=f"upper {best_f:.6g} lower {lower:.6g}")
    finally:
        bar.close()
    return best_p, float(best_f), float(min(lower, best_f)), rounds


def to_graph(design: Design) -> nx.MultiDiGraph:
    """The designed MDP as the D1 NetworkX view (:func:`jepatheory.graph.conditional_graph`)."""
    from ..graph import conditional_graph

    if design.mdp is None:
        raise ConvexInputError("to_graph: the design carries no MDP")
    return conditional_graph(design.mdp, design.nu)
