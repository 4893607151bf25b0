"""dsp.labels: pitch of harmonic templates, percussiveness of clicks."""

import numpy as np
import pytest

from dsp import nmf
from dsp.labels import component_labels, estimate_pitch, note_name, percussiveness
from dsp.stft import analyse

RATE = 22_050


def factors_of(signal):
    """One-component NMF of a mono signal: its template and activation."""
    spec = analyse(signal[:, None].astype(np.float32), RATE, n_fft=2048, hop=512)
    result = nmf.factorize(spec.magnitude(), 1, max_iter=50, seed=0)
    return result.W, result.H


def harmonic_tone(f0, seconds=1.0):
    t = np.arange(int(seconds * RATE)) / RATE
    return sum(h**-1.0 * np.sin(2 * np.pi * h * f0 * t) for h in range(1, 9))


@pytest.mark.parametrize("f0", [98.0, 220.0, 392.0])
def test_a_harmonic_template_gets_its_fundamental(f0):
    W, _ = factors_of(harmonic_tone(f0))
    pitch = estimate_pitch(W[:, 0], rate=RATE)
    assert abs(12 * np.log2(pitch / f0)) < 0.1  # within a tenth of a semitone


def test_220_hz_is_labelled_a3():
    W, H = factors_of(harmonic_tone(220.0))
    (label,) = component_labels(W, H, rate=RATE)
    assert label.pitch_text.endswith("A3") and note_name(440.0) == "A4"


def test_a_click_train_is_percussive_and_unpitched():
    clicks = np.zeros(RATE)
    clicks[:: RATE // 4] = 1.0
    W, H = factors_of(clicks)
    tone_W, tone_H = factors_of(harmonic_tone(220.0))
    assert np.isnan(estimate_pitch(W[:, 0], rate=RATE))
    assert percussiveness(W[:, 0], H[0]) > 0.5
    assert percussiveness(tone_W[:, 0], tone_H[0]) < 0.1


def test_noise_and_silence_have_no_pitch():
    noise = np.random.default_rng(0).standard_normal(2049)
    assert np.isnan(estimate_pitch(np.abs(noise), rate=RATE))
    assert np.isnan(estimate_pitch(np.zeros(1025), rate=RATE))
