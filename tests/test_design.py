"""D5: convex environment design. Closed forms for the fastest mixing chain:

* path on n nodes: SLEM cos(pi/n) (Boyd, Diaconis, Sun & Xiao 2006);
* edge-transitive graphs: by convexity and symmetry an optimum has one weight p on every
  edge, so the optimum is a one-dimensional minimization done here by hand:
  cycle C_n: (c + c')/(2 - c + c'), c = cos(2 pi/n), c' = cos(pi/n) (n odd) or 1 (n even);
  hypercube Q_d: (d - 1)/(d + 1); star K_{1,n-1}: (n - 2)/(n - 1); complete graph: 0.

Tolerances: the certificate's gap is at most 1e-6 by construction (verified flag), so the
SLEM is within 1e-6 of the closed form; bounds are checked one-sided.
"""
from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from jepatheory.cli import main
from jepatheory.convex import ConvexInputError
from jepatheory.convex.design import (design_actions, design_chain, design_grid_slip,
                                      fastest_mixing, slem, to_graph)
from jepatheory.cooccurrence import CoOccurrence
from jepatheory.mdp import MDP, load_mdp


def _cycle(n):
    c, c2 = np.cos(2 * np.pi / n), (np.cos(np.pi / n) if n % 2 else 1.0)
    return (c + c2) / (2 - c + c2)


CLOSED = [(f"path-{n}", nx.path_graph(n), np.cos(np.pi / n)) for n in (3, 4, 7, 12)] + [
    (f"cycle-{n}", nx.cycle_graph(n), _cycle(n)) for n in (5, 8, 9, 16)] + [
    (f"hypercube-{d}", nx.hypercube_graph(d), (d - 1) / (d + 1)) for d in (2, 3, 4)] + [
    ("star-7", nx.star_graph(6), 5 / 6), ("complete-6", nx.complete_graph(6), 0.0)]


@pytest.mark.parametrize("name,G,exact", CLOSED, ids=[c[0] for c in CLOSED])
def test_fastest_mixing_closed_forms(name, G, exact):
    c = fastest_mixing(G)
    assert c.verified and c.gap <= 1e-6
    assert c.lower <= exact + 1e-9  # weak duality: a lower bound on the optimum
    assert c.slem >= exact - 1e-9   # the returned chain is feasible: an upper bound
    assert abs(c.slem - exact) <= 1e-6
    P = c.P
    assert np.allclose(P, P.T, atol=1e-14) and P.min() >= 0
    assert np.allclose(P.sum(1), 1, atol=1e-12)
    H = nx.convert_node_labels_to_integers(nx.Graph(G), ordering="default")
    off = ~(nx.to_numpy_array(H, nodelist=range(len(H))) > 0) & ~np.eye(len(P), dtype=bool)
    assert np.all(P[off] == 0)  # support respected


def test_barrier_agrees_with_the_two_block_sdp():
    G = nx.random_regular_graph(3, 10, seed=4)
    a = fastest_mixing(G)
    b = fastest_mixing(G, method="cvxpy")
    assert abs(a.slem - b.slem) <= 1e-6
    assert max(a.lower, b.lower) <= min(a.slem, b.slem) + 1e-9


def test_no_self_loops():
    G = nx.cycle_graph(6)
    c = fastest_mixing(G, self_loops=False)
    assert np.allclose(np.diag(c.P), 0, atol=1e-7)
    # without holding, C_6 is bipartite: -1 is an eigenvalue of every such chain
    assert c.slem == pytest.approx(1.0, abs=1e-6)
    c5 = fastest_mixing(nx.cycle_graph(5), self_loops=False)
    assert c5.slem == pytest.approx(np.cos(np.pi / 5), abs=1e-6)  # P = (S + S^T)/2 forced


@pytest.mark.parametrize("objective", ["fastest-mixing", "nuclear", "flat"])
def test_design_chain_is_a_validated_mdp(objective):
    G = nx.grid_2d_graph(3, 3)
    d = design_chain(G, objective, k=2)
    assert isinstance(d.mdp, MDP) and d.mdp.n_states == 9 and d.mdp.n_actions == 1
    C = CoOccurrence(d.mdp, d.nu)
    P = d.mdp.P_dense()[:, 0, :]
    assert np.allclose(C.q, 1 / 9)  # fixed marginals: q uniform
    assert np.allclose(C.T.toarray(), P, atol=1e-12)  # T = P under uniform nu
    assert d.slem == pytest.approx(slem(P), abs=1e-9)
    assert d.tail == pytest.approx(C.tail(2), abs=1e-9)
    assert isinstance(to_graph(d), nx.MultiDiGraph)


def test_objectives_order_as_designed():
    G = nx.grid_2d_graph(3, 4)
    fm, nuc, flat = (design_chain(G, o, k=3) for o in ("fastest-mixing", "nuclear", "flat"))
    norm_nuc = [float(np.abs(np.linalg.eigvalsh(d.mdp.P_dense()[:, 0, :])).sum())
                for d in (fm, nuc, flat)]
    assert norm_nuc[1] <= min(norm_nuc) + 1e-5  # nuclear design minimizes ||T||_*
    assert fm.slem <= min(nuc.slem, flat.slem) + 1e-6  # fastest mixing minimizes sigma_2
    assert flat.tail > nuc.tail  # the flat design is harder for JEPA at rank k


def test_design_actions_and_grid_slip():
    d = design_actions([nx.path_graph(6), nx.cycle_graph(6)], "fastest-mixing", k=2)
    C = CoOccurrence(d.mdp, d.nu)
    assert d.mdp.n_actions == 2 and np.allclose(C.q, 1 / 6)
    s = np.sort(np.linalg.svd(C.T.toarray(), compute_uv=False))[::-1]
    assert abs(s[1] - d.objective_value) <= 1e-5  # sigma_2 of T is the objective
    g = design_grid_slip(3, 3, "fastest-mixing", k=2, min_intended=0.6)
    slip = g.mdp.meta["slip"]
    assert sum(slip.values()) == pytest.approx(1.0) and slip["intended"] >= 0.6 - 1e-7
    Cg = CoOccurrence(g.mdp, g.nu)
    assert np.allclose(Cg.q, 1 / 9)  # relative slip keeps q uniform
    assert abs(g.slem - g.objective_value) <= 1e-5
    with pytest.raises(ConvexInputError, match="flat"):
        design_grid_slip(3, 3, "flat")


def test_design_errors():
    G = nx.Graph([(0, 1), (2, 3)])
    with pytest.raises(ConvexInputError, match="connected"):
        fastest_mixing(G)
    with pytest.raises(ConvexInputError, match="objective"):
        design_chain(nx.path_graph(4), "fastest")
    with pytest.raises(ConvexInputError, match="k"):
        design_chain(nx.path_graph(4), "nuclear", k=4)


def test_gymnasium_export():
    pytest.importorskip("gymnasium")
    from jepatheory.envs.gym import to_gymnasium
    d = design_chain(nx.path_graph(5), "fastest-mixing")
    env = to_gymnasium(d.mdp, max_steps=4)
    s, _ = env.reset(seed=0)
    assert 0 <= s < 5
    for _ in range(4):
        s2, r, term, trunc, _ = env.step(0)
        assert abs(s2 - s) <= 1 and not term  # path support
        s = s2
    assert trunc


def test_cli_design_then_spectrum(tmp_path, capsys):
    g = tmp_path / "support.graphml"
    nx.write_graphml(nx.path_graph(6), g)
    out = tmp_path / "designed"
    assert main(["design", "--graph", str(g), "--objective", "fastest-mixing", "--json",
                 "--out", str(out)]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["slem"] == pytest.approx(np.cos(np.pi / 6), abs=1e-6)
    assert res["objective_value"] == pytest.approx(np.cos(np.pi / 6), abs=1e-6)
    mdp, nu = load_mdp(res["mdp_path"])
    assert mdp.n_states == 6
    # the designed MDP goes through `jepatheory spectrum` unchanged
    assert main(["spectrum", "--mdp", res["mdp_path"], "--k", "3", "--json"]) == 0
    spec = json.loads(capsys.readouterr().out)
    assert spec["singular_values"][1] == pytest.approx(res["slem"], abs=1e-9)
    from jepatheory.graph import read_graphml
    back = read_graphml(res["graphml_path"])
    assert np.allclose(back.P_dense(), mdp.P_dense(), atol=1e-12)
    assert main(["design", "--graph", str(tmp_path / "missing.graphml")]) == 2


def test_cli_multi_action_design_matches_the_python_function(tmp_path, capsys):
    """`--graph` repeated = one support graph per action (design_actions); the CLI gives the
    same optimum and the designed MDP has one action per graph."""
    files = []
    for name, G in (("path", nx.path_graph(6)), ("cycle", nx.cycle_graph(6))):
        files += ["--graph", str(tmp_path / f"{name}.graphml")]
        nx.write_graphml(G, files[-1])
    assert main(["design", *files, "--objective", "fastest-mixing", "--json",
                 "--out", str(tmp_path / "two")]) == 0
    res = json.loads(capsys.readouterr().out)
    ref = design_actions([nx.path_graph(6), nx.cycle_graph(6)], "fastest-mixing")
    assert res["n_actions"] == 2
    assert res["objective_value"] == pytest.approx(ref.objective_value, abs=1e-6)
    assert res["slem"] == pytest.approx(ref.slem, abs=1e-6)
    mdp, _ = load_mdp(res["mdp_path"])
    assert mdp.n_actions == 2 and mdp.n_states == 6


def test_cli_grid_slip_design(tmp_path, capsys):
    """`--grid WxH`: the designed slip distribution is reported, sums to 1, respects
    --min-intended, and the MDP goes through `spectrum` unchanged."""
    assert main(["design", "--grid", "3x2", "--objective", "fastest-mixing",
                 "--min-intended", "0.6", "--json", "--out", str(tmp_path / "g")]) == 0
    res = json.loads(capsys.readouterr().out)
    slip = res["slip"]
    assert set(slip) == {"intended", "right-turn", "opposite", "left-turn", "stay"}
    assert sum(slip.values()) == pytest.approx(1.0, abs=1e-9)
    assert slip["intended"] >= 0.6 - 1e-7
    ref = design_grid_slip(3, 2, "fastest-mixing", min_intended=0.6)
    assert res["objective_value"] == pytest.approx(ref.objective_value, abs=1e-6)
    assert main(["spectrum", "--mdp", res["mdp_path"], "--k", "2", "--json"]) == 0
    spec = json.loads(capsys.readouterr().out)
    assert spec["singular_values"][1] == pytest.approx(res["slem"], abs=1e-9)


@pytest.mark.parametrize("argv", [["--grid", "3y2"], ["--grid", "0x3"],
                                  ["--grid", "3x3", "--objective", "flat"],
                                  ["--grid", "3x3", "--min-intended", "1.5"]])
def test_cli_grid_design_bad_input_is_a_one_line_error(argv, capsys):
    assert main(["design", *argv]) == 2
    err = capsys.readouterr().err
    assert "error" in err and "Traceback" not in err


def test_designed_mdp_goes_through_bound_and_training(tmp_path, capsys):
    from jepatheory.mdp import save_mdp
    d = design_actions([nx.path_graph(5), nx.cycle_graph(5)], "nuclear", k=2)
    path = save_mdp(tmp_path / "designed.npz", d.mdp, d.nu)
    assert main(["bound", "--mdp", str(path), "--k", "1,2", "--n", "1e4", "--no-scan",
                 "--json"]) == 0
    bound = json.loads(capsys.readouterr().out)
    assert bound["env"]["n_actions"] == 2
    assert main(["simulate", "--mdp", str(path), "--k", "2", "--n", "2000", "--json"]) == 0
    sim = json.loads(capsys.readouterr().out)
    assert sim["tail_k"] == pytest.approx(d.tail, abs=1e-9)  # same T, same tail_2


@settings(max_examples=8, deadline=None)
@given(st.integers(4, 14), st.integers(0, 10_000))
@example(8, 18)  # the barrier's dual point alone left a 1e-3 gap: the SDP fallback closes it
def test_fastest_mixing_certificate_on_random_graphs(n, seed):
    rng = np.random.default_rng(seed)
    G = nx.connected_watts_strogatz_graph(n, 2 + 2 * int(rng.integers(0, 2)), 0.3,
                                          seed=int(rng.integers(1 << 30)))
    c = fastest_mixing(G)
    assert c.verified and -1e-9 <= c.gap <= 1e-6
    # metamorphic: relabelling the nodes leaves the optimum unchanged
    perm = rng.permutation(n)
    c2 = fastest_mixing(nx.relabel_nodes(G, dict(enumerate(perm))))
    assert abs(c2.slem - c.slem) <= 2e-6


def test_tail_2_is_not_convex_in_P():
    """proofs/D5.md: tail_k is convex in P under fixed marginals only for k = 1."""
    import numpy as np

    from jepatheory import CoOccurrence, MDP

    J = np.ones((4, 4)) / 4
    u1, u2 = np.array([1, 1, -1, -1]) / 2, np.array([1, -1, 1, -1]) / 2
    P1, P2 = J + np.outer(u1, u1) / 2, J + np.outer(u2, u2) / 2

    def tail2(P):
        mdp = MDP.from_arrays(P[:, None, :], np.zeros((4, 1)), 0.9)
        return CoOccurrence(mdp).tail(2)

    assert tail2(P1) < 1e-12 and tail2(P2) < 1e-12  # rank 2: exact up to round-off
    assert abs(tail2((P1 + P2) / 2) - 1 / 16) < 1e-12
