r"""The phase experiment: latent vs input-level models over observation noise x planning
horizon on goal reaching (THEORY PE, P4, D6), its store cells and its verdict.

A stored cell is one (family, parameters, noise, n, k, model, seed) with the list of
horizons: the model is fitted once on ``n`` transitions of uniform-random-policy rollouts
from rho0 (:func:`jepatheory.sim.measure.rollout_dataset`, ``data_horizon`` steps each;
the data therefore sees each observation as often as the emission noise makes it appear),
then, for every horizon H and both costs,

* cost (i) ``goal``: exact finite-horizon DP for the true goal indicator on the model's
  kernel, the time-dependent policy evaluated exactly in the true MDP;
* cost (ii) ``distance``: open-loop plans per start observation minimizing the model's own
  terminal goal distance (:mod:`jepatheory.phase.models`), by exact search when
  ``4**H <= exact_max`` and CEM otherwise, evaluated exactly in the true MDP;
* with ``planner = "mpc"`` (a cell key present only then, so open-loop cells keep their
  keys) also ``distance-mpc``: the same cost by receding-horizon MPC
  (:func:`jepatheory.phase.planning.mpc_policy`, replanning after every step, its own
  random stream), its closed-loop policy evaluated exactly in the true MDP,

success = the rho0-average success probability within H steps, regret = optimal success
(DP on the truth) minus success. Rows aggregate over seeds (mean, standard error of the
mean). The verdict per (family, cost, noise, horizon, n): the best latent model (lowest
mean regret over models and k) against the best input-level one: ``latent`` if its regret
is lower by more than two standard errors of the difference, ``input`` if higher by more,
``tie`` otherwise.
"""
from __future__ import annotations

import itertools
import time
import warnings
from collections import defaultdict
from typing import Any

import numpy as np

from .._results import to_jsonable
from ..errors import EnvParameterError, MissingExtraWarning, ShapeError
from ..mdp import MDP
from .models import (
    ALL_MODELS,
    INPUT_MODELS,
    LATENT_MODELS,
    NEURAL_MODELS,
    TRAINED_MODELS,
    fit_model,
    torch_missing,
)
from .planning import (
    finite_horizon_dp,
    goal_mask,
    mpc_policy,
    optimal_success,
    plan_sequences,
    policy_success,
    sequence_success,
)

__all__ = [
    "COSTS",
    "FAMILIES",
    "NOISE_PARAM",
    "PLANNERS",
    "STORE_KIND",
    "aggregate",
    "build_env",
    "paper_k_star",
    "phase_cell_cost",
    "phase_cells",
    "run_phase_cell",
    "verdict",
]

FAMILIES = ("noisy-block", "noisy-features")
#: The family parameter the phase experiment's ``noise`` sets.
NOISE_PARAM = {"noisy-block": "noise", "noisy-features": "sigma"}
COSTS = ("goal", "distance")
#: Cost (ii) planners: ``open-loop`` (the default) or ``mpc`` (adds the ``distance-mpc`` rows).
PLANNERS = ("open-loop", "mpc")
STORE_KIND = "phase"
#: Rough seconds of one cell per model at n = 3000, k = 16, noise 0, horizons 1..25 (one
#: core, measured once); only the order of :func:`phase_cells` depends on them.
BASE_SECONDS = {"jepa-linear": 1.0, "jepa-mlp": 6.0, "features": 0.5, "jepa-tabular": 0.35,
                "count": 0.05, "features-mlp": 4.0}


def build_env(env: str, params: dict[str, Any], noise: float) -> MDP:
    """The family ``env`` with ``params`` and its noise parameter set to ``noise``."""
    from ..envs import make_env
    if env not in FAMILIES:
        raise EnvParameterError(f"phase: environment {env!r} is not a goal-reaching family; "
                                f"use {' or '.join(FAMILIES)}")
    if NOISE_PARAM[env] in params:
        raise EnvParameterError(f"phase: set {NOISE_PARAM[env]} with --noise, not -p")
    return make_env(env, **{**params, NOISE_PARAM[env]: noise})


def paper_k_star(env: str, params: dict[str, Any], noise: float, n: int, horizon: int,
                 ks: list[int], delta: float = 0.05) -> dict[str, Any] | None:
    r"""P6's k* for a phase cell: :func:`jepatheory.paper.paper_bound` (``proofs/P6.md``) on
    the cell's MDP with uniform :math:`\nu` (as ``bound --form paper`` without ``--nu``), at
    its n, with T = ``horizon``, over ``ks`` (those above rank(T) dropped), c_max = 1:
    :math:`k^* = \arg\min_k R_T(k)`. Returns ``k_star``, its ``R_T`` and ``vacuous``
    (:math:`R_T \ge c_{\max}`), or None when no k gives a finite bound."""
    from ..cooccurrence import CoOccurrence
    from ..errors import JepaTheoryError
    from ..paper.tradeoff import paper_bound
    C = CoOccurrence(build_env(env, params, noise))
    try:
        pb = paper_bound(C, int(n), ks, int(horizon), delta, scan=False)
    except JepaTheoryError:
        return None
    if pb.k_star is None:
        return None
    row = next(r for r in pb.rows if r["k"] == pb.k_star)
    return {"k_star": int(pb.k_star), "R_T": float(row["R_T"]), "vacuous": bool(row["vacuous"]),
            "n": int(n), "horizon": int(horizon), "ks": [r["k"] for r in pb.rows]}


def phase_cell_cost(cell: dict[str, Any]) -> float:
    """An estimate of a cell's run time in seconds (for scheduling only): the model's
    :data:`BASE_SECONDS` scaled by data size, steps, k, noise and the summed horizons."""
    base = BASE_SECONDS.get(cell["model"], 1.0)
    if cell.get("planner") == "mpc":
        base *= 10
    if cell.get("steps"):
        base *= cell["steps"] / 1500
    noise = min(float(cell["noise"]), 1.0)
    return (base * (cell["n"] / 3000) ** 0.5 * (1 + max(cell["k"], 16) / 32) * (1 + 2 * noise)
            * sum(cell["horizons"]) / 56)


def phase_cells(env: str, params: dict[str, Any], noises: list[float], horizons: list[int],
                ns: list[int], ks: list[int], models: list[str], seeds: list[int], *,
                steps: int = 1500, data_horizon: int = 20, cem: dict | None = None,
                planner: str = "open-loop") -> list[dict[str, Any]]:
    """The store cells (input-level models ignore k: one cell with ``k = 0``), longest first
    by :func:`phase_cell_cost` so that parallel workers finish together (the cells are
    content-keyed: the order changes no key and no number)."""
    for mdl in models:
        if mdl not in ALL_MODELS:
            raise ShapeError(f"--models: unknown model {mdl!r}; known: {', '.join(ALL_MODELS)}")
    neural = [m for m in models if m in NEURAL_MODELS]
    if neural and (msg := torch_missing()) is not None:
        warnings.warn(f"phase: model{'s' if len(neural) > 1 else ''} {', '.join(neural)} "
                      f"skipped: {msg}", MissingExtraWarning, stacklevel=2)
        models = [m for m in models if m not in NEURAL_MODELS]
    if planner not in PLANNERS:
        raise ShapeError(f"--planner {planner!r}: use {' or '.join(PLANNERS)}")
    cells, seen = [], set()
    for noise, n, k, mdl, seed in itertools.product(noises, ns, ks, models, seeds):
        kk = int(k) if mdl in LATENT_MODELS else 0
        cell = {"kind": STORE_KIND, "env": env, "params": dict(sorted(params.items())),
                    "noise": float(noise), "n": int(n), "k": kk, "model": mdl, "trainer": mdl,
                    "seed": int(seed), "horizons": sorted(int(h) for h in horizons),
                    "data_horizon": int(data_horizon), "cem": dict(cem or {}),
                    "steps": int(steps) if mdl in TRAINED_MODELS else 0}
        if planner != "open-loop":
            cell["planner"] = planner
        key = repr(sorted(cell.items()))
        if key not in seen:
            seen.add(key)
            cells.append(cell)
    return sorted(cells, key=phase_cell_cost, reverse=True)   # stable among equal costs


def run_phase_cell(cell: dict[str, Any]) -> dict[str, Any]:
    """One stored cell (plain dict in, plain dict out; runs in worker processes)."""
    from ..sim.measure import rollout_dataset
    t0 = time.perf_counter()
    mdp = build_env(cell["env"], cell["params"], cell["noise"])
    goal = goal_mask(mdp)
    ds = rollout_dataset(mdp, cell["n"], cell["data_horizon"], cell["seed"])
    mdl = fit_model(mdp, ds, cell["model"], max(cell["k"], 1), cell["seed"],
                    cell.get("steps") or 1500)
    t_fit = time.perf_counter() - t0
    starts = np.flatnonzero(mdp.rho0 > 0)
    w = mdp.rho0[starts]
    rng = np.random.default_rng(cell["seed"])
    cem = dict(cell.get("cem") or {})
    exact_max = int(cem.pop("exact_max", 1024))
    mpc = cell.get("planner") == "mpc"
    rng_mpc = np.random.default_rng([cell["seed"], 1])   # MPC's own stream: open-loop unchanged
    rows = []
    for H in cell["horizons"]:
        opt = float(mdp.rho0 @ optimal_success(mdp, H, goal))
        t = time.perf_counter()
        _, pol = finite_horizon_dp(mdl.kernel, mdp.n_actions, goal, H)
        ms = 1e3 * (time.perf_counter() - t)
        got = float(mdp.rho0 @ policy_success(mdp, pol, goal))
        rows.append({"horizon": H, "cost": "goal", "method": "dp", "success": got,
                     "optimal": opt, "regret": opt - got, "plan_ms": ms})
        t = time.perf_counter()
        seqs, method = plan_sequences(mdl.rollout, starts, mdp.n_actions, H, rng,
                                      exact_max=exact_max, **cem)
        ms = 1e3 * (time.perf_counter() - t) / starts.size
        got = float(w @ sequence_success(mdp, starts, seqs, goal))
        rows.append({"horizon": H, "cost": "distance", "method": method, "success": got,
                     "optimal": opt, "regret": opt - got, "plan_ms": ms})
        if mpc:
            t = time.perf_counter()
            pol, method = mpc_policy(mdl.rollout, goal, mdp.n_actions, H, rng_mpc,
                                     exact_max=exact_max, **cem)
            calls = H * max(int(np.count_nonzero(~goal)), 1)   # one plan per (t, state)
            ms = 1e3 * (time.perf_counter() - t) / calls
            got = float(mdp.rho0 @ policy_success(mdp, pol, goal))
            rows.append({"horizon": H, "cost": "distance-mpc", "method": method,
                         "success": got, "optimal": opt, "regret": opt - got, "plan_ms": ms})
    return {"model": mdl.name, "family_kind": mdl.kind, "params": mdl.params, "rows": rows,
            "n_states": mdp.n_states, "n_observed": int(np.count_nonzero(ds.q_hat())),
            "fit_seconds": t_fit, "seconds": time.perf_counter() - t0}


def _mean_se(v: list[float]) -> tuple[float, float]:
    a = np.asarray(v, dtype=float)
    se = float(a.std(ddof=1) / np.sqrt(a.size)) if a.size > 1 else 0.0
    return float(a.mean()), se


def aggregate(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Seed-averaged rows, one per (env, params, noise, horizon, n, k, model, cost), from the
    store's results (:func:`jepatheory.sim.sweep.load_results`)."""
    acc: dict[tuple, dict[str, Any]] = {}
    for r in results:
        c = r["cell"]
        if c.get("kind") != STORE_KIND:
            continue
        for row in r["rows"]:
            key = (c["env"], repr(sorted(c["params"].items())), c["noise"], row["horizon"],
                   c["n"], c["k"], c["model"], row["cost"])
            a = acc.setdefault(key, {
                "env": c["env"], "env_params": c["params"], "noise": c["noise"],
                "horizon": row["horizon"], "n": c["n"], "k": c["k"], "model": c["model"],
                "cost": row["cost"], "kind": r["family_kind"], "params": r["params"],
                "method": row["method"], "s": [], "g": [], "o": [], "ms": []})
            a["s"].append(row["success"])
            a["g"].append(row["regret"])
            a["o"].append(row["optimal"])
            a["ms"].append(row["plan_ms"])
    out = []
    for key in sorted(acc, key=repr):
        a = acc[key]
        n_seeds = len(a["s"])
        s, s_se = _mean_se(a.pop("s"))
        g, g_se = _mean_se(a.pop("g"))
        o, ms = float(np.mean(a.pop("o"))), float(np.mean(a.pop("ms")))
        out.append(dict(a, success=s, success_se=s_se, regret=g, regret_se=g_se, optimal=o,
                        plan_ms=ms, seeds=n_seeds))
    return out


def verdict(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (env, cost, noise, horizon, n): best latent vs best input-level (see the module
    docstring); ``diff`` = latent minus input-level regret."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        groups[(r["env"], repr(sorted(r["env_params"].items())), r["cost"], r["noise"],
                r["horizon"], r["n"])].append(r)
    out = []
    for key in sorted(groups, key=repr):
        rs = groups[key]
        lat = [r for r in rs if r["model"] in LATENT_MODELS]
        inp = [r for r in rs if r["model"] in INPUT_MODELS]
        if not lat or not inp:
            continue
        bl = min(lat, key=lambda r: (r["regret"], r["regret_se"]))
        bi = min(inp, key=lambda r: (r["regret"], r["regret_se"]))
        diff = bl["regret"] - bi["regret"]
        se = float(np.hypot(bl["regret_se"], bi["regret_se"]))
        tol = max(2 * se, 1e-9)
        outcome = "latent" if diff < -tol else "input" if diff > tol else "tie"
        out.append({"env": key[0], "env_params": rs[0]["env_params"], "cost": key[2],
                        "noise": key[3], "horizon": key[4], "n": key[5], "outcome": outcome,
                        "latent_model": bl["model"], "latent_k": bl["k"],
                        "latent_regret": bl["regret"], "latent_se": bl["regret_se"],
                        "input_model": bi["model"], "input_regret": bi["regret"],
                        "input_se": bi["regret_se"], "diff": diff, "diff_se": se,
                        "optimal": bl["optimal"]})
    return to_jsonable(out)
