"""Localized Ritz pairs (jepatheory.spectrum._localized): Ritz pairs from a principal
submatrix around the heavy rows of G, certified by the inertia count on the whole G, agree
with the dense SVD and with the block Krylov within the certified bounds; when they do not
apply, do not converge or are not proved, the block Krylov runs exactly as without them."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jepatheory._factor import pardiso_available
from jepatheory.cooccurrence import CoOccurrence
from jepatheory.envs import grid
from jepatheory.paper.per_action import abar_blocks
from jepatheory.spectrum import SpectrumOptions, _localized, top_singular

pytestmark = pytest.mark.skipif(not pardiso_available(), reason="needs the 'fast' extra")

SPARSE = dict(method="sparse", factorization="pardiso")


def wall_block(width: int, height: int, slip: float, action: int = 0):
    """Abar_a of the slip grid: action 0 pushes into the wall of ``width`` states."""
    return abar_blocks(CoOccurrence(grid(width, height, slip=slip)))[action].A


def within_bounds(s, ref) -> bool:
    err = np.asarray(s.certificate.sigma_error_bound) + 1e-12
    return bool(np.all(np.abs(s.singular_values - ref.singular_values) <= err))


@settings(max_examples=15, deadline=None)
@given(st.integers(25, 40), st.integers(70, 90), st.floats(0.01, 0.45), st.integers(1, 10))
def test_localized_pairs_agree_with_the_dense_svd(width, height, slip, k):
    A = wall_block(width, height, slip)
    s = top_singular(A, k, **SPARSE)
    d = top_singular(A, k, method="dense")
    loc = s.certificate.details["localized"]
    assert s.certified and s.certificate.by in ("inertia", "lanczos")
    assert within_bounds(s, d)
    assert np.allclose(s.tail, d.tail, rtol=0, atol=1e-9 * d.frobenius_sq)
    if loc.get("proved"):
        assert s.certificate.by == "inertia"
        assert s.certificate.details["attempts"][0]["engine"] == "localized"
        assert loc["region"] <= A.shape[1] // 4
    if slip <= 0.1:              # a thin wall band: always found and proved at these sizes
        assert loc.get("proved"), loc


@pytest.mark.parametrize("width, height, slip, k, action", [
    (150, 150, 0.1, 8, 0), (160, 150, 0.25, 16, 1), (150, 170, 0.05, 24, 2)])
def test_localized_pairs_agree_with_the_block_krylov(width, height, slip, k, action):
    A = wall_block(width, height, slip, action)
    s = top_singular(A, k)                   # auto: PARDISO at these sizes
    ref = top_singular(A, k, localize=False)
    assert s.certificate.details["localized"]["proved"]
    assert "localized" not in ref.certificate.details
    assert s.certified and ref.certified
    assert within_bounds(s, ref) and within_bounds(ref, s)
    assert np.max(s.residuals) <= 1e-8
    # the vectors span the same space (top-k gap, at these sizes wide)
    assert np.allclose(np.abs(np.sum(s.V * ref.V, axis=0)), 1.0, atol=1e-6)


def test_the_stacked_spectrum_does_not_trigger():
    C = CoOccurrence(grid(150, 150, slip=0.1))
    s = C.spectrum(8)
    loc = s.certificate.details["localized"]
    assert loc["reason"] == "lambda_1 is not above the typical row sum" and not loc["tries"]
    assert s.certificate.details["attempts"][0].get("engine") is None


def test_no_convergence_falls_back_to_exactly_the_block_krylov(monkeypatch):
    A = wall_block(150, 150, 0.1)
    ref = top_singular(A, 8, localize=False)
    monkeypatch.setattr(_localized, "LAYERS", (1,))
    s = top_singular(A, 8)
    assert s.certificate.details["localized"]["reason"] == \
        "the residuals did not reach the tolerance"
    assert np.array_equal(s.singular_values, ref.singular_values)
    assert np.array_equal(s.V, ref.V)


def test_a_skipped_pair_is_caught_by_the_count_and_falls_back(monkeypatch):
    A = wall_block(150, 150, 0.1)
    ref = top_singular(A, 8, localize=False)
    real = _localized.local_ritz

    def drop_top(*args, **kw):
        lr, info = real(*args, **kw)
        return _localized.LocalRitz(lr.theta[1:], lr.near, lr.Y[:, 1:], lr.GY[:, 1:],
                                    lr.rn[1:], lr.region), info

    monkeypatch.setattr("jepatheory.spectrum._krylov.local_ritz", drop_top)
    s = top_singular(A, 8)
    loc = s.certificate.details["localized"]
    assert loc["proved"] is False and loc["check"]["skip_detected"]
    assert s.certified and np.array_equal(s.singular_values, ref.singular_values)


def test_the_option_is_part_of_the_cache_key_and_off_with_the_lanczos_certificate():
    C = CoOccurrence(grid(150, 150, slip=0.1))
    assert SpectrumOptions(localize=False) != SpectrumOptions()
    A = abar_blocks(C)[0].A
    s = top_singular(A, 4, certificate="lanczos")
    assert "localized" not in s.certificate.details and s.certificate.by == "lanczos"


def test_per_action_reports_the_region_and_relabelled_blocks_inherit_it():
    C = CoOccurrence(grid(150, 150, slip=0.1))
    pa = C.per_action(8)
    regions = [s.localized_region for s in pa.actions]
    assert regions[0] is not None and len(set(regions)) == 1
    assert [r["localized_region"] for r in pa.rows()] == regions
    off = C.per_action(8, localize=False)
    assert all(s.localized_region is None for s in off.actions)
    assert all(abs(pa.tail_max(k) - off.tail_max(k)) <= 1e-8 for k in range(1, 9))
