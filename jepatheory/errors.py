"""Typed errors and warnings of jepatheory.

Every error raised on bad user input is a subclass of :class:`ValueError` or
:class:`TypeError` and names the offending value, so that scripts can catch it and
the command line can print it as one line.
"""
from __future__ import annotations

__all__ = [
    "JepaTheoryError",
    "MDPError",
    "ShapeError",
    "NonFiniteError",
    "NegativeProbabilityError",
    "RowSumError",
    "DiscountError",
    "DistributionError",
    "EmptyMDPError",
    "EnvParameterError",
    "MDPFileError",
    "SpectrumError",
    "MissingExtraError",
    "OddMDPWarning",
    "ExpressionError",
    "SolverError",
    "LadderOrderError",
    "BoundInputError",
    "UndecidedError",
    "ActionDataError",
    "PaperFormError",
    "ModelInputError",
    "ResourceLimitError",
    "DerivationTimeoutError",
    "StoreError",
    "OutputPathError",
    "SchedulerError",
    "OptionValueError",
    "MissingExtraWarning",
]


class JepaTheoryError(Exception):
    """Base class of every error this package raises on purpose."""


class MDPError(JepaTheoryError, ValueError):
    """An MDP (kernel, reward, discount, start or data distribution) is invalid."""


class ShapeError(MDPError):
    """An array has the wrong shape."""


class NonFiniteError(MDPError):
    """An array holds NaN or infinity."""


class NegativeProbabilityError(MDPError):
    """A probability is negative."""


class RowSumError(MDPError):
    """A row of P (one state-action pair) does not sum to 1."""


class DiscountError(MDPError):
    """gamma is outside [0, 1)."""


class DistributionError(MDPError):
    """rho0, nu or another distribution is not a probability vector."""


class EmptyMDPError(MDPError):
    """The state set or the action set is empty."""


class EnvParameterError(JepaTheoryError, ValueError):
    """An environment family got an unknown or invalid parameter."""


class MDPFileError(MDPError):
    """An MDP file could not be read (missing array, not an .npz, ...)."""


class SpectrumError(JepaTheoryError, ValueError):
    """The spectrum routine was asked for something it cannot deliver."""


class ExpressionError(JepaTheoryError, ValueError):
    """A user-supplied expression string was rejected by the restricted parser."""


class SolverError(JepaTheoryError, RuntimeError):
    """A numerical or convex solver failed; the message names its status."""


class MissingExtraError(JepaTheoryError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""


class OddMDPWarning(UserWarning):
    """Legal but unusual input: absorbing states, unreachable states, uncovered pairs."""


class UndecidedError(JepaTheoryError, ValueError):
    """A symbolic condition (a row sum, a sign) could not be decided under the assumptions.

    Distinct from a wrong input: the condition may hold, but it was not proved.
    """


class LadderOrderError(JepaTheoryError, RuntimeError):
    """A rung of the T3 regret ladder is below the rung it must dominate; the message names
    both rungs and their values."""


class BoundInputError(JepaTheoryError, ValueError):
    """A bound was asked for an impossible sample size, delta, radius, dimension or k."""


class SpectrumWarning(UserWarning):
    """A top-k spectrum could not be certified (a skipped singular value is not excluded);
    the residual bounds still hold."""


class UnknownMethodError(JepaTheoryError, ValueError):
    """A routine was asked for a method (algorithm) it does not have; the message names the
    value and the known methods."""


class MethodFallbackWarning(UserWarning):
    """The requested (or automatic) method is impractical at this size; the documented
    substitute named in the message was used instead."""


class RawArchitectureError(JepaTheoryError, ValueError):
    """A constrained architecture was asked in raw encoder coordinates where the whitened
    model it is computed in differs from it (T6: tied h = f needs nu(s,a) = q(s) p(a),
    shared f needs nu(s,a) = nu_S(s) p(a)); the message names the condition and the gap."""


class ActionDataError(DistributionError):
    """An action has no data under nu (p(a) = 0): its per-action matrix Abar_a is empty; the
    message names the action."""


class PaperFormError(JepaTheoryError, ValueError):
    """A paper-form statement (THEORY P1-P6) got an invalid horizon, form, normalization or
    cost; the message names the value."""


class ModelInputError(JepaTheoryError, ValueError):
    """A model handed to the audit (arrays, callables, a protocol object or a checkpoint file)
    was rejected; the message names the offending part."""


class ResourceLimitError(JepaTheoryError, MemoryError):
    """A request would need more memory (or a larger problem) than this run may use; the
    message names the estimate, the memory available and the override."""


class DerivationTimeoutError(ExpressionError):
    """A symbolic derivation did not finish within its time limit."""


class StoreError(JepaTheoryError, ValueError):
    """A results store cannot be used: not SQLite, not a jepatheory store, corrupt, or holding
    cells of another kind (a phase store given to sweep, or the reverse); the message names
    the file."""


class OutputPathError(JepaTheoryError, ValueError):
    """An output path is a directory, lies in a missing or unwritable folder, or would
    overwrite something it must not."""


class SchedulerError(JepaTheoryError, ValueError):
    """A Dask scheduler address is malformed or the scheduler cannot be reached."""


class OptionValueError(JepaTheoryError):
    """A command-line option got an invalid value (raised while parsing; the message names
    the option and the value). Not a ValueError on purpose: argparse would swallow it."""


class MissingExtraWarning(UserWarning):
    """An optional part was skipped because its extra is not installed; the message names
    the part and the extra to install."""
