r"""Multithreaded sparse products :math:`AX` through Intel MKL's inspector-executor sparse
BLAS, when the ``fast`` extra (pypardiso, which brings the MKL runtime) is installed.

SciPy's sparse products run on one core. :func:`matmul` returns a function
``X -> A @ X`` (``X`` a vector or a matrix in either memory order) that uses MKL's
``mkl_sparse_d_mv`` / ``mkl_sparse_d_mm`` on all threads when MKL is available and the
matrix is large enough to gain from it
(:data:`MIN_NNZ` stored entries), and plain SciPy otherwise; the values agree up to the
order of the floating-point sums. The MKL handle is freed with the returned function.
"""
from __future__ import annotations

import ctypes
import weakref
from typing import Any
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

__all__ = ["matmul", "MIN_NNZ"]

#: Below this many stored entries SciPy's single-threaded product is as fast.
MIN_NNZ = 1_000_000
_INT32_MAX = 2**31 - 1
_NON_TRANSPOSE = 10
_GENERAL = 20
_ROW_MAJOR, _COLUMN_MAJOR = 101, 102


class _Descr(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("mode", ctypes.c_int), ("diag", ctypes.c_int)]


def _library() -> Any | None:
    """The MKL runtime pypardiso loaded (None without the ``fast`` extra)."""
    from ._factor import pypardiso_module

    pyp = pypardiso_module()
    lib = getattr(getattr(pyp, "ps", None), "libmkl", None)
    if lib is None or not hasattr(lib, "mkl_sparse_d_create_csr"):
        return None
    if not getattr(lib, "_jepatheory_typed", False):
        lib.mkl_sparse_d_mv.argtypes = [ctypes.c_int, ctypes.c_double, ctypes.c_void_p,
                                        _Descr, ctypes.c_void_p, ctypes.c_double,
                                        ctypes.c_void_p]
        lib.mkl_sparse_d_mm.argtypes = [ctypes.c_int, ctypes.c_double, ctypes.c_void_p,
                                        _Descr, ctypes.c_int, ctypes.c_void_p, ctypes.c_int,
                                        ctypes.c_int, ctypes.c_double, ctypes.c_void_p,
                                        ctypes.c_int]
        lib.mkl_sparse_destroy.argtypes = [ctypes.c_void_p]
        lib._jepatheory_typed = True
    return lib


def _scipy(A: sp.csr_array) -> Callable[[NDArray], NDArray]:
    return lambda X: A @ X


def matmul(A: Any, min_nnz: int = MIN_NNZ
           ) -> Callable[[NDArray[np.float64]], NDArray[np.float64]]:
    """A function computing ``A @ X`` for the sparse A, on MKL's threads when possible (see
    the module docstring). (MKL's transposed product is several times slower than SciPy's
    here: for :math:`A^\top X` pass the transposed matrix.)"""
    A = sp.csr_array(A, dtype=float)
    lib = _library() if A.nnz >= min_nnz else None
    if lib is None or max(A.shape + (A.nnz,)) > _INT32_MAX:
        return _scipy(A)
    indptr = A.indptr.astype(np.int32)
    indices = A.indices.astype(np.int32)
    data = np.ascontiguousarray(A.data, dtype=np.float64)
    handle = ctypes.c_void_p()
    i32 = ctypes.POINTER(ctypes.c_int32)
    status = lib.mkl_sparse_d_create_csr(
        ctypes.byref(handle), 0, ctypes.c_int(A.shape[0]), ctypes.c_int(A.shape[1]),
        indptr.ctypes.data_as(i32), indptr[1:].ctypes.data_as(i32),
        indices.ctypes.data_as(i32), data.ctypes.data_as(ctypes.POINTER(ctypes.c_double)))
    if status != 0:  # pragma: no cover - MKL refused the matrix
        return _scipy(A)
    op = _NON_TRANSPOSE
    descr = _Descr(_GENERAL, 0, 0)
    rows, cols = A.shape
    fallback = _scipy(A)

    def product(X: NDArray[np.float64]) -> NDArray[np.float64]:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim not in (1, 2) or X.shape[0] != cols:
            return fallback(X)  # SciPy's own shape error
        if X.ndim == 1:
            x = np.ascontiguousarray(X)
            y = np.empty(rows)
            status = lib.mkl_sparse_d_mv(op, 1.0, handle, descr, x.ctypes.data, 0.0,
                                         y.ctypes.data)
        else:
            k = X.shape[1]
            if X.flags.f_contiguous and not X.flags.c_contiguous:
                layout, ld_x, ld_y, order = _COLUMN_MAJOR, cols, rows, "F"
            else:
                X = np.ascontiguousarray(X)
                layout, ld_x, ld_y, order = _ROW_MAJOR, k, k, "C"
            if k == 0 or rows == 0:
                return np.zeros((rows, k))
            y = np.empty((rows, k), order=order)
            status = lib.mkl_sparse_d_mm(op, 1.0, handle, descr, layout, X.ctypes.data,
                                         ctypes.c_int(k), ctypes.c_int(max(ld_x, 1)), 0.0,
                                         y.ctypes.data, ctypes.c_int(max(ld_y, 1)))
        if status != 0:  # pragma: no cover - MKL error: SciPy gives the same numbers
            return fallback(X)
        return y

    # the handle points into indptr/indices/data: keep them alive with the function, and
    # free MKL's handle with it
    product._keep = (indptr, indices, data, handle)  # type: ignore[attr-defined]
    weakref.finalize(product, lib.mkl_sparse_destroy, handle)
    return product
