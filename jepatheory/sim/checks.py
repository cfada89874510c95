"""Machine checks of the simulation layer for ``jepatheory prove`` (THEORY D3, T2): minibatch
gradient training of the spectral loss reaches the exact-ERM (Eckart-Young on T_hat) loss,
and the l2 loss without an anti-collapse term collapses."""
from __future__ import annotations

from ..checks import CheckOutcome, register
from ..data import uniform_nu
from ..envs import make_env
from ..model import empirical_loss
from ..sampling import sample_transitions
from .trainers import train

_NUM = "conjecture (checked numerically only)"


@register("D3.sim.gradient_reaches_erm",
          "minibatch Adam on the U-statistic spectral loss reaches the exact-ERM loss "
          "(truncated SVD of T_hat, T2) within 1% on four-rooms, k = 8",
          _NUM, "proofs/T2.md")
def check_gradient_reaches_erm(seed: int) -> CheckOutcome:
    mdp = make_env("four-rooms")
    ds = sample_transitions(mdp, uniform_nu(mdp), 20_000, seed)
    gaps = {}
    for k in (8,):
        erm = train("erm", mdp, ds, k)
        L_erm = empirical_loss(erm.emb.z, erm.emb.h, ds.pair, ds.s2)
        tr = train("spectral", mdp, ds, k, steps=1500, seed=seed)
        L = empirical_loss(tr.emb.z, tr.emb.h, ds.pair, ds.s2)
        gaps[k] = (L - L_erm) / abs(L_erm)
    worst = max(gaps.values())
    return CheckOutcome(worst <= 0.01, f"largest relative gap to the ERM loss {worst:.2e}",
                        dict(gaps=gaps))


@register("D3.sim.collapse",
          "the l2 JEPA loss without whitening or any anti-collapse term is driven to 0 by "
          "collapsing embeddings (eigenvalues of E_q[hh^T] -> 0)",
          _NUM, "proofs/D3.md")
def check_collapse(seed: int) -> CheckOutcome:
    mdp = make_env("four-rooms")
    ds = sample_transitions(mdp, uniform_nu(mdp), 10_000, seed)
    tr = train("collapse", mdp, ds, 4, steps=800, seed=seed)
    top = max(tr.log.extra["second_moment_eigs"])
    return CheckOutcome(tr.log.loss < 1e-3 and top < 0.05,
                        f"final l2 loss {tr.log.loss:.2e}, largest eigenvalue of E_q[hh^T] "
                        f"{top:.2e}", dict(loss=tr.log.loss, top_eig=top))


@register("D3.sim.linear_term_unbounded",
          "the linear term -2 E_p[z.h] of the spectral loss alone is unbounded below: "
          "gradient steps on it decrease it without limit while the embeddings grow",
          _NUM, "proofs/D3.md")
def check_linear_term_unbounded(seed: int) -> CheckOutcome:
    import numpy as np

    from .encoders import make_encoder
    from .trainers import Adam
    mdp = make_env("four-rooms")
    ds = sample_transitions(mdp, uniform_nu(mdp), 5_000, seed)
    rng = np.random.default_rng(seed)
    fz = make_encoder("tabular", mdp, 4, mdp.n_actions, rng)
    fh = make_encoder("tabular", mdp, 4, 1, rng)
    oz, oh = Adam(fz.params, 0.05), Adam(fh.params, 0.05)
    losses = []
    for _step in range(400):
        idx = rng.integers(0, ds.n, 512)
        Z, cz = fz.forward(ds.s[idx], ds.a[idx])
        H, ch = fh.forward(ds.s2[idx])
        losses.append(-2 * float(np.sum(Z * H)) / idx.size)
        oz.step(fz.backward(cz, -2 * H / idx.size))
        oh.step(fh.backward(ch, -2 * Z / idx.size))
    # still decreasing at the end, far below the optimum of the full loss (-k, T2)
    late = losses[-50:]
    passed = late[-1] < late[0] < -10 * 4
    return CheckOutcome(passed, f"linear term after 350 / 400 steps: {late[0]:.3g} / "
                        f"{late[-1]:.3g} (full-loss optimum >= -4)",
                        dict(first=losses[0], last=losses[-1]))
