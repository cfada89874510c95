"""The core command line: envs, spectrum, --mdp files, bad input (exit 2, one line, no
traceback), demo --quick, and ``python -m jepatheory``."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from jepatheory.cli import main
from jepatheory.cooccurrence import CoOccurrence
from jepatheory.envs import FAMILIES, make_env
from jepatheory.mdp import save_mdp

pytestmark = pytest.mark.filterwarnings("ignore::jepatheory.errors.OddMDPWarning")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv: str) -> dict:
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("jepatheory ") and "error:" in lines[0]
    for f in fragments:
        assert f in lines[0], (f, lines[0])


# ----------------------------------------------------------------------------- envs
def test_envs_json_lists_every_family(capsys):
    d = run_json(capsys, "envs")
    assert d["default"] == "four-rooms"
    assert set(d["families"]) == set(FAMILIES)
    assert d["families"]["chain"]["params"] == dict(n=20, slip=0.1, gamma=0.9)
    assert d["families"]["gym"]["extra"] == "gym"
    assert all(f["summary"] for f in d["families"].values())


def test_envs_text(capsys):
    code, out, _ = run(capsys, "envs")
    assert code == 0
    for name in FAMILIES:
        assert name in out
    assert "four-rooms (default)" in out


# ----------------------------------------------------------------------------- spectrum
SPECTRUM_KEYS = {"singular_values", "tail", "frobenius_sq", "n_left", "n_right", "residuals"}


def test_spectrum_json_default_env(capsys):
    d = run_json(capsys, "spectrum", "--k", "8")
    assert SPECTRUM_KEYS <= set(d)
    s = np.array(d["singular_values"])
    assert len(s) == 8 and (np.diff(s) <= 0).all()
    assert len(d["tail"]) == 9 and len(d["residuals"]) == 8
    assert (d["n_left"], d["n_right"]) == (416, 104)
    C = CoOccurrence(make_env("four-rooms"))
    ref = C.spectrum(8)
    # the same computation in the same process: equal to round-off
    assert np.abs(s - ref.singular_values).max() <= 1e-12
    assert d["frobenius_sq"] == pytest.approx(C.frobenius_sq, rel=1e-12)
    assert d["tail"][0] == pytest.approx(d["frobenius_sq"], rel=1e-12)
    tail = d["frobenius_sq"] - np.concatenate([[0], np.cumsum(s**2)])
    assert np.abs(np.array(d["tail"]) - tail).max() <= 1e-12
    assert max(d["residuals"]) <= 1e-10
    assert d["env"]["name"] == "four-rooms"


def test_spectrum_params_and_inline_form_agree(capsys):
    a = run_json(capsys, "spectrum", "--env", "chain", "-p", "n=12", "-p", "slip=1/5",
                 "--k", "4")
    b = run_json(capsys, "spectrum", "--env", "chain:n=12,slip=0.2", "--k", "4")
    assert a["singular_values"] == b["singular_values"]
    j = np.arange(12)
    closed = np.sort(np.sqrt(1 - 4 * 0.2 * 0.8 * np.sin(np.pi * j / 12) ** 2))[::-1][:4]
    # (the chain's closed form, derived in test_facts)
    assert np.abs(np.array(a["singular_values"]) - closed).max() <= 1e-12


def test_spectrum_k_above_the_rank_is_one_rule(capsys):
    """An explicit --k above min(n_left, n_right) is an error in spectrum and bound alike;
    the default k is cut at it."""
    d = run_json(capsys, "spectrum", "--env", "chain:n=5", "--k", "5")
    assert d["k"] == 5 and len(d["tail"]) == 6
    assert d["tail"][-1] == pytest.approx(0.0, abs=1e-12)
    assert run_json(capsys, "spectrum", "--env", "chain:n=5")["k"] == 5  # default 16, cut
    for cmd in (["spectrum"], ["bound", "--no-scan"]):
        code, _, err = run(capsys, *cmd, "--env", "chain:n=5", "--k", "100")
        assert_one_line_error(code, err, "--k 100: T has only 5 singular values")


def test_spectrum_text_and_csv(capsys, tmp_path):
    csv = tmp_path / "s.csv"
    code, out, _ = run(capsys, "spectrum", "--env", "ring:n=6", "--k", "3", "--csv", str(csv))
    assert code == 0 and "tail_0" in out
    rows = csv.read_text().strip().splitlines()
    assert rows[0].split(",")[:2] == ["i", "sigma"] and len(rows) == 4


def test_spectrum_of_an_npz_file_uses_its_nu(capsys, tmp_path):
    mdp = make_env("random-sparse", n=8, actions=2, seed=5)
    rng = np.random.default_rng(0)
    nu = rng.dirichlet(np.ones(16)).reshape(8, 2)
    path = save_mdp(tmp_path / "mine.npz", mdp, nu)
    d = run_json(capsys, "spectrum", "--mdp", str(path), "--k", "3")
    ref = CoOccurrence(mdp, nu).spectrum(3).singular_values
    assert np.abs(np.array(d["singular_values"]) - ref).max() <= 1e-12
    assert d["env"]["name"] == "mine"
    # --nu overrides the file's nu
    u = run_json(capsys, "spectrum", "--mdp", str(path), "--k", "3", "--nu", "uniform")
    ref_u = CoOccurrence(mdp).spectrum(3).singular_values
    assert np.abs(np.array(u["singular_values"]) - ref_u).max() <= 1e-12


def test_spectrum_reports_uncovered_pairs(capsys, tmp_path):
    mdp = make_env("chain", n=4)
    nu = np.full((4, 2), 1 / 6)
    nu[0] = 0.0
    path = save_mdp(tmp_path / "cov.npz", mdp, nu)
    d = run_json(capsys, "spectrum", "--mdp", str(path), "--k", "2")
    assert d["uncovered"] == 2 and d["n_left"] == 6


# ----------------------------------------------------------------------------- bad input
def bad_files(tmp_path) -> dict[str, tuple[str, str]]:
    """name -> (path, a fragment the error line must contain)."""
    good = dict(P=np.full((3, 2, 3), 1 / 3), r=np.zeros((3, 2)), gamma=0.9,
                rho0=np.full(3, 1 / 3))
    out = {}

    def npz(name: str, fragment: str, **change):
        arrays = {**good, **change}
        for k in [k for k, v in change.items() if v is None]:
            del arrays[k]
        np.savez(tmp_path / f"{name}.npz", **arrays)
        out[name] = (str(tmp_path / f"{name}.npz"), fragment)

    npz("missing", "missing array(s) ['rho0']", rho0=None)
    npz("rowsum", "P[0, 0, :] sums to 0.9", P=np.full((3, 2, 3), 0.3))
    npz("gamma", "gamma = 1", gamma=1.0)
    npz("negative", "is negative", P=np.array([[[1.5, -0.5, 0]] * 2] * 3))
    npz("nan", "is nan", r=np.full((3, 2), np.nan))
    npz("shape", "expected shape (S, A, S)", P=np.full((3, 3), 1 / 3))
    npz("rho0", "rho0 sums to 3", rho0=np.ones(3))
    npz("dtype", "non-numeric dtype", P=np.array(["x"]))
    npz("pickled", "non-numeric dtype object", P=np.array([object()], dtype=object))
    (tmp_path / "text.npz").write_text("not an archive")
    out["text"] = (str(tmp_path / "text.npz"), "not a zip archive")
    out["absent"] = (str(tmp_path / "absent.npz"), "no such file")
    return out


def test_malformed_mdp_files_exit_2_with_one_line(capsys, tmp_path):
    for name, (path, fragment) in bad_files(tmp_path).items():
        code, out, err = run(capsys, "spectrum", "--mdp", path)
        assert_one_line_error(code, err, fragment)
        assert out == "", name


@pytest.mark.parametrize("argv, fragment", [
    (["--env", "chain", "-p", "n=abc"], "n='abc' is not a valid int"),
    (["--env", "chain", "-p", "slip=2"], "slip = 2"),
    (["--env", "chain", "-p", "foo=1"], "unknown parameter 'foo'"),
    (["--env", "chain", "-p", "n"], "not KEY=VALUE"),
    (["--env", "nope"], "unknown environment 'nope'"),
    (["--env", "chain:n=1"], "n = 1"),
    (["--env", "chain", "-p", "gamma=1"], "gamma = 1"),
    (["--env", "chain", "--k", "-1"], "--k: '-1' is not a positive integer"),
])
def test_bad_parameters_exit_2(capsys, argv, fragment):
    try:
        code, _, err = run(capsys, "spectrum", *argv)
    except SystemExit as exc:  # a usage error from argparse: one line too
        code, err = exc.code, capsys.readouterr().err
    assert_one_line_error(code, err, fragment)


def test_param_with_mdp_file_is_refused(capsys, tmp_path):
    path = save_mdp(tmp_path / "m.npz", make_env("chain", n=3))
    code, _, err = run(capsys, "spectrum", "--mdp", str(path), "-p", "n=3")
    assert_one_line_error(code, err, "-p/--param applies to --env")


def test_env_and_mdp_are_exclusive(capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["spectrum", "--env", "chain", "--mdp", str(tmp_path / "m.npz")])
    assert exc.value.code == 2
    assert "not allowed with" in capsys.readouterr().err


# ----------------------------------------------------------------------------- demo, entry
def test_demo_quick_writes_report(capsys, tmp_path):
    out = tmp_path / "demo"
    # the core sections of the demo (later layers add their own, tested with them)
    code, stdout, err = run(capsys, "demo", "--quick", "--out", str(out),
                            "--sections", "graph,spectrum,facts")
    assert code == 0, err
    report = json.loads((out / "report.json").read_text())
    assert report["env"]["name"] == "four-rooms"
    assert report["facts"]["passed"] is True
    assert len(report["spectrum"]["singular_values"]) >= 1
    assert "report:" in stdout


def _cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("JEPATHEORY_DEBUG", None)
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def test_python_m_jepatheory_help():
    res = subprocess.run([sys.executable, "-m", "jepatheory", "--help"], capture_output=True,
                         text=True, timeout=120, env=_cli_env())
    assert res.returncode == 0, res.stderr
    for cmd in ("demo", "envs", "spectrum"):
        assert cmd in res.stdout


def test_subcommand_help_has_examples(capsys):
    for cmd in ("envs", "spectrum", "demo"):
        with pytest.raises(SystemExit) as exc:
            main([cmd, "--help"])
        assert exc.value.code == 0
        out = capsys.readouterr().out
        assert "examples:" in out and "--json" in out and "--seed" in out


def test_bad_file_in_a_real_process_has_no_traceback(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, P=np.full((2, 1, 2), 0.7), r=np.zeros((2, 1)), gamma=0.9,
             rho0=[0.5, 0.5])
    res = subprocess.run([sys.executable, "-m", "jepatheory", "spectrum", "--mdp", str(path)],
                         capture_output=True, text=True, timeout=120, env=_cli_env())
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines() == [
        "jepatheory spectrum: error: P[0, 0, :] sums to 1.4 (off by +0.4); 2 row(s) of P "
        "do not sum to 1"]


def test_json_conversion_of_results():
    """Reports carry numpy scalars and arrays, non-finite floats, paths and sets: all
    become strict JSON."""
    from pathlib import Path

    from jepatheory._results import to_jsonable

    value = dict(a=np.float32(1.5), b=np.array([np.nan, np.inf, -np.inf]), c=np.bool_(True),
                 d=Path("out") / "report.json", e={3, 1}, f=(np.int8(2),))
    text = json.dumps(to_jsonable(value), allow_nan=False)
    assert json.loads(text) == dict(a=1.5, b=[None, "inf", "-inf"], c=True,
                                    d=str(Path("out") / "report.json"), e=[1, 3], f=[2])


def test_readme_python_snippets_run(capsys):
    """Every ```python block of the README runs as written."""
    import re
    from pathlib import Path

    readme = Path(__file__).resolve().parents[1] / "README.md"
    blocks = re.findall(r"```python\n(.*?)```", readme.read_text(), flags=re.S)
    assert blocks
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {})
    capsys.readouterr()


def test_no_control_characters_in_package_strings():
    r"""A LaTeX docstring that is not raw turns \alpha, \beta, \varepsilon into control
    characters; catch that anywhere in the package."""
    import ast
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "jepatheory"
    bad = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and re.search(r"[\x07\x08\x0b\x0c]", node.value):
                bad.append(f"{path.relative_to(root)}:{node.lineno}")
    assert not bad, bad
