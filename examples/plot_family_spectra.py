"""Spectra of T across the environment families (THEORY D2, D5, F5).

Shows which families have low-rank structure (fast-decaying tail_k) and which do not:
deterministic dynamics give a flat spectrum (F5), slip makes it decay, stochastic blocks and
rich-observation block MDPs have a sharp rank cut-off.

Run:  python examples/plot_family_spectra.py [--out DIR]
Writes family_spectra.png and family_spectra.json.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from jepatheory import CoOccurrence, make_env
from jepatheory._optional import pyplot

CASES = [
    ("chain", dict(n=40, slip=0.0), "chain, slip 0 (F5: flat)"),
    ("chain", dict(n=40, slip=0.2), "chain, slip 0.2"),
    ("four-rooms", dict(), "four-rooms, slip 1/3"),
    ("grid", dict(width=12, height=12, slip=0.2), "grid 12x12, slip 0.2"),
    ("expander", dict(n=64, degree=4, slip=0.2), "expander d=4"),
    ("sbm", dict(clusters=5, size=10, noise=0.05), "stochastic blocks (5)"),
    ("block-mdp", dict(latent_width=3, latent_height=3, obs_per_latent=8), "block MDP (9 latents)"),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="jepatheory-out/examples")
    ap.add_argument("--k", type=int, default=40)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plt = pyplot()
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    summary = {}
    for name, params, label in CASES:
        C = CoOccurrence(make_env(name, **params))
        k = min(args.k, C.n_left, C.n_right)
        spec = C.spectrum(k)
        rel_tail = spec.tail / spec.frobenius_sq
        ax[0].plot(np.arange(1, k + 1), spec.singular_values, ".-", label=label)
        ax[1].semilogy(np.arange(k + 1), np.maximum(rel_tail, 1e-16), ".-", label=label)
        summary[label] = dict(singular_values=spec.singular_values.tolist(),
                              tail=spec.tail.tolist(), frobenius_sq=spec.frobenius_sq)
    ax[0].set(xlabel="i", ylabel=r"$\sigma_i(T)$", title="singular values of T")
    ax[1].set(xlabel="k", ylabel=r"tail$_k / \|T\|_F^2$", title="relative approximation error")
    ax[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "family_spectra.png", dpi=120)
    (out / "family_spectra.json").write_text(json.dumps(summary, indent=1))
    print(f"wrote {out / 'family_spectra.png'} and {out / 'family_spectra.json'}")


if __name__ == "__main__":
    main()
