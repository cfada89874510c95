"""Shared fixtures: small random MDPs with the awkward features the theory cares about."""
from __future__ import annotations

import os

# One BLAS thread: the tests use small matrices, where a second thread only adds contention
# (and on a busy machine oversubscription slows small dense SVDs by 10-100x). Set before
# numpy is imported; an explicit setting in the environment wins.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from jepatheory.mdp import MDP  # noqa: E402


def random_mdp(rng: np.random.Generator, N: int = 6, m: int = 2, sparsity: float = 0.5,
               gamma: float = 0.9) -> MDP:
    """Random kernel with some zero entries (every row keeps at least one successor)."""
    P = rng.random((N, m, N)) * (rng.random((N, m, N)) > sparsity)
    P[np.arange(N), :, rng.integers(N, size=N)] += 0.1
    P /= P.sum(axis=2, keepdims=True)
    return MDP.from_arrays(P, rng.random((N, m)), gamma, warn=False)


def random_nu(rng: np.random.Generator, mdp: MDP, uncovered: int = 0, skew: float = 1.0
              ) -> np.ndarray:
    """Skewed data distribution (Dirichlet(skew)) with ``uncovered`` zero pairs."""
    nu = rng.dirichlet(np.full(mdp.n_states * mdp.n_actions, skew))
    if uncovered:
        nu[rng.choice(nu.size, size=uncovered, replace=False)] = 0.0
        if nu.sum() == 0:
            nu[0] = 1.0
    return (nu / nu.sum()).reshape(mdp.n_states, mdp.n_actions)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
