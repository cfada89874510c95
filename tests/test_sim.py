"""Simulation layer: encoders and trainers (gradients checked by finite differences), the
ERM/gradient agreement on four-rooms, collapse (D3), planners (D4) and one-run measurements
with the checked T3 ladder."""
from __future__ import annotations

import json

import numpy as np
import pytest

from jepatheory.cli import main
from jepatheory.cooccurrence import CoOccurrence
from jepatheory.data import uniform_nu
from jepatheory.envs import make_env
from jepatheory.errors import JepaTheoryError, ShapeError
from jepatheory.model import empirical_loss, factorization_error, truncated_embeddings
from jepatheory.sampling import sample_transitions
from jepatheory.sim.encoders import SparseRows, make_encoder
from jepatheory.sim.measure import RUNG_KEYS, run_experiment
from jepatheory.sim.planners import cem_planner, latent_value_iteration, plan, projected_planner
from jepatheory.sim.trainers import (Adam, _second_moment_reg, spectral_batch_grad, train,
                                     train_erm, train_spectral)
from jepatheory.solvers import optimal_policy, policy_evaluation


@pytest.fixture(scope="module")
def four_rooms():
    mdp = make_env("four-rooms")
    nu = uniform_nu(mdp)
    return mdp, nu, CoOccurrence(mdp, nu), sample_transitions(mdp, nu, 20_000, 0)


@pytest.fixture(scope="module")
def chain():
    mdp = make_env("chain", n=8, slip=0.2)
    nu = uniform_nu(mdp)
    return mdp, nu, CoOccurrence(mdp, nu)


def _dense(g, shape):
    if isinstance(g, SparseRows):
        out = np.zeros(shape)
        out[g.rows] = g.values
        return out
    return g


@pytest.mark.parametrize("kind", ["tabular", "linear", "mlp"])
@pytest.mark.parametrize("heads", [1, 3])
def test_encoder_gradient_matches_finite_differences(kind, heads):
    mdp = make_env("block-mdp", latent_width=2, latent_height=2, obs_per_latent=3, d_x=5)
    rng = np.random.default_rng(1)
    enc = make_encoder(kind, mdp, 3, heads, rng, scale=0.5)
    s = rng.integers(0, mdp.n_states, 20)
    a = rng.integers(0, heads, 20)
    G = rng.standard_normal((20, 3))
    out, cache = enc.forward(s, a)
    grads = enc.backward(cache, G)
    for name, p in enc.params.items():
        g = _dense(grads[name], p.shape)
        for idx in list(zip(*np.unravel_index(rng.choice(p.size, 6, replace=False), p.shape))):
            old = p[idx]
            p[idx] = old + 1e-6
            up = float(np.sum(G * enc.forward(s, a)[0]))
            p[idx] = old - 1e-6
            dn = float(np.sum(G * enc.forward(s, a)[0]))
            p[idx] = old
            # central differences of a smooth map: error O(h^2) ~ 1e-10, relative 1e-6 slack
            assert g[idx] == pytest.approx((up - dn) / 2e-6, rel=1e-5, abs=1e-7)


def test_spectral_and_regularizer_gradients_match_finite_differences():
    rng = np.random.default_rng(2)
    Z, H = rng.standard_normal((7, 3)), rng.standard_normal((7, 3))
    loss, gZ, gH = spectral_batch_grad(Z, H)
    # the minibatch loss is the U-statistic of D3 on the batch
    assert loss == pytest.approx(empirical_loss(Z, H, np.arange(7), np.arange(7)), rel=1e-12)
    for M, g in ((Z, gZ), (H, gH)):
        for i, j in [(0, 0), (3, 2), (6, 1)]:
            M[i, j] += 1e-6
            up = spectral_batch_grad(Z, H)[0]
            M[i, j] -= 2e-6
            dn = spectral_batch_grad(Z, H)[0]
            M[i, j] += 1e-6
            assert g[i, j] == pytest.approx((up - dn) / 2e-6, rel=1e-5, abs=1e-8)
    _, gR = _second_moment_reg(H)
    H[2, 1] += 1e-6
    up = _second_moment_reg(H)[0]
    H[2, 1] -= 2e-6
    dn = _second_moment_reg(H)[0]
    assert gR[2, 1] == pytest.approx((up - dn) / 2e-6, rel=1e-5)


def test_lazy_adam_equals_dense_adam_on_rows_in_every_batch():
    rng = np.random.default_rng(3)
    p0 = rng.standard_normal((6, 2))
    lazy, dense = {"t": p0.copy()}, {"t": p0.copy()}
    A, D = Adam(lazy, 0.1), Adam(dense, 0.1, dense=True)
    for _ in range(5):  # every row in every batch: the two semantics coincide exactly
        g = SparseRows(np.arange(6), rng.standard_normal((6, 2)))
        A.step({"t": g})
        D.step({"t": g})
    np.testing.assert_allclose(lazy["t"], dense["t"], rtol=0, atol=1e-14)
    # a row absent from the batch: lazy leaves it alone, dense moves it along its momentum
    g = SparseRows(np.arange(5), rng.standard_normal((5, 2)))
    before = lazy["t"][5].copy()
    A.step({"t": g})
    D.step({"t": g})
    np.testing.assert_array_equal(lazy["t"][5], before)
    assert not np.allclose(dense["t"][5], before)
    np.testing.assert_allclose(lazy["t"][:5], dense["t"][:5], rtol=0, atol=1e-14)


def test_erm_is_the_truncated_svd_of_the_plugin_matrix(four_rooms):
    mdp, nu, C, ds = four_rooms
    tr = train_erm(mdp, ds, 6)
    from jepatheory.sampling import empirical_cooccurrence
    Chat = empirical_cooccurrence(mdp, ds)
    s = Chat.spectrum(6).singular_values
    assert tr.log.loss == pytest.approx(-np.sum(s[:6] ** 2), rel=1e-12)
    # T2 on T_hat: the plug-in factorization error equals tail_6(T_hat) (Eckart-Young)
    assert factorization_error(Chat, tr.emb.z, tr.emb.h) == pytest.approx(Chat.tail(6),
                                                                          rel=1e-8, abs=1e-10)
    with pytest.raises(ShapeError, match="tabular"):
        train_erm(mdp, ds, 4, encoder="linear")


def test_gradient_training_reaches_the_erm_loss_within_one_percent(four_rooms):
    mdp, nu, C, ds = four_rooms
    erm = train("erm", mdp, ds, 8)
    L_erm = empirical_loss(erm.emb.z, erm.emb.h, ds.pair, ds.s2)
    tr = train_spectral(mdp, ds, 8, steps=1500, seed=0)
    L = empirical_loss(tr.emb.z, tr.emb.h, ds.pair, ds.s2)
    assert L <= L_erm + 0.01 * abs(L_erm)          # the 1% target
    assert L >= L_erm - 0.01 * abs(L_erm)          # and it cannot beat ERM by much (O(1/n))
    assert tr.log.steps == 1500 and len(tr.log.loss_curve) >= 50


def test_same_seed_same_numbers(chain):
    mdp, nu, _ = chain
    ds = sample_transitions(mdp, nu, 2000, 5)
    for name in ("spectral", "jepa", "tied"):
        a = train(name, mdp, ds, 3, steps=50, seed=4)
        b = train(name, mdp, ds, 3, steps=50, seed=4)
        np.testing.assert_array_equal(a.emb.z, b.emb.z)
        np.testing.assert_array_equal(a.emb.h, b.emb.h)


def test_jepa_and_tied_learn_and_collapse_collapses(four_rooms):
    mdp, nu, C, ds = four_rooms
    L_erm = train("erm", mdp, ds, 4).log.loss
    for name in ("jepa", "tied"):
        tr = train(name, mdp, ds, 4, steps=800)
        # whitened: E_q[hh^T] close to I_k (soft VICReg-style constraint), and the spectral
        # loss close to optimal (C1: L2 = L + k under whitening)
        eig = np.asarray(tr.log.extra["second_moment_eigs"])
        assert np.all(eig > 0.6) and np.all(eig < 1.4)
        # 800 steps reach ~85% of the optimal spectral loss on four-rooms (99% by 3000)
        assert empirical_loss(tr.emb.z, tr.emb.h, ds.pair, ds.s2) < 0.75 * L_erm
    col = train("collapse", mdp, ds, 4, steps=800)
    # D3: without an anti-collapse term the l2 loss goes to 0 with the embeddings
    assert col.log.loss < 1e-3
    assert max(col.log.extra["second_moment_eigs"]) < 0.05
    assert factorization_error(C, col.emb.z, col.emb.h) > 0.95 * C.frobenius_sq


def test_planners_with_the_exact_model_are_optimal(chain):
    mdp, nu, C = chain
    k = min(C.n_left, C.n_right)
    emb = truncated_embeddings(C, k)      # full rank: P_hat = P exactly
    V_star = optimal_policy(mdp).V
    for name in ("latent", "projected"):
        out = plan(name, mdp, emb.z, emb.h, C.q)
        V = policy_evaluation(mdp, out.policy)
        np.testing.assert_allclose(V, V_star, atol=1e-8)
        np.testing.assert_allclose(out.V_model, V, atol=1e-8)   # exact model, exact values
    lv = latent_value_iteration(mdp, emb.z, emb.h, C.q)
    assert lv.converged and lv.contraction == pytest.approx(mdp.gamma, rel=1e-8)
    cem = cem_planner(mdp, emb.z, emb.h, C.q, horizon=12, seed=0)
    V = policy_evaluation(mdp, cem.policy)
    np.testing.assert_allclose(cem.V_model, V, atol=1e-8)
    # a finite-horizon CEM is not exactly optimal; on this chain it is within 5% of V*
    assert float(mdp.rho0 @ V) >= 0.95 * float(mdp.rho0 @ V_star)


def test_projected_planner_of_a_signed_model_is_a_valid_policy(four_rooms):
    mdp, nu, C, ds = four_rooms
    emb = truncated_embeddings(C, 3)
    out = projected_planner(mdp, emb.z, emb.h, C.q)
    assert out.policy.shape == (mdp.n_states,) and out.policy.max() < mdp.n_actions
    lv = latent_value_iteration(mdp, emb.z, emb.h, C.q, max_iter=200)
    assert lv.contraction > 0    # reported, whether or not < 1


@pytest.mark.parametrize("trainer,planner", [("erm", "projected"), ("spectral", "latent"),
                                             ("jepa", "cem")])
def test_run_experiment_measures_and_checks_the_ladder(four_rooms, trainer, planner):
    mdp, nu, C, ds = four_rooms
    res = run_experiment(mdp, nu, k=4, n=ds.n, trainer=trainer, planner=planner, C=C, ds=ds,
                         train_kw=dict(steps=300))
    f = res.flat()
    for key in RUNG_KEYS + ("loss", "erm_loss", "eps", "regret", "pe_error", "model_l1"):
        assert f[key] is not None and np.isfinite(f[key]), key
    assert f["R0"] <= f["R1"] <= f["R2"] <= f["R3"] <= f["R3w"]
    assert f["eps"] >= f["tail_k"] - 1e-9          # T2: no model beats tail_k
    if planner == "projected":
        assert f["regret"] == pytest.approx(f["R0"], abs=1e-12)
    assert f["loss"] >= f["erm_loss"] - 0.01 * abs(f["erm_loss"])


def test_baselines_measured(four_rooms):
    mdp, nu, C, ds = four_rooms
    cnt = run_experiment(mdp, nu, k=1, n=ds.n, trainer="count", C=C, ds=ds).flat()
    assert cnt["regret"] == pytest.approx(cnt["R0"])
    assert -1e-9 <= cnt["R0"] <= cnt["R1"]
    feat = run_experiment(mdp, nu, k=1, n=ds.n, trainer="features", C=C, ds=ds).flat()
    assert feat["regret"] >= -1e-9 and 0 <= feat["model_l1"] <= 2


def test_cli_simulate_json_and_errors(capsys):
    rc = main(["simulate", "--env", "chain", "-p", "n=10", "-p", "slip=0.2", "--k", "3",
               "--n", "3000", "--trainer", "spectral", "--steps", "200", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    for key in RUNG_KEYS + ("loss", "eps", "erm_loss", "regret", "k", "n", "trainer"):
        assert key in out
    rc = main(["simulate", "--env", "chain", "--trainer", "erm", "--encoder", "linear"])
    assert rc == 2
    assert "tabular" in capsys.readouterr().err
    with pytest.raises(JepaTheoryError):
        run_experiment(*chain_args(), k=2, n=100, trainer="nope")


def chain_args():
    mdp = make_env("chain", n=5)
    return mdp, uniform_nu(mdp)


def test_figures_are_written(tmp_path):
    pytest.importorskip("matplotlib")
    from jepatheory.sim.plots import plot_latent_vs_input, plot_loss_curves, plot_regret_vs_k
    rows = [dict(trainer=t, encoder="tabular", k=k, n=n, regret=0.1 * k / n, R1=1.0, R3w=2.0)
            for t in ("erm", "count") for k in (1, 2, 4) for n in (100, 1000)]
    paths = [plot_regret_vs_k(rows, tmp_path / "a.png", k_star={100: 2}, count={100: 0.1}),
             plot_latent_vs_input(rows, tmp_path / "b.png"),
             plot_loss_curves({2: [(1, -1.0), (2, -1.5)]}, tmp_path / "c.png", erm={2: -1.6})]
    assert all(p.exists() and p.stat().st_size > 1000 for p in paths)


def test_rollout_data_and_its_exact_marginal():
    from jepatheory.sim.measure import rollout_dataset, rollout_nu
    mdp = make_env("chain", n=6, slip=0.2)
    nu = rollout_nu(mdp, 10)
    ds = rollout_dataset(mdp, 60_000, 10, seed=0)
    assert ds.n == 60_000 and nu.sum() == pytest.approx(1.0)
    # empirical marginal of 60000 rollout transitions: each entry's standard error is below
    # sqrt(0.25 / 6000) ~ 0.0065 (6000 independent episodes), so 0.03 is > 4 sigma
    np.testing.assert_allclose(ds.nu_hat(), nu, atol=0.03)
    res = run_experiment(mdp, nu, k=3, n=ds.n, ds=ds, trainer="erm")
    assert res.flat()["R0"] <= res.flat()["R1"]


@pytest.mark.parametrize("name", ["spectral", "jepa", "tied", "collapse"])
@pytest.mark.parametrize("steps", [0, -5, 2.5])
def test_gradient_trainers_refuse_a_step_count_below_one(name, steps):
    """steps = 0 used to end in an UnboundLocalError inside the loop; now a typed error."""
    mdp = make_env("chain", n=5)
    ds = sample_transitions(mdp, uniform_nu(mdp), 200, 0)
    with pytest.raises(ShapeError, match=f"steps = {steps!r}"):
        train(name, mdp, ds, 2, steps=steps)
