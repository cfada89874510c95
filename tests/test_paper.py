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
    N, m = size
    C = _instance(seed, N, m)
    k = min(k, C.n_right)
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
    N, m = size
    C = _instance(seed, N, m)
    k = min(k, C.n_right)
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
    # k-dependence through B and d: the sample term grows with k at fixed n
    devs = [p5_bound(0.0, k, 10**6, 0.05, float(k), n_left=16, n_right=8).dev
            for k in (1, 2, 4, 8)]
    assert all(a < b for a, b in itertools.pairwise(devs))


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


@pytest.mark.parametrize("argv,fragment", [
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
    code = main(["bench", "paper", "--quick", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    d = json.loads(out)
    assert d["per_action_certified"] and d["stacked_certified"]
    assert d["per_action_over_stacked"] > 0 and d["paper_over_bound"] > 0
