r"""K1, K2: the oracle rungs of the T3 ladder and the anatomy of its slack.

With :math:`d^\pi` the **normalized** discounted occupancy under the true kernel
(:func:`jepatheory.solvers.occupancy`, :math:`\sum d^\pi = 1`), the simulation identity of
``proofs/T3.md`` (SL) reads, for every policy and the stochastic model :math:`\tilde P`,

.. math::

    V^\pi_P(\rho_0) - V^\pi_{\tilde P}(\rho_0) = \frac{\gamma}{1-\gamma}\,
        E_{d^\pi}\big[(P-\tilde P)(\cdot|s,a)\cdot V^\pi_{\tilde P}\big] =: \Delta_\pi .

(:math:`\rho_0^\top(I-\gamma P_\pi)^{-1} = d^\pi_S/(1-\gamma)` carries the :math:`1/(1-\gamma)`;
the :math:`\gamma` is the one in front of the next-state value.) The regret splits as

.. math::

    R_0 = \Delta_{\pi^*} + \underbrace{[V^{\pi^*}_{\tilde P}-V^{\hat\pi}_{\tilde P}](\rho_0)}_{
        =: \text{middle} \le 0} - \Delta_{\hat\pi},

the middle term being :math:`\le 0` because :math:`\hat\pi` is optimal in :math:`\tilde P`.
The oracle rungs (they need the true P, hence "oracle"):

.. math::

    R_0 \le R_{\rm signed} := R_0 - \text{middle} = \Delta_{\pi^*} - \Delta_{\hat\pi}
        \le R_{\rm exact} := |\Delta_{\pi^*}| + |\Delta_{\hat\pi}| \\
        \le R_{1,\rm span} := \frac{\gamma}{1-\gamma}\sum_\pi
            \frac{\mathrm{sp}(V^\pi_{\tilde P})}{2} E_{d^\pi}\|P-\tilde P\|_1 \le R_1
        \quad(\mathrm{sp}(V^\pi_{\tilde P}) \le R_{\max}/(1-\gamma)).

The third step is Hoelder after centring (rows of :math:`P-\tilde P` sum to 0), the last
the span bound of a stochastic model. The ``slack`` record names the factor each step of
the whole chain multiplies (:class:`Slack`).

K2, the eps floor. For every rank-k model, :math:`\varepsilon(z,h') \ge \mathrm{tail}_k`
(Eckart-Young, T2), and both eps bounds (T4: :math:`\mathrm{tail}_k + 2\,\mathrm{dev} + \dots`,
T4b: :math:`(\sqrt{\mathrm{tail}_k}+\dots)^2`) tend to :math:`\mathrm{tail}_k` as
:math:`n\to\infty`. With :math:`C^\pi\ge 1` (Cauchy-Schwarz, :math:`\sum d = \sum\nu = 1`)
every R3w and every R4 of a rank-k model, at every n, is at least

.. math:: F_k = c\,(\sqrt{C^{\pi^*}} + 1)\sqrt{\mathrm{tail}_k}.

So the eps route can certify at rank k (for some n) only if :math:`F_k` is below the
trivial bound :math:`R_{\max}/(1-\gamma)`; "at any n" is a statement at fixed k: at the
full rank :math:`\mathrm{tail}_k = 0` and :math:`F_k = 0`, and the eps route certifies
for n large enough (with no latent compression). R3w of a run at the model's own eps is
*not* this floor: it includes the model's estimation error.

THEORY K1, K2 (and T3); proof: ``proofs/K1.md``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from .._results import Result
from ..cooccurrence import CoOccurrence
from ..mdp import MDP
from ..solvers import occupancy, optimal_policy, policy_evaluation
from .constants import concentrability, regret_constant, spectrum_upto, trivial_bound

__all__ = ["SLACK_FACTORS", "EpsFloor", "OracleRungs", "Slack", "eps_floor", "eps_floor_value",
           "ladder_oracle_fields", "oracle_rungs", "slack_factors"]

#: The named factors of the chain R0 -> R4, bottom to top (each is hi/lo of one step).
SLACK_FACTORS = ("middle_term", "signs", "hoelder", "span", "clip_R2_R1", "cauchy_schwarz",
                 "sqrt_eps", "sample_term")


def _ratio(hi: float | None, lo: float | None) -> float | None:
    if hi is None or lo is None:
        return None
    if lo > 0:
        return float(hi / lo)
    return float("nan") if hi == 0 else float("inf")


@dataclass(frozen=True, repr=False)
class OracleRungs(Result):
    r"""The K1 rungs of one (model, planner): :math:`R_0 \le R_{\rm signed} \le R_{\rm exact}
    \le R_{1,\rm span} \le R_1` with their pieces (:math:`\Delta_\pi`, spans, middle term)."""

    R0: float
    middle: float
    R_signed: float
    R_exact: float
    R1_span: float
    R1: float
    delta_star: float
    delta_hat: float
    span_star: float
    span_hat: float
    l1_star: float
    l1_hat: float


def oracle_rungs(C: CoOccurrence, P_tilde: ArrayLike, pi_hat: ArrayLike,
                 pi_star: ArrayLike | None = None, *, d_star: ArrayLike | None = None,
                 d_hat: ArrayLike | None = None) -> OracleRungs:
    r"""K1 rungs of the policy ``pi_hat`` planned in the stochastic model ``P_tilde``
    (shape ``(N*m, N)``, dense or sparse) of ``C.mdp``.

    ``pi_hat`` must be optimal in ``P_tilde`` for the middle term to be :math:`\le 0` (the
    projected planner's policy is); for another policy R_signed and R_exact still bound the
    two outer terms, but R0 <= R_signed may fail (it is then reported, not hidden).
    ``d_star``, ``d_hat``: the true-kernel occupancies, if already computed.
    """
    mdp = C.mdp
    g = mdp.gamma
    Pt = sp.csr_array(P_tilde)
    model = MDP.from_flat(Pt, mdp.n_states, mdp.n_actions, mdp.r, g, mdp.rho0,
                          name=f"{mdp.name}-model", warn=False)
    pi_h = np.asarray(pi_hat)
    pi_s = optimal_policy(mdp).policy if pi_star is None else np.asarray(pi_star)
    ds = occupancy(mdp, pi_s).ravel() if d_star is None else np.asarray(d_star, float).ravel()
    dh = occupancy(mdp, pi_h).ravel() if d_hat is None else np.asarray(d_hat, float).ravel()
    V_star_true = float(mdp.rho0 @ policy_evaluation(mdp, pi_s))
    V_hat_true = float(mdp.rho0 @ policy_evaluation(mdp, pi_h))
    W_star, W_hat = policy_evaluation(model, pi_s), policy_evaluation(model, pi_h)
    diff = sp.csr_array(mdp.P_sa) - Pt  # (P - P_tilde), rows sum to 0
    l1_rows = np.asarray(abs(diff).sum(axis=1)).ravel()
    f = g / (1 - g)
    delta_star = f * float(ds @ (diff @ W_star))
    delta_hat = f * float(dh @ (diff @ W_hat))
    span_s = float(W_star.max() - W_star.min()) if W_star.size else 0.0
    span_h = float(W_hat.max() - W_hat.min()) if W_hat.size else 0.0
    l1_s, l1_h = float(ds @ l1_rows), float(dh @ l1_rows)
    R0 = V_star_true - V_hat_true
    middle = float(mdp.rho0 @ W_star - mdp.rho0 @ W_hat)
    R1 = regret_constant(mdp) / 2 * (l1_s + l1_h)
    return OracleRungs(R0=R0, middle=middle, R_signed=delta_star - delta_hat,
                       R_exact=abs(delta_star) + abs(delta_hat),
                       R1_span=f * (span_s / 2 * l1_s + span_h / 2 * l1_h), R1=R1,
                       delta_star=delta_star, delta_hat=delta_hat, span_star=span_s,
                       span_hat=span_h, l1_star=l1_s, l1_hat=l1_h)


@dataclass(frozen=True, repr=False)
class Slack(Result):
    r"""Where the looseness of the chain :math:`R_0 \to R_4` enters: one factor per step
    (hi/lo), their product ``total`` (= top rung / R0) and ``R0_share`` = R0 / trivial bound.

    ``middle_term`` R_signed/R0 (the dropped :math:`V^{\pi^*}_{\tilde P}-V^{\hat\pi}_{\tilde P}`),
    ``signs`` R_exact/R_signed (the two outer terms in absolute value), ``hoelder``
    R1_span/R_exact, ``span`` R1/R1_span, ``clip_R2_R1`` R2/R1, ``cauchy_schwarz`` R3/R2,
    ``sqrt_eps`` R3w/R3 (2 exactly for row-stochastic models), ``sample_term`` R4/R3w
    (R4 the smaller of T4 and T4b; None without n). A factor is inf when its lower rung is 0
    and the upper is not, nan when both are 0.
    """

    middle_term: float | None
    signs: float | None
    hoelder: float | None
    span: float | None
    clip_R2_R1: float | None
    cauchy_schwarz: float | None
    sqrt_eps: float | None
    sample_term: float | None
    total: float | None
    top: str
    R0_share: float

    def factors(self) -> dict[str, float | None]:
        """The named factors, bottom to top."""
        return {name: getattr(self, name) for name in SLACK_FACTORS}


def slack_factors(rungs: dict[str, float | None], trivial: float) -> Slack:
    """The :class:`Slack` of a chain given as ``{R0, R_signed, R_exact, R1_span, R1, R2, R3,
    R3w, R4}`` (R4 may be None)."""
    g = rungs.get
    top = "R4" if g("R4") is not None else "R3w"
    return Slack(middle_term=_ratio(g("R_signed"), g("R0")),
                 signs=_ratio(g("R_exact"), g("R_signed")),
                 hoelder=_ratio(g("R1_span"), g("R_exact")),
                 span=_ratio(g("R1"), g("R1_span")), clip_R2_R1=_ratio(g("R2"), g("R1")),
                 cauchy_schwarz=_ratio(g("R3"), g("R2")), sqrt_eps=_ratio(g("R3w"), g("R3")),
                 sample_term=_ratio(g("R4"), g("R3w")), total=_ratio(g(top), g("R0")),
                 top=top, R0_share=float(g("R0") / trivial) if trivial > 0 else float("nan"))


#: tail_k is ||T||_F^2 - sum of the top sigma^2: rounded down by this share of ||T||_F^2
#: before it enters a floor (a floor must stay below every R3w, also at full rank).
TAIL_ROUNDING = 1e-12


def floor_tail(C: CoOccurrence, tail: float) -> float:
    """``tail`` lowered by its rounding error (:data:`TAIL_ROUNDING` of ``||T||_F^2``)."""
    return max(tail - TAIL_ROUNDING * max(1.0, C.frobenius_sq), 0.0)


def eps_floor_value(c: float, C_star: float, tail: float, C_hat: float = 1.0) -> float:
    r""":math:`c(\sqrt{C^{\pi^*}} + \sqrt{C^{\hat\pi}})\sqrt{\mathrm{tail}_k}` (0 when c = 0,
    inf when a concentrability is infinite and the tail is positive)."""
    if math.isnan(tail):
        return float("nan")
    if c == 0 or tail <= 0:
        return 0.0
    root = math.sqrt(C_star) + math.sqrt(C_hat)
    return float(c * root * math.sqrt(tail)) if math.isfinite(root) else float("inf")


@dataclass(frozen=True, repr=False)
class EpsFloor(Result):
    r"""K2 per environment: the floor :math:`F_k = c(\sqrt{C^{\pi^*}}+1)\sqrt{\mathrm{tail}_k}`
    below every R3w/R4 of a rank-k model at every n, per k; ``can_certify[k]`` is
    :math:`F_k <` the trivial bound; ``k_min`` the smallest such k (None: none in the grid).
    ``eps_route_can_certify`` is True iff some k of the grid can; a False means: no rank-k
    model with k in the grid, trained on any number of samples, gets a non-vacuous R3w/R4."""

    env: str
    k_values: list[int]
    floor: dict[int, float]
    can_certify: dict[int, bool]
    k_min: int | None
    eps_route_can_certify: bool
    full_rank: int
    C_pi_star: float
    c: float
    trivial_bound: float


def eps_floor(C: CoOccurrence, ks: ArrayLike | None = None) -> EpsFloor:
    """K2 for the MDP of ``C``: :class:`EpsFloor` over ``ks`` (default 1..rank bound, at most
    64 values spread over the range, the full rank included)."""
    mdp = C.mdp
    full = min(C.n_left, C.n_right)
    if ks is None:
        ks = sorted(set(np.unique(np.geomspace(1, full, num=min(full, 64)).round()
                                  .astype(int)).tolist()) | {full})
    ks = sorted({int(k) for k in np.asarray(ks).ravel() if 1 <= int(k) <= full})
    below = [k for k in ks if k < full]
    spec = spectrum_upto(C, max(below)) if below else None
    pi_s = optimal_policy(mdp).policy
    C_star = concentrability(occupancy(mdp, pi_s), C.nu)
    c, triv = regret_constant(mdp), trivial_bound(mdp)
    floor = {}
    for k in ks:
        tail = 0.0 if k >= full else max(spec.tail_k(k), 0.0)
        floor[k] = eps_floor_value(c, C_star, floor_tail(C, tail))
    can = {k: bool(v < triv) for k, v in floor.items()}
    k_min = next((k for k in ks if can[k]), None)
    return EpsFloor(env=mdp.name, k_values=ks, floor=floor, can_certify=can, k_min=k_min,
                    eps_route_can_certify=k_min is not None, full_rank=full,
                    C_pi_star=C_star, c=c, trivial_bound=triv)


def ladder_oracle_fields(C: CoOccurrence, P_tilde: NDArray, pi_hat: NDArray,
                         pi_star: NDArray, d_star: NDArray, d_hat: NDArray,
                         rungs: dict[str, Any], C_hat: float, tail: float) -> dict[str, Any]:
    """The K1/K2 fields :func:`jepatheory.bounds.ladder.regret_ladder` adds to a ladder."""
    orc = oracle_rungs(C, P_tilde, pi_hat, pi_star, d_star=d_star, d_hat=d_hat)
    mdp = C.mdp
    C_star = concentrability(d_star, C.nu)
    c, triv = regret_constant(mdp), trivial_bound(mdp)
    r4 = [v for v in (rungs.get("R4_T4"), rungs.get("R4_T4b")) if v is not None]
    chain = dict(rungs, R_signed=orc.R_signed, R_exact=orc.R_exact, R1_span=orc.R1_span,
                 R4=min(r4) if r4 else None)
    tail = floor_tail(C, tail) if not math.isnan(tail) else tail
    floor_any = eps_floor_value(c, C_star, tail)
    return {"R_exact": orc.R_exact, "R1_span": orc.R1_span, "R_signed": orc.R_signed,
            "middle": orc.middle, "span_pi_star": orc.span_star,
            "span_pi_hat": orc.span_hat, "R3w_floor": eps_floor_value(c, C_star, tail, C_hat),
            "R3w_floor_any": floor_any, "eps_route_can_certify": bool(floor_any < triv),
            "slack": slack_factors(chain, triv)}
