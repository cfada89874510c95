r"""NetworkX views of the conditional state-action graph (THEORY D1), MDPs from graphs a
user drew, and a GraphML round trip that preserves probabilities exactly.

* :func:`conditional_graph`: ``MultiDiGraph`` on states, one edge ``s -> s'`` per action,
  keyed by the action ``a``, with ``prob = P(s'|s,a)`` and ``weight = p(s,a,s')``.
* :func:`bipartite_graph`: the weighted bipartite graph with left nodes ``("sa", s, a)``
  (degree nu) and right nodes ``("s", s')`` (degree q).
* :func:`mdp_from_graph`: the inverse of :func:`conditional_graph`.
* :func:`write_graphml` / :func:`read_graphml`: floats are written with ``repr`` (shortest
  round-trip form), so the kernel read back is bit-for-bit the kernel written.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

from .data import next_state_marginal, uniform_nu, validate_nu
from .errors import MDPError, MDPFileError, RowSumError
from .mdp import MDP

__all__ = ["conditional_graph", "bipartite_graph", "mdp_from_graph", "write_graphml",
           "read_graphml", "GRAPH_MAX_EDGES"]

#: NetworkX views are refused above this many edges (use the sparse matrices instead).
GRAPH_MAX_EDGES = 5_000_000


def _check_size(mdp: MDP) -> None:
    if mdp.P_sa.nnz > GRAPH_MAX_EDGES:
        raise MemoryError(f"{mdp.name}: {mdp.P_sa.nnz} edges is too many for a NetworkX view; "
                          "use CoOccurrence (sparse) instead")


def conditional_graph(mdp: MDP, nu: ArrayLike | None = None) -> nx.MultiDiGraph:
    """The D1 view: MultiDiGraph on states; edge ``(s, s', key=a)`` with ``prob``, ``weight``.

    Node attributes: ``rho0``, ``q`` (next-state marginal), ``reward`` (tuple over actions),
    and ``name``/``pos`` when the MDP has them. Graph attributes: ``gamma``, ``n_actions``,
    ``name``.
    """
    _check_size(mdp)
    nu_arr = uniform_nu(mdp) if nu is None else validate_nu(mdp, nu)
    q = next_state_marginal(mdp, nu_arr)
    G = nx.MultiDiGraph(gamma=mdp.gamma, n_actions=mdp.n_actions, name=mdp.name)
    for s in range(mdp.n_states):
        attrs: dict[str, Any] = dict(rho0=float(mdp.rho0[s]), q=float(q[s]),
                                     reward=tuple(float(v) for v in mdp.r[s]))
        if mdp.names is not None:
            attrs["name"] = mdp.names[s]
        if mdp.coords is not None:
            attrs["pos"] = tuple(float(v) for v in mdp.coords[s])
        G.add_node(s, **attrs)
    P = mdp.P_sa.tocoo()
    m = mdp.n_actions
    nu_flat = nu_arr.ravel()
    for row, s2, pr in zip(P.row.tolist(), P.col.tolist(), P.data.tolist()):
        s, a = divmod(row, m)
        G.add_edge(s, s2, key=a, action=a, prob=pr, weight=nu_flat[row] * pr)
    return G


def bipartite_graph(mdp: MDP, nu: ArrayLike | None = None) -> nx.Graph:
    """The weighted bipartite graph of D1: ``("sa", s, a)`` -- ``("s", s')`` with weight
    ``p(s,a,s')``; only pairs in supp(nu) and states in supp(q) appear."""
    _check_size(mdp)
    nu_arr = uniform_nu(mdp) if nu is None else validate_nu(mdp, nu)
    q = next_state_marginal(mdp, nu_arr)
    m = mdp.n_actions
    B = nx.Graph()
    nu_flat = nu_arr.ravel()
    for row in np.flatnonzero(nu_flat > 0).tolist():
        s, a = divmod(row, m)
        B.add_node(("sa", s, a), bipartite=0, degree_nu=float(nu_flat[row]))
    for s2 in np.flatnonzero(q > 0).tolist():
        B.add_node(("s", s2), bipartite=1, degree_q=float(q[s2]))
    P = mdp.P_sa.tocoo()
    for row, s2, pr in zip(P.row.tolist(), P.col.tolist(), P.data.tolist()):
        if nu_flat[row] > 0:
            s, a = divmod(row, m)
            B.add_edge(("sa", s, a), ("s", s2), weight=nu_flat[row] * pr)
    return B


def _number(value: Any, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise MDPError(f"{what}: {value!r} is not a number") from None


def mdp_from_graph(G: nx.MultiDiGraph, gamma: float | None = None, *, prob: str = "prob",
                   normalize: bool = False, missing: str = "error", name: str | None = None
                   ) -> MDP:
    """Build an MDP from a MultiDiGraph whose edge keys (or ``action`` attributes) are actions.

    Parameters
    ----------
    G : nodes are states (in ``G.nodes`` order; a node attribute ``index`` overrides it);
        each edge ``(s, s', key)`` carries the probability in attribute ``prob``.
        Node attributes used when present: ``reward`` (a number, or one per action),
        ``rho0``, ``pos``, ``name``. Graph attribute ``gamma`` is used if ``gamma`` is None.
    normalize : divide each (s, a) row by its sum (for graphs drawn with raw weights).
    missing : what to do with a state that lacks an action: ``"error"`` or ``"self-loop"``.
    """
    if missing not in ("error", "self-loop"):
        raise MDPError(f"mdp_from_graph: missing={missing!r} is not 'error' or 'self-loop'")
    nodes = list(G.nodes)
    if all("index" in G.nodes[v] for v in nodes):
        nodes.sort(key=lambda v: int(G.nodes[v]["index"]))
    pos_of = {v: i for i, v in enumerate(nodes)}
    N = len(nodes)
    actions: set[int] = set()
    entries: dict[tuple[int, int, int], float] = {}
    for u, v, key, data in G.edges(keys=True, data=True):
        a = data.get("action", key)
        try:
            a = int(a)
        except (TypeError, ValueError):
            raise MDPError(f"edge {u!r} -> {v!r}: action key {a!r} is not an integer") from None
        if prob not in data:
            raise MDPError(f"edge {u!r} -> {v!r} (action {a}): no {prob!r} attribute")
        try:
            p = float(data[prob])
        except (TypeError, ValueError):
            raise MDPError(f"edge {u!r} -> {v!r} (action {a}): {prob}={data[prob]!r} "
                           "is not a number") from None
        actions.add(a)
        k = (pos_of[u], a, pos_of[v])
        entries[k] = entries.get(k, 0.0) + p
    n_graph_actions = int(G.graph.get("n_actions", 0) or 0)
    m = max(max(actions, default=-1) + 1, n_graph_actions)
    if m == 0 or N == 0:
        raise MDPError("mdp_from_graph: the graph has no states or no edges")
    rows = np.array([s * m + a for (s, a, _) in entries], dtype=np.int64)
    cols = np.array([s2 for (_, _, s2) in entries], dtype=np.int64)
    vals = np.array(list(entries.values()), dtype=float)
    P = sp.csr_array((vals, (rows, cols)), shape=(N * m, N))
    sums = np.asarray(P.sum(axis=1)).ravel()
    empty = np.flatnonzero(sums == 0)
    if empty.size:
        if missing == "self-loop":
            P = sp.csr_array(P + sp.csr_array((np.ones(empty.size), (empty, empty // m)),
                                              shape=P.shape))
            sums = np.asarray(P.sum(axis=1)).ravel()
        else:
            s, a = divmod(int(empty[0]), m)
            raise RowSumError(f"state {nodes[s]!r} has no edge for action {a} "
                              f"({empty.size} (s,a) pair(s) without edges; "
                              "pass missing='self-loop' to make them stay)")
    if normalize:
        P = sp.csr_array(sp.diags_array(1.0 / sums) @ P)
    r = np.zeros((N, m))
    for v, i in pos_of.items():
        rew = G.nodes[v].get("reward", None)
        if isinstance(rew, (tuple, list)) and len(rew) != m:
            raise MDPError(f"node {v!r}: reward {rew!r} has {len(rew)} entries, expected "
                           f"one per action ({m})")
        for a in range(m):
            ra = G.nodes[v].get(f"reward_{a}", None)
            val = ra if ra is not None else rew[a] if isinstance(rew, (tuple, list)) else rew
            if val is not None:
                r[i, a] = _number(val, f"node {v!r}: reward for action {a}")
    rho = np.array([_number(G.nodes[v].get("rho0", np.nan), f"node {v!r}: rho0")
                    for v in nodes])
    rho0 = None if np.isnan(rho).any() else rho
    pos = [G.nodes[v].get("pos") for v in nodes]
    coords = None
    if all(p is not None for p in pos):
        try:
            coords = np.array(pos, dtype=float)
        except (TypeError, ValueError):
            raise MDPError(f"node positions: {pos[:3]!r}... are not (x, y) pairs of numbers") \
                from None
    g = G.graph.get("gamma") if gamma is None else gamma
    if g is None:
        raise MDPError("mdp_from_graph: gamma not given and the graph has no 'gamma' attribute")
    names = [str(G.nodes[v].get("name", v)) for v in nodes]
    return MDP.from_flat(P, N, m, r, float(g), rho0, coords=coords, names=names,
                         name=name or str(G.graph.get("name", "graph")))


def write_graphml(mdp: MDP, path: str | Path, nu: ArrayLike | None = None) -> Path:
    """Write the D1 view as GraphML; :func:`read_graphml` reads back the same MDP exactly."""
    G = conditional_graph(mdp, nu)
    H = nx.MultiDiGraph(**{k: v for k, v in G.graph.items()})
    for v, d in G.nodes(data=True):
        attrs = {"index": v, "rho0": d["rho0"], "q": d["q"]}
        for a, ra in enumerate(d["reward"]):
            attrs[f"reward_{a}"] = ra
        if "name" in d:
            attrs["name"] = d["name"]
        if "pos" in d:
            attrs["pos_x"], attrs["pos_y"] = d["pos"]
        H.add_node(v, **attrs)
    for u, v, k, d in G.edges(keys=True, data=True):
        H.add_edge(u, v, key=k, action=k, prob=d["prob"], weight=d["weight"])
    path = Path(path)
    nx.write_graphml(H, path)
    return path


def read_graphml(path: str | Path, gamma: float | None = None) -> MDP:
    """Read an MDP written by :func:`write_graphml` or drawn by hand (see
    :func:`mdp_from_graph` for the attributes used)."""
    path = Path(path)
    if not path.exists():
        raise MDPFileError(f"{path}: no such file")
    try:
        G = nx.read_graphml(path, force_multigraph=True)
    except Exception as exc:
        raise MDPFileError(f"{path}: not a readable GraphML file ({exc})") from None
    for u, v, d in G.edges(data=True):
        for attr in ("weight", "prob"):
            if attr in d:
                try:
                    val = float(d[attr])
                except (TypeError, ValueError):
                    raise MDPFileError(f"{path}: edge {u!r} -> {v!r}: {attr}={d[attr]!r} "
                                       "is not a number") from None
                if not np.isfinite(val) or val < 0:
                    raise MDPFileError(f"{path}: edge {u!r} -> {v!r} has {attr}={d[attr]!r}; "
                                       f"a {attr} must be finite and >= 0")
    if not G.is_directed():
        G = G.to_directed()
    for _v, d in G.nodes(data=True):
        if "pos_x" in d and "pos_y" in d:
            d["pos"] = (d["pos_x"], d["pos_y"])
    try:
        return mdp_from_graph(G, gamma, name=path.stem)
    except MDPError as exc:
        if type(exc) is not MDPError:  # RowSumError etc.: the same errors as for arrays
            raise
        raise MDPFileError(f"{path}: {exc}") from None
