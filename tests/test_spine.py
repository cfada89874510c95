"""The spine's typed seams: solver options as one cache key, the spectral certificate as a
record that still reads (and exports) as the mapping it was."""
from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from jepatheory.cooccurrence import CoOccurrence
from jepatheory.envs import grid, ring
from jepatheory.spectrum import SpectralCertificate, SpectrumOptions, top_singular, truncate


def test_options_are_the_cache_key():
    C = CoOccurrence(ring(30, 0.2))
    a = C.spectrum(4, seed=2)
    assert C.spectrum(4, options=SpectrumOptions(seed=2)) is a
    assert C.spectrum(4) is not a  # other options, another entry
    assert C.spectrum(4) is C.spectrum(4, options=SpectrumOptions())


def test_reuse_returns_a_truncated_view_with_equal_options():
    C = CoOccurrence(grid(8, 8, 0.1))
    big = C.spectrum(6)
    small = C.spectrum(3, reuse=True)
    assert small.k == 3 and np.array_equal(small.singular_values, big.singular_values[:3])
    assert np.array_equal(small.tail, big.tail[:4]) and small.U.shape[1] == 3
    assert len(small.certificate["sigma_error_bound"]) == 3
    # not reused across options, nor without asking (a top-3 solve is its own computation)
    assert C.spectrum(3, reuse=True, seed=1).k == 3
    assert C.spectrum(3) is not small


def test_truncate_rejects_a_larger_k():
    spec = top_singular(CoOccurrence(ring(12, 0.1)).T, 3)
    with pytest.raises(ValueError, match="k=4"):
        truncate(spec, 4)


@pytest.mark.parametrize("method", ["dense", "sparse"])
def test_certificate_is_a_record_and_the_old_mapping(method):
    spec = top_singular(CoOccurrence(grid(12, 12, 0.1)).T, 4, method=method)
    cert = spec.certificate
    assert isinstance(cert, SpectralCertificate)
    assert cert.by == ("dense" if method == "dense" else cert["check"]["by"])
    assert cert.failure_probability == cert["failure_probability"]
    assert list(cert) == list(cert.to_dict()) and dict(cert).keys() == cert.to_dict().keys()
    assert SpectralCertificate.from_dict(cert.to_dict()).to_dict() == cert.to_dict()
    assert spec.to_dict()["certificate"] == cert.to_dict()


def test_c_first_and_the_deprecated_form_agree():
    import warnings

    from jepatheory.bounds import count_model_chain, plugin_run, regret_ladder, t5_bound
    from jepatheory.data import uniform_nu
    from jepatheory.envs import chain
    from jepatheory.model import truncated_embeddings
    from jepatheory.sampling import sample_transitions
    from jepatheory.sim.measure import run_experiment

    mdp = chain(6, 0.2)
    nu = uniform_nu(mdp)
    C = CoOccurrence(mdp, nu)
    new = plugin_run(C, 300, 2, 1)
    with pytest.warns(DeprecationWarning, match=r"plugin_run\(mdp, nu"):
        old = plugin_run(mdp, nu, 300, 2, 1)
    assert new.to_dict() == old.to_dict()
    e = truncated_embeddings(C, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert regret_ladder(mdp, nu, e.z, e.h, C=C).to_dict() == \
            regret_ladder(C, e.z, e.h).to_dict()
        assert t5_bound(mdp, nu, 100, 0.05).to_dict() == t5_bound(C, 100, 0.05).to_dict()
        ds = sample_transitions(mdp, nu, 200, 0)
        assert count_model_chain(mdp, nu, ds).to_dict() == count_model_chain(C, ds).to_dict()
        a = run_experiment(mdp, nu, k=2, n=200, seed=0).to_dict()
    b = run_experiment(C, k=2, n=200, seed=0).to_dict()
    for d in (a, b):
        d["metrics"] = {key: v for key, v in d["metrics"].items() if "seconds" not in key}
    assert a == b


def test_the_old_form_still_checks_c_against_mdp_and_nu():
    from jepatheory.bounds import regret_ladder
    from jepatheory.envs import chain
    from jepatheory.errors import ShapeError
    from jepatheory.model import truncated_embeddings

    C = CoOccurrence(chain(6, 0.2))
    e = truncated_embeddings(C, 2)
    with pytest.warns(DeprecationWarning), pytest.raises(ShapeError, match="different MDP"):
        regret_ladder(chain(7, 0.2), None, e.z, e.h, C=C)
    with pytest.raises(TypeError, match="CoOccurrence"):
        regret_ladder("not a C", e.z, e.h)


def test_measurement_typed_views_match_its_dicts():
    from jepatheory.envs import chain
    from jepatheory.sim.measure import RUNG_KEYS, run_experiment

    m = run_experiment(CoOccurrence(chain(6, 0.2)), k=2, n=200, seed=0)
    assert m.regret == m.metrics["regret"] and m.k == 2 and m.n == 200
    assert m.trainer == "erm" and m.eps == m.metrics["eps"]
    assert m.rungs == {r: m.metrics[r] for r in RUNG_KEYS}
    assert set(m.to_dict()) == {"config", "metrics", "ladder", "log"}


def test_sdp_certificates_share_one_check_record():
    from jepatheory.bounds.kappa import kappa_k
    from jepatheory.certificates import KappaCertificate, SDPCheck
    from jepatheory.convex import fantope_max, relax
    from jepatheory.convex.design import fastest_mixing
    from jepatheory.envs import make_env

    C = CoOccurrence(make_env("random-sparse", n=6, actions=2, branching=3, seed=1))
    S = np.random.default_rng(0).normal(size=(5, 5))
    fan = fantope_max(S + S.T, 2)
    rel = relax(C, 2, "shared", seed=0)
    mix = fastest_mixing(nx.cycle_graph(6))
    kap = kappa_k(C, 2, sdp=True)
    for cert, lower, upper in ((fan, fan.primal, fan.dual), (rel, rel.lower, rel.upper),
                               (mix, mix.lower, mix.slem), (kap, kap.lower, kap.value)):
        chk = cert.check
        assert isinstance(chk, SDPCheck)
        assert chk.verified == getattr(cert, "verified", chk.verified)
        assert (chk.lower, chk.upper) == (lower, upper)
        assert chk.lower <= chk.upper + 1e-7 and set(chk.to_dict()) == {
            "solver", "status", "lower", "upper", "gap", "verified", "seconds"}
        assert "check" not in cert.to_dict()  # a view: the exported object is unchanged
    assert isinstance(kap.certificate, KappaCertificate) and kap.check.verified
    d = kap.to_dict()["certificate"]
    assert list(d) == ["t", "sqrt_t", "verified_from_cholesky", "lower_le_value"]
    assert kap.certificate["t"] == d["t"] and "t" in kap.certificate
    skipped = kappa_k(C, 2, sdp=False)
    assert list(skipped.to_dict()["certificate"]) == ["lower_le_value"]
    assert kappa_k(C, 0).to_dict()["certificate"] == {} and not kappa_k(C, 0).certificate


def test_trainers_and_sampler_take_c_first_with_the_same_draws():
    from jepatheory.envs import chain
    from jepatheory.sampling import sample_transitions
    from jepatheory.sim.trainers import train

    mdp = chain(6, 0.2)
    C = CoOccurrence(mdp)
    a = sample_transitions(C, 300, 4)
    b = sample_transitions(mdp, C.nu, 300, seed=4)
    assert all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("s", "a", "s2"))
    for name in ("erm", "spectral", "jepa"):
        x = train(name, C, a, 2, steps=40, seed=1)
        y = train(name, mdp, a, 2, steps=40, seed=1)
        assert np.array_equal(x.emb.z, y.emb.z) and np.array_equal(x.emb.h, y.emb.h)
    with pytest.raises(TypeError, match="CoOccurrence C or an MDP"):
        train("erm", "chain", a, 2)
    with pytest.raises(TypeError, match="sample_transitions"):
        sample_transitions("chain", 10)
    with pytest.raises(TypeError, match="missing"):
        sample_transitions(mdp, n=10)
