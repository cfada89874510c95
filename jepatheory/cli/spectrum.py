"""``jepatheory spectrum``: singular values of T, tail_k, and their accuracy."""
from __future__ import annotations

import argparse

import numpy as np

from .._factor import BACKENDS
from .._results import table
from ..app.spectrum import spectrum_of, spectrum_payload, spectrum_rows
from ..cooccurrence import CoOccurrence
from ..spectrum import CERTIFICATES, METHODS
from ._common import (ENV_HELP, K_RULE, HelpFormatter, add_env_args, add_output_args, check_k,
                      load_env, print_json, say, write_csv)

EPILOG = ENV_HELP + """
examples:
  jepatheory spectrum                                   four-rooms, top 16
  jepatheory spectrum --env grid -p width=100 -p height=100 --k 32 --json
  jepatheory spectrum --mdp my_mdp.npz --k 8 --csv spectrum.csv --plot spectrum.png

JSON keys: singular_values (descending, top k), tail (tail_k for k = 0..K), frobenius_sq,
n_left, n_right (support sizes), residuals (error bound per singular value), method,
certified, certificate_by (dense / inertia / lanczos), failure_probability, uncovered,
unreachable, env.
With --per-action: normalization, and per_action (one object per action: action,
singular_values, tail (tail[j] = sum_{i>j} sigma_i^2, j = 0..k), frobenius_sq, p_action,
n_rows, n_cols, residuals, certified, certificate_by, symmetry_of, symmetry, symmetry_eta:
an action whose block is another's with the states relabelled (checked entry by entry, e.g.
the rotations of a square grid) reuses that action's certified spectrum; --no-symmetry
computes every block), e.g.
  jepatheory spectrum --env grid -p width=20 -p height=20 --k 8 --per-action --json
  jepatheory spectrum --env chain -p n=30 --per-action --normalization per-action --json
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("spectrum", help="singular values of T and tail_k",
                       description="Top-k singular values of the co-occurrence matrix T "
                       "(THEORY D2) with residuals, tail_k = sum_{i>k} sigma_i^2 and ||T||_F^2.",
                       epilog=EPILOG, formatter_class=HelpFormatter)
    add_env_args(p)
    p.add_argument("--k", type=int, default=None,
                   help=f"number of singular values (default 16); {K_RULE}")
    p.add_argument("--method", choices=list(METHODS), default="auto",
                   help="dense LAPACK; sparse (shift-invert block Krylov on T^T T, certified); "
                        "matvec (products only, for kernels whose factors fill badly); auto "
                        "picks by size")
    p.add_argument("--factorization", choices=list(BACKENDS), default="auto",
                   help="sparse method: factorization of s0 I - G; pardiso (multithreaded "
                        "Cholesky, needs the 'fast' extra) or superlu; auto takes pardiso "
                        "when installed and G has >= 20000 rows")
    p.add_argument("--certificate", choices=list(CERTIFICATES), default="auto",
                   help="sparse/matvec methods: how 'no singular value skipped' is proved; "
                        "inertia (deterministic count of the eigenvalues above a cut, "
                        "needs the 'fast' extra), lanczos (randomized, failure probability "
                        "1e-10); auto takes inertia where PARDISO factors")
    g = p.add_argument_group("per-action matrices (THEORY P1, P2)")
    g.add_argument("--per-action", action="store_true",
                   help="also the certified spectra of every per-action matrix Abar_a "
                        "(JSON key per_action)")
    g.add_argument("--normalization", default="q", metavar="q|per-action",
                   help="target marginal of Abar_a: q (overall, D2) or per-action q_a")
    g.add_argument("--no-symmetry", action="store_true",
                   help="compute every block's spectrum, even where a checked relabelling "
                        "of the states maps one action's block onto another's")
    add_output_args(p)
    p.add_argument("--csv", metavar="FILE", help="write i, sigma_i, residual_i, tail_i as CSV")
    p.add_argument("--plot", metavar="FILE", help="plot spectrum and tail (needs 'plot' extra)")
    p.set_defaults(func=run)


def per_action_payload(C: CoOccurrence, k: int, normalization: str, method: str = "auto",
                       seed: int = 0, symmetries: bool = True) -> dict:
    """The ``normalization`` and ``per_action`` keys of ``spectrum --per-action``."""
    from ..paper.per_action import check_normalization
    check_normalization(normalization)
    kw = {"seed": seed} if seed != 0 else {}
    pa = C.per_action(k, normalization, method=method, symmetries=symmetries, **kw)
    return dict(normalization=normalization, per_action=pa.rows(),
                per_action_certified=pa.certified, per_action_seconds=pa.seconds)


def run(args: argparse.Namespace) -> int:
    if args.per_action:
        from ..paper.per_action import check_normalization
        check_normalization(args.normalization)
    mdp, nu = load_env(args)
    C = CoOccurrence(mdp, nu)
    if args.k is not None:
        check_k([args.k], C)
    k = min(16, C.n_left, C.n_right) if args.k is None else args.k
    payload = spectrum_payload(C, k, args.method, args.seed,
                               args.factorization,
                               args.certificate)
    if args.per_action:
        payload.update(per_action_payload(C, k, args.normalization, args.method,
                                          args.seed, not args.no_symmetry))
    if args.csv:
        write_csv(args.csv, spectrum_rows(payload))
    if args.plot:
        from ..plots import plot_spectrum
        plot_spectrum(spectrum_of(C, k, args.method, args.seed, args.factorization,
                                  args.certificate), args.plot, title=C.mdp.name)
    if args.json:
        print_json(payload)
        return 0
    say(args, f"{mdp!r}")
    say(args, f"T: {C.n_left} x {C.n_right} on the supports, ||T||_F^2 = "
        f"{payload['frobenius_sq']:.6g}; uncovered pairs {payload['uncovered']}, "
        f"unreachable states {payload['unreachable']}")
    say(args, f"method {payload['method']}, certified={payload['certified']} (by "
        f"{payload['certificate_by']}, failure probability "
        f"{payload['failure_probability']}), "
        f"max error bound {payload['max_error']:.2e}, {payload['seconds']:.2f}s")
    say(args, table(spectrum_rows(payload)))
    say(args, f"tail_0 = {float(np.asarray(payload['tail'])[0]):.6g}")
    if args.per_action:
        say(args, f"per-action matrices Abar_a (normalization {payload['normalization']}):")
        say(args, table([dict(action=r["action"], p_action=r["p_action"],
                              shape=f"{r['n_rows']}x{r['n_cols']}",
                              frobenius_sq=r["frobenius_sq"],
                              sigma_1=float(r["singular_values"][0]) if len(
                                  r["singular_values"]) else 0.0,
                              tail_k=float(r["tail"][-1]), certified=r["certified"],
                              reused_from=r["symmetry_of"])
                         for r in payload["per_action"]]))
    return 0
