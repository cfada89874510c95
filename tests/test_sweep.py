"""Sweeps: SQLite store, resume after a kill at any moment, same numbers in-process, on a
local process pool and on Dask (LocalCluster), errors stored and reported."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from jepatheory.cli import main
from jepatheory.errors import ShapeError
from jepatheory.sim.sweep import (cell_key, load_results, parse_int_list, run_sweep,
                                  sweep_cells)

ENV = "chain:n=10,slip=0.2"
TIMING = ("seconds", "train_seconds", "plan_seconds")


def _cells(**kw):
    return sweep_cells([ENV], [1, 3], [400, 1500], ["erm", "spectral", "count"], [0, 1],
                       train_kw=dict(steps=60), **kw)


def _numbers(rows):
    return {cell_key(r["cell"]): {k: v for k, v in r.items() if k not in TIMING}
            for r in rows}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    path = tmp_path_factory.mktemp("sweep") / "ref.db"
    summary = run_sweep(_cells(), path, workers=1, progress=False)
    assert summary.ran == len(_cells()) and not summary.errors
    return _numbers(load_results(path))


def test_cells_and_parsing():
    cells = _cells()
    # baselines ignore k: 2 n x 2 seeds; latent trainers: 2 k x 2 n x 2 trainers x 2 seeds
    assert len(cells) == 4 + 16
    assert len({cell_key(c) for c in cells}) == len(cells)
    assert parse_int_list("0-3,7", "s") == [0, 1, 2, 3, 7]
    assert parse_int_list("1e3,1e4", "n") == [1000, 10000]
    with pytest.raises(ShapeError):
        parse_int_list("a", "n")


def test_resume_skips_finished_cells(tmp_path, reference):
    path = tmp_path / "s.db"
    half = _cells()[:7]
    assert run_sweep(half, path, workers=1, progress=False).ran == 7
    again = run_sweep(_cells(), path, workers=1, progress=False)
    assert (again.skipped, again.ran) == (7, len(_cells()) - 7)
    assert _numbers(load_results(path)) == reference


def test_local_process_pool_gives_identical_numbers(tmp_path, reference):
    path = tmp_path / "p.db"
    run_sweep(_cells(), path, workers=2, progress=False)
    assert _numbers(load_results(path)) == reference


def test_dask_local_cluster_gives_identical_numbers(tmp_path, reference):
    distributed = pytest.importorskip("distributed")
    path = tmp_path / "d.db"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        summary = run_sweep(_cells(), path, scheduler=cluster.scheduler_address,
                            progress=False)
    assert summary.scheduler.startswith("dask")
    assert _numbers(load_results(path)) == reference


def test_killed_sweep_resumes_without_losing_or_redoing_cells(tmp_path, reference):
    path = tmp_path / "k.db"
    args = [sys.executable, "-m", "jepatheory", "sweep", "--env", ENV, "--k", "1,3",
            "--n", "400,1500", "--trainer", "erm,spectral,count", "--seeds", "0-1",
            "--steps", "60", "--store", str(path), "--workers", "1"]
    env = dict(os.environ, JEPATHEORY_PROGRESS="0", OPENBLAS_NUM_THREADS="1")
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    done = 0
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        if path.exists():
            try:
                done = sqlite3.connect(path).execute("SELECT count(*) FROM cells").fetchone()[0]
            except sqlite3.Error:
                done = 0
            if done >= 3:
                break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    kept = load_results(path)
    assert len(kept) >= 3
    first = {cell_key(r["cell"]) for r in kept}
    stamps = dict(sqlite3.connect(path).execute("SELECT key, finished FROM cells"))
    rc = main(args[3:])
    assert rc == 0
    rows = load_results(path)
    assert _numbers(rows) == reference                      # nothing lost, same numbers
    after = dict(sqlite3.connect(path).execute("SELECT key, finished FROM cells"))
    assert all(after[k] == stamps[k] for k in first)        # finished cells not redone


def test_errors_are_stored_and_reported(tmp_path):
    bad = [dict(env=ENV, mdp_file=None, nu=None, k=2, n=300, trainer="erm", encoder="linear",
                planner="projected", seed=0)]
    s = run_sweep(bad, tmp_path / "e.db", workers=1, progress=False)
    assert len(s.errors) == 1 and "tabular" in s.errors[0]["error"]
    assert load_results(tmp_path / "e.db") == []
    assert len(load_results(tmp_path / "e.db", errors=True)) == 1


def test_sweep_cli_rejects_a_bad_environment_before_running_cells(tmp_path, capsys):
    from jepatheory.cli import main

    store = tmp_path / "s.db"
    assert main(["sweep", "--env", "nope", "--store", str(store), "--seeds", "0"]) == 2
    assert "unknown environment 'nope'" in capsys.readouterr().err
