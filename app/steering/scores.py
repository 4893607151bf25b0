"""Scores in the app: BSS Eval against loaded reference stems, or reference-free figures.

With references, every source's stem is rendered (the export's masks), paired
with the reference it matches best (SI-SDR, Hungarian method) and scored with
``dsp.bss`` (SDR, SIR, SAR; channel means) and ``dsp.metrics.si_sdr``. Without
references the panel shows the relative reconstruction error ‖V − WH‖ / ‖V‖
and each source's share of the mixture's energy (masked magnitudes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
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

from dsp.audio import AudioError, load
from dsp.bss import match_sources, score_estimate
from dsp.metrics import si_sdr
from dsp.separation import group_mask, mask_denominator, separate

from ..jobs import FunctionJob, Latest, describe
from ..session import Session

__all__ = ["ScoresPanel", "SourceRow", "compute_scores"]

HEADERS = ("Source", "Reference", "SDR", "SIR", "SAR", "SI-SDR", "Energy")
_REFERENCE_COLUMNS = range(1, 6)  # empty without reference stems: hidden then
_NO_FACTORS = "No factorization yet: press Run, then Score."


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
                   power: float = 1.0, filter_length: int = 512):
    """Rows of scores and the relative reconstruction error (pure; runs in a thread)."""
    V = spec.magnitude()  # noqa: N806
    model = W @ H
    error = float(np.linalg.norm(V - model) / max(float(np.linalg.norm(V)), 1e-30))
    denominator = mask_denominator(W, H, power=power)
    total = max(float(np.sum(V.astype(np.float64) ** 2)), 1e-30)
    shares = [float(np.sum((group_mask(W, H, g, power=power, denominator=denominator) * V)
                           .astype(np.float64) ** 2) / total) for g in groups]
    nan = float("nan")
    if not references:
        return [SourceRow(n, "", nan, nan, nan, nan, s) for n, s in zip(names, shares)], error
    stems = list(separate(spec, W, H, groups, power=power))
    pair = match_sources(np.array([[si_sdr(r, e) for r in references] for e in stems]))
    rows = []
    for i, (name, stem) in enumerate(zip(names, stems)):
        j = pair[i]
        if j < 0:
            rows.append(SourceRow(name, "", nan, nan, nan, nan, shares[i]))
            continue
        scores = score_estimate(references, stem, j, filter_length=filter_length)
        rows.append(SourceRow(name, reference_names[j], scores.sdr, scores.sir, scores.sar,
                              si_sdr(references[j], stem), shares[i]))
    return rows, error


class ScoresPanel(QWidget):
    """A table of scores per source; "Load references…" switches to BSS Eval scores."""

    def __init__(self, session: Session, parent=None) -> None:
        super().__init__(parent)
        self._session = session
        self._jobs = Latest(self)  # a newer request (new references) replaces a waiting one
        self._jobs.returned.connect(self._show)
        self._jobs.errored.connect(lambda error: self.summary.setText(describe(error)))
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
        session.references_changed.connect(self._update_enabled)
        session.references_changed.connect(self.score)
        session.factors_changed.connect(self._update_enabled)
        self._update_enabled()

    def load_references(self, paths) -> None:
        """Use these files as reference stems (none: reference-free figures), then score."""
        references, names = [], []
        audio = self._session.audio
        for path in paths:
            try:
                ref = load(path)
            except AudioError as exc:
                self.summary.setText(str(exc))
                return
            if audio is not None and (ref.rate, ref.frames) != (audio.rate, audio.frames):
                self.summary.setText(f"'{ref.name}' does not match the mixture's rate and "
                                     f"length ({audio.rate} Hz, {audio.frames} frames)")
                return
            references.append(ref.samples)
            names.append(ref.name)
        self._session.set_references(references, names)

    def score(self) -> None:
        """Score the current factors in the background."""
        session = self._session
        if session.W is None or session.spectrogram is None:
            return
        groups = session.sources()
        names = [session.source_state(session.components[g[0]].source).name for g in groups]
        args = (session.spectrogram, session.W, session.H, groups, names,
                session.references, session.reference_names)
        power = session.settings.mask_power
        self.summary.setText("Scoring…")
        self._jobs.submit(FunctionJob(compute_scores, *args, power=power, low_priority=True,
                                      name="partwise-scores"))

    def _update_enabled(self) -> None:
        """Reference columns only with references; Score only with factors to score."""
        session = self._session
        for column in _REFERENCE_COLUMNS:
            self.table.setColumnHidden(column, not session.references)
        self.clear_button.setEnabled(bool(session.references))
        self.score_button.setEnabled(session.W is not None)
        if session.W is None:
            self.rows = []
            self.table.setRowCount(0)
            self.summary.setText(_NO_FACTORS)

    def _show(self, result) -> None:
        rows, error = result
        self.rows = rows
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            values = (row.name, row.reference, *(_db(x) for x in
                      (row.sdr, row.sir, row.sar, row.si_sdr)), f"{100 * row.energy_share:.1f} %")
            for c, text in enumerate(values):
                self.table.setItem(i, c, QTableWidgetItem(text))
        scored = "BSS Eval v3 (512 taps, channel means)" if self._session.references else (
            "no references: load stems for SDR/SIR/SAR")
        self.summary.setText(f"Reconstruction error ‖V − WH‖/‖V‖ = {100 * error:.1f} % · {scored}")

    def _choose_references(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Reference stems", "",
                                                "Audio files (*.wav *.flac *.ogg *.aiff *.mp3)")
        if paths:
            self.load_references(paths)


def _db(value: float) -> str:
    return "—" if np.isnan(value) else f"{value:.2f} dB"
