r"""Goal reaching with deterministic latent dynamics and nuisance in the observations
(THEORY D6, PE).

The latent world is a maze, an open grid or an ASCII map (``layout``) with deterministic
moves (4 actions, walls stay). The MDP's states are observations; each belongs to exactly
one latent state, so the observation process stays Markov. The goal latent state's
observations are rewarding (``r = 1``) and absorbing; success is being there by step H.

* :func:`noisy_block` -- observation ``(latent l, emission e, exogenous x)``: after each
  move the emission is drawn from
  :math:`E(e\mid l) = (1-\text{noise})\,1[e=0] + \text{noise}/M` (noise 0: the canonical
  observation only, noise 1: uniform over the M), and the exogenous state of ``D``
  ``distractors`` follows its own chain, independent of actions,
  :math:`X(x'\mid x) = \text{stickiness}\,1[x'=x] + (1-\text{stickiness})/D` (stickiness 0:
  a fresh uniform draw every step, rank one in T; near 1: slowly varying, predictable).
  Features: the one-hot codes of the three parts, concatenated.
* :func:`noisy_features` -- observation ``(latent l, copy c, exogenous x)`` with the copy
  drawn uniformly after each move and features
  :math:`x = [e(l) + \sigma\xi_{l,c};\ u(x)]`, codes :math:`e(l), \xi_{l,c}\sim
  N(0, I/d_x)` fixed per observation state and ``exo_dims`` exogenous feature dimensions
  :math:`u(x)\sim N(0, I/\text{exo\_dims})` of the exogenous chain's state.

Both start uniformly over the non-goal latent states (emission and exogenous state drawn
from their distributions). ``meta`` records ``latent_of``, ``goal_states``,
``latent_moves`` and ``goal_latent``.
"""
from __future__ import annotations

from collections import deque

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from ..errors import EnvParameterError
from ..mdp import MDP
from ._kernel import check_prob
from .grids import from_mask, grid, maze, parse_map

__all__ = ["latent_distances", "noisy_block", "noisy_features"]


def _latent(layout: str, width: int, height: int, seed: int, family: str
            ) -> tuple[NDArray[np.int64], NDArray[np.float64] | None]:
    """Deterministic move table ``(L, 4)`` of the latent world and its coordinates."""
    if layout == "maze":
        lat = maze(width, height, 0.0, 0.9, seed)
    elif layout == "grid":
        lat = grid(width, height, 0.0, 0.9)
    elif "#" in layout or "/" in layout:
        free, g = parse_map(layout, require_goal=False)  # the goal is a family parameter
        lat = from_mask(free, 0.0, 0.9, g, "rooms", dict(family="rooms", slip=0.0))
    else:
        raise EnvParameterError(f"{family}: layout={layout!r} must be 'maze', 'grid' or an "
                                "ASCII map ('#' walls, '/' between rows)")
    P = lat.P_sa
    moves = P.indices[P.indptr[:-1]].reshape(lat.n_states, lat.n_actions).astype(np.int64)
    return moves, lat.coords


def latent_distances(moves: NDArray[np.int64], goal: int) -> NDArray[np.int64]:
    """Shortest number of moves from every latent state to ``goal`` (-1: unreachable)."""
    L = moves.shape[0]
    preds: list[list[int]] = [[] for _ in range(L)]
    for l_, row in enumerate(moves):
        for t in set(row.tolist()):
            if t != l_:
                preds[t].append(l_)
    dist = np.full(L, -1, dtype=np.int64)
    dist[goal] = 0
    queue = deque([goal])
    while queue:
        u = queue.popleft()
        for p in preds[u]:
            if dist[p] < 0:
                dist[p] = dist[u] + 1
                queue.append(p)
    return dist


def _check_int(family: str, name: str, value: int, lo: int) -> int:
    if isinstance(value, bool) or int(value) != value or value < lo:
        raise EnvParameterError(f"{family}: {name}={value!r} must be an integer >= {lo}")
    return int(value)


def _exo_kernel(family: str, D: int, stickiness: float) -> NDArray[np.float64]:
    try:
        ok = 0.0 <= stickiness < 1.0
    except TypeError:
        ok = False
    if not ok:
        raise EnvParameterError(f"{family}: stickiness={stickiness!r} must be in [0, 1)")
    Dx = max(D, 1)
    return stickiness * np.eye(Dx) + (1.0 - stickiness) / Dx


def _compose(family: str, moves: NDArray[np.int64], E: NDArray[np.float64],
             X: NDArray[np.float64], goal: int, gamma: float, x: NDArray[np.float64],
             coords: NDArray[np.float64] | None, meta: dict) -> MDP:
    """Observation MDP over ``(l, e, x)`` (index ``(l*M + e)*Dx + x``): the latent moves
    by ``moves``, then e' ~ E(.|l'), x' ~ X(.|x); the goal latent's observations absorb."""
    L, m = moves.shape
    M, Dx = E.shape[1], X.shape[0]
    if not -L <= goal < L:
        raise EnvParameterError(f"{family}: goal={goal} is not a latent state (0..{L - 1})")
    goal = goal % L
    dist = latent_distances(moves, goal)
    if (dist < 0).any():
        bad = int(np.flatnonzero(dist < 0)[0])
        raise EnvParameterError(f"{family}: goal={goal} is unreachable from latent state "
                                f"{bad}")
    N = L * M * Dx
    latent_of = np.repeat(np.arange(L), M * Dx)
    is_goal = latent_of == goal
    Em = sp.csr_array((E.ravel(), (np.repeat(np.arange(L), M), np.arange(L * M))),
                      shape=(L, L * M))
    blocks = []
    keep = sp.diags_array((~is_goal).astype(float))
    for a in range(m):
        S = sp.csr_array((np.ones(L), (np.arange(L), moves[:, a])), shape=(L, L))
        B = sp.kron(S, np.ones((M, 1))) @ Em                     # (l, e) -> (l', e')
        Pa = sp.csr_array(keep @ sp.kron(B, X)) + sp.diags_array(is_goal.astype(float))
        blocks.append(sp.csr_array(Pa))
    r = np.zeros((N, m))
    r[is_goal] = 1.0
    start = np.repeat(np.where(np.arange(L) == goal, 0.0, 1.0), M * Dx)
    rho0 = start * np.repeat(E.ravel(), Dx) / Dx
    rho0 /= rho0.sum()
    xy = None if coords is None else coords[latent_of] + \
        np.random.default_rng(0).uniform(-0.3, 0.3, (N, 2))
    meta = dict(meta, family=family, latent_of=latent_of.tolist(), goal_latent=goal,
                goal_states=np.flatnonzero(is_goal).tolist(), latent_moves=moves.tolist(),
                n_latent=L, latent_distance=dist.tolist())
    return MDP.from_arrays(blocks, r, gamma, rho0, x=x, coords=xy, name=family, meta=meta,
                           warn=False)


def noisy_block(width: int = 5, height: int = 5, layout: str = "maze", M: int = 4,
                noise: float = 0.5, distractors: int = 0, stickiness: float = 0.0,
                goal: int = -1, gamma: float = 0.95, seed: int = 0) -> MDP:
    """Latent maze, M emissions per latent state mixed by ``noise``, ``distractors``
    exogenous states (see the module docstring)."""
    fam = "noisy-block"
    M = _check_int(fam, "M", M, 1)
    D = _check_int(fam, "distractors", distractors, 0)
    noise = check_prob(f"{fam}: noise", noise)
    X = _exo_kernel(fam, D, stickiness)
    moves, coords = _latent(layout, width, height, seed, fam)
    L, Dx = moves.shape[0], X.shape[0]
    E = np.full((L, M), noise / M)
    E[:, 0] += 1.0 - noise
    lat = np.repeat(np.arange(L), M * Dx)
    emi = np.tile(np.repeat(np.arange(M), Dx), L)
    exo = np.tile(np.arange(Dx), L * M)
    parts = [np.eye(L)[lat], np.eye(M)[emi]] + ([np.eye(Dx)[exo]] if D > 0 else [])
    return _compose(fam, moves, E, X, goal, gamma, np.hstack(parts), coords,
                    {"width": width, "height": height, "layout": layout, "M": M, "noise": noise,
                         "distractors": D, "stickiness": stickiness, "seed": seed})


def noisy_features(width: int = 5, height: int = 5, layout: str = "maze", copies: int = 4,
                   d_x: int = 8, sigma: float = 0.5, distractors: int = 0,
                   stickiness: float = 0.0, exo_dims: int = 0, goal: int = -1,
                   gamma: float = 0.95, seed: int = 0) -> MDP:
    """Latent maze, ``copies`` observation states per latent state with features
    e(l) + sigma xi, optional exogenous feature dimensions (see the module docstring)."""
    fam = "noisy-features"
    C = _check_int(fam, "copies", copies, 1)
    d_x = _check_int(fam, "d_x", d_x, 1)
    D = _check_int(fam, "distractors", distractors, 0)
    exo_dims = _check_int(fam, "exo_dims", exo_dims, 0)
    try:
        ok = float(sigma) >= 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise EnvParameterError(f"{fam}: sigma={sigma!r} must be >= 0")
    X = _exo_kernel(fam, D, stickiness)
    moves, coords = _latent(layout, width, height, seed, fam)
    L, Dx = moves.shape[0], X.shape[0]
    rng = np.random.default_rng(seed)
    codes = rng.standard_normal((L, d_x)) / np.sqrt(d_x)
    xi = rng.standard_normal((L, C, d_x)) / np.sqrt(d_x)
    obs = (codes[:, None, :] + float(sigma) * xi)                       # (L, C, d_x)
    feats = np.repeat(obs.reshape(L * C, d_x), Dx, axis=0)
    if exo_dims and D > 0:
        u = rng.standard_normal((Dx, exo_dims)) / np.sqrt(exo_dims)
        feats = np.hstack([feats, np.tile(u, (L * C, 1))])
    E = np.full((L, C), 1.0 / C)
    return _compose(fam, moves, E, X, goal, gamma, feats, coords,
                    {"width": width, "height": height, "layout": layout, "copies": C, "d_x": d_x,
                         "sigma": float(sigma), "distractors": D, "stickiness": stickiness,
                         "exo_dims": exo_dims, "seed": seed})
