"""Small kernels shared by the spectrum driver, engine and certificates: the Gram matrix
of T, its cost, an upper bound on its norm, column norms of a difference."""
from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray


__all__ = ["gram", "gram_cost", "norm_upper", "column_norms_of_difference"]


# --------------------------------------------------------------------------- Gram matrix
def gram(T: Any) -> tuple[sp.csr_array, bool]:
    r"""The Gram matrix of the smaller side, sparse: :math:`G = T^\top T` (``right=True``,
    when :math:`N_R \le N_L`) or :math:`T T^\top`. For a co-occurrence matrix,
    :math:`T^\top T` is the normalized adjacency of the next-state graph (THEORY F4)."""
    Tc = sp.csr_array(T, dtype=float)
    right = Tc.shape[1] <= Tc.shape[0]
    G = (Tc.T @ Tc) if right else (Tc @ Tc.T)
    G = sp.csr_array(G)
    G = sp.csr_array((G + G.T) * 0.5)  # exact symmetry (rounding of the product)
    G.sort_indices()
    return G, right


def gram_cost(T: sp.csr_array) -> int:
    """Multiply-adds of the sparse product forming the Gram matrix of the smaller side."""
    A = T if T.shape[1] <= T.shape[0] else sp.csr_array(T.T)
    nnz_row = np.diff(A.indptr).astype(np.int64)
    return int(np.dot(nnz_row, nnz_row))


def norm_upper(G: sp.csr_array) -> float:
    r""":math:`\lambda_{\max}(G) \le \|G\|_\infty` (max absolute row sum), a rigorous bound.
    Empty rows (a state no transition of the block reaches) count as 0."""
    if not G.nnz:
        return 0.0
    absG = sp.csr_array((np.abs(G.data), G.indices, G.indptr), shape=G.shape)
    return float((absG @ np.ones(G.shape[1])).max())


def column_norms_of_difference(A: NDArray, B: NDArray, d: NDArray,
                                chunk: int = 8) -> NDArray[np.float64]:
    """Column norms of ``A - B * d``, a few columns at a time (no n x p temporaries)."""
    out = np.empty(A.shape[1])
    for c in range(0, A.shape[1], chunk):
        j = slice(c, c + chunk)
        D = A[:, j] - B[:, j] * d[j]
        out[j] = np.sqrt(np.einsum("ij,ij->j", D, D))
    return out
