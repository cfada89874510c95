"""Threaded sparse products (MKL with the 'fast' extra): same numbers as SciPy's, in every
memory order and shape, and SciPy itself without the extra."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from jepatheory import _factor
from jepatheory._spmv import matmul


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 60), st.integers(1, 60), st.floats(0.0, 1.0), st.integers(0, 6),
       st.sampled_from(["vector", "C", "F", "strided"]), st.integers(0, 10**6))
def test_product_equals_scipy(n_rows, n_cols, density, k, layout, seed):
    rng = np.random.default_rng(seed)
    A = sp.random_array((n_rows, n_cols), density=density, format="csr", rng=rng)
    f = matmul(A, min_nnz=0)  # force the threaded path even for tiny matrices
    X = {"vector": lambda: rng.normal(size=n_cols),
         "C": lambda: rng.normal(size=(n_cols, k)),
         "F": lambda: np.asfortranarray(rng.normal(size=(n_cols, k))),
         "strided": lambda: rng.normal(size=(n_cols, 2 * k + 1))[:, ::2]}[layout]()
    Y, R = f(X), A @ X
    assert Y.shape == R.shape
    np.testing.assert_allclose(Y, R, rtol=1e-12, atol=1e-12 * (1 + np.abs(R).max(initial=0)))


def test_shape_mismatch_is_scipys_error_and_no_extra_means_scipy(monkeypatch):
    A = sp.random_array((30, 20), density=0.3, format="csr", rng=np.random.default_rng(0))
    with pytest.raises(ValueError):
        matmul(A, min_nnz=0)(np.ones(7))
    monkeypatch.setattr(_factor, "_pypardiso", lambda: None)
    f = matmul(A, min_nnz=0)
    x = np.arange(20.0)
    np.testing.assert_array_equal(f(x), A @ x)


def test_value_iteration_same_with_and_without_threaded_products(monkeypatch):
    """Value iteration on a kernel large enough for the threaded path (>= MIN_NNZ entries)
    gives the values and the policy of SciPy's single-threaded products."""
    from jepatheory.envs import grid
    from jepatheory.solvers import value_iteration

    mdp = grid(300, 300, slip=0.1)
    assert mdp.P_sa.nnz >= 1_000_000
    fast = value_iteration(mdp, tol=1e-8)
    monkeypatch.setattr(_factor, "_pypardiso", lambda: None)
    slow = value_iteration(mdp, tol=1e-8)
    assert fast.iterations == slow.iterations
    np.testing.assert_allclose(fast.V, slow.V, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(fast.policy, slow.policy)
