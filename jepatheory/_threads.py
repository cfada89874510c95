"""BLAS thread settings for worker processes.

Small dense operations in several processes on the same cores run many times slower with
multi-threaded BLAS; spawned workers read these variables when they import numpy.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

#: The variables OpenBLAS, OpenMP and MKL read for their thread counts.
BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@contextmanager
def blas_threads_for_children(n: int = 1, override: bool = False) -> Iterator[None]:
    """Within the block, processes started from this one use ``n`` BLAS threads (an explicit
    setting in the environment wins unless ``override``); the environment is restored."""
    saved = {v: os.environ.get(v) for v in BLAS_THREAD_VARS}
    for v in BLAS_THREAD_VARS:
        if override or v not in os.environ:
            os.environ[v] = str(n)
    try:
        yield
    finally:
        for v, val in saved.items():
            if val is None:
                os.environ.pop(v, None)
            else:
                os.environ[v] = val
