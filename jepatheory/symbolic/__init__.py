"""The symbolic layer: SymPy derivations of T and the JEPA objectives, closed forms, and
machine proofs of the theory's identities (``jepatheory prove``; ``proofs/``).

* :mod:`.parse` restricted parser for user expression strings (never ``eval``),
* :mod:`.mdp` symbolic MDPs with parameter domains; exact lifting of numeric MDPs,
* :mod:`.derive` p, nu, q, T, action blocks, Laplacian, next-state graph, L, L2, eps,
* :mod:`.closed_forms` singular values and Laplacian spectra of families; bound expressions,
* :mod:`.identities` general-dimension proofs and instance checks (T1, C1, C2, T2, F1-F5, D1-D5),
* :mod:`.report` pretty text and LaTeX derivation reports,
* :mod:`.checks` the registered checks.
"""
from .closed_forms import (dev_expr, k_star_power_law, laplacian_eigenvalues, r3w_expr,
                           singular_values_sq, slip_ring_singular_values, t4_bound_expr,
                           tail_power_law, two_state_singular_values)
from .derive import (Derivation, derive, embeddings, factorization_error, frobenius_sq,
                     l2_loss, spectral_loss, whitening_matrix)
from .identities import (Proof, check_c1_instance, check_c2_instance, check_t1_instance,
                         prove_c1_general, prove_c2_general, prove_t1_general)
from .mdp import (SymbolicMDP, ValidationReport, Verdict, decide_sign, decide_zero,
                  fully_symbolic_mdp, lift_mdp, slip_chain, slip_ring, symbolic_mdp, two_state,
                  validate)
from .parse import parse_expression
from .report import derivation_report, render_latex

__all__ = ["parse_expression", "SymbolicMDP", "Verdict", "ValidationReport", "symbolic_mdp",
           "validate", "decide_zero", "decide_sign", "lift_mdp", "fully_symbolic_mdp",
           "two_state", "slip_chain", "slip_ring", "Derivation", "derive", "embeddings",
           "spectral_loss", "l2_loss", "factorization_error", "frobenius_sq",
           "whitening_matrix", "Proof", "prove_t1_general", "prove_c1_general",
           "prove_c2_general", "check_t1_instance", "check_c1_instance", "check_c2_instance",
           "two_state_singular_values", "slip_ring_singular_values", "singular_values_sq",
           "laplacian_eigenvalues", "dev_expr", "t4_bound_expr", "r3w_expr", "tail_power_law",
           "k_star_power_law", "derivation_report", "render_latex"]
