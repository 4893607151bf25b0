"""Playback wiring: the window drives a player through the documented interface."""

from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import QObject, Signal

from app.main_window import MainWindow
from dsp.pipeline import Settings


class FakePlayer(QObject):
    """Records what the window asks of a player; reports like the real one."""

    position_changed = Signal(float)
    state_changed = Signal(str)
    underruns_changed = Signal(int)
    error_occurred = Signal(str)

    def __init__(self, available=True):
        super().__init__()
        self.available = available
        self.unavailable_reason = "" if available else "no audio output device was found"
        self.calls = []
        self.gains = None
        self.loop = None
        self.device = None
        self.power = None
        self.channel_gains = None
        self.steering = None
        self.region = None

    @staticmethod
    def output_devices():
        return [
            {"name": "Speakers", "index": 0, "channels": 2, "default": True},
            {"name": "Headphones", "index": 3, "channels": 2, "default": False},
        ]

    def set_device(self, device):
        self.device = device

    def set_loop(self, start, end):
        self.loop = None if start is None else (start, end)

    def set_material(self, spectrogram, W, H, *, power=1.0, channel_gains=None,  # noqa: N803
                     steering=None):
        self.calls.append(("material", W.shape[1]))
        self.power = power
        self.channel_gains = channel_gains
        self.steering = steering

    def set_factors(self, W, H, *, power=None, channel_gains=None, steering=None):  # noqa: N803
        self.calls.append(("factors", W.shape[1]))
        self.power = self.power if power is None else power
        self.channel_gains = channel_gains
        self.steering = steering

    def set_steering(self, steering):
        self.calls.append("steering")
        self.steering = steering

    def set_region(self, region):
        self.calls.append("region")
        self.region = None if region is None else np.array(region)

    def set_gains(self, gains):
        self.gains = np.array(gains)

    def play(self):
        self.calls.append("play")
        self.state_changed.emit("playing")

    def pause(self):
        self.calls.append("pause")
        self.state_changed.emit("paused")

    def stop(self):
        self.state_changed.emit("stopped")

    def seek(self, seconds):
        self.calls.append(("seek", seconds))

    def close(self):
        self.calls.append("close")


def _open(qtbot, store, player):
    win = MainWindow(store=store, player=player)
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.document.audio_changed, timeout=20_000):
        win.loader.open_demo(duration=1.0)
    return win


@pytest.fixture
def played(qtbot, store):
    player = FakePlayer()
    win = _open(qtbot, store, player)
    yield win, player
    win.close()


def test_the_mixture_plays_before_any_factorization(played):
    window, player = played
    assert ("material", 1) in player.calls
    np.testing.assert_array_equal(player.gains, [1.0])


def test_gains_follow_solo_and_mute(played):
    window, player = played
    document = window.document
    k = document.settings.n_components
    rng = np.random.default_rng(0)
    bins, frames = document.magnitude.shape
    document.set_factors(rng.random((bins, k), np.float32), rng.random((k, frames), np.float32), ())
    assert player.calls[-1] == ("factors", k)
    window.components.table.cellWidget(1, 3).click()  # mute component 2
    assert player.gains[1] == 0.0 and player.gains[0] == 1.0
    window.components.table.cellWidget(1, 2).click()  # solo it: solo wins over mute
    expected = np.zeros(k, np.float32)
    expected[1] = 1.0
    np.testing.assert_array_equal(player.gains, expected)


def test_the_player_masks_each_channel_with_the_factors_channel_gains(played):
    window, player = played
    document = window.document
    k = document.settings.n_components
    rng = np.random.default_rng(1)
    bins, frames = document.magnitude.shape
    gains = rng.random((document.spectrogram.channels, k)).astype(np.float32)
    document.set_factors(rng.random((bins, k), np.float32), rng.random((k, frames), np.float32),
                         (), gains)
    np.testing.assert_array_equal(player.channel_gains, gains)
    document.set_factors(document.W, document.H, ())
    assert player.channel_gains is None


def test_the_player_masks_with_the_sessions_exponent_as_the_export_does(played):
    window, player = played
    document = window.document
    assert player.power == document.settings.mask_power == Settings().mask_power
    document.set_settings(replace(document.settings, mask_power=2.0))
    assert player.power == 2.0


def test_space_plays_and_pauses_and_the_playhead_follows(played):
    window, player = played
    window.playback.play_pause.trigger()
    assert window.playback.state == "playing"
    player.position_changed.emit(0.5)
    assert window.spectrogram.playhead.line.isVisible()
    assert window.activations.playhead.line.value() == 0.5
    assert window.playback.bar.clock.text().startswith("0:00.5")
    window.playback.play_pause.trigger()
    assert player.calls[-1] == "pause"


def test_seeking_moves_the_player(played):
    window, player = played
    window.spectrogram.seek_requested.emit(0.25)
    assert player.calls[-1] == ("seek", 0.25)


def test_an_unavailable_player_disables_the_controls(qtbot, store):
    window = MainWindow(store=store, player=FakePlayer(available=False))
    qtbot.addWidget(window)
    assert not window.playback.bar.play_button.isEnabled()
    assert "no audio output device" in window.playback.bar.play_button.toolTip()
    assert not window.playback.play_pause.isEnabled()


def _drag(region, span):
    """As a user dragging the loop band: move it, then let go."""
    region.item.setRegion(span)
    region.item.sigRegionChangeFinished.emit(region.item)


def test_the_loop_band_sets_the_players_loop_on_both_time_plots(played):
    window, player = played
    spectrogram, activations = window.spectrogram.loop_region, window.activations.loop_region
    assert spectrogram.range is None and player.loop is None
    window.playback.loop_action.trigger()
    assert player.loop is not None and player.loop[1] > player.loop[0]
    assert spectrogram.range == pytest.approx(player.loop)
    _drag(activations, (0.2, 0.6))
    assert player.loop == pytest.approx((0.2, 0.6))
    assert spectrogram.range == pytest.approx((0.2, 0.6))
    _drag(spectrogram, (0.5, 9.0))  # past the end: clamped to the mixture
    assert player.loop == pytest.approx((0.5, window.document.audio.duration))
    window.playback.loop_action.trigger()
    assert player.loop is None
    assert spectrogram.range is None and activations.range is None


def test_the_chosen_output_device_is_used_and_remembered(qtbot, store):
    window = _open(qtbot, store, FakePlayer())
    names = [action.text() for action in window.playback.device_menu.actions()]
    assert names == ["System default", "Speakers", "Headphones"]
    assert window.playback.device_menu.actions()[0].isChecked()
    window.playback.device_menu.actions()[2].trigger()
    assert window.playback._player.device == "Headphones"
    window.close()
    player = FakePlayer()
    again = _open(qtbot, store, player)
    assert player.device == "Headphones"
    assert again.playback.device_menu.actions()[2].isChecked()
    again.close()


def test_underruns_are_shown_in_the_status_bar(played):
    window, player = played
    label = window.playback.underrun_label
    assert not label.isVisible()
    player.underruns_changed.emit(3)
    assert label.isVisible() and "3 audio underruns" in label.text()
    assert label.parent() is not None and window.statusBar().isAncestorOf(label)


def _factorized(document, groups):
    k = document.settings.n_components
    rng = np.random.default_rng(2)
    bins, frames = document.magnitude.shape
    document.set_factors(rng.random((bins, k), np.float32), rng.random((k, frames), np.float32), ())
    document.assign_sources(groups)


def test_a_stroke_hands_the_player_the_paint_to_render_ahead_again(played):
    window, player = played
    document = window.document
    k = document.settings.n_components
    _factorized(document, [[0], list(range(1, k))])
    assert player.steering is None  # no paint: unsteered masks
    bins, frames = document.magnitude.shape
    block = (slice(0, bins // 2), slice(5, 15))
    document.set_paint_block(1, *block, np.ones((bins // 2, 10), np.float32))
    assert player.calls[-1] == "steering"
    assert player.steering.paint[1][block].min() == 1.0  # the stroke is in what it renders
    assert list(player.steering.sources) == [0] + [1] * (k - 1)
    document.set_paint_block(0, slice(0, 4), slice(30, 32), np.full((4, 2), 0.5, np.float32))
    assert player.calls[-1] == "steering"  # every stroke: the blocks ahead render again
    assert player.steering.paint[0, :4, 30:32].min() == 0.5


def test_moving_a_component_to_another_source_moves_it_in_the_players_steering(played):
    window, player = played
    document = window.document
    k = document.settings.n_components
    _factorized(document, [[0], list(range(1, k))])
    bins, frames = document.magnitude.shape
    document.set_paint_block(0, slice(None), slice(0, 5), np.ones((bins, 5), np.float32))
    document.set_source(1, 0)
    assert list(player.steering.sources) == [0, 0] + [1] * (k - 2)
    calls = len(player.calls)
    document.set_gain(2, 0.5)  # not a move: the steering stays as it is
    assert len(player.calls) == calls and player.gains[2] == 0.5


def test_a_new_paint_strength_is_rendered_with(played):
    window, player = played
    document = window.document
    k = document.settings.n_components
    _factorized(document, [[0], list(range(1, k))])
    bins, _ = document.magnitude.shape
    document.set_paint_block(0, slice(None), slice(0, 5), np.ones((bins, 5), np.float32))
    document.set_settings(replace(document.settings, guide_strength=2.0))
    assert player.steering.strength == 2.0


def test_soloing_a_source_is_heard(played):
    window, player = played
    document = window.document
    k = document.settings.n_components
    _factorized(document, [[0], list(range(1, k))])
    document.set_source_solo(1, True)
    np.testing.assert_array_equal(player.gains, [0.0] + [1.0] * (k - 1))
    document.set_source_mute(1, True)
    document.set_source_solo(1, False)
    np.testing.assert_array_equal(player.gains, [1.0] + [0.0] * (k - 1))
