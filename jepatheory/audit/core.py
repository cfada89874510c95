r"""Audit a trained JEPA world model against the exact operator it should have learned.

On a finite environment the co-occurrence matrix T (D2) and its action blocks
:math:`\bar A_a` are known exactly, so a model :math:`(z, h)` -- given as arrays, callables
or an encode/predict object (:mod:`jepatheory.audit.adapters`) -- can be compared with them.
With :math:`\Phi = D_\nu^{1/2}Z`, :math:`\Psi = D_q^{1/2}H` on the supports of ``C``:

* ``eps`` :math:`=\varepsilon(z,h)=\|T-\Phi\Psi^\top\|_F^2` (T1), ``tail_k``
  :math:`=\sum_{i>k}\sigma_i^2` and ``excess`` :math:`=\varepsilon-\mathrm{tail}_k\ge0`
  (T2: the excess is the loss gap :math:`L - L_k^*`);
* ``eps_per_action``: :math:`\varepsilon_a = \|\bar A_a - \Phi_a\Psi^\top\|_F^2` with
  :math:`\Phi_a = D_{p(\cdot|a)}^{1/2}Z_a` (THEORY P1), so that
  :math:`\sum_a p(a)\varepsilon_a = \varepsilon`; with the action spectra, ``tail_k_per_action``
  :math:`=\mathrm{tail}_k(\bar A_a)\le\varepsilon_a` (P2);
* ``principal_angles``: between the model's column spans (of :math:`\Phi` and :math:`\Psi`)
  and the top-k left/right singular subspaces of T (``"T"``) and of each :math:`\bar A_a`
  (``"abar"``), in radians, ascending, padded with :math:`\pi/2` where the model's span has
  dimension below k;
* ``collapse``: the singular values of :math:`E_q[hh^\top]=\Psi^\top\Psi` and
  :math:`E_\nu[zz^\top]`, and the model's own singular values (those of
  :math:`\Phi\Psi^\top`, basis-free); the model is flagged ``collapsed`` when fewer of them
  exceed ``collapse_tol`` than of the top-k singular values of T;
* ``ladder`` and ``R0``: the T3 ladder of the projected planner
  (:func:`jepatheory.bounds.regret_ladder`; R0 measured exactly by policy evaluation in the
  true MDP), and the measured regret of the planner of choice
  (:func:`jepatheory.sim.planners.plan`);
* ``certificate``: the data-only robust certificate (THEORY K3,
  :func:`jepatheory.certify.robust.robust_certificate` at delta = 0.05, valid for every
  policy at once) of the planner's policy when data are given, else None with
  ``certificate_reason``;
* ``rankme``, ``alpha_req``, ``lidar`` (:mod:`jepatheory.audit.diagnostics`) on the target
  embeddings under q (and ``rankme_z`` on the predictions under nu).

Every theory quantity above (eps, eps_a, excess, the angles, the model singular values, the
ladder, R0) is invariant under :math:`(z,h)\to(zG, hG^{-\top})` for invertible G; the three
practitioners' diagnostics and the raw covariance spectra are not.

Cost: sparse products with T and k x k algebra only (no N x N matrix); the spectrum of T is
the one cached in ``C``. The per-action spectra (one sparse SVD per action) and the ladder
(dense kernels) are computed by default only on small problems (``action_spectra`` and
``ladder`` None).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._results import Result
from ..cooccurrence import CoOccurrence
from ..errors import ModelInputError
from ..model import DENSE_MODEL_MAX
from ..sampling import Dataset
from ..spectrum import DENSE_MAX_ENTRIES, top_singular
from .adapters import embeddings_of
from .diagnostics import alpha_req, lidar, rankme

__all__ = [
    "COLLAPSE_TOL",
    "Audit",
    "audit",
    "eps_per_action",
    "model_singular_values",
    "principal_angles",
]

#: A model singular value (T's scale: sigma_1(T) = 1) at or below this counts as collapsed.
#: confidence of the data-only certificate (THEORY K3)
CERTIFICATE_DELTA = 0.05
COLLAPSE_TOL = 1e-3


@dataclass(frozen=True, repr=False)
class Audit(Result):
    """The audit of one model (see the module docstring for each field)."""

    env: str
    k: int
    eps: float
    eps_per_action: NDArray[np.float64]
    tail_k: float
    excess: float
    tail_k_per_action: NDArray[np.float64] | None
    principal_angles: dict[str, Any]
    collapse: dict[str, Any]
    rankme: float
    rankme_z: float
    alpha_req: float
    lidar: float
    collapsed: bool
    max_angle_T: float
    planner: str
    R0: float | None
    ladder: dict[str, Any] | None
    certificate: Any
    certificate_reason: str | None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    _hidden = ("principal_angles", "collapse", "ladder", "notes")


def _orthonormal(A: NDArray, rel_tol: float = 1e-10) -> NDArray:
    """Orthonormal basis of the column span of A (rank by the Gram eigenvalues)."""
    if A.size == 0:
        return np.zeros((A.shape[0], 0))
    G = A.T @ A
    lam, W = np.linalg.eigh((G + G.T) / 2)
    top = lam.max(initial=0.0)
    keep = lam > rel_tol * top if top > 0 else np.zeros_like(lam, dtype=bool)
    if not keep.any():
        return np.zeros((A.shape[0], 0))
    Q = A @ (W[:, keep] / np.sqrt(lam[keep]))
    Q, _ = np.linalg.qr(Q)  # one more pass for orthogonality at full accuracy
    return Q


def principal_angles(A: NDArray, B_orth: NDArray) -> NDArray[np.float64]:
    r"""Principal angles (ascending, radians) between span(A) and the orthonormal ``B_orth``
    (k columns); :math:`\pi/2` for each dimension span(A) lacks. Small angles from the sines
    :math:`\|(I-BB^\top)Q\|`, large ones from the cosines (accurate at both ends)."""
    k = B_orth.shape[1]
    Q = _orthonormal(A)
    p = min(Q.shape[1], k)
    out = np.full(k, math.pi / 2)
    if p == 0:
        return out
    M = B_orth.T @ Q
    cos = np.clip(np.linalg.svd(M, compute_uv=False)[:p], 0.0, 1.0)
    sin = np.clip(np.sort(np.linalg.svd(Q - B_orth @ M, compute_uv=False))[:p], 0.0, 1.0)
    if Q.shape[1] > k:  # span(A) larger than B: the residual sines are not the angles
        ang = np.arccos(cos)
    else:
        ang = np.where(cos ** 2 > 0.5, np.arcsin(sin), np.arccos(cos))
    out[:p] = np.sort(ang)
    return out


def _psd_sqrt(A: NDArray) -> NDArray:
    lam, W = np.linalg.eigh((A + A.T) / 2)
    return (W * np.sqrt(np.clip(lam, 0.0, None))) @ W.T


def model_singular_values(Phi: NDArray, Psi: NDArray) -> NDArray[np.float64]:
    r"""Singular values of :math:`\Phi\Psi^\top` from the k x k Gram matrices:
    those of :math:`(\Phi^\top\Phi)^{1/2}(\Psi^\top\Psi)^{1/2}`."""
    return np.linalg.svd(_psd_sqrt(Phi.T @ Phi) @ _psd_sqrt(Psi.T @ Psi), compute_uv=False)


def _phi_psi(C: CoOccurrence, z: NDArray, h: NDArray) -> tuple[NDArray, NDArray]:
    return np.sqrt(C.nu_L)[:, None] * z[C.left], np.sqrt(C.q_R)[:, None] * h[C.right]


def eps_per_action(C: CoOccurrence, z: NDArray, h: NDArray) -> NDArray[np.float64]:
    r""":math:`\varepsilon_a = \|\bar A_a\|_F^2 - 2\,\mathrm{tr}(\Phi_a^\top\bar A_a\Psi)
    + \mathrm{tr}(\Phi_a^\top\Phi_a\,\Psi^\top\Psi)` per action (P1; NaN when p(a) = 0)."""
    Phi, Psi = _phi_psi(C, z, h)
    PsiG = Psi.T @ Psi
    TPsi = C.T @ Psi
    out = np.full(C.mdp.n_actions, np.nan)
    Tdata = C.T.multiply(C.T).sum(axis=1)
    row_sq = np.asarray(Tdata).ravel()
    for a in range(C.mdp.n_actions):
        rows = C.action_rows(a)
        pa = C.p_action(a)
        if pa <= 0 or rows.size == 0:
            continue
        # Abar_a = T_a / sqrt(pa) and Phi_a = Phi_rows / sqrt(pa): eps_a = ||T_a - ...||^2/pa
        Pr = Phi[rows]
        val = (row_sq[rows].sum() - 2 * float(np.sum(Pr * TPsi[rows]))
               + float(np.sum((Pr.T @ Pr) * PsiG))) / pa
        out[a] = max(val, 0.0)
    return out


def _certificate(C: CoOccurrence, ds: Dataset | None, pi_hat: NDArray | None
                 ) -> tuple[Any, str | None]:
    if ds is None:
        return None, ("no data given (pass ds=, or --n on the command line, for the data-only "
                      "certificate)")
    if pi_hat is None:
        return None, "no planner policy (the ladder was skipped on this size)"
    from ..certify.robust import robust_certificate, weissman_sets
    # K3: valid for every policy at once with probability >= 1 - delta, the planner's included
    return robust_certificate(weissman_sets(ds, CERTIFICATE_DELTA), C.mdp, pi_hat), None


def audit(C: CoOccurrence, model: Any, *, planner: str = "projected",
          ds: Dataset | None = None, ladder: bool | None = None,
          action_spectra: bool | None = None, labels: Any = None,
          collapse_tol: float = COLLAPSE_TOL, seed: int = 0, batch: int = 4096) -> Audit:
    """Audit ``model`` on the environment of ``C`` (see the module docstring).

    Parameters
    ----------
    C : the exact :class:`CoOccurrence` of the environment and data distribution.
    model : ``(z, h)`` arrays, :class:`~jepatheory.model.Embeddings`, a ``{"z", "h"}``
        mapping, :func:`~jepatheory.audit.adapters.from_callables` or an encode/predict
        object (:mod:`jepatheory.audit.adapters`).
    planner : ``projected``, ``latent`` or ``cem`` (R0 of this planner).
    ds : training data (for the data-only certificate).
    ladder, action_spectra : None = only when small (dense model at most
        ``DENSE_MODEL_MAX`` entries; per-action SVDs on the dense path).
    labels : class of each state for LiDAR (default ``mdp.meta["latent_of"]`` if present).
    """
    from ..sim.planners import PLANNERS, plan
    from ..solvers import optimal_policy, policy_evaluation

    if planner not in PLANNERS:
        raise ModelInputError(f"planner {planner!r}: known planners are {', '.join(PLANNERS)}")
    if not (collapse_tol > 0 and math.isfinite(collapse_tol)):
        raise ModelInputError(f"collapse_tol = {collapse_tol!r} must be positive and finite")
    t0 = time.perf_counter()
    mdp = C.mdp
    emb = embeddings_of(mdp, model, batch=batch)
    z, h = emb.z, emb.h
    k = emb.k
    notes: list[str] = []
    N, m = mdp.n_states, mdp.n_actions
    Phi, Psi = _phi_psi(C, z, h)

    # eps, tail, excess (T1, T2)
    from ..model import factorization_error
    eps = factorization_error(C, z, h)
    k_spec = min(k, C.n_left, C.n_right)
    spec = C.spectrum(k_spec)
    tail = spec.tail_k(k_spec)
    eps_a = eps_per_action(C, z, h)

    # principal angles against T
    U, V = spec.U[:, :k_spec], spec.V[:, :k_spec]
    angles: dict[str, Any] = {"T": {"left": principal_angles(Phi, U),
                                        "right": principal_angles(Psi, V)}}
    small = C.n_left * C.n_right <= DENSE_MAX_ENTRIES
    do_actions = small if action_spectra is None else bool(action_spectra)
    tail_a = None
    if do_actions:
        per, tails = [], np.full(m, np.nan)
        for a in range(m):
            rows = C.action_rows(a)
            pa = C.p_action(a)
            if pa <= 0 or rows.size == 0:
                per.append(None)
                continue
            A = C.abar(a)
            ka = min(k, A.shape[0], A.shape[1])
            sa = top_singular(A, ka, seed=seed)
            tails[a] = sa.tail_k(ka)
            per.append({"left": principal_angles(Phi[rows], sa.U[:, :ka]),
                            "right": principal_angles(Psi, sa.V[:, :ka])})
        angles["abar"] = per
        tail_a = tails
    else:
        angles["abar"] = None
        notes.append("per-action spectra skipped (large problem; pass action_spectra=True)")

    # collapse (basis-free model singular values; raw covariance spectra)
    msv = model_singular_values(Phi, Psi)
    sv_h = np.linalg.svd(Psi.T @ Psi, compute_uv=False)
    sv_z = np.linalg.svd(Phi.T @ Phi, compute_uv=False)
    rank_model = int(np.sum(msv > collapse_tol))
    rank_T = int(np.sum(spec.singular_values[:k_spec] > collapse_tol))
    collapse = {"collapsed": bool(rank_model < rank_T), "complete": bool(rank_model == 0),
                    "model_rank": rank_model, "T_rank": rank_T, "model_singular_values": msv,
                    "sv_h": sv_h, "sv_z": sv_z, "tol": float(collapse_tol)}

    # practitioners' diagnostics on the population embeddings
    if labels is None:
        labels = mdp.meta.get("latent_of")
    hR = h[C.right]
    lab_R = None if labels is None else np.asarray(labels).ravel()[C.right]
    diag = {"rankme": rankme(hR, C.q_R), "rankme_z": rankme(z[C.left], C.nu_L),
                "alpha_req": alpha_req(hR, C.q_R), "lidar": lidar(hR, lab_R, C.q_R)}

    # ladder and R0
    dense_ok = N * m * N <= DENSE_MODEL_MAX
    do_ladder = dense_ok if ladder is None else bool(ladder)
    lad = R0 = pi_hat = None
    if do_ladder:
        if not dense_ok:
            raise ModelInputError(f"ladder: {N} states x {m} actions is too large for the "
                                  "dense ladder")
        from ..bounds.ladder import regret_ladder
        pi_star = optimal_policy(mdp).policy
        L = regret_ladder(C, z, h, pi_star=pi_star)
        L.check()
        lad = L.to_dict()
        pi_hat = L.pi_hat
        if planner == "projected":
            R0 = float(L.R0)
        else:
            out = plan(planner, mdp, z, h, C.q, seed=seed)
            R0 = float(L.V_star - mdp.rho0 @ policy_evaluation(mdp, out.policy))
    else:
        notes.append("ladder and R0 skipped (dense model too large; pass ladder=True)")
    cert, reason = _certificate(C, ds, pi_hat)
    return Audit(env=mdp.name, k=k, eps=float(eps), eps_per_action=eps_a, tail_k=float(tail),
                 excess=float(eps - tail), tail_k_per_action=tail_a, principal_angles=angles,
                 collapse=collapse, collapsed=collapse["collapsed"],
                 max_angle_T=float(max(angles["T"]["left"].max(initial=0.0),
                                       angles["T"]["right"].max(initial=0.0))),
                 planner=planner, R0=R0, ladder=lad, certificate=cert,
                 certificate_reason=reason, notes=notes,
                 seconds=time.perf_counter() - t0, **diag)
