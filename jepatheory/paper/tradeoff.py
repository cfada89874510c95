r"""P6: the paper-form trade-off. The approximation floor (P2), the sample term (P5), the
single-step (P3) and T-step (P4) regret bounds combined over the k grid; k*(n) with delta
split over the grid; the input-level end k = N_x; the latent-vs-input crossover
(THEORY P6; ``proofs/P6.md``).

For the pooled JEPA learner (the empirical risk minimizer of :math:`\hat L_n` over the
tabular class of radius :math:`\kappa_k`, which contains the T2 minimizer), with probability
:math:`\ge 1-\delta`, simultaneously for every k of a grid of K values (each at
:math:`\delta/K`):

.. math::

    \max_a\varepsilon_a(\hat\theta) \le \bar\varepsilon_k :=
      \frac{\mathrm{tail}_k(T) + 2\,\mathrm{dev}_R(n,\delta/K,\kappa_k^2)}{\min_a p(a)}

(P1 with normalization q: :math:`\varepsilon = \sum_a p(a)\varepsilon_a`, so
:math:`\varepsilon_a\le\varepsilon/p(a)`; T2/P5 for :math:`\varepsilon`). Then
:math:`R_1 = 2c_0\sqrt{\bar\varepsilon_k}` (P3, :math:`c_0 = c_{\max}\sqrt{mC_\mu}`) and
:math:`R_T = 2T\,c_{\max}\sqrt{C_\infty\bar\varepsilon_k}` (P4, open loop, terminal cost).
``tail_max`` :math:`=\max_a\mathrm{tail}_k(\bar A_a)` is the P2 floor: no shared-encoder
model has :math:`\max_a\varepsilon_a` below it. A bound at or above ``trivial_bound``
:math:`= c_{\max}` is vacuous.

The input-level end (``input_level``): k = N_R, tail 0, the exact factorization
:math:`z(s,a) = P(\cdot|s,a)/(q\sqrt\beta)`, :math:`f = \sqrt\beta\,e_{s'}` with
:math:`\beta = \max_i\|P_i/q\|_2`, so :math:`B = \beta`. Both ends carry the same factor
:math:`2Tc_{\max}\sqrt{C_\infty}`: in this bound the horizon never changes which end is
smaller (no horizon-dependent latent advantage); the crossover is in n only.

Linear class (``cls="linear"``): :math:`z(s,a) = W_a^\top\phi(s)`, :math:`f(s') =
U^\top\phi(s')`, features :math:`\phi` = ``C.mdp.x`` (else one-hot, :math:`R_x = 1`, whose class
contains the T2 minimizer). For any fixed :math:`\theta_{\rm ref}` in the class
(:math:`\|W_a\|_F\le\rho_z`, :math:`\|U\|_F\le\rho_f`, :math:`\|\phi\|\le R_x`), ERM and
T1 give :math:`\varepsilon(\hat\theta)\le\varepsilon(\theta_{\rm ref}) + 2\,\mathrm{dev}_R`
with :math:`B = \rho_z\rho_fR_x^2` and :math:`\mathfrak R_{m'}\le B\sqrt{|A|/m'}` (P5); per k,
:math:`\theta_{\rm ref}` = :func:`~jepatheory.paper.rademacher.linear_reference` (least-squares
fit of the balanced T2 minimizer), so

.. math::

    \bar\varepsilon_k^{\rm lin} = \frac{\varepsilon(\theta_{\rm ref,k}) +
      2\,\mathrm{dev}_R(n,\delta/K,\rho_z\rho_fR_x^2)}{\min_a p(a)},

and R1_step, R_T, vacuous use it exactly as for the tabular class (``kappa`` is then
:math:`\sqrt B`). The input-level end stays the tabular exact factorization (k = N_R) in both
classes.

With ``normalization="per-action"`` only ``tail_max`` changes (per-action spectra); the
learner's bound is the q-normalized one (the P5 deviation is proved for the pooled
q-normalized U-statistic).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._results import Result, table
from ..bounds.constants import spectrum_upto
from ..cooccurrence import CoOccurrence
from ..errors import BoundInputError, PaperFormError
from .per_action import PerAction, check_normalization, tail_max_bracket
from .rademacher import CLASSES, LinearReference, linear_reference, p5_bound
from .regret import coverage_inf, coverage_mu

__all__ = ["CLASSES", "FLOORS", "FORMS", "SCAN_N", "PaperBound", "check_class", "check_floor",
           "input_level_B", "paper_bound", "sample_term_table"]

FORMS = ("theory", "paper")
#: how the P2 floor of the paper-form table is obtained (see :func:`paper_bound`)
FLOORS = ("exact", "bracket")
#: n grid of the crossover scan: 10^2 .. 10^16, two points per decade
SCAN_N = tuple(round(10 ** e) for e in np.arange(2, 16.01, 0.5))


@dataclass(frozen=True, repr=False)
class PaperBound(Result):
    """The paper-form table (one row per k) with its constants."""

    form: str
    horizon: int
    n: int
    delta: float
    delta_each: float
    normalization: str
    c_max: float
    c0: float
    C_mu: float
    C_inf: float
    min_p_action: float
    trivial_bound: float
    k_star: int | None
    rows: list[dict[str, Any]]
    input_level: dict[str, Any]
    crossover: dict[str, Any]
    per_action_certified: bool
    seconds: dict[str, float] = field(default_factory=dict)
    cls: str = "tabular"
    floor: str = "exact"

    _hidden = ("rows", "input_level", "crossover", "seconds")

    def table(self) -> str:
        return table(self.rows + [self.input_level], ["k", "tail_T", "tail_max", "kappa",
                                                      "rademacher", "eps_bound", "R1_step",
                                                      "R_T", "vacuous"])


def input_level_B(C: CoOccurrence) -> float:
    r""":math:`\beta = \max_{(s,a)}\|P(\cdot|s,a)/q\|_2` (the radius of the exact full-rank
    factorization, balanced)."""
    P = C.joint()                                   # nu P on the supports
    row_of = np.repeat(np.arange(P.shape[0]), np.diff(P.indptr))
    vals = P.data / C.nu_L[row_of] / C.q_R[P.indices]
    sq = np.bincount(row_of, weights=vals * vals, minlength=P.shape[0])
    return float(np.sqrt(sq.max()))


def check_floor(floor: str, name: str = "floor") -> str:
    """``floor`` must be one of :data:`FLOORS`; else a one-line :class:`PaperFormError`."""
    if floor not in FLOORS:
        raise PaperFormError(f"{name} {floor!r} is not one of {', '.join(FLOORS)}")
    return floor


def check_class(cls: str, name: str = "cls") -> str:
    """``cls`` must be one of :data:`CLASSES`; else a one-line :class:`PaperFormError`."""
    if cls not in CLASSES:
        raise PaperFormError(f"{name} {cls!r} is not one of {', '.join(CLASSES)}")
    return cls


def _row(k: int, tail: float, tail_max: float | None, B: float, kappa: float, n: int,
         de: float, C: CoOccurrence, min_pa: float, c0: float, T: int, c_max: float,
         C_inf: float, ref: LinearReference | None = None) -> dict[str, Any]:
    if ref is not None:
        return _row_linear(k, tail, tail_max, n, de, C, min_pa, c0, T, c_max, C_inf, ref)
    p5 = p5_bound(tail, k, n, de, B, cls="tabular", n_left=C.n_left, n_right=C.n_right)
    eps = p5.eps_bound / min_pa if min_pa > 0 else float("inf")
    r1 = 2 * c0 * math.sqrt(eps)
    rt = 2 * T * c_max * math.sqrt(C_inf * eps) if math.isfinite(C_inf) else float("inf")
    return {"k": int(k), "tail_T": float(tail), "tail_max": tail_max, "kappa": float(kappa),
                "B": float(B), "rademacher": 2 * p5.dev, "rademacher_complexity": p5.rademacher,
                "eps_bound": eps, "R1_step": r1, "R_T": rt, "vacuous": bool(rt >= c_max),
                "vacuous_1step": bool(r1 >= c_max)}


def _row_linear(k: int, tail: float, tail_max: float | None, n: int, de: float,
                C: CoOccurrence, min_pa: float, c0: float, T: int, c_max: float, C_inf: float,
                ref: LinearReference) -> dict[str, Any]:
    """The P6 row of the linear class: eps_ref + 2 dev_R (P5, linear complexity)."""
    p5 = p5_bound(tail, k, n, de, ref.B, cls="linear", n_actions=C.mdp.n_actions,
                  eps_ref=ref.eps_ref)
    eps = p5.eps_bound / min_pa if min_pa > 0 else float("inf")
    r1 = 2 * c0 * math.sqrt(eps)
    rt = 2 * T * c_max * math.sqrt(C_inf * eps) if math.isfinite(C_inf) else float("inf")
    return {"k": int(k), "tail_T": float(tail), "tail_max": tail_max,
            "kappa": math.sqrt(ref.B), "B": float(ref.B), "rademacher": 2 * p5.dev,
            "rademacher_complexity": p5.rademacher, "eps_bound": eps, "R1_step": r1,
            "R_T": rt, "vacuous": bool(rt >= c_max), "vacuous_1step": bool(r1 >= c_max),
            "cls": "linear", "eps_ref": ref.eps_ref, "rho_z": ref.rho_z, "rho_f": ref.rho_f,
            "R_x": ref.R_x, "features": ref.features, "d_x": ref.d_x}


def paper_bound(C: CoOccurrence, n: int, ks: ArrayLike, horizon: int, delta: float = 0.05,
                c_max: float = 1.0, normalization: str = "q", mu: ArrayLike | None = None,
                per_action: PerAction | None = None, kappa_curve: ArrayLike | None = None,
                scan: bool = True, cls: str = "tabular", floor: str = "exact") -> PaperBound:
    r"""The paper-form table at sample size ``n`` over ``ks`` (values above rank(T) are
    dropped), horizon T = ``horizon``, for the tabular or the linear (``cls``) class; see
    the module docstring (THEORY P6; ``proofs/P6.md``).

    ``floor``: how the P2 floor ``tail_max`` is obtained. ``"exact"``: the certified
    per-action spectra (:meth:`CoOccurrence.per_action`). ``"bracket"`` (normalization q):
    from T's spectrum alone (:func:`~jepatheory.paper.per_action.tail_max_bracket`), no
    per-action spectrum: ``tail_max`` is then the bracket's certified lower end (still a
    floor: no shared-encoder model has max_a eps_a below it) and ``tail_max_upper`` its
    upper end. The bound columns (eps_bound, R1_step, R_T) do not depend on the floor."""
    import time
    check_class(cls)
    check_floor(floor)
    if floor == "bracket" and normalization != "q":
        raise PaperFormError("floor 'bracket' needs normalization q (it uses D2's "
                             f"T_a = sqrt(p(a)) Abar_a), got {normalization!r}")
    check_normalization(normalization)
    if not (isinstance(horizon, (int, np.integer)) and not isinstance(horizon, bool)
            and horizon >= 1):
        raise PaperFormError(f"horizon = {horizon!r} must be an integer >= 1")
    if not (isinstance(c_max, (int, float)) and math.isfinite(c_max) and c_max > 0):
        raise PaperFormError(f"c_max = {c_max!r} must be a finite number > 0")
    if not 0 < delta < 1:
        raise BoundInputError(f"delta = {delta!r} must be in (0, 1)")
    secs: dict[str, float] = {}
    t0 = time.perf_counter()
    kmax_T = min(C.n_left, C.n_right)
    ks = sorted({int(k) for k in ks if 1 <= int(k) <= kmax_T})
    if not ks:
        raise BoundInputError(f"k: every requested k exceeds the rank bound {kmax_T}")
    K = max(ks)
    if per_action is None and floor == "exact":
        per_action = C.per_action(K, normalization)
    secs["per_action"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    spec = spectrum_upto(C, K)
    bracket = None
    if floor == "bracket":
        bracket = tail_max_bracket(C, spec, ks)
        secs["floor_bracket"] = bracket.seconds
    if kappa_curve is None and cls == "tabular":
        from ..bounds.kappa import kappa_rescaled_curve
        kappa_curve = kappa_rescaled_curve(C, K)
    secs["spectrum_kappa"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    mu = C.mdp.rho0 if mu is None else np.asarray(mu, float)
    pa = C.nu.sum(axis=0)
    min_pa = float(pa.min())
    m = C.mdp.n_actions
    C_mu, C_inf = coverage_mu(C, mu), coverage_inf(C)
    c0 = c_max * math.sqrt(m * C_mu) if math.isfinite(C_mu) else float("inf")
    n_grid = len(ks) + 1                 # the k grid and the input-level end share delta
    de = delta / n_grid
    T = int(horizon)
    tails = {k: float(spec.tail_k(k)) for k in ks}
    if cls == "tabular":
        kap = {k: float(kappa_curve[k]) for k in ks}
        refs: dict[int, LinearReference | None] = {k: None for k in ks}
    else:
        refs = {k: linear_reference(C, k) for k in ks}
        kap = {k: math.sqrt(refs[k].B) for k in ks}
    beta = input_level_B(C)                 # n-free: once for the table and the scan
    tail_max = {k: per_action.tail_max(k) for k in ks} if bracket is None else bracket.lower

    def rows_at(nn: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        rs = [_row(k, tails[k], tail_max[k], kap[k] ** 2, kap[k], nn, de, C,
                   min_pa, c0, T, c_max, C_inf, refs[k]) for k in ks]
        if bracket is not None:
            for r in rs:
                r["tail_max_upper"] = bracket.upper[r["k"]]
        il = _row(kmax_T, 0.0, 0.0, beta, math.sqrt(beta), nn, de, C, min_pa, c0, T, c_max,
                  C_inf)
        il["k"] = kmax_T
        il["input_level"] = True
        if cls != "tabular":
            il["cls"] = "tabular"       # the input-level end: the exact tabular factorization
        return rs, il

    rows, il = rows_at(int(n))
    finite = [r for r in rows if math.isfinite(r["R_T"])]
    k_star = min(finite, key=lambda r: (r["R_T"], r["k"]))["k"] if finite else None
    for r in rows:
        r["latent_beats_input"] = bool(r["R_T"] < il["R_T"])
    cross: dict[str, Any] = {"n_grid": [SCAN_N[0], SCAN_N[-1]], "first_n": None}
    if scan:
        wins, useful = [], []
        for nn in SCAN_N:
            rs, ill = rows_at(nn)
            best = min(r["R_T"] for r in rs)
            if best < ill["R_T"]:
                wins.append(nn)
                if best < c_max:
                    useful.append(nn)
        cross["first_n"] = wins[0] if wins else None
        cross["latent_wins_at"] = wins
        cross["latent_wins_nonvacuous_at"] = useful
        cross["statement"] = (
            f"latent (best k) below the input-level end at {len(wins)} of {len(SCAN_N)} "
            f"grid points in [1e2, 1e16]" + (f", first at n = {wins[0]:.3g}" if wins else "")
            + f"; non-vacuous there at {len(useful)} of them; the horizon factor "
            "2 T c_max sqrt(C_inf) is common to both ends, so the crossover does not depend "
            "on the horizon")
    secs["table"] = time.perf_counter() - t0
    return PaperBound(form="paper", horizon=T, n=int(n), delta=float(delta), delta_each=de,
                      normalization=normalization, c_max=float(c_max), c0=c0, C_mu=C_mu,
                      C_inf=C_inf, min_p_action=min_pa, trivial_bound=float(c_max),
                      k_star=k_star, rows=rows, input_level=il, crossover=cross,
                      per_action_certified=per_action.certified if bracket is None
                      else bracket.certified, seconds=secs, cls=cls, floor=floor)


def sample_term_table(C: CoOccurrence, ks: ArrayLike, ns: ArrayLike, delta: float = 0.05
                      ) -> list[dict[str, Any]]:
    r"""P5 against T4 and T4b per (k, n): the three bounds on :math:`\varepsilon` of their
    learners (P5 and T4: the class ERM of radius :math:`\kappa_k`; T4b: the plug-in
    estimator), each at the same delta, and their ratios; ``eps_P5_linear`` is P5 for the
    linear class (features ``C.mdp.x``, else one-hot) at its reference model
    (:func:`~jepatheory.paper.rademacher.linear_reference`): eps_ref + 2 dev_R with
    B = rho_z rho_f R_x^2 (THEORY P5; ``proofs/P5.md``)."""
    from ..bounds.finite_sample import t4_bound
    from ..bounds.kappa import kappa_rescaled_curve
    from ..bounds.plugin import plugin_constants, plugin_variance, t4b_bound
    kmax_T = min(C.n_left, C.n_right)
    ks = sorted({int(k) for k in ks if 1 <= int(k) <= kmax_T})
    if not ks:
        raise BoundInputError(f"k: every requested k exceeds the rank bound {kmax_T}")
    spec = spectrum_upto(C, max(ks))
    kap = kappa_rescaled_curve(C, max(ks))
    pv = plugin_variance(C)
    refs = {k: linear_reference(C, k) for k in ks}
    rows = []
    for n in ns:
        const = plugin_constants(C, int(n), delta, pv)
        for k in ks:
            tail = float(spec.tail_k(k))
            d = k * (C.n_left + C.n_right)
            p5 = p5_bound(tail, k, int(n), delta, float(kap[k]) ** 2, n_left=C.n_left,
                          n_right=C.n_right)
            t4 = t4_bound(tail, k, int(n), delta, float(kap[k]), d)
            t4b = t4b_bound(tail, k, const)
            lin = p5_bound(tail, k, int(n), delta, refs[k].B, cls="linear",
                           n_actions=C.mdp.n_actions, eps_ref=refs[k].eps_ref)
            rows.append({"n": int(n), "k": k, "tail": tail, "B": float(kap[k]) ** 2,
                             "eps_P5": p5.eps_bound, "eps_T4": t4.eps_bound,
                             "eps_T4b": t4b.eps_bound,
                             "P5_over_T4": p5.eps_bound / t4.eps_bound,
                             "P5_over_T4b": p5.eps_bound / t4b.eps_bound
                             if math.isfinite(t4b.eps_bound) else float("nan"),
                             "eps_P5_linear": lin.eps_bound, "eps_ref_linear": refs[k].eps_ref,
                             "B_linear": refs[k].B,
                             "P5_linear_over_P5": lin.eps_bound / p5.eps_bound})
    return rows


#: measured regret (dense kernels) only up to this many entries N*m*N
MEASURE_MAX = 4_000_000


def parse_cost(spec: str, n_states: int, c_max: float = 1.0) -> np.ndarray:
    """``goal:S`` (cost 0 at state S, c_max elsewhere), a comma list of N numbers, or a
    ``.npy`` file; validated to lie in [0, c_max] (the error names the offending entry)."""
    from .regret import validate_cost
    spec = str(spec).strip()
    if spec.startswith("goal:"):
        try:
            s = int(spec[5:])
        except ValueError:
            raise PaperFormError(f"--cost {spec!r}: goal state is not an integer") from None
        if not 0 <= s < n_states:
            raise PaperFormError(f"--cost {spec!r}: goal state {s} is not in 0..{n_states - 1}")
        c = np.full(n_states, float(c_max))
        c[s] = 0.0
        return c
    if spec.endswith(".npy"):
        try:
            arr = np.load(spec)
        except (OSError, ValueError) as exc:
            raise PaperFormError(f"--cost {spec!r}: cannot read ({exc})") from None
        return validate_cost(arr, n_states, c_max)
    try:
        vals = [float(t) for t in spec.split(",") if t.strip()]
    except ValueError:
        raise PaperFormError(f"--cost {spec!r}: not a comma list of numbers") from None
    return validate_cost(vals, n_states, c_max)


def measured_regret(C: CoOccurrence, ks: ArrayLike, cost: ArrayLike, horizon: int,
                    c_max: float = 1.0, normalization: str = "q") -> list[dict[str, Any]]:
    r"""Per k: the shared-encoder model with :math:`\Psi` = T's top-k right singular vectors
    (the T2 minimizer's target encoder, per-action predictors fitted, P2 rounding) planned
    exactly in the true MDP: single-step regret under rho0 against P3 at the model's exact
    eps, and T-step terminal-cost regret (open loop when :math:`m^T` plans can be
    enumerated, else closed loop) against P4."""
    from ..spectrum import top_singular
    from .regret import MAX_PLANS, shared_encoder_model, single_step, t_step
    N, m = C.mdp.n_states, C.mdp.n_actions
    if N * m * N > MEASURE_MAX:
        raise PaperFormError(f"measured regret: N*m*N = {N * m * N} exceeds {MEASURE_MAX} "
                             "(dense kernels); use a smaller environment")
    T = int(horizon)
    planner = "open-loop" if m ** T <= MAX_PLANS else "closed-loop"
    out = []
    kmax_T = min(C.n_left, C.n_right)
    for k in sorted({int(k) for k in ks if 1 <= int(k) <= kmax_T}):
        z, f = shared_encoder_model(C, top_singular(C.T, k).V, normalization)
        s1 = single_step(C, z, f, cost, c_max=c_max, normalization=normalization)
        ts = t_step(C, z, f, cost, T, planner, c_max=c_max, normalization=normalization)
        out.append({"k": k, "max_eps": s1.max_eps, "regret_1step": s1.regret,
                        "R1_at_eps": s1.bound, "regret_T": float(ts.regret[-1]),
                        "R_T_at_eps": float(ts.bound[-1]), "planner": planner,
                        "regret_by_horizon": ts.regret, "slope": ts.slope})
    return out
