r"""Numeric closed forms of the spectra of the textbook families (THEORY F1, F4, D5): the one
home used by the tests, the benchmarks and the demo as references (never as a method).

The symbolic counterparts (SymPy expressions for the same families, and the bound
expressions) are in :mod:`jepatheory.symbolic.closed_forms`; tests check the two agree.

>>> float(slip_ring_singular_values(8, 0.0)[0])
1.0
>>> round(path_fastest_mixing_slem(12), 6)
0.965926
"""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["slip_grid_singular_values", "slip_ring_singular_values",
           "path_fastest_mixing_slem", "cycle_fastest_mixing_slem"]


def slip_grid_singular_values(width: int, height: int, slip: float) -> NDArray[np.float64]:
    r"""All singular values of T for the open slip grid with uniform nu, descending.

    With uniform nu the next-state marginal q is uniform (each state is the image of exactly
    four (state, direction) pairs, walls included), so :math:`T = P/2`. Writing
    :math:`M_a` for the deterministic move of direction a, :math:`S = \sum_a M_a` and
    :math:`c = \mathrm{slip}/3`, :math:`\alpha = 1 - 4\,\mathrm{slip}/3`, each action's
    kernel is :math:`P_a = \alpha M_a + c S`. Since :math:`\sum_a M_a^\top M_a = 4I` and S
    is symmetric,

    .. math::

        T^\top T = \alpha^2 I + (\alpha c/2 + c^2)\,S^2,\qquad
        S = A_H \otimes I + I \otimes A_W,

    where :math:`A_n` (path with a self-loop at each end) has eigenvalues
    :math:`2\cos(\pi j/n)`, :math:`j = 0..n-1`. Hence
    :math:`\sigma_{jl}^2 = \alpha^2 + (\alpha c/2 + c^2)(2\cos\tfrac{\pi j}{H} +
    2\cos\tfrac{\pi l}{W})^2`, with :math:`\sigma_{00} = 1` (THEORY F1, F4).
    """
    alpha, c = 1 - 4 * slip / 3, slip / 3
    beta = alpha * c / 2 + c * c
    lam_h = 2 * np.cos(np.pi * np.arange(height) / height)
    lam_w = 2 * np.cos(np.pi * np.arange(width) / width)
    s2 = alpha**2 + beta * (lam_h[:, None] + lam_w[None, :]) ** 2
    return np.sort(np.sqrt(np.clip(s2.ravel(), 0.0, None)))[::-1]


def slip_ring_singular_values(n: int, slip: float) -> NDArray[np.float64]:
    r"""All singular values of T for the ring with slip and uniform nu, descending.

    q is uniform, :math:`T = P/\sqrt 2` and :math:`T^\top T` is circulant with eigenvalues
    :math:`(1-s)^2 + s^2 + 2s(1-s)\cos(4\pi j/n)` (DFT of the shifts).
    """
    j = np.arange(n)
    s2 = (1 - slip) ** 2 + slip**2 + 2 * slip * (1 - slip) * np.cos(4 * np.pi * j / n)
    return np.sort(np.sqrt(s2))[::-1]


def path_fastest_mixing_slem(n: int) -> float:
    r"""Smallest SLEM of a symmetric chain on the path with n nodes (Boyd-Diaconis-Xiao):
    :math:`\cos(\pi/n)` (THEORY D5)."""
    return float(np.cos(np.pi / n))


def cycle_fastest_mixing_slem(n: int) -> float:
    r"""Smallest SLEM of a symmetric chain on the cycle with n nodes (THEORY D5):
    :math:`(c + c_2)/(2 - c + c_2)` with :math:`c = \cos(2\pi/n)` and
    :math:`c_2 = \cos(\pi/n)` for odd n, 1 for even n."""
    c, c2 = np.cos(2 * np.pi / n), (np.cos(np.pi / n) if n % 2 else 1.0)
    return float((c + c2) / (2 - c + c2))
