"""Methods side by side on the session's spectrogram: PCA, k-means, NMF, sparse and deep NMF.

The methods run one after another (so their times compare) in the same
:class:`~app.worker.SolverJob` as the main solver, with live templates,
activations and progress; PCA, solved in one go, runs as a background job.
Any nonnegative result can be promoted to become the session's factorization.
"""

from __future__ import annotations

import time
from dataclasses import replace
from functools import partial

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from dsp.compare import METHODS, Summary, method_options, summarize, truncated_svd

from ..document import Document
from ..jobs import FunctionJob, describe
from ..solver_control import SolverControl
from ..views.axes import log_frequency_ticks
from ..views.hint import OverlayHint
from ..widgets import run_bar, spin_box
from ..worker import Snapshot, SolverJob

__all__ = ["CompareView", "MethodColumn"]

#: The axes of a column before its method has run: seconds, and the audible range.
_EMPTY_SECONDS, _EMPTY_HZ = 10.0, (20.0, 20_000.0)
_NOT_RUN = "not run yet"

#: Negative blue, zero the background, positive amber: PCA's "anti-sounds" show at a glance.
_DIVERGING = pg.ColorMap([0.0, 0.5, 1.0], ["#4e9eea", "#1b1d21", "#f2b134"])


def _peak_scaled(X: np.ndarray, axis: int) -> np.ndarray:
    """X divided by the peak magnitude along ``axis``, so every component spans [-1, 1]."""
    peak = np.max(np.abs(X), axis=axis, keepdims=True)
    return (X / np.maximum(peak, np.finfo(np.float32).tiny)).astype(np.float32)


class MethodColumn(QFrame):
    """Templates, activations, figures and a Promote button for one method.

    Attributes
    ----------
    W, H : np.ndarray or None
        The factors drawn (the latest snapshot while running).
    summary : Summary or None
        The finished result.

    Signals
    -------
    promote_requested(str)
        The method's key.
    """

    promote_requested = Signal(str)

    def __init__(self, method: str, parent=None) -> None:
        super().__init__(parent)
        self.method = method
        self.W: np.ndarray | None = None
        self.H: np.ndarray | None = None
        self.summary: Summary | None = None
        self.latest: Snapshot | None = None
        self.setFrameShape(QFrame.StyledPanel)
        title = QLabel(f"<b>{METHODS[method]}</b>")
        self.templates = pg.PlotWidget()
        self.templates.setLogMode(x=True, y=False)
        self.templates.setYRange(-1.05, 1.05)
        self.templates.setMouseEnabled(x=False, y=False)
        self.templates.setMenuEnabled(False)
        self.templates.setLabel("bottom", "Frequency (Hz)")
        self.templates.addLine(y=0, pen=pg.mkPen("#7d828a", width=1))
        self.curves: list[pg.PlotDataItem] = []
        self.activations = pg.PlotWidget()
        self.activations.setMouseEnabled(x=False, y=False)
        self.activations.setMenuEnabled(False)
        self.activations.setLabel("bottom", "Time", units="s")
        self.activations.setLabel("left", "Component")
        self.image = pg.ImageItem()
        self.image.setColorMap(_DIVERGING)
        self.activations.addItem(self.image)
        self.figures = QLabel(_NOT_RUN)
        self.figures.setTextFormat(Qt.RichText)
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(8)
        self.promote = QPushButton("Promote to session")
        self.promote.setEnabled(False)
        if method == "pca":
            self.promote.setToolTip("PCA takes negative values: it is not a nonnegative "
                                    "factorization, so it cannot drive soft masks")
        else:
            self.promote.setToolTip("Make this the session's factorization (with its k)")
        self.promote.clicked.connect(lambda: self.promote_requested.emit(self.method))
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(QLabel("Templates W (peak = ±1)"))
        layout.addWidget(self.templates, 3)
        layout.addWidget(QLabel("Activations H (row peak = ±1)"))
        layout.addWidget(self.activations, 3)
        layout.addWidget(self.figures)
        layout.addWidget(self.progress)
        layout.addWidget(self.promote)
        self._waiting = False  # queued in a comparison, with nothing to draw yet
        self.hint = OverlayHint(self.activations, self._hint_text)
        self.show_empty_axes(_EMPTY_SECONDS, _EMPTY_HZ[1])

    def _hint_text(self) -> str:
        if self.W is not None:
            return ""
        if self._waiting:
            return "Waiting for its turn…"
        return f"{METHODS[self.method]} has not run yet — press Compare"

    def show_empty_axes(self, duration: float, top_hz: float) -> None:
        """Time in seconds and frequency in hertz, with nothing drawn (before a run)."""
        low = _EMPTY_HZ[0]
        self.templates.getAxis("bottom").setTicks(log_frequency_ticks(low, top_hz))
        self.templates.setXRange(np.log10(low), np.log10(top_hz), padding=0)
        self.activations.setRange(xRange=(0.0, duration), yRange=(0.0, 1.0), padding=0)
        self.activations.getAxis("left").setTicks([[]])  # no components to name yet

    def clear(self) -> None:
        """Forget the last result (a new comparison starts)."""
        self.W = self.H = self.summary = self.latest = None
        self.image.clear()
        for curve in self.curves:
            self.templates.removeItem(curve)
        self.curves = []
        self.figures.setText("waiting…")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.promote.setEnabled(False)
        self.set_waiting(True)

    def set_waiting(self, waiting: bool) -> None:
        """Say whether the column is queued in a comparison (its hint tells)."""
        self._waiting = waiting
        if self.summary is None and not waiting:
            self.figures.setText(_NOT_RUN)
        self.hint.update_shown()

    def show_factors(self, W: np.ndarray, H: np.ndarray, freqs: np.ndarray,  # noqa: N803
                     duration: float) -> None:
        """Draw the templates over frequency and the activations as an image over time."""
        from ..theme import component_colour

        self.W, self.H = W, H
        k = W.shape[1]
        if len(self.curves) != k:
            for curve in self.curves:
                self.templates.removeItem(curve)
            self.curves = [self.templates.plot(pen=pg.mkPen(component_colour(j), width=1.2))
                           for j in range(k)]
            self.templates.getAxis("bottom").setTicks(log_frequency_ticks(freqs[1], freqs[-1]))
        shapes = _peak_scaled(W[1:], axis=0)  # bin 0 (DC) has no place on a log axis
        for j, curve in enumerate(self.curves):
            curve.setData(freqs[1:], shapes[:, j])
        # Row 0 at the top, as in the main window's activations.
        self.image.setImage(np.ascontiguousarray(_peak_scaled(H, axis=1)[::-1]),
                            levels=(-1.0, 1.0))
        self.image.setRect(0, 0, duration, k)
        self.activations.setRange(xRange=(0, duration), yRange=(0, k), padding=0)
        ticks = [(k - j - 0.5, str(j + 1)) for j in range(k)] if k <= 12 else None
        self.activations.getAxis("left").setTicks([ticks] if ticks else None)
        self.hint.update_shown()

    def show_summary(self, summary: Summary) -> None:
        """The figures of the finished method."""
        self.summary = summary
        hoyer = "—" if np.isnan(summary.sparsity) else f"{summary.sparsity:.2f}"
        iterations = "one SVD" if summary.method == "pca" else f"{summary.n_iter} iterations"
        self.figures.setText(
            f"Relative error ‖V−WH‖/‖V‖: <b>{summary.relative_error:.3f}</b><br>"
            f"Sparsity of H (Hoyer): <b>{hoyer}</b><br>"
            f"Negative energy: <b>{summary.negative_energy:.1%}</b><br>"
            f"Time: <b>{summary.seconds:.2f} s</b> ({iterations})"
        )
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.promote.setEnabled(summary.method != "pca")


class CompareView(QWidget):
    """Runs every method of :data:`dsp.compare.METHODS` on the session's V at one rank.

    Signals
    -------
    finished
        Every method of the comparison has a result.
    """

    finished = Signal()

    def __init__(self, document: Document, control: SolverControl | None = None,
                 parent=None) -> None:
        super().__init__(parent, Qt.Window)
        self.setWindowTitle("Compare methods")
        self.setObjectName("compare_methods")
        self._document = document
        self._control = control
        self._V: np.ndarray | None = None
        self._k = 0
        self._queue: list[str] = []
        self._current = None  # the running job
        self._started = 0.0
        settings = document.settings
        self.rank = spin_box(QSpinBox, 1, 64, settings.n_components)
        self.iterations = spin_box(QSpinBox, 1, 5000, min(settings.iterations, 200))
        bar, self.run_button, self.stop_button, self.status = run_bar(
            [("Rank k", self.rank), ("Iterations", self.iterations)], "Compare", self.run, self.stop
        )
        self.columns = {method: MethodColumn(method) for method in METHODS}
        row = QHBoxLayout()
        spec = document.spectrogram
        for column in self.columns.values():
            column.promote_requested.connect(self.promote)
            if spec is not None:
                column.show_empty_axes(spec.length / spec.rate, spec.rate / 2)
            row.addWidget(column)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addLayout(row, 1)
        self.resize(1500, 760)
        self._update_buttons()

    @property
    def running(self) -> bool:
        """Whether a method is being computed or waiting its turn."""
        return self._current is not None or bool(self._queue)

    def run(self) -> None:
        """Compare every method on the session's current V at the chosen rank."""
        self.stop()
        V = self._document.magnitude  # noqa: N806
        if V is None:
            self.status.setText("Open a mixture first.")
            return
        self._k = min(self.rank.value(), *V.shape)
        self._V = V
        for column in self.columns.values():
            column.clear()
        self._queue = list(METHODS)
        self._next()

    def stop(self) -> None:
        """Abandon the comparison; finished columns keep their results."""
        for method in self._queue:
            self.columns[method].set_waiting(False)
        self._queue = []
        self._retire()
        self._update_buttons()

    def promote(self, method: str) -> None:
        """Make ``method``'s result the session's factorization, with its rank."""
        summary = self.columns[method].summary
        document = self._document
        if summary is None or method == "pca":
            return
        if document.magnitude is not self._V:
            self.status.setText("The mixture changed since the comparison: run it again.")
            return
        if self._control is not None:
            self._control.reset()  # a run in progress would overwrite the promoted factors
        k = summary.W.shape[1]
        if document.settings.n_components != k:
            document.set_settings(replace(document.settings, n_components=k))
        document.set_factors(summary.W, summary.H, summary.losses)
        self.status.setText(f"{METHODS[method]} is now the session's factorization (k = {k}).")

    # -- the queue ---------------------------------------------------------------------------

    def _next(self) -> None:
        if not self._queue:
            self._current = None
            self._update_buttons()
            self.status.setText(f"Done: k = {self._k} on {self._V.shape[0]} × "
                                f"{self._V.shape[1]}.")
            self.finished.emit()
            return
        method = self._queue.pop(0)
        column = self.columns[method]
        self.status.setText(f"Running {METHODS[method]}…")
        V, k = self._V, self._k  # noqa: N806
        self._started = time.perf_counter()
        if method == "pca":
            column.progress.setRange(0, 0)  # one SVD: no iterations to count
            job = FunctionJob(self._pca, V, k, low_priority=True, name="partwise-pca")
            job.returned.connect(partial(self._on_pca, job))
            job.errored.connect(partial(self._on_failed, job))
            self._current = job
            job.start()
        else:
            settings = self._document.settings
            options = method_options(method, V=V, n_components=k, loss=settings.loss,
                                     seed=settings.seed)
            job = SolverJob(V, k, options)
            column.progress.setRange(0, self.iterations.value())
            job.yielded.connect(partial(self._on_snapshot, job, method))
            job.state_changed.connect(partial(self._on_state, job, method))
            job.errored.connect(partial(self._on_failed, job))
            self._current = job
            job.run_iterations(self.iterations.value())
        self._update_buttons()

    @staticmethod
    def _pca(V: np.ndarray, k: int) -> Summary:  # noqa: N803
        started = time.perf_counter()
        W, H = truncated_svd(V, k)  # noqa: N806
        return summarize("pca", V, W, H, seconds=time.perf_counter() - started)

    def _on_pca(self, job, summary: Summary) -> None:
        if job is self._current:
            self._show(summary)
            self._retire()
            self._next()

    def _on_snapshot(self, job, method: str, snapshot: Snapshot) -> None:
        if job is self._current:
            column = self.columns[method]
            column.show_factors(snapshot.W, snapshot.H, *self._axes())
            column.progress.setValue(snapshot.n_iter)
            column.latest = snapshot

    def _on_state(self, job, method: str, state: str) -> None:
        if job is not self._current or state != "done":
            return
        # The snapshot of the last iteration is emitted before 'done'.
        snapshot = self.columns[method].latest
        seconds = time.perf_counter() - self._started
        self._show(summarize(method, self._V, snapshot.W, snapshot.H, seconds=seconds,
                             losses=snapshot.losses))
        self._retire()
        self._next()

    def _show(self, summary: Summary) -> None:
        column = self.columns[summary.method]
        column.show_factors(summary.W, summary.H, *self._axes())
        column.show_summary(summary)

    def _axes(self) -> tuple[np.ndarray, float]:
        spec = self._document.spectrogram
        if spec is None or spec.shape[0] != self._V.shape[0]:
            freqs = np.arange(self._V.shape[0], dtype=np.float64)
            return freqs, float(self._V.shape[1])
        return spec.freqs, float(spec.times[-1] + spec.hop / spec.rate)

    def _on_failed(self, job, error: Exception) -> None:
        if job is self._current:
            self._queue = []
            self._retire()
            self._update_buttons()
            self.status.setText(describe(error))

    def _retire(self) -> None:
        """Let go of the running job; a solver stops after its iteration (a PCA just ends)."""
        job, self._current = self._current, None
        if job is not None:
            job.quit()

    def _update_buttons(self) -> None:
        self.run_button.setEnabled(not self.running)
        self.stop_button.setEnabled(self.running)
