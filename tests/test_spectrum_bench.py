"""``jepatheory bench spectrum --quick``: runs, reports accuracy against the exact slip-grid
spectrum, and the reference itself matches a dense SVD."""
from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from jepatheory._factor import pardiso_available
from jepatheory.bench.spectrum import run, slip_grid_singular_values
from jepatheory.cooccurrence import CoOccurrence
from jepatheory.envs import grid


@pytest.mark.parametrize("w,h,slip", [(6, 6, 0.1), (4, 7, 1 / 3), (1, 5, 0.2), (3, 3, 0.0)])
def test_exact_reference_matches_dense_svd(w, h, slip):
    C = CoOccurrence(grid(w, h, slip=slip))
    dense = np.linalg.svd(C.T.toarray(), compute_uv=False)
    # rounding of a dense SVD of entries <= 1: a few ulps
    assert np.max(np.abs(dense - slip_grid_singular_values(w, h, slip))) < 1e-12


@pytest.mark.parametrize("factorization", ["auto", "superlu", "pardiso"])
def test_quick_bench_json(capsys, factorization):
    if factorization == "pardiso" and not pardiso_available():
        pytest.skip("needs the 'fast' extra")
    args = argparse.Namespace(quick=True, json=True, k=16, slip=0.1, seed=0,
                              n_states=0, hand_states=0, factorization=factorization)
    assert run(args) == 0
    out = json.loads(capsys.readouterr().out)
    big = out["large"]
    assert big["n_states"] == 2500 and big["method"] == "sparse"
    assert big["certified"] is True
    assert big["max_rel_error_vs_exact"] <= big["max_certified_error"] + 1e-15
    assert big["max_rel_error_vs_exact"] < 1e-6 and big["tail_rel_error"] < 1e-6
    assert out["hand"]["max_abs_diff"] < 1e-8
    assert big["factor_nnz"] > 0 and big["shift_definite_by"]
    assert set(big["shift_definite_by"]) <= {"rigorous bound", "inertia", "Cholesky"}
    if factorization != "auto":
        assert big["factorization"] == factorization
    for key in ("build_T_seconds", "spectrum_seconds", "peak_rss_gib", "cpu_seconds"):
        assert key in big
    assert set(out["meets"]) == {"seconds", "gib", "rel_error", "hand_ratio"}
