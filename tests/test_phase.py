"""The phase experiment (THEORY PE): noisy goal-reaching families, finite-horizon planners
against exact DP, exact success against Monte Carlo, the verdict from a store, the CLI
(keys, bad input, resume after SIGKILL)."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jepatheory.cli import main
from jepatheory.envs import make_env
from jepatheory.errors import EnvParameterError, StoreError
from jepatheory.phase import (
    Rollout,
    aggregate,
    exact_sequences,
    finite_horizon_dp,
    goal_mask,
    optimal_success,
    phase_cells,
    plan_sequences,
    policy_success,
    run_phase_cell,
    sequence_success,
    verdict,
)
from jepatheory.phase.planning import cem_sequences
from jepatheory.sampling import sample_next
from jepatheory.sim.sweep import cell_key, load_results, run_sweep, sweep_cells

TINY = ["--env", "noisy-block", "-p", "width=3", "-p", "height=3", "--noise", "0,1",
        "--horizon", "1,4", "--n", "300", "--k", "4", "--models", "jepa-tabular,count"]


def _latents(mdp):
    return np.asarray(mdp.meta["latent_of"])


@pytest.mark.parametrize("env", ["noisy-block:noise=0.5,distractors=3,stickiness=0.7",
                                 "noisy-features:sigma=0.3,distractors=2,exo_dims=2",
                                 "noisy-block:layout=grid,width=4,height=3,M=3"])
def test_families_are_stochastic_with_deterministic_latent_moves_and_absorbing_goal(env):
    mdp = make_env(env)
    P = mdp.P_sa.toarray()
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-12)
    lat, m = _latents(mdp), mdp.n_actions
    moves = np.asarray(mdp.meta["latent_moves"])
    goal = goal_mask(mdp)
    for row in range(P.shape[0]):
        s, a = divmod(row, m)
        nxt = set(lat[np.flatnonzero(P[row] > 0)].tolist())
        if goal[s]:
            assert P[row, s] == 1.0                      # absorbing
        else:
            assert nxt == {moves[lat[s], a]}             # one next latent: the move
    assert np.all(mdp.r[goal] == 1) and np.all(mdp.r[~goal] == 0)
    assert mdp.rho0[goal].sum() == 0 and abs(mdp.rho0.sum() - 1) < 1e-12


def test_emission_noise_zero_is_canonical_and_one_is_uniform():
    for noise, expect in ((0.0, [1, 0, 0, 0]), (1.0, [0.25] * 4)):
        mdp = make_env("noisy-block", noise=noise, M=4)
        emi = np.tile(np.arange(4), mdp.meta["n_latent"])   # D = 0: index l*M + e
        goal = goal_mask(mdp)
        s = int(np.flatnonzero(~goal)[0])
        row = mdp.P_sa.toarray()[s * 4]
        got = [row[emi == e].sum() for e in range(4)]
        np.testing.assert_allclose(got, expect, atol=1e-12)


@pytest.mark.parametrize("spec, word", [
    ("noisy-block:noise=1.5", "1.5"), ("noisy-block:noise=-0.1", "-0.1"),
    ("noisy-block:stickiness=1", "stickiness=1"), ("noisy-block:M=0", "M=0"),
    ("noisy-block:distractors=-1", "distractors=-1"), ("noisy-features:sigma=-0.5", "-0.5"),
    ("noisy-features:copies=0", "copies=0"), ("noisy-block:goal=99", "goal=99"),
    ("noisy-block:layout=..#../..#../..#..,goal=0", "unreachable"),
    ("noisy-block:layout=spiral", "spiral")])
def test_bad_family_parameters_raise_one_typed_line(spec, word):
    with pytest.raises(EnvParameterError) as exc:
        make_env(spec)
    msg = str(exc.value)
    assert word in msg and "\n" not in msg


def test_dp_on_the_truth_is_the_latent_distance_and_evaluates_to_itself():
    mdp = make_env("noisy-block:noise=0.5,distractors=2")
    goal = goal_mask(mdp)
    dist = np.asarray(mdp.meta["latent_distance"])[_latents(mdp)]
    for H in (1, 3, 7, 20):
        V, pol = finite_horizon_dp(mdp.P_sa, mdp.n_actions, goal, H)
        np.testing.assert_allclose(V[0], (dist <= H).astype(float), atol=1e-12)
        np.testing.assert_allclose(policy_success(mdp, pol, goal), V[0], atol=1e-12)
        np.testing.assert_allclose(optimal_success(mdp, H, goal), V[0])


def _true_rollout(mdp, goal):
    """Distribution rollout in the true MDP with cost = 1 - goal mass (cost (i) as a
    terminal cost): its minimizers are the DP optimum."""
    N, m = mdp.n_states, mdp.n_actions
    P = mdp.P_sa.toarray().reshape(N, m, N)

    def first(s, A):
        return P[s[:, None], A]

    def step(c, A):
        out = np.empty_like(c)
        for a in range(m):
            sel = A == a
            out[sel] = c[sel] @ P[:, a, :]
        return out

    return Rollout(first, step, lambda c: 1.0 - c[..., goal].sum(axis=-1), N)


def test_exact_search_and_cem_reach_the_dp_optimum_on_a_tiny_instance():
    mdp = make_env("noisy-block:width=3,height=3,noise=0.5,M=2")
    goal = goal_mask(mdp)
    starts = np.flatnonzero(mdp.rho0 > 0)
    ro = _true_rollout(mdp, goal)
    for H in (2, 4, 6):
        opt = optimal_success(mdp, H, goal)[starts]
        ex = sequence_success(mdp, starts, exact_sequences(ro, starts, 4, H), goal)
        np.testing.assert_allclose(ex, opt, atol=1e-12)
        cem = cem_sequences(ro, starts, 4, H, np.random.default_rng(0), pop=200, iters=6,
                            elite=20)
        np.testing.assert_allclose(sequence_success(mdp, starts, cem, goal), opt, atol=1e-12)
    _, method = plan_sequences(ro, starts, 4, 6, np.random.default_rng(0))
    assert method == "cem"


def test_exact_success_matches_monte_carlo():
    mdp = make_env("noisy-block:width=3,height=3,noise=0.8,M=3,distractors=2")
    goal = goal_mask(mdp)
    H, N, m = 6, mdp.n_states, mdp.n_actions
    pol = np.random.default_rng(1).integers(0, m, (H, N))   # depends on the emission
    exact = float(mdp.rho0 @ policy_success(mdp, pol, goal))
    rng = np.random.default_rng(2)
    n = 40_000
    s = rng.choice(N, size=n, p=mdp.rho0)
    for t in range(H):
        s = sample_next(mdp, s * m + pol[t, s], rng)
    mc = float(goal[s].mean())
    # 4 binomial standard errors: a false failure has probability < 1e-4
    assert 0 < exact < 1
    assert abs(mc - exact) <= 4 * np.sqrt(exact * (1 - exact) / n)


def _fake(model, regret, noise=0.5, H=10, cost="goal"):
    return dict(env="noisy-block", env_params={}, noise=noise, horizon=H, n=100, k=4,
                model=model, cost=cost, kind="", params=1, method="dp", success=1 - regret,
                success_se=0.01, regret=regret, regret_se=0.01, optimal=1.0, plan_ms=0.0,
                seeds=3)


def test_verdict_rules():
    rows = [_fake("jepa-tabular", 0.10), _fake("count", 0.30),          # latent wins
            _fake("jepa-tabular", 0.30, H=5), _fake("count", 0.10, H=5),  # latent loses
            _fake("jepa-linear", 0.20, H=1), _fake("features", 0.21, H=1)]  # tie
    v = {r["horizon"]: r for r in verdict(rows)}
    assert v[10]["outcome"] == "latent" and v[5]["outcome"] == "input"
    assert v[1]["outcome"] == "tie"
    assert v[10]["diff"] == pytest.approx(-0.2)


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("phase") / "t.db"
    cells = phase_cells("noisy-block", dict(width=3, height=3), [0.0, 1.0], [1, 4], [300],
                        [4], ["jepa-tabular", "count"], [0, 1])
    s = run_sweep(cells, path, workers=1, progress=False, fn=run_phase_cell, kind="phase")
    assert s.ran == len(cells) == 8 and not s.errors
    return path, cells


def test_verdict_from_the_store(tiny_store):
    path, _ = tiny_store
    rows = aggregate(load_results(path))
    assert len(rows) == 2 * 2 * 2 * 2            # noise x horizon x model x cost
    assert all(r["seeds"] == 2 for r in rows)
    for r in rows:
        assert r["regret"] == pytest.approx(r["optimal"] - r["success"])
        assert -1e-9 <= r["regret"] <= 1 + 1e-9
    v = verdict(rows)
    assert len(v) == 2 * 2 * 2 and {x["outcome"] for x in v} <= {"latent", "input", "tie"}


def test_store_kinds_are_not_mixed(tiny_store, tmp_path):
    path, cells = tiny_store
    with pytest.raises(StoreError, match="phase cells, not sweep"):
        run_sweep(sweep_cells(["chain:n=5"], [1], [100], ["count"], [0]), path, workers=1,
                  progress=False)
    sw = tmp_path / "s.db"
    run_sweep(sweep_cells(["chain:n=5"], [1], [100], ["count"], [0]), sw, workers=1,
              progress=False)
    with pytest.raises(StoreError, match="sweep cells"):
        run_sweep(cells, sw, workers=1, progress=False, fn=run_phase_cell, kind="phase")
    junk = tmp_path / "junk.db"
    junk.write_text("not a database at all" * 100)
    with pytest.raises(StoreError, match="junk.db"):
        run_sweep(cells, junk, workers=1, progress=False, fn=run_phase_cell, kind="phase")


def test_cli_json_keys(tmp_path, capsys):
    assert main(["phase", *TINY, "--seeds", "0", "--store", str(tmp_path / "c.db"),
                 "--json", "--workers", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    keys = {"noise", "horizon", "n", "k", "model", "params", "success", "success_se",
            "regret", "regret_se"}
    assert out["cells"] and all(keys <= set(c) for c in out["cells"])
    assert out["verdict"] and all("outcome" in v for v in out["verdict"])


@pytest.mark.parametrize("extra, word", [
    (["--horizon", "0"], "--horizon"), (["--horizon", "-3"], "--horizon"),
    (["--noise", "1.5"], "1.5"), (["--noise", "nan"], "nan"), (["--noise", "x"], "'x'"),
    (["-p", "stickiness=1"], "stickiness=1"), (["-p", "M=0"], "M=0"),
    (["-p", "noise=0.3"], "--noise"), (["--k", "0"], "--k"), (["--n", "1"], "--n"),
    (["--workers", "0"], "--workers"), (["--env", "chain"], "chain"),
    (["--models", "vae"], "vae"), (["--horizon", "1e9"], "--horizon")])
def test_cli_bad_input_exits_2_with_one_line(tmp_path, capsys, extra, word):
    rc = main(["phase", *TINY, "--store", str(tmp_path / "b.db"), *extra])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and word in err and "\n" not in err


def test_cli_store_that_is_a_directory_or_another_kind(tmp_path, capsys):
    assert main(["phase", *TINY, "--store", str(tmp_path)]) == 2
    assert "directory" in capsys.readouterr().err
    sw = tmp_path / "s.db"
    run_sweep(sweep_cells(["chain:n=5"], [1], [100], ["count"], [0]), sw, workers=1,
              progress=False)
    assert main(["phase", *TINY, "--store", str(sw)]) == 2
    assert "sweep cells" in capsys.readouterr().err


def _numbers(rows):
    return {cell_key(r["cell"]): [{k: v for k, v in row.items() if k != "plan_ms"}
                                  for row in r["rows"]] for r in rows}


def test_killed_phase_resumes_without_losing_or_redoing_cells(tmp_path):
    path = tmp_path / "k.db"
    args = [sys.executable, "-m", "jepatheory", "phase", *TINY, "--seeds", "0-9",
            "--store", str(path), "--workers", "1"]
    env = dict(os.environ, JEPATHEORY_PROGRESS="0", OPENBLAS_NUM_THREADS="1")
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        if path.exists():
            try:
                n = sqlite3.connect(path).execute("SELECT count(*) FROM cells").fetchone()[0]
            except sqlite3.Error:
                n = 0
            if n >= 3:
                break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    kept = load_results(path)
    assert 3 <= len(kept) < 40                              # killed mid-run
    first = {cell_key(r["cell"]) for r in kept}
    stamps = dict(sqlite3.connect(path).execute("SELECT key, finished FROM cells"))
    assert main(args[3:]) == 0
    rows = load_results(path)
    assert len(rows) == 2 * 2 * 10
    after = dict(sqlite3.connect(path).execute("SELECT key, finished FROM cells"))
    assert all(after[k] == stamps[k] for k in first)        # finished cells not redone
    fresh = tmp_path / "f.db"
    assert main(args[3:-4] + ["--store", str(fresh), "--workers", "1"]) == 0
    assert _numbers(load_results(fresh)) == _numbers(rows)  # same numbers as a clean run


@settings(max_examples=15, deadline=None)
@given(noise=st.floats(0, 1), M=st.integers(1, 3), D=st.integers(0, 2),
       stick=st.floats(0, 0.95), H=st.integers(1, 8), seed=st.integers(0, 100))
def test_no_policy_beats_the_optimal_success(noise, M, D, stick, H, seed):
    mdp = make_env("noisy-block", width=3, height=2, M=M, noise=noise, distractors=D,
                   stickiness=stick, seed=seed)
    goal = goal_mask(mdp)
    opt = optimal_success(mdp, H, goal)
    pol = np.random.default_rng(seed).integers(0, mdp.n_actions, (H, mdp.n_states))
    got = policy_success(mdp, pol, goal)
    assert np.all(got <= opt + 1e-12) and np.all(got >= -1e-12)   # regret >= 0, per state
    dist = np.asarray(mdp.meta["latent_distance"])[_latents(mdp)]
    np.testing.assert_allclose(opt, (dist <= H).astype(float), atol=1e-12)  # round-off


def test_figures_from_the_store(tiny_store, tmp_path):
    pytest.importorskip("matplotlib")
    from jepatheory.phase.plots import plot_all
    path, _ = tiny_store
    rows = aggregate(load_results(path))
    paths = plot_all(rows, verdict(rows), tmp_path / "fig")
    assert len(paths) == 2 * 2 + 2 and all(p.stat().st_size > 1000 for p in paths)


@pytest.mark.slow
def test_bench_phase_quick_json(capsys):
    assert main(["bench", "phase", "--quick", "--json", "--repeats", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["grid"]["cells"] == 8 and out["grid"]["speedup"] > 0
    assert out["grid"]["speedup_vs_pool"] > 0 and out["grid"]["errors_1_worker_pool"] == 0
    assert {r["model"] for r in out["cem_vs_dp"]} == {"jepa-tabular", "count", "features"}
    assert all(r["cem_ms_per_call"] > 0 and r["dp_ms_all_states"] > 0
               for r in out["cem_vs_dp"])


def test_dask_runs_phase_cells_with_the_same_numbers(tiny_store, tmp_path):
    distributed = pytest.importorskip("distributed")
    path, cells = tiny_store
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        s = run_sweep(cells, tmp_path / "d.db", scheduler=cluster.scheduler_address,
                      progress=False, fn=run_phase_cell, kind="phase")
    assert s.scheduler.startswith("dask") and not s.errors
    assert _numbers(load_results(tmp_path / "d.db")) == _numbers(load_results(path))
