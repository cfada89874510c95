"""Gradient training speed: lazy vs dense Adam throughput, and exact ERM vs gradient
training time to equal loss (THEORY D3, T2, T4b).

1. Throughput (transitions/s) of minibatch Adam on the U-statistic spectral loss, tabular
   encoders on an N-state grid (default N = 1e4, k = 16 and 64, batch 1024, one BLAS
   thread), with the lazy row-wise Adam of :mod:`jepatheory.sim.trainers` against the
   straightforward dense-Adam step (same gradient, every row's moments and values updated
   every step), measured in the same run. Semantics: lazy Adam (torch SparseAdam/LazyAdam)
   updates exactly the rows present in the batch, as dense Adam does for those rows; rows
   absent from the batch keep their moments and values (dense Adam would keep moving them
   along their decaying momentum).
2. Time to equal loss on four-rooms (the default environment): exact ERM (plug-in T_hat and
   its truncated SVD) against gradient training until the full-data U-statistic loss is
   within 1% of the ERM's (evaluation time excluded).
3. With the ``torch`` extra: the torch MLP JEPA (``jepatheory.torch``, spectral loss,
   torch Adam, float32, one thread) against the NumPy MLP path (``encoder="mlp"``, float64,
   hand-written gradients, one BLAS thread) on a 10^4-state feature MDP (block MDP, 25 x 25
   latent grid, 16 observations each, d_x = 16), steps/s in the same run. The two MLPs are
   not the same network (NumPy: one tanh layer with a head per action; torch: a two-layer
   encoder and a residual predictor on [f(x); onehot(a)]); both hidden width 64.
4. The audit (:func:`jepatheory.audit.audit`) of a k = 64 model on a 10^5-state grid, from a
   fresh CoOccurrence (the sparse top-64 spectrum of T included; per-action spectra and the
   dense ladder are skipped at this size); goal <= 30 s.
"""
from __future__ import annotations

import argparse
import time
from typing import Any

from .._threads import blas_threads_for_children
from .._results import table
from ..cli._common import print_json



def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--n-states", type=int, default=10_000, help="grid states N (square grid)")
    p.add_argument("--ks", default="16,64", help="latent dimensions for the throughput")
    p.add_argument("--batch", type=int, default=1024, help="minibatch size")
    p.add_argument("--steps", type=int, default=100, help="steps per throughput measurement "
                   "(best of 3 interleaved repeats)")
    p.add_argument("--erm-k", default="8,16", help="k values for time-to-ERM-loss")
    p.add_argument("--erm-n", type=int, default=50_000, help="transitions for time-to-loss")
    p.add_argument("--torch-steps", type=int, default=100, help="steps per torch/NumPy MLP "
                   "throughput measurement (0 skips part 3)")
    p.add_argument("--audit-states", type=int, default=100_000,
                   help="states of the audited grid (0 skips part 4)")
    p.add_argument("--quick", action="store_true", help="smaller run (N = 2500, 100 steps)")


def _throughput(n_states: int, ks: list[int], batch: int, steps: int, seed: int,
                repeats: int = 3) -> list[dict[str, Any]]:
    import math

    from ..data import uniform_nu
    from ..envs import make_env
    from ..sampling import sample_transitions
    from ..sim.trainers import train_spectral
    side = int(round(math.sqrt(n_states)))
    mdp = make_env("grid", width=side, height=side, slip=0.2)
    ds = sample_transitions(mdp, uniform_nu(mdp), 200_000, seed)
    rows = []
    for k in ks:
        res = {"dense": float("inf"), "lazy": float("inf")}
        for _ in range(repeats):  # interleaved; the best of the repeats (like timeit)
            for opt in ("dense", "lazy"):
                tr = train_spectral(mdp, ds, k, steps=steps, batch=batch, seed=seed,
                                    optimizer=opt)
                res[opt] = min(res[opt], tr.log.seconds)
        rows.append(dict(k=k, N=mdp.n_states, batch=batch, steps=steps, repeats=repeats,
                         dense_steps_per_s=steps / res["dense"],
                         lazy_steps_per_s=steps / res["lazy"],
                         dense_transitions_per_s=steps * batch / res["dense"],
                         lazy_transitions_per_s=steps * batch / res["lazy"],
                         speedup=res["dense"] / res["lazy"]))
    return rows


def _time_to_erm(ks: list[int], n: int, seed: int) -> list[dict[str, Any]]:
    from ..data import uniform_nu
    from ..envs import make_env
    from ..model import empirical_loss, truncated_embeddings
    from ..sampling import empirical_cooccurrence, sample_transitions
    from ..sim.trainers import train_spectral
    mdp = make_env("four-rooms")
    ds = sample_transitions(mdp, uniform_nu(mdp), n, seed)
    rows = []
    for k in ks:
        reps = 5
        t0 = time.perf_counter()
        for _ in range(reps):
            emb = truncated_embeddings(empirical_cooccurrence(mdp, ds), k)
        t_erm = (time.perf_counter() - t0) / reps
        L_erm = empirical_loss(emb.z, emb.h, ds.pair, ds.s2)
        target = L_erm + 0.01 * abs(L_erm)
        tr = train_spectral(mdp, ds, k, steps=4000, seed=seed, eval_every=25,
                            target_loss=target)
        reached = [e for e in tr.log.eval_curve if e[2] <= target]
        t_grad = reached[0][1] if reached else float("inf")
        final = tr.log.eval_curve[-1][2]
        rows.append(dict(env="four-rooms", k=k, n=n, erm_loss=L_erm,
                         gradient_loss=final, gap_percent=100 * (final - L_erm) / abs(L_erm),
                         erm_seconds=t_erm, gradient_seconds=t_grad,
                         gradient_steps=reached[0][0] if reached else tr.log.steps,
                         ratio=t_grad / t_erm))
    return rows


def _torch_vs_numpy_mlp(steps: int, batch: int, seed: int, quick: bool) -> list[dict[str, Any]]:
    import importlib.util
    if steps <= 0 or importlib.util.find_spec("torch") is None:
        return []
    from ..data import uniform_nu
    from ..envs import make_env
    from ..sampling import sample_transitions
    from ..sim.trainers import train_spectral
    from ..torch import train_torch
    side = 10 if quick else 25
    mdp = make_env("block-mdp", latent_width=side, latent_height=side, obs_per_latent=16)
    ds = sample_transitions(mdp, uniform_nu(mdp), 100_000, seed)
    rows = []
    for k in (16,):
        t_np = t_torch = float("inf")
        for _ in range(3):  # interleaved, best of 3
            a = train_spectral(mdp, ds, k, "mlp", steps=steps, batch=batch, seed=seed,
                               lr=0.01)
            t_np = min(t_np, a.log.seconds)
            b = train_torch("spectral", mdp, ds, k, "mlp", steps=steps, batch=batch,
                            seed=seed, lr=0.01, device="cpu")
            t_torch = min(t_torch, b.log.seconds)
        rows.append(dict(N=mdp.n_states, d_x=16, k=k, batch=batch, steps=steps,
                         numpy_mlp_steps_per_s=steps / t_np,
                         torch_mlp_steps_per_s=steps / t_torch,
                         torch_over_numpy=t_np / t_torch))
    return rows


def _audit_speed(n_states: int, seed: int) -> list[dict[str, Any]]:
    import math

    import numpy as np

    from ..audit import audit
    from ..cooccurrence import CoOccurrence
    from ..envs import make_env
    if n_states <= 0:
        return []
    side = int(round(math.sqrt(n_states)))
    mdp = make_env("grid", width=side, height=side, slip=0.2)
    N, m, k = mdp.n_states, mdp.n_actions, 64
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((N * m, k)) / math.sqrt(k)
    h = rng.standard_normal((N, k))
    t0 = time.perf_counter()
    res = audit(CoOccurrence(mdp), (z, h), seed=seed)
    sec = time.perf_counter() - t0
    return [dict(N=N, m=m, k=k, seconds=sec, eps=res.eps, tail_k=res.tail_k,
                 ladder=res.ladder is not None, within_30s=sec <= 30)]


def _measure(args: dict[str, Any]) -> dict[str, Any]:
    return dict(throughput=_throughput(args["n_states"], args["ks"], args["batch"],
                                       args["steps"], args["seed"]),
                time_to_erm=_time_to_erm(args["erm_ks"], args["erm_n"], args["seed"]),
                torch_mlp=_torch_vs_numpy_mlp(args["torch_steps"], args["batch"],
                                              args["seed"], args["quick"]),
                audit=_audit_speed(args["audit_states"], args["seed"]))


def run(args: argparse.Namespace) -> int:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from ..sim.sweep import parse_int_list
    cfg = dict(n_states=2500 if args.quick else args.n_states,
               ks=parse_int_list(args.ks, "--ks"), batch=args.batch,
               steps=30 if args.quick else args.steps,
               erm_ks=parse_int_list(args.erm_k, "--erm-k"),
               erm_n=args.erm_n, seed=args.seed,
               torch_steps=30 if args.quick else args.torch_steps,
               audit_states=10_000 if args.quick else args.audit_states, quick=args.quick)
    for name in ("torch_steps", "audit_states"):
        if cfg[name] < 0:
            from ..errors import ShapeError
            raise ShapeError(f"--{name.replace('_', '-')} {cfg[name]}: must be >= 0")
    with blas_threads_for_children(1, override=True):  # the measurement runs in a fresh
        with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as ex:  # process
            out = ex.submit(_measure, cfg).result()
    out["goals"] = dict(
        throughput_speedup_at_least_3=all(r["speedup"] >= 3 for r in out["throughput"]),
        erm_at_least_100x_faster=all(r["ratio"] >= 100 for r in out["time_to_erm"]),
        gradient_within_1_percent=all(r["gap_percent"] <= 1 for r in out["time_to_erm"]),
        audit_within_30s=all(r["within_30s"] for r in out["audit"]))
    out["config"] = cfg
    if args.json:
        print_json(out)
        return 0
    print("Throughput: minibatch Adam on the spectral loss, tabular, one BLAS thread "
          "(lazy row-wise Adam vs dense Adam, same run)")
    print(table(out["throughput"]))
    print("\nTime to equal loss on four-rooms (gradient stops within 1% of the ERM loss)")
    print(table(out["time_to_erm"]))
    if out["torch_mlp"]:
        print("\nTorch MLP JEPA vs the NumPy MLP path (spectral loss, same data, same run)")
        print(table(out["torch_mlp"]))
    if out["audit"]:
        print("\nAudit of a k = 64 model (fresh CoOccurrence, spectrum of T included)")
        print(table(out["audit"]))
    print("\ngoals: " + ", ".join(f"{k_}={v}" for k_, v in out["goals"].items()))
    return 0
