r"""Machine proofs of the identities of the theory (T1, C1, C2, T2, F1-F5, D1-D5).

Two kinds of proof, each returning a :class:`Proof` whose ``residual`` is what is left
after the reduction (``"0"`` when proved):

* **General dimension** (``prove_*_general``): the statement for symbolic sizes
  :math:`N_L, N_R, k`, written with SymPy ``IndexedBase`` objects under finite sums.
  Sums are kept *flat*, one term = a monomial in indexed objects summed over a set of
  indices; a term is reduced with the rules the proof declares it needs and nothing else:

  - ``nu``: :math:`\sum_j p_{ij} = \nu_i` (definition of nu, rows of P sum to 1),
  - ``q``: :math:`\sum_i p_{ij} = q_j` (definition of q),
  - ``white``: :math:`\sum_j q_j h_{jl} h_{jl'} = \delta_{ll'}` (whitening, C1),
  - ``mass``: :math:`\sum_i \nu_i = \sum_j q_j = 1`,

  plus Kronecker-delta contraction and :math:`\sum_{x}1 = ` (range size). Terms are
  compared after renaming summation indices canonically. The marginals are independent
  positive symbols and their definitions enter only through these rules: substituting
  the sums up front is what makes ``expand`` of the T1 difference blow up.
* **Instances** (``check_*_instance``): explicit symbolic MDPs (fully symbolic P and nu,
  slip chains, two-state MDPs) with symbolic embeddings, reduced with ``expand`` (marginal
  symbols substituted only where the statement needs them).

Every function takes the expression it verifies as an optional argument, so that a
planted mistake (a wrong sign, a missing square root) can be fed in and must be caught.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import sympy as sp

from .derive import (Derivation, derive, embeddings, factorization_error, frobenius_sq,
                     l2_loss, spectral_loss, whitening_matrix)
from .mdp import SymbolicMDP, decide_zero, fully_symbolic_mdp
from .indexsum import IDX, Indices, Proof, Term, index_dot, make_proof, pull_constants, reduce_sum

__all__ = ["Proof", "IDX", "prove_t1_general", "prove_c1_general", "prove_c2_general",
           "prove_f2_general", "prove_f4_general", "prove_t2_general", "prove_f3_general",
           "prove_collapse", "prove_latent_backup", "check_t1_instance", "check_c1_instance",
           "check_c2_instance", "check_f1_instance", "check_f2_instance", "check_f3_instance",
           "check_f4_instance", "check_f5_instance", "check_d1_instance", "check_d2_instance",
           "check_d5_linear", "reduce_sum"]


def prove_t1_general(loss_summand: sp.Expr | None = None,
                     eps_summand: sp.Expr | None = None) -> Proof:
    r"""T1 for all :math:`N_L, N_R, k`:
    :math:`L(z,h) = \|T-\Phi\Psi^\top\|_F^2 - \|T\|_F^2`.

    Both sides are double sums over :math:`(i,j) \in [N_L]\times[N_R]`; with
    :math:`T_{ij} = p_{ij}/\sqrt{\nu_i q_j}` and
    :math:`(\Phi\Psi^\top)_{ij} = \sum_l \sqrt{\nu_i}z_{il}\sqrt{q_j}h_{jl}`, the summand of
    :math:`\varepsilon - \|T\|^2 - L` expands to 0 (the inner sum over l is kept as an atom).
    No marginal definition is needed: only :math:`\nu_i, q_j > 0`.
    """
    t0 = time.perf_counter()
    X = Indices
    i, j, l = X.i, X.j, X.l
    c = index_dot(i, j)
    T_ij = X.p[i, j] / sp.sqrt(X.nu[i] * X.q[j])
    if loss_summand is None:
        loss_summand = -2 * X.p[i, j] * c + X.nu[i] * X.q[j] * c ** 2
    if eps_summand is None:
        PhiPsi = sp.Sum(sp.sqrt(X.nu[i]) * X.z[i, l] * sp.sqrt(X.q[j]) * X.h[j, l],
                        (l, 0, X.k - 1))
        eps_summand = (T_ij - PhiPsi) ** 2
    lims = ((i, 0, X.NL - 1), (j, 0, X.NR - 1))
    diff = pull_constants(eps_summand) - T_ij ** 2 - pull_constants(loss_summand)
    residual = sp.Sum(sp.expand(diff), *lims)
    if sp.expand(diff) == 0:
        residual = sp.Integer(0)
    return make_proof("T1", "L(z,h) = ||T - Phi Psi^T||_F^2 - ||T||_F^2 for all N_L, N_R, k",
                  "index-level Sum, summand expanded (marginals as positive symbols)",
                  residual, t0, "general")


def prove_c1_general(l2_terms: list[Term] | None = None) -> Proof:
    r"""C1 for all sizes: :math:`E_q[hh^\top] = I_k \Rightarrow L_2(z,h) = L(z,h) + k`.

    :math:`L_2 - L - k` is written as flat sums and reduced with the rules ``nu``
    (:math:`\sum_j p_{ij} = \nu_i`), ``q`` (:math:`\sum_i p_{ij} = q_j`) and ``white``
    (:math:`\sum_j q_j h_{jl}h_{jl'} = \delta_{ll'}`).
    """
    t0 = time.perf_counter()
    X = Indices
    i, j, l, l2 = X.i, X.j, X.l, X.l2
    if l2_terms is None:
        l2_terms = [(X.p[i, j] * (X.z[i, l] - X.h[j, l]) ** 2, (i, j, l))]
    loss_terms = [(-2 * X.p[i, j] * X.z[i, l] * X.h[j, l], (i, j, l)),
                  (X.nu[i] * X.q[j] * X.z[i, l] * X.h[j, l] * X.z[i, l2] * X.h[j, l2],
                   (i, j, l, l2))]
    terms = list(l2_terms) + [(-e, lim) for e, lim in loss_terms] + [(-X.k, ())]
    residual = reduce_sum(terms, rules=("nu", "q", "white"))
    return make_proof("C1", "E_q[h h^T] = I_k  =>  L2(z,h) = L(z,h) + k for all N_L, N_R, k",
                  "flat index sums reduced by the rules nu, q, white", residual, t0, "general")


def prove_c2_general(loss: Callable[..., sp.Expr] | None = None) -> Proof:
    r"""C2 for all sizes: the minimizer over z of :math:`L` at fixed h is
    :math:`Z^* = D_\nu^{-1} J H M^{-1}` with :math:`M = E_q[hh^\top]`; under whitening
    (:math:`M = I`) its rows are :math:`z^*(s,a) = E[h(s')\mid s,a]`.

    Matrix form: :math:`L(Z) = -2\,\mathrm{tr}(Z^\top J H) + \mathrm{tr}(Z^\top D_\nu Z M)`;
    the gradient (taken term by term: SymPy 1.14 returns 0 for the derivative of a *sum* of
    traces with respect to a ``MatrixSymbol``) vanishes at :math:`Z^*`, and L is convex in
    Z because :math:`D_\nu, M \succeq 0` (Hessian :math:`2 M\otimes D_\nu`).
    """
    t0 = time.perf_counter()
    NL, NR, k = Indices.NL, Indices.NR, Indices.k
    Z = sp.MatrixSymbol("Z", NL, k)
    H = sp.MatrixSymbol("H", NR, k)
    J = sp.MatrixSymbol("J", NL, NR)
    D = sp.MatrixSymbol("D_nu", NL, NL)
    M = sp.MatrixSymbol("M", k, k)
    terms = (loss or (lambda Z, J, H, D, M: [-2 * sp.trace(Z.T * J * H),
                                             sp.trace(Z.T * D * Z * M)]))(Z, J, H, D, M)
    grad = sp.ZeroMatrix(NL, k)
    for t in terms:
        grad = grad + t.diff(Z)
    grad = grad.subs({D.T: D, M.T: M})
    residual_general = grad.subs(Z, D.I * J * H * M.I).doit()
    residual_white = grad.subs(M, sp.Identity(k)).subs(Z, D.I * J * H).doit()
    ok = residual_general == sp.ZeroMatrix(NL, k) or residual_general == 0
    ok_w = residual_white == sp.ZeroMatrix(NL, k) or residual_white == 0
    res = sp.Integer(0) if (ok and ok_w) else (residual_general if not ok else residual_white)
    return make_proof("C2", "argmin_z L(z,h) = D_nu^-1 J H M^-1; whitened: z(s,a) = E[h(s')|s,a]",
                  "matrix-expression gradient (term by term), doit()", res, t0, "general")


# --------------------------------------------------------------------------- T2, F2, F3, F4
def prove_t2_general(eps: sp.Expr | None = None) -> Proof:
    r"""T2 identity for all ranks r and k <= r:
    :math:`\varepsilon = \mathrm{tail}_k + (L - L^*_k)` given T1
    (:math:`\varepsilon = L + \|T\|_F^2`), :math:`\|T\|_F^2 = \sum_{i\le r}\sigma_i^2`,
    :math:`\mathrm{tail}_k = \sum_{i>k}\sigma_i^2`, :math:`L^*_k = -\sum_{i\le k}\sigma_i^2`.
    (That :math:`L^*_k` is the minimum is Eckart-Young: on paper, checked numerically.)"""
    t0 = time.perf_counter()
    r, k = Indices.r, Indices.k
    n = sp.Symbol("n", integer=True, positive=True)
    sig = sp.IndexedBase("sigma", nonnegative=True)
    Lsym = sp.Symbol("L", real=True)
    fro = sp.Sum(sig[n] ** 2, (n, 1, r))
    tail = sp.Sum(sig[n] ** 2, (n, k + 1, r))
    Lstar = -sp.Sum(sig[n] ** 2, (n, 1, k))
    if eps is None:
        eps = Lsym + fro
    # split the sum at k (valid for 0 <= k <= r)
    split = sp.Sum(sig[n] ** 2, (n, 1, k)) + tail
    residual = sp.expand(eps.subs(fro, split) - tail - (Lsym - Lstar))
    return make_proof("T2", "eps = tail_k + (L - L*_k) for all r, k <= r (given T1)",
                  "Sum split at k, expand", residual, t0, "general")


def prove_f2_general(fro_summand: sp.Expr | None = None) -> Proof:
    r"""F2 for all sizes: :math:`\|T\|_F^2 = 1 + \chi^2(p\|\nu\otimes q)` with
    :math:`\chi^2 = \sum_{ij}(p_{ij}-\nu_iq_j)^2/(\nu_iq_j)`; rules ``nu``, ``q``, ``mass``."""
    t0 = time.perf_counter()
    X = Indices
    i, j = X.i, X.j
    if fro_summand is None:
        fro_summand = (X.p[i, j] / sp.sqrt(X.nu[i] * X.q[j])) ** 2
    chi = (X.p[i, j] - X.nu[i] * X.q[j]) ** 2 / (X.nu[i] * X.q[j])
    terms = [(sp.expand(fro_summand - chi), (i, j)), (sp.Integer(-1), ())]
    residual = reduce_sum(terms, rules=("nu", "q", "mass"))
    return make_proof("F2", "||T||_F^2 = 1 + chi^2(p || nu x q) for all N_L, N_R",
                  "flat index sums reduced by the rules nu, q, mass", residual, t0, "general")


def prove_f4_general(ttt_summand: sp.Expr | None = None) -> Proof:
    r"""F4 for all sizes: :math:`(T^\top T)_{jj'} = W_{jj'}/\sqrt{q_jq_{j'}}` with
    :math:`W_{jj'} = \sum_i p_{ij}p_{ij'}/\nu_i`, and :math:`\sum_{j'}W_{jj'} = q_j`."""
    t0 = time.perf_counter()
    X = Indices
    i, j, j2 = X.i, X.j, X.j2
    if ttt_summand is None:
        ttt_summand = (X.p[i, j] / sp.sqrt(X.nu[i] * X.q[j])) * \
                      (X.p[i, j2] / sp.sqrt(X.nu[i] * X.q[j2]))
    w = X.p[i, j] * X.p[i, j2] / X.nu[i]
    r1 = sp.expand(ttt_summand - w / sp.sqrt(X.q[j] * X.q[j2]))
    r2 = reduce_sum([(w, (i, j2)), (-X.q[j], ())], rules=("nu", "q"))
    return make_proof("F4", "T^T T = D_q^-1/2 W D_q^-1/2 and W 1 = q for all sizes",
                  "summand identity + flat sums (rules nu, q)", r1 + r2, t0, "general")


def prove_f3_general(sign: int = 1) -> Proof:
    r"""F3 eigenvector step for all sizes: if :math:`Tv = \sigma u`, :math:`T^\top u =
    \sigma v` then :math:`\mathrm{Lap}\,(u, \pm v) = (1\mp\sigma)(u, \pm v)`. (The count
    of the remaining :math:`|N_L-N_R|` unit eigenvalues is on paper, checked numerically.)"""
    t0 = time.perf_counter()
    NL, NR = Indices.NL, Indices.NR
    T = sp.MatrixSymbol("T", NL, NR)
    u = sp.MatrixSymbol("u", NL, 1)
    v = sp.MatrixSymbol("v", NR, 1)
    s = sp.Symbol("sigma", nonnegative=True)
    res = []
    for pm in (1, -1):
        top = u - T * (pm * v)          # rows of (I - [[0,T],[T^T,0]]) (u, pm v)
        bot = pm * v - T.T * u
        rt = sp.expand((top - (1 - sign * pm * s) * u).doit().subs(T * v, s * u))
        rb = sp.expand((bot - (1 - sign * pm * s) * pm * v).doit().subs(T.T * u, s * v))
        res += [rt, rb]
    residual = sp.Integer(0) if all(r == 0 or r == sp.ZeroMatrix(*r.shape) for r in res) \
        else sp.Add(*[sp.Symbol(str(r)) for r in res if r != 0])
    return make_proof("F3", "Lap (u, +-v) = (1 -+ sigma)(u, +-v) for every singular pair",
                  "matrix-expression substitution", residual, t0, "general")


# --------------------------------------------------------------------------- D3, D4
def prove_collapse(l2: Callable[[sp.Expr, sp.Expr], sp.Expr] | None = None) -> Proof:
    r"""D3 collapse: without whitening the l2 loss is 0 at constant embeddings
    :math:`z \equiv h \equiv c` (its minimum, being a sum of squares), and the linear term
    :math:`-2E_p[z\cdot h]` alone is unbounded below (:math:`z = h = t c`, :math:`t\to\infty`).
    """
    t0 = time.perf_counter()
    X = Indices
    i, j, l = X.i, X.j, X.l
    cvec = sp.IndexedBase("c", real=True)
    t = sp.Symbol("t", positive=True)
    l2 = l2 or (lambda zz, hh: X.p[i, j] * (zz - hh) ** 2)
    r1 = reduce_sum([(l2(cvec[l], cvec[l]), (i, j, l))], rules=("nu", "mass"))
    lin = t ** 2 * reduce_sum([(-2 * X.p[i, j] * cvec[l] * cvec[l], (i, j, l))],
                              rules=("nu", "mass"))
    C = sp.Symbol("C", positive=True)          # ||c||^2 > 0 for c != 0
    lim = sp.limit(lin.subs(sp.Sum(cvec[l] ** 2, (l, 0, X.k - 1)), C), t, sp.oo)
    residual = r1 + (0 if lim == -sp.oo else sp.Symbol(f"limit_{lim}"))
    return make_proof("D3", "L2 without whitening = 0 at constant z = h; -2 E_p[z.h] -> -inf",
                  "flat index sums + limit", residual, t0, "general")


def prove_latent_backup(backup: sp.Expr | None = None) -> Proof:
    r"""D4 latent backup: :math:`E_{\hat P}[V\mid s,a] = \sum_{s'} q(s')\,z(s,a)\cdot h(s')
    V(s') = z(s,a)\cdot w_V` with :math:`w_V = E_q[hV]`, for all sizes."""
    t0 = time.perf_counter()
    X = Indices
    i, j, l = X.i, X.j, X.l
    V = sp.IndexedBase("V", real=True)
    lhs = backup if backup is not None else X.q[j] * X.z[i, l] * X.h[j, l] * V[j]
    rhs = X.z[i, l] * X.q[j] * X.h[j, l] * V[j]     # z . sum_j q_j h_j V_j (sums swapped)
    residual = reduce_sum([(lhs, (j, l)), (-rhs, (l, j))])
    return make_proof("D4", "E_{P_hat}[V | s,a] = z(s,a) . E_q[h V]", "flat index sums",
                  residual, t0, "general")


# --------------------------------------------------------------------------- instances
def _symbolic_instance(N: int, m: int, k: int, smdp: SymbolicMDP | None = None
                       ) -> tuple[Derivation, sp.Matrix, sp.Matrix]:
    D = derive(smdp or fully_symbolic_mdp(N, m), marginals="symbols")
    Z, H = embeddings(len(D.left), len(D.right), k)
    return D, Z, H


def check_t1_instance(N: int = 3, m: int = 2, k: int = 2, smdp: SymbolicMDP | None = None,
                      loss: Callable[..., sp.Expr] | None = None) -> Proof:
    r"""T1 on an explicit symbolic MDP (fully symbolic P and nu by default):
    ``expand`` of :math:`\varepsilon - \|T\|_F^2 - L` is 0, with every marginal a positive
    symbol (nu entries that are expressions are replaced by symbols too)."""
    t0 = time.perf_counter()
    D, Z, H = _symbolic_instance(N, m, k, smdp)
    nu_sym = sp.Matrix([v if (v.is_Symbol or v.is_number) else
                        sp.Symbol(f"nuL_{i}", positive=True) for i, v in zip(D.left, D.nu_L)])
    P_L = sp.Matrix([[D.mdp.P_sa[i, j] for j in D.right] for i in D.left])
    J = sp.Matrix(P_L.shape[0], P_L.shape[1], lambda a, b: nu_sym[a] * P_L[a, b])
    Ds = Derivation(mdp=D.mdp, left=D.left, right=D.right, joint=J, nu_L=nu_sym, q_R=D.q_R,
                    T=sp.Matrix(J.shape[0], J.shape[1],
                                lambda a, b: J[a, b] / sp.sqrt(nu_sym[a] * D.q_R[b])),
                    blocks=(), abar=(), p_action=(), laplacian=sp.zeros(1), W=sp.zeros(1),
                    TtT=sp.zeros(1), definitions=D.definitions)
    L = (loss or spectral_loss)(Ds, Z, H)
    residual = sp.expand(factorization_error(Ds, Z, H) - frobenius_sq(Ds) - L)
    return make_proof("T1", "L(z,h) = ||T - Phi Psi^T||_F^2 - ||T||_F^2 (instance)",
                  "expand with marginals as positive symbols", residual, t0,
                  f"N={D.mdp.n_states}, m={D.mdp.n_actions}, k={k}")


def check_c1_instance(N: int = 3, m: int = 2, k: int = 2, smdp: SymbolicMDP | None = None,
                      l2: Callable[..., sp.Expr] | None = None) -> Proof:
    r"""C1 on an explicit symbolic MDP, for *every* h: the identity
    :math:`L_2 = L + \mathrm{tr}M + \sum_i\nu_i z_i^\top(I-M)z_i`, :math:`M = E_q[hh^\top]`
    (so that :math:`M = I` gives C1); marginal definitions substituted, then ``expand``."""
    t0 = time.perf_counter()
    D, Z, H = _symbolic_instance(N, m, k, smdp)
    M = whitening_matrix(D, H)
    extra = M.trace() + sum((D.nu_L[i] * (Z.row(i) * (sp.eye(k) - M) * Z.row(i).T)[0, 0]
                             for i in range(Z.shape[0])), sp.Integer(0))
    diff = (l2 or l2_loss)(D, Z, H) - spectral_loss(D, Z, H) - extra
    residual = sp.expand(diff)          # the quadratic terms cancel with q kept as symbols
    if residual != 0:                   # what is left needs the definitions of q
        residual = sp.expand(D.expand_marginals(residual))
    return make_proof("C1", "L2 = L + tr M + sum_i nu_i z_i^T (I - M) z_i; M = I gives L2 = L + k",
                  "marginal definitions substituted, expand", residual, t0,
                  f"N={D.mdp.n_states}, m={D.mdp.n_actions}, k={k}")


def check_c2_instance(N: int = 3, m: int = 2, k: int = 2, smdp: SymbolicMDP | None = None,
                      cond_mean: Callable[..., sp.Matrix] | None = None) -> Proof:
    r"""C2 on an explicit symbolic MDP: :math:`\partial L/\partial z_i =
    2\nu_i(Mz_i - E[h(s')\mid s,a])`, so the unique stationary point (L is convex in z,
    Hessian :math:`2\nu_iM`) is :math:`z_i = M^{-1}E[h\mid s,a]`, and :math:`E[h\mid s,a]`
    under whitening."""
    t0 = time.perf_counter()
    D, Z, H = _symbolic_instance(N, m, k, smdp)
    M = whitening_matrix(D, H)
    L = spectral_loss(D, Z, H)
    P_L = sp.Matrix([[D.mdp.P_sa[i, j] for j in D.right] for i in D.left])
    cm = cond_mean(D, H) if cond_mean else P_L * H          # E[h(s')|s,a], rows
    res = sp.Integer(0)
    for i in range(Z.shape[0]):
        for l in range(k):
            g = sp.diff(L, Z[i, l])
            target = 2 * D.nu_L[i] * ((M * Z.row(i).T)[l, 0] - cm[i, l])
            res += sp.expand(g - target) ** 2
    return make_proof("C2", "dL/dz_i = 2 nu_i (M z_i - E[h(s')|s,a]) (instance)",
                  "diff + expand", res, t0,
                  f"N={D.mdp.n_states}, m={D.mdp.n_actions}, k={k}")


def _decide_all(exprs: Iterable[sp.Expr], D: Derivation) -> sp.Expr:
    """Sum of the residuals not proved 0 under the MDP's domains (after definitions)."""
    bad = sp.Integer(0)
    for e in exprs:
        e = sp.expand(e)                 # first without the definitions of the marginals
        if e == 0:
            continue
        e = sp.expand(D.expand_marginals(e))
        if e != 0 and not decide_zero(e, D.mdp.domains).holds:
            bad += sp.Abs(e)
    return bad


def check_f1_instance(smdp: SymbolicMDP, T: sp.Matrix | None = None) -> Proof:
    r"""F1 on a symbolic MDP: :math:`T\sqrt q = \sqrt\nu` and :math:`T^\top\sqrt\nu = \sqrt q`
    (each row multiplied by :math:`\sqrt{\nu_i}`, resp. column by :math:`\sqrt{q_j}`, before
    the definitions are substituted)."""
    t0 = time.perf_counter()
    D = derive(smdp)
    T = D.T if T is None else T
    sq = sp.Matrix([sp.sqrt(v) for v in D.q_R])
    sn = sp.Matrix([sp.sqrt(v) for v in D.nu_L])
    r1 = [sp.expand((T * sq)[i] * sn[i]) - D.nu_L[i] for i in range(len(D.left))]
    r2 = [sp.expand((T.T * sn)[j] * sq[j]) - D.q_R[j] for j in range(len(D.right))]
    return make_proof("F1", "T sqrt(q) = sqrt(nu), T^T sqrt(nu) = sqrt(q)",
                  "expand, definitions, decide_zero", _decide_all(r1 + r2, D), t0, D.mdp.name)


def check_f2_instance(smdp: SymbolicMDP, T: sp.Matrix | None = None) -> Proof:
    """F2 on a symbolic MDP: ||T||_F^2 - 1 - chi^2 reduces to 0."""
    t0 = time.perf_counter()
    D = derive(smdp)
    T = D.T if T is None else T
    fro = sp.Add(*[t ** 2 for t in T])
    chi = sp.Add(*[(D.joint[i, j] - D.nu_L[i] * D.q_R[j]) ** 2 / (D.nu_L[i] * D.q_R[j])
                   for i in range(T.shape[0]) for j in range(T.shape[1])])
    e = sp.together(sp.expand(fro - 1 - chi))
    return make_proof("F2", "||T||_F^2 = 1 + chi^2(p || nu x q)", "expand, definitions",
                  _decide_all([sp.numer(e)], D), t0, D.mdp.name)


def check_f3_instance(smdp: SymbolicMDP) -> Proof:
    r"""F3 on a symbolic MDP, as characteristic polynomials (Schur complement):
    :math:`\det(\lambda I - \mathrm{Lap}) = (\lambda-1)^{N_L-N_R}
    \det((\lambda-1)^2 I - T^\top T)` for :math:`N_L \ge N_R`."""
    t0 = time.perf_counter()
    D = derive(smdp)
    lam = sp.Symbol("lambda")
    nL, nR = D.shape
    A = D.TtT if nL >= nR else D.T * D.T.T
    mu = sp.Symbol("mu")
    lhs = D.laplacian.charpoly(lam).as_expr()
    rhs = (lam - 1) ** abs(nL - nR) * A.charpoly(mu).as_expr().subs(mu, (lam - 1) ** 2)
    return make_proof("F3", "charpoly(Lap) = (l-1)^|N_L-N_R| charpoly(T^T T)((l-1)^2)",
                  "berkowitz determinants, expand", _decide_all([lhs - rhs], D), t0,
                  D.mdp.name)


def check_f4_instance(smdp: SymbolicMDP) -> Proof:
    """F4 on a symbolic MDP: T^T T = D_q^-1/2 W D_q^-1/2 and W 1 = q."""
    t0 = time.perf_counter()
    D = derive(smdp)
    Dq = sp.diag(*[1 / sp.sqrt(v) for v in D.q_R])
    r1 = list(D.TtT - Dq * D.W * Dq)
    r2 = list(D.W * sp.ones(D.W.shape[0], 1) - D.q_R)
    return make_proof("F4", "T^T T = D_q^-1/2 W D_q^-1/2, W 1 = q", "expand, definitions",
                  _decide_all(r1 + r2, D), t0, D.mdp.name)


def check_f5_instance(n_states: int = 3, n_actions: int = 2,
                      successor: Callable[[int, int], int] | None = None) -> Proof:
    r"""F5 on a deterministic MDP with a fully symbolic nu: :math:`T^\top T = I` when every
    state is some pair's successor (default successor ``(s + a + 1) mod N``)."""
    t0 = time.perf_counter()
    N, m = n_states, n_actions
    succ = successor or (lambda s, a: (s + a + 1) % N)
    P = [[[sp.Integer(int(succ(s, a) == t)) for t in range(N)] for a in range(m)]
         for s in range(N)]
    base = fully_symbolic_mdp(N, m)
    smdp = SymbolicMDP(P_sa=sp.Matrix([P[s][a] for s in range(N) for a in range(m)]),
                       nu=base.nu, domains={k: v for k, v in base.domains.items()
                                            if k.name.startswith("nu")},
                       n_states=N, n_actions=m, name=f"deterministic N={N} m={m}")
    D = derive(smdp)
    return make_proof("F5", "deterministic dynamics reaching every state: T^T T = I",
                  "expand, definitions", _decide_all(list(D.TtT - sp.eye(D.TtT.shape[0])), D),
                  t0, smdp.name)


def check_d1_instance(smdp: SymbolicMDP) -> Proof:
    """D1 on a symbolic MDP: left degrees of the bipartite graph are nu, right degrees q."""
    t0 = time.perf_counter()
    D = derive(smdp, marginals="explicit")
    r1 = [sum(D.joint.row(i)) - D.nu_L[i] for i in range(D.joint.shape[0])]
    r2 = [sum(D.joint.col(j)) - D.q_R[j] for j in range(D.joint.shape[1])]
    return make_proof("D1", "left degree = nu, right degree = q", "decide_zero",
                  _decide_all(r1 + r2, D), t0, D.mdp.name)


def check_d2_instance(smdp: SymbolicMDP) -> Proof:
    r"""D2 on a symbolic MDP: :math:`T_a = \sqrt{p(a)}\,\bar A_a` for every action."""
    t0 = time.perf_counter()
    D = derive(smdp)
    res = []
    for B, A, pa in zip(D.blocks, D.abar, D.p_action):
        res += list(B - sp.sqrt(pa) * A)
    return make_proof("D2", "T_a = sqrt(p(a)) Abar_a", "expand, decide_zero", _decide_all(res, D),
                  t0, D.mdp.name)


def check_d5_linear(n_states: int = 3, n_actions: int = 2) -> Proof:
    r"""D5: with nu and q held fixed (symbols), every entry of T is linear in P: all second
    derivatives with respect to the entries of P vanish."""
    t0 = time.perf_counter()
    smdp = fully_symbolic_mdp(n_states, n_actions)
    N, m = n_states, n_actions
    Psyms = [s for s in smdp.domains if s.name.startswith("P")]
    nu = [sp.Symbol(f"nu{i}", positive=True) for i in range(N * m)]
    q = [sp.Symbol(f"q{j}", positive=True) for j in range(N)]
    T = [nu[i] * smdp.P_sa[i, j] / sp.sqrt(nu[i] * q[j]) for i in range(N * m)
         for j in range(N)]
    res = sp.Integer(0)
    for t in T:
        for a in Psyms:
            for b in Psyms:
                res += sp.Abs(sp.diff(t, a, b))
    return make_proof("D5", "nu, q fixed: T is linear in P (convex design)", "second derivatives",
                  res, t0, f"N={N}, m={m}")
