"""``plot_spectrum`` takes the typed Spectrum; the payload-dict form still draws the same
figure (deprecated)."""
from __future__ import annotations

import pytest

pytest.importorskip("matplotlib")

from jepatheory.app.spectrum import spectrum_of, spectrum_payload  # noqa: E402
from jepatheory.cooccurrence import CoOccurrence  # noqa: E402
from jepatheory.envs import chain  # noqa: E402
from jepatheory.plots import plot_spectrum  # noqa: E402


def test_plot_spectrum_from_the_spectrum_equals_the_payload_form(tmp_path):
    C = CoOccurrence(chain(8, 0.2))
    spec = spectrum_of(C, 4)
    payload = spectrum_payload(C, 4)
    assert spec is C.spectrum(4)  # the payload's own (cached) spectrum
    new = plot_spectrum(spec, tmp_path / "new.png", title=C.mdp.name)
    with pytest.warns(DeprecationWarning, match="plot_spectrum"):
        old = plot_spectrum(payload, tmp_path / "old.png")
    assert new.stat().st_size > 0
    assert new.read_bytes() == old.read_bytes()
