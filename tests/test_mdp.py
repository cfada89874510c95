"""MDP validation (THEORY "Setting") and .npz loading: every bad input raises a typed error
that names the offending value; odd but legal input warns."""
from __future__ import annotations

import pickle
import re
import warnings
import zipfile

import numpy as np
import pytest
import scipy.sparse as sp

from jepatheory.errors import (
    DiscountError,
    DistributionError,
    EmptyMDPError,
    JepaTheoryError,
    MDPError,
    MDPFileError,
    NegativeProbabilityError,
    NonFiniteError,
    OddMDPWarning,
    RowSumError,
    ShapeError,
)
from jepatheory.mdp import ROW_SUM_TOL, MDP, load_mdp, save_mdp


def uniform_kernel(N: int = 3, m: int = 2) -> np.ndarray:
    return np.full((N, m, N), 1.0 / N)


def build(P=None, r=None, gamma=0.9, rho0=None, **kw) -> MDP:
    P = uniform_kernel() if P is None else P
    N, m = np.shape(P)[0], np.shape(P)[1]
    r = np.zeros((N, m)) if r is None else r
    return MDP.from_arrays(P, r, gamma, rho0, **kw)


# ----------------------------------------------------------------------------- valid input
def test_dense_and_sparse_kernels_give_the_same_mdp():
    rng = np.random.default_rng(0)
    P = rng.random((4, 3, 4))
    P /= P.sum(axis=2, keepdims=True)
    dense = build(P, rng.random((4, 3)))
    sparse = MDP.from_arrays([sp.csr_array(P[:, a, :]) for a in range(3)], dense.r, 0.9)
    # same floats, only re-laid out: exact equality
    assert np.array_equal(dense.P_dense(), P)
    assert np.array_equal(sparse.P_dense(), P)
    assert np.array_equal(dense.P_action(1).toarray(), P[:, 1, :])
    assert dense.P_sa.shape == (12, 4)
    assert np.array_equal(dense.P_sa.toarray()[2 * 3 + 1], P[2, 1])  # row s*m + a
    assert np.array_equal(dense.rho0, np.full(4, 0.25))
    assert (dense.n_states, dense.n_actions) == (4, 3)
    assert "n_states=4" in repr(dense)


def test_row_sums_within_tolerance_are_accepted():
    P = uniform_kernel()
    P[0, 0, 0] += 0.5 * ROW_SUM_TOL
    build(P)


def test_replace_validates():
    mdp = build()
    assert mdp.replace(gamma=0.5).gamma == 0.5
    with pytest.raises(DiscountError):
        mdp.replace(gamma=1.0)


def test_r_max_is_the_reward_range():
    r = np.array([[1.0, -2.0], [0.5, 3.0], [0.0, 0.0]])
    assert build(r=r).r_max == 5.0


# ----------------------------------------------------------------------------- shapes
@pytest.mark.parametrize("P, fragment", [
    (np.full((3, 3), 1 / 3), "expected shape (S, A, S)"),
    (np.full((3, 2, 4), 0.25), "last axis != first"),
])
def test_kernel_shape(P, fragment):
    with pytest.raises(ShapeError, match=re.escape(fragment)):
        MDP.from_arrays(P, np.zeros((3, 2)), 0.9)


def test_sparse_blocks_of_different_shapes():
    with pytest.raises(ShapeError, match=r"action 1 block has shape \(2, 2\)"):
        MDP.from_arrays([sp.identity(3, format="csr"), sp.identity(2, format="csr")],
                        np.zeros((3, 2)), 0.9)


@pytest.mark.parametrize("field, value, fragment", [
    ("r", np.zeros((2, 3)), "r: expected shape (3, 2)"),
    ("rho0", np.full(4, 0.25), "rho0: expected shape (3,)"),
    ("x", np.zeros((4, 2)), "x: expected shape (3, d)"),
    ("coords", np.zeros((3, 3)), "coords: expected shape (3, 2)"),
    ("names", ["a", "b"], "names: expected 3 names"),
])
def test_other_shapes(field, value, fragment):
    kw = {field: value}
    with pytest.raises(ShapeError, match=re.escape(fragment)):
        build(**kw)


def test_flat_kernel_shape():
    with pytest.raises(ShapeError, match=r"expected \(6, 3\)"):
        MDP.from_flat(np.full((5, 3), 1 / 3), 3, 2, np.zeros((3, 2)), 0.9)


# ----------------------------------------------------------------------------- values
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_kernel_names_the_entry(bad):
    P = uniform_kernel()
    P[1, 0, 2] = bad
    with pytest.raises(NonFiniteError, match=re.escape("P: entry (1, 0, 2) is")) as exc:
        build(P)
    assert repr(float(bad)) in str(exc.value)


@pytest.mark.parametrize("field", ["r", "x"])
def test_non_finite_reward_and_features(field):
    arr = np.zeros((3, 2))
    arr[2, 1] = np.nan
    with pytest.raises(NonFiniteError, match=re.escape(f"{field}: entry (2, 1) is nan")):
        build(**{field: arr})


def test_negative_probability_names_the_entry():
    P = uniform_kernel()
    P[2, 1, 0] = -0.25
    P[2, 1, 1] = 1 / 3 + 0.25  # row still sums to 1: only the sign is wrong
    with pytest.raises(NegativeProbabilityError, match=re.escape("P[2, 1, 0] = -0.25")):
        build(P)


def test_negative_probability_in_sparse_blocks():
    blocks = [sp.csr_array(np.eye(2)), sp.csr_array(np.array([[1.5, -0.5], [0.0, 1.0]]))]
    with pytest.raises(NegativeProbabilityError, match=re.escape("P[0, 1, 1] = -0.5")):
        MDP.from_arrays(blocks, np.zeros((2, 2)), 0.9)


def test_row_sum_names_the_pair_and_the_amount():
    P = uniform_kernel()
    P[1, 1, 2] += 0.1
    with pytest.raises(RowSumError) as exc:
        build(P)
    msg = str(exc.value)
    assert "P[1, 1, :]" in msg
    assert "sums to 1.1" in msg
    assert "+0.1" in msg
    assert "1 row(s)" in msg


def test_row_sum_counts_every_bad_row():
    with pytest.raises(RowSumError, match=re.escape("6 row(s)")):
        build(np.full((3, 2, 3), 0.3))


def test_all_zero_row_is_a_row_sum_error():
    P = uniform_kernel()
    P[0, 1] = 0.0
    with pytest.raises(RowSumError, match=re.escape("P[0, 1, :] sums to 0")):
        build(P)


@pytest.mark.parametrize("gamma", [1.0, -0.1, 1.5, np.nan, np.inf, "abc", None])
def test_gamma_outside_unit_interval(gamma):
    with pytest.raises(DiscountError, match="gamma"):
        build(gamma=gamma)


def test_gamma_zero_is_legal():
    assert build(gamma=0.0).gamma == 0.0


@pytest.mark.parametrize("rho0, cls, fragment", [
    (np.array([0.5, 0.6, -0.1]), DistributionError, "rho0[2] = -0.1 is negative"),
    (np.array([0.5, 0.5, 0.5]), DistributionError, "rho0 sums to 1.5"),
    (np.array([0.5, np.nan, 0.5]), NonFiniteError, "rho0: entry (1,) is nan"),
    (np.zeros(3), DistributionError, "rho0 sums to 0"),
])
def test_rho0_not_a_distribution(rho0, cls, fragment):
    with pytest.raises(cls, match=re.escape(fragment)):
        build(rho0=rho0)


@pytest.mark.parametrize("P", [np.zeros((0, 2, 0)), np.zeros((3, 0, 3)), []])
def test_empty_state_or_action_set(P):
    with pytest.raises(EmptyMDPError):
        MDP.from_arrays(P, np.zeros((0, 0)), 0.9)


@pytest.mark.parametrize("N, m", [(0, 2), (2, 0)])
def test_empty_flat(N, m):
    with pytest.raises(EmptyMDPError):
        MDP.from_flat(np.zeros((N * m, N)), N, m, np.zeros((N, m)), 0.9)


def test_errors_are_value_errors_and_package_errors():
    # scripts catch ValueError; the command line catches JepaTheoryError
    for cls in (ShapeError, NonFiniteError, NegativeProbabilityError, RowSumError,
                DiscountError, DistributionError, EmptyMDPError, MDPFileError):
        assert issubclass(cls, ValueError)
        assert issubclass(cls, JepaTheoryError)
        assert issubclass(cls, MDPError)


# ----------------------------------------------------------------------------- warnings
def test_absorbing_state_warns():
    P = uniform_kernel()
    P[2] = 0.0
    P[2, :, 2] = 1.0
    with pytest.warns(OddMDPWarning, match=r"1 absorbing state\(s\), e.g. \[2\]"):
        build(P)


def test_unreachable_state_warns():
    P = np.zeros((3, 1, 3))
    P[:, 0, 0] = 1.0  # state 2 (and 1) are never entered
    rho0 = np.array([1.0, 0.0, 0.0])
    with pytest.warns(OddMDPWarning) as rec:  # state 0 is also absorbing: two warnings
        MDP.from_arrays(P, np.zeros((3, 1)), 0.9, rho0)
    msgs = [str(w.message) for w in rec]
    assert any(re.search(r"2 state\(s\) are never reached.*\[1, 2\]", m) for m in msgs), msgs


def test_unreachable_cycle_warns():
    """States 2 and 3 only lead to each other and rho0 never starts there: every state is
    some transition's target, yet 2 and 3 cannot be reached from rho0."""
    P = np.zeros((4, 1, 4))
    P[0, 0, 1] = P[1, 0, 0] = 1.0
    P[2, 0, 3] = P[3, 0, 2] = 1.0
    with pytest.warns(OddMDPWarning, match=r"2 state\(s\) are never reached.*\[2, 3\]"):
        MDP.from_arrays(P, np.zeros((4, 1)), 0.9, np.array([1.0, 0.0, 0.0, 0.0]))


def test_unreachable_but_started_in_is_not_odd():
    P = np.zeros((2, 1, 2))
    P[:, 0, 0] = 1.0
    P[0, 0] = [0.5, 0.5]
    with warnings.catch_warnings():
        warnings.simplefilter("error", OddMDPWarning)
        MDP.from_arrays(P, np.zeros((2, 1)), 0.9)


def test_warn_false_is_silent():
    P = np.zeros((2, 1, 2))
    P[:, 0, 0] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", OddMDPWarning)
        MDP.from_arrays(P, np.zeros((2, 1)), 0.9, np.array([1.0, 0.0]), warn=False)


# ----------------------------------------------------------------------------- .npz files
def arrays(N: int = 3, m: int = 2) -> dict:
    rng = np.random.default_rng(7)
    P = rng.random((N, m, N))
    P /= P.sum(axis=2, keepdims=True)
    return dict(P=P, r=rng.random((N, m)), gamma=np.float64(0.8), rho0=np.full(N, 1.0 / N))


def test_npz_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    a = arrays()
    mdp = MDP.from_arrays(a["P"], a["r"], 0.8, a["rho0"], x=rng.random((3, 4)))
    nu = rng.dirichlet(np.ones(6)).reshape(3, 2)
    path = save_mdp(tmp_path / "m.npz", mdp, nu)
    back, nu_back = load_mdp(path)
    assert np.array_equal(back.P_dense(), mdp.P_dense())
    assert np.array_equal(back.r, mdp.r)
    assert np.array_equal(back.rho0, mdp.rho0)
    assert np.array_equal(back.x, mdp.x)
    assert back.gamma == 0.8
    assert np.array_equal(nu_back, nu)
    assert back.name == "m"


def test_npz_without_nu(tmp_path):
    np.savez(tmp_path / "m.npz", **arrays())
    mdp, nu = load_mdp(tmp_path / "m.npz")
    assert nu is None and mdp.n_states == 3


def test_npz_missing_array(tmp_path):
    a = arrays()
    del a["rho0"]
    np.savez(tmp_path / "m.npz", **a)
    with pytest.raises(MDPFileError, match=re.escape("missing array(s) ['rho0']")):
        load_mdp(tmp_path / "m.npz")


@pytest.mark.parametrize("key, value, fragment", [
    ("P", np.array(["a", "b"]), "array 'P' has non-numeric dtype"),
    ("r", np.zeros((3, 2)) + 1j, "array 'r' has complex dtype"),
])
def test_npz_wrong_dtype(tmp_path, key, value, fragment):
    a = arrays()
    a[key] = value
    np.savez(tmp_path / "m.npz", **a)
    with pytest.raises(MDPFileError, match=re.escape(fragment)):
        load_mdp(tmp_path / "m.npz")


def test_npz_pickled_object_is_refused(tmp_path):
    a = arrays()
    a["P"] = np.array([{"evil": 1}], dtype=object)
    np.savez(tmp_path / "m.npz", **a)
    with pytest.raises(MDPFileError, match="non-numeric dtype object"):
        load_mdp(tmp_path / "m.npz")


@pytest.mark.parametrize("content, fragment", [
    (b"hello, not an archive", "not a zip archive"),
    (pickle.dumps({"P": 1}), "not a zip archive"),
])
def test_not_an_npz(tmp_path, content, fragment):
    path = tmp_path / "m.npz"
    path.write_bytes(content)
    with pytest.raises(MDPFileError, match=fragment):
        load_mdp(path)


def test_single_npy_array(tmp_path):
    np.save(tmp_path / "m.npy", np.zeros(3))
    with pytest.raises(MDPFileError, match="single .npy array"):
        load_mdp(tmp_path / "m.npy")


def test_truncated_and_garbled_archives(tmp_path):
    good = tmp_path / "good.npz"
    np.savez(good, **arrays())
    trunc = tmp_path / "trunc.npz"
    trunc.write_bytes(good.read_bytes()[:200])
    with pytest.raises(MDPFileError):
        load_mdp(trunc)
    garbled = tmp_path / "garbled.npz"
    with zipfile.ZipFile(garbled, "w") as zf:
        for k in ("P", "r", "gamma", "rho0"):
            zf.writestr(f"{k}.npy", b"not an npy payload")
    with pytest.raises(MDPFileError):
        load_mdp(garbled)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(MDPFileError, match="no such file"):
        load_mdp(tmp_path / "absent.npz")
    with pytest.raises(MDPFileError):
        load_mdp(tmp_path)


@pytest.mark.parametrize("key, value, cls, fragment", [
    ("P", np.full((3, 2, 3), 0.3), RowSumError, "P[0, 0, :] sums to 0.9"),
    ("gamma", np.float64(1.5), DiscountError, "gamma = 1.5"),
    ("gamma", np.array([0.9, 0.8]), DiscountError, "gamma must be a scalar"),
    ("rho0", np.ones(3), DistributionError, "rho0 sums to 3"),
    ("nu", np.ones((3, 2)), DistributionError, "nu sums to 6"),
    ("nu", np.ones(5) / 5, ShapeError, "nu: expected shape (3, 2)"),
    ("x", np.ones((4, 2)), ShapeError, "x: expected shape (3, d)"),
    ("P", np.full((3, 2, 3), np.nan), NonFiniteError, "P: entry (0, 0, 0) is nan"),
])
def test_npz_invalid_content_gets_the_array_errors(tmp_path, key, value, cls, fragment):
    a = arrays()
    a[key] = value
    np.savez(tmp_path / "m.npz", **a)
    with pytest.raises(cls, match=re.escape(fragment)):
        load_mdp(tmp_path / "m.npz")


# ----------------------------------------------------------------------------- odd kernels, nu
@pytest.mark.parametrize("P, fragment", [
    (sp.csr_array(np.full((6, 3), 1 / 3)), "single sparse matrix of shape (6, 3) is ambiguous"),
    ("abc", "not an (S, A, S) array of numbers"),
    ([[1.0, 0.0], [1.0]], "not an (S, A, S) array of numbers"),
])
def test_uninterpretable_kernels_are_shape_errors(P, fragment):
    with pytest.raises(ShapeError, match=re.escape(fragment)):
        MDP.from_arrays(P, np.zeros((3, 2)), 0.9)


def test_nu_validation():
    from jepatheory.data import policy_nu, validate_nu

    mdp = build()
    flat = np.full(6, 1 / 6)
    assert validate_nu(mdp, flat).shape == (3, 2)
    with pytest.raises(ShapeError, match=re.escape("got (2, 3)")):  # transposed (m, N)
        validate_nu(mdp, flat.reshape(2, 3))
    with pytest.raises(DistributionError, match="nu sums to 2"):
        validate_nu(mdp, 2 * flat)
    with pytest.raises(DistributionError, match=re.escape("nu[0] = -0.1 is negative")):
        validate_nu(mdp, np.array([-0.1, 0.3, 0.2, 0.2, 0.2, 0.2]))
    with pytest.raises(DistributionError, match="kind must be"):
        policy_nu(mdp, np.full((3, 2), 0.5), "bogus")
