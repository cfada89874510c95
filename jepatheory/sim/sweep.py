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
* A cell of an MDP file (``mdp_file``) carries the SHA-256 of the file's content
  (``mdp_sha256``): editing the file makes new cells, never a stale match.
* Concurrent runs on one store split the work: a run claims a cell (a row in ``leases``
  with an expiry, renewed while the cell runs) before computing it and skips cells another
  live run holds; a killed run's claims expire after :data:`LEASE_SECONDS` and are taken
  over.
* A store is checked read-only before anything is written: a file that is not SQLite, a
  database with foreign tables or another ``cells`` schema raises
  :class:`~jepatheory.errors.StoreError` and is left untouched.
* Local workers exit when their parent dies (``PR_SET_PDEATHSIG`` on Linux and a watchdog
  thread polling the parent's pid elsewhere): a killed sweep leaves no orphans.
* Grids are counted before they are built: more than :data:`~jepatheory.limits.MAX_CELLS`
  cells is refused at once.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import sqlite3
import threading
import time
import traceback
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._threads import blas_threads_for_children
from .._progress import Progress
from .._results import Result, to_jsonable
from ..errors import SchedulerError, ShapeError, StoreError
from ..limits import check_count
from .measure import run_cell

__all__ = ["sweep_cells", "cell_key", "run_sweep", "load_results", "SweepSummary",
           "parse_int_list", "parse_str_list"]

_SCHEMA = """CREATE TABLE IF NOT EXISTS cells (
    key TEXT PRIMARY KEY, config TEXT NOT NULL, result TEXT, error TEXT,
    finished REAL NOT NULL)"""
_LEASES = """CREATE TABLE IF NOT EXISTS leases (
    key TEXT PRIMARY KEY, owner TEXT NOT NULL, expires REAL NOT NULL)"""
_META = """CREATE TABLE IF NOT EXISTS jepatheory_store (
    name TEXT PRIMARY KEY, value TEXT NOT NULL)"""
#: the tables a store may hold, and the columns of each
_TABLES = {"cells": ["key", "config", "result", "error", "finished"],
           "leases": ["key", "owner", "expires"], "jepatheory_store": ["name", "value"]}
_SQLITE_MAGIC = b"SQLite format 3\x00"
#: seconds a claim on a cell lasts without renewal (renewed while the cell runs)
LEASE_SECONDS = 120.0


@dataclass(frozen=True, repr=False)
class SweepSummary(Result):
    store: str
    total: int
    skipped: int
    ran: int
    errors: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    scheduler: str = "local"
    leased_elsewhere: int = 0

    _hidden = ("errors",)


def parse_int_list(text: str | int | Iterable[int], name: str) -> list[int]:
    """``"1,2,4"``, ``"0-4"``, ``"1e3,1e4"`` or a list -> sorted unique positive/zero ints.

    The number of values is counted before a range is expanded: more than
    :data:`~jepatheory.limits.MAX_CELLS` raises
    :class:`~jepatheory.errors.ResourceLimitError` at once."""
    if isinstance(text, int):
        return [text]
    if not isinstance(text, str):
        return sorted({int(v) for v in text})
    parts = [p.strip() for p in text.split(",") if p.strip()]
    spans: list[tuple[int, int]] = []
    for part in parts:
        try:
            if "-" in part[1:]:
                lo, hi = part.split("-", 1) if part[0] != "-" else (part, "")
                a, b = _int_of(lo), _int_of(hi)
                if b < a:
                    raise ShapeError(f"{name}: range {part!r} is empty (a-b needs a <= b)")
                spans.append((a, b))
            else:
                v = _int_of(part)
                spans.append((v, v))
        except (ValueError, OverflowError):
            raise ShapeError(f"{name}: {part!r} is not an integer or a range a-b") from None
    check_count(sum(b - a + 1 for a, b in spans), f"{name} {text}")
    out: set[int] = set()
    for a, b in spans:
        out.update(range(a, b + 1))
    if not out or min(out) < 0:
        raise ShapeError(f"{name}: {text!r} must list non-negative integers")
    return sorted(out)


def _int_of(text: str) -> int:
    """``"12"`` or ``"1e3"`` -> int; fractional, infinite or 30-digit values are refused."""
    text = text.strip()
    if len(text) > 30:
        raise ValueError(text)
    try:
        return int(text)
    except ValueError:
        v = float(text)
        if not math.isfinite(v) or v != int(v) or abs(v) > 2**53:
            raise ValueError(text) from None
        return int(v)


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
    ``horizon``: rollout data of that horizon instead of i.i.d. draws from nu. A cell of
    ``mdp_file`` carries ``mdp_sha256``, the hash of the file's content. The size of the
    grid is checked before it is built."""
    from .baselines import BASELINES
    axes = [list(envs), list(ks), list(ns), list(trainers), list(seeds)]
    check_count(math.prod(len(a) for a in axes), "sweep grid (env x k x n x trainer x seed)")
    digest = file_digest(mdp_file) if mdp_file else None
    cells, seen = [], set()
    for env, k, n, tr, seed in itertools.product(*axes):
        cell = dict(env=env, mdp_file=mdp_file, nu=nu, k=int(k) if tr not in BASELINES
                    else 0, n=int(n), trainer=tr, encoder=encoder if tr not in BASELINES
                    else "", planner=planner if tr not in BASELINES else "", seed=int(seed))
        if train_kw and tr not in BASELINES:
            cell["train_kw"] = dict(train_kw)
        if horizon:
            cell["horizon"] = int(horizon)
        if digest is not None:
            cell["mdp_sha256"] = digest
        key = cell_key(cell)
        if key not in seen:
            seen.add(key)
            cells.append(cell)
    return cells


def cell_key(cell: dict[str, Any]) -> str:
    return json.dumps(to_jsonable(cell), sort_keys=True, separators=(",", ":"))


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's content (the sweep keys MDP-file cells by it)."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError as exc:
        raise ShapeError(f"--mdp {str(path)!r}: cannot be read ({exc.strerror or exc})") \
            from None
    return h.hexdigest()


def check_store(path: str | Path, create: bool = True) -> bool:
    """Check, without writing anything, that ``path`` is a jepatheory store (or does not
    exist yet and can be created: ``create``). Returns whether it exists. Raises
    :class:`~jepatheory.errors.StoreError` for a folder, a device, a file that is not
    SQLite, a database with other tables or another ``cells`` schema."""
    p = Path(path)
    where = f"store {str(path)!r}"
    if not p.exists():
        if not create:
            raise StoreError(f"{where} does not exist")
        if not p.parent.is_dir():
            raise StoreError(f"{where}: folder {str(p.parent)!r} does not exist (create it "
                             "first)")
        return False
    if p.is_dir():
        raise StoreError(f"{where} is a directory, not an SQLite file")
    if not p.is_file():
        raise StoreError(f"{where} is not a regular file")
    with p.open("rb") as fh:
        head = fh.read(len(_SQLITE_MAGIC))
    if head == b"":
        return True  # an empty file: SQLite makes a fresh database of it
    if head != _SQLITE_MAGIC:
        raise StoreError(f"{where} is not an SQLite database (refusing to touch it)")
    try:
        con = sqlite3.connect(f"file:{p.resolve()}?mode=ro", uri=True, timeout=30)
        try:
            tables = {name: [c[1] for c in con.execute(f"PRAGMA table_info('{name}')")]
                      for (name,) in con.execute(
                          "SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{where} is not a readable SQLite database ({exc})") from None
    foreign = sorted(set(tables) - set(_TABLES))
    if foreign:
        raise StoreError(f"{where} is not a jepatheory store (it has the table(s) "
                         f"{', '.join(foreign)}); refusing to touch it")
    for name, cols in tables.items():
        if cols != _TABLES[name]:
            raise StoreError(f"{where}: table {name!r} has the columns {cols}, not "
                             f"{_TABLES[name]}: not a jepatheory store (refusing to touch it)")
    return True


def _connect(path: str | Path, kind: str = "sweep") -> sqlite3.Connection:
    """Open (or create) a store of ``kind`` after :func:`check_store`; refuse a store of
    another kind (a store without a kind tag holding cells is a sweep store)."""
    check_store(path)
    con = sqlite3.connect(str(path), timeout=30)
    try:
        with con:
            con.execute(_SCHEMA)
            con.execute(_LEASES)
            con.execute(_META)
            con.execute("INSERT OR IGNORE INTO jepatheory_store VALUES ('format', "
                        "'jepatheory sweep store 1')")
            row = con.execute("SELECT value FROM jepatheory_store WHERE name = 'kind'").fetchone()
            if row is None:
                filled = con.execute("SELECT count(*) FROM cells").fetchone()[0] > 0
                if filled and kind != "sweep":
                    raise StoreError(f"store {str(path)!r} holds sweep cells, not {kind} cells")
                con.execute("INSERT INTO jepatheory_store VALUES ('kind', ?)", (kind,))
            elif row[0] != kind:
                raise StoreError(f"store {str(path)!r} holds {row[0]} cells, not {kind} cells")
    except sqlite3.DatabaseError as exc:
        con.close()
        raise StoreError(f"store {str(path)!r} cannot be written ({exc})") from None
    except StoreError:
        con.close()
        raise
    return con


def _done(con: sqlite3.Connection) -> set[str]:
    try:
        return {row[0] for row in con.execute("SELECT key FROM cells WHERE error IS NULL")}
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        raise StoreError(f"the store's cells cannot be read ({exc}): corrupt store") from None


def _claim(con: sqlite3.Connection, key: str, owner: str) -> bool:
    """Claim ``key`` for ``owner`` unless a live claim of another run holds it."""
    now = time.time()
    with con:
        row = con.execute("SELECT owner, expires FROM leases WHERE key = ?", (key,)).fetchone()
        if row is not None and row[0] != owner and row[1] > now and _owner_alive(row[0]):
            return False
        if con.execute("SELECT 1 FROM cells WHERE key = ? AND error IS NULL",
                       (key,)).fetchone():
            return False  # finished by another run meanwhile
        con.execute("INSERT OR REPLACE INTO leases VALUES (?, ?, ?)",
                    (key, owner, now + LEASE_SECONDS))
    return True


def _host() -> str:
    return os.uname().nodename if hasattr(os, "uname") else "host"


def _owner_alive(owner: str) -> bool:
    """False when ``owner`` (``host:pid:tag``) is a run on this host whose process is gone
    (a killed run: its claims are taken over at once instead of after the expiry)."""
    parts = str(owner).split(":")
    if len(parts) < 3 or parts[0] != _host():
        return True
    try:
        pid = int(parts[1])
        os.kill(pid, 0)
    except ValueError:
        return True
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _renew(con: sqlite3.Connection, keys: Iterable[str], owner: str) -> None:
    with con:
        con.executemany("UPDATE leases SET expires = ? WHERE key = ? AND owner = ?",
                        [(time.time() + LEASE_SECONDS, k, owner) for k in keys])


def _release(con: sqlite3.Connection, owner: str) -> None:
    try:
        with con:
            con.execute("DELETE FROM leases WHERE owner = ?", (owner,))
    except sqlite3.DatabaseError:  # pragma: no cover - the store went away
        pass


def _write(con: sqlite3.Connection, cell: dict, result: dict | None, error: str | None) -> None:
    with con:  # one transaction per cell: a kill leaves the store consistent
        con.execute("INSERT OR REPLACE INTO cells (key, config, result, error, finished) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (cell_key(cell), cell_key(cell),
                     None if result is None else json.dumps(to_jsonable(result)), error,
                     time.time()))
        con.execute("DELETE FROM leases WHERE key = ?", (cell_key(cell),))


_SEEN_DIGEST: dict[str, str] = {}  # mdp_file -> the digest this process last loaded


def _guarded(cell: dict[str, Any], fn: Any = None) -> tuple[dict | None, str | None]:
    try:
        digest = cell.get("mdp_sha256")
        if digest:
            if file_digest(cell["mdp_file"]) != digest:
                raise StoreError(f"{cell['mdp_file']}: the file changed while the sweep ran")
            if _SEEN_DIGEST.get(cell["mdp_file"], digest) != digest:
                from .measure import load_problem  # cached by path: drop the old content
                load_problem.cache_clear()
            _SEEN_DIGEST[cell["mdp_file"]] = digest
        return (fn or run_cell)(_restore(cell)), None
    except Exception as exc:  # noqa: BLE001 - stored with the cell and reported
        return None, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"


def _restore(cell: dict[str, Any]) -> dict[str, Any]:
    out = dict(cell)
    out.pop("mdp_sha256", None)
    for key in ("encoder", "planner"):
        if not out.get(key):
            out.pop(key, None)
    return out


def run_sweep(cells: list[dict[str, Any]], store: str | Path, *, workers: int | None = None,
              scheduler: str | None = None, progress: bool | None = None,
              fn: Any = None, kind: str = "sweep", in_process: bool | None = None
              ) -> SweepSummary:
    """Run the cells not yet in ``store`` (see the module docstring). ``workers`` processes
    locally (default: all cores; 1 runs in this process), or the Dask scheduler at
    ``scheduler`` (an address such as ``tcp://host:8786``). ``fn`` computes one cell (a
    module-level function, default :func:`~jepatheory.sim.measure.run_cell`). Local workers
    are spawned with one BLAS thread each
    (:func:`jepatheory._threads.blas_threads_for_children`), so a script calling this with
    ``workers > 1`` needs the usual ``if __name__ == "__main__":`` guard. Cells another live
    run has claimed are left to it (counted in ``leased_elsewhere``). ``kind``: the store's
    tag (a store of another kind is refused). ``in_process``: None (default) runs one
    worker in this process; False spawns even a single worker (the same code path and BLAS
    setting as ``workers > 1``, the baseline for a fair speedup)."""
    t0 = time.perf_counter()
    if scheduler:
        check_scheduler_address(scheduler)
    w = (os.cpu_count() or 1) if workers is None else int(workers)
    if w < 1:
        raise ShapeError(f"workers = {workers!r} must be >= 1")
    owner = f"{_host()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    con = _connect(store, kind)
    keeper = _LeaseKeeper(store, owner)
    try:
        done = _done(con)
        todo = [c for c in cells if cell_key(c) not in done]
        errors: list[dict[str, Any]] = []
        elsewhere = [0]
        bar = Progress(len(todo), "sweep", enabled=progress)

        def claim(cell: dict) -> bool:
            ok = _claim(con, cell_key(cell), owner)
            if not ok:
                elsewhere[0] += 1
                bar.update(note="claimed by another run")
            return ok

        def record(cell: dict, res: dict | None, err: str | None) -> None:
            _write(con, cell, res, err)
            if err is not None:
                errors.append(dict(cell=cell, error=err.splitlines()[0]))
            bar.update(note=f"{cell['trainer']} k={cell['k']} n={cell['n']}")

        keeper.start()
        try:
            if scheduler:
                _run_dask(todo, scheduler, record, claim, fn)
                mode = f"dask {scheduler}"
            else:
                solo = w == 1 if in_process is None else bool(in_process)
                mode = f"local x{w}" + ("" if solo or w > 1 else " spawned")
                if solo or len(todo) <= 1:
                    for c in todo:
                        if claim(c):
                            record(c, *_guarded(c, fn))
                else:
                    _run_pool(todo, w, record, claim, fn)
        finally:
            bar.close()
        ran = len(todo) - elsewhere[0]
        return SweepSummary(str(store), len(cells), len(cells) - len(todo), ran,
                            errors, time.perf_counter() - t0, mode, elsewhere[0])
    finally:
        keeper.stop()
        _release(con, owner)
        con.close()


class _LeaseKeeper:
    """Renews this run's claims every ``LEASE_SECONDS / 4`` on its own connection."""

    def __init__(self, store: str | Path, owner: str) -> None:
        self.store, self.owner = str(store), owner
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sweep-leases", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(LEASE_SECONDS / 4):
            try:
                con = sqlite3.connect(self.store, timeout=30)
                try:
                    with con:
                        con.execute("UPDATE leases SET expires = ? WHERE owner = ?",
                                    (time.time() + LEASE_SECONDS, self.owner))
                finally:
                    con.close()
            except sqlite3.Error:  # pragma: no cover - retried at the next tick
                pass


def watch_parent(parent_pid: int, interval: float = 1.0) -> None:
    """Make this (worker) process exit when ``parent_pid`` dies: ``PR_SET_PDEATHSIG`` on
    Linux, and a daemon thread polling ``os.getppid()`` everywhere (also covers the
    moment between the parent's death and the prctl call)."""
    import signal
    if os.uname().sysname == "Linux" if hasattr(os, "uname") else False:
        try:
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG = 1
        except (OSError, AttributeError):  # pragma: no cover - no prctl
            pass

    def poll() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(interval)

    if os.getppid() != parent_pid:
        os._exit(1)
    threading.Thread(target=poll, name="parent-watchdog", daemon=True).start()


def _run_pool(todo: list[dict], workers: int, record: Any, claim: Any, fn: Any) -> None:
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    with blas_threads_for_children(1):  # spawned workers read it when importing numpy
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                 initializer=watch_parent, initargs=(os.getpid(),)) as ex:
            pending = iter(todo)
            futs: dict[Any, dict] = {}

            def fill() -> None:  # claim lazily: a concurrent run takes the cells we have not
                while len(futs) < 2 * workers:
                    c = next(pending, None)
                    if c is None:
                        return
                    if claim(c):
                        futs[ex.submit(_guarded, c, fn)] = c

            fill()
            while futs:
                finished, _ = wait(futs, return_when=FIRST_COMPLETED)
                for fut in finished:
                    record(futs.pop(fut), *fut.result())
                fill()


#: what a Dask scheduler address looks like: [protocol://]host:port
_ADDRESS = (r"^(?:(?:tcp|tls|ws|wss|ucx)://)?[A-Za-z0-9_.\-\[\]:]+:\d{1,5}$"
            r"|^inproc://[^\s]+$")


def check_scheduler_address(address: str) -> str:
    import re
    if not isinstance(address, str) or not re.match(_ADDRESS, address.strip()):
        raise SchedulerError(f"--scheduler {address!r}: not a scheduler address "
                             "(expected e.g. tcp://10.0.0.5:8786)")
    return address.strip()


def _run_dask(todo: list[dict], address: str, record: Any, claim: Any, fn: Any) -> None:
    from .._optional import require
    distributed = require("distributed")
    try:
        client = distributed.Client(address, set_as_default=False, timeout=15)
    except (OSError, TimeoutError, ValueError) as exc:
        raise SchedulerError(f"--scheduler {address!r}: cannot connect "
                             f"({type(exc).__name__}: {' '.join(str(exc).split())})") from None
    try:
        mine = [c for c in todo if claim(c)]
        with client.as_current():
            futs = [client.submit(_guarded, c, fn, pure=False) for c in mine]
            index = {f.key: c for f, c in zip(futs, mine)}
            for fut in distributed.as_completed(futs):
                record(index[fut.key], *fut.result())
    finally:
        client.close()


def load_results(store: str | Path, errors: bool = False) -> list[dict[str, Any]]:
    """Every finished cell's result (flat dicts; in key order, so independent of the order
    cells finished). ``errors=True`` returns the failed cells instead. The store is
    checked first (:func:`check_store`) and read only; a row that is not JSON raises
    :class:`~jepatheory.errors.StoreError` naming its key."""
    if not Path(store).exists():
        raise ShapeError(f"store {str(store)!r} does not exist")
    check_store(store, create=False)
    con = sqlite3.connect(f"file:{Path(store).resolve()}?mode=ro", uri=True)
    con.text_factory = bytes
    try:
        if errors:
            rows = con.execute("SELECT key, config, error FROM cells WHERE error IS NOT NULL "
                               "ORDER BY key").fetchall()
        else:
            rows = con.execute("SELECT key, config, result FROM cells WHERE error IS NULL "
                               "ORDER BY key").fetchall()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"store {str(store)!r} cannot be read ({exc})") from None
    finally:
        con.close()
    out = []
    for key, cfg, res in rows:
        try:
            config = json.loads(cfg)
            if errors:
                out.append(dict(config, error=res.decode() if res is not None else None))
                continue
            r = json.loads(res)
            if not isinstance(r, dict) or not isinstance(config, dict):
                raise ValueError("not a JSON object")
        except (ValueError, TypeError, AttributeError) as exc:
            shown = key.decode(errors="replace") if isinstance(key, bytes) else str(key)
            raise StoreError(f"store {str(store)!r}: row {shown[:60]!r} is corrupt "
                             f"({type(exc).__name__}); delete the row or use a new store") \
                from None
        r["cell"] = config
        out.append(r)
    return out
