"""The conditional state-action graph (THEORY D1): NetworkX views, MDPs from drawn graphs,
and a GraphML round trip that is bit-for-bit exact."""
from __future__ import annotations

import re

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jepatheory.envs import make_env
from jepatheory.errors import MDPError, MDPFileError, NegativeProbabilityError, RowSumError
from jepatheory.graph import (
    bipartite_graph,
    conditional_graph,
    mdp_from_graph,
    read_graphml,
    write_graphml,
)
from jepatheory.mdp import MDP

#: Degrees are sums of at most N products nu * P: a few ulps.
DEG_TOL = 1e-15


def random_mdp(seed: int = 0, N: int = 6, m: int = 3) -> MDP:
    rng = np.random.default_rng(seed)
    P = rng.random((N, m, N)) * (rng.random((N, m, N)) < 0.5)
    P[np.arange(N), :, rng.integers(N, size=N)] += 0.1
    P /= P.sum(axis=2, keepdims=True)
    return MDP.from_arrays(P, rng.normal(size=(N, m)), 0.87, rng.dirichlet(np.ones(N)),
                           coords=rng.normal(size=(N, 2)), names=[f"n{i}" for i in range(N)],
                           name="rand", warn=False)


def skewed_nu(mdp: MDP, seed: int = 1, uncovered: int = 2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    nu = rng.dirichlet(np.full(mdp.n_states * mdp.n_actions, 0.3))
    nu[rng.choice(nu.size, uncovered, replace=False)] = 0
    return (nu / nu.sum()).reshape(mdp.n_states, mdp.n_actions)


def assert_same_mdp(a: MDP, b: MDP, coords: bool = True) -> None:
    """Bit-for-bit equality of everything an MDP carries (no tolerance)."""
    assert (a.n_states, a.n_actions) == (b.n_states, b.n_actions)
    assert np.array_equal(a.P_sa.toarray(), b.P_sa.toarray())
    assert np.array_equal(a.r, b.r)
    assert np.array_equal(a.rho0, b.rho0)
    assert a.gamma == b.gamma
    if coords:
        assert np.array_equal(a.coords, b.coords)


# ----------------------------------------------------------------------------- views
def test_conditional_graph_attributes():
    mdp = random_mdp()
    nu = skewed_nu(mdp)
    G = conditional_graph(mdp, nu)
    assert isinstance(G, nx.MultiDiGraph)
    assert G.graph["gamma"] == mdp.gamma and G.graph["n_actions"] == 3
    assert G.number_of_nodes() == mdp.n_states
    assert G.number_of_edges() == mdp.P_sa.nnz  # one edge per (s, a, s') with P > 0
    P = mdp.P_dense()
    q = np.einsum("sa,sat->t", nu, P)
    for s, s2, a, d in G.edges(keys=True, data=True):
        assert d["action"] == a
        assert d["prob"] == P[s, a, s2]
        assert d["weight"] == pytest.approx(nu[s, a] * P[s, a, s2], rel=1e-15, abs=0)
    for s, d in G.nodes(data=True):
        assert d["rho0"] == mdp.rho0[s]
        assert d["q"] == pytest.approx(q[s], rel=1e-14, abs=DEG_TOL)
        assert d["reward"] == tuple(mdp.r[s])
        assert d["name"] == f"n{s}" and d["pos"] == tuple(mdp.coords[s])
    # out-weight of the edges keyed a from s is nu(s, a): the left degree of D1
    for s in range(mdp.n_states):
        for a in range(3):
            w = sum(d["weight"] for _, _, k, d in G.out_edges(s, keys=True, data=True) if k == a)
            assert w == pytest.approx(nu[s, a], abs=DEG_TOL)


def test_bipartite_degrees_are_nu_and_q():
    mdp = random_mdp(3)
    nu = skewed_nu(mdp, uncovered=3)
    B = bipartite_graph(mdp, nu)
    q = np.einsum("sa,sat->t", nu, mdp.P_dense())
    left = [v for v, d in B.nodes(data=True) if d["bipartite"] == 0]
    right = [v for v, d in B.nodes(data=True) if d["bipartite"] == 1]
    assert len(left) == int((nu > 0).sum())  # uncovered pairs are not nodes
    assert len(right) == int((q > 0).sum())
    for _, s, a in left:
        assert B.degree(("sa", s, a), weight="weight") == pytest.approx(nu[s, a], abs=DEG_TOL)
    for _, s2 in right:
        assert B.degree(("s", s2), weight="weight") == pytest.approx(q[s2], abs=DEG_TOL)
    assert nx.is_bipartite(B)


def test_mdp_from_graph_inverts_conditional_graph():
    mdp = random_mdp(5)
    back = mdp_from_graph(conditional_graph(mdp))
    assert_same_mdp(mdp, back)
    assert back.names == mdp.names


def test_gamma_argument_and_missing_gamma():
    mdp = random_mdp()
    G = conditional_graph(mdp)
    assert mdp_from_graph(G, gamma=0.5).gamma == 0.5
    del G.graph["gamma"]
    with pytest.raises(MDPError, match="gamma not given"):
        mdp_from_graph(G)


# ----------------------------------------------------------------------------- drawn graphs
def drawn() -> nx.MultiDiGraph:
    """A user's drawing: state B has no edge for action 1."""
    G = nx.MultiDiGraph(gamma=0.9)
    G.add_node("A", reward=1.0)
    G.add_node("B", reward=(0.0, 2.0))
    G.add_edge("A", "B", key=0, prob=1.0)
    G.add_edge("B", "A", key=0, prob=0.5)
    G.add_edge("B", "B", key=0, prob=0.5)
    G.add_edge("A", "A", key=1, prob=1.0)
    return G


def test_drawn_graph_with_a_missing_action_is_an_error_naming_it():
    with pytest.raises(RowSumError, match="state 'B' has no edge for action 1"):
        mdp_from_graph(drawn())


def test_drawn_graph_missing_action_as_self_loop():
    mdp = mdp_from_graph(drawn(), missing="self-loop")
    P = mdp.P_dense()
    assert np.array_equal(P[0], [[0, 1], [1, 0]])      # A: action 0 -> B, action 1 stays
    assert np.array_equal(P[1], [[0.5, 0.5], [0, 1]])  # B: action 1 filled as a self-loop
    assert np.array_equal(mdp.r, [[1, 1], [0, 2]])
    assert mdp.names == ("A", "B")


def test_unknown_missing_option():
    with pytest.raises(MDPError, match="missing='bogus'"):
        mdp_from_graph(drawn(), missing="bogus")


def test_drawn_graph_with_raw_weights_and_normalize():
    G = nx.MultiDiGraph(gamma=0.5)
    G.add_edge(0, 1, key=0, prob=3.0)
    G.add_edge(0, 0, key=0, prob=1.0)
    G.add_edge(1, 0, key=0, prob=2.0)
    with pytest.raises(RowSumError, match="sums to 4"):
        mdp_from_graph(G)
    mdp = mdp_from_graph(G, normalize=True)
    assert np.array_equal(mdp.P_dense()[:, 0], [[0.25, 0.75], [1.0, 0.0]])


@pytest.mark.parametrize("edit, cls, fragment", [
    (lambda G: G.add_edge("A", "B", key="up", prob=0.0), MDPError, "action key 'up'"),
    (lambda G: G.add_edge("A", "B", key=2), MDPError, "no 'prob' attribute"),
    (lambda G: G.add_edge("A", "B", key=2, prob="x"), MDPError, "prob='x' is not a number"),
])
def test_drawn_graph_bad_edges(edit, cls, fragment):
    G = drawn()
    edit(G)
    with pytest.raises(cls, match=fragment):
        mdp_from_graph(G, missing="self-loop")


def test_drawn_graph_negative_probability():
    G = drawn()
    G.add_edge("A", "A", key=0, prob=-0.5)
    G["A"]["B"][0]["prob"] = 1.5
    with pytest.raises(NegativeProbabilityError):
        mdp_from_graph(G, missing="self-loop")


def test_empty_graph():
    with pytest.raises(MDPError, match="no states or no edges"):
        mdp_from_graph(nx.MultiDiGraph(gamma=0.9))


# ----------------------------------------------------------------------------- GraphML
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_graphml_round_trip_is_bit_exact(tmp_path, seed):
    mdp = random_mdp(seed, N=7, m=3)
    path = write_graphml(mdp, tmp_path / "m.graphml", nu=skewed_nu(mdp, seed))
    back = read_graphml(path)
    assert_same_mdp(mdp, back)
    assert back.names == mdp.names
    assert back.name == "m"


def test_graphml_round_trip_families(tmp_path):
    for name, params in [("four-rooms", {}), ("block-mdp", dict(latent_width=2,
                                                                latent_height=2))]:
        mdp = make_env(name, **params)
        back = read_graphml(write_graphml(mdp, tmp_path / f"{name}.graphml"))
        assert_same_mdp(mdp, back)


@pytest.mark.filterwarnings("ignore::jepatheory.errors.OddMDPWarning")  # 1 - 1e-300 == 1
def test_graphml_of_awkward_floats(tmp_path):
    """Probabilities with long binary expansions (1/3, 1/7, 1e-300) survive exactly."""
    P = np.zeros((2, 1, 2))
    P[0, 0] = [1 / 3, 1 - 1 / 3]
    P[1, 0] = [1e-300, 1 - 1e-300]
    mdp = MDP.from_arrays(P, [[np.pi], [-1 / 7]], 0.1 + 0.2, [1 / 3, 2 / 3])
    assert_same_mdp(mdp, read_graphml(write_graphml(mdp, tmp_path / "f.graphml")),
                    coords=False)


@pytest.mark.parametrize("text", [
    "",
    "<graphml><graph><node id='a'/>",
    "this is not xml",
    "<foo/>",
])
def test_malformed_graphml(tmp_path, text):
    path = tmp_path / "bad.graphml"
    path.write_text(text)
    with pytest.raises(MDPFileError, match="bad.graphml"):
        read_graphml(path)


GRAPHML = """<?xml version="1.0" encoding="UTF-8"?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
  <key id="g" for="graph" attr.name="gamma" attr.type="double"/>
  <key id="p" for="edge" attr.name="prob" attr.type="{ptype}"/>
  <graph edgedefault="directed">
    {gamma}
    <node id="a"/><node id="b"/>
    <edge source="a" target="b">{pa}</edge>
    <edge source="b" target="a"><data key="p">1.0</data></edge>
  </graph>
</graphml>"""


@pytest.mark.parametrize("ptype, gamma, pa, cls, fragment", [
    ("double", '<data key="g">0.9</data>', "", MDPFileError, "no 'prob' attribute"),
    ("string", '<data key="g">0.9</data>', '<data key="p">x</data>', MDPFileError,
     "is not a number"),
    ("double", "", '<data key="p">1.0</data>', MDPFileError, "gamma not given"),
    ("double", '<data key="g">0.9</data>', '<data key="p">0.5</data>', RowSumError,
     "sums to 0.5"),
    ("double", '<data key="g">1.5</data>', '<data key="p">1.0</data>', MDPError, "gamma = 1.5"),
])
def test_graphml_with_bad_content(tmp_path, ptype, gamma, pa, cls, fragment):
    path = tmp_path / "hand.graphml"
    path.write_text(GRAPHML.format(ptype=ptype, gamma=gamma, pa=pa))
    with pytest.raises(cls, match=fragment):
        read_graphml(path)


def test_hand_written_graphml_reads(tmp_path):
    path = tmp_path / "hand.graphml"
    path.write_text(GRAPHML.format(ptype="double", gamma='<data key="g">0.9</data>',
                                   pa='<data key="p">1.0</data>'))
    mdp = read_graphml(path)
    assert np.array_equal(mdp.P_dense()[:, 0], [[0, 1], [1, 0]])
    assert mdp.names == ("a", "b")


def test_missing_graphml_file(tmp_path):
    with pytest.raises(MDPFileError, match="no such file"):
        read_graphml(tmp_path / "absent.graphml")


@pytest.mark.parametrize("attrs, fragment", [
    (dict(reward=(1.0,)), "reward (1.0,) has 1 entries, expected one per action (2)"),
    (dict(reward="x"), "reward for action 0: 'x' is not a number"),
    (dict(reward_1="y"), "reward for action 1: 'y' is not a number"),
    (dict(rho0="z"), "rho0: 'z' is not a number"),
    (dict(pos=("a", "b")), "are not (x, y) pairs of numbers"),
])
def test_drawn_graph_bad_node_attributes(attrs, fragment):
    G = drawn()
    G.nodes["A"].update(attrs)
    if "pos" in attrs:
        G.nodes["B"]["pos"] = (0.0, 1.0)
    with pytest.raises(MDPError, match=re.escape(fragment)):
        mdp_from_graph(G, missing="self-loop")


finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1), st.lists(finite, min_size=6, max_size=6), finite)
def test_graphml_round_trip_of_arbitrary_floats(tmp_path_factory, seed, rewards, x0):
    """Any finite float64 (subnormals, -0.0, 1e308) in r, pos and P survives exactly."""
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.full(3, 0.2), size=(3, 2))
    P[..., 0] = 1.0 - P[..., 1] - P[..., 2]  # any float rows within ROW_SUM_TOL of 1
    P = np.clip(P, 0.0, None)
    mdp = MDP.from_arrays(P, np.reshape(rewards, (3, 2)), 0.5, rng.dirichlet(np.ones(3)),
                          coords=[[x0, -x0], [0.0, 1e-310], [5e-324, 1e308]], warn=False)
    path = tmp_path_factory.mktemp("g") / "h.graphml"
    assert_same_mdp(mdp, read_graphml(write_graphml(mdp, path)))
