"""dsp.grouping: components that belong together end up in one source."""

import numpy as np
import pytest

from dsp.grouping import group_components, source_cues
from dsp.templates import harmonic_comb


def two_source_factors(rng):
    """Four components: two per source, sharing spectra and activity within a source."""
    m, n = 60, 200
    shape_a = np.exp(-0.5 * ((np.arange(m) - 10) / 3) ** 2)
    shape_b = np.exp(-0.5 * ((np.arange(m) - 45) / 3) ** 2)
    act_a = (np.arange(n) % 40 < 20).astype(float)
    act_b = 1 - act_a
    W = np.stack([shape_a, shape_b, shape_a * 1.1, shape_b * 0.9], 1)
    H = np.stack([act_a, act_b, act_a * 0.5, act_b * 2]) + 0.01 * rng.random((4, n))
    return W.astype(np.float32), H.astype(np.float32)


def test_components_of_one_source_are_grouped_together():
    W, H = two_source_factors(np.random.default_rng(0))
    groups = group_components(W, H, 2)
    assert sorted(map(sorted, groups)) == [[0, 2], [1, 3]]


@pytest.mark.parametrize("n_sources", [1, 2, 3, 4])
def test_every_component_lands_in_exactly_one_of_n_sources(n_sources):
    W, H = two_source_factors(np.random.default_rng(1))
    groups = group_components(W, H, n_sources)
    assert len(groups) == n_sources
    assert sorted(k for g in groups for k in g) == [0, 1, 2, 3]


@pytest.mark.parametrize("n_sources", [0, 5])
def test_impossible_source_count_is_refused(n_sources):
    W, H = two_source_factors(np.random.default_rng(2))
    with pytest.raises(ValueError, match="between 1 and the number of components"):
        group_components(W, H, n_sources)


def instrument_factors(rng):
    """Eight components at 16 kHz: the same four notes on a dull and on a bright instrument.

    Each component is a harmonic comb (fundamentals 110–165 Hz); the
    instruments differ only in spectral roll-off (timbre), not in pitch.
    Returns W, H and the true instrument of each component (0 dull, 1 bright).
    """
    m, n = 513, 120
    freqs = np.linspace(0, 8000, m)

    def comb(f0, rolloff):
        template = np.zeros(m)
        for h in range(1, int(8000 // f0)):
            template += h**-rolloff * np.exp(-0.5 * ((freqs - h * f0) / 15.0) ** 2)
        return template + 1e-4

    pitches = (110.0, 131.0, 147.0, 165.0)
    W = np.stack([comb(f0, 2.5) for f0 in pitches] + [comb(f0, 0.3) for f0 in pitches], axis=1)
    order = rng.permutation(8)
    H = rng.random((8, n))
    return W[:, order].astype(np.float32), H[order].astype(np.float32), (order >= 4).astype(int)


@pytest.mark.parametrize("method", ["pitch", "timbre", "affinity"])
def test_both_methods_are_deterministic_partitions(method):
    W, H, _ = instrument_factors(np.random.default_rng(6))
    first = group_components(W, H, 3, method=method, rate=16_000)
    assert first == group_components(W, H, 3, method=method, rate=16_000)
    assert len(first) == 3 and sorted(k for g in first for k in g) == list(range(8))


def test_unknown_method_is_refused():
    W, H = two_source_factors(np.random.default_rng(2))
    with pytest.raises(ValueError, match="unknown grouping method 'mfcc'"):
        group_components(W, H, 2, method="mfcc")


def register_and_envelope_factors(rng):
    """Nine components at 16 kHz of two sources with the same harmonic timbre.

    Source 0: four held low notes (110–147 Hz), one at a time. Source 1: four
    plucked high notes (440–587 Hz) and a noise hit (no pitch) that decays like
    the plucks and is as bright as them. Returns W, H; the answer is
    [[0, 1, 2, 3], [4, 5, 6, 7, 8]].
    """
    bins, n = 513, 160
    t = np.arange(n)
    low = [harmonic_comb(f0, bins, rate=16_000) for f0 in (110.0, 123.5, 130.8, 146.8)]
    high = [harmonic_comb(f0, bins, rate=16_000) for f0 in (440.0, 493.9, 523.3, 587.3)]
    bright = np.clip(np.arange(bins) * 16_000 / 1024 / 400.0, 0.0, 1.0) ** 2  # above ~400 Hz
    noise = (rng.random(bins) + 0.2) * bright + 1e-3

    def decays(starts, time_constant, length):
        return sum(np.exp(-(t - s) / time_constant) * (t >= s) * (t < s + length) for s in starts)

    held = [((t // 40) % 4 == i).astype(float) for i in range(4)]
    plucks = [decays(range(first, n, 40), 3.0, 15) for first in (0, 10, 20, 30)]
    hits = decays(range(5, n, 10), 2.0, 10)
    W = np.stack([*low, *high, noise / noise.sum()], axis=1)
    H = np.stack([*held, *plucks, hits]) + 0.01 * rng.random((9, n))
    return W.astype(np.float32), H.astype(np.float32)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pitch_grouping_follows_register_and_envelope(seed):
    W, H = register_and_envelope_factors(np.random.default_rng(seed))
    groups = group_components(W, H, 2, rate=16_000)
    assert sorted(map(sorted, groups)) == [[0, 1, 2, 3], [4, 5, 6, 7, 8]]


def test_a_template_without_pitch_has_no_register():
    W, H = register_and_envelope_factors(np.random.default_rng(0))
    cues, observed = source_cues(W, H, rate=16_000)
    assert cues.shape == observed.shape == (9, 15)
    assert observed[:8].all()
    assert not observed[8, 13] and observed[8, [*range(13), 14]].all()


def test_stereo_position_runs_from_left_to_right():
    from dsp.grouping import stereo_position

    gains = np.array([[2.0, 1.0, 0.0], [0.0, 1.0, 2.0]])
    np.testing.assert_allclose(stereo_position(gains)[:, 0], [-1.0, 0.0, 1.0])


def test_channel_gains_group_components_that_sit_together():
    """The same nine components, now played in two places of the stereo image.

    Register and envelope alone split held low notes from plucked high ones;
    with the channel gains, what sits left goes together and what sits right too.
    """
    W, H = register_and_envelope_factors(np.random.default_rng(0))
    left = [0, 1, 4, 5, 8]
    gains = np.full((2, 9), 0.2)
    gains[0, left] = 1.8
    gains[1, [j for j in range(9) if j not in left]] = 1.8
    assert sorted(group_components(W, H, 2, rate=16_000)) == [[0, 1, 2, 3], [4, 5, 6, 7, 8]]
    grouped = group_components(W, H, 2, rate=16_000, channel_gains=gains)
    assert sorted(grouped) == [left, [2, 3, 6, 7]]
