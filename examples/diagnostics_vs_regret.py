"""Which diagnostic predicts planning? A sweep of torch JEPA models on a block MDP, audited.

Every model is trained with :mod:`jepatheory.torch` (architectures: tabular, MLP on the
observation features; anti-collapse: the spectral loss of D3, JEPA + whitening, JEPA +
VICReg, JEPA + SIGReg, JEPA with EMA/stop-gradient alone, and the deliberately collapsing
l2 loss; k; n; training length, including deliberately under-trained models) and audited
with :func:`jepatheory.audit.audit`, which measures the regret R0 of the projected planner
exactly in the true MDP. For each diagnostic -- the practitioners' RankMe (on h and on z),
alpha-ReQ and LiDAR (latent state as the class), the held-out spectral loss (computable from
data: by T1 its expectation is eps - ||T||_F^2), and the theory's eps, excess over tail_k,
largest principal angle and the ladder rungs R1, R2, R3w -- the Spearman rank correlation
with the measured regret, with a 95% percentile-bootstrap interval over models, is printed
as a table and drawn as a figure.

Run:  PYTHONPATH=. python examples/diagnostics_vs_regret.py [--quick] [--workers 2]
Writes examples/out/diagnostics_vs_regret.{csv,json,png}.
"""
from __future__ import annotations

import argparse
import itertools
import json
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ENV = {"latent_width": 4, "latent_height": 4, "obs_per_latent": 8, "noise": 0.3, "slip": 0.2}
#: (trainer, reg) pairs: the anti-collapse terms, and the collapsing l2 loss.
OBJECTIVES = [("spectral", "none"), ("jepa", "whiten"), ("jepa", "vicreg"),
              ("jepa", "sigreg"), ("jepa", "none"), ("collapse", "none")]
DIAGNOSTICS = ["rankme", "rankme_z", "alpha_req", "lidar", "heldout_loss", "eps", "excess",
               "max_angle_T", "R1", "R2", "R3w"]


def run_cell(cell: dict) -> dict:
    import multiprocessing  # noqa: F401  (spawned workers import the package fresh)

    from jepatheory.audit import audit
    from jepatheory.cooccurrence import CoOccurrence
    from jepatheory.data import uniform_nu
    from jepatheory.envs import make_env
    from jepatheory.model import empirical_loss
    from jepatheory.sampling import sample_transitions
    from jepatheory.torch import train_torch
    warnings.simplefilter("ignore")
    mdp = make_env("block-mdp", **ENV)
    C = CoOccurrence(mdp)
    nu = uniform_nu(mdp)
    ds = sample_transitions(mdp, nu, cell["n"], cell["seed"])
    held = sample_transitions(mdp, nu, 20_000, 10_000 + cell["seed"])
    t0 = time.perf_counter()
    tr = train_torch(cell["trainer"], mdp, ds, cell["k"], cell["arch"], steps=cell["steps"],
                     batch=256, lr=0.02 if cell["arch"] == "tabular" else 0.01,
                     reg=cell["reg"], seed=cell["seed"])
    a = audit(C, tr.emb)
    lad = a.ladder
    return dict(cell, train_seconds=time.perf_counter() - t0, regret=a.R0,
                rankme=a.rankme, rankme_z=a.rankme_z, alpha_req=a.alpha_req, lidar=a.lidar,
                heldout_loss=empirical_loss(tr.emb.z, tr.emb.h, held.pair, held.s2),
                eps=a.eps, excess=a.excess, max_angle_T=a.max_angle_T, R1=lad["R1"],
                R2=lad["R2"], R3w=lad["R3w"], collapsed=a.collapsed)


def spearman_ci(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, reps: int = 2000
                ) -> tuple[float, float, float, int]:
    from scipy.stats import spearmanr
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    rho = float(spearmanr(x, y).statistic)
    idx = rng.integers(0, x.size, (reps, x.size))
    boots = np.array([spearmanr(x[i], y[i]).statistic for i in idx])
    boots = boots[np.isfinite(boots)]
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return rho, float(lo), float(hi), int(x.size)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a few cells only (smoke test)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.quick:
        grid = itertools.product(["mlp"], OBJECTIVES[:3] + OBJECTIVES[-1:], [8], [3000],
                                 [40], [args.seed])
    else:
        grid = itertools.product(["tabular", "mlp"], OBJECTIVES, [4, 12], [3000, 30000],
                                 [60, 400], [args.seed])
    cells = [{"arch": a, "trainer": t, "reg": r, "k": k, "n": n, "steps": s, "seed": sd}
             for a, (t, r), k, n, s, sd in grid]
    t0 = time.perf_counter()
    if args.workers > 1:
        import multiprocessing as mp
        with ProcessPoolExecutor(args.workers, mp_context=mp.get_context("spawn")) as ex:
            rows = list(ex.map(run_cell, cells))
    else:
        rows = [run_cell(c) for c in cells]
    wall = time.perf_counter() - t0
    y = np.array([r["regret"] for r in rows])
    rng = np.random.default_rng(args.seed)
    stats = []
    for d in DIAGNOSTICS:
        x = np.array([np.nan if r[d] is None else r[d] for r in rows], dtype=float)
        rho, lo, hi, n = spearman_ci(x, y, rng)
        stats.append({"diagnostic": d, "spearman": rho, "ci_low": lo, "ci_high": hi, "n_models": n})
    from jepatheory._results import table
    print(f"{len(rows)} models on block-mdp {ENV} in {wall:.0f} s; regret: median "
          f"{np.median(y):.3g}, range [{y.min():.3g}, {y.max():.3g}]; "
          f"{sum(r['collapsed'] for r in rows)} flagged collapsed")
    print(table(stats))
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    import csv
    with (out / "diagnostics_vs_regret.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    (out / "diagnostics_vs_regret.json").write_text(json.dumps(
        {"env": ENV, "seconds": wall, "stats": stats}, indent=2))
    from jepatheory._optional import pyplot
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    pos = np.arange(len(stats))
    rho = np.array([s["spearman"] for s in stats])
    err = np.array([[s["spearman"] - s["ci_low"], s["ci_high"] - s["spearman"]]
                    for s in stats]).T
    axes[0].bar(pos, rho, yerr=err, capsize=3, color="tab:blue")
    axes[0].axhline(0, color="k", lw=0.8)
    axes[0].set_xticks(pos, [s["diagnostic"] for s in stats], rotation=45, ha="right")
    axes[0].set_ylabel("Spearman rho with measured regret (95% bootstrap)")
    best = "heldout_loss"
    colors = {"spectral": "tab:green", "jepa": "tab:blue", "collapse": "tab:red"}
    for r in rows:
        axes[1].scatter(r[best], r["regret"], s=14, color=colors[r["trainer"]],
                        marker="o" if r["arch"] == "mlp" else "^")
    axes[1].set_xlabel("held-out spectral loss (= eps - ||T||_F^2 in expectation)")
    axes[1].set_ylabel("measured regret R0")
    axes[1].set_title("o mlp, ^ tabular; green spectral, blue jepa, red collapse")
    fig.tight_layout()
    fig.savefig(out / "diagnostics_vs_regret.png", dpi=120)
    print(f"wrote {out / 'diagnostics_vs_regret.png'}")


if __name__ == "__main__":
    main()
