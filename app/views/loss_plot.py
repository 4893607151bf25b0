"""Loss per iteration on a log scale, growing while the solver runs."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from ..document import Document
from .axes import DecadeAxis

__all__ = ["LossPlot"]

_NAMES = {"kl": "Kullback–Leibler", "euclidean": "Euclidean", "is": "Itakura–Saito"}


class LossPlot(pg.PlotWidget):
    """The session's loss history; ``curve`` holds one point per iteration."""

    def __init__(self, document: Document, parent=None) -> None:
        super().__init__(parent, axisItems={"left": DecadeAxis("left")})
        self._document = document
        self.setLogMode(x=False, y=True)
        self.setLabel("bottom", "Iteration")
        self.showGrid(x=True, y=True, alpha=0.15)
        self.curve = self.plot(pen=pg.mkPen("#f2b134", width=2))
        document.factors_changed.connect(self._on_factors_changed)
        document.settings_changed.connect(lambda _: self._update_title())
        self._update_title()
        self._on_factors_changed()

    def _update_title(self) -> None:
        loss = self._document.settings.loss
        self.setLabel("left", f"{_NAMES.get(loss, loss)} loss")

    def _on_factors_changed(self) -> None:
        losses = np.asarray(self._document.losses, dtype=np.float64)
        # Before a run: the iterations to come, and no loss values to pretend.
        self.getAxis("left").setStyle(showValues=losses.size > 0)
        if losses.size == 0:
            self.curve.setData([], [])
            self.setXRange(1, max(2, self._document.settings.iterations), padding=0)
            return
        if self.curve.xData is None or len(self.curve.xData) == 0:
            self.enableAutoRange()  # the first points: fit them (a user's zoom is kept later)
        # Log scale needs positive values; a perfect fit's zero would vanish anyway.
        self.curve.setData(np.arange(1, losses.size + 1), np.maximum(losses, 1e-30))
