r"""Loading a model to audit from a file, without executing anything in it.

* ``.npz`` with arrays ``z`` (N*m, k) and ``h`` (N, k): every zip member's ``.npy`` header is
  read first (shape, dtype, declared uncompressed size) and checked against the environment
  before any data is loaded; object arrays and members whose declared size is absurd (more
  than the expected bytes, or above ``MAX_MEMBER_BYTES``) are refused; then
  ``np.load(..., allow_pickle=False)``.
* a torch checkpoint of a built-in architecture (:mod:`jepatheory.torch`), loaded with
  ``torch.load(..., weights_only=True)``: only tensors and plain containers are
  unpickled; a file that needs any other object is refused. A TorchScript archive with
  exported ``encode``/``predict`` methods is loaded with ``torch.jit.load``
  (:func:`jepatheory.torch.checkpoint.load_world_model`).
* ``module:callable`` (the user's own factory, called with the MDP and returning any model
  form of :mod:`jepatheory.audit.adapters`) only with an explicit opt-in, since it imports
  and runs user code.
"""
from __future__ import annotations

import importlib
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .._npz import npy_header
from ..errors import ModelInputError
from ..mdp import MDP
from ..model import Embeddings

__all__ = ["MAX_K", "MAX_MEMBER_BYTES", "load_model", "load_npz_model"]

#: A member of a model .npz above this declared uncompressed size is refused.
MAX_MEMBER_BYTES = 8 * 2**30
#: Largest latent dimension accepted from a file.
MAX_K = 65_536


def _npy_header(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[tuple[int, ...], np.dtype]:
    try:
        shape, dtype, _end = npy_header(zf, info)
    except (ValueError, OSError) as exc:
        raise ModelInputError(f"{info.filename}: not a .npy array ({exc})") from exc
    return shape, dtype


def load_npz_model(path: str | os.PathLike, mdp: MDP) -> Embeddings:
    """``(z, h)`` from an .npz file, checked before loading (see the module docstring)."""
    p = Path(path)
    if p.is_dir() or not p.exists():
        raise ModelInputError(f"--model {p}: no such file")
    N, m = mdp.n_states, mdp.n_actions
    try:
        zf = zipfile.ZipFile(p)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelInputError(f"--model {p}: not an .npz (zip) file") from exc
    with zf:
        members = {i.filename: i for i in zf.infolist()}
        for name in ("z.npy", "h.npy"):
            if name not in members:
                raise ModelInputError(f"--model {p}: missing array {name[:-4]!r} (have "
                                      f"{', '.join(sorted(members)) or 'none'})")
        shapes = {}
        for name in ("z.npy", "h.npy"):
            info = members[name]
            if info.file_size > MAX_MEMBER_BYTES:
                raise ModelInputError(f"--model {p}: member {name} declares "
                                      f"{info.file_size} bytes uncompressed (limit "
                                      f"{MAX_MEMBER_BYTES})")
            shape, dtype = _npy_header(zf, info)
            if dtype.hasobject or dtype.kind not in "fiub":
                raise ModelInputError(f"--model {p}: {name[:-4]} has dtype {dtype}; numeric "
                                      "arrays only")
            shapes[name] = shape
            expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            if info.file_size > expected + 65_536:
                raise ModelInputError(f"--model {p}: member {name} declares "
                                      f"{info.file_size} bytes for a {shape} array")
        zs, hs = shapes["z.npy"], shapes["h.npy"]
        if len(zs) != 2 or zs[0] != N * m or not 1 <= zs[1] <= MAX_K:
            raise ModelInputError(f"--model {p}: z has shape {zs}, expected ({N * m}, k) for "
                                  f"{N} states x {m} actions")
        if hs != (N, zs[1]):
            raise ModelInputError(f"--model {p}: h has shape {hs}, expected ({N}, {zs[1]})")
    with np.load(p, allow_pickle=False) as data:
        z = np.asarray(data["z"], dtype=float)
        h = np.asarray(data["h"], dtype=float)
    if not (np.isfinite(z).all() and np.isfinite(h).all()):
        raise ModelInputError(f"--model {p}: z, h contain NaN or infinity")
    return Embeddings(z, h)


def _factory(spec: str, mdp: MDP) -> Any:
    mod_name, _, attr = spec.partition(":")
    try:
        mod = importlib.import_module(mod_name)
    except ImportError as exc:
        raise ModelInputError(f"--model {spec}: cannot import module {mod_name!r} ({exc})") \
            from exc
    fn = getattr(mod, attr, None)
    if not callable(fn):
        raise ModelInputError(f"--model {spec}: {attr!r} is not a callable of {mod_name}")
    return fn(mdp)


def load_model(spec: str, mdp: MDP, allow_import: bool = False) -> Any:
    """A model from ``spec``: an .npz, a torch checkpoint (``.pt``/``.pth``) or, with
    ``allow_import``, ``module:callable``."""
    p = Path(spec)
    if p.suffix == ".npz":
        return load_npz_model(p, mdp)
    if p.suffix in (".pt", ".pth", ".ckpt"):
        if p.is_dir() or not p.exists():
            raise ModelInputError(f"--model {p}: no such file")
        from ..torch.checkpoint import load_world_model
        return load_world_model(p, mdp)
    if ":" in spec and not p.exists():
        if not allow_import:
            raise ModelInputError(f"--model {spec}: importing user code needs --allow-import")
        return _factory(spec, mdp)
    raise ModelInputError(f"--model {spec}: expected FILE.npz, FILE.pt (a checkpoint of a "
                          "built-in architecture) or module:callable with --allow-import")
