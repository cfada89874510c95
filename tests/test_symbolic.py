"""Symbolic MDPs, derivations, closed forms and the machine proofs (THEORY T1, C1, C2, T2,
F1-F5, D1-D5). Symbolic results are compared exactly; numeric comparisons state their
tolerance."""
from __future__ import annotations

import warnings

import networkx as nx
import numpy as np
import pytest
import sympy as sp

from jepatheory.cooccurrence import CoOccurrence
from jepatheory.envs import make_env
from jepatheory.errors import (ExpressionError, NegativeProbabilityError, OddMDPWarning,
                               RowSumError, UndecidedError)
from jepatheory.symbolic import (check_c1_instance, check_c2_instance, check_t1_instance,
                                 decide_sign, decide_zero, derivation_report, derive,
                                 embeddings, fully_symbolic_mdp, k_star_power_law,
                                 laplacian_eigenvalues, lift_mdp, prove_c1_general,
                                 prove_c2_general, prove_t1_general, render_latex,
                                 singular_values_sq, slip_chain, slip_ring,
                                 slip_ring_singular_values, spectral_loss, symbolic_mdp,
                                 t4_bound_expr, two_state, two_state_singular_values, validate)
from jepatheory.symbolic import identities as I
from jepatheory.symbolic.closed_forms import SYMBOLS
from jepatheory.symbolic.report import latex

X = I.IDX
p = sp.Symbol("p", positive=True)


# ----------------------------------------------------------------- validation
def test_negative_probability_is_wrong_with_a_witness():
    with pytest.raises(NegativeProbabilityError, match=r"1 - 2\*p.*gives -"):
        symbolic_mdp([[["1 - 2*p", "2*p"]], [["p", "1 - p"]]], params=["p"])


def test_row_not_summing_to_one_is_wrong():
    with pytest.raises(RowSumError, match="row sum minus 1 is p"):
        symbolic_mdp([[["1 - p", "2*p"]], [["p", "1 - p"]]], params=["p"])


def test_undecidable_row_is_reported_not_accepted():
    # tan(p/2)(1 + cos p)/sin p == 1 for p in (0, 1), but cancel/simplify do not show it
    hard = "p*tan(p/2)*(1 + cos(p))/sin(p)"
    P = [[["1 - p", hard]], [["p", "1 - p"]]]
    with pytest.raises(UndecidedError, match="cannot decide"):
        symbolic_mdp(P, params=["p"])
    smdp = symbolic_mdp(P, params=["p"], on_undecided="accept")
    rep = validate(smdp)
    assert not rep.valid and rep.undecided and not rep.failed
    with pytest.warns(OddMDPWarning):
        symbolic_mdp(P, params=["p"], on_undecided="warn")


def test_decisions_are_three_valued():
    dom = {p: (sp.Integer(0), sp.Integer(1))}
    assert decide_zero(p * (1 - p) + p**2 - p, dom).verdict == "holds"
    assert decide_zero(sp.sin(p) ** 2 + sp.cos(p) ** 2 - 1, dom).verdict == "holds"
    assert decide_zero(p - sp.Rational(1, 2), dom).verdict == "fails"
    assert decide_sign(p * (1 - p), dom).verdict == "holds"
    assert decide_sign(1 - 2 * p, dom).verdict == "fails"


def test_user_strings_go_through_the_restricted_parser():
    with pytest.raises(ExpressionError):
        symbolic_mdp([[["1 - p", "p.__class__"]], [["p", "1 - p"]]], params=["p"])
    with pytest.raises(ExpressionError):
        symbolic_mdp([[["1 - q", "q"]], [["p", "1 - p"]]], params=["p"])


def test_lift_to_exact_rationals_matches_the_numeric_mdp():
    mdp = make_env("chain", n=4, slip=0.3)
    smdp = lift_mdp(mdp)
    for i in range(smdp.P_sa.shape[0]):
        assert sum(smdp.P_sa.row(i)) == 1            # exact
    assert np.allclose(np.array(smdp.P_sa, dtype=float), mdp.P_sa.toarray(), atol=1e-6)
    assert sum(smdp.nu) == 1


# ----------------------------------------------------------------- derivations
def test_derived_T_matches_the_numeric_T():
    smdp = slip_chain(3)
    D = derive(smdp, marginals="explicit")
    val = {sp.Symbol("p", positive=True): sp.Rational(1, 5)}
    T_sym = np.array(D.T.subs(val).evalf(), dtype=float)
    mdp, nu = smdp.to_numeric({"p": sp.Rational(1, 5)})
    C = CoOccurrence(mdp, nu)
    # tolerance: float64 round-off of O(1) entries
    assert np.abs(T_sym - C.T.toarray()).max() <= 1e-12
    W = np.array(D.W.subs(val).evalf(), dtype=float)
    assert np.abs(W - C.next_state_graph().toarray()).max() <= 1e-12
    Lap = np.array(D.laplacian.subs(val).evalf(), dtype=float)
    assert np.abs(Lap - C.laplacian().toarray()).max() <= 1e-12


def test_symbolic_loss_equals_numeric_loss():
    from jepatheory.model import jepa_loss
    smdp = two_state()
    vals = {"a": sp.Rational(1, 3), "b": sp.Rational(1, 7)}
    D = derive(smdp.subs(vals), marginals="explicit")
    Z, H = embeddings(2, 2, 2)
    rng = np.random.default_rng(0)
    zv, hv = rng.normal(size=(2, 2)), rng.normal(size=(2, 2))
    sub = {Z[i, l]: zv[i, l] for i in range(2) for l in range(2)}
    sub.update({H[j, l]: hv[j, l] for j in range(2) for l in range(2)})
    mdp, nu = smdp.to_numeric(vals)
    # tolerance: float64 round-off
    assert abs(float(spectral_loss(D, Z, H).subs(sub)) - jepa_loss(CoOccurrence(mdp, nu), zv, hv)
               ) <= 1e-12


# ----------------------------------------------------------------- closed forms
def test_two_state_singular_values_closed_form():
    a, b = sp.symbols("a b", positive=True)
    s2 = sorted(singular_values_sq(two_state()), key=lambda e: e.subs({a: 0.3, b: 0.2}))
    s1c, s2c = two_state_singular_values()
    assert sp.simplify(s2[1] - s1c**2) == 0
    assert sp.simplify(s2[0] - s2c**2) == 0


@pytest.mark.parametrize("n", [3, 4, 5])
def test_slip_ring_singular_values_closed_form(n):
    val = sp.Rational(2, 7)
    mdp, nu = slip_ring(n).to_numeric({"p": val})
    s = np.linalg.svd(CoOccurrence(mdp, nu).T.toarray(), compute_uv=False)
    pred = np.sqrt(sorted((float(e.subs(p, val)) for e in slip_ring_singular_values(n)),
                          reverse=True))
    assert np.abs(s - pred).max() <= 1e-12     # float64 round-off


@pytest.mark.parametrize("kind, n, m, G", [
    ("path", 6, None, nx.path_graph(6)), ("cycle", 7, None, nx.cycle_graph(7)),
    ("grid", 3, 4, nx.grid_2d_graph(3, 4))])
def test_laplacian_closed_forms(kind, n, m, G):
    pred = sorted(float(e) for e in laplacian_eigenvalues(kind, n, m))
    ev = np.linalg.eigvalsh(nx.laplacian_matrix(G).toarray().astype(float))
    assert np.abs(np.sort(ev) - pred).max() <= 1e-10


def test_k_star_minimizes_the_power_law_bound():
    kstar, _ = k_star_power_law()
    S = SYMBOLS
    vals = {S["C"]: 1, S["a"]: 2, S["B"]: 1, S["NL"]: 200, S["NR"]: 50, S["n"]: 10**6}
    k_val = float(kstar.subs(vals))
    f = sp.lambdify(S["k"], t4_bound_expr().subs(S["delta"], 1).subs(vals))
    ks = np.linspace(0.2 * k_val, 5 * k_val, 2001)
    # with delta = 1 the dropped log(2/delta) term is log 2: k* within 5% of the argmin
    assert abs(ks[np.argmin(f(ks))] / k_val - 1) < 0.05


# ----------------------------------------------------------------- proofs
@pytest.mark.parametrize("fn", [prove_t1_general, prove_c1_general, prove_c2_general,
                                I.prove_t2_general, I.prove_f2_general, I.prove_f3_general,
                                I.prove_f4_general, I.prove_collapse, I.prove_latent_backup])
def test_general_proofs_hold(fn):
    pr = fn()
    assert pr.proved and pr.residual == "0", pr


def test_instance_checks_hold():
    for f in (check_t1_instance, check_c1_instance, check_c2_instance):
        assert f(3, 2, 2).proved
    for smdp in (two_state(), slip_chain(3)):
        for f in (I.check_f1_instance, I.check_f2_instance, I.check_f4_instance,
                  I.check_d1_instance, I.check_d2_instance):
            assert f(smdp).proved, (f.__name__, smdp)
    assert I.check_f3_instance(two_state()).proved
    assert I.check_f5_instance(3, 2).proved
    assert I.check_d5_linear(2, 2).proved


# planted mistakes: each must leave a non-zero residual
def _T(i, j):
    return X.p[i, j] / sp.sqrt(X.nu[i] * X.q[j])


def test_planted_mistakes_in_t1_are_caught():
    i, j, l = X.i, X.j, X.l
    c = sp.Sum(X.z[i, l] * X.h[j, l], (l, 0, X.k - 1))
    wrong_sign = 2 * X.p[i, j] * c + X.nu[i] * X.q[j] * c**2
    assert not prove_t1_general(loss_summand=wrong_sign).proved
    no_sqrt = (X.p[i, j] / (X.nu[i] * X.q[j]) -
               sp.Sum(sp.sqrt(X.nu[i]) * X.z[i, l] * sp.sqrt(X.q[j]) * X.h[j, l],
                      (l, 0, X.k - 1))) ** 2
    assert not prove_t1_general(eps_summand=no_sqrt).proved
    missing_q = -2 * X.p[i, j] * c + X.nu[i] * c**2
    assert not prove_t1_general(loss_summand=missing_q).proved

    def bad_loss(D, Z, H):
        return spectral_loss(D, Z, H) + 2 * sum(D.joint[0, j] * (Z * H.T)[0, j]
                                                for j in range(H.shape[0]))
    assert not check_t1_instance(2, 2, 2, loss=bad_loss).proved


def test_planted_mistakes_in_c1_c2_are_caught():
    i, j, l = X.i, X.j, X.l
    assert not prove_c1_general([(X.p[i, j] * (X.z[i, l] + X.h[j, l]) ** 2, (i, j, l))]).proved
    assert not prove_c2_general(lambda Z, J, H, D, M: [2 * sp.trace(Z.T * J * H),
                                                       sp.trace(Z.T * D * Z * M)]).proved
    from jepatheory.symbolic.derive import l2_loss

    def bad_l2(D, Z, H):
        return l2_loss(D, Z, H) + D.nu_L[0] * Z[0, 0] ** 2 / 2
    assert not check_c1_instance(2, 2, 1, l2=bad_l2).proved
    assert not check_c2_instance(2, 2, 1, cond_mean=lambda D, H: 2 * (
        sp.Matrix([[D.mdp.P_sa[a, b] for b in D.right] for a in D.left]) * H)).proved


def test_planted_mistakes_in_facts_are_caught():
    i, j = X.i, X.j
    assert not I.prove_f2_general(fro_summand=X.p[i, j] ** 2 / (X.nu[i] * X.q[j] ** 2)).proved
    assert not I.prove_f4_general(ttt_summand=_T(i, j) * _T(i, X.j2) * 2).proved
    D = derive(slip_chain(3))
    bad = D.T.applyfunc(lambda e: e * sp.sqrt(2))
    assert not I.check_f1_instance(slip_chain(3), T=bad).proved
    assert not I.check_f2_instance(slip_chain(3), T=-2 * D.T).proved
    assert not I.prove_collapse(lambda zz, hh: X.p[i, j] * (zz + hh) ** 2).proved
    assert not I.prove_t2_general(eps=sp.Symbol("L", real=True)).proved


# ----------------------------------------------------------------- reports
def test_reports_render():
    D = derive(two_state())
    txt = derivation_report(D, "text", k=1)
    assert "T =" in txt and "L(z,h)" in txt and "a in (0, 1)" in txt
    tex = derivation_report(D, "latex", k=1)
    assert tex.count("\\begin{align*}") == 1 and "\\end{align*}" in tex
    # every object of the derivation renders with mathtext (entry by entry for matrices)
    Z, H = embeddings(2, 2, 1)
    for obj in (D.T, D.laplacian, D.W, spectral_loss(D, Z, H), t4_bound_expr(),
                k_star_power_law()[0]):
        pngs = render_latex(obj)
        assert pngs and all(b.startswith(b"\x89PNG") for b in pngs)
    # LaTeX round trip: what the report prints is sympy's own LaTeX of the object
    assert latex(D.T) in tex
    with pytest.raises(ExpressionError):
        render_latex(r"\frac{1}{")
    with pytest.raises(ExpressionError):
        derivation_report(D, "html")


def test_fully_symbolic_mdp_rows_sum_to_one():
    smdp = fully_symbolic_mdp(3, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert all(sp.expand(sum(smdp.P_sa.row(i)) - 1) == 0 for i in range(6))
    assert sp.expand(sum(smdp.nu) - 1) == 0


def test_demo_section(tmp_path):
    from jepatheory.data import uniform_nu
    from jepatheory.demo import DemoContext
    from jepatheory.app.symbolic import demo_section
    mdp = make_env("chain", n=4, slip=0.2)
    out = demo_section(DemoContext(mdp=mdp, nu=uniform_nu(mdp), out=tmp_path, quick=True,
                                   say=lambda *a: None))
    assert all(r["proved"] for r in out["proofs"])
    assert out["lift_max_error"] <= 1e-6     # rationals with denominators <= 1e6
    assert (tmp_path / "symbolic_two_state.tex").read_text().startswith("% Derivation")


@pytest.mark.parametrize("n, expected", [
    (3, [sp.Integer(1), 1 - 3 * p * (1 - p), 1 - 3 * p * (1 - p)]),
    (4, [sp.Integer(1), (1 - 2 * p) ** 2, 1 - 2 * p * (1 - p), 1 - 2 * p * (1 - p)])])
def test_slip_chain_singular_values_closed_form(n, expected):
    got = singular_values_sq(slip_chain(n))
    assert sorted(sp.expand(e - g) for e, g in zip(
        sorted(expected, key=lambda e: e.subs(p, 0.3)),
        sorted(got, key=lambda e: e.subs(p, 0.3)))) == [0] * n
    mdp, nu = slip_chain(n).to_numeric({"p": sp.Rational(1, 5)})
    s = np.linalg.svd(CoOccurrence(mdp, nu).T.toarray(), compute_uv=False)
    pred = np.sqrt(sorted((float(e.subs(p, sp.Rational(1, 5))) for e in expected), reverse=True))
    assert np.abs(s - pred).max() <= 1e-12       # float64 round-off
