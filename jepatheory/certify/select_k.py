r"""K4: choosing the latent dimension k from data, against the measured best k.

One cell = (environment, n, seed): sample n transitions, split them in half; on the
training half build the rank-k plug-in JEPA model and the planner's policy for every k of
the grid. The rules:

* ``bound`` -- the a-priori k* of T4/T4b (:func:`~jepatheory.bounds.curves.bound_curve` at
  the training size, argmin of R4 over k);
* ``holdout`` -- the k minimizing the held-out spectral JEPA loss (the U-statistic
  :math:`\hat L_n(z,h)` of D3 on the held-out half);
* ``certificate`` -- the k minimizing the data-only certificate ``upper`` of K3 (the
  robust part holds for every policy at once, so its minimum over k is still valid; the
  Bellman part is taken at :math:`\delta/(2K)` per k);
* ``knee`` -- the spectral knee of :math:`\hat T` (training half): the k of the grid with
  the largest gap :math:`\hat\sigma_k - \hat\sigma_{k+1}`;
* ``paper`` -- the paper-form k* (P6) from :mod:`jepatheory.paper` when that module is
  present; otherwise None with the reason.

``best_k``: the k of the grid with the smallest regret R0(k) measured in the true MDP
(the toolkit knows it); every k within rounding of the minimum counts as best. A rule
*agrees* when its k is within one grid step of a best k; its *cost* is
:math:`R_0(k_{\rm rule}) - \min_k R_0(k)`.

THEORY K4.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._results import Result
from ..cooccurrence import CoOccurrence
from ..errors import BoundInputError
from ..model import empirical_loss, plugin_embeddings
from ..sampling import empirical_cooccurrence, sample_transitions
from ..solvers import optimal_policy, policy_evaluation
from .bellman import bellman_certificate, split_dataset
from .pipeline import planner_for
from .robust import check_delta, robust_lower, robust_upper, weissman_sets

__all__ = [
    "RULES",
    "SUITE",
    "SelectK",
    "SuiteResult",
    "paper_k_star",
    "parse_k_list",
    "run_suite",
    "select_k",
    "suite_cells",
    "summarize",
]

RULES = ("bound", "holdout", "certificate", "knee", "paper")


def parse_k_list(text: str | list[int]) -> list[int]:
    """``"1,2,4"`` -> [1, 2, 4]; an empty list or a non-positive entry is a
    :class:`BoundInputError` naming it."""
    items = text if isinstance(text, list) else [t for t in str(text).replace(" ", "")
                                                 .split(",") if t]
    if not items:
        raise BoundInputError(f"--k {text!r}: empty k list")
    out = []
    for it in items:
        try:
            v = float(it)
        except (TypeError, ValueError):
            raise BoundInputError(f"--k: {it!r} is not a number") from None
        if not (math.isfinite(v) and v >= 1 and v == int(v)):
            raise BoundInputError(f"--k: {it!r} must be a positive integer")
        out.append(int(v))
    return sorted(set(out))


def paper_k_star(C: CoOccurrence, n: int, ks: list[int], delta: float) -> tuple[int | None, str]:
    """The paper-form k* (P6: :func:`jepatheory.paper.tradeoff.paper_bound` at horizon 1),
    or (None, reason) when it cannot be computed on this instance."""
    from ..paper.tradeoff import paper_bound
    try:
        return (paper_bound(C, int(n), ks, 1, delta, scan=False).k_star,
                "paper_bound(horizon=1).k_star")
    except Exception as exc:  # noqa: BLE001 - a hook: report, do not fail the other rules
        return None, f"paper_bound failed: {type(exc).__name__}: {exc}"


@dataclass(frozen=True, repr=False)
class SelectK(Result):
    """One cell: each rule's chosen k, the measured regret per k, the best k, and per rule
    whether it agrees (within one grid step) and the regret it costs."""

    env: str
    n: int
    seed: int
    planner: str
    k_values: list[int]
    chosen: dict[str, int | None]
    reasons: dict[str, str]
    regret: dict[int, float]
    upper: dict[int, float]
    holdout_loss: dict[int, float]
    best_k: int
    best_ks: list[int]
    agrees: dict[str, bool | None]
    cost: dict[str, float | None]
    trivial_bound: float
    seconds: float


def _grid_step_agree(ks: list[int], k: int | None, best: list[int]) -> bool | None:
    if k is None:
        return None
    i = ks.index(k)
    return any(abs(i - ks.index(b)) <= 1 for b in best)


def select_k(C: CoOccurrence, n: int, ks: list[int], *, seed: int = 0, delta: float = 0.05,
             planner: str = "projected") -> SelectK:
    """One K4 cell on the MDP of ``C`` (see the module docstring)."""
    from ..bounds.curves import bound_curve

    t0 = time.perf_counter()
    delta = check_delta(delta)
    mdp = C.mdp
    full = min(C.n_left, C.n_right)
    ks = [k for k in parse_k_list(list(ks)) if k <= full] or [full]
    ds = sample_transitions(C, int(n), seed)
    train, hold = split_dataset(ds, 0.5)
    C_hat = empirical_cooccurrence(mdp, train)
    pi_s = optimal_policy(mdp).policy
    V_star = float(mdp.rho0 @ policy_evaluation(mdp, pi_s))
    U = weissman_sets(ds, delta / 2)
    up = robust_upper(U, mdp)
    regret, upper, loss = {}, {}, {}
    for k in ks:
        pi = planner_for(mdp, train, planner, k, seed)
        regret[k] = V_star - float(mdp.rho0 @ policy_evaluation(mdp, pi))
        lo = robust_lower(U, mdp, pi)
        bel = bellman_certificate(mdp, train, hold, pi, delta / (2 * len(ks)))
        upper[k] = min(max(up.value - lo.value, 0.0), bel.upper)
        emb = plugin_embeddings(C_hat, k)
        loss[k] = empirical_loss(emb.z, emb.h, hold.pair, hold.s2) if hold.n >= 2 else 0.0
    chosen: dict[str, int | None] = {}
    reasons: dict[str, str] = {}
    try:
        curve = bound_curve(C, [train.n], ks, delta, kappa="rescale", scan=False)
        chosen["bound"] = curve.k_star
        reasons["bound"] = "argmin_k R4 (T4/T4b, a priori)"
    except Exception as exc:  # noqa: BLE001 - a rule that cannot be evaluated is reported
        chosen["bound"], reasons["bound"] = None, f"{type(exc).__name__}: {exc}"
    chosen["holdout"] = min(ks, key=lambda k: (loss[k], k))
    reasons["holdout"] = "argmin_k held-out spectral loss"
    chosen["certificate"] = min(ks, key=lambda k: (upper[k], k))
    reasons["certificate"] = "argmin_k upper (K3)"
    sv = C_hat.spectrum(min(max(ks) + 1, min(C_hat.n_left, C_hat.n_right))).singular_values
    gaps = {k: float(sv[k - 1] - (sv[k] if k < sv.size else 0.0)) for k in ks
            if k - 1 < sv.size}
    chosen["knee"] = max(gaps, key=lambda k: (gaps[k], -k)) if gaps else None
    reasons["knee"] = "argmax_k sigma_k - sigma_{k+1} of T_hat"
    kp, why = paper_k_star(C, train.n, ks, delta)
    chosen["paper"] = kp if kp in ks else None
    reasons["paper"] = why if kp in ks or kp is None else f"{why} = {kp}, not in the grid"
    lo_r = min(regret.values())
    tol = 1e-9 * (1 + abs(V_star))
    best_ks = [k for k in ks if regret[k] <= lo_r + tol]
    agrees = {r: _grid_step_agree(ks, chosen[r], best_ks) for r in RULES}
    cost = {r: (None if chosen[r] is None else regret[chosen[r]] - lo_r) for r in RULES}
    from ..bounds.constants import trivial_bound
    return SelectK(env=mdp.name, n=int(n), seed=int(seed), planner=planner, k_values=ks,
                   chosen=chosen, reasons=reasons, regret=regret, upper=upper,
                   holdout_loss=loss, best_k=best_ks[0], best_ks=best_ks, agrees=agrees,
                   cost=cost, trivial_bound=trivial_bound(mdp),
                   seconds=time.perf_counter() - t0)


#: The suite: (label, family, parameters). Built-in families, gymnasium toy_text, block
#: MDPs, designed low-rank ones and small gamma.
SUITE: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
    "default": [
        ("chain", "chain", {"n": 20, "slip": 0.2}),
        ("ring", "ring", {"n": 20, "slip": 0.2}),
        ("grid", "grid", {"width": 6, "height": 6, "slip": 0.2}),
        ("four-rooms", "four-rooms", {}),
        ("maze", "maze", {"width": 5, "height": 5, "slip": 0.2}),
        ("expander", "expander", {"n": 32}),
        ("tree", "tree", {"depth": 4}),
        ("random-sparse", "random-sparse", {"n": 30}),
        ("sbm", "sbm", {}),
        ("sbm-lowrank-gamma0.5", "sbm", {"noise": 0.02, "gamma": 0.5}),
        ("block-mdp", "block-mdp", {"latent_width": 3, "latent_height": 3,
                                    "obs_per_latent": 6}),
        ("sutton-barto-3.5", "sutton-barto-3.5", {}),
        ("FrozenLake-v1", "gym", {"id": "FrozenLake-v1"}),
        ("chain-gamma0.5", "chain", {"n": 20, "slip": 0.2, "gamma": 0.5}),
    ],
}
SUITE["quick"] = [SUITE["default"][i] for i in (0, 8, 12)]
#: Sample sizes and seeds of the suites.
SUITE_N = {"default": [1000, 10000, 100000], "quick": [1000, 10000]}
SUITE_SEEDS = {"default": [0, 1], "quick": [0]}
SUITE_K = [1, 2, 4, 8, 16, 32]


def suite_cells(name: str) -> list[tuple[str, str, dict[str, Any], int, int]]:
    """(label, family, params, n, seed) for every cell of suite ``name``."""
    if name not in SUITE:
        raise BoundInputError(f"unknown suite {name!r}; known: {', '.join(SUITE)}")
    return [(lab, fam, par, n, s) for lab, fam, par in SUITE[name] for n in SUITE_N[name]
            for s in SUITE_SEEDS[name]]


def _run_cell(cell: tuple[str, str, dict[str, Any], int, int], ks: list[int], delta: float,
              planner: str) -> dict[str, Any]:
    import warnings

    from ..envs import make_env
    from ..errors import OddMDPWarning
    label, fam, par, n, seed = cell
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OddMDPWarning)
        mdp = make_env(fam, **par)
        res = select_k(CoOccurrence(mdp), n, ks, seed=seed, delta=delta, planner=planner)
    out = res.to_dict()
    out["label"] = label
    return out


@dataclass(frozen=True, repr=False)
class SuiteResult(Result):
    """The suite: per rule the agreement rate (within one grid step of a best k) and the
    mean regret cost, over the cells where the rule gave a k; the cells themselves."""

    suite: str
    n_cells: int
    n_envs: int
    agreement: dict[str, float | None]
    mean_cost: dict[str, float | None]
    mean_cost_share: dict[str, float | None]
    evaluated: dict[str, int]
    recommended: str
    seconds: float
    workers: int
    cells: list[dict[str, Any]]

    _hidden = ("cells",)


def summarize(cells: list[dict[str, Any]]) -> dict[str, Any]:
    """Agreement rate, mean cost and mean cost / trivial bound per rule over ``cells``."""
    agreement, cost, share, ev = {}, {}, {}, {}
    for r in RULES:
        got = [c for c in cells if c["agrees"][r] is not None]
        ev[r] = len(got)
        agreement[r] = float(np.mean([c["agrees"][r] for c in got])) if got else None
        cost[r] = float(np.mean([c["cost"][r] for c in got])) if got else None
        share[r] = (float(np.mean([c["cost"][r] / c["trivial_bound"] for c in got]))
                    if got else None)
    scored = [r for r in RULES if share[r] is not None and ev[r] == len(cells)]
    rec = min(scored, key=lambda r: (share[r], -agreement[r])) if scored else "none"
    return {"agreement": agreement, "mean_cost": cost, "mean_cost_share": share, "evaluated": ev,
                "recommended": rec}


def run_suite(name: str = "default", *, ks: list[int] | None = None, delta: float = 0.05,
              planner: str = "projected", workers: int = 1) -> SuiteResult:
    """Every cell of suite ``name`` (on ``workers`` local processes) and the summary."""
    t0 = time.perf_counter()
    cells = suite_cells(name)
    ks = SUITE_K if ks is None else parse_k_list(list(ks))
    check_delta(delta)
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor
        with ProcessPoolExecutor(max_workers=int(workers)) as ex:
            rows = list(ex.map(_run_cell, cells, [ks] * len(cells), [delta] * len(cells),
                               [planner] * len(cells)))
    else:
        rows = [_run_cell(c, ks, delta, planner) for c in cells]
    s = summarize(rows)
    return SuiteResult(suite=name, n_cells=len(rows), n_envs=len(SUITE[name]),
                       seconds=time.perf_counter() - t0, workers=int(workers), cells=rows, **s)
