r"""JEPA losses and anti-collapse terms in torch (THEORY D3).

* :func:`spectral_loss` -- the minibatch U-statistic of the spectral JEPA loss (D3),
  :math:`\hat L_B = -\frac2B\sum_i z_i\cdot h_i + \frac1{B(B-1)}\sum_{i\ne j}(z_i\cdot h_j)^2`,
  computed in :math:`O(Bk^2)` as in :func:`jepatheory.sim.trainers.spectral_batch_grad`;
  it is its own anti-collapse term (its minimizers are the truncated SVD, T2).
* :func:`whitening_penalty` -- :math:`\|E_B[hh^\top] - I_k\|_F^2`, uncentred: the
  whitening constraint :math:`E_q[hh^\top] = I_k` of the l2 loss (D3, C1).
* :func:`vicreg_terms` -- VICReg's variance and covariance terms (Bardes, Ponce, LeCun,
  ICLR 2022): :math:`v = \frac1k\sum_j \max(0, 1 - \sqrt{\mathrm{Var}(h_j) + 10^{-4}})` and
  :math:`c = \frac1k\sum_{i\ne j}\mathrm{Cov}(h)_{ij}^2` (centred).
* :func:`sigreg` -- SIGReg, the sketched isotropic Gaussian regularizer of LeJEPA
  (Balestriero and LeCun, 2025): for M random unit directions :math:`a_j` the projections
  :math:`u = Ha_j` are compared with N(0,1) by the Epps-Pulley statistic

  .. math:: \mathrm{EP}(a) = B\int \big|\hat\varphi_a(t) - e^{-t^2/2}\big|^2 e^{-t^2/2}\,dt,
     \qquad \hat\varphi_a(t) = \frac1B\sum_i e^{\mathrm{i} t u_i},

  by the trapezoid rule on ``n_knots`` points of :math:`[-t_{\max}, t_{\max}]`
  (:math:`|\hat\varphi - \varphi|^2 = (\overline{\cos tu} - e^{-t^2/2})^2 +
  \overline{\sin tu}^2`), averaged over the directions, which are redrawn every step from
  the seeded generator.

VICReg's and SIGReg's targets are centred: their embeddings cannot carry the constant
singular function of T (F1), so the trainers fix that coordinate (see
:mod:`jepatheory.torch.trainers`).
"""
from __future__ import annotations

from typing import Any

from .._optional import require

torch = require("torch")

__all__ = ["l2_prediction", "sigreg", "spectral_loss", "vicreg_terms", "whitening_penalty"]


def spectral_loss(Z: Any, H: Any) -> Any:
    """Minibatch U-statistic spectral loss (D3)."""
    B = Z.shape[0]
    d = (Z * H).sum(1)
    quad = ((Z.T @ Z) * (H.T @ H)).sum() - (d * d).sum()
    return -2 * d.sum() / B + quad / (B * (B - 1))


def l2_prediction(Z: Any, H: Any) -> Any:
    """:math:`\\frac1B\\sum_i\\|z_i - h_i\\|^2`."""
    return ((Z - H) ** 2).sum(1).mean()


def whitening_penalty(H: Any) -> Any:
    """:math:`\\|H^\\top H/B - I\\|_F^2` (uncentred)."""
    B, k = H.shape
    M = H.T @ H / B - torch.eye(k, dtype=H.dtype, device=H.device)
    return (M * M).sum()


def vicreg_terms(H: Any) -> tuple[Any, Any]:
    """VICReg (variance, covariance) terms of the batch ``H`` (centred)."""
    B, k = H.shape
    Hc = H - H.mean(0, keepdim=True)
    std = torch.sqrt(Hc.var(0) + 1e-4)
    var = torch.relu(1 - std).mean()
    cov = Hc.T @ Hc / (B - 1)
    off = cov - torch.diag(torch.diag(cov))
    return var, (off * off).sum() / k


def sigreg(H: Any, generator: Any, n_proj: int = 16, t_max: float = 5.0,
           n_knots: int = 17) -> Any:
    """SIGReg: the Epps-Pulley statistic against N(0,1), averaged over ``n_proj`` random
    directions drawn from ``generator`` (see the module docstring)."""
    B, k = H.shape
    A = torch.randn(k, n_proj, generator=generator, dtype=H.dtype, device="cpu").to(H.device)
    A = A / A.norm(dim=0, keepdim=True)
    U = H @ A                                             # (B, n_proj)
    t = torch.linspace(-t_max, t_max, n_knots, dtype=H.dtype, device=H.device)
    tu = U[:, :, None] * t[None, None, :]                 # (B, n_proj, n_knots)
    phi = torch.exp(-t * t / 2)
    err = (torch.cos(tu).mean(0) - phi) ** 2 + torch.sin(tu).mean(0) ** 2
    integrand = err * phi                                 # weight e^{-t^2/2}
    ep = B * torch.trapezoid(integrand, t, dim=-1)        # (n_proj,)
    return ep.mean()
