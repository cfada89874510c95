"""Full constant table of the bounds (k up to 64, pi* by value iteration, C^pi*) on the
4-action slip grid with 10^6 states; time and peak memory per stage.

Stages: build the grid, build T, top-k spectrum (CoOccurrence.spectrum), pi* by value
iteration, the occupancy d^pi* and C^pi*, kappa_k for every k (whitened with best rescale,
in row chunks), the plug-in variance v and Lc, and the bound table over (n, k) with k*,
T5 and the vacuity scan. Each stage is also given as a ratio to one product T x (the
baseline measured in the same run). Targets: <= 120 s and <= 8 GiB at N = 10^6.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from .._factor import pardiso_available
from .._results import table
from .stages import Stages, peak_gib


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--width", type=int, default=1000, help="grid width")
    p.add_argument("--height", type=int, default=1000, help="grid height")
    p.add_argument("--k", type=int, default=64, help="largest latent dimension")
    p.add_argument("--n", default="1e6,1e9,1e12", help="sample sizes of the table")
    p.add_argument("--slip", type=float, default=0.1, help="grid slip")
    p.add_argument("--quick", action="store_true", help="200 x 200 grid, k up to 16")



def run(args: argparse.Namespace) -> int:
    from ..bounds.constants import concentrability, min_nu
    from ..bounds.curves import bound_curve, parse_grid
    from ..bounds.kappa import kappa_rescaled_curve
    from ..bounds.plugin import plugin_variance
    from ..cli._common import print_json
    from ..cooccurrence import CoOccurrence
    from ..envs import grid
    from ..solvers import occupancy, value_iteration

    W, H, K = args.width, args.height, args.k
    if args.quick:
        W, H, K = 200, 200, 16
    stage = Stages()
    stages = stage.rows
    t_all = time.perf_counter()


    mdp = stage("grid", lambda: grid(W, H, slip=args.slip))
    C = stage("T", lambda: CoOccurrence(mdp))
    x = np.random.default_rng(args.seed).standard_normal(C.n_right)
    base = stage("baseline T x", lambda: C.T @ x)
    del base
    spec = stage(f"spectrum k={K}", lambda: C.spectrum(K))
    plan = stage("pi* value iteration", lambda: value_iteration(mdp))
    d_star = stage("occupancy d^pi*", lambda: occupancy(mdp, plan.policy))
    C_star = stage("C^pi*", lambda: concentrability(d_star, C.nu))
    kap = stage(f"kappa_k k=1..{K}", lambda: kappa_rescaled_curve(C, K))
    pv = stage("v, Lc", lambda: plugin_variance(C))
    ks = list(range(1, K + 1))
    ns = parse_grid(args.n, "--n")
    curve = stage("bound table + scan", lambda: bound_curve(
        C, ns, ks, 0.05, kappa="rescale", plan=plan, d_star=d_star, variance=pv,
        kappa_curve=kap))
    total = time.perf_counter() - t_all
    base_s = stages[2]["seconds"]
    for s in stages:
        s["x_baseline"] = s["seconds"] / base_s if base_s > 0 else float("nan")
    spec_s = next(s["seconds"] for s in stages if s["stage"].startswith("spectrum"))
    rows_k = [r for r in curve.rows if r["n"] == ns[-1] and r["k"] in (1, 2, 4, 8, 16, 32, 64)]
    payload = dict(n_states=mdp.n_states, n_actions=mdp.n_actions, nnz_T=int(C.T.nnz), K=K,
                   total_seconds=total, seconds_without_spectrum=total - spec_s,
                   spectrum_seconds=spec_s, peak_GiB=peak_gib(), target_seconds=120,
                   target_GiB=8, within_target=bool(total <= 120 and peak_gib() <= 8),
                   stages=stages, spectrum_method=spec.method, certified=spec.certified,
                   certificate_by=spec.certificate.by if spec.method != "dense" else None,
                   failure_probability=spec.certificate.failure_probability,
                   max_error=spec.max_error, sigma=spec.singular_values[:8],
                   tail_K=spec.tail_k(K), C_pi_star=C_star, min_nu=min_nu(C.nu),
                   V_star=plan.value(mdp.rho0), vi_iterations=plan.iterations,
                   kappa_K=float(kap[K]), v=pv.v, v_method=pv.method, Lc=pv.Lc,
                   k_star_by_n=curve.k_star_by_n, trivial_bound=curve.trivial_bound,
                   nonvacuous_from=curve.scan.nonvacuous_from if curve.scan else None,
                   crossover=curve.scan.statement if curve.scan else None, rows=rows_k,
                   fast_extra_installed=pardiso_available(),
                   factorization=spec.certificate.factorization)
    if args.json:
        print_json(payload)
        return 0
    print(f"grid {W} x {H}: N = {mdp.n_states}, m = 4, nnz(T) = {C.T.nnz}; k up to {K}")
    print(table(stages, ["stage", "seconds", "x_baseline", "peak_GiB"]))
    print(f"total {total:.1f} s (target 120 s), peak {peak_gib():.2f} GiB (target 8 GiB): "
          f"{'within' if payload['within_target'] else 'OUTSIDE'} target; without the "
          f"spectrum {total - spec_s:.1f} s")
    print(f"spectrum: {spec.method}, certified={spec.certified} (by "
          f"{payload['certificate_by'] or 'dense SVD'}, failure probability "
          f"{payload['failure_probability']}), max error "
          f"{spec.max_error:.1e}; sigma_1..4 = {np.round(spec.singular_values[:4], 6)}")
    print(f"C^pi* = {C_star:.6g}, 1/min nu = {1 / min_nu(C.nu):.6g}, V*(rho0) = "
          f"{payload['V_star']:.6g} ({plan.iterations} VI iterations), v = {pv.v:.6g} "
          f"({pv.method}), Lc = {pv.Lc:.6g}")
    print(table(rows_k, ["n", "k", "tail", "kappa", "dev", "R4_T4", "R4_T4b", "R4", "R_T5",
                         "vacuous"]))
    print(f"k*(n): {curve.k_star_by_n}")
    if not payload["fast_extra_installed"]:
        print("note: the 'fast' extra is not installed (pip install 'jepatheory[fast]'): "
              "SuperLU factors on one core, the certificate is the randomized Lanczos one "
              "and sparse products run single-threaded; expect several times the target")
    if curve.scan:
        print(curve.scan.statement)
    return 0
