"""Figures for the bounds (``plot`` extra): spectrum and tail_k, the bound against k at
several n with k* marked, and the ladder of one run as bars."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._optional import pyplot
from ..plots import save_figure as _save

__all__ = ["plot_spectrum_tail", "plot_bound_vs_k", "plot_ladder"]




def plot_spectrum_tail(curve: Any, path: str | Path) -> Path:
    """Singular values of T and tail_k (from a :class:`~jepatheory.bounds.curves.BoundCurve`)."""
    from ..plots import plot_spectrum
    return plot_spectrum(dict(curve.spectrum, env=dict(name=curve.env)), path)


def plot_bound_vs_k(curve: Any, path: str | Path) -> Path:
    """R4_T4, R4_T4b (and R_T5) against k for every n, k* marked, trivial bound dashed."""
    from ..plots import log_int_axis, note_missing, readable_log_axis
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    missing: list[str] = []

    def drawable(vals: list) -> list[float]:
        return [float(v) if v is not None and np.isfinite(v) and v > 0 else np.nan
                for v in vals]

    for i, n in enumerate(curve.n_values):
        rows = [r for r in curve.rows if r["n"] == n]
        ks = [r["k"] for r in rows]
        col = colors[i % len(colors)]
        for key, style, kw in (("R4_T4", "o--", dict(alpha=0.6)),
                               ("R4_T4b", "s-", dict(label=f"n={n:.0e}"))):
            ys = drawable([r.get(key) for r in rows])
            bad = [k for k, y in zip(ks, ys) if np.isnan(y)]
            if bad:
                what = "every k" if len(bad) == len(ks) else f"k={','.join(map(str, bad))}"
                missing.append(f"{key} at n={n:.0e} for {what} (infinite or undefined)")
            ax.plot(ks, ys, style, color=col, ms=3, **kw)
        t5 = drawable([rows[0].get("R_T5")])[0]
        if np.isnan(t5):
            missing.append(f"R_T5 at n={n:.0e} (infinite or undefined)")
        else:
            ax.axhline(t5, color=col, lw=0.8, ls=":")
        ks_ = curve.k_star_by_n.get(n)
        if ks_ is not None:
            r = next(r for r in rows if r["k"] == ks_)
            ax.plot([ks_], [r["R4"]], "*", color=col, ms=14)
    ax.axhline(curve.trivial_bound, color="k", ls="--", lw=1, label="R_max/(1-gamma)")
    ax.set(xscale="log", yscale="log", xlabel="latent dimension k", ylabel="regret bound",
           title=f"{curve.env}: T4 (dashed), T4b (solid), T5 (dotted), k* (star)")
    log_int_axis(ax, [r["k"] for r in curve.rows])
    readable_log_axis(ax)
    ax.legend(fontsize=7)
    note_missing(fig, missing)
    return _save(fig, path)


def plot_ladder(ladder: Any, path: str | Path, chain: Any = None) -> Path:
    """The rungs of one ladder (and optionally the T5 chain) as bars on a log scale."""
    plt = pyplot()
    names = [k for k, v in ladder.rungs().items() if v is not None]
    vals = [ladder.rungs()[k] for k in names]
    if chain is not None:
        names += [f"T5:{k}" for k, _ in chain.ordered()]
        vals += [v for _, v in chain.ordered()]
    vals = np.asarray(vals, dtype=float)
    fig, ax = plt.subplots(figsize=(7, 3.6))
    finite = np.isfinite(vals) & (vals > 0)
    ax.bar(np.flatnonzero(finite), vals[finite], color="tab:blue")
    top = vals[finite].max() if finite.any() else 1.0
    for i in np.flatnonzero(~finite):  # infinite (or zero) rungs: say so instead of a gap
        ax.text(i, top, "inf" if np.isinf(vals[i]) else "0", ha="center", va="bottom",
                fontsize=8)
    ax.axhline(ladder.trivial_bound, color="k", ls="--", lw=1, label="R_max/(1-gamma)")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
    ax.set(yscale="log", title=f"regret ladder, k={ladder.k}")
    ax.legend(fontsize=7)
    return _save(fig, path)
