"""Playback marks on a time-axis plot: the playhead with click-to-seek, and the loop range."""

from __future__ import annotations

from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal

__all__ = ["Playhead", "LoopRegion"]

_PEN = pg.mkPen("#7fe0ff", width=1.5)
_LOOP_BRUSH = pg.mkBrush(127, 224, 255, 40)
_LOOP_PEN = pg.mkPen("#7fe0ff", width=1.5)


class Playhead:
    """A vertical line at the playback position; a left click on the plot asks to seek there.

    Parameters
    ----------
    plot : pg.PlotItem
        Plot whose x axis is time in seconds.
    on_seek : callable(float)
        Called with the clicked time.
    """

    def __init__(self, plot: pg.PlotItem, on_seek: Callable[[float], None]) -> None:
        self._plot = plot
        self._on_seek = on_seek
        self.line = pg.InfiniteLine(angle=90, movable=False, pen=_PEN)
        self.line.setZValue(50)
        self.line.hide()
        plot.addItem(self.line, ignoreBounds=True)
        plot.scene().sigMouseClicked.connect(self._on_clicked)

    def set_position(self, seconds: float | None) -> None:
        """Show the line at ``seconds``; None hides it."""
        if seconds is None:
            self.line.hide()
        else:
            self.line.setValue(seconds)
            self.line.show()

    def _on_clicked(self, event) -> None:
        # An item that took the click (a brush painting) keeps it from seeking.
        if event.button() != Qt.MouseButton.LeftButton or event.double() or event.isAccepted():
            return
        if not self._plot.vb.sceneBoundingRect().contains(event.scenePos()):
            return
        self._on_seek(max(0.0, self._plot.vb.mapSceneToView(event.scenePos()).x()))


class LoopRegion(QObject):
    """The loop range on a time-axis plot: a shaded band whose edges and body can be dragged.

    Hidden until :meth:`set_range` gives it a range.

    Signals
    -------
    changed(object)
        The user moved the band: ``(start, end)`` in seconds.
    """

    changed = Signal(object)

    def __init__(self, plot: pg.PlotItem) -> None:
        super().__init__()
        self.item = pg.LinearRegionItem(brush=_LOOP_BRUSH, pen=_LOOP_PEN, movable=True)
        self.item.setZValue(40)
        self.item.hide()
        plot.addItem(self.item, ignoreBounds=True)
        self.item.sigRegionChangeFinished.connect(self._on_moved)
        self._setting = False

    @property
    def range(self) -> tuple[float, float] | None:
        """``(start, end)`` in seconds, or None when no loop is shown."""
        return tuple(self.item.getRegion()) if self.item.isVisible() else None

    def set_range(self, span: tuple[float, float] | None) -> None:
        """Show the band over ``span`` (seconds); None hides it. Does not emit ``changed``."""
        if span is None:
            self.item.hide()
            return
        self._setting = True
        try:
            self.item.setRegion(span)
        finally:
            self._setting = False
        self.item.show()

    def _on_moved(self) -> None:
        if not self._setting and self.item.isVisible():
            start, end = self.item.getRegion()
            self.changed.emit((max(0.0, start), end))
