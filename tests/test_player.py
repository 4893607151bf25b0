"""The player without a sound card: disabled with a reason, and its ring and callback logic."""

from __future__ import annotations

import os
import sys
from types import SimpleNamespace

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app.player import BLOCK, SLOTS, Player, _Engine, _Ring  # noqa: E402
from dsp.mixer import Mixer  # noqa: E402
from dsp.stft import analyse  # noqa: E402

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


def _engine_with(length: int = 8000):
    samples = np.random.default_rng(0).standard_normal((length, 2)).astype(np.float32)
    spec = analyse(samples, 8000, n_fft=256, hop=64)
    bins, frames = spec.shape
    mixer = Mixer(spec, np.ones((bins, 1), np.float32), np.ones((1, frames), np.float32))
    engine = _Engine()
    engine.close()
    ring = _Ring(2)
    engine.request = (1, mixer, ring, 0)
    return engine, mixer, ring, samples


def _fill(engine, mixer, ring, generation=1):
    while ring.written - ring.read < SLOTS:
        engine._render_slot(mixer, ring, generation)


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


def test_a_loop_wraps_from_its_end_to_its_start():
    engine, mixer, ring, samples = _engine_with()
    engine.loop = (1000, 1700)
    mixer.seek(1000)
    heard = []
    out = np.empty((BLOCK, 2), np.float32)
    for _ in range(4):
        _fill(engine, mixer, ring)
        engine.callback(out, BLOCK, None, OK)
        heard.append(out.copy())
    segment = samples[1000:1700]
    np.testing.assert_allclose(
        np.concatenate(heard), np.tile(segment, (3, 1))[: 4 * BLOCK], atol=1e-6
    )
