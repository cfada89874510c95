"""T3 regret ladder (with D4's q_hat planner): the ordering R0 <= R1 <= R2 <= R3 <= R3w
(and the side rungs) on random MDPs with skewed nu, uncovered pairs and gamma close to 1,
for noisy truncated SVDs and for plug-in estimators from sampled data."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jepatheory import CoOccurrence, make_env, uniform_nu
from jepatheory.bounds import count_model_chain, plugin_run, regret_ladder
from jepatheory.bounds.ladder import Ladder
from jepatheory.errors import DistributionError, LadderOrderError, ShapeError
from jepatheory.model import h_prime, plugin_embeddings, truncated_embeddings
from jepatheory.sampling import empirical_cooccurrence, sample_transitions

from .conftest import random_mdp, random_nu

# the random instances leave (s, a) pairs uncovered on purpose (nu = 0): the OddMDPWarning
# saying so is expected here
pytestmark = pytest.mark.filterwarnings(
    "ignore:nu has uncovered:jepatheory.errors.OddMDPWarning")

GAMMAS = st.sampled_from([0.0, 0.5, 0.9, 0.99, 0.995])


def _instance(seed: int, N: int, m: int, gamma: float, uncovered: int, skew: float):
    rng = np.random.default_rng(seed)
    mdp = random_mdp(rng, N, m, gamma=gamma)
    nu = random_nu(rng, mdp, min(uncovered, N * m - 1), skew=skew)
    return rng, mdp, nu, CoOccurrence(mdp, nu)


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 100_000), N=st.integers(2, 7), m=st.integers(1, 3), gamma=GAMMAS,
       uncovered=st.integers(0, 3), skew=st.sampled_from([0.2, 1.0, 5.0]),
       k=st.integers(1, 5), noise=st.sampled_from([0.0, 0.01, 0.3, 2.0]),
       use_q_hat=st.booleans())
def test_ladder_orders_noisy_truncated_svd(seed, N, m, gamma, uncovered, skew, k, noise,
                                           use_q_hat):
    """Every deterministic rung dominates the previous one, for any (z, h)."""
    rng, mdp, nu, C = _instance(seed, N, m, gamma, uncovered, skew)
    k = min(k, C.n_left, C.n_right)
    e = truncated_embeddings(C, k)
    z = e.z + noise * rng.standard_normal(e.z.shape)
    h = e.h + noise * rng.standard_normal(e.h.shape)
    q_hat = None
    if use_q_hat:  # any distribution on supp(q)
        q_hat = np.zeros(N)
        q_hat[C.right] = rng.dirichlet(np.ones(C.n_right))
    lad = regret_ladder(mdp, nu, z, h, q_hat=q_hat, C=C)
    ratios = lad.check()
    assert set(ratios) >= {"R1/R0", "R2/R1", "R3/R2", "R3w/R3"}
    assert lad.R3_best == min(lad.R3, lad.R3_rowmax)


@settings(max_examples=120, deadline=None)
@given(seed=st.integers(0, 100_000), N=st.integers(2, 6), m=st.integers(1, 3), gamma=GAMMAS,
       uncovered=st.integers(0, 2), skew=st.sampled_from([0.3, 1.0]), k=st.integers(1, 4),
       n=st.sampled_from([20, 200, 5000]))
def test_ladder_orders_plugin_with_q_hat_planner(seed, N, m, gamma, uncovered, skew, k, n):
    """The plug-in estimator planned with q_hat: eps(z, h') is the error the rungs use, and
    R4 from T4 (with its excess empirical loss) and T4b dominate R3w."""
    rng, mdp, nu, C = _instance(seed, N, m, gamma, uncovered, skew)
    ds = sample_transitions(mdp, nu, n, rng)
    emb = plugin_embeddings(empirical_cooccurrence(mdp, ds), k)
    lad = regret_ladder(mdp, nu, emb.z, emb.h, q_hat=ds.q_hat(), n=n, ds=ds, plugin=True,
                        k=emb.k, C=C)
    lad.check()
    assert lad.eps_used == pytest.approx(
        float(np.linalg.norm(C.T.toarray() - np.sqrt(C.nu_L)[:, None] * emb.z[C.left]
                             @ (np.sqrt(C.q_R)[:, None] * h_prime(emb.h, C.q, ds.q_hat())
                                [C.right]).T) ** 2), rel=1e-9, abs=1e-12)
    count_model_chain(mdp, nu, ds, 0.05).check()


def test_q_hat_planner_uses_eps_of_h_prime():
    """D4: with the q_hat planner the ladder's error is eps(z, h') (h' = h q_hat / q), which
    differs from eps(z, h); without q_hat the two coincide."""
    rng, mdp, nu, C = _instance(7, 5, 2, 0.9, 0, 1.0)
    ds = sample_transitions(mdp, nu, 40, rng)
    emb = plugin_embeddings(empirical_cooccurrence(mdp, ds), 2)
    with_q = regret_ladder(mdp, nu, emb.z, emb.h, q_hat=ds.q_hat(), C=C)
    without = regret_ladder(mdp, nu, emb.z, emb.h, C=C)
    assert with_q.q_hat_used and not without.q_hat_used
    assert abs(with_q.eps_used - with_q.eps) > 1e-6
    assert without.eps_used == pytest.approx(without.eps, rel=1e-9, abs=1e-12)
    assert with_q.eps == pytest.approx(without.eps, rel=1e-12)


def test_ladder_closed_form_exact_model():
    """k = rank(T): the model is exact (eps = 0), the planner is optimal: every rung is 0."""
    mdp = make_env("chain", n=6, slip=0.2)
    C = CoOccurrence(mdp)
    e = truncated_embeddings(C, min(C.n_left, C.n_right))
    lad = regret_ladder(mdp, uniform_nu(mdp), e.z, e.h, C=C)
    assert lad.eps_used < 1e-20 * C.frobenius_sq + 1e-24
    for name in ("R0", "R1", "R2", "R3", "R3w"):  # rounding only: ~1e-13 on values O(c)
        assert abs(getattr(lad, name)) < 1e-9
    lad.check()


def test_check_names_the_rungs():
    mdp = make_env("chain", n=5)
    C = CoOccurrence(mdp)
    e = truncated_embeddings(C, 2)
    lad = regret_ladder(mdp, uniform_nu(mdp), e.z, e.h, C=C)
    import dataclasses
    broken = dataclasses.replace(lad, R2=lad.R3 * 2 + 1)
    with pytest.raises(LadderOrderError, match="R2 = .* exceeds R3 ="):
        broken.check()
    assert isinstance(LadderOrderError("x"), RuntimeError)


def test_ladder_input_errors():
    mdp = make_env("chain", n=5)
    nu = uniform_nu(mdp)
    C = CoOccurrence(mdp, nu)
    e = truncated_embeddings(C, 2)
    with pytest.raises(ShapeError):
        regret_ladder(mdp, nu, e.z[:-1], e.h)
    with pytest.raises(DistributionError):
        regret_ladder(mdp, nu, e.z, e.h, q_hat=np.full(5, 0.3))
    other = np.full_like(nu, 0.0)
    other[:, 0] = 1 / 5
    with pytest.raises(DistributionError, match="differs"):
        regret_ladder(mdp, other, e.z, e.h, C=C)
    assert regret_ladder(mdp, None, e.z, e.h, C=C).R3w >= 0  # nu taken from C


def test_ladder_exports_and_r4_none_without_n():
    mdp = make_env("chain", n=8)
    C = CoOccurrence(mdp)
    e = truncated_embeddings(C, 3)
    lad = regret_ladder(mdp, uniform_nu(mdp), e.z, e.h, C=C)
    assert isinstance(lad, Ladder) and lad.R4_T4 is None and lad.R4_T4b is None
    d = lad.to_dict()
    assert {"R0", "R1", "R2", "R3", "R3w", "R4_T4", "R4_T4b", "eps", "eps_used", "C_pi_star",
            "C_pi_hat", "ratios", "vacuous"} <= set(d)
    assert "R3w" in repr(lad)


def test_plugin_run_four_rooms():
    res = plugin_run(make_env("four-rooms"), None or uniform_nu(make_env("four-rooms")),
                     5000, 8, seed=1)
    res.check()
    lad = res.ladder
    assert lad.q_hat_used and lad.plugin and not lad.erm_assumed
    assert lad.R4_T4 >= lad.R3w and lad.R4_T4b >= lad.R3w
    # four-rooms: c = 90 > trivial bound 10, so every bound rung is vacuous while R0 is not
    assert lad.vacuous["R1"] and lad.R0 < lad.trivial_bound


def test_plugin_run_rejects_a_non_positive_k():
    from jepatheory import CoOccurrence, make_env
    from jepatheory.bounds import plugin_run
    from jepatheory.errors import BoundInputError

    mdp = make_env("chain", n=5)
    with pytest.raises(BoundInputError, match="k = 0"):
        plugin_run(mdp, CoOccurrence(mdp).nu, n=100, k=0)
