"""Rich-observation block MDPs (D6): few latent states, many observations each.

The latent dynamics is a slip grid (``latent_width x latent_height``, 4 actions). Each
latent state emits ``obs_per_latent`` observations; the MDP's states are the observations.
From observation ``s`` of latent ``l`` under action ``a`` the next latent is drawn from the
latent kernel and the next observation uniformly among that latent's observations. Every
observation carries features ``x[s] = c[l] + noise * xi_s`` with random latent codes
``c[l] ~ N(0, I/d_x)`` and ``xi_s ~ N(0, I/d_x)``. T then has rank at most the number of
latent states, so encoders that generalize across observations of a latent can pool data.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..errors import EnvParameterError
from ..mdp import MDP
from .grids import grid


def block_mdp(latent_width: int = 4, latent_height: int = 4, obs_per_latent: int = 8,
              d_x: int = 16, noise: float = 0.1, slip: float = 0.2, gamma: float = 0.9,
              seed: int = 0) -> MDP:
    if obs_per_latent < 1 or d_x < 1:
        raise EnvParameterError(f"block-mdp: obs_per_latent={obs_per_latent} and d_x={d_x} "
                                "must be >= 1")
    if noise < 0:
        raise EnvParameterError(f"block-mdp: noise={noise} must be >= 0")
    lat = grid(latent_width, latent_height, slip, gamma)
    L, m, k = lat.n_states, lat.n_actions, int(obs_per_latent)
    N = L * k
    latent_of = np.repeat(np.arange(L), k)
    # emission E: (L, N) with E[l, s] = 1/k for s emitted by l
    E = sp.csr_array((np.full(N, 1.0 / k), (latent_of, np.arange(N))), shape=(L, N))
    # observation kernel: row (s, a) = P_lat[(l(s), a)] @ E
    rows = (latent_of[:, None] * m + np.arange(m)[None, :]).ravel()
    P = sp.csr_array(lat.P_sa[rows] @ E)
    rng = np.random.default_rng(seed)
    codes = rng.standard_normal((L, d_x)) / np.sqrt(d_x)
    x = codes[latent_of] + noise * rng.standard_normal((N, d_x)) / np.sqrt(d_x)
    r = lat.r[latent_of]
    jitter = rng.uniform(-0.3, 0.3, size=(N, 2))
    coords = lat.coords[latent_of] + jitter if lat.coords is not None else None
    return MDP.from_flat(P, N, m, r, gamma, x=x, coords=coords, name="block-mdp",
                         meta=dict(family="block-mdp", latent_width=latent_width,
                                   latent_height=latent_height, obs_per_latent=k, d_x=d_x,
                                   noise=noise, slip=slip, seed=seed,
                                   latent_of=latent_of.tolist()))
