"""jepatheory.torch: NumPy and torch spectral trainers reach the same loss (within 1%); same
seed, same numbers; checkpoints round-trip and loading refuses arbitrary pickled objects;
a trained model audits through the encode/predict protocol; the package and the core never
import torch unless asked; simulate --backend torch."""
from __future__ import annotations

import json
import pickle
import subprocess
import sys

import numpy as np
import pytest

from jepatheory.audit import audit
from jepatheory.cli import main
from jepatheory.cooccurrence import CoOccurrence
from jepatheory.data import uniform_nu
from jepatheory.envs import make_env
from jepatheory.errors import MissingExtraError, ModelInputError
from jepatheory.model import empirical_loss
from jepatheory.sampling import sample_transitions

torch = pytest.importorskip("torch")
jt = pytest.importorskip("jepatheory.torch")

pytestmark = pytest.mark.filterwarnings("ignore::jepatheory.errors.OddMDPWarning")


@pytest.fixture(scope="module")
def chain():
    mdp = make_env("chain", n=10, slip=0.3)
    return mdp, sample_transitions(mdp, uniform_nu(mdp), 4000, 0)


@pytest.fixture(scope="module")
def block():
    mdp = make_env("block-mdp", latent_width=3, latent_height=3, obs_per_latent=4)
    return mdp, sample_transitions(mdp, uniform_nu(mdp), 4000, 1)


def test_torch_and_numpy_spectral_reach_the_same_loss(chain):
    from jepatheory.sim.trainers import train_spectral
    mdp, ds = chain
    kw = {"steps": 600, "batch": 512, "lr": 0.02}
    a = train_spectral(mdp, ds, 3, optimizer="dense", **kw)
    b = jt.train_torch("spectral", mdp, ds, 3, **kw)
    la = empirical_loss(a.emb.z, a.emb.h, ds.pair, ds.s2)
    # the criterion: same tabular problem, same loss within 1%
    assert b.log.loss == pytest.approx(la, rel=0.01)


def test_same_seed_same_numbers(block):
    mdp, ds = block
    kw = {"steps": 40, "batch": 64, "lr": 0.01}
    for trainer, reg in (("jepa", "sigreg"), ("spectral", "whiten")):
        a = jt.train_torch(trainer, mdp, ds, 4, "mlp", seed=3, reg=reg, **kw)
        b = jt.train_torch(trainer, mdp, ds, 4, "mlp", seed=3, reg=reg, **kw)
        np.testing.assert_array_equal(a.emb.z, b.emb.z)
        np.testing.assert_array_equal(a.emb.h, b.emb.h)
    c = jt.train_torch("spectral", mdp, ds, 4, "mlp", seed=4, **kw)
    assert not np.array_equal(c.emb.z, a.emb.z)


def test_regularizers_and_collapse(block):
    mdp, ds = block
    C = CoOccurrence(mdp)
    kw = {"steps": 150, "batch": 128, "lr": 0.01}
    col = jt.train_torch("collapse", mdp, ds, 4, "mlp", **kw)
    assert audit(C, col.emb).collapsed
    for reg in ("vicreg", "sigreg"):
        tr = jt.train_torch("jepa", mdp, ds, 4, "mlp", reg=reg, **kw)
        # the constant singular pair (F1) is fixed for the centred regularizers
        np.testing.assert_array_equal(tr.emb.h[:, 0], 1.0)
        assert np.isfinite(tr.log.loss)


def test_sigreg_small_for_gaussian_large_for_collapsed():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(2000, 4, generator=g, dtype=torch.float64)
    ok = float(jt.sigreg(X, torch.Generator().manual_seed(1)))
    bad = float(jt.sigreg(0.05 * X, torch.Generator().manual_seed(1)))
    # B * EP has an O(1) null distribution; a shrunken cloud scores of order B
    assert ok < 5.0 and bad > 100 * ok


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")
def test_checkpoint_roundtrip_protocol_audit_and_refusal(block, tmp_path, capsys):
    mdp, ds = block
    tr = jt.train_torch("jepa", mdp, ds, 4, "mlp", steps=50, batch=64, reg="whiten")
    f = jt.save_checkpoint(tr.model, tmp_path / "m.pt")
    model = jt.load_checkpoint(f, mdp)
    C = CoOccurrence(mdp)
    a, b = audit(C, tr.emb), audit(C, model)   # arrays vs the encode/predict protocol
    assert b.eps == pytest.approx(a.eps, rel=1e-5)   # float32 network, float64 audit
    code = main(["audit", "--env", "block-mdp", "-p", "latent_width=3", "-p",
                 "latent_height=3", "-p", "obs_per_latent=4", "--model", str(f), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["eps"] == pytest.approx(a.eps, rel=1e-5)
    # a pickle with an arbitrary object: weights_only refuses it before anything runs

    class Evil:
        def __reduce__(self):
            return (print, ("unpickled!",))

    evil = tmp_path / "evil.pt"
    with evil.open("wb") as fh:
        pickle.dump({"format": "jepatheory-torch-1", "x": Evil()}, fh)
    torch.save({"format": "jepatheory-torch-1", "x": Evil()}, tmp_path / "evil2.pt")
    for bad in (evil, tmp_path / "evil2.pt"):
        with pytest.raises(ModelInputError, match="refused"):
            jt.load_checkpoint(bad, mdp)
    assert "unpickled!" not in capsys.readouterr().out
    other = make_env("chain", n=5)
    with pytest.raises(ModelInputError, match="states"):
        jt.load_checkpoint(f, other)


def test_core_does_not_import_torch_and_message_without_torch():
    code = ("import sys, jepatheory, jepatheory.audit, jepatheory.cli, jepatheory.sim.measure; "
            "from jepatheory.cli import build_parser; build_parser(); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"
    code = ("import sys; sys.modules['torch'] = None\n"
            "try:\n    import jepatheory.torch\nexcept Exception as e:\n"
            "    print(type(e).__name__, e)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out.startswith(MissingExtraError.__name__) and "'torch' extra" in out


def test_simulate_backend_torch(capsys):
    code = main(["simulate", "--env", "chain", "-p", "n=8", "--k", "3", "--n", "2000",
                 "--backend", "torch", "--trainer", "spectral", "--steps", "100", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    d = json.loads(out)
    assert d["backend"] == "torch" and d["R0"] <= d["R1"] + 1e-9
    code = main(["simulate", "--backend", "torch", "--trainer", "erm", "--steps", "10"])
    _, err = capsys.readouterr()
    assert code == 2 and "torch trainer 'erm'" in err


def test_sweep_backend_torch(tmp_path, capsys):
    store = tmp_path / "s.db"
    code = main(["sweep", "--env", "chain:n=6", "--k", "2", "--n", "500", "--trainer",
                 "spectral", "--seeds", "0", "--steps", "20", "--backend", "torch",
                 "--workers", "1", "--store", str(store), "--json"])
    _out, err = capsys.readouterr()
    assert code == 0, err
    from jepatheory.sim.sweep import load_results
    rows = load_results(store)
    assert len(rows) == 1 and rows[0]["backend"] == "torch"
    code = main(["sweep", "--env", "chain:n=6", "--trainer", "erm", "--backend", "torch",
                 "--store", str(store)])
    _, err = capsys.readouterr()
    assert code == 2 and "torch backend" in err


def test_bench_parts_small():
    from jepatheory.bench.train import _audit_speed, _torch_vs_numpy_mlp
    (row,) = _audit_speed(400, 0)
    assert row["k"] == 64 and row["eps"] >= row["tail_k"]
    (row,) = _torch_vs_numpy_mlp(3, 64, 0, quick=True)
    assert row["torch_mlp_steps_per_s"] > 0 and row["numpy_mlp_steps_per_s"] > 0


@pytest.mark.filterwarnings("ignore::FutureWarning")  # torch 2.14 deprecates TorchScript
def test_torchscript_world_model(tmp_path, capsys):
    mdp = make_env("chain", n=6)

    class WM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.f = torch.nn.Linear(6, 3)
            self.g = torch.nn.Linear(3 + 2, 3)

        def forward(self, x):
            return self.f(x)

        @torch.jit.export
        def encode(self, obs):
            return self.f(obs)

        @torch.jit.export
        def predict(self, emb, action):
            oh = torch.nn.functional.one_hot(action, 2).to(emb.dtype)
            return self.g(torch.cat([emb, oh], 1))

    torch.manual_seed(0)
    wm = WM()
    path = tmp_path / "wm.pt"
    torch.jit.save(torch.jit.script(wm), str(path))
    code = main(["audit", "--env", "chain", "-p", "n=6", "--model", str(path), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    d = json.loads(out)
    X = torch.eye(6)
    with torch.no_grad():
        e = wm.f(X)
        z = torch.stack([wm.predict(e, torch.full((6,), a)) for a in range(2)], 1)
    ref = audit(CoOccurrence(mdp), (z.reshape(12, 3).double().numpy(), e.double().numpy()))
    assert d["eps"] == pytest.approx(ref.eps, rel=1e-6)
