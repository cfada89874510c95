"""Sweeps over environment x k x n x trainer x seed, stored in SQLite as each cell finishes.

* Every cell is a plain dict (:func:`sweep_cells`); its key is the canonical JSON of the
  dict, and its numbers depend on the cell alone (data seeded by ``seed``, nothing shared
  between cells), so the same cell gives identical numbers in any order, on any worker,
  locally or on Dask.
* :func:`run_sweep` skips cells already in the store, runs the rest (in-process, on a local
  process pool, or on a Dask scheduler) and writes each result in its own transaction the
  moment it arrives (a single writer: the parent). A sweep killed at any moment loses only
  the cells in flight; running it again resumes.
* A cell that raises (e.g. a ladder ordering violation, :class:`LadderOrderError`) is stored
  with its error, reported, and retried by the next run.
"""
from __future__ import annotations

import itertools
import json
import os
import sqlite3
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._threads import blas_threads_for_children
from .._progress import Progress
from .._results import Result, to_jsonable
from ..errors import ShapeError, StoreError
from .measure import run_cell

__all__ = ["sweep_cells", "cell_key", "run_sweep", "load_results", "SweepSummary",
           "parse_int_list", "parse_str_list"]

_SCHEMA = """CREATE TABLE IF NOT EXISTS cells (
    key TEXT PRIMARY KEY, config TEXT NOT NULL, result TEXT, error TEXT,
    finished REAL NOT NULL)"""
_COLUMNS = ["key", "config", "result", "error", "finished"]


@dataclass(frozen=True, repr=False)
class SweepSummary(Result):
    store: str
    total: int
    skipped: int
    ran: int
    errors: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    scheduler: str = "local"

    _hidden = ("errors",)


def parse_int_list(text: str | int | Iterable[int], name: str) -> list[int]:
    """``"1,2,4"``, ``"0-4"``, ``"1e3,1e4"`` or a list -> sorted unique positive/zero ints."""
    if isinstance(text, int):
        return [text]
    if not isinstance(text, str):
        return sorted({int(v) for v in text})
    out: set[int] = set()
    for part in (p.strip() for p in text.split(",") if p.strip()):
        try:
            if "-" in part[1:]:
                lo, hi = part.split("-", 1) if part[0] != "-" else (part, "")
                out.update(range(int(lo), int(hi) + 1))
            else:
                v = float(part)
                if v != int(v):
                    raise ValueError
                out.add(int(v))
        except ValueError:
            raise ShapeError(f"{name}: {part!r} is not an integer or a range a-b") from None
    if not out or min(out) < 0:
        raise ShapeError(f"{name}: {text!r} must list non-negative integers")
    return sorted(out)


def parse_str_list(text: str | Iterable[str], name: str, allowed: Iterable[str]) -> list[str]:
    items = [t.strip() for t in text.split(",")] if isinstance(text, str) else list(text)
    items = [t for t in items if t]
    allowed = tuple(allowed)
    for t in items:
        if t not in allowed:
            raise ShapeError(f"{name}: unknown value {t!r}; known: {', '.join(allowed)}")
    if not items:
        raise ShapeError(f"{name}: empty list")
    return list(dict.fromkeys(items))


def sweep_cells(envs: Iterable[str | None], ks: Iterable[int], ns: Iterable[int],
                trainers: Iterable[str], seeds: Iterable[int], *, encoder: str = "tabular",
                planner: str = "projected", nu: str | None = None,
                mdp_file: str | None = None, train_kw: dict[str, Any] | None = None,
                horizon: int | None = None) -> list[dict[str, Any]]:
    """The cells of env x k x n x trainer x seed (baselines ignore k: one cell per n, seed);
    ``horizon``: rollout data of that horizon instead of i.i.d. draws from nu."""
    from .baselines import BASELINES
    cells, seen = [], set()
    for env, k, n, tr, seed in itertools.product(list(envs), list(ks), list(ns),
                                                 list(trainers), list(seeds)):
        cell = dict(env=env, mdp_file=mdp_file, nu=nu, k=int(k) if tr not in BASELINES
                    else 0, n=int(n), trainer=tr, encoder=encoder if tr not in BASELINES
                    else "", planner=planner if tr not in BASELINES else "", seed=int(seed))
        if train_kw and tr not in BASELINES:
            cell["train_kw"] = dict(train_kw)
        if horizon:
            cell["horizon"] = int(horizon)
        key = cell_key(cell)
        if key not in seen:
            seen.add(key)
            cells.append(cell)
    return cells


def cell_key(cell: dict[str, Any]) -> str:
    return json.dumps(to_jsonable(cell), sort_keys=True, separators=(",", ":"))


def _connect(path: str | Path, kind: str = "sweep") -> sqlite3.Connection:
    """Open (or create) a store of ``kind``; refuse a file that is not one (another schema,
    another kind: a store without a kind tag is a sweep store)."""
    path = Path(path)
    if path.is_dir():
        raise StoreError(f"store {str(path)!r} is a directory")
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(str(path), timeout=30)
    try:
        con.execute(_SCHEMA)
        cols = [row[1] for row in con.execute("PRAGMA table_info(cells)")]
        if cols != _COLUMNS:
            raise StoreError(f"store {str(path)!r} has another schema (cells columns {cols})")
        con.execute("CREATE TABLE IF NOT EXISTS store_meta (name TEXT PRIMARY KEY, "
                    "value TEXT NOT NULL)")
        row = con.execute("SELECT value FROM store_meta WHERE name = 'kind'").fetchone()
        if row is None:
            filled = con.execute("SELECT count(*) FROM cells").fetchone()[0] > 0
            if filled and kind != "sweep":
                raise StoreError(f"store {str(path)!r} holds sweep cells, not {kind} cells")
            con.execute("INSERT INTO store_meta VALUES ('kind', ?)", (kind,))
        elif row[0] != kind:
            raise StoreError(f"store {str(path)!r} holds {row[0]} cells, not {kind} cells")
        con.commit()
    except sqlite3.DatabaseError as exc:
        con.close()
        raise StoreError(f"store {str(path)!r} is not a usable SQLite store ({exc})") from None
    except StoreError:
        con.close()
        raise
    return con


def _done(con: sqlite3.Connection) -> set[str]:
    return {row[0] for row in con.execute("SELECT key FROM cells WHERE error IS NULL")}


def _write(con: sqlite3.Connection, cell: dict, result: dict | None, error: str | None) -> None:
    with con:  # one transaction per cell: a kill leaves the store consistent
        con.execute("INSERT OR REPLACE INTO cells (key, config, result, error, finished) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (cell_key(cell), cell_key(cell),
                     None if result is None else json.dumps(to_jsonable(result)), error,
                     time.time()))


def _guarded(cell: dict[str, Any], fn: Any = run_cell) -> tuple[dict | None, str | None]:
    try:
        return fn(_restore(cell)), None
    except Exception as exc:  # noqa: BLE001 - stored with the cell and reported
        return None, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"


def _restore(cell: dict[str, Any]) -> dict[str, Any]:
    out = dict(cell)
    for key in ("encoder", "planner"):
        if not out.get(key):
            out.pop(key, None)
    return out


def run_sweep(cells: list[dict[str, Any]], store: str | Path, *, workers: int | None = None,
              scheduler: str | None = None, progress: bool | None = None,
              fn: Any = run_cell, kind: str = "sweep") -> SweepSummary:
    """Run the cells not yet in ``store`` (see the module docstring). ``workers`` processes
    locally (default: all cores; 1 runs in this process), or the Dask scheduler at
    ``scheduler`` (an address such as ``tcp://host:8786``). Local workers are spawned with
    one BLAS thread each (:func:`jepatheory._threads.blas_threads_for_children`), so a script calling this with
    ``workers > 1`` needs the usual ``if __name__ == "__main__":`` guard. ``fn``: the cell
    function (module-level, picklable; default :func:`~jepatheory.sim.measure.run_cell`);
    ``kind``: the store's tag (a store of another kind is refused)."""
    t0 = time.perf_counter()
    con = _connect(store, kind)
    try:
        done = _done(con)
        todo = [c for c in cells if cell_key(c) not in done]
        errors: list[dict[str, Any]] = []
        bar = Progress(len(todo), "sweep", enabled=progress)

        def record(cell: dict, res: dict | None, err: str | None) -> None:
            _write(con, cell, res, err)
            if err is not None:
                errors.append(dict(cell=cell, error=err.splitlines()[0]))
            bar.update(note=f"{cell['trainer']} k={cell['k']} n={cell['n']}")

        try:
            if scheduler:
                _run_dask(todo, scheduler, record, fn)
                mode = f"dask {scheduler}"
            else:
                w = (os.cpu_count() or 1) if workers is None else int(workers)
                if w < 1:
                    raise ShapeError(f"workers = {workers!r} must be >= 1")
                mode = f"local x{w}"
                if w == 1 or len(todo) <= 1:
                    for c in todo:
                        record(c, *_guarded(c, fn))
                else:
                    _run_pool(todo, w, record, fn)
        finally:
            bar.close()
        return SweepSummary(str(store), len(cells), len(cells) - len(todo), len(todo),
                            errors, time.perf_counter() - t0, mode)
    finally:
        con.close()


def _run_pool(todo: list[dict], workers: int, record: Any, fn: Any = run_cell) -> None:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed
    with blas_threads_for_children(1):  # spawned workers read it when importing numpy
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as ex:
            futs = {ex.submit(_guarded, c, fn): c for c in todo}
            for fut in as_completed(futs):
                record(futs[fut], *fut.result())


def _run_dask(todo: list[dict], address: str, record: Any, fn: Any = run_cell) -> None:
    from .._optional import require
    distributed = require("distributed")
    client = distributed.Client(address, set_as_default=False)
    try:
        with client.as_current():
            futs = client.map(_guarded, todo, fn=fn, pure=False)
            index = {f.key: c for f, c in zip(futs, todo)}
            for fut in distributed.as_completed(futs):
                record(index[fut.key], *fut.result())
    finally:
        client.close()


def load_results(store: str | Path, errors: bool = False) -> list[dict[str, Any]]:
    """Every finished cell's result (flat dicts; in key order, so independent of the order
    cells finished). ``errors=True`` returns the failed cells instead."""
    if not Path(store).exists():
        raise ShapeError(f"store {str(store)!r} does not exist")
    con = sqlite3.connect(str(store))
    try:
        if errors:
            rows = con.execute("SELECT config, error FROM cells WHERE error IS NOT NULL "
                               "ORDER BY key").fetchall()
            return [dict(json.loads(c), error=e) for c, e in rows]
        rows = con.execute("SELECT config, result FROM cells WHERE error IS NULL "
                           "ORDER BY key").fetchall()
    finally:
        con.close()
    out = []
    for cfg, res in rows:
        r = json.loads(res)
        r["cell"] = json.loads(cfg)
        out.append(r)
    return out
