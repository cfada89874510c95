r"""Turning a model into the embeddings ``(z, h)`` the theory audits.

A JEPA world model on a finite environment is fully described by its predictions
:math:`z(s,a) = g(f(x(s)), a)` (array ``z`` of shape ``(N*m, k)``, row ``s*m + a``) and its
target embeddings :math:`h(x(s'))` (array ``h`` of shape ``(N, k)``). Three ways to give it:

(a) arrays: ``(z, h)``, a :class:`~jepatheory.model.Embeddings` or a mapping with keys
    ``"z"`` and ``"h"``;
(b) callables: :func:`from_callables` with ``f(obs) -> R^k`` (context encoder),
    ``g(emb, action) -> R^k`` (predictor) and ``h(obs) -> R^k`` (target encoder);
(c) an object following the world-model protocol used by harnesses such as
    stable-worldmodel: ``encode(obs) -> emb`` and ``predict(emb, action) -> emb``
    (one predictor step), wrapped by :func:`from_protocol`. The target encoder is
    ``encode_target`` when the object has one (an EMA teacher), else ``encode``.

Conventions of (b) and (c): ``obs`` is a float array ``(B, d_x)`` of observation vectors,
the MDP's features ``mdp.x`` (rendered images are stored flattened, with
``mdp.meta["image_shape"]``; a convolutional model reshapes them itself) or one-hot rows
when the MDP has no features; ``action`` is an integer array ``(B,)``. Outputs may be NumPy
arrays or torch tensors (converted with ``.detach().cpu().numpy()``). Evaluation runs in
chunks of ``batch`` rows, so nothing of size N x N is formed.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from ..errors import ModelInputError
from ..mdp import MDP
from ..model import Embeddings

__all__ = [
    "CallableModel",
    "WorldModel",
    "embeddings_of",
    "from_callables",
    "from_protocol",
    "observations",
    "to_numpy",
]


@runtime_checkable
class WorldModel(Protocol):
    """The encode/predict protocol (stable-worldmodel style)."""

    def encode(self, obs: Any) -> Any: ...

    def predict(self, emb: Any, action: Any) -> Any: ...


@dataclass(frozen=True)
class CallableModel:
    """A model given as three callables (see the module docstring)."""

    f: Callable[[Any], Any]
    g: Callable[[Any, Any], Any]
    h: Callable[[Any], Any]


def from_callables(f: Callable, g: Callable, h: Callable) -> CallableModel:
    """Model (b): context encoder ``f``, predictor ``g(emb, action)``, target encoder ``h``."""
    for name, fn in (("f", f), ("g", g), ("h", h)):
        if not callable(fn):
            raise ModelInputError(f"{name}: expected a callable, got {type(fn).__name__}")
    return CallableModel(f, g, h)


def from_protocol(model: Any) -> CallableModel:
    """Model (c): ``f = model.encode``, ``g = model.predict``, ``h = model.encode_target``
    if present, else ``model.encode``."""
    if not isinstance(model, WorldModel):
        raise ModelInputError(f"model: {type(model).__name__} has no encode(obs) and "
                              "predict(emb, action) methods")
    target = getattr(model, "encode_target", None)
    return CallableModel(model.encode, model.predict, target if callable(target)
                         else model.encode)


def to_numpy(value: Any, name: str) -> NDArray[np.float64]:
    """A NumPy float array from an array or a torch tensor (no torch import)."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ModelInputError(f"{name}: output is not numeric ({type(value).__name__})") \
            from exc
    return arr


def observations(mdp: MDP, states: NDArray[np.int64]) -> NDArray[np.float64]:
    """Observation vectors of ``states``: rows of ``mdp.x``, else one-hot rows."""
    if mdp.x is not None:
        return np.asarray(mdp.x, dtype=float)[states]
    out = np.zeros((states.size, mdp.n_states))
    out[np.arange(states.size), states] = 1.0
    return out


def _call(fn: Callable, name: str, rows: int, *args: Any) -> NDArray[np.float64]:
    out = to_numpy(fn(*args), name)
    if out.ndim == 1:
        out = out[:, None]
    if out.ndim != 2 or out.shape[0] != rows:
        raise ModelInputError(f"{name}: expected ({rows}, k) outputs, got {out.shape}")
    if not np.isfinite(out).all():
        raise ModelInputError(f"{name}: outputs contain NaN or infinity")
    return out


def _evaluate(mdp: MDP, model: CallableModel, batch: int) -> Embeddings:
    N, m = mdp.n_states, mdp.n_actions
    z_parts, h_parts = [], []
    for start in range(0, N, batch):
        s = np.arange(start, min(start + batch, N))
        obs = observations(mdp, s)
        emb = model.f(obs)
        h_parts.append(_call(model.h, "h(obs)", s.size, obs))
        zs = [_call(model.g, "g(emb, action)", s.size, emb, np.full(s.size, a, dtype=np.int64))
              for a in range(m)]
        z_parts.append(np.stack(zs, axis=1).reshape(s.size * m, -1))
    z, h = np.vstack(z_parts), np.vstack(h_parts)
    if z.shape[1] != h.shape[1]:
        raise ModelInputError(f"model: predictor gives k = {z.shape[1]}, target encoder "
                              f"k = {h.shape[1]}")
    return Embeddings(z, h)


def embeddings_of(mdp: MDP, model: Any, batch: int = 4096) -> Embeddings:
    """``(z, h)`` of ``model`` on every state of ``mdp`` (forms (a), (b), (c))."""
    if isinstance(model, Embeddings):
        z, h = model.z, model.h
    elif isinstance(model, Mapping):
        if "z" not in model or "h" not in model:
            raise ModelInputError(f"model: a mapping needs keys 'z' and 'h', got "
                                  f"{sorted(map(str, model))}")
        z, h = model["z"], model["h"]
    elif isinstance(model, (tuple, list)) and len(model) == 2:
        z, h = model
    elif isinstance(model, CallableModel):
        return _evaluate(mdp, model, int(batch))
    elif isinstance(model, WorldModel):
        return _evaluate(mdp, from_protocol(model), int(batch))
    else:
        raise ModelInputError(f"model: {type(model).__name__} is neither (z, h) arrays, "
                              "from_callables(f, g, h) nor an encode/predict object")
    z, h = to_numpy(z, "z"), to_numpy(h, "h")
    N, m = mdp.n_states, mdp.n_actions
    if z.ndim != 2 or z.shape[0] != N * m:
        raise ModelInputError(f"z: expected shape ({N * m}, k), got {z.shape}")
    if h.ndim != 2 or h.shape != (N, z.shape[1]):
        raise ModelInputError(f"h: expected shape ({N}, {z.shape[1]}), got {h.shape}")
    if not (np.isfinite(z).all() and np.isfinite(h).all()):
        raise ModelInputError("z, h: embeddings contain NaN or infinity")
    return Embeddings(z, h)
