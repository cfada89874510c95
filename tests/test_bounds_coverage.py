"""Coverage of the probabilistic bounds: over many sampled datasets, each high-probability
statement (T4, the pieces of T4b and T4b itself, T5's per-row Weissman bound) must hold at
least 1 - delta of the time. The measured coverage is printed (run with -s)."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from jepatheory import CoOccurrence
from jepatheory.bounds import count_model_chain, plugin_constants, regret_ladder
from jepatheory.model import plugin_embeddings
from jepatheory.sampling import empirical_cooccurrence, sample_transitions
from jepatheory.solvers import optimal_policy

from .conftest import random_mdp

R = 250          # datasets per instance
DELTA = 0.2      # large on purpose: a bound that is too small would show below 1 - delta
# the plug-in error is computed in float64 on O(1) numbers: allow 1e-9 relative slack
SLACK = 1 + 1e-9


def _tilde_T(C: CoOccurrence, ds) -> np.ndarray:
    """T~ = D_nu^{-1/2} J_n D_q^{-1/2} on supp(nu) x supp(q) (true marginals)."""
    J = ds.counts() / ds.n
    J = sp.csr_array(J)[C.left][:, C.right].toarray()
    return J / np.sqrt(C.nu_L)[:, None] / np.sqrt(C.q_R)[None, :]


@pytest.mark.parametrize("case", [dict(seed=1, N=5, m=2, n=3000, skew=3.0),
                                  dict(seed=2, N=4, m=3, n=8000, skew=1.5)])
def test_coverage_t4_t4b_t5(case):
    rng = np.random.default_rng(case["seed"])
    mdp = random_mdp(rng, case["N"], case["m"], sparsity=0.4, gamma=0.9)
    nu = rng.dirichlet(np.full(case["N"] * case["m"], case["skew"])).reshape(case["N"], -1)
    C = CoOccurrence(mdp, nu)
    n = case["n"]
    const = plugin_constants(C, n, DELTA)
    assert const.rho_nu < 1 and const.rho_q < 1  # the instance is in T4b's regime
    T = C.T.toarray()
    hits = dict(Delta_n=0, rho_nu=0, rho_q=0, T4=0, T4b=0, T5_rows=0)
    k = min(2, C.n_left, C.n_right)
    pi_star = optimal_policy(mdp).policy
    for _r in range(R):
        ds = sample_transitions(mdp, nu, n, rng)
        hits["Delta_n"] += np.linalg.norm(_tilde_T(C, ds) - T, 2) <= const.Delta_n
        nu_hat, q_hat = ds.nu_hat().ravel()[C.left], ds.q_hat()[C.right]
        hits["rho_nu"] += np.max(np.abs(nu_hat / C.nu_L - 1)) <= const.rho_nu
        hits["rho_q"] += np.max(np.abs(q_hat / C.q_R - 1)) <= const.rho_q
        emb = plugin_embeddings(empirical_cooccurrence(mdp, ds), k)
        lad = regret_ladder(mdp, nu, emb.z, emb.h, q_hat=ds.q_hat(), n=n, delta=DELTA,
                            k=emb.k, C=C, ds=ds, plugin=True, pi_star=pi_star)
        hits["T4"] += lad.eps_used <= lad.t4.eps_bound * SLACK
        hits["T4b"] += lad.eps_used <= lad.t4b.eps_bound * SLACK
        ch = count_model_chain(mdp, nu, ds, DELTA, pi_star=pi_star)
        cov = nu.ravel() > 0
        hits["T5_rows"] += bool(np.all(ch.l1_rows[cov] <= ch.weissman[cov] * SLACK))
    coverage = {key: v / R for key, v in hits.items()}
    print(f"\ncoverage over {R} datasets (n={n}, delta={DELTA}): {coverage}")
    budget = {"Delta_n": DELTA / 3, "rho_nu": DELTA / 3, "rho_q": DELTA / 3}
    for key, cov_ in coverage.items():
        assert cov_ >= 1 - budget.get(key, DELTA), (key, cov_)
