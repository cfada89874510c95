r"""K3 end to end: sample n transitions, build a planner's policy on the training part,
and certify its regret from the data (robust L1 sets on all n, held-out Bellman residual
on the rest); the toolkit also measures the true regret R0 to check the certificate.

Both certificates are taken at :math:`\delta/2`, so with probability :math:`\ge 1-\delta`
both hold and ``upper`` = the smaller is a valid bound on the regret of the policy. The
robust certificate holds for every policy at once, so it may use all n transitions even
though the policy saw the training part; the Bellman certificate uses only the held-out
part, which the policy never saw.

THEORY K3; proof: ``proofs/K3.md``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._results import Result
from ..bounds.constants import trivial_bound
from ..cooccurrence import CoOccurrence
from ..errors import BoundInputError
from ..mdp import MDP
from ..sampling import Dataset, count_model, sample_transitions
from ..solvers import optimal_policy, policy_evaluation
from .bellman import BellmanCertificate, bellman_certificate, split_dataset
from .robust import (
    RobustCertificate,
    RobustValue,
    check_delta,
    robust_certificate,
    weissman_sets,
)

__all__ = ["PLANNER_NAMES", "Certificate", "HalfTrivialScan", "certify", "certify_policy",
           "planner_for", "scan_half_trivial"]

#: Planners ``certify`` can build: the three JEPA planners of the plug-in model, the count model.
PLANNER_NAMES = ("projected", "latent", "cem", "count")
#: At most this many unsampled pairs are listed by name in a certificate.
LIST_UNSAMPLED = 20


@dataclass(frozen=True, repr=False)
class Certificate(Result):
    """The certified regret bound of one policy (``upper`` = min of ``upper_robust`` and
    ``upper_bellman``, each at delta/2), next to the measured regret ``R0`` and the trivial
    bound R_max/(1-gamma); ``unsampled`` lists (s, a) pairs without samples (radius 2)."""

    upper: float
    upper_robust: float
    upper_bellman: float
    R0: float
    trivial_bound: float
    vacuous: bool
    covered: bool
    delta: float
    n: int
    planner: str
    k: int | None
    seed: int
    n_unsampled: int
    unsampled: list[list[int]]
    V_star: float
    V_pi: float
    seconds: float
    robust: RobustCertificate
    bellman: BellmanCertificate
    policy: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    _hidden = ("robust", "bellman", "policy", "unsampled")
    _no_export = ("policy",)


def planner_for(mdp: MDP, ds: Dataset, planner: str, k: int | None, seed: int = 0
                ) -> NDArray[np.int64]:
    """The policy of ``planner`` built from ``ds``: the rank-k plug-in JEPA model (truncated
    SVD of T_hat, planned with q_hat) for ``projected``/``latent``/``cem``, the count
    model's optimal policy for ``count``."""
    from ..model import plugin_embeddings
    from ..sampling import empirical_cooccurrence
    from ..sim.planners import kernel_planner, plan

    if planner not in PLANNER_NAMES:
        raise BoundInputError(f"planner {planner!r} is not one of {', '.join(PLANNER_NAMES)}")
    if planner == "count":
        return kernel_planner(mdp, count_model(mdp, ds).P_sa, "count").policy
    if k is None or isinstance(k, bool) or int(k) != k or k < 1:
        raise BoundInputError(f"k = {k!r} must be a positive integer for planner {planner!r}")
    emb = plugin_embeddings(empirical_cooccurrence(mdp, ds), int(k))
    return np.asarray(plan(planner, mdp, emb.z, emb.h, ds.q_hat(), seed=seed).policy,
                      dtype=np.int64)


def certify_policy(mdp: MDP, ds: Dataset, train: Dataset, holdout: Dataset,
                   pi: NDArray[np.int64], delta: float,
                   upper_values: RobustValue | None = None, U: Any = None
                   ) -> tuple[RobustCertificate, BellmanCertificate]:
    """Both certificates of ``pi`` at delta/2 each (``U``, ``upper_values``: sets and
    optimistic values of ``ds`` at delta/2, to reuse across policies)."""
    U = weissman_sets(ds, delta / 2) if U is None else U
    rob = robust_certificate(U, mdp, pi, upper_values=upper_values)
    bel = bellman_certificate(mdp, train, holdout, pi, delta / 2)
    return rob, bel


def certify(C: CoOccurrence, n: int, *, seed: int = 0, delta: float = 0.05,
            planner: str = "projected", k: int | None = 8, split: float = 0.5,
            pi_star: NDArray[np.int64] | None = None, support: int | None = None
            ) -> Certificate:
    """Sample n transitions from ``C.nu``, build ``planner``'s policy on the first
    ``split`` share, certify its regret (K3) and measure it in the true MDP. ``support``:
    a known bound on the successor-support size (Weissman radius with a log 2)."""
    t0 = time.perf_counter()
    mdp = C.mdp
    delta = check_delta(delta)
    if isinstance(n, bool) or int(n) != n or n < 2:
        raise BoundInputError(f"n = {n!r}: needs at least 2 transitions (a training and a "
                              "held-out part)")
    ds = sample_transitions(C, int(n), seed)
    train, holdout = split_dataset(ds, split)
    pi = planner_for(mdp, train, planner, k, seed)
    U = weissman_sets(ds, delta / 2, support=support)
    rob, bel = certify_policy(mdp, ds, train, holdout, pi, delta, U=U)
    pi_s = optimal_policy(mdp).policy if pi_star is None else pi_star
    V_star = float(mdp.rho0 @ policy_evaluation(mdp, pi_s))
    V_pi = float(mdp.rho0 @ policy_evaluation(mdp, pi))
    R0 = V_star - V_pi
    upper = min(rob.upper, bel.upper)
    triv = trivial_bound(mdp)
    uns = U.unsampled
    m = mdp.n_actions
    listed = [[int(i // m), int(i % m)] for i in uns[:LIST_UNSAMPLED]]
    return Certificate(upper=upper, upper_robust=rob.upper, upper_bellman=bel.upper, R0=R0,
                       trivial_bound=triv, vacuous=bool(upper >= triv),
                       covered=bool(R0 <= upper), delta=delta, n=int(n), planner=planner,
                       k=None if planner == "count" else int(k), seed=int(seed),
                       n_unsampled=int(uns.size), unsampled=listed, V_star=V_star,
                       V_pi=V_pi, seconds=time.perf_counter() - t0, robust=rob, bellman=bel,
                       policy=pi)


@dataclass(frozen=True, repr=False)
class HalfTrivialScan(Result):
    """``upper`` over an n grid and the first n where it is below half the trivial bound."""

    n_grid: list[int]
    upper: list[float]
    R0: list[float]
    first_n_below_half: int | None
    trivial_bound: float
    planner: str
    k: int | None


def scan_half_trivial(C: CoOccurrence, n_grid: list[int], *, seed: int = 0,
                      delta: float = 0.05, planner: str = "count", k: int | None = 8,
                      split: float = 0.5) -> HalfTrivialScan:
    """The smallest n of ``n_grid`` at which the certificate ``upper`` falls below half the
    trivial bound (one dataset per n, seeded)."""
    ups, r0s = [], []
    first = None
    pi_s = optimal_policy(C.mdp).policy
    for n in sorted(n_grid):
        c = certify(C, n, seed=seed, delta=delta, planner=planner, k=k, split=split,
                    pi_star=pi_s)
        ups.append(c.upper)
        r0s.append(c.R0)
        if first is None and c.upper < c.trivial_bound / 2:
            first = int(n)
    return HalfTrivialScan(n_grid=sorted(int(n) for n in n_grid), upper=ups, R0=r0s,
                           first_n_below_half=first, trivial_bound=trivial_bound(C.mdp),
                           planner=planner, k=None if planner == "count" else k)
