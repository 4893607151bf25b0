"""The export dialog: choose what, how and where; watch the background job; read what happened.

The planning and writing live in :mod:`app.export_job`; this module
is the form around them. The overwrite question is injectable so a test (or
a batch caller) never blocks on a modal box.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..document import Document
from ..export_job import (
    DEFAULT_PATTERN,
    PATTERN_FIELDS,
    WHATS,
    ExportError,
    ExportJob,
    ExportOptions,
    plan_export,
)
from ..jobs import describe

__all__ = ["ExportDialog", "ExportError", "ExportJob", "ExportOptions", "plan_export"]

#: Output formats as shown, mapped to (container, sample format) of :mod:`dsp.audio`.
FORMAT_CHOICES = {
    "WAV, 16-bit": ("wav", "pcm16"),
    "WAV, 24-bit": ("wav", "pcm24"),
    "WAV, 32-bit float": ("wav", "float"),
    "FLAC, 16-bit": ("flac", "pcm16"),
    "FLAC, 24-bit": ("flac", "pcm24"),
}
NOTHING_WRITTEN = "Nothing was written; existing files are unchanged."

#: ``confirm_overwrite(existing_paths) -> bool``.
ConfirmOverwrite = Callable[[list[Path]], bool]


class ExportDialog(QDialog):
    """Export stems, factors, loss history, plots and paint of ``session``.

    Parameters
    ----------
    session : Session
    parent : QWidget, optional
    plots : mapping of str to QWidget, optional
        The visible plots, by name; each is grabbed as PNG when chosen.
    selected : sequence of int, optional
        Components for "the selected components" (default: the session's selection).
    confirm_overwrite : callable, optional
        Asked with the files an export would replace; default: a message box.

    Signals
    -------
    export_ended(str, str)
        ``'exported'``, ``'cancelled'`` or ``'failed'``, and the message shown.
    """

    export_ended = Signal(str, str)

    def __init__(
        self,
        document: Document,
        parent: QWidget | None = None,
        *,
        plots: Mapping[str, QWidget] | None = None,
        selected: Sequence[int] | None = None,
        confirm_overwrite: ConfirmOverwrite | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        self._document = document
        self._plots = dict(plots or {})
        if selected is None:
            selected = [document.selected] if document.selected >= 0 else []
        self._selected = tuple(selected)
        self._confirm_overwrite = confirm_overwrite or self._ask_overwrite
        self.job: ExportJob | None = None
        self._build()
        self._update_preview()

    # -- form --------------------------------------------------------------------------------

    def _build(self) -> None:
        audio = self._document.audio
        self.what_combo = QComboBox()
        for key, label in WHATS.items():
            self.what_combo.addItem(label, key)
        selected_row = list(WHATS).index("selected")
        self.what_combo.model().item(selected_row).setEnabled(bool(self._selected))
        # Once the user has grouped components into sources, sources are what they want.
        if len(self._document.groups()) < len(self._document.components):
            self.what_combo.setCurrentIndex(self.what_combo.findData("sources"))
        self.format_combo = QComboBox()
        self.format_combo.addItems(list(FORMAT_CHOICES))
        self.format_combo.setCurrentText("WAV, 24-bit")
        original = QLabel(
            f"{audio.rate} Hz, {audio.channels} channel(s), as the original"
            if audio is not None else "No audio open"
        )
        self.folder_edit = QLineEdit(str(audio.path.parent) if audio and audio.path else "")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._choose_folder)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit)
        folder_row.addWidget(browse)
        self.pattern_edit = QLineEdit(DEFAULT_PATTERN)
        self.pattern_edit.setToolTip("Fields: " + ", ".join(f"{{{f}}}" for f in PATTERN_FIELDS))
        self.npz_check = QCheckBox("Templates and activations (.npz)")
        self.csv_check = QCheckBox("Templates and activations (CSV)")
        self.losses_check = QCheckBox("Loss history (CSV)")
        self.plots_check = QCheckBox("Visible plots (PNG)")
        self.plots_check.setEnabled(bool(self._plots))
        self.paint_check = QCheckBox("Paint as a guide (.npz, for separate --guide)")
        self.paint_check.setEnabled(self._document.has_paint())
        if not self.paint_check.isEnabled():
            self.paint_check.setToolTip("Nothing is painted")
        self.preview = QListWidget()
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.progress_bar = QProgressBar()
        self.progress_bar.setVisible(False)

        form = QFormLayout()
        form.addRow("Export", self.what_combo)
        form.addRow("Format", self.format_combo)
        form.addRow("Output", original)
        form.addRow("Folder", folder_row)
        form.addRow("File names", self.pattern_edit)
        for check in self._extra_checks():
            form.addRow("", check)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Close)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.AcceptRole)
        self.cancel_button = self.buttons.addButton("Cancel export", QDialogButtonBox.ActionRole)
        self.cancel_button.setEnabled(False)
        self.export_button.clicked.connect(self.start_export)
        self.cancel_button.clicked.connect(self.cancel_export)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("Files to be written:"))
        layout.addWidget(self.preview)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.message_label)
        layout.addWidget(self.buttons)

        for combo in (self.what_combo, self.format_combo):
            combo.currentIndexChanged.connect(self._update_preview)
        for edit in (self.folder_edit, self.pattern_edit):
            edit.textChanged.connect(self._update_preview)
        for check in self._extra_checks():
            check.toggled.connect(self._update_preview)

    def _extra_checks(self) -> tuple[QCheckBox, ...]:
        return (self.npz_check, self.csv_check, self.losses_check, self.plots_check,
                self.paint_check)

    def options(self) -> ExportOptions:
        """The choices currently in the form."""
        file_format, subtype = FORMAT_CHOICES[self.format_combo.currentText()]
        return ExportOptions(
            folder=Path(self.folder_edit.text().strip()).expanduser(),
            what=self.what_combo.currentData(),
            file_format=file_format,
            subtype=subtype,
            pattern=self.pattern_edit.text(),
            selected=self._selected,
            factors_npz=self.npz_check.isChecked(),
            factors_csv=self.csv_check.isChecked(),
            losses_csv=self.losses_check.isChecked(),
            plot_names=tuple(self._plots) if self.plots_check.isChecked() else (),
            paint_npz=self.paint_check.isChecked(),
        )

    def _update_preview(self) -> None:
        self.preview.clear()
        try:
            if not self.folder_edit.text().strip():
                raise ExportError("choose a folder")
            plan = plan_export(self._document, self.options())
        except ExportError as exc:
            self._show_message(str(exc)[:1].upper() + str(exc)[1:] + ".")
            self.export_button.setEnabled(False)
            return
        self.preview.addItems(plan.files)
        self._show_message("")
        self.export_button.setEnabled(self.job is None)

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    def _ask_overwrite(self, existing: list[Path]) -> bool:
        names = "\n".join(p.name for p in existing)
        answer = QMessageBox.question(
            self, "Replace files?",
            f"These files already exist in {existing[0].parent} and will be replaced:\n\n{names}",
            QMessageBox.Yes | QMessageBox.No, QMessageBox.No,
        )
        return answer == QMessageBox.Yes

    # -- the job -----------------------------------------------------------------------------

    def start_export(self) -> bool:
        """Ask about files that would be replaced, then start the job; False if not started."""
        if self.job is not None:
            return False
        options = self.options()
        try:
            plan = plan_export(self._document, options)
        except ExportError as exc:
            self._end("failed", f"Cannot export: {exc}.")
            return False
        existing = [options.folder / name for name in plan.files
                    if (options.folder / name).exists()]
        if existing and not self._confirm_overwrite(existing):
            self._show_message("Export not started: existing files were kept.")
            return False
        plots = {name: self._plots[name].grab().toImage() for name in options.plot_names}
        self.job = ExportJob(self._document, options, plots)
        self.job.progressed.connect(self._on_progressed)
        self.job.returned.connect(self._on_exported)
        self.job.errored.connect(self._on_failed)
        self.job.aborted.connect(self._on_cancelled)
        self.job.finished.connect(self._on_finished)
        self.progress_bar.setRange(0, len(plan.files) - 1)
        self.progress_bar.setValue(0)
        self.progress_bar.setVisible(True)
        self.export_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self._show_message(f"Exporting to {options.folder}…")
        self.job.start()
        return True

    def cancel_export(self) -> None:
        """Cancel a running export; its staged files are removed."""
        if self.job is not None:
            self.job.quit()
            self._show_message("Cancelling…")

    def reject(self) -> None:
        """Close; a running export is cancelled first and waited for."""
        if self.job is not None:
            self.job.quit()
            self.job.wait()
        super().reject()

    def _on_progressed(self, done: int, total: int) -> None:
        self.progress_bar.setMaximum(total)
        self.progress_bar.setValue(done)

    def _on_exported(self, written: list) -> None:
        folder = written[0].parent if written else self.options().folder
        self._end("exported", f"Exported {len(written)} files to {folder}.")

    def _on_failed(self, error: Exception) -> None:
        self._end("failed", f"Export failed: {describe(error)}. {NOTHING_WRITTEN}")

    def _on_cancelled(self) -> None:
        self._end("cancelled", f"Export cancelled. {NOTHING_WRITTEN}")

    def _on_finished(self) -> None:
        self.job = None
        self.progress_bar.setVisible(False)
        self.cancel_button.setEnabled(False)
        self.export_button.setEnabled(self.preview.count() > 0)

    def _end(self, outcome: str, message: str) -> None:
        self._show_message(message)
        self.export_ended.emit(outcome, message)

    def _show_message(self, message: str) -> None:
        self.message_label.setText(message)
