"""The streaming mixer renders exactly what the offline separation renders."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsp.guide import Steering
from dsp.mixer import Mixer
from dsp.separation import SoftMask, render, separate
from dsp.stft import analyse, istft

RATE = 8000
N_FFT = 256
HOP = 64


def _material(channels: int, k: int = 4, length: int = 6000, seed: int = 0):
    rng = np.random.default_rng(seed)
    samples = (0.3 * rng.standard_normal((length, channels))).astype(np.float32)
    spec = analyse(samples, RATE, n_fft=N_FFT, hop=HOP)
    bins, frames = spec.shape
    W = rng.random((bins, k), dtype=np.float32)
    H = rng.random((k, frames), dtype=np.float32)
    H[:, 7] = 0.0  # a frame the model calls silent: the empty-denominator convention
    return samples, spec, W, H


def _offline(spec, W, H, gains, power=1.0):
    """Σ g_k · stem_k from dsp.separation, the reference the mixer must match."""
    return sum(g * stem for g, stem in zip(gains, separate(spec, W, H, power=power)))


def _steering(spec, k: int, seed: int = 0, strength: float = 5.0) -> Steering:
    """Two sources' paint on overlapping blocks of cells; the components alternate sources."""
    bins, frames = spec.shape
    rng = np.random.default_rng(seed)
    paint = np.zeros((2, bins, frames), np.float32)
    paint[0, : bins // 2, 10:40] = rng.random((bins // 2, 30), dtype=np.float32)
    paint[1, bins // 3 :, 30:70] = 1.0
    return Steering(paint, strength, np.arange(k) % 2)


@pytest.mark.parametrize("channels", [1, 2])
def test_unit_gains_give_back_the_mixture(channels):
    samples, spec, W, H = _material(channels)
    out = Mixer(spec, W, H).render(spec.length)
    assert out.shape == samples.shape and out.dtype == np.float32
    np.testing.assert_allclose(out, samples, atol=1e-6)


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize(
    "gains", [[0, 0, 1, 0], [1, 0, 0, 0], [0.3, 0.0, 1.0, 0.7], [0, 0, 0, 0], [2.0, 1, 0.5, 1]]
)
@pytest.mark.parametrize("start", [0, 1, 333, 4097, 5990])
@pytest.mark.parametrize("power", [1.0, 1.5, 2.0])
def test_matches_offline_separation_from_any_start(channels, gains, start, power):
    _, spec, W, H = _material(channels)
    expected = _offline(spec, W, H, gains, power)[start:]
    mixer = Mixer(spec, W, H, gains=np.array(gains), power=power)
    mixer.seek(start)
    out = mixer.render(spec.length)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, atol=2e-6)


@pytest.mark.parametrize("power", [1.0, 1.5, 2.0])
def test_one_hot_gain_is_the_offline_stem_of_that_component(power):
    _, spec, W, H = _material(2)
    stems = list(separate(spec, W, H, power=power))
    for k in range(W.shape[1]):
        mixer = Mixer(spec, W, H, gains=np.eye(W.shape[1])[k], power=power)
        np.testing.assert_allclose(mixer.render(spec.length), stems[k], atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    k=st.integers(1, 6),
    power=st.sampled_from([1.0, 1.5, 2.0]),
    start=st.integers(0, 5999),
    data=st.data(),
)
def test_any_solo_mute_and_gains_render_live_as_offline(seed, k, power, start, data):
    """Solo, mute and gains resolve to one gain vector; the mixer plays what render writes.

    Stereo material is drawn with and without the multichannel model's gains.
    """
    channels = 1 + seed % 2
    _, spec, W, H = _material(channels, k=k, seed=seed)
    Q = None
    if channels == 2 and data.draw(st.booleans()):
        Q = np.array(data.draw(st.lists(st.floats(0, 2), min_size=2 * k, max_size=2 * k)),
                     np.float32).reshape(2, k)
    gains = np.array(data.draw(st.lists(st.floats(0, 2), min_size=k, max_size=k)), np.float32)
    muted = np.array(data.draw(st.lists(st.booleans(), min_size=k, max_size=k)))
    soloed = np.array(data.draw(st.lists(st.booleans(), min_size=k, max_size=k)))
    audible = soloed if soloed.any() else ~muted
    effective = np.where(audible, gains, 0).astype(np.float32)
    expected = next(render(spec, W, H, [effective], power=power, channel_gains=Q))[start:]
    mixer = Mixer(spec, W, H, gains=effective, power=power, channel_gains=Q)
    mixer.seek(start)
    np.testing.assert_allclose(mixer.render(spec.length), expected, atol=2e-6)


def test_a_new_mask_exponent_is_heard_from_the_next_block():
    _, spec, W, H = _material(2)
    gains = np.array([0, 1.0, 0, 0])
    mixer = Mixer(spec, W, H, gains=gains)
    mixer.render(3000)
    mixer.set_factors(W, H, power=2.0)
    assert mixer.power == 2.0
    tail = mixer.render(spec.length)
    settled = 3000 + N_FFT
    np.testing.assert_allclose(tail[N_FFT:], _offline(spec, W, H, gains, 2.0)[settled:], atol=1e-6)
    assert not np.allclose(tail[N_FFT:], _offline(spec, W, H, gains, 1.0)[settled:], atol=1e-3)


def test_blockwise_rendering_concatenates_to_one_shot_rendering():
    _, spec, W, H = _material(2)
    gains = np.array([0.2, 1.0, 0.0, 0.6])
    one_shot = Mixer(spec, W, H, gains=gains).render(spec.length)
    mixer = Mixer(spec, W, H, gains=gains)
    rng = np.random.default_rng(1)
    blocks = []
    while mixer.position < spec.length:
        blocks.append(mixer.render(int(rng.integers(1, 700))))
    # Equal up to float rounding: BLAS sums a batch of frames in another order.
    np.testing.assert_allclose(np.concatenate(blocks), one_shot, rtol=0, atol=1e-6)


def test_seek_back_replays_the_same_samples():
    _, spec, W, H = _material(1)
    mixer = Mixer(spec, W, H, gains=np.array([1.0, 0, 1, 0]))
    mixer.seek(1000)
    first = mixer.render(500)
    mixer.render(2000)
    mixer.seek(1000)
    np.testing.assert_array_equal(mixer.render(500), first)


def _tone_material(signal: np.ndarray):
    """One component that explains everything: the mask is exactly the gain."""
    spec = analyse(signal[:, None], RATE, n_fft=N_FFT, hop=HOP)
    bins, frames = spec.shape
    return spec, np.ones((bins, 1), np.float32), np.ones((1, frames), np.float32)


def test_mute_between_blocks_fades_without_a_discontinuity():
    t = np.arange(4000) / RATE
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    mixer = Mixer(*_tone_material(tone), ramp=HOP)
    before = mixer.render(1000)
    mixer.set_gains(np.array([0.0]))
    after = mixer.render(3000)
    out = np.concatenate([before, after])[:, 0]
    # What was rendered before the change is untouched ...
    np.testing.assert_allclose(before[:, 0], tone[:1000], atol=1e-6)
    # ... the fade starts within the next block and is silent one frame later ...
    soon = slice(1000, 1000 + HOP + N_FFT // 2)
    assert np.abs(out[soon] - tone[soon]).max() > 0.1
    assert np.abs(out[1000 + N_FFT + HOP :]).max() < 1e-6
    # ... and no sample-to-sample step exceeds the tone's own steepest slope: no click.
    assert np.abs(np.diff(out)).max() <= np.abs(np.diff(tone)).max() * 1.01


def test_gain_ramp_spreads_over_the_ramp_length_monotonically():
    level = np.full(6000, 0.5, dtype=np.float32)
    mixer = Mixer(*_tone_material(level), ramp=8 * HOP)
    mixer.seek(2000)
    mixer.render(500)
    mixer.set_gains(np.array([0.0]))
    fade = mixer.render(1500)[:, 0]
    assert np.all(np.diff(fade) <= 1e-6)  # falls steadily, never jumps back up
    steepest = np.abs(np.diff(fade)).max()
    assert steepest < 0.5 / (8 * HOP) * 2  # spread over about eight hops, not one step
    assert fade[-1] == pytest.approx(0.0, abs=1e-6)


def test_new_factors_are_used_without_restarting():
    _, spec, W, H = _material(2)
    W2, H2 = W[:, ::-1].copy(), H[::-1].copy()
    gains = np.array([0, 0, 1.0, 0])
    mixer = Mixer(spec, W, H, gains=gains)
    head = mixer.render(3000)
    mixer.set_factors(W2, H2)
    tail = mixer.render(spec.length)
    np.testing.assert_allclose(head, _offline(spec, W, H, gains)[:3000], atol=1e-6)
    settled = 3000 + N_FFT  # frames that straddle the switch mix both snapshots
    np.testing.assert_allclose(tail[N_FFT:], _offline(spec, W2, H2, gains)[settled:], atol=1e-6)


def test_a_new_number_of_components_resets_the_gains_to_unity():
    samples, spec, W, H = _material(1)
    mixer = Mixer(spec, W, H, gains=np.zeros(4))
    mixer.set_factors(W[:, :2], H[:2])
    np.testing.assert_array_equal(mixer.gains, [1.0, 1.0])
    np.testing.assert_allclose(mixer.render(spec.length), samples, atol=1e-6)


def test_render_stops_at_the_end_and_seek_is_clamped():
    _, spec, W, H = _material(1)
    mixer = Mixer(spec, W, H)
    mixer.seek(spec.length + 100)
    assert mixer.position == spec.length
    assert mixer.render(512).shape == (0, 1)
    mixer.seek(-5)
    assert mixer.position == 0


@pytest.mark.parametrize("gains", [[1.0, 1.0], [1, 1, -0.5, 1], [1, np.nan, 1, 1]])
def test_bad_gains_are_rejected(gains):
    _, spec, W, H = _material(1)
    with pytest.raises(ValueError, match="gains"):
        Mixer(spec, W, H).set_gains(np.array(gains))


def test_factors_that_do_not_fit_the_spectrogram_are_rejected():
    _, spec, W, H = _material(1)
    with pytest.raises(ValueError, match="do not match"):
        Mixer(spec, W[:-1], H)
    with pytest.raises(ValueError, match="components"):
        Mixer(spec, W, H[:3])


def test_channel_gains_that_do_not_fit_the_audio_are_rejected():
    _, spec, W, H = _material(2)
    with pytest.raises(ValueError, match="channel gains"):
        Mixer(spec, W, H, channel_gains=np.ones((3, W.shape[1])))


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("power", [1.0, 1.5])
@pytest.mark.parametrize("start", [0, 2049])
def test_a_painted_mix_streams_block_by_block_as_render_writes_it(channels, power, start):
    """One render path with paint too: the player's blocks are the export's samples."""
    _, spec, W, H = _material(channels)
    steering = _steering(spec, W.shape[1])
    Q = np.array([[1.5, 0.5, 1.0, 0.2], [0.5, 1.5, 1.0, 1.8]], np.float32)[:channels]
    Q = Q if channels == 2 else None
    gains = np.array([0.0, 1.0, 0.5, 1.0], np.float32)
    expected = next(render(spec, W, H, [gains], power=power, channel_gains=Q,
                           steering=steering))
    unpainted = next(render(spec, W, H, [gains], power=power, channel_gains=Q))
    mixer = Mixer(spec, W, H, gains=gains, power=power, channel_gains=Q, steering=steering)
    mixer.seek(start)
    rng = np.random.default_rng(2)
    blocks = []
    while mixer.position < spec.length:
        blocks.append(mixer.render(int(rng.integers(1, 700))))
    streamed = np.concatenate(blocks)
    np.testing.assert_allclose(streamed, expected[start:], atol=2e-6)
    assert np.abs(streamed - unpainted[start:]).max() > 1e-2  # the paint is heard


def test_paint_changed_in_place_is_heard_from_the_next_transformed_frame():
    """Nothing of a mask outlives its frame: a stroke steers every block rendered after it."""
    _, spec, W, H = _material(2)
    steering = _steering(spec, W.shape[1])
    before = steering.paint.copy()
    gains = np.array([1.0, 0.0, 1.0, 0.0], np.float32)
    mixer = Mixer(spec, W, H, gains=gains, steering=steering)
    head = mixer.render(3000)  # frames up to 48 are transformed
    steering.paint[1, :, 60:80] = 1.0  # a stroke on frames no block has reached yet
    tail = mixer.render(spec.length)
    old = next(render(spec, W, H, [gains], steering=Steering(before, 5.0, steering.sources)))
    new = next(render(spec, W, H, [gains], steering=steering))
    np.testing.assert_allclose(head, old[:3000], atol=2e-6)
    np.testing.assert_allclose(tail, new[3000:], atol=2e-6)
    stroke = slice(60 * HOP - N_FFT // 2, 80 * HOP - N_FFT // 2)
    assert np.abs(new[stroke] - old[stroke]).max() > 1e-2


def test_a_steering_given_with_new_factors_is_used_without_restarting():
    _, spec, W, H = _material(2)
    steering = _steering(spec, W.shape[1])
    gains = np.array([1.0, 0.0, 1.0, 0.0], np.float32)
    mixer = Mixer(spec, W, H, gains=gains)
    head = mixer.render(1000)
    mixer.set_factors(W, H, steering=steering)
    tail = mixer.render(spec.length)
    np.testing.assert_allclose(head, _offline(spec, W, H, gains)[:1000], atol=1e-6)
    settled = 1000 + N_FFT  # frames that straddle the switch mix both
    steered = next(render(spec, W, H, [gains], steering=steering))
    np.testing.assert_allclose(tail[N_FFT:], steered[settled:], atol=2e-6)
    # Paint gone (None): the unsteered masks again.
    mixer.seek(0)
    mixer.set_factors(W, H)
    np.testing.assert_allclose(mixer.render(spec.length), _offline(spec, W, H, gains), atol=1e-6)


def test_a_steering_that_does_not_fit_the_factors_is_rejected_and_changes_nothing():
    _, spec, W, H = _material(1)
    gains = np.array([0.0, 1.0, 0.0, 1.0], np.float32)
    mixer = Mixer(spec, W, H, gains=gains)
    with pytest.raises(ValueError, match="steering"):
        mixer.set_factors(W[:, :3], H[:3], steering=_steering(spec, 4))
    assert mixer.n_components == 4
    np.testing.assert_array_equal(mixer.gains, gains)
    np.testing.assert_allclose(mixer.render(spec.length), _offline(spec, W, H, gains), atol=1e-6)


def _ratio_mask(W, H, gains, power):
    """Σ_k g_k (W_k H_k)^α / Σ_j (W_j H_j)^α in float64, the mixture shared equally where
    the model is silent: the mask written out from its definition."""
    parts = (W.T.astype(np.float64)[:, :, None] * H.astype(np.float64)[:, None, :]) ** power
    total = parts.sum(axis=0)
    weighted = np.tensordot(np.asarray(gains, np.float64), parts, axes=1)
    silent = total <= 0
    return np.where(silent, np.mean(gains), weighted / np.where(silent, 1.0, total))


def _region(spec, seed: int = 0) -> np.ndarray:
    """A soft region: soft weights on a band of bins over a span of frames, 1 on a patch."""
    bins, frames = spec.shape
    region = np.zeros((bins, frames), np.float32)
    rng = np.random.default_rng(seed)
    region[20:60, 15:50] = rng.random((40, 35), dtype=np.float32)
    region[70:90, 40:60] = 1.0
    return region


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("power", [1.0, 1.5])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_region_streams_as_the_istft_of_region_times_mask_times_stft(channels, power, seed):
    """out = istft(R ∘ mask(gains) ∘ X), in blocks of any sizes from any start."""
    samples, spec, W, H = _material(channels, seed=seed)
    gains = np.array([0.0, 1.0, 0.5, 1.0], np.float32)
    region = _region(spec, seed)
    mask = _ratio_mask(W, H, gains, power)
    expected = istft(spec.data * (region * mask), length=spec.length, n_fft=N_FFT, hop=HOP)
    mixer = Mixer(spec, W, H, gains=gains, power=power, region=region)
    start = [0, 1234, 2049][seed]
    mixer.seek(start)
    rng = np.random.default_rng(seed)
    blocks = []
    while mixer.position < spec.length:
        blocks.append(mixer.render(int(rng.integers(1, 900))))
    np.testing.assert_allclose(np.concatenate(blocks), expected[start:], atol=2e-6)
    assert np.abs(expected).max() > 0.05  # the region is heard


def test_a_region_of_ones_is_normal_playback():
    _, spec, W, H = _material(2)
    gains = np.array([0.3, 0.0, 1.0, 0.7], np.float32)
    steering = _steering(spec, W.shape[1])
    plain = Mixer(spec, W, H, gains=gains, power=1.5, steering=steering).render(spec.length)
    everywhere = Mixer(spec, W, H, gains=gains, power=1.5, steering=steering,
                       region=np.ones(spec.shape, np.float32)).render(spec.length)
    np.testing.assert_array_equal(everywhere, plain)


def test_a_painted_region_weights_the_steered_masks():
    """With paint steering the masks, the region weights those masks: one render path."""
    _, spec, W, H = _material(2)
    steering = _steering(spec, W.shape[1])
    gains = np.array([1.0, 0.0, 1.0, 0.0], np.float32)
    region = _region(spec)
    steered = SoftMask(W, H, power=1.5, steering=steering).mask(gains)
    expected = istft(spec.data * (region * steered), length=spec.length, n_fft=N_FFT, hop=HOP)
    mixer = Mixer(spec, W, H, gains=gains, power=1.5, steering=steering, region=region)
    np.testing.assert_allclose(mixer.render(spec.length), expected, atol=2e-6)


def test_a_band_limited_region_plays_only_that_band():
    """Noise through a region of 1.0–1.5 kHz: the played samples' spectrum is that band."""
    rate, n_fft, hop = 16_000, 512, 128
    samples = np.random.default_rng(4).standard_normal((3 * rate, 1)).astype(np.float32)
    spec = analyse(samples, rate, n_fft=n_fft, hop=hop)
    bins, frames = spec.shape
    W = np.ones((bins, 1), np.float32)
    H = np.ones((1, frames), np.float32)
    freqs = np.fft.rfftfreq(n_fft, 1 / rate)
    region = np.zeros((bins, frames), np.float32)
    region[(freqs >= 1000) & (freqs <= 1500)] = 1.0
    mixer = Mixer(spec, W, H, region=region)
    played = np.concatenate([mixer.render(700) for _ in range(-(-spec.length // 700))])[:, 0]
    power = np.abs(np.fft.rfft(played)) ** 2
    hz = np.fft.rfftfreq(len(played), 1 / rate)
    band = power[(hz >= 1000) & (hz <= 1500)].sum()
    source = (np.abs(np.fft.rfft(samples[:, 0])) ** 2)[(hz >= 1000) & (hz <= 1500)].sum()
    assert band > 0.9 * source  # the band itself plays
    # The synthesis window smears the band's edges over a few STFT bins (31 Hz each):
    # beyond four of them, less than −40 dB of the band's energy.
    outside = power[(hz < 1000 - 4 * rate / n_fft) | (hz > 1500 + 4 * rate / n_fft)].sum()
    assert outside < 1e-4 * band


def test_a_region_changed_in_place_is_heard_from_the_next_transformed_frame():
    _, spec, W, H = _material(1)
    region = np.zeros(spec.shape, np.float32)
    mixer = Mixer(spec, W, H, region=region)
    head = mixer.render(3000)  # frames up to 48 are transformed
    region[:, 60:80] = 1.0  # a stroke where no block has reached yet
    tail = mixer.render(spec.length)
    assert not head.any()  # nothing painted: silence
    mask = _ratio_mask(W, H, np.ones(4), 1.0)
    expected = istft(spec.data * (region * mask), length=spec.length, n_fft=N_FFT, hop=HOP)
    np.testing.assert_allclose(tail, expected[3000:], atol=2e-6)
    assert np.abs(tail).max() > 0.05


def test_setting_the_region_to_none_plays_every_cell_again_and_a_misfit_is_rejected():
    samples, spec, W, H = _material(1)
    mixer = Mixer(spec, W, H, region=np.zeros(spec.shape, np.float32))
    with pytest.raises(ValueError, match="region"):
        mixer.set_region(np.ones((3, 3), np.float32))
    assert not mixer.render(spec.length).any()  # the old region stayed
    mixer.set_region(None)
    mixer.seek(0)
    np.testing.assert_allclose(mixer.render(spec.length), samples, atol=1e-6)
