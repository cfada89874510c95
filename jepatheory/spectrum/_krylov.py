"""The iterative engine of the spectrum: shift-invert (or plain) block Krylov on the Gram
matrix of T with restarts, handing its Ritz pairs to the certificates of :mod:`._certify`."""
from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable

import numpy as np
import scipy.linalg as sla
import scipy.linalg.blas as _blas
import scipy.sparse as sp
from numpy.typing import NDArray

from .._factor import Factor, factor_shifted, resolve_backend
from .._spmv import matmul
from ..errors import SpectrumError
from ._certify import certify_top, certify_top_inertia
from ._linalg import column_norms_of_difference, gram, norm_upper
from ._localized import local_ritz
from ._records import Iterated, Operator, SpectrumOptions

__all__ = ["lambda_max_upper", "ShiftInvert", "shift_invert", "gram_orthonormalize", "orth_against",
           "project_out", "expand", "block_krylov", "choose_p", "iterative", "iterative_in"]


# --------------------------------------------------------------------------- operators
def lambda_max_upper(G: sp.csr_array, rng: np.random.Generator, steps: int = 40,
                      gmul: Operator | None = None) -> tuple[float, dict[str, float]]:
    r"""A rigorous upper bound on :math:`\lambda_{\max}(G)`: :math:`\|G\|_\infty`, or,
    when G is entrywise nonnegative (always for a co-occurrence matrix), the
    Collatz-Wielandt bound :math:`\max_i (Gx)_i/x_i` at a positive x built from a short
    Lanczos run (tight when x is near the Perron vector :math:`\sqrt q`, THEORY F4)."""
    n = G.shape[0]
    inf_norm = norm_upper(G)
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
class ShiftInvert:
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


def shift_invert(G: sp.csr_array, rng: np.random.Generator, pool: ThreadPoolExecutor | None,
                  threads: int, backend: str = "auto", gmul: Operator | None = None,
                  bound: tuple[float, dict[str, float]] | None = None
                  ) -> tuple[ShiftInvert, dict]:
    r"""Factor :math:`s_0 I - G` with :math:`s_0` just above :math:`\lambda_{\max}(G)`.

    First try :math:`s_0 = \min(b, \theta(1 + 2\cdot 10^{-3}))(1 + 10^{-6})` with b a
    rigorous upper bound (:func:`lambda_max_upper`) and :math:`\theta` a Lanczos estimate.
    When :math:`s_0 > b` (the usual case: the Collatz-Wielandt bound is tight) B is positive
    definite by the bound alone; otherwise the factorization proves it (a completed
    Cholesky, or an :math:`LDL^\top` with no nonpositive pivot), and if it does not,
    refactor at :math:`s_0 = b(1 + 10^{-6})`. A tight :math:`s_0` keeps the gaps of B wide.
    ``bound``: the result of :func:`lambda_max_upper` when the caller has it already."""
    upper, binfo = lambda_max_upper(G, rng, gmul=gmul) if bound is None else bound
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
            return ShiftInvert(f, pool, threads), dict(
                shift=s0, lambda_max_bound=binfo, factorizations=tried,
                factorization=f.backend, factor_seconds=sum(t["seconds"] for t in tried),
                factor_nnz=f.nnz)
        del f
    raise SpectrumError("top_singular: the factorization of s0*I - G is not positive "
                        f"definite (tried {tried}); use method='matvec'")


# --------------------------------------------------------------------------- block Krylov
def gram_orthonormalize(W: NDArray, rel: float, floor: float = 0.0
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


def orth_against(W: NDArray, V: NDArray | None) -> NDArray:
    """Orthonormal basis of the part of W orthogonal to the orthonormal V (see
    :func:`expand`)."""
    return expand(W, V)[0]


def project_out(W: NDArray, V: NDArray, owned: bool) -> tuple[NDArray, NDArray]:
    """One classical Gram-Schmidt pass: ``(W - V V^T W, V^T W)``. BLAS directly: V^T W,
    then W <- W - V Ci in place (beta = 1) when W is ours to overwrite; about twice as fast
    as numpy's V @ Ci for the few columns of a block, and no n x b temporaries."""
    Ci = _blas.dgemm(1.0, V, W, trans_a=True)
    return _blas.dgemm(-1.0, V, Ci, beta=1.0, c=W, overwrite_c=owned), Ci


def expand(Z: NDArray, V: NDArray | None, local: int = 0
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
            W, Cl = project_out(W, V[:, d - local:], W is not Z)
            C[d - local:] += Cl
        before = float(np.sqrt(max(np.linalg.eigvalsh(W.T @ W)[-1], 0.0)))
        W, Ci = project_out(W, V, True)
        C += Ci
        lam = np.linalg.eigvalsh(W.T @ W)
        skip_second = bool(before > 0 and lam[0] >= (1e-2 * before) ** 2)
        W, Ri = gram_orthonormalize(W, 1e-6, 1e-10 * size)
        R = Ri @ R
        if skip_second:
            W, Ri = gram_orthonormalize(W, 1e-3, 1e-10)
            return W, C, Ri @ R
        rounds = ((1e-3, 1e-10),)
    else:
        rounds = ((1e-6, 1e-10 * size), (1e-3, 1e-10))
    for rel, floor in rounds:
        if W.shape[1] == 0:
            return W, C, R[:0]
        if d:
            W, Ci = project_out(W, V, W is not Z)
            C += Ci @ R
        if W.shape[1] == 0:
            return W, C, R[:0]
        W, Ri = gram_orthonormalize(W, rel, floor)
        R = Ri @ R
    return W, C, R


def block_krylov(apply: Operator, gmul: Operator, X0: NDArray, p: int,
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
    :math:`BV_j = VC + WR` (:func:`expand`) gives column block j of :math:`H=V^\top BV`
    and its coupling R to the next block, so no product with G is needed to grow the space.
    A Ritz pair :math:`(\mu, y=Vs)` of H has :math:`By-\mu y = WRs_{\rm last}`, and for
    the shift-invert operator :math:`B=(s_0I-G)^{-1}` (``shift`` = s_0) this is exactly
    :math:`Gy-\lambda y=(s_0I-G)WRs_{\rm last}/\mu` with :math:`\lambda = s_0-1/\mu`:
    its norm comes from the small matrix :math:`E^\top E`, :math:`E=(s_0I-G)W` (one
    product of G with the new block). When it says converged, a final Rayleigh-Ritz with G
    on the top p vectors gives theta and explicit residuals.
    """
    V0 = orth_against(X0, None)
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
        W, Cc, R = expand(apply(buf[:, last]), basis, local=dim - prev_start)
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
            rn = column_norms_of_difference(GY, Y, theta)
            if np.all(rn[:nd] <= tol_abs) or W.shape[1] == 0 or room <= 0:
                return theta, Y, rn, dim, GY
        w = min(W.shape[1], room)
        buf[:, dim:dim + w] = W[:, :w]
        H[dim:dim + w, last] = R[:w]
        H[last, dim:dim + w] = R[:w].T
        prev_start = last.start
        last = slice(dim, dim + w)
        dim += w


def relative_gap(a: float, b: float) -> float:
    """Gap between consecutive eigenvalues a >= b of G, relative to a (no shift)."""
    return (a - b) / max(a, 1e-300)


def choose_p(theta: NDArray, rn: NDArray, k: int, tol_abs: float,
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
def iterative(T: Any, k: int, opts: SpectrumOptions, threads: int) -> Iterated:
    """The iterative path (``opts.method`` is ``sparse`` or ``matvec``) on ``threads``."""
    if threads > 1:
        with ThreadPoolExecutor(threads) as pool:
            return iterative_in(T, k, opts, pool, threads)
    return iterative_in(T, k, opts, None, 1)


def iterative_in(T: Any, k: int, opts: SpectrumOptions, pool: ThreadPoolExecutor | None,
                  threads: int) -> Iterated:
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
    scale = max(norm_upper(G), 1e-300)
    tol_abs = tol * scale
    p = min(n - 1, k + max(extra, 1))
    if method == "sparse":
        bound = lambda_max_upper(G, rng, gmul=gmul)
        if opts.localize and (certificate == "inertia" or (
                certificate == "auto" and resolve_backend(factorization, n) == "pardiso")):
            done = _localized(Tc, right, G, k, p, tol_abs, bound, threads, info)
            if done is not None:
                return done
        op, finfo = shift_invert(G, rng, pool, threads, factorization, gmul, bound=bound)
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

        gap_of = relative_gap

        gap_min = 1e-4
        shift = None

    block = min(n, block)
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
        theta, Y, rn, dim, GY = block_krylov(apply, gmul, X0, p, need, tol_abs, cap,
                                              to_lambda, shift)
        pc = choose_p(theta, rn, k, tol_abs, gap_of)
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
    return _triplets(Tc, right, theta, Y[:, :k], certified, cert, info)


def _triplets(Tc: sp.csr_array, right: bool, theta: NDArray, Q: NDArray, certified: bool,
              cert: dict[str, Any], info: dict[str, Any]) -> Iterated:
    r"""The top-k triplets from the k Ritz vectors Q of the Gram side, with the certified
    per-value bound :math:`\|R\|_2/(\sigma_i + \sqrt{\theta_i - \|R\|_2})`."""
    k = Q.shape[1]
    s = np.sqrt(np.clip(theta[:k], 0.0, None))
    safe = np.where(s > 0, s, 1.0)
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
    return Iterated(s, U, V, certified, info)


def _localized(Tc: sp.csr_array, right: bool, G: sp.csr_array, k: int, p: int,
               tol_abs: float, bound: tuple[float, dict[str, float]], threads: int,
               info: dict[str, Any]) -> Iterated | None:
    """The localized Rayleigh-Ritz path (:mod:`._localized`), certified by the inertia
    count on the whole G; None (and ``info["localized"]`` saying why) when it does not
    apply, does not converge or is not proved: the block Krylov then runs as usual."""
    t0 = time.perf_counter()
    upper, binfo = bound
    lr, linfo = local_ritz(G, k, p + 1, tol_abs, binfo.get("lanczos", upper), upper)
    info["localized"] = linfo
    if lr is None:
        return None
    pc = choose_p(lr.theta, lr.rn, k, tol_abs, relative_gap)
    cert = certify_top_inertia(G, lr.theta, lr.Y, pc, threads, lr.GY)
    linfo.update(region=int(lr.region.size), proved=bool(cert.get("proved")),
                 seconds=time.perf_counter() - t0)
    if not cert.get("proved"):
        linfo["check"] = cert
        return None
    info.update(lambda_max_bound=binfo, attempts=[dict(
        engine="localized", region=int(lr.region.size), seconds=time.perf_counter() - t0,
        converged=True, proved=True)], tolerance_abs=tol_abs, check=cert)
    return _triplets(Tc, right, lr.theta, lr.full(G.shape[0], k), True, cert, info)
