r"""K3: the held-out Bellman-residual certificate of one policy.

Split the data: the policy :math:`\pi` and two value functions are built on the training
part only, :math:`W \approx V^*` and :math:`W' \approx V^\pi` (here: the optimal value and the
value of :math:`\pi` in the count model of the training part). The held-out part
:math:`(s_i,a_i,s'_i)` is independent of :math:`\pi, W, W'`. Conditionally on its (s, a)
sequence the next states of a pair are i.i.d., so by one-sided Hoeffding for the fixed
functions W, W' (ranges :math:`\mathrm{sp}(W)`, :math:`\mathrm{sp}(W')`), with
:math:`\bar W(s,a)`, :math:`\bar W'(s,a)` the held-out means over the :math:`n(s,a)` samples
of the pair and :math:`e = \log(J/\delta)`, J the number of events below:

.. math::

    P(\cdot|s,a)\cdot W \le U(s,a) := \min\{\max W, \bar W(s,a) + \mathrm{sp}(W)\sqrt{e/(2n(s,a))}\}
    \quad\text{(every sampled pair)},\\
    P(\cdot|s,\pi(s))\cdot W' \ge L(s) := \max\{\min W', \bar W'(s,\pi(s)) -
        \mathrm{sp}(W')\sqrt{e/(2n(s,\pi(s)))}\}

(:math:`U = \max W`, :math:`L = \min W'` for pairs without held-out samples, always true),
all at once with probability :math:`\ge 1-\delta`. Write :math:`\bar{\mathcal T}W(s) =
\max_a[r + \gamma U]`, :math:`\underline{\mathcal T}W'(s) = r(s,\pi(s)) + \gamma L(s)`,
:math:`b = \max_s(\bar{\mathcal T}W - W)` and :math:`b' = \min_s(\underline{\mathcal T}W' - W')`
(any sign). Then :math:`\mathcal T^*W \le W + b` gives :math:`V^* \le W + b/(1-\gamma)` by
monotonicity, and one more step :math:`V^* = \mathcal T^*V^* \le \bar{\mathcal T}W +
\gamma b/(1-\gamma)`; likewise :math:`V^\pi \ge \underline{\mathcal T}W' + \gamma b'/(1-\gamma)`.
So, with probability :math:`\ge 1-\delta`,

.. math:: V^*(\rho_0) - V^\pi(\rho_0) \le \rho_0\cdot(\bar{\mathcal T}W - \underline{\mathcal T}W')
          + \frac{\gamma (b - b')}{1-\gamma}.

What it certifies: the regret of this one policy :math:`\pi`, built without the held-out
part (it is not uniform over policies: a policy chosen with the held-out part is not
covered). Its weakness: the sup over states, so a state-action pair without held-out
samples costs the whole range of W.

THEORY K3; proof: ``proofs/K3.md``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .._results import Result
from ..errors import BoundInputError
from ..mdp import MDP
from ..sampling import Dataset, count_model
from ..solvers import optimal_policy, policy_evaluation
from .robust import check_delta

__all__ = ["BellmanCertificate", "bellman_certificate", "split_dataset"]


def split_dataset(ds: Dataset, fraction: float = 0.5) -> tuple[Dataset, Dataset]:
    """The first ``fraction`` of the transitions (training) and the rest (held out); the
    transitions are i.i.d., so the two parts are independent."""
    n_train = round(ds.n * fraction)
    if n_train < 1 or n_train >= ds.n:
        raise BoundInputError(f"n = {ds.n}: too small to split into a training and a "
                              f"held-out part (fraction {fraction})")
    head = ds.head(n_train)
    tail = Dataset(ds.s[n_train:], ds.a[n_train:], ds.s2[n_train:], ds.n_states,
                   ds.n_actions)
    return head, tail


@dataclass(frozen=True, repr=False)
class BellmanCertificate(Result):
    """The held-out Bellman-residual certificate of one policy (see the module docstring):
    ``upper`` with the pieces ``b`` (optimistic residual of W), ``b_lo`` (pessimistic
    residual of W'), ``n_holdout`` and the held-out pairs without samples."""

    upper: float
    V_up: float
    V_lo: float
    b: float
    b_lo: float
    delta: float
    n_train: int
    n_holdout: int
    n_events: int
    n_unsampled: int


def bellman_certificate(mdp: MDP, train: Dataset, holdout: Dataset, pi: ArrayLike,
                        delta: float) -> BellmanCertificate:
    """The certificate of ``pi`` (built from ``train`` only) with the ``holdout`` part.
    Only r, gamma, rho0 of ``mdp`` are read."""
    delta = check_delta(delta)
    pi = np.asarray(pi, dtype=np.int64)
    N, m, g = mdp.n_states, mdp.n_actions, mdp.gamma
    model = count_model(mdp, train)
    W = optimal_policy(model).V
    W2 = policy_evaluation(model, pi)
    counts = holdout.counts()
    n_sa = np.asarray(counts.sum(axis=1)).ravel()
    sampled = n_sa > 0
    rows_pi = np.arange(N) * m + pi
    J = int(sampled.sum() + sampled[rows_pi].sum())
    e = math.log(max(J, 1) / delta)
    safe = np.where(sampled, n_sa, 1.0)
    mean_W = np.where(sampled, (counts @ W) / safe, 0.0)
    sp_W = float(W.max() - W.min())
    U = np.where(sampled, np.minimum(W.max(), mean_W + sp_W * np.sqrt(e / (2 * safe))),
                 W.max())
    TW = (mdp.r + g * U.reshape(N, m)).max(axis=1)
    b = float(np.max(TW - W))
    mean_W2 = (counts[rows_pi] @ W2) / safe[rows_pi]
    sp_W2 = float(W2.max() - W2.min())
    L = np.where(sampled[rows_pi], np.maximum(W2.min(), mean_W2 - sp_W2 * np.sqrt(
        e / (2 * safe[rows_pi]))), W2.min())
    TW2 = mdp.r[np.arange(N), pi] + g * L
    b_lo = float(np.min(TW2 - W2))
    V_up = float(mdp.rho0 @ TW) + g * b / (1 - g)
    V_lo = float(mdp.rho0 @ TW2) + g * b_lo / (1 - g)
    return BellmanCertificate(upper=max(V_up - V_lo, 0.0), V_up=V_up, V_lo=V_lo, b=b,
                              b_lo=b_lo, delta=delta, n_train=train.n, n_holdout=holdout.n,
                              n_events=J, n_unsampled=int((~sampled).sum()))
