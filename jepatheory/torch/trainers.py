r"""Torch JEPA trainers (THEORY D3): same data, same outputs as
:mod:`jepatheory.sim.trainers`, with torch modules, autograd, ``torch.optim.Adam`` and a
``LambdaLR`` schedule (constant for the first half, linear decay to 0 over the second, as
the NumPy trainers).

* ``spectral`` -- the U-statistic spectral loss of D3 on :math:`z = g(f(x(s)), a)` and a
  separate target encoder :math:`h(x(s'))`, gradients into both (T2: its minimizers are the
  truncated SVD; the loss is its own anti-collapse term).
* ``jepa`` -- the practical JEPA: l2 prediction loss :math:`\|g(f(x), a) - \mathrm{sg}(\bar
  f(x'))\|^2` against an EMA target :math:`\bar f` (stop-gradient, rate ``tau``), plus an
  anti-collapse term on the online embeddings of the next states, ``reg``:
  ``whiten`` (:math:`\|E_B[ff^\top]-I\|_F^2`), ``vicreg`` (variance + covariance) or
  ``sigreg`` (LeJEPA's Epps-Pulley sketch), weighted by ``reg_weight``; ``none`` (EMA and
  stop-gradient alone). For ``vicreg`` and ``sigreg`` the constant coordinate is fixed
  (see :mod:`jepatheory.torch.nets`).
* ``collapse`` -- the l2 loss with gradients into both sides, no EMA, no anti-collapse
  term: minimized by constant embeddings (D3).

Encoders: ``tabular`` (free tables), ``mlp`` (features ``mdp.x``, one-hot rows when absent),
``cnn`` (rendered images, ``mdp.meta["image_shape"]``). CPU by default (``device="auto"``
uses CUDA when present); on CPU the run is deterministic (``torch.manual_seed``, a seeded
generator, ``torch.use_deterministic_algorithms(True)`` during training, the minibatches
drawn by ``numpy.random.default_rng(seed)``): same seed, same numbers. ``threads``
(default 1) sets torch's intra-op threads during training: the toy networks here are too
small to gain from more, and the sweeps run one process per core.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._optional import require
from ..errors import ShapeError
from ..cooccurrence import CoOccurrence
from ..mdp import MDP
from ..model import Embeddings, empirical_loss
from ..sampling import Dataset
from ..spine import mdp_of
from ..sim.trainers import Trained, TrainLog
from .losses import l2_prediction, sigreg, spectral_loss, vicreg_terms, whitening_penalty
from .nets import ARCHS, JEPAWorldModel

torch = require("torch")

__all__ = [
    "deterministic_mode",
    "REGS",
    "TORCH_TRAINERS",
    "TorchTrained",
    "observation_tensor",
    "pick_device",
    "train_torch",
]

TORCH_TRAINERS = ("spectral", "jepa", "collapse")
REGS = ("whiten", "vicreg", "sigreg", "none")


@dataclass(frozen=True, repr=False)
class TorchTrained(Trained):
    """A :class:`~jepatheory.sim.trainers.Trained` that also carries the torch model."""

    model: Any = None

    _hidden = ("emb", "model")
    _no_export = ("emb", "model")


def pick_device(device: str = "auto") -> Any:
    """``cpu``, ``cuda`` or ``auto`` (CUDA when available, else CPU)."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda"):
        raise ShapeError(f"device {device!r}: use cpu, cuda or auto")
    return torch.device(device)


def observation_tensor(mdp: MDP, dtype: Any = None) -> Any:
    """The observations of every state as a float tensor (N, d): ``mdp.x``, else one-hot."""
    from ..audit.adapters import observations
    X = observations(mdp, np.arange(mdp.n_states))
    return torch.as_tensor(X, dtype=dtype or torch.float64)


@contextlib.contextmanager
def deterministic_mode(on: bool, threads: int | None):
    """Within: deterministic torch algorithms (if ``on``) and ``threads`` CPU threads; the
    previous settings are restored on exit."""
    prev = torch.are_deterministic_algorithms_enabled()
    prev_threads = torch.get_num_threads()
    if on:
        torch.use_deterministic_algorithms(True, warn_only=True)
    if threads:
        torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(prev)
        torch.set_num_threads(prev_threads)


def _config(mdp: MDP, k: int, encoder: str, trainer: str, reg: str, hidden: int) -> dict:
    cfg: dict[str, Any] = {"arch": encoder, "k": int(k), "n_states": mdp.n_states,
                               "n_actions": mdp.n_actions, "hidden": int(hidden),
                               "const": trainer == "jepa" and reg in ("vicreg", "sigreg"),
                               "ema": trainer == "jepa"}
    if encoder == "mlp":
        cfg["d_in"] = mdp.n_states if mdp.x is None else int(np.shape(mdp.x)[1])
    elif encoder == "cnn":
        shape = mdp.meta.get("image_shape")
        if shape is None or mdp.x is None:
            raise ShapeError(f"encoder 'cnn' needs rendered observations: {mdp.name} has no "
                             "meta['image_shape'] (see jepatheory.envs.render)")
        cfg["image_shape"] = [int(v) for v in shape]
    return cfg


def train_torch(name: str, C: CoOccurrence | MDP, ds: Dataset, k: int, encoder: str = "tabular", *,
                steps: int = 3000, batch: int = 1024, lr: float = 0.02, seed: int = 0,
                reg: str = "whiten", reg_weight: float = 1.0, tau: float = 0.99,
                hidden: int = 64, init_scale: float = 0.1, device: str = "auto",
                dtype: str = "float32", deterministic: bool = True, threads: int | None = 1,
                **_: Any) -> TorchTrained:
    """Train a torch JEPA (see the module docstring); returns the embeddings ``(z, h)``
    (NumPy, float64), the log, and the torch model (``.model``). ``C``: the problem (or
    its bare MDP; only the MDP's shapes and observations are used)."""
    mdp = mdp_of("train_torch", C)
    if name not in TORCH_TRAINERS:
        raise ShapeError(f"torch trainer {name!r}: known {', '.join(TORCH_TRAINERS)}")
    if encoder not in ARCHS:
        raise ShapeError(f"torch encoder {encoder!r}: known {', '.join(ARCHS)}")
    if reg not in REGS:
        raise ShapeError(f"reg {reg!r}: known {', '.join(REGS)}")
    if int(k) != k or k < 1:
        raise ShapeError(f"k = {k!r} must be a positive integer")
    if ds.n_states != mdp.n_states or ds.n_actions != mdp.n_actions or ds.n < 2:
        raise ShapeError("dataset: does not match the MDP or has fewer than 2 transitions")
    if steps < 1 or batch < 2 or not lr > 0:
        raise ShapeError(f"steps = {steps}, batch = {batch}, lr = {lr}: need steps >= 1, "
                         "batch >= 2, lr > 0")
    dev = pick_device(device)
    tdtype = {"float64": torch.float64, "float32": torch.float32}[dtype]
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    cfg = _config(mdp, k, encoder, name, reg, hidden)
    with deterministic_mode(deterministic and dev.type == "cpu", threads):
        model = JEPAWorldModel(cfg).to(dtype=tdtype)
        if encoder == "tabular":
            for emb in (model.z_table, model.h_table):
                emb.weight.data = init_scale * torch.randn(emb.weight.shape, generator=gen,
                                                           dtype=tdtype)
        model = model.to(dev)
        X = None if encoder == "tabular" else observation_tensor(mdp, tdtype).to(dev)
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.Adam(params, lr=lr)
        half = steps // 2
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda t: 1.0 if t < half else max(steps - t, 1) / max(steps - half, 1))
        B = min(int(batch), ds.n)
        s_all = torch.as_tensor(ds.s, device=dev)
        a_all = torch.as_tensor(ds.a, device=dev)
        s2_all = torch.as_tensor(ds.s2, device=dev)
        curve, acc, cnt, every = [], 0.0, 0, max(steps // 100, 1)
        t0 = time.perf_counter()
        for step in range(int(steps)):
            idx = torch.as_tensor(rng.integers(0, ds.n, B), device=dev)
            s, a, s2 = s_all[idx], a_all[idx], s2_all[idx]
            xs = None if X is None else X[s]
            xs2 = None if X is None else X[s2]
            Z = model.z_of(s, a, xs)
            if name == "spectral":
                loss = spectral_loss(Z, model.h_of(s2, xs2))
            elif name == "collapse":
                loss = l2_prediction(Z, model.f_of(s2, xs2))
            else:
                with torch.no_grad():
                    target = model.h_of(s2, xs2) if encoder != "tabular" else None
                online = model.f_of(s2, xs2)
                if target is None:   # tabular JEPA: the target table is the online one, stopped
                    target = online.detach()
                loss = l2_prediction(Z, target)
                if reg == "whiten":
                    loss = loss + reg_weight * whitening_penalty(online)
                elif reg == "vicreg":
                    v, c = vicreg_terms(online)
                    loss = loss + reg_weight * (v + c)
                elif reg == "sigreg":
                    loss = loss + reg_weight * sigreg(online, gen)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if name == "jepa":
                model.update_ema(tau)
            acc += float(loss.detach())
            cnt += 1
            if cnt == every:
                curve.append((step + 1, acc / cnt))
                acc, cnt = 0.0, 0
        sec = time.perf_counter() - t0
        model.eval()
        z, h = model.embeddings(X)
    final = empirical_loss(z, h, ds.pair, ds.s2)
    n_params = int(sum(p.numel() for p in model.parameters()))
    log = TrainLog(f"torch-{name}", encoder, int(k), int(steps), sec, float(final), curve, [],
                   n_params, extra={"backend": "torch", "reg": reg, "device": str(dev),
                                        "batch": B, "lr": lr, "config": cfg})
    return TorchTrained(Embeddings(z, h), log, model)
