"""dsp.demo: the synthetic mixture is exactly what its parameters describe."""

import numpy as np
import pytest

from dsp.demo import DEFAULT_SOURCES, ToneSpec, make_demo, render_source
from dsp.stft import analyse


def test_mixture_is_the_sum_of_its_stems():
    demo = make_demo(duration=2.0)
    assert len(demo.stems) == len(DEFAULT_SOURCES) == len(demo.names)
    assert np.array_equal(demo.mixture.samples, np.sum([s.samples for s in demo.stems], 0))
    assert demo.mixture.channels == 2 and demo.mixture.frames == 2 * 22050


def test_source_sounds_at_its_fundamental_only_while_on():
    spec = ToneSpec("a", 440.0, n_harmonics=1, period=1.0, duty=0.5, onset=0.0)
    x = render_source(spec, duration=2.0, rate=16000, channels=1)
    on, off = x[1000:7000, 0], x[8500:15500, 0]
    assert np.max(np.abs(off)) == 0
    S = analyse(x, 16000, n_fft=2048, hop=512)
    peak = S.freqs[np.argmax(S.magnitude()[:, 5])]
    assert abs(peak - 440) < 16000 / 2048
    assert np.max(np.abs(on)) == pytest.approx(spec.level, rel=1e-3)


def test_pan_sets_channel_balance():
    left = render_source(ToneSpec("l", 200, pan=-1.0), duration=0.5, rate=8000)
    assert np.max(np.abs(left[:, 1])) < 1e-6 < np.max(np.abs(left[:, 0]))


def test_harmonics_above_nyquist_are_dropped():
    x = render_source(ToneSpec("h", 3000, n_harmonics=10, duty=1.0), duration=0.5, rate=8000)
    spec = analyse(x, 8000, n_fft=512, hop=128).magnitude()
    assert np.isfinite(x).all()
    assert spec[:, 5].argmax() == round(3000 / (8000 / 512))


def test_impossible_source_is_refused():
    with pytest.raises(ValueError, match="duty"):
        render_source(ToneSpec("x", 100, duty=0), duration=1, rate=8000)
