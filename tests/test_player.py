"""The player without a sound card: disabled with a reason, and its ring and callback logic."""

from __future__ import annotations

import os
import sys
import threading
from types import SimpleNamespace

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app.playback.engine import BLOCK, SLOTS, Engine, Ring, crossfade  # noqa: E402
from app.playback.player import Player  # noqa: E402
from dsp.mixer import Mixer  # noqa: E402
from dsp.stft import analyse  # noqa: E402
from tests.audio_device import looped  # noqa: E402

OK = SimpleNamespace(output_underflow=False)


@pytest.fixture
def no_portaudio(monkeypatch, tmp_path):
    """sounddevice as it behaves where the PortAudio library is missing."""
    (tmp_path / "sounddevice.py").write_text('raise OSError("PortAudio library not found")\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)


def test_missing_portaudio_disables_the_player_with_a_reason(qtbot, no_portaudio):
    player = Player()
    assert player.available is False
    assert "PortAudio" in player.unavailable_reason
    assert Player.output_devices() == []


def test_missing_sounddevice_package_disables_the_player_with_a_reason(qtbot, monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # makes `import sounddevice` fail
    player = Player()
    assert player.available is False
    assert "sounddevice" in player.unavailable_reason


def test_a_disabled_player_accepts_every_call_and_stays_stopped(qtbot, no_portaudio):
    player = Player()
    spec = analyse(np.zeros((4096, 2), np.float32), 8000, n_fft=256, hop=64)
    bins, frames = spec.shape
    with qtbot.assertNotEmitted(player.state_changed):
        player.set_material(spec, np.ones((bins, 2), np.float32), np.ones((2, frames), np.float32))
        player.set_gains(np.ones(2))
        player.set_loop(0.1, 0.2)
        player.play()
        player.seek(0.3)
        player.pause()
        player.stop()
    assert player.position == 0.0 and player.duration == 0.0


# The engine is plain Python: drive its callback by hand, with the producer
# thread stopped so that every slot is rendered exactly when the test says.


def _engine_with(length: int = 20_000):
    samples = np.random.default_rng(0).standard_normal((length, 2)).astype(np.float32)
    spec = analyse(samples, 8000, n_fft=256, hop=64)
    bins, frames = spec.shape
    mixer = Mixer(spec, np.ones((bins, 1), np.float32), np.ones((1, frames), np.float32))
    engine = Engine()
    engine.close()
    ring = Ring(2)
    engine.request = (1, mixer, ring, 0)
    return engine, mixer, ring, samples


def _fill(engine, mixer, ring, generation=1):
    while ring.written - ring.read < SLOTS:
        engine.render_slot(mixer, ring, generation)


def test_callback_copies_rendered_samples_and_tracks_the_position():
    engine, mixer, ring, samples = _engine_with()
    _fill(engine, mixer, ring)
    out = np.empty((BLOCK, 2), np.float32)
    engine.callback(out, BLOCK, None, OK)
    np.testing.assert_allclose(out, samples[:BLOCK], atol=1e-6)
    assert engine.position == BLOCK
    assert engine.underruns == 0


def test_blocks_rendered_before_a_seek_are_dropped_and_pre_roll_is_no_underrun():
    engine, mixer, ring, samples = _engine_with()
    _fill(engine, mixer, ring)
    engine.request = (2, mixer, ring, 3000)
    out = np.ones((BLOCK, 2), np.float32)
    engine.callback(out, BLOCK, None, OK)  # only stale blocks: silence while waiting
    assert not out.any() and engine.underruns == 0
    mixer.seek(3000)
    _fill(engine, mixer, ring, generation=2)
    engine.callback(out, BLOCK, None, OK)
    np.testing.assert_allclose(out, samples[3000 : 3000 + BLOCK], atol=1e-6)
    assert engine.position == 3000 + BLOCK


def test_a_gap_in_the_middle_of_playback_is_counted_as_an_underrun():
    engine, mixer, ring, _ = _engine_with()
    _fill(engine, mixer, ring)
    out = np.empty((BLOCK, 2), np.float32)
    for _ in range(SLOTS + 1):
        engine.callback(out, BLOCK, None, OK)
    assert engine.underruns == 1
    engine.callback(out, BLOCK, None, SimpleNamespace(output_underflow=True))
    assert engine.underruns == 3  # the device's own underflow flag counts too


def test_the_end_of_the_material_is_reported_and_is_no_underrun():
    engine, mixer, ring, samples = _engine_with(length=1000)
    _fill(engine, mixer, ring)
    out = np.empty((BLOCK, 2), np.float32)
    engine.callback(out, BLOCK, None, OK)
    engine.callback(out, BLOCK, None, OK)
    np.testing.assert_allclose(out[: 1000 - BLOCK], samples[BLOCK:], atol=1e-6)
    assert not out[1000 - BLOCK :].any()
    assert engine.finished_generation == 1 and engine.underruns == 0


def test_a_loop_wraps_from_its_end_to_its_start_through_a_crossfade():
    engine, mixer, ring, samples = _engine_with()
    engine.loop = (1000, 1700)
    heard = []
    out = np.empty((BLOCK, 2), np.float32)
    for _ in range(6):
        _fill(engine, mixer, ring)
        engine.callback(out, BLOCK, None, OK)
        heard.append(out.copy())
    expected = looped(samples, 1000, 1700, passes=4)[: 6 * BLOCK]
    np.testing.assert_allclose(np.concatenate(heard), expected, atol=1e-5)
    # The wrap itself is smooth: the step from the loop's last frame to its first is
    # nearly the step the signal takes from the frame before the loop start.
    np.testing.assert_allclose(expected[1699] - expected[1700], samples[999] - samples[1000],
                               atol=1e-3)


def test_a_gain_change_re_renders_the_unplayed_slots_after_the_next_one():
    engine, mixer, ring, samples = _engine_with()
    _fill(engine, mixer, ring)
    out = np.empty((BLOCK, 2), np.float32)
    engine.callback(out, BLOCK // 2, None, OK)  # half of slot 0 played
    old = ring.samples[1 : SLOTS].copy()
    mixer.set_gains(np.zeros(1, np.float32))  # silence from now on
    start, fade_from = engine.take_back(ring, keep_next=True)
    assert (ring.read, ring.written) == (0, 2), "the slot in play and the next stay"
    assert start == 2 * BLOCK
    np.testing.assert_array_equal(fade_from, old[1])
    mixer.seek(start)
    engine.render_slot(mixer, ring, 1, fade_from)
    _fill(engine, mixer, ring)
    np.testing.assert_array_equal(ring.samples[1], old[0])  # kept as rendered
    # The first slot taken back fades from what it held to silence, the rest is silent.
    np.testing.assert_allclose(ring.samples[2], crossfade(old[1], np.zeros_like(old[1])),
                               atol=1e-6)
    assert np.abs(ring.samples[2, -8:]).max() < 0.01 * np.abs(old[1, -8:]).max() + 1e-6
    assert not ring.samples[3 : SLOTS].any()


def test_a_stopped_stream_gives_back_every_slot_not_started():
    engine, mixer, ring, _ = _engine_with()
    _fill(engine, mixer, ring)
    start, _ = engine.take_back(ring, keep_next=False)
    assert (ring.written, start) == (0, 0)
    assert engine.take_back(ring, keep_next=False) is None  # nothing left to take


def test_the_callback_never_reads_a_slot_being_taken_back():
    engine, mixer, ring, _ = _engine_with()
    _fill(engine, mixer, ring)
    with ring.lock:  # the producer in the middle of taking slots back
        reader = threading.Thread(
            target=engine.callback, args=(np.empty((BLOCK, 2), np.float32), BLOCK, None, OK)
        )
        reader.start()
        reader.join(timeout=0.05)
        assert reader.is_alive() and ring.read == 0, "the callback waits for the lock"
    reader.join()
    assert ring.read == 1
