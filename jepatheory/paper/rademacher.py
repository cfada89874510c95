r"""P5: the Rademacher sample-error bound of the spectral JEPA loss, with explicit constants,
for the tabular and linear classes with norm constraints (THEORY P5; ``proofs/P5.md``).

Setting: n i.i.d. transitions, the U-statistic :math:`\hat L_n` of D3, a class of pairs
(z, f) with :math:`|z(s,a)\cdot f(s')|\le B` everywhere. With :math:`m' = \lfloor n/2\rfloor`
and :math:`\mathfrak R_{m'}` a bound on the Rademacher complexity of
:math:`\mathcal G = \{(s,a,s')\mapsto z(s,a)\cdot f(s')\}` on any :math:`m'` points,
with probability :math:`\ge 1-\delta`, for every member of the class,

.. math::

    |\hat L_n - L| \le \mathrm{dev}_R = 2(2+2B)\,\mathfrak R_{m'}
        + (4B + 2B^2)\sqrt{\frac{\log(2/\delta)}{2n}}

(Hoeffding's permutation representation of the U-statistic as an average of i.i.d. means
of :math:`m'` pair kernels; symmetrization; Ledoux-Talagrand contraction for
:math:`t\mapsto t^2/2`, B-Lipschitz on [-B, B]; McDiarmid with bounded differences
:math:`(4B+2B^2)/n`). Hence, as in T4, :math:`\varepsilon(\hat\theta)\le\mathrm{tail}_k +
2\,\mathrm{dev}_R + (\hat L_n(\hat\theta)-\hat L_n(\theta^*))`.

Complexity bounds:

* tabular, max row norms :math:`\le\kappa`, :math:`B=\kappa^2`, d = k(N_L+N_R) parameters:
  :math:`\mathfrak R_{m'}\le\min\{B\sqrt{2d\log(1+2m')/m'} + 2B/m',\ B\sqrt{N_LN_R/m'}\}`
  (Massart over an :math:`\eta = \kappa/m'` net of :math:`(1+2m')^d` points; or one free
  value per cell);
* linear, :math:`f(x) = U^\top\phi(x)`, :math:`z(x,a) = W_a^\top\phi(x)`,
  :math:`\|U\|_F\le\rho_f`, :math:`\|W_a\|_F\le\rho_z`, :math:`\|\phi\|\le R_x`:
  :math:`B = \rho_z\rho_fR_x^2`, :math:`\mathfrak R_{m'}\le B\sqrt{|A|/m'}`
  (:math:`\sup_{\|M_a\|_*\le\rho_z\rho_f}\sum_a\langle M_a, S_a\rangle` and
  :math:`E\|S_a\|_2\le E\|S_a\|_F\le R_x^2\sqrt{n_a}`).

k enters through B (a whitened rank-k target has :math:`\max_s\|f(s)\|^2\ge k`, so
:math:`B\gtrsim k` and :math:`\mathrm{dev}_R\sim B^2\gtrsim k^2`: the reported O(k^2)) and,
for the tabular net bound, through :math:`\sqrt d\propto\sqrt k`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .._results import Result
from ..errors import BoundInputError

__all__ = [
    "CLASSES",
    "P5Bound",
    "p5_bound",
    "p5_dev",
    "rademacher_linear",
    "rademacher_tabular",
]

CLASSES = ("tabular", "linear")


def _m(n: int) -> int:
    if not (isinstance(n, (int, float)) and n >= 2 and float(n) == int(n)):
        raise BoundInputError(f"n = {n!r} must be an integer >= 2")
    return int(n) // 2


def rademacher_tabular(B: float, n: int, d: int, n_cells: int) -> float:
    r""":math:`\min\{B\sqrt{2d\log(1+2m')/m'} + 2B/m',\ B\sqrt{N_LN_R/m'}\}`,
    :math:`m' = \lfloor n/2\rfloor`."""
    m = _m(n)
    if B < 0 or d < 0 or n_cells < 1:
        raise BoundInputError(f"rademacher: B = {B!r}, d = {d!r}, cells = {n_cells!r}")
    net = B * math.sqrt(2 * d * math.log1p(2 * m) / m) + 2 * B / m
    cells = B * math.sqrt(n_cells / m)
    return min(net, cells)


def rademacher_linear(B: float, n: int, n_actions: int) -> float:
    r""":math:`B\sqrt{|A|/m'}` for the linear class (:math:`B = \rho_z\rho_fR_x^2`)."""
    m = _m(n)
    if B < 0 or n_actions < 1:
        raise BoundInputError(f"rademacher: B = {B!r}, actions = {n_actions!r}")
    return B * math.sqrt(n_actions / m)


def p5_dev(n: int, delta: float, B: float, rad: float) -> float:
    r""":math:`2(2+2B)\mathfrak R + (4B+2B^2)\sqrt{\log(2/\delta)/(2n)}`."""
    _m(n)
    if not 0 < delta < 1:
        raise BoundInputError(f"delta = {delta!r} must be in (0, 1)")
    return 2 * (2 + 2 * B) * rad + (4 * B + 2 * B * B) * math.sqrt(math.log(2 / delta)
                                                                   / (2 * int(n)))


@dataclass(frozen=True, repr=False)
class P5Bound(Result):
    r"""P5 at one (k, n, delta): :math:`\varepsilon(\hat\theta)\le` ``eps_bound`` (class ERM)."""

    k: int
    n: int
    delta: float
    cls: str
    B: float
    d: int
    rademacher: float
    dev: float
    tail_k: float
    eps_bound: float


def p5_bound(tail_k: float, k: int, n: int, delta: float, B: float, *, cls: str = "tabular",
             n_left: int = 0, n_right: int = 0, n_actions: int = 1) -> P5Bound:
    r"""P5: :math:`\varepsilon(\hat\theta)\le\mathrm{tail}_k + 2\,\mathrm{dev}_R` for the
    empirical risk minimizer of a class containing the T2 minimizer."""
    if cls == "tabular":
        d = int(k) * (int(n_left) + int(n_right))
        rad = rademacher_tabular(B, n, d, max(1, int(n_left) * int(n_right)))
    elif cls == "linear":
        d = 0
        rad = rademacher_linear(B, n, n_actions)
    else:
        raise BoundInputError(f"class {cls!r} is not one of {CLASSES}")
    dev = p5_dev(n, delta, B, rad)
    return P5Bound(k=int(k), n=int(n), delta=float(delta), cls=cls, B=float(B), d=d,
                   rademacher=rad, dev=dev, tail_k=float(tail_k),
                   eps_bound=float(tail_k) + 2 * dev)
