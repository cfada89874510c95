"""Top-k spectrum of T (THEORY D2, F4): closed forms, dense vs iterative agreement, the
clustered-values trap, certification, reproducibility."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from jepatheory._factor import pardiso_available
from jepatheory.closed_forms import slip_grid_singular_values
from jepatheory.closed_forms import slip_ring_singular_values as ring_singular_values
from jepatheory.cooccurrence import CoOccurrence
from jepatheory.envs import grid, make_env, ring
from jepatheory.errors import SpectrumError, SpectrumWarning
from jepatheory.spectrum import canonical_signs, gram, top_singular

# Rounding: the dense SVD and the closed forms agree to a few ulps of sigma <= 1.
ULP_TOL = 1e-12


@pytest.mark.parametrize("n,slip", [(12, 0.1), (25, 0.3), (40, 0.45)])
def test_ring_closed_form_dense(n, slip):
    C = CoOccurrence(ring(n, slip=slip))
    spec = top_singular(C.T, n, method="dense")
    assert np.max(np.abs(spec.singular_values - ring_singular_values(n, slip))) < ULP_TOL
    # tail_k from the closed form: the sum of the remaining squares
    exact = ring_singular_values(n, slip)
    for k in (0, 3, n):
        assert abs(spec.tail_k(k) - np.sum(exact[k:] ** 2)) < 1e-10


@pytest.mark.parametrize("method", ["sparse", "matvec"])
def test_ring_closed_form_iterative(method):
    n, slip, k = 60, 0.2, 9
    C = CoOccurrence(ring(n, slip=slip))
    spec = top_singular(C.T, k, method=method)
    exact = ring_singular_values(n, slip)
    assert spec.certified, spec.certificate["check"]
    # the certified bound is a proved bound: the true error must lie below it (one-sided)
    err = np.abs(spec.singular_values - exact[:k])
    assert np.all(err <= np.asarray(spec.certificate["sigma_error_bound"]) + 1e-15)
    assert np.all(err <= spec.residuals + 1e-15)  # Weyl bound
    assert abs(spec.tail_k(k) - np.sum(exact[k:] ** 2)) < 1e-8  # tol=1e-8 on sigma^2


def test_grid_closed_form_sparse_clusters():
    """The grid's top values come in exact pairs and near-equal clusters; none skipped."""
    w = h = 24
    C = CoOccurrence(grid(w, h, slip=0.1))
    k = 16
    spec = top_singular(C.T, k, method="sparse", seed=3)
    exact = slip_grid_singular_values(w, h, 0.1)
    assert spec.certified
    err = np.abs(spec.singular_values - exact[:k])
    assert np.all(err <= np.asarray(spec.certificate["sigma_error_bound"]) + 1e-15)
    assert np.max(err) < 1e-8
    assert spec.certificate["failure_probability"] <= 1e-10


def test_grid_closed_form_rectangular_dense():
    C = CoOccurrence(grid(5, 9, slip=0.3))
    spec = top_singular(C.T, C.n_right, method="dense")
    assert np.max(np.abs(spec.singular_values - slip_grid_singular_values(5, 9, 0.3))) < ULP_TOL


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(30, 70), branching=st.integers(2, 5))
def test_dense_vs_sparse_random_mdps(seed, n, branching):
    mdp = make_env("random-sparse", n=n, actions=3, branching=branching, seed=seed)
    rng = np.random.default_rng(seed)
    nu = rng.dirichlet(np.ones(n * 3)).reshape(n, 3)
    C = CoOccurrence(mdp, nu)
    k = 6
    d = top_singular(C.T, k, method="dense")
    with warnings.catch_warnings():
        warnings.simplefilter("error", SpectrumWarning)
        s = top_singular(C.T, k, method="sparse", seed=seed)
    assert s.certified
    bound = np.asarray(s.certificate["sigma_error_bound"]) + 4 * d.residuals + 1e-14
    assert np.all(np.abs(s.singular_values - d.singular_values) <= bound)
    assert abs(s.tail_k(k) - d.tail_k(k)) <= 2 * k * 1e-8  # tol 1e-8 per sigma^2
    assert s.singular_values[0] == pytest.approx(1.0, abs=1e-10)  # F1: sigma_1 = 1
    # subspaces agree (vectors may differ inside clusters): compare projectors on a gap
    gaps = d.singular_values[:-1] - d.singular_values[1:]
    j = int(np.argmax(gaps)) + 1
    if gaps[j - 1] > 1e-3:
        Pd, Ps = d.V[:, :j] @ d.V[:, :j].T, s.V[:, :j] @ s.V[:, :j].T
        assert np.linalg.norm(Pd - Ps, 2) < 1e-6


def test_wide_matrix_uses_left_gram():
    rng = np.random.default_rng(1)
    T = sp.random(25, 300, density=0.1, random_state=rng, format="csr")
    d = top_singular(T, 5, method="dense")
    s = top_singular(T, 5, method="sparse")
    assert s.certificate["gram_side"].startswith("left")
    assert s.certified
    assert np.max(np.abs(s.singular_values - d.singular_values)) < 1e-8


def _repeated_blocks(copies: int, seed: int = 0) -> sp.csr_array:
    """Direct sum of ``copies`` identical blocks plus one different block: every singular
    value of the repeated block has multiplicity exactly ``copies``."""
    rng = np.random.default_rng(seed)
    B = sp.random(40, 30, density=0.15, random_state=rng) + sp.eye(40, 30)
    other = sp.random(40, 30, density=0.15, random_state=rng) * 0.5 + sp.eye(40, 30) * 0.9
    return sp.csr_array(sp.block_diag([B] * copies + [other]))


@pytest.mark.parametrize("method", ["sparse", "matvec"])
def test_clustered_trap_none_skipped(method):
    T = _repeated_blocks(6)
    k = 16  # the top value of B has multiplicity 6: k cuts the third cluster
    d = top_singular(T, k, method="dense")
    s = top_singular(T, k, method=method, block=2, seed=0)
    assert s.certified
    assert np.max(np.abs(s.singular_values - d.singular_values)) < 1e-7


@pytest.mark.parametrize("method", ["sparse", "matvec"])
def test_clustered_trap_never_certified_when_wrong(method):
    """With a block smaller than the multiplicity and no retry, the answer may skip copies;
    it must then not be certified (and must warn)."""
    T = _repeated_blocks(6)
    k = 16
    d = top_singular(T, k, method="dense")
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        s = top_singular(T, k, method=method, block=1, attempts=1, seed=0)
    wrong = np.max(np.abs(s.singular_values - d.singular_values)) > 1e-6
    assert wrong  # a single start vector cannot see six copies: the trap springs
    assert not s.certified
    assert s.certificate["check"]["skip_detected"]
    assert any(issubclass(w.category, SpectrumWarning) for w in rec)


def test_under_iterated_run_is_not_certified():
    C = CoOccurrence(grid(20, 20, slip=0.1))
    with pytest.warns(SpectrumWarning):
        s = top_singular(C.T, 16, method="matvec", max_dim=24)
    assert not s.certified
    assert s.certificate["failure_probability"] is None
    assert "NOT certified" in s.certificate["statement"]
    # the Weyl residual bounds still hold against the exact values
    exact = slip_grid_singular_values(20, 20, 0.1)[:16]
    # residual bounds are per computed value; some true value lies within each
    for sig, r in zip(s.singular_values, s.residuals):
        assert np.min(np.abs(exact - sig)) <= r + 1e-12 or np.min(
            np.abs(slip_grid_singular_values(20, 20, 0.1) - sig)) <= r + 1e-12


def test_same_seed_same_numbers_and_canonical_signs():
    C = CoOccurrence(grid(15, 15, slip=0.2))
    a = top_singular(C.T, 8, method="sparse", seed=7)
    b = top_singular(C.T, 8, method="sparse", seed=7)
    assert np.array_equal(a.singular_values, b.singular_values)
    assert np.array_equal(a.V, b.V) and np.array_equal(a.U, b.U)
    idx = np.argmax(np.abs(a.V), axis=0)
    assert np.all(a.V[idx, np.arange(8)] > 0)
    U, V = canonical_signs(-a.U, -a.V)
    assert np.array_equal(V, a.V)


def test_tail_and_frobenius_from_nonzeros():
    C = CoOccurrence(make_env("four-rooms"))
    s = top_singular(C.T, 10)
    assert s.frobenius_sq == pytest.approx(C.frobenius_sq, rel=1e-14)
    assert np.all(np.diff(s.tail) <= 1e-15)  # tail_k is nonincreasing
    full = top_singular(C.T, C.n_right, method="dense")
    assert s.tail_k(10) == pytest.approx(np.sum(full.singular_values[10:] ** 2), abs=1e-12)
    assert s.certificate["frobenius_consistent"]


def test_cooccurrence_spectrum_cached_and_options_passed():
    C = CoOccurrence(grid(12, 12))
    assert C.spectrum(5) is C.spectrum(5)
    s = C.spectrum(5, method="sparse", seed=2)
    assert s.method == "sparse" and s.certified


@pytest.mark.parametrize("kw", [dict(k=-1), dict(k=10_000), dict(k=2.5), dict(method="svd"),
                                dict(delta=0.0), dict(tol=0.0), dict(block=0),
                                dict(attempts=0), dict(max_dim=0)])
def test_bad_input_raises_spectrum_error(kw):
    C = CoOccurrence(ring(10))
    args = dict(k=3) | kw
    with pytest.raises(SpectrumError):
        top_singular(C.T, **args)


def test_k_zero():
    C = CoOccurrence(ring(10))
    s = top_singular(C.T, 0, method="sparse")
    assert s.singular_values.size == 0 and s.tail[0] == pytest.approx(C.frobenius_sq)


def test_demo_section_reports_certificate():
    from jepatheory.app.spectrum import demo_section

    class Ctx:
        seed = 0
        lines: list[str] = []

        def cooc(self):
            return CoOccurrence(make_env("four-rooms"))

        def say(self, msg):
            self.lines.append(msg)

    out = demo_section(Ctx())
    assert out["certified"] and out["max_abs_diff_vs_dense"] <= out["proved_bound"]


def test_threads_do_not_change_the_numbers():
    C = CoOccurrence(grid(14, 14, slip=0.2))
    a = top_singular(C.T, 6, method="sparse", threads=1)
    b = top_singular(C.T, 6, method="sparse", threads=2)
    assert np.array_equal(a.singular_values, b.singular_values)
    assert np.array_equal(a.V, b.V)


def test_shift_is_proved_definite_by_bound_or_by_inertia():
    """s0 I - G is positive definite either because s0 exceeds the rigorous bound on
    lambda_max (no pivot count needed) or because the LDL^T factors have no nonpositive
    pivot; a signed G (loose infinity-norm bound) takes the inertia route."""
    from jepatheory.spectrum import _shift_invert

    G, _ = gram(CoOccurrence(grid(20, 20, slip=0.1)).T)
    rng = np.random.default_rng(0)
    Qr, _ = np.linalg.qr(rng.standard_normal((120, 120)))
    G_signed = sp.csr_array((Qr * np.linspace(0.0, 1.0, 120)) @ Qr.T)  # ||G||_inf >> 1
    for M in (G, G_signed):
        op, info = _shift_invert(sp.csr_array(M), np.random.default_rng(0), None, 1)
        last = info["factorizations"][-1]
        bound = min(info["lambda_max_bound"]["inf_norm"],
                    info["lambda_max_bound"].get("collatz_wielandt", np.inf))
        if last["definite_by"] == "rigorous bound":
            assert op.s0 > bound
        else:
            assert last["negative_pivots"] == 0
        # B = (s0 I - G)^{-1}: the solve inverts s0 I - G (rounding, condition <= 1e7)
        x = rng.standard_normal(M.shape[0])
        y = op(x[:, None])[:, 0]
        assert np.linalg.norm(op.s0 * y - M @ y - x) <= 1e-8 * np.linalg.norm(x)
    # the inertia route itself: no nonpositive pivot above lambda_max, some below it
    from jepatheory._factor import factor_shifted

    lam = np.linalg.eigvalsh(G.toarray())
    above = factor_shifted(G, lam[-1] * (1 + 1e-6), "superlu")
    below = factor_shifted(G, 0.5 * (lam[-1] + lam[-2]), "superlu")
    assert (above.negative_pivots, above.definite) == (0, True)
    assert (below.negative_pivots, below.definite) == (1, False)


@pytest.mark.skipif(not pardiso_available(), reason="needs the 'fast' extra")
def test_pardiso_cholesky_proves_or_disproves_definiteness():
    """PARDISO's Cholesky completes just above lambda_max (and solves s0 I - G), and fails
    with a nonpositive pivot just below it: the definiteness proof of the fast backend."""
    from jepatheory._factor import factor_shifted

    G, _ = gram(CoOccurrence(grid(20, 20, slip=0.1)).T)
    lam = np.linalg.eigvalsh(G.toarray())
    for s0, definite in ((lam[-1] * (1 + 1e-9), True), (lam[-1] * (1 - 1e-9), False),
                         (0.5 * (lam[-1] + lam[-2]), False)):
        f = factor_shifted(G, s0, "pardiso", threads=2)
        assert f.definite is definite
        if definite:
            X = np.random.default_rng(1).standard_normal((G.shape[0], 3))
            Y = f.solve(X)  # backward stable (the condition number is about 1e9 here)
            assert np.linalg.norm(s0 * Y - G @ Y - X) <= 1e-12 * np.linalg.norm(Y)


@pytest.mark.skipif(not pardiso_available(), reason="needs the 'fast' extra")
def test_pardiso_factor_memory_is_released_with_the_factor():
    """PARDISO's factor lives in MKL's memory: dropping the Factor releases its handle (an
    all-zero handle after PARDISO's release phase), so repeated spectra do not leak."""
    import gc

    from jepatheory._factor import factor_shifted

    G, _ = gram(CoOccurrence(grid(30, 30, slip=0.1)).T)
    f = factor_shifted(G, 1.00001, "pardiso")
    solver = f._solver
    assert solver.pt.any()
    del f
    gc.collect()
    assert not solver.pt.any()


@pytest.mark.parametrize("backend", ["superlu", "pardiso"])
def test_sparse_spectrum_same_with_either_factorization(backend):
    """Both factorization backends give the same certified spectrum (closed form of the
    slip grid) on a grid whose top values come in near-equal clusters."""
    if backend == "pardiso" and not pardiso_available():
        pytest.skip("needs the 'fast' extra")
    C = CoOccurrence(grid(60, 60, slip=0.1))
    spec = top_singular(C.T, 12, method="sparse", factorization=backend)
    ref = slip_grid_singular_values(60, 60, 0.1)[:12]
    assert spec.certified and spec.certificate["factorization"] == backend
    assert np.max(np.abs(spec.singular_values - ref)) <= 1e-9


@pytest.mark.parametrize("option, bad, needs_extra",
                         [("factorization", "lapack", "pardiso"),
                          ("certificate", "coin", "inertia")])
def test_unknown_options_and_missing_extra_are_typed_errors(monkeypatch, option, bad,
                                                            needs_extra):
    from jepatheory import _factor
    from jepatheory.errors import MissingExtraError

    C = CoOccurrence(grid(10, 10, slip=0.1))
    with pytest.raises(SpectrumError, match=bad):
        top_singular(C.T, 3, method="sparse", **{option: bad})
    monkeypatch.setattr(_factor, "_pypardiso", lambda: None)
    with pytest.raises(MissingExtraError, match="fast"):
        top_singular(C.T, 3, method="sparse", **{option: needs_extra})
    # auto without the extra: SuperLU and the randomized certificate
    G, _ = gram(C.T)
    assert _factor.factor_shifted(G, 1.01, "auto").backend == "superlu"
    s = top_singular(C.T, 3, method="sparse")
    assert s.certified and s.certificate["check"]["by"] == "lanczos"


@pytest.mark.parametrize("env, k", [("four-rooms", 16), ("block-mdp", 8), ("block-mdp", 40),
                                    ("expander", 4)])
def test_dense_gram_path_matches_the_full_svd(env, k):
    """The dense path's Gram route (k <= n/2) agrees with LAPACK's full SVD, and falls back to
    it when sigma_k is tiny (block-mdp has rank 16, so k = 40 includes zeros)."""
    from jepatheory import CoOccurrence, make_env

    C = CoOccurrence(make_env(env))
    s_full = np.linalg.svd(C.T.toarray(), compute_uv=False)[:k]
    spec = top_singular(C.T, k, method="dense")
    U, V = spec.U, spec.V
    # round-off level: eps times the small dimensions involved
    assert np.abs(spec.singular_values - s_full).max() < 1e-13
    assert np.abs(U.T @ U - np.eye(k)).max() < 1e-12
    assert np.abs(V.T @ V - np.eye(k)).max() < 1e-12
    assert spec.residuals.max() < 1e-12 and spec.certified


def test_cli_spectrum_factorization_and_certificate_options(capsys):
    """`jepatheory spectrum --factorization/--certificate` pick the backend and the proof
    and report both in the JSON."""
    import json

    from jepatheory.cli import main

    argv = ["spectrum", "--env", "grid", "-p", "width=60", "-p", "height=60", "--k", "3",
            "--method", "sparse", "--json"]
    assert main(argv + ["--factorization", "superlu"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["factorization"] == "superlu" and out["certified"] is True
    assert out["certificate_by"] == "lanczos" and out["failure_probability"] == 1e-10
    if pardiso_available():
        assert main(argv + ["--factorization", "pardiso", "--certificate", "inertia"]) == 0
        out2 = json.loads(capsys.readouterr().out)
        assert out2["factorization"] == "pardiso" and out2["certificate_by"] == "inertia"
        assert out2["failure_probability"] == 0.0
        assert np.allclose(out2["singular_values"], out["singular_values"], atol=1e-9)
    for bad in (["--factorization", "lu"], ["--certificate", "coin"]):
        with pytest.raises(SystemExit) as exc:  # argparse: a one-line usage error
            main(argv + bad)
        assert exc.value.code == 2


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 6), st.integers(1, 5), st.integers(0, 10_000), st.integers(0, 7))
def test_expand_splits_a_block_against_the_basis(nv, b, seed, local):
    """The Krylov bookkeeping: Z = V C + W R with W orthonormal and orthogonal to V; a
    column of Z inside span V adds no direction (Rayleigh-Ritz on B reads H from C, R).
    With ``local`` (block Lanczos: first against the last columns only, one full pass, a
    second only on cancellation) the same holds for any Z, including a Z dominated by
    old columns (heavy cancellation)."""
    from jepatheory.spectrum import _expand

    rng = np.random.default_rng(seed)
    n = 40
    V = np.linalg.qr(rng.standard_normal((n, nv)))[0] if nv else None
    Z = rng.standard_normal((n, b))
    if nv:
        Z[:, 0] = V @ rng.standard_normal(nv)  # this column is in span V
        if seed % 2:  # mostly along the oldest column: the local pass cannot remove it
            Z += 1e6 * np.outer(V[:, 0], rng.standard_normal(b))
    W, C, R = _expand(Z, V, local=local)
    recon = W @ R + (V @ C if nv else 0.0)
    assert np.allclose(recon, Z, atol=1e-10 * max(1.0, np.abs(Z).max()))
    assert np.allclose(W.T @ W, np.eye(W.shape[1]), atol=1e-12)
    if nv:
        assert np.abs(V.T @ W).max(initial=0.0) < 1e-12
    assert W.shape[1] == b - (1 if nv else 0)


# ------------------------------------------------------------------ inertia certificate
needs_pardiso = pytest.mark.skipif(not pardiso_available(), reason="needs the 'fast' extra")


@needs_pardiso
@settings(max_examples=25, deadline=None)
@given(st.integers(5, 60), st.integers(0, 10**6))
def test_inertia_counts_the_eigenvalues_above_the_cut(n, seed):
    """Sylvester's law of inertia: the negative pivots of LDL^T(cI - G) are the eigenvalues
    of G above c (dense eigvalsh as the reference, cuts away from every eigenvalue)."""
    from jepatheory._factor import inertia_shifted

    rng = np.random.default_rng(seed)
    A = sp.random(n, n, density=0.3, random_state=rng)
    G = sp.csr_array(A @ A.T + sp.eye(n) * 0.01)
    lam = np.linalg.eigvalsh(G.toarray())
    mids = (lam[1:] + lam[:-1]) / 2
    ok = (lam[1:] - lam[:-1]) > 1e-8 * max(lam[-1], 1.0)
    for c in list(mids[ok][:: max(1, ok.sum() // 4)]) + [lam[-1] + 1.0, lam[0] - 1.0]:
        r = inertia_shifted(G, float(c), threads=2)
        assert r.perturbed_pivots == 0
        assert r.negative == int(np.sum(lam > c))
        assert r.negative + r.positive + r.zero == n


@needs_pardiso
@pytest.mark.parametrize("method", ["sparse", "matvec"])
def test_inertia_certificate_agrees_with_lanczos_and_dense(method):
    """Deterministic certificate: same certified values as the randomized one and as the
    dense SVD; failure probability 0, the count equals p."""
    T = _repeated_blocks(3)
    d = top_singular(T, 10, method="dense")
    a = top_singular(T, 10, method=method, block=4, certificate="inertia")
    b = top_singular(T, 10, method=method, block=4, certificate="lanczos")
    assert a.certified and b.certified
    chk = a.certificate["check"]
    assert chk["by"] == "inertia" and chk["eigenvalues_above_cut"] == chk["p"]
    assert a.certificate["failure_probability"] == 0.0
    assert b.certificate["check"]["by"] == "lanczos"
    assert np.max(np.abs(a.singular_values - d.singular_values)) < 1e-7
    assert np.allclose(a.singular_values, b.singular_values, atol=1e-10)


@needs_pardiso
@pytest.mark.parametrize("method", ["sparse", "matvec"])
def test_inertia_certificate_detects_a_skipped_copy(method):
    """The clustered trap (block 1 against multiplicity 6, no retry): the count sees the
    copies the Krylov space missed, so the wrong answer is never certified."""
    T = _repeated_blocks(6)
    d = top_singular(T, 16, method="dense")
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        s = top_singular(T, 16, method=method, block=1, attempts=1, certificate="inertia")
    assert np.max(np.abs(s.singular_values - d.singular_values)) > 1e-6
    assert not s.certified
    chk = s.certificate["check"]
    assert chk["by"] == "inertia"
    assert chk.get("skip_detected") or chk.get("reason")
    assert any(issubclass(w.category, SpectrumWarning) for w in rec)


@needs_pardiso
def test_auto_certificate_on_a_large_grid_is_the_inertia_count():
    """Above PARDISO_MIN_N rows 'auto' factors with PARDISO and certifies by the count."""
    C = CoOccurrence(grid(150, 150, slip=0.1))
    s = top_singular(C.T, 8)
    assert s.certified and s.certificate["check"]["by"] == "inertia"
    ref = slip_grid_singular_values(150, 150, 0.1)[:8]
    assert np.max(np.abs(s.singular_values - ref)) <= 1e-9


@needs_pardiso
def test_auto_falls_back_to_lanczos_when_the_count_cannot_be_used(monkeypatch):
    """A cut closer to the spectrum than the rounding allowance voids the count: 'auto'
    then proves the answer the randomized way and keeps the inertia attempt's record."""
    from jepatheory import spectrum as spectrum_module

    monkeypatch.setattr(spectrum_module, "INERTIA_MARGIN", 1.0)
    C = CoOccurrence(grid(150, 150, slip=0.1))
    s = top_singular(C.T, 8)
    chk = s.certificate["check"]
    assert s.certified and chk["by"] == "lanczos"
    assert chk["inertia"]["by"] == "inertia" and not chk["inertia"]["proved"]
    assert s.certificate["failure_probability"] == 1e-10
    with pytest.warns(SpectrumWarning):  # forced inertia: no fallback, not certified
        f = top_singular(C.T, 8, certificate="inertia", attempts=1)
    assert not f.certified


def test_norm_upper_with_empty_rows():
    """A per-action block with an unreached state has an empty Gram row (also the last
    one): the bound is the largest absolute row sum, empty rows counting 0."""
    from jepatheory.spectrum._linalg import norm_upper
    G = sp.csr_array(np.array([[2.0, -1.0, 0.0], [-1.0, 3.0, 0.0], [0.0, 0.0, 0.0]]))
    assert norm_upper(G) == 4.0
    G = sp.csr_array(np.array([[0.0, 0.0, 0.0], [0.0, 3.0, -5.0], [0.0, -5.0, 1.0]]))
    assert norm_upper(G) == 8.0
    assert norm_upper(sp.csr_array((3, 3))) == 0.0


def test_sparse_spectrum_of_a_block_with_unreached_states():
    """Deterministic grid, action 'up': the bottom row is never reached, so Abar_a has empty
    columns (the last ones included); the sparse path agrees with the dense SVD. The 25
    wall states carry sigma = sqrt(2), the rest at most 1: k = 25 ends at a gap."""
    from jepatheory.paper.per_action import abar_blocks
    A = abar_blocks(CoOccurrence(grid(25, 70, slip=0.0)))[0].A
    assert (np.diff(sp.csc_array(A).indptr) == 0).any()
    s = top_singular(A, 25, method="sparse", block=32)
    d = top_singular(A, 25, method="dense")
    assert s.certified
    assert np.allclose(s.singular_values, d.singular_values, atol=1e-9)
