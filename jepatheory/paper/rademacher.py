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

Linear class, any reference model (``eps_ref``; :func:`linear_reference`). The class
{||W_a||_F <= rho_z, ||U||_F <= rho_f} need not contain the T2 minimizer; for ANY fixed
:math:`\theta_{\rm ref}` in it (chosen from the population, before the data), ERM gives
:math:`\hat L_n(\hat\theta)\le\hat L_n(\theta_{\rm ref})`, and with T1
(:math:`\varepsilon = L + \|T\|_F^2`)

.. math::

    \varepsilon(\hat\theta)\le\varepsilon(\theta_{\rm ref}) + 2\,\mathrm{dev}_R,
    \qquad B = \rho_z\rho_fR_x^2,\ \mathfrak R_{m'}\le B\sqrt{|A|/m'}.

:func:`linear_reference` takes :math:`\theta_{\rm ref}` = the linear least-squares fit of the
balanced T2 minimizer (one-hot features: exactly the T2 minimizer, eps_ref = tail_k).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from .._results import Result
from ..errors import BoundInputError

if TYPE_CHECKING:
    from ..cooccurrence import CoOccurrence

__all__ = [
    "CLASSES",
    "LinearReference",
    "P5Bound",
    "linear_reference",
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
    eps_ref: float | None = None


def p5_bound(tail_k: float, k: int, n: int, delta: float, B: float, *, cls: str = "tabular",
             n_left: int = 0, n_right: int = 0, n_actions: int = 1,
             eps_ref: float | None = None) -> P5Bound:
    r"""P5: :math:`\varepsilon(\hat\theta)\le\mathrm{tail}_k + 2\,\mathrm{dev}_R` for the
    empirical risk minimizer of a class containing the T2 minimizer; with ``eps_ref``
    (the exact eps of any fixed reference model in the class, e.g. from
    :func:`linear_reference`) :math:`\varepsilon(\hat\theta)\le\varepsilon_{\rm ref} +
    2\,\mathrm{dev}_R` instead (THEORY P5; ``proofs/P5.md``)."""
    if eps_ref is not None and not (math.isfinite(eps_ref) and eps_ref >= 0):
        raise BoundInputError(f"eps_ref = {eps_ref!r} must be a finite number >= 0")
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
                   eps_bound=(float(tail_k) if eps_ref is None else float(eps_ref)) + 2 * dev,
                   eps_ref=None if eps_ref is None else float(eps_ref))


@dataclass(frozen=True, repr=False)
class LinearReference(Result):
    r"""A reference model of the linear class, :math:`z(s,a) = W_a^\top\phi(s)`,
    :math:`f(s') = U^\top\phi(s')`, with its exact factorization error and norms
    (THEORY P5, P6; ``proofs/P5.md``): ``eps_ref`` :math:`=\|T - D_\nu^{1/2}ZF^\top
    D_q^{1/2}\|_F^2`, ``rho_z`` :math:`=\max_a\|W_a\|_F`, ``rho_f`` :math:`=\|U\|_F`,
    ``R_x`` :math:`=\max_s\|\phi(s)\|`, ``B`` :math:`=\rho_z\rho_fR_x^2`. With explicit
    features ``W`` (m, d, k') and ``U`` (d, k') hold the model (k' <= k columns: directions
    without weight dropped); one-hot keeps none (it is the T2 minimizer)."""

    k: int
    features: str
    d_x: int
    eps_ref: float
    tail_k: float
    rho_z: float
    rho_f: float
    R_x: float
    B: float
    W: np.ndarray | None = None
    U: np.ndarray | None = None

    _hidden = ("W", "U")
    _no_export = ("W", "U")


def _features(C: CoOccurrence, features: ArrayLike | None) -> np.ndarray | None:
    """The feature matrix (N, d): ``features``, else ``C.mdp.x``, else None (one-hot)."""
    if features is None:
        features = C.mdp.x
    if features is None:
        return None
    X = np.asarray(features, dtype=float)
    N = C.mdp.n_states
    if X.ndim != 2 or X.shape[0] != N or not np.all(np.isfinite(X)):
        raise BoundInputError(f"features: expected a finite array of shape ({N}, d), got "
                              f"shape {X.shape}")
    return X


def linear_reference(C: CoOccurrence, k: int, features: ArrayLike | None = None,
                     ) -> LinearReference:
    r"""The linear-class reference model of P5/P6 at latent dimension k (THEORY P5, P6;
    ``proofs/P5.md``, ``proofs/P6.md``).

    Features :math:`\phi` = ``features``, else the MDP's observations ``C.mdp.x`` (N, d),
    else one-hot (:math:`\phi(s) = e_s`, :math:`R_x = 1`). From the balanced T2 minimizer
    :math:`\Psi^* = V_kS_k^{1/2}`:

    * :math:`U = \arg\min\|D_q^{1/2}(X_RU) - \Psi^*\|_F` (q-weighted least squares of
      :math:`f^*`), :math:`\Psi = D_q^{1/2}X_RU`;
    * :math:`W_a = \arg\min\sum_{s}\|t_{(s,a)} - \sqrt{\nu(s,a)}\,\phi(s)^\top W_a
      \Psi^\top\|^2` (the exact optimum given :math:`\Psi`: least squares of
      :math:`T\Psi(\Psi^\top\Psi)^+` with weights :math:`\nu`);
    * columns balanced (:math:`W_{\cdot j}c_j`, :math:`U_{\cdot j}/c_j`, the product is
      unchanged) when that lowers :math:`B`.

    ``eps_ref`` :math:`=\|T\|_F^2 - 2\langle T,\Phi\Psi^\top\rangle +
    \mathrm{tr}(\Phi^\top\Phi\,\Psi^\top\Psi)` in O(nnz k + N k^2), never dense N x N.
    Rank <= k, so ``eps_ref >= tail_k`` (T2); with one-hot features
    ``eps_ref = tail_k`` (the class contains the T2 minimizer).
    """
    from ..bounds.constants import spectrum_upto
    kmax = min(C.n_left, C.n_right)
    if not (isinstance(k, (int, np.integer)) and 1 <= int(k) <= kmax):
        raise BoundInputError(f"k = {k!r} must be an integer in 1..{kmax}")
    k = int(k)
    X = _features(C, features)
    spec = spectrum_upto(C, k)
    s = np.clip(np.asarray(spec.singular_values[:k], float), 0.0, None)
    V = np.asarray(spec.V[:, :k], float)
    psi_star = V * np.sqrt(s)                                   # (N_R, k)
    sq = np.sqrt(C.q_R)
    m = C.mdp.n_actions
    acts, states = C.left_actions, C.left_states
    snu = np.sqrt(C.nu_L)
    if X is None:                                               # one-hot: U = f* exactly
        Psi = psi_star
        U_cols = (psi_star / sq[:, None])                       # rows of U at supp(q)
        R_x, d_x, name = 1.0, C.mdp.n_states, "one-hot"
    else:
        XR = X[C.right]
        Ucoef = np.linalg.lstsq(XR * sq[:, None], psi_star, rcond=None)[0]   # (d, k)
        Psi = (XR @ Ucoef) * sq[:, None]
        R_x = float(np.sqrt(np.max(np.sum(X * X, axis=1))))
        d_x, name = X.shape[1], "x"
    # gauge: principal axes of Psi^T Psi (the model Phi Psi^T is unchanged); directions
    # with no weight (rank(X) < k, sigma_j = 0) are dropped, not inverted
    g, Q = np.linalg.eigh(Psi.T @ Psi)
    keep = g > 1e-12 * max(float(g.max()), 1e-300)
    Q, g = Q[:, keep], g[keep]
    Psi = Psi @ Q
    u_norm2 = np.sum((U_cols @ Q) ** 2, axis=0) if X is None else \
        np.sum((Ucoef @ Q) ** 2, axis=0)
    G = np.diag(g)
    TPsi = np.asarray(C.T @ Psi)                                # (N_L, k')
    Y = TPsi / g                                                # optimal Phi rows given Psi
    Phi = np.zeros_like(Y)
    w_norm2 = np.zeros((m, Psi.shape[1]))                       # per action, per column
    W_all = None if X is None else np.zeros((m, X.shape[1], Psi.shape[1]))
    for a in range(m):
        rows = np.flatnonzero(acts == a)
        if rows.size == 0:
            continue
        if X is None:                   # one row of W_a per state: Phi rows are free
            Phi[rows] = Y[rows]
            Wa = Y[rows] / snu[rows, None]
        else:
            A = X[states[rows]] * snu[rows, None]
            Wa = np.linalg.lstsq(A, Y[rows], rcond=None)[0]     # (d, k)
            Phi[rows] = A @ Wa
            W_all[a] = Wa
        w_norm2[a] = np.sum(Wa * Wa, axis=0)
    cross = float(np.sum(Phi * TPsi))
    eps = C.frobenius_sq - 2 * cross + float(np.sum((Phi.T @ Phi) * G))
    tail = float(spec.tail_k(k))
    eps = max(eps, tail)            # rank <= k: eps >= tail_k (T2); clears rounding only
    rho_z, rho_f = float(np.sqrt(w_norm2.sum(axis=1).max())), float(np.sqrt(u_norm2.sum()))
    # column balancing c_j^2 = |U_j| / max_a |W_a,j| (the model is unchanged)
    wj = np.sqrt(w_norm2.max(axis=0))
    uj = np.sqrt(u_norm2)
    ok = (wj > 0) & (uj > 0)
    c2 = np.ones(wj.size)
    c2[ok] = uj[ok] / wj[ok]
    rz_b = float(np.sqrt((w_norm2 * c2).sum(axis=1).max()))
    rf_b = float(np.sqrt((u_norm2 / c2).sum()))
    U_out = None if X is None else Ucoef @ Q
    if rz_b * rf_b < rho_z * rho_f:
        rho_z, rho_f = rz_b, rf_b
        if X is not None:
            c = np.sqrt(c2)
            W_all, U_out = W_all * c, U_out / c
    return LinearReference(k=k, features=name, d_x=int(d_x), eps_ref=float(eps),
                           tail_k=tail, rho_z=rho_z, rho_f=rho_f, R_x=R_x,
                           B=rho_z * rho_f * R_x * R_x, W=W_all, U=U_out)
