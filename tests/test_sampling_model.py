"""Sampling, the plug-in T_hat, the JEPA losses and the induced model (D3, D4, T1, C1, T2)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jepatheory import CoOccurrence, make_env
from jepatheory.errors import MDPError, ShapeError
from jepatheory.model import (clip_renormalize, empirical_loss, factorization_error, h_prime,
                              jepa_loss, l2_loss, model_kernel, truncated_embeddings)
from jepatheory.sampling import (count_model, empirical_cooccurrence, rollouts,
                                 sample_transitions)

from .conftest import random_mdp, random_nu

# float64 identities on O(1) quantities: 1e-9 leaves room for O(N^2) summation round-off
TOL = 1e-9


@pytest.mark.filterwarnings("ignore:nu has uncovered:jepatheory.errors.OddMDPWarning")
@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), N=st.integers(2, 7), m=st.integers(1, 3),
       k=st.integers(1, 4), uncovered=st.integers(0, 3))
def test_t1_loss_equals_factorization_error(seed, N, m, k, uncovered):
    """T1: L(z,h) = ||T - Phi Psi^T||_F^2 - ||T||_F^2 for arbitrary (z, h)."""
    rng = np.random.default_rng(seed)
    mdp = random_mdp(rng, N, m)
    C = CoOccurrence(mdp, random_nu(rng, mdp, min(uncovered, N * m - 1), skew=0.5))
    z, h = rng.standard_normal((N * m, k)), rng.standard_normal((N, k))
    eps = factorization_error(C, z, h)
    assert jepa_loss(C, z, h) == pytest.approx(eps - C.frobenius_sq, abs=TOL * (1 + eps))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 4))
def test_c1_whitened_l2_is_loss_plus_k(seed, k):
    """C1: if E_q[h h^T] = I_k then L2 = L + k."""
    rng = np.random.default_rng(seed)
    mdp = random_mdp(rng, 6, 2)
    C = CoOccurrence(mdp, random_nu(rng, mdp))
    k = min(k, C.n_right)
    h = np.zeros((mdp.n_states, k))
    Q, _ = np.linalg.qr(rng.standard_normal((C.n_right, k)))
    h[C.right] = Q / np.sqrt(C.q_R)[:, None]  # E_q[h h^T] = Q^T Q = I
    z = rng.standard_normal((mdp.n_states * mdp.n_actions, k))
    assert l2_loss(C, z, h) == pytest.approx(jepa_loss(C, z, h) + k, abs=1e-9)


@pytest.mark.filterwarnings("ignore:nu has uncovered:jepatheory.errors.OddMDPWarning")
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 5))
def test_t2_truncated_svd_attains_tail_and_is_optimal(seed, k):
    """T2: eps at the truncated SVD is tail_k; every other (z, h) has eps >= tail_k."""
    rng = np.random.default_rng(seed)
    mdp = random_mdp(rng, 7, 2)
    C = CoOccurrence(mdp, random_nu(rng, mdp, 1))
    k = min(k, C.n_right)
    E = truncated_embeddings(C, k)
    tail = C.tail(k)
    assert factorization_error(C, E.z, E.h) == pytest.approx(tail, abs=1e-9)
    for _ in range(5):
        z = E.z + 0.1 * rng.standard_normal(E.z.shape)
        assert factorization_error(C, z, E.h) >= tail - 1e-12


def test_sampling_is_seeded_and_converges():
    mdp = make_env("chain", n=6, slip=0.3)
    C = CoOccurrence(mdp)
    a = sample_transitions(mdp, C.nu, 50_000, seed=3)
    b = sample_transitions(mdp, C.nu, 50_000, seed=3)
    assert np.array_equal(a.s2, b.s2) and np.array_equal(a.pair, b.pair)
    # 50k draws: frequencies within 5 standard errors (sd <= 0.5/sqrt(n) ~ 2.2e-3)
    assert np.abs(a.nu_hat() - C.nu).max() < 0.012
    assert np.abs(a.q_hat() - C.q).max() < 0.012
    J = (a.counts() / a.n).toarray()
    assert np.abs(J - C.nu.ravel()[:, None] * mdp.P_sa.toarray()).max() < 0.012


def test_sampling_never_draws_zero_probability_pairs(rng):
    mdp = random_mdp(rng, 5, 2)
    nu = random_nu(rng, mdp, uncovered=4)
    ds = sample_transitions(mdp, nu, 20_000, seed=1)
    assert np.all(nu.ravel()[ds.pair] > 0)
    assert np.all(mdp.P_sa.toarray()[ds.pair, ds.s2] > 0)


def test_bad_sample_size():
    mdp = make_env("chain", n=4)
    with pytest.raises(MDPError, match="n = 0"):
        sample_transitions(mdp, CoOccurrence(mdp).nu, 0)


def test_empirical_cooccurrence_is_the_plugin(rng):
    """T_hat = D_nuhat^{-1/2} J_n D_qhat^{-1/2} on the empirical supports."""
    mdp = random_mdp(rng, 6, 2)
    ds = sample_transitions(mdp, random_nu(rng, mdp), 300, seed=2)
    Ch = empirical_cooccurrence(mdp, ds)
    nu_hat, q_hat = ds.nu_hat().ravel(), ds.q_hat()
    J = (ds.counts() / ds.n).toarray()
    L, R = nu_hat > 0, q_hat > 0
    expected = J[L][:, R] / np.sqrt(np.outer(nu_hat[L], q_hat[R]))
    assert np.allclose(Ch.T.toarray(), expected, atol=1e-14)
    assert np.allclose(Ch.q, q_hat)
    cm = count_model(mdp, ds)
    assert np.allclose(np.asarray(cm.P_sa.sum(axis=1)).ravel(), 1.0)


def test_h_prime_moves_q_hat_into_h(rng):
    """q z.h' = q_hat z.h wherever q > 0 (D4)."""
    mdp = random_mdp(rng, 5, 2)
    C = CoOccurrence(mdp)
    z, h = rng.standard_normal((10, 3)), rng.standard_normal((5, 3))
    q_hat = rng.dirichlet(np.ones(5))
    assert np.allclose(model_kernel(z, h_prime(h, C.q, q_hat), C.q), model_kernel(z, h, q_hat))


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_clip_renormalize_fact(seed):
    """D4: ||P~ - P||_1 <= ||P^ - P||_1 + |1 - sum P^| <= 2 ||P^ - P||_1, row by row."""
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(6) * 0.5, size=8)
    P_hat = P + rng.normal(scale=rng.choice([0.01, 0.3, 2.0]), size=P.shape)
    P_t = clip_renormalize(P_hat)
    assert np.allclose(P_t.sum(1), 1) and (P_t >= 0).all()
    l1_t = np.abs(P_t - P).sum(1)
    l1_h = np.abs(P_hat - P).sum(1)
    mid = l1_h + np.abs(1 - P_hat.sum(1))
    assert np.all(l1_t <= mid + 1e-12) and np.all(mid <= 2 * l1_h + 1e-12)


def test_u_statistic_is_unbiased():
    """E[Lhat_n] = L(z, h): the mean over 400 datasets is within 4 standard errors."""
    mdp = make_env("chain", n=5, slip=0.3)
    C = CoOccurrence(mdp)
    rng = np.random.default_rng(0)
    z, h = rng.standard_normal((10, 2)), rng.standard_normal((5, 2))
    vals = [empirical_loss(z, h, ds.pair, ds.s2)
            for ds in (sample_transitions(mdp, C.nu, 200, seed=s) for s in range(400))]
    se = np.std(vals) / np.sqrt(len(vals))
    assert abs(np.mean(vals) - jepa_loss(C, z, h)) < 4 * se


def test_rollouts_follow_the_policy():
    mdp = make_env("chain", n=5, slip=0.0)
    pi = np.ones(5, dtype=int)  # always right
    ds = rollouts(mdp, pi, n_episodes=20, horizon=10, seed=0)
    assert ds.n == 200 and np.all(ds.a == 1)
    assert np.all(ds.s2 == np.minimum(ds.s + 1, 4))


def test_embedding_shapes_are_checked():
    mdp = make_env("chain", n=4)
    C = CoOccurrence(mdp)
    with pytest.raises(ShapeError, match="z: expected shape"):
        jepa_loss(C, np.zeros((3, 2)), np.zeros((4, 2)))
    with pytest.raises(ShapeError, match="NaN"):
        jepa_loss(C, np.full((8, 2), np.nan), np.zeros((4, 2)))
