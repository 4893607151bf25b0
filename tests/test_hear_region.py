"""Hear painted region (Paint menu, H): the window asks its player for the painted cells only,
looped over their time span, through the chosen source; off, everything is as it was."""

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.painting.hear import WHOLE_MIX
from tests.test_gui_playback import FakePlayer, _factorized, _open


@pytest.fixture
def hearing(qtbot, store):
    """A window on a fake player, factorized: source 0 is component 0, source 1 the rest."""
    player = FakePlayer()
    window = _open(qtbot, store, player)
    k = window.document.settings.n_components
    _factorized(window.document, [[0], list(range(1, k))])
    yield window, player, window.painting.hear
    window.close()


def _span(spec, first, last):
    """Seconds from frame ``first``'s start to frame ``last``'s end (frames centred)."""
    return ((first * spec.hop - spec.n_fft // 2) / spec.rate,
            (last * spec.hop + spec.n_fft // 2) / spec.rate)


def _paint(document, source, frames, value=0.7, bins=slice(10, 40)):
    rows = len(range(*bins.indices(document.magnitude.shape[0])))
    document.set_paint_block(source, bins, frames, np.full((rows, frames.stop - frames.start),
                                                           value, np.float32))


def test_the_action_is_in_the_paint_menu_and_tool_bar_with_its_shortcut(hearing):
    window, _, hear = hearing
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Paint")
    assert hear.action in menu.actions() and hear.through_menu.menuAction() in menu.actions()
    assert hear.action in window.painting.toolbar.actions()
    assert hear.action.isCheckable() and hear.action.shortcut().toString() == "H"


def test_hearing_plays_the_sources_paint_through_it_and_loops_the_painted_span(hearing, qtbot):
    window, player, hear = hearing
    document, playback = window.document, window.playback
    spec = document.spectrogram
    k = document.settings.n_components
    playback.set_loop((0.05, 0.2))
    _paint(document, 1, slice(20, 40))
    _paint(document, 0, slice(5, 42), value=1.0, bins=slice(50, 60))  # another source's paint
    window.painting.source_box.setCurrentIndex(1)
    hear.action.trigger()
    # The region is source 1's paint row, soft where it is soft, nothing of source 0's.
    np.testing.assert_array_equal(player.region, document.paint[1])
    assert player.region[10:40, 20:40].min() == pytest.approx(0.7)
    assert not player.region[50:60].any()
    np.testing.assert_array_equal(player.gains, [0.0] + [1.0] * (k - 1))  # source 1's stem
    assert player.loop == pytest.approx(_span(spec, 20, 39))
    assert window.spectrogram.loop_region.range == pytest.approx(_span(spec, 20, 39))
    assert ("seek", pytest.approx(_span(spec, 20, 39)[0])) in player.calls  # moved into it
    assert "play" not in player.calls  # not before the render thread has the region
    qtbot.waitUntil(lambda: "play" in player.calls, timeout=2000)
    hear.action.trigger()  # off: the whole mix, the loop there was
    assert player.region is None
    np.testing.assert_array_equal(player.gains, document.effective_gains())
    assert player.loop == pytest.approx((0.05, 0.2))
    assert window.spectrogram.loop_region.range == pytest.approx((0.05, 0.2))


def test_without_a_loop_before_hearing_there_is_none_after(hearing):
    window, player, hear = hearing
    _paint(window.document, 0, slice(30, 35))
    hear.action.trigger()
    assert player.loop is not None
    hear.action.trigger()
    assert player.loop is None and window.playback.loop is None
    assert not window.playback.loop_action.isChecked()


def test_through_chooses_whose_share_is_heard_in_the_region(hearing):
    window, player, hear = hearing
    document = window.document
    k = document.settings.n_components
    _paint(document, 1, slice(20, 40))
    window.painting.source_box.setCurrentIndex(1)
    document.set_gain(2, 0.5)
    document.set_source_mute(1, True)  # muted, yet heard when listened through
    hear.action.trigger()
    np.testing.assert_array_equal(player.gains, [0.0] + [1.0] * (k - 1))
    hear.through_box.setCurrentIndex(hear.through_box.findData(0))  # source 0's share
    np.testing.assert_array_equal(player.gains, [1.0] + [0.0] * (k - 1))
    np.testing.assert_array_equal(player.region, document.paint[1])  # still source 1's cells
    hear.through_box.setCurrentIndex(hear.through_box.findData(WHOLE_MIX))
    np.testing.assert_array_equal(player.gains, document.effective_gains())
    assert player.gains[1:].max() == 0.0  # the audible mix: source 1 muted
    # The menu offers the same choices and sets the box.
    hear.through_menu.aboutToShow.emit()
    choice = next(a for a in hear.through_menu.actions() if a.text().endswith(
        document.source_state(1).name))
    choice.trigger()
    assert hear.through_box.currentData() == 1
    np.testing.assert_array_equal(player.gains, [0.0] + [1.0] * (k - 1))


def test_choosing_another_source_to_paint_listens_to_its_paint(hearing):
    window, player, hear = hearing
    document, spec = window.document, window.document.spectrogram
    _paint(document, 0, slice(5, 10))
    _paint(document, 1, slice(30, 40))
    hear.action.trigger()
    assert player.loop == pytest.approx(_span(spec, 5, 9))
    window.painting.source_box.setCurrentIndex(1)
    np.testing.assert_array_equal(player.region, document.paint[1])
    assert player.loop == pytest.approx(_span(spec, 30, 39))


def test_a_stroke_while_hearing_is_rendered_and_widens_the_loop(hearing):
    window, player, hear = hearing
    document, spec = window.document, window.document.spectrogram
    _paint(document, 1, slice(10, 20))
    window.painting.source_box.setCurrentIndex(1)
    hear.action.trigger()
    calls = len(player.calls)
    _paint(document, 1, slice(30, 40), value=0.4)
    assert "region" in player.calls[calls:]  # the blocks ahead render again with it
    assert player.region[10:40, 30:40].min() == pytest.approx(0.4)
    assert player.loop == pytest.approx(_span(spec, 10, 39))
    document.set_paint_block(1, slice(None), slice(0, 25),
                             np.zeros((spec.shape[0], 25), np.float32))  # erased
    assert player.loop == pytest.approx(_span(spec, 30, 39))


def test_painting_a_source_with_no_paint_yet_starts_its_region(hearing):
    """Hearing an unpainted source plays nothing until the first stroke, then that stroke."""
    window, player, hear = hearing
    document, spec = window.document, window.document.spectrogram
    window.painting.source_box.setCurrentIndex(1)
    hear.action.trigger()
    assert not player.region.any() and player.loop is None
    # Silence, and the status bar says why and what comes next.
    name = document.source_state(1).name
    assert window.statusBar().currentMessage().startswith(
        f"Hear region: nothing is painted for {name} or selected yet")
    _paint(document, 1, slice(12, 18))  # the paint array is created by this stroke
    np.testing.assert_array_equal(player.region, document.paint[1])
    assert player.loop == pytest.approx(_span(spec, 12, 17))


def test_the_shortcut_toggles_hearing(hearing, qtbot):
    window, player, hear = hearing
    _paint(window.document, 0, slice(20, 30))
    window.activateWindow()
    QTest.keyClick(window, Qt.Key_H)
    assert hear.action.isChecked() and window.playback.listening is not None
    assert not window.statusBar().currentMessage().startswith("Hear region: nothing")
    QTest.keyClick(window, Qt.Key_H)
    assert not hear.action.isChecked() and player.region is None


def test_new_audio_ends_hearing(hearing, qtbot):
    window, player, hear = hearing
    _paint(window.document, 0, slice(20, 30))
    hear.action.trigger()
    with qtbot.waitSignal(window.document.audio_changed, timeout=20_000):
        window.loader.open_demo(duration=1.5)
    assert not hear.action.isChecked() and window.playback.listening is None
    assert player.loop is None


def test_without_playback_the_action_is_disabled(qtbot, store):
    window = _open(qtbot, store, FakePlayer(available=False))
    assert not window.painting.hear.action.isEnabled()
    assert "unavailable" in window.painting.hear.action.toolTip()
    window.close()


def test_a_selection_is_heard_instead_of_the_paint_and_a_click_clears_it(hearing, qtbot):
    from tests.test_paint_gui import drag, viewport_point

    window, player, hear = hearing
    document, spec, painting = window.document, window.document.spectrogram, window.painting
    window.resize(1400, 900)
    qtbot.wait(50)
    window.spectrogram.render()
    _paint(document, 1, slice(5, 15))
    painting.source_box.setCurrentIndex(1)
    paint, edits = document.paint.copy(), window.history.stack.count()
    painting.select_action.trigger()
    assert painting.select_action.shortcut().toString() == "S"
    drag(qtbot, window.spectrogram, [(0.3, 500.0), (0.9, 2000.0)])
    bins, frames = painting.selection
    # The cells whose centres the rectangle covers, to within a cell; nothing painted or undoable.
    assert abs(frames.start * spec.hop / spec.rate - 0.3) <= spec.hop / spec.rate
    assert abs((frames.stop - 1) * spec.hop / spec.rate - 0.9) <= spec.hop / spec.rate
    hz = spec.rate / spec.n_fft
    assert 500.0 <= bins.start * hz < 500.0 + 2 * hz
    assert 2000.0 - 2 * hz < (bins.stop - 1) * hz <= 2000.0
    np.testing.assert_array_equal(document.paint, paint)
    assert window.history.stack.count() == edits
    assert len(painting.canvas.outline.xData) == 5  # the rectangle stays drawn
    hear.action.trigger()
    expected = np.zeros(document.magnitude.shape, np.float32)
    expected[bins, frames] = 1.0
    np.testing.assert_array_equal(player.region, expected)
    assert player.loop == pytest.approx(_span(spec, frames.start, frames.stop - 1))
    last = document.magnitude.shape[1]
    _paint(document, 1, slice(last - 5, last))  # paint while a selection is heard: the selection
    np.testing.assert_array_equal(player.region, expected)
    # A click with the Select tool clears the selection: the chosen source's paint is heard.
    viewport = window.spectrogram.graphics.viewport()
    qtbot.wait(QApplication.doubleClickInterval() + 50)  # a click, not the drag's double click
    QTest.mouseClick(viewport, Qt.LeftButton, Qt.NoModifier,
                     viewport_point(window.spectrogram, 0.5, 4000.0))
    qtbot.wait(30)
    assert painting.selection is None
    assert painting.canvas.outline.xData is None or len(painting.canvas.outline.xData) == 0
    np.testing.assert_array_equal(player.region, document.paint[1])
    start, end = _span(spec, 5, last - 1)
    assert player.loop == pytest.approx((start, min(end, spec.length / spec.rate)))  # in the audio
