r"""Next-feature regression with an MLP: the input-level counterpart of the MLP JEPA (THEORY
D6, PE), fitted on the same transitions with the same optimizer.

The model predicts the next observation's features from the current ones and the action,

.. math::

    \mu(s, a) = g([x(s); \mathrm{onehot}(a)]),\qquad
    \min_g\ \frac1n\sum_{i}\|x(s'_i) - \mu(s_i, a_i)\|^2 ,

g an MLP with tanh hidden layers (the hidden width of :class:`~jepatheory.torch.nets.
MLPEncoder`), trained by Adam on minibatches with the schedule of
:func:`~jepatheory.torch.trainers.train_torch` (deterministic on CPU). The fitted network is
returned as NumPy weights, so planners call it without torch (:meth:`NextFeatureMLP.predict`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from .._optional import require
from .._results import Result
from ..errors import ShapeError
from ..mdp import MDP
from ..sampling import Dataset
from .trainers import deterministic_mode, pick_device

torch = require("torch")

__all__ = ["NextFeatureMLP", "train_next_features"]


@dataclass(frozen=True, repr=False)
class NextFeatureMLP(Result):
    r"""A fitted next-feature MLP: ``weights`` ``[(W_1, b_1), ...]`` (NumPy, float64),
    ``n_params``, ``residual`` the mean squared training error per feature (the noise
    variance of the Gaussian kernel built on it), ``loss_curve``, ``seconds``."""

    n_actions: int
    d_x: int
    n_params: int
    residual: float
    seconds: float
    loss_curve: list[float] = field(default_factory=list)
    weights: list[tuple[NDArray[np.float64], NDArray[np.float64]]] = field(default_factory=list)

    _hidden = ("loss_curve", "weights")
    _no_export = ("weights",)

    def predict(self, X: NDArray[np.float64], A: NDArray[np.int64]) -> NDArray[np.float64]:
        r""":math:`\mu` for features ``X`` (..., d_x) and actions ``A`` (same leading shape)."""
        X = np.asarray(X, dtype=float)
        A = np.asarray(A)
        h = np.concatenate([X, np.eye(self.n_actions)[A]], axis=-1)
        for i, (W, b) in enumerate(self.weights):
            h = h @ W + b
            if i < len(self.weights) - 1:
                h = np.tanh(h)
        return h


def train_next_features(mdp: MDP, ds: Dataset, X: NDArray[np.float64] | None = None, *,
                        hidden: int = 64, layers: int = 3, steps: int = 1500,
                        batch: int = 512, lr: float = 0.01, seed: int = 0,
                        device: str = "auto", threads: int | None = 1) -> NextFeatureMLP:
    r"""Fit :math:`\mu(s,a)` (module docstring) on ``ds``; ``X`` the observation features
    (N, d_x), default ``mdp.x``. ``layers`` linear maps (``layers - 1`` tanh hidden layers of
    width ``hidden``)."""
    if X is None:
        if mdp.x is None:
            raise ShapeError(f"next-feature MLP: {mdp.name} has no observation features x")
        X = np.asarray(mdp.x, dtype=float)
    if X.shape[0] != mdp.n_states:
        raise ShapeError(f"next-feature MLP: features of shape {X.shape}, expected "
                         f"({mdp.n_states}, d)")
    if ds.n_states != mdp.n_states or ds.n_actions != mdp.n_actions or ds.n < 2:
        raise ShapeError("dataset: does not match the MDP or has fewer than 2 transitions")
    if int(steps) != steps or steps < 1 or batch < 2 or not lr > 0 or layers < 1 or hidden < 1:
        raise ShapeError(f"steps = {steps}, batch = {batch}, lr = {lr}, layers = {layers}, "
                         f"hidden = {hidden}: need steps >= 1, batch >= 2, lr > 0, "
                         "layers >= 1, hidden >= 1")
    m, d = mdp.n_actions, X.shape[1]
    dev = pick_device(device)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    with deterministic_mode(dev.type == "cpu", threads):
        mods: list = []
        width = d + m
        for _ in range(layers - 1):
            mods += [torch.nn.Linear(width, hidden), torch.nn.Tanh()]
            width = hidden
        mods.append(torch.nn.Linear(width, d))
        net = torch.nn.Sequential(*mods).to(dtype=torch.float32, device=dev)
        Xt = torch.as_tensor(X, dtype=torch.float32, device=dev)
        inp = torch.cat([Xt[torch.as_tensor(ds.s, device=dev)],
                         torch.eye(m, device=dev)[torch.as_tensor(ds.a, device=dev)]], dim=1)
        target = Xt[torch.as_tensor(ds.s2, device=dev)]
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        half = steps // 2
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda t: 1.0 if t < half else max(steps - t, 1) / max(steps - half, 1))
        B = min(int(batch), ds.n)
        curve, every = [], max(int(steps) // 100, 1)
        for step in range(int(steps)):
            idx = torch.as_tensor(rng.integers(0, ds.n, B), device=dev)
            loss = torch.mean(torch.sum((net(inp[idx]) - target[idx]) ** 2, dim=1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            if step % every == 0:
                curve.append(float(loss.detach()))
        with torch.no_grad():
            resid = float(torch.mean((net(inp) - target) ** 2))
        weights = [(lin.weight.detach().cpu().double().numpy().T.copy(),
                    lin.bias.detach().cpu().double().numpy().copy())
                   for lin in net if isinstance(lin, torch.nn.Linear)]
    n_params = int(sum(W.size + b.size for W, b in weights))
    return NextFeatureMLP(n_actions=m, d_x=d, n_params=n_params, residual=resid,
                          seconds=time.perf_counter() - t0, loss_curve=curve, weights=weights)
