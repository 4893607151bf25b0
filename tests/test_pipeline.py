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
