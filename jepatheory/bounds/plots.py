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
    from ..plots import plot_spectrum_values
    return plot_spectrum_values(curve.spectrum["singular_values"], curve.spectrum["tail"], path,
                                curve.env)


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


#: Bar order of the ladder figure: the main chain with the K1 oracle rungs, then side rungs.
LADDER_BARS = ("R0", "R_exact", "R1_span", "R1", "R2", "R3", "R3w", "R4_T4", "R4_T4b",
               "R3_rowmax", "R3w_data_free", "R3w_floor")


def plot_ladder(ladder: Any, path: str | Path, chain: Any = None) -> Path:
    """The rungs of one ladder (and optionally the T5 chain) as bars on a log scale, and the
    slack factors (K1) of the chain as a second panel.

    Infinite rungs are drawn as hatched bars reaching the top of the axes, labelled "inf";
    zero rungs are labelled "0" at the bottom (a log axis cannot show them)."""
    plt = pyplot()
    names = [k for k in LADDER_BARS if getattr(ladder, k, None) is not None]
    vals = [float(getattr(ladder, k)) for k in names]
    if chain is not None:
        names += [f"T5:{k}" for k, _ in chain.ordered()]
        vals += [float(v) for _, v in chain.ordered()]
    keep = [i for i, v in enumerate(vals) if not np.isnan(v)]
    names, vals = [names[i] for i in keep], np.asarray([vals[i] for i in keep], dtype=float)
    slack = getattr(ladder, "slack", None)
    fig, axes = plt.subplots(1, 2 if slack is not None else 1, figsize=(11, 4.2),
                             gridspec_kw=dict(width_ratios=[3, 2]) if slack is not None else None,
                             squeeze=False)
    ax = axes[0, 0]
    pos = np.isfinite(vals) & (vals > 0)
    ref = np.append(vals[pos], ladder.trivial_bound)
    ref = ref[ref > 0]
    lo = float(ref.min()) / 3 if ref.size else 1e-3
    hi = float(ref.max()) * 30 if ref.size else 1.0
    x = np.arange(len(vals))
    ax.bar(x[pos], vals[pos], color="tab:blue")
    inf = np.isinf(vals)
    ax.bar(x[inf], np.full(inf.sum(), hi), color="none", edgecolor="tab:red", hatch="//")
    for i in np.flatnonzero(inf):
        ax.text(i, hi / 1.6, "inf", ha="center", va="top", fontsize=8, color="tab:red")
    for i in np.flatnonzero(np.isfinite(vals) & (vals <= 0)):
        ax.text(i, lo * 1.2, "0", ha="center", va="bottom", fontsize=8)
    ax.axhline(ladder.trivial_bound, color="k", ls="--", lw=1, label="R_max/(1-gamma)")
    ax.set_xticks(x, names, rotation=45, ha="right", fontsize=8)
    ax.set(yscale="log", ylim=(lo, hi), ylabel="regret or regret bound",
           title=f"regret ladder, k={ladder.k}")
    ax.legend(fontsize=7, loc="upper left")
    if slack is not None:
        ax2 = axes[0, 1]
        f = {k: v for k, v in slack.factors().items() if v is not None}
        fn = list(f)
        fv = np.asarray([f[k] for k in fn], dtype=float)
        ok = np.isfinite(fv) & (fv > 0)
        fmax = float(fv[ok].max()) * 3 if ok.any() else 10.0
        y = np.arange(len(fn))
        ax2.barh(y[ok], fv[ok], color="tab:orange")
        for i in np.flatnonzero(~ok):
            ax2.text(1.0, i, " inf" if np.isinf(fv[i]) else " nan", va="center", fontsize=8)
        for i in np.flatnonzero(ok):
            ax2.text(fv[i], i, f" x{fv[i]:.3g}", va="center", fontsize=7)
        ax2.axvline(1.0, color="k", lw=0.8)
        ax2.set_yticks(y, fn, fontsize=8)
        ax2.invert_yaxis()
        ax2.set(xscale="log", xlim=(min(0.5, float(fv[ok].min()) / 2) if ok.any() else 0.5,
                                    fmax * 10), xlabel="factor (upper rung / lower rung)",
                title=f"slack: total x{slack.total:.3g} (top {slack.top})"
                if slack.total is not None else "slack")
    fig.tight_layout()
    return _save(fig, path)
