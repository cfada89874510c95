r"""Localized Rayleigh-Ritz: Ritz pairs of the Gram matrix G from a small principal
submatrix, when its leading eigenvectors live near a few heavy rows (a wall the action
pushes into, a bottleneck), handed to the same certificate as the block Krylov pairs.

Where to look (a heuristic only: nothing proved below relies on it). G entrywise
nonnegative (always, for the Gram matrix of a co-occurrence matrix) with row sums
:math:`r = G\mathbf 1`, median m, and :math:`\lambda_1` the Lanczos estimate the engine
computes for its shift anyway. When :math:`\lambda_1 > (1 + \rho)\,m`
(:data:`LOCALIZE_RATIO`), the heavy rows are :math:`S = \{i : r_i > \tau\}`,
:math:`\tau = (\lambda_1 + m)/2`. Off S, :math:`\sum_{j\notin S} G_{ij} \le r_i \le \tau`,
so :math:`\lambda_{\max}(G_{BB}) \le \tau` on the complement B (Gershgorin): eigenvectors
of eigenvalues above :math:`\tau` decay away from S. On the co-occurrence matrix T itself
:math:`T^\top T\sqrt q = \sqrt q` makes :math:`\lambda_1 = 1` the typical row sum, so the
stacked spectrum does not trigger; a per-action block :math:`\bar A_a` of a grid does: its
wall rows carry twice the mass (:math:`\lambda_1 \approx 1.75`, m = 1 on the slip grid).

What is computed. For L in :data:`LAYERS` (while the region has at most n/4 rows) the
region :math:`R_L` is S with L layers of neighbours in G's graph. The top
``k + extra + 1`` eigenpairs of :math:`G_{RR}` (shift-invert Lanczos just above
:math:`\lambda_1`, then one Rayleigh-Ritz to make the block orthonormal to rounding),
extended by zero, are orthonormal Ritz pairs of G (Cauchy: :math:`\theta_i \le
\lambda_i(G)`). Their residuals :math:`Gy - \theta y` vanish outside R and its neighbours
and are computed exactly there. Once the top k are below the engine's tolerance, the pairs
go to :func:`~jepatheory.spectrum._certify.certify_top_inertia` on the whole G:
Kahan-Cao-Xie-Li matching plus the inertia count of :math:`cI - G` proves them the top p,
none skipped, exactly as for the Krylov pairs. If the count finds more (a leading
eigenvector elsewhere) or the residuals never converge, the engine runs its block Krylov
as if nothing had been tried. Statement and proof: ``proofs/P1.md``, "Localized blocks".
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numpy.typing import NDArray

from ._linalg import column_norms_of_difference

__all__ = ["LAYERS", "LOCALIZE_RATIO", "LocalRitz", "heavy_rows", "local_ritz"]

#: the top eigenvalue estimate must exceed the median row sum by this fraction
LOCALIZE_RATIO = 0.05
#: neighbourhood depths tried, in layers of G's graph around the heavy rows
LAYERS = (4, 8, 16, 32)
#: below this many rows the submatrix is diagonalized densely
DENSE_ROWS = 1500


@dataclass(frozen=True)
class LocalRitz:
    """Ritz pairs of G from a principal submatrix: ``theta`` descending, ``Y`` and ``GY``
    restricted to the rows ``near`` (the region and its neighbours; both vanish elsewhere),
    ``region`` the rows of the submatrix, ``rn`` the residual norms."""

    theta: NDArray[np.float64]
    near: NDArray[np.int64]
    Y: NDArray[np.float64]
    GY: NDArray[np.float64]
    rn: NDArray[np.float64]
    region: NDArray[np.int64]

    def full(self, n: int, cols: int) -> NDArray[np.float64]:
        """The first ``cols`` Ritz vectors as an n x cols array."""
        out = np.zeros((n, cols))
        out[self.near] = self.Y[:, :cols]
        return out


def heavy_rows(G: sp.csr_array, lambda1: float) -> tuple[NDArray[np.int64] | None,
                                                          dict[str, Any]]:
    """The heavy rows S of the module docstring, or None (with the reason) when the
    trigger does not hold or S is empty or more than n/8 rows."""
    n = G.shape[0]
    if G.nnz == 0 or float(G.data.min()) < 0:
        return None, dict(reason="G has negative entries")
    r = G @ np.ones(n)
    m = float(np.median(r))
    info: dict[str, Any] = dict(lambda1_estimate=float(lambda1), median_row_sum=m)
    if not lambda1 > (1 + LOCALIZE_RATIO) * m:
        return None, dict(info, reason="lambda_1 is not above the typical row sum")
    tau = 0.5 * (lambda1 + m)
    S = np.flatnonzero(r > tau)
    info.update(tau=tau, heavy_rows=int(S.size))
    if S.size == 0 or S.size > n // 8:
        return None, dict(info, reason="no heavy rows" if S.size == 0 else
                          "heavy rows are more than n/8")
    return S, info


def _grow(pattern: sp.csr_array, mask: NDArray[np.float64], layers: int) -> NDArray:
    for _ in range(layers):
        mask = np.maximum(mask, (pattern @ mask > 0).astype(float))
    return mask


def _top_eigenpairs(H: sp.csr_array, pp: int, sigma: float
                    ) -> tuple[NDArray, NDArray] | None:
    """Top ``pp`` eigenpairs of the symmetric sparse H (descending), orthonormal to
    rounding; None if ARPACK fails."""
    nR = H.shape[0]
    if nR <= DENSE_ROWS:
        w, Z = np.linalg.eigh(H.toarray())
        return w[::-1][:pp], Z[:, ::-1][:, :pp]
    try:
        w, Z = spla.eigsh(H, k=pp, sigma=sigma, which="LM", v0=np.ones(nR), tol=0.0)
    except (spla.ArpackNoConvergence, spla.ArpackError, RuntimeError):
        return None
    Q = sla.qr(Z, mode="economic")[0]            # Rayleigh-Ritz on span Z: orthonormal
    w, S = np.linalg.eigh(Q.T @ (H @ Q))
    return w[::-1], Q @ S[:, ::-1]


def local_ritz(G: sp.csr_array, k: int, pp: int, tol_abs: float, lambda1: float,
               upper: float) -> tuple[LocalRitz | None, dict[str, Any]]:
    """Ritz pairs of the module docstring whose top ``k`` residuals are at most
    ``tol_abs`` (``pp`` pairs, the guard band included), or None with what was tried."""
    t0 = time.perf_counter()
    n = G.shape[0]
    S, info = heavy_rows(G, lambda1)
    tried: list[dict[str, Any]] = []
    info["tries"] = tried
    if S is None:
        info["seconds"] = time.perf_counter() - t0
        return None, info
    # the shift: just above lambda_max(G) >= lambda_max(G_RR), as tight as the engine's own
    sigma = min(upper, lambda1 * (1 + 2e-3)) * (1 + 1e-6) + 1e-300
    pattern = sp.csr_array((np.ones(G.nnz), G.indices, G.indptr), shape=G.shape)
    mask = np.zeros(n)
    mask[S] = 1.0
    done = 0
    for L in LAYERS:
        mask = _grow(pattern, mask, L - done)
        done = L
        R = np.flatnonzero(mask)
        if R.size > n // 4:
            info["reason"] = "the region outgrew n/4 rows"
            break
        if R.size <= pp:
            continue
        t1 = time.perf_counter()
        GR = G[R]                   # rows R (G symmetric: G[near, R] = G[R, near]^T)
        near = np.unique(GR.indices)            # R and its neighbours: where G Y can be nonzero
        B = sp.csr_array(GR[:, near])
        pairs = _top_eigenpairs(sp.csr_array(B[:, np.searchsorted(near, R)]), pp, sigma)
        if pairs is None:
            tried.append(dict(layers=L, region=int(R.size), converged=False,
                              reason="ARPACK did not converge"))
            continue
        theta, Yr = pairs
        Y = np.zeros((near.size, pp))
        Y[np.searchsorted(near, R)] = Yr
        GY = B.T @ Yr
        rn = column_norms_of_difference(GY, Y, theta)
        ok = bool(np.all(rn[:k] <= tol_abs))
        tried.append(dict(layers=L, region=int(R.size), converged=ok,
                          max_residual=float(rn[:k].max()),
                          seconds=time.perf_counter() - t1))
        if ok:
            info["seconds"] = time.perf_counter() - t0
            return LocalRitz(theta, near, Y, GY, rn, R), info
    info.setdefault("reason", "the residuals did not reach the tolerance")
    info["seconds"] = time.perf_counter() - t0
    return None, info
