r"""The bound as a function of the latent dimension k and the sample size n; k*(n); the
crossover with the input-level bound; vacuity (THEORY T4, T4b, T5).

Before the data the planner's policy :math:`\hat\pi` is unknown, so the a-priori regret
bound uses :math:`C^{\hat\pi}\le 1/\min\nu`:

.. math:: R_4(k,n) = c\,\big(\sqrt{C^{\pi^*}} + 1/\sqrt{\min\nu}\big)\sqrt{\bar\varepsilon_k(n)},

with :math:`\bar\varepsilon_k(n)` the T4 bound (empirical risk minimizer of the class of
radius :math:`\kappa_k`) or the T4b bound (plug-in estimator). The reported ``R4`` is the
smaller of the two (T4b is looser for k <= 2). Choosing k* over K candidates and reporting
the minimum of two bounds costs a union bound: each bound at each k is evaluated at
:math:`\delta/(2K)`, so that the bound at k* holds with probability :math:`\ge 1-\delta`.
A bound at or above the trivial :math:`R_{\max}/(1-\gamma)` is *vacuous*. The input-level
bound is :func:`~jepatheory.bounds.input_level.t5_bound` at delta.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._results import Result, table
from ..cooccurrence import CoOccurrence
from ..errors import BoundInputError
from ..mdp import MDP
from ..solvers import PlanResult, occupancy, optimal_policy
from .constants import (
    concentrability,
    min_nu,
    regret_constant,
    row_factor,
    scaled,
    spectrum_upto,
    trivial_bound,
)
from .finite_sample import encoder_dimension, t4_bound
from .input_level import t5_curve_of
from .kappa import LOWER_MAX_ENTRIES, kappa_k, kappa_rescaled_curve
from .plugin import PluginVariance, plugin_constants, plugin_variance, t4b_bound

__all__ = ["BoundCurve", "bound_curve", "bound_curve_of", "Scan", "scan_n", "parse_grid",
           "KAPPA_METHODS", "DEFAULT_SCAN"]

KAPPA_METHODS = ("auto", "sdp", "rescale")
#: n grid of the crossover / vacuity scan: 10^2 .. 10^16, four points per decade.
DEFAULT_SCAN = tuple(int(round(10 ** e)) for e in np.arange(2, 16.01, 0.25))


def parse_grid(text: str | int | list[int], name: str) -> list[int]:
    """``"1000,1e5,10**6"`` -> ``[1000, 100000, 1000000]`` (comma list of positive integers)."""
    if isinstance(text, (list, tuple)):
        items = list(text)
    elif isinstance(text, (int, np.integer)):
        items = [int(text)]
    else:
        items = [t for t in str(text).replace(" ", "").split(",") if t]
    out = []
    for it in items:
        s = str(it)
        try:
            if "**" in s:
                base, exp = s.split("**", 1)
                v = float(base) ** float(exp)
            else:
                v = float(s)
        except (ValueError, OverflowError):
            raise BoundInputError(f"{name}: {it!r} is not a number") from None
        if not (math.isfinite(v) and v >= 1 and v == int(v)):
            raise BoundInputError(f"{name}: {it!r} must be a positive integer")
        out.append(int(v))
    if not out:
        raise BoundInputError(f"{name}: empty list")
    return out


@dataclass(frozen=True, repr=False)
class Scan(Result):
    """Bounds over an n grid for every k: vacuity thresholds and the latent/input crossover."""

    n_grid: list[int]
    k_values: list[int]
    R4_T4: NDArray[np.float64]      # (len(n_grid), len(k_values))
    R4_T4b: NDArray[np.float64]
    R_T5: NDArray[np.float64]       # (len(n_grid),)
    latent_best: NDArray[np.float64]
    trivial_bound: float
    nonvacuous_from: dict[str, dict[int, int | None]]
    crossover_n: int | None
    latent_wins: list[int]
    statement: str

    _hidden = ("R4_T4", "R4_T4b", "R_T5", "latent_best", "n_grid")


@dataclass(frozen=True, repr=False)
class BoundCurve(Result):
    """The bound table over (n, k) with k*(n), the T5 baseline and the vacuity flags."""

    env: str
    n_values: list[int]
    k_values: list[int]
    delta: float
    delta_each: float
    encoder: str
    kappa_method: str
    c: float
    trivial_bound: float
    C_pi_star: float
    D_pi_star: float
    min_nu: float
    regret_factor: float
    V_star: float
    frobenius_sq: float
    k_star: int | None
    k_star_by_n: dict[int, int | None]
    rows: list[dict[str, Any]]
    t5: list[dict[str, Any]]
    variance: PluginVariance
    scan: Scan | None = None
    spectrum: dict[str, Any] = field(default_factory=dict)

    _hidden = ("rows", "t5", "variance", "scan", "spectrum")

    def table(self, columns: list[str] | None = None) -> str:
        cols = columns or ["n", "k", "tail", "kappa", "B", "dev", "R4_T4", "Dhat", "R4_T4b",
                           "R4", "R_T5", "vacuous"]
        return table(self.rows, cols)


def _kappas(C: CoOccurrence, ks: list[int], method: str, curve: ArrayLike | None = None
            ) -> tuple[dict[int, float], str]:
    kmax = max(ks)
    if method not in KAPPA_METHODS:
        raise BoundInputError(f"kappa method {method!r} is not one of {KAPPA_METHODS}")
    if method == "sdp":
        return {k: kappa_k(C, k, sdp=True).value for k in ks}, "sdp"
    if method == "auto" and C.n_left * C.n_right <= LOWER_MAX_ENTRIES:
        return {k: kappa_k(C, k).value for k in ks}, "auto"
    if curve is not None and len(curve) > kmax:
        return {k: float(curve[k]) for k in ks}, "rescale"
    curve = kappa_rescaled_curve(C, kmax)
    return {k: float(curve[k]) for k in ks}, "rescale"


def _latent(C: CoOccurrence, tails: dict[int, float], kappas: dict[int, float], dims: dict,
            n: int, delta_each: float, pv: PluginVariance, factor: float, c: float
            ) -> list[dict[str, Any]]:
    const = plugin_constants(C, n, delta_each, pv)
    rows = []
    for k in tails:
        t4 = t4_bound(tails[k], k, n, delta_each, kappas[k], dims[k])
        t4b = t4b_bound(tails[k], k, const)
        r4 = scaled(c, factor, math.sqrt(t4.eps_bound))
        r4b = scaled(c, factor, t4b.sqrt_eps_bound)
        rows.append(dict(n=n, k=k, tail=tails[k], kappa=kappas[k], B=t4.B, d=t4.d, dev=t4.dev,
                         eps_T4=t4.eps_bound, R4_T4=r4, Delta_n=const.Delta_n,
                         rho_nu=const.rho_nu, rho_q=const.rho_q, Dhat=const.Dhat,
                         sqrt_eps_T4b=t4b.sqrt_eps_bound, R4_T4b=r4b, R4=min(r4, r4b),
                         best="T4" if r4 <= r4b else "T4b"))
    return rows


def scan_n(C: CoOccurrence, ks: list[int], tails: dict[int, float], kappas: dict[int, float],
           dims: dict[int, int], delta: float, pv: PluginVariance, factor: float,
           d_star: NDArray[np.float64], n_grid: tuple[int, ...] = DEFAULT_SCAN) -> Scan:
    """Evaluate the bounds over ``n_grid``: first non-vacuous n per (bound, k) and the n where
    the best latent bound (over k, with delta split) beats the input-level bound."""
    mdp = C.mdp
    c, triv = regret_constant(mdp), trivial_bound(mdp)
    de = delta / (2 * len(ks))
    A = np.empty((len(n_grid), len(ks)))
    Bb = np.empty_like(A)
    T5 = np.array([b.bound for b in t5_curve_of(C, n_grid, delta, d_star)])
    for i, n in enumerate(n_grid):
        rows = _latent(C, tails, kappas, dims, n, de, pv, factor, c)
        A[i] = [r["R4_T4"] for r in rows]
        Bb[i] = [r["R4_T4b"] for r in rows]
    best = np.minimum(A, Bb).min(axis=1)

    def first(col: NDArray) -> int | None:
        ok = np.flatnonzero(col < triv)
        return int(n_grid[ok[0]]) if ok.size else None

    nv = {"T4": {k: first(A[:, j]) for j, k in enumerate(ks)},
          "T4b": {k: first(Bb[:, j]) for j, k in enumerate(ks)},
          "T5": {0: first(T5)}}
    wins = [int(n) for n, b, t in zip(n_grid, best, T5) if b < t]
    lo, hi = n_grid[0], n_grid[-1]
    if wins:
        stmt = (f"the latent bound (best k, T4/T4b) is below the input-level bound at "
                f"{len(wins)} of {len(n_grid)} grid points in [{lo:.0e}, {hi:.0e}], first at "
                f"n = {wins[0]:.3g}")
    else:
        stmt = (f"the latent bound never beats the input-level bound on this MDP for n in "
                f"[{lo:.0e}, {hi:.0e}]")
    return Scan(n_grid=list(n_grid), k_values=list(ks), R4_T4=A, R4_T4b=Bb, R_T5=T5,
                latent_best=best, trivial_bound=triv, nonvacuous_from=nv,
                crossover_n=wins[0] if wins else None, latent_wins=wins, statement=stmt)


def bound_curve(C: CoOccurrence, /, *args: Any, **kw: Any) -> BoundCurve:
    r"""``bound_curve(C, ns=(10_000,), ks=(1, 2, 4, 8, 16), delta=0.05, *, encoder=
    "tabular", kappa="auto", plan=None, scan=True, d_star=None, variance=None,
    kappa_curve=None)``: see :func:`bound_curve_of`. The older form ``bound_curve(mdp,
    nu=None, ns, ks, delta, ..., C=None)`` still works (deprecated)."""
    if isinstance(C, MDP):  # the older form: a given C is used as it is, else C(mdp, nu)
        warnings.warn("bound_curve(mdp, nu, ...) is deprecated: pass C = CoOccurrence(mdp, "
                      "nu) first", DeprecationWarning, stacklevel=2)
        if "nu" in kw:
            nu = kw.pop("nu")
        else:
            nu, args = (args[0], args[1:]) if args else (None, args)
        given = kw.pop("C", None)
        return bound_curve_of(CoOccurrence(C, nu) if given is None else given, *args, **kw)
    if not isinstance(C, CoOccurrence):
        raise TypeError("bound_curve: the first argument must be a CoOccurrence C (or, "
                        f"deprecated, an MDP followed by nu), got {type(C).__name__}")
    return bound_curve_of(C, *args, **kw)


def bound_curve_of(C: CoOccurrence, ns: ArrayLike = (10_000,),
                   ks: ArrayLike = (1, 2, 4, 8, 16), delta: float = 0.05, *,
                   encoder: str = "tabular", kappa: str = "auto",
                   plan: PlanResult | None = None, scan: bool = True,
                   d_star: ArrayLike | None = None,
                   variance: PluginVariance | None = None,
                   kappa_curve: ArrayLike | None = None) -> BoundCurve:
    r"""Every constant of T4, T4b and T5 over the grid ``ns`` x ``ks`` for the MDP ``C.mdp``
    and data distribution ``C.nu``; k*(n); vacuity (THEORY T4, T4b, T5; ``proofs/T4.md``).

    ``ks`` larger than the rank of T are dropped. ``plan`` is an optimal plan of ``C.mdp``
    (default: policy iteration) and ``d_star`` its occupancy, ``variance`` the plug-in
    variance and ``kappa_curve`` the output of
    :func:`~jepatheory.bounds.kappa.kappa_rescaled_curve` (up to at least ``max(ks)``, used
    by the ``"rescale"`` method), if already computed. ``scan`` adds the crossover/vacuity
    scan over n.
    """
    mdp = C.mdp
    if not 0 < delta < 1:
        raise BoundInputError(f"delta = {delta!r} must be in (0, 1)")
    ns = parse_grid(list(ns), "n")
    kmax_T = min(C.n_left, C.n_right)
    ks_in = sorted(set(parse_grid(list(ks), "k")))
    ks = [k for k in ks_in if k <= kmax_T]
    if not ks:
        raise BoundInputError(f"k: every requested k ({ks_in}) exceeds rank bound {kmax_T}")
    plan = optimal_policy(mdp) if plan is None else plan
    d_star = occupancy(mdp, plan.policy) if d_star is None else np.asarray(d_star, float)
    spec = spectrum_upto(C, max(ks))
    tails = {k: spec.tail_k(k) for k in ks}
    kap, kmethod = _kappas(C, ks, kappa, kappa_curve)
    d_x = None if mdp.x is None else mdp.x.shape[1]
    dims = {k: encoder_dimension(k, C.n_left, C.n_right, encoder, d_x, mdp.n_actions)
            for k in ks}
    C_star = concentrability(d_star, C.nu)
    mn = min_nu(C.nu)
    factor = math.sqrt(C_star) + (1 / math.sqrt(mn) if mn > 0 else float("inf"))
    c, triv = regret_constant(mdp), trivial_bound(mdp)
    de = delta / (2 * len(ks))
    pv = plugin_variance(C) if variance is None else variance
    rows, t5s, kstar = [], [], {}
    for n, t5 in zip(ns, t5_curve_of(C, ns, delta, d_star)):
        block = _latent(C, tails, kap, dims, n, de, pv, factor, c)
        t5s.append(dict(n=n, **{k_: v for k_, v in t5.to_dict().items() if k_ != "n"}))
        for r in block:
            r.update(sigma_k=float(spec.singular_values[r["k"] - 1]), R_T5=t5.bound,
                     vacuous=bool(r["R4"] >= triv), vacuous_T4=bool(r["R4_T4"] >= triv),
                     vacuous_T4b=bool(r["R4_T4b"] >= triv), vacuous_T5=t5.vacuous,
                     latent_beats_input=bool(r["R4"] < t5.bound))
        finite = [r for r in block if math.isfinite(r["R4"])]
        kstar[n] = min(finite, key=lambda r: (r["R4"], r["k"]))["k"] if finite else None
        rows += block
    sc = scan_n(C, ks, tails, kap, dims, delta, pv, factor, d_star) if scan else None
    return BoundCurve(env=mdp.name, n_values=ns, k_values=ks, delta=float(delta),
                      delta_each=de, encoder=encoder, kappa_method=kmethod, c=c,
                      trivial_bound=triv, C_pi_star=C_star, D_pi_star=row_factor(d_star, C.nu),
                      min_nu=mn, regret_factor=factor, V_star=plan.value(mdp.rho0),
                      frobenius_sq=C.frobenius_sq, k_star=kstar[ns[-1]], k_star_by_n=kstar,
                      rows=rows, t5=t5s, variance=pv, scan=sc,
                      spectrum=dict(singular_values=spec.singular_values[:max(ks)],
                                    tail=spec.tail[:max(ks) + 1], method=spec.method,
                                    certified=spec.certified, max_error=spec.max_error))
