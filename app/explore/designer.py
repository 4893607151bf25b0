"""The mixture designer: build a mixture from 2–3 synthetic sources and watch NMF separate it.

Every slider change rebuilds the mixture, its spectrogram and a short
separation in a generator job (:func:`design`). Requests are coalesced (the Qt
mandelbrot example's rule, :class:`app.jobs.Latest`): at most one job runs; a
change during a run asks it to stop after its current stage and the newest
parameters run next, so no pile of stale runs ever queues up.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from dsp.compare import DemoSeparation, harmonic_overlaps, separate_demo
from dsp.demo import DEFAULT_SOURCES, DemoMixture, ToneSpec, make_demo
from dsp.stft import Spectrogram, analyse

from ..jobs import GeneratorJob, Latest, coalesced, describe
from ..theme import COLOUR_MAP, component_colour
from ..views.axes import log_frequency_ticks, log_rows
from .source_editor import SourceEditor

__all__ = ["DesignerDialog", "DURATION", "RATE", "design"]

DURATION = 4.0  # seconds: several notes of every rhythm, short enough to separate live
RATE = 22_050
N_FFT, HOP = 2048, 512  # the session's defaults, so "Use this mixture" looks the same there
ITERATIONS = 100  # KL multiplicative updates: converged enough to score, well under a second
DEBOUNCE_MS = 60  # a drag emits dozens of values a second; start on a pause this short
_SHOWN_HZ = 5000.0  # partials of the designer's ranges sit below this
_LOWEST_HZ = 20.0  # the bottom of the log-frequency axis, as in the main window
_LOG_ROWS = 256
_DYNAMIC_RANGE = 70.0


def design(
    sources: tuple[ToneSpec, ...],
) -> Iterator[tuple[DemoMixture, Spectrogram]]:
    """Render a design and analyse it (yielded: shown at once), then separate and score it.

    A generator, so a job can stop it between the two stages; returns the
    :class:`DemoSeparation` (the factorization and each source's SDR).
    """
    demo = make_demo(sources, duration=DURATION, rate=RATE)
    spec = analyse(demo.mixture.samples, RATE, n_fft=N_FFT, hop=HOP)
    yield demo, spec
    return separate_demo(demo, iterations=ITERATIONS, n_fft=N_FFT, hop=HOP)


class DesignerDialog(QDialog):
    """Sliders for each source beside the mixture's spectrogram and the separation scores.

    Parameters
    ----------
    use_mixture : callable, optional
        ``use_mixture(demo)`` loads the current design into the session; without
        it the "Use this mixture" button is hidden.

    Attributes
    ----------
    demo : DemoMixture or None
        The mixture last built (it matches :meth:`sources` once :attr:`busy` is False).
    spectrogram : Spectrogram or None
    separation : DemoSeparation or None
        The last separation, with its SDRs.

    Signals
    -------
    updated
        A job finished its last stage and the display shows it.
    """

    updated = Signal()

    def __init__(self, use_mixture=None, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Design a mixture")
        self.setObjectName("designer")
        self._use_mixture = use_mixture
        self.demo: DemoMixture | None = None
        self.spectrogram: Spectrogram | None = None
        self.separation: DemoSeparation | None = None
        self._jobs = Latest(self)
        self._jobs.yielded.connect(self._on_mixed)
        self._jobs.returned.connect(self._on_separated)
        self._jobs.errored.connect(self._on_failed)
        self._jobs.idle.connect(self._on_idle)
        self._timer = coalesced(self, self.request, DEBOUNCE_MS)

        self.editors = [
            SourceEditor(spec, component_colour(i), optional=i == 2)
            for i, spec in enumerate(DEFAULT_SOURCES)
        ]
        sources_row = QHBoxLayout()
        for editor in self.editors:
            editor.changed.connect(self._on_changed)
            sources_row.addWidget(editor)

        self.plot = pg.PlotWidget()
        self.plot.setLabel("bottom", "Time", units="s")
        self.plot.setLabel("left", "Frequency (Hz)")
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setMenuEnabled(False)
        self.plot.setLogMode(x=False, y=True)  # octaves equally spaced, as in the main window
        self.image = pg.ImageItem()
        self.image.setColorMap(pg.colormap.get(COLOUR_MAP))
        self.plot.addItem(self.image)
        self.plot.setMinimumHeight(220)

        self.scores = QLabel()
        self.scores.setObjectName("designer_scores")
        self.scores.setTextFormat(Qt.RichText)
        self.scores.setWordWrap(True)
        self.warning = QLabel()
        self.warning.setObjectName("designer_warning")
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("color: #edc948;")
        self.status = QLabel()

        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        self.use_button = buttons.addButton("Use this mixture", QDialogButtonBox.AcceptRole)
        self.use_button.setToolTip("Open this mixture in the workstation (its true sources are "
                                   "kept for scoring in the k sweep)")
        self.use_button.clicked.connect(self._on_use)
        self.use_button.setVisible(use_mixture is not None)

        info = QWidget()
        info_layout = QVBoxLayout(info)
        info_layout.setContentsMargins(0, 0, 0, 0)
        info_layout.addWidget(self.scores)
        info_layout.addWidget(self.warning)
        info_layout.addStretch(1)
        info_layout.addWidget(self.status)
        info.setMinimumWidth(300)
        bottom = QHBoxLayout()
        bottom.addWidget(self.plot, 3)
        bottom.addWidget(info, 1)

        layout = QVBoxLayout(self)
        layout.addLayout(sources_row)
        layout.addLayout(bottom, 1)
        layout.addWidget(buttons)
        self.resize(1200, 760)
        self.request()

    # -- the design --------------------------------------------------------------------------

    def sources(self) -> tuple[ToneSpec, ...]:
        """The enabled sources as the sliders describe them."""
        return tuple(editor.spec() for editor in self.editors if editor.enabled)

    @property
    def busy(self) -> bool:
        """Whether a change is waiting or being worked on."""
        return self._timer.isActive() or self._jobs.busy

    def request(self) -> None:
        """Rebuild for the current sliders: now if idle, else after the running job's stage."""
        self._timer.stop()
        self.status.setText("Separating…")
        self._jobs.submit(GeneratorJob(design, self.sources(), name="partwise-design"))

    def shutdown(self) -> None:
        """Drop what waits and stop the running job after its stage (the dialog closes)."""
        self._timer.stop()
        self._jobs.cancel()

    def _on_changed(self) -> None:
        self._show_overlaps()
        self._timer.start()

    def _show_overlaps(self) -> None:
        sources = self.sources()
        lines = []
        for overlap in harmonic_overlaps(sources, rate=RATE, n_fft=N_FFT):
            a, b = sources[overlap.first].name, sources[overlap.second].name
            if overlap.identical:
                lines.append(f"⚠ {a} and {b} share their fundamental: their partials fall "
                             "on the same frequencies, so NMF cannot tell them apart by "
                             "spectrum — only their rhythms differ.")
            else:
                p, q = overlap.ratio
                lines.append(f"⚠ {a} and {b} overlap harmonically ({p}:{q}): "
                             f"{overlap.shared:.0%} of one's partials lie on the other's, "
                             "so NMF has little spectral cue to tell them apart — their "
                             "rhythms must do it.")
        self.warning.setText("\n\n".join(lines))

    # -- results (GUI thread) ----------------------------------------------------------------

    def _on_mixed(self, mixed: tuple[DemoMixture, Spectrogram]) -> None:
        self.demo, self.spectrogram = demo, spec = mixed
        low = max(_LOWEST_HZ, float(spec.freqs[1]))
        rows = log_rows(spec.rate / spec.n_fft, len(spec.freqs), low, _SHOWN_HZ, _LOG_ROWS)
        db = 20 * np.log10(np.maximum(spec.magnitude()[rows], 1e-9))
        top = float(db.max())
        self.image.setImage(np.ascontiguousarray(db, dtype=np.float32),
                            levels=(top - _DYNAMIC_RANGE, top))
        bottom, height = np.log10(low), np.log10(_SHOWN_HZ / low)
        self.image.setRect(QRectF(0, bottom, DURATION, height))
        self.plot.getAxis("left").setTicks(log_frequency_ticks(low, _SHOWN_HZ))
        self.plot.setRange(xRange=(0, DURATION), yRange=(bottom, bottom + height), padding=0)
        self._show_overlaps()

    def _on_separated(self, separation: DemoSeparation) -> None:
        self.separation = separation
        rows = []
        for i, (spec, score) in enumerate(zip(separation.demo.sources, separation.sdr)):
            colour = component_colour(i)  # the editors' colours; only the last is optional
            rows.append(f"<tr><td style='color:{colour}'>{spec.name}</td>"
                        f"<td align='right'>&nbsp;{score:5.1f} dB</td></tr>")
        k = separation.W.shape[1]
        self.scores.setText(
            f"<b>SDR after separation</b> (NMF, KL, k = {k}, {ITERATIONS} iterations)"
            f"<table>{''.join(rows)}</table>"
            "<p style='color:#7d828a'>Each true source against the sum of its components' "
            "soft-mask stems. Higher is better; above ~10 dB the parts are clearly apart.</p>"
        )

    def _on_failed(self, error: Exception) -> None:
        self.status.setText(describe(error))

    def _on_idle(self) -> None:
        if self.status.text() == "Separating…":
            self.status.setText("")
        self.updated.emit()

    def _on_use(self) -> None:
        if self.busy or self.demo is None or self.demo.sources != self.sources():
            self.demo = make_demo(self.sources(), duration=DURATION, rate=RATE)
        self._use_mixture(self.demo)

    def done(self, result: int) -> None:  # noqa: D102 - QDialog override
        self.shutdown()
        super().done(result)
