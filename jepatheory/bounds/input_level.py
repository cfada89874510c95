r"""T5: the input-level (generative) baseline, the count model
:math:`P_n(s'|s,a) = n(s,a,s')/n(s,a)`.

Same simulation-lemma chain as T3 (R1 with :math:`P_n`, which is stochastic). Per row,
Weissman's inequality gives, with probability :math:`\ge 1-\delta'` for all rows at once,

.. math:: \|P(\cdot|s,a)-P_n(\cdot|s,a)\|_1 \le w_{sa}(n_{sa}) =
          \min\Big(2, \sqrt{2(a_{sa}\log 2+\log(N_L/\delta'))/n_{sa}}\Big),

:math:`a_{sa}` the successor support size of the true row (:math:`\le N_R`); conditionally on
the counts the next states are i.i.d., so the data-dependent form with the observed
:math:`n(s,a)` is valid. A priori, :math:`n(s,a)\ge n\nu(s,a)/2` for every covered pair except
with probability :math:`N_L e^{-n\min\nu/8}` (multiplicative Chernoff), which is added to
delta: :math:`\delta' = \delta - N_Le^{-n\min\nu/8}`. Aggregated over :math:`d^\pi` the
factor is :math:`D^\pi = E_{d^\pi}[\nu^{-1/2}]`:

.. math:: R_{T5} = \frac c2\sum_{\pi\in\{\pi^*,\pi_n\}} D^\pi
          \sqrt{4(a_{\max}\log 2+\log(N_L/\delta'))/n}.

The chain of one run: ``R0`` (measured regret of the count model's optimal policy
:math:`\pi_n`) <= ``R1`` = :math:`\frac c2\sum_\pi E_{d^\pi}\|P-P_n\|_1` <= ``R_weissman``
(observed counts) <= ``R_rows`` (counts replaced by :math:`n\nu/2`, on the count event)
<= ``R_T5`` (the :math:`D^\pi` form). A priori (before the data, :math:`\pi_n` unknown) the
:math:`\pi_n` term uses :math:`\max_{sa} w_{sa}` (:func:`t5_bound`).

THEORY T5; proof: ``proofs/T5.md``.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._results import Result
from ..cooccurrence import CoOccurrence
from ..data import validate_nu
from ..errors import BoundInputError, ShapeError
from ..mdp import MDP
from ..sampling import Dataset, count_model
from ..solvers import occupancy, optimal_policy, policy_evaluation
from ..spine import legacy_call
from .constants import regret_constant, row_factor, scaled, trivial_bound
from .core import check_n_delta, check_pairs

__all__ = ["weissman_rows", "count_failure", "T5Bound", "t5_bound", "t5_curve", "t5_curve_of",
           "CountChain", "count_model_chain"]


def successor_sizes(mdp: MDP) -> NDArray[np.int64]:
    """:math:`a_{sa}`: the number of successors of each row of P (flat index s*m+a)."""
    return np.diff(mdp.P_sa.indptr).astype(np.int64)


def weissman_rows(counts: ArrayLike, a: ArrayLike, n_left: int, delta_rows: float
                  ) -> NDArray[np.float64]:
    r"""Per-row Weissman bounds :math:`\min(2,\sqrt{2(a\log2+\log(N_L/\delta'))/n_{sa}})`
    (2 where the count is 0 or ``delta_rows <= 0``)."""
    cnt = np.asarray(counts, dtype=float)
    a = np.asarray(a, dtype=float)
    if delta_rows <= 0:
        return np.full(cnt.shape, 2.0)
    num = 2 * (a * math.log(2) + math.log(n_left / delta_rows))
    with np.errstate(divide="ignore"):
        w = np.sqrt(np.where(cnt > 0, num / np.where(cnt > 0, cnt, 1.0), np.inf))
    return np.minimum(w, 2.0)


def count_failure(nu_L: ArrayLike, n: int) -> float:
    r""":math:`N_L e^{-n\min\nu/8}`: probability that some covered pair gets
    :math:`n(s,a) < n\nu(s,a)/2`."""
    nu_L = np.asarray(nu_L, dtype=float)
    return _count_failure_at(nu_L.size, float(nu_L.min()), n)


def _count_failure_at(n_left: int, nu_min: float, n: int) -> float:
    return float(n_left * math.exp(-n * nu_min / 8))


@dataclass(frozen=True, repr=False)
class T5Bound(Result):
    r"""The a-priori T5 bound at (n, delta); the :math:`\pi_n` term is bounded by the worst row."""

    n: int
    delta: float
    delta_rows: float
    p_count_fail: float
    a_max: int
    D_pi_star: float
    D_max: float
    R_rows: float
    R_T5: float
    bound: float
    trivial_bound: float
    vacuous: bool


@dataclass(frozen=True)
class _T5Parts:
    """The n-free ingredients of :func:`t5_bound` (computed once for a grid of n)."""

    nu_min: float  # smallest nu on the covered pairs
    a_log2: NDArray[np.float64]  # a_sa log 2 on the covered pairs
    inv_nu: NDArray[np.float64]  # 4 / nu on the covered pairs: w^2 = (a log 2 + L) 4/(n nu)
    d_cov: NDArray[np.float64]  # d^pi* on the covered pairs
    uncovered: bool  # some pair has nu = 0: its row bound is 2
    d_uncovered: float  # d^pi* mass on uncovered pairs
    NL: int
    a_max: int
    c: float
    D_star: float
    D_max: float
    triv: float


def _t5_parts(mdp: MDP, nu: ArrayLike, d_star: ArrayLike | None,
              validated: bool = False) -> _T5Parts:
    """``validated``: ``nu`` is ``C.nu`` (checked once when C was built), not checked again."""
    nu = (np.asarray(nu, dtype=float) if validated else validate_nu(mdp, nu)).ravel()
    if d_star is None:
        d_star = occupancy(mdp, optimal_policy(mdp).policy)
    d_star = np.asarray(d_star, dtype=float).ravel()
    cov = nu > 0
    a = successor_sizes(mdp)
    nu_cov = nu[cov]
    return _T5Parts(nu_min=float(nu_cov.min()), a_log2=a[cov] * math.log(2), inv_nu=4.0 / nu_cov,
                    d_cov=d_star[cov], uncovered=bool((~cov).any()),
                    d_uncovered=float(d_star[~cov].sum()), NL=int(cov.sum()),
                    a_max=int(a[cov].max()), c=regret_constant(mdp),
                    D_star=row_factor(d_star, nu),
                    D_max=float(1 / np.sqrt(nu.min())) if nu.min() > 0 else float("inf"),
                    triv=trivial_bound(mdp))


def _t5_at(parts: _T5Parts, n: int, delta: float) -> T5Bound:
    """T5 at (n, delta) from the n-free parts (n and delta already checked)."""
    p_fail = _count_failure_at(parts.NL, parts.nu_min, n)
    dr = delta - p_fail
    c = parts.c
    if dr > 0:  # weissman_rows at the counts n nu / 2, in one pass over the covered pairs
        w = parts.a_log2 + math.log(parts.NL / dr)
        w *= parts.inv_nu
        w /= n
        np.sqrt(w, out=w)
        np.minimum(w, 2.0, out=w)
        w_max = 2.0 if parts.uncovered else float(w.max())
        w_dot = float(parts.d_cov @ w) + 2.0 * parts.d_uncovered
    else:
        w_max, w_dot = 2.0, 2.0 * (float(parts.d_cov.sum()) + parts.d_uncovered)
    R_rows = c / 2 * (w_dot + w_max)
    if dr > 0:
        R_T5 = scaled(c / 2, parts.D_star + parts.D_max,
                      math.sqrt(4 * (parts.a_max * math.log(2) + math.log(parts.NL / dr)) / n))
    else:
        R_T5 = 0.0 if c == 0 else float("inf")
    bound = min(R_rows, R_T5)
    return T5Bound(n=int(n), delta=float(delta), delta_rows=dr, p_count_fail=p_fail,
                   a_max=parts.a_max, D_pi_star=parts.D_star, D_max=parts.D_max,
                   R_rows=R_rows, R_T5=R_T5, bound=bound, trivial_bound=parts.triv,
                   vacuous=bool(bound >= parts.triv))


def t5_bound(C: CoOccurrence, /, *args: Any, **kw: Any) -> T5Bound:
    r"""``t5_bound(C, n, delta, d_star=None)``: see :func:`t5_bound_of`. The older form
    ``t5_bound(mdp, nu, n, delta, d_star=None, C=None)`` still works (deprecated)."""
    C, args, kw = legacy_call("t5_bound", C, args, kw)
    return t5_bound_of(C, *args, **kw)


def t5_bound_of(C: CoOccurrence, n: int, delta: float,
                d_star: ArrayLike | None = None) -> T5Bound:
    r"""A-priori T5 regret bound for the count model from n samples of ``C.nu`` (THEORY T5;
    ``bound`` is the smaller of the per-row form ``R_rows`` and the :math:`D^\pi` form
    ``R_T5``)."""
    check_n_delta(n, delta)
    return _t5_at(_t5_parts(C.mdp, C.nu, d_star, validated=True), n, delta)


def t5_curve(C: CoOccurrence, /, *args: Any, **kw: Any) -> list[T5Bound]:
    r"""``t5_curve(C, ns, delta, d_star=None)``: see :func:`t5_curve_of`. The older form
    ``t5_curve(mdp, nu, ns, delta, d_star=None)`` still works (deprecated; it builds no C)."""
    if isinstance(C, MDP):
        warnings.warn("t5_curve(mdp, nu, ...) is deprecated: pass C = CoOccurrence(mdp, nu) "
                      "first", DeprecationWarning, stacklevel=2)
        return _t5_curve(C, *args, **kw)
    if not isinstance(C, CoOccurrence):
        raise TypeError("t5_curve: the first argument must be a CoOccurrence C (or, "
                        f"deprecated, an MDP followed by nu), got {type(C).__name__}")
    return t5_curve_of(C, *args, **kw)


def t5_curve_of(C: CoOccurrence, ns: ArrayLike, delta: float,
                d_star: ArrayLike | None = None) -> list[T5Bound]:
    r""":func:`t5_bound` at every n of ``ns`` (THEORY T5); the n-free parts (successor
    sizes, :math:`D^{\pi^*}`, ...) are computed once."""
    return _t5_curve(C.mdp, C.nu, ns, delta, d_star, validated=True)


def _t5_curve(mdp: MDP, nu: ArrayLike, ns: ArrayLike, delta: float,
              d_star: ArrayLike | None = None, validated: bool = False) -> list[T5Bound]:
    ns = [n.item() if isinstance(n, np.generic) else n for n in np.atleast_1d(ns).tolist()]
    for n in ns:
        check_n_delta(n, delta)
    ns = [int(n) for n in ns]
    parts = _t5_parts(mdp, nu, d_star, validated)
    return [_t5_at(parts, n, delta) for n in ns]


@dataclass(frozen=True, repr=False)
class CountChain(Result):
    """The T5 chain for the count model on one dataset (see the module docstring)."""

    n: int
    delta: float
    R0: float
    R1: float
    R_weissman: float
    R_rows: float
    R_T5: float
    D_pi_star: float
    D_pi_n: float
    V_star: float
    V_pi_n: float
    delta_rows: float
    p_count_fail: float
    count_event: bool
    rows_covered: bool
    trivial_bound: float
    c: float
    pi_n: NDArray[np.int64]
    l1_rows: NDArray[np.float64]
    weissman: NDArray[np.float64]

    _hidden = ("pi_n", "l1_rows", "weissman")
    _no_export = ("l1_rows", "weissman")

    def ordered(self) -> list[tuple[str, float]]:
        return [("R0", self.R0), ("R1", self.R1), ("R_weissman", self.R_weissman),
                ("R_rows", self.R_rows), ("R_T5", self.R_T5)]

    def check(self) -> dict[str, float]:
        """Ordering check of the chain; raises :class:`~jepatheory.errors.LadderOrderError`.

        ``R1 <= R_weissman`` holds with probability 1-delta (it is checked, a failure names
        it); ``R_weissman <= R_rows`` is checked only on the count event
        :math:`n(s,a)\\ge n\\nu/2`."""
        pairs = [("R0", "R1"), ("R1", "R_weissman"), ("R_rows", "R_T5")]
        if self.count_event:
            pairs.append(("R_weissman", "R_rows"))
        return check_pairs(self, pairs, self.trivial_bound,
                            probabilistic={"R_weissman": self.delta_rows})


def count_model_chain(C: CoOccurrence, /, *args: Any, **kw: Any) -> CountChain:
    r"""``count_model_chain(C, ds, delta=0.05, pi_star=None)``: see
    :func:`count_chain_of`. The older form ``count_model_chain(mdp, nu, ds, ...)`` still
    works (deprecated)."""
    C, args, kw = legacy_call("count_model_chain", C, args, kw)
    return count_chain_of(C, *args, **kw)


def count_chain_of(C: CoOccurrence, ds: Dataset, delta: float = 0.05,
                   pi_star: ArrayLike | None = None) -> CountChain:
    r"""The T5 chain for the count model :math:`P_n` built from ``ds`` (drawn from
    ``C.nu``; THEORY T5, ``proofs/T5.md``)."""
    mdp, nu = C.mdp, C.nu.ravel()
    if (ds.n_states, ds.n_actions) != (mdp.n_states, mdp.n_actions):
        raise ShapeError(f"dataset is for ({ds.n_states}, {ds.n_actions}) states/actions, "
                         f"MDP has ({mdp.n_states}, {mdp.n_actions})")
    if not 0 < delta < 1:
        raise BoundInputError(f"delta = {delta!r} must be in (0, 1)")
    n = ds.n
    Pn_mdp = count_model(mdp, ds)
    pi_n = optimal_policy(Pn_mdp).policy
    if pi_star is None:
        pi_star = optimal_policy(mdp).policy
    V_star = float(mdp.rho0 @ policy_evaluation(mdp, pi_star))
    V_n = float(mdp.rho0 @ policy_evaluation(mdp, pi_n))
    d_star, d_n = occupancy(mdp, pi_star).ravel(), occupancy(mdp, pi_n).ravel()
    diff = abs(mdp.P_sa - Pn_mdp.P_sa)
    l1 = np.asarray(diff.sum(axis=1)).ravel()
    c = regret_constant(mdp)
    cov = nu > 0
    NL = int(cov.sum())
    a = successor_sizes(mdp)
    p_fail = count_failure(nu[cov], n)
    dr = delta - p_fail
    counts = np.bincount(ds.pair, minlength=nu.size).astype(float)
    w_obs = weissman_rows(counts, a, NL, dr if dr > 0 else delta)
    w_rows = weissman_rows(np.where(cov, n * nu / 2, 0.0), a, NL, dr)
    R1 = c / 2 * float((d_star + d_n) @ l1)
    R_w = c / 2 * float((d_star + d_n) @ w_obs)
    R_rows = c / 2 * float((d_star + d_n) @ w_rows)
    D_star, D_n = row_factor(d_star, nu), row_factor(d_n, nu)
    a_max = int(a[cov].max())
    R_T5 = (scaled(c / 2, D_star + D_n,
                   math.sqrt(4 * (a_max * math.log(2) + math.log(NL / dr)) / n))
            if dr > 0 else (0.0 if c == 0 else float("inf")))
    return CountChain(n=n, delta=float(delta), R0=V_star - V_n, R1=R1, R_weissman=R_w,
                      R_rows=R_rows, R_T5=R_T5, D_pi_star=D_star, D_pi_n=D_n, V_star=V_star,
                      V_pi_n=V_n, delta_rows=dr, p_count_fail=p_fail,
                      count_event=bool(np.all(counts[cov] >= n * nu[cov] / 2)),
                      rows_covered=bool(np.all(counts[cov] > 0)),
                      trivial_bound=trivial_bound(mdp), c=c, pi_n=pi_n, l1_rows=l1,
                      weissman=w_obs)
