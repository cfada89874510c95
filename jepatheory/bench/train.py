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


def _measure(args: dict[str, Any]) -> dict[str, Any]:
    return dict(throughput=_throughput(args["n_states"], args["ks"], args["batch"],
                                       args["steps"], args["seed"]),
                time_to_erm=_time_to_erm(args["erm_ks"], args["erm_n"], args["seed"]))


def run(args: argparse.Namespace) -> int:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from ..sim.sweep import parse_int_list
    cfg = dict(n_states=2500 if args.quick else args.n_states,
               ks=parse_int_list(args.ks, "--ks"), batch=args.batch,
               steps=30 if args.quick else args.steps,
               erm_ks=parse_int_list(args.erm_k, "--erm-k"),
               erm_n=args.erm_n, seed=args.seed)
    with blas_threads_for_children(1, override=True):  # the measurement runs in a fresh
        with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as ex:  # process
            out = ex.submit(_measure, cfg).result()
    out["goals"] = dict(
        throughput_speedup_at_least_3=all(r["speedup"] >= 3 for r in out["throughput"]),
        erm_at_least_100x_faster=all(r["ratio"] >= 100 for r in out["time_to_erm"]),
        gradient_within_1_percent=all(r["gap_percent"] <= 1 for r in out["time_to_erm"]))
    out["config"] = cfg
    if args.json:
        print_json(out)
        return 0
    print("Throughput: minibatch Adam on the spectral loss, tabular, one BLAS thread "
          "(lazy row-wise Adam vs dense Adam, same run)")
    print(table(out["throughput"]))
    print("\nTime to equal loss on four-rooms (gradient stops within 1% of the ERM loss)")
    print(table(out["time_to_erm"]))
    print("\ngoals: " + ", ".join(f"{k_}={v}" for k_, v in out["goals"].items()))
    return 0
