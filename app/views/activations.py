"""Activations H: one row per component over time, in the component's colour."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal

from ..document import Document
from ..jobs import coalesced
from .playhead import LoopRegion, Playhead

__all__ = ["ActivationsView", "MAX_POINTS", "peak_decimate", "peak_decimate_at"]

_ROW_HEIGHT = 0.85  # of the unit row pitch, so neighbouring rows do not touch
MAX_POINTS = 4096  # per curve at most: two (minimum and maximum) per column of a wide plot


def peak_decimate(
    times: np.ndarray, rows: np.ndarray, step: int
) -> tuple[np.ndarray, np.ndarray]:
    """Minimum and maximum of each block of ``step`` columns, interleaved, for every row.

    Parameters
    ----------
    times : np.ndarray, shape (n,)
    rows : np.ndarray, float32, shape (k, n)
    step : int
        Columns per block; 1 returns the input unchanged.

    Returns
    -------
    x : np.ndarray, shape (m,)
        The time of each block's first column, twice (m = 2 · blocks).
    y : np.ndarray, float32, shape (k, m)
        Each block's minimum then maximum: the curve keeps every peak and dip.
    """
    if step <= 1:
        return times, rows
    return peak_decimate_at(times, rows, np.arange(0, rows.shape[1], step))


def peak_decimate_at(
    x: np.ndarray, rows: np.ndarray, starts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`peak_decimate` with blocks of any length: block i is [starts[i], starts[i+1]).

    ``starts`` increase from 0; the last block runs to the end (e.g. the bins
    under each pixel column of a log-frequency axis).
    """
    # reduceat reads the rows in place: no copy of a long H, strided or not.
    lows = np.minimum.reduceat(rows, starts, axis=1)
    highs = np.maximum.reduceat(rows, starts, axis=1)
    y = np.empty((rows.shape[0], 2 * lows.shape[1]), dtype=np.float32)
    y[:, 0::2], y[:, 1::2] = lows, highs
    return np.repeat(x[starts], 2), y


class ActivationsView(pg.PlotWidget):
    """Rows of H stacked top to bottom, each scaled to its own peak.

    ``activations`` holds the H the curves were drawn from. Only the visible
    time range is drawn, peak-decimated to two points per pixel column (at most
    :data:`MAX_POINTS`), so a refresh costs the same for a ten-second or a
    ten-minute file; zooming or panning redraws the new range at full detail.
    Curves are one pixel wide (Qt's fast cosmetic stroke); the selected one is
    wider and filled.

    Signals
    -------
    seek_requested(float)
        The user clicked at this time (seconds).
    """

    seek_requested = Signal(float)

    def __init__(self, document: Document, parent=None) -> None:
        super().__init__(parent)
        self._document = document
        self.activations: np.ndarray | None = None
        self._peaks: np.ndarray | None = None  # each row's peak, (k, 1): rows are drawn over it
        # Bare curves in fixed ranges: a snapshot skips the data items' bounds.
        self.curves: list[pg.PlotCurveItem] = []
        self.setLabel("bottom", "Time", units="s")
        self.showGrid(x=True, y=False, alpha=0.15)
        self.setMouseEnabled(y=False)
        self.setMenuEnabled(False)
        self.playhead = Playhead(self.getPlotItem(), self.seek_requested.emit)
        self.loop_region = LoopRegion(self.getPlotItem())
        self._redraw_timer = coalesced(self, self._draw, 40)
        self.getViewBox().sigXRangeChanged.connect(lambda *_: self._redraw_timer.start())
        # A linked view's resize reaches this one as a change of range.
        self.getViewBox().sigXRangeChanged.connect(self._align_with_linked)
        self.getViewBox().sigResized.connect(self._align_with_linked)
        # A snapshot is drawn in a turn of the event loop of its own (see jobs.coalesced).
        self._refresh = coalesced(self, self._on_factors_changed)
        document.factors_changed.connect(lambda: self._refresh.start())
        document.components_changed.connect(self._on_components_changed)
        document.component_changed.connect(lambda _: self._restyle())
        document.selection_changed.connect(lambda _: self._restyle())
        self._on_components_changed()

    def _align_with_linked(self, *_) -> None:
        """Keep the data area under that of the plot this one shares time with.

        pyqtgraph lines linked views up pixel for pixel, so a data area wider than
        the spectrogram's (which makes room for a colour bar) would show more time
        than it does. Matching margins make both show the same time range.
        """
        linked = self.getViewBox().linkedView(pg.ViewBox.XAxis)
        other = None if linked is None else linked.screenGeometry()
        own = self.getViewBox().screenGeometry()
        if other is None or own is None:
            return
        layout = self.getPlotItem().layout
        left, top, right, bottom = layout.getContentsMargins()
        new_left = max(1.0, left + other.left() - own.left())
        # Widths in item units: screen rectangles are rounded to whole pixels.
        extra = self.getViewBox().width() - linked.width() - (new_left - left)
        new_right = max(1.0, right + extra)
        if abs(new_left - left) >= 1 or abs(new_right - right) >= 0.1:
            layout.setContentsMargins(new_left, top, new_right, bottom)
            layout.activate()  # the next call measures the new geometry, not the old one

    def _row_offset(self, k: int) -> float:
        return float(len(self._document.components) - 1 - k)

    def _on_components_changed(self) -> None:
        n = len(self._document.components)
        self.setYRange(-0.1, n - 0.1, padding=0)
        for curve in self.curves:
            self.removeItem(curve)
        self.curves = [pg.PlotCurveItem() for _ in range(n)]
        for curve in self.curves:
            self.addItem(curve, ignoreBounds=True)
        self._restyle()
        self._on_factors_changed()

    def _on_factors_changed(self) -> None:
        H = self._document.H  # noqa: N806
        self.activations = H
        if H is None or H.shape[0] != len(self.curves):
            self._peaks = None
            for curve in self.curves:
                curve.setData([], [])
            return
        self._peaks = np.maximum(H.max(axis=1, keepdims=True), np.finfo(np.float32).tiny)
        self._draw()

    def _draw(self) -> None:
        """Set every curve to the visible part of its row, peak-decimated.

        Only the decimated points are scaled and stacked (a block's minimum and
        maximum scale with the row), so a refresh never copies the whole of H:
        on an hour of frames that copy alone was most of a snapshot's time.
        """
        H, spec = self.activations, self._document.spectrogram  # noqa: N806
        if self._peaks is None or spec is None:
            return
        n, seconds = H.shape[1], spec.hop / spec.rate  # frame t is centred at t · seconds
        t0, t1 = self.getViewBox().viewRange()[0]
        a = int(np.clip(np.ceil(t0 / seconds) - 1, 0, n - 1))
        b = int(np.clip(np.ceil(t1 / seconds) + 1, a + 1, n))
        times = np.arange(a, b) * seconds
        view = self.getViewBox()
        columns = int(view.width() * self.devicePixelRatioF()) or MAX_POINTS // 2
        step = max(1, -(-(b - a) // min(MAX_POINTS // 2, columns)))
        x, y = peak_decimate(times, H[:, a:b], step)
        offsets = np.array([self._row_offset(k) for k in range(H.shape[0])], np.float32)
        y = offsets[:, None] + np.float32(_ROW_HEIGHT) * (y / self._peaks)
        for k, curve in enumerate(self.curves):
            curve.setData(x, y[k], skipFiniteCheck=True)

    def _restyle(self) -> None:
        components, selected = self._document.components, self._document.selected
        for k, curve in enumerate(self.curves):
            colour = pg.mkColor(components[k].colour)
            curve.setPen(pg.mkPen(colour, width=2 if k == selected else 1))
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
