r"""Per-action co-occurrence matrices and the per-action JEPA risk (THEORY P1, P2; the paper's
:math:`\bar M(a)`).

For an action a with :math:`p(a) = \sum_s\nu(s,a) > 0`, :math:`p(s|a) = \nu(s,a)/p(a)` and
:math:`p(s,s'|a) = p(s|a)P(s'|s,a)`. Two normalizations of the target marginal:

.. math::

    \bar A_a[s,s'] = \frac{p(s,s'|a)}{\sqrt{p(s|a)\,r(s')}}
                   = \sqrt{p(s|a)}\,\frac{P(s'|s,a)}{\sqrt{r(s')}},\qquad
    r = q \ (\texttt{"q"},\ \text{D2}) \quad\text{or}\quad
    r = q_a = \textstyle\sum_s p(s|a)P(\cdot|s,a)\ (\texttt{"per-action"}),

on :math:`\mathrm{supp}\,p(\cdot|a)\times\mathrm{supp}\,r`. With ``"q"`` every block has the
columns of T and :math:`T_a = \sqrt{p(a)}\bar A_a` (D2).

P1: for an embedding pair (z, f) (``z`` of shape ``(N*m, k)`` with row ``s*m + a``, the
target encoder ``f`` of shape ``(N, k)``),

.. math::

    R_a(z,f) = -2E_{p(s,s'|a)}[z(s,a)\cdot f(s')] + E_{p(s|a)\otimes r}[(z(s,a)\cdot f(s'))^2]
             = \|\bar A_a - \Phi_a\Psi_r^\top\|_F^2 - \|\bar A_a\|_F^2,

:math:`\Phi_a = D_{p(\cdot|a)}^{1/2}Z_a`, :math:`\Psi_r = D_r^{1/2}F`, and with ``"q"``
:math:`\sum_a p(a)R_a = L(z,f)` (T1 with h = f). :math:`\varepsilon_a := R_a + \|\bar A_a\|_F^2`.
Proof: ``proofs/P1.md``; symbolic proof: :mod:`jepatheory.symbolic.per_action`.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from .._results import Result
from ..errors import ActionDataError, PaperFormError, ShapeError
from ..spectrum import Spectrum, top_singular

if TYPE_CHECKING:  # annotations only: CoOccurrence.per_action delegates here
    from ..cooccurrence import CoOccurrence

__all__ = [
    "NORMALIZATIONS",
    "ActionBlock",
    "ActionSpectrum",
    "FloorBracket",
    "PerAction",
    "abar_block",
    "abar_blocks",
    "action_marginals",
    "check_normalization",
    "per_action",
    "per_action_eps",
    "per_action_residual",
    "per_action_risk",
    "tail_max_bracket",
]

NORMALIZATIONS = ("q", "per-action")


def check_normalization(normalization: str) -> str:
    """Return ``normalization`` if it is one of :data:`NORMALIZATIONS`, else raise."""
    if normalization not in NORMALIZATIONS:
        raise PaperFormError(f"normalization {normalization!r} is not one of "
                             f"{', '.join(NORMALIZATIONS)}")
    return normalization


@dataclass(frozen=True, repr=False)
class ActionBlock(Result):
    r""":math:`\bar A_a` on its supports: ``rows`` (states with :math:`\nu(s,a)>0`), ``cols``
    (states with :math:`r(s')>0`), ``p_s`` :math:`=p(s|a)` on rows, ``r`` on cols."""

    action: int
    normalization: str
    p_action: float
    rows: NDArray[np.int64]
    cols: NDArray[np.int64]
    p_s: NDArray[np.float64]
    r: NDArray[np.float64]
    A: sp.csr_array

    _hidden = ("rows", "cols", "p_s", "r", "A")
    _no_export = ("rows", "cols", "p_s", "r", "A")

    @property
    def frobenius_sq(self) -> float:
        return float(np.dot(self.A.data, self.A.data))


def action_marginals(C: CoOccurrence) -> NDArray[np.float64]:
    r""":math:`p(a) = \sum_s \nu(s,a)` for every action, shape ``(m,)``."""
    return C.nu.sum(axis=0)


def abar_block(C: CoOccurrence, a: int, normalization: str = "q") -> ActionBlock:
    r""":math:`\bar A_a` (see the module docstring); :class:`ActionDataError` names an action
    with :math:`p(a) = 0` (its block is empty)."""
    check_normalization(normalization)
    m = C.mdp.n_actions
    if not (isinstance(a, (int, np.integer)) and 0 <= int(a) < m):
        raise PaperFormError(f"action {a!r} is not in 0..{m - 1}")
    a = int(a)
    pa = C.p_action(a)
    if pa <= 0:
        raise ActionDataError(f"action {a} has no data under nu (p(a) = 0): its per-action "
                              "matrix Abar_a is empty")
    pos = C.action_rows(a)
    rows = C.left_states[pos]
    p_s = C.nu_L[pos] / pa
    A = sp.csr_array(C.T[pos]) / np.sqrt(pa)       # sqrt(p(s|a)) P / sqrt(q) on supp q
    cols, r = C.right, C.q_R
    if normalization == "per-action":
        # q_a(s') = sum_s p(s|a) P(s'|s,a) = sqrt(q) * (sqrt(p(.|a))^T Abar_a)
        qa = np.sqrt(C.q_R) * (np.sqrt(p_s) @ A)
        keep = np.flatnonzero(qa > 0)
        A = sp.csr_array(A[:, keep] @ sp.diags_array(np.sqrt(C.q_R[keep] / qa[keep])))
        cols, r = C.right[keep], qa[keep] / qa[keep].sum()   # sum is 1 up to rounding
    A.sum_duplicates()
    return ActionBlock(action=a, normalization=normalization, p_action=pa, rows=rows,
                       cols=cols, p_s=p_s, r=r, A=sp.csr_array(A))


def abar_blocks(C: CoOccurrence, normalization: str = "q") -> list[ActionBlock]:
    """:func:`abar_block` for every action (an action without data raises)."""
    return [abar_block(C, a, normalization) for a in range(C.mdp.n_actions)]


@dataclass(frozen=True, repr=False)
class ActionSpectrum(Result):
    r"""Certified top-k spectrum of one :math:`\bar A_a`: ``tail[j]`` :math:`=\sum_{i>j}
    \sigma_i^2` for j = 0..k."""

    action: int
    p_action: float
    n_rows: int
    n_cols: int
    k: int
    singular_values: NDArray[np.float64]
    residuals: NDArray[np.float64]
    tail: NDArray[np.float64]
    frobenius_sq: float
    certified: bool
    method: str
    certificate_by: str | None
    _spectrum: Spectrum | None = None
    symmetry_of: int | None = None
    symmetry: str | None = None
    symmetry_eta: float = 0.0
    #: rows of the principal submatrix whose Ritz pairs were certified on the whole block
    #: (:mod:`jepatheory.spectrum._localized`), None when the block Krylov (or a dense
    #: SVD) computed them
    localized_region: int | None = None

    def tail_k(self, k: int) -> float:
        """tail_k for ``k <= self.k``; for ``k >= rank bound`` it is 0 (up to rounding)."""
        if k > self.k and self.k == min(self.n_rows, self.n_cols):
            return 0.0
        return self._spectrum.tail_k(k) if self._spectrum is not None else float(self.tail[k])


@dataclass(frozen=True, repr=False)
class PerAction(Result):
    """Per-action spectra of every :math:`\\bar A_a` (THEORY P1, P2)."""

    normalization: str
    k: int
    actions: list[ActionSpectrum]
    seconds: float
    blocks: list[ActionBlock] = field(default_factory=list)

    _hidden = ("actions", "blocks")
    _no_export = ("blocks",)

    def tails(self, k: int) -> NDArray[np.float64]:
        """:math:`\\mathrm{tail}_k(\\bar A_a)` for every action."""
        return np.array([s.tail_k(min(k, s.k)) if k <= s.k else s.tail_k(k)
                         for s in self.actions])

    def tail_max(self, k: int) -> float:
        r""":math:`\max_a \mathrm{tail}_k(\bar A_a)`: the P2 lower bound on
        :math:`\min_{z,f}\max_a\varepsilon_a`."""
        return float(self.tails(k).max())

    @property
    def certified(self) -> bool:
        return all(s.certified for s in self.actions)

    def rows(self) -> list[dict[str, Any]]:
        """The ``per_action`` list of the CLI: action, singular_values, tail, frobenius_sq."""
        return [{"action": s.action, "p_action": s.p_action, "n_rows": s.n_rows, "n_cols": s.n_cols,
                     "singular_values": s.singular_values, "tail": s.tail,
                     "frobenius_sq": s.frobenius_sq, "residuals": s.residuals,
                     "certified": s.certified, "certificate_by": s.certificate_by,
                     "symmetry_of": s.symmetry_of, "symmetry": s.symmetry,
                     "symmetry_eta": s.symmetry_eta, "localized_region": s.localized_region}
                for s in self.actions]


def per_action(C: CoOccurrence, k: int, normalization: str = "q", method: str = "auto",
               keep_vectors: bool = False, symmetries: bool | Sequence[Any] = True,
               **kw: Any) -> PerAction:
    r"""Certified top-k spectra of :math:`\bar A_a` for every action (each by
    :func:`jepatheory.spectrum.top_singular`; k is capped per block at its rank bound).

    ``symmetries``: an action whose block is another's with the states relabelled,
    :math:`\bar A_b = \Pi_\sigma\bar A_a\Pi_\sigma^\top` (checked entry by entry, defect
    :math:`\eta` at rounding level; :mod:`jepatheory.paper.symmetry`), reuses that action's
    certified spectrum: same singular values, each within :math:`\eta` (Weyl), residuals
    plus :math:`\eta`, its own Frobenius norm; ``method`` ``"symmetry"`` and
    ``symmetry_of`` say so. ``True`` tries the identity and the symmetries of the square
    that map the MDP's ``coords`` onto themselves; a sequence adds the caller's candidate
    relabellings (arrays ``sigma`` with ``sigma[s]`` the image of s, or ``(name, sigma)``);
    ``False`` computes every block.

    ``kw`` goes to :func:`~jepatheory.spectrum.top_singular` (``seed``, ``factorization``,
    ``certificate``, ...). The singular vectors are dropped unless ``keep_vectors`` (at
    N = 1e6 and k = 64 they take 1 GiB per action)."""
    import dataclasses
    import time

    from .symmetry import (LazyCandidates, check_candidate, find_symmetry, full_block,
                           iter_coordinate_symmetries)
    check_normalization(normalization)
    if not (isinstance(k, (int, np.integer)) and k >= 0):
        raise PaperFormError(f"per_action: k = {k!r} must be an integer >= 0")
    t0 = time.perf_counter()
    blocks = abar_blocks(C, normalization)
    N = C.mdp.n_states
    candidates: LazyCandidates | None = None
    if symmetries is not False:
        first = [("identity", np.arange(N))]
        if symmetries is not True:
            for i, c in enumerate(symmetries):
                name, sigma = c if isinstance(c, tuple) else (f"candidate {i}", c)
                first.append((str(name), check_candidate(str(name), sigma, N)))
        candidates = LazyCandidates(first, iter_coordinate_symmetries(C.mdp.coords))
    full: dict[int, sp.csr_array] = {}
    out: list[ActionSpectrum] = []
    for b in blocks:
        kk = min(int(k), *b.A.shape)
        sym = None
        if candidates is not None and len(b.A.data):
            Fb = full_block(b.A, b.rows, b.cols, N)
            for src in out:
                if src.symmetry_of is None and src.k == kk:
                    a_blk = blocks[src.action]
                    sym = find_symmetry(full[src.action], Fb, src.action, b.action, candidates,
                                        supports=(a_blk.rows, a_blk.cols, b.rows, b.cols))
                    if sym is not None:
                        break
            if sym is None:                      # a representative: a source for the rest
                full[b.action] = Fb
        if sym is not None:
            out.append(_relabelled(out[sym.source], b, sym, blocks[sym.source], keep_vectors))
            continue
        s = top_singular(b.A, kk, method=method, **kw)
        if not keep_vectors:
            s = dataclasses.replace(s, U=None, V=None)
        out.append(ActionSpectrum(
            action=b.action, p_action=b.p_action, n_rows=b.A.shape[0], n_cols=b.A.shape[1],
            k=kk, singular_values=s.singular_values, residuals=s.residuals, tail=s.tail,
            frobenius_sq=s.frobenius_sq, certified=s.certified, method=s.method,
            certificate_by="dense" if s.method == "dense" else
            (s.certificate.check or {}).get("by"),
            _spectrum=s, localized_region=_localized_region(s)))
    return PerAction(normalization=normalization, k=int(k), actions=out,
                     seconds=time.perf_counter() - t0, blocks=blocks)


def _relabelled(src: ActionSpectrum, b: ActionBlock, sym: Any, a: ActionBlock,
                keep_vectors: bool) -> ActionSpectrum:
    r"""The spectrum of :math:`\bar A_b = \Pi_\sigma\bar A_a\Pi_\sigma^\top + E`,
    :math:`\|E\|_F = \eta`, from the certified one of :math:`\bar A_a`: the same values
    (each within eta), residuals plus eta, b's own Frobenius norm and tails."""
    import dataclasses
    s = src.singular_values
    fro = b.frobenius_sq
    tail = np.maximum(fro - np.concatenate([[0.0], np.cumsum(s ** 2)]), 0.0)
    res = src.residuals + sym.eta
    spec = None
    if src._spectrum is not None:
        U = V = None
        if keep_vectors and src._spectrum.U is not None:
            # row i of U_a belongs to state a.rows[i]; it moves to state sigma(a.rows[i])
            U = np.empty_like(src._spectrum.U)
            U[np.searchsorted(b.rows, sym.sigma[a.rows])] = src._spectrum.U
            V = np.empty_like(src._spectrum.V)
            V[np.searchsorted(b.cols, sym.sigma[a.cols])] = src._spectrum.V
        cert = src._spectrum.certificate
        bound = cert.sigma_error_bound
        cert = dataclasses.replace(cert, sigma_error_bound=None if bound is None else
                                   tuple(float(e) + sym.eta for e in bound))
        spec = dataclasses.replace(src._spectrum, residuals=res, frobenius_sq=fro, tail=tail,
                                   shape=b.A.shape, U=U, V=V, certificate=cert, seconds=0.0)
    return ActionSpectrum(
        action=b.action, p_action=b.p_action, n_rows=b.A.shape[0], n_cols=b.A.shape[1],
        k=src.k, singular_values=s, residuals=res, tail=tail, frobenius_sq=fro,
        certified=src.certified, method="symmetry",
        certificate_by=f"symmetry of action {src.action} ({sym.by}; {src.certificate_by})",
        _spectrum=spec, symmetry_of=src.action, symmetry=sym.by, symmetry_eta=sym.eta,
        localized_region=src.localized_region)


def _localized_region(s: Spectrum) -> int | None:
    d = s.certificate.details.get("localized") if s.method != "dense" else None
    return int(d["region"]) if d and d.get("proved") else None


# --------------------------------------------------------------------------- P1 numerics
def _check_zf(C: CoOccurrence, z: NDArray, f: NDArray) -> tuple[NDArray, NDArray]:
    N, m = C.mdp.n_states, C.mdp.n_actions
    z, f = np.asarray(z, float), np.asarray(f, float)
    if z.ndim != 2 or z.shape[0] != N * m:
        raise ShapeError(f"z: expected shape ({N * m}, k), got {z.shape}")
    if f.shape != (N, z.shape[1]):
        raise ShapeError(f"f: expected shape ({N}, {z.shape[1]}), got {f.shape}")
    return z, f


def per_action_risk(C: CoOccurrence, z: NDArray, f: NDArray, a: int,
                    normalization: str = "q") -> float:
    r""":math:`R_a(z,f)` from its definition (expectations, no matrix): the linear term under
    :math:`p(s,s'|a)`, the uniformity term under :math:`p(s|a)\otimes r`."""
    z, f = _check_zf(C, z, f)
    b = abar_block(C, a, normalization)
    m = C.mdp.n_actions
    Za = z[b.rows * m + a]
    P = C.mdp.P_sa[b.rows * m + a]
    P = P.toarray() if sp.issparse(P) else np.asarray(P)
    G = Za @ f.T                                  # z(s,a).f(s') for all s'
    lin = -2.0 * float(np.sum(b.p_s[:, None] * P * G))
    r_full = np.zeros(C.mdp.n_states)
    r_full[b.cols] = b.r
    quad = float(np.sum(b.p_s[:, None] * r_full[None, :] * G ** 2))
    return lin + quad


def per_action_residual(C: CoOccurrence, z: NDArray, f: NDArray, a: int,
                        normalization: str = "q") -> NDArray[np.float64]:
    r""":math:`E_a = \bar A_a - \Phi_a\Psi_r^\top` (dense, on the block's supports)."""
    z, f = _check_zf(C, z, f)
    b = abar_block(C, a, normalization)
    m = C.mdp.n_actions
    Phi = np.sqrt(b.p_s)[:, None] * z[b.rows * m + a]
    Psi = np.sqrt(b.r)[:, None] * f[b.cols]
    return b.A.toarray() - Phi @ Psi.T


def per_action_eps(C: CoOccurrence, z: NDArray, f: NDArray, a: int,
                   normalization: str = "q") -> float:
    r""":math:`\varepsilon_a = \|\bar A_a - \Phi_a\Psi_r^\top\|_F^2` (P1: :math:`= R_a +
    \|\bar A_a\|_F^2`). Mass of :math:`\Phi_a\Psi_r^\top` outside the supports is not
    counted: with ``"q"`` the columns are all of supp q, with ``"per-action"`` only
    supp :math:`q_a` (the risk's uniformity term sees only those)."""
    E = per_action_residual(C, z, f, a, normalization)
    return float(np.sum(E * E))


# --------------------------------------------------------------------------- P2 floor bracket
@dataclass(frozen=True, repr=False)
class FloorBracket(Result):
    r"""A bracket on the P2 floor :math:`\max_a\mathrm{tail}_k(\bar A_a)` (normalization q)
    from the spectrum of T alone, for every k of ``ks``: ``lower[k] <= floor_k <=
    upper[k]`` (see :func:`tail_max_bracket`). ``certified``: T's spectrum was certified
    (the lower end needs "none skipped")."""

    ks: list[int]
    lower: dict[int, float]
    upper: dict[int, float]
    certified: bool
    seconds: float

    _hidden = ("lower", "upper")


def tail_max_bracket(C: CoOccurrence, spectrum: Spectrum, ks: Sequence[int],
                     rows: int = 131_072) -> FloorBracket:
    r"""The P2 floor :math:`F_k = \max_a\mathrm{tail}_k(\bar A_a)` bracketed from the top-K
    spectrum of T (no per-action spectrum), normalization q (THEORY P2; ``proofs/P2.md``):

    .. math::

        \max_a\Big(\|\bar A_a\|_F^2 - \frac{1}{p(a)}\sum_{i\le k}(\sigma_i+e_i)^2\Big)
        \ \le\ F_k\ \le\
        \max_a\Big(\|\bar A_a\|_F^2 - \frac{1}{p(a)}\sum_{i\le k}\|T_a v_i\|^2\Big),

    :math:`e_i` the certified error of :math:`\sigma_i`, :math:`v_i` T's right singular
    vectors. Lower end: :math:`T^\top T = \sum_b T_b^\top T_b \succeq p(a)\bar A_a^\top\bar
    A_a` (D2: :math:`T_a = \sqrt{p(a)}\bar A_a`), so by Weyl's monotonicity every eigenvalue
    of :math:`p(a)G_a` is at most the matching one of :math:`T^\top T` and the Ky Fan sums
    follow. Upper end: Ky Fan's maximum principle, :math:`\sum_{i\le k}\sigma_i^2(\bar A_a)
    \ge \|\bar A_aV_k\|_F^2` for orthonormal :math:`V_k` (orthonormal up to rounding here).
    The lower end still satisfies P2's statement (no shared-encoder model has
    :math:`\max_a\varepsilon_a` below it).
    """
    import time
    t0 = time.perf_counter()
    m = C.mdp.n_actions
    pa = action_marginals(C)
    for a in range(m):
        if pa[a] <= 0:
            raise ActionDataError(f"action {a} has no data under nu (p(a) = 0): its "
                                  "per-action matrix Abar_a is empty")
    ks = sorted({int(k) for k in ks})
    K = max(ks)
    if K > spectrum.k:
        raise PaperFormError(f"tail_max_bracket: k = {K} exceeds the spectrum's {spectrum.k}")
    T = C.T
    row_act = C.left_actions
    per_row = np.repeat(np.arange(T.shape[0]), np.diff(T.indptr))
    fro_a = np.bincount(row_act[per_row], weights=T.data * T.data, minlength=m) / pa
    s = spectrum.singular_values[:K]
    e = spectrum.error_bounds[:K]
    kf_up = np.cumsum((s + e) ** 2)
    V = np.ascontiguousarray(spectrum.V[:, :K])
    captured = np.zeros((m, K))                   # sum over a's rows of (T v_i)^2
    for lo in range(0, T.shape[0], rows):
        X = T[lo:lo + rows] @ V
        ra = row_act[lo:lo + rows]
        ind = sp.csr_array((np.ones(ra.size), (ra, np.arange(ra.size))), shape=(m, ra.size))
        captured += ind @ (X * X)
    cap_cum = np.cumsum(captured, axis=1) / pa[:, None]
    lower = {k: float(max(0.0, np.max(fro_a - kf_up[k - 1] / pa))) for k in ks}
    upper = {k: float(np.max(fro_a - cap_cum[:, k - 1])) for k in ks}
    return FloorBracket(ks=ks, lower=lower, upper=upper, certified=bool(spectrum.certified),
                        seconds=time.perf_counter() - t0)
