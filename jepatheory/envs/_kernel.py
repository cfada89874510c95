"""Shared builders: deterministic move tables with slip, goal rewards."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from ..errors import EnvParameterError


def check_prob(name: str, value: float) -> float:
    try:
        ok = 0.0 <= value <= 1.0
    except TypeError:
        ok = False
    if not ok:
        raise EnvParameterError(f"{name} = {value!r} must be in [0, 1]")
    return float(value)


def slip_kernel(moves: NDArray[np.int64], slip: float) -> sp.csr_array:
    r"""Flat kernel ``(N*m, N)`` from a deterministic move table ``moves[s, a] = s'``.

    The intended move happens with probability ``1 - slip``; each of the other ``m - 1``
    moves with probability ``slip / (m - 1)`` (Sutton, Precup and Singh's four-rooms
    convention: slip 1/3 gives 2/3 intended and 1/9 for each other direction). With
    ``slip = 0`` the dynamics are deterministic (F5: flat spectrum).
    """
    N, m = moves.shape
    slip = check_prob("slip", slip)  # a Python float: float32 input loses the row sums
    # row (s, a) lists the candidate moves moves[s, b] for every b, m entries per row, so
    # the CSR structure is known: no COO sort (10x faster at 1e6 states)
    cols = np.repeat(moves, m, axis=0).ravel()
    if m == 1:
        w = np.ones(cols.size)
    else:
        intended = np.tile(np.eye(m, dtype=bool).ravel(), N)  # b == a
        w = np.where(intended, 1.0 - slip, slip / (m - 1))
    P = sp.csr_array((w, cols, np.arange(0, N * m * m + 1, m)), shape=(N * m, N))
    P.sum_duplicates()  # blocked moves that coincide (walls) add up
    P.eliminate_zeros()
    return P


def goal_reward(N: int, m: int, goal: int | NDArray[np.int64]) -> NDArray[np.float64]:
    """``r[s, a] = 1`` at the goal state(s), 0 elsewhere."""
    r = np.zeros((N, m))
    r[np.atleast_1d(goal)] = 1.0
    return r
