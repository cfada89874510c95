"""Figures of the phase experiment (``plot`` extra: matplotlib, imported lazily): success and
regret vs horizon per noise level (best latent vs best input-level, error bars = one standard
error over seeds), the heat map of latent minus input-level regret over noise x horizon, and
regret vs k at the hardest cell with P6's paper-form k* marked."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._optional import pyplot
from ..plots import save_figure
from .models import INPUT_MODELS, LATENT_MODELS

__all__ = ["hardest_k_star", "plot_curves", "plot_heatmap", "plot_regret_vs_k", "plot_all"]


def _int_axis(ax: Any, values: list[int]) -> None:
    ax.set_xticks(sorted(set(int(v) for v in values)))


def _best(rows: list[dict], models: tuple[str, ...], cost: str, noise: float, n: int,
          H: int) -> dict | None:
    cand = [r for r in rows if r["model"] in models and r["cost"] == cost
            and r["noise"] == noise and r["n"] == n and r["horizon"] == H]
    return min(cand, key=lambda r: r["regret"]) if cand else None


def plot_curves(rows: list[dict], path: str | Path, cost: str, n: int) -> Path:
    """Success (top) and regret (bottom) vs horizon, one column per noise level."""
    plt = pyplot()
    noises = sorted({r["noise"] for r in rows})
    Hs = sorted({r["horizon"] for r in rows})
    fig, axes = plt.subplots(2, len(noises), figsize=(3.2 * len(noises), 5.6), squeeze=False,
                             sharey="row")
    for j, noise in enumerate(noises):
        for models, label, col in ((LATENT_MODELS, "best latent", "C0"),
                                   (INPUT_MODELS, "best input-level", "C3")):
            best = [_best(rows, models, cost, noise, n, H) for H in Hs]
            pts = [(H, b) for H, b in zip(Hs, best) if b is not None]
            if not pts:
                continue
            h = [p[0] for p in pts]
            for i, (key, se) in enumerate((("success", "success_se"),
                                           ("regret", "regret_se"))):
                axes[i, j].errorbar(h, [p[1][key] for p in pts], [p[1][se] for p in pts],
                                    fmt="o-", color=col, capsize=3, label=label)
        axes[0, j].plot(Hs, [_best(rows, LATENT_MODELS + INPUT_MODELS, cost, noise, n, H)
                             ["optimal"] for H in Hs], "k:", label="optimal")
        axes[0, j].set(title=f"noise {noise:g}", ylabel="success within H" if j == 0 else "")
        axes[1, j].set(xlabel="horizon H (steps)", ylabel="regret" if j == 0 else "")
        for i in range(2):
            _int_axis(axes[i, j], Hs)
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(f"cost {cost!r}, n = {n}")
    return save_figure(fig, path)


def plot_heatmap(verdicts: list[dict], path: str | Path, cost: str, n: int) -> Path:
    """Latent minus input-level regret (best of each) over noise x horizon; cells marked by
    the verdict (L latent wins, I input-level wins, = tie)."""
    plt = pyplot()
    v = [x for x in verdicts if x["cost"] == cost and x["n"] == n]
    noises = sorted({x["noise"] for x in v})
    Hs = sorted({x["horizon"] for x in v})
    D = np.full((len(noises), len(Hs)), np.nan)
    mark = {"latent": "L", "input": "I", "tie": "="}
    fig, ax = plt.subplots(figsize=(1.2 * len(Hs) + 2.5, 0.8 * len(noises) + 1.8))
    lim = max([abs(x["diff"]) for x in v] + [1e-3])
    for x in v:
        i, j = noises.index(x["noise"]), Hs.index(x["horizon"])
        D[i, j] = x["diff"]
        ax.text(j, i, f"{mark[x['outcome']]}\n{x['diff']:+.2f}", ha="center", va="center",
                fontsize=8)
    im = ax.imshow(D, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto", origin="lower")
    ax.set_xticks(range(len(Hs)), [str(h) for h in Hs])
    ax.set_yticks(range(len(noises)), [f"{s:g}" for s in noises])
    ax.set(xlabel="horizon H (steps)", ylabel="observation noise",
           title=f"cost {cost!r}, n = {n}")
    cb = fig.colorbar(im, ax=ax)
    cb.set_label("latent minus input-level regret (< 0: latent better)")
    return save_figure(fig, path)


def _hardest(verdicts: list[dict], cost: str) -> dict | None:
    v = [x for x in verdicts if x["cost"] == cost]
    return max(v, key=lambda x: (x["input_regret"], x["noise"], x["horizon"])) if v else None


def hardest_k_star(rows: list[dict], verdicts: list[dict], cost: str) -> dict[str, Any] | None:
    """P6's paper-form k* at the hardest cell of ``cost`` (the cell of
    :func:`plot_regret_vs_k`) over the latent k there, or None (no such cell, no k, no
    finite bound); see :func:`jepatheory.phase.run.paper_k_star`."""
    from .run import paper_k_star
    hard = _hardest(verdicts, cost)
    if hard is None:
        return None
    ks = sorted({int(r["k"]) for r in rows if r["cost"] == cost and r["noise"] == hard["noise"]
                 and r["horizon"] == hard["horizon"] and r["n"] == hard["n"]
                 and r["model"] in LATENT_MODELS and r["k"] >= 1})
    if not ks:
        return None
    return paper_k_star(hard["env"], hard["env_params"], hard["noise"], hard["n"],
                        hard["horizon"], ks)


def plot_regret_vs_k(rows: list[dict], verdicts: list[dict], path: str | Path, cost: str
                     ) -> Path | None:
    """Regret vs k of every latent model at the hardest cell (the cell whose best input-level
    regret is largest), the input-level models as horizontal lines, and P6's paper-form k*
    for that cell (:func:`jepatheory.phase.run.paper_k_star`: uniform nu, the cell's n and
    H, over the plotted k) as a dotted vertical line when a finite bound exists."""
    hard = _hardest(verdicts, cost)
    if hard is None:
        return None
    sel = [r for r in rows if r["cost"] == cost and r["noise"] == hard["noise"]
           and r["horizon"] == hard["horizon"] and r["n"] == hard["n"]]
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ks: list[int] = []
    for i, mdl in enumerate(LATENT_MODELS):
        rs = sorted((r for r in sel if r["model"] == mdl), key=lambda r: r["k"])
        if rs:
            ks += [r["k"] for r in rs]
            ax.errorbar([r["k"] for r in rs], [r["regret"] for r in rs],
                        [r["regret_se"] for r in rs], fmt="o-", color=f"C{i}", capsize=3,
                        label=mdl)
    for i, mdl in enumerate(INPUT_MODELS):
        for r in sel:
            if r["model"] == mdl:
                ax.axhline(r["regret"], color=f"C{i + 3}", ls="--", label=f"{mdl} (input)")
    ks_star = hardest_k_star(rows, verdicts, cost)
    if ks_star is not None:
        ax.axvline(ks_star["k_star"], color="k", ls=":",
                   label=f"P6 k* = {ks_star['k_star']} (paper form, R_T = "
                         f"{ks_star['R_T']:.3g}{', vacuous' if ks_star['vacuous'] else ''})")
    if ks:
        _int_axis(ax, ks)
    ax.set(xlabel="latent dimension k", ylabel="regret",
           title=f"hardest cell: noise {hard['noise']:g}, H = {hard['horizon']}, "
                 f"n = {hard['n']}, cost {cost!r}")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def plot_all(rows: list[dict], verdicts: list[dict], out: str | Path, prefix: str = ""
             ) -> list[Path]:
    """Every figure for every cost and n into the folder ``out``."""
    out = Path(out)
    paths = []
    for cost in sorted({r["cost"] for r in rows}):
        for n in sorted({r["n"] for r in rows}):
            paths.append(plot_curves(rows, out / f"{prefix}curves_{cost}_n{n}.png", cost, n))
            paths.append(plot_heatmap(verdicts, out / f"{prefix}heatmap_{cost}_n{n}.png",
                                      cost, n))
        p = plot_regret_vs_k(rows, verdicts, out / f"{prefix}regret_vs_k_{cost}.png", cost)
        if p is not None:
            paths.append(p)
    return paths
