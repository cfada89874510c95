r"""Data distributions: the pretraining law :math:`\nu(s,a)` and the next-state marginal
:math:`q(s') = \sum_{s,a}\nu(s,a)P(s'|s,a)` (THEORY "Setting").

``nu`` is always returned with shape ``(N, m)``.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from .errors import DistributionError, ShapeError
from .mdp import MDP, check_distribution
from .solvers import as_policy_matrix, occupancy

__all__ = ["uniform_nu", "policy_nu", "validate_nu", "next_state_marginal", "make_nu",
           "NU_KINDS"]

NU_KINDS = ("uniform", "random-policy-occupancy", "random-policy-stationary")


def uniform_nu(mdp: MDP) -> NDArray[np.float64]:
    """:math:`\\nu(s,a) = 1/(N m)`."""
    return np.full((mdp.n_states, mdp.n_actions), 1.0 / (mdp.n_states * mdp.n_actions))


def validate_nu(mdp: MDP, nu: ArrayLike) -> NDArray[np.float64]:
    """Check a user array ``nu`` (shape ``(N, m)`` or flat) is a distribution."""
    arr = np.asarray(nu, dtype=float)
    N, m = mdp.n_states, mdp.n_actions
    if arr.shape not in ((N, m), (N * m,)):  # a transposed (m, N) array is refused
        raise ShapeError(f"nu: expected shape ({N}, {m}) or ({N * m},), got {arr.shape}")
    check_distribution("nu", arr.ravel(), N * m)
    return arr.reshape(N, m)


def policy_nu(mdp: MDP, pi: ArrayLike, kind: str = "occupancy",
              tol: float = 1e-12, max_iter: int = 100_000) -> NDArray[np.float64]:
    r"""Data distribution of a behaviour policy ``pi``.

    ``kind="occupancy"``: its discounted occupancy :math:`d^\pi` from ``rho0``.
    ``kind="stationary"``: :math:`\mu_\pi(s)\pi(a|s)` with :math:`\mu_\pi` a stationary
    distribution of :math:`P_\pi` (lazy power iteration from ``rho0``, so for reducible
    chains the one reached from ``rho0``).
    """
    if kind == "occupancy":
        return occupancy(mdp, pi)
    if kind != "stationary":
        raise DistributionError(f"policy_nu: kind must be 'occupancy' or 'stationary', "
                                f"got {kind!r}")
    Pi = as_policy_matrix(mdp, pi)
    P_pi_T = sp.csr_array((Pi @ mdp.P_sa).T)
    mu = mdp.rho0.copy()
    for _ in range(max_iter):
        nxt = 0.5 * (mu + P_pi_T @ mu)
        if np.abs(nxt - mu).sum() < tol:
            mu = nxt
            break
        mu = nxt
    mu = np.clip(mu, 0, None)
    mu /= mu.sum()
    nu = (Pi.T @ mu).reshape(mdp.n_states, mdp.n_actions)
    return nu / nu.sum()


def make_nu(mdp: MDP, kind: str = "uniform") -> NDArray[np.float64]:
    """Named data distributions for the command line (``NU_KINDS``)."""
    if kind == "uniform":
        return uniform_nu(mdp)
    rand = np.full((mdp.n_states, mdp.n_actions), 1.0 / mdp.n_actions)
    if kind == "random-policy-occupancy":
        return policy_nu(mdp, rand, "occupancy")
    if kind == "random-policy-stationary":
        return policy_nu(mdp, rand, "stationary")
    raise DistributionError(f"nu kind {kind!r} is not one of {NU_KINDS}")


def next_state_marginal(mdp: MDP, nu: ArrayLike) -> NDArray[np.float64]:
    r""":math:`q(s') = \sum_{s,a} \nu(s,a) P(s'|s,a)`, shape ``(N,)``."""
    flat = np.asarray(nu, dtype=float).ravel()
    return np.asarray(mdp.P_sa.T @ flat)

