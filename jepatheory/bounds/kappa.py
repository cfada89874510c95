r"""kappa_k: the smallest class radius that contains a T2 minimizer (THEORY T4).

The T2 minimizers are the factorizations :math:`(Z_0G, H_0G^{-\top})`,
:math:`G\in GL(k)`, of the truncated SVD, with :math:`z_0 = U_kS_k/\sqrt\nu`,
:math:`h_0 = V_k/\sqrt q` (rows on the supports). Then

.. math:: \kappa_k = \min_{G\in GL(k)}
          \max\big(\max_i\|z_{0,i}G\|,\ \max_j\|h_{0,j}G^{-\top}\|\big).

With :math:`M = GG^\top\succ0` this is the convex SDP
:math:`\min t` s.t. :math:`z_iMz_i^\top\le t`, :math:`h_jM^{-1}h_j^\top\le t` (the latter as
the small LMIs :math:`\begin{pmatrix}M&h_j^\top\\h_j&t\end{pmatrix}\succeq0`), and
:math:`\kappa_k^2 = t^*`. Cheaper upper bounds: the whitened factorization (G = I), the
balanced one (:math:`U S^{1/2}`, :math:`V S^{1/2}`) and the whitened one with the best scalar
rescale :math:`\sqrt{\max\|z_0\|\max\|h_0\|}`. Lower bound (Cauchy-Schwarz):
:math:`\kappa_k^2\ge\max|z_0h_0^\top| = \max|P_k(s'|s,a)/q(s')|`.

Every reported upper bound is *verified*: it is the max row norm of an explicit
factorization, recomputed from the factors (for the SDP, :math:`G = \mathrm{chol}(M)`).
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np

from .._results import Result
from ..certificates import KappaCertificate, SDPCheck
from ..cooccurrence import CoOccurrence
from ..errors import BoundInputError
from .constants import top_k

__all__ = ["Kappa", "kappa_k", "kappa_rescaled_curve", "whitened_factors", "SDP_MAX_ROWS",
           "SDP_MAX_K",
           "LOWER_MAX_ENTRIES"]

#: In auto mode the SDP (N_R LMIs of size k + 1) is attempted only up to N_R = SDP_MAX_ROWS
#: and k = SDP_MAX_K, and only when the rescaled factorization is above the lower bound.
SDP_MAX_ROWS = 200
SDP_MAX_K = 16
#: The lower bound max |z0 h0^T| is formed only up to this many entries.
LOWER_MAX_ENTRIES = 20_000_000


@dataclass(frozen=True, repr=False)
class Kappa(Result):
    """kappa_k by every method; ``value`` is the smallest verified upper bound."""

    k: int
    whitened: float
    balanced: float
    rescaled: float
    lower: float | None
    sdp: float | None
    value: float
    gap: float | None
    sdp_status: str
    seconds: float
    certificate: KappaCertificate = field(default_factory=KappaCertificate)

    @property
    def check(self) -> SDPCheck:
        """The bracket ``lower <= kappa_k <= value`` as the shared SDP record (``solver``
        CLARABEL when the SDP ran, else ``none``)."""
        ran = self.sdp_status not in ("skipped", "trivial")
        ok = self.certificate.lower_le_value
        return SDPCheck(solver="CLARABEL" if ran else "none", status=self.sdp_status,
                        lower=self.lower, upper=self.value,
                        gap=None if self.lower is None else self.value - self.lower,
                        verified=bool(ok) if ok is not None else self.k == 0,
                        seconds=self.seconds)


def whitened_factors(C: CoOccurrence, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(z0, h0, s)`` on the supports: :math:`z_0 = U_kS_k/\\sqrt\\nu`,
    :math:`h_0=V_k/\\sqrt q`."""
    kmax = min(C.n_left, C.n_right)
    if not 0 <= k <= kmax:
        raise BoundInputError(f"kappa_k: k = {k!r} must be in [0, {kmax}]")
    s, U, V = top_k(C, k)
    return U * s / np.sqrt(C.nu_L)[:, None], V / np.sqrt(C.q_R)[:, None], s


def _max_norm(X: np.ndarray) -> float:
    return float(np.sqrt(np.max(np.sum(X * X, axis=1)))) if X.size else 0.0


def _sdp(z0: np.ndarray, h0: np.ndarray) -> tuple[float | None, str, KappaCertificate]:
    import cvxpy as cp

    k = z0.shape[1]
    M = cp.Variable((k, k), symmetric=True)
    t = cp.Variable()
    tt = cp.reshape(t, (1, 1), order="F")
    cons = [cp.sum(cp.multiply(z0 @ M, z0), axis=1) <= t]
    # h_j M^{-1} h_j^T <= t  <=>  [[M, h_j^T], [h_j, t]] >= 0 (Schur), one small LMI per row
    cons += [cp.bmat([[M, h0[j:j + 1].T], [h0[j:j + 1], tt]]) >> 0 for j in range(h0.shape[0])]
    prob = cp.Problem(cp.Minimize(t), cons)
    try:
        prob.solve(solver=cp.CLARABEL)
    except Exception as exc:  # solver failures are reported, not raised: kappa has fallbacks
        return None, f"failed: {type(exc).__name__}: {exc}", KappaCertificate()
    if M.value is None or prob.status not in ("optimal", "optimal_inaccurate"):
        return None, str(prob.status), KappaCertificate()
    Mv = (M.value + M.value.T) / 2
    w, Q = np.linalg.eigh(Mv)
    if w.min() <= 0:
        w = np.maximum(w, w.max() * 1e-12)
    G = Q * np.sqrt(w)  # M = G G^T
    zG, hG = z0 @ G, h0 @ np.linalg.inv(G).T
    a, b = _max_norm(zG), _max_norm(hG)
    verified = float(np.sqrt(a * b))  # best rescale of the factorization (G c)
    return verified, str(prob.status), KappaCertificate(
        t=float(t.value), sqrt_t=float(np.sqrt(t.value)), verified_from_cholesky=verified)


def kappa_k(C: CoOccurrence, k: int, sdp: bool | None = None) -> Kappa:
    r"""kappa_k by the whitened, balanced, rescaled factorizations, the lower bound and the
    SDP (``sdp`` True: always; None: when small and the rescaled value is more than 0.1%
    above the lower bound, i.e. when the SDP can still lower it)."""
    t0 = time.perf_counter()
    z0, h0, s = whitened_factors(C, k)
    if k == 0:
        return Kappa(k=0, whitened=0.0, balanced=0.0, rescaled=0.0, lower=0.0, sdp=0.0,
                     value=0.0, gap=None, sdp_status="trivial", seconds=0.0)
    a, b = _max_norm(z0), _max_norm(h0)
    whitened, rescaled = max(a, b), float(np.sqrt(a * b))
    root = np.sqrt(np.maximum(s, 0.0))
    safe = np.where(root > 0, root, 1.0)
    balanced = max(_max_norm(z0 / safe), _max_norm(h0 * root))
    lower = None
    if z0.shape[0] * h0.shape[0] <= LOWER_MAX_ENTRIES:
        lower = float(np.sqrt(np.max(np.abs(z0 @ h0.T))))
    # auto: only when small, and only when it can help (rescaled above the lower bound)
    helps = lower is None or rescaled > lower * (1 + 1e-3)
    run = sdp if sdp is not None else (h0.shape[0] <= SDP_MAX_ROWS and k <= SDP_MAX_K
                                       and helps)
    val_sdp, status, cert = (None, "skipped", KappaCertificate())
    if run:
        val_sdp, status, cert = _sdp(z0, h0)
    uppers = [whitened, balanced, rescaled] + ([val_sdp] if val_sdp is not None else [])
    value = min(uppers)
    gap = value / lower if lower else None
    if lower is not None:
        cert = dataclasses.replace(cert, lower_le_value=bool(lower <= value * (1 + 1e-9)))
    return Kappa(k=int(k), whitened=whitened, balanced=balanced, rescaled=rescaled,
                 lower=lower, sdp=val_sdp, value=value, gap=gap, sdp_status=status,
                 seconds=time.perf_counter() - t0, certificate=cert)


def kappa_rescaled_curve(C: CoOccurrence, kmax: int, chunk: int = 262_144) -> np.ndarray:
    r"""Whitened-with-best-rescale :math:`\kappa` for every k = 0..kmax from one spectrum,
    in row chunks (memory O(chunk kmax)); entry k is
    :math:`\sqrt{\max_i\|z_{0,i,:k}\|\max_j\|h_{0,j,:k}\|}`."""
    s, U, V = top_k(C, kmax)

    def maxima(F: np.ndarray, scale: np.ndarray, col: np.ndarray) -> np.ndarray:
        best = np.zeros(kmax + 1)
        for i in range(0, F.shape[0], chunk):
            block = F[i:i + chunk] * col  # the one temporary of the chunk, updated in place
            block /= scale[i:i + chunk, None]
            np.square(block, out=block)
            np.cumsum(block, axis=1, out=block)
            best[1:] = np.maximum(best[1:], block.max(axis=0))
        return np.sqrt(best)

    a = maxima(U, np.sqrt(C.nu_L), s)
    b = maxima(V, np.sqrt(C.q_R), np.ones_like(s))
    return np.sqrt(a * b)
