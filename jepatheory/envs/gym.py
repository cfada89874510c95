"""Importers for gymnasium toy_text environments that expose ``unwrapped.P``
(FrozenLake, CliffWalking, Taxi). Requires the ``gym`` extra.

``P[s][a]`` is a list of ``(prob, next_state, reward, terminated)``. A terminating
transition leads to the next state, which is made absorbing with reward 0 when it is
terminal (no transition in gymnasium ever leaves it in the episode's sense).
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._optional import require
from ..errors import EnvParameterError
from ..mdp import MDP


def from_gymnasium(env: Any, gamma: float = 0.9, name: str | None = None) -> MDP:
    """Convert a gymnasium environment (or its ``unwrapped``) with a tabular ``P``."""
    u = getattr(env, "unwrapped", env)
    if not hasattr(u, "P"):
        raise EnvParameterError(f"{type(u).__name__} has no tabular 'P' (toy_text only)")
    table = u.P
    N = int(u.observation_space.n)
    m = int(u.action_space.n)
    terminal = np.zeros(N, dtype=bool)
    for s in range(N):
        for a in range(m):
            for prob, s2, _rew, done in table[s][a]:
                if done and prob > 0:
                    terminal[int(s2)] = True
    rows, cols, vals = [], [], []
    r = np.zeros((N, m))
    for s in range(N):
        for a in range(m):
            if terminal[s]:
                rows.append(s * m + a), cols.append(s), vals.append(1.0)
                continue
            for prob, s2, rew, _done in table[s][a]:
                rows.append(s * m + a), cols.append(int(s2)), vals.append(float(prob))
                r[s, a] += float(prob) * float(rew)
    P = sp.csr_array((vals, (rows, cols)), shape=(N * m, N))
    rho0 = None
    isd = getattr(u, "initial_state_distrib", None)
    if isd is not None:
        rho0 = np.asarray(isd, dtype=float)
        rho0 = rho0 / rho0.sum()
    spec = getattr(u, "spec", None)
    nm = name or (spec.id if spec is not None else type(u).__name__)
    return MDP.from_flat(P, N, m, r, gamma, rho0, name=nm,
                         meta=dict(family="gym", id=nm, terminal=np.flatnonzero(terminal).tolist()),
                         warn=False)


def _registered_version(gym: Any, id: str) -> str | None:
    """The newest registered version of ``id``'s environment name (``Taxi-v3`` ->
    ``Taxi-v4`` on gymnasium releases that retired v3, and the other way round)."""
    from gymnasium.envs.registration import parse_env_id

    ns, name, _ = parse_env_id(id)
    found = []
    for key in gym.registry:
        ns2, name2, version = parse_env_id(key)
        if (ns2, name2) == (ns, name):
            found.append((version or 0, key))
    return max(found)[1] if found else None


def gym_env(id: str = "FrozenLake-v1", gamma: float = 0.9, is_slippery: bool = True,
            map_name: str = "4x4", entry_points: bool = False) -> MDP:
    """Make and import a gymnasium toy_text environment by id.

    ``is_slippery`` and ``map_name`` apply to ``FrozenLake-v1`` (``FrozenLake8x8-v1`` has its
    own map). A version this gymnasium does not provide (``Taxi-v3`` was retired in favour
    of ``Taxi-v4``) is replaced by the registered version of the same environment, with a
    warning; the import itself only needs ``unwrapped.P``. Only ids in gymnasium's registry
    are accepted: an entry point ``MODULE:Env`` imports (runs) ``MODULE`` and needs the
    explicit ``entry_points=True``.
    """
    gym = require("gymnasium")
    if not isinstance(id, str):
        raise EnvParameterError(f"gym: id={id!r} is not a string")
    if id not in gym.registry and not entry_points:
        # gymnasium imports MODULE for an id 'MODULE:Env': top-level code of any importable
        # module would run from a parameter string. Registered ids only, unless opted in.
        if ":" in id:
            raise EnvParameterError(
                f"gym: id={id!r} is a module entry point, not a registered id; importing it "
                "runs that module's code: pass -p entry_points=true to allow it")
        if _registered_version(gym, id) is None:
            known = sorted(k for k in gym.registry if "ALE/" not in k)
            shown = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
            raise EnvParameterError(f"gym: {id!r} is not a registered gymnasium id; "
                                    f"registered: {shown}")
    kwargs: dict[str, Any] = {}
    if id.startswith("FrozenLake"):
        kwargs = dict(is_slippery=bool(is_slippery))
        if not id.startswith("FrozenLake8x8"):
            kwargs["map_name"] = map_name
    try:
        try:
            env = gym.make(id, **kwargs)
        except (gym.error.DeprecatedEnv, gym.error.VersionNotFound):
            other = _registered_version(gym, id)
            if other is None or other == id:
                raise
            warnings.warn(f"gymnasium {gym.__version__} does not provide {id}; using {other}",
                          UserWarning, stacklevel=2)
            env = gym.make(other, **kwargs)
    except Exception as exc:
        raise EnvParameterError(f"gymnasium could not make {id!r}: {exc}") from None
    try:
        return from_gymnasium(env, gamma)
    finally:
        env.close()


def to_gymnasium(mdp: MDP, max_steps: int | None = None, seed: int | None = None) -> Any:
    """A minimal ``gymnasium.Env`` over a tabular MDP (``gym`` extra).

    Discrete observation (the state) and action spaces; ``reset`` samples rho0, ``step``
    samples ``P(.|s,a)`` and returns ``r(s,a)``; never terminates, truncates after
    ``max_steps`` steps when given. Randomness comes from gymnasium's seeded ``np_random``.
    """
    gym = require("gymnasium")
    spaces = gym.spaces
    P_sa = sp.csr_array(mdp.P_sa)

    class TabularMDPEnv(gym.Env):  # type: ignore[misc, name-defined]
        metadata: dict[str, Any] = {"render_modes": []}

        def __init__(self) -> None:
            self.mdp = mdp
            self.observation_space = spaces.Discrete(mdp.n_states)
            self.action_space = spaces.Discrete(mdp.n_actions)
            self._s = 0
            self._t = 0

        def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple:
            super().reset(seed=seed)
            self._s = int(self.np_random.choice(mdp.n_states, p=mdp.rho0))
            self._t = 0
            return self._s, {}

        def step(self, action: int) -> tuple:
            a = int(action)
            if not 0 <= a < mdp.n_actions:
                raise EnvParameterError(f"action: expected 0..{mdp.n_actions - 1}, got {action!r}")
            row = self._s * mdp.n_actions + a
            lo, hi = P_sa.indptr[row], P_sa.indptr[row + 1]
            probs = P_sa.data[lo:hi]
            s2 = int(P_sa.indices[lo:hi][self.np_random.choice(hi - lo, p=probs / probs.sum())])
            rew = float(mdp.r[self._s, a])
            self._s = s2
            self._t += 1
            trunc = max_steps is not None and self._t >= max_steps
            return s2, rew, False, bool(trunc), {}

    env = TabularMDPEnv()
    if seed is not None:
        env.reset(seed=seed)
    return env
