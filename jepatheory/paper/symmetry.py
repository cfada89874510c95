r"""Action symmetries of the per-action matrices (THEORY P1, P2): when two :math:`\bar A_a`
are one matrix with its states relabelled, one certified spectrum serves both.

Let :math:`\sigma` be a permutation of the states. If, entry by entry,

.. math::

    \bar A_b[\sigma(s), \sigma(s')] = \bar A_a[s, s']\quad\text{for all } s, s'
    \qquad(\bar A_b = \Pi_\sigma\bar A_a\Pi_\sigma^\top \text{ on the full state space}),

then :math:`\bar A_b` and :math:`\bar A_a` have the same singular values, their singular
vectors are relabelled by :math:`\sigma`, :math:`\|\bar A_b\|_F = \|\bar A_a\|_F`, and so
every :math:`\mathrm{tail}_k` agrees. In floating point the relation is checked, not
assumed: :math:`\eta = \|\bar A_b - \Pi_\sigma\bar A_a\Pi_\sigma^\top\|_F` is computed on the
nonzeros (the sparsity patterns must coincide exactly), and by Weyl's inequality
(:math:`|\sigma_i(X) - \sigma_i(Y)| \le \|X - Y\|_2 \le \|X - Y\|_F`) every singular value
of :math:`\bar A_b` lies within :math:`\eta` of the matching one of :math:`\bar A_a`; the
relabelled vectors have residuals at most those of :math:`\bar A_a` plus :math:`\eta`. A
relation is used only when :math:`\eta \le` ``SYMMETRY_TOL`` :math:`\|\bar A_a\|_F`
(rounding level), and the certificate of the reused spectrum carries :math:`\eta` in its
error bounds.

Candidate relabellings come from the geometry when an MDP has planar ``coords`` (grids,
rooms, mazes, chains, rings: the eight symmetries of the square about the centre of the
bounding box, each kept only if it maps the set of coordinates onto itself), from the
caller (``candidates``), and always the identity (duplicate actions). A wrong candidate
costs one check and is discarded: correctness never rests on the candidate. A symmetry of
the environment that maps action a to action b under any data distribution needs
:math:`P(\sigma s'|\sigma s, b) = P(s'|s,a)` and :math:`\nu(\sigma s, b) = \nu(s, a)`; the
check above tests exactly what the spectra need, on the matrices themselves.
Proof: ``proofs/P1.md`` (section "Symmetric actions").
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from .._results import Result
from ..errors import PaperFormError

__all__ = ["SYMMETRY_TOL", "ActionSymmetry", "LazyCandidates", "check_candidate",
           "coordinate_symmetries", "find_symmetry", "full_block", "iter_coordinate_symmetries",
           "relabel"]

#: A relation is used only when its defect eta is at most this times ||Abar_a||_F.
SYMMETRY_TOL = 1e-12
#: rows sampled for the quick rejection of a candidate before the full check
_SAMPLE_ROWS = 64


@dataclass(frozen=True, repr=False)
class ActionSymmetry(Result):
    r""":math:`\bar A_b = \Pi_\sigma\bar A_a\Pi_\sigma^\top` up to ``eta`` (Frobenius),
    ``sigma`` the state relabelling (``sigma[s]`` is the image of s), ``by`` where the
    candidate came from."""

    action: int
    source: int
    eta: float
    by: str
    sigma: NDArray[np.int64]

    _hidden = ("sigma",)
    _no_export = ("sigma",)


def coordinate_symmetries(coords: NDArray[np.float64] | None,
                          rel: float = 1e-9) -> list[tuple[str, NDArray[np.int64]]]:
    r"""The list of :func:`iter_coordinate_symmetries` (see there).

    >>> import numpy as np
    >>> xy = np.array([[0., 0.], [1., 0.], [2., 0.]])          # a chain of three
    >>> [(name, s.tolist()) for name, s in coordinate_symmetries(xy)]
    [('rotate 180', [2, 1, 0]), ('reflect x', [2, 1, 0])]
    """
    return list(iter_coordinate_symmetries(coords, rel))


def iter_coordinate_symmetries(coords: NDArray[np.float64] | None, rel: float = 1e-9
                               ) -> Iterator[tuple[str, NDArray[np.int64]]]:
    r"""The non-identity symmetries of the square (rotations by 90, 180, 270 degrees, the
    four reflections) about the centre of the bounding box of ``coords`` that map the point
    set onto itself, as state relabellings ``(name, sigma)``. Points are matched after
    rounding to ``rel`` times the size of the box; two states at one point are never
    matched (nothing is yielded then). Lazy: each relabelling is built when asked for, so a
    caller that stops at the first match pays for no more (at N = 1e6 each costs ~0.2 s).
    """
    if coords is None:
        return
    xy = np.asarray(coords, dtype=float)
    if xy.ndim != 2 or xy.shape[1] != 2 or xy.shape[0] < 2 or not np.isfinite(xy).all():
        return
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    centre = (lo + hi) / 2
    scale = max(float(np.max(hi - lo)), 1e-300)
    step = rel * scale
    d = xy - centre

    def keys(pts: NDArray[np.float64]) -> NDArray[np.int64] | None:
        qn = np.rint(pts / step)
        if np.abs(qn).max() >= 2**30:
            return None
        qi = qn.astype(np.int64) + 2**30
        return qi[:, 0] * 2**31 + qi[:, 1]

    base = keys(d)
    if base is None:
        return
    order = np.argsort(base, kind="stable")
    sorted_base = base[order]
    if np.any(sorted_base[1:] == sorted_base[:-1]):
        return                                     # two states at one point: no geometry
    maps = [("rotate 90", ((0, -1), (1, 0))), ("rotate 180", ((-1, 0), (0, -1))),
            ("rotate 270", ((0, 1), (-1, 0))), ("reflect x", ((-1, 0), (0, 1))),
            ("reflect y", ((1, 0), (0, -1))), ("reflect diagonal", ((0, 1), (1, 0))),
            ("reflect antidiagonal", ((0, -1), (-1, 0)))]
    for name, g in maps:
        k = keys(d @ np.asarray(g, dtype=float).T)
        if k is None:
            continue
        pos = np.searchsorted(sorted_base, k)
        pos = np.minimum(pos, sorted_base.size - 1)
        if not np.array_equal(sorted_base[pos], k):
            continue                               # some image is not a state
        sigma = order[pos]
        if np.array_equal(sigma, np.arange(sigma.size)):
            continue
        yield name, sigma.astype(np.int64)


class LazyCandidates:
    """A sequence of candidate relabellings read from a list and then from an iterator,
    each item built on first use and kept (the per-action loop scans it once per pair of
    actions and mostly stops early)."""

    def __init__(self, first: list[tuple[str, NDArray[np.int64]]],
                 rest: Iterator[tuple[str, NDArray[np.int64]]]):
        self._items = list(first)
        self._rest: Iterator[tuple[str, NDArray[np.int64]]] | None = rest

    def __iter__(self) -> Iterator[tuple[str, NDArray[np.int64]]]:
        i = 0
        while True:
            if i < len(self._items):
                yield self._items[i]
                i += 1
                continue
            if self._rest is None:
                return
            nxt = next(self._rest, None)
            if nxt is None:
                self._rest = None
                return
            self._items.append(nxt)

    def __bool__(self) -> bool:
        return True


def full_block(A: sp.csr_array, rows: NDArray[np.int64], cols: NDArray[np.int64],
               n_states: int) -> sp.csr_array:
    """The block placed on the full state space: ``(n_states, n_states)``, row ``rows[i]``
    and column ``cols[j]`` holding ``A[i, j]``, indices sorted."""
    A = sp.csr_array(A)
    order = np.argsort(rows, kind="stable")
    if not np.array_equal(order, np.arange(order.size)):
        A, rows = sp.csr_array(A[order]), rows[order]     # rows in increasing state order
    counts = np.zeros(n_states, dtype=np.int64)
    counts[rows] = np.diff(A.indptr)
    indptr = np.concatenate([[0], np.cumsum(counts)])
    out = sp.csr_array((A.data.copy(), cols[A.indices], indptr), shape=(n_states, n_states))
    out.sort_indices()
    return out


def relabel(F: sp.csr_array, sigma: NDArray[np.int64]) -> sp.csr_array:
    r""":math:`\Pi_\sigma F\Pi_\sigma^\top`: entry (s, s') of F moved to
    :math:`(\sigma(s), \sigma(s'))`; indices sorted."""
    inv = np.empty_like(sigma)
    inv[sigma] = np.arange(sigma.size)
    G = sp.csr_array(F[inv])                     # row sigma(s) of the result is row s of F
    G = sp.csr_array((G.data, sigma[G.indices], G.indptr), shape=F.shape)
    G.sort_indices()
    return G


def _quick_reject(Fa: sp.csr_array, Fb: sp.csr_array, sigma: NDArray[np.int64],
                  rng: np.random.Generator, tol: float) -> bool:
    """True if some sampled row of the relation already fails (cheap early exit)."""
    nz = np.flatnonzero(np.diff(Fa.indptr))
    if nz.size == 0:
        return False
    for s in rng.choice(nz, size=min(_SAMPLE_ROWS, nz.size), replace=False):
        ia = slice(Fa.indptr[s], Fa.indptr[s + 1])
        t = sigma[s]
        ib = slice(Fb.indptr[t], Fb.indptr[t + 1])
        ca, va = sigma[Fa.indices[ia]], Fa.data[ia]
        o = np.argsort(ca)
        if not np.array_equal(ca[o], Fb.indices[ib]):
            return True
        if np.abs(va[o] - Fb.data[ib]).max(initial=0.0) > tol:
            return True
    return False


def check_candidate(name: str, sigma: object, n_states: int) -> NDArray[np.int64]:
    """A caller's candidate relabelling as an int64 permutation of ``range(n_states)``;
    :class:`PaperFormError` names the candidate otherwise."""
    arr = np.asarray(sigma)
    if arr.shape != (n_states,) or not np.issubdtype(arr.dtype, np.integer):
        raise PaperFormError(f"symmetry candidate {name!r}: expected {n_states} integer "
                             f"state labels, got an array of shape {arr.shape} ({arr.dtype})")
    if not np.array_equal(np.sort(arr), np.arange(n_states)):
        raise PaperFormError(f"symmetry candidate {name!r} is not a permutation of the "
                             f"states 0..{n_states - 1}")
    return arr.astype(np.int64)


def find_symmetry(Fa: sp.csr_array, Fb: sp.csr_array, a: int, b: int,
                  candidates: Iterable[tuple[str, NDArray[np.int64]]],
                  seed: int = 0,
                  supports: tuple[NDArray[np.int64], NDArray[np.int64],
                                  NDArray[np.int64], NDArray[np.int64]] | None = None
                  ) -> ActionSymmetry | None:
    r"""The first candidate relabelling with :math:`\bar A_b = \Pi_\sigma\bar A_a
    \Pi_\sigma^\top` up to ``SYMMETRY_TOL`` (``Fa``, ``Fb`` from :func:`full_block`), with its
    measured defect :math:`\eta`; None when no candidate passes. ``supports`` = (rows_a,
    cols_a, rows_b, cols_b), the blocks' row and column supports (sorted state indices): a
    relabelling must also map a's supports onto b's (zero rows or
    columns inside a support are not seen by the entry check), so that the relabelled singular
    vectors land on b's supports.
    """
    if Fa.shape != Fb.shape or Fa.nnz != Fb.nnz:
        return None
    fro = float(np.sqrt(np.dot(Fa.data, Fa.data)))
    tol_eta = SYMMETRY_TOL * max(fro, 1e-300)
    tol_entry = tol_eta
    rng = np.random.default_rng(seed)
    for by, sigma in candidates:
        if supports is not None and not all(
                np.array_equal(np.sort(sigma[src]), dst)
                for src, dst in ((supports[0], supports[2]), (supports[1], supports[3]))):
            continue
        if _quick_reject(Fa, Fb, sigma, rng, tol_entry):
            continue
        R = relabel(Fa, sigma)
        if not (np.array_equal(R.indptr, Fb.indptr) and np.array_equal(R.indices, Fb.indices)):
            continue
        diff = R.data - Fb.data
        eta = float(np.sqrt(np.dot(diff, diff)))
        if eta <= tol_eta:
            return ActionSymmetry(action=int(b), source=int(a), eta=eta, by=str(by),
                                  sigma=sigma.astype(np.int64))
    return None
