"""Activations H: one row per component over time, in the component's colour."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal

from ..session import Session
from .playhead import Playhead

__all__ = ["ActivationsView"]

_ROW_HEIGHT = 0.85  # of the unit row pitch, so neighbouring rows do not touch


class ActivationsView(pg.PlotWidget):
    """Rows of H stacked top to bottom, each scaled to its own peak.

    ``activations`` holds the H the curves were drawn from. Long curves are
    peak-downsampled and clipped to the view.

    Signals
    -------
    seek_requested(float)
        The user clicked at this time (seconds).
    """

    seek_requested = Signal(float)

    def __init__(self, session: Session, parent=None) -> None:
        super().__init__(parent)
        self._session = session
        self.activations: np.ndarray | None = None
        self.curves: list[pg.PlotDataItem] = []
        self.setLabel("bottom", "Time", units="s")
        self.showGrid(x=True, y=False, alpha=0.15)
        self.setMouseEnabled(y=False)
        self.setMenuEnabled(False)
        self.getPlotItem().setDownsampling(auto=True, mode="peak")
        self.getPlotItem().setClipToView(True)
        self.playhead = Playhead(self.getPlotItem(), self.seek_requested.emit)
        session.factors_changed.connect(self._on_factors_changed)
        session.components_changed.connect(self._on_components_changed)
        session.component_changed.connect(lambda _: self._restyle())
        session.selection_changed.connect(lambda _: self._restyle())
        self._on_components_changed()

    def _row_offset(self, k: int) -> float:
        return float(len(self._session.components) - 1 - k)

    def _on_components_changed(self) -> None:
        n = len(self._session.components)
        self.setYRange(-0.1, n - 0.1, padding=0)
        for curve in self.curves:
            self.removeItem(curve)
        self.curves = [self.plot() for _ in range(n)]
        self._restyle()
        self._on_factors_changed()

    def _on_factors_changed(self) -> None:
        H = self._session.H  # noqa: N806
        self.activations = H
        if H is None or H.shape[0] != len(self.curves):
            for curve in self.curves:
                curve.setData([], [])
            return
        times = self._session.spectrogram.times
        peaks = np.maximum(H.max(axis=1), np.finfo(np.float32).tiny)
        for k, curve in enumerate(self.curves):
            curve.setData(times, self._row_offset(k) + _ROW_HEIGHT * H[k] / peaks[k])

    def _restyle(self) -> None:
        components, selected = self._session.components, self._session.selected
        for k, curve in enumerate(self.curves):
            colour = pg.mkColor(components[k].colour)
            curve.setPen(pg.mkPen(colour, width=2 if k == selected else 1.2))
            # Only the selected row is filled: filling thousands of points per row
            # for every component would cost more than the rest of a refresh.
            if k == selected:
                fill = pg.mkColor(components[k].colour)
                fill.setAlpha(80)
                curve.setFillLevel(self._row_offset(k))
                curve.setBrush(fill)
            else:
                curve.setFillLevel(None)
                curve.setBrush(None)
        ticks = [(self._row_offset(k) + 0.4, c.name) for k, c in enumerate(components)]
        self.getAxis("left").setTicks([ticks])
