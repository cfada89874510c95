"""Textbook fixtures tested against printed values."""
from __future__ import annotations

import numpy as np

from ..mdp import MDP


def sutton_barto_3_5(gamma: float = 0.9) -> MDP:
    """The 5x5 gridworld of Sutton and Barto (2018), Example 3.5 (Figure 3.2).

    Actions north, east, south, west (deterministic). Off-grid moves leave the state
    unchanged with reward -1; every action from A = (0, 1) gives +10 and moves to
    A' = (4, 1); from B = (0, 3) gives +5 and moves to B' = (2, 3); other moves give 0.
    States are numbered row-major. The equiprobable random policy has the values of
    Figure 3.2 and the optimal values of Figure 3.5 (both at gamma = 0.9).
    """
    n = 5
    N, m = n * n, 4
    P = np.zeros((N, m, N))
    r = np.zeros((N, m))
    dirs = [(-1, 0), (0, 1), (1, 0), (0, -1)]
    for i in range(n):
        for j in range(n):
            s = i * n + j
            for a, (di, dj) in enumerate(dirs):
                if (i, j) == (0, 1):
                    P[s, a, 4 * n + 1], r[s, a] = 1.0, 10.0
                elif (i, j) == (0, 3):
                    P[s, a, 2 * n + 3], r[s, a] = 1.0, 5.0
                elif 0 <= i + di < n and 0 <= j + dj < n:
                    P[s, a, (i + di) * n + j + dj] = 1.0
                else:
                    P[s, a, s], r[s, a] = 1.0, -1.0
    coords = np.array([[j, -i] for i in range(n) for j in range(n)], dtype=float)
    return MDP.from_arrays(P, r, gamma, coords=coords, name="sutton-barto-3.5",
                           meta=dict(family="sutton-barto-3.5"))


#: Figure 3.2 (random policy), rounded to one decimal as printed in the book.
SB35_RANDOM_VALUES = np.array([
    [3.3, 8.8, 4.4, 5.3, 1.5],
    [1.5, 3.0, 2.3, 1.9, 0.5],
    [0.1, 0.7, 0.7, 0.4, -0.4],
    [-1.0, -0.4, -0.4, -0.6, -1.2],
    [-1.9, -1.3, -1.2, -1.4, -2.0],
])

#: Figure 3.5 (optimal values), rounded to one decimal as printed in the book.
SB35_OPTIMAL_VALUES = np.array([
    [22.0, 24.4, 22.0, 19.4, 17.5],
    [19.8, 22.0, 19.8, 17.8, 16.0],
    [17.8, 19.8, 17.8, 16.0, 14.4],
    [16.0, 17.8, 16.0, 14.4, 13.0],
    [14.4, 16.0, 14.4, 13.0, 11.7],
])
