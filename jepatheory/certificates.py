"""Shared certificate records of the convex solves (T6 relaxations, the Fantope, D5 mixing,
the kappa_k SDP of T4b).

Every SDP certificate of the package brackets an optimum, ``lower <= opt <= upper``, with
numbers that do not trust the solver: ``lower`` from a feasible dual point (weak duality) or
eigenvalues, ``upper`` from a feasible primal point. :class:`SDPCheck` is that bracket as
one record, read as ``cert.check`` on :class:`~jepatheory.convex.FantopeCertificate`,
:class:`~jepatheory.convex.RelaxationCertificate`,
:class:`~jepatheory.convex.MixingCertificate` and :class:`~jepatheory.bounds.kappa.Kappa`.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from ._results import Result, to_jsonable

__all__ = ["SDPCheck", "KappaCertificate"]


@dataclass(frozen=True, repr=False)
class SDPCheck(Result):
    r"""A verified bracket :math:`\mathrm{lower}\le\mathrm{opt}\le\mathrm{upper}` of a convex
    solve: ``solver`` and its ``status``, ``gap = upper - lower``, ``verified`` as the owning
    certificate decides it (bracket in order and gap within its tolerance), ``seconds`` of
    the whole certified solve.

    >>> SDPCheck("CLARABEL", "optimal", 1.0, 1.5, 0.5, True, 0.1).gap
    0.5
    """

    solver: str
    status: str
    lower: float | None
    upper: float | None
    gap: float | None
    verified: bool
    seconds: float


@dataclass(frozen=True, repr=False)
class KappaCertificate(Result):
    r"""What the kappa_k SDP (T4b) proves: ``t`` its optimal value (:math:`\kappa^2` of the
    best rescale :math:`z_0G, h_0G^{-T}`), ``sqrt_t``, ``verified_from_cholesky`` the value
    re-derived from the solver's M = G G^T without trusting the solver, and
    ``lower_le_value`` whether the lower bound max|z0 h0^T|^(1/2) is below the reported
    kappa. Fields the run did not reach are None and absent from :meth:`to_dict` (an empty
    object when the SDP was skipped and no lower bound was formed).

    >>> KappaCertificate(lower_le_value=True).to_dict()
    {'lower_le_value': True}
    """

    t: float | None = None
    sqrt_t: float | None = None
    verified_from_cholesky: float | None = None
    lower_le_value: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return {f.name: to_jsonable(getattr(self, f.name)) for f in fields(self)
                if getattr(self, f.name) is not None}

    def __bool__(self) -> bool:
        return bool(self.to_dict())

    def __getitem__(self, key: str) -> Any:
        """Read as the mapping it used to be (``kap.certificate["t"]``)."""
        d = self.to_dict()
        if key not in d:
            raise KeyError(key)
        return getattr(self, key)

    def __contains__(self, key: object) -> bool:
        return key in self.to_dict()

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default
