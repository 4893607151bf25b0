"""Undo and redo of every edit in the window: the exact previous state comes back."""

from dataclasses import fields, replace

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication, QMessageBox

from app.document import EditState
from app.painting.commands import StrokeRecorder
from app.views.components import COLUMNS
from tests.test_steering_gui import drop_components, run_to_done

_NAME, _SOLO, _MUTE, _GAIN, _SOURCE, _LOCK = (
    COLUMNS.index(c) for c in ("Name", "S", "M", "Gain", "Source", "L"))


def taken(document) -> EditState:
    """The document's edit state, with a copy of the paint (strokes change it in place)."""
    state = document.edit_state()
    return replace(state, paint=None if state.paint is None else state.paint.copy())


def assert_state(document, expected: EditState) -> None:
    """The document's edit state is ``expected``, field by field, arrays exactly."""
    state = document.edit_state()
    for f in fields(EditState):
        got, want = getattr(state, f.name), getattr(expected, f.name)
        if f.name in EditState.ARRAYS:
            assert (got is None) == (want is None), f.name
            if got is not None:
                np.testing.assert_array_equal(got, want, err_msg=f.name)
        else:
            assert got == want, f.name


def settle() -> None:
    """Let the event loop turn, so the history records what was just done."""
    QApplication.processEvents()


def check_undo_redo(window, before: EditState, text: str, steps: int = 1) -> EditState:
    """The edit since ``before`` is ``steps`` new commands named ``text``; undo and redo it."""
    history, document = window.history, window.document
    settle()
    after = taken(document)
    assert history.undo_action.text() == f"&Undo {text}"
    assert history.stack.count() == steps
    history.undo_action.trigger()
    assert_state(document, before)
    assert history.redo_action.text() == f"&Redo {text}"
    history.redo_action.trigger()
    assert_state(document, after)
    return after


@pytest.fixture
def ran(qtbot, window):
    """The window after a run, with an empty history."""
    run_to_done(qtbot, window, window.control.run)
    settle()
    assert window.history.stack.count() == 0  # a run is not an edit
    return window


def test_the_edit_menu_holds_undo_and_redo(window):
    edit = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Edit")
    assert edit.actions()[:2] == [window.history.undo_action, window.history.redo_action]
    assert not window.history.undo_action.isEnabled()


def test_a_gain_drag_is_one_step_and_undo_keeps_the_factors(ran):
    window, document = ran, ran.document
    before = taken(document)
    gain = window.components.table.cellWidget(2, _GAIN)
    for _ in range(5):  # a drag: one value per step, the event loop turning between
        gain.stepBy(1)
        settle()
    assert document.components[2].gain == pytest.approx(1.5)
    after = check_undo_redo(window, before, "Gain of Part 3")
    assert window.components.table.cellWidget(2, _GAIN).value() == pytest.approx(1.5)
    window.components.table.cellWidget(3, _GAIN).stepBy(-1)  # another part: another step
    check_undo_redo(window, after, "Gain of Part 4", steps=2)


@pytest.mark.parametrize(("column", "text"), [(_MUTE, "Mute Part 2"), (_SOLO, "Solo Part 2"),
                                              (_LOCK, "Lock Part 2")])
def test_mute_solo_and_lock_buttons(ran, column, text):
    before = taken(ran.document)
    ran.components.table.cellWidget(1, column).click()
    check_undo_redo(ran, before, text)
    assert ran.components.table.cellWidget(1, column).isChecked()
    ran.history.undo_action.trigger()
    assert not ran.components.table.cellWidget(1, column).isChecked()


def test_moving_a_part_with_its_source_menu(window):
    document = window.document
    document.rename_source(4, "Drums")
    settle()
    before = taken(document)
    box = window.components.table.cellWidget(0, _SOURCE)
    box.setCurrentIndex(4)
    box.activated.emit(4)
    assert document.components[0].source == 4
    check_undo_redo(window, before, "Move Part 1 to Drums", steps=2)


def test_dropping_parts_on_a_source(window):
    document = window.document
    before = taken(document)
    drop_components(window.components.sources, [1, 3], 0)
    assert document.source_members(0) == [0, 1, 3]
    check_undo_redo(window, before, "Move Part 2, Part 4 to Source 1")


def test_renaming_a_part_and_a_source(window):
    document, components = window.document, window.components
    before = taken(document)
    components.table.item(2, _NAME).setText("Kick")
    after = check_undo_redo(window, before, "Rename Part 3 to Kick")
    components.sources.item(1, 0).setText("Bass")
    check_undo_redo(window, after, "Rename source Source 2 to Bass", steps=2)
    assert components.sources.item(1, 0).text() == "Bass"


@pytest.mark.parametrize(("column", "text"), [(1, "Solo source Source 3"),
                                              (2, "Mute source Source 3")])
def test_source_solo_and_mute(window, column, text):
    before = taken(window.document)
    window.components.sources.cellWidget(2, column).click()
    check_undo_redo(window, before, text)


def test_a_new_source(window):
    before = taken(window.document)
    window.components.new_source_button.click()
    check_undo_redo(window, before, "New source Source 9")


def test_merging_painted_sources_and_undoing_it_brings_their_paint_back(qtbot, window):
    document, sources = window.document, window.components.sources
    bins, frames = document.magnitude.shape
    rng = np.random.default_rng(0)
    for source in (1, 3, 5):  # painted, as a stroke paints them
        document.set_paint_block(source, slice(None), slice(0, frames // 2),
                                 rng.random((bins, frames // 2)))
    settle()
    before = taken(document)
    sources._show_menu(sources.visualRect(sources.model().index(3, 0)).center())
    merge = next(a.menu() for a in sources.context_menu.actions() if a.text() == "Merge into")
    next(a for a in merge.actions() if a.text() == "Source 2").trigger()
    assert document.n_sources == 7 and len(document.paint) == 5  # rows up to the last painted
    np.testing.assert_array_equal(document.paint[1], np.maximum(before.paint[1],
                                                                before.paint[3]))
    check_undo_redo(window, before, "Merge Source 4 into Source 2")
    np.testing.assert_array_equal(document.paint[4], before.paint[5])  # rows moved down


def test_a_stroke_after_a_merge_undoes_first(qtbot, window):
    document = window.document
    document.set_paint_block(2, slice(0, 4), slice(0, 4), np.ones((4, 4)))
    settle()
    before = taken(document)
    document.merge_sources(0, 2)
    settle()
    merged = taken(document)
    recorder = StrokeRecorder(document)  # what the canvas does around a stroke
    recorder.before_change(slice(0, 2))
    document.set_paint_block(0, slice(10, 12), slice(0, 2), np.full((2, 2), 0.5))
    stroke = document.paint_block(0, slice(None), slice(None))
    window.history.push(recorder.finish("Paint Source 1"))
    assert window.history.stack.count() == 2
    window.history.undo_action.trigger()
    assert_state(document, merged)
    window.history.undo_action.trigger()
    assert_state(document, before)
    window.history.redo_action.trigger()
    window.history.redo_action.trigger()
    np.testing.assert_array_equal(document.paint[0], stroke)


def test_auto_group(qtbot, ran):
    before = taken(ran.document)
    with qtbot.waitSignal(ran.components.grouped, timeout=20_000):
        ran.components.group_button.click()
    assert ran.document.edit_state().components != before.components
    check_undo_redo(ran, before, "Group parts into sources")


def _menu_action(window, row: int, text: str):
    return next(a for a in window.components.build_menu([row]).actions() if a.text() == text)


def test_split(qtbot, ran):
    document = ran.document
    before = taken(document)
    with qtbot.waitSignal(document.components_changed, timeout=20_000):
        _menu_action(ran, 2, "Split in two").trigger()
    after = check_undo_redo(ran, before, "Split Part 3")
    assert len(after.components) == len(before.components) + 1 == after.W.shape[1]


def test_zero_and_delete(qtbot, ran):
    document = ran.document
    before = taken(document)
    _menu_action(ran, 1, "Zero (silence)").trigger()
    assert not document.H[1].any()
    zeroed = check_undo_redo(ran, before, "Zero Part 2")
    document.select_component(7)
    settle()
    selected = taken(document)
    _menu_action(ran, 7, "Delete").trigger()
    assert document.selected == -1
    deleted = check_undo_redo(ran, selected, "Delete Part 8", steps=2)
    assert deleted.components == zeroed.components[:7]
    ran.history.undo_action.trigger()
    ran.history.undo_action.trigger()
    assert_state(document, replace(before, selected=7))  # selecting is not an edit


def test_undoing_an_edit_of_the_factors_during_a_run_ends_it_first(qtbot, ran):
    document = ran.document
    before = taken(document)
    _menu_action(ran, 0, "Zero (silence)").trigger()
    settle()
    ran.parameters.iterations.setValue(100_000)  # the run lasts until it is ended
    with qtbot.waitSignal(ran.control.state_changed, check_params_cb=lambda s: s == "running",
                          timeout=20_000):
        ran.control.resume()  # iterate around the silenced component
    qtbot.waitUntil(lambda: len(document.losses) > len(before.losses), timeout=20_000)
    ran.history.undo_action.trigger()
    assert ran.control.state == "idle"
    qtbot.waitUntil(lambda: ran.control.threads_alive == 0, timeout=20_000)
    settle()
    assert_state(document, replace(before, settings=document.settings))  # no snapshot landed


def test_learned_templates(qtbot, ran):
    document, history = ran.document, ran.history
    before = taken(document)
    templates = np.abs(np.random.default_rng(1).random((document.magnitude.shape[0], 2),
                                                       dtype=np.float32))
    with qtbot.waitSignal(document.components_changed, timeout=20_000):
        ran.steering.use_templates(templates, 3, name="Flute")
    history.flush()  # before the run it starts sends a snapshot
    after = taken(document)
    assert history.undo_action.text() == "&Undo Learn Flute"
    qtbot.waitUntil(lambda: ran.control.state == "done", timeout=30_000)
    history.undo_action.trigger()  # ends the run; none of its snapshots lands after this
    assert ran.control.state == "idle"
    settle()
    assert_state(document, before)
    history.redo_action.trigger()
    assert_state(document, after)


def test_a_new_number_of_components_is_undoable(ran):
    document = ran.document
    before = taken(document)
    ran.parameters.components.setValue(12)
    assert len(document.components) == 12 and document.W is None
    check_undo_redo(ran, before, "Components 8 → 12")
    ran.history.undo_action.trigger()
    assert ran.parameters.components.value() == 8  # the control follows


def test_undoing_a_new_number_of_components_brings_back_the_paint_it_cleared(ran):
    document = ran.document
    document.set_paint_block(1, slice(20, 30), slice(5, 15), np.full((10, 10), 0.8, np.float32))
    settle()
    ran.history.stack.clear()
    before = taken(document)
    ran.parameters.components.setValue(12)
    assert document.paint is None  # its source was dissolved, and the status bar said so
    assert "went with its source (Undo brings it back)" in ran.statusBar().currentMessage()
    check_undo_redo(ran, before, "Components 8 → 12")


def test_undoing_a_gain_after_more_iterations_keeps_them(qtbot, ran):
    document = ran.document
    ran.components.table.cellWidget(0, _GAIN).stepBy(3)
    settle()
    run_to_done(qtbot, ran, ran.control.resume)
    settle()
    factors = taken(document)
    assert len(factors.losses) == 24 and ran.history.stack.count() == 1
    ran.history.undo_action.trigger()
    assert document.components[0].gain == 1.0
    assert document.W is factors.W and document.H is factors.H
    assert document.losses == factors.losses


def test_other_audio_starts_a_new_history(qtbot, window):
    window.components.table.cellWidget(0, _MUTE).click()
    settle()
    assert window.history.stack.count() == 1
    with qtbot.waitSignal(window.document.audio_changed, timeout=20_000):
        window.loader.open_demo(duration=1.0)
    settle()
    assert window.history.stack.count() == 0


# -- a new FFT size asks first -----------------------------------------------------------


def _choose_fft(window, n_fft: int) -> None:
    box = window.parameters.n_fft
    box.setCurrentIndex(box.findData(n_fft))


def test_a_new_fft_size_asks_before_discarding_and_cancel_keeps_everything(ran):
    document, parameters = ran.document, ran.parameters
    document.set_paint_block(0, slice(0, 4), slice(0, 4), np.ones((4, 4)))
    before = taken(document)
    _choose_fft(ran, 1024)
    box = parameters.discard_box
    assert box.isVisible()
    assert box.text() == ("Discard the factorization and the paint of the demo mixture "
                          "(12 iterations)?")
    assert document.settings.n_fft == 2048  # nothing changed while it asks
    box.button(QMessageBox.Cancel).click()
    settle()
    assert_state(document, before)
    assert parameters.n_fft.currentData() == 2048
    assert not ran.loader.busy


def test_discarding_for_a_new_fft_size(qtbot, ran):
    document = ran.document
    document.set_paint_block(0, slice(0, 4), slice(0, 4), np.ones((4, 4)))
    _choose_fft(ran, 1024)
    with qtbot.waitSignal(document.audio_changed, timeout=20_000):
        ran.parameters.discard_box.button(QMessageBox.Discard).click()
    qtbot.waitUntil(lambda: not ran.loader.busy, timeout=20_000)
    assert document.settings.n_fft == 1024 and document.W is None
    assert document.spectrogram.n_fft == 1024
    # The loader's end does not take down what the user was told.
    assert "Cleared the paint" in ran.statusBar().currentMessage()


def test_a_new_fft_size_without_a_factorization_does_not_ask(qtbot, window):
    with qtbot.waitSignal(window.document.audio_changed, timeout=20_000):
        _choose_fft(window, 1024)
    assert window.parameters.discard_box is None
