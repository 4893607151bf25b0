"""The playback position on a time-axis plot, and click-to-seek."""

from __future__ import annotations

from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtCore import Qt

__all__ = ["Playhead"]

_PEN = pg.mkPen("#7fe0ff", width=1.5)


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
        if event.button() != Qt.MouseButton.LeftButton or event.double():
            return
        if not self._plot.vb.sceneBoundingRect().contains(event.scenePos()):
            return
        self._on_seek(max(0.0, self._plot.vb.mapSceneToView(event.scenePos()).x()))
