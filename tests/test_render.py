"""Rendered observations (jepatheory.envs.render): shapes, the agent's cell, determinism,
refusals; a CNN JEPA trains on them and audits."""
from __future__ import annotations

import numpy as np
import pytest

from jepatheory.cooccurrence import CoOccurrence
from jepatheory.envs import make_env, render_observations
from jepatheory.errors import EnvParameterError


def test_render_shapes_agent_and_determinism():
    base = make_env("grid", width=4, height=4)
    mdp = render_observations(base, size=16, noise=0.0, distractors=0)
    assert mdp.x.shape == (16, 256) and mdp.meta["image_shape"] == [16, 16]
    img = mdp.x[5].reshape(16, 16)          # state 5 = row 1, column 1: pixels 4..7
    assert (img[4:8, 4:8] == 1.0).all() and (img[img != 1.0] == 0.3).all()
    assert (mdp.P_sa != base.P_sa).nnz == 0          # the dynamics are unchanged
    a = render_observations(base, 16, noise=0.2, distractors=3, seed=1)
    b = render_observations(base, 16, noise=0.2, distractors=3, seed=1)
    np.testing.assert_array_equal(a.x, b.x)
    walls = render_observations(make_env("four-rooms"), 16, noise=0.0)
    assert (walls.x == 0).any()                      # walls are dark


def test_render_refusals():
    with pytest.raises(EnvParameterError, match="grid-like"):
        render_observations(make_env("chain"), 16)
    for kw in ({"size": 2}, {"size": 1000}, {"noise": -1.0}, {"noise": float("nan")},
               {"distractors": -1}):
        with pytest.raises(EnvParameterError):
            render_observations(make_env("grid", width=3, height=3), **{"size": 16, **kw})
    with pytest.raises(EnvParameterError, match="base"):
        make_env("rendered", base="chain")


def test_cnn_trains_on_pixels_and_audits():
    pytest.importorskip("torch")
    from jepatheory.audit import audit
    from jepatheory.data import uniform_nu
    from jepatheory.sampling import sample_transitions
    from jepatheory.torch import train_torch
    mdp = make_env("rendered", base="grid:width=4,height=4", size=16, distractors=1)
    ds = sample_transitions(mdp, uniform_nu(mdp), 2000, 0)
    tr = train_torch("jepa", mdp, ds, 4, "cnn", steps=30, batch=64, reg="vicreg")
    a = audit(CoOccurrence(mdp), tr.model)           # through the encode/predict protocol
    assert a.eps >= a.tail_k * (1 - 1e-9) and np.isfinite(a.rankme)
