"""Chain, ring, 2-D grid, four-rooms, rooms from an ASCII map, and mazes (D5)."""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ..errors import EnvParameterError
from ..mdp import MDP
from ._kernel import goal_reward, slip_kernel

FOUR_ROOMS = """\
#############
#     #     #
#     #     #
#           #
#     #     #
#     #     #
## ####     #
#     ### ###
#     #     #
#     #     #
#           #
#     #    G#
#############"""

#: action order on grids: up, right, down, left
_DIRS = np.array([[-1, 0], [0, 1], [1, 0], [0, -1]])


def _check_size(name: str, v: int, lo: int = 1) -> int:
    try:
        ok = int(v) == v and v >= lo
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise EnvParameterError(f"{name} = {v!r} must be an integer >= {lo}")
    return int(v)


def chain(n: int = 20, slip: float = 0.1, gamma: float = 0.9) -> MDP:
    r"""Path of ``n`` states, actions left/right (blocked ends stay), goal at the right end.

    Under uniform nu, q is uniform and the singular values of T are, in closed form,
    :math:`\sigma_j^2 = 1 - 4\varepsilon(1-\varepsilon)\sin^2(\pi j/n)`, ``j = 0..n-1``
    (``eps = slip``; derivation in ``tests/test_facts.py``).
    """
    n = _check_size("n", n, 2)
    s = np.arange(n)
    moves = np.stack([np.maximum(s - 1, 0), np.minimum(s + 1, n - 1)], axis=1)
    return MDP.from_flat(slip_kernel(moves, slip), n, 2, goal_reward(n, 2, n - 1), gamma,
                         coords=np.stack([s, np.zeros(n)], 1).astype(float), name="chain",
                         meta=dict(family="chain", n=n, slip=slip))


def ring(n: int = 20, slip: float = 0.1, gamma: float = 0.9) -> MDP:
    r"""Cycle of ``n`` states, actions counter-clockwise/clockwise, goal at state 0.

    The action kernels are circulant; under uniform nu the singular values of T are
    :math:`\sigma_j^2 = 1 - 4\varepsilon(1-\varepsilon)\sin^2(2\pi j/n)` (``eps = slip``).
    """
    n = _check_size("n", n, 3)
    s = np.arange(n)
    moves = np.stack([(s - 1) % n, (s + 1) % n], axis=1)
    ang = 2 * np.pi * s / n
    return MDP.from_flat(slip_kernel(moves, slip), n, 2, goal_reward(n, 2, 0), gamma,
                         coords=np.stack([np.cos(ang), np.sin(ang)], 1), name="ring",
                         meta=dict(family="ring", n=n, slip=slip))


def from_mask(free: NDArray[np.bool_], slip: float, gamma: float, goal: tuple[int, int] | None,
              name: str, meta: dict, walls_h: NDArray[np.bool_] | None = None,
              walls_v: NDArray[np.bool_] | None = None) -> MDP:
    """4-action grid world on the free cells of a boolean mask (vectorized, any size).

    ``walls_h[i, j]`` blocks moves between cells (i, j) and (i+1, j); ``walls_v[i, j]``
    between (i, j) and (i, j+1) (used by mazes).
    """
    H, W = free.shape
    idx = -np.ones((H, W), dtype=np.int64)
    cells = np.argwhere(free)
    N = cells.shape[0]
    if N == 0:
        raise EnvParameterError(f"{name}: the map has no free cell")
    idx[cells[:, 0], cells[:, 1]] = np.arange(N)
    moves = np.empty((N, 4), dtype=np.int64)
    for a, (di, dj) in enumerate(_DIRS):
        ni, nj = cells[:, 0] + di, cells[:, 1] + dj
        inside = (ni >= 0) & (ni < H) & (nj >= 0) & (nj < W)
        tgt = np.full(N, -1, dtype=np.int64)
        tgt[inside] = idx[ni[inside], nj[inside]]
        if walls_h is not None and di != 0:
            lo = np.minimum(cells[:, 0], ni)
            ok = inside & (lo >= 0) & (lo < H - 1)
            blocked = np.zeros(N, dtype=bool)
            blocked[ok] = walls_h[lo[ok], cells[ok, 1]]
            tgt[blocked] = -1
        if walls_v is not None and dj != 0:
            lo = np.minimum(cells[:, 1], nj)
            ok = inside & (lo >= 0) & (lo < W - 1)
            blocked = np.zeros(N, dtype=bool)
            blocked[ok] = walls_v[cells[ok, 0], lo[ok]]
            tgt[blocked] = -1
        moves[:, a] = np.where(tgt >= 0, tgt, np.arange(N))
    g = N - 1 if goal is None else int(idx[goal])
    if g < 0:
        raise EnvParameterError(f"{name}: the goal {goal} is a wall")
    coords = np.stack([cells[:, 1], -cells[:, 0]], 1).astype(float)
    return MDP.from_flat(slip_kernel(moves, slip), N, 4, goal_reward(N, 4, g), gamma,
                         coords=coords, name=name, meta=dict(meta, goal=g), warn=N <= 100_000)


def grid(width: int = 10, height: int = 10, slip: float = 0.1, gamma: float = 0.9) -> MDP:
    r"""Open ``height x width`` grid, 4 actions (up, right, down, left), walls stay, goal in the
    bottom-right corner. Vectorized: 1e6 states build in about a second.

    Under uniform nu the singular values of T are, with :math:`\alpha = 1 - 4\varepsilon/3`,
    :math:`\beta = \varepsilon/3`,
    :math:`\sigma_{ij}^2 = \alpha^2 + (\alpha\beta/2 + \beta^2)
    (2\cos(\pi i/H) + 2\cos(\pi j/W))^2` (derivation in ``tests/test_facts.py``).
    """
    width, height = _check_size("width", width), _check_size("height", height)
    return from_mask(np.ones((height, width), dtype=bool), slip, gamma, None, "grid",
                     dict(family="grid", width=width, height=height, slip=slip))


#: map letters: walls, free cells, the goal (a free cell)
MAP_WALLS, MAP_FREE, MAP_GOAL = "#wW", " .", "G"
#: most cells a map may have (the map string itself is held in memory already)
MAP_MAX_CELLS = 10**7


def parse_map(text: str, require_goal: bool = True
              ) -> tuple[NDArray[np.bool_], tuple[int, int] | None]:
    """ASCII map: ``#`` (or ``w``, ``W``) walls, ``' '`` or ``.`` free cells, exactly one
    ``G`` the goal; rows are separated by newlines or ``/`` (short rows are padded with
    walls). Any other letter, no goal or two goals is an error naming it: a typo must not
    silently become a free cell. ``require_goal=False`` (a layout whose goal is given
    otherwise): no ``G`` is allowed and the goal returned is None; two are still an error."""
    if not isinstance(text, str):
        raise EnvParameterError(f"rooms: map must be a string, got {type(text).__name__}")
    rows = [r for r in text.replace("/", "\n").split("\n") if r != ""]
    if not rows:
        raise EnvParameterError("rooms: empty map")
    W = max(len(r) for r in rows)
    if len(rows) * W > MAP_MAX_CELLS:
        raise EnvParameterError(f"rooms: map of {len(rows)} x {W} cells is larger than "
                                f"{MAP_MAX_CELLS:.0e} cells")
    known = MAP_WALLS + MAP_FREE + MAP_GOAL
    free = np.zeros((len(rows), W), dtype=bool)
    goals = []
    for i, r in enumerate(rows):
        for j, ch in enumerate(r.ljust(W, "#")):
            if ch not in known:
                raise EnvParameterError(
                    f"rooms: unknown map letter {ch!r} at row {i}, column {j}; known: "
                    f"'#' 'w' 'W' (wall), ' ' '.' (free), 'G' (goal)")
            free[i, j] = ch not in MAP_WALLS
            if ch == MAP_GOAL:
                goals.append((i, j))
    if not free.any():
        raise EnvParameterError("rooms: the map has no free cell")
    if not goals and not require_goal:
        return free, None
    if len(goals) != 1:
        where = "" if not goals else f" (at {goals[0]} and {goals[1]})"
        raise EnvParameterError(f"rooms: the map needs exactly one goal 'G', found "
                                f"{len(goals)}{where}")
    return free, goals[0]


def rooms(map: str = FOUR_ROOMS, slip: float = 1 / 3, gamma: float = 0.9) -> MDP:
    """Rooms joined by doors from an ASCII map (see :func:`parse_map`)."""
    free, goal = parse_map(map)
    return from_mask(free, slip, gamma, goal, "rooms", dict(family="rooms", slip=slip))


def four_rooms(slip: float = 1 / 3, gamma: float = 0.9) -> MDP:
    """Sutton, Precup and Singh's four-rooms (104 states); slip 1/3 means the intended move
    with probability 2/3 and each other direction with 1/9."""
    free, goal = parse_map(FOUR_ROOMS)
    return from_mask(free, slip, gamma, goal, "four-rooms", dict(family="four-rooms", slip=slip))


def maze(width: int = 8, height: int = 8, slip: float = 0.1, gamma: float = 0.9,
         seed: int = 0) -> MDP:
    """Perfect maze (random depth-first spanning tree of the grid), 4 actions, goal in the
    bottom-right cell."""
    width, height = _check_size("width", width), _check_size("height", height)
    rng = np.random.default_rng(seed)
    walls_h = np.ones((max(height - 1, 0), width), dtype=bool)
    walls_v = np.ones((height, max(width - 1, 0)), dtype=bool)
    seen = np.zeros((height, width), dtype=bool)
    stack = [(0, 0)]
    seen[0, 0] = True
    while stack:
        i, j = stack[-1]
        nb = [(i + di, j + dj) for di, dj in _DIRS
              if 0 <= i + di < height and 0 <= j + dj < width and not seen[i + di, j + dj]]
        if not nb:
            stack.pop()
            continue
        ni, nj = nb[rng.integers(len(nb))]
        if ni != i:
            walls_h[min(i, ni), j] = False
        else:
            walls_v[i, min(j, nj)] = False
        seen[ni, nj] = True
        stack.append((ni, nj))
    return from_mask(np.ones((height, width), dtype=bool), slip, gamma, None, "maze",
                     dict(family="maze", width=width, height=height, slip=slip, seed=seed),
                     walls_h=walls_h, walls_v=walls_v)
