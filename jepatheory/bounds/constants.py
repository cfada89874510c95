r"""Constants shared by every regret bound (THEORY "Setting", T3, T5).

* :math:`c = \gamma R_{\max}/(1-\gamma)^2` (every regret bound is ``c`` times something);
* the trivial bound :math:`R_{\max}/(1-\gamma)` (any regret is below it: a bound above it is
  *vacuous*);
* the concentrability :math:`C^\pi = \sum d^\pi(s,a)^2/\nu(s,a) = 1 + \chi^2(d^\pi\,\|\,\nu)`
  (infinite when :math:`d^\pi` charges an uncovered pair) and its data-free upper bound
  :math:`1/\min\nu`;
* :math:`D^\pi = E_{d^\pi}[\nu^{-1/2}]` (the row-wise factor of the optional
  :math:`\|E\|_{2,\infty}` rung of T3 and of T5); :math:`D^\pi \le \sqrt{C^\pi}` by
  Cauchy-Schwarz.

``R_max`` is the reward range ``max r - min r`` (:attr:`jepatheory.mdp.MDP.r_max`).
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..cooccurrence import CoOccurrence
from ..mdp import MDP
from ..spectrum import Spectrum

__all__ = ["regret_constant", "trivial_bound", "concentrability", "row_factor", "min_nu"]


def regret_constant(mdp: MDP) -> float:
    r""":math:`c = \gamma R_{\max} / (1-\gamma)^2`."""
    return mdp.gamma * mdp.r_max / (1.0 - mdp.gamma) ** 2


def trivial_bound(mdp: MDP) -> float:
    r""":math:`R_{\max}/(1-\gamma)`: every policy's regret is at most this."""
    return mdp.r_max / (1.0 - mdp.gamma)


def _pair(d: ArrayLike, nu: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    return np.asarray(d, dtype=float).ravel(), np.asarray(nu, dtype=float).ravel()


def concentrability(d: ArrayLike, nu: ArrayLike) -> float:
    r""":math:`C^\pi = \sum_{s,a} d(s,a)^2/\nu(s,a)`; ``inf`` if ``d`` charges a pair with
    :math:`\nu = 0`."""
    d, nu = _pair(d, nu)
    on = d > 0
    if (nu[on] <= 0).any():
        return float("inf")
    return float(np.sum(d[on] ** 2 / nu[on]))


def row_factor(d: ArrayLike, nu: ArrayLike) -> float:
    r""":math:`D^\pi = \sum_{s,a} d(s,a)\,\nu(s,a)^{-1/2}`; ``inf`` if ``d`` charges an
    uncovered pair."""
    d, nu = _pair(d, nu)
    on = d > 0
    if (nu[on] <= 0).any():
        return float("inf")
    return float(np.sum(d[on] / np.sqrt(nu[on])))


def min_nu(nu: ArrayLike) -> float:
    r""":math:`\min_{s,a}\nu(s,a)` over all pairs (0 when a pair is uncovered, which makes the
    data-free bound :math:`C^\pi\le 1/\min\nu` infinite)."""
    return float(np.min(np.asarray(nu, dtype=float)))


def spectrum_upto(C: CoOccurrence, k: int) -> Spectrum:
    """The top-k spectrum of ``C``, reusing a cached larger one (``C.spectrum`` truncates
    it), so per-k quantities do not recompute the SVD."""
    return C.spectrum(k, reuse=True)


def top_k(C: CoOccurrence, k: int) -> tuple[NDArray, NDArray, NDArray]:
    """``(s, U, V)`` truncated to the first k triplets (from :func:`spectrum_upto`)."""
    spec = spectrum_upto(C, k)
    return spec.singular_values[:k], spec.U[:, :k], spec.V[:, :k]


def scaled(c: float, factor: float, err: float) -> float:
    r"""``c * factor * err`` with the conventions of the bounds: 0 when ``c = 0`` (gamma = 0
    or constant rewards: every regret is 0), otherwise ``inf`` when the concentrability
    ``factor`` is infinite (d^pi charges an uncovered pair: the model is unconstrained
    there), even if ``err`` is 0."""
    if c == 0:
        return 0.0
    if not np.isfinite(factor):
        return float("inf")
    return float(c * factor * err)
