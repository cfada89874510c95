"""T6 correction: the raw tied architecture h = f is the whitened tied model only when
nu(s,a) = q(s) p(a) (shared f: nu(s,a) = nu_S(s) p(a)); asked in raw coordinates, relax
checks the condition and refuses with a typed error naming it."""
from __future__ import annotations

import pytest

from jepatheory.convex.relax import raw_condition_gap, relax
from jepatheory.cooccurrence import CoOccurrence
from jepatheory.envs import make_env, ring
from jepatheory.errors import RawArchitectureError


def test_uniform_nu_with_non_uniform_q_breaks_the_tied_condition():
    C = CoOccurrence(make_env("random-sparse:n=8"))
    assert raw_condition_gap(C, "tied") > 1e-3  # q is not uniform here
    with pytest.raises(RawArchitectureError, match=r"nu\(s,a\) = q\(s\) p\(a\)"):
        relax(C, 2, "tied", coordinates="raw")


def test_the_condition_holds_and_raw_is_the_whitened_computation():
    C = CoOccurrence(ring(10, 0.2))  # doubly stochastic: q uniform, nu = q p
    assert raw_condition_gap(C, "tied") < 1e-12
    raw, white = relax(C, 2, "tied", coordinates="raw"), relax(C, 2, "tied")
    assert (raw.lower, raw.upper) == (white.lower, white.upper)


def test_shared_condition_is_a_product_nu():
    C = CoOccurrence(make_env("random-sparse:n=8"))  # uniform nu = nu_S x p
    assert raw_condition_gap(C, "shared") < 1e-12
    assert raw_condition_gap(C, "free") == 0.0
