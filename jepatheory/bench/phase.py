"""Phase experiment speed: the default grid on 2 local workers vs 1, and CEM per planning call
at H = 25 vs exact DP on the same model (THEORY PE).

1. The grid of ``jepatheory phase`` (default: noisy-block, 4 noise levels x 5 horizons x 4
   models x k in {16, 32} x 3 seeds at n = 3000) run into a fresh store by 1 worker in this
   process, by 1 spawned worker (one BLAS thread, the same code path as 2) and by 2 spawned
   workers, wall-clock each, in the same run; target speedup >= 1.8x against both baselines.
2. On one fitted model (noise 0.5, n = 3000): CEM over action sequences at H = 25 for every
   start observation at once, reported per planning call (per start) and per batch, against
   the exact finite-horizon DP for the goal indicator on the same model's kernel (one DP
   gives the policy of every state).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from .._results import table
from ..cli._common import print_json

GRID = dict(noises=[0.0, 0.25, 0.5, 1.0], horizons=[1, 5, 10, 15, 25], ns=[3000],
            ks=[16, 32], models=["jepa-tabular", "jepa-linear", "count", "features"],
            seeds=[0, 1, 2])
QUICK = dict(noises=[0.0, 1.0], horizons=[1, 10], ns=[400], ks=[8],
             models=["jepa-tabular", "count"], seeds=[0, 1])


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true",
                   help="a small grid on a 3x3 maze (seconds; for the tests)")
    p.add_argument("--repeats", type=int, default=3, help="CEM/DP timing repeats (best of)")


def _grid_speedup(quick: bool, seed: int) -> dict[str, Any]:
    from ..phase.run import phase_cells, run_phase_cell
    from ..sim.sweep import run_sweep
    g = QUICK if quick else GRID
    params = dict(width=3, height=3) if quick else {}
    cells = phase_cells("noisy-block", params, g["noises"], g["horizons"], g["ns"], g["ks"],
                        g["models"], [seed + s for s in g["seeds"]])
    out: dict[str, Any] = dict(cells=len(cells))
    with tempfile.TemporaryDirectory() as tmp:
        for name, w, solo in (("1_worker", 1, None), ("1_worker_pool", 1, False),
                              ("2_worker", 2, None)):
            t0 = time.perf_counter()
            s = run_sweep(cells, Path(tmp) / f"{name}.db", workers=w, progress=False,
                          fn=run_phase_cell, kind="phase", in_process=solo)
            out[f"seconds_{name}"] = time.perf_counter() - t0
            out[f"errors_{name}"] = len(s.errors)
    out["speedup"] = out["seconds_1_worker"] / out["seconds_2_worker"]
    out["speedup_vs_pool"] = out["seconds_1_worker_pool"] / out["seconds_2_worker"]
    return out


def _cem_vs_dp(quick: bool, seed: int, repeats: int) -> list[dict[str, Any]]:
    import numpy as np

    from ..envs import make_env
    from ..phase.models import fit_model
    from ..phase.planning import cem_sequences, finite_horizon_dp, goal_mask
    from ..sim.measure import rollout_dataset
    mdp = make_env("noisy-block", noise=0.5, **(dict(width=3, height=3) if quick else {}))
    goal = goal_mask(mdp)
    ds = rollout_dataset(mdp, 3000, 20, seed)
    starts = np.flatnonzero(mdp.rho0 > 0)
    H = 25
    rows = []
    for name, k in (("jepa-tabular", 32), ("count", 0), ("features", 0)):
        mdl = fit_model(mdp, ds, name, max(k, 1), seed)
        t_cem = t_dp = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            cem_sequences(mdl.rollout, starts, mdp.n_actions, H, np.random.default_rng(seed))
            t_cem = min(t_cem, time.perf_counter() - t0)
            t0 = time.perf_counter()
            finite_horizon_dp(mdl.kernel, mdp.n_actions, goal, H)
            t_dp = min(t_dp, time.perf_counter() - t0)
        rows.append(dict(model=name, k=k, H=H, n_states=mdp.n_states, starts=int(starts.size),
                         cem_ms_per_call=1e3 * t_cem / starts.size,
                         cem_ms_all_starts=1e3 * t_cem, dp_ms_all_states=1e3 * t_dp,
                         cem_call_over_dp=t_cem / starts.size / t_dp))
    return rows


def run(args: argparse.Namespace) -> int:
    from ..errors import ShapeError
    if args.repeats < 1:
        raise ShapeError(f"--repeats = {args.repeats} must be >= 1")
    grid = _grid_speedup(args.quick, args.seed)
    cem = _cem_vs_dp(args.quick, args.seed, args.repeats)
    out = dict(grid=grid, cem_vs_dp=cem,
               goals=dict(two_workers_at_least_1_8x=grid["speedup"] >= 1.8,
                          two_workers_at_least_1_8x_vs_pool=grid["speedup_vs_pool"] >= 1.8),
               config=dict(quick=args.quick, seed=args.seed, repeats=args.repeats))
    if args.json:
        print_json(out)
        return 0
    print(f"Phase grid ({grid['cells']} cells): 1 worker {grid['seconds_1_worker']:.1f} s "
          f"in process, {grid['seconds_1_worker_pool']:.1f} s spawned; 2 workers "
          f"{grid['seconds_2_worker']:.1f} s: speedup {grid['speedup']:.2f}x "
          f"({grid['speedup_vs_pool']:.2f}x against the spawned worker)")
    print("\nCEM per planning call at H = 25 vs exact DP on the same model")
    print(table(cem))
    print("\ngoals: " + ", ".join(f"{k_}={v}" for k_, v in out["goals"].items()))
    return 0
