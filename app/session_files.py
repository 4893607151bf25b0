"""The session as the window's document: save, open, export, close, autosave and recover.

:class:`SessionFiles` gives the window its Save, Save As and Export actions,
opens ``.partwise`` files into the window's session, keeps the title's
unsaved-changes mark, asks before a close would lose changes, autosaves, and
offers the autosave a crash left behind. Every question is a non-blocking
message box kept in an attribute (``unsaved_box``, ``changed_box``,
``recovery_box``), as the window does for errors, so a test answers it by
clicking a button; file locations come from :class:`QFileDialog`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox

from dsp.project_file import Project, ProjectError, load_project

from .dialogs.export import ExportDialog
from .jobs import FunctionJob, Latest, describe
from .persistence import (
    Autosaver,
    DocumentFile,
    Recovery,
    audio_has_changed,
    discard_recovery,
    locate_audio,
    pending_recovery,
    read_audio,
    set_aside_recovery,
)

if TYPE_CHECKING:
    from .main_window import MainWindow

__all__ = ["ASK_TO_SAVE_KEY", "SESSION_FILTER", "SESSION_SUFFIX", "SessionFiles", "is_session"]

SESSION_SUFFIX = ".partwise"
SESSION_FILTER = "Partwise sessions (*.partwise)"
#: Settings key: ask about unsaved changes on close (default yes; test stores say no).
ASK_TO_SAVE_KEY = "files/ask_to_save"


def is_session(path: str | Path) -> bool:
    """Whether ``path`` names a session file (by its suffix)."""
    return Path(path).suffix.lower() == SESSION_SUFFIX


class SessionFiles(QObject):
    """File actions and questions around the window's session.

    Parameters
    ----------
    window : MainWindow
        Gives the session, the solver control, the loader, ``report_error``,
        ``visible_plots`` and the status bar; parents every box and dialog.
    store : QSettings
        Read for :data:`ASK_TO_SAVE_KEY`.
    audio_filter : str
        File-dialog filter offered when a session's audio has moved.

    Signals
    -------
    file_used(Path)
        A session file was opened or saved (for the recent files).
    session_opened(object)
        A session file (its Path) or the autosave (None) is now in the session.
    """

    file_used = Signal(Path)
    session_opened = Signal(object)

    def __init__(self, window: MainWindow, store: QSettings, *, audio_filter: str) -> None:
        super().__init__(window)
        self._window = window
        self._store = store
        self._audio_filter = audio_filter
        self.document = window.document
        self.document_file = DocumentFile(self.document, self)
        self.document_file.track_undo(window.history.stack)
        self.autosaver = Autosaver(self.document, parent=self)
        self.unsaved_box: QMessageBox | None = None
        self.changed_box: QMessageBox | None = None
        self.recovery_box: QMessageBox | None = None
        self.export_dialog: ExportDialog | None = None
        self._name = "Partwise"
        self._mixture = None  # the Audio the document was started with
        self._close_confirmed = False
        self._reads = Latest(self)  # only the newest open is applied
        self._reading: tuple | None = None  # what the newest open is for
        self._reads.returned.connect(self._on_audio_read)
        self._reads.errored.connect(self._on_read_failed)

        self.save_action = self._action("&Save", "Ctrl+S", "Save the session", self.save)
        self.save_as_action = self._action(
            "Save &As…", "Ctrl+Shift+S", "Save the session to a new file", self.save_as
        )
        self.export_action = self._action(
            "&Export…", "Ctrl+E", "Export stems, factors and plots", self.export
        )
        self.actions = (self.save_action, self.save_as_action, self.export_action)

        self.document_file.dirty_changed.connect(window.setWindowModified)
        self.document_file.saved.connect(self.autosaver.link)
        self.autosaver.failed.connect(lambda message: window.statusBar().showMessage(message))
        window.control.state_changed.connect(self._on_solver_state)
        window.loader.loaded.connect(self._on_mixture_loaded)
        self._update_title()
        self.autosaver.start()

    def _action(self, text: str, shortcut: str, tip: str, slot: Callable[[], object]) -> QAction:
        action = QAction(text, self._window)
        action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(f"{tip} ({QKeySequence(shortcut).toString()})")
        action.triggered.connect(lambda: slot())
        return action

    # -- title -------------------------------------------------------------------------------

    def _set_name(self, name: str) -> None:
        self._name = name
        self._update_title()

    def _update_title(self) -> None:
        self._window.setWindowTitle(f"{self._name}[*] — Partwise")
        self._window.setWindowModified(self.document_file.dirty)

    def _on_mixture_loaded(self, name: str) -> None:
        # The loader also reports a spectrogram recomputed for new STFT settings: same audio.
        if self.document.audio is not self._mixture:
            self._mixture = self.document.audio
            self.document_file.start_new()
            self.autosaver.link(None)
            self._set_name(name)

    def _on_solver_state(self, state: str) -> None:
        if state == "done":
            self.autosaver.save_now()

    # -- saving ------------------------------------------------------------------------------

    def save(self) -> bool:
        """Save to the session's file, or ask for one; True if it was written."""
        if self.document_file.path is None:
            return self.save_as()
        return self._save_to(self.document_file.path)

    def save_as(self) -> bool:
        """Ask for a file and save the session there; True if it was written."""
        path, _ = QFileDialog.getSaveFileName(
            self._window, "Save session", str(self._suggested_path()), SESSION_FILTER
        )
        if not path:
            return False
        path = Path(path)
        if not is_session(path):
            path = path.with_name(path.name + SESSION_SUFFIX)
        return self._save_to(path)

    def _suggested_path(self) -> Path:
        if self.document_file.path is not None:
            return self.document_file.path
        audio = self.document.audio
        if audio is not None and audio.path is not None:
            return audio.path.with_suffix(SESSION_SUFFIX)
        return Path.home() / f"untitled{SESSION_SUFFIX}"

    def _save_to(self, path: Path) -> bool:
        try:
            written = self.document_file.save(path)
        except ProjectError as exc:
            self._window.report_error(f"Cannot save the session: {exc}.")
            return False
        self._mixture = self.document.audio
        self._set_name(written.name)
        self._window.statusBar().showMessage(f"Saved {written}", 4000)
        self.file_used.emit(written)
        return True

    # -- opening -----------------------------------------------------------------------------

    def open_session(self, path: str | Path) -> None:
        """Open the session file ``path``; on failure the current session stays as it was."""
        self._read(Path(path), recovery=None, otherwise=None)

    def _read(self, path: Path, *, recovery: Recovery | None,
              otherwise: Callable[[], None] | None) -> None:
        """Open ``path``: a session file, ``recovery``'s autosave or the file it was saved as."""
        recovered = recovery is not None and path == recovery.autosave
        try:
            project = load_project(path)
        except ProjectError as exc:
            if recovered:
                exc = self._set_aside(recovery.autosave, exc)
            self._failed_to_open(exc, recovered, otherwise)
            return
        try:
            audio_path = locate_audio(project, self._ask_location)
        except ProjectError as exc:
            self._failed_to_open(exc, recovered, otherwise)
            return
        # Hashing, decoding and analysing a long recording take seconds: off the GUI thread.
        self._reading = project, audio_path, path, recovery, otherwise
        self._window.statusBar().showMessage(f"Opening {path.name}…")
        self._reads.submit(FunctionJob(
            lambda: (audio_has_changed(project, audio_path), read_audio(project, audio_path)),
            low_priority=True, name="partwise-open",
        ))

    @staticmethod
    def _set_aside(autosave: Path, error: ProjectError) -> str:
        """Keep a damaged autosave under another name, so it is not offered at every start."""
        try:
            kept = set_aside_recovery(autosave)
        except OSError as exc:
            return f"{error} (it could not be set aside: {exc.strerror or exc})"
        return f"{error} (kept as '{kept.name}', not offered again)"

    def _on_audio_read(self, result: tuple) -> None:
        project, audio_path, path, recovery, otherwise = self._reading
        changed, prepared = result
        restore = partial(self._restore, project, audio_path, path, recovery, otherwise, prepared)
        if not changed:
            restore()
            return
        self.changed_box = QMessageBox(
            QMessageBox.Warning, "Audio changed",
            f"'{audio_path.name}' has changed since the session was saved: its content differs, "
            "so the saved factors may no longer describe it.\n\nUse it anyway?",
            QMessageBox.Yes | QMessageBox.No, self._window,
        )
        self.changed_box.setDefaultButton(QMessageBox.No)
        self.changed_box.finished.connect(
            _on_answer(self.changed_box, {QMessageBox.Yes: restore}, otherwise=otherwise)
        )
        self.changed_box.open()

    def _on_read_failed(self, error: Exception) -> None:
        _, _, path, recovery, otherwise = self._reading
        recovered = recovery is not None and path == recovery.autosave
        self._failed_to_open(describe(error), recovered, otherwise)

    def _ask_location(self, missing: Path) -> str | None:
        path, _ = QFileDialog.getOpenFileName(
            self._window, f"Where is '{missing.name}' now? (it was in {missing.parent})",
            str(missing.parent if missing.parent.is_dir() else Path.home()), self._audio_filter,
        )
        return path or None

    def _restore(
        self,
        project: Project,
        audio_path: Path,
        path: Path,
        recovery: Recovery | None,
        otherwise: Callable[[], None] | None,
        prepared: tuple,
    ) -> None:
        recovered = recovery is not None and path == recovery.autosave
        # A recovered autosave of work saved as a file keeps that file, with unsaved changes.
        linked = path if not recovered else recovery.session
        try:
            self.document_file.restore(
                project, audio_path, linked, prepared=prepared, unsaved=recovered
            )
        except ProjectError as exc:
            if recovered:
                exc = self._set_aside(recovery.autosave, exc)
            self._failed_to_open(exc, recovered, otherwise)
            return
        if recovery is not None:
            self.autosaver.adopt(recovery.autosave)  # gone once this instance's autosave is
        self.autosaver.link(linked)
        self._mixture = self.document.audio
        self._set_name(linked.name if linked is not None else "Recovered session")
        self._window.statusBar().showMessage(
            "Restored the autosaved session" if recovered else f"Opened {path}", 4000
        )
        if not recovered:
            self.file_used.emit(path)
        self.session_opened.emit(None if recovered else path)

    def _failed_to_open(
        self, error: Exception | str, recovered: bool, otherwise: Callable[[], None] | None
    ) -> None:
        what = "restore the autosaved session" if recovered else "open the session"
        self._window.report_error(f"Cannot {what}: {error}.")
        if otherwise is not None:
            otherwise()

    # -- export ------------------------------------------------------------------------------

    def export(self) -> ExportDialog:
        """Open the export dialog (window-modal, non-blocking) on the visible plots."""
        if self.export_dialog is not None:
            self.export_dialog.reject()  # a finished dialog: this only cancels a running job
            self.export_dialog.deleteLater()
        self.export_dialog = ExportDialog(
            self.document, self._window, plots=self._window.visible_plots()
        )
        self.export_dialog.open()
        return self.export_dialog

    # -- closing and recovery ----------------------------------------------------------------

    def may_close(self) -> bool:
        """Whether the window may close now.

        With unsaved changes this asks Save, Discard or Cancel in a non-blocking
        box and says no; the answer closes the window again if it should.
        """
        if self._close_confirmed or not self._would_lose_changes():
            return True
        self._ask_to_save("before closing", self._close_anyway)
        return False

    def after_saving_changes(self, then: Callable[[], None]) -> None:
        """Call ``then`` (which replaces the session) once unsaved changes are settled.

        Without unsaved changes it is called at once; otherwise after the user
        chose Save (and the session was written) or Discard, not after Cancel.
        """
        if self._would_lose_changes():
            self._ask_to_save("first", then)
        else:
            then()

    def _would_lose_changes(self) -> bool:
        return self.document_file.dirty and self._store.value(ASK_TO_SAVE_KEY, True, type=bool)

    def _ask_to_save(self, when: str, then: Callable[[], None]) -> None:
        if self.unsaved_box is not None and self.unsaved_box.isVisible():
            return
        self.unsaved_box = QMessageBox(
            QMessageBox.Question, "Unsaved changes",
            f"Save the changes to {self._name} {when}?",
            QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, self._window,
        )
        self.unsaved_box.setInformativeText("Without saving, the changes are lost.")
        self.unsaved_box.setDefaultButton(QMessageBox.Save)
        self.unsaved_box.finished.connect(_on_answer(self.unsaved_box, {
            QMessageBox.Save: lambda: self.save() and then(),
            QMessageBox.Discard: then,
        }))
        self.unsaved_box.open()

    def _close_anyway(self) -> None:
        self._close_confirmed = True
        self._window.close()

    def closed(self) -> None:
        """The window closes cleanly (its jobs are over): close the export, remove the autosave."""
        if self.export_dialog is not None:
            self.export_dialog.reject()
        self.autosaver.clear()

    def offer_recovery(self, otherwise: Callable[[], None]) -> bool:
        """At start-up, offer the autosave a crashed instance left behind; True if one was offered.

        Only autosaves of instances that are gone are offered (never one of an
        instance still running). When the work was saved after its last
        autosave, the saved file is offered instead; a restored autosave of
        saved work keeps its file. ``otherwise`` (open the usual file or the
        demo) is called when there is nothing to restore, when the user
        declines, or when restoring fails. A declined autosave is deleted; a
        damaged one is kept as ``….damaged`` and not offered again.
        """
        recovery = pending_recovery()
        if recovery is None:
            otherwise()
            return False

        def decline() -> None:
            discard_recovery(recovery.autosave)
            otherwise()

        if recovery.session_is_newer:
            text = ("Partwise did not close normally last time. Its work was saved to "
                    f"'{recovery.session.name}' after it was last saved automatically.\n\n"
                    "Open that session?")
            chosen = recovery.session
        else:
            saved = (f" (changes to '{recovery.session.name}')"
                     if recovery.session is not None else "")
            text = ("Partwise did not close normally last time.\n\n"
                    f"Restore the session it saved automatically{saved}?")
            chosen = recovery.autosave
        self.recovery_box = QMessageBox(
            QMessageBox.Question, "Restore unsaved work?", text,
            QMessageBox.Yes | QMessageBox.No, self._window,
        )
        self.recovery_box.setDefaultButton(QMessageBox.Yes)
        self.recovery_box.finished.connect(_on_answer(self.recovery_box, {
            QMessageBox.Yes: lambda: self._read(chosen, recovery=recovery, otherwise=otherwise),
            QMessageBox.No: decline,
        }))
        self.recovery_box.open()
        return True


def _on_answer(
    box: QMessageBox,
    handlers: dict,
    *,
    otherwise: Callable[[], None] | None = None,
) -> Callable[[int], None]:
    """A ``finished`` slot calling the handler of the button clicked, else ``otherwise``."""

    def answered(_result: int) -> None:
        button = box.clickedButton()
        answer = box.standardButton(button) if button is not None else QMessageBox.NoButton
        handler = handlers.get(answer, otherwise)
        if handler is not None:
            handler()

    return answered
