"""The window's open and recovery paths with damaged session files (issue 18 §3) and one
autosave per running instance, with the newer of the autosave and the saved file offered
after a crash (§6): real widgets offscreen, real files, a real second process."""

import os
import shutil
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from PySide6.QtWidgets import QMessageBox

from app.autosaves import read_lock
from app.persistence import pending_recovery, save_session
from dsp.project_file import ProjectError, load_project

from .session_damage import DAMAGE, good_session
from .test_gui_sessions import (
    WAIT,
    answer_file_dialogs,
    crashed_autosave,
    gone_autosave,
    new_window,
)
from .test_recovery import APP_SCRIPT, ROOT
from .test_session_untrusted import apply_damage, damaged_session


def document_state(window):
    document = window.document
    return (document.audio, document.W, document.components, window.windowTitle(),
            window.files.document_file.path, window.files.document_file.dirty)


def assert_refused(qtbot, window, path):
    """Opening ``path`` shows an error box naming it and leaves the document as it was."""
    before = document_state(window)
    with qtbot.waitSignal(window.error_reported, timeout=WAIT) as blocker:
        window.files.open_session(path)
    message = blocker.args[0]
    assert f"'{path.name}'" in message and window.error_box.isVisible()
    window.error_box.close()
    after = document_state(window)
    assert after[0] is before[0] and after[1] is before[1] and after[2:] == before[2:]


@pytest.mark.parametrize("kind", ["session.json is a list", "session.json nested 200 000 deep",
                                  "W declares 10^6 x 10^6", "W with NaN", "source 99",
                                  "hop is a string", "encrypted member"])
def test_opening_a_damaged_session_is_an_error_box_and_the_document_is_unchanged(
        qtbot, window, tmp_path, kind):
    damage, _ = DAMAGE[kind]
    path = good_session(tmp_path)
    damage(path)
    assert_refused(qtbot, window, path)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(damage=damaged_session())
def test_a_mutated_session_the_reader_refuses_is_an_error_box_in_the_window(
        qtbot, window, tmp_path_factory, damage):
    path = good_session(tmp_path_factory.mktemp("mutated"))
    apply_damage(path, damage)
    try:
        load_project(path)
    except ProjectError:
        assert_refused(qtbot, window, path)


def test_a_damaged_autosave_is_an_error_box_and_set_aside_never_offered_again(
        qtbot, tmp_path, data_dir):
    autosave = gone_autosave()
    autosave.write_bytes(b"PK\x03\x04 left half-written by a crash")
    window = new_window(qtbot, tmp_path, "restart")
    fallback = []
    assert window.files.offer_recovery(otherwise=lambda: fallback.append("demo"))
    with qtbot.waitSignal(window.error_reported, timeout=WAIT) as blocker:
        window.files.recovery_box.button(QMessageBox.Yes).click()
    assert "Cannot restore the autosaved session" in blocker.args[0]
    assert window.error_box.isVisible() and fallback == ["demo"]
    assert window.document.audio is None
    assert not autosave.exists()
    kept = data_dir / (autosave.name + ".damaged")
    assert kept.read_bytes() == b"PK\x03\x04 left half-written by a crash"
    assert pending_recovery() is None
    again = new_window(qtbot, tmp_path, "next")
    assert not again.files.offer_recovery(otherwise=lambda: None)


def test_an_autosave_whose_header_is_a_list_is_set_aside_too(qtbot, tmp_path, data_dir):
    crashed_autosave(tmp_path)
    autosave = pending_recovery().autosave
    DAMAGE["session.json is a list"][0](autosave)
    window = new_window(qtbot, tmp_path, "restart")
    fallback = []
    window.files.offer_recovery(otherwise=lambda: fallback.append("demo"))
    with qtbot.waitSignal(window.error_reported, timeout=WAIT):
        window.files.recovery_box.button(QMessageBox.Yes).click()
    assert fallback == ["demo"] and pending_recovery() is None
    assert (data_dir / (autosave.name + ".damaged")).is_file()


def test_a_running_instance_s_autosave_is_neither_offered_nor_deleted_by_a_second(
        qtbot, tmp_path, data_dir):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT),
           "PARTWISE_DATA_DIR": str(data_dir)}
    first = subprocess.Popen([sys.executable, "-c", APP_SCRIPT, str(tmp_path)], cwd=ROOT,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = first.stdout.readline()
        assert line.startswith("autosaved"), first.stderr.read() if first.poll() else line
        theirs = sorted(data_dir.glob("autosave*.partwise"))
        assert len(theirs) == 1
        second = new_window(qtbot, tmp_path, "second")
        fallback = []
        assert not second.files.offer_recovery(otherwise=lambda: fallback.append("demo"))
        assert fallback == ["demo"] and second.files.recovery_box is None
        second.files.autosaver.save_now()
        second.close()  # a clean close removes its own autosave only
        assert theirs[0].is_file() and theirs[0].stat().st_size > 0
    finally:
        first.kill()
        first.communicate()
    recovery = pending_recovery()  # gone now: offered
    assert recovery is not None and recovery.autosave == theirs[0]


def saved_then_crashed(qtbot, tmp_path, *, saved_after_autosave: bool):
    """A crashed instance's autosave linked to the session file its work was saved as."""
    crashed = crashed_autosave(tmp_path)
    autosave = pending_recovery().autosave
    session = tmp_path / "kept.partwise"
    crashed.set_gain(0, 0.125)  # the file holds other work than the autosave
    save_session(crashed, session)
    gone_autosave(session)
    older, newer = (autosave, session) if saved_after_autosave else (session, autosave)
    stamp = newer.stat().st_mtime_ns
    os.utime(older, ns=(stamp - 10**9, stamp - 10**9))
    return crashed, autosave, session


def test_after_save_then_a_crash_the_newer_saved_file_is_offered_and_opened(
        qtbot, tmp_path):
    crashed, autosave, session = saved_then_crashed(qtbot, tmp_path, saved_after_autosave=True)
    window = new_window(qtbot, tmp_path, "restart")
    assert window.files.offer_recovery(otherwise=lambda: None)
    assert "'kept.partwise'" in window.files.recovery_box.text()
    with qtbot.waitSignal(window.files.session_opened, timeout=WAIT) as blocker:
        window.files.recovery_box.button(QMessageBox.Yes).click()
    assert blocker.args == [session]
    assert window.document.components[0].gain == 0.125
    assert window.files.document_file.path == session and not window.isWindowModified()
    assert window.windowTitle() == "kept.partwise[*] — Partwise"
    window.close()
    assert not autosave.exists() and pending_recovery() is None


def test_a_newer_autosave_of_saved_work_is_restored_keeping_its_file(qtbot, tmp_path):
    crashed, autosave, session = saved_then_crashed(qtbot, tmp_path, saved_after_autosave=False)
    window = new_window(qtbot, tmp_path, "restart")
    assert window.files.offer_recovery(otherwise=lambda: None)
    assert "'kept.partwise'" in window.files.recovery_box.text()
    with qtbot.waitSignal(window.files.session_opened, timeout=WAIT):
        window.files.recovery_box.button(QMessageBox.Yes).click()
    assert window.document.components[0].gain != 0.125  # the autosave's work
    assert window.files.document_file.path == session and window.isWindowModified()
    assert window.windowTitle() == "kept.partwise[*] — Partwise"
    window.files.save_action.trigger()  # Save goes to the linked file, no dialog
    assert load_project(session).components[0].gain != 0.125


def test_save_links_the_autosave_to_the_saved_file(qtbot, window, tmp_path, monkeypatch):
    window.files.autosaver.save_now()
    qtbot.waitUntil(window.files.autosaver.path.exists, timeout=WAIT)
    answer_file_dialogs(monkeypatch, save_to=tmp_path / "mine.partwise")
    window.files.save_action.trigger()
    _, session = read_lock(window.files.autosaver.path)
    assert session == tmp_path / "mine.partwise" and session.is_file()


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(damage=damaged_session())
def test_a_mutated_autosave_is_restored_whole_or_refused_in_a_box_and_set_aside(
        qtbot, window, tmp_path_factory, data_dir, monkeypatch, damage):
    answer_file_dialogs(monkeypatch, open_from=None)  # a moved audio file is not found
    for old in data_dir.glob("autosave*"):
        old.unlink()
    crash = good_session(tmp_path_factory.mktemp("crash"))
    apply_damage(crash, damage)
    autosave = gone_autosave()
    shutil.copyfile(crash, autosave)
    opened, errors = [], []
    window.files.session_opened.connect(opened.append)
    window.error_reported.connect(errors.append)
    assert window.files.offer_recovery(otherwise=lambda: None)
    window.files.recovery_box.button(QMessageBox.Yes).click()
    changed = lambda: window.files.changed_box is not None and window.files.changed_box.isVisible()  # noqa: E731
    qtbot.waitUntil(lambda: bool(opened or errors or changed()), timeout=WAIT)
    window.files.session_opened.disconnect(opened.append)
    window.error_reported.disconnect(errors.append)
    if changed():  # the audio's hash differs: the user is asked, the autosave stays
        window.files.changed_box.button(QMessageBox.No).click()
        assert autosave.is_file()
        return
    if opened:
        assert not errors
        return
    assert "Cannot restore the autosaved session" in errors[0] and window.error_box.isVisible()
    window.error_box.close()
    if "was not found" not in errors[0]:  # a missing audio file is not damage: offered again
        assert not autosave.exists() and pending_recovery() is None
        assert (data_dir / (autosave.name + ".damaged")).is_file()


# The real window: a demo run completes and is autosaved, the work is saved as a file
# (and, with "edit", changed and autosaved again); then the process is killed.
SAVE_THEN_CRASH = """
import sys
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer

from app.gui import create_application
from app.main_window import MainWindow

work, mode = Path(sys.argv[1]), sys.argv[2]
app = create_application([])
window = MainWindow(store=QSettings(str(work / "app.ini"), QSettings.IniFormat))
window.show()
document = window.document
document.set_settings(replace(document.settings, n_components=4, iterations=15))
autosaves = []


def autosaved(path):
    autosaves.append(path)
    if len(autosaves) == 1:
        window.files.document_file.save(work / "kept.partwise")
        if mode == "edit":
            document.set_gain(1, 0.25)
            window.files.autosaver.save_now()
            return
    print("crash now", flush=True)


window.loader.loaded.connect(lambda _name: window.control.run())
window.files.autosaver.saved.connect(autosaved)
window.open_demo()
QTimer.singleShot(60_000, app.quit)
app.exec()
"""


@pytest.mark.parametrize("mode", ["save", "edit"])
def test_a_real_crash_after_save_offers_the_newer_of_the_file_and_the_autosave(
        qtbot, tmp_path, data_dir, mode):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT),
           "PARTWISE_DATA_DIR": str(data_dir)}
    app = subprocess.Popen([sys.executable, "-c", SAVE_THEN_CRASH, str(tmp_path), mode],
                           cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    try:
        line = app.stdout.readline()
    finally:
        app.kill()
        _, errors = app.communicate()
    assert line.startswith("crash now"), errors
    session = tmp_path / "kept.partwise"
    window = new_window(qtbot, tmp_path, "restart")
    assert window.files.offer_recovery(otherwise=lambda: None)
    assert "'kept.partwise'" in window.files.recovery_box.text()
    with qtbot.waitSignal(window.files.session_opened, timeout=WAIT):
        window.files.recovery_box.button(QMessageBox.Yes).click()
    assert window.files.document_file.path == session
    assert window.windowTitle() == "kept.partwise[*] — Partwise"
    if mode == "save":  # the saved file is newer: opened as itself
        assert not window.isWindowModified()
        assert window.document.components[1].gain == 1.0
    else:  # the autosave is newer: its work, as unsaved changes to the file
        assert window.isWindowModified() and window.document.components[1].gain == 0.25
