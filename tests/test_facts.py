r"""F1-F5 (THEORY D2) on many random MDPs, closed-form spectra, and metamorphic checks.

Closed forms used below (derived here; uniform nu, slip eps, so q is uniform in each case):

* Ring of n states, 2 actions (P_a circulant): the singular values of T are
  :math:`\sigma_j^2 = \tfrac12\sum_a |\hat c_a(j)|^2` with :math:`\hat c_a` the DFT of
  P_a's first row, i.e. :math:`\sigma_j^2 = 1 - 4\varepsilon(1-\varepsilon)\sin^2(2\pi j/n)`.
* Chain (path) of n states, 2 actions, blocked ends stay: with L, R the deterministic
  moves, :math:`T^\top T = ((1-\varepsilon)^2+\varepsilon^2) I + \varepsilon(1-\varepsilon)M`,
  :math:`M = L^\top R + R^\top L` the adjacency of an n-cycle (evens and odds joined at
  both ends), so :math:`\sigma_j^2 = 1 - 4\varepsilon(1-\varepsilon)\sin^2(\pi j/n)`.
* Open H x W grid, 4 actions, slip eps spread as eps/3: :math:`P_a = \alpha M_a + \beta S`
  with :math:`\alpha = 1-4\varepsilon/3`, :math:`\beta=\varepsilon/3`, :math:`S=\sum_b M_b`.
  Since :math:`\sum_a M_a^\top M_a = 4I`, :math:`T^\top T = \alpha^2 I +
  (\alpha\beta/2+\beta^2) S^2`, and :math:`S = A_H\otimes I + I\otimes A_W` is symmetric with
  A = path adjacency plus a loop at each end (eigenvalues :math:`2\cos(\pi k/n)`), so
  :math:`\sigma_{ij}^2 = \alpha^2 + (\alpha\beta/2+\beta^2)(2\cos\frac{\pi i}{H} +
  2\cos\frac{\pi j}{W})^2`.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jepatheory.cooccurrence import CoOccurrence
from jepatheory.data import policy_nu, uniform_nu
from jepatheory.envs import make_env
from jepatheory.errors import DistributionError, OddMDPWarning
from jepatheory.facts import check_f1, check_f2, check_f3, check_f4, check_f5, check_facts
from jepatheory.mdp import MDP

#: Dense SVD / eigvalsh of matrices with entries O(1) and at most ~100 rows: backward error
#: ~1e-15 * size; 1e-12 is a comfortable bound for every identity checked numerically here.
TOL = 1e-12

pytestmark = pytest.mark.filterwarnings("ignore::jepatheory.errors.OddMDPWarning")


def random_mdp(seed: int, N: int, m: int, density: float, deterministic: bool = False
               ) -> MDP:
    rng = np.random.default_rng(seed)
    if deterministic:
        P = np.zeros((N, m, N))
        P[np.repeat(np.arange(N), m), np.tile(np.arange(m), N), rng.integers(N, size=N * m)] = 1
    else:
        P = rng.random((N, m, N)) ** 3 * (rng.random((N, m, N)) < density)
        P[np.arange(N), :, rng.integers(N, size=N)] += 1e-3  # every row keeps a successor
        P /= P.sum(axis=2, keepdims=True)
    return MDP.from_arrays(P, rng.random((N, m)), 0.9, warn=False)


def random_nu(seed: int, N: int, m: int, skew: float, uncovered: int) -> np.ndarray:
    rng = np.random.default_rng(seed + 7)
    nu = rng.dirichlet(np.full(N * m, skew))
    drop = rng.choice(N * m, size=min(uncovered, N * m - 1), replace=False)
    nu[drop] = 0.0
    if nu.sum() <= 0:
        nu[np.setdiff1d(np.arange(N * m), drop)[0]] = 1.0
    return (nu / nu.sum()).reshape(N, m)


cases = st.fixed_dictionaries(dict(
    seed=st.integers(0, 2**31 - 1), N=st.integers(1, 9), m=st.integers(1, 4),
    density=st.sampled_from([0.15, 0.5, 1.0]), skew=st.sampled_from([0.05, 0.3, 1.0, 10.0]),
    uncovered=st.integers(0, 6), deterministic=st.booleans()))


def build(c: dict) -> CoOccurrence:
    mdp = random_mdp(c["seed"], c["N"], c["m"], c["density"], c["deterministic"])
    return CoOccurrence(mdp, random_nu(c["seed"], c["N"], c["m"], c["skew"], c["uncovered"]))


# ----------------------------------------------------------------------------- F1-F5, random
@settings(max_examples=200, deadline=None)
@given(cases)
def test_check_facts_passes_on_random_mdps(c):
    C = build(c)
    rep = check_facts(C)
    assert rep.passed, rep
    assert [chk.fact for chk in rep.checks] == ["F1", "F2", "F3", "F4", "F5"]
    P = C.mdp.P_dense().reshape(-1, c["N"])[C.left]
    assert rep.checks[4].applicable == bool(((P > 0).sum(axis=1) == 1).all())


@settings(max_examples=200, deadline=None)
@given(cases)
def test_facts_recomputed_independently(c):
    """F1-F5 from dense arrays built straight from P and nu (not from C.T)."""
    C = build(c)
    N, m = c["N"], c["m"]
    P = C.mdp.P_dense().reshape(N * m, N)
    nu = C.nu.ravel()
    q = nu @ P
    L, R = nu > 0, q > 0
    J = (nu[:, None] * P)[L][:, R]                          # p(s,a,s') on the supports
    T = J / np.sqrt(np.outer(nu[L], q[R]))
    assert np.abs(C.T.toarray() - T).max() <= TOL
    assert (C.n_left, C.n_right) == (L.sum(), R.sum())
    assert np.array_equal(C.uncovered, np.flatnonzero(~L))
    # F1
    s = np.linalg.svd(T, compute_uv=False)
    assert abs(s[0] - 1) <= TOL and s.min() >= 0 and s.max() <= 1 + TOL
    assert np.abs(T @ np.sqrt(q[R]) - np.sqrt(nu[L])).max() <= TOL
    assert np.abs(T.T @ np.sqrt(nu[L]) - np.sqrt(q[R])).max() <= TOL
    # F2: ||T||_F^2 = 1 + chi^2(p || nu x q) over the whole product of the supports
    prod = np.outer(nu[L], q[R])
    chi2 = ((J - prod) ** 2 / prod).sum()
    assert abs(C.frobenius_sq - (1 + chi2)) <= TOL * (1 + chi2)
    # F3
    n = L.sum() + R.sum()
    A = np.block([[np.zeros((L.sum(), L.sum())), T], [T.T, np.zeros((R.sum(), R.sum()))]])
    ev = np.linalg.eigvalsh(np.eye(n) - A)
    pred = np.concatenate([1 - s, 1 + s, np.ones(abs(L.sum() - R.sum()))])
    assert np.abs(np.sort(ev) - np.sort(pred)).max() <= TOL
    assert np.abs(C.laplacian().toarray() - (np.eye(n) - A)).max() <= TOL
    # F4: W = sum nu P P^T (self-loops included), degree q, T^T T = D^-1/2 W D^-1/2
    Pc = P[L][:, R]
    W = Pc.T @ (nu[L][:, None] * Pc)
    assert np.abs(W.sum(axis=1) - q[R]).max() <= TOL
    assert np.abs(C.next_state_graph().toarray() - W).max() <= TOL
    assert np.abs(T.T @ T - W / np.sqrt(np.outer(q[R], q[R]))).max() <= TOL
    # F5
    if c["deterministic"]:
        assert np.abs(T.T @ T - np.eye(R.sum())).max() <= TOL
        assert np.abs(s - 1).max() <= TOL or T.shape[0] < T.shape[1]


def test_checks_detect_a_corrupted_T():
    """The checks are not vacuous: scaling T by 1.01 breaks F1, F2, F4 (and F5)."""
    C = CoOccurrence(random_mdp(0, 6, 2, 0.5, deterministic=True))
    assert check_facts(C).passed
    C.T = C.T * 1.01
    C._spectra.clear()
    for f in (check_f1, check_f2, check_f4, check_f5):
        assert not f(C).passed, f.__name__
    assert check_f3(C).passed  # F3 compares Lap with T's own SVD: still consistent


def test_facts_report_prints_a_table_and_exports():
    rep = check_facts(CoOccurrence(make_env("chain", n=30)))
    assert rep.passed
    text = repr(rep)
    assert "F1" in text and "F5" in text
    d = rep.to_dict()
    assert len(d["checks"]) == 5 and d["checks"][4]["applicable"] is False


def test_uncovered_pairs_warn_and_are_reported():
    mdp = random_mdp(1, 4, 2, 1.0)
    nu = uniform_nu(mdp)
    nu[0, 1] = 0.0
    nu /= nu.sum()
    with pytest.warns(OddMDPWarning, match="uncovered"):
        C = CoOccurrence(mdp, nu)
    assert C.uncovered.tolist() == [1] and C.n_left == 7
    with warnings.catch_warnings():
        warnings.simplefilter("error", OddMDPWarning)
        CoOccurrence(mdp)  # full support: silent


# ----------------------------------------------------------------------------- closed forms
def ring_sigma(n: int, eps: float) -> np.ndarray:
    j = np.arange(n)
    return np.sort(np.sqrt(1 - 4 * eps * (1 - eps) * np.sin(2 * np.pi * j / n) ** 2))[::-1]


@pytest.mark.parametrize("n, eps", [(3, 0.1), (8, 0.25), (11, 0.4), (12, 0.5), (30, 0.05)])
def test_ring_is_circulant_dft(n, eps):
    mdp = make_env("ring", n=n, slip=eps)
    C = CoOccurrence(mdp)
    s = C.spectrum(n).singular_values
    # the DFT route: P_a circulant, sigma_j^2 = mean_a |DFT(first row of P_a)_j|^2
    first_rows = [mdp.P_action(a).toarray()[0] for a in range(2)]
    dft = np.sort(np.sqrt(np.mean([np.abs(np.fft.fft(c)) ** 2 for c in first_rows], 0)))[::-1]
    assert np.abs(s - dft).max() <= TOL
    assert np.abs(s - ring_sigma(n, eps)).max() <= TOL
    assert C.frobenius_sq == pytest.approx(n * ((1 - eps) ** 2 + eps**2), rel=TOL)


@pytest.mark.parametrize("n, eps", [(2, 0.3), (3, 0.1), (10, 0.2), (25, 0.45), (40, 0.9)])
def test_chain_path_closed_form(n, eps):
    C = CoOccurrence(make_env("chain", n=n, slip=eps))
    j = np.arange(n)
    pred = np.sort(np.sqrt(1 - 4 * eps * (1 - eps) * np.sin(np.pi * j / n) ** 2))[::-1]
    spec = C.spectrum(n)
    assert np.abs(spec.singular_values - pred).max() <= TOL
    # tail_k from the closed form
    for k in (0, 1, n // 2, n):
        assert spec.tail_k(k) == pytest.approx((pred[k:] ** 2).sum(), abs=TOL * n)


@pytest.mark.parametrize("W, H, eps", [(4, 3, 0.2), (5, 5, 0.5), (1, 6, 0.3), (7, 2, 0.9),
                                       (6, 6, 0.75), (3, 8, 1 / 3)])
def test_grid_closed_form(W, H, eps):
    C = CoOccurrence(make_env("grid", width=W, height=H, slip=eps))
    a, b = 1 - 4 * eps / 3, eps / 3
    mu = (2 * np.cos(np.pi * np.arange(H) / H))[:, None] + (2 * np.cos(np.pi * np.arange(W) / W))
    pred = np.sort(np.sqrt(np.clip(a * a + (a * b / 2 + b * b) * mu.ravel() ** 2, 0, None)))
    s = C.spectrum(W * H).singular_values
    assert np.abs(s - pred[::-1]).max() <= TOL


def test_sparse_path_on_a_ring_matches_the_closed_form():
    """The iterative path (forced; auto picks it above DENSE_MAX_ENTRIES): its residuals
    must bound the distance to the closed form (Weyl), and the values match it to 1e-8."""
    n, eps, k = 600, 0.2, 9   # singular values come in pairs j, n-j: k = 1 + 2*4
    C = CoOccurrence(make_env("ring", n=n, slip=eps))
    spec = C.spectrum(k, method="sparse")
    pred = ring_sigma(n, eps)[:k]
    err = np.abs(spec.singular_values - pred)
    assert err.max() <= 1e-8
    assert (err <= spec.residuals + 1e-12).all()
    assert spec.tail_k(k) == pytest.approx((ring_sigma(n, eps)[k:] ** 2).sum(), rel=1e-8)


def test_laplacian_eigenvalues_on_the_ring():
    n, eps = 9, 0.3
    C = CoOccurrence(make_env("ring", n=n, slip=eps))
    ev = np.sort(np.linalg.eigvalsh(C.laplacian().toarray()))
    s = ring_sigma(n, eps)
    pred = np.sort(np.concatenate([1 - s, 1 + s, np.ones(n)]))  # N_L - N_R = n extra ones
    assert np.abs(ev - pred).max() <= TOL


# ----------------------------------------------------------------------------- metamorphic
@settings(max_examples=30, deadline=None)
@given(cases)
def test_relabelling_states_leaves_the_spectrum_unchanged(c):
    C = build(c)
    N = c["N"]
    perm = np.random.default_rng(c["seed"]).permutation(N)  # new state i = old perm[i]
    P = C.mdp.P_dense()[perm][:, :, perm]
    mdp2 = MDP.from_arrays(P, C.mdp.r[perm], C.mdp.gamma, C.mdp.rho0[perm], warn=False)
    C2 = CoOccurrence(mdp2, C.nu[perm])
    k = min(C.n_left, C.n_right)
    assert np.abs(C.spectrum(k).singular_values - C2.spectrum(k).singular_values).max() <= TOL
    assert C2.frobenius_sq == pytest.approx(C.frobenius_sq, rel=TOL)


def duplicate_action(mdp: MDP, a: int) -> MDP:
    P = mdp.P_dense()
    P2 = np.concatenate([P, P[:, a:a + 1]], axis=1)
    r2 = np.concatenate([mdp.r, mdp.r[:, a:a + 1]], axis=1)
    return MDP.from_arrays(P2, r2, mdp.gamma, mdp.rho0, warn=False)


@settings(max_examples=30, deadline=None)
@given(cases, st.floats(0.05, 0.95))
def test_duplicating_an_action_with_nu_split(c, lam):
    """Rows (s,a) -> sqrt(lam) row and sqrt(1-lam) row: q and T^T T are unchanged, so the
    nonzero singular values are the same; only extra zeros appear when N_L grows past
    N_R."""
    C = build(c)
    a = c["seed"] % c["m"]
    mdp2 = duplicate_action(C.mdp, a)
    nu2 = np.concatenate([C.nu, C.nu[:, a:a + 1] * (1 - lam)], axis=1)
    nu2[:, a] *= lam
    C2 = CoOccurrence(mdp2, nu2)
    assert np.abs(C2.q - C.q).max() <= TOL
    assert np.abs((C2.T.T @ C2.T - C.T.T @ C.T).toarray()).max() <= TOL
    k, k2 = min(C.n_left, C.n_right), min(C2.n_left, C2.n_right)
    s, s2 = C.spectrum(k).singular_values, C2.spectrum(k2).singular_values
    assert np.abs(s2[:k] - s).max() <= TOL
    assert (np.abs(s2[k:]) <= TOL).all()
    assert C2.frobenius_sq == pytest.approx(C.frobenius_sq, rel=TOL)


def test_duplicating_an_action_under_uniform_nu_reweights():
    """Uniform nu on the duplicated MDP is the original with nu(., a) doubled (then
    renormalized): the spectra agree with that reweighting, not with uniform nu."""
    mdp = make_env("chain", n=6, slip=0.2)
    C_dup = CoOccurrence(duplicate_action(mdp, 1))
    w = np.array([1.0, 2.0])
    nu = np.tile(w / (6 * w.sum()), (6, 1))
    C_re, C_uni = CoOccurrence(mdp, nu), CoOccurrence(mdp)
    s_dup, s_re, s_uni = (x.spectrum(6).singular_values for x in (C_dup, C_re, C_uni))
    assert np.abs(s_dup - s_re).max() <= TOL
    assert np.abs(s_dup - s_uni).max() > 1e-3


@settings(max_examples=30, deadline=None)
@given(cases)
def test_adding_an_unreachable_state(c):
    """A new state u that no transition enters and rho0 never starts in: under any nu that is
    zero on u it adds no row and no column (T identical); under uniform nu it adds m rows
    (its pairs are covered) but still no column (q(u) = 0)."""
    C = build(c)
    N, m = c["N"], c["m"]
    P = np.zeros((N + 1, m, N + 1))
    P[:N, :, :N] = C.mdp.P_dense()
    P[N, :, 0] = 1.0  # u leads back into the MDP
    with pytest.warns(OddMDPWarning, match="never reached"):
        mdp2 = MDP.from_arrays(P, np.vstack([C.mdp.r, np.zeros(m)]), C.mdp.gamma,
                               np.append(C.mdp.rho0, 0.0))
    C2 = CoOccurrence(mdp2, np.vstack([C.nu, np.zeros(m)]))
    assert (C2.n_left, C2.n_right) == (C.n_left, C.n_right)
    assert np.array_equal(C2.T.toarray(), C.T.toarray())
    assert N in C2.unreachable
    C3 = CoOccurrence(mdp2)
    assert C3.n_left == (N + 1) * m and N not in C3.right


def test_unreachable_state_under_policy_occupancy():
    """The occupancy of a behaviour policy from rho0 is zero on an unreachable state, so T
    (and its spectrum) is the original's."""
    mdp = make_env("chain", n=5, slip=0.3)
    P = np.zeros((6, 2, 6))
    P[:5, :, :5] = mdp.P_dense()
    P[5, :, 2] = 1.0
    mdp2 = MDP.from_arrays(P, np.vstack([mdp.r, [0, 0]]), mdp.gamma,
                           np.append(mdp.rho0, 0.0), warn=False)
    pi = np.full((6, 2), 0.5)
    nu2 = policy_nu(mdp2, pi)
    assert (nu2[5] == 0).all()
    C, C2 = CoOccurrence(mdp, policy_nu(mdp, pi[:5])), CoOccurrence(mdp2, nu2)
    assert C2.T.shape == C.T.shape
    # two sparse LU solves of different sizes: agreement to round-off
    assert np.abs(C2.T.toarray() - C.T.toarray()).max() <= TOL
    assert np.abs(C2.spectrum(5).singular_values - C.spectrum(5).singular_values).max() <= TOL


def test_action_blocks_and_abar():
    """D2: T_a = sqrt(p(a)) Abar_a with Abar_a[s,s'] = p(s,s'|a) / sqrt(p(s|a) q(s'))."""
    mdp = random_mdp(4, 5, 3, 0.6)
    nu = random_nu(4, 5, 3, 1.0, 0)
    C = CoOccurrence(mdp, nu)
    P = mdp.P_dense()
    q = np.einsum("sa,sat->t", nu, P)
    for a in range(3):
        pa = nu[:, a].sum()
        p_s_given_a = nu[:, a] / pa
        abar = (p_s_given_a[:, None] * P[:, a, :]) / np.sqrt(np.outer(p_s_given_a, q))
        assert np.abs(C.abar(a).toarray() - abar).max() <= TOL
        assert np.abs(C.action_block(a).toarray() - np.sqrt(pa) * abar).max() <= TOL
    nu0 = nu.copy()
    nu0[:, 2] = 0.0
    C0 = CoOccurrence(mdp, nu0 / nu0.sum())
    with pytest.raises(DistributionError, match="action 2 has no data"):
        C0.abar(2)


def test_spectrum_is_cached_and_tail_consistent():
    C = CoOccurrence(make_env("grid", width=6, height=5))
    a, b = C.spectrum(8), C.spectrum(8)
    assert a is b
    assert C.tail(8) == pytest.approx(C.frobenius_sq - (a.singular_values ** 2).sum(),
                                      abs=TOL)
    assert a.tail_k(0) == pytest.approx(C.frobenius_sq, rel=TOL)
