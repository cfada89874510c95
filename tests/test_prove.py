"""``jepatheory prove``: one table, every THEORY ID present, non-zero exit on failure."""
from __future__ import annotations

import json

import pytest

from jepatheory.checks import STATUSES, CheckResult
from jepatheory.cli import main

#: THEORY IDs with a statement to check (D6 is a measured finding, checked by simulations).
THEORY_IDS = ["D1", "D2", "D3", "D4", "D5", "F1", "F2", "F3", "F4", "F5", "T1", "C1", "C2",
              "T2", "T3", "T4", "T4b", "T5", "T6"]
SYMBOLIC_IDS = ["D1", "D2", "D3", "D4", "D5", "F1", "F2", "F3", "F4", "F5", "T1", "C1", "C2",
                "T2"]


@pytest.fixture(scope="module")
def payload(tmp_path_factory):
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["prove", "--json"])
    return code, json.loads(buf.getvalue())


def test_prove_runs_everything_and_passes(payload):
    code, out = payload
    failed = [(c["id"], c["evidence"]) for c in out["checks"] if not c["passed"]]
    assert code == 0 and out["passed"], failed
    ids = {c["id"] for c in out["checks"]}
    for tid in THEORY_IDS:
        assert any(i == tid or i.startswith(tid + ".") for i in ids), f"{tid} missing"
    for c in out["checks"]:
        assert c["status"] in STATUSES
        assert c["proof"].startswith("proofs/")


def test_every_check_has_its_proof_document(payload):
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    _, out = payload
    for c in out["checks"]:
        if c["id"] in SYMBOLIC_IDS:
            assert (root / c["proof"]).is_file(), c["proof"]
    index = (root / "proofs" / "README.md").read_text()
    for tid in THEORY_IDS:
        assert f"| {tid} " in index, tid


def test_symbolic_statuses_are_honest(payload):
    _, out = payload
    st = {c["id"]: c["status"] for c in out["checks"]}
    for tid in ("T1", "C1", "C2", "F2", "F4"):
        assert st[tid] == "proved symbolically"
    for tid in ("T2", "F1", "F3", "F5", "D4"):
        assert st[tid] == "proved on paper and checked numerically"


def test_table_and_only(capsys):
    assert main(["prove", "--only", "T1,C1"]) == 0
    out = capsys.readouterr().out
    assert "T1" in out and "C1" in out and "F2" not in out
    for col in ("id", "statement", "status", "time", "passed"):
        assert col in out.splitlines()[0]


def test_failure_gives_nonzero_exit(monkeypatch, capsys):
    import jepatheory.cli.prove as prove
    bad = CheckResult(id="T1", statement="s", status=STATUSES[0], proof="proofs/T1.md",
                      passed=False, evidence="residual 2*x", seconds=0.0)
    monkeypatch.setattr(prove, "run_checks", lambda ids, seed=0, on_result=None: [bad])
    assert main(["prove"]) == 1
    assert "FAILED T1: residual 2*x" in capsys.readouterr().out


def test_bad_input_is_one_line(capsys):
    assert main(["prove", "--only", "NOPE"]) == 2
    assert main(["prove", "--derive", "P=[[[1-p, __import__('os')]], [[p, 1-p]]]",
                 "--params", "p"]) == 2
    err = capsys.readouterr().err
    assert "NOPE" in err and "__import__" in err and "Traceback" not in err


def test_derive_forms(capsys, tmp_path):
    assert main(["prove", "--derive", "two-state", "--k", "1"]) == 0
    assert "L(z,h)" in capsys.readouterr().out
    f = tmp_path / "r.tex"
    assert main(["prove", "--derive", "slip-chain:3", "--latex", str(f)]) == 0
    assert "\\begin{align*}" in f.read_text()
    capsys.readouterr()
    assert main(["prove", "--derive", "P=[[[1-p, p]], [[p, 1-p]]]", "--params", "p",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "user MDP"
    assert main(["prove", "--derive", "P=[[[1-p, 2*p]], [[p, 1-p]]]", "--params", "p"]) == 2
