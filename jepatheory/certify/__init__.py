"""Data-only certificates of planning regret and the choice of k (THEORY K3, K4, K5).

* :mod:`~jepatheory.certify.robust` -- Weissman L1 sets around the count model and the
  robust optimistic/pessimistic fixed points (exact sort-and-shift inner problems): a bound
  on the regret of every policy at once.
* :mod:`~jepatheory.certify.bellman` -- the held-out Bellman-residual certificate of one
  policy built on a training split.
* :mod:`~jepatheory.certify.pipeline` -- :func:`certify`: sample, plan, certify, measure.
* :mod:`~jepatheory.certify.select_k` -- rules for choosing k, against the measured best k.
* :mod:`~jepatheory.certify.falsify` -- a search for instances where a proved rung fails.
"""
from __future__ import annotations

from .bellman import BellmanCertificate, bellman_certificate, split_dataset
from .falsify import Falsification, falsify
from .pipeline import PLANNER_NAMES, Certificate, certify, planner_for
from .robust import (
                     L1Sets,
                     RobustCertificate,
                     RobustValue,
                     inner_max,
                     robust_certificate,
                     robust_lower,
                     robust_upper,
                     weissman_radius,
                     weissman_sets,
)
from .select_k import SelectK, SuiteResult, run_suite, select_k

__all__ = [
                     "PLANNER_NAMES",
                     "BellmanCertificate",
                     "Certificate",
                     "Falsification",
                     "L1Sets",
                     "RobustCertificate",
                     "RobustValue",
                     "SelectK",
                     "SuiteResult",
                     "bellman_certificate",
                     "certify",
                     "falsify",
                     "inner_max",
                     "planner_for",
                     "robust_certificate",
                     "robust_lower",
                     "robust_upper",
                     "run_suite",
                     "select_k",
                     "split_dataset",
                     "weissman_radius",
                     "weissman_sets",
]
