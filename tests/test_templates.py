"""dsp.templates: harmonic combs and the comb start of a factorization."""

import numpy as np
import pytest

from dsp.labels import estimate_pitch
from dsp.templates import comb_dictionary, comb_init, harmonic_comb

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


def two_notes_and_noise(rng):
    """Magnitude of a 220 Hz note, then a 330 Hz note, over faint noise; (BINS, 100)."""
    low, high = harmonic_comb(220.0, BINS, rate=RATE), harmonic_comb(330.0, BINS, rate=RATE)
    on = np.arange(100) < 50
    V = np.outer(low, on) + np.outer(high, ~on) + 1e-3 * rng.random((BINS, 100)) / BINS
    return V.astype(np.float32)


def test_comb_start_finds_the_notes_that_play():
    W, H = comb_init(two_notes_and_noise(np.random.default_rng(0)), 4, rate=RATE)
    assert W.shape == (BINS, 4) and H.shape == (4, 100)
    assert W.dtype == np.float32 and H.dtype == np.float32 and W.min() > 0 and H.min() > 0
    pitches = [estimate_pitch(W[:, j], rate=RATE) for j in range(4)]
    for note in (220.0, 330.0):
        assert any(abs(12 * np.log2(p / note)) < 0.5 for p in pitches if np.isfinite(p))


def test_comb_start_is_deterministic():
    V = two_notes_and_noise(np.random.default_rng(1))
    first = comb_init(V, 4, rate=RATE)
    second = comb_init(V, 4, rate=RATE)
    assert all(np.array_equal(a, b) for a, b in zip(first, second))


def test_more_components_than_distinct_notes_still_gives_k():
    W, H = comb_init(two_notes_and_noise(np.random.default_rng(2)), 40, rate=RATE, n_free=0)
    assert W.shape == (BINS, 40) and H.shape == (40, 100)


@pytest.mark.parametrize("n_free", [-1, 5])
def test_impossible_free_count_is_refused(n_free):
    with pytest.raises(ValueError, match="n_free must be between 0 and 4"):
        comb_init(two_notes_and_noise(np.random.default_rng(3)), 4, rate=RATE, n_free=n_free)
