r"""JEPA networks in torch (THEORY D3, D6): encoders, the action-conditioned predictor and
the world-model object the audit reads.

* ``tabular``: free tables :math:`z(s,a)` (N*m rows) and :math:`h(s)` (N rows), the torch
  twin of the NumPy tabular encoders (:mod:`jepatheory.sim.encoders`);
* ``mlp``: :math:`f(x) = W_2\tanh(W_1[x;1])`-style MLP on the feature observations;
* ``cnn``: a small convolutional encoder on rendered grey images (``mdp.meta["image_shape"]``,
  flattened in ``mdp.x``; :mod:`jepatheory.envs.render`): two stride-2 3x3 convolutions,
  global average pooling, a linear map to k;
* the predictor :math:`g(e, a)`: an MLP on :math:`[e; \mathrm{onehot}(a)]` with a residual
  connection, :math:`g(e,a) = e + \mathrm{MLP}([e; \mathrm{onehot}(a)])`.

:class:`JEPAWorldModel` holds f, g and the target encoder h (a separate network trained by
gradients, or an EMA copy of f under stop-gradient) and follows the encode/predict protocol
of :mod:`jepatheory.audit.adapters` (``encode``, ``predict``, ``encode_target``), taking and
returning NumPy arrays. With ``const=True`` the networks give k-1 coordinates and a constant
coordinate 1 is prepended to f, g and h: the constant singular pair of T (F1), which the
centred regularizers (VICReg, SIGReg) cannot represent.
"""
from __future__ import annotations

import copy
from typing import Any

import numpy as np

from .._optional import require
from ..errors import ModelInputError

torch = require("torch")
nn = torch.nn

__all__ = ["ARCHS", "CNNEncoder", "JEPAWorldModel", "MLPEncoder", "Predictor", "build_model"]

ARCHS = ("tabular", "mlp", "cnn")


class MLPEncoder(nn.Module):
    """Observation vector (d_in) -> R^k, tanh hidden layers."""

    def __init__(self, d_in: int, k: int, hidden: int = 64, layers: int = 2):
        super().__init__()
        mods: list[Any] = []
        d = d_in
        for _ in range(max(layers - 1, 0)):
            mods += [nn.Linear(d, hidden), nn.Tanh()]
            d = hidden
        mods.append(nn.Linear(d, k))
        self.net = nn.Sequential(*mods)

    def forward(self, x: Any) -> Any:
        return self.net(x)


class CNNEncoder(nn.Module):
    """Grey image (flattened H*W) -> R^k: conv3x3/2 (c) - ReLU - conv3x3/2 (2c) - ReLU -
    global average pool - linear."""

    def __init__(self, image_shape: tuple[int, int], k: int, channels: int = 8):
        super().__init__()
        self.image_shape = tuple(int(v) for v in image_shape)
        c = int(channels)
        self.conv = nn.Sequential(nn.Conv2d(1, c, 3, stride=2, padding=1), nn.ReLU(),
                                  nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), nn.ReLU())
        self.head = nn.Linear(2 * c, k)

    def forward(self, x: Any) -> Any:
        H, W = self.image_shape
        y = self.conv(x.reshape(-1, 1, H, W))
        return self.head(y.mean(dim=(2, 3)))


class Predictor(nn.Module):
    """:math:`g(e, a) = e + \\mathrm{MLP}([e; \\mathrm{onehot}(a)])`."""

    def __init__(self, k: int, n_actions: int, hidden: int = 64):
        super().__init__()
        self.m = int(n_actions)
        self.net = nn.Sequential(nn.Linear(k + self.m, hidden), nn.Tanh(), nn.Linear(hidden, k))

    def forward(self, e: Any, a: Any) -> Any:
        oh = nn.functional.one_hot(a, self.m).to(e.dtype)
        return e + self.net(torch.cat([e, oh], dim=1))


class JEPAWorldModel(nn.Module):
    """f, g, h of a JEPA world model (see the module docstring). ``config`` is a dict of
    plain values from which :func:`build_model` rebuilds the same architecture."""

    def __init__(self, config: dict[str, Any]):
        super().__init__()
        self.config = dict(config)
        arch, k = config["arch"], int(config["k"])
        N, m = int(config["n_states"]), int(config["n_actions"])
        self.arch, self.k, self.n_states, self.n_actions = arch, k, N, m
        self.const = bool(config.get("const", False))
        kn = k - 1 if self.const else k
        if kn < 1:
            raise ModelInputError(f"k = {k}: with a fixed constant coordinate k must be >= 2")
        hidden = int(config.get("hidden", 64))
        self.ema = bool(config.get("ema", False))
        if arch == "tabular":
            self.z_table = nn.Embedding(N * m, kn)
            self.h_table = nn.Embedding(N, kn)
            return
        if arch == "mlp":
            self.f = MLPEncoder(int(config["d_in"]), kn, hidden)
        elif arch == "cnn":
            self.f = CNNEncoder(tuple(config["image_shape"]), kn, int(config.get("channels", 8)))
        else:
            raise ModelInputError(f"arch {arch!r}: known architectures are {', '.join(ARCHS)}")
        self.g = Predictor(kn, m, hidden)
        self.h = copy.deepcopy(self.f)
        if self.ema:
            for p in self.h.parameters():
                p.requires_grad_(False)

    # ---------------------------------------------------------------- torch-side maps
    def _with_const(self, v: Any) -> Any:
        if not self.const:
            return v
        return torch.cat([torch.ones(v.shape[0], 1, dtype=v.dtype, device=v.device), v], 1)

    def z_of(self, s: Any, a: Any, x: Any | None) -> Any:
        """Predictions for index tensors ``s``, ``a`` (observations ``x`` = features of s)."""
        if self.arch == "tabular":
            return self.z_table(s * self.n_actions + a)
        return self.g(self.f(x), a)

    def h_of(self, s: Any, x: Any | None) -> Any:
        """Target embeddings of states ``s`` (observations ``x``)."""
        if self.arch == "tabular":
            return self.h_table(s)
        return self.h(x)

    def f_of(self, s: Any, x: Any | None) -> Any:
        """Online context embeddings (the table of h for the tabular model)."""
        if self.arch == "tabular":
            return self.h_table(s)
        return self.f(x)

    @torch.no_grad()
    def update_ema(self, tau: float) -> None:
        """:math:`\\bar\\theta \\leftarrow \\tau\\bar\\theta + (1-\\tau)\\theta`
        (the target is the EMA of f)."""
        if self.arch == "tabular" or not self.ema:
            return
        for pt, po in zip(self.h.parameters(), self.f.parameters()):
            pt.mul_(tau).add_(po, alpha=1 - tau)

    # ---------------------------------------------------------------- the protocol
    def _tensor(self, obs: Any) -> Any:
        p = next(self.parameters())
        return torch.as_tensor(np.asarray(obs), dtype=p.dtype, device=p.device)

    @torch.no_grad()
    def encode(self, obs: Any) -> Any:
        """Context embedding of observations (the one-hot row itself for ``tabular``)."""
        x = self._tensor(obs)
        if self.arch == "tabular":
            return x.cpu().numpy()
        return self._with_const(self.f(x)).cpu().numpy()

    @torch.no_grad()
    def predict(self, emb: Any, action: Any) -> Any:
        """One predictor step :math:`g(e, a)`."""
        e = self._tensor(emb)
        a = torch.as_tensor(np.asarray(action), dtype=torch.long, device=e.device)
        if self.arch == "tabular":
            s = e.argmax(1)
            return self._with_const(self.z_table(s * self.n_actions + a)).cpu().numpy()
        if self.const:
            e = e[:, 1:]
        return self._with_const(self.g(e, a)).cpu().numpy()

    @torch.no_grad()
    def encode_target(self, obs: Any) -> Any:
        """Target embedding :math:`h(x)`."""
        x = self._tensor(obs)
        if self.arch == "tabular":
            return self._with_const(self.h_table(x.argmax(1))).cpu().numpy()
        return self._with_const(self.h(x)).cpu().numpy()

    @torch.no_grad()
    def embeddings(self, X: Any, batch: int = 8192) -> tuple[np.ndarray, np.ndarray]:
        """``(z, h)`` on every state: z (N*m, k) row s*m+a, h (N, k), NumPy float64.
        ``X``: the observation tensor (N, d) (ignored for ``tabular``)."""
        N, m = self.n_states, self.n_actions
        p = next(self.parameters())
        if self.arch == "tabular":
            z = self._with_const(self.z_table.weight)
            h = self._with_const(self.h_table.weight)
            return z.double().cpu().numpy(), h.double().cpu().numpy()
        zs, hs = [], []
        for start in range(0, N, batch):
            x = X[start:start + batch].to(p.device)
            e = self.f(x)
            hs.append(self._with_const(self.h(x)))
            b = x.shape[0]
            ee = e.repeat_interleave(m, 0)
            aa = torch.arange(m, device=p.device).repeat(b)
            zs.append(self._with_const(self.g(ee, aa)))
        return (torch.cat(zs).double().cpu().numpy(), torch.cat(hs).double().cpu().numpy())


def build_model(config: dict[str, Any]) -> JEPAWorldModel:
    """A fresh :class:`JEPAWorldModel` of ``config`` (keys ``arch``, ``k``, ``n_states``,
    ``n_actions``, ``d_in`` or ``image_shape``, optional ``hidden``, ``const``, ``ema``)."""
    return JEPAWorldModel(config)
