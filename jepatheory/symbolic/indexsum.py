r"""The index-sum engine under the general-dimension proofs (:mod:`.identities`): finite
sums of monomials in SymPy ``IndexedBase`` objects kept flat, reduced by the rules a
proof declares (``nu``, ``q``, ``white``, ``mass``), Kronecker-delta contraction and
canonical renaming of summation indices; and the :class:`Proof` record every proof
returns."""
from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import sympy as sp

from .._results import Result

__all__ = ["Proof", "make_proof", "Indices", "IDX", "Term", "monomial_factors",
           "reduction_rules", "flatten_term", "reduce_term", "canonical_term", "reduce_sum",
           "index_dot", "pull_constants"]


@dataclass(frozen=True, repr=False)
class Proof(Result):
    """A machine proof: what was shown, how, the residual left (``"0"`` if proved)."""

    id: str
    statement: str
    method: str
    residual: str
    proved: bool
    seconds: float
    size: str = ""


def make_proof(id: str, statement: str, method: str, residual: Any, t0: float,
           size: str = "") -> Proof:
    res = sp.sympify(residual)
    return Proof(id=id, statement=statement, method=method, residual=str(res),
                 proved=bool(res == 0), seconds=time.perf_counter() - t0, size=size)


# --------------------------------------------------------------------------- index algebra
class Indices:
    """Index symbols and indexed objects shared by the general proofs."""

    NL, NR, k, r = sp.symbols("N_L N_R k r", integer=True, positive=True)
    i, i2 = sp.symbols("i i'", integer=True, nonnegative=True)
    j, j2 = sp.symbols("j j'", integer=True, nonnegative=True)
    l, l2 = sp.symbols("l l'", integer=True, nonnegative=True)
    p = sp.IndexedBase("p", nonnegative=True)
    nu = sp.IndexedBase("nu", positive=True)
    q = sp.IndexedBase("q", positive=True)
    z = sp.IndexedBase("z", real=True)
    h = sp.IndexedBase("h", real=True)

    @classmethod
    def ranges(cls) -> dict[sp.Symbol, sp.Symbol]:
        return {cls.i: cls.NL, cls.i2: cls.NL, cls.j: cls.NR, cls.j2: cls.NR,
                cls.l: cls.k, cls.l2: cls.k}


IDX = Indices


Term = tuple[sp.Expr, tuple[sp.Symbol, ...]]


def monomial_factors(expr: sp.Expr) -> list[sp.Expr]:
    out = []
    for f in sp.Mul.make_args(expr):
        b, e = f.as_base_exp()
        if e.is_Integer and e > 1 and isinstance(b, (sp.Indexed, sp.KroneckerDelta)):
            out += [b] * int(e)
        else:
            out.append(f)
    return out


def reduction_rules(names: Iterable[str]
                    ) -> list[Callable[[list[sp.Expr], sp.Symbol], sp.Expr | None]]:
    X = Indices
    table = []

    def rule_nu(deps: list[sp.Expr], x: sp.Symbol) -> sp.Expr | None:
        if len(deps) == 1 and isinstance(deps[0], sp.Indexed) and deps[0].base == X.p \
                and deps[0].indices[1] == x and deps[0].indices[0] != x:
            return X.nu[deps[0].indices[0]]
        return None

    def rule_q(deps: list[sp.Expr], x: sp.Symbol) -> sp.Expr | None:
        if len(deps) == 1 and isinstance(deps[0], sp.Indexed) and deps[0].base == X.p \
                and deps[0].indices[0] == x and deps[0].indices[1] != x:
            return X.q[deps[0].indices[1]]
        return None

    def rule_white(deps: list[sp.Expr], x: sp.Symbol) -> sp.Expr | None:
        if len(deps) != 3 or not all(isinstance(d, sp.Indexed) for d in deps):
            return None
        qs = [d for d in deps if d.base == X.q]
        hs = [d for d in deps if d.base == X.h]
        if len(qs) == 1 and len(hs) == 2 and qs[0].indices == (x,) and \
                all(h.indices[0] == x for h in hs):
            return sp.KroneckerDelta(hs[0].indices[1], hs[1].indices[1])
        return None

    def rule_mass(deps: list[sp.Expr], x: sp.Symbol) -> sp.Expr | None:
        if len(deps) == 1 and isinstance(deps[0], sp.Indexed) and \
                deps[0].base in (X.nu, X.q) and deps[0].indices == (x,):
            return sp.Integer(1)
        return None

    known = {"nu": rule_nu, "q": rule_q, "white": rule_white, "mass": rule_mass}
    for n in names:
        table.append(known[n])
    return table


def flatten_term(expr: sp.Expr, limits: tuple[sp.Symbol, ...]) -> list[Term]:
    """Expand a summand into monomials, each summed over ``limits``."""
    return [(t, limits) for t in sp.Add.make_args(sp.expand(expr)) if t != 0]


def reduce_term(term: Term, rules: list[Callable[..., Any]]) -> Term:
    expr, limits = term
    ranges = Indices.ranges()
    lim = list(limits)
    changed = True
    while changed and expr != 0:
        changed = False
        # Kronecker deltas: contract a summed index
        for d in [f for f in monomial_factors(expr) if isinstance(f, sp.KroneckerDelta)]:
            a, b = d.args
            if b in lim:
                expr, changed = (expr / d).subs(b, a), True
                lim.remove(b)
            elif a in lim:
                expr, changed = (expr / d).subs(a, b), True
                lim.remove(a)
            if changed:
                break
        if changed:
            continue
        for x in list(lim):
            if x not in expr.free_symbols:  # sum of a constant over x
                expr, changed = expr * ranges[x], True
                lim.remove(x)
                break
            deps = [f for f in monomial_factors(expr) if x in f.free_symbols]
            rest = sp.Mul(*[f for f in monomial_factors(expr) if x not in f.free_symbols])
            for rule in rules:
                new = rule(deps, x)
                if new is not None:
                    expr, changed = rest * new, True
                    lim.remove(x)
                    break
            if changed:
                break
    return expr, tuple(lim)


def canonical_term(term: Term) -> tuple[str, sp.Expr, Term]:
    """Key invariant under renaming of summation indices within their range."""
    expr, lim = term
    coeff, mono = expr.as_coeff_Mul()
    ranges = Indices.ranges()
    pools = {rng: [s for s, r in ranges.items() if r == rng] for rng in set(ranges.values())}
    groups: dict[sp.Symbol, list[sp.Symbol]] = {}
    for x in lim:
        groups.setdefault(ranges[x], []).append(x)
    best = None
    per_group = [[(g, perm) for perm in itertools.permutations(pools[g][:len(xs)])]
                 for g, xs in sorted(groups.items(), key=lambda kv: str(kv[0]))]
    for choice in itertools.product(*per_group):
        mapping = {}
        for g, perm in choice:
            mapping.update(dict(zip(groups[g], perm)))
        renamed = mono.xreplace(mapping)
        key = f"{sorted(map(str, mapping.values()))}|{sp.srepr(renamed)}"
        if best is None or key < best[0]:
            best = (key, renamed, tuple(sorted(mapping.values(), key=str)))
    if best is None:
        return f"[]|{sp.srepr(mono)}", coeff, (mono, ())
    return best[0], coeff, (best[1], best[2])


def reduce_sum(terms: list[Term], rules: Iterable[str] = ()) -> sp.Expr:
    """Reduce a list of flat terms with the named rules; return the residual as an
    expression (a sum of ``Sum`` objects; 0 when everything cancels)."""
    rl = reduction_rules(rules)
    acc: dict[str, list[Any]] = {}
    for t in terms:
        for t2 in flatten_term(*t):
            red = reduce_term(t2, rl)
            for t3 in flatten_term(*red):
                key, coeff, rep = canonical_term(t3)
                if key in acc:
                    acc[key][0] += coeff
                else:
                    acc[key] = [coeff, rep]
    out = sp.Integer(0)
    ranges = Indices.ranges()
    for coeff, (mono, lim) in acc.values():
        c = sp.simplify(coeff)
        if c != 0:
            out += c * (sp.Sum(mono, *[(x, 0, ranges[x] - 1) for x in lim]) if lim else mono)
    return out


# --------------------------------------------------------------------------- T1, C1, C2
def index_dot(i: sp.Symbol, j: sp.Symbol) -> sp.Expr:
    X = Indices
    return sp.Sum(X.z[i, X.l] * X.h[j, X.l], (X.l, 0, X.k - 1))


def pull_constants(expr: sp.Expr) -> sp.Expr:
    """Sum(c * f(x), x) -> c * Sum(f(x), x) for factors c free of x (finite linearity)."""
    def pull(s: sp.Sum) -> sp.Expr:
        if len(s.limits) != 1:
            return s
        x = s.limits[0][0]
        inside = [f for f in sp.Mul.make_args(s.function) if x in f.free_symbols]
        outside = [f for f in sp.Mul.make_args(s.function) if x not in f.free_symbols]
        return sp.Mul(*outside) * sp.Sum(sp.Mul(*inside), s.limits[0])
    return expr.replace(lambda e: isinstance(e, sp.Sum), pull)
