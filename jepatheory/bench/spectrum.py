r"""Spectrum of T on the 4-action slip grid: time, memory and proved accuracy.

Builds the open ``sqrt(N) x sqrt(N)`` grid (``jepatheory.envs.grid``, uniform nu), times
building T, the certified top-k spectrum and tail_k, and reports the achieved accuracy
three ways: the residual (Weyl) bounds, the certificate (no value skipped, with its failure
probability), and the error against the exact spectrum of the slip grid, which is
separable (:func:`slip_grid_singular_values`; used only as the reference, never as the
method). Peak memory is the process high-water mark (``ru_maxrss``) measured right after
the large run. Then, at ``--hand-states`` states, the same spectrum side by side with the
route a user would write by hand: a NetworkX graph of the transitions, its dense
biadjacency matrix, and ``numpy.linalg.svd``.
"""
from __future__ import annotations

import argparse
import math
import os
import resource
import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._factor import BACKENDS, pardiso_available
from .._results import table
from ..closed_forms import slip_grid_singular_values
from ..cooccurrence import CoOccurrence
from ..envs import grid
from ..errors import EnvParameterError
from ..spectrum import top_singular

#: targets of the issue: seconds and GiB at N = 1e6, relative error, speed-up at N = 1e4
TARGETS = dict(seconds=60.0, gib=6.0, rel_error=1e-6, hand_ratio=100.0)


def _side(n_states: int) -> int:
    side = int(round(math.sqrt(n_states)))
    if side < 2:
        raise EnvParameterError(f"bench spectrum: --n-states {n_states} must be >= 4")
    return side


def _rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def measure(n_states: int, k: int, slip: float, seed: int,
            factorization: str = "auto") -> dict[str, Any]:
    """Build T, compute the certified top-k spectrum and tail_k; compare with the exact
    spectrum of the slip grid."""
    side = _side(n_states)
    c0, t0 = time.process_time(), time.perf_counter()
    mdp = grid(side, side, slip=slip)
    C = CoOccurrence(mdp)
    t_build = time.perf_counter() - t0
    c1, t1 = time.process_time(), time.perf_counter()
    spec = top_singular(C.T, k, seed=seed, factorization=factorization)
    t_spec = time.perf_counter() - t1
    t2 = time.perf_counter()
    tail_k = spec.tail_k(k)
    t_tail = time.perf_counter() - t2
    c2 = time.process_time()
    rss = _rss_gib()
    X = np.random.default_rng(seed).standard_normal((C.T.shape[1], k))
    t3 = time.perf_counter()
    C.T @ X  # the floor: one product of T with k columns
    t_floor = time.perf_counter() - t3
    ref = slip_grid_singular_values(side, side, slip)
    fro_ref = float(np.sum(ref**2))
    tail_ref = float(np.sum(ref[k:] ** 2))
    s = spec.singular_values
    cert = spec.certificate
    bound = np.asarray(cert.get("sigma_error_bound", [math.inf] * k), dtype=float)
    rel_err = float(np.max(np.abs(s - ref[:k]) / ref[:k])) if k else 0.0
    return dict(
        n_states=side * side, side=side, k=k, slip=slip, nnz_T=int(C.T.nnz),
        shape_T=list(C.T.shape), build_T_seconds=t_build, spectrum_seconds=t_spec,
        tail_seconds=t_tail, total_seconds=t_build + t_spec + t_tail, peak_rss_gib=rss,
        floor_TX_seconds=t_floor, spectrum_over_floor=t_spec / max(t_floor, 1e-9),
        cpu_seconds=dict(build_T=c1 - c0, spectrum_and_tail=c2 - c1, total=c2 - c0),
        load_average=os.getloadavg()[0],
        method=spec.method, certified=spec.certified,
        failure_probability=cert.get("failure_probability"),
        factorization=cert.get("factorization"), pardiso_installed=pardiso_available(),
        factor_seconds=cert.get("factor_seconds"), factor_nnz=cert.get("factor_nnz"),
        shift=cert.get("shift"),
        shift_definite_by=[f.get("definite_by") for f in cert.get("factorizations", [])],
        krylov=cert.get("attempts"),
        check={key: cert.get("check", {}).get(key) for key in
               ("by", "p", "block_residual", "lanczos_steps", "lambda_next_upper",
                "theta_p_minus_residual", "skip_detected", "eigenvalues_above_cut",
                "inertia_seconds", "margin")},
        max_residual=spec.max_error,
        max_certified_error=float(bound.max()) if bound.size else 0.0,
        max_rel_error_vs_exact=rel_err,
        tail=tail_k, tail_exact=tail_ref, tail_rel_error=abs(tail_k - tail_ref) / tail_ref,
        frobenius_sq=spec.frobenius_sq,
        frobenius_rel_error=abs(spec.frobenius_sq - fro_ref) / fro_ref,
        singular_values=s.tolist(), exact=ref[:k].tolist(),
        min_gap_in_top=float(np.min(ref[:k] - ref[1:k + 1])) if k else 0.0,
    )


def hand_route(T: Any, k: int) -> NDArray[np.float64]:
    """What a user writes by hand: a NetworkX graph (edge (s,a) -> s' weighted by T), its
    dense biadjacency matrix, and numpy's SVD."""
    import networkx as nx
    from networkx.algorithms import bipartite

    coo = T.tocoo()
    g = nx.Graph()
    rows = [("sa", int(i)) for i in range(T.shape[0])]
    cols = [("s", int(j)) for j in range(T.shape[1])]
    g.add_nodes_from(rows, bipartite=0)
    g.add_nodes_from(cols, bipartite=1)
    g.add_weighted_edges_from((("sa", int(i)), ("s", int(j)), float(w))
                              for i, j, w in zip(coo.row, coo.col, coo.data))
    A = bipartite.biadjacency_matrix(g, rows, cols, weight="weight").toarray()
    return np.linalg.svd(A, compute_uv=False)[:k]


def compare_hand(n_states: int, k: int, slip: float, seed: int) -> dict[str, Any]:
    """Build T and its certified top-k spectrum vs the hand route, side by side."""
    side = _side(n_states)
    c0, t0 = time.process_time(), time.perf_counter()
    C = CoOccurrence(grid(side, side, slip=slip))
    spec = top_singular(C.T, k, seed=seed)
    ours, ours_cpu = time.perf_counter() - t0, time.process_time() - c0
    c1, t1 = time.process_time(), time.perf_counter()
    C2 = CoOccurrence(grid(side, side, slip=slip))
    s_hand = hand_route(C2.T, k)
    hand, hand_cpu = time.perf_counter() - t1, time.process_time() - c1
    return dict(n_states=side * side, ours_seconds=ours, ours_method=spec.method,
                ours_certified=spec.certified, hand_seconds=hand, ratio=hand / ours,
                ours_cpu_seconds=ours_cpu, hand_cpu_seconds=hand_cpu,
                cpu_ratio=hand_cpu / max(ours_cpu, 1e-9),
                max_abs_diff=float(np.max(np.abs(spec.singular_values - s_hand))))


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--n-states", type=int, default=1_000_000,
                   help="grid states N (width = height = sqrt(N))")
    p.add_argument("--k", type=int, default=16, help="number of singular values")
    p.add_argument("--slip", type=float, default=0.1, help="grid slip probability")
    p.add_argument("--hand-states", type=int, default=10_000,
                   help="size of the side-by-side run against the hand route (0: skip)")
    p.add_argument("--factorization", choices=list(BACKENDS), default="auto",
                   help="factorization of s0 I - G (auto: PARDISO when the 'fast' extra is "
                        "installed, else SuperLU); run twice to compare")
    p.add_argument("--quick", action="store_true",
                   help="small fast run (N = 2500, hand route at N = 400)")
    p.epilog = ("examples:\n  jepatheory bench spectrum --quick\n"
                "  jepatheory bench spectrum --n-states 1000000 --k 16 --json")


def _certificate_words(big: dict) -> str:
    chk = big["check"]
    if chk.get("by") == "inertia":
        return (f"certificate: inertia count {chk['eigenvalues_above_cut']} = p above the cut "
                f"({chk['inertia_seconds']:.1f} s, deterministic)")
    return f"certificate Lanczos steps {chk.get('lanczos_steps')}"


def run(args: argparse.Namespace) -> int:
    from ..cli._common import print_json, say

    n, hand_n = (2500, 400) if args.quick else (args.n_states, args.hand_states)
    big = measure(n, args.k, args.slip, args.seed, args.factorization)
    out: dict[str, Any] = dict(
        large=big, targets=TARGETS,
        threads=dict(cpus=os.cpu_count(),
                     OPENBLAS_NUM_THREADS=os.environ.get("OPENBLAS_NUM_THREADS"),
                     OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS")))
    if hand_n:
        out["hand"] = compare_hand(hand_n, args.k, args.slip, args.seed)
    out["meets"] = dict(
        seconds=big["total_seconds"] <= TARGETS["seconds"],
        gib=big["peak_rss_gib"] <= TARGETS["gib"],
        rel_error=big["max_rel_error_vs_exact"] <= TARGETS["rel_error"]
        and big["max_certified_error"] <= TARGETS["rel_error"],
        hand_ratio=(out["hand"]["ratio"] >= TARGETS["hand_ratio"]) if hand_n else None)
    if args.json:
        print_json(out)
        return 0
    say(args, f"slip grid {big['side']}x{big['side']} (N = {big['n_states']}), k = {args.k}, "
              f"T {big['shape_T'][0]}x{big['shape_T'][1]}, nnz {big['nnz_T']}")
    rows = [dict(step="build T", seconds=big["build_T_seconds"]),
            dict(step=f"top-{args.k} spectrum ({big['method']})",
                 seconds=big["spectrum_seconds"]),
            dict(step=f"tail_{args.k}", seconds=big["tail_seconds"]),
            dict(step="total", seconds=big["total_seconds"]),
            dict(step=f"floor: one T @ X, {args.k} columns", seconds=big["floor_TX_seconds"])]
    say(args, table(rows))
    say(args, f"CPU time {big['cpu_seconds']['total']:.1f} s (build T "
              f"{big['cpu_seconds']['build_T']:.1f} s); load average {big['load_average']:.1f}")
    say(args, f"spectrum / floor = {big['spectrum_over_floor']:.0f} products' worth")
    if big["factor_seconds"] is not None:
        say(args, f"method {big['method']}: {big['factorization']} factorization of s0 I - G "
                  f"{big['factor_seconds']:.1f} s "
                  f"({big['factor_nnz']} stored factor entries; s0 I - G proved definite by "
                  f"{', '.join(map(str, big['shift_definite_by']))}); Krylov dimension "
                  f"{[a['krylov_dim'] for a in big['krylov']]}, {_certificate_words(big)}")
    if big["factorization"] == "superlu" and not big["pardiso_installed"]:
        say(args, "note: SuperLU factorizes on one core; the 'fast' extra (pip install "
                  "'jepatheory[fast]') adds PARDISO's multithreaded Cholesky, 2-3x faster "
                  "here")
    say(args, f"peak memory {big['peak_rss_gib']:.2f} GiB (target <= {TARGETS['gib']:g})")
    say(args, f"certified={big['certified']} (failure probability "
              f"{big['failure_probability']}); max certified error "
              f"{big['max_certified_error']:.3g}, max residual {big['max_residual']:.3g}")
    say(args, f"vs exact spectrum: max relative error {big['max_rel_error_vs_exact']:.3g} "
              f"(target <= {TARGETS['rel_error']:g}); tail_{args.k} {big['tail']:.12g} vs "
              f"{big['tail_exact']:.12g} (relative error {big['tail_rel_error']:.3g}); "
              f"smallest gap in the top {args.k + 1}: {big['min_gap_in_top']:.3g}")
    if hand_n:
        h = out["hand"]
        say(args, f"N = {h['n_states']}: ours {h['ours_seconds']:.3f} s vs hand route "
                  f"(NetworkX -> dense -> numpy SVD) {h['hand_seconds']:.3f} s: "
                  f"{h['ratio']:.1f}x faster (target >= {TARGETS['hand_ratio']:g}x; CPU time "
                  f"{h['ours_cpu_seconds']:.3f} s vs {h['hand_cpu_seconds']:.3f} s, "
                  f"{h['cpu_ratio']:.1f}x); "
                  f"max |difference| {h['max_abs_diff']:.3g}")
    say(args, "targets met: " + ", ".join(f"{k}={v}" for k, v in out["meets"].items()))
    return 0
