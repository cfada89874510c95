r"""Saving and loading checkpoints of the built-in architectures without unpickling objects,
and TorchScript world models.

A checkpoint is ``{"format": "jepatheory-torch-1", "config": {...}, "state_dict": {...}}``
(plain values and tensors only), written by :func:`save_checkpoint` and read back with
``torch.load(..., weights_only=True)``: torch's restricted unpickler accepts tensors and
plain containers and refuses any other object, so loading a file never runs its code.
The architecture is rebuilt from ``config`` (:func:`jepatheory.torch.nets.build_model`)
and checked against the environment before the weights are loaded (strictly).

A TorchScript archive (``torch.jit.save`` of a scripted module with exported methods
``encode(obs)``, ``predict(emb, action)`` and optionally ``encode_target(obs)``, tensors in
and out, ``action`` a long tensor) is loaded with ``torch.jit.load``: TorchScript is a
restricted, statically typed language (no Python imports), and its constants are read by
torch's own restricted unpickler. :func:`load_world_model` dispatches on the archive.
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

from .._optional import require
from ..errors import ModelInputError
from ..mdp import MDP
from .nets import ARCHS, JEPAWorldModel, build_model

torch = require("torch")

__all__ = ["FORMAT", "ScriptedWorldModel", "is_torchscript", "load_checkpoint",
           "load_world_model", "save_checkpoint"]

FORMAT = "jepatheory-torch-1"


def save_checkpoint(model: JEPAWorldModel, path: str | os.PathLike) -> Path:
    """Write ``model`` (config and weights) to ``path``."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    sd = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save({"format": FORMAT, "config": dict(model.config), "state_dict": sd}, p)
    return p


def load_checkpoint(path: str | os.PathLike, mdp: MDP) -> JEPAWorldModel:
    """The model saved at ``path``, checked against ``mdp`` (see the module docstring)."""
    p = Path(path)
    try:
        obj: Any = torch.load(p, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelInputError(f"--model {p}: refused (weights-only load failed: {first})") \
            from exc
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise ModelInputError(f"--model {p}: not a {FORMAT} checkpoint (save it with "
                              "jepatheory.torch.save_checkpoint)")
    cfg, sd = obj.get("config"), obj.get("state_dict")
    if not isinstance(cfg, dict) or not isinstance(sd, dict):
        raise ModelInputError(f"--model {p}: config or state_dict missing")
    if cfg.get("arch") not in ARCHS:
        raise ModelInputError(f"--model {p}: unknown architecture {cfg.get('arch')!r}")
    if (cfg.get("n_states"), cfg.get("n_actions")) != (mdp.n_states, mdp.n_actions):
        raise ModelInputError(f"--model {p}: trained for {cfg.get('n_states')} states x "
                              f"{cfg.get('n_actions')} actions, the environment has "
                              f"{mdp.n_states} x {mdp.n_actions}")
    model = build_model(cfg)
    try:
        model.load_state_dict(sd, strict=True)
    except RuntimeError as exc:
        raise ModelInputError(f"--model {p}: weights do not fit the architecture "
                              f"({str(exc).splitlines()[0]})") from exc
    dtype = next(iter(sd.values())).dtype if sd else torch.float64
    return model.to(dtype=dtype).eval()


def is_torchscript(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a TorchScript archive (a zip with a ``code/`` directory)."""
    import zipfile
    try:
        with zipfile.ZipFile(path) as zf:
            return any("/code/" in n or n.startswith("code/") for n in zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


class ScriptedWorldModel:
    """The encode/predict protocol over a TorchScript module (NumPy in, NumPy out)."""

    def __init__(self, module: Any):
        for name in ("encode", "predict"):
            if not hasattr(module, name):
                raise ModelInputError(f"TorchScript model: no exported method {name!r} "
                                      "(decorate it with @torch.jit.export)")
        self.module = module
        self._target = getattr(module, "encode_target", None)

    def _t(self, v: Any) -> Any:
        import numpy as np
        return torch.as_tensor(np.asarray(v), dtype=torch.float32)

    def encode(self, obs: Any) -> Any:
        with torch.no_grad():
            return self.module.encode(self._t(obs)).double().numpy()

    def predict(self, emb: Any, action: Any) -> Any:
        import numpy as np
        with torch.no_grad():
            a = torch.as_tensor(np.asarray(action), dtype=torch.long)
            return self.module.predict(self._t(emb), a).double().numpy()

    def encode_target(self, obs: Any) -> Any:
        if self._target is None:
            return self.encode(obs)
        with torch.no_grad():
            return self._target(self._t(obs)).double().numpy()


def load_world_model(path: str | os.PathLike, mdp: MDP) -> Any:
    """A :func:`load_checkpoint` model, or a :class:`ScriptedWorldModel` for TorchScript."""
    p = Path(path)
    if is_torchscript(p):
        try:
            module = torch.jit.load(str(p), map_location="cpu")
        except (RuntimeError, ValueError) as exc:
            raise ModelInputError(f"--model {p}: not a loadable TorchScript archive "
                                  f"({str(exc).strip().splitlines()[0]})") from exc
        return ScriptedWorldModel(module.eval())
    return load_checkpoint(p, mdp)
