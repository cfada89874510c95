r"""T4: the finite-sample (uniform convergence) bound on the factorization error.

Encoder class: a ball of radius :math:`\kappa` in a d-dimensional normed parameter space,
mapped 1-Lipschitz into max row norms, with :math:`\max\|z\|\le\kappa`,
:math:`\max\|h\|\le\kappa` (rows on the supports), :math:`B=\kappa^2`. With probability at
least :math:`1-\delta`, for every :math:`\hat\theta` in the class and :math:`\theta^*` the T2
minimizer (in the class when :math:`\kappa\ge\kappa_k`):

.. math::

    \varepsilon(\hat\theta) \le \mathrm{tail}_k + 2\,\mathrm{dev}(n,\delta)
        + \big(\hat L_n(\hat\theta) - \hat L_n(\theta^*)\big),

    \mathrm{dev}(n,\delta) = (4B+B^2)\sqrt{\frac{d\log(1+2n)+\log(2/\delta)}{2\lfloor n/2\rfloor}}
        + \frac{8B(1+B)}{n}.

(U-statistic kernel range :math:`[-2B, 2B+B^2]`, Hoeffding with :math:`\lfloor n/2\rfloor`
blocks; Lipschitz constant :math:`4\kappa\eta(1+B)`; net :math:`(1+2\kappa/\eta)^d` with
:math:`\eta=\kappa/n`.) Dimensions: tabular :math:`d = k(N_L+N_R)`; linear encoders on
:math:`d_x` features :math:`d = k\,d_x(m+1)`. The last term is :math:`\le 0` for the empirical
risk minimizer of the class; for any other model it is computed from the data.

A trained model can leave a class fixed in advance: :func:`kappa_grid_index` unions over
the geometric grid :math:`\kappa_j = \kappa_0 2^{j/2}` (B doubles per step) with
:math:`\delta_j = \delta/((j+1)(j+2))` (these sum to :math:`\delta`).

THEORY T4; proof: ``proofs/T4.md``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .._results import Result
from ..errors import BoundInputError
from .core import check_n_delta

__all__ = ["T4Bound", "t4_dev", "encoder_dimension", "t4_bound", "kappa_grid_index",
           "ENCODERS"]

ENCODERS = ("tabular", "linear")


def t4_dev(n: int, delta: float, B: float, d: int) -> float:
    r""":math:`\mathrm{dev}(n,\delta)` of T4 for radius :math:`B=\kappa^2` and dimension d."""
    check_n_delta(n, delta)
    if B < 0 or d < 0:
        raise BoundInputError(f"t4_dev: B = {B!r} and d = {d!r} must be >= 0")
    n = int(n)
    half = n // 2
    root = math.sqrt((d * math.log1p(2 * n) + math.log(2 / delta)) / (2 * half))
    return (4 * B + B * B) * root + 8 * B * (1 + B) / n


def encoder_dimension(k: int, n_left: int, n_right: int, encoder: str = "tabular",
                      d_x: int | None = None, n_actions: int | None = None) -> int:
    r"""Parameter dimension d: tabular :math:`k(N_L+N_R)`, linear :math:`k\,d_x(m+1)`."""
    if encoder == "tabular":
        return int(k) * (int(n_left) + int(n_right))
    if encoder == "linear":
        if d_x is None or n_actions is None:
            raise BoundInputError("encoder 'linear' needs features x (d_x) and n_actions")
        return int(k) * int(d_x) * (int(n_actions) + 1)
    raise BoundInputError(f"encoder {encoder!r} is not one of {ENCODERS}")


@dataclass(frozen=True, repr=False)
class T4Bound(Result):
    r"""T4 at one (k, n, delta): :math:`\varepsilon \le` ``eps_bound`` w.p. 1-delta."""

    k: int
    n: int
    delta: float
    kappa: float
    B: float
    d: int
    dev: float
    tail_k: float
    excess: float
    eps_bound: float


def t4_bound(tail_k: float, k: int, n: int, delta: float, kappa: float, d: int,
             excess: float = 0.0) -> T4Bound:
    r"""T4: :math:`\varepsilon(\hat\theta)\le\mathrm{tail}_k + 2\,\mathrm{dev} + \mathrm{excess}`
    with ``excess`` :math:`=\hat L_n(\hat\theta)-\hat L_n(\theta^*)` (0 for the class ERM: an
    upper bound on it)."""
    if not (kappa >= 0 and math.isfinite(kappa)):
        raise BoundInputError(f"t4_bound: kappa = {kappa!r} must be finite and >= 0")
    B = kappa * kappa
    dev = t4_dev(n, delta, B, d)
    return T4Bound(k=int(k), n=int(n), delta=float(delta), kappa=float(kappa), B=B, d=int(d),
                   dev=dev, tail_k=float(tail_k), excess=float(excess),
                   eps_bound=max(float(tail_k) + 2 * dev + float(excess), 0.0))


def kappa_grid_index(kappa_model: float, kappa0: float) -> tuple[int, float, float]:
    r"""Smallest j with :math:`\kappa_j = \kappa_0 2^{j/2} \ge` ``kappa_model``; returns
    ``(j, kappa_j, share)`` where ``share`` :math:`=1/((j+1)(j+2))` is the fraction of delta
    spent on that class."""
    if not kappa0 > 0:
        raise BoundInputError(f"kappa grid: kappa0 = {kappa0!r} must be > 0")
    ratio = max(kappa_model / kappa0, 1.0)
    j = max(0, math.ceil(2 * math.log2(ratio) - 1e-12))
    kj = kappa0 * 2 ** (j / 2)
    while kj < kappa_model:  # guard against rounding in the log
        j += 1
        kj = kappa0 * 2 ** (j / 2)
    return j, kj, 1.0 / ((j + 1) * (j + 2))
