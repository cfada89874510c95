"""The spine convention: theorem, bound, trainer and measurement functions take the
:class:`~jepatheory.cooccurrence.CoOccurrence` ``C`` first (``C.mdp``, ``C.nu``, ``C.q``,
``C.T``, ``C.spectrum(k)``), so ``(mdp, nu)`` is validated once, when C is built.

:func:`legacy_call` lets such a function also accept the older ``f(mdp, nu, ...)`` form
(with an optional ``C=`` keyword) for a deprecation period.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .cooccurrence import CoOccurrence
from .data import validate_nu
from .errors import DistributionError, ShapeError
from .mdp import MDP

__all__ = ["legacy_call", "cooccurrence_of", "mdp_of"]


def mdp_of(name: str, C: CoOccurrence | MDP) -> MDP:
    """The MDP of a function that needs only the MDP (its shapes, features, P), not nu or
    T: the trainers and the samplers take ``C`` first like everything else, and also a
    bare MDP (no deprecation: building C would cost T for nothing).

    >>> from jepatheory.envs import chain
    >>> mdp = chain(4, 0.1)
    >>> mdp_of("f", CoOccurrence(mdp)) is mdp, mdp_of("f", mdp) is mdp
    (True, True)
    """
    if isinstance(C, CoOccurrence):
        return C.mdp
    if isinstance(C, MDP):
        return C
    raise TypeError(f"{name}: the first argument must be a CoOccurrence C or an MDP, "
                    f"got {type(C).__name__}")


def cooccurrence_of(mdp: MDP, nu: Any, C: CoOccurrence | None) -> CoOccurrence:
    """The C of an old ``(mdp, nu, ..., C=None)`` call: ``C`` itself, checked against
    ``(mdp, nu)`` (``nu`` None: ``C.nu``), or ``CoOccurrence(mdp, nu)``."""
    if C is None:
        return CoOccurrence(mdp, nu)
    nu_arr = C.nu if nu is None else validate_nu(mdp, nu)
    if (C.mdp.n_states, C.mdp.n_actions) != (mdp.n_states, mdp.n_actions):
        raise ShapeError("C: the CoOccurrence is for a different MDP")
    if not np.allclose(C.nu, nu_arr, rtol=1e-12, atol=1e-15):
        raise DistributionError("nu: differs from the nu of the given CoOccurrence C")
    return C


def legacy_call(name: str, first: Any, args: tuple[Any, ...], kw: dict[str, Any]
                ) -> tuple[CoOccurrence, tuple[Any, ...], dict[str, Any]]:
    """``(C, args, kw)`` of a call to ``name`` whose first argument is C or, in the
    deprecated form, an MDP followed by nu (positional or ``nu=``; ``C=`` optional).

    >>> from jepatheory.envs import chain
    >>> mdp = chain(4, 0.1)
    >>> C, args, kw = legacy_call("f", mdp, (None, 10), {})
    >>> isinstance(C, CoOccurrence), args
    (True, (10,))
    """
    if isinstance(first, CoOccurrence):
        if "C" in kw and kw["C"] is not None and kw["C"] is not first:
            raise TypeError(f"{name}: C given twice")
        kw.pop("C", None)
        return first, args, kw
    if not isinstance(first, MDP):
        raise TypeError(f"{name}: the first argument must be a CoOccurrence C "
                        f"(or, deprecated, an MDP followed by nu), got {type(first).__name__}")
    warnings.warn(f"{name}(mdp, nu, ...) is deprecated: pass C = CoOccurrence(mdp, nu) "
                  "first", DeprecationWarning, stacklevel=3)
    if "nu" in kw:
        nu = kw.pop("nu")
    elif args:
        nu, args = args[0], args[1:]
    else:
        raise TypeError(f"{name}: the (mdp, nu, ...) form needs nu")
    return cooccurrence_of(first, nu, kw.pop("C", None)), args, kw
