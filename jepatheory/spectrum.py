r"""Top-k singular values and vectors of the co-occurrence matrix T, with an accuracy
report (THEORY D2, T2).

:func:`top_singular` picks a dense LAPACK SVD for small matrices and an iterative sparse
eigensolver on the Gram matrix of the smaller side for large ones. Every answer carries

* ``residuals[i]`` :math:`= \sqrt{(\|T v_i - \sigma_i u_i\|^2 + \|T^\top u_i - \sigma_i v_i\|^2)/2}`;
  by Weyl's theorem applied to :math:`\begin{pmatrix}0&T\\T^\top&0\end{pmatrix}` some true
  singular value lies within ``residuals[i]`` of ``singular_values[i]``;
* ``frobenius_sq`` computed from the nonzeros (exact up to rounding) and
  ``tail[k] = frobenius_sq - sum_{i<=k} sigma_i^2`` (never from a dense matrix);
* ``certified``: whether the method also guarantees that no singular value was skipped
  (dense SVD: yes; iterative: only when a separate check passed, see ``certificate``).

Canonical signs: each pair ``(u_i, v_i)`` is flipped so that the entry of largest magnitude
of ``v_i`` is positive (first such entry on ties).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numpy.typing import NDArray

from ._results import Result
from .errors import SpectrumError

__all__ = ["Spectrum", "top_singular", "canonical_signs", "DENSE_MAX_ENTRIES"]

#: Matrices with at most this many entries (N_L * N_R) use the dense SVD path.
DENSE_MAX_ENTRIES = 4_000_000


@dataclass(frozen=True, repr=False)
class Spectrum(Result):
    """Top-k singular triplets of T with their accuracy report."""

    k: int
    singular_values: NDArray[np.float64]
    residuals: NDArray[np.float64]
    frobenius_sq: float
    tail: NDArray[np.float64]
    method: str
    certified: bool
    seconds: float
    shape: tuple[int, int]
    certificate: dict[str, Any] = field(default_factory=dict)
    U: NDArray[np.float64] | None = None
    V: NDArray[np.float64] | None = None

    _hidden = ("U", "V")
    _no_export = ("U", "V")

    def tail_k(self, k: int) -> float:
        r""":math:`\mathrm{tail}_k = \|T\|_F^2 - \sum_{i\le k}\sigma_i^2` for ``k <= self.k``."""
        if not 0 <= k <= self.k:
            raise SpectrumError(f"tail_k: k={k} outside the computed range [0, {self.k}]")
        return float(self.tail[k])

    @property
    def max_error(self) -> float:
        """Largest residual: an absolute error bound on every computed singular value."""
        return float(self.residuals.max()) if self.residuals.size else 0.0


def canonical_signs(U: NDArray[np.float64], V: NDArray[np.float64]) -> tuple[NDArray, NDArray]:
    """Flip each column pair so the largest-magnitude entry of ``V[:, i]`` is positive."""
    if V.shape[1] == 0:
        return U, V
    idx = np.argmax(np.abs(V), axis=0)
    signs = np.sign(V[idx, np.arange(V.shape[1])])
    signs[signs == 0] = 1.0
    return U * signs, V * signs


def _frobenius_sq(T: Any) -> float:
    if sp.issparse(T):
        d = T.data
        return float(np.dot(d, d))
    return float(np.sum(np.asarray(T) ** 2))


def _residuals(T: Any, s: NDArray, U: NDArray, V: NDArray) -> NDArray[np.float64]:
    r1 = np.linalg.norm(T @ V - U * s, axis=0)
    r2 = np.linalg.norm(T.T @ U - V * s, axis=0)
    return np.sqrt((r1**2 + r2**2) / 2)


def _dense(T: Any, k: int) -> tuple[NDArray, NDArray, NDArray]:
    A = T.toarray() if sp.issparse(T) else np.asarray(T, dtype=float)
    U, s, Vt = np.linalg.svd(A, full_matrices=False)
    return s[:k], U[:, :k], Vt[:k].T


def _iterative(T: Any, k: int, tol: float, seed: int, extra: int) -> tuple[NDArray, NDArray,
                                                                             NDArray, dict]:
    """Top-k via ARPACK on the Gram matrix of the smaller side, with ``extra`` guard
    vectors so clusters straddling k are resolved."""
    NL, NR = T.shape
    right = NR <= NL
    n = NR if right else NL
    Tc = sp.csr_array(T)
    TT = sp.csr_array(Tc.T)

    def mv(x: NDArray) -> NDArray:
        return TT @ (Tc @ x) if right else Tc @ (TT @ x)

    G = spla.LinearOperator((n, n), matvec=mv, matmat=mv, dtype=float)
    want = min(k + extra, n - 1)
    rng = np.random.default_rng(seed)
    v0 = rng.standard_normal(n)
    ncv = min(n, max(2 * want + 1, want + 64))
    vals, vecs = spla.eigsh(G, k=want, which="LA", tol=tol, v0=v0, ncv=ncv, maxiter=100 * n)
    order = np.argsort(vals)[::-1]
    vals, vecs = vals[order], vecs[:, order]
    s = np.sqrt(np.clip(vals, 0.0, None))
    safe = np.where(s > 0, s, 1.0)
    if right:
        V = vecs
        U = (Tc @ V) / safe
    else:
        U = vecs
        V = (TT @ U) / safe
    info = {"guard_values": s[k:].tolist(), "ncv": int(ncv)}
    return s[:k], U[:, :k], V[:, :k], info


def top_singular(T: Any, k: int, method: str = "auto", tol: float = 1e-12, seed: int = 0,
                 extra: int = 8) -> Spectrum:
    r"""Top-``k`` singular triplets of ``T`` (dense or sparse), descending.

    Parameters
    ----------
    k : number of triplets, ``0 <= k <= min(T.shape)``.
    method : ``"auto"`` (dense when ``N_L N_R <= DENSE_MAX_ENTRIES``), ``"dense"`` or
        ``"sparse"``.
    tol : eigensolver tolerance for the sparse path.
    seed : start vector seed (sparse path), for reproducibility.
    extra : guard values computed beyond k on the sparse path.
    """
    t0 = time.perf_counter()
    if T.ndim != 2:
        raise SpectrumError(f"top_singular: T must be a matrix, got ndim={T.ndim}")
    NL, NR = T.shape
    kmax = min(NL, NR)
    if not (isinstance(k, (int, np.integer)) and 0 <= k <= kmax):
        raise SpectrumError(f"top_singular: k={k!r} must be an integer in [0, {kmax}]")
    if method == "auto":
        method = "dense" if NL * NR <= DENSE_MAX_ENTRIES or k >= kmax - 1 else "sparse"
    cert: dict[str, Any] = {}
    if method == "dense":
        s, U, V = _dense(T, k)
        certified = True
        cert["reason"] = "dense LAPACK SVD: all singular values computed, none can be skipped"
    elif method == "sparse":
        if k >= kmax - 1:
            raise SpectrumError(f"top_singular: sparse path needs k < {kmax - 1}; use dense")
        s, U, V, info = _iterative(T, k, tol, seed, extra)
        cert.update(info)
        certified = False
        cert["reason"] = "iterative eigensolver: residual bounds only, skips not excluded"
    else:
        raise SpectrumError(f"top_singular: unknown method {method!r} (auto, dense, sparse)")
    U, V = canonical_signs(U, V)
    fro = _frobenius_sq(T)
    res = _residuals(T, s, U, V) if k else np.zeros(0)
    tail = fro - np.concatenate([[0.0], np.cumsum(s**2)])
    tail = np.maximum(tail, 0.0)
    cert["frobenius_consistent"] = bool(np.sum(s**2) <= fro * (1 + 1e-10) + 1e-12)
    return Spectrum(k=int(k), singular_values=s, residuals=res, frobenius_sq=fro, tail=tail,
                    method=method, certified=certified, seconds=time.perf_counter() - t0,
                    shape=(NL, NR), certificate=cert, U=U, V=V)
