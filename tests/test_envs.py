"""Environment families (THEORY D5, D6): every family builds a valid MDP, parameters are
validated, seeds reproduce, the structural claims hold (104-state four-rooms, low-rank
block and SBM families, F5's flat spectrum at slip 0), and the gymnasium importers work."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from jepatheory.cooccurrence import CoOccurrence
from jepatheory.envs import FAMILIES, FOUR_ROOMS, from_gymnasium, make_env, parse_env_params
from jepatheory.errors import EnvParameterError, OddMDPWarning
from jepatheory.facts import check_f5

#: Rows of P are built from sums of at most m weights: a few ulps of slack.
ROW_TOL = 1e-12
#: A singular value below this is numerically zero (T has entries O(1), LAPACK error ~1e-15).
RANK_TOL = 1e-9

SMALL = {
    "chain": dict(n=6), "ring": dict(n=7), "grid": dict(width=4, height=3),
    "four-rooms": {}, "rooms": dict(map="#####/#  G#/# # #/#   #/#####"),
    "maze": dict(width=4, height=4), "expander": dict(n=12, degree=3),
    "tree": dict(depth=2, branching=3), "random-sparse": dict(n=9, actions=2),
    "sbm": dict(clusters=3, size=4), "block-mdp": dict(latent_width=2, latent_height=2),
    "sutton-barto-3.5": {},
    "noisy-block": dict(width=3, height=2), "noisy-features": dict(width=3, height=2),
    "rendered": dict(base="grid:width=3,height=3", size=8),
}
SEEDED = [name for name, fam in FAMILIES.items() if "seed" in fam.params]


def rank(C: CoOccurrence) -> int:
    s = np.linalg.svd(C.T.toarray(), compute_uv=False)
    return int((s > RANK_TOL).sum())


def test_every_non_gym_family_is_listed_here():
    assert set(FAMILIES) - {"gym"} == set(SMALL)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_family_builds_a_valid_mdp(name):
    mdp = make_env(name, **SMALL[name])
    sums = np.asarray(mdp.P_sa.sum(axis=1)).ravel()
    assert np.abs(sums - 1).max() <= ROW_TOL
    assert mdp.P_sa.data.min() > 0
    assert mdp.r.shape == (mdp.n_states, mdp.n_actions)
    assert 0 <= mdp.gamma < 1
    assert abs(mdp.rho0.sum() - 1) <= ROW_TOL
    if mdp.coords is not None:
        assert mdp.coords.shape == (mdp.n_states, 2)
    assert mdp.meta["family"] == name


@pytest.mark.parametrize("name", sorted(SMALL))
def test_default_parameters_build(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OddMDPWarning)
        mdp = make_env(name)
    assert mdp.n_states >= 1


def test_four_rooms_has_104_states_and_the_documented_slip():
    mdp = make_env("four-rooms")
    assert mdp.n_states == 104 and mdp.n_actions == 4
    assert make_env().n_states == 104  # the default environment
    assert mdp.meta["slip"] == pytest.approx(1 / 3)
    # an interior cell (row 2, column 2 of the map: all four neighbours free): intended move
    # 2/3, each other direction 1/9
    free = [(i, j) for i, row in enumerate(FOUR_ROOMS.split("\n")) for j, ch in enumerate(row)
            if ch != "#"]
    s = free.index((2, 2))
    P = mdp.P_dense()
    for a in range(4):
        row = np.sort(P[s, a][P[s, a] > 0])
        assert np.allclose(row, [1 / 9, 1 / 9, 1 / 9, 2 / 3], rtol=0, atol=1e-15)
    assert mdp.r.sum() == 4  # one goal state, reward 1 for each action
    assert make_env("rooms").n_states == 104  # the default map is four-rooms


def test_slip_puts_blocked_mass_on_staying():
    mdp = make_env("chain", n=5, slip=0.2)
    P = mdp.P_dense()
    # at the left end, "left" stays with 0.8, slips right with 0.2
    assert np.allclose(P[0, 0], [0.8, 0.2, 0, 0, 0], atol=1e-15)
    assert np.allclose(P[2, 1], [0, 0.2, 0, 0.8, 0], atol=1e-15)


@pytest.mark.parametrize("W, H, seed", [(8, 8, 0), (5, 3, 1), (1, 6, 2), (10, 7, 3)])
def test_maze_is_a_perfect_maze(W, H, seed):
    """Open passages form a spanning tree of the cells, and every passage works both ways
    (action a from s reaches t iff the opposite action from t reaches s)."""
    import networkx as nx

    mdp = make_env("maze", width=W, height=H, slip=0.0, seed=seed)
    moves = mdp.P_dense().argmax(axis=2)
    opposite = [2, 3, 0, 1]  # up, right, down, left
    G = nx.Graph()
    G.add_nodes_from(range(mdp.n_states))
    for s in range(mdp.n_states):
        for a in range(4):
            t = moves[s, a]
            if t != s:
                G.add_edge(s, t)
                assert moves[t, opposite[a]] == s
    assert nx.is_tree(G)


@pytest.mark.parametrize("N, m, slip", [(9, 4, 0.3), (9, 4, 0.0), (5, 1, 0.5), (6, 3, 1.0)])
def test_slip_kernel_against_a_loop(N, m, slip):
    from jepatheory.envs._kernel import slip_kernel

    moves = np.random.default_rng(N * m).integers(N, size=(N, m))
    ref = np.zeros((N * m, N))
    for s in range(N):
        for a in range(m):
            for b in range(m):
                ref[s * m + a, moves[s, b]] += (1 - slip if b == a else slip / (m - 1)) \
                    if m > 1 else 1.0
    P = slip_kernel(moves, slip)
    assert np.abs(P.toarray() - ref).max() <= 1e-15
    assert P.data.min() > 0  # zeros (slip 0 or 1) are not stored


def test_block_mdp_rank_at_most_the_latent_count():
    mdp = make_env("block-mdp", latent_width=3, latent_height=2, obs_per_latent=5, d_x=7,
                   noise=0.3)
    L = 6
    assert mdp.n_states == L * 5
    assert mdp.x.shape == (30, 7)
    assert rank(CoOccurrence(mdp)) <= L
    # observations of one latent state have identical rows of P (their features differ)
    latent_of = np.asarray(mdp.meta["latent_of"])
    P = mdp.P_dense()
    same = np.flatnonzero(latent_of == 0)
    assert np.array_equal(P[same[0]], P[same[1]])
    assert not np.array_equal(mdp.x[same[0]], mdp.x[same[1]])


def test_block_mdp_noise_zero_gives_identical_features_per_latent():
    mdp = make_env("block-mdp", latent_width=2, latent_height=2, obs_per_latent=3, noise=0.0)
    latent_of = np.asarray(mdp.meta["latent_of"])
    for lat in range(4):
        xs = mdp.x[latent_of == lat]
        assert np.array_equal(xs, np.broadcast_to(xs[0], xs.shape))


@pytest.mark.parametrize("noise", [0.0, 0.1, 0.5])
def test_sbm_is_low_rank(noise):
    mdp = make_env("sbm", clusters=3, size=5, actions=2, noise=noise, seed=4)
    # P's rows are mixtures of the 3 cluster indicators (uniform = their sum): rank <= 3
    assert rank(CoOccurrence(mdp)) <= 3
    assert mdp.n_states == 15


@pytest.mark.parametrize("name, params", [
    ("chain", dict(n=8)), ("ring", dict(n=9)), ("grid", dict(width=5, height=4)),
    ("four-rooms", {}), ("maze", dict(width=5, height=5)), ("expander", dict(n=10, degree=3)),
    ("tree", dict(depth=3, branching=2)), ("rooms", dict(map="######/#   G#/#  # #/######")),
])
def test_slip_zero_gives_a_flat_spectrum(name, params):
    """F5: deterministic moves reaching every next state give T^T T = I."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OddMDPWarning)
        mdp = make_env(name, slip=0.0, **params)
    C = CoOccurrence(mdp)
    chk = check_f5(C)
    assert chk.applicable and chk.passed
    s = np.linalg.svd(C.T.toarray(), compute_uv=False)
    assert np.abs(s - 1).max() <= 1e-12


def test_deterministic_random_sparse_is_flat():
    mdp = make_env("random-sparse", n=12, actions=3, branching=1, seed=2)
    C = CoOccurrence(mdp)
    assert check_f5(C).passed
    assert np.abs(np.linalg.svd(C.T.toarray(), compute_uv=False) - 1).max() <= 1e-12


def test_docs_say_slip_zero_is_flat():
    import jepatheory.envs as envs
    from jepatheory.cli import envs as cli_envs

    for text in (envs.__doc__, cli_envs.EPILOG):
        assert "slip = 0" in text and "F5" in text


@pytest.mark.parametrize("name", SEEDED)
def test_seeds_reproduce(name):
    a = make_env(name, seed=3, **{k: v for k, v in SMALL[name].items()})
    b = make_env(name, seed=3, **{k: v for k, v in SMALL[name].items()})
    c = make_env(name, seed=4, **{k: v for k, v in SMALL[name].items()})
    assert (a.P_sa != b.P_sa).nnz == 0 and np.array_equal(a.r, b.r)
    if a.x is not None:
        assert np.array_equal(a.x, b.x)
    differs = (a.P_sa.shape != c.P_sa.shape or (a.P_sa != c.P_sa).nnz > 0
               or not np.array_equal(a.r, c.r)
               or (a.x is not None and not np.array_equal(a.x, c.x)))
    assert differs


@pytest.mark.parametrize("name, params, fragment", [
    ("chain", dict(n=1), "n = 1"),
    ("chain", dict(n=2.5), "n = 2.5"),
    ("chain", dict(slip=-0.1), "slip = -0.1"),
    ("chain", dict(slip=1.5), "slip = 1.5"),
    ("four-rooms", dict(slip=float("nan")), "slip = nan"),
    ("ring", dict(n=2), "n = 2"),
    ("grid", dict(width=0), "width = 0"),
    ("rooms", dict(map="###/###"), "no free cell"),
    ("rooms", dict(map=""), "empty map"),
    ("maze", dict(height=0), "height = 0"),
    ("expander", dict(n=5, degree=3), "n*degree even"),
    ("expander", dict(degree=0), "degree"),
    ("tree", dict(depth=0), "depth=0"),
    ("tree", dict(branching=0), "branching=0"),
    ("random-sparse", dict(actions=0), "actions=0"),
    ("random-sparse", dict(n=4, branching=5), "branching=5"),
    ("random-sparse", dict(concentration=0), "concentration=0"),
    ("sbm", dict(noise=2), "noise = 2"),
    ("sbm", dict(size=0), "size"),
    ("block-mdp", dict(noise=-1), "noise=-1"),
    ("block-mdp", dict(obs_per_latent=0), "obs_per_latent=0"),
    ("block-mdp", dict(latent_width=0), "width = 0"),
    ("block-mdp", dict(slip=2), "slip = 2"),
    ("chain", dict(foo=1), "unknown parameter 'foo'"),
    ("chain", dict(n="abc"), "n='abc' is not a valid int"),
    ("chain", dict(slip="1/0"), "slip='1/0' is not a valid float"),
    ("nope", {}, "unknown environment 'nope'"),
])
def test_parameters_are_validated(name, params, fragment):
    with pytest.raises(EnvParameterError) as exc:
        make_env(name, **params)
    assert fragment in str(exc.value)


def test_string_parameters_and_inline_form():
    assert parse_env_params("chain", ["n=7", "slip=1/4"]) == dict(n=7, slip=0.25)
    a = make_env("chain:n=7,slip=1/4")
    b = make_env("chain", n="7", slip="0.25")
    assert a.n_states == b.n_states == 7
    assert (a.P_sa != b.P_sa).nnz == 0
    with pytest.raises(EnvParameterError, match="not KEY=VALUE"):
        parse_env_params("chain", ["n"])


def test_grid_scales_without_dense_arrays():
    mdp = make_env("grid", width=300, height=300, slip=0.1)
    assert mdp.n_states == 90_000
    assert mdp.P_sa.nnz <= 90_000 * 4 * 4


# ----------------------------------------------------------------------------- gymnasium
class _Space:
    def __init__(self, n: int):
        self.n = n


class _ToyEnv:
    """Three states; action 0 from state 0 reaches the terminal state 2 with prob 0.5."""

    observation_space = _Space(3)
    action_space = _Space(2)
    initial_state_distrib = np.array([2.0, 2.0, 0.0])
    P = {
        0: {0: [(0.5, 1, 0.0, False), (0.5, 2, 4.0, True)], 1: [(1.0, 0, -1.0, False)]},
        1: {0: [(1.0, 0, 0.0, False)], 1: [(1.0, 1, 1.0, False)]},
        2: {0: [(1.0, 2, 0.0, True)], 1: [(1.0, 2, 0.0, True)]},
    }


def test_from_gymnasium_on_a_toy_table():
    mdp = from_gymnasium(_ToyEnv(), gamma=0.5, name="toy")
    P = mdp.P_dense()
    assert np.array_equal(P[0, 0], [0.0, 0.5, 0.5])
    assert np.array_equal(P[2, 0], [0, 0, 1]) and np.array_equal(P[2, 1], [0, 0, 1])
    assert np.array_equal(mdp.r, [[2.0, -1.0], [0.0, 1.0], [0.0, 0.0]])  # expected reward
    assert np.array_equal(mdp.rho0, [0.5, 0.5, 0.0])
    assert mdp.meta["terminal"] == [2]


def test_from_gymnasium_refuses_non_tabular():
    with pytest.raises(EnvParameterError, match="no tabular 'P'"):
        from_gymnasium(object())


@pytest.fixture(scope="module")
def gym():
    return pytest.importorskip("gymnasium")


def test_frozen_lake(gym):
    mdp = make_env("gym", id="FrozenLake-v1")
    assert (mdp.n_states, mdp.n_actions) == (16, 4)
    assert np.array_equal(mdp.rho0, np.eye(16)[0])
    assert mdp.meta["terminal"] == [5, 7, 11, 12, 15]  # the four holes and the goal
    P = mdp.P_dense()
    for t in mdp.meta["terminal"]:
        assert np.array_equal(P[t, :, t], np.ones(4)) and (mdp.r[t] == 0).all()
    # slippery: the intended move and the two perpendicular ones, 1/3 each; from state 14
    # "right" (action 2) reaches the goal 15 w.p. 1/3, so the expected reward is 1/3
    assert mdp.r[14, 2] == pytest.approx(1 / 3)
    big = make_env("gym", id="FrozenLake8x8-v1")
    assert big.n_states == 64
    det = make_env("gym", id="FrozenLake-v1", is_slippery=False)
    assert check_f5(CoOccurrence(det)).passed


def test_cliff_walking(gym):
    mdp = make_env("gym", id="CliffWalking-v1")
    assert (mdp.n_states, mdp.n_actions) == (48, 4)
    assert mdp.meta["terminal"] == [47]
    assert np.array_equal(mdp.rho0, np.eye(48)[36])
    # stepping right from the start falls off the cliff: -100 and back to the start
    assert mdp.r[36, 1] == -100
    assert mdp.P_dense()[36, 1, 36] == 1


def _taxi_ids(gym) -> list[str]:
    return sorted(k for k in gym.registry if k.startswith("Taxi-v"))


def test_taxi_whichever_version_is_registered(gym):
    ids = _taxi_ids(gym)
    assert ids, "this gymnasium registers no Taxi"
    for id in ids:
        mdp = make_env("gym", id=id)
        assert (mdp.n_states, mdp.n_actions) == (500, 6)
        assert mdp.r.min() == -10  # illegal pickup/dropoff
        assert abs(mdp.rho0.sum() - 1) <= 1e-12
        assert len(mdp.meta["terminal"]) == 4  # passenger delivered at one of 4 spots


@pytest.mark.parametrize("id", ["Taxi-v3", "Taxi-v4"])
def test_taxi_both_names_work(gym, id):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mdp = make_env("gym", id=id)
    assert mdp.name in _taxi_ids(gym)
    assert mdp.n_states == 500


def test_unknown_gym_id(gym):
    with pytest.raises(EnvParameterError, match="'Nope-v0' is not a registered gymnasium id"):
        make_env("gym", id="Nope-v0")


def test_gym_entry_point_needs_the_opt_in(gym):
    """An id 'MODULE:Env' makes gymnasium import MODULE: refused unless entry_points=True."""
    import sys
    sys.modules.pop("jepatheory._never_imported_by_gym", None)
    with pytest.raises(EnvParameterError, match="entry_points=true"):
        make_env("gym", id="jepatheory._never_imported_by_gym:Env")
    assert "jepatheory._never_imported_by_gym" not in sys.modules
    with pytest.raises(EnvParameterError, match="could not make"):
        make_env("gym", id="jepatheory.errors:NoSuchEnv", entry_points=True)


def test_missing_gym_extra_is_one_actionable_error(monkeypatch, capsys):
    """Without gymnasium the gym family names the extra to install (and the CLI exits 2)."""
    import sys

    from jepatheory.cli import main
    from jepatheory.errors import MissingExtraError

    monkeypatch.setitem(sys.modules, "gymnasium", None)  # makes `import gymnasium` fail
    with pytest.raises(MissingExtraError, match=r"install the 'gym' extra"):
        make_env("gym", id="FrozenLake-v1")
    assert main(["spectrum", "--env", "gym"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "jepatheory[gym]" in err[0]


def test_core_import_does_not_load_gymnasium():
    import subprocess
    import sys

    code = ("import sys, jepatheory, jepatheory.envs, jepatheory.cli; "
            "print('gymnasium' in sys.modules, 'matplotlib' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("name, params", [
    ("expander", dict(n=None)), ("sbm", dict(noise=None)), ("block-mdp", dict(noise=[1])),
    ("chain", dict(slip=None)), ("grid", dict(width=float("inf"))), ("rooms", dict(map=5)),
    ("gym", dict(id=None)),
])
def test_non_numbers_are_parameter_errors(name, params):
    with pytest.raises(EnvParameterError):
        make_env(name, **params)


@pytest.mark.parametrize("name, key", [("chain", "slip"), ("four-rooms", "slip"),
                                       ("sbm", "noise"), ("block-mdp", "slip"),
                                       ("expander", "slip")])
def test_float32_parameters_keep_rows_stochastic(name, key):
    """1 - slip in float32 is off by ~1e-8, more than ROW_SUM_TOL: parameters are taken as
    Python floats."""
    from jepatheory.envs.graphs import sbm

    mdp = make_env(name, **{key: np.float32(0.3)})
    assert np.abs(np.asarray(mdp.P_sa.sum(axis=1)).ravel() - 1).max() <= ROW_TOL
    sbm(noise=np.float32(0.1))  # the family function directly, too
