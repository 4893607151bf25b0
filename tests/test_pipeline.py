"""dsp.pipeline: settings map onto the solver the same way for CLI and GUI."""

import numpy as np
import pytest

from dsp.demo import make_demo
from dsp.pipeline import Settings, separate_audio


def total_variation(H: np.ndarray) -> float:
    return float(np.sum(np.abs(np.diff(H, axis=1))) / np.sum(H))


def test_smoothness_is_relative_to_the_mean_magnitude():
    V = np.full((4, 6), 2.0, np.float32)
    assert Settings(smoothness=10).solver_options(V)["smoothness"] == pytest.approx(20.0)
    assert "smoothness" not in Settings().solver_options(V)
    with pytest.raises(ValueError, match="pass V"):
        Settings(smoothness=1).solver_options()


def test_smoothness_gives_smoother_activations():
    audio = make_demo(duration=3.0).mixture
    plain = separate_audio(audio, Settings(n_components=3, iterations=60, tol=0))
    smooth = separate_audio(audio, Settings(n_components=3, iterations=60, tol=0, smoothness=500))
    assert total_variation(smooth.H) < 0.8 * total_variation(plain.H)


def test_sources_are_grouped_with_the_audio_rate():
    audio = make_demo(duration=2.0).mixture
    separation = separate_audio(audio, Settings(n_components=6, n_sources=3, iterations=30))
    assert len(separation.groups) == 3
    assert sorted(k for g in separation.groups for k in g) == list(range(6))


def test_comb_start_needs_the_rate_and_is_reproducible():
    from dsp import nmf

    V = np.abs(np.random.default_rng(0).standard_normal((513, 80))).astype(np.float32)
    with pytest.raises(ValueError, match="rate"):
        nmf.make_solver(V, 4, init="comb")
    a, b = (nmf.make_solver(V, 4, init="comb", rate=16000, seed=2) for _ in range(2))
    assert np.array_equal(a.W, b.W) and np.array_equal(a.H, b.H)
    deep = nmf.make_solver(V, 4, init="comb", algorithm="deep", layers=(8,))
    assert deep.W.shape == (513, 4)


def test_default_settings_start_from_harmonic_combs_at_the_audio_rate():
    audio = make_demo(duration=2.0).mixture
    settings = Settings(n_components=3, iterations=0)
    assert settings.init == "comb"
    separation = separate_audio(audio, settings)
    from dsp.nmf import make_solver
    from dsp.stft import analyse

    V = analyse(audio.samples, audio.rate).magnitude()
    expected = make_solver(V, 3, init="comb", rate=audio.rate, seed=0)
    assert np.array_equal(separation.W, expected.W)


def _panned_voices(seconds: float = 2.0, rate: int = 16000):
    """Two harmonic voices with the same pitch range, hard left and right: (mixture, stems)."""
    t = np.arange(int(seconds * rate)) / rate
    left = sum(np.sin(2 * np.pi * 220 * h * t) / h for h in range(1, 8))
    right = sum(np.sin(2 * np.pi * 233 * h * t + h) / h for h in range(1, 8))
    left *= (np.sin(2 * np.pi * 1.5 * t) > 0)
    right *= (np.sin(2 * np.pi * 1.5 * t + 2) > 0)
    stems = [np.stack([0.9 * left, 0.1 * left], axis=1).astype(np.float32) * 0.1,
             np.stack([0.1 * right, 0.9 * right], axis=1).astype(np.float32) * 0.1]
    return stems[0] + stems[1], stems


def test_stereo_is_factorised_per_channel_and_the_stems_follow_the_panning():
    from dsp.audio import Audio
    from dsp.scores import match_estimates, sdr
    from dsp.separation import separate

    mixture, stems = _panned_voices()
    scores = {}
    for spatial in (True, False):
        settings = Settings(n_components=2, n_sources=2, spatial=spatial, n_fft=1024, hop=256)
        separation = separate_audio(Audio(mixture, 16000), settings)
        assert (separation.channel_gains is not None) == spatial
        out = list(separate(separation.spectrogram, separation.W, separation.H,
                            separation.groups, power=settings.mask_power,
                            channel_gains=separation.channel_gains))
        np.testing.assert_allclose(np.sum(out, axis=0), mixture, atol=1e-5)
        scores[spatial] = np.mean([sdr(stems[r].ravel(), out[e].ravel())
                                   for r, e in match_estimates(
                                       [s.ravel() for s in stems], [o.ravel() for o in out])])
    # Mixing the channels down throws the panning away; the per-channel model keeps it.
    assert scores[True] > scores[False] + 3.0


@pytest.mark.parametrize("options", [{"algorithm": "hals", "loss": "euclidean"},
                                     {"sparsity": 0.1}, {"spatial": False}])
def test_the_multichannel_model_is_used_only_where_it_applies(options):
    settings = Settings(**options)
    assert not settings.is_spatial(2)
    assert Settings().is_spatial(2) and not Settings().is_spatial(1)


def test_default_components_follow_the_number_of_sources():
    from dsp.pipeline import COMPONENTS_PER_SOURCE, MAX_DEFAULT_COMPONENTS, default_components

    assert default_components(None) == Settings().n_components
    assert default_components(1) == max(COMPONENTS_PER_SOURCE, Settings().n_components)
    assert default_components(3) == min(3 * COMPONENTS_PER_SOURCE, MAX_DEFAULT_COMPONENTS)
    assert default_components(50) == MAX_DEFAULT_COMPONENTS
    assert all(default_components(s) <= default_components(s + 1) for s in range(1, 10))


def test_a_short_signal_gets_fewer_components_but_never_fewer_than_its_sources():
    from dsp.pipeline import FRAMES_PER_COMPONENT, default_components

    assert default_components(3, frames=94) == 94 // FRAMES_PER_COMPONENT
    assert default_components(4, frames=10) == 4
    assert default_components(3, frames=100_000) == default_components(3)
