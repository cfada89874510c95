r"""K5: a falsification search. Maximize the ratio R0 / bound over random and locally
perturbed MDPs, data distributions and models within a time budget.

* ``R3w`` (T3, deterministic, proved): R0 / R3w for the model :math:`(z, h)` = a truncated
  SVD of T plus noise (random rank and noise level). A ratio above 1 refutes T3.
* ``R4_T4b`` (T3 + T4b, holds with probability :math:`\ge 1-\delta`): R0 / R4_T4b of the
  plug-in estimator from n sampled transitions. A ratio above 1 is either a failure of
  probability :math:`\le\delta` or a refutation; the search reports it either way.
* ``paper``: the paper-form bound of :mod:`jepatheory.paper` bounds a single-step cost
  regret, not the discounted regret R0; the search reports it as not applicable (with the
  reason), and as unavailable when that module is missing.

The search alternates random instances with local perturbations of the best one so far
(kernel rows mixed with random rows, nu reweighted, model noise rescaled), accepting a
perturbation when the ratio grows. Same seed and budget (in evaluations, not seconds, when
``max_evals`` is given) give the same instances.

THEORY K5.
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._results import Result
from ..cooccurrence import CoOccurrence
from ..errors import BoundInputError, OddMDPWarning
from ..mdp import MDP

__all__ = ["BOUNDS", "Falsification", "falsify", "save_instance"]

BOUNDS = ("R3w", "R4_T4b", "paper")
GAMMAS = (0.0, 0.3, 0.6, 0.9, 0.95, 0.99)


@dataclass(frozen=True, repr=False)
class Falsification(Result):
    """The largest ratio R0 / bound found, the instance (``instance`` path of the npz), the
    number of evaluations, every ratio above 1 (``violations``; empty for a proved rung
    unless the theory is wrong) and instances that raised (``errors``, at most 20)."""

    bound: str
    max_ratio: float | None
    evaluations: int
    seconds: float
    seed: int
    available: bool
    reason: str
    violations: list[dict[str, Any]]
    instance: str | None
    best: dict[str, Any]
    errors: list[str]


def _random_instance(rng: np.random.Generator) -> dict[str, Any]:
    N = int(rng.integers(2, 9))
    m = int(rng.integers(1, 4))
    P = rng.random((N, m, N)) ** float(rng.choice([1.0, 3.0, 8.0]))
    P *= rng.random((N, m, N)) > float(rng.choice([0.0, 0.3, 0.6]))
    P[np.arange(N), :, rng.integers(N, size=N)] += 1e-3
    P /= P.sum(axis=2, keepdims=True)
    r = rng.random((N, m)) * (rng.random((N, m)) < float(rng.choice([0.2, 1.0])))
    r[0, 0] = 1.0
    nu = rng.dirichlet(np.full(N * m, float(rng.choice([0.1, 0.5, 1.0, 5.0])))) + 1e-6
    rho0 = rng.dirichlet(np.full(N, float(rng.choice([0.1, 1.0]))))
    return {"P": P, "r": r, "gamma": float(rng.choice(GAMMAS)), "rho0": rho0,
                "nu": (nu / nu.sum()).reshape(N, m), "k": int(rng.integers(1, N + 1)),
                "noise": float(rng.choice([0.0, 0.01, 0.1, 0.5])),
                "n": int(rng.choice([20, 100, 1000, 10000])),
                "model_seed": int(rng.integers(2**31))}


def _perturb(inst: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    out = dict(inst)
    step = float(rng.choice([0.02, 0.1, 0.3]))
    P = inst["P"] * (1 - step) + step * rng.dirichlet(np.ones(inst["P"].shape[2]),
                                                      size=inst["P"].shape[:2])
    out["P"] = P / P.sum(axis=2, keepdims=True)
    nu = inst["nu"] * np.exp(step * rng.standard_normal(inst["nu"].shape))
    out["nu"] = nu / nu.sum()
    out["noise"] = max(0.0, inst["noise"] * float(np.exp(rng.normal(0, 0.5))))
    out["model_seed"] = int(rng.integers(2**31))
    return out


def _mdp(inst: dict[str, Any]) -> MDP:
    return MDP.from_arrays(inst["P"], inst["r"], inst["gamma"], inst["rho0"], warn=False)


def _ratio(bound: str, inst: dict[str, Any]) -> tuple[float, dict[str, float]]:
    from ..bounds.ladder import plugin_run, regret_ladder
    from ..model import truncated_embeddings

    mdp = _mdp(inst)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OddMDPWarning)
        C = CoOccurrence(mdp, inst["nu"])
        k = min(inst["k"], C.n_left, C.n_right)
        if bound == "R3w":
            rng = np.random.default_rng(inst["model_seed"])
            e = truncated_embeddings(C, k)
            z = e.z + inst["noise"] * rng.standard_normal(e.z.shape)
            h = e.h + inst["noise"] * rng.standard_normal(e.h.shape)
            lad = regret_ladder(C, z, h)
            inst["z"], inst["h"] = z, h
            top = lad.R3w
        else:
            run = plugin_run(C, inst["n"], k, inst["model_seed"], 0.05)
            lad = run.ladder
            top = lad.R4_T4b
    R0 = max(lad.R0, 0.0)
    ratio = 0.0 if (R0 == 0 or not math.isfinite(top)) else (
        float("inf") if top == 0 else R0 / top)
    return ratio, {"R0": lad.R0, "bound": top, "R_exact": lad.R_exact, "R1": lad.R1,
                       "trivial_bound": lad.trivial_bound}


def save_instance(path: str | Path, inst: dict[str, Any], meta: dict[str, Any]) -> Path:
    """The instance as an npz that :func:`jepatheory.mdp.load_mdp` reads (P, r, gamma,
    rho0, nu), with the model (z, h when present), k, n, noise and the numeric ``meta``
    entries (``meta_bound_index`` indexes :data:`BOUNDS`; load_mdp reads numbers only)."""
    path = Path(path)
    if path.exists() and path.is_dir():
        raise BoundInputError(f"--out {str(path)!r} is a directory")
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {k: np.asarray(inst[k]) for k in ("P", "r", "rho0", "nu")}
    arrays["gamma"] = np.float64(inst["gamma"])
    for k in ("z", "h"):
        if k in inst:
            arrays[k] = np.asarray(inst[k])
    for k in ("k", "n", "noise", "model_seed"):
        arrays[k] = np.asarray(inst[k])
    for k, v in meta.items():
        arrays[f"meta_{k}"] = np.asarray(v)
    with path.open("wb") as fh:
        np.savez_compressed(fh, **arrays)
    return path


def falsify(bound: str, budget: float, seed: int = 0, *, out: str | Path | None = None,
            max_evals: int | None = None) -> Falsification:
    """Search for a large R0 / ``bound`` for ``budget`` seconds (or ``max_evals``
    evaluations); save the best instance to ``out`` (if given)."""
    if bound not in BOUNDS:
        raise BoundInputError(f"unknown bound {bound!r}; known: {', '.join(BOUNDS)}")
    if not (isinstance(budget, (int, float)) and math.isfinite(budget) and budget > 0):
        raise BoundInputError(f"--budget = {budget!r} must be a positive number of seconds")
    t0 = time.perf_counter()
    if bound == "paper":
        try:
            import jepatheory.paper  # noqa: F401
            why = ("the paper-form bound (P3/P6) bounds a single-step cost regret, not the "
                   "discounted regret R0: no ratio R0 / bound is defined")
        except ImportError:
            why = "jepatheory.paper is not available in this build"
        return Falsification(bound=bound, max_ratio=None, evaluations=0,
                             seconds=time.perf_counter() - t0, seed=int(seed),
                             available=False, reason=why, violations=[], instance=None,
                             best={}, errors=[])
    rng = np.random.default_rng(seed)
    best: dict[str, Any] | None = None
    best_ratio, best_info = -1.0, {}
    violations: list[dict[str, Any]] = []
    errors: list[str] = []
    evals = 0
    while True:
        if max_evals is not None and evals >= max_evals:
            break
        if max_evals is None and time.perf_counter() - t0 >= budget:
            break
        inst = (_perturb(best, rng) if best is not None and rng.random() < 0.5
                else _random_instance(rng))
        try:
            ratio, info = _ratio(bound, inst)
        except Exception as exc:  # noqa: BLE001 - a failing instance is recorded, not fatal
            errors.append(f"evaluation {evals}: {type(exc).__name__}: {exc}")
            evals += 1
            continue
        evals += 1
        if ratio > 1:
            violations.append(dict(evaluation=evals, ratio=ratio, **info))
        if ratio > best_ratio:
            best, best_ratio, best_info = inst, ratio, info
    path = None
    if out is not None and best is not None:
        path = str(save_instance(out, best, {"bound_index": BOUNDS.index(bound),
                                                 "ratio": best_ratio, "seed": seed}))
    summary = dict(best_info)
    if best is not None:
        summary.update(n_states=int(best["P"].shape[0]), n_actions=int(best["P"].shape[1]),
                       gamma=best["gamma"], k=best["k"], noise=best["noise"], n=best["n"])
    return Falsification(bound=bound, max_ratio=best_ratio if best is not None else None,
                         evaluations=evals, seconds=time.perf_counter() - t0, seed=int(seed),
                         available=True, reason="", violations=violations, instance=path,
                         best=summary, errors=errors[:20])
