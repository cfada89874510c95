"""The spectrum payload (``jepatheory spectrum --json`` and the demo) and the certified
spectrum demo section (THEORY D2, F4)."""
from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from ..cooccurrence import CoOccurrence
from ..errors import SpectrumWarning
from ..spectrum import Spectrum, SpectrumOptions, top_singular

if TYPE_CHECKING:  # the context is built in demo.py, which imports this module
    from .demo import DemoContext

__all__ = ["spectrum_of", "spectrum_payload", "spectrum_rows", "demo_section"]


def spectrum_of(C: CoOccurrence, k: int, method: str = "auto", seed: int = 0,
                factorization: str = "auto", certificate: str = "auto") -> Spectrum:
    """The (cached) top-``min(k, rank)`` spectrum of T that :func:`spectrum_payload`
    reports."""
    k = min(k, min(C.n_left, C.n_right))
    return C.spectrum(k, options=SpectrumOptions(method=method, seed=seed,
                                                 factorization=factorization,
                                                 certificate=certificate))


def spectrum_payload(C: CoOccurrence, k: int, method: str = "auto", seed: int = 0,
                     factorization: str = "auto", certificate: str = "auto") -> dict:
    """The JSON object of ``jepatheory spectrum``: the top-k spectrum of T with its
    certificate, the support sizes and the environment."""
    from ..cli._common import env_info

    k = min(k, min(C.n_left, C.n_right))
    s = spectrum_of(C, k, method, seed, factorization, certificate)
    return dict(env=env_info(C.mdp), k=k, singular_values=s.singular_values,
                tail=s.tail, frobenius_sq=s.frobenius_sq, n_left=C.n_left, n_right=C.n_right,
                residuals=s.residuals, max_error=s.max_error, method=s.method,
                certified=s.certified, certificate=s.certificate, seconds=s.seconds,
                factorization=s.certificate.factorization,
                certificate_by=s.certificate.by,
                failure_probability=s.certificate.failure_probability,
                uncovered=int(C.uncovered.size), unreachable=int(C.unreachable.size))


def spectrum_rows(payload: dict) -> list[dict]:
    s, res, tail = payload["singular_values"], payload["residuals"], payload["tail"]
    return [dict(i=i + 1, sigma=float(s[i]), sigma_sq=float(s[i] ** 2),
                 residual=float(res[i]), tail=float(tail[i + 1])) for i in range(len(s))]


def demo_section(ctx: DemoContext) -> dict[str, Any]:
    """Demo: the certified iterative spectrum of the demo environment's T next to the dense
    SVD, with what the certificate proves."""
    C = ctx.cooc()
    k = min(8, min(C.T.shape) - 3)
    if k < 1:
        ctx.say("== Certified spectrum: T too small for the iterative path")
        return dict(skipped=True)
    dense = top_singular(C.T, k, method="dense")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpectrumWarning)
        it = top_singular(C.T, k, method="sparse", seed=ctx.seed)
    diff = float(np.max(np.abs(it.singular_values - dense.singular_values)))
    ctx.say(f"== Certified top-{k} spectrum (D2, F4): shift-invert block Krylov on T^T T")
    ctx.say(f"  certified={it.certified}: {it.certificate.statement}")
    bound = float(np.max(it.error_bounds))
    ctx.say(f"  max |sigma_sparse - sigma_dense| = {diff:.3g}  <=  proved bound {bound:.3g}")
    return dict(k=k, certified=it.certified, max_abs_diff_vs_dense=diff, proved_bound=bound,
                failure_probability=it.certificate.failure_probability,
                seconds=it.seconds)
