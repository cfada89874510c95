"""Bounds T4, T4b, T5, kappa_k, the curves over k and n, and 'jepatheory bound': closed
forms, one-sided checks, metamorphic checks (relabel states, duplicate an action, add an
unreachable state) and every built-in environment family through the command line."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from jepatheory import CoOccurrence, make_env, uniform_nu
from hypothesis import given, settings
from hypothesis import strategies as st

from jepatheory.bounds import (kappa_k, plugin_constants, plugin_variance, t4_dev, t4b_bound,
                               t5_bound, t5_curve, weissman_rows)
from jepatheory.bounds.constants import regret_constant, row_factor, scaled
from jepatheory.bounds.input_level import count_failure, successor_sizes
from jepatheory.bounds.plugin import marginal_deviation, marginal_deviation_at
from jepatheory.bounds.curves import bound_curve, parse_grid
from jepatheory.bounds.finite_sample import encoder_dimension, kappa_grid_index
from jepatheory.cli import main
from jepatheory.errors import BoundInputError
from jepatheory.mdp import MDP, save_mdp
from jepatheory.solvers import occupancy, optimal_policy

from .conftest import random_mdp, random_nu

# metamorphic predictions are exact in exact arithmetic; 1e-9 relative covers SVD and
# linear-solve round-off on these O(10)-state problems
REL = 1e-9


def test_t4_dev_closed_form():
    """dev = (4B + B^2) sqrt((d log(1+2n) + log(2/delta)) / (2 floor(n/2))) + 8B(1+B)/n."""
    n, delta, B, d = 1001, 0.1, 2.0, 30
    want = 12 * math.sqrt((30 * math.log(2003) + math.log(20)) / 1000) + 48 / 1001
    assert t4_dev(n, delta, B, d) == pytest.approx(want, rel=1e-14)
    assert t4_dev(10**6, delta, B, d) < t4_dev(10**4, delta, B, d)
    with pytest.raises(BoundInputError):
        t4_dev(1, 0.1, 1.0, 1)
    with pytest.raises(BoundInputError):
        t4_dev(100, 1.5, 1.0, 1)


def test_encoder_dimension_and_kappa_grid():
    assert encoder_dimension(3, 10, 5) == 45
    assert encoder_dimension(3, 10, 5, "linear", d_x=4, n_actions=2) == 36
    with pytest.raises(BoundInputError):
        encoder_dimension(3, 10, 5, "linear")
    j, kj, share = kappa_grid_index(1.0, 2.0)
    assert (j, kj, share) == (0, 2.0, 0.5)
    j, kj, share = kappa_grid_index(5.0, 2.0)  # 2 * 2^(j/2) >= 5  ->  j = 3
    assert j == 3 and kj >= 5.0 and share == pytest.approx(1 / 20)


def test_kappa_methods_are_ordered_and_verified():
    """lower <= SDP <= rescaled <= whitened; every upper bound is a verified factorization."""
    mdp = make_env("chain", n=10, slip=0.3)
    C = CoOccurrence(mdp)
    for k in (1, 2, 4):
        r = kappa_k(C, k, sdp=True)
        tol = 1e-6 * r.whitened  # the SDP solves to ~1e-8 relative; verified value recomputed
        assert r.lower <= r.sdp + tol and r.sdp <= r.rescaled + tol
        assert r.rescaled <= r.whitened + 1e-12
        assert r.value == min(r.whitened, r.balanced, r.rescaled, r.sdp)
    assert kappa_k(C, 1).value == pytest.approx(1.0, rel=1e-9)  # z0 = h0 = 1 at k = 1


def test_t4b_constants_one_sided():
    mdp = make_env("chain", n=8)
    C = CoOccurrence(mdp)
    pv = plugin_variance(C)
    # v is the norm of PSD matrices bounded by their diagonals
    assert 0 <= pv.v <= pv.v_left + pv.v_right
    pv_bound = plugin_variance(C, "diagonal bound")
    assert pv.v <= pv_bound.v + 1e-12
    a = plugin_constants(C, 10**4, 0.05, pv)
    b = plugin_constants(C, 10**6, 0.05, pv)
    assert b.Delta_n < a.Delta_n and b.Dhat < a.Dhat and b.rho_nu < a.rho_nu
    small = plugin_constants(C, 10, 0.05, pv)
    assert math.isinf(small.Dhat)  # marginals not pinned: the bound is infinite, not wrong
    t = t4b_bound(C.tail(2), 2, b)
    assert t.sqrt_eps_bound >= math.sqrt(C.tail(2))


def test_t5_bound_decreases_and_flags():
    mdp = make_env("chain", n=8)
    nu = uniform_nu(mdp)
    lo, hi = t5_bound(mdp, nu, 10**3, 0.05), t5_bound(mdp, nu, 10**7, 0.05)
    # R_rows equals R_T5 up to rounding when no row is clipped at 2
    assert hi.bound < lo.bound and hi.R_rows <= hi.R_T5 * (1 + 1e-12)
    assert lo.vacuous and not hi.vacuous


def _t5_reference(mdp, nu, n, delta, d_star):
    """T5 straight from its definition: every row's Weissman bound at the counts n nu / 2."""
    nu = np.asarray(nu, float).ravel()
    cov = nu > 0
    NL = int(cov.sum())
    a = successor_sizes(mdp)
    dr = delta - count_failure(nu[cov], n)
    w = weissman_rows(np.where(cov, n * nu / 2, 0.0), a, NL, dr)
    c = regret_constant(mdp)
    R_rows = c / 2 * (float(d_star.ravel() @ w) + float(w.max()))
    D_max = 1 / math.sqrt(nu.min()) if nu.min() > 0 else math.inf
    R_T5 = (scaled(c / 2, row_factor(d_star, nu) + D_max,
                   math.sqrt(4 * (a[cov].max() * math.log(2) + math.log(NL / dr)) / n))
            if dr > 0 else math.inf)
    return R_rows, R_T5


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10**6), st.integers(0, 3), st.sampled_from([0.3, 1.0, 5.0]))
def test_t5_curve_matches_the_row_by_row_definition(seed, uncovered, skew):
    """The one-pass T5 over a grid of n (n-free parts computed once) equals the per-row
    Weissman definition at every n, with uncovered pairs, skewed nu and tiny n (delta'<=0)."""
    rng = np.random.default_rng(seed)
    mdp = random_mdp(rng, N=int(rng.integers(3, 8)), m=int(rng.integers(1, 4)))
    nu = random_nu(rng, mdp, uncovered=min(uncovered, mdp.n_states * mdp.n_actions - 1),
                   skew=skew)
    d_star = occupancy(mdp, optimal_policy(mdp).policy)
    ns = [2, 50, 10**3, 10**5, 10**8]
    for n, b in zip(ns, t5_curve(mdp, nu, ns, 0.05, d_star)):
        R_rows, R_T5 = _t5_reference(mdp, nu, n, 0.05, d_star)
        assert b.R_rows == pytest.approx(R_rows, rel=1e-12)
        assert b.R_T5 == pytest.approx(R_T5, rel=1e-12) or (b.R_T5 == R_T5 == math.inf)
        assert b.bound == t5_bound(mdp, nu, n, 0.05, d_star).bound
    with pytest.raises(BoundInputError):
        t5_curve(mdp, nu, [100, 1], 0.05, d_star)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(1e-9, 1.0), min_size=1, max_size=40), st.integers(2, 10**9),
       st.floats(1e-6, 0.9))
def test_marginal_deviation_is_attained_at_the_smallest_entry(p, n, delta):
    """Both Bernstein terms decrease in p_i, so the max over the support is at min p_i."""
    p = np.array(p + [0.0])
    ell = math.log(2 * (p > 0).sum() / delta)
    q = p[p > 0]
    explicit = float(np.max(np.sqrt(2 * (1 - q) * ell / (n * q)) + 2 * ell / (3 * n * q)))
    assert marginal_deviation(p, n, delta) == pytest.approx(explicit, rel=1e-12)
    assert marginal_deviation_at(float(q.min()), q.size, n, delta) == pytest.approx(
        explicit, rel=1e-12)


def test_parse_grid():
    assert parse_grid("1000,1e5,10**6", "n") == [1000, 100_000, 1_000_000]
    with pytest.raises(BoundInputError):
        parse_grid("1.5", "n")
    with pytest.raises(BoundInputError):
        parse_grid("abc", "n")


def test_curve_k_star_and_delta_split():
    mdp = make_env("sbm", clusters=3, size=4, noise=0.05)
    bc = bound_curve(mdp, None, [10**4, 10**8], [1, 2, 3, 4, 6], 0.05, scan=False)
    assert bc.delta_each == pytest.approx(0.05 / 10)
    for n, k in bc.k_star_by_n.items():
        rows = [r for r in bc.rows if r["n"] == n]
        assert k == min(rows, key=lambda r: r["R4"])["k"]
        for r in rows:
            assert r["R4"] == min(r["R4_T4"], r["R4_T4b"])
            assert r["vacuous"] == (r["R4"] >= bc.trivial_bound)
    assert bc.k_star == bc.k_star_by_n[10**8]


# ------------------------------------------------------------------ metamorphic checks
def _curve(mdp, nu):
    return bound_curve(mdp, nu, [10**5, 10**9], [1, 2, 3], 0.05, kappa="rescale", scan=False)


def _rows_close(a, b, keys):
    for ra, rb in zip(a.rows, b.rows):
        for key in keys:
            assert rb[key] == pytest.approx(ra[key], rel=REL, abs=1e-12), key


def test_metamorphic_relabel_states(rng):
    """Relabelling states permutes T's rows and columns: every constant is unchanged."""
    mdp = random_mdp(rng, 6, 2)
    nu = random_nu(rng, mdp, skew=2.0)
    perm = rng.permutation(6)
    P = mdp.P_dense()[perm][:, :, perm]
    mdp2 = MDP.from_arrays(P, mdp.r[perm], mdp.gamma, mdp.rho0[perm], warn=False)
    a, b = _curve(mdp, nu), _curve(mdp2, nu[perm])
    for key in ("C_pi_star", "D_pi_star", "min_nu", "V_star", "frobenius_sq"):
        assert getattr(b, key) == pytest.approx(getattr(a, key), rel=REL)
    _rows_close(a, b, ["tail", "kappa", "dev", "R4_T4", "Dhat", "R4_T4b", "R_T5"])
    assert b.variance.v == pytest.approx(a.variance.v, rel=REL)
    assert b.k_star_by_n == a.k_star_by_n


def test_metamorphic_duplicate_action(rng):
    """Duplicating action 0 with nu(s,0) split in half between the copies leaves T^T T, hence
    the singular values, tail_k and the whitened z rows (kappa), unchanged; V* and pi* are
    unchanged; the terms of C^pi* on action 0 double; min nu is halved there; d grows by
    k N."""
    mdp = random_mdp(rng, 5, 2)
    nu = random_nu(rng, mdp, skew=2.0)
    P = mdp.P_dense()
    P2 = np.concatenate([P, P[:, :1]], axis=1)
    r2 = np.concatenate([mdp.r, mdp.r[:, :1]], axis=1)
    nu2 = np.concatenate([nu, nu[:, :1] / 2], axis=1)
    nu2[:, 0] /= 2
    mdp2 = MDP.from_arrays(P2, r2, mdp.gamma, mdp.rho0, warn=False)
    a, b = _curve(mdp, nu), _curve(mdp2, nu2)
    _rows_close(a, b, ["tail", "kappa"])
    for ra, rb in zip(a.rows, b.rows):
        assert rb["d"] == ra["d"] + ra["k"] * 5
    pi = optimal_policy(mdp).policy
    d = occupancy(mdp, pi)
    s0 = pi == 0
    want_C = a.C_pi_star + float(np.sum(d[s0, 0] ** 2 / nu[s0, 0]))
    assert b.C_pi_star == pytest.approx(want_C, rel=REL)
    assert b.V_star == pytest.approx(a.V_star, rel=REL)
    assert b.min_nu == pytest.approx(min(nu[:, 1:].min(), nu[:, 0].min() / 2), rel=REL)


@pytest.mark.filterwarnings("ignore:nu has uncovered:jepatheory.errors.OddMDPWarning")
@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_metamorphic_unreachable_state(rng, eps):
    """An extra state that nothing reaches (self-loops, rho0 = 0). With nu = 0 on it T is
    unchanged (no row, no column) and min nu becomes 0. With nu mass eps on it, T gains a
    block with singular value 1: sigma' = {1} + sigma, tail'_k = tail_{k-1},
    ||T'||_F^2 = ||T||_F^2 + 1, and C^pi*' = C^pi* / (1 - eps)."""
    mdp = random_mdp(rng, 5, 2)
    nu = random_nu(rng, mdp, skew=2.0)
    N, m = 5, 2
    P = np.zeros((N + 1, m, N + 1))
    P[:N, :, :N] = mdp.P_dense()
    P[N, :, N] = 1.0
    r = np.vstack([mdp.r, np.full((1, m), mdp.r.min())])  # keeps R_max
    mdp2 = MDP.from_arrays(P, r, mdp.gamma, np.append(mdp.rho0, 0.0), warn=False)
    nu2 = np.vstack([(1 - eps) * nu, np.full((1, m), eps / m)])
    C, C2 = CoOccurrence(mdp, nu), CoOccurrence(mdp2, nu2)
    s = C.spectrum(5).singular_values
    s2 = C2.spectrum(min(6, C2.n_left, C2.n_right)).singular_values
    a, b = _curve(mdp, nu), _curve(mdp2, nu2)
    assert b.V_star == pytest.approx(a.V_star, rel=REL)
    if eps == 0:
        np.testing.assert_allclose(s2[:5], s, rtol=REL, atol=1e-12)
        assert C2.frobenius_sq == pytest.approx(C.frobenius_sq, rel=REL)
        assert b.min_nu == 0 and math.isinf(b.regret_factor)
        assert all(math.isinf(r["R4"]) for r in b.rows)
        assert b.C_pi_star == pytest.approx(a.C_pi_star, rel=REL)
    else:
        np.testing.assert_allclose(s2, np.sort(np.append(s, 1.0))[::-1], rtol=REL, atol=1e-12)
        assert C2.frobenius_sq == pytest.approx(C.frobenius_sq + 1, rel=REL)
        for k in (1, 2, 3):
            assert C2.tail(k) == pytest.approx(C.tail(k - 1), rel=REL, abs=1e-12)
        assert b.C_pi_star == pytest.approx(a.C_pi_star / (1 - eps), rel=REL)


# ------------------------------------------------------------------ command line
FAMILY_ARGS = {
    "chain": ["-p", "n=8"],
    "ring": ["-p", "n=8"],
    "grid": ["-p", "width=4", "-p", "height=3"],
    "four-rooms": [],
    "rooms": ["-p", "map=######/#  G #/#    #/######"],
    "maze": ["-p", "width=4", "-p", "height=3"],
    "expander": ["-p", "n=16", "-p", "degree=3"],
    "tree": ["-p", "depth=3"],
    "random-sparse": ["-p", "n=12"],
    "sbm": ["-p", "clusters=3", "-p", "size=4"],
    "block-mdp": ["-p", "latent_width=2", "-p", "latent_height=2", "-p", "obs_per_latent=3",
                  "-p", "d_x=4", "--encoder", "linear"],
    "sutton-barto-3.5": [],
    "gym": ["-p", "id=FrozenLake-v1"],
    "noisy-block": ["-p", "width=3", "-p", "height=2"],
    "noisy-features": ["-p", "width=3", "-p", "height=2"],
    "rendered": ["-p", "base=grid:width=3,height=3", "-p", "size=8", "--encoder", "linear"],
}


def _run_json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_bound_cli_covers_every_family(capsys):
    from jepatheory.envs import FAMILIES
    assert set(FAMILY_ARGS) == set(FAMILIES)


@pytest.mark.parametrize("family", sorted(FAMILY_ARGS))
def test_bound_cli_every_family(capsys, family):
    pytest.importorskip("gymnasium") if family == "gym" else None
    out = _run_json(capsys, ["bound", "--env", family, *FAMILY_ARGS[family], "--n", "1e3,1e6",
                             "--k", "1,2,4", "--no-scan", "--kappa", "rescale", "--json"])
    for key in ("C_pi_star", "min_nu", "trivial_bound", "k_star", "rows"):
        assert key in out
    assert out["rows"] and {"k", "tail", "kappa", "dev", "R4_T4", "R4_T4b",
                            "vacuous"} <= set(out["rows"][0])
    assert len(out["rows"]) == 2 * len(out["k_values"])


def test_bound_cli_mdp_file_csv_table(tmp_path, capsys):
    rng = np.random.default_rng(3)
    mdp = random_mdp(rng, 5, 2)
    path = save_mdp(tmp_path / "m.npz", mdp, random_nu(rng, mdp))
    out = _run_json(capsys, ["bound", "--mdp", str(path), "--n", "1e4", "--k", "1,2",
                             "--json", "--csv", str(tmp_path / "b.csv")])
    assert out["scan"]["statement"] and (tmp_path / "b.csv").read_text().startswith("n,k,")
    assert main(["bound", "--env", "chain", "-p", "n=6", "--n", "1e4", "--k", "2"]) == 0
    assert "k*(n=1e+04)" in capsys.readouterr().out


def test_bound_cli_bad_input_exits_2(capsys):
    assert main(["bound", "--env", "chain", "--n", "0"]) == 2
    assert "--n" in capsys.readouterr().err
    assert main(["bound", "--env", "chain", "--delta", "2"]) == 2


def test_ladder_cli_json(capsys):
    out = _run_json(capsys, ["ladder", "--env", "chain", "-p", "n=8", "--k", "3", "--n", "3000",
                             "--seed", "2", "--json"])
    lad = out["ladder"]
    for key in ("R0", "R1", "R2", "R3", "R3w", "R4_T4", "R4_T4b"):
        assert isinstance(lad[key], float)
    assert lad["R0"] <= lad["R1"] <= lad["R2"] <= lad["R3"] <= lad["R3w"]
    assert {"R0", "R1", "R_weissman", "R_rows", "R_T5"} <= set(out["chain"])


def test_plots_and_demo_section(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert main(["bound", "--env", "chain", "-p", "n=6", "--n", "1e4,1e8", "--k", "1,2,4",
                 "--no-scan", "--plot", str(tmp_path)]) == 0
    assert (tmp_path / "bound_vs_k.png").stat().st_size > 0
    assert (tmp_path / "spectrum.png").stat().st_size > 0
    assert main(["ladder", "--env", "chain", "-p", "n=6", "--k", "2", "--n", "500",
                 "--plot", str(tmp_path / "ladder.png")]) == 0
    assert (tmp_path / "ladder.png").stat().st_size > 0
    from jepatheory.app.bounds import demo_section
    from jepatheory.demo import DemoContext
    mdp = make_env("chain", n=6)
    ctx = DemoContext(mdp=mdp, nu=uniform_nu(mdp), out=tmp_path / "demo", quick=True,
                      say=lambda *a: None)
    out = demo_section(ctx)
    json.dumps(out, default=str)
    assert {"k_star_by_n", "rows", "ladder", "chain"} <= set(out)
    assert len(ctx.figures) == 2


def test_bench_bound_quick_reports_computed_constants(capsys):
    """`jepatheory bench bound --quick --json`: every stage timed, the spectrum certified,
    and its constants equal to an independent computation on the same 200 x 200 grid."""
    from jepatheory.envs import grid
    from jepatheory.solvers import policy_evaluation, value_iteration

    assert main(["bench", "bound", "--quick", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_states"] == 40_000 and out["K"] == 16 and out["certified"]
    assert isinstance(out["fast_extra_installed"], bool) and out["factorization"]
    assert {s["stage"] for s in out["stages"]} >= {"spectrum k=16", "pi* value iteration",
                                                   "bound table + scan"}
    mdp = grid(200, 200, slip=0.1)
    C = CoOccurrence(mdp)
    # exact (sparse LU) evaluation of a greedy policy within 1e-9 of optimal
    exact = mdp.rho0 @ policy_evaluation(mdp, value_iteration(mdp, tol=1e-9).policy)
    assert abs(out["V_star"] - exact) <= 2e-9
    spec = C.spectrum(16)
    assert out["tail_K"] == pytest.approx(spec.tail_k(16), rel=1e-9)
    assert out["min_nu"] == pytest.approx(float(C.nu.min()), rel=1e-12)
    assert all(r["vacuous"] == (r["R4"] >= out["trivial_bound"]) for r in out["rows"])
