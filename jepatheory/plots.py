"""Figures (``plot`` extra: matplotlib, imported lazily)."""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from ._optional import pyplot
from .mdp import MDP

if TYPE_CHECKING:
    from .spectrum import Spectrum

__all__ = ["plot_spectrum", "plot_spectrum_values", "plot_graph", "save_figure", "integer_axis",
           "log_int_axis",
           "readable_log_axis", "note_missing"]


def save_figure(fig: Any, path: str | Path, **savefig_kw: Any) -> Path:
    """Lay out, write and close ``fig``; returns the path. The file's folder is created
    only when its own parent exists (``--plot figs/``): missing parents are never made."""
    path = Path(path)
    if not path.parent.exists() and path.parent.parent.is_dir():
        path.parent.mkdir()
    fig.tight_layout()
    fig.savefig(path, **{"dpi": 120, **savefig_kw})
    pyplot().close(fig)
    return path


def integer_axis(ax: Any, which: str = "x") -> None:
    """Ticks at integers only on an axis whose values are integers (k, i, step)."""
    from matplotlib.ticker import MaxNLocator
    axis = ax.xaxis if which == "x" else ax.yaxis
    axis.set_major_locator(MaxNLocator(integer=True))


def log_int_axis(ax: Any, values: Any, which: str = "x") -> None:
    """A log axis over integer values (k = 1, 2, 4, ...): ticks at the values themselves,
    labelled as plain integers, no minor labels."""
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator, ScalarFormatter
    vals = sorted({int(v) for v in values if v is not None and np.isfinite(v) and v > 0})
    if not vals:
        return
    if len(vals) > 12:  # thin out: keep about 12, always the ends
        idx = np.unique(np.round(np.geomspace(1, len(vals), 12)).astype(int) - 1)
        vals = [vals[i] for i in idx]
    axis = ax.xaxis if which == "x" else ax.yaxis
    axis.set_major_locator(FixedLocator(vals))
    axis.set_major_formatter(ScalarFormatter())
    axis.set_minor_locator(NullLocator())
    axis.set_minor_formatter(NullFormatter())


def readable_log_axis(ax: Any, which: str = "y") -> None:
    """Decades only (10^k labels, at most 8), no minor labels: log axes stay legible."""
    from matplotlib.ticker import LogFormatterSciNotation, LogLocator, NullFormatter
    axis = ax.yaxis if which == "y" else ax.xaxis
    lo, hi = ax.get_ylim() if which == "y" else ax.get_xlim()
    axis.set_major_locator(LogLocator(base=10, numticks=8))
    axis.set_major_formatter(LogFormatterSciNotation())
    if lo > 0 and hi / lo > 100:  # two decades or more: the decades suffice
        axis.set_minor_formatter(NullFormatter())


def note_missing(fig: Any, missing: list[str]) -> None:
    """A footnote naming the series that could not be drawn (and why) instead of
    dropping them silently."""
    if missing:
        text = "not drawn: " + "; ".join(missing)
        fig.text(0.01, 0.005, text if len(text) <= 160 else text[:157] + "...", fontsize=6,
                 ha="left", va="bottom", color="0.3")


def plot_spectrum(spectrum: Spectrum, path: str | Path, title: str = "") -> Path:
    r"""The singular values :math:`\sigma_i(T)` and :math:`\mathrm{tail}_k` of ``spectrum``
    (``C.spectrum(k)``, THEORY T2) side by side, ``title`` (e.g. the MDP's name) above.

    The older form ``plot_spectrum(payload, path)`` with the ``spectrum`` payload dict still
    works (deprecated)."""
    if isinstance(spectrum, dict):
        warnings.warn("plot_spectrum(payload, path) is deprecated: pass the Spectrum "
                      "(C.spectrum(k)) and title=", DeprecationWarning, stacklevel=2)
        return plot_spectrum_values(spectrum["singular_values"], spectrum["tail"], path,
                                    spectrum.get("env", {}).get("name", ""))
    return plot_spectrum_values(spectrum.singular_values, spectrum.tail, path, title)


def plot_spectrum_values(singular_values: ArrayLike, tail: ArrayLike, path: str | Path,
                         title: str = "") -> Path:
    """The figure of :func:`plot_spectrum` from the arrays: ``singular_values`` (i = 1..k)
    and ``tail`` (k = 0..k)."""
    plt = pyplot()
    s = np.asarray(singular_values, dtype=float)
    tail = np.asarray(tail, dtype=float)
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.4))
    ax[0].plot(np.arange(1, s.size + 1), s, "o-", ms=3)
    ax[0].set(xlabel="i", ylabel=r"$\sigma_i(T)$", title="spectrum of T", ylim=(0, 1.05))
    ax[1].semilogy(np.arange(tail.size), np.maximum(tail, 1e-16), "s-", ms=3)
    ax[1].set(xlabel="k", ylabel=r"tail$_k=\sum_{i>k}\sigma_i^2$", title="approximation error")
    integer_axis(ax[0])
    integer_axis(ax[1])
    readable_log_axis(ax[1])
    fig.suptitle(title)
    return save_figure(fig, path)


def plot_graph(mdp: MDP, path: str | Path, values: np.ndarray | None = None,
               title: str = "", label: str | None = None) -> Path:
    """States at their coordinates, coloured by ``values`` (default rho0; ``label`` names
    them on the colour bar), with the support edges of action 0."""
    plt = pyplot()
    if mdp.coords is None:
        import networkx as nx

        from .graph import conditional_graph
        pos = nx.spring_layout(nx.DiGraph(conditional_graph(mdp)), seed=0)
        xy = np.array([pos[s] for s in range(mdp.n_states)])
    else:
        xy = mdp.coords
    vals = mdp.rho0 if values is None else values
    fig, ax = plt.subplots(figsize=(5, 5))
    P0 = mdp.P_action(0).tocoo()
    keep = P0.row != P0.col
    segs = np.stack([xy[P0.row[keep]], xy[P0.col[keep]]], axis=1)
    if segs.size:
        from matplotlib.collections import LineCollection
        ax.add_collection(LineCollection(segs, colors="0.8", linewidths=0.5))
    sc = ax.scatter(xy[:, 0], xy[:, 1], c=vals, s=max(4, 4000 / mdp.n_states), cmap="viridis")
    fig.colorbar(sc, ax=ax, shrink=0.7,
                 label=label or ("start distribution rho0" if values is None
                                 else (title or "value")))
    ax.set_aspect("equal")
    ax.set_title(title or mdp.name)
    ax.axis("off")
    return save_figure(fig, path, bbox_inches="tight")
