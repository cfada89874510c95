"""C-first forms of the bound curves: ``bound_curve(C, ...)`` and ``t5_curve(C, ...)`` give
the numbers of the older ``(mdp, nu, ...)`` forms, which still work with a
DeprecationWarning."""
from __future__ import annotations

import numpy as np
import pytest

from jepatheory.bounds import t5_curve
from jepatheory.bounds.curves import bound_curve, bound_curve_of
from jepatheory.bounds.input_level import t5_curve_of
from jepatheory.cooccurrence import CoOccurrence
from jepatheory.envs import chain


@pytest.fixture(scope="module")
def problem():
    mdp = chain(6, 0.2)
    nu = np.random.default_rng(0).dirichlet(np.ones(mdp.n_states * mdp.n_actions))
    return mdp, nu, CoOccurrence(mdp, nu)


def test_t5_curve_c_first_equals_the_old_form(problem):
    mdp, nu, C = problem
    new = t5_curve(C, [100, 10**6], 0.05)
    with pytest.warns(DeprecationWarning, match="t5_curve"):
        old = t5_curve(mdp, nu, [100, 10**6], 0.05)
    assert [b.to_dict() for b in new] == [b.to_dict() for b in old]
    assert [b.to_dict() for b in t5_curve_of(C, [100, 10**6], 0.05)] == \
        [b.to_dict() for b in new]


def _rows(bc):
    return {k: v for k, v in bc.to_dict().items() if "second" not in k}


@pytest.mark.parametrize("old_call", [
    lambda mdp, nu, C: bound_curve(mdp, nu, [10**4], [1, 2], 0.05, kappa="rescale",
                                   scan=False),
    lambda mdp, nu, C: bound_curve(mdp, nu, [10**4], [1, 2], 0.05, kappa="rescale", C=C,
                                   scan=False),
    lambda mdp, nu, C: bound_curve(mdp, ns=[10**4], ks=[1, 2], kappa="rescale", C=C,
                                   scan=False),
])
def test_bound_curve_c_first_equals_the_old_forms(problem, old_call):
    mdp, nu, C = problem
    new = bound_curve(C, [10**4], [1, 2], 0.05, kappa="rescale", scan=False)
    with pytest.warns(DeprecationWarning, match="bound_curve"):
        old = old_call(mdp, nu, C)
    assert _rows(new) == _rows(old)
    assert _rows(bound_curve_of(C, [10**4], [1, 2], 0.05, kappa="rescale", scan=False)) == \
        _rows(new)


def test_bound_curve_old_form_nu_defaults_to_uniform():
    mdp = chain(5, 0.1)
    with pytest.warns(DeprecationWarning):
        old = bound_curve(mdp, ns=[10**4], ks=[1], kappa="rescale", scan=False)
    new = bound_curve(CoOccurrence(mdp), [10**4], [1], kappa="rescale", scan=False)
    assert _rows(old) == _rows(new)


def test_bound_curve_rejects_a_non_cooccurrence_first_argument():
    with pytest.raises(TypeError, match="CoOccurrence"):
        bound_curve("chain", [10**4], [1])
