"""dsp.templates: harmonic combs and their dictionary."""

import numpy as np
import pytest

from dsp.labels import estimate_pitch
from dsp.templates import comb_dictionary, harmonic_comb

RATE = 16_000
BINS = 513  # n_fft 1024
BIN_HZ = RATE / 1024


def test_comb_has_unit_sum_and_peaks_at_the_harmonics():
    comb = harmonic_comb(250.0, BINS, rate=RATE)
    assert comb.dtype == np.float32 and comb.shape == (BINS,)
    assert np.isclose(comb.sum(), 1.0, atol=1e-5)
    for h in (1, 2, 3, 5):
        centre = int(round(h * 250.0 / BIN_HZ))
        window = comb[centre - 2 : centre + 3]
        assert window.max() > 10 * comb[int(round((h + 0.5) * 250.0 / BIN_HZ))]
    assert estimate_pitch(comb, rate=RATE) == pytest.approx(250.0, rel=0.01)


def test_comb_keeps_only_the_asked_harmonics():
    comb = harmonic_comb(100.0, BINS, rate=RATE, n_harmonics=5)
    assert comb[int(round(600.0 / BIN_HZ)) :].max() < 1e-6 * comb.max()


@pytest.mark.parametrize("f0", [0.0, -5.0, 8000.0])
def test_comb_refuses_a_fundamental_outside_the_spectrum(f0):
    with pytest.raises(ValueError, match="f0 must lie in"):
        harmonic_comb(f0, BINS, rate=RATE)


def test_dictionary_is_a_semitone_grid_then_bands():
    atoms, pitches = comb_dictionary(BINS, rate=RATE, fmin=100.0, fmax=200.0, n_bands=3)
    assert atoms.shape == (BINS, 13 + 3)
    assert np.allclose(np.diff(12 * np.log2(pitches[:13])), 1.0)
    assert np.isnan(pitches[13:]).all()
    assert np.allclose(atoms.sum(axis=0), 1.0, atol=1e-5)
