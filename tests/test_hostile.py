"""A catalogue of hostile and careless inputs driven through the command line.

Every case must end with exit status 2, exactly one line on stderr, no traceback, within a
few seconds, in a child process whose address space is capped (``RLIMIT_AS``, 3 GiB), so an
unchecked allocation fails the case instead of the machine.

To keep the catalogue fast the children are forked from one driver process that has
imported the package once (a fresh interpreter per case costs about 2 s of imports);
each child sets its own memory limit, working folder and environment, runs
``jepatheory.cli.main`` and exits with its status. Run this file as a script to count the
passing cases of any checkout::

    PYTHONPATH=/path/to/checkout python tests/test_hostile.py
"""
from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

#: address-space cap of every case (the package imported with numpy, scipy and sympy maps
#: about 1 GiB; a case that tries to allocate more than the rest fails)
MEMORY_LIMIT = 3 * 2**30
#: seconds one case may take (most take well under one)
CASE_SECONDS = 20.0
#: seconds a case may take to count as "within seconds"
FAST_SECONDS = 8.0
#: cases running at once
JOBS = int(os.environ.get("HOSTILE_JOBS", "3"))

D = "{d}"  # replaced by the folder holding the hostile files


_MIN_MAX = "P=[[[Min(p, 1/2), 1 - Min(p, 1/2)]], [[Max(p, 1/2), 1 - Max(p, 1/2)]]]"

#: (case id, argv, extra environment)
CASES: list[tuple[str, list[str], dict[str, str]]] = [
    # --- environment sizes: refused before allocating
    ("chain-1e9", ["spectrum", "--env", "chain", "-p", "n=1000000000"], {}),
    ("chain-1e9-inline", ["bound", "--env", "chain:n=1e9"], {}),
    ("grid-1e5x1e5", ["spectrum", "--env", "grid", "-p", "width=100000", "-p",
                      "height=100000"], {}),
    ("tree-depth-40", ["spectrum", "--env", "tree", "-p", "depth=40"], {}),
    ("tree-branching", ["spectrum", "--env", "tree", "-p", "depth=8", "-p", "branching=100"],
     {}),
    ("maze-huge", ["ladder", "--env", "maze", "-p", "width=50000", "-p", "height=50000"], {}),
    ("expander-huge", ["spectrum", "--env", "expander", "-p", "n=1000000000"], {}),
    ("random-sparse-huge", ["spectrum", "--env", "random-sparse", "-p", "n=300000000"], {}),
    ("sbm-dense-huge", ["spectrum", "--env", "sbm", "-p", "clusters=1000", "-p", "size=100"],
     {}),
    ("block-mdp-huge", ["spectrum", "--env", "block-mdp", "-p", "obs_per_latent=10000000"],
     {}),
    ("grid-over-override", ["spectrum", "--env", "grid", "-p", "width=300", "-p",
                            "height=300", "--max-memory", "20M"], {}),
    ("grid-over-envvar", ["spectrum", "--env", "grid", "-p", "width=300", "-p", "height=300"],
     {"JEPATHEORY_MAX_MEMORY": "20M"}),
    ("max-memory-garbage", ["spectrum", "--max-memory", "lots"], {}),
    # --- parameters: duplicate, empty, malformed
    ("dup-inline", ["spectrum", "--env", "chain:n=5,n=6"], {}),
    ("dup-inline-and-p", ["spectrum", "--env", "chain:n=5", "-p", "n=7"], {}),
    ("dup-p", ["spectrum", "--env", "chain", "-p", "n=5", "-p", "n=6"], {}),
    ("empty-item", ["spectrum", "--env", "chain:n=5,,slip=0.1"], {}),
    ("trailing-comma", ["spectrum", "--env", "chain:n=5,"], {}),
    ("n-1e400", ["spectrum", "--env", "chain", "-p", "n=1e400"], {}),
    ("slip-nan", ["spectrum", "--env", "chain", "-p", "slip=nan"], {}),
    ("slip-huge-digits", ["spectrum", "--env", "chain", "-p", "slip=" + "9" * 5000], {}),
    ("rooms-unknown-letter", ["spectrum", "--env", "rooms", "-p", "map=#####/#.x.#/#..G#/#####"],
     {}),
    ("rooms-no-goal", ["spectrum", "--env", "rooms", "-p", "map=#####/#...#/#...#/#####"], {}),
    ("unknown-env", ["spectrum", "--env", "nosuch"], {}),
    ("gym-entry-point", ["spectrum", "--env", "gym", "-p", "id=os.path:join"], {}),
    ("gym-unregistered", ["spectrum", "--env", "gym", "-p", "id=NoSuchEnv-v0"], {}),
    # --- options
    ("seed-negative-spectrum", ["spectrum", "--seed", "-1"], {}),
    ("seed-negative-ladder", ["ladder", "--seed", "-1"], {}),
    ("seed-negative-simulate", ["simulate", "--seed", "-1"], {}),
    ("maze-seed-negative", ["spectrum", "--env", "maze", "-p", "seed=-1"], {}),
    ("spectrum-k-0", ["spectrum", "--k", "0"], {}),
    ("spectrum-k-above-rank", ["spectrum", "--env", "chain", "-p", "n=4", "--k", "100"], {}),
    ("bound-k-above-rank", ["bound", "--env", "chain", "-p", "n=4", "--k", "100", "--no-scan"],
     {}),
    ("bound-n-1e400", ["bound", "--n", "1e400", "--no-scan"], {}),
    ("bound-delta-2", ["bound", "--delta", "2"], {}),
    # --- paper form: class, floor, per-action spectra on a huge grid
    ("paper-class-bogus", ["bound", "--form", "paper", "--class", "quadratic"], {}),
    ("paper-floor-bogus", ["bound", "--form", "paper", "--floor", "exactly"], {}),
    ("paper-floor-bracket-per-action", ["bound", "--form", "paper", "--floor", "bracket",
                                        "--normalization", "per-action"], {}),
    ("per-action-huge-grid", ["spectrum", "--env", "grid", "-p", "width=100000", "-p",
                              "height=100000", "--per-action"], {}),
    ("ladder-n-garbage", ["ladder", "--n", "abc"], {}),
    ("simulate-steps-0", ["simulate", "--trainer", "spectral", "--steps", "0"], {}),
    ("simulate-steps-neg", ["simulate", "--trainer", "spectral", "--steps", "-5"], {}),
    ("simulate-n-0", ["simulate", "--n", "0"], {}),
    ("simulate-n-1e400", ["simulate", "--n", "1e400"], {}),
    ("simulate-n-1e13", ["simulate", "--n", "1e13"], {}),
    ("simulate-delta-nan", ["simulate", "--delta", "nan"], {}),
    ("simulate-rollouts-0", ["simulate", "--rollouts", "0"], {}),
    ("nu-bogus", ["spectrum", "--nu", "bogus"], {}),
    # --- output paths
    ("csv-missing-folder", ["spectrum", "--csv", "{d}/no/such/x.csv"], {}),
    ("csv-is-dir", ["spectrum", "--csv", "{d}"], {}),
    ("plot-missing-parent", ["bound", "--no-scan", "--plot", "{d}/no/such/figs"], {}),
    ("out-is-dir", ["simulate", "--out", "{d}"], {}),
    ("ladder-plot-is-dir", ["ladder", "--plot", "{d}"], {}),
    ("demo-out-is-file", ["demo", "--out", "{d}/afile.txt"], {}),
    ("demo-sections-bogus", ["demo", "--sections", "bogus", "--out", "{d}/demo"], {}),
    ("prove-latex-dir", ["prove", "--derive", "two-state", "--latex", "{d}"], {}),
    ("design-out-missing", ["design", "--grid", "3x3", "--out", "{d}/no/such/designed"], {}),
    # --- .npz files
    ("npz-missing", ["spectrum", "--mdp", "{d}/missing.npz"], {}),
    ("npz-dir", ["spectrum", "--mdp", "{d}"], {}),
    ("npz-dev-null", ["spectrum", "--mdp", "/dev/null"], {}),
    ("npz-random-bytes", ["spectrum", "--mdp", "{d}/random.npz"], {}),
    ("npz-header-bomb", ["spectrum", "--mdp", "{d}/header_bomb.npz"], {}),
    ("npz-lying-header", ["spectrum", "--mdp", "{d}/lying.npz"], {}),
    ("npz-zip-bomb", ["spectrum", "--mdp", "{d}/bomb.npz"], {"JEPATHEORY_MAX_MEMORY": "200M"}),
    ("npz-many-members", ["spectrum", "--mdp", "{d}/many.npz"], {}),
    ("npz-with-p", ["spectrum", "--mdp", "{d}/good.npz", "-p", "n=3"], {}),
    # --- expressions
    ("expr-pow-1000", ["prove", "--derive", "P=[[[(p+1)**1000/2**1000, 1-(p+1)**1000/2**1000]],"
                       " [[p, 1-p]]]", "--params", "p"], {}),
    ("expr-tower", ["prove", "--derive", "P=[[[2**exp(exp(exp(100))), 0]], [[p, 1-p]]]",
                    "--params", "p"], {}),
    ("expr-1e999", ["prove", "--derive", "P=[[[1e999, 0]], [[p, 1-p]]]", "--params", "p"], {}),
    ("expr-pow-pow", ["prove", "--derive", "P=[[[(10**1000)**9, 0]], [[p, 1-p]]]",
                      "--params", "p"], {}),
    ("expr-exp4", ["prove", "--derive", "P=[[[exp(exp(exp(exp(10)))), 0]], [[p, 1-p]]]",
                   "--params", "p"], {}),
    ("expr-digits", ["prove", "--derive", "P=[[[" + "9" * 3000 + ", 0]], [[p, 1-p]]]",
                     "--params", "p"], {}),
    ("expr-int-digits", ["prove", "--derive", "P=[[[" + "9" * 200 + ", 0]], [[p, 1-p]]]",
                         "--params", "p"], {}),
    ("expr-timeout", ["prove", "--derive", "P=[[[(p+1)**32/2**32, 1-(p+1)**32/2**32]],"
                      " [[p, 1-p]]]", "--params", "p", "--k", "1", "--timeout", "0.05"], {}),
    ("expr-nesting", ["prove", "--derive", "P=[[[" + "(" * 200 + "p" + ")" * 200 + ", 1-p]],"
                      " [[p, 1-p]]]", "--params", "p"], {}),
    ("expr-import", ["prove", "--derive", "P=[[[__import__('os').getcwd(), 0]], [[p, 1-p]]]",
                     "--params", "p"], {}),
    ("expr-minmax-not-stochastic", ["prove", "--derive", _MIN_MAX.replace("1 - Max", "2 - Max"),
                                    "--params", "p"], {}),
    ("prove-k-negative", ["prove", "--derive", "two-state", "--k", "-2"], {}),
    ("prove-only-bogus", ["prove", "--only", "ZZ9"], {}),
    ("prove-slip-chain-100", ["prove", "--derive", "slip-chain:100"], {}),
    # --- sweep
    ("sweep-seeds-1e8", ["sweep", "--seeds", "0-100000000", "--store", "{d}/s1.db"], {}),
    ("sweep-k-range-huge", ["sweep", "--k", "1-1000000000", "--store", "{d}/s2.db"], {}),
    ("sweep-n-1e400", ["sweep", "--n", "1e400", "--store", "{d}/s3.db"], {}),
    ("sweep-store-foreign", ["sweep", "--store", "{d}/foreign.db", "--k", "1", "--n", "100",
                             "--seeds", "0", "--trainer", "erm"], {}),
    ("sweep-store-random", ["sweep", "--store", "{d}/random.db", "--k", "1", "--n", "100",
                            "--seeds", "0", "--trainer", "erm"], {}),
    ("sweep-store-other-schema", ["sweep", "--store", "{d}/other.db", "--k", "1", "--n",
                                  "100", "--seeds", "0", "--trainer", "erm"], {}),
    ("sweep-store-garbage-row", ["sweep", "--store", "{d}/garbage.db", "--k", "1", "--n",
                                 "100", "--seeds", "0", "--trainer", "erm", "--workers", "1"],
     {}),
    ("sweep-store-dir", ["sweep", "--store", "{d}", "--k", "1", "--n", "100", "--seeds",
                         "0", "--trainer", "erm"], {}),
    ("sweep-store-dev-null", ["sweep", "--store", "/dev/null", "--k", "1", "--n", "100",
                              "--seeds", "0", "--trainer", "erm"], {}),
    ("sweep-store-missing-folder", ["sweep", "--store", "{d}/no/such/s.db"], {}),
    ("sweep-scheduler-garbage", ["sweep", "--store", "{d}/s4.db", "--scheduler",
                                 "not a url", "--k", "1", "--n", "100", "--seeds", "0",
                                 "--trainer", "erm"], {}),
    ("sweep-workers-0", ["sweep", "--store", "{d}/s5.db", "--workers", "0"], {}),
    ("sweep-trainer-bogus", ["sweep", "--store", "{d}/s6.db", "--trainer", "bogus"], {}),
    ("sweep-seed-negative", ["sweep", "--store", "{d}/s7.db", "--seed", "-1"], {}),
    # --- design
    ("design-grid-garbage", ["design", "--grid", "axb"], {}),
    ("design-grid-huge", ["design", "--grid", "100000x100000"], {}),
    ("design-graph-missing", ["design", "--graph", "{d}/missing.graphml"], {}),
    ("design-graph-dir", ["design", "--graph", "{d}"], {}),
    ("design-graph-text", ["design", "--graph", "{d}/afile.txt"], {}),
    ("design-graph-negative-weight", ["design", "--graph", "{d}/neg.graphml", "--out",
                                      "{d}/des"], {}),
    ("design-graph-nan-weight", ["design", "--graph", "{d}/nan.graphml", "--out",
                                 "{d}/des"], {}),
    ("design-graph-too-big", ["design", "--graph", "{d}/k60.graphml", "--out",
                              "{d}/des", "--max-memory", "30M"], {}),
    ("design-gamma-nan", ["design", "--grid", "3x3", "--gamma", "nan"], {}),
    ("design-k-0", ["design", "--grid", "3x3", "--k", "0"], {}),
    # --- bench sizes
    ("bench-spectrum-negative", ["bench", "spectrum", "--n-states", "-4"], {}),
    ("bench-spectrum-k-0", ["bench", "spectrum", "--k", "0"], {}),
    ("bench-spectrum-huge", ["bench", "spectrum", "--n-states", "1e12"], {}),
    ("bench-bound-huge", ["bench", "bound", "--width", "100000", "--height", "100000"], {}),
    # --- relax
    ("relax-k-0", ["relax", "--k", "0"], {}),
]


def make_files(d: Path) -> None:
    """The hostile files the cases name."""
    (d / "afile.txt").write_text("not a graph, not an archive\n")
    rng = np.random.default_rng(0)
    (d / "random.npz").write_bytes(rng.bytes(4096))
    (d / "random.db").write_bytes(rng.bytes(8192))
    good = dict(P=np.full((3, 2, 3), 1 / 3), r=np.zeros((3, 2)), gamma=np.float64(0.9),
                rho0=np.full(3, 1 / 3))
    np.savez(d / "good.npz", **good)
    np.savez(d / "many.npz", **good, **{f"extra{i}": np.zeros(1) for i in range(100)})

    def member(zf: zipfile.ZipFile, name: str, shape: tuple, data: bytes) -> None:
        hdr = io.BytesIO()
        np.lib.format.write_array_header_1_0(hdr, dict(descr="<f8", fortran_order=False,
                                                       shape=shape))
        zf.writestr(name + ".npy", hdr.getvalue() + data)

    def others(zf: zipfile.ZipFile, n: int) -> None:
        for k, a in dict(r=np.zeros((n, 2)), gamma=np.float64(0.9),
                         rho0=np.full(n, 1 / n)).items():
            b = io.BytesIO()
            np.save(b, a)
            zf.writestr(k + ".npy", b.getvalue())

    with zipfile.ZipFile(d / "header_bomb.npz", "w") as zf:  # declares 8e15 bytes
        member(zf, "P", (10**6, 1000, 10**6), b"")
        others(zf, 3)
    with zipfile.ZipFile(d / "lying.npz", "w") as zf:  # declares 6 GiB, holds 8 bytes
        member(zf, "P", (20000, 2, 20000), bytes(8))
        others(zf, 20000)
    # a real bomb: 256 MiB of zeros, a few hundred KiB compressed
    n = 4096
    with zipfile.ZipFile(d / "bomb.npz", "w", compression=zipfile.ZIP_DEFLATED) as zf:
        hdr = io.BytesIO()
        np.lib.format.write_array_header_1_0(hdr, dict(descr="<f8", fortran_order=False,
                                                       shape=(n, 2, n)))
        with zf.open("P.npy", "w", force_zip64=True) as fh:
            fh.write(hdr.getvalue())
            chunk = bytes(1 << 22)
            for _ in range(n * 2 * n * 8 // len(chunk)):
                fh.write(chunk)
        others(zf, n)
    con = sqlite3.connect(d / "foreign.db")
    con.execute("CREATE TABLE users (name TEXT, email TEXT)")
    con.execute("INSERT INTO users VALUES ('ann', 'ann@example.org')")
    con.commit()
    con.close()
    con = sqlite3.connect(d / "other.db")
    con.execute("CREATE TABLE cells (id INTEGER, payload BLOB)")
    con.commit()
    con.close()
    con = sqlite3.connect(d / "garbage.db")
    con.execute("CREATE TABLE cells (key TEXT PRIMARY KEY, config TEXT NOT NULL, result TEXT, "
                "error TEXT, finished REAL NOT NULL)")
    con.execute("INSERT INTO cells VALUES (?, ?, ?, NULL, 0)", ("zz", "{not json",
                                                              b"\x00\x01garbage"))
    con.commit()
    con.close()

    def graphml(name: str, weight: str) -> None:
        (d / name).write_text(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<graphml xmlns="http://graphml.graphdrawing.org/xmlns">\n'
            '<key id="w" for="edge" attr.name="weight" attr.type="double"/>\n'
            '<graph edgedefault="undirected">\n'
            '<node id="a"/><node id="b"/><node id="c"/>\n'
            f'<edge source="a" target="b"><data key="w">{weight}</data></edge>\n'
            '<edge source="b" target="c"><data key="w">1.0</data></edge>\n'
            '<edge source="c" target="a"><data key="w">1.0</data></edge>\n'
            '</graph></graphml>\n')

    graphml("neg.graphml", "-1.0")
    graphml("nan.graphml", "NaN")
    import networkx as nx
    nx.write_graphml(nx.complete_graph(60), d / "k60.graphml")


DRIVER = r"""
import json, os, resource, sys, time, traceback
spec = json.load(sys.stdin)
from jepatheory.cli import main
import numpy, scipy.sparse, sympy  # noqa: F401  (shared by the forked children)
results, running = [], {}
queue = list(enumerate(spec["cases"]))

def start(i, case):
    err = os.path.join(spec["dir"], f".case{i}.err")
    pid = os.fork()
    if pid == 0:
        try:
            resource.setrlimit(resource.RLIMIT_AS, (spec["limit"], spec["limit"]))
            os.chdir(spec["cwd"])
            fd = os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(fd, 2)
            nul = os.open(os.devnull, os.O_RDWR)
            os.dup2(nul, 1)
            os.dup2(nul, 0)
            os.environ.update(case["env"])
            try:
                rc = main(case["argv"])
            except SystemExit as exc:
                rc = exc.code if isinstance(exc.code, int) else (1 if exc.code else 0)
            except BaseException:
                traceback.print_exc()
                rc = 1
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            rc = 99
        os._exit(rc or 0)
    running[pid] = (i, case, time.monotonic(), err)

while queue or running:
    while queue and len(running) < spec["jobs"]:
        start(*queue.pop(0))
    time.sleep(0.02)
    for pid, (i, case, t0, err) in list(running.items()):
        done, status = os.waitpid(pid, os.WNOHANG)
        elapsed = time.monotonic() - t0
        if done == 0 and elapsed < spec["timeout"]:
            continue
        if done == 0:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            rc = "timeout"
        elif os.WIFSIGNALED(status):
            rc = f"signal {os.WTERMSIG(status)}"
        else:
            rc = os.WEXITSTATUS(status)
        with open(err, errors="replace") as fh:
            text = fh.read()
        results.append(dict(id=case["id"], rc=rc, stderr=text, seconds=elapsed))
        del running[pid]
print(json.dumps(results))
"""


def run_catalogue(d: Path, pythonpath: str | None = None, cases=None) -> list[dict]:
    """Run ``cases`` (default :data:`CASES`) against the checkout on ``pythonpath``."""
    cases = CASES if cases is None else cases
    cwd = d / "cwd"
    cwd.mkdir(exist_ok=True)
    spec = dict(dir=str(d), cwd=str(cwd), limit=MEMORY_LIMIT, timeout=CASE_SECONDS, jobs=JOBS,
                cases=[dict(id=i, argv=[a.replace(D, str(d)) for a in argv], env=env)
                       for i, argv, env in cases])
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               MKL_NUM_THREADS="1", JEPATHEORY_NO_PROGRESS="1")
    env.pop("JEPATHEORY_DEBUG", None)
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    res = subprocess.run([sys.executable, "-c", DRIVER], input=json.dumps(spec),
                         capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout)


def verdict(r: dict) -> str | None:
    """None when the case behaved, else what went wrong."""
    lines = r["stderr"].strip().splitlines()
    if r["rc"] != 2:
        return f"exit {r['rc']}"
    if "Traceback" in r["stderr"]:
        return "traceback"
    if len(lines) != 1:
        return f"{len(lines)} stderr lines"
    if r["seconds"] > FAST_SECONDS:
        return f"took {r['seconds']:.1f}s"
    return None


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory) -> dict[str, dict]:
    d = tmp_path_factory.mktemp("hostile")
    make_files(d)
    root = str(Path(__file__).resolve().parents[1])
    return {r["id"]: r for r in run_catalogue(d, root)}


def test_catalogue_has_at_least_60_cases():
    assert len(CASES) >= 60
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.slow
@pytest.mark.parametrize("case", [c[0] for c in CASES])
def test_hostile_input_is_one_line_exit_2(catalogue, case):
    r = catalogue[case]
    assert verdict(r) is None, (verdict(r), r["stderr"][-2000:])


if __name__ == "__main__":  # count the passing cases of the checkout on PYTHONPATH
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        make_files(d)
        results = run_catalogue(d, os.environ.get("PYTHONPATH"))
    bad = [(r["id"], verdict(r), r["stderr"].strip().splitlines()[-1:] or [""])
           for r in results if verdict(r)]
    for case, why, last in sorted(bad):
        print(f"FAIL {case}: {why}: {last[0][:160]}")
    if os.environ.get("HOSTILE_VERBOSE"):
        for r in results:
            print(f"{r['id']:<32} {r['seconds']:5.1f}s  {r['stderr'].strip()[:200]}")
    print(f"{len(results) - len(bad)}/{len(results)} cases passed")
