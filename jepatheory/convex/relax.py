r"""Certified bounds on min eps for constrained JEPA architectures (THEORY T6).

Architectures, all written on the coordinates of T (D2), block ``T_a`` = the rows of T
with action ``a`` laid out on all N states (zero rows/columns outside the supports):

* ``free`` (T2): :math:`T \approx \Phi\Psi^\top` of rank k;
  :math:`\min\varepsilon = \mathrm{tail}_k`.
* ``shared`` context encoder with a linear action-conditioned predictor:
  :math:`T_a \approx F W_a G^\top` (F shared by all actions, G the target encoder);
* ``tied`` encoder (h = f) with a linear predictor per action:
  :math:`T_a \approx F W_a F^\top`, i.e. :math:`\bar A_a \approx F W_a F^\top` (T6).

On raw encoders this is the model ``z(s,a) = W_a^T f(s)`` with the tie/sharing taken in the
whitened coordinates; it is *exactly* h = f only when :math:`\nu(s,a) = q(s)\,p(a)` (tied)
and exactly a shared f only when :math:`\nu(s,a)=\nu_S(s)\,p(a)` (shared). Uniform nu
breaks the tied condition whenever q is not uniform. The bounds below are always bounds for
the whitened classes; ``relax(..., coordinates="raw")`` checks the condition
(:func:`raw_condition_gap`) and raises
:class:`~jepatheory.errors.RawArchitectureError` naming it when it fails.
For orthonormal F, G (projectors :math:`Q_L=FF^\top, Q_R=GG^\top`) the best W_a gives

.. math::

    \min\varepsilon = \|T\|_F^2 - \max_{Q_L,Q_R}\sum_a \|Q_L T_a Q_R\|_F^2
    \qquad (Q_L = Q_R \text{ when tied}).

**Relaxation** (lower bound on min eps). With :math:`A_a=T_a^\top T_a`,
:math:`B_a=T_aT_a^\top` and :math:`Q\preceq I`,
:math:`\|Q_LT_aQ_R\|_F^2\le\min(\operatorname{tr}A_aQ_R,\operatorname{tr}B_aQ_L)`; replacing
projectors by the Fantope :math:`\mathcal F_k` gives the concave maximization below.
(Maximizing :math:`\sum_a\|X T_a X\|_F^2` itself over the Fantope is *not* a convex
problem: it maximizes a convex function. Convexity comes from the concave majorant
:math:`\min(\operatorname{tr}A_aX_R,\operatorname{tr}B_aX_L)`, which equals an upper
bound of the objective on projectors.)

.. math::

    \rho = \max_{X_L,X_R\in\mathcal F_k}\sum_a \min(\operatorname{tr}A_aX_R,
    \operatorname{tr}B_aX_L)
    = \min_{\lambda\in[0,1]^m} g(\lambda),

    g_{\rm shared}(\lambda) = \mathrm{KF}_k\Big(\sum_a\lambda_aA_a\Big)
      + \mathrm{KF}_k\Big(\sum_a(1-\lambda_a)B_a\Big),\quad
    g_{\rm tied}(\lambda) = \mathrm{KF}_k\Big(\sum_a\lambda_aA_a+(1-\lambda_a)B_a\Big)

(minimax over compact convex sets; KF_k = sum of the top-k eigenvalues, Ky Fan). Any
:math:`\lambda` in the box gives the **verified** lower bound
:math:`\|T\|_F^2-g(\lambda)\le\min\varepsilon`, checked by one eigendecomposition and
independent of the solver; any Fantope point gives a primal value, and their difference is
the duality gap. Since :math:`g(\mathbf 1)=\mathrm{KF}_k(T^\top T)`, the bound is never
below tail_k; for ``free`` it equals tail_k (T2, tight).

**Commutator cut** (tighter; default for ``tied``). Expanding the square, for projectors

.. math::

    \|Q_LT_aQ_R\|_F^2 = f_{a3} := \tfrac12\big(\operatorname{tr}B_aQ_L
    +\operatorname{tr}A_aQ_R\big) - \tfrac12\|Q_LT_a-T_aQ_R\|_F^2 ,

linear minus a convex square, so concave on all symmetric matrices and *exact* on
projectors (the linear pieces only bound). The relaxation
:math:`\max_{X\in\mathcal F_k}\sum_a\min(f_{a1},f_{a2},f_{a3})` is a second-order cone
and PSD program; its verified bound (:func:`dual_bound`) is, for any weights
:math:`w_a` in the simplex and any anchor :math:`X^0`,
:math:`\sum_{a,j}w_{aj}[f_{aj}(X^0)-\langle\nabla f_{aj}(X^0),X^0\rangle]` plus Ky Fan
sums of :math:`\sum w_{aj}\nabla f_{aj}(X^0)` (tangent planes of concave functions lie
above them). With :math:`w_{a3}=0` this is :math:`g(\lambda)`. It is solved after the
linear relaxation, warm-started from it, and kept only where it is smaller, so it never
loosens the bound. Measured gains: 35-40% of the gap on random sparse MDPs, 50% on
four-rooms at k = 4, little on chains and grids, whose spectra come in degenerate pairs
that a fractional X averages over.

**Upper bound**: the error of an actual model (alternating least squares for ``shared``,
Riemannian gradient ascent with backtracking for ``tied``, truncated SVD for ``free``).
``gap = upper - lower`` certifies min eps to within ``gap``. Proof: ``proofs/T6.md``.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._results import Result
from ..certificates import SDPCheck
from ..cooccurrence import CoOccurrence
from ..errors import MethodFallbackWarning, RawArchitectureError, SolverError
from .errors import ConvexInputError
from .fantope import fantope_violation, ky_fan, project_fantope
from ._dual import action_blocks, dual_bound, grams, lam_weights, model_error, phi, polish_lambda
from ._dual import g_bound as _g  # noqa: F401 - compatibility (tests)
from ._dual import grams as _grams  # noqa: F401 - compatibility (tests)
from ._dual import pieces as _pieces  # noqa: F401 - compatibility (tests)
from ._primal import first_order, upper_bound_model
from ._sdp import SubspaceSolution, subspace_sdp

__all__ = ["ARCHS", "METHODS", "RELAXATIONS", "SDP_FULL_MAX_N", "SDP_MAX_N",
           "RelaxationCertificate", "ArchitectureGap", "relax", "architecture_gap", "dual_bound",
           "action_blocks", "model_error", "raw_condition_gap", "check_raw_architecture",
           "SubspaceSolution"]

ARCHS = ("free", "shared", "tied")


METHODS = ("auto", "sdp", "sdp-full", "first-order")


#: ``"commutator"``: the Fantope relaxation tightened by the commutator piece (default);
#: ``"fantope"``: the linear pieces only (Ky Fan dual g(lambda))
RELAXATIONS = ("auto", "commutator", "fantope")


#: above this many states even the subspace SDP's dense eigendecompositions are
#: impractical: ``method="auto"`` falls back to the first-order method and says so
SDP_MAX_N = 1500


#: above this many states the full N x N Fantope SDP is impractical (90 s at N = 104 for
#: the free architecture with Clarabel, memory ~ N^4): ``"sdp-full"`` uses the subspace SDP
SDP_FULL_MAX_N = 60


@dataclass(frozen=True, repr=False)
class RelaxationCertificate(Result):
    r"""Verified bounds ``lower <= min eps_arch <= upper`` (T6).

    Fields: ``tail`` = tail_k (T2); ``lower`` = :math:`\|T\|_F^2 - g(\lambda)` (verified by
    eigenvalues); ``upper`` = eps of the best model found; ``gap = upper - lower``;
    ``relaxation_primal`` = :math:`\|T\|_F^2 -` (relaxation value at the solver's point
    projected onto the Fantope); ``duality_gap`` = relaxation_primal - lower (>= 0, the
    accuracy of the convex solve); ``primal_residual`` (Fantope and epigraph violation of
    the raw solver point); ``dual_residual`` (violation of
    :math:`\lambda_a+\mu_a=1,\ \lambda,\mu\ge0` by the raw multipliers);
    ``min_eig_psd`` (smallest eigenvalue of the PSD blocks X, I - X at the raw point);
    ``verified`` = duality gap within ``tol`` and tail <= lower <= upper (within ``tol``);
    ``relaxation`` = the relaxation whose bound ``lower`` is (``fantope`` or
    ``commutator``); ``fantope_lower`` = the bound of the linear relaxation alone;
    ``cut_duality_gap``/``cut_rounds`` = accuracy and subspace rounds of the commutator
    relaxation; ``weights`` (m x 3) and ``anchor_left/right`` re-derive
    ``lower`` by :func:`dual_bound`.
    """

    arch: str
    k: int
    n_states: int
    n_actions: int
    method: str
    relaxation: str
    solver: str
    status: str
    frobenius_sq: float
    tail: float
    lower: float
    upper: float
    gap: float
    relaxation_primal: float
    duality_gap: float
    primal_residual: float
    dual_residual: float
    min_eig_psd: float
    tol: float
    verified: bool
    seconds: float
    rounds: int = 1
    fantope_lower: float = float("nan")
    cut_duality_gap: float = float("nan")
    cut_rounds: int = 0
    note: str = ""
    lam: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    weights: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 3)))
    anchor_left: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 0)))
    anchor_right: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 0)))
    _hidden = ("lam", "weights", "anchor_left", "anchor_right")

    @property
    def check(self) -> SDPCheck:
        """``lower <= min eps_arch <= upper`` as the shared SDP record."""
        return SDPCheck(solver=self.solver, status=self.status, lower=self.lower,
                        upper=self.upper, gap=self.gap, verified=self.verified,
                        seconds=self.seconds)


@dataclass(frozen=True, repr=False)
class ArchitectureGap(Result):
    r"""Bounds on the architecture gap :math:`\min\varepsilon_{\rm arch} - \mathrm{tail}_k`
    (>= 0): ``lower <= gap <= upper`` (T6), for the ladder and the bound calculator, which
    may add ``upper`` to tail_k wherever T2's tail_k assumed the free architecture."""

    arch: str
    k: int
    tail: float
    lower: float
    upper: float
    verified: bool
    certificate: RelaxationCertificate


def raw_condition_gap(C: CoOccurrence, arch: str) -> float:
    r"""How far ``nu`` is from the condition under which the whitened ``arch`` model is the
    raw-encoder architecture (T6): :math:`\max_{s,a}|\nu(s,a) - q(s)p(a)|` for ``tied``,
    :math:`\max_{s,a}|\nu(s,a) - \nu_S(s)p(a)|` for ``shared`` (0 for ``free``).

    >>> from jepatheory.envs import ring
    >>> raw_condition_gap(CoOccurrence(ring(10, 0.2)), "tied") < 1e-12
    True
    """
    if arch not in ARCHS:
        raise ConvexInputError(f"arch: expected one of {ARCHS}, got {arch!r}")
    if arch == "free":
        return 0.0
    nu = C.nu
    p_a = nu.sum(axis=0)
    marginal = C.q if arch == "tied" else nu.sum(axis=1)
    return float(np.max(np.abs(nu - np.outer(marginal, p_a))))


def check_raw_architecture(C: CoOccurrence, arch: str, tol: float = 1e-9) -> None:
    """Raise :class:`~jepatheory.errors.RawArchitectureError` unless the whitened ``arch``
    model equals the raw-encoder architecture for this ``nu`` (within ``tol``)."""
    gap = raw_condition_gap(C, arch)
    if gap > tol:
        cond = "nu(s,a) = q(s) p(a)" if arch == "tied" else "nu(s,a) = nu_S(s) p(a)"
        raise RawArchitectureError(
            f"arch={arch!r} in raw coordinates needs {cond} (T6); here max |difference| = "
            f"{gap:.3g}: use coordinates='whitened' for the whitened {arch} class")


def _check(arch: str, k: int, N: int) -> None:
    if arch not in ARCHS:
        raise ConvexInputError(f"arch: expected one of {ARCHS}, got {arch!r}")
    if int(k) != k or not 1 <= k < N:
        raise ConvexInputError(f"k: expected an integer in [1, {N - 1}], got {k!r}")


# ---------------------------------------------------------------------- main entry
def relax(C: CoOccurrence, k: int, arch: str = "tied", *, method: str = "auto",
          relaxation: str = "auto", solver: str = "auto", tol: float | None = None,
          seed: int = 0, iters: int = 2000, cut_rounds_max: int = 10,
          coordinates: str = "whitened") -> RelaxationCertificate:
    r"""Certified bounds on :math:`\min\varepsilon` of architecture ``arch`` at rank ``k``
    (THEORY T6; ``proofs/T6.md``).

    Parameters
    ----------
    C : CoOccurrence
    k : latent dimension
    arch : ``"free"``, ``"shared"`` or ``"tied"`` (see the module docstring)
    method : ``"sdp"`` (the relaxation as an SDP restricted to subspaces refreshed from the
        dual, CVXPY; Clarabel, SCS fallback), ``"sdp-full"`` (the textbook N x N Fantope
        SDP, up to :data:`SDP_FULL_MAX_N` states), ``"first-order"`` (primal-dual projected
        gradient on the Fantope, same verified dual certificate; linear pieces only) or
        ``"auto"`` (``"sdp"`` up to :data:`SDP_MAX_N` states, first-order above, with a
        note saying so)
    relaxation : ``"fantope"`` (the linear pieces, dual g(lambda)), ``"commutator"`` (then
        tightened by the commutator cut, warm-started, at most ``cut_rounds_max`` subspace
        rounds; kept where it is smaller) or ``"auto"`` (commutator for ``tied``; fantope
        for ``shared``, where the cut couples both encoders and costs ~10x more)
    solver : ``"auto"``, ``"CLARABEL"`` or ``"SCS"``
    tol : tolerance of the verification, relative to max(1, ||T||_F^2); default 1e-6 for
        the SDP, 1e-3 for the first-order method (O(1/t) convergence)
    iters : iterations of the first-order method
    coordinates : ``"whitened"`` (the tie/sharing in the coordinates of T, any nu) or
        ``"raw"`` (the raw-encoder architecture h = f / shared f: the same computation,
        allowed only when :func:`check_raw_architecture` passes)

    Returns
    -------
    RelaxationCertificate
        ``tail <= lower <= min eps_arch <= upper``; ``lower`` is verified by eigenvalues:
        ``lower = ||T||_F^2 - dual_bound(arch, blocks, k, weights, anchor_left,
        anchor_right)``. ``relaxation`` names the relaxation whose bound is reported;
        ``duality_gap`` is that of the linear relaxation (verified within ``tol``),
        ``cut_duality_gap`` that of the commutator relaxation (NaN if not run).

    Raises
    ------
    ConvexInputError
        unknown arch, method or coordinates, k out of range.
    RawArchitectureError
        ``coordinates="raw"`` and nu violates the condition of the architecture.
    SolverError
        the SDP solver failed or reported an infeasible/unbounded problem.
    """
    t0 = time.perf_counter()
    N, m = C.mdp.n_states, C.mdp.n_actions
    _check(arch, k, N)
    if coordinates not in ("whitened", "raw"):
        raise ConvexInputError(f"coordinates: expected 'whitened' or 'raw', got {coordinates!r}")
    if coordinates == "raw":
        check_raw_architecture(C, arch)
    if method not in METHODS:
        raise ConvexInputError(f"method: expected one of {METHODS}, got {method!r}")
    if relaxation not in RELAXATIONS:
        raise ConvexInputError(f"relaxation: expected one of {RELAXATIONS}, got {relaxation!r}")
    blocks = action_blocks(C)
    A, B = grams(blocks)
    fro = float(np.sum(blocks ** 2))
    sv2 = np.clip(np.linalg.eigvalsh(A.sum(0))[::-1], 0, None)  # sigma_i^2
    tail = float(np.sum(sv2[k:]))
    note = ""
    rounds = 1
    if method == "auto":
        method = "sdp" if N <= SDP_MAX_N else "first-order"
        if method == "first-order":
            note = (f"SDP impractical above N = {SDP_MAX_N} states (N = {N}); used projected "
                    "gradient on the Fantope with its own dual certificate")
            warnings.warn(note, MethodFallbackWarning, stacklevel=2)
    if method == "sdp-full" and N > SDP_FULL_MAX_N:
        note = (f"full-size SDP impractical above N = {SDP_FULL_MAX_N} states (N = {N}, "
                "memory ~ N^4); used the subspace SDP")
        warnings.warn(note, MethodFallbackWarning, stacklevel=2)
        method = "sdp"
    tol_ = tol if tol is not None else (1e-3 if method == "first-order" else 1e-6)
    if method in ("sdp", "sdp-full"):
        sol = subspace_sdp(arch, blocks, A, B, k, solver, tol_ / 10, False,
                            full=method == "sdp-full")
        (XLp, XRp), w, dual = sol.point, sol.weights, sol.dual
        used, status, rounds = sol.used, sol.status, sol.rounds
        pres, dres, mineig = sol.primal_residual, sol.dual_residual, sol.min_eig_psd
    else:
        XL, XR, lam = first_order(arch, A, B, k, iters, seed)
        used, status = "projected-gradient", "done"
        pres, mineig = fantope_violation(XR, k)
        dres = 0.0
        rounds = iters
        XRp = project_fantope(XR, k)
        XLp = XRp if arch == "tied" else project_fantope(XL, k)
        w = lam_weights(lam)
        dual = np.inf
    primal = phi(arch, XLp, XRp, blocks, A, B, False)
    # the Ky Fan bound g(lambda) polished coordinatewise: the smaller bound is kept
    lam, g = polish_lambda(arch, w[:, 0].copy(), A, B, k)
    if g < dual:
        dual, w = g, lam_weights(lam)
    if arch == "free":
        dual = ky_fan(A.sum(0), k)
    dgap = dual - primal
    fantope_lower = fro - dual
    zero = np.zeros((N, N))
    anchors, points, used_rel = (zero, zero), [(XLp, XRp)], "fantope"
    cut_dgap, cut_rounds = float("nan"), 0
    if relaxation == "auto":
        relaxation = "commutator" if arch == "tied" else "fantope"
    if relaxation == "commutator" and arch != "free" and method != "first-order":
        try:
            with warnings.catch_warnings():  # the bound is verified by eigenvalues anyway
                warnings.filterwarnings("ignore", message="Solution may be inaccurate")
                cut = subspace_sdp(arch, blocks, A, B, k, solver, tol_ / 10, True,
                                    full=method == "sdp-full", rounds=cut_rounds_max,
                                    start=(w, XLp, XRp))
                (XLc, XRc), wc, anchor_c = cut.point, cut.weights, cut.anchor
                dual_c, cut_rounds = cut.dual, cut.rounds
        except SolverError as exc:
            note = (note + "; " if note else "") + f"commutator cut not used: {exc}"
        else:
            cut_dgap = dual_c - phi(arch, XLc, XRc, blocks, A, B, True)
            points.append((XLc, XRc))
            if dual_c < dual:
                dual, w, anchors, used_rel = dual_c, wc, anchor_c, "commutator"
    lower = fro - dual
    upper = min(upper_bound_model(arch, blocks, k, points, seed), fro)
    scale = max(1.0, fro)
    verified = bool(dgap <= tol_ * scale and tail <= lower + tol_ * scale
                    and lower <= upper + tol_ * scale)
    return RelaxationCertificate(
        arch=arch, k=int(k), n_states=N, n_actions=m, method=method, relaxation=used_rel,
        solver=used, status=status, frobenius_sq=fro, tail=tail, lower=float(lower),
        upper=float(upper), gap=float(upper - lower), relaxation_primal=float(fro - primal),
        duality_gap=float(dgap), primal_residual=float(pres), dual_residual=float(dres),
        min_eig_psd=float(mineig), tol=tol_, verified=verified,
        seconds=time.perf_counter() - t0, rounds=int(rounds), fantope_lower=float(fantope_lower),
        cut_duality_gap=float(cut_dgap),
        cut_rounds=int(cut_rounds), note=note, lam=np.asarray(lam, dtype=float), weights=w,
        anchor_left=anchors[0], anchor_right=anchors[1])


def architecture_gap(C: CoOccurrence, k: int, arch: str = "tied", **kw: Any) -> ArchitectureGap:
    r"""Bounds on :math:`\min\varepsilon_{\rm arch}-\mathrm{tail}_k \ge 0` (T6): ``lower`` and
    ``upper`` with ``lower <= gap <= upper``; zero for ``free`` (T2). Keyword arguments go
    to :func:`relax`."""
    cert = relax(C, k, arch, **kw)
    lo = 0.0 if arch == "free" else max(0.0, cert.lower - cert.tail)  # T2: exactly 0
    return ArchitectureGap(arch=arch, k=int(k), tail=cert.tail, lower=lo,
                           upper=max(lo, cert.upper - cert.tail), verified=cert.verified,
                           certificate=cert)
