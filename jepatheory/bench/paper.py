"""Paper-form figures on the 4-action slip grid: per-action spectra against the stacked
spectrum, and the paper-form table against the theory-form bound table, as ratios measured
in the same run.

Stages (each on a freshly built T, so no cache is shared between the compared pipelines):

* stacked: the certified top-k spectrum of T (``CoOccurrence.spectrum``), the baseline of
* per-action: the certified top-k spectra of the four Abar_a (``CoOccurrence.per_action``:
  on the square slip grid the four blocks are one matrix relabelled by the grid's rotations,
  checked entry by entry, so one certified spectrum serves all four; its leading vectors
  live along the wall the action pushes into, so they come from a principal submatrix,
  certified by the inertia count on the whole block); target: per-action / stacked <= 1.5;
  ``--without-symmetry`` also times every block computed on its own (the cost on an MDP
  without such symmetries), ``--without-localization`` the blocks by the block Krylov on
  the whole matrix (the cost when the leading vectors are spread out);
* bound: today's theory-form table, the stages of ``bench bound`` after building T (spectrum,
  pi* by value iteration, the occupancy and C^pi*, kappa_k, v and Lc, the table over (n, k)
  with the scan), the baseline of
* paper: the paper-form table (``paper_bound``: per-action spectra, spectrum, kappa_k, the
  rows, the input-level end and the crossover scan); target: paper / bound <= 1.2;
* paper, floor bracket: the same table with the P2 floor bracketed from T's spectrum
  (``floor="bracket"``: no per-action spectrum), and whether the exact floor of the previous
  stage lies in the bracket at every k.
"""
from __future__ import annotations

import argparse

from .._results import table
from .stages import Stages, peak_gib


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--width", type=int, default=1000, help="grid width")
    p.add_argument("--height", type=int, default=1000, help="grid height")
    p.add_argument("--k", type=int, default=64, help="largest latent dimension")
    p.add_argument("--n", default="1e6", help="sample size of the tables")
    p.add_argument("--horizon", type=int, default=10, help="planning horizon of the paper form")
    p.add_argument("--slip", type=float, default=0.1, help="grid slip")
    p.add_argument("--quick", action="store_true", help="12 x 12 grid, k up to 4")
    p.add_argument("--without-symmetry", action="store_true",
                   help="also time the per-action spectra with the symmetry reuse off "
                        "(four certified spectra: the cost without symmetric actions)")
    p.add_argument("--without-localization", action="store_true",
                   help="also time the per-action spectra with the localized Ritz pairs off "
                        "(the block Krylov on the whole block: the cost when the leading "
                        "vectors are not localized)")



def run(args: argparse.Namespace) -> int:
    from ..bounds.curves import bound_curve, parse_grid
    from ..bounds.kappa import kappa_rescaled_curve
    from ..bounds.plugin import plugin_variance
    from ..solvers import occupancy, value_iteration
    from ..cli._common import print_json
    from ..cooccurrence import CoOccurrence
    from ..envs import grid
    from ..errors import PaperFormError
    from ..paper.tradeoff import paper_bound

    W, H, K = args.width, args.height, args.k
    if args.quick:
        W, H, K = 12, 12, 4
    for name, v in (("--width", W), ("--height", H), ("--k", K), ("--horizon", args.horizon)):
        if v < 1:
            raise PaperFormError(f"{name} {v} must be >= 1")
    ns = parse_grid(args.n, "--n")
    ks = list(range(1, K + 1))
    stage = Stages()
    stages = stage.rows


    mdp = stage("grid", lambda: grid(W, H, slip=args.slip))
    C1 = stage("T (for the spectra)", lambda: CoOccurrence(mdp))
    spec = stage(f"stacked spectrum k={K}", lambda C=C1: C.spectrum(K))
    pa = stage(f"per-action spectra k={K}", lambda C=C1: C.per_action(K))
    pa_all = None
    if args.without_symmetry:
        pa_all = stage(f"per-action spectra k={K}, no symmetry reuse",
                       lambda C=C1: C.per_action(K, symmetries=False))
    pa_krylov = None
    if args.without_localization:
        pa_krylov = stage(f"per-action spectra k={K}, no localized Ritz pairs",
                          lambda C=C1: C.per_action(K, localize=False))
    del C1
    C2 = stage("T (for the bound)", lambda: CoOccurrence(mdp))

    def theory_table(C: CoOccurrence):  # noqa: ANN202 - the stages of `bench bound`
        plan = value_iteration(mdp)
        d_star = occupancy(mdp, plan.policy)
        kap = kappa_rescaled_curve(C, K)
        return bound_curve(C, ns, ks, 0.05, kappa="rescale", plan=plan,
                           d_star=d_star, variance=plugin_variance(C), kappa_curve=kap)

    curve = stage("bound table (theory form)", lambda C=C2: theory_table(C))
    del C2
    C3 = stage("T (for the paper form)", lambda: CoOccurrence(mdp))
    pb = stage("paper-form table", lambda C=C3: paper_bound(C, ns[-1], ks, args.horizon))
    del C3
    C4 = stage("T (for the bracketed paper form)", lambda: CoOccurrence(mdp))
    pbb = stage("paper-form table, floor bracket",
                lambda C=C4: paper_bound(C, ns[-1], ks, args.horizon, floor="bracket"))
    del C4
    sec = {s["stage"]: s["seconds"] for s in stages}
    r_spec = sec[f"per-action spectra k={K}"] / sec[f"stacked spectrum k={K}"]
    r_table = sec["paper-form table"] / sec["bound table (theory form)"]
    r_bracket = sec["paper-form table, floor bracket"] / sec["bound table (theory form)"]
    inside = all(rb["tail_max"] - 1e-9 * abs(r["tail_max"]) <= r["tail_max"]
                 <= rb["tail_max_upper"] + 1e-9 * abs(r["tail_max"])
                 for r, rb in zip(pb.rows, pbb.rows))
    width = max((rb["tail_max_upper"] - rb["tail_max"]) / max(abs(r["tail_max"]), 1e-300)
                for r, rb in zip(pb.rows, pbb.rows))
    payload = dict(n_states=mdp.n_states, n_actions=mdp.n_actions, K=K, stages=stages,
                   per_action_over_stacked=r_spec, per_action_target=1.5,
                   per_action_within_target=bool(r_spec <= 1.5),
                   paper_over_bound=r_table, paper_target=1.2,
                   paper_within_target=bool(r_table <= 1.2),
                   paper_bracket_over_bound=r_bracket,
                   paper_bracket_within_target=bool(r_bracket <= 1.2),
                   bracket_contains_exact_floor=bool(inside),
                   bracket_max_relative_width=float(width),
                   stacked_certified=spec.certified, per_action_certified=pa.certified,
                   per_action_methods=[s.method for s in pa.actions],
                   per_action_symmetries=[s.symmetry for s in pa.actions],
                   per_action_symmetry_eta=max(s.symmetry_eta for s in pa.actions),
                   paper_seconds=pb.seconds, k_star=pb.k_star,
                   vacuous_everywhere=all(r["vacuous"] for r in pb.rows),
                   tail_max_K=pb.rows[-1]["tail_max"], tail_T_K=pb.rows[-1]["tail_T"],
                   peak_GiB=peak_gib(), theory_k_star=curve.k_star)
    if pa_all is not None:
        r_all = sec[f"per-action spectra k={K}, no symmetry reuse"] / \
            sec[f"stacked spectrum k={K}"]
        payload["per_action_without_symmetry_over_stacked"] = r_all
        payload["per_action_without_symmetry_max_diff"] = max(
            float(abs(x.singular_values - y.singular_values).max(initial=0.0))
            for x, y in zip(pa.actions, pa_all.actions))
    payload["per_action_localized_region"] = [s.localized_region for s in pa.actions]
    if pa_krylov is not None:
        payload["per_action_without_localization_over_stacked"] = \
            sec[f"per-action spectra k={K}, no localized Ritz pairs"] / \
            sec[f"stacked spectrum k={K}"]
        payload["per_action_without_localization_max_diff"] = max(
            float(abs(x.singular_values - y.singular_values).max(initial=0.0))
            for x, y in zip(pa.actions, pa_krylov.actions))
    if args.json:
        print_json(payload)
        return 0
    print(f"grid {W} x {H}: N = {mdp.n_states}, m = 4; k up to {K}; n = {ns[-1]:.3g}")
    print(table(stages, ["stage", "seconds", "peak_GiB"]))
    print(f"per-action spectra / stacked spectrum = {r_spec:.2f} (target <= 1.5: "
          f"{'met' if r_spec <= 1.5 else 'NOT met'}); certified: stacked {spec.certified}, "
          f"per-action {pa.certified}; reused by symmetry: "
          f"{[s.symmetry for s in pa.actions]}")
    print(f"rows of the principal submatrices whose Ritz pairs were certified on the whole "
          f"block: {payload['per_action_localized_region']} (None: block Krylov)")
    if pa_krylov is not None:
        print(f"without the localized Ritz pairs: per-action / stacked = "
              f"{payload['per_action_without_localization_over_stacked']:.2f}; largest "
              f"difference of a singular value "
              f"{payload['per_action_without_localization_max_diff']:.2e}")
    if pa_all is not None:
        print(f"without the symmetry reuse: per-action / stacked = "
              f"{payload['per_action_without_symmetry_over_stacked']:.2f}; largest difference "
              f"of a singular value {payload['per_action_without_symmetry_max_diff']:.2e}")
    print(f"paper-form table / theory-form table = {r_table:.2f} (target <= 1.2: "
          f"{'met' if r_table <= 1.2 else 'NOT met'}); paper-form stages {pb.seconds}")
    print(f"paper-form table with the floor bracketed from T's spectrum / theory-form table = "
          f"{r_bracket:.2f} (target <= 1.2: {'met' if r_bracket <= 1.2 else 'NOT met'}); "
          f"the exact floor lies in the bracket at every k: {inside}; largest relative "
          f"width {width:.2e}")
    print(f"k* = {pb.k_star}; vacuous at every k: {payload['vacuous_everywhere']}; "
          f"peak {peak_gib():.2f} GiB")
    return 0
