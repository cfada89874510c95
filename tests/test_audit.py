"""jepatheory.audit: the exact truncated SVD audits to eps = tail_k with zero principal angles;
basis changes (zG, hG^{-T}) leave every theory quantity unchanged; collapse is flagged; the
callable and protocol adapters agree with the arrays; the CLI keys and its refusals."""
from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jepatheory.audit import (
    alpha_req,
    audit,
    embeddings_of,
    from_callables,
    lidar,
    principal_angles,
    rankme,
)
from jepatheory.cli import main
from jepatheory.cooccurrence import CoOccurrence
from jepatheory.envs import make_env
from jepatheory.errors import ModelInputError
from jepatheory.mdp import MDP
from jepatheory.model import truncated_embeddings

pytestmark = pytest.mark.filterwarnings("ignore::jepatheory.errors.OddMDPWarning")

#: float64 sums over a few hundred entries: 1e-9 relative is far above rounding.
RTOL = 1e-9


@pytest.fixture(scope="module")
def rooms():
    mdp = make_env("four-rooms")
    return mdp, CoOccurrence(mdp)


def random_mdp(seed: int, N: int = 7, m: int = 3) -> MDP:
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.full(N, 0.5), size=(N, m))
    r = rng.uniform(0, 1, (N, m))
    return MDP.from_arrays(P, r, 0.8, np.full(N, 1 / N), warn=False)


def test_truncated_svd_audits_to_tail_and_zero_angles(rooms):
    mdp, C = rooms
    k = 8  # four-rooms has a gap after sigma_8 (0.936 > 0.93), so the subspace is unique
    e = truncated_embeddings(C, k)
    a = audit(C, e)
    assert a.eps == pytest.approx(a.tail_k, rel=RTOL)
    assert abs(a.excess) <= 1e-9 * a.tail_k
    # angles from sines: accurate near zero to rounding level
    assert a.max_angle_T < 1e-7
    assert not a.collapsed
    # P1: sum_a p(a) eps_a = eps, and P2: tail_k(Abar_a) <= eps_a
    pa = np.array([C.p_action(x) for x in range(mdp.n_actions)])
    assert float(pa @ a.eps_per_action) == pytest.approx(a.eps, rel=RTOL)
    assert (a.tail_k_per_action <= a.eps_per_action * (1 + RTOL)).all()
    assert a.R0 == pytest.approx(a.ladder["R0"])
    assert a.R0 <= a.ladder["R1"]


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 4))
def test_basis_change_leaves_theory_quantities_unchanged(seed, k):
    mdp = random_mdp(seed)
    C = CoOccurrence(mdp)
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((mdp.n_states * mdp.n_actions, k))
    h = rng.standard_normal((mdp.n_states, k))
    G = rng.standard_normal((k, k)) + 3 * np.eye(k)
    a = audit(C, (z, h))
    b = audit(C, (z @ G, h @ np.linalg.inv(G).T))
    # rounding of G's inverse (condition number of a shifted Gaussian matrix, < 1e3 here)
    tol = 1e-7
    assert b.eps == pytest.approx(a.eps, rel=tol)
    assert b.excess == pytest.approx(a.excess, rel=tol, abs=tol)
    np.testing.assert_allclose(b.eps_per_action, a.eps_per_action, rtol=tol)
    np.testing.assert_allclose(b.collapse["model_singular_values"],
                               a.collapse["model_singular_values"], rtol=1e-6, atol=1e-9)
    for side in ("left", "right"):
        np.testing.assert_allclose(b.principal_angles["T"][side],
                                   a.principal_angles["T"][side], atol=1e-6)
    for r in ("R0", "R1", "R2", "R3", "R3w"):
        assert b.ladder[r] == pytest.approx(a.ladder[r], rel=1e-6, abs=1e-9)
    assert b.collapsed == a.collapsed


def test_collapse_flagged(rooms):
    mdp, C = rooms
    N, m = mdp.n_states, mdp.n_actions
    zero = audit(C, (np.zeros((N * m, 4)), np.zeros((N, 4))))
    assert zero.collapsed and zero.collapse["complete"]
    const = audit(C, (np.ones((N * m, 4)), np.ones((N, 4))))   # constant embeddings: rank 1
    assert const.collapsed and const.collapse["model_rank"] == 1
    assert const.rankme == pytest.approx(1.0, abs=1e-4)
    e = truncated_embeddings(C, 4)
    dim = audit(C, (e.z[:, [0, 1, 2, 2]], e.h[:, [0, 1, 2, 2]]))  # dimensional collapse
    assert dim.collapsed and dim.collapse["model_rank"] == 3


def test_principal_angles_closed_form():
    # span(e1, e1 cos t + e2 sin t) against span(e1, e3)... one angle 0, one t's complement
    t = 0.3
    A = np.array([[1.0, np.cos(t)], [0, np.sin(t)], [0, 0]])
    B = np.array([[1.0, 0], [0, 1], [0, 0]])
    np.testing.assert_allclose(principal_angles(A, B), [0, 0], atol=1e-12)
    B2 = np.array([[1.0, 0], [0, 0], [0, 1]])
    np.testing.assert_allclose(principal_angles(A, B2), [0, np.pi / 2], atol=1e-12)
    np.testing.assert_allclose(principal_angles(np.zeros((3, 2)), B), [np.pi / 2] * 2)


def test_diagnostics_closed_forms():
    # isotropic k-dim embedding: RankMe = k, LiDAR with one point per class = k
    E = np.vstack([np.eye(4), -np.eye(4)])
    assert rankme(E) == pytest.approx(4, rel=1e-5)
    assert lidar(E) == pytest.approx(4, rel=1e-5)
    # power-law covariance spectrum lambda_i = i^-2 -> alpha = 2
    lam = np.arange(1, 9, dtype=float) ** -2.0
    X = np.vstack([np.diag(np.sqrt(lam)), -np.diag(np.sqrt(lam))]) * np.sqrt(16)
    assert alpha_req(X) == pytest.approx(2.0, rel=1e-9)
    # LiDAR: classes separated along one axis only, pure noise along the others -> about 1
    rng = np.random.default_rng(0)
    lab = np.repeat([0, 1], 200)
    X = rng.standard_normal((400, 3))
    X[:, 0] += 10 * (lab - 0.5)
    assert lidar(X, lab) < 1.2


class _Protocol:
    """A minimal object following the encode/predict protocol, built from (z, h)."""

    def __init__(self, z, h, m):
        self.z, self.h, self.m = z, h, m

    def encode(self, obs):
        return obs                                # one-hot observations: the state itself

    def predict(self, emb, action):
        return self.z[np.argmax(emb, axis=1) * self.m + action]

    def encode_target(self, obs):                 # the teacher (EMA) encoder
        return obs @ self.h


def test_callable_and_protocol_adapters(rooms):
    mdp, C = rooms
    e = truncated_embeddings(C, 5)
    m = mdp.n_actions
    a = audit(C, e)
    b = audit(C, _Protocol(e.z, e.h, m))
    zt = e.z.reshape(mdp.n_states, m, 5)

    def f(obs):
        return np.argmax(obs, axis=1)

    def g(s, act):
        return zt[s, act]

    c = audit(C, from_callables(f, g, lambda obs: obs @ e.h))
    for other in (b, c):
        assert other.eps == pytest.approx(a.eps, rel=RTOL)
        assert other.R0 == pytest.approx(a.R0, abs=1e-12)
    with pytest.raises(ModelInputError, match="encode"):
        embeddings_of(mdp, object())
    with pytest.raises(ModelInputError, match="k = 5, target encoder k = 3"):
        audit(C, from_callables(f, g, lambda obs: obs[:, :3]))
    with pytest.raises(ModelInputError, match="expected"):
        audit(C, from_callables(f, g, lambda obs: obs[:3]))


def _cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_keys_and_refusals(rooms, capsys, tmp_path):
    _mdp, C = rooms
    e = truncated_embeddings(C, 4)
    f = tmp_path / "m.npz"
    np.savez(f, z=e.z, h=e.h)
    code, out, err = _cli(capsys, "audit", "--env", "four-rooms", "--model", str(f), "--json")
    assert code == 0, err
    d = json.loads(out)
    for key in ("eps", "eps_per_action", "tail_k", "excess", "principal_angles", "rankme",
                "alpha_req", "lidar", "collapse", "ladder", "R0"):
        assert key in d, key
    assert d["eps"] == pytest.approx(d["tail_k"], rel=RTOL)

    def refused(model, *extra, frag=""):
        code, _, err = _cli(capsys, "audit", "--env", "four-rooms", "--model", model, *extra)
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert frag in err, err

    refused(str(tmp_path), frag="expected FILE")
    refused(str(tmp_path / "missing.npz"), frag="no such file")
    bad = tmp_path / "bad.npz"
    np.savez(bad, z=e.z[:10], h=e.h)
    refused(str(bad), frag="z has shape")
    obj = tmp_path / "obj.npz"
    np.savez(obj, z=np.array([None, 1], dtype=object), h=e.h)
    refused(str(obj), frag="dtype object")
    noz = tmp_path / "noz.npz"
    np.savez(noz, h=e.h)
    refused(str(noz), frag="missing array 'z'")
    # a zip member declaring an absurd uncompressed size for its shape
    bomb = tmp_path / "bomb.npz"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        import io
        for name, arr in (("z", e.z), ("h", e.h)):
            buf = io.BytesIO()
            np.save(buf, arr)
            data = buf.getvalue() + (b"\0" * 5_000_000 if name == "z" else b"")
            zf.writestr(f"{name}.npy", data)
    refused(str(bomb), frag="declares")
    refused("os:getcwd", frag="--allow-import")


def test_data_certificate_bounds_the_measured_regret():
    """With data, the audit carries the K3 robust certificate of its planner's policy; it is
    valid w.p. >= 1 - delta, and on this instance (seeded) it holds: R0 <= upper."""
    from jepatheory.sampling import sample_transitions
    C = CoOccurrence(make_env("chain", n=10, slip=0.2))
    e = truncated_embeddings(C, 3)
    ds = sample_transitions(C.mdp, C.nu, 20000, 0)
    a = audit(C, (e.z, e.h), ds=ds)
    assert a.certificate is not None and a.certificate_reason is None
    assert a.R0 <= a.certificate.upper + 1e-9
    assert audit(C, (e.z, e.h)).certificate is None
