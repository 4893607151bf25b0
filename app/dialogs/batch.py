"""*File › Batch separate…*: many files with the session's settings, on local Dask workers.

The form chooses the inputs, the output folder, the files at a time and the
stem format; the batch itself is :func:`app.batch.engine.run_batch`, the
command line's engine, stepped by a generator job of :mod:`app.jobs`, so the
GUI thread only shows each file's outcome as it arrives. Stopping takes effect
when a running file ends (a file's separation is not interrupted); the local
cluster is then shut down and no file is left half-written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import partial
from pathlib import Path

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
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from app.batch.engine import FAILED, FileTask, Outcome, run_batch
from app.batch.inputs import AUDIO_SUFFIXES, InputError, plan_tasks
from app.batch.request import Request
from app.batch.tally import Tally
from app.cli.batch_report import outcome_line
from app.cli.separate import separate_file
from dsp.pipeline import Settings

from ..jobs import GeneratorJob, describe
from .export import FORMAT_CHOICES

__all__ = ["BatchDialog", "BatchPlan"]


@dataclass(frozen=True)
class BatchPlan:
    """What the form asks for: the tasks, the request and the files at a time."""

    tasks: list[FileTask]
    request: Request
    jobs: int
    resume: bool


class BatchDialog(QDialog):
    """Separate many files with ``settings`` (the session's), showing progress and failures."""

    def __init__(self, settings: Settings, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Batch separate")
        self._settings = settings
        self._job: GeneratorJob | None = None
        self._tally: Tally | None = None
        self._build()

    def _build(self) -> None:
        self.inputs = QListWidget()
        add_files = QPushButton("Add files…")
        add_files.clicked.connect(self._choose_files)
        add_folder = QPushButton("Add folder…")
        add_folder.clicked.connect(self._choose_folder)
        clear = QPushButton("Clear")
        clear.clicked.connect(self.inputs.clear)
        buttons = QHBoxLayout()
        for button in (add_files, add_folder, clear):
            buttons.addWidget(button)
        self.recursive = QCheckBox("Include subfolders")
        self.out = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._choose_out)
        out_row = QHBoxLayout()
        out_row.addWidget(self.out)
        out_row.addWidget(browse)
        self.jobs = QSpinBox()
        self.jobs.setRange(1, max(2, 2 * (os.cpu_count() or 1)))
        self.jobs.setValue(min(2, os.cpu_count() or 1))
        self.format = QComboBox()
        self.format.addItems(list(FORMAT_CHOICES))
        self.format.setCurrentText("WAV, 24-bit")
        self.resume = QCheckBox("Skip files already separated with these settings")
        s = self._settings
        sources = f", {s.n_sources} sources" if s.n_sources else ""
        self.settings_label = QLabel(
            f"The session's: {s.n_components} components{sources}, {s.loss}, {s.algorithm}, "
            f"{s.iterations} iterations, FFT {s.n_fft}/{s.hop}")
        form = QFormLayout()
        form.addRow("Settings", self.settings_label)
        form.addRow("Output folder", out_row)
        form.addRow("Files at a time", self.jobs)
        form.addRow("Stems", self.format)
        form.addRow("", self.resume)
        self.progress = QProgressBar()
        self.status = QLabel("")
        self.outcomes = QListWidget()
        self.buttons = QDialogButtonBox()
        self.start_button = self.buttons.addButton("Start", QDialogButtonBox.AcceptRole)
        self.stop_button = self.buttons.addButton("Stop", QDialogButtonBox.ActionRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.Close)
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.close_button.clicked.connect(self.reject)
        self.stop_button.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Files and folders to separate"))
        layout.addWidget(self.inputs)
        layout.addLayout(buttons)
        layout.addWidget(self.recursive)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.outcomes)
        layout.addWidget(self.buttons)

    # -- the form ----------------------------------------------------------------------------

    def add_inputs(self, paths: list[str | os.PathLike]) -> None:
        """Add files or folders to separate."""
        self.inputs.addItems([str(p) for p in paths])

    def _choose_files(self) -> None:
        patterns = " ".join(f"*{suffix}" for suffix in AUDIO_SUFFIXES)
        files, _ = QFileDialog.getOpenFileNames(self, "Files to separate", "",
                                                f"Audio files ({patterns});;All files (*)")
        self.add_inputs(files)

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder to separate")
        if folder:
            self.add_inputs([folder])

    def _choose_out(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Output folder")
        if folder:
            self.out.setText(folder)

    def plan(self) -> BatchPlan:
        """The batch the form describes.

        Raises
        ------
        InputError
            If the form names no input or no output, or an input holds no audio.
        """
        inputs = [self.inputs.item(i).text() for i in range(self.inputs.count())]
        if not inputs:
            raise InputError("add files or folders to separate")
        if not self.out.text().strip():
            raise InputError("choose an output folder")
        out = Path(self.out.text().strip())
        tasks = plan_tasks(inputs, out, recursive=self.recursive.isChecked())
        file_format, sample_format = FORMAT_CHOICES[self.format.currentText()]
        request = Request(self._settings, file_format=file_format, sample_format=sample_format,
                          protect=tuple(t.path for t in tasks if t.path))
        return BatchPlan(tasks, request, self.jobs.value(), self.resume.isChecked())

    # -- running -----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether a batch runs."""
        return self._job is not None

    def start(self) -> None:
        """Start the batch the form describes (a problem with the form is shown instead)."""
        if self.running:
            return
        try:
            plan = self.plan()
        except (InputError, OSError) as exc:
            self.status.setText(f"Cannot start: {describe(exc)}.")
            return
        self.outcomes.clear()
        self._tally = Tally(len(plan.tasks))
        self.progress.setRange(0, len(plan.tasks))
        self.progress.setValue(0)
        self.status.setText(f"Separating {len(plan.tasks)} files, {plan.jobs} at a time…")
        work = partial(separate_file, request=plan.request)
        self._job = GeneratorJob(run_batch, plan.tasks, work,
                                 settings_hash=plan.request.settings_hash,
                                 resume=plan.resume, jobs=plan.jobs, name="partwise-batch")
        self._job.yielded.connect(self._on_outcome)
        self._job.errored.connect(self._on_errored)
        self._job.finished.connect(self._on_finished)
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self._job.start()

    def stop(self) -> None:
        """Stop after the files running now; the others are not started."""
        if self._job is not None:
            self._job.quit()
            self.status.setText("Stopping when the files running now end…")
            self.stop_button.setEnabled(False)

    def _on_outcome(self, outcome: Outcome) -> None:
        self._tally.add(outcome)
        self.progress.setValue(self._tally.finished)
        failed = "Failed: " if outcome.status == FAILED else ""
        self.outcomes.addItem(failed + outcome_line(outcome))
        self.status.setText(self._tally.summary())

    def _on_errored(self, error: object) -> None:
        self.status.setText(f"The batch stopped: {describe(error)}.")

    def _on_finished(self) -> None:
        self._job = None
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        if self._tally is not None and not self.status.text().startswith("The batch stopped"):
            self.status.setText(f"Finished: {self._tally.summary()}")

    def reject(self) -> None:  # noqa: D102 - closing stops a running batch
        self.stop()
        super().reject()
