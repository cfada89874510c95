r"""Checks of the symbolic layer, registered with :mod:`jepatheory.checks` (``jepatheory
prove``): T1, C1, C2, T2, F1-F5, D1-D5.

Each check combines the general-dimension proof (where there is one), exact instance
checks on symbolic MDPs, and a numeric check on random MDPs (seeded). Sizes are kept small
so that the whole ``jepatheory prove`` run stays within a minute on one core.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..checks import STATUSES, CheckOutcome, register
from ..cooccurrence import CoOccurrence
from ..envs import make_env
from ..errors import OddMDPWarning
from ..facts import check_facts
from ..mdp import MDP
from .identities import (Proof, check_c1_instance, check_c2_instance, check_d1_instance,
                         check_d2_instance, check_d5_linear, check_f1_instance,
                         check_f2_instance, check_f3_instance, check_f4_instance,
                         check_f5_instance, check_t1_instance, prove_c1_general,
                         prove_c2_general, prove_collapse, prove_f2_general,
                         prove_f3_general, prove_f4_general, prove_latent_backup,
                         prove_t1_general, prove_t2_general)
from .mdp import slip_chain, two_state

SYMBOLIC, PAPER, CONJECTURE = STATUSES
#: random instances per numeric check
N_RANDOM = 12


def _outcome(proofs: list[Proof], numeric: tuple[bool, str, dict] | None = None
             ) -> CheckOutcome:
    ok = all(p.proved for p in proofs)
    parts = [f"{p.size or 'instance'}: {'0' if p.proved else 'RESIDUAL ' + p.residual[:60]}"
             for p in proofs]
    details = {f"{p.id}[{p.size}]": dict(proved=p.proved, seconds=round(p.seconds, 3),
                                         method=p.method) for p in proofs}
    if numeric is not None:
        ok = ok and numeric[0]
        parts.append(numeric[1])
        details.update(numeric[2])
    return CheckOutcome(passed=bool(ok), evidence="; ".join(parts), details=details)


def random_instances(seed: int, n: int = N_RANDOM) -> list[tuple[MDP, np.ndarray]]:
    """Small random MDPs (random-sparse family) with skewed Dirichlet nu, some pairs
    uncovered."""
    rng = np.random.default_rng(seed)
    out = []
    for t in range(n):
        N, m = int(rng.integers(3, 8)), int(rng.integers(1, 4))
        mdp = make_env("random-sparse", n=N, actions=m, branching=int(rng.integers(1, N + 1)),
                       seed=int(rng.integers(2**31)))
        nu = rng.dirichlet(np.full(N * m, 0.7))
        if t % 3 == 0 and N * m > 2:
            nu[rng.integers(N * m)] = 0.0
            nu /= nu.sum()
        out.append((mdp, nu.reshape(N, m)))
    return out


def _cooc(mdp: MDP, nu: np.ndarray | None) -> CoOccurrence:
    """T for a random instance; uncovered pairs are intended here, not odd."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OddMDPWarning)
        return CoOccurrence(mdp, nu)


def _random_embeddings(C: CoOccurrence, k: int, rng: np.random.Generator
                       ) -> tuple[np.ndarray, np.ndarray]:
    N, m = C.mdp.n_states, C.mdp.n_actions
    return rng.normal(size=(N * m, k)), rng.normal(size=(N, k))


def _numeric_t1_t2(seed: int) -> tuple[bool, str, dict]:
    from ..model import factorization_error, jepa_loss, truncated_embeddings
    rng = np.random.default_rng(seed + 1)
    worst_id, worst_min, n = 0.0, np.inf, 0
    for mdp, nu in random_instances(seed):
        C = _cooc(mdp, nu)
        r = min(C.n_left, C.n_right)
        k = int(rng.integers(1, r + 1))
        s = np.linalg.svd(C.T.toarray(), compute_uv=False)
        tail = float(np.sum(s[k:] ** 2))
        Lstar = -float(np.sum(s[:k] ** 2))
        z, h = _random_embeddings(C, k, rng)
        eps, L = factorization_error(C, z, h), jepa_loss(C, z, h)
        scale = max(1.0, abs(L), eps)
        worst_id = max(worst_id, abs(eps - (tail + L - Lstar)) / scale)   # T2 identity
        worst_min = min(worst_min, eps - tail)                              # eps >= tail_k
        emb = truncated_embeddings(C, k)
        worst_id = max(worst_id, abs(factorization_error(C, emb.z, emb.h) - tail))
        n += 1
    # tolerance: float64 round-off on O(1..100) quantities
    ok = worst_id <= 1e-8 and worst_min >= -1e-8
    return ok, (f"{n} random MDPs: max |eps - tail_k - (L - L*_k)| = {worst_id:.1e}, "
                f"min (eps - tail_k) = {worst_min:.2e}"), dict(identity_error=worst_id,
                                                              min_eps_minus_tail=worst_min)


def _numeric_facts(seed: int, fact: str) -> tuple[bool, str, dict]:
    worst, n, applicable = 0.0, 0, 0
    insts = random_instances(seed)
    if fact == "F5":   # deterministic dynamics: branching 1
        rng = np.random.default_rng(seed + 5)
        insts = []
        for _ in range(6):
            N = int(rng.integers(3, 8))
            insts.append((make_env("random-sparse", n=N, actions=2, branching=1,
                                   seed=int(rng.integers(2**31))), None))
    for mdp, nu in insts:
        C = _cooc(mdp, nu)
        rep = {c.fact: c for c in check_facts(C).checks}[fact]
        n += 1
        if rep.applicable:
            applicable += 1
            worst = max(worst, rep.max_error)
            if not rep.passed:
                return False, f"{fact} fails on a random MDP: {rep.max_error:.2e}", {}
    return True, f"{applicable}/{n} random MDPs (numeric): max error {worst:.1e}", dict(
        numeric_max_error=worst)


# --------------------------------------------------------------------------- registrations
@register("D1", "bipartite graph: left degree nu(s,a), right degree q(s')", SYMBOLIC,
          "proofs/D1.md")
def check_d1(seed: int) -> CheckOutcome:
    return _outcome([check_d1_instance(two_state()), check_d1_instance(slip_chain(3))])


@register("D2", "T_a = sqrt(p(a)) Abar_a (action blocks of T)", SYMBOLIC, "proofs/D2.md")
def check_d2(seed: int) -> CheckOutcome:
    return _outcome([check_d2_instance(slip_chain(3))])


@register("F1", "T sqrt(q) = sqrt(nu), T^T sqrt(nu) = sqrt(q); sigma_1 = 1 >= sigma_i", PAPER,
          "proofs/F1.md")
def check_f1(seed: int) -> CheckOutcome:
    return _outcome([check_f1_instance(two_state()), check_f1_instance(slip_chain(3))],
                    _numeric_facts(seed, "F1"))


@register("F2", "||T||_F^2 = 1 + chi^2(p || nu x q)", SYMBOLIC, "proofs/F2.md")
def check_f2(seed: int) -> CheckOutcome:
    return _outcome([prove_f2_general(), check_f2_instance(slip_chain(3))],
                    _numeric_facts(seed, "F2"))


@register("F3", "Lap = I - [[0,T],[T^T,0]]: eigenvalues 1 -+ sigma_i and |N_L-N_R| ones",
          PAPER, "proofs/F3.md")
def check_f3(seed: int) -> CheckOutcome:
    return _outcome([prove_f3_general(), check_f3_instance(two_state())],
                    _numeric_facts(seed, "F3"))


@register("F4", "T^T T = D_q^-1/2 W D_q^-1/2, W the next-state graph with degree q",
          SYMBOLIC, "proofs/F4.md")
def check_f4(seed: int) -> CheckOutcome:
    return _outcome([prove_f4_general(), check_f4_instance(slip_chain(3))],
                    _numeric_facts(seed, "F4"))


@register("F5", "deterministic dynamics reaching every s': T^T T = I", PAPER, "proofs/F5.md")
def check_f5(seed: int) -> CheckOutcome:
    return _outcome([check_f5_instance(3, 2)], _numeric_facts(seed, "F5"))


@register("D3", "collapse: unwhitened l2 loss is 0 at constant embeddings; linear term "
          "unbounded below", SYMBOLIC, "proofs/D3.md")
def check_d3(seed: int) -> CheckOutcome:
    return _outcome([prove_collapse()])


@register("T1", "L(z,h) = ||T - Phi Psi^T||_F^2 - ||T||_F^2", SYMBOLIC, "proofs/T1.md")
def check_t1(seed: int) -> CheckOutcome:
    return _outcome([prove_t1_general(), check_t1_instance(2, 2, 2)], _numeric_t1_t2(seed))


@register("C1", "E_q[hh^T] = I_k  =>  L2(z,h) = L(z,h) + k", SYMBOLIC, "proofs/T1.md")
def check_c1(seed: int) -> CheckOutcome:
    return _outcome([prove_c1_general(), check_c1_instance(2, 2, 2)])


@register("C2", "optimal z = E[h(s') | s,a] (whitened h)", SYMBOLIC, "proofs/T1.md")
def check_c2(seed: int) -> CheckOutcome:
    return _outcome([prove_c2_general(), check_c2_instance(2, 2, 2)])


@register("T2", "min_rank-k eps = tail_k; eps = tail_k + (L - L*_k) for every (z,h)", PAPER,
          "proofs/T2.md")
def check_t2(seed: int) -> CheckOutcome:
    return _outcome([prove_t2_general()], _numeric_t1_t2(seed))


def _numeric_d4(seed: int) -> tuple[bool, str, dict]:
    from ..model import clip_renormalize
    rng = np.random.default_rng(seed + 4)
    worst1 = worst2 = -np.inf
    for _ in range(200):
        N = int(rng.integers(2, 9))
        P = rng.dirichlet(np.full(N, 0.5), size=6)
        P_hat = P + rng.normal(scale=rng.choice([0.01, 0.3, 2.0]), size=P.shape)
        if rng.random() < 0.1:
            P_hat = -np.abs(P_hat)                      # all-zero rows after clipping
        Pt = clip_renormalize(P_hat)
        a = np.abs(Pt - P).sum(1)
        b = np.abs(P_hat - P).sum(1) + np.abs(1 - P_hat.sum(1))
        worst1 = max(worst1, float(np.max(a - b)))
        worst2 = max(worst2, float(np.max(b - 2 * np.abs(P_hat - P).sum(1))))
    ok = worst1 <= 1e-12 and worst2 <= 1e-12       # one-sided, round-off only
    return ok, (f"200 random P_hat: max(||P~-P|| - ||P^-P|| - |1-sum P^|) = {worst1:.2e}, "
                f"max(middle - 2||P^-P||) = {worst2:.2e}"), dict(margin1=worst1, margin2=worst2)


@register("D4", "latent backup E_P^[V|s,a] = z.E_q[hV]; ||P~ - P||_1 <= ||P^ - P||_1 + "
          "|1 - sum P^| <= 2 ||P^ - P||_1", PAPER, "proofs/D4.md")
def check_d4(seed: int) -> CheckOutcome:
    return _outcome([prove_latent_backup()], _numeric_d4(seed))


@register("D5", "nu and q held fixed: T is linear in P (convex design)", SYMBOLIC,
          "proofs/D5.md")
def check_d5(seed: int) -> CheckOutcome:
    return _outcome([check_d5_linear(2, 2)])
