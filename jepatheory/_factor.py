r"""Sparse symmetric factorizations of :math:`s_0 I - G` for the shift-invert spectrum path.

Two backends, same contract (:class:`Factor`): ``solve(X)`` returns
:math:`(s_0 I - G)^{-1} X`, ``definite`` says whether the factorization proved the matrix
positive definite, ``nnz`` is the size of the factor.

``pardiso``
    Intel MKL PARDISO through :mod:`pypardiso` (the ``fast`` extra): a supernodal Cholesky
    with nested-dissection (METIS) ordering, factorization and solves multithreaded. A
    Cholesky factorization that completes proves :math:`s_0 I - G \succ 0` (up to rounding);
    one that meets a nonpositive pivot fails with PARDISO error -4, reported as not definite.
``superlu``
    SciPy's SuperLU with a symmetric ordering and diagonal pivots, i.e. an
    :math:`LDL^\top` in disguise: the signs of the diagonal of U are the signs of D, so their
    count is the inertia. Single-threaded factorization; the column blocks of the solves are
    split over threads by the caller.

``auto`` picks PARDISO when it is installed and the matrix has at least
:data:`PARDISO_MIN_N` rows, SuperLU otherwise.

:func:`inertia_shifted` counts the eigenvalues of G above a cut c from PARDISO's symmetric
indefinite :math:`LDL^\top` of :math:`cI - G` (Bunch-Kaufman pivots): by Sylvester's law of
inertia the number of negative eigenvalues of :math:`cI - G` (``iparm(23)``) is the number
of eigenvalues of G above c. It is exact for the factored matrix; a pivot PARDISO had to
perturb (``iparm(14) > 0``) voids it, and the caller keeps a margin for rounding.
"""
from __future__ import annotations

import ctypes
import glob
import importlib
import os
import sys
import time
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numpy.typing import NDArray

from .errors import MissingExtraError, SpectrumError

__all__ = ["Factor", "Inertia", "factor_shifted", "inertia_shifted", "pardiso_available",
           "require_pardiso", "resolve_backend", "BACKENDS", "PARDISO_MIN_N"]

#: Accepted values of ``backend``.
BACKENDS = ("auto", "pardiso", "superlu")
#: Below this many rows SuperLU is as fast and has no start-up cost.
PARDISO_MIN_N = 20_000
#: PARDISO settings (1-based iparm): our own values, not the defaults; parallel nested
#: dissection ordering; report the factor's nonzeros; two-level parallel factorization;
#: parallel forward/backward solves. (The defaults run the solves about 3x slower.)
_IPARM = {1: 1, 2: 3, 18: -1, 24: 1, 25: 1}
#: PARDISO's error code for a zero or negative pivot in a Cholesky factorization.
_NOT_DEFINITE = -4


def _mkl_runtime_guess() -> str | None:
    """Where pip's ``mkl`` package puts the MKL runtime (``<prefix>/lib`` or
    ``<prefix>/Library/bin``): a flat lookup, so that importing pypardiso does not search
    the whole installation tree for it (about a second)."""
    for pattern in ("lib/libmkl_rt.so*", "lib/libmkl_rt*.dylib", "Library/bin/mkl_rt*.dll"):
        found = sorted(glob.glob(os.path.join(sys.prefix, pattern)), key=len)
        if found:
            return found[0]
    return None


class _mkl_runtime_path:
    """Within the block pypardiso is told where the MKL runtime is (``PYPARDISO_MKL_RT``),
    unless the user set it; without it pypardiso searches the installation tree (about a
    second, at import and for every solver)."""

    KEY = "PYPARDISO_MKL_RT"

    def __init__(self, path: str | None) -> None:
        self.path = None if os.environ.get(self.KEY) else path

    def __enter__(self) -> None:
        if self.path:
            os.environ[self.KEY] = self.path

    def __exit__(self, *exc: object) -> None:
        if self.path:
            os.environ.pop(self.KEY, None)


def _pypardiso() -> Any | None:
    if "pypardiso" in sys.modules:
        return sys.modules["pypardiso"]
    try:
        with _mkl_runtime_path(_mkl_runtime_guess()):
            return importlib.import_module("pypardiso")
    except (ImportError, OSError):  # not installed, or no MKL runtime for this machine
        return None


def pypardiso_module() -> Any | None:
    """The ``pypardiso`` module if it is installed and usable here, else None (public name
    of :func:`_pypardiso`, looked up at call time)."""
    return _pypardiso()


def pardiso_available() -> bool:
    """True when the ``fast`` extra (pypardiso with an MKL runtime) can be used."""
    return _pypardiso() is not None


def resolve_backend(backend: str, n: int) -> str:
    """The backend ``factor_shifted`` uses for an n x n matrix: ``auto`` is PARDISO when it
    is installed and ``n >= PARDISO_MIN_N``, else SuperLU."""
    if backend == "auto":
        return "pardiso" if n >= PARDISO_MIN_N and pardiso_available() else "superlu"
    return backend


def require_pardiso(what: str) -> None:
    """Raise :class:`MissingExtraError` naming ``what`` unless PARDISO can be used."""
    if not pardiso_available():
        raise MissingExtraError(f"{what} needs PARDISO, which is not installed: install "
                                "the 'fast' extra, e.g. pip install 'jepatheory[fast]'")


@dataclass
class Factor:
    """A factorization of :math:`s_0 I - G` (see the module docstring)."""

    backend: str
    s0: float
    definite: bool | None  # proved positive definite / proved not / (None) not checked
    negative_pivots: int | None  # SuperLU inertia count, when read
    seconds: float
    nnz: int
    threads: int
    _solver: Any
    _matrix: Any = None
    _ia_ja: Any = None

    @property
    def splits_columns(self) -> bool:
        """Whether the caller should split the right-hand sides over threads."""
        return self.backend == "superlu"

    def solve(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        """:math:`(s_0 I - G)^{-1} X`; with PARDISO the result is Fortran-ordered."""
        if self.backend == "superlu":
            return self._solver.solve(X)
        B = np.asfortranarray(X, dtype=float)
        with _mkl_threads(self._solver, self.threads):
            if getattr(self._solver, "_mkl_pardiso", None) is None:  # pragma: no cover
                return self._solver.solve(self._matrix, B)  # other pypardiso versions
            # phase 33 (solve with the stored factor) directly: the public solve first
            # compares the whole matrix with the factored one, and converts the indices
            # and the result's memory order, on every call
            return _pardiso_solve(self._solver, self._matrix, self._index, B)

    @property
    def _index(self) -> tuple[NDArray[np.int32], NDArray[np.int32]]:
        """PARDISO's 1-based int32 row pointers and column indices, converted once."""
        if self._ia_ja is None:
            A = self._matrix
            self._ia_ja = (A.indptr.astype(np.int32) + 1, A.indices.astype(np.int32) + 1)
        return self._ia_ja


def _pardiso_solve(solver: Any, A: sp.csr_matrix, index: tuple[NDArray, NDArray],
                   B: NDArray[np.float64]) -> NDArray[np.float64]:
    """Phase 33 of PARDISO on the Fortran-ordered right-hand sides B (what pypardiso's
    ``_call_pardiso`` does, without its per-call conversions)."""
    X = np.zeros_like(B, order="F")
    err = ctypes.c_int32(0)
    i32 = ctypes.POINTER(ctypes.c_int32)
    f64 = ctypes.POINTER(ctypes.c_double)
    ia, ja = index
    solver._mkl_pardiso(
        solver.pt.ctypes.data_as(ctypes.POINTER(solver._pt_type[0])),
        ctypes.byref(ctypes.c_int32(1)), ctypes.byref(ctypes.c_int32(1)),
        ctypes.byref(ctypes.c_int32(solver.mtype)), ctypes.byref(ctypes.c_int32(33)),
        ctypes.byref(ctypes.c_int32(A.shape[0])), A.data.ctypes.data_as(f64),
        ia.ctypes.data_as(i32), ja.ctypes.data_as(i32), solver.perm.ctypes.data_as(i32),
        ctypes.byref(ctypes.c_int32(1 if B.ndim == 1 else B.shape[1])),
        solver.iparm.ctypes.data_as(i32), ctypes.byref(ctypes.c_int32(solver.msglvl)),
        B.ctypes.data_as(f64), X.ctypes.data_as(f64), ctypes.byref(err))
    if err.value != 0:
        raise SpectrumError(f"top_singular: PARDISO solve failed with error {err.value}")
    return X


class _mkl_threads:
    """Within the block MKL uses ``n`` threads on this thread (restored afterwards)."""

    def __init__(self, solver: Any, n: int) -> None:
        self.fn = getattr(getattr(solver, "libmkl", None), "MKL_Set_Num_Threads_Local", None)
        self.n = n
        self.old = 0

    def __enter__(self) -> None:
        if self.fn is not None:
            self.fn.restype = ctypes.c_int
            self.old = int(self.fn(ctypes.c_int(self.n)))

    def __exit__(self, *exc: object) -> None:
        if self.fn is not None:
            self.fn(ctypes.c_int(self.old))


def _shifted(G: sp.csr_array, s0: float) -> sp.csr_matrix:
    return sp.csr_matrix(sp.identity(G.shape[0], format="csr") * s0 - G)


def _superlu(G: sp.csr_array, s0: float, inertia: bool) -> Factor:
    t0 = time.perf_counter()
    M = sp.csc_matrix(_shifted(G, s0))
    lu = spla.splu(M, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                   options=dict(SymmetricMode=True))
    del M
    symmetric = bool(np.array_equal(lu.perm_r, lu.perm_c))
    neg: int | None = None
    definite: bool | None = None
    if inertia and symmetric:
        U = lu.U  # a copy of the factor: read its diagonal (the D of LDL^T) and drop it
        neg = int(np.sum(U.diagonal() <= 0))
        del U
        definite = neg == 0
    elif not symmetric:
        definite = False  # a row exchange: not an LDL^T, the inertia is unknown
    return Factor("superlu", s0, definite, neg, time.perf_counter() - t0, int(lu.nnz), 1, lu)


def _new_solver(pyp: Any, mtype: int = 2) -> Any:
    """A PARDISO instance for a real symmetric positive definite (``mtype`` 2, Cholesky) or
    indefinite (-2, Bunch-Kaufman :math:`LDL^\top`) matrix. The library path is the one
    pypardiso found at import, so the constructor does not search the installation tree
    again (about a second)."""
    path = getattr(getattr(getattr(pyp, "ps", None), "libmkl", None), "_name", None)
    with _mkl_runtime_path(path):
        return pyp.PyPardisoSolver(mtype=mtype)


def _upper(G: sp.csr_array, s0: float) -> sp.csr_matrix:
    """The upper triangle of :math:`s_0 I - G`, sorted CSR (what PARDISO reads)."""
    A = sp.csr_matrix(sp.triu(_shifted(G, s0), format="csr"))
    A.sort_indices()
    return A


def _pardiso(G: sp.csr_array, s0: float, threads: int) -> Factor:
    pyp = _pypardiso()
    t0 = time.perf_counter()
    A = _upper(G, s0)
    solver = _new_solver(pyp)
    for i, v in _IPARM.items():
        solver.set_iparm(i, v)
    try:
        with _mkl_threads(solver, threads):
            solver.factorize(A)
    except pyp.pardiso_wrapper.PyPardisoError as exc:
        _release(solver)
        if getattr(exc, "value", None) == _NOT_DEFINITE:
            return Factor("pardiso", s0, False, None, time.perf_counter() - t0, 0, threads,
                          None)
        raise SpectrumError(f"top_singular: PARDISO failed on s0*I - G: {exc}") from exc
    nnz = int(solver.get_iparm(18))  # iparm(18): nonzeros in the factor
    f = Factor("pardiso", s0, True, 0, time.perf_counter() - t0, nnz, threads, solver, A)
    # PARDISO keeps the factor in MKL's memory, not Python's: free it with the Factor
    weakref.finalize(f, _release, solver)
    return f


def _release(solver: Any) -> None:
    try:
        solver.free_memory(everything=True)  # phase -1: all of this handle
    except Exception:  # pragma: no cover - interpreter shutdown
        pass


@dataclass(frozen=True)
class Inertia:
    """Inertia of :math:`cI - G` read off an :math:`LDL^\top` factorization: ``negative`` is
    the number of eigenvalues of G above c; valid only when ``perturbed_pivots == 0``."""

    cut: float
    negative: int
    positive: int
    zero: int
    perturbed_pivots: int
    seconds: float
    nnz: int


#: PARDISO settings for the indefinite factorization: as :data:`_IPARM`, plus pivot
#: perturbation 1e-8 (reported, and then the inertia is not used), no scaling or matching
#: (they would not change the inertia but cost time), Bunch-Kaufman 1x1 and 2x2 pivots.
_IPARM_INDEFINITE = {**_IPARM, 10: 8, 11: 0, 13: 0, 21: 1}


def inertia_shifted(G: sp.csr_array, c: float, threads: int = 1) -> Inertia:
    r"""Count the eigenvalues of the sparse symmetric G above ``c``: the negative pivots of
    PARDISO's symmetric indefinite factorization of :math:`cI - G` (Sylvester's law of
    inertia). The factor is freed at once. Needs the ``fast`` extra."""
    require_pardiso("the inertia count")
    pyp = _pypardiso()
    t0 = time.perf_counter()
    A = _upper(G, c)
    solver = _new_solver(pyp, mtype=-2)
    for i, v in _IPARM_INDEFINITE.items():
        solver.set_iparm(i, v)
    try:
        with _mkl_threads(solver, threads):
            solver.factorize(A)
        pos, neg = int(solver.get_iparm(22)), int(solver.get_iparm(23))
        out = Inertia(cut=float(c), negative=neg, positive=pos,
                      zero=int(A.shape[0]) - pos - neg,
                      perturbed_pivots=int(solver.get_iparm(14)),
                      seconds=time.perf_counter() - t0, nnz=int(solver.get_iparm(18)))
    except pyp.pardiso_wrapper.PyPardisoError as exc:
        raise SpectrumError(f"top_singular: PARDISO failed on c*I - G: {exc}") from exc
    finally:
        _release(solver)
    return out


def factor_shifted(G: sp.csr_array, s0: float, backend: str = "auto", inertia: bool = True,
                   threads: int = 1) -> Factor:
    r"""Factor :math:`s_0 I - G` (G sparse symmetric). With ``inertia`` (SuperLU) count the
    nonpositive pivots; PARDISO's Cholesky always proves or disproves definiteness."""
    if backend not in BACKENDS:
        raise SpectrumError(f"top_singular: unknown factorization {backend!r} "
                            f"({', '.join(BACKENDS)})")
    backend = resolve_backend(backend, G.shape[0])
    if backend == "pardiso":
        require_pardiso("factorization='pardiso'")
        return _pardiso(G, s0, threads)
    return _superlu(G, s0, inertia)
