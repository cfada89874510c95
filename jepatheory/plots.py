"""Figures (``plot`` extra: matplotlib, imported lazily)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ._optional import pyplot
from .mdp import MDP

__all__ = ["plot_spectrum", "plot_graph", "save_figure"]


def save_figure(fig: Any, path: str | Path, **savefig_kw: Any) -> Path:
    """Lay out, write (creating parent folders) and close ``fig``; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, **{"dpi": 120, **savefig_kw})
    pyplot().close(fig)
    return path


def plot_spectrum(payload: dict[str, Any], path: str | Path) -> Path:
    """Singular values and tail_k (from the ``spectrum`` payload) side by side."""
    plt = pyplot()
    s = np.asarray(payload["singular_values"], dtype=float)
    tail = np.asarray(payload["tail"], dtype=float)
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.4))
    ax[0].plot(np.arange(1, s.size + 1), s, "o-", ms=3)
    ax[0].set(xlabel="i", ylabel=r"$\sigma_i(T)$", title="spectrum of T", ylim=(0, 1.05))
    ax[1].semilogy(np.arange(tail.size), np.maximum(tail, 1e-16), "s-", ms=3)
    ax[1].set(xlabel="k", ylabel=r"tail$_k=\sum_{i>k}\sigma_i^2$", title="approximation error")
    name = payload.get("env", {}).get("name", "")
    fig.suptitle(name)
    return save_figure(fig, path)


def plot_graph(mdp: MDP, path: str | Path, values: np.ndarray | None = None,
               title: str = "") -> Path:
    """States at their coordinates, coloured by ``values`` (default rho0), with the
    support edges of action 0."""
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
    fig.colorbar(sc, ax=ax, shrink=0.7)
    ax.set_aspect("equal")
    ax.set_title(title or mdp.name)
    ax.axis("off")
    return save_figure(fig, path, bbox_inches="tight")
