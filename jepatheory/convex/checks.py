"""Machine checks of T6 (relaxation certificates) and D5 (fastest mixing closed forms),
registered with :func:`jepatheory.checks.register` for ``jepatheory prove``."""
from __future__ import annotations

import networkx as nx
import numpy as np

from ..checks import CheckOutcome, register
from ..cooccurrence import CoOccurrence
from ..envs import make_env
from .design import fastest_mixing
from .fantope import fantope_max
from .relax import relax

_PAPER = "proved on paper and checked numerically"


@register("T6", "For the free, shared and tied architectures, tail_k <= lower <= min eps "
          "<= upper with a verified dual certificate; the free relaxation is tight (= tail_k, "
          "T2)", _PAPER, "proofs/T6.md")
def check_t6(seed: int) -> CheckOutcome:
    rng = np.random.default_rng(seed)
    worst_free, worst_order, worst_dgap, n_ok, n = 0.0, 0.0, 0.0, 0, 0
    for _ in range(3):
        mdp = make_env("random-sparse", n=int(rng.integers(5, 9)), actions=2, branching=3,
                       seed=int(rng.integers(1 << 30)))
        C = CoOccurrence(mdp)
        k = int(rng.integers(1, 4))
        for arch in ("free", "shared", "tied"):
            c = relax(C, k, arch, seed=seed)
            n += 1
            n_ok += c.verified
            worst_dgap = max(worst_dgap, c.duality_gap)
            worst_order = max(worst_order, c.tail - c.lower, c.lower - c.upper)
            if arch == "free":
                worst_free = max(worst_free, abs(c.lower - c.tail), abs(c.upper - c.tail))
    passed = n_ok == n and worst_free <= 1e-7 and worst_order <= 1e-7
    return CheckOutcome(passed=passed,
                        evidence=f"{n_ok}/{n} certificates verified; free |lower - tail_k| "
                        f"<= {worst_free:.1e}; worst order violation {worst_order:.1e}; "
                        f"worst duality gap {worst_dgap:.1e}",
                        details=dict(verified=n_ok, total=n, free_error=worst_free,
                                     order_violation=worst_order, duality_gap=worst_dgap))


@register("T6.KyFan", "max over the Fantope of tr(S X) = sum of the k largest eigenvalues of "
          "S (Ky Fan), solved as an SDP and verified", _PAPER, "proofs/T6.md")
def check_ky_fan(seed: int) -> CheckOutcome:
    rng = np.random.default_rng(seed)
    worst, ok = 0.0, True
    for _ in range(3):
        n = int(rng.integers(4, 10))
        A = rng.standard_normal((n, n))
        c = fantope_max(A + A.T, int(rng.integers(1, n)))
        worst = max(worst, abs(c.primal - c.ky_fan), abs(c.dual - c.ky_fan))
        ok &= c.verified
    return CheckOutcome(passed=bool(ok and worst <= 1e-6),
                        evidence=f"|SDP - Ky Fan| <= {worst:.1e} on 3 random matrices",
                        details=dict(max_error=worst))


@register("D5.path", "the fastest mixing chain on the path with n nodes has SLEM cos(pi/n) "
          "(Boyd, Diaconis, Sun & Xiao 2006), certified by a primal-dual pair",
          _PAPER, "proofs/D5.md")
def check_path(seed: int) -> CheckOutcome:
    rng = np.random.default_rng(seed)
    worst, ok = 0.0, True
    for n in sorted(rng.choice(np.arange(3, 30), size=4, replace=False)):
        c = fastest_mixing(nx.path_graph(int(n)))
        exact = float(np.cos(np.pi / n))
        worst = max(worst, abs(c.slem - exact))
        ok &= c.verified and c.lower <= exact + 1e-9 <= c.slem + 2e-9
    return CheckOutcome(passed=bool(ok and worst <= 1e-6),
                        evidence=f"|SLEM - cos(pi/n)| <= {worst:.1e}, lower <= cos(pi/n) <= "
                        "upper on 4 paths", details=dict(max_error=worst))
