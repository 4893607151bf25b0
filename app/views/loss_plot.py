"""Loss per iteration on a log scale, growing while the solver runs."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from ..document import Document
from .axes import DecadeAxis

__all__ = ["LossPlot"]

_NAMES = {"kl": "Kullback–Leibler", "euclidean": "Euclidean", "is": "Itakura–Saito"}


#: The steps the fitted iteration range grows by (times a power of ten).
_STEPS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


def iteration_span(done: int, planned: int) -> int:
    """The last iteration the plot shows: the run's planned count, else the next step over ``done``.

    The span grows in steps (1, 1.2, 1.5, 2 … times a power of ten), so while a
    long run goes on the axis is redrawn at a step, not at every iteration.
    """
    if done <= planned:
        return planned
    decade = 10 ** np.floor(np.log10(done))
    return int(next(step * decade for step in _STEPS if step * decade >= done))


def decade_span(low: float, high: float) -> tuple[float, float]:
    """The log10 range shown for losses from ``low`` to ``high``: padded, in tenths of a decade."""
    a, b = np.log10(low), np.log10(high)
    pad = max(0.05 * (b - a), 0.02)
    return float(np.floor((a - pad) * 10) / 10), float(np.ceil((b + pad) * 10) / 10)


class LossPlot(pg.PlotWidget):
    """The session's loss history; ``curve`` holds one point per iteration.

    While it follows the run, the plot fits the history itself in steps
    (:func:`iteration_span`, :func:`decade_span`) rather than by pyqtgraph's
    auto-range, which refitted, and so redrew both axes, at every iteration. A
    user's zoom or pan ends the following until the next run.
    """

    def __init__(self, document: Document, parent=None) -> None:
        super().__init__(parent, axisItems={"left": DecadeAxis("left")})
        self._document = document
        self._following = True
        self.setLogMode(x=False, y=True)
        self.setLabel("bottom", "Iteration")
        self.showGrid(x=True, y=True, alpha=0.15)
        self.disableAutoRange()
        self.curve = self.plot(pen=pg.mkPen("#f2b134", width=2))
        self.getViewBox().sigRangeChangedManually.connect(self._stop_following)
        document.factors_changed.connect(self._on_factors_changed)
        document.settings_changed.connect(lambda _: self._update_title())
        self._update_title()
        self._on_factors_changed()

    def _update_title(self) -> None:
        loss = self._document.settings.loss
        self.setLabel("left", f"{_NAMES.get(loss, loss)} loss")

    def _stop_following(self, *_) -> None:
        self._following = False

    def _on_factors_changed(self) -> None:
        losses = np.asarray(self._document.losses, dtype=np.float64)
        planned = max(2, self._document.settings.iterations)
        # Before a run: the iterations to come, and no loss values to pretend.
        axis = self.getAxis("left")
        if axis.style["showValues"] != (losses.size > 0):
            axis.setStyle(showValues=losses.size > 0)  # only on a change: it redraws the axis
        shown = 0 if self.curve.xData is None else len(self.curve.xData)
        if losses.size == 0 or losses.size < shown:
            self._following = True  # a new run (or none): fit it again
        if losses.size == 0:
            self.curve.setData([], [])
            self.setXRange(1, planned, padding=0)
            return
        # Log scale needs positive values; a perfect fit's zero would vanish anyway.
        floored = np.maximum(losses, 1e-30)
        self.curve.setData(np.arange(1, losses.size + 1), floored)
        if self._following:
            self.setRange(xRange=(1, iteration_span(losses.size, planned)),
                          yRange=decade_span(floored.min(), floored.max()), padding=0)
