r"""Top-k singular values and vectors of the co-occurrence matrix T, with a proof of their
accuracy (THEORY D2, T2, F4).

Methods (``top_singular(..., method=)``):

``dense``
    LAPACK SVD of the dense matrix. Every singular value is computed, so none can be
    skipped; ``certified`` is True.
``sparse`` (default above ``DENSE_MAX_ENTRIES`` entries)
    Works on the Gram matrix :math:`G = T^\top T` of the smaller side (by F4 the normalized
    adjacency of the next-state graph, eigenvalues in :math:`[0, 1]`), formed sparse from the
    nonzeros. A sparse symmetric factorization of :math:`s_0 I - G` (PARDISO's
    multithreaded Cholesky with the ``fast`` extra, else SuperLU's :math:`LDL^\top`), with
    :math:`s_0` just above :math:`\lambda_{\max}(G)`, gives the shift-invert operator
    :math:`B = (s_0 I - G)^{-1}`: the near-equal clusters at the top of the spectrum of
    :math:`G` (gaps of 1e-6 on large grids) become well separated eigenvalues of :math:`B`.
    A block Krylov space of :math:`B` gives the Ritz pairs (Rayleigh-Ritz on B from the
    orthogonalization coefficients, exact residuals of G from one small Gram matrix per
    block, a final Rayleigh-Ritz with G on the top vectors).
``matvec``
    The same block Krylov method on :math:`G` itself (products only, no factorization);
    slow when the top gaps are small, for matrices whose factorization does not fit.

Accuracy report of every answer:

* ``residuals[i]``
  :math:`= \sqrt{(\|T v_i - \sigma_i u_i\|^2 + \|T^\top u_i - \sigma_i v_i\|^2)/2}`;
  by Weyl's theorem applied to :math:`\begin{pmatrix}0&T\\T^\top&0\end{pmatrix}` some true
  singular value lies within ``residuals[i]`` of ``singular_values[i]``;
* ``frobenius_sq`` computed from the nonzeros (exact up to rounding) and
  ``tail[k] = frobenius_sq - sum_{i<=k} sigma_i^2`` (never from a dense matrix);
* ``certified``: the answer is proved to be the top k, none skipped, each
  :math:`\sigma_i` within ``certificate["sigma_error_bound"][i]`` of the i-th largest
  singular value. On the iterative paths the proof is (see :func:`certify_top`):

  1. Kahan-Cao-Xie-Li: for the orthonormal Ritz block :math:`Q` (p columns, Ritz values
     :math:`\theta`, block residual :math:`R = GQ - Q\,\mathrm{diag}\,\theta`), p eigenvalues
     of G (distinct indices) lie within :math:`\|R\|_2` of the :math:`\theta_i`;
  2. Courant-Fischer: :math:`\lambda_{p+1}(G) \le \max_{x\perp Q} x^\top G x`, bounded
     above (for :math:`B`, equivalently) by Lanczos on the deflated operator with the
     Kuczynski-Wozniakowski bound
     :math:`P[\theta^{(j)} < (1-\epsilon)\lambda_{\max}]
     \le 1.648\sqrt{n}\,e^{-\sqrt{\epsilon}(2j-1)}`,
     taken with a union bound over the Lanczos steps, so it holds with probability
     ``>= 1 - delta`` over the random start vector;
  3. if :math:`\theta_p - \|R\|_2` exceeds that bound, the p eigenvalues of step 1 are the
     top p of G, and the sorted errors are at most :math:`\|R\|_2`; for
     :math:`\sigma_i = \sqrt{\theta_i}` this gives
     :math:`|\sigma_i - \sigma_i(T)| \le \|R\|_2 / (\sigma_i + \sqrt{\theta_i - \|R\|_2})`.

  With PARDISO (the ``fast`` extra; ``certificate="auto"`` on the shift-invert path when
  PARDISO factors, or ``"inertia"``) step 2 is deterministic instead
  (:func:`certify_top_inertia`): an indefinite :math:`LDL^\top` factorization of
  :math:`cI - G`, with the cut c in the gap below :math:`\theta_p - \|R\|_2`, counts the
  eigenvalues of G above c (Sylvester's law of inertia); a count of exactly p proves
  :math:`\lambda_{p+1}(G) \le c`, failure probability 0, ``check["by"] == "inertia"``.
  One factorization replaces the Lanczos run (about 2.5x faster at N = 10^6, k = 64).

  If the Lanczos run exhausts the complement (an invariant Krylov space), its largest Ritz
  value is the maximum itself (a Gaussian start meets every eigenspace almost surely). A
  Ritz value of the complement above the cut proves that a value was skipped (or that the
  cut splits a cluster): ``check["skip_detected"]``. The argument is exact arithmetic; the
  factorization, the solves and the recurrences add rounding at the level of ``tol``.

  When the check fails the routine restarts with a larger block; if it still fails it
  warns (:class:`~jepatheory.errors.SpectrumWarning`) and returns ``certified=False``.

Canonical signs: each pair ``(u_i, v_i)`` is flipped so that the entry of largest magnitude
of ``v_i`` is positive (first such entry on ties). Same ``seed``, same numbers.
"""
from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from typing import Any
from collections.abc import Callable

import numpy as np
import scipy.linalg as sla
import scipy.linalg.blas as _blas
import scipy.sparse as sp
from numpy.typing import NDArray

from ._factor import BACKENDS, Factor, factor_shifted, inertia_shifted, require_pardiso
from ._results import Result, to_jsonable
from ._spmv import matmul
from .errors import SpectrumError, SpectrumWarning

__all__ = ["Spectrum", "SpectralCertificate", "SpectrumOptions", "top_singular", "truncate",
           "canonical_signs", "certify_top", "certify_top_inertia", "gram", "DENSE_MAX_ENTRIES",
           "METHODS", "CERTIFICATES"]

#: Matrices with at most this many entries (N_L * N_R) use the dense SVD path.
DENSE_MAX_ENTRIES = 4_000_000
#: Accepted values of ``method``.
METHODS = ("auto", "dense", "sparse", "matvec")
#: Accepted values of ``certificate`` (iterative paths).
CERTIFICATES = ("auto", "inertia", "lanczos")
#: Kuczynski-Wozniakowski constant for Lanczos (1992, Theorem 4.2).
_KW_CONST = 1.648

Operator = Callable[[NDArray[np.float64]], NDArray[np.float64]]


@dataclass(frozen=True)
class SpectrumOptions:
    """Every solver keyword of :func:`top_singular` but ``k``: one hashable record, the
    cache key of :meth:`~jepatheory.cooccurrence.CoOccurrence.spectrum` and what the
    driver hands the iterative engine (defaults as in :func:`top_singular`).

    >>> SpectrumOptions(seed=3) == SpectrumOptions(seed=3)
    True
    >>> SpectrumOptions(method="dense").kwargs()["method"]
    'dense'
    """

    method: str = "auto"
    tol: float = 1e-8
    seed: int = 0
    extra: int = 8
    block: int = 4
    max_dim: int | None = None
    attempts: int = 3
    delta: float = 1e-10
    cert_steps: int = 300
    threads: int | None = None
    factorization: str = "auto"
    certificate: str = "auto"

    def kwargs(self) -> dict[str, Any]:
        """The keywords of :func:`top_singular` (``method`` included)."""
        return asdict(self)


@dataclass(frozen=True)
class _Iterated:
    """What the iterative engine returns: the top-k triplets, whether they are certified
    and the certificate's numbers (``info``)."""

    s: NDArray[np.float64]
    U: NDArray[np.float64]
    V: NDArray[np.float64]
    certified: bool
    info: dict[str, Any]


#: keys of a spectral certificate held in named fields (the rest stay in ``details``)
_CERT_FIELDS = ("statement", "failure_probability", "frobenius_consistent",
                "sigma_error_bound", "check", "factorization")


@dataclass(frozen=True, eq=False)
class SpectralCertificate(Mapping[str, Any]):
    """What a spectrum's accuracy report proves, as named fields.

    ``statement`` says it in words; ``failure_probability`` (0 for dense and inertia
    proofs, ``delta`` for the randomized Lanczos proof, None when not certified);
    ``sigma_error_bound`` the certified per-value bound; ``by`` how "none skipped" was
    proved (``dense``, ``inertia``, ``lanczos``); ``check`` the numbers of the proof;
    ``factorization`` the shift-invert backend; ``details`` the engine's other numbers
    (Gram side, attempts, tolerance). It also reads as the mapping it used to be
    (``cert["check"]["by"]``), and :meth:`to_dict` gives the same JSON object, key order
    included.
    """

    statement: str = ""
    failure_probability: float | None = None
    frobenius_consistent: bool = False
    sigma_error_bound: tuple[float, ...] | None = None
    check: dict[str, Any] | None = None
    factorization: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    order: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SpectralCertificate:
        """The record of a certificate mapping (keys outside the named fields go to
        ``details``; the key order is kept for :meth:`to_dict`)."""
        if isinstance(d, SpectralCertificate):
            return d
        b = d.get("sigma_error_bound")
        return cls(statement=d.get("statement", ""),
                   failure_probability=d.get("failure_probability"),
                   frobenius_consistent=bool(d.get("frobenius_consistent", False)),
                   sigma_error_bound=None if b is None else tuple(float(x) for x in b),
                   check=None if d.get("check") is None else dict(d["check"]),
                   factorization=d.get("factorization"),
                   details={k: v for k, v in d.items() if k not in _CERT_FIELDS},
                   order=tuple(d))

    @property
    def by(self) -> str | None:
        """How "no singular value skipped" was proved: ``dense`` (direct method),
        ``inertia`` or ``lanczos``; None when the iterative check did not get that far."""
        return "dense" if self.check is None else self.check.get("by")

    def _value(self, key: str) -> Any:
        if key in _CERT_FIELDS:
            v = getattr(self, key)
            return list(v) if key == "sigma_error_bound" and v is not None else v
        return self.details[key]

    def __getitem__(self, key: str) -> Any:
        if key not in self.order:
            raise KeyError(key)
        return self._value(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.order)

    def __len__(self) -> int:
        return len(self.order)

    def to_dict(self) -> dict[str, Any]:
        """The certificate as the JSON-ready object of ``Spectrum.to_dict()``."""
        return {k: to_jsonable(self._value(k)) for k in self.order}

    def __repr__(self) -> str:
        return (f"SpectralCertificate(by={self.by!r}, failure_probability="
                f"{self.failure_probability!r}, statement={self.statement!r})")


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
    certificate: SpectralCertificate = field(default_factory=SpectralCertificate)
    U: NDArray[np.float64] | None = None
    V: NDArray[np.float64] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.certificate, SpectralCertificate):  # a plain mapping
            object.__setattr__(self, "certificate",
                               SpectralCertificate.from_dict(self.certificate))

    _hidden = ("U", "V", "certificate")
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

    @property
    def error_bounds(self) -> NDArray[np.float64]:
        """Per-value error bound: the certified bound when there is one, else the residual
        (Weyl) bound, which does not exclude skipped values."""
        b = self.certificate.sigma_error_bound
        if b is None:
            return self.residuals
        return np.minimum(np.asarray(b, dtype=float), self.residuals)


def truncate(spec: Spectrum, k: int) -> Spectrum:
    """The top ``k <= spec.k`` triplets of ``spec`` as a spectrum of its own (views of its
    arrays; the certificate of the larger spectrum covers its top k: none skipped among the
    top k' >= k means none among the top k)."""
    if not 0 <= k <= spec.k:
        raise SpectrumError(f"truncate: k={k} outside the computed range [0, {spec.k}]")
    if k == spec.k:
        return spec
    cert = spec.certificate
    if cert.sigma_error_bound is not None:
        cert = replace(cert, sigma_error_bound=cert.sigma_error_bound[:k])
    return replace(spec, k=int(k), singular_values=spec.singular_values[:k],
                   residuals=spec.residuals[:k], tail=spec.tail[:k + 1], certificate=cert,
                   U=None if spec.U is None else spec.U[:, :k],
                   V=None if spec.V is None else spec.V[:, :k])


def canonical_signs(U: NDArray[np.float64], V: NDArray[np.float64]) -> tuple[NDArray, NDArray]:
    """Flip each column pair so the largest-magnitude entry of ``V[:, i]`` is positive."""
    if V.shape[1] == 0:
        return U, V
    signs = _canonical_flips(V)
    return U * signs, V * signs


def _canonical_flips(V: NDArray[np.float64]) -> NDArray[np.float64]:
    idx = np.argmax(np.abs(V), axis=0)
    signs = np.sign(V[idx, np.arange(V.shape[1])])
    signs[signs == 0] = 1.0
    return signs


def _frobenius_sq(T: Any) -> float:
    if sp.issparse(T):
        d = T.data
        return float(np.dot(d, d))
    return float(np.sum(np.asarray(T) ** 2))


def _column_norms_of_difference(A: NDArray, B: NDArray, d: NDArray,
                                chunk: int = 8) -> NDArray[np.float64]:
    """Column norms of ``A - B * d``, a few columns at a time (no n x p temporaries)."""
    out = np.empty(A.shape[1])
    for c in range(0, A.shape[1], chunk):
        j = slice(c, c + chunk)
        D = A[:, j] - B[:, j] * d[j]
        out[j] = np.sqrt(np.einsum("ij,ij->j", D, D))
    return out


def _residuals(T: Any, s: NDArray, U: NDArray, V: NDArray,
               rows: int = 131_072) -> NDArray[np.float64]:
    r"""Per-pair residual norms: :math:`TV - U\Sigma` a block of rows at a time (each row of U
    read once, contiguous; no ``N_L x k`` temporaries), :math:`T^\top U - V\Sigma` from one
    product (``N_R x k``, the size of V)."""
    if sp.issparse(T):
        T = sp.csr_array(T)
    V = np.ascontiguousarray(V)  # once: sparse products want C order (V may be a slice)
    r1 = np.zeros(s.size)
    for a in range(0, T.shape[0], rows):
        D = T[a:a + rows] @ V
        D -= U[a:a + rows] * s
        r1 += np.einsum("ij,ij->j", D, D)
    r2 = _column_norms_of_difference(T.T @ U, V, s)
    return np.sqrt((r1 + r2**2) / 2)


#: The dense path uses the Gram matrix of the smaller side when k <= min(N_L, N_R) / 2 and
#: min(N_L, N_R) >= this (LAPACK's selected-eigenvalue solver, 2-4x faster than a full SVD),
#: and only when sigma_k >= GRAM_MIN_RATIO * sigma_1: then U^T U = I up to
#: eps / GRAM_MIN_RATIO^2 ~ 1e-10 and each sigma_i is exact to ~eps sigma_1^2 / sigma_i.
GRAM_MIN_SIZE = 48
GRAM_MIN_RATIO = 1e-3


def _dense(T: Any, k: int) -> tuple[NDArray, NDArray, NDArray]:
    """Top-k triplets by dense LAPACK: a direct method (Sylvester counts / QR iterations),
    so no value can be skipped; the full SVD, or the top-k eigenpairs of the Gram matrix of
    the smaller side when that is safe and cheaper (see ``GRAM_MIN_RATIO``)."""
    n = min(T.shape)
    if 2 * k <= n and n >= GRAM_MIN_SIZE:
        G, right = gram(T)
        w, X = sla.eigh(G.toarray(), subset_by_index=[n - k, n - 1])
        w, X = w[::-1], np.ascontiguousarray(X[:, ::-1])
        if w[0] > 0 and w[-1] >= GRAM_MIN_RATIO**2 * w[0]:
            s = np.sqrt(w)
            Tc = sp.csr_array(T) if sp.issparse(T) else np.asarray(T, dtype=float)
            other = (Tc @ X if right else Tc.T @ X) / s
            return (s, other, X) if right else (s, X, other)
    A = T.toarray() if sp.issparse(T) else np.asarray(T, dtype=float)
    U, s, Vt = np.linalg.svd(A, full_matrices=False)
    return s[:k], U[:, :k], Vt[:k].T


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


def _gram_cost(T: sp.csr_array) -> int:
    """Multiply-adds of the sparse product forming the Gram matrix of the smaller side."""
    A = T if T.shape[1] <= T.shape[0] else sp.csr_array(T.T)
    nnz_row = np.diff(A.indptr).astype(np.int64)
    return int(np.dot(nnz_row, nnz_row))


def _norm_upper(G: sp.csr_array) -> float:
    r""":math:`\lambda_{\max}(G) \le \|G\|_\infty` (max absolute row sum), a rigorous bound."""
    return float(np.max(np.add.reduceat(np.abs(G.data), G.indptr[:-1]))) if G.nnz else 0.0


# --------------------------------------------------------------------------- operators
def _lambda_max_upper(G: sp.csr_array, rng: np.random.Generator, steps: int = 40,
                      gmul: Operator | None = None) -> tuple[float, dict[str, float]]:
    r"""A rigorous upper bound on :math:`\lambda_{\max}(G)`: :math:`\|G\|_\infty`, or,
    when G is entrywise nonnegative (always for a co-occurrence matrix), the
    Collatz-Wielandt bound :math:`\max_i (Gx)_i/x_i` at a positive x built from a short
    Lanczos run (tight when x is near the Perron vector :math:`\sqrt q`, THEORY F4)."""
    n = G.shape[0]
    inf_norm = _norm_upper(G)
    info = dict(inf_norm=inf_norm)
    if G.nnz == 0 or G.data.min() < 0:
        return inf_norm, info
    steps = max(1, min(steps, n))
    gmul = gmul or (lambda X: G @ X)
    v = rng.standard_normal(n)
    v /= np.linalg.norm(v)
    V = np.empty((n, steps), order="F")  # columns touched only when used
    alpha, beta = np.zeros(steps), np.zeros(steps)
    b, v_prev, m = 0.0, np.zeros(n), 0
    for j in range(steps):
        V[:, j] = v
        w = gmul(v) - b * v_prev
        alpha[j] = w @ v
        w -= alpha[j] * v
        w -= V[:, :j + 1] @ (V[:, :j + 1].T @ w)
        b = float(np.linalg.norm(w))
        m = j + 1
        if b <= 1e-14:
            break
        beta[j] = b
        v_prev, v = v, w / b
    vals, vecs = sla.eigh_tridiagonal(alpha[:m], beta[:m - 1])
    x = np.abs(V[:, :m] @ vecs[:, -1])
    x += 1e-8 * x.max()
    for _ in range(3):  # a few power steps smooth x toward the Perron vector
        x = gmul(x) + 1e-12 * x.max()
    cw = float(np.max(gmul(x) / x))
    info.update(lanczos=float(vals[-1]), collatz_wielandt=cw)
    return min(inf_norm, cw), info


@dataclass
class _ShiftInvert:
    r""":math:`B = (s_0 I - G)^{-1}` from a sparse symmetric factorization
    (:mod:`jepatheory._factor`: PARDISO Cholesky or SuperLU :math:`LDL^\top`)."""

    factor: Factor
    pool: ThreadPoolExecutor | None = None
    threads: int = 1

    @property
    def s0(self) -> float:
        return self.factor.s0

    def __call__(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        X = np.asarray(X, dtype=float)
        solve = self.factor.solve
        if (self.pool is None or not self.factor.splits_columns or X.ndim == 1
                or X.shape[1] < 2):
            return solve(X)
        # SuperLU's triangular solves release the GIL: split the columns over the threads
        parts = np.array_split(np.arange(X.shape[1]), self.threads)
        out = list(self.pool.map(lambda c: solve(np.ascontiguousarray(X[:, c])),
                                 [c for c in parts if c.size]))
        return np.hstack(out)

    def to_lambda(self, u: float) -> float:
        """Eigenvalue map back to G: mu = 1/(s0 - lambda)  =>  lambda = s0 - 1/mu."""
        return self.s0 - 1.0 / u if u > 0 else -math.inf


def _shift_invert(G: sp.csr_array, rng: np.random.Generator, pool: ThreadPoolExecutor | None,
                  threads: int, backend: str = "auto", gmul: Operator | None = None
                  ) -> tuple[_ShiftInvert, dict]:
    r"""Factor :math:`s_0 I - G` with :math:`s_0` just above :math:`\lambda_{\max}(G)`.

    First try :math:`s_0 = \min(b, \theta(1 + 2\cdot 10^{-3}))(1 + 10^{-6})` with b a
    rigorous upper bound (:func:`_lambda_max_upper`) and :math:`\theta` a Lanczos estimate.
    When :math:`s_0 > b` (the usual case: the Collatz-Wielandt bound is tight) B is positive
    definite by the bound alone; otherwise the factorization proves it (a completed
    Cholesky, or an :math:`LDL^\top` with no nonpositive pivot), and if it does not,
    refactor at :math:`s_0 = b(1 + 10^{-6})`. A tight :math:`s_0` keeps the gaps of B wide."""
    upper, binfo = _lambda_max_upper(G, rng, gmul=gmul)
    guess = binfo.get("lanczos", upper) * (1 + 2e-3)
    shifts = [min(upper, guess) * (1 + 1e-6) + 1e-300]
    if guess < upper:
        shifts.append(upper * (1 + 1e-6) + 1e-300)
    tried = []
    for s0 in shifts:
        above_bound = s0 > upper  # then s0 I - G is positive definite: no inertia needed
        f = factor_shifted(G, s0, backend, inertia=not above_bound, threads=threads)
        by = "rigorous bound" if above_bound else (
            "Cholesky" if f.backend == "pardiso" else "inertia")
        tried.append(dict(shift=s0, backend=f.backend, negative_pivots=f.negative_pivots,
                          definite=f.definite, definite_by=by, seconds=f.seconds))
        if (above_bound and f.definite is not False) or f.definite:
            return _ShiftInvert(f, pool, threads), dict(
                shift=s0, lambda_max_bound=binfo, factorizations=tried,
                factorization=f.backend, factor_seconds=sum(t["seconds"] for t in tried),
                factor_nnz=f.nnz)
        del f
    raise SpectrumError("top_singular: the factorization of s0*I - G is not positive "
                        f"definite (tried {tried}); use method='matvec'")


# --------------------------------------------------------------------------- block Krylov
def _gram_orthonormalize(W: NDArray, rel: float, floor: float = 0.0
                         ) -> tuple[NDArray, NDArray]:
    r"""Orthonormal basis of the well-conditioned part of the tall ``W`` from its small Gram
    matrix (one pass over W instead of a Householder QR): :math:`W^\top W = U\Lambda U^\top`,
    keep :math:`\lambda_i > \max(\mathrm{rel}^2 \lambda_{\max}, \mathrm{floor}^2)`, return
    :math:`Q = W U \Lambda^{-1/2}` and :math:`R = \Lambda^{1/2} U^\top` (:math:`W = QR` up to
    the dropped directions). Orthonormal to about :math:`10^{-16}/\mathrm{rel}^2`: call it
    twice (CholeskyQR2)."""
    lam, U = np.linalg.eigh(W.T @ W)
    top = float(lam[-1]) if lam.size else 0.0
    keep = lam > max(rel**2 * top, floor**2, 1e-300)
    root = np.sqrt(lam[keep])
    if not keep.any():
        return W[:, :0], root[:, None] * U[:, keep].T
    # through BLAS: the result is Fortran-ordered, which the next in-place update needs
    return _blas.dgemm(1.0, W, U[:, keep] / root), root[:, None] * U[:, keep].T


def _orth_against(W: NDArray, V: NDArray | None) -> NDArray:
    """Orthonormal basis of the part of W orthogonal to the orthonormal V (see
    :func:`_expand`)."""
    return _expand(W, V)[0]


def _project_out(W: NDArray, V: NDArray, owned: bool) -> tuple[NDArray, NDArray]:
    """One classical Gram-Schmidt pass: ``(W - V V^T W, V^T W)``. BLAS directly: V^T W,
    then W <- W - V Ci in place (beta = 1) when W is ours to overwrite; about twice as fast
    as numpy's V @ Ci for the few columns of a block, and no n x b temporaries."""
    Ci = _blas.dgemm(1.0, V, W, trans_a=True)
    return _blas.dgemm(-1.0, V, Ci, beta=1.0, c=W, overwrite_c=owned), Ci


def _expand(Z: NDArray, V: NDArray | None, local: int = 0
            ) -> tuple[NDArray, NDArray, NDArray]:
    r"""Split ``Z`` against the orthonormal ``V``: :math:`Z = VC + WR` with W orthonormal,
    orthogonal to V. Block classical Gram-Schmidt twice (CGS2), each pass followed by a
    Gram-matrix orthonormalization; directions of Z below 1e-6 of its largest, or below
    1e-10 of the norm of Z (numerically in span V), are dropped, so the identity holds up
    to that. Returns ``(W, C, R)``.

    ``local`` > 0 (block Lanczos: Z = B times the last block, B symmetric, so in exact
    arithmetic Z lies in the span of the last ``local`` columns of V and one new block):
    Z is first projected twice against those columns only (cheap), then once against all
    of V, which then removes little more than rounding; the second full pass runs only if
    that one cancelled (the smallest singular value of the result below 1/100 of the norm
    of what went in, i.e. a loss of orthogonality to V above ~1e-13 after normalizing);
    otherwise the second round only re-orthonormalizes the block itself (CholeskyQR2 on the
    n x b block, well conditioned then). Every coefficient goes into C either way, so the
    identity is the same; one full pass instead of two halves the reads of V."""
    b = Z.shape[1]
    d = 0 if V is None else V.shape[1]
    C = np.zeros((d, b))
    R = np.eye(b)
    W = Z
    # a direction left with less than 1e-10 of the block's norm after the projection is
    # numerically in span V (an invariant subspace): dropped, never normalized up
    size = float(np.sqrt(np.max(np.einsum("ij,ij->j", Z, Z), initial=0.0)))
    if W.shape[1] == 0:
        return W, C, R[:0]
    if V is not None and 0 < local < d:
        for _ in range(2):
            W, Cl = _project_out(W, V[:, d - local:], W is not Z)
            C[d - local:] += Cl
        before = float(np.sqrt(max(np.linalg.eigvalsh(W.T @ W)[-1], 0.0)))
        W, Ci = _project_out(W, V, True)
        C += Ci
        lam = np.linalg.eigvalsh(W.T @ W)
        skip_second = bool(before > 0 and lam[0] >= (1e-2 * before) ** 2)
        W, Ri = _gram_orthonormalize(W, 1e-6, 1e-10 * size)
        R = Ri @ R
        if skip_second:
            W, Ri = _gram_orthonormalize(W, 1e-3, 1e-10)
            return W, C, Ri @ R
        rounds = ((1e-3, 1e-10),)
    else:
        rounds = ((1e-6, 1e-10 * size), (1e-3, 1e-10))
    for rel, floor in rounds:
        if W.shape[1] == 0:
            return W, C, R[:0]
        if d:
            W, Ci = _project_out(W, V, W is not Z)
            C += Ci @ R
        if W.shape[1] == 0:
            return W, C, R[:0]
        W, Ri = _gram_orthonormalize(W, rel, floor)
        R = Ri @ R
    return W, C, R


def _block_krylov(apply: Operator, gmul: Operator, X0: NDArray, p: int,
                  need: Callable[[NDArray], int], tol_abs: float, max_dim: int,
                  to_lambda: Callable[[float], float], shift: float | None
                  ) -> tuple[NDArray, NDArray, NDArray, int, NDArray]:
    r"""Block Krylov space of ``apply`` (B) from ``X0`` (``gmul`` computes G X), grown block
    by block until the top ``need(theta)`` Ritz pairs of G have residual norm
    :math:`\|Gy-\theta y\|\le` ``tol_abs`` or the dimension reaches ``max_dim``. Returns
    the top ``p`` Ritz values
    (descending), vectors Y, residual norms, the dimension, and GY (reused by the
    certificate).

    Rayleigh-Ritz on B costs nothing extra: with full reorthogonalization,
    :math:`BV_j = VC + WR` (:func:`_expand`) gives column block j of :math:`H=V^\top BV`
    and its coupling R to the next block, so no product with G is needed to grow the space.
    A Ritz pair :math:`(\mu, y=Vs)` of H has :math:`By-\mu y = WRs_{\rm last}`, and for
    the shift-invert operator :math:`B=(s_0I-G)^{-1}` (``shift`` = s_0) this is exactly
    :math:`Gy-\lambda y=(s_0I-G)WRs_{\rm last}/\mu` with :math:`\lambda = s_0-1/\mu`:
    its norm comes from the small matrix :math:`E^\top E`, :math:`E=(s_0I-G)W` (one
    product of G with the new block). When it says converged, a final Rayleigh-Ritz with G
    on the top p vectors gives theta and explicit residuals.
    """
    V0 = _orth_against(X0, None)
    n = V0.shape[0]
    max_dim = max(max_dim, V0.shape[1])
    buf = np.empty((n, max_dim), order="F")  # the basis, column blocks filled in place
    H = np.zeros((max_dim, max_dim))  # V^T B V
    dim = V0.shape[1]
    buf[:, :dim] = V0
    last = slice(0, dim)
    prev_start = 0  # first column of the block before ``last``
    while True:
        basis = buf[:, :dim]
        # B symmetric: B V_last is in span(V_prev, V_last, new) in exact arithmetic
        W, Cc, R = _expand(apply(buf[:, last]), basis, local=dim - prev_start)
        H[:dim, last] = Cc
        H[last, :dim] = Cc.T
        Hs = H[:dim, :dim]
        mu, S = np.linalg.eigh((Hs + Hs.T) * 0.5)
        order = np.argsort(mu)[::-1][:p]
        mu, S = mu[order], S[:, order]
        theta = np.array([to_lambda(float(u)) for u in mu])
        nd = need(theta)
        room = max_dim - dim
        if W.shape[1]:
            E = W if shift is None else shift * W - gmul(W)
            RS = R @ S[last]
            est = np.sqrt(np.clip(np.einsum("ij,ij->j", RS, (E.T @ E) @ RS), 0.0, None))
            if shift is not None:
                est = est / np.maximum(np.abs(mu), 1e-300)
        else:
            est = np.zeros(mu.size)
        if np.all(est[:nd] <= tol_abs) or W.shape[1] == 0 or room <= 0:
            Y = basis @ S
            GY = gmul(Y)
            theta, Sg = np.linalg.eigh(Y.T @ GY)  # Rayleigh-Ritz with G on span Y
            og = np.argsort(theta)[::-1]
            theta, Sg = theta[og], Sg[:, og]
            Y = Y @ Sg  # (n x p arrays: keep at most three alive)
            GY = GY @ Sg
            rn = _column_norms_of_difference(GY, Y, theta)
            if np.all(rn[:nd] <= tol_abs) or W.shape[1] == 0 or room <= 0:
                return theta, Y, rn, dim, GY
        w = min(W.shape[1], room)
        buf[:, dim:dim + w] = W[:, :w]
        H[dim:dim + w, last] = R[:w]
        H[last, dim:dim + w] = R[:w].T
        prev_start = last.start
        last = slice(dim, dim + w)
        dim += w


# --------------------------------------------------------------------------- certificate
def _deflated_lanczos_bound(apply: Operator, Q: NDArray, rng: np.random.Generator,
                            delta: float, max_steps: int, target: float) -> dict[str, Any]:
    r"""Upper bound, with probability ``>= 1 - delta``, on :math:`\lambda_{\max}` of the PSD
    operator ``apply`` restricted to :math:`Q^\perp`: Lanczos with full reorthogonalization
    from a Gaussian start in :math:`Q^\perp` and the Kuczynski-Wozniakowski bound with a
    union bound over ``max_steps`` steps. Stops early once the bound is below ``target``."""
    n = Q.shape[0]
    dim = n - Q.shape[1]
    steps = max(1, min(max_steps, dim))

    def proj(x: NDArray) -> NDArray:
        return x - Q @ (Q.T @ x)

    v = proj(rng.standard_normal(n))
    v /= np.linalg.norm(v)
    V = np.empty((n, steps), order="F")  # columns touched only when used
    alpha, beta = np.zeros(steps), np.zeros(steps)
    b, v_prev = 0.0, np.zeros(n)
    log_term = math.log(_KW_CONST * math.sqrt(max(dim, 1)) * steps / delta)
    best = dict(upper=math.inf, steps=0, ritz=math.nan, exhausted=False, skipped=False)
    for j in range(steps):
        V[:, j] = v
        # Lanczos on P B P (P = I - Q Q^T): v is in Q^perp by construction, so
        # P B P v = P B v, and the projection is applied once, after the reorthogonalization
        w = apply(v[:, None])[:, 0] - b * v_prev
        alpha[j] = w @ v
        w -= alpha[j] * v
        w -= V[:, :j + 1] @ (V[:, :j + 1].T @ w)
        w = proj(w)
        b = float(np.linalg.norm(w))
        ritz = float(sla.eigh_tridiagonal(alpha[:j + 1], beta[:j], eigvals_only=True)[-1]) \
            if j else float(alpha[0])
        if b <= 1e-13 * max(abs(ritz), 1e-300) or j + 1 >= dim:
            # the Krylov space is invariant (or all of Q^perp): a Gaussian start has a
            # component in every eigenspace almost surely, so its largest Ritz value is
            # lambda_max of the deflated operator (up to rounding)
            exact = max(ritz, 0.0) * (1 + 1e-12) + 1e-300
            best.update(exhausted=True, upper=exact, steps=j + 1, ritz=ritz, eps=0.0)
            break
        if ritz >= target:
            # a Ritz value is a lower bound on lambda_max: a direction orthogonal to Q is
            # above the cut, so the block missed an eigenvalue (or the cut is inside a cluster)
            best.update(skipped=True, ritz=ritz, steps=j + 1)
            break
        eps = (log_term / (2 * (j + 1) - 1)) ** 2
        if eps < 1:
            upper = max(ritz, 0.0) / (1 - eps)
            if upper < best["upper"]:
                best.update(upper=upper, steps=j + 1, ritz=ritz, eps=eps)
            if upper < target:
                break
        beta[j] = b
        v_prev, v = v, w / b
    return best


def _block_check(G: sp.csr_array, theta: NDArray, Y: NDArray, p: int,
                 GY: NDArray | None = None) -> tuple[NDArray, float, float, float]:
    r"""Step 1 of the proof for the top ``p`` Ritz pairs: ``(Q, ||R||_2, orthogonality
    error, need)`` with :math:`R = GQ - Q\,\mathrm{diag}\,\theta` and
    ``need`` :math:`= \theta_p - \|R\|_2` (every matched eigenvalue is above it). ``GY``,
    when given, is the product G Y already at hand."""
    Q = Y[:, :p]
    R = (G @ Q if GY is None else GY[:, :p]) - Q * theta[:p]
    r2 = float(np.sqrt(max(np.linalg.eigvalsh(R.T @ R).max(initial=0.0), 0.0)))
    del R
    orth_err = float(np.abs(Q.T @ Q - np.eye(p)).max(initial=0.0))
    return Q, r2, orth_err, float(theta[p - 1] - r2)


def certify_top(apply: Operator, to_op: Callable[[float], float],
                to_lambda: Callable[[float], float], G: sp.csr_array, theta: NDArray,
                Y: NDArray, p: int, rng: np.random.Generator, delta: float = 1e-10,
                max_steps: int = 300, GY: NDArray | None = None) -> dict[str, Any]:
    r"""Prove that the top ``p`` Ritz values ``theta`` (vectors ``Y``) of the symmetric G are
    its ``p`` largest eigenvalues, each within :math:`\|R\|_2`, with probability
    ``>= 1 - delta`` (see the module docstring, steps 1-3).

    ``apply`` is a PSD operator with the eigenvectors of G whose eigenvalues are an
    increasing function ``to_op`` of those of G (G itself, or :math:`(s_0 I - G)^{-1}`);
    ``to_lambda`` is its inverse; ``GY`` is G Y if already computed.
    """
    Q, r2, orth_err, need = _block_check(G, theta, Y, p, GY)
    if need <= 0:
        return dict(proved=False, reason="theta_p - ||R||_2 <= 0", block_residual=r2,
                    by="lanczos")
    target = to_op(need)  # operator bound below this <=> lambda_{p+1}(G) < need
    kw = _deflated_lanczos_bound(apply, Q, rng, delta, max_steps, target)
    lam_next = to_lambda(kw["upper"]) if math.isfinite(kw["upper"]) else math.inf
    proved = bool(lam_next < need and orth_err < 1e-8)
    return dict(proved=proved, by="lanczos", p=int(p), block_residual=r2,
                orthogonality_error=orth_err,
                lambda_next_upper=float(lam_next), theta_p_minus_residual=need,
                lanczos_steps=int(kw["steps"]), kw_eps=float(kw.get("eps", math.nan)),
                complement_ritz=float(kw["ritz"]), skip_detected=bool(kw["skipped"]),
                complement_exhausted=bool(kw["exhausted"]),
                failure_probability=float(delta))


#: Backward error allowed for the indefinite factorization, relative to ||G||_inf: the cut
#: must sit at least this far below theta_p - ||R||_2 (rounding in a stable LDL^T is
#: ~1e-16 ||G|| times modest growth).
INERTIA_MARGIN = 1e-12


def certify_top_inertia(G: sp.csr_array, theta: NDArray, Y: NDArray, p: int,
                        threads: int = 1, GY: NDArray | None = None) -> dict[str, Any]:
    r"""Deterministic version of :func:`certify_top` (no random start, no failure
    probability): step 2 is replaced by a count. With the cut
    :math:`c = (\theta_p - \|R\|_2 + \theta_{p+1})/2` inside the gap after the p-th Ritz
    value, an :math:`LDL^\top` factorization of :math:`cI - G`
    (:func:`~jepatheory._factor.inertia_shifted`) counts the eigenvalues of G above c
    (Sylvester's law of inertia). The p matched eigenvalues of step 1 are above
    :math:`\theta_p - \|R\|_2 > c`; if the count is exactly p (and no pivot was perturbed),
    there is no other, so :math:`\lambda_{p+1}(G) \le c`: the matched eigenvalues are the
    top p. Rounding: the count is that of :math:`G + E`, :math:`\|E\| \le`
    ``INERTIA_MARGIN`` :math:`\|G\|_\infty`, which the margin
    :math:`\theta_p - \|R\|_2 - c` must exceed. A count above p proves a skipped value
    (``skip_detected``)."""
    Q, r2, orth_err, need = _block_check(G, theta, Y, p, GY)
    del Q
    base = dict(by="inertia", p=int(p), block_residual=r2, orthogonality_error=orth_err,
                theta_p_minus_residual=need, skip_detected=False, failure_probability=0.0)
    nxt = float(theta[p]) if p < theta.size else -math.inf
    if need <= 0 or not nxt < need:
        return dict(base, proved=False, reason="no gap after theta_p - ||R||_2")
    c = 0.5 * (need + max(nxt, 0.0))
    slack = INERTIA_MARGIN * _norm_upper(G)
    if need - c <= slack:
        return dict(base, proved=False, reason="gap below the rounding margin", cut=c)
    inert = inertia_shifted(G, c, threads)
    ok_pivots = inert.perturbed_pivots == 0
    proved = bool(ok_pivots and inert.negative == p and orth_err < 1e-8)
    return dict(base, proved=proved, cut=c, margin=need - c, rounding_allowance=slack,
                eigenvalues_above_cut=inert.negative, perturbed_pivots=inert.perturbed_pivots,
                lambda_next_upper=c + slack, inertia_seconds=inert.seconds,
                inertia_factor_nnz=inert.nnz,
                skip_detected=bool(ok_pivots and inert.negative > p))


def _choose_p(theta: NDArray, rn: NDArray, k: int, tol_abs: float,
              gap_of: Callable[[float, float], float]) -> int:
    """Deflation size p >= k: among the converged leading Ritz pairs, the index with the
    widest relative gap to the next Ritz value (largest ``gap_of(theta_p, theta_{p+1})``)."""
    conv = int(np.argmin(np.append(rn <= tol_abs, False)))  # leading converged count
    last = min(conv, theta.size - 1)
    if last < k:
        return k
    cands = np.arange(k, last + 1)
    gaps = [gap_of(theta[i - 1], theta[i]) for i in cands]
    return int(cands[int(np.argmax(gaps))])


# --------------------------------------------------------------------------- iterative
def _iterative(T: Any, k: int, opts: SpectrumOptions, threads: int) -> _Iterated:
    """The iterative path (``opts.method`` is ``sparse`` or ``matvec``) on ``threads``."""
    if threads > 1:
        with ThreadPoolExecutor(threads) as pool:
            return _iterative_in(T, k, opts, pool, threads)
    return _iterative_in(T, k, opts, None, 1)


def _iterative_in(T: Any, k: int, opts: SpectrumOptions, pool: ThreadPoolExecutor | None,
                  threads: int) -> _Iterated:
    tol, extra, block, method = opts.tol, opts.extra, opts.block, opts.method
    max_dim, attempts, delta, cert_steps = opts.max_dim, opts.attempts, opts.delta, \
        opts.cert_steps
    factorization, certificate = opts.factorization, opts.certificate
    rng = np.random.default_rng(opts.seed)
    Tc = sp.csr_array(T, dtype=float)
    info: dict[str, Any] = {}
    t0 = time.perf_counter()
    G, right = gram(Tc)
    n = G.shape[0]
    gmul = matmul(G)  # G @ X on MKL's threads with the 'fast' extra, else SciPy
    info.update(gram_side="right (T^T T)" if right else "left (T T^T)", gram_nnz=int(G.nnz),
                gram_seconds=time.perf_counter() - t0)
    if method == "sparse":
        op, finfo = _shift_invert(G, rng, pool, threads, factorization, gmul)
        info.update(finfo)
        apply: Operator = op
        to_lambda: Callable[[float], float] = op.to_lambda

        def to_op(lam: float) -> float:
            return 1.0 / (op.s0 - lam) if lam < op.s0 else math.inf

        def gap_of(a: float, b: float) -> float:
            return (op.s0 - b) / (op.s0 - a) - 1.0

        gap_min = 0.05
        shift: float | None = op.s0
    else:
        def apply(X: NDArray) -> NDArray:
            return gmul(X)

        def to_lambda(u: float) -> float:
            return u

        to_op = to_lambda

        def gap_of(a: float, b: float) -> float:
            return (a - b) / max(a, 1e-300)

        gap_min = 1e-4
        shift = None

    scale = max(_norm_upper(G), 1e-300)
    tol_abs = tol * scale
    block = min(n, block)
    p = min(n - 1, k + max(extra, 1))
    cap = max_dim if max_dim is not None else min(n, max(20 * p, 200))
    X0 = rng.standard_normal((n, block))

    def need_cluster(theta: NDArray) -> int:
        """Converge the top k and the rest of a cluster straddling k (up to p)."""
        for j in range(k, min(p, theta.size - 1) + 1):
            if j == theta.size or gap_of(theta[j - 1], theta[j]) >= gap_min:
                return j
        return min(p, theta.size)

    def need_all(theta: NDArray) -> int:
        """Converge the whole guard band (retries)."""
        return min(p, theta.size)

    need: Callable[[NDArray], int] = need_cluster
    # the deterministic inertia count needs PARDISO's indefinite factorization; 'auto' uses
    # it where the shift-invert operator already uses PARDISO (large G)
    by_inertia = certificate == "inertia" or (
        certificate == "auto" and info.get("factorization") == "pardiso")
    attempts_log = []
    certified = False
    cert: dict[str, Any] = {}
    theta = Y = rn = None
    for _ in range(attempts):
        t1 = time.perf_counter()
        theta, Y, rn, dim, GY = _block_krylov(apply, gmul, X0, p, need, tol_abs, cap,
                                              to_lambda, shift)
        pc = _choose_p(theta, rn, k, tol_abs, gap_of)
        if not np.all(rn[:k] <= tol_abs):
            cert = dict(proved=False, reason="top-k Ritz pairs did not reach the tolerance",
                        max_residual=float(rn[:k].max()))
        elif by_inertia:
            cert = certify_top_inertia(G, theta, Y, pc, threads, GY)
            if certificate == "auto" and not cert["proved"] and not cert["skip_detected"]:
                # the count could not be used (no gap, a perturbed pivot): randomized proof
                cert = dict(certify_top(apply, to_op, to_lambda, G, theta, Y, pc, rng, delta,
                                        cert_steps, GY), inertia=cert)
        else:
            cert = certify_top(apply, to_op, to_lambda, G, theta, Y, pc, rng, delta,
                               cert_steps, GY)
        del GY
        attempts_log.append(dict(block=int(block), krylov_dim=int(dim),
                                 seconds=time.perf_counter() - t1,
                                 converged=bool(np.all(rn[:k] <= tol_abs)),
                                 proved=bool(cert.get("proved"))))
        if cert.get("proved"):
            certified = True
            break
        if max_dim is not None:  # an explicit cap is a budget: do not try harder
            break
        # try harder: double the block, restart from the current Ritz vectors
        block = min(n, 2 * block)
        keep = Y[:, :min(Y.shape[1], block // 2)]
        X0 = np.hstack([keep, rng.standard_normal((n, block - keep.shape[1]))])
        cap = min(n, 2 * cap)
        need = need_all
    info["attempts"] = attempts_log
    info["tolerance_abs"] = tol_abs
    info["check"] = cert
    s = np.sqrt(np.clip(theta[:k], 0.0, None))
    safe = np.where(s > 0, s, 1.0)
    Q = Y[:, :k]
    if right:
        V, U = Q, Tc @ Q
        U /= safe
    else:
        U, V = Q, Tc.T @ Q
        V /= safe
    if certified:
        r2 = cert["block_residual"]
        lo = np.sqrt(np.clip(theta[:k] - r2, 0.0, None))
        info["sigma_error_bound"] = (r2 / np.maximum(s + lo, 1e-300)).tolist()
    return _Iterated(s, U, V, certified, info)


def top_singular(T: Any, k: int, method: str = "auto", tol: float = 1e-8, seed: int = 0,
                 extra: int = 8, block: int = 4, max_dim: int | None = None, attempts: int = 3,
                 delta: float = 1e-10, cert_steps: int = 300,
                 threads: int | None = None, factorization: str = "auto",
                 certificate: str = "auto", options: SpectrumOptions | None = None
                 ) -> Spectrum:
    r"""Top-``k`` singular triplets of ``T`` (dense or sparse), descending, with a proof
    that none was skipped.

    Parameters
    ----------
    k : number of triplets, ``0 <= k <= min(T.shape)``.
    method : ``"auto"`` (dense when ``N_L N_R <= DENSE_MAX_ENTRIES``, else ``"sparse"``),
        ``"dense"``, ``"sparse"`` (shift-invert block Krylov on the Gram matrix) or
        ``"matvec"`` (block Krylov with products only).
    tol : iterative paths: converged when every top-k Ritz residual
        :math:`\|G y - \theta y\| \le` ``tol`` :math:`\|G\|_\infty`.
    seed : seeds the start block and the certificate's start vector.
    extra : guard band: Ritz pairs kept beyond k (candidates for the certificate's cut).
    block : block size of the Krylov space (doubled on each retry); exactly repeated
        singular values beyond the block size can be missed by a single attempt, which
        the certificate detects.
    max_dim : cap on the Krylov dimension; when given, no retry beyond it (the answer may
        then be uncertified).
    attempts : retries with a doubled block when the certificate fails.
    delta : failure probability of the randomized certificate.
    cert_steps : cap on the certificate's Lanczos steps.
    threads : threads for the factorization and the block solves (default
        ``min(2, cpu count)``); the numbers do not depend on it beyond rounding.
    factorization : ``sparse`` path: ``"auto"`` (PARDISO's multithreaded Cholesky when the
        ``fast`` extra is installed and G has at least 20000 rows, else SuperLU),
        ``"pardiso"`` or ``"superlu"``; see :mod:`jepatheory._factor`.

    certificate : iterative paths, how "none skipped" is proved: ``"lanczos"``
        (randomized, failure probability ``delta``: :func:`certify_top`), ``"inertia"``
        (deterministic count of the eigenvalues above a cut by an indefinite
        factorization: :func:`certify_top_inertia`; needs the ``fast`` extra) or
        ``"auto"`` (inertia when the shift-invert factorization is PARDISO's, falling back
        to Lanczos when the count cannot be used; else Lanczos).
    options : a :class:`SpectrumOptions` holding all of the above at once; when given it
        replaces the keywords.

    Returns
    -------
    Spectrum
        ``certificate`` says what was proved: ``statement``, ``failure_probability``,
        ``sigma_error_bound`` (certified per-value bound), ``check`` (the numbers of the
        proof), ``attempts`` and the Frobenius consistency
        :math:`\sum_{i\le k}\sigma_i^2 \le \|T\|_F^2`.
    """
    t0 = time.perf_counter()
    if options is not None:
        method, tol, seed, extra, block = (options.method, options.tol, options.seed,
                                           options.extra, options.block)
        max_dim, attempts, delta, cert_steps = (options.max_dim, options.attempts,
                                                options.delta, options.cert_steps)
        threads, factorization, certificate = (options.threads, options.factorization,
                                               options.certificate)
    if getattr(T, "ndim", None) != 2:
        raise SpectrumError("top_singular: T must be a matrix, got "
                            f"ndim={getattr(T, 'ndim', None)}")
    NL, NR = T.shape
    kmax = min(NL, NR)
    if not (isinstance(k, (int, np.integer)) and 0 <= k <= kmax):
        raise SpectrumError(f"top_singular: k={k!r} must be an integer in [0, {kmax}]")
    if method not in METHODS:
        raise SpectrumError(f"top_singular: unknown method {method!r} ({', '.join(METHODS)})")
    if not (0 < delta < 1):
        raise SpectrumError(f"top_singular: delta={delta!r} must be in (0, 1)")
    if not (isinstance(block, (int, np.integer)) and block >= 1):
        raise SpectrumError(f"top_singular: block={block!r} must be an integer >= 1")
    if not (isinstance(attempts, (int, np.integer)) and attempts >= 1):
        raise SpectrumError(f"top_singular: attempts={attempts!r} must be an integer >= 1")
    if max_dim is not None and not (isinstance(max_dim, (int, np.integer)) and max_dim >= 1):
        raise SpectrumError(f"top_singular: max_dim={max_dim!r} must be an integer >= 1")
    if not tol > 0:
        raise SpectrumError(f"top_singular: tol={tol!r} must be > 0")
    if certificate not in CERTIFICATES:
        raise SpectrumError(f"top_singular: unknown certificate {certificate!r} "
                            f"({', '.join(CERTIFICATES)})")
    if certificate == "inertia":
        require_pardiso("top_singular: certificate='inertia'")
    if factorization not in BACKENDS:
        raise SpectrumError(f"top_singular: unknown factorization {factorization!r} "
                            f"({', '.join(BACKENDS)})")
    if method == "auto":
        method = "dense" if NL * NR <= DENSE_MAX_ENTRIES or k >= kmax - 1 else "sparse"
    cert: dict[str, Any] = {}
    if method == "dense" or k == 0:
        s, U, V = _dense(T, k) if k else (np.zeros(0), np.zeros((NL, 0)), np.zeros((NR, 0)))
        certified = True
        cert["statement"] = ("dense LAPACK SVD: all singular values computed, none can be "
                             "skipped; errors are at rounding level (see residuals)")
        cert["failure_probability"] = 0.0
        method = "dense"
    else:
        if k >= kmax - 1:
            raise SpectrumError(f"top_singular: {method} path needs k < {kmax - 1}; use dense")
        nthreads = min(2, os.cpu_count() or 1) if threads is None else int(threads)
        opts = SpectrumOptions(method=method, tol=tol, seed=seed, extra=extra, block=block,
                               max_dim=max_dim, attempts=attempts, delta=delta,
                               cert_steps=cert_steps, threads=threads,
                               factorization=factorization, certificate=certificate)
        run = _iterative(T, k, opts, max(1, nthreads))
        s, U, V, certified = run.s, run.U, run.V, run.certified
        cert.update(run.info)
        if certified and cert["check"].get("by") == "inertia":
            cert["statement"] = (
                f"deterministic: these are the top {k} singular values of T (none skipped, "
                "multiplicities counted) and |sigma_i - sigma_i(T)| <= sigma_error_bound[i] "
                "(Kahan-Cao-Xie-Li matching + Sylvester's law of inertia on an LDL^T "
                "factorization of cI - G, no perturbed pivot, the cut below the matched "
                "values by more than the rounding allowance)")
            cert["failure_probability"] = 0.0
        elif certified:
            cert["statement"] = (
                f"with probability >= 1 - {delta:g} over the random start vector: these are "
                f"the top {k} singular values of T (none skipped, multiplicities counted) and "
                "|sigma_i - sigma_i(T)| <= sigma_error_bound[i] (Kahan-Cao-Xie-Li matching "
                "+ Courant-Fischer deflation + Kuczynski-Wozniakowski Lanczos bound)")
            cert["failure_probability"] = float(delta)
        else:
            cert["statement"] = ("NOT certified: residual (Weyl) bounds hold for each value, "
                                 "but a skipped singular value is not excluded")
            cert["failure_probability"] = None
            warnings.warn(f"top_singular: the top-{k} spectrum ({method}) could not be "
                          "certified; see Spectrum.certificate", SpectrumWarning, stacklevel=2)
    signs = _canonical_flips(V) if k else np.ones(0)
    U *= signs  # in place: U (N_L x k) can be the largest array of the call
    V *= signs
    fro = _frobenius_sq(T)
    res = _residuals(T, s, U, V) if k else np.zeros(0)
    tail = fro - np.concatenate([[0.0], np.cumsum(s**2)])
    tail = np.maximum(tail, 0.0)
    if method == "dense":  # all values computed: Weyl matches the sorted lists
        cert["sigma_error_bound"] = res.tolist()
    cert["frobenius_consistent"] = bool(np.sum(s**2) <= fro * (1 + 1e-10) + 1e-12)
    return Spectrum(k=int(k), singular_values=s, residuals=res, frobenius_sq=fro, tail=tail,
                    method=method, certified=certified, seconds=time.perf_counter() - t0,
                    shape=(NL, NR), certificate=SpectralCertificate.from_dict(cert), U=U, V=V)
