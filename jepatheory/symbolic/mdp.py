r"""Symbolic MDPs: transition probabilities and data distributions as SymPy expressions of
parameters, with the assumptions that make them valid carried along (THEORY "Setting").

A :class:`SymbolicMDP` holds the flat kernel ``P_sa`` (a SymPy ``Matrix`` of shape
``(N*m, N)``, row ``s*m + a`` is :math:`P(\cdot\mid s,a)`, the core convention) and the data
distribution ``nu`` (``(N, m)``), together with the parameter domains (an open interval per
parameter, ``(0, 1)`` for a probability). Validation decides, under those domains,

* each entry is :math:`\ge 0` (else :class:`~jepatheory.errors.NegativeProbabilityError`
  with a parameter value where it is negative),
* each row sums to 1 identically (else :class:`~jepatheory.errors.RowSumError`),

and reports a condition it cannot decide as *undecided*
(:class:`~jepatheory.errors.UndecidedError`), never as valid. Following ``sympy.stats``,
symbolic input passes unless it is provably invalid or undecidable by the procedure below.

Decision procedure (:func:`decide_zero`, :func:`decide_sign`): every parameter with domain
``(lo, hi)`` is rewritten through a fresh positive symbol ``t`` (``lo + (hi-lo)/(1+t)``,
``lo + t`` or ``hi - t``), so the domain constraint becomes SymPy's own assumption; the
expression is put over a common denominator (``cancel``) and factored. A rational function
that cancels to 0 is identically 0; one that does not is non-zero on an open set (wrong); a
non-rational remainder gets ``simplify`` and then a 30-digit evaluation at sample points: a
clearly non-zero value is a witness (wrong), otherwise the verdict is *undecided*.
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp

from .._results import Result, table
from ..errors import (DistributionError, NegativeProbabilityError, OddMDPWarning, RowSumError,
                      ShapeError, UndecidedError)
from ..mdp import MDP
from .parse import parse_expression

__all__ = ["SymbolicMDP", "Verdict", "ValidationReport", "symbolic_mdp", "decide_zero",
           "decide_sign", "validate", "lift_mdp", "fully_symbolic_mdp", "two_state",
           "slip_chain", "slip_ring", "UNIT_INTERVAL", "POSITIVE"]

UNIT_INTERVAL = (sp.Integer(0), sp.Integer(1))
POSITIVE = (sp.Integer(0), sp.oo)
_SAMPLE_DIGITS = 30
_WITNESS_TOL = sp.Rational(1, 10**12)


@dataclass(frozen=True)
class SymbolicMDP:
    r"""A finite MDP whose kernel and data distribution are SymPy expressions.

    Attributes
    ----------
    P_sa : sympy.Matrix, shape (N*m, N)
        Row ``s*m + a`` is :math:`P(\cdot\mid s,a)`.
    nu : sympy.Matrix, shape (N, m)
        Data distribution :math:`\nu(s,a)`.
    domains : dict Symbol -> (lo, hi)
        Open interval of each parameter (the assumptions).
    n_states, n_actions : int
    name : str
    """

    P_sa: sp.Matrix
    nu: sp.Matrix
    domains: dict[sp.Symbol, tuple[sp.Expr, sp.Expr]]
    n_states: int
    n_actions: int
    name: str = "symbolic-mdp"
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def params(self) -> tuple[sp.Symbol, ...]:
        return tuple(sorted(self.domains, key=str))

    def P(self, s: int, a: int, s2: int) -> sp.Expr:
        return self.P_sa[s * self.n_actions + a, s2]

    def P_action(self, a: int) -> sp.Matrix:
        """:math:`P_a[s, s'] = P(s'|s,a)`, shape (N, N)."""
        return sp.Matrix([list(self.P_sa.row(s * self.n_actions + a))
                          for s in range(self.n_states)])

    def subs(self, values: Mapping[Any, Any]) -> SymbolicMDP:
        """Substitute parameter values (the result keeps the remaining parameters)."""
        vals = {(sp.Symbol(k) if isinstance(k, str) else k): sp.nsimplify(v)
                for k, v in values.items()}
        vals = {next((p for p in self.domains if p.name == getattr(k, "name", k)), k): v
                for k, v in vals.items()}
        return SymbolicMDP(P_sa=self.P_sa.subs(vals), nu=self.nu.subs(vals),
                           domains={p: d for p, d in self.domains.items() if p not in vals},
                           n_states=self.n_states, n_actions=self.n_actions, name=self.name,
                           meta=dict(self.meta))

    def to_numeric(self, values: Mapping[Any, Any] | None = None) -> tuple[MDP, np.ndarray]:
        """Numeric (MDP, nu) at the given parameter values (reward 0, gamma 0.9)."""
        sm = self.subs(values or {})
        if sm.domains:
            raise DistributionError(f"{self.name}: parameters {sorted(map(str, sm.domains))} "
                                    "have no value")
        P = np.array(sm.P_sa.evalf(), dtype=float)
        mdp = MDP.from_flat(P, self.n_states, self.n_actions,
                            np.zeros((self.n_states, self.n_actions)), 0.9, name=self.name,
                            warn=False)
        return mdp, np.array(sm.nu.evalf(), dtype=float)

    def __repr__(self) -> str:
        dom = ", ".join(f"{p} in ({lo}, {hi})" for p, (lo, hi) in sorted(
            self.domains.items(), key=lambda kv: str(kv[0])))
        return (f"SymbolicMDP(name={self.name!r}, n_states={self.n_states}, "
                f"n_actions={self.n_actions}, params=[{dom}])")


# --------------------------------------------------------------------------- deciding
def _positive_symbol(p: sp.Symbol) -> sp.Symbol:
    return sp.Symbol(f"_t_{p.name}", positive=True)


def _reparam(domains: Mapping[sp.Symbol, tuple[sp.Expr, sp.Expr]]
             ) -> tuple[dict[sp.Symbol, sp.Expr], dict[sp.Symbol, sp.Expr]]:
    """Map each parameter into its open domain through a positive symbol; and back."""
    fwd, back = {}, {}
    for p, (lo, hi) in domains.items():
        t = _positive_symbol(p)
        lo, hi = sp.sympify(lo), sp.sympify(hi)
        if lo.is_finite and hi.is_finite:
            fwd[p] = lo + (hi - lo) / (1 + t)
            back[t] = (hi - lo) / (p - lo) - 1
        elif lo.is_finite:
            fwd[p], back[t] = lo + t, p - lo
        elif hi.is_finite:
            fwd[p], back[t] = hi - t, hi - p
        else:
            r = sp.Symbol(f"_t_{p.name}", real=True)
            fwd[p], back[r] = r, p
    return fwd, back


def _sample_points(domains: Mapping[sp.Symbol, tuple[sp.Expr, sp.Expr]], n: int = 7
                   ) -> list[dict[sp.Symbol, sp.Expr]]:
    """Deterministic rational sample points inside the domains (no RNG: a decision must not
    depend on a seed)."""
    fracs = [sp.Rational(1, 2), sp.Rational(1, 7), sp.Rational(5, 6), sp.Rational(2, 9),
             sp.Rational(13, 17), sp.Rational(1, 31), sp.Rational(29, 31)]
    pts = []
    params = sorted(domains, key=str)
    for r in range(n):
        pt = {}
        for c, p in enumerate(params):
            lo, hi = domains[p]
            f = fracs[(r + 3 * c) % len(fracs)]
            if sp.sympify(lo).is_finite and sp.sympify(hi).is_finite:
                pt[p] = lo + (hi - lo) * f
            elif sp.sympify(lo).is_finite:
                pt[p] = lo + f / (1 - f)
            elif sp.sympify(hi).is_finite:
                pt[p] = hi - f / (1 - f)
            else:
                pt[p] = 2 * f - 1
        pts.append(pt)
    return pts


@dataclass(frozen=True, repr=False)
class Verdict(Result):
    """Outcome of deciding a condition: ``holds``, ``fails`` or ``undecided``.

    ``witness`` is a parameter point where the condition fails (when ``fails``),
    ``reduced`` the expression after the decision procedure.
    """

    condition: str
    verdict: str
    reduced: str
    witness: str = ""
    method: str = ""

    @property
    def holds(self) -> bool:
        return self.verdict == "holds"


def _numeric(expr: sp.Expr, pt: Mapping[sp.Symbol, sp.Expr]) -> complex | None:
    try:
        v = complex(sp.N(expr.subs(pt), _SAMPLE_DIGITS))
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return v if np.isfinite(v.real) and np.isfinite(v.imag) else None


def decide_zero(expr: Any, domains: Mapping[sp.Symbol, tuple[sp.Expr, sp.Expr]] | None = None,
                condition: str = "expr == 0") -> Verdict:
    """Decide whether ``expr`` is identically 0 for all parameters in their open domains.

    Returns a :class:`Verdict`: ``holds`` (proved 0), ``fails`` (a rational function that
    does not cancel, or a point where the value is clearly non-zero; the witness says
    where) or ``undecided``.
    """
    domains = dict(domains or {})
    expr = sp.sympify(expr)
    fwd, back = _reparam(domains)
    e = expr.subs(fwd)
    try:
        d = sp.cancel(sp.together(e))
    except sp.PolynomialError:
        d = e
    if d == 0:
        return Verdict(condition, "holds", "0", method="cancel")
    free = d.free_symbols
    if free <= set().union(*(v.free_symbols for v in fwd.values())) and \
            d.is_rational_function(*free):
        for pt in _sample_points(domains):
            v = _numeric(expr, pt)
            if v is not None and abs(v) > 0:
                break
        return Verdict(condition, "fails", str(sp.factor(d.subs(back))),
                       witness=_fmt_point(pt, expr), method="cancel (rational, non-zero)")
    s = sp.simplify(d)
    if s == 0:
        return Verdict(condition, "holds", "0", method="simplify")
    for pt in _sample_points(domains):
        v = _numeric(expr, pt)
        if v is not None and abs(v) > _WITNESS_TOL:
            return Verdict(condition, "fails", str(s.subs(back)), witness=_fmt_point(pt, expr),
                           method="30-digit evaluation")
    return Verdict(condition, "undecided", str(s.subs(back)),
                   method="not reduced to 0; numerically 0 at every sample point")


def decide_sign(expr: Any, domains: Mapping[sp.Symbol, tuple[sp.Expr, sp.Expr]] | None = None,
                condition: str = "expr >= 0") -> Verdict:
    """Decide ``expr >= 0`` for all parameters in their open domains (same procedure)."""
    domains = dict(domains or {})
    expr = sp.sympify(expr)
    fwd, back = _reparam(domains)
    e = expr.subs(fwd)
    try:
        d = sp.factor(sp.cancel(sp.together(e)))
    except sp.PolynomialError:
        d = e
    if d.is_nonnegative:
        return Verdict(condition, "holds", str(d.subs(back)), method="factor + assumptions")
    for pt in _sample_points(domains):
        v = _numeric(expr, pt)
        if v is not None and (v.real < -_WITNESS_TOL or abs(v.imag) > _WITNESS_TOL):
            return Verdict(condition, "fails", str(d.subs(back)), witness=_fmt_point(pt, expr),
                           method="30-digit evaluation")
    s = sp.simplify(d)
    if s.is_nonnegative:
        return Verdict(condition, "holds", str(s.subs(back)), method="simplify + assumptions")
    return Verdict(condition, "undecided", str(s.subs(back)),
                   method="sign not determined by the assumptions")


def _fmt_point(pt: Mapping[sp.Symbol, sp.Expr], expr: sp.Expr) -> str:
    val = sp.N(expr.subs(pt), 6)
    where = ", ".join(f"{k} = {v}" for k, v in pt.items()) or "always"
    return f"{where} gives {val}"


# --------------------------------------------------------------------------- validation
@dataclass(frozen=True, repr=False)
class ValidationReport(Result):
    """Per-row and per-entry verdicts for a symbolic MDP."""

    name: str
    rows: tuple[Verdict, ...]
    entries: tuple[Verdict, ...]
    nu: tuple[Verdict, ...]

    @property
    def verdicts(self) -> tuple[Verdict, ...]:
        return self.entries + self.rows + self.nu

    @property
    def valid(self) -> bool:
        return all(v.verdict == "holds" for v in self.verdicts)

    @property
    def undecided(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if v.verdict == "undecided")

    @property
    def failed(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if v.verdict == "fails")

    def __repr__(self) -> str:
        rows = [dict(condition=v.condition, verdict=v.verdict, witness=v.witness,
                     method=v.method) for v in self.verdicts if v.verdict != "holds"]
        head = (f"ValidationReport({self.name}: {len(self.verdicts)} conditions, "
                f"{len(self.failed)} fail, {len(self.undecided)} undecided)")
        return head + ("\n" + table(rows) if rows else "")

    __str__ = __repr__


def validate(smdp: SymbolicMDP) -> ValidationReport:
    """Decide every condition of a valid MDP under the parameter domains (no raising)."""
    N, m, dom = smdp.n_states, smdp.n_actions, smdp.domains
    entries, rows = [], []
    for s in range(N):
        for a in range(m):
            row = smdp.P_sa.row(s * m + a)
            for s2 in range(N):
                e = row[s2]
                if e.is_number and e >= 0:
                    continue
                entries.append(decide_sign(e, dom, f"P[{s}, {a}, {s2}] = {e} >= 0"))
            rows.append(decide_zero(sum(row) - 1, dom, f"sum_s' P[{s}, {a}, s'] == 1"))
    nus = [decide_sign(e, dom, f"nu[{i // m}, {i % m}] = {e} >= 0")
           for i, e in enumerate(smdp.nu) if not (e.is_number and e >= 0)]
    nus.append(decide_zero(sum(smdp.nu) - 1, dom, "sum nu == 1"))
    return ValidationReport(name=smdp.name, rows=tuple(rows), entries=tuple(entries),
                            nu=tuple(nus))


def _raise_for(report: ValidationReport, on_undecided: str) -> None:
    for v in report.failed:
        if v.condition.startswith("P[") and ">=" in v.condition:
            raise NegativeProbabilityError(f"{report.name}: {v.condition} fails: {v.witness}")
        if v.condition.startswith("sum_s'"):
            raise RowSumError(f"{report.name}: {v.condition} fails: the row sum minus 1 is "
                              f"{v.reduced} ({v.witness})")
        raise DistributionError(f"{report.name}: {v.condition} fails: {v.witness}")
    if report.undecided:
        msg = (f"{report.name}: cannot decide {len(report.undecided)} condition(s), e.g. "
               f"{report.undecided[0].condition} (reduced to {report.undecided[0].reduced})")
        if on_undecided == "raise":
            raise UndecidedError(msg)
        if on_undecided == "warn":
            warnings.warn(msg, OddMDPWarning, stacklevel=3)


# --------------------------------------------------------------------------- construction
def _domain(spec: Any) -> tuple[sp.Expr, sp.Expr]:
    if spec in ("probability", "unit", None):
        return UNIT_INTERVAL
    if spec == "positive":
        return POSITIVE
    lo, hi = spec
    return sp.nsimplify(lo), sp.nsimplify(hi)


def symbolic_mdp(P: Any, nu: Any = None, params: Mapping[str, Any] | Sequence[str] | None = None,
                 name: str = "symbolic-mdp", on_undecided: str = "raise",
                 meta: dict[str, Any] | None = None) -> SymbolicMDP:
    r"""Build and validate a :class:`SymbolicMDP`.

    Parameters
    ----------
    P : nested sequence (N, m, N) of SymPy expressions, numbers or strings
        :math:`P(s'\mid s,a)`; strings go through the restricted parser
        (:func:`~jepatheory.symbolic.parse.parse_expression`) and may use only ``params``.
    nu : nested sequence (N, m), optional
        Data distribution; uniform by default.
    params : mapping name -> domain, or sequence of names
        A domain is ``"probability"`` (the open interval (0, 1), the default),
        ``"positive"`` or a pair ``(lo, hi)``.
    on_undecided : ``"raise"`` (default), ``"warn"`` or ``"accept"``
        What to do with a condition that cannot be decided.

    Raises
    ------
    NegativeProbabilityError, RowSumError, DistributionError
        A condition provably fails (the message gives a parameter value where).
    UndecidedError
        A condition cannot be decided (with ``on_undecided="raise"``).

    Examples
    --------
    >>> smdp = symbolic_mdp([[["1 - p", "p"]], [["p", "1 - p"]]], params=["p"])
    >>> smdp.P_sa
    Matrix([
    [1 - p,     p],
    [    p, 1 - p]])
    """
    if on_undecided not in ("raise", "warn", "accept"):
        raise DistributionError(f"on_undecided={on_undecided!r}: use raise, warn or accept")
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        params = {str(p): "probability" for p in params}
    domains = {}
    for k, v in params.items():
        lo, hi = _domain(v)
        pos = bool(lo.is_finite and lo >= 0)
        sym = sp.Symbol(str(k), positive=True) if pos else sp.Symbol(str(k), real=True)
        domains[sym] = (lo, hi)
    table_ = {p.name: p for p in domains}

    def conv(e: Any) -> sp.Expr:
        if isinstance(e, str):
            return parse_expression(e, table_)
        if isinstance(e, float):
            return sp.Rational(Fraction(repr(e)).numerator, Fraction(repr(e)).denominator)
        ex = sp.sympify(e) if isinstance(e, (int, sp.Basic)) else None
        if ex is None:
            raise ShapeError(f"{name}: entry {e!r} is not an expression, number or string")
        return ex.subs({sp.Symbol(k): v for k, v in table_.items()})

    try:
        N, m = len(P), len(P[0])
        rows = [[conv(P[s][a][s2]) for s2 in range(N)] for s in range(N) for a in range(m)]
        if any(len(P[s][a]) != N for s in range(N) for a in range(m)) or \
                any(len(P[s]) != m for s in range(N)):
            raise ShapeError(f"{name}: P must have shape (N, m, N)")
    except (TypeError, IndexError):
        raise ShapeError(f"{name}: P must be a nested sequence of shape (N, m, N)") from None
    if nu is None:
        nu_m = sp.Matrix(N, m, lambda s, a: sp.Rational(1, N * m))
    else:
        try:
            nu_m = sp.Matrix(N, m, lambda s, a: conv(nu[s][a]))
        except (TypeError, IndexError):
            raise ShapeError(f"{name}: nu must have shape ({N}, {m})") from None
    smdp = SymbolicMDP(P_sa=sp.Matrix(rows), nu=nu_m, domains=domains, n_states=N,
                       n_actions=m, name=name, meta=dict(meta or {}))
    _raise_for(validate(smdp), on_undecided)
    return smdp


def lift_mdp(mdp: MDP, nu: Any = None, max_denominator: int = 10**6) -> SymbolicMDP:
    """Lift a numeric MDP (and nu, uniform by default) to exact rationals.

    Each probability becomes the closest fraction with denominator at most
    ``max_denominator``; the round-off left in a row sum (at most ``N/max_denominator``) is
    put on the row's largest entry so that rows sum to exactly 1. Raises
    :class:`~jepatheory.errors.RowSumError` if a row needs a correction above ``1e-6``.
    """
    N, m = mdp.n_states, mdp.n_actions
    P = mdp.P_sa.toarray()
    nu_arr = np.full((N, m), 1.0 / (N * m)) if nu is None else np.asarray(nu, float)

    def exact_row(vals: np.ndarray, what: str) -> list[sp.Rational]:
        fr = [Fraction(float(v)).limit_denominator(max_denominator) for v in vals]
        fix = 1 - sum(fr)
        if abs(fix) > 1e-6:
            raise RowSumError(f"lift: {what} sums to {float(sum(fr)):.10g}, not 1")
        j = int(np.argmax(vals))
        fr[j] += fix
        return [sp.Rational(f.numerator, f.denominator) for f in fr]

    rows = [exact_row(P[i], f"P[{i // m}, {i % m}, :]") for i in range(N * m)]
    flat = exact_row(nu_arr.ravel(), "nu")
    return SymbolicMDP(P_sa=sp.Matrix(rows), nu=sp.Matrix(N, m, flat), domains={},
                       n_states=N, n_actions=m, name=f"{mdp.name} (exact)")


# --------------------------------------------------------------------------- families
def fully_symbolic_mdp(n_states: int, n_actions: int, symbolic_nu: bool = True
                       ) -> SymbolicMDP:
    r"""Every probability a free symbol: :math:`P(s'|s,a) = P_{s,a,s'}` for :math:`s' < N-1`
    and the last one :math:`1 - \sum` of the others (so rows sum to 1 by construction);
    likewise ``nu`` when ``symbolic_nu``. Positivity is an assumption (domains (0, 1)), not
    checked: the instance checks of T1/C1/C2 only need rows summing to 1."""
    N, m = int(n_states), int(n_actions)
    if N < 1 or m < 1:
        raise ShapeError(f"fully_symbolic_mdp: N={N}, m={m} must be >= 1")
    domains: dict[sp.Symbol, tuple[sp.Expr, sp.Expr]] = {}
    rows = []
    for s in range(N):
        for a in range(m):
            syms = [sp.Symbol(f"P_{s}{a}{t}", positive=True) for t in range(N - 1)]
            domains.update({x: UNIT_INTERVAL for x in syms})
            rows.append(syms + [1 - sum(syms)])
    if symbolic_nu:
        syms = [sp.Symbol(f"nu_{i // m}{i % m}", positive=True) for i in range(N * m - 1)]
        domains.update({x: UNIT_INTERVAL for x in syms})
        nu = sp.Matrix(N, m, syms + [1 - sum(syms)])
    else:
        nu = sp.Matrix(N, m, lambda s, a: sp.Rational(1, N * m))
    return SymbolicMDP(P_sa=sp.Matrix(rows), nu=nu, domains=domains, n_states=N, n_actions=m,
                       name=f"fully-symbolic N={N} m={m}")


def two_state(a: str = "a", b: str = "b") -> SymbolicMDP:
    """Two states, one action: leave state 0 with probability ``a``, state 1 with ``b``."""
    return symbolic_mdp([[[f"1 - {a}", a]], [[b, f"1 - {b}"]]], params=[a, b],
                        name="two-state")


def slip_ring(n: int, slip: str = "p") -> SymbolicMDP:
    """Ring of ``n`` states, actions right/left; the move goes the other way with
    probability ``slip`` (the core ``ring`` family with two actions)."""
    P = [[[sp.Integer(0)] * n for _ in range(2)] for _ in range(n)]
    p = sp.Symbol(slip)
    for s in range(n):
        for a, step in enumerate((1, -1)):
            P[s][a][(s + step) % n] += 1 - p
            P[s][a][(s - step) % n] += p
    return symbolic_mdp(P, params=[slip], name=f"slip-ring n={n}")


def slip_chain(n: int, slip: str = "p") -> SymbolicMDP:
    """Chain of ``n`` states, actions right/left, ends stay put; slip as in :func:`slip_ring`."""
    P = [[[sp.Integer(0)] * n for _ in range(2)] for _ in range(n)]
    p = sp.Symbol(slip)
    for s in range(n):
        for a, step in enumerate((1, -1)):
            P[s][a][min(max(s + step, 0), n - 1)] += 1 - p
            P[s][a][min(max(s - step, 0), n - 1)] += p
    return symbolic_mdp(P, params=[slip], name=f"slip-chain n={n}")
