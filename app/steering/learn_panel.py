"""Learn a source from an example: a time range of the mixture, another file, or the library."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from dsp.audio import AudioError, load
from dsp.stft import analyse

from ..document import Document
from ..widgets import spin_box
from . import library
from .controller import SteeringController

__all__ = ["LearnPanel"]


class LearnPanel(QWidget):
    """Select a range on the spectrogram where one source plays alone, learn it, fit the rest.

    Parameters
    ----------
    session, steering
        The model and the controller that applies the learned templates.
    plot : pyqtgraph PlotItem, optional
        The mixture spectrogram's plot, where the selection region is drawn.
    """

    def __init__(self, document: Document, steering: SteeringController, plot=None,
                 parent=None) -> None:
        super().__init__(parent)
        self._document = document
        self._steering = steering
        self._learned: np.ndarray | None = None
        self._plot = plot
        # Shown only while this panel is: a band over the mixture means nothing otherwise.
        self.region = pg.LinearRegionItem(values=(0.0, 1.0), brush=(80, 160, 255, 40))
        self.region.setZValue(10)
        self.region.setToolTip("Learn from this range: drag its edges to where one source "
                               "plays alone")
        if plot is not None:
            plot.addItem(self.region, ignoreBounds=True)
        # Named on the plot: a shaded band alone does not say what it is for. (The label
        # takes its text only while visible, so it is made before the band is hidden.)
        self.region_label = pg.InfLineLabel(self.region.lines[0], "learn from here",
                                            position=0.97, anchors=[(0, 0), (0, 0)],
                                            color="#8fc1ff")
        self.region.hide()
        self.hint = QLabel("Drag the blue band on the spectrogram over a passage where only "
                           "this source plays, then learn its templates from it.")
        self.hint.setWordWrap(True)
        self.hint.setObjectName("hint")
        self.name_edit = QLineEdit("Learned source")
        self.templates_box = spin_box(QSpinBox, 1, 32, 2)
        self.rest_box = spin_box(QSpinBox, 1, 64, 4)
        self.learn_button = QPushButton("Learn from selection")
        self.learn_button.setToolTip("NMF on the selected range; its templates are locked and "
                                     "the rest of the mixture is fitted around them")
        self.file_button = QPushButton("Learn from file…")
        self.save_button = QPushButton("Save to library")
        self.save_button.setEnabled(False)
        self.library_box = QComboBox()
        self.use_button = QPushButton("Use")
        self.use_button.setToolTip("Lock the library's templates and fit the rest around them")
        self.name_edit.setToolTip("Name of the new source the learned templates form")
        self.templates_box.setToolTip("How many templates to learn from the example")
        self.rest_box.setToolTip("Free components that model everything else in the mixture")
        self.file_button.setToolTip("Learn from another recording where the source plays "
                                    "alone (same sample rate)")
        form = QFormLayout()
        form.addRow("Source name", self.name_edit)
        form.addRow("Templates to learn", self.templates_box)
        form.addRow("Components for the rest", self.rest_box)
        buttons = QHBoxLayout()
        buttons.addWidget(self.learn_button)
        buttons.addWidget(self.file_button)
        self.library_box.setPlaceholderText("Library is empty")
        self.library_box.setToolTip("Templates saved from earlier learning")
        self.save_button.setToolTip("Keep the learned templates under the source name")
        library_row = QHBoxLayout()
        library_row.addWidget(self.library_box, 1)
        library_row.addWidget(self.use_button)
        library_row.addWidget(self.save_button)
        form.addRow(buttons)
        form.addRow("Library", library_row)
        layout = QVBoxLayout(self)
        layout.addWidget(self.hint)
        layout.addLayout(form)
        layout.addStretch(1)
        self.learn_button.clicked.connect(self.learn_from_selection)
        self.file_button.clicked.connect(self._choose_file)
        self.save_button.clicked.connect(self.save_learned)
        self.use_button.clicked.connect(self.use_library_entry)
        steering.learned.connect(self._on_learned)
        document.audio_changed.connect(self._on_audio_changed)
        self.refresh_library()

    def set_region_visible(self, visible: bool) -> None:
        """Show or hide the selection band; shown, it lies in the visible time range."""
        if visible and self._plot is not None and self._document.spectrogram is not None:
            t0, t1 = self._plot.vb.viewRange()[0]
            a, b = self.region.getRegion()
            if b < t0 or a > t1:  # scrolled away: bring it to the start of what is shown
                self.region.setRegion((t0, t0 + min(1.0, (t1 - t0) / 4)))
        self.region.setVisible(visible)

    def selection_frames(self) -> slice:
        """STFT frames of the selected time range."""
        spec = self._document.spectrogram
        t0, t1 = sorted(self.region.getRegion())
        a = int(np.clip(np.ceil(t0 * spec.rate / spec.hop), 0, spec.shape[1] - 1))
        b = int(np.clip(np.floor(t1 * spec.rate / spec.hop) + 1, a + 1, spec.shape[1]))
        return slice(a, b)

    def learn_from_selection(self) -> None:
        """Learn the source from the selected range of this mixture."""
        if self._document.magnitude is None:
            return
        frames = self.selection_frames()
        self._steering.learn(self._document.magnitude[:, frames], self.templates_box.value(),
                             self.rest_box.value(), name=self._name(), silent_frames=frames)

    def learn_from_file(self, path) -> None:
        """Learn the source from another file where it plays alone (same sample rate)."""
        spec = self._document.spectrogram
        try:
            audio = load(path)
        except AudioError as exc:
            self._steering.failed.emit(str(exc))
            return
        if spec is None or audio.rate != spec.rate:
            self._steering.failed.emit(
                f"'{audio.name}' has {audio.rate} Hz; the mixture has "
                f"{spec.rate if spec else '?'} Hz")
            return
        example = analyse(audio.samples, audio.rate, n_fft=spec.n_fft, hop=spec.hop).magnitude()
        self._steering.learn(example, self.templates_box.value(), self.rest_box.value(),
                             name=self._name())

    def save_learned(self) -> None:
        """Store the last learned templates in the library under the source name."""
        spec = self._document.spectrogram
        if self._learned is not None and spec is not None:
            library.save_templates(self._name(), self._learned, rate=spec.rate, n_fft=spec.n_fft)
            self.refresh_library()

    def use_library_entry(self) -> None:
        """Lock the chosen library templates and fit the rest of the mixture around them."""
        spec = self._document.spectrogram
        name = self.library_box.currentText()
        if not name or spec is None:
            return
        try:
            templates = library.load_templates(name, rate=spec.rate, n_fft=spec.n_fft)
        except OSError as exc:
            self._steering.failed.emit(str(exc))
            return
        self._steering.use_templates(templates, self.rest_box.value(), name=name)

    def refresh_library(self) -> None:
        """List the library's entries."""
        self.library_box.clear()
        self.library_box.addItems(library.list_templates())
        self.use_button.setEnabled(self.library_box.count() > 0)

    def _name(self) -> str:
        return self.name_edit.text().strip() or "Learned source"

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Example of one source", "",
                                              "Audio files (*.wav *.flac *.ogg *.aiff *.mp3)")
        if path:
            self.learn_from_file(path)

    def _on_learned(self, templates) -> None:
        self._learned = templates
        self.save_button.setEnabled(True)

    def _on_audio_changed(self) -> None:
        spec = self._document.spectrogram
        duration = spec.length / spec.rate
        self.region.setBounds((0.0, duration))
        self.region.setRegion((0.0, min(1.0, duration / 4)))
