"""K3: exact sort-and-shift inner problems (against an LP), the robust fixed points on the
safe side whenever the true kernel is in the sets, the Bellman certificate, the coverage of
the data-only certificate over many datasets, and the certify command line (THEORY K3;
proofs/K3.md)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from jepatheory import CoOccurrence, make_env
from jepatheory.certify import L1Sets, certify, inner_max, robust_lower, robust_upper, weissman_sets
from jepatheory.certify.robust import RowSorter
from jepatheory.cli import main
from jepatheory.envs import FAMILIES
from jepatheory.errors import BoundInputError
from jepatheory.sampling import sample_transitions
from jepatheory.solvers import optimal_policy, policy_evaluation

from .conftest import random_mdp

pytestmark = pytest.mark.filterwarnings("ignore::jepatheory.errors.OddMDPWarning")


def _lp_max(p_hat, beta, V):
    """max p.V s.t. p in simplex, ||p - p_hat||_1 <= beta, as an LP in (p, t), t >= |p - p_hat|."""
    N = V.size
    c = np.concatenate([-V, np.zeros(N)])
    I = np.eye(N)
    A = np.block([[I, -I], [-I, -I], [np.zeros((1, N)), np.ones((1, N))]])
    b = np.concatenate([p_hat, -p_hat, [beta]])
    res = linprog(c, A_ub=A, b_ub=b, A_eq=np.concatenate([np.ones(N), np.zeros(N)])[None],
                  b_eq=[1.0], bounds=[(0, None)] * (2 * N), method="highs")
    assert res.status == 0
    return -res.fun


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), N=st.integers(1, 7), rows=st.integers(1, 5),
       ties=st.booleans())
def test_sort_and_shift_equals_the_lp(seed, N, rows, ties):
    rng = np.random.default_rng(seed)
    P = rng.random((rows, N)) * (rng.random((rows, N)) > 0.4)
    P[P.sum(1) == 0, 0] = 1.0
    P /= P.sum(1, keepdims=True)
    empty = rng.random(rows) < 0.2                 # unsampled rows: empty, radius 2
    P[empty] = 0.0
    beta = np.where(empty, 2.0, rng.choice([0.0, 0.1, 0.5, 1.5, 2.0], size=rows))
    V = rng.integers(0, 3, N).astype(float) if ties else rng.standard_normal(N)
    sorter = RowSorter(sp.csr_array(P), beta)
    got_max, got_min = sorter.max_p(V), sorter.min_p(V)
    for i in range(rows):
        ph = P[i] if not empty[i] else np.full(N, 1.0 / N)
        b = beta[i] if not empty[i] else 2.0
        # tolerance: HiGHS' feasibility tolerance 1e-7 on entries of size <= 3
        assert abs(got_max[i] - _lp_max(ph, b, V)) <= 1e-6
        assert abs(got_min[i] + _lp_max(ph, b, -V)) <= 1e-6
    # reusing the cached permutation gives the same numbers
    before = sorter.resorts
    assert np.array_equal(sorter.max_p(V), got_max)
    assert np.array_equal(sorter.max_p(V), got_max) and sorter.resorts <= before + 1


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), N=st.integers(2, 7), m=st.integers(1, 3),
       gamma=st.sampled_from([0.0, 0.5, 0.9, 0.97]), scale=st.sampled_from([0.0, 0.1, 0.6]))
def test_robust_values_are_safe_when_the_kernel_is_in_the_sets(seed, N, m, gamma, scale):
    """Deterministic: sets of radius >= ||P - P_hat||_1 contain P, so V_up >= V* and
    V_lo^pi <= V^pi for every policy (one-sided)."""
    rng = np.random.default_rng(seed)
    mdp = random_mdp(rng, N, m, gamma=gamma)
    P = mdp.P_sa.toarray()
    Q = np.clip(P + scale * rng.standard_normal(P.shape), 0, None) + 1e-3
    Q /= Q.sum(1, keepdims=True)
    radius = np.minimum(np.abs(P - Q).sum(1) + 1e-12, 2.0)
    U = L1Sets(P_hat=sp.csr_array(Q), n_sa=np.ones(N * m), radius=radius, n_states=N,
               n_actions=m, delta=0.5, n=N * m, n_union=N * m)
    up = robust_upper(U, mdp)
    V_star = optimal_policy(mdp).V
    assert (up.V >= V_star - 1e-9).all()
    pi = rng.integers(0, m, N)
    lo = robust_lower(U, mdp, pi)
    assert (lo.V <= policy_evaluation(mdp, pi) + 1e-9).all()
    assert up.vi_gap <= 1e-5 * (1 + mdp.r_max / (1 - gamma))


def test_inner_max_checks_shape_and_radius_formula():
    mdp = make_env("chain", n=5)
    ds = sample_transitions(mdp, np.full((5, 2), 0.1), 200, 0)
    U = weissman_sets(ds, 0.1)
    n_sa = U.n_sa[U.n_sa > 0]
    expect = np.minimum(2, np.sqrt(2 * (5 * np.log(2) + np.log(U.n_union / 0.1)) / n_sa))
    assert np.allclose(U.radius[U.n_sa > 0], expect, rtol=1e-12)
    with pytest.raises(Exception, match="shape"):
        inner_max(U, np.zeros(3))
    with pytest.raises(BoundInputError, match="delta"):
        weissman_sets(ds, 1.0)


def test_coverage_over_many_datasets():
    """Over 200 datasets the measured R0 exceeds `upper` in at most a delta share: measured
    0 of 200 at delta = 0.2 (the check allows delta + 3 standard errors, one-sided). The
    stronger event (the true kernel in every L1 set) is counted too."""
    mdp = make_env("chain", n=6, slip=0.3)
    C = CoOccurrence(mdp)
    delta, runs = 0.2, 200
    pi_s = optimal_policy(mdp).policy
    P = mdp.P_sa.toarray()
    miss = miss_sets = miss_robust = miss_bellman = 0
    for seed in range(runs):
        c = certify(C, 300, seed=seed, delta=delta, planner="count", pi_star=pi_s)
        miss += c.R0 > c.upper + 1e-9
        miss_robust += c.R0 > c.upper_robust + 1e-9      # each part holds at delta/2
        miss_bellman += c.R0 > c.upper_bellman + 1e-9
        ds = sample_transitions(mdp, C.nu, 300, seed)
        U = weissman_sets(ds, delta / 2)
        l1 = np.abs(P - U.P_hat.toarray()).sum(1)
        miss_sets += bool((l1[U.n_sa > 0] > U.radius[U.n_sa > 0]).any())
    bound = delta + 3 * np.sqrt(delta * (1 - delta) / runs)
    assert miss / runs <= bound and miss_sets / runs <= bound
    half = delta / 2 + 3 * np.sqrt(delta / 2 * (1 - delta / 2) / runs)
    assert miss_robust / runs <= half and miss_bellman / runs <= half


def test_certificate_bites_on_four_rooms_at_1e6():
    """Review figure: the robust certificate is about half the trivial bound at n = 1e6."""
    C = CoOccurrence(make_env("four-rooms"))
    c = certify(C, 10**6, planner="count", seed=0)
    assert not c.vacuous and c.upper / c.trivial_bound < 0.6 and c.R0 <= c.upper


FAMILY_CASES = [("chain", ["n=8"]), ("ring", ["n=8"]), ("grid", ["width=4", "height=4"]),
                ("four-rooms", []), ("maze", ["width=4", "height=4"]),
                ("expander", ["n=16"]), ("tree", ["depth=3"]), ("random-sparse", ["n=12"]),
                ("sbm", ["size=4"]), ("block-mdp", ["latent_width=2", "latent_height=2",
                                                    "obs_per_latent=4"]),
                ("sutton-barto-3.5", []), ("rooms", []),
                ("gym", ["id=FrozenLake-v1"]),
                ("noisy-block", ["width=3", "height=2"]),
                ("noisy-features", ["width=3", "height=2"]),
                ("rendered", ["base=grid:width=3,height=3", "size=8"])]


def test_family_cases_cover_every_family():
    assert {f for f, _ in FAMILY_CASES} == set(FAMILIES)


@pytest.mark.parametrize("family,params", FAMILY_CASES)
def test_certify_cli_on_every_family(capsys, family, params):
    argv = ["certify", "--env", family, "--n", "3000", "--k", "2", "--json"]
    for p in params:
        argv += ["-p", p]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("upper", "upper_robust", "upper_bellman", "R0", "trivial_bound", "vacuous",
                "delta", "n"):
        assert key in out
    assert out["upper"] <= min(out["upper_robust"], out["upper_bellman"]) + 1e-12
    assert out["R0"] <= out["upper"] + 1e-9


@pytest.mark.parametrize("argv,fragment", [
    (["--delta", "0"], "--delta: '0'"), (["--delta", "1.5"], "--delta: '1.5'"),
    (["--delta", "nan"], "--delta: 'nan'"), (["--n", "1"], "n = 1"),
    (["--n", "0"], "--n"), (["--n", "abc"], "'abc'"), (["--planner", "foo"], "'foo'"),
    (["--k", "0"], "--k: '0'"), (["--split", "1"], "--split"),
    (["--n", "10,20"], "one sample size"), (["--support", "0"], "--support: '0'")])
def test_certify_bad_input_exits_2_with_one_line(capsys, argv, fragment):
    code = main(["certify", "--env", "chain", "-p", "n=5", *argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and fragment in err[0], err


def test_certify_reports_unsampled_pairs(capsys):
    assert main(["certify", "--env", "chain", "-p", "n=30", "--n", "20", "--planner",
                 "count", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_unsampled"] > 0 and out["unsampled"] and len(out["unsampled"][0]) == 2


def test_scan_half_trivial(capsys):
    assert main(["certify", "--env", "chain", "-p", "n=5", "--scan", "--planner", "count",
                 "--n", "1e3,1e4,1e5", "--json"]) == 0
    sc = json.loads(capsys.readouterr().out)["scan"]
    assert sc["first_n_below_half"] in (1000, 10000, 100000, None)
    assert len(sc["upper"]) == 3


def test_bench_certify_quick(capsys):
    assert main(["bench", "certify", "--quick", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["within_target"] and len(out["stages"]) == 4


def test_certify_an_mdp_file(capsys, tmp_path):
    from jepatheory.mdp import save_mdp
    path = save_mdp(tmp_path / "m.npz", make_env("ring", n=6, slip=0.2))
    assert main(["certify", "--mdp", str(path), "--n", "5000", "--k", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n"] == 5000 and out["R0"] <= out["upper"] + 1e-9
