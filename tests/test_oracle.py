"""K1/K2: the oracle rungs R0 <= R_exact <= R1_span <= R1, the value-difference identity
they rest on (its constant gamma/(1-gamma) with the normalized occupancy), the slack
factors, and the eps floor (THEORY K1, K2; proofs/K1.md)."""
from __future__ import annotations

import itertools
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from jepatheory import CoOccurrence, make_env
from jepatheory.bounds import regret_ladder
from jepatheory.bounds.ladder import ORDER
from jepatheory.bounds.oracle import SLACK_FACTORS, eps_floor, oracle_rungs
from jepatheory.model import clip_renormalize, model_kernel, truncated_embeddings
from jepatheory.sim.planners import model_mdp
from jepatheory.solvers import occupancy, optimal_policy, policy_evaluation

from .conftest import random_mdp, random_nu


def _model(seed, N, m, gamma, k, noise):
    rng = np.random.default_rng(seed)
    mdp = random_mdp(rng, N, m, gamma=gamma)
    nu = random_nu(rng, mdp, 0, skew=1.0)
    C = CoOccurrence(mdp, nu)
    e = truncated_embeddings(C, min(k, C.n_left, C.n_right))
    z = e.z + noise * rng.standard_normal(e.z.shape)
    h = e.h + noise * rng.standard_normal(e.h.shape)
    return rng, mdp, nu, C, z, h


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), N=st.integers(2, 6), m=st.integers(1, 3),
       gamma=st.sampled_from([0.0, 0.5, 0.9, 0.99]), k=st.integers(1, 4),
       noise=st.sampled_from([0.0, 0.05, 0.5]))
def test_value_difference_identity_has_the_right_constant(seed, N, m, gamma, k, noise):
    """Delta_pi = gamma/(1-gamma) E_{d^pi}[(P - P_tilde) V^pi_Ptilde] equals
    V^pi_P(rho0) - V^pi_Ptilde(rho0) to rounding (d^pi normalized, sum 1)."""
    _, mdp, _, C, z, h = _model(seed, N, m, gamma, k, noise)
    Pt = clip_renormalize(model_kernel(z, h, C.q))
    model = model_mdp(mdp, Pt, "m")
    pi_hat = optimal_policy(model).policy
    orc = oracle_rungs(C, Pt, pi_hat)
    V_true = mdp.rho0 @ policy_evaluation(mdp, pi_hat)
    V_model = mdp.rho0 @ policy_evaluation(model, pi_hat)
    scale = 1 + mdp.r_max / (1 - gamma)
    # tolerance: two sparse LU solves at condition number <= 2/(1-gamma)
    assert abs(orc.delta_hat - (V_true - V_model)) <= 1e-9 * scale
    assert abs(orc.R_signed - (orc.R0 - orc.middle)) <= 1e-9 * scale
    assert orc.middle <= 1e-9 * scale                        # pi_hat optimal in P_tilde


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 10_000), N=st.integers(2, 6), m=st.integers(1, 3),
       gamma=st.sampled_from([0.0, 0.5, 0.9, 0.99]), k=st.integers(1, 4),
       noise=st.sampled_from([0.0, 0.05, 0.5]), uncovered=st.integers(0, 2))
def test_ladder_checks_the_oracle_rungs(seed, N, m, gamma, k, noise, uncovered):
    """R0 <= R_exact <= R1_span <= R1 (one-sided, via Ladder.check) and the slack factors
    multiply to the total."""
    rng = np.random.default_rng(seed)
    mdp = random_mdp(rng, N, m, gamma=gamma)
    nu = random_nu(rng, mdp, min(uncovered, N * m - 1))
    C = CoOccurrence(mdp, nu)
    e = truncated_embeddings(C, min(k, C.n_left, C.n_right))
    z = e.z + noise * rng.standard_normal(e.z.shape)
    lad = regret_ladder(mdp, nu, z, e.h, C=C)
    ratios = lad.check()
    assert {"R_exact/R0", "R1_span/R_exact", "R1/R1_span"} <= set(ratios)
    tol = 1e-9 * (1 + lad.trivial_bound)
    assert lad.R0 <= lad.R_signed + tol and lad.R_signed <= lad.R_exact + tol
    assert lad.R1_span <= lad.R1 + tol
    f = lad.slack.factors()
    assert set(f) == set(SLACK_FACTORS)
    vals = [f[n] for n in SLACK_FACTORS[:-1]]
    if all(v is not None and math.isfinite(v) and v > 0 for v in vals) and lad.R0 > 1e-9:
        assert math.isclose(math.prod(vals), lad.R3w / lad.R0, rel_tol=1e-6)
    assert lad.R3w_floor <= lad.R3w * (1 + 1e-9) + tol       # Eckart-Young


def test_order_pairs_and_json():
    assert ORDER[:3] == (("R0", "R_exact"), ("R_exact", "R1_span"), ("R1_span", "R1"))
    mdp = make_env("chain", n=8, slip=0.2)
    C = CoOccurrence(mdp)
    e = truncated_embeddings(C, 3)
    d = regret_ladder(mdp, None, e.z, e.h, C=C, n=1000).to_dict()
    assert {"R_exact", "R1_span", "slack", "R3w_floor", "eps_route_can_certify"} <= set(d)
    assert set(SLACK_FACTORS) <= set(d["slack"])


def test_exact_model_has_zero_oracle_rungs():
    """Full rank with the true q: P_tilde = P, so every rung above R0 is 0 (closed form)."""
    mdp = make_env("chain", n=6, slip=0.3)
    C = CoOccurrence(mdp)
    e = truncated_embeddings(C, min(C.n_left, C.n_right))
    lad = regret_ladder(mdp, None, e.z, e.h, C=C)
    assert lad.R0 <= 1e-9 and lad.R_exact <= 1e-9 and lad.R1_span <= 1e-9


def test_eps_floor_is_zero_at_full_rank_and_monotone():
    C = CoOccurrence(make_env("four-rooms"))
    fl = eps_floor(C, [1, 2, 8, 32, min(C.n_left, C.n_right)])
    assert fl.floor[fl.full_rank] == 0.0 and fl.can_certify[fl.full_rank]
    vals = [fl.floor[k] for k in fl.k_values]
    assert all(a >= b - 1e-12 for a, b in itertools.pairwise(vals))
    assert not fl.can_certify[1]                              # four-rooms: vacuous at k = 1
    assert fl.k_min is not None and fl.eps_route_can_certify


def test_eps_floor_bounds_r3w_of_every_rank_k_model():
    """F_k <= R3w for trained models of rank k (one-sided; C^pi_hat >= 1)."""
    mdp = make_env("sbm")
    C = CoOccurrence(mdp)
    fl = eps_floor(C, [1, 2, 3])
    rng = np.random.default_rng(0)
    for k in (1, 2, 3):
        e = truncated_embeddings(C, k)
        lad = regret_ladder(mdp, None, e.z + 0.01 * rng.standard_normal(e.z.shape), e.h, C=C)
        assert fl.floor[k] <= lad.R3w * (1 + 1e-9)
    _ = occupancy  # imported for the docstring's normalization claim


def test_ladder_figure_shows_infinite_rungs_and_factors(tmp_path):
    """The figure has a y label, draws infinite rungs (hatched, labelled) and the factors."""
    import matplotlib
    matplotlib.use("Agg")
    import dataclasses

    from jepatheory.bounds import plugin_run
    from jepatheory.bounds.plots import plot_ladder
    run = plugin_run(make_env("chain", n=6, slip=0.2), None, n=500, k=2, seed=0)
    lad = dataclasses.replace(run.ladder, R3=float("inf"), R3w=float("inf"), R0=0.0)
    out = plot_ladder(lad, tmp_path / "l.png", run.chain)
    assert out.exists() and out.stat().st_size > 0


def test_ladder_cli_json_has_the_k1_k2_keys(capsys):
    import json

    from jepatheory.cli import main
    assert main(["ladder", "--env", "sbm", "--k", "4", "--n", "3000", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    lad = out["ladder"]
    assert {"R_exact", "R1_span", "slack", "eps_route_can_certify"} <= set(lad)
    assert out["eps_floor"]["k_min"] <= 4 and lad["eps_route_can_certify"]  # sbm: rank 4
