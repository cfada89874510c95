"""Exact solvers on sparse kernels: policy evaluation against a dense linear solve, value
iteration against policy iteration, and the discounted occupancy d^pi used by T3."""
from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from jepatheory.envs import make_env
from jepatheory.errors import DistributionError, ShapeError
from jepatheory.mdp import MDP
from jepatheory.solvers import (
    as_policy_matrix,
    occupancy,
    optimal_policy,
    policy_evaluation,
    policy_iteration,
    policy_kernel,
    greedy_policy,
    q_from_v,
    row_max,
    value_iteration,
)

#: Dense LAPACK and sparse LU solves of I - gamma P_pi (condition number <= (1+g)/(1-g) = 19
#: at gamma 0.9) agree to a few ulps times the condition number; 1e-10 leaves ample room.
SOLVE_TOL = 1e-10


def random_mdp(seed: int, N: int, m: int, gamma: float = 0.9, density: float = 0.5) -> MDP:
    rng = np.random.default_rng(seed)
    P = rng.random((N, m, N)) * (rng.random((N, m, N)) < density)
    P[np.arange(N), :, rng.integers(N, size=N)] += 0.05  # every row keeps a successor
    P /= P.sum(axis=2, keepdims=True)
    return MDP.from_arrays(P, rng.normal(size=(N, m)), gamma, rng.dirichlet(np.ones(N)),
                           warn=False)


def random_policy(seed: int, N: int, m: int) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.ones(m), size=N)


def dense_value(mdp: MDP, pi: np.ndarray) -> np.ndarray:
    """Independent computation: V = (I - gamma P_pi)^{-1} r_pi with dense einsum arrays."""
    P = mdp.P_dense()
    P_pi = np.einsum("sa,sat->st", pi, P)
    r_pi = np.einsum("sa,sa->s", pi, mdp.r)
    return np.linalg.solve(np.eye(mdp.n_states) - mdp.gamma * P_pi, r_pi)


mdp_params = st.tuples(st.integers(0, 2**31 - 1), st.integers(1, 8), st.integers(1, 4),
                       st.sampled_from([0.0, 0.5, 0.9, 0.99]))


@settings(max_examples=40, deadline=None)
@given(mdp_params)
def test_policy_evaluation_matches_dense_solve(params):
    seed, N, m, gamma = params
    mdp = random_mdp(seed, N, m, gamma)
    pi = random_policy(seed + 1, N, m)
    V = policy_evaluation(mdp, pi)
    ref = dense_value(mdp, pi)
    assert np.allclose(V, ref, rtol=SOLVE_TOL * 100 / (1 - gamma), atol=SOLVE_TOL / (1 - gamma))
    # Bellman equation holds for the returned V
    P_pi, r_pi = policy_kernel(mdp, pi)
    assert np.abs(V - (r_pi + gamma * (P_pi @ V))).max() <= SOLVE_TOL / (1 - gamma)


def test_deterministic_policy_equals_its_one_hot_matrix():
    mdp = random_mdp(3, 7, 3)
    pi = np.array([0, 2, 1, 1, 0, 2, 2])
    one_hot = np.eye(3)[pi]
    assert np.array_equal(as_policy_matrix(mdp, pi).toarray(),
                          as_policy_matrix(mdp, one_hot).toarray())
    assert np.allclose(policy_evaluation(mdp, pi), policy_evaluation(mdp, one_hot),
                       rtol=0, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(mdp_params)
def test_value_iteration_agrees_with_policy_iteration(params):
    seed, N, m, gamma = params
    mdp = random_mdp(seed, N, m, gamma)
    tol = 1e-9
    vi = value_iteration(mdp, tol=tol)
    pi_ = policy_iteration(mdp)
    # VI stops when its greedy policy is tol-optimal, so |V_vi - V*| <= tol/2 (see docstring)
    assert np.abs(vi.V - pi_.V).max() <= tol
    # PI's V is the exact value of its policy and satisfies the Bellman optimality equation
    assert pi_.residual <= 1e-9 * (1 + np.abs(pi_.V).max())
    assert np.allclose(policy_evaluation(mdp, pi_.policy), pi_.V, rtol=0, atol=1e-10)
    # VI's greedy policy is tol-optimal
    assert np.abs(policy_evaluation(mdp, vi.policy) - pi_.V).max() <= tol
    # and no deterministic policy does better than PI anywhere (one-sided)
    rng = np.random.default_rng(seed)
    for _ in range(5):
        other = rng.integers(m, size=N)
        assert (policy_evaluation(mdp, other) <= pi_.V + 1e-10).all()


def test_optimal_policy_methods_and_errors():
    mdp = random_mdp(5, 6, 2)
    a, b = optimal_policy(mdp, "pi"), optimal_policy(mdp, "vi")
    assert np.abs(a.V - b.V).max() <= 1e-9
    assert a.method == "policy_iteration" and b.method == "value_iteration"
    assert np.allclose(q_from_v(mdp, a.V).max(axis=1), a.V, atol=1e-10)
    with pytest.raises(ValueError, match="unknown method"):
        optimal_policy(mdp, "magic")


@settings(max_examples=40, deadline=None)
@given(mdp_params)
def test_occupancy_is_a_distribution_satisfying_the_flow_equation(params):
    seed, N, m, gamma = params
    mdp = random_mdp(seed, N, m, gamma)
    pi = random_policy(seed + 2, N, m)
    d = occupancy(mdp, pi)
    assert d.shape == (N, m)
    assert (d >= 0).all()
    assert abs(d.sum() - 1.0) <= 1e-12
    # flow: d(s') = (1-gamma) rho0(s') + gamma sum_{s,a} d(s,a) P(s'|s,a)
    d_s = d.sum(axis=1)
    flow = (1 - gamma) * mdp.rho0 + gamma * (mdp.P_sa.T @ d.ravel())
    assert np.abs(d_s - flow).max() <= 1e-12 / (1 - gamma)
    # d(s, a) = d(s) pi(a|s)
    assert np.abs(d - d_s[:, None] * pi).max() <= 1e-14
    # value identity: rho0 . V^pi = E_{d^pi}[r] / (1 - gamma)
    V = policy_evaluation(mdp, pi)
    lhs, rhs = mdp.rho0 @ V, (d * mdp.r).sum() / (1 - gamma)
    assert abs(lhs - rhs) <= 1e-10 * (1 + abs(lhs)) / (1 - gamma)


def test_occupancy_from_another_start():
    mdp = random_mdp(11, 5, 2)
    pi = random_policy(0, 5, 2)
    e0 = np.eye(5)[0]
    d = occupancy(mdp, pi, rho0=e0)
    assert abs(d.sum() - 1) <= 1e-12
    assert d[0].sum() >= 1 - mdp.gamma - 1e-12  # at least the t = 0 mass


def test_gamma_zero_occupancy_is_the_start_law():
    mdp = random_mdp(2, 4, 3, gamma=0.0)
    pi = random_policy(2, 4, 3)
    assert np.allclose(occupancy(mdp, pi), mdp.rho0[:, None] * pi, atol=1e-15)
    assert np.allclose(value_iteration(mdp).V, mdp.r.max(axis=1), atol=1e-15)


def test_sparse_kernel_large_grid():
    """40 000 states: the solvers stay sparse (a dense kernel would be 51 GB)."""
    mdp = make_env("grid", width=200, height=200, slip=0.2, gamma=0.9)
    assert sp.issparse(mdp.P_sa)
    N, m = mdp.n_states, mdp.n_actions
    pi = np.full((N, m), 1.0 / m)
    V = policy_evaluation(mdp, pi)
    P_pi, r_pi = policy_kernel(mdp, pi)
    assert np.abs(V - (r_pi + 0.9 * (P_pi @ V))).max() <= 1e-10
    d = occupancy(mdp, pi)
    assert abs(d.sum() - 1) <= 1e-10
    flow = 0.1 * mdp.rho0 + 0.9 * (mdp.P_sa.T @ d.ravel())
    assert np.abs(d.sum(axis=1) - flow).max() <= 1e-12
    vi = value_iteration(mdp, tol=1e-6)
    # the goal corner is the best state; its value is at most R_max / (1 - gamma)
    assert int(np.argmax(vi.V)) == N - 1
    assert vi.V.max() <= 1 / (1 - 0.9) + 1e-9


@pytest.mark.parametrize("m, pi, cls, fragment", [
    (3, np.array([0, 1, 2]), ShapeError, "expected 4 actions"),
    (3, np.array([0, 1, 2, 3]), ShapeError, "policy[3] = 3 is not an action in [0, 3)"),
    (3, np.array([0, 1, -1, 0]), ShapeError, "policy[2] = -1"),
    (3, np.array([0.5, 1, 1, 0]), ShapeError, "integer actions"),
    (2, np.full((4, 2), 0.6), DistributionError, "policy[0, :] sums to 1.2"),
    (2, np.array([[1.5, -0.5]] * 4), DistributionError, "policy[0, 1] = -0.5"),
    (2, np.full((4, 3), 1 / 3), ShapeError, "expected shape (4, 2), got (4, 3)"),
])
def test_policy_validation(m, pi, cls, fragment):
    with pytest.raises(cls, match=re.escape(fragment)):
        as_policy_matrix(random_mdp(0, 4, m), pi)


@pytest.mark.parametrize("rho0, cls, fragment", [
    (np.ones(3) / 3, ShapeError, "rho0: expected shape (4,)"),
    (np.ones(4), DistributionError, "rho0 sums to 4"),
])
def test_occupancy_validates_its_start_law(rho0, cls, fragment):
    with pytest.raises(cls, match=re.escape(fragment)):
        occupancy(random_mdp(0, 4, 2), random_policy(0, 4, 2), rho0=rho0)


@pytest.mark.parametrize("name, params", [("ring", dict(n=7, slip=0.0)),
                                          ("chain", dict(n=12, slip=0.1)),
                                          ("random-sparse", dict(n=30))])
def test_behaviour_policy_data_distributions(name, params):
    """nu from a behaviour policy: its occupancy d^pi, or mu_pi(s) pi(a|s) with mu_pi
    stationary (lazy power iteration stops at an l1 step of 1e-12; 1e-10 leaves room for a
    slowly mixing chain)."""
    from jepatheory.data import make_nu, policy_nu

    mdp = make_env(name, **params)
    pi = random_policy(1, mdp.n_states, mdp.n_actions)
    assert np.array_equal(policy_nu(mdp, pi, "occupancy"), occupancy(mdp, pi))
    nu = policy_nu(mdp, pi, "stationary")
    mu = nu.sum(axis=1)
    P_pi, _ = policy_kernel(mdp, pi)
    assert abs(nu.sum() - 1) <= 1e-12 and (nu >= 0).all()
    assert np.abs(P_pi.T @ mu - mu).max() <= 1e-10
    assert np.abs(nu - mu[:, None] * pi).max() <= 1e-15
    uni = make_nu(mdp, "random-policy-stationary")
    assert uni.shape == (mdp.n_states, mdp.n_actions)


@pytest.mark.parametrize("gamma, max_steps", [(0.99, 5000), (0.99, 10), (0.5, 5000)])
def test_iterative_solve_path_agrees_with_sparse_lu(monkeypatch, gamma, max_steps):
    """Above DIRECT_SOLVE_MAX_N states the linear systems go to the Neumann series with a
    certified truncation (or GMRES, rtol 1e-12, when gamma needs too many terms)."""
    import jepatheory.solvers as solvers

    mdp = make_env("four-rooms", gamma=gamma)
    pi = random_policy(3, mdp.n_states, mdp.n_actions)
    V_lu, d_lu = policy_evaluation(mdp, pi), occupancy(mdp, pi)
    monkeypatch.setattr(solvers, "DIRECT_SOLVE_MAX_N", 10)
    monkeypatch.setattr(solvers, "NEUMANN_MAX_STEPS", max_steps)
    V_it, d_it = policy_evaluation(mdp, pi), occupancy(mdp, pi)
    # relative residual 1e-12 times the condition number (1+g)/(1-g) ~ 200
    assert np.abs(V_it - V_lu).max() <= 1e-9 * np.abs(V_lu).max()
    assert np.abs(d_it - d_lu).max() <= 1e-9


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 40), st.integers(1, 30), st.integers(0, 10**6))
def test_row_max_equals_numpy_max(N, m, seed):
    """The column-wise running maximum equals ``Q.max(axis=1)``, NaN and +-inf included."""
    rng = np.random.default_rng(seed)
    Q = rng.normal(size=(N, m))
    Q.ravel()[rng.integers(N * m, size=2)] = [np.nan, np.inf][seed % 2]
    np.testing.assert_array_equal(row_max(Q), Q.max(axis=1))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 30), st.integers(1, 6), st.integers(0, 10**6))
def test_greedy_policy_ignores_rounding_noise_on_ties(N, m, seed):
    """Rows with tied best actions keep the lowest tied index under 1e-15 relative noise;
    rows with a clear best action get numpy's argmax."""
    rng = np.random.default_rng(seed)
    Q = rng.integers(0, 3, size=(N, m)).astype(float) * 10.0  # many exact ties
    noisy = Q + 1e-15 * 30.0 * rng.standard_normal(Q.shape)
    first_best = np.argmax(Q == Q.max(axis=1, keepdims=True), axis=1)
    np.testing.assert_array_equal(greedy_policy(Q), first_best)
    np.testing.assert_array_equal(greedy_policy(noisy), first_best)
    clear = rng.normal(size=(N, m))
    np.testing.assert_array_equal(greedy_policy(clear), np.argmax(clear, axis=1))
