"""Templates W: one spectrum per component, in the component's colour."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from ..document import Document
from ..jobs import coalesced
from .activations import peak_decimate_at
from .axes import log_frequency_ticks

__all__ = ["TemplatesView"]


class TemplatesView(pg.PlotWidget):
    """Each column of W over frequency, scaled to its own peak so shapes compare.

    ``templates`` holds the W the curves were drawn from.
    """

    def __init__(self, document: Document, parent=None) -> None:
        super().__init__(parent)
        self._document = document
        self.templates: np.ndarray | None = None
        # Bare curves, not PlotDataItems: the ranges are fixed, so a snapshot skips the
        # data items' bounds and log mapping (a third of a refresh on 32 components).
        self.curves: list[pg.PlotCurveItem] = []
        self.setLabel("bottom", "Frequency (Hz)")
        self.setLabel("left", "Template (peak = 1)")
        self.showGrid(x=True, y=True, alpha=0.15)
        self.setYRange(0, 1.05)
        self.setMouseEnabled(y=False)
        # Harmonic templates crowd the bottom octaves; a log axis spreads them out.
        self.setLogMode(x=True, y=False)
        # A snapshot is drawn in a turn of the event loop of its own (see jobs.coalesced).
        self._refresh = coalesced(self, self._on_factors_changed)
        document.factors_changed.connect(lambda: self._refresh.start())
        self.getViewBox().sigResized.connect(lambda *_: self._refresh.start())  # columns changed
        document.components_changed.connect(self._on_factors_changed)
        document.component_changed.connect(lambda _: self._restyle())
        document.selection_changed.connect(lambda _: self._restyle())
        document.audio_changed.connect(self._on_audio_changed)

    def _on_audio_changed(self) -> None:
        spec = self._document.spectrogram
        self.setXRange(np.log10(spec.freqs[1]), np.log10(spec.rate / 2), padding=0)
        self.getAxis("bottom").setTicks(log_frequency_ticks(spec.freqs[1], spec.rate / 2))

    def _on_factors_changed(self) -> None:
        W = self._document.W  # noqa: N806
        self.templates = W
        if W is None:
            for curve in self.curves:
                self.removeItem(curve)
            self.curves = []
            return
        if len(self.curves) != W.shape[1]:
            for curve in self.curves:
                self.removeItem(curve)
            self.curves = [pg.PlotCurveItem() for _ in range(W.shape[1])]
            for curve in self.curves:
                self.addItem(curve, ignoreBounds=True)
            self._restyle()
        # Bin 0 (DC) has no place on a log axis; the axis is logarithmic, the data's x its log.
        x = np.log10(self._document.spectrogram.freqs[1:])
        peaks = np.maximum(W.max(axis=0), np.finfo(np.float32).tiny)
        # The high octaves crowd many bins into each pixel column: draw each column's
        # minimum and maximum (every peak kept), not every bin.
        columns = int(self.getViewBox().width() * self.devicePixelRatioF()) or len(x)
        edges = np.linspace(x[0], x[-1], columns + 1)[:-1]
        starts = np.unique(np.searchsorted(x, edges))
        x, y = peak_decimate_at(x, (W[1:] / peaks).T.astype(np.float32), starts)
        for k, curve in enumerate(self.curves):
            curve.setData(x, y[k], skipFiniteCheck=True)

    def _restyle(self) -> None:
        selected = self._document.selected
        components = self._document.components
        for k, curve in enumerate(self.curves[: len(components)]):
            colour = pg.mkColor(components[k].colour)
            if selected >= 0 and k != selected:
                colour.setAlpha(70)
            # One-pixel pens take Qt's fast cosmetic stroke; wider ones are drawn
            # segment by segment, ~5 ms per curve of 1 000 points.
            curve.setPen(pg.mkPen(colour, width=2.5 if k == selected else 1))
            curve.setZValue(10 if k == selected else 0)
