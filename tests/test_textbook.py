"""Sutton and Barto (2018), Example 3.5: the 5x5 gridworld against the book's printed values
(Figure 3.2, equiprobable random policy; Figure 3.5, optimal values; both gamma = 0.9)."""
from __future__ import annotations

import numpy as np
import pytest

from jepatheory.envs import SB35_OPTIMAL_VALUES, SB35_RANDOM_VALUES, make_env, sutton_barto_3_5
from jepatheory.facts import check_f5
from jepatheory.cooccurrence import CoOccurrence
from jepatheory.solvers import optimal_policy, policy_evaluation, value_iteration

#: The book prints one decimal: a value v is printed as p when |v - p| <= 0.05. The exact
#: solves below are accurate to ~1e-12, far inside that; 1e-9 guards round-half cases.
PRINTED = 0.05 + 1e-9

A, A_PRIME, B, B_PRIME = (0, 1), (4, 1), (0, 3), (2, 3)


def idx(cell: tuple[int, int]) -> int:
    return cell[0] * 5 + cell[1]


@pytest.fixture(scope="module")
def mdp():
    return sutton_barto_3_5()


def test_the_model_is_the_books(mdp):
    assert (mdp.n_states, mdp.n_actions, mdp.gamma) == (25, 4, 0.9)
    P, r = mdp.P_dense(), mdp.r
    assert np.array_equal(P.sum(axis=2), np.ones((25, 4)))
    assert np.array_equal(P[idx(A), :, idx(A_PRIME)], np.ones(4)) and (r[idx(A)] == 10).all()
    assert np.array_equal(P[idx(B), :, idx(B_PRIME)], np.ones(4)) and (r[idx(B)] == 5).all()
    # off-grid moves (north from the top row except A, B) stay put with reward -1
    assert P[idx((0, 0)), 0, idx((0, 0))] == 1 and r[idx((0, 0)), 0] == -1
    assert P[idx((4, 4)), 1, idx((4, 4))] == 1 and r[idx((4, 4)), 1] == -1
    # an interior move: east from (2, 2) to (2, 3), reward 0
    assert P[idx((2, 2)), 1, idx((2, 3))] == 1 and r[idx((2, 2)), 1] == 0
    assert make_env("sutton-barto-3.5").P_sa.nnz == mdp.P_sa.nnz


def test_figure_3_2_random_policy_values(mdp):
    V = policy_evaluation(mdp, np.full((25, 4), 0.25)).reshape(5, 5)
    assert np.abs(V - SB35_RANDOM_VALUES).max() <= PRINTED
    assert np.array_equal(np.round(V, 1), SB35_RANDOM_VALUES)


@pytest.mark.parametrize("method", ["pi", "vi"])
def test_figure_3_5_optimal_values(mdp, method):
    V = optimal_policy(mdp, method).V.reshape(5, 5)
    assert np.abs(V - SB35_OPTIMAL_VALUES).max() <= PRINTED
    assert np.array_equal(np.round(V, 1), SB35_OPTIMAL_VALUES)


def test_optimal_value_of_A_in_closed_form(mdp):
    """From A the optimal loop is +10, teleport to A', four steps north back to A:
    V*(A) = 10 / (1 - gamma^5) and V*(A') = gamma^4 V*(A) (exact up to solver round-off)."""
    V = optimal_policy(mdp).V
    g = mdp.gamma
    assert V[idx(A)] == pytest.approx(10 / (1 - g**5), rel=1e-12)
    assert V[idx(A_PRIME)] == pytest.approx(g**4 * 10 / (1 - g**5), rel=1e-12)
    # Figure 3.5's optimal policy goes north from A' (the value rises towards A)
    pol = optimal_policy(mdp).policy
    assert pol[idx(A_PRIME)] == 0


def test_value_iteration_converges_to_the_same_values(mdp):
    vi = value_iteration(mdp, tol=1e-10)
    assert np.abs(vi.V - optimal_policy(mdp).V).max() <= 1e-10


def test_deterministic_textbook_world_has_a_flat_spectrum(mdp):
    """F5: the gridworld is deterministic, so T^T T = I on supp(q)."""
    C = CoOccurrence(mdp)
    chk = check_f5(C)
    assert chk.applicable and chk.passed
    s = C.spectrum(C.n_right).singular_values
    assert np.abs(s - 1).max() <= 1e-12
