"""Library-level checks of the hardening: size estimates before allocating, strict
parameter and map parsing, .npz inspection, the sweep store's checks, content keys, leases
and orphan-free workers, bounded expressions and derivation time limits, the certified
grid design, and the shared CLI helpers."""
from __future__ import annotations

import io
import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
import warnings
import zipfile

import networkx as nx
import numpy as np
import pytest

from jepatheory import limits
from jepatheory.envs import make_env, parse_env_params, split_env_spec
from jepatheory.errors import (DerivationTimeoutError, EnvParameterError, ExpressionError,
                               MDPFileError, OddMDPWarning, OutputPathError,
                               ResourceLimitError, SchedulerError, StoreError)
from jepatheory.mdp import inspect_npz, load_mdp, save_mdp


@pytest.fixture(autouse=True)
def _no_override():
    limits.set_max_memory(None)
    yield
    limits.set_max_memory(None)


# ----------------------------------------------------------------------------- limits
@pytest.mark.parametrize("text, value", [("4G", 4 * 2**30), ("512M", 512 * 2**20),
                                         ("2.5e9", 2.5e9), ("inf", math.inf), ("1kib", 1024)])
def test_parse_bytes(text, value):
    assert limits.parse_bytes(text) == value


@pytest.mark.parametrize("text", ["lots", "-1G", "0", "nan", "4Q"])
def test_parse_bytes_refuses_garbage(text):
    with pytest.raises(ResourceLimitError):
        limits.parse_bytes(text)


def test_check_memory_names_estimate_available_and_override(monkeypatch):
    monkeypatch.setenv(limits.ENV_VAR, "10M")
    with pytest.raises(ResourceLimitError) as exc:
        limits.check_memory(2**30, "a thing")
    msg = str(exc.value)
    assert "a thing needs about 1 GiB" in msg and "10 MiB" in msg
    assert "--max-memory" in msg and limits.ENV_VAR in msg
    limits.check_memory(2**20, "a small thing")  # fits
    limits.set_max_memory("inf")  # the override beats the environment
    limits.check_memory(1e30, "anything")


def test_available_memory_respects_rlimit_as():
    """A child with RLIMIT_AS sees at most that limit (minus what it maps already)."""
    code = ("import resource; from jepatheory import limits; "
            "resource.setrlimit(resource.RLIMIT_AS, (2**32, 2**32)); "
            "a, src = limits.available_memory(); print(a <= 2**32, src)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, env=dict(os.environ, JEPATHEORY_MAX_MEMORY=""))
    assert out.stdout.split() == ["True", "RLIMIT_AS"], out.stderr


@pytest.mark.parametrize("spec", ["chain:n=1000000000", "grid:width=100000,height=100000",
                                  "tree:depth=40", "sbm:clusters=1000,size=1000",
                                  "block-mdp:obs_per_latent=100000000",
                                  "maze:width=1e5,height=1e5"])
def test_oversized_families_are_refused_before_allocating(spec):
    t0 = time.perf_counter()
    with pytest.raises(ResourceLimitError, match="needs about"):
        make_env(spec)
    assert time.perf_counter() - t0 < 1.0  # refused at once, nothing was built


def test_estimates_cover_the_measured_peak_of_small_builds():
    """One-sided: the estimate is at least the bytes of the arrays actually built (the
    measured RSS peaks at 1e6 states are 0.5x-0.6x of the estimate, see limits.py)."""
    for name, params in [("chain", dict(n=5000)), ("grid", dict(width=70, height=70)),
                         ("tree", dict(depth=10)), ("block-mdp", {})]:
        mdp = make_env(name, **params)
        built = mdp.P_sa.data.nbytes + mdp.P_sa.indices.nbytes + mdp.r.nbytes
        full = {**__import__("jepatheory.envs", fromlist=["FAMILIES"]).FAMILIES[name].params,
                **params}
        assert limits.estimate_env_bytes(name, full) >= 3 * built


def test_check_count():
    limits.check_count(10, "x", limit=10)
    with pytest.raises(ResourceLimitError, match="more than the limit"):
        limits.check_count(11, "x", limit=10)


def test_time_limit_raises_the_typed_error():
    with pytest.raises(DerivationTimeoutError, match="within 0.2 s"):
        with limits.time_limit(0.2, DerivationTimeoutError, "a loop"):
            while True:
                pass
    with limits.time_limit(5, DerivationTimeoutError, "fast"):
        pass
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


# ----------------------------------------------------------------------------- parameters
@pytest.mark.parametrize("items, fragment", [
    (["n=5", "n=6"], "given twice"), (["n=5", "", "slip=0.1"], "empty parameter item"),
    (["n=1e400"], "not a valid int"), (["slip=nan"], "not a valid float"),
    (["n=2.5"], "not a valid int"),
])
def test_parameters_are_strict(items, fragment):
    with pytest.raises(EnvParameterError, match=fragment):
        parse_env_params("chain", items)


def test_integer_parameters_accept_exponent_notation():
    assert parse_env_params("chain", ["n=1e2"]) == dict(n=100)


def test_inline_and_separate_parameters_must_not_overlap():
    with pytest.raises(EnvParameterError, match="given twice"):
        make_env("chain:n=5", n=7)
    with pytest.raises(EnvParameterError, match="empty parameter item"):
        make_env("chain:n=5,,slip=0.1")
    assert make_env("chain:n=5", slip=0.2).n_states == 5


def test_split_keeps_commas_of_a_map():
    assert split_env_spec("rooms:slip=0.1,map=#####/#G ,#/#####") == \
        ("rooms", ["slip=0.1", "map=#####/#G ,#/#####"])


@pytest.mark.parametrize("name", ["maze", "expander", "random-sparse", "sbm", "block-mdp"])
def test_negative_seeds_are_parameter_errors(name):
    with pytest.raises(EnvParameterError, match="seed=-1"):
        make_env(name, seed=-1)


@pytest.mark.parametrize("m, fragment", [
    ("#####/#.x.#/#..G#/#####", "unknown map letter 'x' at row 1, column 2"),
    ("#####/#...#/#####", "exactly one goal 'G', found 0"),
    ("#####/#G.G#/#####", "found 2"),
])
def test_rooms_maps_are_strict(m, fragment):
    with pytest.raises(EnvParameterError, match=fragment):
        make_env("rooms", map=m)


def test_rooms_map_with_dots_and_spaces():
    assert make_env("rooms", map="#####/#. G#/#####").n_states == 3


# ----------------------------------------------------------------------------- npz files
def _good(n=3):
    return dict(P=np.full((n, 2, n), 1 / n), r=np.zeros((n, 2)), gamma=np.float64(0.9),
                rho0=np.full(n, 1 / n))


def _member(zf, name, shape, data=b""):
    hdr = io.BytesIO()
    np.lib.format.write_array_header_1_0(hdr, dict(descr="<f8", fortran_order=False,
                                                   shape=shape))
    zf.writestr(name + ".npy", hdr.getvalue() + data)


def test_inspect_npz_reads_headers_only(tmp_path):
    np.savez(tmp_path / "g.npz", **_good())
    info = inspect_npz(tmp_path / "g.npz")
    assert info["P"] == ((3, 2, 3), np.dtype("<f8"))


def test_a_header_declaring_petabytes_is_refused_without_allocating(tmp_path):
    with zipfile.ZipFile(tmp_path / "h.npz", "w") as zf:
        _member(zf, "P", (10**6, 1000, 10**6))
    with pytest.raises(MDPFileError, match="corrupt archive"):
        load_mdp(tmp_path / "h.npz")


def test_zip_bomb_is_refused_before_decompressing(tmp_path, monkeypatch):
    n = 1024  # 16 MiB of zeros in a few KiB
    with zipfile.ZipFile(tmp_path / "b.npz", "w", compression=zipfile.ZIP_DEFLATED) as zf:
        _member(zf, "P", (n, 2, n), bytes(n * 2 * n * 8))
        for k, v in _good(n).items():
            if k != "P":
                b = io.BytesIO()
                np.save(b, v)
                zf.writestr(k + ".npy", b.getvalue())
    assert (tmp_path / "b.npz").stat().st_size < 200_000
    monkeypatch.setenv(limits.ENV_VAR, "8M")
    with pytest.raises(ResourceLimitError, match="16 MiB uncompressed"):
        load_mdp(tmp_path / "b.npz")


def test_non_array_member_and_too_many_members(tmp_path):
    with zipfile.ZipFile(tmp_path / "t.npz", "w") as zf:
        zf.writestr("P.txt", "hello")
    with pytest.raises(MDPFileError, match="not an .npy array"):
        load_mdp(tmp_path / "t.npz")
    np.savez(tmp_path / "m.npz", **_good(), **{f"x{i}": np.zeros(1) for i in range(70)})
    with pytest.raises(MDPFileError, match="archive members"):
        load_mdp(tmp_path / "m.npz")


# ----------------------------------------------------------------------------- graphml
@pytest.mark.parametrize("weight", [-1.0, float("nan"), float("inf")])
def test_design_refuses_negative_or_nan_weights(weight):
    from jepatheory.convex.design import design_chain
    from jepatheory.convex.errors import ConvexInputError
    G = nx.cycle_graph(4)
    nx.set_edge_attributes(G, 1.0, "weight")
    G.edges[0, 1]["weight"] = weight
    with pytest.raises(ConvexInputError, match="edge 0 -- 1 has weight"):
        design_chain(G)


@pytest.mark.parametrize("attr, value", [("weight", -0.5), ("weight", float("nan")),
                                         ("prob", -0.5)])
def test_read_graphml_refuses_negative_or_nan_weights(tmp_path, attr, value):
    from jepatheory.graph import read_graphml, write_graphml
    path = write_graphml(make_env("chain", n=3), tmp_path / "c.graphml")
    G = nx.read_graphml(path, force_multigraph=True)
    u, v, k = next(iter(G.edges(keys=True)))
    G.edges[u, v, k][attr] = value
    nx.write_graphml(G, path)
    with pytest.raises(MDPFileError, match="finite and >= 0"):
        read_graphml(path)


def test_design_size_is_checked(monkeypatch):
    from jepatheory.convex.design import design_chain
    monkeypatch.setenv(limits.ENV_VAR, "1M")
    with pytest.raises(ResourceLimitError, match="on 40 nodes and 780 edges"):
        design_chain(nx.complete_graph(40))


# ----------------------------------------------------------------------------- design
def test_grid_design_is_fast_and_certified():
    """The 431 s example of the help: now cutting planes, lower <= optimum <= value."""
    from jepatheory.convex.design import design_grid_slip
    t0 = time.perf_counter()
    d = design_grid_slip(6, 6, "nuclear", min_intended=0.6)
    assert time.perf_counter() - t0 < 10
    assert d.lower <= d.objective_value and 0 <= d.gap <= 1e-6 * (1 + d.objective_value)
    assert d.mdp.meta["slip"]["intended"] >= 0.6 - 1e-12
    f = design_grid_slip(6, 6)  # the default objective: fastest mixing, certified
    assert np.isfinite(f.lower) and np.isfinite(f.gap) and f.gap <= 1e-5
    assert f.slem == pytest.approx(f.objective_value, abs=1e-9)


def test_grid_design_lower_bound_is_below_every_feasible_point():
    """One-sided: no slip distribution of the polytope beats the certified lower bound."""
    from jepatheory.convex.design import design_grid_slip
    d = design_grid_slip(3, 3, "nuclear", min_intended=0.5)
    rng = np.random.default_rng(0)
    for _ in range(20):
        p = 0.5 * np.eye(5)[0] + 0.5 * rng.dirichlet(np.ones(5))
        T = grid_T(3, 3, p)
        # 1e-9: the SVDs of the cutting planes and of this check agree to rounding
        assert np.linalg.svd(T, compute_uv=False).sum() >= d.lower - 1e-9


def grid_T(w: int, h: int, p) -> np.ndarray:
    """T(pi) = [P_a]/2 of the slip design, built directly from its definition."""
    moves = np.array([[-1, 0], [0, 1], [1, 0], [0, -1]])
    n = w * h
    rc = np.array([(i, j) for i in range(h) for j in range(w)])
    M = np.zeros((5, n, n))
    for d, mv in enumerate(moves):
        nxt = rc + mv
        ok = (nxt[:, 0] >= 0) & (nxt[:, 0] < h) & (nxt[:, 1] >= 0) & (nxt[:, 1] < w)
        M[d, np.arange(n), np.where(ok, nxt[:, 0] * w + nxt[:, 1], np.arange(n))] = 1
    M[4] = np.eye(n)
    Ps = [sum(p[r] * M[(a + r) % 4] for r in range(4)) + p[4] * M[4] for a in range(4)]
    return np.vstack(Ps) / 2.0


# ----------------------------------------------------------------------------- expressions
@pytest.mark.parametrize("text, fragment", [
    ("1e999", "number too large"), ("(10**1000)**9", "number too large"),
    ("exp(exp(exp(exp(10))))", "number too large"), ("2**exp(exp(exp(100)))", "too large"),
    ("(p+1)**1000/2**1000", "symbolic base"), ("9" * 150, "digits"),
    ("(" * 80 + "p" + ")" * 80, "nested deeper"), ("+".join(["p"] * 300), "syntax nodes"),
])
def test_parser_bounds(text, fragment):
    from jepatheory.symbolic.parse import parse_expression
    t0 = time.perf_counter()
    with pytest.raises(ExpressionError, match=fragment):
        parse_expression(text, ["p"])
    assert time.perf_counter() - t0 < 1.0


def test_min_max_entries_split_on_top_level_commas():
    from jepatheory.cli.prove import _parse_nested
    from jepatheory.symbolic.parse import parse_expression
    nested = _parse_nested("[[[Min(p, 1/2), 1 - Min(p, 1/2)]], [[Max(p, 1), 0]]]", ["p"],
                           parse_expression)
    assert nested == [[["Min(1/2, p)", "1 - Min(1/2, p)"]], [["Max(1, p)", "0"]]]
    with pytest.raises(ExpressionError, match="unbalanced"):
        _parse_nested("[[[p), 1]]]", ["p"], parse_expression)


# ----------------------------------------------------------------------------- sweep store
def _cells(**kw):
    from jepatheory.sim.sweep import sweep_cells
    return sweep_cells(["chain:n=6,slip=0.2"], [1], [200], ["erm"], [0], **kw)


def test_foreign_sqlite_store_is_refused_and_untouched(tmp_path):
    from jepatheory.sim.sweep import run_sweep
    path = tmp_path / "f.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE users (name TEXT)")
    con.commit()
    con.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="not a jepatheory store"):
        run_sweep(_cells(), path, workers=1, progress=False)
    assert path.read_bytes() == before


@pytest.mark.parametrize("kind", ["random", "schema", "dir", "devnull"])
def test_corrupt_stores_are_typed_errors(tmp_path, kind):
    from jepatheory.sim.sweep import run_sweep
    path = {"dir": tmp_path, "devnull": "/dev/null"}.get(kind, tmp_path / "s.db")
    if kind == "random":
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    if kind == "schema":
        con = sqlite3.connect(path)
        con.execute("CREATE TABLE cells (a INTEGER)")
        con.commit()
        con.close()
    with pytest.raises(StoreError):
        run_sweep(_cells(), path, workers=1, progress=False)


def test_garbage_row_is_a_typed_error(tmp_path):
    from jepatheory.sim.sweep import load_results, run_sweep
    path = tmp_path / "g.db"
    run_sweep(_cells(), path, workers=1, progress=False)
    con = sqlite3.connect(path)
    con.execute("INSERT INTO cells VALUES ('zz', '{oops', 'x', NULL, 0)")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="row 'zz' is corrupt"):
        load_results(path)


def test_store_in_a_missing_folder_is_not_created(tmp_path):
    from jepatheory.sim.sweep import run_sweep
    with pytest.raises(StoreError, match="does not exist"):
        run_sweep(_cells(), tmp_path / "no" / "s.db", workers=1, progress=False)
    assert not (tmp_path / "no").exists()


def test_mdp_file_cells_are_keyed_by_content(tmp_path):
    """Editing the file makes new cells: no stale V* from the old content."""
    from jepatheory.sim.sweep import load_results, run_sweep, sweep_cells
    path = save_mdp(tmp_path / "m.npz", make_env("chain", n=5, slip=0.2))
    cells = sweep_cells([None], [1], [200], ["erm"], [0], mdp_file=str(path))
    run_sweep(cells, tmp_path / "s.db", workers=1, progress=False)
    v1 = load_results(tmp_path / "s.db")[0]["V_star"]
    mdp2 = make_env("chain", n=5, slip=0.2)
    save_mdp(path, type(mdp2).from_arrays(mdp2.P_dense(), 2 * mdp2.r, mdp2.gamma))
    cells2 = sweep_cells([None], [1], [200], ["erm"], [0], mdp_file=str(path))
    assert cells2[0]["mdp_sha256"] != cells[0]["mdp_sha256"]
    s = run_sweep(cells2, tmp_path / "s.db", workers=1, progress=False)
    assert s.ran == 1
    rows = load_results(tmp_path / "s.db")
    new = [r for r in rows if r["cell"]["mdp_sha256"] == cells2[0]["mdp_sha256"]]
    assert new[0]["V_star"] == pytest.approx(2 * v1)


def test_sweep_grid_is_counted_before_it_is_built():
    from jepatheory.sim.sweep import parse_int_list, sweep_cells
    t0 = time.perf_counter()
    with pytest.raises(ResourceLimitError):
        parse_int_list("0-100000000", "--seeds")
    with pytest.raises(ResourceLimitError):
        sweep_cells(["chain"], range(1000), range(1000), ["erm", "spectral"], [0])
    assert time.perf_counter() - t0 < 1.0


def test_cells_claimed_by_a_live_run_are_left_to_it(tmp_path):
    from jepatheory.sim.sweep import _connect, cell_key, run_sweep
    cells = _cells() + _cells(horizon=3)
    path = tmp_path / "l.db"
    con = _connect(path)
    with con:  # another live run (this test's parent process) holds the first cell
        con.execute("INSERT INTO leases VALUES (?, ?, ?)",
                    (cell_key(cells[0]), f"{os.uname().nodename}:{os.getppid()}:other",
                     time.time() + 100))
    con.close()
    s = run_sweep(cells, path, workers=1, progress=False)
    assert s.ran == 1 and s.leased_elsewhere == 1


def test_claims_of_a_dead_or_expired_run_are_taken_over(tmp_path):
    from jepatheory.sim.sweep import _connect, cell_key, run_sweep
    cells = _cells() + _cells(horizon=3)
    path = tmp_path / "d.db"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    con = _connect(path)
    with con:
        con.execute("INSERT INTO leases VALUES (?, ?, ?)",
                    (cell_key(cells[0]), f"{os.uname().nodename}:{dead.pid}:gone",
                     time.time() + 100))
        con.execute("INSERT INTO leases VALUES (?, ?, ?)",
                    (cell_key(cells[1]), "elsewhere:1:expired", time.time() - 1))
    con.close()
    s = run_sweep(cells, path, workers=1, progress=False)
    assert s.ran == 2 and s.leased_elsewhere == 0
    assert sqlite3.connect(path).execute("SELECT count(*) FROM leases").fetchone()[0] == 0


def test_scheduler_address_is_checked():
    from jepatheory.sim.sweep import check_scheduler_address
    assert check_scheduler_address("tcp://10.0.0.5:8786")
    assert check_scheduler_address("localhost:8786")
    for bad in ("not a url", "tcp://", "http://x"):
        with pytest.raises(SchedulerError):
            check_scheduler_address(bad)


def test_worker_exits_when_its_parent_dies(tmp_path):
    """A grandchild running watch_parent dies with its parent (SIGKILLed)."""
    pidfile = tmp_path / "pid"
    code = f"""
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c",
    "import os, time; from jepatheory.sim.sweep import watch_parent; "
    "watch_parent(os.getppid(), interval=0.1); "
    "open({str(pidfile)!r}, 'w').write(str(os.getpid())); time.sleep(60)"])
time.sleep(60)
"""
    parent = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.time() + 30
    while not (pidfile.exists() and pidfile.read_text()) and time.time() < deadline:
        time.sleep(0.05)
    worker = int(pidfile.read_text())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            break
        try:  # reaped by init; a zombie would still answer kill(0)
            with open(f"/proc/{worker}/stat") as fh:
                if fh.read().split()[2] == "Z":
                    break
        except OSError:
            break
        time.sleep(0.1)
    else:
        os.kill(worker, signal.SIGKILL)
        pytest.fail("the worker outlived its parent")


# ----------------------------------------------------------------------------- CLI helpers
def test_validators():
    import argparse

    from jepatheory.cli import _common as c
    assert c.positive_int("1e5") == 100000 and c.seed_int("0") == 0
    assert c.probability("0.05") == 0.05
    for fn, bad in [(c.positive_int, "0"), (c.positive_int, "1.5"), (c.positive_int, "nan"),
                    (c.seed_int, "-1"), (c.probability, "1"), (c.finite_float, "inf"),
                    (c.positive_int, "1e400")]:
        with pytest.raises(argparse.ArgumentTypeError):
            fn(bad)


def test_output_paths_never_create_missing_folders(tmp_path):
    from jepatheory.cli._common import check_output_dir, check_output_file, write_json
    with pytest.raises(OutputPathError, match="does not exist"):
        write_json(tmp_path / "a" / "b" / "x.json", {})
    assert not (tmp_path / "a").exists()
    with pytest.raises(OutputPathError, match="is a directory"):
        check_output_file(tmp_path)
    (tmp_path / "f").write_text("")
    with pytest.raises(OutputPathError, match="not a folder"):
        check_output_dir(tmp_path / "f")
    assert check_output_dir(tmp_path / "new") == tmp_path / "new"  # one new level is fine


def test_wide_table_is_at_most_100_columns():
    from jepatheory.cli._common import wide_table
    row = {f"column_{i}": 1.23456789 * i for i in range(40)}
    text = wide_table([row])
    assert max(len(line) for line in text.splitlines()) <= 100
    assert all(f"column_{i}" in text for i in range(40))


def test_third_party_warnings_are_translated(capsys):
    from jepatheory.cli._common import translate_warnings
    show = translate_warnings("relax")
    show(UserWarning("Solution may be inaccurate. Try another solver"), UserWarning,
         "/site-packages/cvxpy/problems/problem.py", 1)
    show(DeprecationWarning("\x1b[33mWARN: The environment Taxi-v3 is out of date.\x1b[0m"),
         DeprecationWarning, "/site-packages/gymnasium/envs/registration.py", 1)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2
    assert "reduced accuracy" in err[0] and "certified" in err[0]
    assert "\x1b" not in err[1] and "result is unaffected" in err[1]


def test_memory_error_gets_a_message():
    from jepatheory.cli._common import error_message
    assert "out of memory" in error_message(MemoryError())
    assert error_message(OSError(13, "Permission denied", "/x")) == "/x: Permission denied"


def test_demo_sections_are_validated():
    from jepatheory.demo import check_sections
    assert check_sections(["graph", " spectrum"]) == ["graph", "spectrum"]
    with pytest.raises(EnvParameterError, match="unknown section"):
        check_sections(["bogus"])


def test_gym_import_still_works():
    pytest.importorskip("gymnasium")
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        mdp = make_env("gym", id="FrozenLake-v1")
    assert mdp.n_states == 16


def test_json_of_simulate_names_the_planners(capsys):
    from jepatheory.cli import main
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OddMDPWarning)
        code = main(["simulate", "--env", "chain:n=5", "--k", "2", "--n", "1e3", "--json"])
    d = json.loads(capsys.readouterr().out)
    assert code == 0 and d["regret_planner"] == "projected" and d["ladder_planner"] == "projected"
    assert "regret" in d and "R0" in d  # old keys kept
