r"""Rendered observations for the grid-like families (THEORY D6): small grey images.

:func:`render_observations` gives every state of a grid-like MDP (``grid``, ``rooms``,
``four-rooms``, ``maze``: one state per free cell, ``mdp.coords`` = (column, -row)) a
``size x size`` grey image, stored flattened as the features ``x`` (N, size^2) with
``meta["image_shape"] = [size, size]``:

* the map: free cells at intensity 0.3, walls (cells of the bounding box that are no
  state) at 0; cell (i, j) of an H x W map covers pixel rows
  :math:`\lfloor iS/H\rfloor .. \lfloor (i+1)S/H\rfloor - 1` (at least one pixel), columns
  likewise; when S < max(H, W) neighbouring cells share pixels (aliased observations);
* the agent's cell at intensity 1;
* ``distractors`` bright 2 x 2 squares (intensity 0.8) at positions drawn independently
  for every state (clutter carrying no information about the state);
* pixel noise: i.i.d. :math:`N(0, \mathrm{noise}^2)` per pixel and state.

Everything is drawn once from ``numpy.random.default_rng(seed)``: the observation set
stays finite (one image per state), so the audit's exact quantities apply; the CNN encoder of
:mod:`jepatheory.torch` reads the images. The kernel, rewards and start are unchanged.
The family ``rendered`` (``--env rendered -p base=four-rooms -p size=16``) builds a base
family with its defaults (or a ``"name:key=value,..."`` spec) and renders it.
"""
from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from ..errors import EnvParameterError
from ..mdp import MDP

__all__ = ["MAX_IMAGE_SIZE", "RENDER_FAMILIES", "render_observations", "rendered"]

#: Families whose states are the free cells of a map with integer coordinates.
RENDER_FAMILIES = ("grid", "rooms", "four-rooms", "maze")
#: Largest accepted image side.
MAX_IMAGE_SIZE = 128


def _cells(mdp: MDP) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    fam = mdp.meta.get("family")
    if fam not in RENDER_FAMILIES or mdp.coords is None:
        raise EnvParameterError(f"render: {mdp.name!r} is not a grid-like family "
                                f"({', '.join(RENDER_FAMILIES)})")
    col = np.rint(mdp.coords[:, 0]).astype(np.int64)
    row = np.rint(-mdp.coords[:, 1]).astype(np.int64)
    return row - row.min(), col - col.min()


def render_observations(mdp: MDP, size: int = 16, noise: float = 0.1, distractors: int = 0,
                        seed: int = 0) -> MDP:
    """A copy of ``mdp`` whose features ``x`` are rendered images (see the module
    docstring)."""
    if int(size) != size or not 4 <= size <= MAX_IMAGE_SIZE:
        raise EnvParameterError(f"render: size={size!r} must be an integer in "
                                f"[4, {MAX_IMAGE_SIZE}]")
    if not (math.isfinite(noise) and noise >= 0):
        raise EnvParameterError(f"render: noise={noise!r} must be >= 0 and finite")
    if int(distractors) != distractors or not 0 <= distractors <= 64:
        raise EnvParameterError(f"render: distractors={distractors!r} must be an integer "
                                "in [0, 64]")
    S, N = int(size), mdp.n_states
    row, col = _cells(mdp)
    H, W = int(row.max()) + 1, int(col.max()) + 1
    r0 = (row * S) // H
    r1 = np.maximum(((row + 1) * S) // H, r0 + 1)
    c0 = (col * S) // W
    c1 = np.maximum(((col + 1) * S) // W, c0 + 1)
    background = np.zeros((S, S))
    for s in range(N):
        background[r0[s]:r1[s], c0[s]:c1[s]] = 0.3
    rng = np.random.default_rng(seed)
    imgs = np.empty((N, S, S))
    for s in range(N):
        img = background.copy()
        for _ in range(int(distractors)):
            i, j = rng.integers(0, S - 1, size=2)
            img[i:i + 2, j:j + 2] = 0.8
        img[r0[s]:r1[s], c0[s]:c1[s]] = 1.0
        imgs[s] = img
    if noise > 0:
        imgs += noise * rng.standard_normal(imgs.shape)
    meta = dict(mdp.meta, image_shape=[S, S],
                render={"size": S, "noise": float(noise), "distractors": int(distractors),
                            "seed": int(seed)})
    return mdp.replace(x=imgs.reshape(N, S * S), meta=meta, name=f"{mdp.name}-rendered")


def rendered(base: str = "four-rooms", size: int = 16, noise: float = 0.1,
             distractors: int = 2, seed: int = 0) -> MDP:
    """The grid-like family ``base`` (a name or ``"name:key=value,..."``) with rendered
    observations (:func:`render_observations`)."""
    from . import make_env
    if base.split(":", 1)[0] not in RENDER_FAMILIES:
        raise EnvParameterError(f"rendered: base={base!r} must be one of "
                                f"{', '.join(RENDER_FAMILIES)}")
    out = render_observations(make_env(base), size, noise, distractors, seed)
    meta = dict(out.meta, family="rendered", base=base)
    return out.replace(meta=meta)
