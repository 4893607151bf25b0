"""Sessions through the window: save, reopen, export, close with unsaved changes, recover."""

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.autosaves import Owner, write_lock
from app.document import Document
from app.main_window import MainWindow
from app.persistence import autosave_path, open_session, pending_recovery, save_session
from app.session_files import ASK_TO_SAVE_KEY
from dsp.audio import Audio, load, save
from dsp.demo import make_demo
from dsp.pipeline import Settings
from dsp.project_file import load_project
from dsp.stft import analyse

WAIT = 30_000  # ms; a condition wait, not a timing assertion
VIEWS = ("spectrogram", "reconstruction", "activations", "templates", "loss_plot",
         "components", "parameters")


def run_to_completion(qtbot, window) -> None:
    window.control.run()
    qtbot.waitUntil(lambda: window.control.state == "done", timeout=WAIT)


def new_window(qtbot, tmp_path, name: str) -> MainWindow:
    """A second window with settings of its own, shown at the default size."""
    store = QSettings(str(tmp_path / f"{name}.ini"), QSettings.IniFormat)
    store.setValue(ASK_TO_SAVE_KEY, False)
    window = MainWindow(store=store)
    qtbot.addWidget(window)
    window.show()
    return window


def answer_file_dialogs(monkeypatch, *, save_to=None, open_from=None) -> list[str]:
    """Make QFileDialog return these paths; returns the captions it was shown with."""
    captions = []

    def answer(path):
        def dialog(parent, caption, *args, **kwargs):
            captions.append(caption)
            return (str(path), "") if path is not None else ("", "")
        return dialog

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(answer(save_to)))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(answer(open_from)))
    return captions


def view_images(qtbot, window) -> dict:
    """Each view as drawn, once the deferred re-renders and component labels have run."""
    for view in (window.spectrogram, window.reconstruction):
        qtbot.waitUntil(lambda v=view: not (v._rerender.isActive() or v._renders.busy),
                        timeout=WAIT)
    qtbot.waitUntil(lambda: not window.components.labelling, timeout=WAIT)
    return {name: getattr(window, name).grab().toImage() for name in VIEWS}


def edit_components(document) -> None:
    document.set_component_name(0, "Bass")
    document.set_component_colour(0, "#ff00ff")
    document.set_gain(1, 0.25)
    document.set_mute(2, True)
    document.set_source(3, 0)
    document.set_locked(1, True)
    document.rename_source(0, "Low end")


def test_set_component_colour_emits_only_on_a_real_change(qtbot):
    document = Document(Settings(n_components=2))
    seen = []
    document.component_changed.connect(seen.append)
    document.set_component_colour(1, "#FF00FF")
    document.set_component_colour(1, "#ff00ff")
    document.set_component_colour(0, document.components[0].colour)
    assert seen == [1]
    assert document.components[1].colour == "#ff00ff"


def test_saved_session_reopens_in_a_fresh_window_identically(
    qtbot, window, tmp_path, monkeypatch
):
    run_to_completion(qtbot, window)
    edit_components(window.document)
    target = tmp_path / "work.partwise"
    answer_file_dialogs(monkeypatch, save_to=target, open_from=target)
    assert window.isWindowModified()
    window.files.save_action.trigger()
    assert target.is_file()
    assert window.windowTitle() == "work.partwise[*] — Partwise"
    assert not window.isWindowModified()
    before = view_images(qtbot, window)

    again = new_window(qtbot, tmp_path, "again")
    assert again.size() == window.size()
    with qtbot.waitSignal(again.files.session_opened, timeout=WAIT):
        again.open_action.trigger()  # File ▸ Open… with the session chosen
    saved, reopened = window.document, again.document
    assert reopened.settings == saved.settings
    np.testing.assert_array_equal(reopened.W, saved.W)
    np.testing.assert_array_equal(reopened.H, saved.H)
    assert saved.channel_gains is not None  # the stereo demo ran the multichannel model
    np.testing.assert_array_equal(reopened.channel_gains, saved.channel_gains)
    assert reopened.losses == saved.losses
    assert reopened.components == saved.components
    assert reopened.components[1].locked and reopened.source_state(0).name == "Low end"
    np.testing.assert_array_equal(reopened.audio.samples, saved.audio.samples)
    assert again.files.document_file.path == target and not again.isWindowModified()
    assert again.windowTitle() == "work.partwise[*] — Partwise"

    after = view_images(qtbot, again)
    differing = [name for name in VIEWS if after[name] != before[name]]
    assert differing == []
    # The comparison sees component state: the templates drawn in another colour differ.
    reopened.set_component_colour(0, "#00ff00")
    assert view_images(qtbot, again)["templates"] != before["templates"]


def test_save_writes_to_the_same_file_without_asking(qtbot, window, tmp_path, monkeypatch):
    run_to_completion(qtbot, window)
    target = tmp_path / "work.partwise"
    captions = answer_file_dialogs(monkeypatch, save_to=target)
    window.files.save_as_action.trigger()
    assert len(captions) == 1
    window.document.set_gain(0, 0.5)
    assert window.isWindowModified()
    window.files.save_action.trigger()
    assert len(captions) == 1  # no second question: Save uses the session's file
    assert not window.isWindowModified()
    assert load_project(target).components[0].gain == 0.5


def test_a_failed_save_reports_why_and_keeps_the_changes_marked(
    qtbot, window, tmp_path, monkeypatch
):
    run_to_completion(qtbot, window)
    answer_file_dialogs(monkeypatch, save_to=tmp_path / "no such folder" / "work.partwise")
    with qtbot.waitSignal(window.error_reported) as blocker:
        window.files.save_as_action.trigger()
    assert blocker.args[0].startswith("Cannot save the session:")
    assert "no such folder" in blocker.args[0]
    assert window.isWindowModified() and window.files.document_file.path is None


def test_export_action_writes_stems_and_the_visible_plots(qtbot, window, tmp_path):
    run_to_completion(qtbot, window)
    window.document.set_component_name(0, "Bass")
    window.files.export_action.trigger()
    dialog = window.files.export_dialog
    assert dialog.isVisible()
    dialog.folder_edit.setText(str(tmp_path / "stems"))
    dialog.pattern_edit.setText("{name}")
    dialog.plots_check.setChecked(True)
    with qtbot.waitSignal(dialog.export_ended, timeout=WAIT) as blocker:
        assert dialog.start_export()
    qtbot.waitUntil(lambda: dialog.job is None, timeout=WAIT)
    assert blocker.args[0] == "exported"
    k = window.document.settings.n_components
    written = sorted(p.name for p in (tmp_path / "stems").iterdir())
    stems = [name for name in written if name.endswith(".wav")]
    assert len(stems) == k and "Bass.wav" in stems
    plots = {name for name in written if name.endswith(".png")}
    assert plots == {f"mixture_{name}.png" for name in window.visible_plots()}
    assert "mixture_spectrogram.png" in plots and "manifest.json" in written
    mixture = window.document.audio.samples
    total = sum(load(tmp_path / "stems" / name).samples for name in stems)
    np.testing.assert_allclose(total, mixture, atol=1e-3)


@pytest.fixture
def asking(window, store):
    """The fixture window, asking about unsaved changes on close, with a change made."""
    store.setValue(ASK_TO_SAVE_KEY, True)
    window.document.set_gain(0, 0.5)
    assert window.files.document_file.dirty
    yield window
    store.setValue(ASK_TO_SAVE_KEY, False)  # let the fixture close it


def test_close_with_unsaved_changes_asks_and_cancel_keeps_the_window(qtbot, asking):
    assert not asking.close()
    box = asking.files.unsaved_box
    assert box.isVisible() and "Save the changes" in box.text()
    box.button(QMessageBox.Cancel).click()
    assert asking.isVisible() and asking.files.document_file.dirty


def test_close_then_discard_closes_and_removes_the_autosave(qtbot, asking, data_dir):
    with qtbot.waitSignal(asking.files.autosaver.saved):
        asking.files.autosaver.save_now()
    autosave = asking.files.autosaver.path
    assert autosave.parent == data_dir and autosave.is_file()
    assert pending_recovery() is None  # its instance still runs: never offered
    assert not asking.close()
    asking.files.unsaved_box.button(QMessageBox.Discard).click()
    assert not asking.isVisible()
    assert not autosave.exists() and pending_recovery() is None


def test_close_then_save_writes_the_session_and_closes(qtbot, asking, tmp_path, monkeypatch):
    answer_file_dialogs(monkeypatch, save_to=tmp_path / "kept")  # the suffix is added
    assert not asking.close()
    asking.files.unsaved_box.button(QMessageBox.Save).click()
    assert not asking.isVisible()
    assert load_project(tmp_path / "kept.partwise").components[0].gain == 0.5


def test_close_then_save_but_no_file_chosen_stays_open(qtbot, asking, monkeypatch):
    answer_file_dialogs(monkeypatch, save_to=None)
    assert not asking.close()
    asking.files.unsaved_box.button(QMessageBox.Save).click()
    assert asking.isVisible() and asking.files.document_file.dirty


def test_a_completed_run_is_autosaved(qtbot, window, data_dir):
    autosave = window.files.autosaver.path
    assert not autosave.exists()
    run_to_completion(qtbot, window)
    qtbot.waitUntil(autosave.exists, timeout=WAIT)
    np.testing.assert_array_equal(load_project(autosave).W, window.document.W)


def crashed_autosave(tmp_path) -> Document:
    """What a crashed app left: an autosave of a factorized demo mixture with edits."""
    demo = make_demo(duration=1.0).mixture
    document = Document(Settings(n_components=4, n_fft=512, hop=128))
    document.set_audio(demo, analyse(demo.samples, demo.rate, n_fft=512, hop=128))
    bins, frames = document.magnitude.shape
    rng = np.random.default_rng(5)
    document.set_factors(rng.random((bins, 4), dtype=np.float32),
                        rng.random((4, frames), dtype=np.float32), (3.0, 2.0))
    edit_components(document)
    save_session(document, gone_autosave())
    return document


def gone_autosave(session=None):
    """The autosave path of an instance that is gone (a process id no system hands out)."""
    path = autosave_path().parent / "autosave-4194400-1.partwise"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_lock(path, Owner(4_194_400, "1"), session)
    return path


def test_start_up_offers_the_autosave_and_yes_restores_it(qtbot, tmp_path, monkeypatch):
    crashed = crashed_autosave(tmp_path)
    window = new_window(qtbot, tmp_path, "restart")
    fallback = []
    assert window.files.offer_recovery(otherwise=lambda: fallback.append("demo"))
    assert window.files.recovery_box.isVisible()
    with qtbot.waitSignal(window.files.session_opened, timeout=WAIT) as blocker:
        window.files.recovery_box.button(QMessageBox.Yes).click()
    assert blocker.args == [None]
    restored = window.document
    assert fallback == []
    np.testing.assert_array_equal(restored.W, crashed.W)
    np.testing.assert_array_equal(restored.audio.samples, crashed.audio.samples)
    assert restored.components == crashed.components
    assert window.files.document_file.path is None and window.isWindowModified()
    assert window.windowTitle() == "Recovered session[*] — Partwise"

    # Saved elsewhere, the recovered work no longer needs the autosave (deleted on close).
    answer_file_dialogs(monkeypatch, save_to=tmp_path / "kept.partwise")
    window.files.save_action.trigger()
    window.close()
    assert pending_recovery() is None
    reopened = Document()
    open_session(tmp_path / "kept.partwise", reopened)
    np.testing.assert_array_equal(reopened.H, crashed.H)


def test_start_up_recovery_declined_is_deleted_and_the_demo_opens(qtbot, tmp_path):
    crashed_autosave(tmp_path)
    window = new_window(qtbot, tmp_path, "restart")
    fallback = []
    window.files.offer_recovery(otherwise=lambda: fallback.append("demo"))
    window.files.recovery_box.button(QMessageBox.No).click()
    assert fallback == ["demo"]
    assert pending_recovery() is None and window.document.audio is None


def test_start_up_without_an_autosave_opens_the_demo_without_asking(qtbot, tmp_path):
    window = new_window(qtbot, tmp_path, "start")
    fallback = []
    assert not window.files.offer_recovery(otherwise=lambda: fallback.append("demo"))
    assert fallback == ["demo"] and window.files.recovery_box is None


def test_a_corrupt_session_is_a_clear_error_and_keeps_the_session(qtbot, window, tmp_path):
    run_to_completion(qtbot, window)
    document = window.document
    audio, W, title = document.audio, document.W, window.windowTitle()  # noqa: N806
    bad = tmp_path / "broken.partwise"
    bad.write_bytes(b"PK\x03\x04 this was cut short")
    with qtbot.waitSignal(window.error_reported) as blocker:
        window.open_file(bad)
    message = blocker.args[0]
    assert message.startswith("Cannot open the session:")
    assert "'broken.partwise' is corrupt or truncated" in message
    assert window.error_box.isVisible() and "broken.partwise" in window.error_box.text()
    assert document.audio is audio and document.W is W and window.windowTitle() == title


@pytest.fixture
def saved_on_file(qtbot, window, tmp_path, monkeypatch):
    """A session on a real audio file ('take.wav'), factorized and saved as 'take.partwise'."""
    path = save(make_demo(duration=1.0).mixture, tmp_path / "take.wav", subtype="float")
    with qtbot.waitSignal(window.loader.loaded, timeout=WAIT):
        window.open_file(path)
    run_to_completion(qtbot, window)
    answer_file_dialogs(monkeypatch, save_to=tmp_path / "take.partwise")
    assert window.files.save()
    return window, path, tmp_path / "take.partwise"


def test_moved_audio_is_asked_for_and_then_used(qtbot, saved_on_file, tmp_path, monkeypatch):
    window, audio_path, session_path = saved_on_file
    moved = tmp_path / "moved" / "take.wav"
    moved.parent.mkdir()
    audio_path.rename(moved)
    captions = answer_file_dialogs(monkeypatch, open_from=moved)
    again = new_window(qtbot, tmp_path, "again")
    with qtbot.waitSignal(again.files.session_opened, timeout=WAIT):
        again.open_file(session_path)
    assert len(captions) == 1 and "take.wav" in captions[0]
    assert again.document.audio.path == moved
    np.testing.assert_array_equal(again.document.W, window.document.W)


def test_moved_audio_not_found_again_is_a_clear_error(
    qtbot, saved_on_file, tmp_path, monkeypatch
):
    _, audio_path, session_path = saved_on_file
    audio_path.unlink()
    answer_file_dialogs(monkeypatch, open_from=None)
    again = new_window(qtbot, tmp_path, "again")
    with qtbot.waitSignal(again.error_reported) as blocker:
        again.open_file(session_path)
    assert "'take.wav' was not found" in blocker.args[0]
    assert again.document.audio is None


def test_changed_audio_is_used_only_when_confirmed(qtbot, saved_on_file, tmp_path):
    window, audio_path, session_path = saved_on_file
    original = load(audio_path)
    save(Audio(original.samples * 0.5, original.rate), audio_path, subtype="float")
    again = new_window(qtbot, tmp_path, "again")
    again.open_file(session_path)
    qtbot.waitUntil(lambda: again.files.changed_box is not None, timeout=WAIT)
    box = again.files.changed_box
    assert box.isVisible() and "'take.wav' has changed" in box.text()
    assert again.document.audio is None  # nothing is used before the answer
    box.button(QMessageBox.No).click()
    assert again.document.audio is None and again.files.document_file.path is None

    again.open_file(session_path)
    qtbot.waitUntil(lambda: again.files.changed_box is not box, timeout=WAIT)
    again.files.changed_box.button(QMessageBox.Yes).click()
    np.testing.assert_array_equal(again.document.W, window.document.W)
    np.testing.assert_array_equal(again.document.audio.samples, original.samples * 0.5)
    assert again.files.document_file.path == Path(session_path)


def test_opening_another_file_asks_first_and_cancel_keeps_the_session(
    qtbot, asking, tmp_path, monkeypatch
):
    path = save(make_demo(duration=1.0).mixture, tmp_path / "next.wav", subtype="float")
    captions = answer_file_dialogs(monkeypatch, open_from=path)
    audio = asking.document.audio
    asking.open_action.trigger()
    assert asking.files.unsaved_box.isVisible() and "first" in asking.files.unsaved_box.text()
    asking.files.unsaved_box.button(QMessageBox.Cancel).click()
    assert captions == [] and asking.document.audio is audio

    asking.open_action.trigger()
    with qtbot.waitSignal(asking.loader.loaded, timeout=WAIT):
        asking.files.unsaved_box.button(QMessageBox.Discard).click()
    assert len(captions) == 1 and asking.document.audio.path == path
    assert not asking.isWindowModified()  # a newly opened file has no changes yet


def test_opening_without_unsaved_changes_does_not_ask(qtbot, window, store):
    store.setValue(ASK_TO_SAVE_KEY, True)
    window.files.document_file.mark_clean()
    with qtbot.waitSignal(window.loader.loaded, timeout=WAIT):
        window.demo_action.trigger()
    assert window.files.unsaved_box is None


def test_undoing_back_to_the_saved_session_clears_the_unsaved_mark_and_a_run_keeps_it(
    qtbot, window, tmp_path, monkeypatch
):
    run_to_completion(qtbot, window)
    answer_file_dialogs(monkeypatch, save_to=tmp_path / "work.partwise")
    window.files.save_action.trigger()
    assert not window.isWindowModified()
    window.document.set_gain(1, 0.25)
    window.history.flush()
    assert window.isWindowModified()
    window.history.undo_action.trigger()
    assert not window.isWindowModified() and not window.files.document_file.dirty
    window.history.redo_action.trigger()
    assert window.isWindowModified()
    window.history.undo_action.trigger()
    run_to_completion(qtbot, window)  # new factors, not on the undo stack
    window.document.set_gain(1, 0.25)
    window.history.flush()
    window.history.undo_action.trigger()
    assert window.isWindowModified()  # the run's factors are still unsaved


def test_recovered_unsaved_work_stays_marked_however_far_it_is_undone(
    qtbot, window, tmp_path, monkeypatch
):
    from app.persistence import locate_audio

    run_to_completion(qtbot, window)
    target = tmp_path / "work.partwise"
    answer_file_dialogs(monkeypatch, save_to=target)
    window.files.save_action.trigger()
    project = load_project(target)
    # An autosave of work saved as ``target``, with changes the file does not have.
    document_file = window.files.document_file
    document_file.restore(project, locate_audio(project, None), target, unsaved=True)
    assert window.isWindowModified()
    window.document.set_gain(1, 0.25)
    window.history.flush()
    window.history.undo_action.trigger()
    assert window.isWindowModified() and document_file.dirty
