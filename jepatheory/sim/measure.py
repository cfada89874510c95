r"""One experiment: sample, train, plan, measure (THEORY D3, D4, T3-T5, D6).

:func:`run_experiment` draws n transitions from :math:`\nu P` (seeded), trains (z, h) with a
trainer of :mod:`~jepatheory.sim.trainers` (or fits an input-level baseline), plans in the
learned model with a planner of :mod:`~jepatheory.sim.planners` using the empirical
:math:`\hat q` (so the analysis uses :math:`h' = h\hat q/q`, D4), evaluates the policy in the
true MDP, and computes

* ``loss``: the pretraining loss :math:`\hat L_n(z,h)` (U-statistic on the training data) and
  ``erm_loss``: the same for the exact ERM (truncated SVD of :math:`\hat T`) on the same data;
* ``eps`` :math:`=\varepsilon(z,h')` (T1; ``eps_h`` is :math:`\varepsilon(z,h)`), ``tail_k``;
* ``regret`` :math:`V^*(\rho_0)-V^{\pi}(\rho_0)` of the chosen planner's policy;
* ``pe_error``: the model's value of that policy against its true value at :math:`\rho_0`
  (``pe_error_max``: sup over states);
* ``model_l1`` / ``model_l1_hat``: :math:`E_\nu\|P-\tilde P\|_1` and :math:`E_\nu\|P-\hat P\|_1`;
* the T3 ladder of the projected planner (``R0`` ... ``R4_T4b``) from
  :func:`jepatheory.bounds.regret_ladder`, checked: an ordering violation raises
  :class:`~jepatheory.errors.LadderOrderError`.

The baselines ``count`` and ``features`` (:mod:`~jepatheory.sim.baselines`) are measured the
same way (their model is the kernel itself); ``count`` also carries the T5 chain.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from .._results import Result, table
from ..cooccurrence import CoOccurrence
from ..data import make_nu
from ..errors import OddMDPWarning, ShapeError
from ..mdp import MDP, load_mdp
from ..model import (
    DENSE_MODEL_MAX,
    clip_renormalize,
    empirical_loss,
    factorization_error,
    h_prime,
    model_kernel,
    truncated_embeddings,
)
from ..sampling import Dataset, empirical_cooccurrence, sample_transitions
from ..solvers import optimal_policy, policy_evaluation
from ..spine import legacy_call

if TYPE_CHECKING:  # pragma: no cover
    from ..bounds.input_level import CountChain
from .baselines import BASELINES, count_kernel, feature_kernel
from .planners import PLANNERS, kernel_planner, plan
from .trainers import TRAINERS, train

__all__ = ["Measurement", "run_experiment", "run_cell", "load_problem", "RUNG_KEYS",
           "rollout_nu", "rollout_dataset"]

RUNG_KEYS = ("R0", "R1", "R2", "R3", "R3w", "R4_T4", "R4_T4b")


@dataclass(frozen=True, repr=False)
class Measurement(Result):
    """Everything measured in one run (``metrics``), the training log and the ladder."""

    config: dict[str, Any]
    metrics: dict[str, Any]
    ladder: dict[str, Any] | None = None
    log: dict[str, Any] = field(default_factory=dict)

    def flat(self) -> dict[str, Any]:
        """Config and metrics in one flat dict (the JSON of ``jepatheory simulate``)."""
        return {**self.config, **self.metrics}

    # typed views of the fields every caller reads (the dicts stay the stored, exported form)
    @property
    def trainer(self) -> str:
        return str(self.config["trainer"])

    @property
    def k(self) -> int:
        return int(self.config["k"])

    @property
    def n(self) -> int:
        return int(self.config["n"])

    @property
    def seed(self) -> int:
        return int(self.config["seed"])

    @property
    def regret(self) -> float:
        """Measured regret R0 = V*(rho0) - V^pi_hat(rho0) of the planned policy."""
        return float(self.metrics["regret"])

    @property
    def V_star(self) -> float:
        return float(self.metrics["V_star"])

    @property
    def tail_k(self) -> float:
        return float(self.metrics["tail_k"])

    @property
    def eps(self) -> float | None:
        """Factorization error of the model (None for baselines that have none)."""
        v = self.metrics.get("eps")
        return None if v is None else float(v)

    @property
    def rungs(self) -> dict[str, float | None]:
        """The T3 rungs measured in this run (None where not computed)."""
        return {r: self.metrics.get(r) for r in RUNG_KEYS}

    def __repr__(self) -> str:
        keys = ("trainer", "encoder", "planner", "k", "n", "seed", "loss", "erm_loss", "eps",
                "regret", "R0", "R1", "R3w", "R4_T4b")
        return table([{k_: self.flat().get(k_) for k_ in keys}])


@lru_cache(maxsize=8)
def load_problem(env: str | None = None, mdp_file: str | None = None, nu: str | None = None
                 ) -> tuple[MDP, NDArray[np.float64], CoOccurrence]:
    """``(mdp, nu, C)`` from an environment spec (``"name:key=value,..."``) or an MDP file;
    cached per process (sweep workers rebuild each environment once)."""
    from ..envs import DEFAULT_ENV, make_env
    nu_arr = None
    if mdp_file:
        mdp, nu_arr = load_mdp(mdp_file)
    else:
        mdp = make_env(env or DEFAULT_ENV)
    if nu is not None or nu_arr is None:
        nu_arr = make_nu(mdp, nu or "uniform")
    return mdp, nu_arr, CoOccurrence(mdp, nu_arr)


@lru_cache(maxsize=8)
def _optimal(mdp: MDP) -> tuple[NDArray, float]:
    pol = optimal_policy(mdp).policy
    return pol, float(mdp.rho0 @ policy_evaluation(mdp, pol))


def rollout_nu(mdp: MDP, horizon: int) -> NDArray[np.float64]:
    r"""Mean state-action marginal of uniform-random-policy rollouts of ``horizon`` steps from
    :math:`\rho_0`: :math:`\nu = \frac1H\sum_{t<H}\rho_t\otimes\pi`,
    :math:`\rho_{t+1} = P_\pi^\top\rho_t` (the distribution a random transition of the
    rollout dataset has)."""
    N, m = mdp.n_states, mdp.n_actions
    rho, acc = mdp.rho0.astype(float), np.zeros(N)
    for _ in range(int(horizon)):
        acc += rho
        rho = np.repeat(rho / m, m) @ mdp.P_sa   # sum_{s,a} rho(s) pi(a|s) P(.|s,a)
    nu = np.repeat(acc / horizon, m).reshape(N, m) / m
    return nu / nu.sum()


def rollout_dataset(mdp: MDP, n: int, horizon: int, seed: int) -> Dataset:
    """``n`` transitions from ``ceil(n / horizon)`` uniform-random-policy rollouts of
    ``horizon`` steps (:func:`jepatheory.sampling.rollouts`); consecutive transitions are
    dependent, so the i.i.d. premise of T4/T4b does not hold for this data."""
    from ..sampling import rollouts
    pi = np.full((mdp.n_states, mdp.n_actions), 1.0 / mdp.n_actions)
    episodes = -(-int(n) // int(horizon))
    return rollouts(mdp, pi, episodes, int(horizon), seed).head(int(n))


def _l1_rows(P: NDArray, Q: NDArray) -> NDArray:
    return np.abs(P - Q).sum(axis=1)


def run_experiment(C: CoOccurrence, /, *args: Any, **kw: Any) -> Measurement:
    """``run_experiment(C, *, k, n, trainer="erm", ...)``: one run, see :func:`measure`.
    The older form ``run_experiment(mdp, nu, *, k, n, ..., C=None)`` still works
    (deprecated)."""
    C, args, kw = legacy_call("run_experiment", C, args, kw)
    return measure(C, *args, **kw)


def measure(C: CoOccurrence, *, k: int, n: int, trainer: str = "erm",
            encoder: str = "tabular", planner: str = "projected", seed: int = 0,
            ds: Dataset | None = None, delta: float = 0.05, ladder: bool = True,
            train_kw: dict[str, Any] | None = None,
            plan_kw: dict[str, Any] | None = None,
            backend: str = "numpy") -> Measurement:
    """One run on ``C`` (see the module docstring). Same arguments, same numbers.
    ``backend="torch"`` trains with :func:`jepatheory.torch.train_torch` (trainers spectral,
    jepa, collapse; encoders tabular, mlp, cnn) instead of the NumPy trainers."""
    if trainer not in TRAINERS + BASELINES:
        raise ShapeError(f"unknown trainer {trainer!r}; known: "
                         f"{', '.join(TRAINERS + BASELINES)}")
    if planner not in PLANNERS:
        raise ShapeError(f"unknown planner {planner!r}; known: {', '.join(PLANNERS)}")
    mdp, nu = C.mdp, C.nu
    N, m = mdp.n_states, mdp.n_actions
    if N * m * N > DENSE_MODEL_MAX:
        raise ShapeError(f"run_experiment: {N} states x {m} actions is too large for the dense "
                         "model measurements")
    ds = sample_transitions(C, n, seed) if ds is None else ds
    pi_star, V_star = _optimal(mdp)
    q_hat = ds.q_hat()
    config = dict(env=mdp.name, k=int(k), n=int(ds.n), trainer=trainer, encoder=encoder,
                  planner=planner, seed=int(seed))
    if backend != "numpy":
        config["backend"] = backend
    P = mdp.P_sa.toarray()
    nu_flat = np.asarray(nu, float).ravel()
    metrics: dict[str, Any] = dict(V_star=V_star, tail_k=C.tail(int(k)))
    with warnings.catch_warnings():  # uncovered pairs of nu_hat are expected at small n
        warnings.simplefilter("ignore", OddMDPWarning)
        Chat = empirical_cooccurrence(mdp, ds)
    kk = min(int(k), Chat.n_left, Chat.n_right)
    erm = truncated_embeddings(Chat, kk)
    metrics["erm_loss"] = empirical_loss(erm.z, erm.h, ds.pair, ds.s2)

    if trainer in BASELINES:
        t0 = time.perf_counter()
        Pm = count_kernel(mdp, ds).toarray() if trainer == "count" else feature_kernel(mdp, ds)
        fit = time.perf_counter() - t0
        out = kernel_planner(mdp, Pm, trainer)
        V_pi = policy_evaluation(mdp, out.policy)
        l1 = _l1_rows(P, Pm)
        metrics.update(loss=None, eps=None, eps_h=None, regret=V_star - float(mdp.rho0 @ V_pi),
                       pe_error=abs(float(mdp.rho0 @ (out.V_model - V_pi))),
                       pe_error_max=float(np.abs(out.V_model - V_pi).max()),
                       model_l1=float(nu_flat @ l1), model_l1_hat=float(nu_flat @ l1),
                       train_seconds=fit, train_steps=0, plan_seconds=out.seconds,
                       contraction=mdp.gamma, converged=True,
                       **{r: None for r in RUNG_KEYS})
        chain = None
        if trainer == "count":
            from ..bounds.input_level import count_chain_of
            chain = count_chain_of(C, ds, delta, pi_star=pi_star)
            metrics.update(R0=chain.R0, R1=chain.R1, R_T5=chain.R_T5,
                           R_weissman=chain.R_weissman)
            _check_count_chain(chain)
        return Measurement(config, metrics, None if chain is None else chain.to_dict(), {})

    kw = dict(train_kw or {})
    if backend == "torch":
        from ..torch.trainers import train_torch
        tr = train_torch(trainer, C, ds, int(k), encoder, seed=seed, **kw)
    elif backend != "numpy":
        raise ShapeError(f"backend {backend!r}: use numpy or torch")
    else:
        if trainer == "erm":
            kw["C_hat"] = Chat
        tr = train(trainer, C, ds, int(k), encoder, seed=seed, **kw)
    z, h = tr.emb.z, tr.emb.h
    hp = h_prime(h, C.q, q_hat)
    out = plan(planner, mdp, z, h, q_hat, seed=seed, **(plan_kw or {}))
    V_pi = policy_evaluation(mdp, out.policy)
    P_hat = model_kernel(z, hp, C.q)
    P_tilde = clip_renormalize(P_hat)
    metrics.update(
        loss=empirical_loss(z, h, ds.pair, ds.s2), train_loss=tr.log.loss,
        eps=factorization_error(C, z, hp), eps_h=factorization_error(C, z, h),
        regret=V_star - float(mdp.rho0 @ V_pi),
        pe_error=abs(float(mdp.rho0 @ (out.V_model - V_pi))),
        pe_error_max=float(np.abs(out.V_model - V_pi).max()),
        model_l1=float(nu_flat @ _l1_rows(P, P_tilde)),
        model_l1_hat=float(nu_flat @ _l1_rows(P, P_hat)),
        train_seconds=tr.log.seconds, train_steps=tr.log.steps, plan_seconds=out.seconds,
        contraction=out.contraction, converged=out.converged)
    lad = None
    if ladder:
        from ..bounds.ladder import ladder_of
        d = None if encoder == "tabular" else tr.log.n_params
        L = ladder_of(C, z, h, q_hat=q_hat, n=ds.n, delta=delta, k=int(k), d=d, ds=ds,
                      plugin=trainer == "erm", pi_star=pi_star)
        L.check()
        metrics.update(L.rungs())
        metrics["eps_used"] = L.eps_used
        lad = L.to_dict()
    else:
        metrics.update({r: None for r in RUNG_KEYS})
    log = dict(loss_curve=tr.log.loss_curve, eval_curve=tr.log.eval_curve,
               n_params=tr.log.n_params, **{f"train_{k_}": v for k_, v in tr.log.extra.items()})
    return Measurement(config, metrics, lad, log)


def _check_count_chain(chain: CountChain) -> None:
    """The T5 chain's deterministic ordering R0 <= R1 (simulation lemma)."""
    from ..errors import LadderOrderError
    tol = 1e-9 * max(1.0, chain.trivial_bound)
    if chain.R0 > chain.R1 + tol:
        raise LadderOrderError(f"count model: R0 = {chain.R0:.6g} > R1 = {chain.R1:.6g}")


def run_cell(cell: dict[str, Any]) -> dict[str, Any]:
    """A sweep cell (plain dict in, plain dict out; runs in worker processes). Keys: ``env``
    or ``mdp_file``, ``nu``, ``k``, ``n``, ``trainer``, ``encoder``, ``planner``, ``seed``,
    optional ``train_kw`` and ``horizon`` (rollout data of that horizon instead of i.i.d.
    draws from nu; nu is then :func:`rollout_nu`)."""
    t0 = time.perf_counter()
    mdp, nu, C = load_problem(cell.get("env"), cell.get("mdp_file"), cell.get("nu"))
    ds = None
    if cell.get("horizon"):
        nu = rollout_nu(mdp, cell["horizon"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OddMDPWarning)
            C = CoOccurrence(mdp, nu)
        ds = rollout_dataset(mdp, cell["n"], cell["horizon"], cell["seed"])
    res = run_experiment(C, k=cell["k"], n=cell["n"], trainer=cell["trainer"],
                         encoder=cell.get("encoder", "tabular"),
                         planner=cell.get("planner", "projected"), seed=cell["seed"],
                         ds=ds, train_kw=cell.get("train_kw"),
                         backend=cell.get("backend", "numpy"))
    out = res.flat()
    out["seconds"] = time.perf_counter() - t0
    out["loss_curve"] = res.log.get("loss_curve", [])
    return out
