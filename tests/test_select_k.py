"""K4 (choosing k) and K5 (falsification search): rules against the measured best k, the
suite summary, the paper hook, the falsification search on the proved rung R3w, and the
command lines' bad input."""
from __future__ import annotations

import json

import numpy as np
import pytest

from jepatheory import CoOccurrence, make_env
from jepatheory.certify.falsify import falsify
from jepatheory.certify.select_k import (
    RULES,
    SUITE,
    paper_k_star,
    run_suite,
    select_k,
    suite_cells,
    summarize,
)
from jepatheory.cli import main
from jepatheory.errors import BoundInputError
from jepatheory.mdp import load_mdp

pytestmark = pytest.mark.filterwarnings("ignore::jepatheory.errors.OddMDPWarning")


def test_select_k_cell_is_consistent():
    C = CoOccurrence(make_env("sbm"))
    r = select_k(C, 4000, [1, 2, 4, 8], seed=0)
    assert set(r.chosen) == set(RULES)
    lo = min(r.regret.values())
    assert r.best_k in r.best_ks and r.regret[r.best_k] <= lo + 1e-9
    for rule, k in r.chosen.items():
        if k is None:
            assert r.cost[rule] is None and r.reasons[rule]
        else:
            assert k in r.k_values and r.cost[rule] >= -1e-9    # one-sided: best is minimal


def test_paper_rule_is_the_p6_k_star():
    """With jepatheory.paper in the build the rule returns the P6 k* of paper_bound."""
    from jepatheory.paper.tradeoff import paper_bound
    C = CoOccurrence(make_env("chain", n=6))
    k, why = paper_k_star(C, 1000, [1, 2, 4], 0.05)
    assert k in (1, 2, 4) and "paper_bound" in why
    assert k == paper_bound(C, 1000, [1, 2, 4], 1, 0.05, scan=False).k_star


def test_suite_has_twelve_environments_and_three_sizes():
    cells = suite_cells("default")
    assert len(SUITE["default"]) >= 12
    assert len({c[3] for c in cells}) >= 3
    with pytest.raises(BoundInputError, match="'nope'"):
        suite_cells("nope")


def test_quick_suite_summary():
    res = run_suite("quick", ks=[1, 2, 4])
    assert res.n_cells == len(suite_cells("quick"))
    s = summarize(res.cells)
    for r in RULES:
        a = s["agreement"][r]
        assert a is None or 0 <= a <= 1
    assert res.recommended in RULES


def test_select_k_cli(capsys):
    assert main(["select-k", "--env", "chain", "-p", "n=8", "--n", "2000", "--k", "1,2,4",
                 "--seeds", "0-1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["cells"]) == 2 and set(out["agreement"]) == set(RULES)
    assert {"best_k", "chosen", "cost", "regret"} <= set(out["cells"][0])


def test_select_k_on_frozenlake(capsys):
    assert main(["select-k", "--env", "gym", "-p", "id=FrozenLake-v1", "--n", "2000", "--k",
                 "1,2,4", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cells"][0]["best_k"] in (1, 2, 4)


@pytest.mark.parametrize("argv,fragment", [
    (["--k", ""], "empty k list"), (["--k", "0,2"], "'0'"), (["--delta", "1"], "--delta"),
    (["--suite", "nope"], "'nope'"), (["--planner", "count"], "'count'"),
    (["--workers", "0"], "--workers")])
def test_select_k_bad_input(capsys, argv, fragment):
    code = main(["select-k", "--env", "chain", "-p", "n=5", *argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and fragment in err[0], err


def test_falsify_r3w_finds_no_violation_and_saves_the_instance(tmp_path):
    """T3 is proved: R0 / R3w <= 1 on every instance the search visits (one-sided)."""
    res = falsify("R3w", 60, seed=1, out=tmp_path / "w.npz", max_evals=40)
    assert res.evaluations == 40 and res.max_ratio is not None
    assert res.max_ratio <= 1 and not res.violations
    mdp, nu = load_mdp(res.instance)
    assert nu is not None and mdp.n_states == res.best["n_states"]
    again = falsify("R3w", 60, seed=1, max_evals=40)
    assert again.max_ratio == res.max_ratio                    # same seed, same numbers


def test_falsify_paper_is_reported_not_hidden():
    res = falsify("paper", 1, seed=0)
    assert res.max_ratio is None and not res.available and res.reason


@pytest.mark.parametrize("argv,fragment", [
    (["--bound", "R9"], "'R9'"), (["--budget", "0"], "--budget"),
    (["--budget", "nan"], "--budget")])
def test_falsify_bad_input(capsys, argv, fragment, tmp_path):
    code = main(["falsify", *argv, "--out", str(tmp_path / "x.npz")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and fragment in err[0], err


def test_falsify_cli_json(capsys, tmp_path):
    assert main(["falsify", "--bound", "R4_T4b", "--budget", "2", "--seed", "0", "--out",
                 str(tmp_path / "f.npz"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "max_ratio" in out and out["evaluations"] >= 1
    assert np.load(out["instance"])["P"].ndim == 3
