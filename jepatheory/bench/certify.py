"""Certificates (THEORY K3, K4): certify on four-rooms at n = 1e6, the robust fixed point at
N = 1e5 states x 4 actions (a 316 x 316 slip grid, 50 samples per pair, Weissman radius
with the successor-support bound a = 5), and select-k --suite on local workers.

Each figure is printed with a ratio to a baseline measured in the same run: for certify,
sampling the n transitions; for the robust fixed point, plain value iteration of the count
model to the same tolerance (same sparse rows, no inner problems); for the suite, one
select-k cell (four-rooms, n = 1e4) times the number of cells divided by the workers.
Targets: certify <= 10 s, robust fixed point <= 60 s, suite <= 30 minutes on 2 workers.
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np

from .._results import table


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--n", type=float, default=1e6, help="samples of the certify run")
    p.add_argument("--side", type=int, default=316, help="grid side of the robust run "
                   "(316 x 316 = 99856 states)")
    p.add_argument("--per-pair", type=int, default=50, help="samples per pair, robust run")
    p.add_argument("--support", type=int, default=5,
                   help="successor-support bound of the grid (radius with a log 2, a = 5)")
    p.add_argument("--workers", type=int, default=2, help="workers of the suite")
    p.add_argument("--suite", default="default", help="suite name (default: default)")
    p.add_argument("--no-suite", action="store_true", help="skip the suite")
    p.add_argument("--quick", action="store_true",
                   help="n = 1e5, a 60 x 60 grid and the quick suite (for tests)")


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def run(args: argparse.Namespace) -> int:
    from ..certify import certify, robust_lower, robust_upper, weissman_sets
    from ..certify.select_k import SUITE_K, run_suite, select_k, suite_cells
    from ..cli._common import print_json
    from ..cooccurrence import CoOccurrence
    from ..envs import grid, make_env
    from ..sampling import count_model, sample_transitions
    from ..solvers import value_iteration

    warnings.simplefilter("ignore")
    n = int(1e5 if args.quick else args.n)
    side = 60 if args.quick else int(args.side)
    suite = "quick" if args.quick else args.suite
    rows = []

    def note(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    fr = make_env("four-rooms")
    C = CoOccurrence(fr)
    _, base = _timed(lambda: sample_transitions(fr, C.nu, n, args.seed))
    cert, secs = _timed(lambda: certify(C, n, seed=args.seed, planner="projected", k=8))
    rows.append({"stage": f"certify four-rooms n={n:.0e}", "seconds": secs, "baseline_s": base,
                     "ratio": secs / base, "target_s": 10.0, "within": secs <= 10.0})
    note(f"  certify: {secs:.2f} s (upper/trivial {cert.upper / cert.trivial_bound:.3f})")

    g = grid(side, side, slip=0.1)
    ds = sample_transitions(g, np.full((g.n_states, g.n_actions), 1 / (g.n_states * 4)),
                            args.per_pair * g.n_states * g.n_actions, args.seed)
    U = weissman_sets(ds, 0.05, support=args.support)
    cm = count_model(g, ds)
    vi, base_vi = _timed(lambda: value_iteration(cm, tol=1e-6 * g.r_max / (1 - g.gamma)))
    up, secs_up = _timed(lambda: robust_upper(U, g))
    lo, secs_lo = _timed(lambda: robust_lower(U, g, vi.policy))
    rows.append({"stage": f"robust V_up N={g.n_states} m=4", "seconds": secs_up,
                     "baseline_s": base_vi, "ratio": secs_up / base_vi, "target_s": 60.0,
                     "within": secs_up <= 60.0})
    rows.append({"stage": f"robust V_lo^pi N={g.n_states}", "seconds": secs_lo,
                     "baseline_s": base_vi, "ratio": secs_lo / base_vi, "target_s": 60.0,
                     "within": secs_lo <= 60.0})
    note(f"  robust: V_up {secs_up:.1f} s ({up.iterations} iterations, {up.resorts} sorts), "
         f"V_lo {secs_lo:.1f} s")

    if not args.no_suite:
        cells = suite_cells(suite)
        _, cell_s = _timed(lambda: select_k(C, 10_000, SUITE_K, seed=args.seed))
        res, secs_s = _timed(lambda: run_suite(suite, workers=args.workers))
        est = cell_s * len(cells) / max(args.workers, 1)
        rows.append({"stage": f"select-k --suite {suite} ({len(cells)} cells, "
                         f"{args.workers} workers)", "seconds": secs_s, "baseline_s": est,
                         "ratio": secs_s / est, "target_s": 1800.0, "within": secs_s <= 1800.0})
        note(f"  suite: {secs_s:.1f} s; agreement {res.agreement}")
    payload = {"stages": rows, "within_target": all(r["within"] for r in rows),
                   "certify": {"upper": cert.upper, "trivial_bound": cert.trivial_bound,
                                "R0": cert.R0, "n": cert.n},
                   "robust": {"n_states": g.n_states, "n_samples": ds.n, "nnz": int(U.P_hat.nnz),
                               "iterations_up": up.iterations, "iterations_lo": lo.iterations,
                               "resorts_up": up.resorts, "upper": up.value - lo.value,
                               "vi_gap_up": up.vi_gap}}
    if args.json:
        print_json(payload)
        return 0
    print(table(rows, ["stage", "seconds", "baseline_s", "ratio", "target_s", "within"]))
    print(f"robust run: {ds.n} samples, nnz {U.P_hat.nnz}, V_up {up.iterations} iterations "
          f"({up.resorts} sorts of the nonzeros), certificate V_up - V_lo = "
          f"{up.value - lo.value:.4g} (trivial {g.r_max / (1 - g.gamma):.4g})")
    return 0
