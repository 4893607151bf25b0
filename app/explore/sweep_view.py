"""Choosing k: loss, explained variance and (with known sources) SDR against k, live.

The sweep is :func:`dsp.sweep.sweep` in a job (:mod:`app.jobs`); each rank's
point appears as it is found. Clicking a point sets k in the session's settings and runs it.
SDR needs the true sources (the demo and designed mixtures have them); it is
scored on a fresh factorization with the session's own settings, which is what
running that k in the workstation gives.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from dsp.scores import score_separation
from dsp.sweep import SweepPoint, elbow, parse_range, sweep

from ..document import Document
from ..jobs import Job, describe
from ..views.hint import OverlayHint
from ..widgets import run_bar, spin_box

__all__ = ["SweepJob", "SweepView"]

_EMPTY_SDR_DB = (0.0, 20.0)  # what the SDR axis spans before a score: a typical range


class SweepJob(Job):
    """Runs the sweep (and the SDR of each rank when references are known).

    :meth:`~app.jobs.Job.quit` stops it after the current rank.

    Signals
    -------
    point_found(SweepPoint)
    scored(int, list)
        Rank and SDR (dB) of each true source.
    errored(Exception)
    """

    point_found = Signal(object)
    scored = Signal(int, object)

    def __init__(self, V, ks, *, settings, iterations, spectrogram,  # noqa: N803
                 references) -> None:
        super().__init__(low_priority=True, name="partwise-sweep")
        self._V, self._ks, self._settings = V, ks, settings
        self._iterations = iterations
        self._spec, self._references = spectrogram, references

    def work(self) -> None:  # noqa: D102 - see Job.work
        settings = self._settings

        def progress(point: SweepPoint) -> bool:
            self.point_found.emit(point)
            if callable(self._references):  # looked up once, here: rendering a demo takes time
                self._references = self._references()
            references = self._references
            if references is not None and not self.abort_requested:
                self.scored.emit(point.k, score_separation(
                    self._spec, point.W, point.H, references, power=settings.mask_power))
            return self.abort_requested

        sweep(self._V, self._ks, loss=settings.loss, max_iter=self._iterations,
              tol=settings.tol, seed=settings.seed, progress=progress)


class SweepView(QWidget):
    """Runs a k sweep over the session's V and lets the user pick a k from it.

    Parameters
    ----------
    references : callable, optional
        ``references(audio)`` returns the true sources of a mixture, or None;
        called in the sweep's thread.

    Attributes
    ----------
    points : list of SweepPoint
    sdr : dict of int to list of float

    Signals
    -------
    finished
        The sweep ended (done, stopped or failed).
    """

    finished = Signal()

    def __init__(self, document: Document, control=None, references=None, parent=None) -> None:
        super().__init__(parent, Qt.Window)
        self.setWindowTitle("Choose k")
        self.setObjectName("sweep_view")
        self._document, self._control, self._references = document, control, references
        self._job: SweepJob | None = None
        self.points: list[SweepPoint] = []
        self.sdr: dict[int, list[float]] = {}
        self.ranks = QLineEdit("1:24")
        self.ranks.setToolTip("START:STOP[:STEP] or K1,K2,…")
        self.iterations = spin_box(QSpinBox, 1, 5000, 100)
        bar, self.run_button, self.stop_button, self.status = run_bar(
            [("Ranks", self.ranks), ("Iterations", self.iterations)], "Sweep", self.run, self.stop
        )

        self.loss_plot = self._plot("Loss at convergence")
        self.loss_curve = self.loss_plot.plot(pen=pg.mkPen("#f2b134", width=1.5))
        self.loss_points = pg.ScatterPlotItem(size=11, brush=pg.mkBrush("#f2b134"),
                                              hoverable=True, hoverSize=15)
        self.loss_points.sigClicked.connect(self._on_point_clicked)
        self.loss_plot.addItem(self.loss_points)
        self.elbow_marker = pg.ScatterPlotItem(size=22, symbol="o", pen=pg.mkPen("#e15759",
                                               width=2.5), brush=None)
        self.loss_plot.addItem(self.elbow_marker)
        self.elbow_label = pg.TextItem(color="#e15759", anchor=(0, 1))
        self.loss_plot.addItem(self.elbow_label)
        self.variance_plot = self._plot("Explained variance")
        self.variance_curve = self.variance_plot.plot(pen=pg.mkPen("#4e9eea", width=1.5),
                                                      symbol="o", symbolSize=7,
                                                      symbolBrush="#4e9eea")
        self.sdr_plot = self._plot("SDR of the true sources (dB)")
        self.sdr_curve = self.sdr_plot.plot(pen=pg.mkPen("#59c14f", width=1.5), symbol="o",
                                            symbolSize=7, symbolBrush="#59c14f")
        self.sdr_note = QLabel("SDR needs the true sources: open the demo or a designed "
                               "mixture.")
        self.variance_plot.setXLink(self.loss_plot)
        self.sdr_plot.setXLink(self.loss_plot)
        self._known: tuple | None = None  # (audio, loaded references) → are sources known
        self.hint = OverlayHint(self.loss_plot, self._hint_text)
        self.ranks.editingFinished.connect(self._redraw)
        document.audio_changed.connect(self._redraw)
        document.references_changed.connect(self._redraw)
        hint = QLabel("Click a point to run the workstation with that k. The red ring marks "
                      "the elbow: beyond it, more components buy little.")
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(hint)
        layout.addWidget(self.loss_plot, 3)
        layout.addWidget(self.variance_plot, 2)
        layout.addWidget(self.sdr_plot, 2)
        layout.addWidget(self.sdr_note)
        self.resize(900, 820)
        self._update_buttons()
        self._redraw()

    @staticmethod
    def _plot(label: str) -> pg.PlotWidget:
        plot = pg.PlotWidget()
        plot.setLabel("left", label)
        plot.setLabel("bottom", "Number of components k")
        plot.showGrid(x=True, y=True, alpha=0.15)
        plot.setMenuEnabled(False)
        for side in ("left", "bottom"):  # k is a count: "k (x0.001)" would mislead
            plot.getAxis(side).enableAutoSIPrefix(False)
        plot.getAxis("left").setWidth(64)  # one width: the linked k axes line up
        return plot

    def _hint_text(self) -> str:
        if self.points:
            return ""
        if self.running:
            return "Factoring the mixture at the first k…"
        if self._document.magnitude is None:
            return "Open a mixture, then press Sweep"
        return "Press Sweep: the mixture is factored at each k in Ranks, one point per k"

    def references_known(self) -> bool:
        """Whether the open mixture's true sources are known, so the sweep can score SDR."""
        audio, loaded = self._document.audio, self._document.references
        if loaded:
            return True
        if self._references is None or audio is None:
            return False
        # Looking them up may render the demo: once per mixture is enough.
        if self._known is None or self._known[0] is not audio:
            self._known = audio, self._references(audio) is not None
        return self._known[1]

    @property
    def running(self) -> bool:
        """Whether a sweep is in progress."""
        return self._job is not None

    def run(self) -> None:
        """Sweep the ranks typed in over the session's V."""
        self.stop()
        V = self._document.magnitude  # noqa: N806
        if V is None:
            self.status.setText("Open a mixture first.")
            return
        try:
            ks = [k for k in parse_range(self.ranks.text()) if k <= min(V.shape)]
        except ValueError as exc:
            self.status.setText(str(exc))
            return
        if not ks:
            self.status.setText(f"Ranks must be at most {min(V.shape)} for this spectrogram.")
            return
        self.points, self.sdr = [], {}
        self._redraw()
        job = SweepJob(V, ks, settings=self._document.settings,
                       iterations=self.iterations.value(),
                       spectrogram=self._document.spectrogram,
                       references=self._references and partial(self._references,
                                                               self._document.audio))
        job.point_found.connect(lambda p, j=job: self._on_point(j, p))
        job.scored.connect(lambda k, s, j=job: self._on_scored(j, k, s))
        job.errored.connect(lambda e, j=job: self._on_failed(j, describe(e)))
        job.finished.connect(lambda j=job: self._on_finished(j))
        self._job = job
        self.status.setText(f"Sweeping k = {ks[0]}…{ks[-1]}…")
        self._update_buttons()
        self.hint.update_shown()
        job.start()

    def stop(self) -> None:
        """Stop after the current rank; the points found so far stay."""
        job, self._job = self._job, None
        if job is not None:
            job.quit()
            self.finished.emit()
        self._update_buttons()

    def choose(self, k: int) -> None:
        """Set k in the session's settings and run the factorization."""
        document = self._document
        document.set_settings(replace(document.settings, n_components=int(k)))
        self.status.setText(f"Running the workstation with k = {k}.")
        if self._control is not None:
            self._control.run()

    # -- results -----------------------------------------------------------------------------

    def _on_point(self, job, point: SweepPoint) -> None:
        if job is self._job:
            self.points.append(point)
            self._redraw()

    def _on_scored(self, job, k: int, scores) -> None:
        if job is self._job:
            self.sdr[k] = list(scores)
            self._redraw()

    def _on_failed(self, job, message: str) -> None:
        if job is self._job:
            self.status.setText(message)

    def _on_finished(self, job) -> None:
        if job is self._job:
            self._job = None
            if self.points:
                self.status.setText(f"Done: {len(self.points)} ranks; elbow at k = "
                                    f"{self._elbow()}.")
            self._update_buttons()
            self.hint.update_shown()
            self.finished.emit()

    def _elbow(self) -> int:
        return elbow([p.k for p in self.points], [p.loss for p in self.points])

    def _redraw(self) -> None:
        ks = np.array([p.k for p in self.points], dtype=float)
        losses = np.array([p.loss for p in self.points], dtype=float)
        self.loss_curve.setData(ks, losses)
        self.loss_points.setData(ks, losses, data=[p.k for p in self.points])
        self.variance_curve.setData(ks, [p.explained_variance for p in self.points])
        if len(self.points) >= 3:
            k = self._elbow()
            loss = losses[list(ks).index(k)]
            self.elbow_marker.setData([k], [loss])
            self.elbow_label.setText(f"elbow k = {k}")
            self.elbow_label.setPos(k, loss)
        else:
            self.elbow_marker.setData([], [])
            self.elbow_label.setText("")
        scored = sorted(self.sdr)
        self.sdr_curve.setData(scored, [float(np.mean(self.sdr[k])) for k in scored])
        self.sdr_note.setVisible(not scored and not self.references_known())
        if scored:
            self.sdr_plot.setLabel("left", f"Mean SDR of {len(self.sdr[scored[0]])} "
                                           "true sources (dB)")
            self.sdr_plot.enableAutoRange()
        else:
            self.sdr_plot.setYRange(*_EMPTY_SDR_DB, padding=0)
        self._show_axes()
        self.hint.update_shown()

    def _show_axes(self) -> None:
        """The ranks typed in and the known scales while there are no points; data after."""
        self.loss_plot.getAxis("left").setStyle(showValues=bool(self.points))
        if self.points:
            self.loss_plot.enableAutoRange()
            self.variance_plot.enableAutoRange()
            return
        try:
            ks = parse_range(self.ranks.text())
        except ValueError:
            ks = [1]
        self.loss_plot.setXRange(min(ks) - 0.5, max(ks) + 0.5, padding=0)
        self.variance_plot.setYRange(0.0, 1.0, padding=0)

    def _on_point_clicked(self, _item, points, _event=None) -> None:
        if len(points):
            self.choose(int(points[0].data()))

    def _update_buttons(self) -> None:
        self.run_button.setEnabled(not self.running)
        self.stop_button.setEnabled(self.running)
