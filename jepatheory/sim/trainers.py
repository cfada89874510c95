r"""JEPA trainers on a sampled :class:`~jepatheory.sampling.Dataset` (THEORY D3, T1, T2, T4b).

Each trainer returns a :class:`Trained`: the :class:`~jepatheory.model.Embeddings`
``(z, h)`` and a :class:`TrainLog` (loss curve, steps, seconds).

* :func:`train_erm` -- exact ERM: truncated SVD of the plug-in :math:`\hat T` (T4b), which
  minimizes the plug-in loss :math:`\|\hat T-\hat\Phi\hat\Psi^\top\|_F^2-\|\hat T\|_F^2`
  over all rank-k (z, h) (T2 applied to :math:`\hat T`); tabular only.
* :func:`train_spectral` -- minibatch Adam on the U-statistic spectral loss of D3 with
  in-batch negatives, :math:`\hat L_B = -\frac2B\sum_i z_i\cdot h_i
  + \frac1{B(B-1)}\sum_{i\ne j}(z_i\cdot h_j)^2`, gradients
  :math:`\partial_Z = -\frac2B H + \frac{2}{B(B-1)}(Z H^\top H - \mathrm{diag}(d) H)`,
  :math:`d_i = z_i\cdot h_i` (and symmetrically for H).
* :func:`train_jepa` -- the practical JEPA: l2 prediction loss :math:`\|z - \bar h(s')\|^2`
  against an EMA target encoder :math:`\bar h` under stop-gradient, the online target
  encoder pulled toward the (stopped) prediction, and a VICReg-style regularizer
  :math:`\lambda\|E_B[hh^\top]-I_k\|_F^2` (its diagonal is the variance term, its
  off-diagonal the covariance term; uncentred because the whitening of D3 is
  :math:`E_q[hh^\top]=I_k` and the top singular function of T is constant, F1). Under the
  constraint C1 gives :math:`L_2 = L + k`.
* :func:`train_tied` -- tied encoder: :math:`z(s,a) = W_a^\top f(s)`, target
  :math:`h = \bar f` (EMA of f), same loss (the constrained architecture of T6).
* :func:`train_collapse` -- the l2 loss with gradients into both sides and no anti-collapse
  term: minimized by constant (here: zero) embeddings (D3, collapse); the log records the
  singular values of :math:`E_q[hh^\top]` shrinking.

Optimizer: Adam (beta1 0.9, beta2 0.999, eps 1e-8) with a constant step for the first half
and a linear decay to 0 over the second half. Tables (tabular encoders) are updated
*lazily* by default: only rows present in the minibatch have their moments and values
updated, with the global step in the bias correction (the semantics of
``torch.optim.SparseAdam`` / LazyAdam). This differs from dense Adam only on rows absent
from the batch, where dense Adam keeps moving a row along its decaying momentum; rows in the
batch get identical updates. ``optimizer="dense"`` gives the dense semantics (and is the
baseline of ``jepatheory bench train``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._results import Result
from ..cooccurrence import CoOccurrence
from ..errors import ShapeError
from ..mdp import MDP
from ..model import Embeddings, empirical_loss, truncated_embeddings
from ..sampling import Dataset, empirical_cooccurrence
from ..spine import mdp_of
from .encoders import Encoder, SparseRows, make_encoder

__all__ = ["TRAINERS", "TrainLog", "Trained", "Adam", "train", "train_erm", "train_spectral",
           "train_jepa", "train_tied", "train_collapse", "spectral_batch_grad"]

TRAINERS = ("erm", "spectral", "jepa", "tied", "collapse")


@dataclass(frozen=True, repr=False)
class TrainLog(Result):
    """What a trainer did: ``loss_curve`` holds ``(step, minibatch loss)`` averaged over
    windows, ``eval_curve`` ``(step, seconds, full-data U-statistic loss)`` when evaluated."""

    trainer: str
    encoder: str
    k: int
    steps: int
    seconds: float
    loss: float
    loss_curve: list[tuple[int, float]] = field(default_factory=list)
    eval_curve: list[tuple[int, float, float]] = field(default_factory=list)
    n_params: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    _hidden = ("loss_curve", "eval_curve", "extra")


@dataclass(frozen=True, repr=False)
class Trained(Result):
    emb: Embeddings
    log: TrainLog

    _hidden = ("emb",)
    _no_export = ("emb",)


class Adam:
    """Adam over a dict of parameters; :class:`SparseRows` gradients are applied lazily
    (see the module docstring), dense gradients densely."""

    def __init__(self, params: dict[str, NDArray], lr: float, beta1: float = 0.9,
                 beta2: float = 0.999, eps: float = 1e-8, dense: bool = False):
        self.params, self.lr, self.b1, self.b2, self.eps = params, lr, beta1, beta2, eps
        self.dense = dense
        self.m = {n: np.zeros_like(p) for n, p in params.items()}
        self.v = {n: np.zeros_like(p) for n, p in params.items()}
        self.t = 0

    def step(self, grads: dict[str, Any], lr: float | None = None) -> None:
        self.t += 1
        lr = self.lr if lr is None else lr
        c1, c2 = 1 - self.b1**self.t, 1 - self.b2**self.t
        step = lr * np.sqrt(c2) / c1
        eps = self.eps * np.sqrt(c2)  # so that the update is lr mhat / (sqrt(vhat) + eps)
        for name, g in grads.items():
            p, m, v = self.params[name], self.m[name], self.v[name]
            if isinstance(g, SparseRows) and not self.dense:
                r, gv = g.rows, g.values
                mr = self.b1 * m[r] + (1 - self.b1) * gv
                vr = self.b2 * v[r] + (1 - self.b2) * gv * gv
                m[r], v[r] = mr, vr
                p[r] -= step * mr / (np.sqrt(vr) + eps)
                continue
            if isinstance(g, SparseRows):  # dense semantics: scatter into a full gradient
                full = np.zeros_like(p)
                full[g.rows] = g.values
                g = full
            m *= self.b1
            m += (1 - self.b1) * g
            v *= self.b2
            v += (1 - self.b2) * g * g
            p -= step * m / (np.sqrt(v) + eps)


def _lr_at(step: int, steps: int, lr: float) -> float:
    half = steps // 2
    return lr if step < half else lr * max(steps - step, 1) / max(steps - half, 1)


def spectral_batch_grad(Z: NDArray, H: NDArray) -> tuple[float, NDArray, NDArray]:
    r"""Minibatch U-statistic spectral loss (D3) and its gradients in Z and H."""
    B = Z.shape[0]
    d = np.einsum("ij,ij->i", Z, H)
    ZZ, HH = Z.T @ Z, H.T @ H
    quad = float(np.sum(ZZ * HH) - d @ d)
    loss = -2 * float(d.sum()) / B + quad / (B * (B - 1))
    c = 2.0 / (B * (B - 1))
    gZ = -2.0 / B * H + c * (Z @ HH - d[:, None] * H)
    gH = -2.0 / B * Z + c * (H @ ZZ - d[:, None] * Z)
    return loss, gZ, gH


def _check_common(ds: Dataset, mdp: MDP, k: int, steps: int | None = None) -> None:
    if steps is not None and (isinstance(steps, bool) or int(steps) != steps or steps < 1):
        raise ShapeError(f"steps = {steps!r} must be a positive integer (gradient training "
                         "takes at least one step)")
    if ds.n_states != mdp.n_states or ds.n_actions != mdp.n_actions:
        raise ShapeError(f"dataset is for ({ds.n_states}, {ds.n_actions}) states/actions, "
                         f"the MDP has ({mdp.n_states}, {mdp.n_actions})")
    if int(k) != k or k < 1:
        raise ShapeError(f"k = {k!r} must be a positive integer")
    if ds.n < 2:
        raise ShapeError(f"dataset: n = {ds.n} transitions; training needs at least 2")


def train_erm(C: CoOccurrence | MDP, ds: Dataset, k: int, encoder: str = "tabular",
              C_hat: CoOccurrence | None = None, **_: Any) -> Trained:
    """Exact ERM (T2 on :math:`\\hat T`): instant, tabular only. ``C_hat``: the plug-in
    :func:`~jepatheory.sampling.empirical_cooccurrence` of ``ds``, if already built."""
    mdp = mdp_of("train_erm", C)
    _check_common(ds, mdp, k)
    if encoder != "tabular":
        raise ShapeError(f"trainer 'erm' is the truncated SVD of the plug-in T_hat: encoder "
                         f"must be 'tabular', got {encoder!r} (use 'spectral' for {encoder})")
    t0 = time.perf_counter()
    Chat = empirical_cooccurrence(mdp, ds) if C_hat is None else C_hat
    kk = min(k, Chat.n_left, Chat.n_right)
    emb = truncated_embeddings(Chat, kk)
    if kk < k:  # rank of T_hat below k: pad with zero columns
        pad = lambda a: np.hstack([a, np.zeros((a.shape[0], k - kk))])  # noqa: E731
        emb = Embeddings(pad(emb.z), pad(emb.h))
    sec = time.perf_counter() - t0
    loss = -float(np.sum(Chat.spectrum(kk).singular_values[:kk] ** 2))
    return Trained(emb, TrainLog("erm", "tabular", k, 0, sec, loss, [(0, loss)], [],
                                 k * (Chat.n_left + Chat.n_right),
                                 extra=dict(plugin_loss=loss)))


def _batches(ds: Dataset, batch: int, steps: int, rng: np.random.Generator):
    B = min(batch, ds.n)
    for _ in range(steps):
        idx = rng.integers(0, ds.n, B)
        yield ds.s[idx], ds.a[idx], ds.s2[idx]


class _Curve:
    def __init__(self, every: int):
        self.every, self.acc, self.cnt, self.points = max(every, 1), 0.0, 0, []

    def add(self, step: int, loss: float) -> None:
        self.acc += loss
        self.cnt += 1
        if self.cnt == self.every:
            self.points.append((step + 1, self.acc / self.cnt))
            self.acc, self.cnt = 0.0, 0


def train_spectral(C: CoOccurrence | MDP, ds: Dataset, k: int, encoder: str = "tabular", *,
                   steps: int = 3000, batch: int = 1024, lr: float = 0.02, seed: int = 0,
                   optimizer: str = "lazy", eval_every: int = 0,
                   target_loss: float | None = None, init_scale: float = 0.1,
                   **_: Any) -> Trained:
    r"""Minibatch Adam on the U-statistic spectral loss with in-batch negatives.

    ``eval_every > 0`` evaluates the full-data U-statistic :math:`\hat L_n`
    (:func:`~jepatheory.model.empirical_loss`) every so many steps; with ``target_loss`` the
    run stops at the first evaluation at or below it (time-to-loss measurements); the
    reported times exclude the evaluations."""
    mdp = mdp_of("train_spectral", C)
    _check_common(ds, mdp, k, steps)
    if optimizer not in ("lazy", "dense"):
        raise ShapeError(f"optimizer {optimizer!r}: use 'lazy' or 'dense'")
    rng = np.random.default_rng(seed)
    fz = make_encoder(encoder, mdp, k, mdp.n_actions, rng, scale=init_scale)
    fh = make_encoder(encoder, mdp, k, 1, rng, scale=init_scale)
    dense = optimizer == "dense"
    opt_z, opt_h = Adam(fz.params, lr, dense=dense), Adam(fh.params, lr, dense=dense)
    curve, evals = _Curve(max(steps // 100, 1)), []
    pair, s2 = ds.pair, ds.s2
    t0 = time.perf_counter()
    done, eval_sec = 0, 0.0
    for step, (s, a, sn) in enumerate(_batches(ds, batch, steps, rng)):
        Z, cz = fz.forward(s, a)
        H, ch = fh.forward(sn)
        loss, gZ, gH = spectral_batch_grad(Z, H)
        lr_t = _lr_at(step, steps, lr)
        opt_z.step(fz.backward(cz, gZ), lr_t)
        opt_h.step(fh.backward(ch, gH), lr_t)
        curve.add(step, loss)
        done = step + 1
        if eval_every and done % eval_every == 0:
            te = time.perf_counter()
            full = empirical_loss(fz.full(), fh.full(), pair, s2)
            evals.append((done, te - t0 - eval_sec, full))
            eval_sec += time.perf_counter() - te
            if target_loss is not None and full <= target_loss:
                break
    sec = time.perf_counter() - t0 - eval_sec  # training time, evaluations excluded
    emb = Embeddings(fz.full(), fh.full())
    final = evals[-1][2] if evals else (curve.points[-1][1] if curve.points else loss)
    return Trained(emb, TrainLog("spectral", encoder, k, done, sec, float(final), curve.points,
                                 evals, fz.n_params + fh.n_params,
                                 extra=dict(optimizer=optimizer, batch=batch, lr=lr)))


def _second_moment_reg(H: NDArray) -> tuple[float, NDArray]:
    """:math:`\\|H^\\top H/B - I\\|_F^2` and its gradient in H."""
    B, k = H.shape
    M = H.T @ H / B - np.eye(k)
    return float(np.sum(M * M)), (4.0 / B) * H @ M


def _ema(target: Encoder, online: Encoder, tau: float) -> None:
    for n, p in online.params.items():
        target.params[n] *= tau
        target.params[n] += (1 - tau) * p


def _l2_family(mdp: MDP, ds: Dataset, k: int, encoder: str, *, name: str, tied: bool,
               reg: float, stop_grad: bool, steps: int, batch: int, lr: float, seed: int,
               tau: float, init_scale: float) -> Trained:
    _check_common(ds, mdp, k, steps)
    rng = np.random.default_rng(seed)
    m = mdp.n_actions
    if tied:
        f = make_encoder(encoder, mdp, k, 1, rng, scale=max(init_scale, 0.5))
        W = np.tile(np.eye(k), (m, 1, 1)) + 0.01 * rng.standard_normal((m, k, k))
        fz, fh = f, f
        params_z = {"W": W}
    else:
        fz = make_encoder(encoder, mdp, k, m, rng, scale=init_scale)
        fh = make_encoder(encoder, mdp, k, 1, rng, scale=max(init_scale, 0.5))
        params_z = fz.params
    target = fh.copy()
    opt_z = Adam(params_z, lr)
    opt_h = Adam(fh.params, lr)
    curve = _Curve(max(steps // 100, 1))
    t0 = time.perf_counter()
    for step, (s, a, sn) in enumerate(_batches(ds, batch, steps, rng)):
        B = s.size
        Ht, ch_online = fh.forward(sn)            # online target-side encoder at s'
        Hbar = target.forward(sn)[0] if stop_grad else Ht
        if tied:
            F, cf = f.forward(s)
            Z = np.einsum("bi,bij->bj", F, W[a])
        else:
            Z, cz = fz.forward(s, a)
        diff = Z - Hbar
        pred = float(np.sum(diff * diff)) / B
        gZ = 2.0 * diff / B
        r_val, gH_reg = _second_moment_reg(Ht) if reg > 0 else (0.0, 0.0)
        # online h: pulled toward the (stopped) prediction, plus the regularizer
        if tied:  # BYOL-style: f learns only through the predictor path (and the regularizer)
            gH = reg * gH_reg + np.zeros_like(Ht)
        else:
            gH = (-gZ if not stop_grad else 2.0 * (Ht - Z) / B) + reg * gH_reg
        lr_t = _lr_at(step, steps, lr)
        if tied:
            gW = np.zeros_like(W)
            for j in range(m):
                mask = a == j
                gW[j] = F[mask].T @ gZ[mask]
            gF = np.einsum("bj,bij->bi", gZ, W[a])
            grads_f = f.backward(cf, gF)
            grads_h = fh.backward(ch_online, gH)
            merged = {n: _add_grads(grads_f[n], grads_h[n]) for n in grads_f}
            opt_z.step({"W": gW}, lr_t)
            opt_h.step(merged, lr_t)
        else:
            opt_z.step(fz.backward(cz, gZ), lr_t)
            opt_h.step(fh.backward(ch_online, gH), lr_t)
        if stop_grad:
            _ema(target, fh, tau)
        curve.add(step, pred + reg * r_val)
    sec = time.perf_counter() - t0
    h_enc = target if stop_grad else fh
    h_full = h_enc.full()
    if tied:
        F_all = f.full()
        z_full = np.einsum("si,aij->saj", F_all, W).reshape(-1, k)
    else:
        z_full = fz.full()
    q_hat = ds.q_hat()
    M = h_full.T @ (q_hat[:, None] * h_full)
    extra = dict(second_moment_eigs=np.sort(np.linalg.eigvalsh(M))[::-1].tolist(),
                 reg=reg, tau=tau, stop_grad=stop_grad, tied=tied)
    n_params = fh.n_params + (W.size if tied else fz.n_params)
    return Trained(Embeddings(z_full, h_full),
                   TrainLog(name, encoder, k, steps, sec, float(curve.points[-1][1]),
                            curve.points, [], n_params, extra))


def _add_grads(g1: Any, g2: Any) -> Any:
    if isinstance(g1, SparseRows) and isinstance(g2, SparseRows):
        idx = np.concatenate([g1.rows, g2.rows])
        from .encoders import scatter_rows
        return scatter_rows(idx, np.vstack([g1.values, g2.values]))
    return g1 + g2


def train_jepa(C: CoOccurrence | MDP, ds: Dataset, k: int, encoder: str = "tabular", *,
               steps: int = 3000, batch: int = 1024, lr: float = 0.01, seed: int = 0,
               reg: float = 1.0, tau: float = 0.99, init_scale: float = 0.1, **_: Any) -> Trained:
    """Whitened l2 JEPA: EMA target, stop-gradient, VICReg-style second-moment term."""
    return _l2_family(mdp_of("train_jepa", C), ds, k, encoder, name="jepa",
                      tied=False, reg=reg, stop_grad=True,
                      steps=steps, batch=batch, lr=lr, seed=seed, tau=tau,
                      init_scale=init_scale)


def train_tied(C: CoOccurrence | MDP, ds: Dataset, k: int, encoder: str = "tabular", *,
               steps: int = 3000, batch: int = 1024, lr: float = 0.01, seed: int = 0,
               reg: float = 1.0, tau: float = 0.99, init_scale: float = 0.1, **_: Any) -> Trained:
    """Tied encoder: target = EMA of the context encoder, linear predictor per action."""
    return _l2_family(mdp_of("train_tied", C), ds, k, encoder, name="tied",
                      tied=True, reg=reg, stop_grad=True,
                      steps=steps, batch=batch, lr=lr, seed=seed, tau=tau,
                      init_scale=init_scale)


def train_collapse(C: CoOccurrence | MDP, ds: Dataset, k: int, encoder: str = "tabular", *,
                   steps: int = 3000, batch: int = 1024, lr: float = 0.01, seed: int = 0,
                   init_scale: float = 0.1, **_: Any) -> Trained:
    """The l2 loss with no anti-collapse term and gradients into both sides (D3)."""
    return _l2_family(mdp_of("train_collapse", C), ds, k, encoder, name="collapse",
                      tied=False, reg=0.0,
                      stop_grad=False, steps=steps, batch=batch, lr=lr, seed=seed, tau=0.0,
                      init_scale=max(init_scale, 0.5))


_TRAIN = dict(erm=train_erm, spectral=train_spectral, jepa=train_jepa, tied=train_tied,
              collapse=train_collapse)


def train(name: str, C: CoOccurrence | MDP, ds: Dataset, k: int, encoder: str = "tabular",
          **kw: Any) -> Trained:
    """Dispatch to ``train_<name>``."""
    if name not in _TRAIN:
        raise ShapeError(f"unknown trainer {name!r}; known: {', '.join(TRAINERS)}")
    return _TRAIN[name](C, ds, k, encoder, **kw)
