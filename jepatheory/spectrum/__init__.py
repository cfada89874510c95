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
    Before the block Krylov, when the inertia certificate is available and the leading
    vectors of G are localized near a few heavy rows (a per-action block's wall; never T
    itself, whose top eigenvalue is its typical row sum), the Ritz pairs come from a small
    principal submatrix around them and go to the same certificate on the whole G
    (:mod:`jepatheory.spectrum._localized`, ``proofs/P1.md``); ``localize=False`` skips it.
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

import os
import time
import warnings
from typing import Any

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from numpy.typing import NDArray

from .._factor import BACKENDS, require_pardiso
from ..errors import SpectrumError, SpectrumWarning
from ._certify import INERTIA_MARGIN, certify_top, certify_top_inertia
from ._krylov import expand as _expand  # noqa: F401 - compatibility (tests)
from ._krylov import iterative
from ._krylov import shift_invert as _shift_invert  # noqa: F401 - compatibility (tests)
from ._linalg import column_norms_of_difference, gram
from ._records import (CERTIFICATES, DENSE_MAX_ENTRIES, METHODS, Operator, SpectralCertificate,
                       Spectrum, SpectrumOptions, truncate)

__all__ = ["Spectrum", "SpectralCertificate", "SpectrumOptions", "top_singular", "truncate",
           "canonical_signs", "certify_top", "certify_top_inertia", "gram", "DENSE_MAX_ENTRIES",
           "METHODS", "CERTIFICATES", "INERTIA_MARGIN", "Operator"]


def canonical_signs(U: NDArray[np.float64], V: NDArray[np.float64]) -> tuple[NDArray, NDArray]:
    """Flip each column pair so the largest-magnitude entry of ``V[:, i]`` is positive."""
    if V.shape[1] == 0:
        return U, V
    signs = _canonical_flips(V)
    return U * signs, V * signs


def _canonical_flips(V: NDArray[np.float64], rows: int = 65_536) -> NDArray[np.float64]:
    """Signs making each column's first largest-magnitude entry positive (row chunks: no
    n x k temporary, and the reductions run along contiguous rows)."""
    k = V.shape[1]
    cols = np.arange(k)
    best = np.full(k, -1.0)
    idx = np.zeros(k, dtype=np.int64)
    for lo in range(0, V.shape[0], rows):
        A = np.abs(V[lo:lo + rows])
        i = A.argmax(axis=0)
        m = A[i, cols]
        better = m > best                    # strict: the first occurrence wins on ties
        best[better] = m[better]
        idx[better] = i[better] + lo
    signs = np.sign(V[idx, cols])
    signs[signs == 0] = 1.0
    return signs


def _frobenius_sq(T: Any) -> float:
    if sp.issparse(T):
        d = T.data
        return float(np.dot(d, d))
    return float(np.sum(np.asarray(T) ** 2))


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
    r2 = column_norms_of_difference(T.T @ U, V, s)
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


def top_singular(T: Any, k: int, method: str = "auto", tol: float = 1e-8, seed: int = 0,
                 extra: int = 8, block: int = 4, max_dim: int | None = None, attempts: int = 3,
                 delta: float = 1e-10, cert_steps: int = 300,
                 threads: int | None = None, factorization: str = "auto",
                 certificate: str = "auto", localize: bool = True,
                 options: SpectrumOptions | None = None) -> Spectrum:
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
    localize : ``sparse`` path with the inertia certificate: first try Ritz pairs from a
        principal submatrix around the heavy rows of G (a wall, a bottleneck: where the
        leading vectors of a per-action block live), certified by the same inertia count
        on the whole G; falls back to the block Krylov when it does not apply or is not
        proved (:mod:`jepatheory.spectrum._localized`). ``certificate["localized"]`` says
        what was tried.
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
        localize = options.localize
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
                               factorization=factorization, certificate=certificate,
                               localize=bool(localize))
        run = iterative(T, k, opts, max(1, nthreads))
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
