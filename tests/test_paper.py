"""The paper-form statements P1-P6: per-action matrices and spectra, the per-action identity
(symbolic and on random MDPs), the worst-action bracket, single-step and T-step regret
against their bounds, the Rademacher term and its coverage, the paper-form table, the CLI
keys and the bad-input errors (exit 2, one line)."""
from __future__ import annotations

import itertools
import json
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jepatheory import CoOccurrence
from jepatheory.cli import main
import jepatheory.convex.worst_action as wa_mod
from jepatheory.convex.worst_action import (
    dual_value,
    refine_encoder,
    shared_eps,
    worst_action,
)
from jepatheory.envs import FAMILIES, make_env
from jepatheory.errors import ActionDataError, OddMDPWarning, PaperFormError
from jepatheory.mdp import save_mdp
from jepatheory.model import jepa_loss
from jepatheory.paper import (
    abar_block,
    abar_blocks,
    p5_bound,
    paper_bound,
    per_action,
    per_action_eps,
    per_action_risk,
    reported_counterexample,
    shared_encoder_model,
    single_step,
    t_step,
    validate_cost,
)
from jepatheory.paper.checks import coverage_p5
from jepatheory.paper.rademacher import linear_reference
from jepatheory.paper.tradeoff import parse_cost, sample_term_table
from jepatheory.spectrum import top_singular
from jepatheory.symbolic.per_action import P as PP
from jepatheory.symbolic.per_action import b as B_
from jepatheory.symbolic.per_action import i as I_
from jepatheory.symbolic.per_action import j as J_
from jepatheory.symbolic.per_action import nu as NU
from jepatheory.symbolic.per_action import pi as PI
from jepatheory.symbolic.per_action import (
    prove_d1_general,
    prove_d2_general,
    prove_d5_general,
    prove_p1_general,
    prove_p1_sum_general,
)

pytestmark = pytest.mark.filterwarnings("ignore::jepatheory.errors.OddMDPWarning")
FAST = settings(max_examples=25, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])
# identities in float64 on O(1..100) numbers: 1e-9 relative
TOL = 1e-9


def _instance(seed: int, N: int, m: int, uncovered: bool = False) -> CoOccurrence:
    rng = np.random.default_rng(seed)
    mdp = make_env("random-sparse", n=N, actions=m, branching=int(rng.integers(1, N + 1)),
                   seed=seed)
    nu = rng.dirichlet(np.full(N * m, 0.8)).reshape(N, m)
    if uncovered and N > 2:
        nu[int(rng.integers(N)), int(rng.integers(m))] = 0.0
    nu[:, nu.sum(axis=0) == 0] = 1e-3
    nu /= nu.sum()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OddMDPWarning)
        return CoOccurrence(mdp, nu)


def _instance_k(seed: int, size: tuple[int, int], k: int) -> tuple[CoOccurrence, int]:
    """:func:`_instance` of ``size = (N, m)`` and ``k`` capped at its column count."""
    C = _instance(seed, *size)
    return C, min(k, C.n_right)


seeds = st.integers(0, 2**31 - 1)
sizes = st.tuples(st.integers(2, 7), st.integers(1, 4), st.booleans())


# ----------------------------------------------------------------------------- P1
@FAST
@given(seed=seeds, size=sizes, k=st.integers(1, 4))
def test_p1_identity_and_sum_over_actions(seed, size, k):
    N, m, unc = size
    C = _instance(seed, N, m, unc)
    rng = np.random.default_rng(seed + 1)
    z, f = rng.normal(size=(N * m, k)), rng.normal(size=(N, k))
    total = 0.0
    for norm in ("q", "per-action"):
        for a in range(m):
            R = per_action_risk(C, z, f, a, norm)
            e = per_action_eps(C, z, f, a, norm)
            fro = abar_block(C, a, norm).frobenius_sq
            assert abs(R - (e - fro)) <= TOL * max(1.0, abs(R), e)
            if norm == "q":
                total += C.p_action(a) * R
    L = jepa_loss(C, z, f)
    assert abs(total - L) <= TOL * max(1.0, abs(L))


def test_p1_symbolic_general_dimension_and_planted_mistakes():
    for p in (prove_p1_general("q"), prove_p1_general("per-action"), prove_p1_sum_general(),
              prove_d1_general(), prove_d2_general(), prove_d5_general()):
        assert p.proved and p.residual == "0", p
    from jepatheory.symbolic.per_action import _c, mu, q
    c = _c()
    assert not prove_p1_general("q", -2 * PI[B_, I_, J_] * c + mu[B_, I_] * q[J_] * c).proved
    assert not prove_p1_sum_general(-PI[B_, I_, J_] * c).proved
    import sympy as sp
    assert not prove_d1_general(row_sum=sp.Integer(2)).proved
    assert not prove_d2_general(PI[B_, I_, J_]).proved
    assert not prove_d5_general(NU[I_] * PP[I_, J_] ** 2).proved


@FAST
@given(seed=seeds, size=sizes)
def test_per_action_blocks_and_spectra(seed, size):
    N, m, unc = size
    C = _instance(seed, N, m, unc)
    k = 3
    pa = C.per_action(k)
    assert pa.certified
    T = C.T.toarray()
    for a, s in enumerate(pa.actions):
        b = abar_block(C, a)
        # D2: T_a = sqrt(p(a)) Abar_a
        assert np.abs(T[C.action_rows(a)] - np.sqrt(C.p_action(a)) * b.A.toarray()).max() \
            <= 1e-12
        full = np.linalg.svd(b.A.toarray(), compute_uv=False)
        kk = s.k
        assert np.abs(s.singular_values - full[:kk]).max() <= 1e-10
        tails = [float(np.sum(full[j:] ** 2)) for j in range(kk + 1)]
        assert np.abs(np.asarray(s.tail) - tails).max() <= 1e-10
    # per-action normalization: each block is a co-occurrence matrix: sigma_1 = 1 (F1)
    for s in per_action(C, 2, "per-action").actions:
        assert abs(s.singular_values[0] - 1.0) <= 1e-10


@FAST
@given(seed=seeds, size=st.tuples(st.integers(2, 6), st.integers(1, 3)))
def test_per_action_symmetry_reuse_matches_direct_spectra(seed, size):
    """A duplicated action (identity relabelling) and a relabelled copy (a random
    permutation given as a candidate) reuse one certified spectrum; the values, tails and
    relabelled vectors match the blocks' own; a wrong candidate is never used."""
    import scipy.sparse as sp
    from jepatheory.mdp import MDP
    N, m = size
    rng = np.random.default_rng(seed)
    base = make_env("random-sparse", n=N, actions=m, branching=int(rng.integers(1, N + 1)),
                    seed=seed)
    sigma = rng.permutation(N)
    Pm = base.P_sa.toarray().reshape(N, m, N)
    P_dup = np.empty((N, m + 2, N))
    P_dup[:, :m] = Pm
    P_dup[:, m] = Pm[:, 0]                                   # action m duplicates action 0
    inv = np.argsort(sigma)
    P_dup[:, m + 1] = Pm[inv][:, 0][:, inv]                  # P(sigma s'|sigma s) = P(s'|s)
    mdp = MDP.from_arrays(P_dup, np.zeros((N, m + 2)), 0.9)
    C = CoOccurrence(mdp)                                    # uniform nu: q is relabelled too
    if not np.allclose(C.q[sigma], C.q):                    # the copy is a symmetry of T
        sigma_ok = False                                     # only when q is invariant
    else:
        sigma_ok = True
    wrong = rng.permutation(N)
    pa = per_action(C, 2, symmetries=[("given", sigma), ("wrong", wrong)],
                    keep_vectors=True)
    direct = per_action(C, 2, symmetries=False)
    assert pa.certified and direct.certified
    assert pa.actions[m].symmetry_of == 0 and pa.actions[m].method == "symmetry"
    for x, y, b in zip(pa.actions, direct.actions, abar_blocks(C)):
        assert np.abs(x.singular_values - y.singular_values).max() <= 1e-12
        assert np.abs(np.asarray(x.tail) - np.asarray(y.tail)).max() <= 1e-10
        if x.symmetry_of is not None:
            assert x.symmetry in ("identity", "given", "wrong")
            sp_ = x._spectrum                                # relabelled vectors fit b's block
            R = b.A @ sp_.V - sp_.U * x.singular_values
            assert np.abs(R).max() <= 1e-9 + x.symmetry_eta
            assert x.symmetry_eta <= 1e-12 * np.sqrt(x.frobenius_sq)
            if x.symmetry == "wrong":                        # only if it happens to hold
                Fa = sp.csr_array(abar_block(C, x.symmetry_of).A)
                assert Fa.nnz == b.A.nnz
    if sigma_ok:
        assert pa.actions[m + 1].symmetry_of is not None


def test_symmetry_must_map_the_supports_onto_each_other():
    """Every state moves to 0 under action 0 and to 1 under action 1 (supp q = {0, 1}). The
    swap 0 <-> 1 relabels block 0 onto block 1; the 3-cycle 0 -> 1 -> 2 -> 0 matches every
    nonzero too but maps state 1 (a zero column of Abar_0 inside supp q) outside supp q, so
    it is refused and the vectors of a reused spectrum always fit the block."""
    from jepatheory.mdp import MDP
    P = np.zeros((4, 2, 4))
    P[:, 0, 0] = 1.0
    P[:, 1, 1] = 1.0
    C = CoOccurrence(MDP.from_arrays(P, np.zeros((4, 2)), 0.9))
    cycle = np.array([1, 2, 0, 3])
    pa = per_action(C, 1, symmetries=[("cycle", cycle)], keep_vectors=True)
    assert pa.actions[1].symmetry_of is None
    pb = per_action(C, 1, symmetries=[("cycle", cycle), ("swap", np.array([1, 0, 2, 3]))],
                    keep_vectors=True)
    x = pb.actions[1]
    assert x.symmetry == "swap" and x.symmetry_of == 0
    A = abar_block(C, 1).A
    R = A @ x._spectrum.V - x._spectrum.U * x.singular_values
    assert np.abs(R).max() <= 1e-12
    assert np.allclose(x.singular_values, pa.actions[1].singular_values)


def test_per_action_symmetries_of_grids_and_bad_candidates():
    from jepatheory.envs import grid
    C = CoOccurrence(grid(6, 6, slip=0.1))
    pa = C.per_action(5)
    assert [s.symmetry_of for s in pa.actions] == [None, 0, 0, 0]
    direct = C.per_action(5, symmetries=False)
    for x, y in zip(pa.actions, direct.actions):
        assert np.abs(x.singular_values - y.singular_values).max() <= 1e-12
        assert abs(x.tail_k(5) - y.tail_k(5)) <= 1e-10
    rows = pa.rows()
    assert rows[1]["symmetry_of"] == 0 and rows[1]["symmetry"] == "rotate 270"
    assert "symmetry of action 0" in rows[1]["certificate_by"]
    # a data distribution that breaks the symmetry: every block is computed
    nu = np.random.default_rng(0).dirichlet(np.ones(36 * 4)).reshape(36, 4)
    pb = CoOccurrence(grid(6, 6, slip=0.1), nu).per_action(3)
    assert all(s.symmetry_of is None for s in pb.actions)
    with pytest.raises(PaperFormError, match="not a permutation"):
        C.per_action(2, symmetries=[np.zeros(36, dtype=int)])
    with pytest.raises(PaperFormError, match="36 integer state labels"):
        C.per_action(2, symmetries=[np.arange(5)])


def test_action_without_data_is_named():
    mdp = make_env("chain", n=5)
    nu = np.full((5, 2), 0.2)
    nu[:, 1] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OddMDPWarning)
        C = CoOccurrence(mdp, nu)
    with pytest.raises(ActionDataError, match="action 1 has no data"):
        C.per_action(2)
    with pytest.raises(PaperFormError, match="normalization 'x'"):
        abar_block(C, 0, "x")


# ----------------------------------------------------------------------------- P2
@FAST
@given(seed=seeds, size=st.tuples(st.integers(3, 7), st.integers(1, 3)),
       k=st.integers(1, 3))
def test_p2_bracket_is_verified(seed, size, k):
    C, k = _instance_k(seed, size, k)
    w = worst_action(C, k)
    assert w.lower <= w.upper + 1e-9
    assert w.tail_max <= w.lower + 1e-12 and (w.tail_T or 0) <= w.lower + 1e-12
    blocks = abar_blocks(C)
    # the lower bound is re-derived from the weights alone (weak duality, eigenvalues)
    if w.weights is not None:
        G = np.stack([(b.A.T @ b.A).toarray() for b in blocks])
        f = np.array([b.frobenius_sq for b in blocks])
        g, _ = dual_value(G, f, w.weights, k)
        assert g <= w.lower + 1e-12 and g >= w.lower - 1e-9
    # no rank-k projection beats the lower bound (one-sided)
    rng = np.random.default_rng(seed)
    for _ in range(10):
        V, _r = np.linalg.qr(rng.normal(size=(C.n_right, k)))
        assert float(shared_eps(blocks, V).max()) >= w.lower - 1e-9
    if w.relaxation_primal is not None:
        assert w.checks["primal_residual"] <= 1e-9
        assert w.relaxation_primal >= w.relaxation_dual - 1e-9


def test_p2_single_action_is_eckart_young():
    C = _instance(3, 6, 1)
    w = worst_action(C, 2)
    assert abs(w.upper - w.tail_max) <= 1e-9 and w.gap <= 1e-8


@FAST
@given(seed=seeds, size=st.tuples(st.integers(3, 7), st.integers(2, 4)),
       k=st.integers(1, 3))
def test_p2_local_search_never_worse_and_stays_above_lower(seed, size, k):
    C, k = _instance_k(seed, size, k)
    w0 = worst_action(C, k, refine_steps=0)
    w = worst_action(C, k)
    assert w.upper <= w0.upper + 1e-12
    assert w.upper >= w.lower - 1e-9 and w.lower == w0.lower
    assert w.checks["local_search_improvement"] >= 0
    assert abs(w.checks["local_search_upper_before"] - w0.upper) <= 1e-12
    # from a random start: orthonormal V, monotone, value is the exact evaluation at V
    blocks = abar_blocks(C)
    rng = np.random.default_rng(seed)
    r = refine_encoder(blocks, rng.normal(size=(C.n_right, k)), steps=20)
    assert np.allclose(r.V.T @ r.V, np.eye(k), atol=1e-10)
    assert r.value <= r.value_start and r.value >= w.lower - 1e-9
    assert np.array_equal(r.eps, shared_eps(blocks, r.V))


def test_p2_local_search_strictly_improves_fixed_instance():
    # random sparse MDP, N = 7, m = 3, k = 2: best candidate 0.52389 (MW best response),
    # local search 0.49318, lower 0.48951
    C = _instance(0, 7, 3)
    w0 = worst_action(C, 2, refine_steps=0)
    w = worst_action(C, 2)
    assert w0.upper - w.upper >= 0.02
    assert w.upper_by.startswith("local search from ")
    assert w.checks["local_search_steps"] >= 1
    assert w.upper >= w.lower - 1e-9


def test_p2_local_search_without_dense_grams(monkeypatch):
    # above DENSE_MAX only the sparse products are used: same instance, no Gram matrices
    monkeypatch.setattr(wa_mod, "DENSE_MAX", 0)
    C = _instance(0, 7, 3)
    w0 = worst_action(C, 2, refine_steps=0)
    w = worst_action(C, 2)
    assert w.weights is None and w.upper < w0.upper - 1e-3
    assert w.upper >= w.lower - 1e-9


def test_p2_local_search_bad_input():
    C = _instance(0, 4, 2)
    with pytest.raises(PaperFormError):
        worst_action(C, 1, refine_steps=-1)
    with pytest.raises(PaperFormError):
        refine_encoder(abar_blocks(C), np.ones((C.n_right + 1, 1)))


# ----------------------------------------------------------------------------- P3, P4
@FAST
@given(seed=seeds, size=st.tuples(st.integers(2, 6), st.integers(1, 3)),
       k=st.integers(1, 4), cmax=st.sampled_from([1.0, 3.0]))
def test_p3_chain_and_p4_bounds_hold(seed, size, k, cmax):
    N, m = size
    C = _instance(seed, N, m)
    k = min(k, C.n_left, C.n_right)
    z, f = shared_encoder_model(C, top_singular(C.T, k).V)
    c = np.random.default_rng(seed).uniform(0, cmax, N)
    s = single_step(C, z, f, c, c_max=cmax)
    assert s.regret <= s.model_gap + 1e-12
    assert s.model_gap <= s.rowmax_bound + 1e-10
    assert s.rowmax_bound <= s.bound + 1e-10
    T = 4 if m ** 4 <= 4096 else 2
    for planner in ("open-loop", "closed-loop"):
        t = t_step(C, z, f, c, T, planner, c_max=cmax)
        assert np.all(t.regret <= t.bound + 1e-10)
        assert np.all(t.regret >= -1e-12)


def test_p3_reported_form_is_false_and_corrected_form_holds():
    ce = reported_counterexample()
    assert ce.regret > ce.reported_form * 1.1      # the reported form fails by > 10 %
    assert ce.regret <= ce.bound


def test_p4_growth_is_below_linear_bound_on_deterministic_latent_block():
    # deterministic latent ring (4 latent states), 2 noisy observations per latent state
    from jepatheory.mdp import MDP
    L, o = 4, 2
    N = L * o
    P = np.zeros((N, 2, N))
    for s in range(N):
        lat = s // o
        for a, step in ((0, 1), (1, -1)):
            nxt = (lat + step) % L
            P[s, a, nxt * o:(nxt + 1) * o] = [0.7, 0.3]      # stochastic emission
    mdp = MDP.from_arrays(P, np.zeros((N, 2)), 0.9, warn=False)
    C = CoOccurrence(mdp)
    z, f = shared_encoder_model(C, top_singular(C.T, 2).V)
    c = np.ones(N)
    c[0:o] = 0.0                                              # goal: latent state 0
    t = t_step(C, z, f, c, 8, "open-loop")
    assert np.all(t.regret <= t.bound + 1e-12)
    z4, f4 = shared_encoder_model(C, top_singular(C.T, L).V)  # k = number of latent states
    t4 = t_step(C, z4, f4, c, 8, "open-loop")
    assert t4.max_eps <= 1e-20 and np.all(np.abs(t4.regret) <= 1e-12)


def test_cost_and_horizon_validation():
    C = _instance(1, 4, 2)
    with pytest.raises(PaperFormError, match=r"cost\[2\] = 2.0 is outside"):
        validate_cost([0, 1, 2, 0], 4, 1.0)
    with pytest.raises(PaperFormError, match="horizon = 0"):
        t_step(C, np.zeros((8, 1)), np.zeros((4, 1)), np.zeros(4), 0)
    with pytest.raises(PaperFormError, match="planner 'x'"):
        t_step(C, np.zeros((8, 1)), np.zeros((4, 1)), np.zeros(4), 1, "x")
    with pytest.raises(PaperFormError, match="goal state 9"):
        parse_cost("goal:9", 4)


# ----------------------------------------------------------------------------- P5, P6
def test_p5_coverage_and_comparison():
    d = coverage_p5(0, R=30, n=300, delta=0.2)
    print(f"\nP5 coverage {d}")
    assert d["coverage"] >= 0.8
    C = CoOccurrence(make_env("chain", n=8))
    rows = sample_term_table(C, [1, 2, 4], [10**4, 10**6])
    # P5 is at least as loose as T4 (its constants are larger); all bounds >= tail
    for r in rows:
        assert r["eps_P5"] >= r["tail"] and r["eps_T4"] >= r["tail"]
        assert r["P5_over_T4"] >= 1.0
        # linear class (one-hot here): eps_ref = tail, plus its own 2 dev_R
        assert abs(r["eps_ref_linear"] - r["tail"]) <= 1e-8
        assert r["eps_P5_linear"] > r["eps_ref_linear"] and r["B_linear"] > 0
    # k-dependence through B and d: the sample term grows with k at fixed n
    devs = [p5_bound(0.0, k, 10**6, 0.05, float(k), n_left=16, n_right=8).dev
            for k in (1, 2, 4, 8)]
    assert all(a < b for a, b in itertools.pairwise(devs))


def _dense_eps(C: CoOccurrence, X: np.ndarray, W: np.ndarray, U: np.ndarray) -> float:
    """||T - D_nu^{1/2} Z F^T D_q^{1/2}||_F^2 densely, z(s,a) = W_a^T x(s), f = U^T x."""
    Z = np.stack([X[s] @ W[a] for s, a in zip(C.left_states, C.left_actions)])
    Phi = Z * np.sqrt(C.nu_L)[:, None]
    Psi = (X[C.right] @ U) * np.sqrt(C.q_R)[:, None]
    return float(np.sum((C.T.toarray() - Phi @ Psi.T) ** 2))


def test_linear_reference_one_hot_is_t2_minimizer():
    """One-hot features: the linear class contains the T2 minimizer, eps_ref = tail_k."""
    for seed in range(20):
        rng = np.random.default_rng(seed)
        C = _instance(seed, int(rng.integers(2, 8)), int(rng.integers(1, 4)),
                      uncovered=bool(seed % 3 == 0))
        N = C.mdp.n_states
        for k in range(1, min(C.n_left, C.n_right) + 1):
            ref = linear_reference(C, k)
            assert ref.features == "one-hot" and ref.R_x == 1.0
            assert abs(ref.eps_ref - ref.tail_k) <= 1e-8
            eye = linear_reference(C, k, features=np.eye(N))     # the generic path
            assert abs(eye.eps_ref - ref.tail_k) <= 1e-8
            assert abs(_dense_eps(C, np.eye(N), eye.W, eye.U) - ref.tail_k) <= 1e-8
            assert eye.B == pytest.approx(ref.B, rel=1e-6)


def test_linear_class_bound_dominates_reference_and_tail():
    """eps_bound_linear >= eps_ref >= tail_k; eps_ref is the model's exact eps (dense check);
    B = rho_z rho_f R_x^2 with the model's norms."""
    cases = []
    for seed in range(12):
        rng = np.random.default_rng(100 + seed)
        C = _instance(100 + seed, int(rng.integers(3, 8)), int(rng.integers(1, 4)))
        cases.append((C, rng.normal(size=(C.mdp.n_states, int(rng.integers(1, 6))))))
    for name, kw in (("noisy-features", {}), ("block-mdp", {})):
        C = CoOccurrence(make_env(name, **kw))
        cases.append((C, C.mdp.x))
    for C, X in cases:
        for k in (1, 2, 3, 5):
            if k > min(C.n_left, C.n_right):
                continue
            ref = linear_reference(C, k, features=X)
            assert ref.eps_ref >= ref.tail_k - 1e-9
            assert ref.eps_ref == pytest.approx(_dense_eps(C, X, ref.W, ref.U), abs=1e-8,
                                                rel=1e-9)
            rz = max(float(np.linalg.norm(w)) for w in ref.W)
            rf = float(np.linalg.norm(ref.U))
            rx = float(np.linalg.norm(X, axis=1).max())
            assert ref.B == pytest.approx(rz * rf * rx * rx, rel=1e-9)
            for n in (10**3, 10**6):
                b = p5_bound(ref.tail_k, k, n, 0.05, ref.B, cls="linear",
                             n_actions=C.mdp.n_actions, eps_ref=ref.eps_ref)
                assert b.eps_bound >= ref.eps_ref >= ref.tail_k - 1e-9
                assert b.eps_bound == pytest.approx(ref.eps_ref + 2 * b.dev)
    # without eps_ref the linear class keeps its old form (tail_k + 2 dev_R)
    old = p5_bound(1.0, 2, 10**4, 0.05, 3.0, cls="linear", n_actions=2)
    assert old.eps_ref is None and old.eps_bound == pytest.approx(1.0 + 2 * old.dev)


def test_p6_linear_class_rows_and_default_unchanged():
    C = CoOccurrence(make_env("chain", n=10))
    base = paper_bound(C, 10**6, [1, 2, 4], 5, scan=False)
    tab = paper_bound(C, 10**6, [1, 2, 4], 5, scan=False, cls="tabular")
    assert base.rows == tab.rows and base.input_level == tab.input_level
    assert base.cls == "tabular" and "cls" not in base.rows[0]
    lin = paper_bound(C, 10**6, [1, 2, 4], 5, scan=False, cls="linear")
    assert lin.cls == "linear" and lin.input_level["R_T"] == base.input_level["R_T"]
    for r, t in zip(lin.rows, base.rows):
        assert set(t) <= set(r)
        assert {"cls", "eps_ref", "B", "rho_z", "rho_f", "R_x"} <= set(r)
        assert r["cls"] == "linear" and r["k"] == t["k"] and r["tail_T"] == t["tail_T"]
        assert abs(r["eps_ref"] - r["tail_T"]) <= 1e-8              # chain: one-hot
        assert r["eps_bound"] * lin.min_p_action >= r["eps_ref"]
        assert r["B"] == pytest.approx(r["rho_z"] * r["rho_f"] * r["R_x"] ** 2)
        assert r["vacuous"] == (r["R_T"] >= lin.trivial_bound)
    with pytest.raises(PaperFormError, match="'bogus'"):
        paper_bound(C, 1000, [1], 2, cls="bogus")


def test_p6_table_keys_and_vacuity():
    C = CoOccurrence(make_env("chain", n=10))
    pb = paper_bound(C, 10**6, [1, 2, 4], 5)
    d = pb.to_dict()
    for key in ("form", "horizon", "c0", "k_star", "trivial_bound", "rows", "input_level",
                "crossover"):
        assert key in d
    for r in pb.rows:
        for key in ("k", "tail_max", "eps_bound", "R1_step", "R_T", "rademacher", "vacuous"):
            assert key in r
        assert r["eps_bound"] >= r["tail_max"]
        assert r["vacuous"] == (r["R_T"] >= pb.trivial_bound)
    assert pb.input_level["k"] == C.n_right and pb.input_level["tail_T"] == 0.0
    with pytest.raises(PaperFormError, match="horizon = -1"):
        paper_bound(C, 1000, [1], -1)


@pytest.mark.parametrize("family", [f for f in FAMILIES if f != "gym"] + ["gym"])
def test_every_family_small(family, capsys):
    small = dict(chain={"n": 6}, ring={"n": 6}, grid={"width": 3, "height": 3},
                 rooms={}, maze={"width": 3, "height": 3}, expander={"n": 8, "degree": 3},
                 tree={"depth": 2}, sbm={"clusters": 2, "size": 3},
                 **{"random-sparse": {"n": 8, "actions": 2},
                    "block-mdp": {"latent_width": 2, "latent_height": 2, "obs_per_latent": 2,
                                      "d_x": 4},
                    "gym": {"id": "FrozenLake-v1"}})
    if family == "gym":
        pytest.importorskip("gymnasium")
    argv = ["bound", "--env", family, "--form", "paper", "--horizon", "3", "--k", "1,2",
            "--n", "1e5", "--no-scan", "--json"]
    for k, v in small.get(family, {}).items():
        argv += ["-p", f"{k}={v}"]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    d = json.loads(out)
    assert d["form"] == "paper" and d["horizon"] == 3 and d["rows"]
    params = [t for k, v in small.get(family, {}).items() for t in ("-p", f"{k}={v}")]
    code = main(["spectrum", "--env", family, "--k", "2", "--per-action", "--json", *params])
    out, err = capsys.readouterr()
    assert code == 0, err
    s = json.loads(out)
    assert s["normalization"] == "q"
    assert len(s["per_action"]) == s["env"]["n_actions"]
    # the linear class and the bracketed floor on the same family: certified floor below
    # the exact one, same bound columns as the default
    code = main([*argv, "--class", "linear", "--floor", "bracket", "--sample-terms"])
    out, err = capsys.readouterr()
    assert code == 0, err
    lin = json.loads(out)
    assert lin["class"] == "linear" and lin["floor"] == "bracket" and lin["sample_terms"]
    for r, e in zip(lin["rows"], d["rows"]):
        assert r["tail_max"] <= e["tail_max"] + 1e-9 <= r["tail_max_upper"] + 2e-9
        assert r["eps_ref"] >= r["tail_T"] - 1e-9
    # symmetric actions reuse a spectrum, checked; the values are those of --no-symmetry
    code = main(["spectrum", "--env", family, "--k", "2", "--per-action", "--json",
                 "--no-symmetry", *params])
    own = json.loads(capsys.readouterr()[0])
    for x, y in zip(s["per_action"], own["per_action"]):
        assert np.allclose(x["singular_values"], y["singular_values"], atol=1e-10)


# ----------------------------------------------------------------------------- CLI
def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_spectrum_per_action_keys(capsys):
    code, out, _ = _run(capsys, "spectrum", "--env", "chain", "-p", "n=8", "--k", "3",
                        "--per-action", "--normalization", "per-action", "--json")
    assert code == 0
    d = json.loads(out)
    assert d["normalization"] == "per-action"
    for r in d["per_action"]:
        assert {"action", "singular_values", "tail", "frobenius_sq"} <= set(r)
        assert len(r["tail"]) == len(r["singular_values"]) + 1
        assert abs(r["tail"][0] - r["frobenius_sq"]) <= 1e-12
    grid = ("spectrum", "--env", "grid", "-p", "width=5", "-p", "height=5", "--k", "3",
            "--per-action", "--json")
    reuse = json.loads(_run(capsys, *grid)[1])["per_action"]
    own = json.loads(_run(capsys, *grid, "--no-symmetry")[1])["per_action"]
    assert [r["symmetry_of"] for r in reuse] == [None, 0, 0, 0]
    assert [r["symmetry_of"] for r in own] == [None] * 4
    assert all("localized_region" in r for r in reuse)
    for x, y in zip(reuse, own):
        assert np.allclose(x["singular_values"], y["singular_values"], atol=1e-12)
        assert np.allclose(x["tail"], y["tail"], atol=1e-10)


def test_cli_paper_form_sample_terms(capsys):
    code, out, _ = _run(capsys, "bound", "--env", "chain", "-p", "n=8", "--form", "paper",
                        "--horizon", "3", "--n", "1e3,1e5", "--k", "1,2", "--sample-terms",
                        "--no-scan", "--json")
    assert code == 0
    rows = json.loads(out)["sample_terms"]
    assert {(r["n"], r["k"]) for r in rows} == {(1000, 1), (1000, 2), (100000, 1),
                                                (100000, 2)}
    for r in rows:
        assert {"eps_P5", "eps_P5_linear", "eps_T4", "eps_T4b", "P5_over_T4"} <= set(r)
        assert r["eps_P5"] >= r["tail"] and r["eps_T4"] >= r["tail"]
    code, out, _ = _run(capsys, "bound", "--env", "chain", "-p", "n=8", "--form", "paper",
                        "--horizon", "3", "--n", "1e3", "--k", "1", "--sample-terms",
                        "--no-scan")
    assert code == 0 and "eps_P5_linear" in out and "P5_over_T4b" in out


@FAST
@given(seed=seeds, size=sizes)
def test_floor_bracket_contains_the_exact_floor(seed, size):
    """P2 floor from T's spectrum alone: lower <= max_a tail_k(Abar_a) <= upper at every k,
    and the paper-form bound columns do not depend on how the floor is obtained."""
    from jepatheory.paper.per_action import tail_max_bracket
    N, m, unc = size
    C = _instance(seed, N, m, unc)
    K = min(3, C.n_left, C.n_right)
    br = tail_max_bracket(C, C.spectrum(K), range(1, K + 1))
    pa = per_action(C, K, symmetries=False)
    for k in range(1, K + 1):
        exact = pa.tail_max(k)
        assert br.lower[k] <= exact + 1e-9 and exact <= br.upper[k] + 1e-9
    if K >= 1:
        a = paper_bound(C, 1000, range(1, K + 1), 2, scan=False)
        b = paper_bound(C, 1000, range(1, K + 1), 2, scan=False, floor="bracket")
        assert b.floor == "bracket" and a.floor == "exact"
        for ra, rb in zip(a.rows, b.rows):
            assert rb["tail_max"] <= ra["tail_max"] + 1e-9 <= rb["tail_max_upper"] + 2e-9
            assert (ra["eps_bound"], ra["R_T"]) == (rb["eps_bound"], rb["R_T"])


def test_cli_paper_form_floor_bracket(capsys):
    argv = ("bound", "--env", "grid", "-p", "width=6", "-p", "height=6", "--form", "paper",
            "--horizon", "5", "--n", "1e4", "--k", "1,3", "--no-scan", "--json")
    exact = json.loads(_run(capsys, *argv)[1])
    code, out, _ = _run(capsys, *argv, "--floor", "bracket")
    assert code == 0
    br = json.loads(out)
    assert exact["floor"] == "exact" and br["floor"] == "bracket"
    for re_, rb in zip(exact["rows"], br["rows"]):
        assert rb["tail_max"] <= re_["tail_max"] + 1e-9 <= rb["tail_max_upper"] + 2e-9
        assert "tail_max_upper" not in re_ and re_["R_T"] == rb["R_T"]
    assert "tail_max_upper" in _run(capsys, *argv[:-1], "--floor", "bracket")[1]


def test_cli_theory_form_unchanged(capsys):
    base = ["bound", "--env", "chain", "-p", "n=6", "--k", "1,2", "--n", "1e4", "--no-scan",
            "--json"]
    _, a, _ = _run(capsys, *base)
    _, b, _ = _run(capsys, *base, "--form", "theory", "--horizon", "7")
    assert a == b


def test_cli_paper_form_with_measured_regret(capsys):
    code, out, err = _run(capsys, "bound", "--env", "chain", "-p", "n=6", "--k", "1,2",
                          "--n", "1e5", "--form", "paper", "--horizon", "4", "--cost",
                          "goal:5", "--json")
    assert code == 0, err
    d = json.loads(out)
    for r in d["measured"]:
        assert r["regret_1step"] <= r["R1_at_eps"] and r["regret_T"] <= r["R_T_at_eps"]


def test_cli_paper_form_linear_class(capsys):
    base = ["bound", "--env", "noisy-features", "--k", "1,2", "--n", "1e4,1e6", "--form",
            "paper", "--horizon", "10", "--no-scan", "--json"]
    code, out, err = _run(capsys, *base, "--class", "linear")
    assert code == 0, err
    d = json.loads(out)
    assert d["class"] == "linear" and len(d["rows"]) == 4
    for r in d["rows"]:
        assert {"cls", "eps_ref", "B", "rho_z", "rho_f", "R_x", "eps_bound", "R_T",
                "vacuous"} <= set(r)
        assert r["features"] == "x" and r["eps_ref"] >= r["tail_T"] - 1e-9
    code, out, err = _run(capsys, *base)
    assert code == 0, err
    d = json.loads(out)
    assert d["class"] == "tabular" and "cls" not in d["rows"][0]


@pytest.mark.parametrize("argv,fragment", [
    (["bound", "--form", "paper", "--class", "bogus"], "'bogus'"),
    (["bound", "--form", "paper", "--floor", "exactly"], "'exactly'"),
    (["bound", "--form", "paper", "--floor", "bracket", "--normalization", "per-action"],
     "--floor bracket needs --normalization q"),
    (["bound", "--form", "paper", "--horizon", "0"], "--horizon 0"),
    (["bound", "--form", "paper", "--horizon", "-3"], "--horizon -3"),
    (["bound", "--form", "paper", "--horizon", "two"], "'two'"),
    (["bound", "--form", "papr"], "'papr'"),
    (["bound", "--form", "paper", "--normalization", "qq"], "'qq'"),
    (["spectrum", "--per-action", "--normalization", "qq"], "'qq'"),
    (["bound", "--form", "paper", "--c-max", "nan"], "'nan'"),
    (["bound", "--env", "chain", "-p", "n=4", "--form", "paper", "--cost", "0,1,2,0"],
     "cost[2] = 2.0"),
    (["bound", "--env", "chain", "-p", "n=4", "--form", "paper", "--cost", "0,1"],
     "expected 4 entries"),
])
def test_cli_bad_input_exits_2(capsys, argv, fragment):
    code, _, err = _run(capsys, *argv)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err and fragment in lines[0], err


@pytest.mark.parametrize("option", ["--floor", "--class"])
@pytest.mark.parametrize("value", ["0", "-1", "nan", "1e999", "", "BRACKET", "tabular,linear",
                                   "/tmp", "exact " * 2000])
def test_cli_paper_choice_options_refuse_bad_values_before_building(capsys, option, value):
    """Every bad value of --floor / --class exits 2 with one line naming it, and before the
    environment is built: the 10^10-state grid here is never allocated."""
    code, out, err = _run(capsys, "bound", "--env", "grid", "-p", "width=100000", "-p",
                          "height=100000", "--form", "paper", option, value)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and option in lines[0] and repr(value)[:40] in lines[0]


def test_cli_action_without_data_exits_2(capsys, tmp_path):
    mdp = make_env("chain", n=5)
    nu = np.full((5, 2), 0.2)
    nu[:, 0] = 0.0
    path = save_mdp(tmp_path / "m.npz", mdp, nu)
    for argv in (["spectrum", "--mdp", str(path), "--per-action"],
                 ["bound", "--mdp", str(path), "--form", "paper", "--k", "1"]):
        code, _, err = _run(capsys, *argv)
        assert code == 2 and "action 0 has no data" in err.strip().splitlines()[-1], err


def test_prove_lists_p1_to_p6_with_statuses(capsys):
    from jepatheory.checks import STATUSES, all_checks
    checks = {c.id: c for c in all_checks()}
    for pid in ("P1", "P2", "P3", "P4", "P5", "P6", "D1", "D2", "D5"):
        assert pid in checks and checks[pid].status in STATUSES
    assert checks["P1"].status == STATUSES[0]
    # D1, D2, D5 now run a general-dimension proof
    assert "general" in checks["D2"].fn(0).evidence


@pytest.mark.slow
def test_bench_paper_quick(capsys):
    code = main(["bench", "paper", "--quick", "--json", "--without-localization"])
    out, err = capsys.readouterr()
    assert code == 0, err
    d = json.loads(out)
    assert d["per_action_certified"] and d["stacked_certified"]
    assert len(d["per_action_localized_region"]) == 4
    assert d["per_action_without_localization_max_diff"] <= 1e-9
    assert d["per_action_without_localization_over_stacked"] > 0
    assert d["per_action_over_stacked"] > 0 and d["paper_over_bound"] > 0
