"""``jepatheory bound``: every constant of T3, T4, T4b and T5, the bound over k and n, k*."""
from __future__ import annotations

import argparse
from pathlib import Path

from .._results import table
from ..bounds.curves import KAPPA_METHODS, bound_curve, parse_grid
from ..bounds.finite_sample import ENCODERS
from ..cooccurrence import CoOccurrence
from ._common import (ENV_HELP, K_RULE, HelpFormatter, add_env_args, add_output_args, check_k,
                      env_info, load_env, print_json, say, write_csv, write_json)

DEFAULT_K = "1,2,4,8,16,32,64"

EPILOG = ENV_HELP + """
examples:
  jepatheory bound                                         four-rooms, n=1e4,1e6, k=1..64
  jepatheory bound --env chain -p n=30 --n 1e3,1e5 --k 1,2,4,8 --json
  jepatheory bound --env block-mdp --encoder linear --n 1e6 --k 4,8,16 --csv b.csv
  jepatheory bound --env gym -p id=FrozenLake-v1 --n 1e5 --k 2,4,8 --plot figs/

The regret bound before the data is R4 = c (sqrt(C^pi*) + 1/sqrt(min nu)) sqrt(eps_bound)
(C^pi_hat <= 1/min nu), eps_bound from T4 (class empirical risk minimizer, radius kappa_k)
or T4b (plug-in estimator); R4 is their minimum. Each bound at each k uses delta/(2K) for K
values of k, so k* (argmin of R4 over k) holds with probability 1 - delta. A bound at or
above R_max/(1-gamma) (trivial_bound) is vacuous. R_T5 is the input-level count model.

Paper form (--form paper --horizon H [--normalization q|per-action] [--c-max C]
[--class tabular|linear]), e.g.
  jepatheory bound --form paper --horizon 10 --n 1e6 --json
  jepatheory bound --env noisy-features --form paper --class linear --horizon 10 --json
--class tabular (default): the ERM over the tabular class of radius kappa_k (contains the T2
minimizer), eps_bound = (tail_k + 2 dev_R)/min_a p(a). --class linear: z = W_a^T phi(s),
f = U^T phi(s') with phi = the environment's observations x (one-hot if it has none);
eps_bound = (eps_ref + 2 dev_R)/min_a p(a), eps_ref the exact error of a least-squares fit
of the T2 minimizer in that class, B = rho_z rho_f R_x^2, Rademacher term B sqrt(m/floor(n/2)).
The input-level row is the tabular exact factorization in both classes.
JSON keys: form, class, horizon, n, c0, C_mu, C_inf, min_p_action, k_star, k_star_by_n,
trivial_bound (= c_max), normalization, rows (one per (n, k): n, k, tail_T, tail_max
(max_a tail_k(Abar_a), the P2 floor), kappa, B, rademacher (2 dev_R of P5), eps_bound
(bound on max_a eps_a), R1_step (single-step bound), R_T (T-step bound), vacuous,
vacuous_1step, latent_beats_input; with --class linear also cls, eps_ref, rho_z, rho_f, R_x,
features, d_x, and kappa = sqrt(B)), input_level (the k = N_x row), crossover (first_n,
latent_wins_at, latent_wins_nonvacuous_at, statement), env; with --cost also measured
(per k: max_eps, regret_1step, R1_at_eps, regret_T, R_T_at_eps, planner, regret_by_horizon,
slope); floor (exact or bracket; with --floor bracket each row also has tail_max_upper);
with --sample-terms also sample_terms (per (n, k): tail, B, eps_P5, eps_P5_linear,
eps_T4, eps_T4b, P5_over_T4, P5_over_T4b, ...).

JSON keys (theory form): env, C_pi_star, D_pi_star, min_nu, c, trivial_bound, regret_factor, V_star,
k_star (at the largest n), k_star_by_n, delta, delta_each, kappa_method, encoder,
rows (one per (n, k): n, k, sigma_k, tail, kappa, B, d, dev, eps_T4, R4_T4, Delta_n, rho_nu,
rho_q, Dhat, sqrt_eps_T4b, R4_T4b, R4, best, R_T5, vacuous, vacuous_T4, vacuous_T4b,
vacuous_T5, latent_beats_input), t5 (one per n), variance (v, Lc), scan (first non-vacuous
n per bound and k over n = 1e2..1e16, crossover_n, statement), spectrum.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bound", help="constants of T3-T5, the bound over k and n, k*",
                       description="Every constant of the regret bounds for a concrete MDP and "
                       "pretraining budget: tail_k, kappa_k, dev (T4), Delta_n, v, Lc, rho, "
                       "Dhat (T4b), C^pi*, min nu, the T5 input-level baseline, k*(n) and "
                       "vacuity against R_max/(1-gamma).",
                       epilog=EPILOG, formatter_class=HelpFormatter)
    add_env_args(p)
    p.add_argument("--n", default="1e4,1e6", help="sample sizes, comma list (1e5 accepted)")
    p.add_argument("--k", default=None,
                   help=f"latent dimensions, comma list (default {DEFAULT_K}); {K_RULE}")
    p.add_argument("--delta", type=float, default=0.05, help="total failure probability")
    p.add_argument("--encoder", choices=ENCODERS, default="tabular",
                   help="T4 parameter count: tabular k(N_L+N_R) or linear k d_x (m+1)")
    p.add_argument("--kappa", choices=KAPPA_METHODS, default="auto",
                   help="kappa_k: SDP, whitened-rescaled, or auto (SDP only when it helps)")
    p.add_argument("--no-scan", action="store_true", help="skip the scan over n (crossover, "
                   "first non-vacuous n)")
    g = p.add_argument_group("paper form (THEORY P1-P6)")
    g.add_argument("--form", default="theory", metavar="theory|paper",
                   help="theory: the T3-T5 table (unchanged); paper: per-action max_a, "
                        "single-step and T-step regret, Rademacher term (P6)")
    g.add_argument("--horizon", default="1", metavar="H",
                   help="planning horizon T >= 1 of the paper form's R_T")
    g.add_argument("--normalization", default="q", metavar="q|per-action",
                   help="paper form: target marginal of the per-action matrices")
    g.add_argument("--class", dest="cls", default="tabular", metavar="tabular|linear",
                   help="paper form: the learner's class; linear uses the environment's "
                        "features x (one-hot if none) and a reference model fitted to the "
                        "T2 minimizer (eps_ref + 2 dev_R)")
    g.add_argument("--floor", default="exact", metavar="exact|bracket",
                   help="paper form: the P2 floor tail_max from the certified per-action "
                        "spectra (exact), or bracketed from T's spectrum alone (bracket: "
                        "tail_max is the certified lower end, tail_max_upper the upper end; "
                        "no per-action spectrum, about half the time at large N; "
                        "normalization q)")
    g.add_argument("--sample-terms", action="store_true",
                   help="paper form: also the sample terms side by side per (k, n): P5 "
                        "(tabular and linear classes), T4 and T4b bounds on eps and their "
                        "ratios (JSON key sample_terms)")
    g.add_argument("--c-max", default="1", metavar="C",
                   help="paper form: costs lie in [0, c_max]")
    g.add_argument("--cost", default=None, metavar="SPEC",
                   help="paper form: also measure the regret exactly for this cost: goal:S "
                        "(0 at state S, c_max elsewhere), a comma list of N values, or a "
                        ".npy file (small environments; JSON key measured)")
    add_output_args(p)
    p.add_argument("--csv", metavar="FILE", help="write the rows as CSV")
    p.add_argument("--plot", metavar="DIR", help="write spectrum.png, bound_vs_k.png "
                   "(needs the 'plot' extra)")
    p.add_argument("--out", metavar="FILE", help="also write the JSON object to FILE")
    p.set_defaults(func=run)


def bound_payload(curve) -> dict:  # noqa: ANN001 - BoundCurve
    d = curve.to_dict()
    d["rows"] = curve.rows
    d["t5"] = curve.t5
    return d


def _paper_options(args: argparse.Namespace) -> tuple[str, int, float]:
    """Validate --form, --horizon, --c-max, --normalization, --class, --floor; one-line
    typed errors."""
    from ..errors import PaperFormError
    from ..paper.per_action import check_normalization
    from ..paper.tradeoff import FORMS, check_class, check_floor
    if args.form not in FORMS:
        raise PaperFormError(f"--form {args.form!r} is not one of {', '.join(FORMS)}")
    try:
        horizon = int(str(args.horizon))
    except ValueError:
        raise PaperFormError(f"--horizon {args.horizon!r} is not an integer") from None
    if horizon < 1:
        raise PaperFormError(f"--horizon {horizon} must be >= 1")
    try:
        c_max = float(str(args.c_max))
    except ValueError:
        raise PaperFormError(f"--c-max {args.c_max!r} is not a number") from None
    if not (c_max > 0 and c_max < float("inf")):
        raise PaperFormError(f"--c-max {args.c_max!r} must be a finite number > 0")
    check_normalization(args.normalization)
    check_class(args.cls, "--class")
    check_floor(args.floor, "--floor")
    if args.floor == "bracket" and args.normalization != "q":
        raise PaperFormError(f"--floor bracket needs --normalization q (got "
                             f"{args.normalization!r})")
    return args.form, horizon, c_max


def paper_payload(C: CoOccurrence, ns: list[int], ks: list[int], horizon: int, delta: float,
                  c_max: float, normalization: str, scan: bool = True,
                  cls: str = "tabular", floor: str = "exact") -> dict:
    """The JSON object of ``bound --form paper`` (one paper-form table per n)."""
    from ..paper.tradeoff import paper_bound
    pa = None
    if floor == "exact":
        pa = C.per_action(min(max(ks), min(C.n_left, C.n_right)), normalization)
    tables = [paper_bound(C, n, ks, horizon, delta, c_max, normalization, per_action=pa,
                          scan=scan and n == ns[-1], cls=cls, floor=floor) for n in ns]
    last = tables[-1]
    out = last.to_dict()
    out["class"] = cls
    out["rows"] = [dict(n=t.n, **r) for t in tables for r in t.rows]
    out["input_level"] = dict(n=last.n, **last.input_level)
    out["input_level_by_n"] = [dict(n=t.n, **t.input_level) for t in tables]
    out["k_star_by_n"] = {t.n: t.k_star for t in tables}
    return out


def run(args: argparse.Namespace) -> int:
    form, horizon, c_max = _paper_options(args)
    if form == "paper":
        return _run_paper(args, horizon, c_max)
    mdp, nu = load_env(args)
    ns = parse_grid(args.n, "--n")
    C = CoOccurrence(mdp, nu)
    if args.k is None:
        ks = [k for k in parse_grid(DEFAULT_K, "--k") if k <= min(C.n_left, C.n_right)]
    else:
        ks = parse_grid(args.k, "--k")
        check_k(ks, C)
    curve = bound_curve(C, ns, ks, args.delta, encoder=args.encoder, kappa=args.kappa,
                        scan=not args.no_scan)
    payload = bound_payload(curve)
    payload["env"] = env_info(mdp)
    if args.csv:
        write_csv(args.csv, curve.rows)
    if args.out:
        write_json(args.out, payload)
    if args.plot:
        from ..bounds.plots import plot_bound_vs_k, plot_spectrum_tail
        out = Path(args.plot)
        plot_spectrum_tail(curve, out / "spectrum.png")
        plot_bound_vs_k(curve, out / "bound_vs_k.png")
    if args.json:
        print_json(payload)
        return 0
    say(args, f"{mdp!r}; T {C.n_left} x {C.n_right}, ||T||_F^2 = {curve.frobenius_sq:.6g}")
    say(args, f"c = gamma R_max/(1-gamma)^2 = {curve.c:.6g}; trivial bound R_max/(1-gamma) = "
        f"{curve.trivial_bound:.6g}; C^pi* = {curve.C_pi_star:.6g}; min nu = "
        f"{curve.min_nu:.3g} (1/min nu = {1 / curve.min_nu if curve.min_nu else float('inf'):.4g}"
        f"); V*(rho0) = {curve.V_star:.6g}")
    say(args, f"v = {curve.variance.v:.6g} ({curve.variance.method}), Lc = "
        f"{curve.variance.Lc:.6g}; delta = {curve.delta} split as {curve.delta_each:.3g} per "
        f"bound per k; kappa by {curve.kappa_method}; encoder {curve.encoder}")
    say(args, curve.table())
    for n, k in curve.k_star_by_n.items():
        say(args, f"k*(n={n:.3g}) = {k}")
    if curve.scan is not None:
        sc = curve.scan
        say(args, "first non-vacuous n (n grid 1e2..1e16; None = vacuous throughout):")
        say(args, table([dict(bound=b, k=k, n=v) for b, m in sc.nonvacuous_from.items()
                         for k, v in m.items()]))
        say(args, sc.statement)
    return 0


def _run_paper(args: argparse.Namespace, horizon: int, c_max: float) -> int:
    from ..errors import BoundInputError
    mdp, nu = load_env(args)
    ns = parse_grid(args.n, "--n")
    if not 0 < args.delta < 1:
        raise BoundInputError(f"--delta {args.delta!r} must be in (0, 1)")
    cost = None
    if args.cost is not None:
        from ..paper.tradeoff import parse_cost
        cost = parse_cost(args.cost, mdp.n_states, c_max)
    C = CoOccurrence(mdp, nu)
    if args.k is None:  # the same k rule as the theory form
        ks = [k for k in parse_grid(DEFAULT_K, "--k") if k <= min(C.n_left, C.n_right)]
    else:
        ks = parse_grid(args.k, "--k")
        check_k(ks, C)
    payload = paper_payload(C, ns, ks, horizon, args.delta, c_max, args.normalization,
                            scan=not args.no_scan, cls=args.cls, floor=args.floor)
    payload["env"] = env_info(mdp)
    if cost is not None:
        from ..paper.tradeoff import measured_regret
        payload["measured"] = measured_regret(C, ks, cost, horizon, c_max, args.normalization)
    if args.sample_terms:
        from ..paper.tradeoff import sample_term_table
        payload["sample_terms"] = sample_term_table(C, ks, ns, args.delta)
    if args.csv:
        write_csv(args.csv, payload["rows"])
    if args.out:
        write_json(args.out, payload)
    if args.json:
        print_json(payload)
        return 0
    say(args, f"{mdp!r}; paper form, horizon T = {horizon}, costs in [0, {c_max:g}], "
        f"normalization {args.normalization}"
        + ("" if args.cls == "tabular" else f", class {args.cls}"))
    say(args, f"c0 = c_max sqrt(m C_mu) = {payload['c0']:.6g} (C_mu = {payload['C_mu']:.6g}),"
        f" C_inf = {payload['C_inf']:.6g}, min_a p(a) = {payload['min_p_action']:.4g}; "
        f"delta = {args.delta} split as {payload['delta_each']:.3g} per k (and the input end)")
    floor_cols = ["tail_max", "tail_max_upper"] if args.floor == "bracket" else ["tail_max"]
    say(args, table(payload["rows"] + payload["input_level_by_n"],
                    ["n", "k", "tail_T", *floor_cols, "kappa", "rademacher", "eps_bound",
                     "R1_step", "R_T", "vacuous"]))
    if args.floor == "bracket":
        say(args, "floor bracketed from T's spectrum: tail_max <= max_a tail_k(Abar_a) <= "
            "tail_max_upper (no per-action spectrum computed)")
    say(args, f"k*(n): {payload['k_star_by_n']}; trivial bound c_max = {c_max:g}")
    if payload["crossover"].get("statement"):
        say(args, payload["crossover"]["statement"])
    if args.sample_terms:
        say(args, "sample terms: bounds on eps of each learner (P5 tabular and linear class "
            "ERM, T4 class ERM, T4b plug-in), same delta:")
        say(args, table(payload["sample_terms"], ["n", "k", "tail", "eps_P5", "eps_P5_linear",
                                                  "eps_T4", "eps_T4b", "P5_over_T4",
                                                  "P5_over_T4b"]))
    if cost is not None:
        say(args, "measured (T2 target encoder, per-action predictors, exact planning):")
        say(args, table(payload["measured"], ["k", "max_eps", "regret_1step", "R1_at_eps",
                                              "regret_T", "R_T_at_eps", "planner"]))
    return 0
