r"""T3: the regret ladder, from the measured regret of the planner to the headline bound.

For a model :math:`(z,h)` the induced kernel is :math:`\hat P = q\,z\cdot h` (D4); a planner
that only knows :math:`\hat q` uses :math:`\hat P = \hat q\,z\cdot h = q\,z\cdot h'` with
:math:`h' = h\hat q/q`, and every rung below is then computed with :math:`h'`
(``eps_used`` :math:`=\varepsilon(z,h')`; using :math:`\varepsilon(z,h)` instead is wrong).
The guaranteed planner plans in :math:`\tilde P` (clip, renormalize) and returns
:math:`\hat\pi`. With :math:`c=\gamma R_{\max}/(1-\gamma)^2`, :math:`d^\pi` the true-kernel
occupancy from :math:`\rho_0`, :math:`C^\pi=\sum d^2/\nu`, :math:`E = T-\Phi\Psi^\top`:

.. math::

    R_0 &= V^*(\rho_0) - V^{\hat\pi}(\rho_0) \\
    \le R_1 &= \tfrac c2\textstyle\sum_{\pi\in\{\pi^*,\hat\pi\}} E_{d^\pi}\|P-\tilde P\|_1
        \quad\text{(simulation lemma; value span needs } \tilde P \text{ stochastic)}\\
    \le R_2 &= \tfrac c2\textstyle\sum_\pi
        E_{d^\pi}\big[\|P-\hat P\|_1+|1-\textstyle\sum\hat P|\big]
        \quad\text{(D4 clip fact)}\\
    \le R_3 &= \tfrac c2\textstyle\sum_\pi\sqrt{C^\pi}\,\big(\|E\|_F+\|E\sqrt q\|_2\big)
        \quad\text{(Cauchy-Schwarz)}\\
    \le R_{3w} &= c\textstyle\sum_\pi\sqrt{C^\pi}\sqrt{\varepsilon}
        \le R_4 \text{ (T4 or T4b: } \varepsilon \text{ replaced by its high-probability bound)}.

Side rungs: the data-free ``R3w_data_free`` (:math:`C^\pi\le1/\min\nu`) above ``R3w``, and
the row-wise ``R3_rowmax`` :math:`=\frac c2\sum_\pi D^\pi(\|E\|_{2,\infty}+\|E\sqrt q\|_\infty)`
(:math:`D^\pi=E_{d^\pi}[\nu^{-1/2}]`) above ``R2``; ``R3_best`` is the smaller of ``R3`` and
``R3_rowmax``.

THEORY T3 (and D4, T4, T4b); proof: ``proofs/T3.md``.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from .._results import Result
from ..cooccurrence import CoOccurrence
from ..errors import BoundInputError, DistributionError, ShapeError
from ..mdp import MDP
from ..model import (
    clip_renormalize,
    empirical_loss,
    factorization_error,
    h_prime,
    model_kernel,
    residual_matrix,
)
from ..sampling import Dataset
from ..solvers import occupancy, optimal_policy, policy_evaluation
from ..spine import legacy_call
from .constants import (
    concentrability,
    min_nu,
    regret_constant,
    row_factor,
    scaled,
    spectrum_upto,
    trivial_bound,
)
from .core import REL_TOL, check_pairs  # noqa: F401 - REL_TOL is also public here
from .finite_sample import T4Bound, encoder_dimension, kappa_grid_index, t4_bound
from .input_level import CountChain, count_chain_of
from .kappa import kappa_k
from .oracle import Slack, ladder_oracle_fields
from .plugin import T4bBound, plugin_constants, t4b_bound

__all__ = ["Ladder", "regret_ladder", "planner_policy", "PluginRun", "plugin_run", "RUNGS",
           "ORDER"]

#: The rungs of the main chain, bottom to top.
RUNGS = ("R0", "R1", "R2", "R3", "R3w", "R4_T4", "R4_T4b")
#: Deterministic ordering pairs (lower, upper).
ORDER = (("R0", "R_exact"), ("R_exact", "R1_span"), ("R1_span", "R1"), ("R0", "R1"),
         ("R1", "R2"), ("R2", "R3"), ("R3", "R3w"), ("R2", "R3_rowmax"),
         ("R3w", "R3w_data_free"), ("R3w_floor", "R3w"))

#: Relative slack for rounding when comparing rungs (solves and sums in float64).
@dataclass(frozen=True, repr=False)
class Ladder(Result):
    """Every rung of the T3 ladder for one model, with its ingredients.

    ``R4_T4`` and ``R4_T4b`` are None when no sample size n was given. ``R4_T4`` is checked
    against ``R3w`` only when the excess empirical loss was computed from data
    (``erm_assumed`` False); ``R4_T4b`` only when the model is the plug-in estimator
    (``plugin`` True): T4b is a statement about that estimator alone.
    """

    k: int
    R0: float
    R1: float
    R2: float
    R3: float
    R3w: float
    R4_T4: float | None
    R4_T4b: float | None
    R3_rowmax: float
    R3_best: float
    R3w_data_free: float
    eps: float
    eps_used: float
    tail_k: float
    C_pi_star: float
    C_pi_hat: float
    D_pi_star: float
    D_pi_hat: float
    min_nu: float
    c: float
    trivial_bound: float
    V_star: float
    V_pi_hat: float
    E_fro: float
    E_sqrt_q: float
    E_2inf: float
    E_sqrt_q_inf: float
    kappa_model: float
    q_hat_used: bool
    n: int | None
    delta: float
    erm_assumed: bool
    plugin: bool
    t4: T4Bound | None
    t4b: T4bBound | None
    pi_hat: NDArray[np.int64]
    pi_star: NDArray[np.int64]

    # K1/K2 (bounds/oracle.py): oracle rungs R0 <= R_exact <= R1_span <= R1, the slack
    # factor of each step, and the eps floor at rank k
    R_exact: float = float("nan")
    R1_span: float = float("nan")
    R_signed: float = float("nan")
    middle: float = float("nan")  # the dropped V^pi*_Pt - V^pihat_Pt (<= 0)
    span_pi_star: float = float("nan")
    span_pi_hat: float = float("nan")
    R3w_floor: float = float("nan")
    R3w_floor_any: float = float("nan")
    eps_route_can_certify: bool | None = None
    slack: Slack | None = None

    _hidden = ("pi_hat", "pi_star", "t4", "t4b", "slack")

    @property
    def vacuous(self) -> dict[str, bool]:
        """Which rungs are at or above the trivial bound R_max/(1-gamma)."""
        out = {}
        for name in ("R1", "R2", "R3", "R3w", "R4_T4", "R4_T4b", "R3w_data_free"):
            v = getattr(self, name)
            if v is not None:
                out[name] = bool(v >= self.trivial_bound)
        return out

    def pairs(self) -> list[tuple[str, str]]:
        """The ordering pairs this ladder is checked on."""
        out = list(ORDER)
        if self.R4_T4 is not None and not self.erm_assumed:
            out.append(("R3w", "R4_T4"))
        if self.R4_T4b is not None and self.plugin:
            out.append(("R3w", "R4_T4b"))
        return out

    @property
    def ratios(self) -> dict[str, float]:
        """Ratio between consecutive rungs (where the looseness enters); no check."""
        out = {}
        for lo_name, hi_name in self.pairs():
            lo, hi = getattr(self, lo_name), getattr(self, hi_name)
            out[f"{hi_name}/{lo_name}"] = (hi / lo if lo > 0 else
                                           (float("nan") if hi == 0 else float("inf")))
        return out

    def check(self) -> dict[str, float]:
        """Check every ordering; return the ratios. Raises
        :class:`~jepatheory.errors.LadderOrderError` naming the two rungs on a violation."""
        prob = {}
        if self.t4 is not None:
            prob["R4_T4"] = self.t4.delta
        if self.t4b is not None:
            prob["R4_T4b"] = self.t4b.delta
        return check_pairs(self, self.pairs(), self.trivial_bound, prob)

    def rungs(self) -> dict[str, float | None]:
        """The main chain and the side rungs as a name -> value dict."""
        names = RUNGS + ("R3_rowmax", "R3w_data_free", "R_exact", "R1_span")
        return {name: getattr(self, name) for name in names}

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["vacuous"] = self.vacuous
        out["ratios"] = self.ratios
        return out


def planner_policy(mdp: MDP, P_tilde: NDArray[np.float64]) -> NDArray[np.int64]:
    r""":math:`\hat\pi`: an optimal policy of :math:`(\tilde P, r, \gamma)` (D4)."""
    model = MDP.from_flat(sp.csr_array(P_tilde), mdp.n_states, mdp.n_actions, mdp.r,
                          mdp.gamma, mdp.rho0, name=f"{mdp.name}-model", warn=False)
    return optimal_policy(model).policy


def _validate_q_hat(C: CoOccurrence, q_hat: ArrayLike) -> NDArray[np.float64]:
    qh = np.asarray(q_hat, dtype=float).ravel()
    N = C.mdp.n_states
    if qh.shape != (N,):
        raise ShapeError(f"q_hat: expected shape ({N},), got {np.shape(q_hat)}")
    if not np.isfinite(qh).all() or (qh < 0).any() or abs(qh.sum() - 1) > 1e-8:
        raise DistributionError(f"q_hat: not a probability vector (sum {qh.sum():.10g})")
    outside = (qh > 0) & (C.q <= 0)
    if outside.any():
        s = int(np.flatnonzero(outside)[0])
        raise DistributionError(f"q_hat[{s}] = {qh[s]:.6g} > 0 but q[{s}] = 0: q_hat must be "
                                "supported in supp(q)")
    return qh


def regret_ladder(C: CoOccurrence, /, *args: Any, **kw: Any) -> Ladder:
    r"""The T3 regret ladder of the model :math:`(z, h)`:
    ``regret_ladder(C, z, h, *, q_hat=None, n=None, delta=0.05, k=None, d=None, ds=None,
    plugin=False, pi_star=None, kappa0=None)`` (:func:`ladder_of`). The older form
    ``regret_ladder(mdp, nu, z, h, ..., C=None)`` still works (deprecated)."""
    C, args, kw = legacy_call("regret_ladder", C, args, kw)
    return ladder_of(C, *args, **kw)


def ladder_of(C: CoOccurrence, z: ArrayLike, h: ArrayLike, *,
              q_hat: ArrayLike | None = None, n: int | None = None, delta: float = 0.05,
              k: int | None = None, d: int | None = None, ds: Dataset | None = None,
              plugin: bool = False, pi_star: ArrayLike | None = None,
              kappa0: float | None = None) -> Ladder:
    r"""The T3 regret ladder of the model :math:`(z, h)` on ``C`` (THEORY T3, T4, T4b;
    ``proofs/T3.md``).

    Parameters
    ----------
    C : the co-occurrence of the true MDP ``C.mdp`` and the pretraining distribution
        ``C.nu`` (its cached spectrum is reused).
    z, h : embeddings, ``z`` (N*m, k) with row s*m+a, ``h`` (N, k) (D3).
    q_hat : the next-state marginal the planner knows (default: the true q). The model is
        then :math:`\hat q\,z\cdot h`, analysed as :math:`q\,z\cdot h'` (D4).
    n, delta : sample size and confidence for the R4 rungs (T4, T4b); None skips them.
    k : rank for tail_k and the R4 rungs (default ``z.shape[1]``).
    d : T4 parameter dimension (default tabular :math:`k(N_L+N_R)`).
    ds : the training data; with it T4's excess empirical loss
        :math:`\hat L_n(z,h')-\hat L_n(\theta^*)` is computed, without it the model is assumed
        an empirical risk minimizer (excess <= 0) and ``R4_T4`` is not checked.
    plugin : the model is the plug-in estimator of T4b (then ``R4_T4b`` is checked).
    pi_star : an optimal policy of the MDP, if already known.
    kappa0 : base radius of T4's kappa grid (default: whitened-rescaled kappa_k).
    """
    mdp, nu_arr = C.mdp, C.nu
    z = np.asarray(z, dtype=float)
    h = np.asarray(h, dtype=float)
    N, m = mdp.n_states, mdp.n_actions
    if z.ndim != 2 or z.shape[0] != N * m or h.shape != (N, z.shape[1]):
        raise ShapeError(f"z, h: expected shapes ({N * m}, k) and ({N}, k), got {z.shape} "
                         f"and {h.shape}")
    k = int(z.shape[1] if k is None else k)
    qh = None if q_hat is None else _validate_q_hat(C, q_hat)
    h_used = h if qh is None else h_prime(h, C.q, qh)

    # the planner and the measured regret (R0)
    P_hat = model_kernel(z, h_used, C.q)
    P_tilde = clip_renormalize(P_hat)
    pi_hat = planner_policy(mdp, P_tilde)
    pi_s = optimal_policy(mdp).policy if pi_star is None else np.asarray(pi_star)
    V_star = float(mdp.rho0 @ policy_evaluation(mdp, pi_s))
    V_hat = float(mdp.rho0 @ policy_evaluation(mdp, pi_hat))
    d_star, d_hat = occupancy(mdp, pi_s).ravel(), occupancy(mdp, pi_hat).ravel()
    d_sum = d_star + d_hat
    c = regret_constant(mdp)

    # R1, R2: row l1 errors under the two occupancies
    P = mdp.P_sa.toarray()
    R1 = c / 2 * float(d_sum @ np.abs(P - P_tilde).sum(axis=1))
    R2 = c / 2 * float(d_sum @ (np.abs(P - P_hat).sum(axis=1) + np.abs(1 - P_hat.sum(axis=1))))

    # R3, R3w and the side rungs from E = T - Phi Psi'^T
    E = residual_matrix(C, z, h_used)
    E_fro = float(np.linalg.norm(E))
    Esq_rows = E @ np.sqrt(C.q_R)
    E_sq = float(np.linalg.norm(Esq_rows))
    C_star, C_hat = concentrability(d_star, nu_arr), concentrability(d_hat, nu_arr)
    D_star, D_hat = row_factor(d_star, nu_arr), row_factor(d_hat, nu_arr)
    root_C = math.sqrt(C_star) + math.sqrt(C_hat)
    R3 = scaled(c / 2, root_C, E_fro + E_sq)
    eps_used = E_fro ** 2
    R3w = scaled(c, root_C, E_fro)
    E_2inf = float(np.sqrt((E * E).sum(axis=1)).max()) if E.size else 0.0
    E_sq_inf = float(np.abs(Esq_rows).max()) if E.size else 0.0
    R3_row = scaled(c / 2, D_star + D_hat, E_2inf + E_sq_inf)
    mn = min_nu(nu_arr)
    R3w_free = scaled(2 * c, 1 / math.sqrt(mn) if mn > 0 else float("inf"), E_fro)
    eps = factorization_error(C, z, h)
    spec = spectrum_upto(C, k)
    tail = spec.tail_k(k)

    zL, hR = z[C.left], h_used[C.right]
    kappa_model = math.sqrt(float(np.sqrt((zL * zL).sum(1)).max(initial=0.0))
                            * float(np.sqrt((hR * hR).sum(1)).max(initial=0.0)))

    t4 = t4b = None
    R4_T4 = R4_T4b = None
    erm_assumed = ds is None
    if n is not None:
        k0 = kappa_k(C, k, sdp=False).value if kappa0 is None else float(kappa0)
        k0 = k0 if k0 > 0 else 1.0
        _j, kappa_j, share = kappa_grid_index(kappa_model, k0)
        dim = encoder_dimension(k, C.n_left, C.n_right) if d is None else int(d)
        excess = 0.0
        if ds is not None:
            z0, h0 = spec.U[:, :k] * spec.singular_values[:k], spec.V[:, :k]
            z_star = C.lift_left(z0 / np.sqrt(C.nu_L)[:, None])
            h_star = C.lift_right(h0 / np.sqrt(C.q_R)[:, None])
            excess = (empirical_loss(z, h_used, ds.pair, ds.s2)
                      - empirical_loss(z_star, h_star, ds.pair, ds.s2))
        t4 = t4_bound(tail, k, int(n), delta * share, kappa_j, dim, excess)
        R4_T4 = scaled(c, root_C, math.sqrt(t4.eps_bound))
        t4b = t4b_bound(tail, k, plugin_constants(C, int(n), delta))
        R4_T4b = scaled(c, root_C, t4b.sqrt_eps_bound)
    lad = Ladder(k=k, R0=V_star - V_hat, R1=R1, R2=R2, R3=R3, R3w=R3w, R4_T4=R4_T4,
                  R4_T4b=R4_T4b, R3_rowmax=R3_row, R3_best=min(R3, R3_row),
                  R3w_data_free=R3w_free, eps=eps, eps_used=eps_used, tail_k=tail,
                  C_pi_star=C_star, C_pi_hat=C_hat, D_pi_star=D_star, D_pi_hat=D_hat,
                  min_nu=mn, c=c, trivial_bound=trivial_bound(mdp), V_star=V_star,
                  V_pi_hat=V_hat, E_fro=E_fro, E_sqrt_q=E_sq, E_2inf=E_2inf,
                  E_sqrt_q_inf=E_sq_inf, kappa_model=kappa_model, q_hat_used=qh is not None,
                  n=None if n is None else int(n), delta=float(delta),
                  erm_assumed=erm_assumed, plugin=bool(plugin), t4=t4, t4b=t4b,
                  pi_hat=np.asarray(pi_hat), pi_star=np.asarray(pi_s))
    k1 = ladder_oracle_fields(C, P_tilde, lad.pi_hat, lad.pi_star, d_star, d_hat,
                              lad.rungs(), C_hat, tail if k >= z.shape[1] else float("nan"))
    return dataclasses.replace(lad, **k1)


@dataclass(frozen=True, repr=False)
class PluginRun(Result):
    """One plug-in run: n samples, the rank-k truncated SVD of T_hat planned with q_hat (its
    T3 ladder with R4 from T4 and T4b), and the T5 chain of the count model on the same data."""

    n: int
    k: int
    seed: int
    ladder: Ladder
    chain: CountChain

    def check(self) -> dict[str, dict[str, float]]:
        return dict(ladder=self.ladder.check(), chain=self.chain.check())


def plugin_run(C: CoOccurrence, /, *args: Any, **kw: Any) -> PluginRun:
    r"""``plugin_run(C, n, k, seed=0, delta=0.05)``: see :func:`plugin_run_of`. The older
    form ``plugin_run(mdp, nu, n, k, seed=0, delta=0.05, C=None)`` still works
    (deprecated)."""
    C, args, kw = legacy_call("plugin_run", C, args, kw)
    return plugin_run_of(C, *args, **kw)


def plugin_run_of(C: CoOccurrence, n: int, k: int, seed: int = 0,
                  delta: float = 0.05) -> PluginRun:
    r"""Sample n transitions from ``C.nu``, train the exact-ERM plug-in estimator
    (:func:`~jepatheory.model.plugin_embeddings`), plan with :math:`\hat q`, and return its
    ladder (T3) and the count model's T5 chain on the same data."""
    from ..model import plugin_embeddings
    from ..sampling import empirical_cooccurrence, sample_transitions

    if isinstance(k, bool) or int(k) != k or k < 1:
        raise BoundInputError(f"plugin_run: k = {k!r} must be a positive integer")
    mdp = C.mdp
    ds = sample_transitions(C, int(n), seed)
    emb = plugin_embeddings(empirical_cooccurrence(mdp, ds), k)
    pi_s = optimal_policy(mdp).policy
    lad = ladder_of(C, emb.z, emb.h, q_hat=ds.q_hat(), n=ds.n, delta=delta, k=emb.k, ds=ds,
                    plugin=True, pi_star=pi_s)
    chain = count_chain_of(C, ds, delta, pi_star=pi_s)
    return PluginRun(n=ds.n, k=emb.k, seed=int(seed), ladder=lad, chain=chain)
