"""The phase experiment's extensions: cells scheduled longest first (same keys, same
numbers), the torch ``jepa-mlp`` latent model, receding-horizon MPC for cost (ii), the P6 k*
on the regret-vs-k figure."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import jepatheory.phase.run as phase_run
from jepatheory.errors import MissingExtraWarning
from jepatheory.phase import phase_cell_cost, phase_cells, run_phase_cell
from jepatheory.sim.sweep import cell_key

TINY_PARAMS = dict(width=3, height=3)


def test_cells_are_ordered_longest_first_with_unchanged_keys():
    args = ("noisy-block", TINY_PARAMS, [0.0, 0.5, 1.0], [1, 4], [300, 600], [4, 8],
            ["count", "jepa-tabular", "features", "jepa-linear"], [0, 1])
    cells = phase_cells(*args)
    costs = [phase_cell_cost(c) for c in cells]
    assert costs == sorted(costs, reverse=True)
    assert cells[0]["model"] == "jepa-linear" and cells[-1]["model"] == "count"
    # the same cells as the grid's product, one per content key (input models ignore k)
    expect = set()
    for noise, n, k, mdl, seed in itertools.product(*args[2:3], *args[4:]):
        one = phase_cells("noisy-block", TINY_PARAMS, [noise], args[3], [n], [k], [mdl], [seed])
        expect |= {cell_key(c) for c in one}
    assert {cell_key(c) for c in cells} == expect and len(cells) == len(expect)


def test_a_cell_gives_the_same_numbers_whatever_the_order():
    cells = phase_cells("noisy-block", TINY_PARAMS, [0.5], [1, 4], [300], [4],
                        ["jepa-tabular", "count"], [0])
    first = [run_phase_cell(c)["rows"] for c in cells]
    again = [run_phase_cell(c)["rows"] for c in reversed(cells)][::-1]
    for a, b in zip(first, again):
        for ra, rb in zip(a, b):
            assert ra["success"] == rb["success"] and ra["method"] == rb["method"]


@pytest.mark.parametrize("workers, in_process", [(2, None), (1, False)])
def test_one_and_two_workers_store_the_same_cells(tmp_path, workers, in_process):
    from jepatheory.sim.sweep import load_results, run_sweep
    cells = phase_cells("noisy-block", TINY_PARAMS, [0.0, 1.0], [1, 4], [300], [4],
                        ["jepa-tabular", "jepa-linear", "count", "features"], [0])

    def numbers(path):
        out = {}
        for r in load_results(path):
            rows = r["rows"]
            out[cell_key(r["cell"])] = [(x["horizon"], x["cost"], x["method"], x["success"],
                                        x["regret"]) for x in rows]
        return out
    base = tmp_path / "one.db"
    run_sweep(cells, base, workers=1, progress=False, fn=run_phase_cell, kind="phase")
    other = tmp_path / "other.db"
    s = run_sweep(cells, other, workers=workers, progress=False, fn=run_phase_cell,
                  kind="phase", in_process=in_process)
    assert s.ran == len(cells) and not s.errors and s.scheduler.startswith(f"local x{workers}")
    assert numbers(other) == numbers(base) and len(numbers(base)) == len(cells)


def test_jepa_mlp_is_a_latent_model_with_its_parameter_count():
    pytest.importorskip("torch")
    from jepatheory.phase.models import LATENT_MODELS, MODELS
    assert "jepa-mlp" in LATENT_MODELS and "jepa-mlp" not in MODELS   # default grid unchanged
    (cell,) = phase_cells("noisy-block", TINY_PARAMS, [0.5], [1, 3], [300], [4], ["jepa-mlp"],
                          [0], steps=40)
    assert cell["steps"] == 40 and cell["k"] == 4
    res = run_phase_cell(cell)
    assert res["family_kind"] == "latent" and res["model"] == "jepa-mlp"
    assert res["params"] > 4 * 3 * 3      # two MLP encoders and a predictor: more than a table
    for r in res["rows"]:
        assert 0.0 <= r["success"] <= 1.0 + 1e-12
        assert r["regret"] >= -1e-9       # the optimum is an upper bound on any policy


def test_features_mlp_is_an_input_level_model_of_comparable_size():
    """The next-feature MLP (the MLP JEPA's input-level counterpart): input-level kind, its
    parameter count, success and regret in range; its kernel rows are distributions; same
    seed, same numbers; not in the default grid."""
    pytest.importorskip("torch")
    from jepatheory.phase.models import INPUT_MODELS, MODELS, fit_model
    from jepatheory.sim.measure import rollout_dataset
    from jepatheory.torch.regression import train_next_features
    assert "features-mlp" in INPUT_MODELS and "features-mlp" not in MODELS
    (cell,) = phase_cells("noisy-features", {"width": 3, "height": 3}, [0.5], [1, 3], [300],
                          [4], ["features-mlp"], [0], steps=60)
    assert cell["steps"] == 60 and cell["k"] == 0
    res = run_phase_cell(cell)
    assert res["family_kind"] == "input" and res["model"] == "features-mlp"
    assert res["params"] > 1000
    for r in res["rows"]:
        assert 0.0 <= r["success"] <= 1.0 + 1e-12 and r["regret"] >= -1e-9
    def numbers(rows):
        return [{k: v for k, v in r.items() if k != "plan_ms"} for r in rows]
    assert numbers(run_phase_cell(cell)["rows"]) == numbers(res["rows"])
    mdp = phase_run.build_env("noisy-features", {"width": 3, "height": 3}, 0.5)
    ds = rollout_dataset(mdp, 300, 20, 0)
    mdl = fit_model(mdp, ds, "features-mlp", 1, 0, 60)
    assert np.allclose(mdl.kernel.sum(axis=1), 1.0) and (mdl.kernel >= 0).all()
    net = train_next_features(mdp, ds, steps=200, seed=1)
    assert net.loss_curve[-1] < net.loss_curve[0]
    mu = net.predict(mdp.x[ds.s[:7]], ds.a[:7])
    assert mu.shape == (7, mdp.x.shape[1])


def test_jepa_mlp_without_torch_is_skipped_with_the_install_message(monkeypatch):
    monkeypatch.setattr(phase_run, "torch_missing",
                        lambda: "torch is not installed: install the 'torch' extra")
    with pytest.warns(MissingExtraWarning, match="jepa-mlp skipped: torch is not installed"):
        cells = phase_cells("noisy-block", TINY_PARAMS, [0.0], [1], [300], [4],
                            ["jepa-mlp", "count"], [0])
    assert [c["model"] for c in cells] == ["count"]


def test_default_cells_have_no_planner_key():
    for c in phase_cells("noisy-block", TINY_PARAMS, [0.0], [1], [300], [4],
                         ["jepa-tabular", "count"], [0]):
        assert "planner" not in c
    assert np.isfinite(phase_cell_cost(c))


def test_cli_runs_jepa_mlp_when_asked(tmp_path, capsys):
    pytest.importorskip("torch")
    import json

    from jepatheory.cli import main
    code = main(["phase", "--env", "noisy-block", "-p", "width=3", "-p", "height=3",
                 "--noise", "0", "--horizon", "1,2", "--n", "300", "--k", "4", "--models",
                 "jepa-mlp,count", "--seeds", "0", "--steps", "20", "--workers", "1",
                 "--store", str(tmp_path / "m.db"), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    mlp = [c for c in out["cells"] if c["model"] == "jepa-mlp"]
    assert mlp and all(c["params"] > 0 for c in mlp)
    assert {v["latent_model"] for v in out["verdict"]} == {"jepa-mlp"}


@pytest.mark.parametrize("env", ["noisy-block:noise=0,width=3,height=3",
                                 "noisy-block:noise=0,width=4,height=4"])
def test_mpc_succeeds_wherever_the_open_loop_plan_does_on_an_exact_deterministic_model(env):
    """Claim (planning module docstring): deterministic MDP, a model exact on the reachable
    states, exact search -> MPC success >= open-loop success from every start."""
    from jepatheory.envs import make_env
    from jepatheory.phase import (
        exact_sequences,
        fit_model,
        goal_mask,
        mpc_policy,
        policy_success,
        sequence_success,
    )
    from jepatheory.sim.measure import rollout_dataset
    mdp = make_env(env)
    goal = goal_mask(mdp)
    P = mdp.P_sa.toarray()
    assert set(np.unique(P)) <= {0.0, 1.0}                       # deterministic
    ds = rollout_dataset(mdp, 20000, 20, 0)
    mdl = fit_model(mdp, ds, "count", 1, 0)
    seen = np.flatnonzero(ds.q_hat() > 0)
    rows = (seen[:, None] * mdp.n_actions + np.arange(mdp.n_actions)).ravel()
    np.testing.assert_array_equal(mdl.kernel[rows], P[rows])     # exact where it is reachable
    starts = np.flatnonzero(mdp.rho0 > 0)
    for H in range(1, 6):
        ol = sequence_success(mdp, starts, exact_sequences(mdl.rollout, starts,
                                                           mdp.n_actions, H), goal)
        pol, method = mpc_policy(mdl.rollout, goal, mdp.n_actions, H, np.random.default_rng(0))
        assert method == "mpc-exact"
        cl = policy_success(mdp, pol, goal)[starts]
        assert np.all(cl >= ol - 1e-12)     # exact arithmetic on 0/1 probabilities


def test_mpc_first_step_is_the_open_loop_first_action_under_exact_search():
    from jepatheory.envs import make_env
    from jepatheory.phase import exact_sequences, fit_model, goal_mask, mpc_policy
    from jepatheory.sim.measure import rollout_dataset
    mdp = make_env("noisy-block", noise=0.5, width=3, height=3)
    goal = goal_mask(mdp)
    mdl = fit_model(mdp, rollout_dataset(mdp, 500, 20, 1), "jepa-tabular", 4, 1)
    pol, _ = mpc_policy(mdl.rollout, goal, mdp.n_actions, 3, np.random.default_rng(0))
    states = np.flatnonzero(~goal)
    np.testing.assert_array_equal(
        pol[0, states], exact_sequences(mdl.rollout, states, mdp.n_actions, 3)[:, 0])
    np.testing.assert_array_equal(
        pol[2, states], exact_sequences(mdl.rollout, states, mdp.n_actions, 1)[:, 0])


def test_cli_planner_mpc_adds_distance_mpc_rows_and_keeps_the_open_loop_ones(tmp_path, capsys):
    import json

    from jepatheory.cli import main
    base = ["phase", "--env", "noisy-block", "-p", "width=3", "-p", "height=3", "--noise",
            "0,1", "--horizon", "1,3", "--n", "300", "--k", "4", "--models",
            "jepa-tabular,count", "--seeds", "0-1", "--workers", "1", "--json"]
    assert main(base + ["--store", str(tmp_path / "o.db")]) == 0
    ol = json.loads(capsys.readouterr().out)
    assert main(base + ["--store", str(tmp_path / "m.db"), "--planner", "mpc"]) == 0
    mp = json.loads(capsys.readouterr().out)
    assert {c["cost"] for c in ol["cells"]} == {"goal", "distance"}
    assert {c["cost"] for c in mp["cells"]} == {"goal", "distance", "distance-mpc"}
    same = [c for c in mp["cells"] if c["cost"] != "distance-mpc"]
    key = ("noise", "horizon", "model", "k", "cost", "success", "regret")
    assert ([[c[k] for k in key] for c in same] == [[c[k] for k in key] for c in ol["cells"]])
    assert all(c["method"].startswith("mpc-") for c in mp["cells"]
               if c["cost"] == "distance-mpc")


def test_cli_rejects_an_unknown_planner(tmp_path, capsys):
    from jepatheory.cli import main
    code = main(["phase", "--quick", "--planner", "closed", "--store", str(tmp_path / "x.db")])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "closed" in err[0]


def test_regret_vs_k_marks_the_paper_form_k_star_of_the_hardest_cell(tmp_path):
    pytest.importorskip("matplotlib")
    from jepatheory.cooccurrence import CoOccurrence
    from jepatheory.paper import paper_bound
    from jepatheory.phase import aggregate, build_env, paper_k_star, verdict
    from jepatheory.phase.plots import hardest_k_star, plot_regret_vs_k
    from jepatheory.sim.sweep import load_results, run_sweep
    cells = phase_cells("noisy-block", TINY_PARAMS, [0.0, 1.0], [1, 3], [300], [2, 4],
                        ["jepa-tabular", "count"], [0, 1])
    store = tmp_path / "k.db"
    run_sweep(cells, store, workers=1, progress=False, fn=run_phase_cell, kind="phase")
    rows = aggregate(load_results(store))
    ver = verdict(rows)
    got = hardest_k_star(rows, ver, "goal")
    hard = max((v for v in ver if v["cost"] == "goal"),
               key=lambda x: (x["input_regret"], x["noise"], x["horizon"]))
    pb = paper_bound(CoOccurrence(build_env("noisy-block", TINY_PARAMS, hard["noise"])),
                     hard["n"], [2, 4], hard["horizon"], scan=False)
    assert got is not None and got["k_star"] == pb.k_star and got["k_star"] in (2, 4)
    assert got == paper_k_star("noisy-block", TINY_PARAMS, hard["noise"], hard["n"],
                               hard["horizon"], [2, 4])
    assert got["vacuous"] == (got["R_T"] >= 1.0)
    assert plot_regret_vs_k(rows, ver, tmp_path / "k.png", "goal").stat().st_size > 0
