"""dsp.nmf.init: every start of a factorization, behind make_solver's one entry point."""

import numpy as np
import pytest

from dsp import nmf
from dsp.labels import estimate_pitch
from dsp.nmf.init import comb_init, initialize, start
from dsp.templates import harmonic_comb

RATE = 16_000
BINS = 513  # n_fft 1024


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


def test_a_long_file_competes_on_a_sample_of_its_frames():
    V = two_notes_and_noise(np.random.default_rng(5))
    n = V.shape[1]
    W, H = comb_init(V, 4, rate=RATE, max_frames=34)  # 100 frames: every third
    W_sample, H_sample = comb_init(V[:, ::3], 4, rate=RATE)
    np.testing.assert_array_equal(W, W_sample)
    assert H.shape == (4, n)
    np.testing.assert_array_equal(H[:, ::3], H_sample)  # the other frames take their neighbour's
    np.testing.assert_array_equal(H[:, 1::3], H_sample[:, : H[:, 1::3].shape[1]])
    same_W, same_H = comb_init(V, 4, rate=RATE, max_frames=n)
    np.testing.assert_array_equal(same_W, comb_init(V, 4, rate=RATE)[0])


def test_more_components_than_distinct_notes_still_gives_k():
    W, H = comb_init(two_notes_and_noise(np.random.default_rng(2)), 40, rate=RATE, n_free=0)
    assert W.shape == (BINS, 40) and H.shape == (40, 100)


@pytest.mark.parametrize("n_free", [-1, 5])
def test_impossible_free_count_is_refused(n_free):
    with pytest.raises(ValueError, match="n_free must be between 0 and 4"):
        comb_init(two_notes_and_noise(np.random.default_rng(3)), 4, rate=RATE, n_free=n_free)


def test_comb_start_on_a_clip_shorter_than_its_dictionary_is_nndsvda():
    V = np.abs(np.random.default_rng(1).standard_normal((1025, 12))).astype(np.float32)
    W, H = comb_init(V, 3, rate=44100)
    W0, H0 = initialize(V, 3, method="nndsvda", seed=0)
    assert np.array_equal(W, W0) and np.array_equal(H, H0)


def low_rank(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((40, 3)) @ rng.random((3, 60))).astype(np.float32)


def test_a_locked_start_keeps_the_kept_templates_and_starts_the_rest_from_init():
    V = low_rank()
    earlier = np.full((40, 4), 7.0, dtype=np.float32)
    first = start(V, 4, init="random", seed=3, W=earlier, keep=[1, 3])
    W0, H0 = initialize(V, 4, method="random", seed=3)
    assert np.array_equal(first.W[:, [1, 3]], earlier[:, [1, 3]])
    assert np.array_equal(first.W[:, [0, 2]], W0[:, [0, 2]])
    assert np.array_equal(first.H, H0)


def test_given_factors_are_the_start_and_a_missing_one_comes_from_init():
    V = low_rank()
    W, H = initialize(V, 3, method="nndsvd", seed=0)
    both = start(V, 3, init="comb", W=W, H=H)  # nothing to compute: no rate needed
    assert np.array_equal(both.W, W) and np.array_equal(both.H, H) and both.layers == ()
    only_W = start(V, 3, init="random", seed=1, W=W)
    assert np.array_equal(only_W.W, W)
    assert np.array_equal(only_W.H, initialize(V, 3, method="random", seed=1)[1])
    with pytest.raises(ValueError, match="rate"):
        start(V, 3, init="comb", W=W)


def test_deep_nmf_starts_layer_by_layer_and_from_nndsvda_when_asked_for_combs():
    V = low_rank()
    first = start(V, 3, init="comb", seed=0, layers=(6,))
    assert [layer.shape for layer in first.layers] == [(40, 6), (6, 3)]
    np.testing.assert_allclose(first.W, first.layers[0] @ first.layers[1], rtol=1e-6)
    assert np.array_equal(first.H, start(V, 3, init="nndsvda", seed=0, layers=(6,)).H)


def test_make_solver_starts_where_start_does():
    V = low_rank()
    first = start(V, 3, init="nndsvd", seed=5)
    solver = nmf.make_solver(V, 3, loss="euclidean", algorithm="hals", init="nndsvd", seed=5)
    assert np.array_equal(solver.W, np.maximum(first.W, nmf.FLOOR))
