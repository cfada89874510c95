"""T6: Fantope relaxation certificates for constrained architectures.

Tolerances: Clarabel solves to ~1e-8 relative; certificates are asked to verify at 1e-6
(relative to max(1, ||T||_F^2)); quantities computed by eigenvalues alone agree to 1e-9.
"""
from __future__ import annotations

import importlib
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jepatheory.checks import run_checks
from jepatheory.convex import ConvexInputError, architecture_gap, fantope_max, relax
from jepatheory.convex.fantope import ky_fan, project_fantope
from jepatheory.convex.relax import _g, _grams, action_blocks
from jepatheory.convex.solve import solve_problem
from jepatheory.cooccurrence import CoOccurrence
from jepatheory.envs import make_env
from jepatheory.errors import SolverError

relax_mod = importlib.import_module("jepatheory.convex.relax")


def _C(n=7, actions=2, seed=0):
    return CoOccurrence(make_env("random-sparse", n=n, actions=actions, branching=3, seed=seed))


# ---------------------------------------------------------------------- Fantope / Ky Fan
def test_ky_fan_anchor_sdp_equals_top_eigenvalues():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((9, 9))
    S = A + A.T
    c = fantope_max(S, 3)
    exact = np.sort(np.linalg.eigvalsh(S))[::-1][:3].sum()
    assert c.verified
    assert c.status == "optimal"
    assert abs(c.primal - exact) <= 1e-6 * abs(exact)  # solver accuracy
    assert c.dual >= exact - 1e-12  # a dual value bounds the maximum from above
    assert c.min_eig_psd >= -1e-7 and c.primal_residual <= 1e-7


@settings(max_examples=20, deadline=None)
@given(st.integers(2, 9), st.integers(0, 10_000))
def test_project_fantope_is_the_projection(n, seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, n))
    Y = rng.standard_normal((n, n))
    P = project_fantope(Y, k)
    lam = np.linalg.eigvalsh(P)
    assert lam.min() >= -1e-12 and lam.max() <= 1 + 1e-12
    assert abs(np.trace(P) - k) <= 1e-9
    # variational inequality: <Y_sym - P, Z - P> <= 0 for every Z in the Fantope
    Ys = (Y + Y.T) / 2
    for _ in range(5):
        Z = project_fantope(rng.standard_normal((n, n)) * 3, k)
        assert np.sum((Ys - P) * (Z - P)) <= 1e-9
    assert np.allclose(project_fantope(P, k), P, atol=1e-10)


# ---------------------------------------------------------------------- relaxations
@settings(max_examples=6, deadline=None)
@given(st.integers(4, 8), st.integers(1, 3), st.integers(0, 10_000))
def test_free_relaxation_is_tight_and_equals_tail(n, k, seed):
    C = _C(n, 2, seed)
    c = relax(C, k, "free")
    scale = max(1.0, c.frobenius_sq)
    assert c.verified
    assert abs(c.lower - C.tail(k)) <= 1e-9 * scale  # T2: eigenvalue identity
    assert abs(c.upper - c.tail) <= 1e-9 * scale
    assert abs(c.gap) <= 1e-9 * scale


@pytest.mark.parametrize("arch", ["shared", "tied"])
def test_constrained_certificate_verifies(arch):
    C = _C(8, 2, 3)
    c = relax(C, 2, arch)
    scale = max(1.0, c.frobenius_sq)
    assert c.verified
    assert c.status == "optimal" and c.solver in ("CLARABEL", "SCS")
    assert c.primal_residual <= 1e-6 and c.dual_residual <= 1e-6
    assert c.min_eig_psd >= -1e-6
    assert 0 <= c.duality_gap <= 1e-6 * scale
    # one-sided: the relaxation can only raise the bound above tail_k, never above upper
    assert c.tail <= c.lower + 1e-9 * scale
    assert c.lower <= c.upper + 1e-9 * scale
    # the lower bound is re-derived here from lambda by eigenvalues, not from the solver
    A, B = _grams(action_blocks(C))
    assert np.all((c.lam >= 0) & (c.lam <= 1))
    assert abs(c.frobenius_sq - _g(arch, c.lam, A, B, 2) - c.lower) <= 1e-12 * scale


def test_tied_relaxation_beats_tail_on_an_asymmetric_instance():
    # random-sparse with seed 0 is a fixed instance where the tied bound is informative
    C = CoOccurrence(make_env("random-sparse", n=12))
    c = relax(C, 3, "tied")
    assert c.verified and c.lower > c.tail + 1e-3


def test_architecture_nesting():
    # tied is a subset of shared, shared of free: lower(shared) <= min eps_shared <=
    # min eps_tied <= upper(tied)
    C = _C(7, 3, 5)
    sh, ti = relax(C, 2, "shared"), relax(C, 2, "tied")
    assert sh.lower <= ti.upper + 1e-9
    assert sh.tail == pytest.approx(ti.tail, abs=1e-12)


def test_symmetric_single_action_tied_is_tight():
    # one action, symmetric T: the top eigenvectors of T attain Ky Fan of T^2
    import networkx as nx

    from jepatheory.convex.design import design_chain
    d = design_chain(nx.cycle_graph(8), "fastest-mixing", 2)
    c = relax(CoOccurrence(d.mdp, d.nu), 2, "tied")
    assert c.verified and c.gap <= 1e-6 * max(1.0, c.frobenius_sq)


def test_first_order_fallback_says_so_and_certifies(monkeypatch):
    C = _C(8, 2, 7)
    ref = relax(C, 2, "tied")
    monkeypatch.setattr(relax_mod, "SDP_MAX_N", 4)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        c = relax(C, 2, "tied", iters=800)
    assert any("SDP impractical" in str(x.message) for x in w)
    assert c.method == "first-order" and "SDP impractical" in c.note
    assert c.lower <= ref.upper + 1e-9  # still a valid bound (verified by eigenvalues)
    assert c.lower >= ref.lower - 1e-3 * max(1.0, c.frobenius_sq)  # O(1/t) accuracy
    assert c.verified  # at the first-order tolerance 1e-3


def test_sdp_full_matches_subspace_sdp():
    C = _C(6, 2, 11)
    a = relax(C, 2, "tied", method="sdp-full")
    b = relax(C, 2, "tied", method="sdp")
    assert a.verified and b.verified
    assert abs(a.lower - b.lower) <= 1e-6 * max(1.0, a.frobenius_sq)


def test_architecture_gap():
    C = _C(7, 2, 2)
    free = architecture_gap(C, 2, "free")
    assert free.lower == 0.0 and free.upper <= 1e-9
    tied = architecture_gap(C, 2, "tied")
    assert 0 <= tied.lower <= tied.upper and tied.verified


def test_input_errors():
    C = _C(5, 2, 0)
    with pytest.raises(ConvexInputError, match="arch"):
        relax(C, 2, "bogus")
    with pytest.raises(ConvexInputError, match="k"):
        relax(C, 5, "tied")
    with pytest.raises(ConvexInputError, match="method"):
        relax(C, 2, "tied", method="magic")
    with pytest.raises(ConvexInputError):
        ky_fan(np.ones((2, 3)), 1)


def test_solver_error_names_the_status():
    import cvxpy as cp
    x = cp.Variable()
    prob = cp.Problem(cp.Minimize(x), [x >= 1, x <= 0])
    with pytest.raises(SolverError, match="infeasible"):
        solve_problem(prob)
    prob = cp.Problem(cp.Minimize(x), [x <= 0])
    with pytest.raises(SolverError, match="unbounded"):
        solve_problem(prob, "CLARABEL")


def test_prove_registry_t6():
    res = run_checks(["T6"], seed=0)
    assert {r.id for r in res} >= {"T6", "T6.KyFan"}
    assert all(r.passed for r in res), [r.evidence for r in res]


def test_cli_relax_json(capsys):
    import json

    from jepatheory.cli import main
    rc = main(["relax", "--env", "chain", "-p", "n=10", "--k", "2", "--arch", "tied", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("lower", "upper", "gap", "tail", "status", "duality_gap", "primal_residual",
                "dual_residual", "min_eig_psd", "verified"):
        assert key in out
    assert out["verified"] and out["tail"] <= out["lower"] + 1e-9 <= out["upper"] + 2e-9
    assert main(["relax", "--env", "chain", "-p", "n=10", "--k", "10"]) == 2


def test_relabelling_states_leaves_the_certificate_unchanged():
    mdp = make_env("random-sparse", n=7, actions=2, branching=3, seed=9)
    perm = np.random.default_rng(0).permutation(7)
    P = mdp.P_dense()[perm][:, :, perm]
    from jepatheory.mdp import MDP
    mdp2 = MDP.from_arrays(P, mdp.r[perm], mdp.gamma, mdp.rho0[perm], warn=False)
    a, b = relax(CoOccurrence(mdp), 2, "tied"), relax(CoOccurrence(mdp2), 2, "tied")
    assert abs(a.lower - b.lower) <= 1e-6 and abs(a.tail - b.tail) <= 1e-12
    assert abs(a.upper - b.upper) <= 1e-6  # both searches reach the same model here
