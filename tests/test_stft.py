"""dsp.stft: exact reconstruction and exact length, any hop, any channel count."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsp.stft import StftError, analyse, istft, stft


def error_db(x: np.ndarray, y: np.ndarray) -> float:
    return 20 * np.log10(np.linalg.norm(y - x) / np.linalg.norm(x))


@settings(max_examples=25, deadline=None)
@given(
    length=st.integers(256, 6000),
    channels=st.integers(1, 3),
    n_fft=st.sampled_from([256, 512, 1024]),
    hop_divisor=st.sampled_from([2, 3, 4, 8]),
    seed=st.integers(0, 2**16),
)
def test_round_trip_is_exact_and_keeps_length(length, channels, n_fft, hop_divisor, seed):
    x = np.random.default_rng(seed).standard_normal((length, channels)).astype(np.float32)
    hop = n_fft // hop_divisor
    spec = stft(x, n_fft=n_fft, hop=hop)
    assert spec.dtype == np.complex64 and spec.shape[:2] == (channels, n_fft // 2 + 1)
    y = istft(spec, length=length, n_fft=n_fft, hop=hop)
    assert y.shape == (length, channels) and y.dtype == np.float32
    assert error_db(x, y) < -100


def test_magnitude_is_mean_of_channel_magnitudes():
    x = np.random.default_rng(0).standard_normal((5000, 2)).astype(np.float32)
    spec = analyse(x, 16000, n_fft=512, hop=128)
    V = spec.magnitude()
    assert V.dtype == np.float32 and V.shape == spec.shape
    assert np.allclose(V, (np.abs(spec.data[0]) + np.abs(spec.data[1])) / 2, rtol=1e-6)
    assert spec.freqs[-1] == 8000 and spec.times[1] == pytest.approx(128 / 16000)


def test_sine_peaks_in_its_bin():
    rate, n_fft = 16000, 1024
    t = np.arange(rate) / rate
    spec = analyse(np.sin(2 * np.pi * 1000 * t).astype(np.float32), rate, n_fft=n_fft, hop=256)
    peak_bin = int(np.argmax(spec.magnitude()[:, 10]))
    assert spec.freqs[peak_bin] == pytest.approx(1000, abs=rate / n_fft)


def test_signal_shorter_than_a_frame_is_refused():
    with pytest.raises(StftError, match="shorter than one STFT frame"):
        analyse(np.zeros((1000, 1), np.float32), 8000, n_fft=2048, hop=512)


@pytest.mark.parametrize("n_fft, hop", [(1000, 250), (8, 4), (1024, 0), (1024, 1024)])
def test_impossible_parameters_are_refused(n_fft, hop):
    with pytest.raises(StftError):
        stft(np.zeros(4096, np.float32), n_fft=n_fft, hop=hop)
