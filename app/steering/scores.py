"""Scores in the app: BSS Eval against loaded reference stems, or reference-free figures.

With references, every source's stem is rendered (the export's masks, steered
by the paint), paired
with a reference by ``dsp.scores.match_estimates`` (the one matching rule) and
scored with ``dsp.scores`` (BSS Eval SDR, SIR, SAR on channel means; SI-SDR). Without
references the panel shows the relative reconstruction error ‖V − WH‖ / ‖V‖
and each source's share of the mixture's energy (masked magnitudes).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dsp.scores import match_estimates, score_estimate, si_sdr
from dsp.separation import SoftMask, group_gains, separate

from ..document import Document
from ..jobs import FunctionJob, Latest, describe
from ..persistence import read_references

__all__ = ["ScoresPanel", "SourceRow", "compute_scores"]

HEADERS = ("Source", "Reference", "SDR", "SIR", "SAR", "SI-SDR", "Energy")
_REFERENCE_COLUMNS = range(1, 6)  # empty without reference stems: hidden then
_NO_FACTORS = "No factorization yet: press Run, then Score."
_NOT_SCORED = "Press Score to score this separation."
_RESCORE_MS = 750  # after the last change: a run's snapshots come faster, so it scores at the end


@dataclass(frozen=True)
class SourceRow:
    """Scores of one source (NaN where there is no reference)."""

    name: str
    reference: str
    sdr: float
    sir: float
    sar: float
    si_sdr: float
    energy_share: float


def compute_scores(spec, W, H, groups, names, references=(), reference_names=(), *,  # noqa: N803
                   power: float = 1.0, channel_gains=None, steering=None,
                   filter_length: int = 512):
    """Rows of scores and the relative reconstruction error (pure; runs in a thread).

    A source's energy share is that of its masks on every channel's magnitude.
    The masks and stems are the export's, steered by ``steering``'s paint as it
    is when scoring starts (a copy: strokes meanwhile change nothing here).
    """
    if steering is not None:
        steering = replace(steering, paint=steering.paint.copy())
    V = spec.magnitude()  # noqa: N806
    model = W @ H
    error = float(np.linalg.norm(V - model) / max(float(np.linalg.norm(V)), 1e-30))
    magnitudes = spec.magnitudes()
    masks = SoftMask(W, H, power=power, channel_gains=channel_gains, steering=steering)
    denominator = masks.denominator()
    total = max(float(np.sum(magnitudes.astype(np.float64) ** 2)), 1e-30)
    shares = [float(np.sum((masks.mask(group_gains(W.shape[1], g), denominator=denominator)
                            * magnitudes).astype(np.float64) ** 2) / total) for g in groups]
    nan = float("nan")
    if not references:
        return [SourceRow(n, "", nan, nan, nan, nan, s) for n, s in zip(names, shares)], error
    stems = list(separate(spec, W, H, groups, power=power, channel_gains=channel_gains,
                          steering=steering))
    reference_of = {e: r for r, e in match_estimates(references, stems)}
    rows = []
    for i, (name, stem) in enumerate(zip(names, stems)):
        j = reference_of.get(i)
        if j is None:
            rows.append(SourceRow(name, "", nan, nan, nan, nan, shares[i]))
            continue
        scores = score_estimate(references, stem, j, filter_length=filter_length)
        rows.append(SourceRow(name, reference_names[j], scores.sdr, scores.sir, scores.sar,
                              si_sdr(references[j], stem), shares[i]))
    return rows, error


class ScoresPanel(QWidget):
    """A table of scores per source; "Load references…" switches to BSS Eval scores.

    Once the user has asked for scores (Score, or references loaded), they
    follow the document: new factors (a run that ended, an edit), sources that
    changed or were renamed, and new references are scored again, once things
    settle, in the background; until then the figures say they are stale.
    """

    def __init__(self, document: Document, parent=None) -> None:
        super().__init__(parent)
        self._document = document
        self._jobs = Latest(self)  # a newer request replaces a waiting one
        self._jobs.returned.connect(self._show)
        self._jobs.errored.connect(lambda error: self.summary.setText(describe(error)))
        self._wanted = False  # the user asked for scores: keep them current
        self._scored: tuple | None = None  # _inputs() of the latest scores
        self._rescore = QTimer(self, singleShot=True, interval=_RESCORE_MS)
        self._rescore.timeout.connect(self.score)
        self.rows: list[SourceRow] = []
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.table.horizontalHeaderItem(6).setToolTip("Share of the mixture's energy in the "
                                                      "source's masked spectrogram")
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.summary = QLabel(_NO_FACTORS)
        self.summary.setWordWrap(True)
        self.load_button = QPushButton("Load references…")
        self.load_button.setToolTip("Reference stems (one file per source, the mixture's length)")
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Forget the reference stems")
        self.score_button = QPushButton("Score")
        self.score_button.setToolTip("Score the current separation (each source's share of the "
                                     "energy; SDR, SIR, SAR with references)")
        buttons = QHBoxLayout()
        buttons.addWidget(self.score_button)
        buttons.addWidget(self.load_button)
        buttons.addWidget(self.clear_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.table)
        layout.addWidget(self.summary)
        self.score_button.clicked.connect(self.score)
        self.load_button.clicked.connect(self._choose_references)
        self.clear_button.clicked.connect(lambda: self.load_references([]))
        document.references_changed.connect(self._on_references_changed)
        document.factors_changed.connect(self._on_changed)
        document.sources_changed.connect(self._on_changed)
        document.component_changed.connect(self._on_component_changed)
        document.components_changed.connect(self._on_changed)
        document.paint_changed.connect(self._on_paint_changed)
        self._strokes = 0  # paint changes so far: the paint changes in place
        self._update_enabled()

    def load_references(self, paths) -> None:
        """Use these files as reference stems (none: reference-free figures), then score."""
        read = read_references(paths, self._document.audio)
        if read.problems:
            self.summary.setText(read.problems[0])
            return
        self._document.set_references(read.stems, read.names, read.paths)

    def score(self) -> None:
        """Score the current factors in the background (again when they change)."""
        document = self._document
        if document.W is None or document.spectrogram is None:
            return
        self._wanted = True
        self._scored = self._inputs()
        groups, names = document.groups(), document.group_names()
        args = (document.spectrogram, document.W, document.H, groups, names,
                document.references, document.reference_names)
        power = document.settings.mask_power
        self.summary.setText("Scoring…")
        self._jobs.submit(FunctionJob(compute_scores, *args, power=power,
                                      channel_gains=document.channel_gains,
                                      steering=document.steering(),
                                      low_priority=True, name="partwise-scores"))

    def _update_enabled(self) -> None:
        """Reference columns only with references; Score only with factors to score."""
        document = self._document
        for column in _REFERENCE_COLUMNS:
            self.table.setColumnHidden(column, not document.references)
        self.clear_button.setEnabled(bool(document.references))
        self.score_button.setEnabled(document.W is not None)
        if document.W is None:
            self.rows = []
            self.table.setRowCount(0)
            self.summary.setText(_NO_FACTORS)
        elif not self._jobs.busy and not self._rescore.isActive():
            if not self._wanted:
                self.summary.setText(_NOT_SCORED)

    def _on_references_changed(self) -> None:
        self._update_enabled()
        if self._document.references:
            self._wanted = True
        self._on_changed()

    def _on_component_changed(self, _index: int) -> None:
        # A component moved to another source changes what a source is.
        self._on_changed()

    def _on_paint_changed(self, _cells) -> None:
        # Paint steers the masks the sources are cut by.
        self._strokes += 1
        self._on_changed()

    def _inputs(self) -> tuple:
        """What the scores depend on (not gains, mute or solo: sources are scored whole)."""
        document = self._document
        return (id(document.W), repr(document.groups()), tuple(document.group_names()),
                id(document.references), self._strokes, document.settings.guide_strength)

    def _on_changed(self) -> None:
        self._update_enabled()
        if self._inputs() == self._scored:
            return
        if self._wanted and self._document.W is not None:
            if self.rows:
                self.summary.setText("Scoring again once the separation settles…")
            self._rescore.start()

    def _show(self, result) -> None:
        rows, error = result
        self.rows = rows
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            values = (row.name, row.reference, *(_db(x) for x in
                      (row.sdr, row.sir, row.sar, row.si_sdr)), f"{100 * row.energy_share:.1f} %")
            for c, text in enumerate(values):
                self.table.setItem(i, c, QTableWidgetItem(text))
        scored = "BSS Eval v3 (512 taps, channel means)" if self._document.references else (
            "no references: load stems for SDR/SIR/SAR")
        self.summary.setText(f"Reconstruction error ‖V − WH‖/‖V‖ = {100 * error:.1f} % · {scored}")

    def _choose_references(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Reference stems", "",
                                                "Audio files (*.wav *.flac *.ogg *.aiff *.mp3)")
        if paths:
            self.load_references(paths)


def _db(value: float) -> str:
    return "—" if np.isnan(value) else f"{value:.2f} dB"
