"""The records of the spectrum layer: solver options, the spectral certificate, the
spectrum itself (THEORY D2, T2; see :mod:`jepatheory.spectrum`)."""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from .._results import Result, to_jsonable
from ..errors import SpectrumError

__all__ = ["DENSE_MAX_ENTRIES", "METHODS", "CERTIFICATES", "Operator", "SpectrumOptions",
           "Iterated", "CERT_FIELDS", "SpectralCertificate", "Spectrum", "truncate"]


#: Matrices with at most this many entries (N_L * N_R) use the dense SVD path.
DENSE_MAX_ENTRIES = 4_000_000


#: Accepted values of ``method``.
METHODS = ("auto", "dense", "sparse", "matvec")


#: Accepted values of ``certificate`` (iterative paths).
CERTIFICATES = ("auto", "inertia", "lanczos")


Operator = Callable[[NDArray[np.float64]], NDArray[np.float64]]


@dataclass(frozen=True)
class SpectrumOptions:
    """Every solver keyword of :func:`top_singular` but ``k``: one hashable record, the
    cache key of :meth:`~jepatheory.cooccurrence.CoOccurrence.spectrum` and what the
    driver hands the iterative engine (defaults as in :func:`top_singular`).

    >>> SpectrumOptions(seed=3) == SpectrumOptions(seed=3)
    True
    >>> SpectrumOptions(method="dense").kwargs()["method"]
    'dense'
    """

    method: str = "auto"
    tol: float = 1e-8
    seed: int = 0
    extra: int = 8
    block: int = 4
    max_dim: int | None = None
    attempts: int = 3
    delta: float = 1e-10
    cert_steps: int = 300
    threads: int | None = None
    factorization: str = "auto"
    certificate: str = "auto"
    localize: bool = True

    def kwargs(self) -> dict[str, Any]:
        """The keywords of :func:`top_singular` (``method`` included)."""
        return asdict(self)


@dataclass(frozen=True)
class Iterated:
    """What the iterative engine returns: the top-k triplets, whether they are certified
    and the certificate's numbers (``info``)."""

    s: NDArray[np.float64]
    U: NDArray[np.float64]
    V: NDArray[np.float64]
    certified: bool
    info: dict[str, Any]


#: keys of a spectral certificate held in named fields (the rest stay in ``details``)
CERT_FIELDS = ("statement", "failure_probability", "frobenius_consistent",
                "sigma_error_bound", "check", "factorization")


@dataclass(frozen=True, eq=False)
class SpectralCertificate(Mapping[str, Any]):
    """What a spectrum's accuracy report proves, as named fields.

    ``statement`` says it in words; ``failure_probability`` (0 for dense and inertia
    proofs, ``delta`` for the randomized Lanczos proof, None when not certified);
    ``sigma_error_bound`` the certified per-value bound; ``by`` how "none skipped" was
    proved (``dense``, ``inertia``, ``lanczos``); ``check`` the numbers of the proof;
    ``factorization`` the shift-invert backend; ``details`` the engine's other numbers
    (Gram side, attempts, tolerance). It also reads as the mapping it used to be
    (``cert["check"]["by"]``), and :meth:`to_dict` gives the same JSON object, key order
    included.
    """

    statement: str = ""
    failure_probability: float | None = None
    frobenius_consistent: bool = False
    sigma_error_bound: tuple[float, ...] | None = None
    check: dict[str, Any] | None = None
    factorization: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    order: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SpectralCertificate:
        """The record of a certificate mapping (keys outside the named fields go to
        ``details``; the key order is kept for :meth:`to_dict`)."""
        if isinstance(d, SpectralCertificate):
            return d
        b = d.get("sigma_error_bound")
        return cls(statement=d.get("statement", ""),
                   failure_probability=d.get("failure_probability"),
                   frobenius_consistent=bool(d.get("frobenius_consistent", False)),
                   sigma_error_bound=None if b is None else tuple(float(x) for x in b),
                   check=None if d.get("check") is None else dict(d["check"]),
                   factorization=d.get("factorization"),
                   details={k: v for k, v in d.items() if k not in CERT_FIELDS},
                   order=tuple(d))

    @property
    def by(self) -> str | None:
        """How "no singular value skipped" was proved: ``dense`` (direct method),
        ``inertia`` or ``lanczos``; None when the iterative check did not get that far."""
        return "dense" if self.check is None else self.check.get("by")

    def _value(self, key: str) -> Any:
        if key in CERT_FIELDS:
            v = getattr(self, key)
            return list(v) if key == "sigma_error_bound" and v is not None else v
        return self.details[key]

    def __getitem__(self, key: str) -> Any:
        if key not in self.order:
            raise KeyError(key)
        return self._value(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.order)

    def __len__(self) -> int:
        return len(self.order)

    def to_dict(self) -> dict[str, Any]:
        """The certificate as the JSON-ready object of ``Spectrum.to_dict()``."""
        return {k: to_jsonable(self._value(k)) for k in self.order}

    def __repr__(self) -> str:
        return (f"SpectralCertificate(by={self.by!r}, failure_probability="
                f"{self.failure_probability!r}, statement={self.statement!r})")


@dataclass(frozen=True, repr=False)
class Spectrum(Result):
    """Top-k singular triplets of T with their accuracy report."""

    k: int
    singular_values: NDArray[np.float64]
    residuals: NDArray[np.float64]
    frobenius_sq: float
    tail: NDArray[np.float64]
    method: str
    certified: bool
    seconds: float
    shape: tuple[int, int]
    certificate: SpectralCertificate = field(default_factory=SpectralCertificate)
    U: NDArray[np.float64] | None = None
    V: NDArray[np.float64] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.certificate, SpectralCertificate):  # a plain mapping
            object.__setattr__(self, "certificate",
                               SpectralCertificate.from_dict(self.certificate))

    _hidden = ("U", "V", "certificate")
    _no_export = ("U", "V")

    def tail_k(self, k: int) -> float:
        r""":math:`\mathrm{tail}_k = \|T\|_F^2 - \sum_{i\le k}\sigma_i^2` for ``k <= self.k``."""
        if not 0 <= k <= self.k:
            raise SpectrumError(f"tail_k: k={k} outside the computed range [0, {self.k}]")
        return float(self.tail[k])

    @property
    def max_error(self) -> float:
        """Largest residual: an absolute error bound on every computed singular value."""
        return float(self.residuals.max()) if self.residuals.size else 0.0

    @property
    def error_bounds(self) -> NDArray[np.float64]:
        """Per-value error bound: the certified bound when there is one, else the residual
        (Weyl) bound, which does not exclude skipped values."""
        b = self.certificate.sigma_error_bound
        if b is None:
            return self.residuals
        return np.minimum(np.asarray(b, dtype=float), self.residuals)


def truncate(spec: Spectrum, k: int) -> Spectrum:
    """The top ``k <= spec.k`` triplets of ``spec`` as a spectrum of its own (views of its
    arrays; the certificate of the larger spectrum covers its top k: none skipped among the
    top k' >= k means none among the top k)."""
    if not 0 <= k <= spec.k:
        raise SpectrumError(f"truncate: k={k} outside the computed range [0, {spec.k}]")
    if k == spec.k:
        return spec
    cert = spec.certificate
    if cert.sigma_error_bound is not None:
        cert = replace(cert, sigma_error_bound=cert.sigma_error_bound[:k])
    return replace(spec, k=int(k), singular_values=spec.singular_values[:k],
                   residuals=spec.residuals[:k], tail=spec.tail[:k + 1], certificate=cert,
                   U=None if spec.U is None else spec.U[:, :k],
                   V=None if spec.V is None else spec.V[:, :k])
