"""Graph-based families: random regular expanders, trees, random sparse MDPs and
stochastic-block clustered MDPs (D5)."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..errors import EnvParameterError
from ..mdp import MDP
from ._kernel import check_prob, goal_reward, slip_kernel


def expander(n: int = 64, degree: int = 4, slip: float = 0.1, gamma: float = 0.9,
             seed: int = 0) -> MDP:
    """Random ``degree``-regular graph (NetworkX); action ``i`` moves to the ``i``-th
    neighbour (sorted), with slip to the others. Goal at state 0."""
    if n * degree % 2 or degree >= n or degree < 1:
        raise EnvParameterError(f"expander: need 1 <= degree < n and n*degree even "
                                f"(n={n}, degree={degree})")
    import networkx as nx  # lazy: keeps `jepatheory envs` fast

    G = nx.random_regular_graph(int(degree), int(n), seed=int(seed))
    moves = np.array([sorted(G.neighbors(v)) for v in range(n)], dtype=np.int64)
    return MDP.from_flat(slip_kernel(moves, slip), n, degree, goal_reward(n, degree, 0), gamma,
                         name="expander", meta=dict(family="expander", n=n, degree=degree,
                                                    slip=slip, seed=seed))


def tree(depth: int = 4, branching: int = 2, slip: float = 0.1, gamma: float = 0.9) -> MDP:
    """Complete ``branching``-ary tree; action 0 goes to the parent (root stays), action
    ``i >= 1`` to child ``i`` (leaves stay). Goal at the last leaf."""
    if depth < 1 or branching < 1:
        raise EnvParameterError(f"tree: depth={depth} and branching={branching} must be >= 1")
    import networkx as nx

    G = nx.balanced_tree(int(branching), int(depth))
    n = G.number_of_nodes()
    m = branching + 1
    moves = np.tile(np.arange(n)[:, None], (1, m))
    for v in range(1, n):
        moves[v, 0] = (v - 1) // branching
    for v in range(n):
        for i in range(branching):
            c = v * branching + 1 + i
            if c < n:
                moves[v, i + 1] = c
    return MDP.from_flat(slip_kernel(moves, slip), n, m, goal_reward(n, m, n - 1), gamma,
                         name="tree", meta=dict(family="tree", depth=depth,
                                                branching=branching, slip=slip))


def random_sparse(n: int = 50, actions: int = 4, branching: int = 3, concentration: float = 1.0,
                  gamma: float = 0.9, seed: int = 0) -> MDP:
    """Each (s, a) has ``branching`` distinct random successors with Dirichlet(concentration)
    probabilities; rewards uniform in [0, 1]."""
    if n < 1 or actions < 1:
        raise EnvParameterError(f"random-sparse: n={n} and actions={actions} must be >= 1")
    if not 1 <= branching <= n:
        raise EnvParameterError(f"random-sparse: branching={branching} must be in [1, n={n}]")
    if concentration <= 0:
        raise EnvParameterError(f"random-sparse: concentration={concentration} must be > 0")
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(n * actions), branching)
    cols = np.concatenate([rng.choice(n, size=branching, replace=False)
                           for _ in range(n * actions)])
    w = rng.dirichlet(np.full(branching, concentration), size=n * actions).ravel()
    P = sp.csr_array((w, (rows, cols)), shape=(n * actions, n))
    P = sp.csr_array(sp.diags_array(1.0 / np.asarray(P.sum(axis=1)).ravel()) @ P)
    return MDP.from_flat(P, n, actions, rng.uniform(size=(n, actions)), gamma,
                         name="random-sparse",
                         meta=dict(family="random-sparse", n=n, actions=actions,
                                   branching=branching, concentration=concentration, seed=seed),
                         warn=False)


def sbm(clusters: int = 4, size: int = 10, actions: int = 2, noise: float = 0.1,
        gamma: float = 0.9, seed: int = 0) -> MDP:
    """Stochastic-block clustered MDP: action ``a`` sends cluster ``c`` to a random target
    cluster ``f_a(c)``; the next state is uniform in that cluster with probability
    ``1 - noise``, uniform over all states otherwise. T has rank <= clusters (the uniform
    part lies in the span of the cluster indicators): a sharp low-rank structure. Goal:
    cluster 0."""
    noise = check_prob("noise", noise)
    if clusters < 1 or size < 1 or actions < 1:
        raise EnvParameterError("sbm: clusters, size and actions must be >= 1")
    rng = np.random.default_rng(seed)
    n = clusters * size
    target = rng.integers(clusters, size=(clusters, actions))
    label = np.repeat(np.arange(clusters), size)
    P = np.full((n, actions, n), noise / n)
    for a in range(actions):
        for c in range(clusters):
            P[label == c, a, target[c, a] * size:(target[c, a] + 1) * size] += (1 - noise) / size
    r = np.zeros((n, actions))
    r[label == 0] = 1.0
    return MDP.from_arrays(P, r, gamma, name="sbm",
                           meta=dict(family="sbm", clusters=clusters, size=size,
                                     actions=actions, noise=noise, seed=seed,
                                     labels=label.tolist()))
