"""Figures of the simulation layer (``plot`` extra: matplotlib, imported lazily): measured
regret vs k at several n with the bound's k* marked, latent vs input-level regret vs n,
training loss curves against the exact-ERM loss."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from .._optional import pyplot
from ..plots import save_figure as _save

__all__ = ["plot_regret_vs_k", "plot_latent_vs_input", "plot_loss_curves"]




def _mean_by(rows: list[dict], keys: tuple[str, ...], value: str) -> dict[tuple, float]:
    acc: dict[tuple, list[float]] = defaultdict(list)
    for r in rows:
        v = r.get(value)
        if v is not None and np.isfinite(v):
            acc[tuple(r.get(k) for k in keys)].append(float(v))
    return {key: float(np.mean(v)) for key, v in acc.items()}


def plot_regret_vs_k(rows: list[dict], path: str | Path, k_star: dict | None = None,
                     count: float | dict | None = None, rungs: tuple[str, ...] = ("R1", "R3w"),
                     title: str = "") -> Path:
    """Mean measured regret (solid) and the ladder ``rungs`` (dashed, dotted) against k, one
    colour per (trainer, n); vertical lines at the bound's k*(n); the count model as
    horizontal lines."""
    from matplotlib.lines import Line2D

    from ..plots import log_int_axis, readable_log_axis
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8.5, 4.2))
    rows = [r for r in rows if r.get("trainer") not in ("count", "features")]
    reg = _mean_by(rows, ("trainer", "n", "k"), "regret")
    bnds = {rung: _mean_by(rows, ("trainer", "n", "k"), rung) for rung in rungs}
    groups = sorted({key[:2] for key in reg}, key=lambda t: (str(t[0]), t[1] or 0))
    # one colour per n, one marker per trainer: the legend explains each once, and the
    # k*(n) lines share their n's colour
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    ns = sorted({n for _, n in groups}, key=lambda n: n or 0)
    trainers = sorted({str(tr) for tr, _ in groups})
    col_of = {n: colors[i % len(colors)] for i, n in enumerate(ns)}
    mark_of = {tr: "osD^vP*Xph"[i % 10] for i, tr in enumerate(trainers)}
    for tr, n in groups:
        col = col_of[n]
        ks = sorted(k for (t, nn, k) in reg if (t, nn) == (tr, n))
        ax.plot(ks, [max(reg[(tr, n, k)], 1e-6) for k in ks], "-", marker=mark_of[str(tr)],
                color=col, ms=4)
        for rung, ls in zip(rungs, ("--", ":", "-.")):
            bnd = bnds[rung]
            kb = [k for k in ks if (tr, n, k) in bnd]
            if kb:
                ax.plot(kb, [bnd[(tr, n, k)] for k in kb], ls, color=col, alpha=0.6)
    if k_star:
        for n in ns:
            if k_star.get(n):
                ax.axvline(k_star[n], color=col_of[n], ls=(0, (1, 3)), lw=2, alpha=0.8)
    handles = [Line2D([], [], color=col_of[n], lw=2, label=f"n={n}") for n in ns if n]
    handles += [Line2D([], [], color="grey", marker=mark_of[tr], ls="-",
                       label=f"regret, {tr}") for tr in trainers]
    handles += [Line2D([], [], color="grey", ls=ls, label=f"bound rung {rung}")
                for rung, ls in zip(rungs, ("--", ":", "-."))]
    if k_star:
        handles.append(Line2D([], [], color="grey", ls=(0, (1, 3)), lw=2,
                              label="bound k*(n)"))
    if isinstance(count, dict):
        for n, v in count.items():
            ax.axhline(max(v, 1e-6), color=col_of.get(n, "k"), ls="-.", lw=0.8, alpha=0.5)
        handles.append(Line2D([], [], color="k", ls="-.", lw=0.8, label="count model (per n)"))
    elif count is not None:
        ax.axhline(max(count, 1e-6), color="k", ls="-.", lw=1)
        handles.append(Line2D([], [], color="k", ls="-.", lw=1, label="count model"))
    ax.set(xscale="log", yscale="log", xlabel="latent dimension k",
           ylabel="regret  V*(rho0) - V^pi(rho0)",
           title=title or "regret vs k (bound k*: vertical lines)")
    log_int_axis(ax, [k for (_, _, k) in reg])
    readable_log_axis(ax)
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _save(fig, path)


def plot_latent_vs_input(rows: list[dict], path: str | Path, title: str = "") -> Path:
    """Mean measured regret against n: each latent model at its best k (per n), and the
    input-level baselines."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    reg = _mean_by(rows, ("trainer", "encoder", "planner", "k", "n"), "regret")
    best: dict[tuple, dict[int, tuple[float, int]]] = defaultdict(dict)
    for (tr, enc, pl, k, n), v in reg.items():
        base = tr in ("count", "features")
        key = (tr, "" if base else enc, "" if base or pl in (None, "projected") else pl)
        if n not in best[key] or v < best[key][n][0]:
            best[key][n] = (v, k)
    for (tr, enc, pl), per_n in sorted(best.items()):
        ns = sorted(per_n)
        lab = tr if not enc else f"{tr}/{enc}{'/' + pl if pl else ''} (best k)"
        style = "s--" if tr in ("count", "features") else "o-"
        ax.plot(ns, [max(per_n[n][0], 1e-6) for n in ns], style, label=lab)
    ax.set(xscale="log", yscale="log", xlabel="n (transitions)", ylabel="mean regret",
           title=title or "latent vs input-level models")
    from ..plots import readable_log_axis
    readable_log_axis(ax)
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_loss_curves(curves: dict[Any, list], path: str | Path,
                     erm: dict[Any, float] | None = None, title: str = "") -> Path:
    """Minibatch training loss against step per label, with the exact-ERM loss dotted."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, pts) in enumerate(curves.items()):
        if not pts:
            continue
        col = colors[i % len(colors)]
        st, val = zip(*[(p[0], p[1]) for p in pts])
        ax.plot(st, val, color=col, label=f"k={label}" if not isinstance(label, str) else label)
        if erm and label in erm:
            ax.axhline(erm[label], color=col, ls=":", lw=1)
    ax.set(xlabel="step", ylabel="minibatch loss", title=title or
           "training loss (dotted: exact-ERM loss on the same data)")
    from ..plots import integer_axis
    integer_axis(ax)
    ax.legend(fontsize=7)
    return _save(fig, path)
